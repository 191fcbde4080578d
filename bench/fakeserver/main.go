// Command fakeserver serves the fake Camunda REST API of
// internal/fakecamunda on loopback, for bench/run.sh.
//
// With -oauth CLIENT_ID:SECRET it is also an OAuth 2.0 token endpoint for
// the client-credentials grant (POST /oauth/token) and /v2/* demands a
// bearer token it issued that has not expired. GET /_stats reports how many
// token and API requests arrived, so the benchmark can count token requests.
// It logs nothing but its URL: no secrets, no tokens.
package main

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/camctl/camctl/internal/fakecamunda"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "loopback address to listen on")
	basic := flag.String("basic", "", "require HTTP Basic USER:PASSWORD")
	oauth := flag.String("oauth", "", "serve POST /oauth/token for client CLIENT_ID:SECRET and require its bearer tokens on /v2/*")
	ttl := flag.Duration("token-ttl", 5*time.Minute, "lifetime of the tokens -oauth issues")
	flag.Parse()

	host, _, err := net.SplitHostPort(*addr)
	if err != nil || !net.ParseIP(host).IsLoopback() {
		log.Fatalf("fakeserver listens on loopback only, not %q", *addr)
	}
	fake := fakecamunda.New()
	if *basic != "" {
		user, pass, ok := strings.Cut(*basic, ":")
		if !ok {
			log.Fatal("-basic wants USER:PASSWORD")
		}
		fake.RequireBasic(user, pass)
	}
	srv := &server{api: fake}
	if *oauth != "" {
		id, secret, ok := strings.Cut(*oauth, ":")
		if !ok || id == "" || secret == "" {
			log.Fatal("-oauth wants CLIENT_ID:SECRET")
		}
		if *ttl < time.Second {
			log.Fatal("-token-ttl must be at least 1s")
		}
		srv.idp = newIssuer(id, secret, *ttl)
		fake.RequireBearer(srv.idp.verify)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	srv.issuerURL = fmt.Sprintf("http://%s", ln.Addr())
	// The first line of stdout is the base URL; the script reads it.
	fmt.Println(srv.issuerURL)
	os.Stdout.Sync()
	log.Fatal(http.Serve(ln, srv))
}

// server routes the token endpoint and the statistics around the fake API.
type server struct {
	api       *fakecamunda.Server
	idp       *issuer // nil without -oauth
	issuerURL string

	tokenRequests atomic.Int64
	tokensIssued  atomic.Int64
	unauthorized  atomic.Int64 // API answers 401: a stale or bad token
}

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == "/_stats":
		s.stats(w, r)
	case r.URL.Path == "/oauth/token" && s.idp != nil:
		s.tokenRequests.Add(1)
		s.token(w, r)
	default:
		sw := &statusWriter{ResponseWriter: w}
		s.api.ServeHTTP(sw, r)
		if sw.status == http.StatusUnauthorized {
			s.unauthorized.Add(1)
		}
	}
}

// stats answers {"token_requests":N,"api_requests":M,...}. The listener is
// on loopback already; the remote check keeps it so behind any proxy too.
func (s *server) stats(w http.ResponseWriter, r *http.Request) {
	host, _, _ := net.SplitHostPort(r.RemoteAddr)
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() || r.Method != http.MethodGet {
		http.Error(w, "forbidden", http.StatusForbidden)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]int64{
		"token_requests":   s.tokenRequests.Load(),
		"tokens_issued":    s.tokensIssued.Load(),
		"api_requests":     int64(s.api.Requests()),
		"api_unauthorized": s.unauthorized.Load(),
	})
}

// token implements the client-credentials grant as Camunda's IdPs do:
// client_secret_post (form fields), client_secret_basic also accepted.
func (s *server) token(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		oauthError(w, http.StatusMethodNotAllowed, "invalid_request", "use POST")
		return
	}
	if err := r.ParseForm(); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", "the body is not a form")
		return
	}
	if gt := r.PostForm.Get("grant_type"); gt != "client_credentials" {
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type", "only client_credentials is supported")
		return
	}
	id, secret := r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	if u, p, ok := r.BasicAuth(); ok {
		id, secret = u, p
	}
	if !s.idp.client(id, secret) {
		w.Header().Set("WWW-Authenticate", `Basic realm="fakeserver"`)
		oauthError(w, http.StatusUnauthorized, "invalid_client", "bad client credentials")
		return
	}
	aud := r.PostForm.Get("audience")
	if aud == "" {
		aud = "orchestration-api"
	}
	tok, ttl := s.idp.issue(s.issuerURL+"/oauth", aud)
	s.tokensIssued.Add(1)
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"access_token": tok, "token_type": "Bearer", "expires_in": int(ttl / time.Second),
	})
}

func oauthError(w http.ResponseWriter, status int, code, desc string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": desc})
}

// issuer hands out HS256 JWTs signed with a key made at start-up, so a
// token is valid only for the process that issued it.
type issuer struct {
	id, secret string
	ttl        time.Duration
	key        []byte
}

func newIssuer(id, secret string, ttl time.Duration) *issuer {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		log.Fatal(err)
	}
	return &issuer{id: id, secret: secret, ttl: ttl, key: key}
}

func (i *issuer) client(id, secret string) bool {
	okID := subtle.ConstantTimeCompare([]byte(id), []byte(i.id))
	okSecret := subtle.ConstantTimeCompare([]byte(secret), []byte(i.secret))
	return okID&okSecret == 1
}

var b64 = base64.RawURLEncoding

const jwtHeader = `{"alg":"HS256","typ":"JWT"}`

func (i *issuer) issue(iss, aud string) (string, time.Duration) {
	now := time.Now()
	jti := make([]byte, 12)
	_, _ = rand.Read(jti)
	claims, _ := json.Marshal(map[string]any{
		"iss": iss, "sub": i.id, "azp": i.id, "aud": aud,
		"iat": now.Unix(), "exp": now.Add(i.ttl).Unix(), "jti": b64.EncodeToString(jti),
	})
	signed := b64.EncodeToString([]byte(jwtHeader)) + "." + b64.EncodeToString(claims)
	return signed + "." + b64.EncodeToString(i.sign(signed)), i.ttl
}

func (i *issuer) sign(s string) []byte {
	m := hmac.New(sha256.New, i.key)
	m.Write([]byte(s))
	return m.Sum(nil)
}

// verify accepts a token this issuer signed whose exp is still ahead.
func (i *issuer) verify(token string) error {
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

// statusWriter remembers the status the fake API answered with.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}
