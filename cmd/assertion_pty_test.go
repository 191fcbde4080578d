//go:build linux

package cmd

import (
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/camctl/camctl/internal/testutil/fakecamunda"
	"github.com/camctl/camctl/internal/testutil/pkitest"
)

// At a terminal, login asks for the password of the keystore that signs
// client assertions (hidden), stores it like a certificate passphrase,
// and later runs unlock the keystore with it.
func TestLoginAsksAssertionKeystorePassword(t *testing.T) {
	pki := pkitest.New(t, "")
	keys := pki.AssertionKeys(t)
	issuer := fakecamunda.NewIssuer(10 * time.Minute)
	issuer.AddKeyClient("signed", keys.JWKS(t), false)
	idp := httptest.NewServer(issuer)
	t.Cleanup(idp.Close)
	srv := newFakeServer(t)
	srv.fake.RequireBearer(issuer.Verify)

	home := t.TempDir()
	dir := filepath.Join(home, "camctl")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "config.yaml")
	env := []string{"XDG_CONFIG_HOME=" + home, "HOME=" + home, "CAMCTL_CONFIG=" + cfg, "CAMCTL_KEYRING=none", "CAMCTL_CACHE_DIR=" + filepath.Join(home, "cache")}
	body := "current-profile: signed\nprofiles:\n  signed:\n    address: " + srv.URL + "\n    auth:\n      method: oidc\n      client-id: signed\n      token-url: " + idp.URL + "/token\n      client-assertion-keystore: " + keys.P12Legacy + "\n"
	if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}

	s := startPTY(t, env, "login", "--insecure-storage")
	s.expect("Password of the client assertion keystore " + keys.P12Legacy + ": ")
	s.send(pkitest.ClientP12Password + "\r")
	s.expect("The client assertion keystore password is stored")
	if code := s.wait(); code != 0 {
		t.Fatalf("exit code %d; terminal:\n%s", code, s.output())
	}
	if strings.Contains(s.output(), pkitest.ClientP12Password) {
		t.Errorf("the password was echoed:\n%s", s.output())
	}
	if strings.Contains(s.output(), "Client secret") {
		t.Errorf("login asked for a client secret that the assertion replaces:\n%s", s.output())
	}

	h, _, _, errOut := testFactory(t, map[string]string{"CAMCTL_CONFIG": cfg, "CAMCTL_KEYRING": "none", "XDG_CONFIG_HOME": home, "CAMCTL_CACHE_DIR": filepath.Join(home, "cache")})
	h.Secrets = h.systemSecrets
	if code := run(t, h, "token", "--refresh"); code != 0 {
		t.Fatalf("token after login: exit %d: %s", code, errOut)
	}
}
