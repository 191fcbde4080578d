package config_test

import (
	"strings"
	"testing"

	"github.com/camctl/camctl/internal/config"
)

func TestGrant(t *testing.T) {
	for _, tt := range []struct {
		method, grant string
		want          string
		person        bool
		err           string
	}{
		{"oidc", "", config.GrantClientCredentials, false, ""},
		{"oidc", "authorization_code", config.GrantAuthorizationCode, true, ""},
		{"oidc", "Device-Code", config.GrantDeviceCode, true, ""},
		{"oidc", "urn:ietf:params:oauth:grant-type:device_code", config.GrantDeviceCode, true, ""},
		{"basic", "device-code", "", false, ""},
		{"oidc", "password", "", false, `grant "password" (from flag --grant) is not one of client-credentials, authorization-code, device-code`},
	} {
		r, err := config.Resolve(config.Options{Profile: "p", AllowNew: true, Flags: map[config.Key]string{config.AuthMethod: tt.method, config.Grant: tt.grant}})
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%s/%s: %v, want %q", tt.method, tt.grant, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s/%s: %v", tt.method, tt.grant, err)
		}
		if r.Grant() != tt.want || r.Person() != tt.person {
			t.Errorf("%s/%s: grant %q person %v, want %q %v", tt.method, tt.grant, r.Grant(), r.Person(), tt.want, tt.person)
		}
	}
}
