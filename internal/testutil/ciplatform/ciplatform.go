// Package ciplatform fakes what a CI platform gives a job for workload
// identity: GitHub Actions' OIDC token endpoint (the request that
// actions/core's getIDToken makes), and ID tokens signed by the
// platform's key, whose JWKS a test IdP trusts for a federated client.
package ciplatform

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// Platform is a fake CI platform on loopback.
type Platform struct {
	*httptest.Server
	// RequestToken is ACTIONS_ID_TOKEN_REQUEST_TOKEN: the endpoint
	// answers only requests that carry it.
	RequestToken string
	// Subject is the iss and sub of the tokens it issues: the federated
	// client's id (oidc-provider wants iss = sub = client_id).
	Subject string
	// TTL is the lifetime of issued tokens (default 5 min).
	TTL time.Duration

	key *rsa.PrivateKey
	kid string

	mu        sync.Mutex
	audiences []string
	down      bool
	issued    int
}

// New starts the platform; it is closed when the test ends.
func New(t testing.TB, subject string) *Platform {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tp, err := (&jose.JSONWebKey{Key: key.Public()}).Thumbprint(crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	rt := make([]byte, 18)
	_, _ = rand.Read(rt)
	p := &Platform{RequestToken: "ghrt-" + base64.RawURLEncoding.EncodeToString(rt), Subject: subject, TTL: 5 * time.Minute,
		key: key, kid: base64.RawURLEncoding.EncodeToString(tp)}
	p.Server = httptest.NewServer(http.HandlerFunc(p.serve))
	t.Cleanup(p.Close)
	return p
}

// serve answers GET /token?api-version=2.0&audience=AUD as GitHub does:
// {"count": 1, "value": "<JWT>"}.
func (p *Platform) serve(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	down := p.down
	p.mu.Unlock()
	if down {
		http.Error(w, "service unavailable", http.StatusServiceUnavailable)
		return
	}
	if r.URL.Path != "/token" || r.Method != http.MethodGet {
		http.NotFound(w, r)
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+p.RequestToken {
		http.Error(w, `{"message":"bad request token"}`, http.StatusUnauthorized)
		return
	}
	if r.URL.Query().Get("api-version") == "" {
		// camctl must keep the query string the platform gave.
		http.Error(w, `{"message":"api-version lost"}`, http.StatusBadRequest)
		return
	}
	aud := r.URL.Query().Get("audience")
	p.mu.Lock()
	p.audiences = append(p.audiences, aud)
	p.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"count": 1, "value": p.Issue(aud, p.TTL)})
}

// Env is what GitHub sets in a job with `permissions: id-token: write`.
func (p *Platform) Env() map[string]string {
	return map[string]string{
		"ACTIONS_ID_TOKEN_REQUEST_URL":   p.URL + "/token?api-version=2.0",
		"ACTIONS_ID_TOKEN_REQUEST_TOKEN": p.RequestToken,
	}
}

// Issue returns an ID token for aud that lives ttl (negative: already
// expired), signed by the platform's key.
func (p *Platform) Issue(aud string, ttl time.Duration) string {
	now := time.Now()
	jti := make([]byte, 12)
	_, _ = rand.Read(jti)
	claims, _ := json.Marshal(map[string]any{
		"iss": p.Subject, "sub": p.Subject, "aud": aud,
		"iat": now.Unix(), "nbf": now.Add(-time.Minute).Unix(), "exp": now.Add(ttl).Unix(),
		"jti":        base64.RawURLEncoding.EncodeToString(jti),
		"repository": "camctl/camctl", "ref": "refs/heads/main",
	})
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: p.key},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", p.kid))
	if err != nil {
		panic(err)
	}
	jws, err := s.Sign(claims)
	if err != nil {
		panic(err)
	}
	tok, _ := jws.CompactSerialize()
	p.mu.Lock()
	p.issued++
	p.mu.Unlock()
	return tok
}

// JWKS is the platform's public key, for the federated client.
func (p *Platform) JWKS() []jose.JSONWebKey {
	return []jose.JSONWebKey{{Key: p.key.Public(), KeyID: p.kid, Algorithm: string(jose.RS256), Use: "sig"}}
}

// Audiences are the audiences asked for at the token endpoint, in order.
func (p *Platform) Audiences() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.audiences...)
}

// SetDown makes the token endpoint answer 503 (true) or work again.
func (p *Platform) SetDown(down bool) {
	p.mu.Lock()
	p.down = down
	p.mu.Unlock()
}
