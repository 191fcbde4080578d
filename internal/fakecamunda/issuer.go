package fakecamunda

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Issuer is a fake OAuth 2.0 token endpoint for the client-credentials
// grant, as SaaS login, Keycloak and Entra ID answer it, at any path that
// ends in /token. It authenticates a client by secret or, for clients
// added with AddCertClient, by the subject of its TLS client certificate
// (tls_client_auth), and issues JWT-shaped tokens whose audience is the
// requested audience or scope. Its signatures are random bytes: Verify,
// not a JWKS, tells a fake cluster which tokens are good. The real
// OpenID provider of the OIDC tests is internal/oidctest; this one serves
// the README's many providers at once.
type Issuer struct {
	mu       sync.Mutex
	clients  map[string]issuerClient
	issued   map[string]time.Time
	requests int
	lifetime time.Duration
}

type issuerClient struct {
	secret    string
	subjectDN string
}

// NewIssuer returns an issuer of tokens valid for five minutes.
func NewIssuer() *Issuer {
	return &Issuer{clients: map[string]issuerClient{}, issued: map[string]time.Time{}, lifetime: 5 * time.Minute}
}

// AddClient registers a client that authenticates with a secret.
func (i *Issuer) AddClient(id, secret string) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.clients[id] = issuerClient{secret: secret}
}

// AddCertClient registers a client that authenticates with a TLS client
// certificate whose subject is subjectDN (RFC 4514).
func (i *Issuer) AddCertClient(id, subjectDN string) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.clients[id] = issuerClient{subjectDN: subjectDN}
}

// Requests returns how many token requests arrived.
func (i *Issuer) Requests() int {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.requests
}

// Verify accepts the tokens this issuer handed out that have not expired.
func (i *Issuer) Verify(token string) error {
	i.mu.Lock()
	defer i.mu.Unlock()
	exp, ok := i.issued[token]
	switch {
	case !ok:
		return errors.New("not issued here")
	case time.Now().After(exp):
		return errors.New("expired")
	}
	return nil
}

// ServeHTTP implements http.Handler.
func (i *Issuer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	i.mu.Lock()
	i.requests++
	i.mu.Unlock()
	if r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/token") {
		oauthError(w, http.StatusNotFound, "invalid_request", "no token endpoint at "+r.URL.Path)
		return
	}
	if err := r.ParseForm(); err != nil || r.PostForm.Get("grant_type") != "client_credentials" {
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type", "only client_credentials")
		return
	}
	id := r.PostForm.Get("client_id")
	i.mu.Lock()
	c, known := i.clients[id]
	i.mu.Unlock()
	authenticated := known && c.secret != "" && r.PostForm.Get("client_secret") == c.secret
	if known && c.subjectDN != "" && r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
		authenticated = r.TLS.PeerCertificates[0].Subject.String() == c.subjectDN
	}
	if !authenticated {
		oauthError(w, http.StatusUnauthorized, "invalid_client", "Invalid client or Invalid client credentials")
		return
	}
	aud := r.PostForm.Get("audience")
	if aud == "" {
		aud = r.PostForm.Get("scope")
	}
	now := time.Now()
	exp := now.Add(i.lifetime)
	token := jwt(map[string]any{
		"iss": "https://" + r.Host, "sub": id, "azp": id, "aud": aud,
		"iat": now.Unix(), "exp": exp.Unix(),
	})
	i.mu.Lock()
	i.issued[token] = exp
	i.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"access_token": token, "token_type": "Bearer", "expires_in": int(i.lifetime.Seconds()),
	})
}

func jwt(claims map[string]any) string {
	enc := base64.RawURLEncoding
	header, _ := json.Marshal(map[string]string{"alg": "RS256", "typ": "JWT", "kid": "fakecamunda"})
	body, _ := json.Marshal(claims)
	sig := make([]byte, 32)
	_, _ = rand.Read(sig)
	return enc.EncodeToString(header) + "." + enc.EncodeToString(body) + "." + enc.EncodeToString(sig)
}

func oauthError(w http.ResponseWriter, status int, code, description string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": description})
}
