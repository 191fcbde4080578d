package auth

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/camctl/camctl/internal/config"
	"github.com/camctl/camctl/internal/redact"
)

// fakeIssuer serves a discovery document and a client-credentials token
// endpoint at tokenPath (which a test may move).
type fakeIssuer struct {
	*httptest.Server
	mu        sync.Mutex
	tokenPath string
	issuer    string // the issuer the document names ("" : its own URL)
	docs      int    // discovery requests
	tokens    int    // token requests that got a token
}

func newFakeIssuer(t *testing.T) *fakeIssuer {
	f := &fakeIssuer{tokenPath: "/token"}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		switch r.URL.Path {
		case "/realms/x/.well-known/openid-configuration":
			f.docs++
			iss := f.issuer
			if iss == "" {
				iss = f.URL + "/realms/x"
			}
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(map[string]any{
				"issuer": iss, "token_endpoint": f.URL + f.tokenPath,
				"authorization_endpoint": f.URL + "/auth", "revocation_endpoint": "javascript:alert(1)",
			})
		case f.tokenPath:
			f.tokens++
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"access_token":"tok-` + f.tokenPath[1:] + `","token_type":"Bearer","expires_in":300}`))
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(f.Close)
	return f
}

func envProfile(t *testing.T, env map[string]string) *config.Resolved {
	t.Helper()
	r, err := config.Resolve(config.Options{LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok }})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestDiscoveryURL(t *testing.T) {
	for _, tt := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"CAMUNDA_ISSUER_URL": "https://kc/realms/x"}, "https://kc/realms/x/.well-known/openid-configuration"},
		{map[string]string{"CAMUNDA_ISSUER_URL": "https://kc/realms/x/"}, "https://kc/realms/x/.well-known/openid-configuration"},
		{map[string]string{"CAMUNDA_ISSUER_URL": "https://kc/realms/x/.well-known/openid-configuration"}, "https://kc/realms/x/.well-known/openid-configuration"},
		{map[string]string{"CAMUNDA_ISSUER_URL": "https://kc/realms/x", "CAMUNDA_WELL_KNOWN_CONFIGURATION_URL": "https://kc/other"}, "https://kc/other"},
		{map[string]string{"CAMUNDA_REST_ADDRESS": "http://c"}, ""},
	} {
		if got := DiscoveryURL(envProfile(t, tt.env)); got != tt.want {
			t.Errorf("%v: %q, want %q", tt.env, got, tt.want)
		}
	}
}

// TestDiscoveryClientCredentials: with only the issuer, a client gets
// its token from the endpoint the discovery document names; the document
// is read once and cached beside the tokens, and read again when the
// endpoint it names has moved (404).
func TestDiscoveryClientCredentials(t *testing.T) {
	f := newFakeIssuer(t)
	dir := t.TempDir()
	env := map[string]string{
		"CAMUNDA_REST_ADDRESS": "http://127.0.0.1:1", "CAMUNDA_CLIENT_ID": "c", "CAMUNDA_CLIENT_SECRET": "s",
		"CAMUNDA_ISSUER_URL": f.URL + "/realms/x",
	}
	deps := Deps{Secrets: &Secrets{Mode: KeyringNone, Redactor: redact.New()}, Tokens: NewTokenCache(KeyringNone, nil, dir), HTTP: f.Client(), Timeout: 5 * time.Second}
	token := func() string {
		t.Helper()
		r := envProfile(t, env)
		p, err := NewProvider(t.Context(), r, deps)
		if err != nil {
			t.Fatal(err)
		}
		if got := r.Get(config.TokenURL); got.Source.Kind != config.FromInferred || !strings.HasPrefix(got.Value, f.URL) {
			t.Errorf("token URL %+v, want inferred from the discovery document", got)
		}
		tok, err := p.(*OIDC).Token(t.Context(), true)
		if err != nil {
			t.Fatal(err)
		}
		return tok.AccessToken
	}
	if got := token(); got != "tok-token" {
		t.Fatalf("token %q", got)
	}
	token()
	if f.docs != 1 {
		t.Errorf("%d discovery requests for two runs, want 1 (cached)", f.docs)
	}
	if fi, err := os.Stat(filepath.Join(dir, "discovery.json")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("the cached document: %v, %v; want a 0600 file", fi, err)
	}
	// The IdP moved its token endpoint: the cached document's answers 404.
	f.mu.Lock()
	f.tokenPath = "/token2"
	f.mu.Unlock()
	if got := token(); got != "tok-token2" {
		t.Errorf("after the endpoint moved: token %q, want one from the new endpoint", got)
	}
	if f.docs != 2 {
		t.Errorf("%d discovery requests, want 2 (read again once the endpoint failed)", f.docs)
	}
}

func TestDiscoveryRefusals(t *testing.T) {
	f := newFakeIssuer(t)
	d := &Discovery{HTTP: f.Client(), Dir: t.TempDir()}
	ep, err := d.Get(t.Context(), f.URL+"/realms/x/.well-known/openid-configuration", f.URL+"/realms/x/", false)
	if err != nil {
		t.Fatal(err)
	}
	if ep.Revocation != "" {
		t.Errorf("a javascript: revocation endpoint was kept: %q", ep.Revocation)
	}
	_, err = d.Get(t.Context(), f.URL+"/realms/y/.well-known/openid-configuration", "", true)
	var de *DiscoveryError
	if !errors.As(err, &de) || de.StatusCode != http.StatusNotFound || !strings.Contains(err.Error(), "Check the issuer") {
		t.Errorf("no document: %v, want a 404 DiscoveryError naming the issuer", err)
	}
	f.mu.Lock()
	f.issuer = "https://evil.example.com"
	f.mu.Unlock()
	_, err = d.Get(t.Context(), f.URL+"/realms/x/.well-known/openid-configuration", f.URL+"/realms/x", true)
	if !errors.As(err, &de) || !strings.Contains(err.Error(), "evil.example.com") {
		t.Errorf("a document of another issuer: %v, want refused", err)
	}
	f.Close()
	_, err = d.Get(t.Context(), f.URL+"/realms/z/.well-known/openid-configuration", "", true)
	if !errors.As(err, &de) || de.StatusCode != 0 {
		t.Errorf("an unreachable issuer: %v, want a DiscoveryError without status", err)
	}
}
