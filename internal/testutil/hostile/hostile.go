// Package hostile is a cluster and an identity provider that attack the
// client, for tests of spec §8: they echo the request's credentials in
// bodies, headers and status lines, put escape sequences and bidi and
// zero-width characters in every field a client may print, hand out
// tokens that would inject headers or pin a cache, and stall. One Server
// is both: the REST API under /v2/ and a token endpoint at /token. It
// starts in Benign mode, so that a test can log in first and then turn
// it hostile. It only ever listens where the test's httptest server does
// (loopback).
package hostile

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/camctl/camctl/internal/testutil/fakecamunda"
)

// Evil is text that tries what a server can do to a terminal: colour,
// a window title (OSC), clearing the screen, a C1 CSI, bidi overrides
// and isolates, zero-width characters, a soft hyphen, BEL, CR and DEL.
const Evil = "\x1b[31m\x1b]0;pwned\x07\x1b[2J\u009b31m\u202e\u2066\u200b\u00ad\ufeff\a\r\x7f"

// EvilStatus is Evil as a status line can carry it: without CR and LF
// (the client would not parse the answer at all).
const EvilStatus = "\x1b[31m\x1b]0;pwned\x07\x1b[2J\u009b31m\u202e\u2066\u200b\u00ad\ufeff\a\x7f"

// EvilHeader is what Go's client takes in a header value: no ASCII
// control characters, but C1 CSI, bidi and zero-width characters, which
// are bytes of 0x80 and above on the wire.
const EvilHeader = "\u009b31m\u009d0;pwned\u009c\u202e\u2066\u200b\u00ad\ufeff"

// EvilDNSName is a DNS name with escape sequences: x509 allows any
// IA5 (ASCII) character in a certificate's dNSName, and Go's hostname
// error prints it.
const EvilDNSName = "evil\x1b]0;pwned\x07\x1b[2J.example"

// Case is one way of attacking.
type Case string

// The cases. Each answers every request (API and token endpoint) its way;
// what a case does not attack is served as in Benign.
const (
	// Benign serves fakecamunda's healthy topology to anyone and issues
	// JWTs (without an expiry, so that clients do not cache them).
	Benign Case = "benign"
	// ProblemEcho: API 401 problem detail whose title, detail and
	// instance echo the credentials, at the start and where a cut falls.
	ProblemEcho Case = "problem-echo"
	// HTMLEcho: API 401 HTML page (an ingress) echoing them.
	HTMLEcho Case = "html-echo"
	// PlainEcho: API 500 text/plain echoing them.
	PlainEcho Case = "plain-echo"
	// HTML200Echo: API 200 HTML page echoing them.
	HTML200Echo Case = "html-200-echo"
	// StatusEcho: API 200 with the topology, but the status line and
	// response headers echo the credentials with Evil.
	StatusEcho Case = "status-echo"
	// EvilTopology: a healthy topology with Evil and the echoed
	// credentials in every free-text field.
	EvilTopology Case = "evil-topology"
	// Stall: API and token endpoint send headers and then nothing.
	Stall Case = "stall"
	// TokenErrorEcho: the token endpoint rejects the client with an OAuth
	// error_description that echoes the request (client secret included).
	TokenErrorEcho Case = "token-error-echo"
	// TokenHTMLEcho: the token endpoint answers 200 with an HTML page
	// echoing the request.
	TokenHTMLEcho Case = "token-html-echo"
	// TokenCRLF, TokenESC, TokenHuge: access tokens with CR/LF (a header
	// injection), with ESC, and of 100 KiB.
	TokenCRLF Case = "token-crlf"
	TokenESC  Case = "token-esc"
	TokenHuge Case = "token-huge"
	// TokenLifetime: a token valid, says expires_in, for 30,000 years.
	TokenLifetime Case = "token-lifetime"
	// TLSEvilName is served by the test with a certificate for
	// EvilDNSName (pkitest.IssueServerCertNames); the handler is Benign.
	TLSEvilName Case = "tls-evil-name"
)

// Cases are every hostile case, Benign excluded.
func Cases() []Case {
	return []Case{ProblemEcho, HTMLEcho, PlainEcho, HTML200Echo, StatusEcho, EvilTopology, Stall,
		TokenErrorEcho, TokenHTMLEcho, TokenCRLF, TokenESC, TokenHuge, TokenLifetime, TLSEvilName}
}

// Server is the hostile cluster and identity provider.
type Server struct {
	mu      sync.Mutex
	c       Case
	issued  []string
	rng     *rand.Rand
	release chan struct{}
	closed  bool
}

// New returns a Server in Benign mode.
func New() *Server {
	return &Server{c: Benign, rng: rand.New(rand.NewPCG(1, 2)), release: make(chan struct{})}
}

// Set switches to case c for every request from now on.
func (s *Server) Set(c Case) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.c = c
}

// Issued returns every access token the token endpoint handed out, the
// unusable ones included: a client must print none of them.
func (s *Server) Issued() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.issued...)
}

