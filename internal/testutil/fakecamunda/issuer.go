package fakecamunda

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// Issuer is a fake OAuth 2.0 token endpoint for the client-credentials
// grant, as SaaS login, Keycloak and Entra ID answer it, at any path that
// ends in /token. It authenticates a client by secret (form fields or
// HTTP Basic) or, for clients added with AddCertClient, by the subject of
// its TLS client certificate (tls_client_auth), and issues HS256 JWTs
// whose audience is the requested audience or scope, signed with a key
// made at start-up: Verify accepts exactly the unexpired tokens of this
// issuer. The real OpenID provider of the OIDC tests is internal/testutil/oidctest;
// this one serves the benchmarks and the README's many providers at once.
type Issuer struct {
	key []byte

	mu       sync.Mutex
	clients  map[string]issuerClient
	ttl      time.Duration
	requests int
	issued   int
}

type issuerClient struct {
	secret    string
	subjectDN string
	// keys: a private_key_jwt or federated client (AddKeyClient).
	keys      []jose.JSONWebKey
	federated bool
	audiences []string
}

// NewIssuer returns an issuer of tokens that live for ttl.
func NewIssuer(ttl time.Duration) *Issuer {
	key := make([]byte, 32)
	_, _ = rand.Read(key) // crypto/rand does not fail on supported platforms
	return &Issuer{key: key, clients: map[string]issuerClient{}, ttl: ttl}
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

// SetTTL changes the lifetime of the tokens issued from now on.
func (i *Issuer) SetTTL(ttl time.Duration) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.ttl = ttl
}

// Requests returns how many token requests arrived, and Issued how many
// tokens were handed out.
func (i *Issuer) Requests() int { i.mu.Lock(); defer i.mu.Unlock(); return i.requests }

// Issued returns how many tokens were handed out.
func (i *Issuer) Issued() int { i.mu.Lock(); defer i.mu.Unlock(); return i.issued }

// ServeHTTP implements http.Handler.
func (i *Issuer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	i.mu.Lock()
	i.requests++
	i.mu.Unlock()
	w.Header().Set("Cache-Control", "no-store")
	switch {
	case !strings.HasSuffix(r.URL.Path, "/token"):
		oauthError(w, http.StatusNotFound, "invalid_request", "no token endpoint at "+r.URL.Path)
		return
	case r.Method != http.MethodPost:
		w.Header().Set("Allow", http.MethodPost)
		oauthError(w, http.StatusMethodNotAllowed, "invalid_request", "use POST")
		return
	}
	if err := r.ParseForm(); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", "the body is not a form")
		return
	}
	if r.PostForm.Get("grant_type") != "client_credentials" {
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type", "only client_credentials is supported")
		return
	}
	id, secret := r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	if u, p, ok := r.BasicAuth(); ok {
		id, secret = u, p
	}
	if a := r.PostForm.Get("client_assertion"); a != "" || r.PostForm.Has("client_assertion_type") {
		if err := i.checkAssertion(r, id, a); err != nil {
			oauthError(w, http.StatusUnauthorized, "invalid_client", err.Error())
			return
		}
	} else if !i.authenticate(r, id, secret) {
		w.Header().Set("WWW-Authenticate", `Basic realm="fakecamunda"`)
		oauthError(w, http.StatusUnauthorized, "invalid_client", "Invalid client or Invalid client credentials")
		return
	}
	aud := r.PostForm.Get("audience")
	if aud == "" {
		aud = r.PostForm.Get("scope")
	}
	token, ttl := i.issue("https://"+r.Host, id, aud)
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"access_token": token, "token_type": "Bearer", "expires_in": int(ttl / time.Second),
	})
}

func (i *Issuer) authenticate(r *http.Request, id, secret string) bool {
	i.mu.Lock()
	c, known := i.clients[id]
	i.mu.Unlock()
	switch {
	case !known || len(c.keys) > 0:
		return false
	case c.subjectDN != "":
		return r.TLS != nil && len(r.TLS.PeerCertificates) > 0 && r.TLS.PeerCertificates[0].Subject.String() == c.subjectDN
	default:
		return subtle.ConstantTimeCompare([]byte(secret), []byte(c.secret)) == 1
	}
}

var b64 = base64.RawURLEncoding

const jwtHeader = `{"alg":"HS256","typ":"JWT"}`

