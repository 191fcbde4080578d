package cmd

import (
	"encoding/json"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/camctl/camctl/internal/auth"
	"github.com/camctl/camctl/internal/config"
	"github.com/camctl/camctl/internal/testutil/fakecamunda"
	"github.com/camctl/camctl/internal/testutil/pkitest"
)

// TestPrivateKeyJWTProfile: a profile whose client signs assertions with
// a PKCS#12 keystore: login reads the keystore password from the
// environment and stores it bound like a certificate passphrase, later
// runs unlock the keystore from the keyring, and profile show says which
// key, with its thumbprint (the kid the IdP must know).
func TestPrivateKeyJWTProfile(t *testing.T) {
	pki := pkitest.New(t, "")
	keys := pki.AssertionKeys(t)
	issuer := fakecamunda.NewIssuer(10 * time.Minute)
	issuer.AddKeyClient("signed", keys.JWKS(t), false)
	idp := httptest.NewServer(issuer)
	t.Cleanup(idp.Close)
	srv := newFakeServer(t)
	srv.fake.RequireBearer(issuer.Verify)

	f, h, _, _, errOut := newHarness(t, map[string]string{"CAMUNDA_CLIENT_ASSERTION_KEYSTORE_PASSWORD": pkitest.ClientP12Password})
	if code := run(t, f, "login", "-p", "signed", "--address", srv.URL, "--client-id", "signed", "--token-url", idp.URL+"/token",
		"--client-assertion-keystore", keys.P12AES); code != 0 {
		t.Fatalf("login: exit %d: %s", code, errOut)
	}
	if !strings.Contains(errOut.String(), "The client assertion keystore password is stored in the OS keyring.") {
		t.Errorf("login did not store the keystore password: %s", errOut)
	}
	if strings.Contains(errOut.String(), pkitest.ClientP12Password) {
		t.Errorf("login printed the password")
	}
	cfg, _ := os.ReadFile(h.config)
	if strings.Contains(string(cfg), pkitest.ClientP12Password) || !strings.Contains(string(cfg), "client-assertion-keystore: "+keys.P12AES) {
		t.Errorf("config file:\n%s", cfg)
	}

	// The next runs, without the variable: the keyring has it.
	delete(h.env, "CAMUNDA_CLIENT_ASSERTION_KEYSTORE_PASSWORD")
	f, _, out, errOut := h.factory(t)
	if code := run(t, f, "token", "--refresh"); code != 0 {
		t.Fatalf("token: exit %d: %s", code, errOut)
	}
	if err := issuer.Verify(strings.TrimSpace(out.String())); err != nil {
		t.Errorf("token: %v", err)
	}

	// A warm run uses the cached token: it reads neither the keystore
	// nor its password.
	if err := os.Rename(keys.P12AES, keys.P12AES+".away"); err != nil {
		t.Fatal(err)
	}
	f, _, _, errOut = h.factory(t)
	if code := run(t, f, "-p", "signed", "topology"); code != 0 {
		t.Errorf("topology with a cached token and no keystore: exit %d: %s", code, errOut)
	}
	if err := os.Rename(keys.P12AES+".away", keys.P12AES); err != nil {
		t.Fatal(err)
	}

	f, _, out, errOut = h.factory(t)
	if code := run(t, f, "profile", "show", "signed"); code != 0 {
		t.Fatalf("profile show: exit %d: %s", code, errOut)
	}
	kid, _ := auth.Thumbprint(keys.RSA)
	for _, want := range []string{"CLIENT AUTHENTICATION", "private_key_jwt", keys.P12AES, kid, "RS256",
		"auth.client-assertion-keystore-password", "stored in the OS keyring"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("profile show lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out.String(), "auth.client-secret") {
		t.Errorf("profile show asks for a client secret that an assertion replaces:\n%s", out)
	}

	f, _, out, _ = h.factory(t)
	if code := run(t, f, "profile", "show", "signed", "-o", "json"); code != 0 {
		t.Fatal("profile show -o json failed")
	}
	var shown struct {
		ClientAuth auth.ClientAuth `json:"clientAuth"`
	}
	if err := json.Unmarshal(out.Bytes(), &shown); err != nil || shown.ClientAuth.Kind != "private_key_jwt" || shown.ClientAuth.Thumbprint != kid {
		t.Errorf("clientAuth %+v (%v)", shown.ClientAuth, err)
	}

	// camctl status: ready, with the client authentication named and no
	// client secret asked for.
	f, _, out, errOut = h.factory(t)
	if code := run(t, f, "status", "-p", "signed"); code != 0 {
		t.Fatalf("status: exit %d: %s\n%s", code, errOut, out)
	}
	if !strings.Contains(out.String(), "private_key_jwt") || !strings.Contains(out.String(), kid) || strings.Contains(out.String(), "client secret") {
		t.Errorf("status of a private_key_jwt profile:\n%s", out)
	}
	f, _, out, _ = h.factory(t)
	if code := run(t, f, "status", "-p", "signed", "-o", "json"); code != 0 || !strings.Contains(out.String(), `"where": "private_key_jwt"`) || !strings.Contains(out.String(), `"ready": true`) {
		t.Errorf("status -o json of a private_key_jwt profile: exit %d\n%s", code, out)
	}

	// With the keystore gone, status says the credential is not there.
	if err := os.Rename(keys.P12AES, keys.P12AES+".away"); err != nil {
		t.Fatal(err)
	}
	f, _, out, _ = h.factory(t)
	run(t, f, "status", "-p", "signed", "-o", "json")
	if !strings.Contains(out.String(), `"stored": false`) {
		t.Errorf("status -o json with the keystore gone:\n%s", out)
	}
	if err := os.Rename(keys.P12AES+".away", keys.P12AES); err != nil {
		t.Fatal(err)
	}

	// A PEM key with PS256 set on the profile: signed anew, same client.
	f, _, _, errOut = h.factory(t)
	if code := run(t, f, "profile", "set", "signed", "--client-assertion-keystore", "", "--client-assertion-key", keys.RSAKey, "--assertion-alg", "ps256"); code != 0 {
		t.Fatalf("profile set: %s", errOut)
	}
	f, _, _, errOut = h.factory(t)
	if code := run(t, f, "token", "--refresh"); code != 0 {
		t.Fatalf("token with the PEM key: exit %d: %s", code, errOut)
	}
	f, _, _, errOut = h.factory(t)
	if code := run(t, f, "profile", "set", "signed", "--assertion-alg", "HS256"); code != ExitUsage || !strings.Contains(errOut.String(), "RS256, PS256") {
		t.Errorf("--assertion-alg HS256: exit %d: %s", code, errOut)
	}

	// A key the IdP does not know: exit 3, and the hint names its kid.
	f, _, _, errOut = h.factory(t)
	if code := run(t, f, "profile", "set", "signed", "--client-assertion-key", pki.WrongKey, "--assertion-alg", ""); code != 0 {
		t.Fatalf("profile set: %s", errOut)
	}
	f, _, _, errOut = h.factory(t)
	wrongKid := auth.DescribeClientAuth(mustResolve(t, h, "signed")).Thumbprint
	if code := run(t, f, "token", "--refresh"); code != ExitAuth || !strings.Contains(errOut.String(), "registered for private_key_jwt with this key (kid "+wrongKid+")") {
		t.Errorf("an unknown key: exit %d: %s", code, errOut)
	}
}

// TestDescribeClientAuth names each kind of client authentication.
func TestDescribeClientAuth(t *testing.T) {
	pki := pkitest.New(t, "")
	keys := pki.AssertionKeys(t)
	kid, _ := auth.Thumbprint(keys.EC)
	cases := []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"CAMUNDA_CLIENT_ID": "a", "CAMUNDA_CLIENT_SECRET": "s"}, "secret"},
		{map[string]string{"CAMUNDA_CLIENT_ID": "a", "CAMUNDA_MTLS_CERT_PATH": pki.ClientCert, "CAMUNDA_MTLS_KEY_PATH": pki.ClientKey}, "certificate (" + pki.ClientCert + ")"},
		{map[string]string{"CAMUNDA_CLIENT_ID": "a", "CAMCTL_CLIENT_ASSERTION_KEY_PATH": keys.ECKey}, "private_key_jwt (key " + keys.ECKey + ", ES256, kid " + kid + ")"},
		{map[string]string{"CAMUNDA_CLIENT_ID": "a", "CAMUNDA_CLIENT_ASSERTION_KEYSTORE_PATH": keys.P12AES}, "private_key_jwt (key " + keys.P12AES + ", the keystore is locked"},
		// The kid is the key's, whatever certificate stands beside it (a
		// wrong one here: the RSA key's, next to the EC key).
		{map[string]string{"CAMUNDA_CLIENT_ID": "a", "CAMCTL_CLIENT_ASSERTION_KEY_PATH": keys.ECKey, "CAMCTL_CLIENT_ASSERTION_CERT_PATH": keys.RSACert}, "private_key_jwt (key " + keys.ECKey + ", certificate " + keys.RSACert + ", ES256, kid " + kid + ")"},
		{map[string]string{"CAMUNDA_CLIENT_ID": "a", "CAMCTL_CLIENT_ASSERTION_FILE": "/var/run/secrets/tokens/camunda"}, "federated (from file /var/run/secrets/tokens/camunda)"},
		{map[string]string{"CAMUNDA_CLIENT_ID": "a", "CAMCTL_CLIENT_ASSERTION_FROM": "github-actions"}, "federated (from github-actions, aud api://AzureADTokenExchange)"},
		{map[string]string{"CAMUNDA_OAUTH_TOKEN": "x"}, "bearer"},
	}
	for _, c := range cases {
		c.env["CAMUNDA_REST_ADDRESS"] = "https://camunda.example.com"
		c.env["CAMUNDA_OAUTH_URL"] = "https://idp.example.com/token"
		s := (&Factory{LookupEnv: envMap(c.env), Global: &GlobalOptions{}, IO: func() *IOStreams { io, _, _, _ := TestIO(); return io }()}).newSession()
		r, err := s.Resolve(nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := auth.DescribeClientAuth(r).String(); !strings.HasPrefix(got, c.want) {
			t.Errorf("%v: %q, want %q", c.env, got, c.want)
		}
	}
}

// mustResolve resolves profile name of the harness's config file.
func mustResolve(t *testing.T, h *testHarness, name string) *config.Resolved {
	t.Helper()
	f, _, _, _ := h.factory(t)
	r, err := f.newSession().ResolveProfile(name, nil)
	if err != nil {
		t.Fatal(err)
	}
	return r
}