// Close releases stalled answers.
func (s *Server) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed {
		s.closed = true
		close(s.release)
	}
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	c := s.c
	s.mu.Unlock()
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	echo := echoOf(r, body)
	if c == Stall {
		s.stall(w, r)
		return
	}
	if r.URL.Path == "/token" {
		s.token(w, c, echo)
		return
	}
	switch c {
	case ProblemEcho:
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(http.StatusUnauthorized)
		_ = json.NewEncoder(w).Encode(map[string]any{
			"type": "about:blank", "status": 401,
			"title":    "Unauthorized " + Evil + echo,
			"detail":   pad(150) + echo + Evil + pad(840) + echo,
			"instance": echo,
		})
	case HTMLEcho, HTML200Echo:
		w.Header().Set("Content-Type", "text/html")
		if c == HTMLEcho {
			w.WriteHeader(http.StatusUnauthorized)
		}
		fmt.Fprintf(w, "<html><head><title>Denied %s%s</title></head><body><h1>%s</h1><p>%s%s</p></body></html>", Evil, echo, echo, pad(100), echo)
	case PlainEcho:
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(http.StatusInternalServerError)
		fmt.Fprint(w, pad(150)+echo+Evil+echo)
	case StatusEcho:
		s.statusEcho(w, echo)
	case EvilTopology:
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(evilTopology(echo))
	default:
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(fakecamunda.DefaultTopology)
	}
}

// echoOf is everything secret the request carried, in the forms a
// careless server would echo: the Authorization header as sent and
// Base64-decoded, and the form body (the client secret) as sent and
// decoded. CR and LF go: an echo lives on one line of a header.
func echoOf(r *http.Request, body []byte) string {
	var parts []string
	if a := r.Header.Get("Authorization"); a != "" {
		parts = append(parts, "Authorization: "+a)
		if scheme, v, ok := strings.Cut(a, " "); ok && strings.EqualFold(scheme, "Basic") {
			if dec, err := base64.StdEncoding.DecodeString(v); err == nil {
				parts = append(parts, "decoded: "+string(dec))
			}
		}
	}
	if len(body) > 0 {
		parts = append(parts, "body: "+string(body))
		if q, err := url.ParseQuery(string(body)); err == nil {
			parts = append(parts, "client_secret: "+q.Get("client_secret"))
		}
	}
	return strings.NewReplacer("\r", "", "\n", "").Replace(strings.Join(parts, " "))
}

func pad(n int) string { return strings.Repeat("x", n) + " " }

// statusEcho writes the answer itself: net/http would not send a status
// line of its own making, nor header values with control characters.
func (s *Server) statusEcho(w http.ResponseWriter, echo string) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		http.Error(w, "no hijacking", http.StatusInternalServerError)
		return
	}
	conn, buf, err := hj.Hijack()
	if err != nil {
		return
	}
	defer conn.Close()
	body := fakecamunda.DefaultTopology
	fmt.Fprintf(buf, "HTTP/1.1 200 OK %s%s\r\n", EvilStatus, echo)
	fmt.Fprintf(buf, "X-Echo: %s%s\r\n", echo, EvilHeader)
	fmt.Fprintf(buf, "Set-Cookie: session=%s\r\n", echo)
	fmt.Fprintf(buf, "Content-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n", len(body))
	_, _ = buf.Write(body)
	_ = buf.Flush()
}

// stall announces a body and sends none of it until the client gives up.
func (s *Server) stall(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", "1000")
	w.WriteHeader(http.StatusOK)
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
	select {
	case <-r.Context().Done():
	case <-s.release:
	}
}

func (s *Server) token(w http.ResponseWriter, c Case, echo string) {
	reply := map[string]any{"token_type": "Bearer"}
	switch c {
	case TokenErrorEcho:
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": "invalid_client", "error_description": pad(150) + echo + Evil + echo})
		return
	case TokenHTMLEcho:
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprintf(w, "<html><head><title>Login %s%s</title></head><body>%s%s</body></html>", Evil, echo, pad(60), echo)
		return
	case TokenCRLF:
		reply["access_token"], reply["expires_in"] = "hostile-"+s.random(12)+"\r\nX-Injected: 1", 3600
	case TokenESC:
		reply["access_token"], reply["expires_in"] = "hostile-"+s.random(12)+"\x1b[2J", 3600
	case TokenHuge:
		reply["access_token"], reply["expires_in"] = s.random(100<<10), 3600
	case TokenLifetime:
		reply["access_token"], reply["expires_in"] = s.jwt(), int64(1e12)
	default:
		// No expiry: clients use it once and do not cache it, so every
		// command asks again (and meets the case in force then).
		reply["access_token"] = s.jwt()
	}
	s.mu.Lock()
	s.issued = append(s.issued, reply["access_token"].(string))
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(reply)
}

// jwt is an unsigned JWT whose claims carry Evil (sub is what a client
// shows as the identity).
func (s *Server) jwt() string {
	claims, _ := json.Marshal(map[string]any{"sub": "svc-" + s.random(8) + Evil, "client_id": "ci" + Evil, "iss": "hostile" + Evil})
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + enc(claims) + "." + enc([]byte(s.random(16)))
}

// random is n Base64url characters, so that no two tokens share a run.
func (s *Server) random(n int) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(s.rng.Uint32())
	}
	return base64.RawURLEncoding.EncodeToString(b)[:n]
}

// evilTopology is a healthy one-broker cluster with Evil and the echo
// in the fields a client prints as text.
func evilTopology(echo string) []byte {
	t := map[string]any{
		"gatewayVersion": "8.8.0" + Evil + echo, "clusterId": "c" + Evil + echo,
		"clusterSize": 1, "partitionsCount": 1, "replicationFactor": 1,
		"brokers": []any{map[string]any{
			"nodeId": 0, "host": "zeebe-0" + Evil + echo, "port": 26501, "version": "8.8.0" + Evil,
			"partitions": []any{map[string]any{"partitionId": 1, "role": "leader", "health": "healthy"}},
		}},
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(t)
	return buf.Bytes()
}
