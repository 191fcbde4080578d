package cmd

import (
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
	"time"
)

// An expired static JWT is neither sent nor printed (spec §5): exit 3,
// with when it expired and how to get a new one.
func TestExpiredStaticToken(t *testing.T) {
	srv := newFakeServer(t)
	enc := base64.RawURLEncoding.EncodeToString
	expired := enc([]byte(`{"alg":"none"}`)) + "." + enc([]byte(fmt.Sprintf(`{"sub":"ci","exp":%d}`, time.Now().Add(-2*time.Hour).Unix()))) + ".c2ln"
	for _, args := range [][]string{{"token"}, {"token", "--header"}, {"token", "-o", "json"}, {"topology"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			f, _, out, errOut := testFactory(t, map[string]string{
				"CAMUNDA_REST_ADDRESS": srv.URL, "CAMUNDA_AUTH_STRATEGY": "BEARER", "CAMUNDA_OAUTH_TOKEN": expired,
			})
			if code := run(t, f, args...); code != ExitAuth {
				t.Fatalf("exit %d, want %d\n%s", code, ExitAuth, errOut)
			}
			if out.Len() != 0 {
				t.Errorf("stdout: %q", out)
			}
			for _, want := range []string{"the bearer token expired at ", "so it was not sent", "Get a new token from your identity provider and put it in CAMUNDA_OAUTH_TOKEN."} {
				if !strings.Contains(errOut.String(), want) {
					t.Errorf("stderr lacks %q:\n%s", want, errOut)
				}
			}
			if n := srv.fake.Requests(); n != 0 {
				t.Errorf("the server got %d requests", n)
			}
		})
	}
}
