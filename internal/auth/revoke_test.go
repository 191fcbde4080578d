package auth

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/camctl/camctl/internal/config"
	"github.com/camctl/camctl/internal/redact"
)

// TestRevokeOnlyWhereBound: logout sends the refresh token to the
// revocation endpoint only when that is at the origin the token is bound
// to (spec §5); a discovery document that names another host gets
// nothing, and logout is told why.
func TestRevokeOnlyWhereBound(t *testing.T) {
	var elsewhere, here atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { elsewhere.Add(1) }))
	t.Cleanup(other.Close)
	var revocation string
	idp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/.well-known/openid-configuration":
			iss := "http://" + r.Host
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(map[string]any{"issuer": iss, "token_endpoint": iss + "/token",
				"device_authorization_endpoint": iss + "/device", "revocation_endpoint": strings.ReplaceAll(revocation, "ISSUER", iss)})
		case "/revoke":
			here.Add(1)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(idp.Close)

	for _, tc := range []struct {
		name, revocation string
		revoked          bool
		here             int32
	}{
		{"at the token endpoint's origin", "ISSUER/revoke", true, 1},
		{"at another origin", other.URL + "/revoke", false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			revocation = tc.revocation
			here.Store(0)
			elsewhere.Store(0)
			dir := t.TempDir()
			file := &config.File{CurrentProfile: "p", Profiles: map[string]config.Profile{"p": {ID: "0123456789abcdef", Address: "http://127.0.0.1:1",
				Auth: config.AuthConfig{Method: "oidc", ClientID: "camctl", Issuer: idp.URL, Grant: config.GrantDeviceCode}}}}
			r, err := config.Resolve(config.Options{File: file, ConfigPath: filepath.Join(dir, "config.yaml")})
			if err != nil {
				t.Fatal(err)
			}
			secrets := &Secrets{Mode: KeyringAuto, Keyring: NewMemoryStore(), File: NewFileStore(filepath.Join(dir, "secrets.json")), Redactor: redact.New()}
			d := Deps{Secrets: secrets, HTTP: idp.Client(), Tokens: NewTokenCache(KeyringAuto, secrets.Keyring, dir)}
			if _, err := ApplyDiscovery(t.Context(), r, NewDiscovery(d), false); err != nil {
				t.Fatal(err)
			}
			if err := SaveSignIn(t.Context(), secrets, r, SignIn{RefreshToken: "rt-Vq8zN3xB6mL1", Grant: config.GrantDeviceCode}, false); err != nil {
				t.Fatal(err)
			}
			revoked, err := RevokeSignIn(t.Context(), r, d)
			if revoked != tc.revoked || here.Load() != tc.here || elsewhere.Load() != 0 {
				t.Errorf("revoked %v (%v); requests at the IdP %d, elsewhere %d; want revoked %v, %d, 0", revoked, err, here.Load(), elsewhere.Load(), tc.revoked, tc.here)
			}
			if !tc.revoked && (err == nil || !strings.Contains(err.Error(), "not at the origin it is bound to")) {
				t.Errorf("a refused revocation says %v; want the reason", err)
			}
		})
	}
}
