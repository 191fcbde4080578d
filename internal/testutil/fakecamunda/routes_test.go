package fakecamunda

import (
	"encoding/base64"
	"net/http/httptest"
	"testing"
)

func TestIdentityFromCredentials(t *testing.T) {
	jwt := func(claims string) string {
		return "Bearer e30." + base64.RawURLEncoding.EncodeToString([]byte(claims)) + ".sig"
	}
	for _, tc := range []struct {
		name, authorization string
		want                any // username; nil: no user
		display             any
	}{
		{"person", jwt(`{"sub":"u1","client_id":"camctl","preferred_username":"jane","name":"Jane Doe"}`), "jane", "Jane Doe"},
		{"person by sub", jwt(`{"sub":"u1","client_id":"camctl"}`), "u1", "u1"},
		{"client credentials", jwt(`{"sub":"orchestration","client_id":"orchestration"}`), "orchestration", "orchestration"},
		{"opaque token", "Bearer opaque", "static-token", "static-token"},
		{"no credentials", "", nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/v2/authentication/me", nil)
			if tc.authorization != "" {
				r.Header.Set("Authorization", tc.authorization)
			}
			user, ok := Identity(r)
			if tc.want == nil {
				if ok {
					t.Fatalf("Identity = %v; want none", user)
				}
				return
			}
			if !ok || user["username"] != tc.want || user["displayName"] != tc.display {
				t.Errorf("Identity = %v, %v; want username %v, displayName %v", user, ok, tc.want, tc.display)
			}
		})
	}
}
