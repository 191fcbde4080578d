package auth_test

import (
	"context"
	"crypto/sha1" // #nosec G505 -- checking x5t, which is SHA-1 by definition
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/camctl/camctl/internal/auth"
	"github.com/camctl/camctl/internal/config"
	"github.com/camctl/camctl/internal/redact"
	"github.com/camctl/camctl/internal/testutil/ciplatform"
	"github.com/camctl/camctl/internal/testutil/oidctest"
	"github.com/camctl/camctl/internal/testutil/pkitest"
)

// resolveEnv resolves the environment profile from env alone: the way a
// CI job uses camctl.
func resolveEnv(t *testing.T, env map[string]string) *config.Resolved {
	t.Helper()
	r, err := config.Resolve(config.Options{LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok }})
	if err != nil {
		t.Fatalf("resolve: %v", err)
	}
	return r
}

func depsFor(env map[string]string) auth.Deps {
	return auth.Deps{
		Secrets:   &auth.Secrets{Mode: auth.KeyringNone, File: auth.NewMemoryStore(), Redactor: redact.New()},
		Timeout:   10 * time.Second,
		LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok },
	}
}

type tokenSource interface {
	Token(ctx context.Context, force bool) (*auth.Token, error)
}

// TestClientAssertionsAgainstIdP runs every source of client assertions
// (spec §11) against the real OpenID provider: one Node process for all.
func TestClientAssertionsAgainstIdP(t *testing.T) {
	pki := pkitest.New(t, "")
	keys := pki.AssertionKeys(t)
	gh := ciplatform.New(t, "federated-ci")
	idp := oidctest.Start(t, oidctest.Options{Clients: []oidctest.Client{
		{ID: "signed-client", JWKS: keys.JWKS(t)},
		{ID: "federated-ci", JWKS: gh.JWKS()},
		{ID: "secret-client", Secret: "S3cret-for-comparison"},
	}})
	base := map[string]string{
		"CAMUNDA_REST_ADDRESS": "http://127.0.0.1:1/v2",
		"CAMUNDA_OAUTH_URL":    idp.TokenURL(),
	}
	with := func(extra map[string]string) map[string]string {
		env := map[string]string{}
		for k, v := range base {
			env[k] = v
		}
		for k, v := range extra {
			env[k] = v
		}
		return env
	}
	// fetch makes n token requests with the environment profile of env
	// and returns the tokens; each request must carry a new assertion.
	fetch := func(t *testing.T, env map[string]string, n int) ([]*auth.Token, error) {
		t.Helper()
		r := resolveEnv(t, env)
		if r.Method() != config.MethodOIDC {
			t.Fatalf("method %s (from %s), want oidc inferred from the assertion settings", r.Method(), r.Get(config.AuthMethod).Source)
		}
		p, err := auth.NewProvider(t.Context(), r, depsFor(env))
		if err != nil {
			return nil, err
		}
		var toks []*auth.Token
		for range n {
			tok, err := p.(tokenSource).Token(t.Context(), true)
			if err != nil {
				return toks, err
			}
			if err := idp.Verify(tok.AccessToken); err != nil {
				t.Errorf("the IdP's token does not verify: %v", err)
			}
			toks = append(toks, tok)
		}
		return toks, nil
	}
	statsBefore := func() int { return len(idp.Stats().Fields) }
	// newAssertions returns the assertions and field lists the IdP saw
	// since mark.
	seen := func(t *testing.T, mark int) ([][]string, []oidctest.Assertion) {
		t.Helper()
		s := idp.Stats()
		if len(s.Errors) > 0 {
			t.Logf("IdP errors so far: %v", s.Errors)
		}
		return s.Fields[mark:], s.Assertions[len(s.Assertions)-(len(s.Fields)-mark):]
	}
	checkSigned := func(t *testing.T, a oidctest.Assertion, alg, pubKid string, certRaw []byte) {
		t.Helper()
		h, c := a.Header, a.Claims
		if h["alg"] != alg || h["typ"] != "JWT" || h["kid"] != pubKid {
			t.Errorf("header %v, want alg %s, typ JWT, kid %s (the RFC 7638 thumbprint)", h, alg, pubKid)
		}
		if certRaw != nil {
			s1, s256 := sha1.Sum(certRaw), sha256.Sum256(certRaw) // #nosec G401
			if h["x5t"] != base64.RawURLEncoding.EncodeToString(s1[:]) || h["x5t#S256"] != base64.RawURLEncoding.EncodeToString(s256[:]) {
				t.Errorf("header x5t %v, x5t#S256 %v: not the certificate's thumbprints", h["x5t"], h["x5t#S256"])
			}
		} else if _, ok := h["x5t"]; ok {
			t.Errorf("header has x5t without a certificate: %v", h)
		}
		if c["iss"] != "signed-client" || c["sub"] != "signed-client" || c["aud"] != idp.TokenURL() {
			t.Errorf("claims %v, want iss = sub = signed-client, aud = %s", c, idp.TokenURL())
		}
		iat, nbf, exp := c["iat"].(float64), c["nbf"].(float64), c["exp"].(float64)
		if now := float64(time.Now().Unix()); iat > now+1 || iat < now-60 || nbf != iat || exp <= iat || exp-iat > 300 {
			t.Errorf("iat %v nbf %v exp %v: want iat now, nbf = iat, exp at most 5 minutes later", iat, nbf, exp)
		}
		if jti, _ := c["jti"].(string); len(jti) < 16 {
			t.Errorf("jti %q: want a random id", jti)
		}
	}
	noSecret := func(t *testing.T, fields [][]string) {
		t.Helper()
		for _, f := range fields {
			if slices.Contains(f, "client_secret") || !slices.Contains(f, "client_assertion") || !slices.Contains(f, "client_assertion_type") {
				t.Errorf("token request fields %v: want client_assertion and its type, no client_secret", f)
			}
		}
	}
	rsaKid, _ := auth.Thumbprint(keys.RSA)
	ecKid, _ := auth.Thumbprint(keys.EC)

	signedCases := []struct {
		name string
		env  map[string]string
		alg  string
		kid  string
		cert []byte
	}{
		{"PEM RSA", map[string]string{"CAMCTL_CLIENT_ASSERTION_KEY_PATH": keys.RSAKey}, "RS256", rsaKid, nil},
		{"PEM RSA PKCS1 with certificate", map[string]string{"CAMCTL_CLIENT_ASSERTION_KEY_PATH": keys.RSAKeyPKCS1, "CAMCTL_CLIENT_ASSERTION_CERT_PATH": keys.RSACert}, "RS256", rsaKid, keys.RSAX509.Raw},
		{"PEM RSA encrypted", map[string]string{"CAMCTL_CLIENT_ASSERTION_KEY_PATH": keys.RSAKeyEncrypted, "CAMUNDA_CLIENT_ASSERTION_KEYSTORE_KEY_PASSWORD": pkitest.ClientKeyPassphrase}, "RS256", rsaKid, nil},
		{"PEM EC with certificate", map[string]string{"CAMCTL_CLIENT_ASSERTION_KEY_PATH": keys.ECKey, "CAMCTL_CLIENT_ASSERTION_CERT_PATH": keys.ECCert}, "ES256", ecKid, keys.ECX509.Raw},
		{"PKCS12 AES, Java names", map[string]string{"CAMUNDA_CLIENT_ASSERTION_KEYSTORE_PATH": keys.P12AES, "CAMUNDA_CLIENT_ASSERTION_KEYSTORE_PASSWORD": pkitest.ClientP12Password}, "RS256", rsaKid, keys.RSAX509.Raw},
		{"PKCS12 legacy, ZEEBE names", map[string]string{"ZEEBE_CLIENT_ASSERTION_KEYSTORE_PATH": keys.P12Legacy, "ZEEBE_CLIENT_ASSERTION_KEYSTORE_PASSWORD": pkitest.ClientP12Password}, "RS256", rsaKid, keys.RSAX509.Raw},
		{"PKCS12 key password defaults to the store's", map[string]string{"CAMUNDA_CLIENT_ASSERTION_KEYSTORE_PATH": keys.P12AES, "CAMUNDA_CLIENT_ASSERTION_KEYSTORE_PASSWORD": pkitest.ClientP12Password, "CAMUNDA_CLIENT_ASSERTION_KEYSTORE_KEY_PASSWORD": pkitest.ClientP12Password}, "RS256", rsaKid, keys.RSAX509.Raw},
	}
	// PS256: assertion-alg is a profile setting (no variable): a flag.
	for _, c := range signedCases {
		t.Run(c.name, func(t *testing.T) {
			env := with(c.env)
			env["CAMUNDA_CLIENT_ID"] = "signed-client"
			mark := statsBefore()
			if _, err := fetch(t, env, 2); err != nil {
				t.Fatalf("token: %v (IdP: %v)", err, idp.Stats().Errors)
			}
			fields, as := seen(t, mark)
			noSecret(t, fields)
			if len(as) != 2 {
				t.Fatalf("the IdP saw %d assertions, want 2", len(as))
			}
			for _, a := range as {
				checkSigned(t, a, c.alg, c.kid, c.cert)
			}
			if as[0].Claims["jti"] == as[1].Claims["jti"] {
				t.Errorf("two token requests sent the same jti %v", as[0].Claims["jti"])
			}
		})
	}
	t.Run("PS256", func(t *testing.T) {
		env := with(map[string]string{"CAMUNDA_CLIENT_ID": "signed-client"})
		r, err := config.Resolve(config.Options{
			LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok },
			Flags:     map[config.Key]string{config.AssertionKey: keys.RSAKey, config.AssertionAlg: "PS256"},
		})
		if err != nil {
			t.Fatal(err)
		}
		mark := statsBefore()
		p, err := auth.NewProvider(t.Context(), r, depsFor(env))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.(tokenSource).Token(t.Context(), true); err != nil {
			t.Fatalf("token: %v (IdP: %v)", err, idp.Stats().Errors)
		}
		_, as := seen(t, mark)
		checkSigned(t, as[0], "PS256", rsaKid, nil)
	})
	t.Run("assertion-audience is the issuer", func(t *testing.T) {
		env := with(map[string]string{"CAMUNDA_CLIENT_ID": "signed-client", "CAMCTL_CLIENT_ASSERTION_KEY_PATH": keys.ECKey, "CAMCTL_ASSERTION_AUDIENCE": idp.Issuer})
		mark := statsBefore()
		if _, err := fetch(t, env, 1); err != nil {
			t.Fatalf("token: %v (IdP: %v)", err, idp.Stats().Errors)
		}
		if _, as := seen(t, mark); as[0].Claims["aud"] != idp.Issuer {
			t.Errorf("aud %v, want the issuer %s", as[0].Claims["aud"], idp.Issuer)
		}
	})

	// Workload identity: the CI platform's token is the assertion.
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	write := func(t *testing.T, tok string) {
		t.Helper()
		// Replaced as the kubelet does: a new file renamed over the old.
		tmp := tokenFile + ".new"
		if err := os.WriteFile(tmp, []byte(tok+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, tokenFile); err != nil {
			t.Fatal(err)
		}
	}
	fed := func(extra map[string]string) map[string]string {
		env := with(extra)
		env["CAMUNDA_CLIENT_ID"] = "federated-ci"
		return env
	}
	t.Run("assertion file, replaced between runs", func(t *testing.T) {
		env := fed(map[string]string{"CAMCTL_CLIENT_ASSERTION_FILE": tokenFile})
		r := resolveEnv(t, env)
		p, err := auth.NewProvider(t.Context(), r, depsFor(env))
		if err != nil {
			t.Fatal(err)
		}
		mark := statsBefore()
		var sent []string
		for range 2 {
			tok := gh.Issue(idp.TokenURL(), time.Minute)
			write(t, tok)
			sent = append(sent, tok)
			if _, err := p.(tokenSource).Token(t.Context(), true); err != nil {
				t.Fatalf("token: %v (IdP: %v)", err, idp.Stats().Errors)
			}
		}
		fields, as := seen(t, mark)
		noSecret(t, fields)
		if len(as) != 2 {
			t.Fatalf("the IdP saw %d assertions, want 2", len(as))
		}
		for i, tok := range sent {
			j, err := auth.DecodeJWT(tok)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := as[i].Claims["jti"], j.Claims["jti"]; got != want {
				t.Errorf("request %d sent the assertion with jti %v, want the file's token then, %v (the file is re-read)", i+1, got, want)
			}
		}
	})
	t.Run("assertion variable", func(t *testing.T) {
		env := fed(map[string]string{"GITLAB_OIDC_TOKEN": gh.Issue(idp.TokenURL(), time.Minute)})
		r, err := config.Resolve(config.Options{
			LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok },
			Flags:     map[config.Key]string{config.AssertionEnv: "GITLAB_OIDC_TOKEN"},
		})
		if err != nil {
			t.Fatal(err)
		}
		p, err := auth.NewProvider(t.Context(), r, depsFor(env))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.(tokenSource).Token(t.Context(), true); err != nil {
			t.Fatalf("token: %v (IdP: %v)", err, idp.Stats().Errors)
		}
	})
	t.Run("GitHub Actions", func(t *testing.T) {
		env := fed(gh.Env())
		env["CAMCTL_CLIENT_ASSERTION_FROM"] = "github-actions"
		env["CAMCTL_ASSERTION_AUDIENCE"] = idp.TokenURL()
		mark := statsBefore()
		n := len(gh.Audiences())
		if _, err := fetch(t, env, 2); err != nil {
			t.Fatalf("token: %v (IdP: %v)", err, idp.Stats().Errors)
		}
		fields, as := seen(t, mark)
		noSecret(t, fields)
		if auds := gh.Audiences()[n:]; len(auds) != 2 || auds[0] != idp.TokenURL() {
			t.Errorf("GitHub was asked for audiences %v, want the configured one twice (a new token per request)", auds)
		}
		if len(as) != 2 || as[0].Claims["iss"] != "federated-ci" {
			t.Errorf("assertions %v: want the platform's tokens", as)
		}
	})
	t.Run("GitHub Actions default audience", func(t *testing.T) {
		env := fed(gh.Env())
		env["CAMCTL_CLIENT_ASSERTION_FROM"] = "github-actions"
		n := len(gh.Audiences())
		// The test IdP wants its own URL as aud, so it refuses this one;
		// what matters is what was asked for.
		_, err := fetch(t, env, 1)
		var te *auth.TokenError
		if !errors.As(err, &te) || !te.Rejected() {
			t.Errorf("err = %v, want the IdP's refusal of an assertion for another audience", err)
		}
		if auds := gh.Audiences()[n:]; len(auds) != 1 || auds[0] != auth.GitHubDefaultAudience {
			t.Errorf("audiences %v, want [%s]", auds, auth.GitHubDefaultAudience)
		}
	})

	// Each failure says which, and sends nothing.
	failures := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"missing file", fed(map[string]string{"CAMCTL_CLIENT_ASSERTION_FILE": filepath.Join(dir, "nope")}), "cannot read it"},
		{"expired file", fed(map[string]string{"CAMCTL_CLIENT_ASSERTION_FILE": tokenFile}), "expired at"},
		{"GitHub variables missing", fed(map[string]string{"CAMCTL_CLIENT_ASSERTION_FROM": "github-actions"}), "ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN not set"},
		{"GitHub endpoint down", func() map[string]string {
			e := fed(gh.Env())
			e["CAMCTL_CLIENT_ASSERTION_FROM"] = "github-actions"
			return e
		}(), "answered 503"},
		{"GitHub endpoint over plain http to a remote host", func() map[string]string {
			e := fed(gh.Env())
			e["CAMCTL_CLIENT_ASSERTION_FROM"] = "github-actions"
			e["ACTIONS_ID_TOKEN_REQUEST_URL"] = "http://token.actions.example.com/token?api-version=2.0"
			return e
		}(), "the request token goes only over https"},
		{"GitHub request token wrong", func() map[string]string {
			e := fed(gh.Env())
			e["CAMCTL_CLIENT_ASSERTION_FROM"] = "github-actions"
			e["ACTIONS_ID_TOKEN_REQUEST_TOKEN"] = "not-the-token"
			return e
		}(), "answered 401"},
		{"key file missing", with(map[string]string{"CAMUNDA_CLIENT_ID": "signed-client", "CAMCTL_CLIENT_ASSERTION_KEY_PATH": filepath.Join(dir, "no.key")}), "cannot read it"},
		{"keystore password wrong", with(map[string]string{"CAMUNDA_CLIENT_ID": "signed-client", "CAMUNDA_CLIENT_ASSERTION_KEYSTORE_PATH": keys.P12AES, "CAMUNDA_CLIENT_ASSERTION_KEYSTORE_PASSWORD": "wrong"}), "keystore password is wrong"},
	}
	for _, c := range failures {
		t.Run("fails: "+c.name, func(t *testing.T) {
			if c.name == "expired file" {
				write(t, gh.Issue(idp.TokenURL(), -time.Minute))
			}
			if c.name == "GitHub endpoint down" {
				gh.SetDown(true)
				defer gh.SetDown(false)
			}
			before := idp.TokenRequests()
			_, err := fetch(t, c.env, 1)
			var ae *auth.AssertionError
			if !errors.As(err, &ae) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want an AssertionError saying %q", err, c.want)
			}
			if n := idp.TokenRequests() - before; n != 0 {
				t.Errorf("%d token requests without an assertion, want 0", n)
			}
		})
	}
	t.Run("fails: keystore password missing", func(t *testing.T) {
		env := with(map[string]string{"CAMUNDA_CLIENT_ID": "signed-client", "CAMUNDA_CLIENT_ASSERTION_KEYSTORE_PATH": keys.P12AES})
		_, err := fetch(t, env, 1)
		var me *auth.MissingSecretError
		if !errors.As(err, &me) || !strings.Contains(err.Error(), "CAMUNDA_CLIENT_ASSERTION_KEYSTORE_PASSWORD") {
			t.Fatalf("err = %v, want a missing secret naming CAMUNDA_CLIENT_ASSERTION_KEYSTORE_PASSWORD", err)
		}
	})
	t.Run("fails: EC key with PS256", func(t *testing.T) {
		env := with(map[string]string{"CAMUNDA_CLIENT_ID": "signed-client"})
		r, err := config.Resolve(config.Options{
			LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok },
			Flags:     map[config.Key]string{config.AssertionKey: keys.ECKey, config.AssertionAlg: "PS256"},
		})
		if err != nil {
			t.Fatal(err)
		}
		p, err := auth.NewProvider(t.Context(), r, depsFor(env))
		if err != nil {
			t.Fatal(err)
		}
		// The key is read when a token is needed, not before.
		before := idp.TokenRequests()
		_, err = p.(tokenSource).Token(t.Context(), true)
		if n := idp.TokenRequests() - before; n != 0 {
			t.Errorf("%d token requests with an unusable key, want 0", n)
		}
		var ue *config.UsageError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), "ES256") {
			t.Fatalf("err = %v, want a usage error naming ES256", err)
		}
	})
}
