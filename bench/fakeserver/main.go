// Command fakeserver serves the fake Camunda REST API of
// internal/testutil/fakecamunda on loopback, for bench/run.sh.
//
// With -oauth CLIENT_ID:SECRET it is also an OAuth 2.0 token endpoint for
// the client-credentials grant (POST /oauth/token) and /v2/* demands a
// bearer token it issued that has not expired. GET /_stats reports how many
// token and API requests arrived, so the benchmark can count token requests.
// It logs nothing but its URL: no secrets, no tokens.
package main

import (
	"crypto"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/camctl/camctl/internal/testutil/fakecamunda"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "loopback address to listen on")
	basic := flag.String("basic", "", "require HTTP Basic USER:PASSWORD")
	oauth := flag.String("oauth", "", "serve POST /oauth/token for client CLIENT_ID:SECRET and require its bearer tokens on /v2/*")
	ttl := flag.Duration("token-ttl", 5*time.Minute, "lifetime of the tokens -oauth issues")
	items := flag.Int("items", 0, "items of each kind on the search endpoints (for camctl api --paginate)")
	keyClient := flag.String("key-client", "", "with -oauth: also accept client CLIENT_ID:KEY.pem authenticating with assertions signed by that (PKCS#8) key (private_key_jwt)")
	flag.Parse()

	host, _, err := net.SplitHostPort(*addr)
	if err != nil || !net.ParseIP(host).IsLoopback() {
		log.Fatalf("fakeserver listens on loopback only, not %q", *addr)
	}
	fake := fakecamunda.New()
	fake.SetItems(*items)
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
		srv.idp = fakecamunda.NewIssuer(*ttl)
		srv.idp.AddClient(id, secret)
		fake.RequireBearer(srv.idp.Verify)
		if *keyClient != "" {
			kid, path, ok := strings.Cut(*keyClient, ":")
			if !ok {
				log.Fatal("-key-client wants CLIENT_ID:KEY.pem")
			}
			jwk, err := publicJWK(path)
			if err != nil {
				log.Fatalf("-key-client: %v", err)
			}
			srv.idp.AddKeyClient(kid, []jose.JSONWebKey{jwk}, false)
		}
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	// The first line of stdout is the base URL; the script reads it.
	fmt.Printf("http://%s\n", ln.Addr())
	os.Stdout.Sync()
	log.Fatal(http.Serve(ln, srv))
}

// publicJWK is the public half of a PKCS#8 PEM key, named by its RFC 7638
// thumbprint (the kid camctl sends).
func publicJWK(path string) (jose.JSONWebKey, error) {
	data, err := os.ReadFile(path) // #nosec G304 -- the benchmark's own key file
	if err != nil {
		return jose.JSONWebKey{}, err
	}
	b, _ := pem.Decode(data)
	if b == nil {
		return jose.JSONWebKey{}, fmt.Errorf("%s: no PEM", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
	if err != nil {
		return jose.JSONWebKey{}, err
	}
	signer, ok := k.(crypto.Signer)
	if !ok {
		return jose.JSONWebKey{}, fmt.Errorf("%s: not a signing key", path)
	}
	tp, err := (&jose.JSONWebKey{Key: signer.Public()}).Thumbprint(crypto.SHA256)
	if err != nil {
		return jose.JSONWebKey{}, err
	}
	return jose.JSONWebKey{Key: signer.Public(), KeyID: base64.RawURLEncoding.EncodeToString(tp)}, nil
}

// server routes the token endpoint and the statistics around the fake API.
type server struct {
	api *fakecamunda.Server
	idp *fakecamunda.Issuer // nil without -oauth

	unauthorized atomic.Int64 // API answers 401: a stale or bad token
}

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == "/_stats":
		s.stats(w, r)
	case r.URL.Path == "/oauth/token" && s.idp != nil:
		s.idp.ServeHTTP(w, r)
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
	var requests, issued int
	if s.idp != nil {
		requests, issued = s.idp.Requests(), s.idp.Issued()
	}
	_ = json.NewEncoder(w).Encode(map[string]int64{
		"token_requests":   int64(requests),
		"tokens_issued":    int64(issued),
		"api_requests":     int64(s.api.Requests()),
		"api_unauthorized": s.unauthorized.Load(),
	})
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