// Issue returns a token for client and aud, as the token endpoint would
// (for fake tools that print one).
func (i *Issuer) Issue(client, aud string) string {
	t, _ := i.issue("https://fakecamunda.invalid", client, aud)
	return t
}

func (i *Issuer) issue(iss, client, aud string) (string, time.Duration) {
	i.mu.Lock()
	i.issued++
	ttl := i.ttl
	i.mu.Unlock()
	now := time.Now()
	jti := make([]byte, 12)
	_, _ = rand.Read(jti)
	claims, _ := json.Marshal(map[string]any{
		"iss": iss, "sub": client, "azp": client, "aud": aud,
		"iat": now.Unix(), "exp": now.Add(ttl).Unix(), "jti": b64.EncodeToString(jti),
	})
	signed := b64.EncodeToString([]byte(jwtHeader)) + "." + b64.EncodeToString(claims)
	return signed + "." + b64.EncodeToString(i.sign(signed)), ttl
}

func (i *Issuer) sign(s string) []byte {
	m := hmac.New(sha256.New, i.key)
	m.Write([]byte(s))
	return m.Sum(nil)
}

// Verify accepts a token this issuer signed whose exp is still ahead.
func (i *Issuer) Verify(token string) error {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return errors.New("not a JWT")
	}
	sig, err := b64.DecodeString(parts[2])
	if err != nil || !hmac.Equal(sig, i.sign(parts[0]+"."+parts[1])) {
		return errors.New("bad signature")
	}
	raw, err := b64.DecodeString(parts[1])
	if err != nil {
		return errors.New("bad claims")
	}
	var c struct {
		Exp int64 `json:"exp"`
	}
	if err := json.Unmarshal(raw, &c); err != nil || c.Exp == 0 {
		return errors.New("no exp claim")
	}
	if time.Now().Unix() >= c.Exp {
		return errors.New("expired")
	}
	return nil
}

// AddKeyClient registers a client that authenticates with a client
// assertion (RFC 7523) signed by one of keys. A signed assertion must
// have iss = sub = id; a federated client's (the CI platform's token)
// may have any iss and sub. Its aud must be one of audiences (default:
// the token endpoint's URL).
func (i *Issuer) AddKeyClient(id string, keys []jose.JSONWebKey, federated bool, audiences ...string) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.clients[id] = issuerClient{keys: keys, federated: federated, audiences: audiences}
}

// checkAssertion verifies a client assertion as Entra ID and Keycloak do.
func (i *Issuer) checkAssertion(r *http.Request, id, assertion string) error {
	i.mu.Lock()
	c, known := i.clients[id]
	i.mu.Unlock()
	switch {
	case !known || len(c.keys) == 0:
		return errors.New("no such client with keys")
	case r.PostForm.Get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer":
		return errors.New("client_assertion_type is not jwt-bearer")
	case r.PostForm.Has("client_secret"):
		return errors.New("a client_secret came with the assertion")
	}
	jws, err := jose.ParseSignedCompact(assertion, []jose.SignatureAlgorithm{jose.RS256, jose.PS256, jose.ES256, jose.ES384})
	if err != nil || len(jws.Signatures) != 1 {
		return errors.New("the assertion is not a signed JWT")
	}
	var payload []byte
	for _, k := range c.keys {
		if k.KeyID == jws.Signatures[0].Header.KeyID {
			if payload, err = jws.Verify(k.Key); err == nil {
				break
			}
		}
	}
	if payload == nil {
		return errors.New("the assertion is not signed by a key of the client")
	}
	var cl struct {
		Iss, Sub string
		Aud      string
		Exp      int64
		Jti      string
	}
	if err := json.Unmarshal(payload, &cl); err != nil {
		return errors.New("the assertion's claims do not parse")
	}
	want := c.audiences
	if len(want) == 0 {
		scheme := "https://"
		if r.TLS == nil {
			scheme = "http://"
		}
		want = []string{scheme + r.Host + r.URL.Path}
	}
	switch {
	case !c.federated && (cl.Iss != id || cl.Sub != id):
		return errors.New("iss and sub must be the client id")
	case !slices.Contains(want, cl.Aud):
		return errors.New("aud " + cl.Aud + " is not this endpoint")
	case cl.Exp <= time.Now().Unix():
		return errors.New("the assertion has expired")
	case cl.Jti == "" && !c.federated:
		return errors.New("no jti")
	}
	return nil
}

func oauthError(w http.ResponseWriter, status int, code, description string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": description})
}
