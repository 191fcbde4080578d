package api

import (
	"context"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// server answers the n-th request with handlers[n], repeating the last
// one, and records every request it sees.
type server struct {
	*httptest.Server
	mu       sync.Mutex
	requests []*http.Request
}

func (s *server) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.requests)
}

func (s *server) request(i int) *http.Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests[i]
}

func newServer(t *testing.T, useTLS bool, handlers ...http.HandlerFunc) *server {
	t.Helper()
	s := &server{}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		n := len(s.requests)
		s.requests = append(s.requests, r.Clone(context.Background()))
		s.mu.Unlock()
		handlers[min(n, len(handlers)-1)](w, r)
	})
	s.Server = httptest.NewUnstartedServer(h)
	// Handshake failures are what some tests are about; keep them quiet.
	s.Config.ErrorLog = log.New(io.Discard, "", 0)
	if useTLS {
		s.StartTLS()
	} else {
		s.Start()
	}
	t.Cleanup(s.Close)
	return s
}

func status(code int, header ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Set(header[i], header[i+1])
		}
		w.WriteHeader(code)
	}
}

func reply(code int, contentType, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if contentType != "" {
			w.Header().Set("Content-Type", contentType)
		}
		w.WriteHeader(code)
		fmt.Fprint(w, body)
	}
}

var ok200 = reply(200, "application/json", `{"ok":true}`)

func noWait(int) time.Duration { return 0 }

func newTestClient(t *testing.T, addr string, mod func(*Options)) *Client {
	t.Helper()
	o := Options{Address: addr, Timeout: 10 * time.Second, UserAgent: "camctl-test/1.2.3", Backoff: noWait}
	if mod != nil {
		mod(&o)
	}
	c, err := New(o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

func TestClientGetSendsRequest(t *testing.T) {
	tests := []struct {
		name     string
		path     string // appended to the server URL
		wantPath string
	}{
		{"plain address", "", "/v2/topology"},
		{"address with /v2", "/v2/", "/v2/topology"},
		{"SaaS cluster path", "/abc", "/abc/v2/topology"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t, false, ok200)
			c := newTestClient(t, s.URL+tt.path, nil)
			if got := c.BaseURL().String(); !strings.HasSuffix(got, "/v2") {
				t.Errorf("BaseURL = %s", got)
			}
			resp, err := c.Get(context.Background(), "topology")
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != 200 || string(resp.Body) != `{"ok":true}` || resp.Header.Get("Content-Type") != "application/json" {
				t.Errorf("response = %d %q %v", resp.StatusCode, resp.Body, resp.Header)
			}
			r := s.request(0)
			if r.Method != http.MethodGet || r.URL.Path != tt.wantPath {
				t.Errorf("request = %s %s, want GET %s", r.Method, r.URL.Path, tt.wantPath)
			}
			if ua := r.Header.Get("User-Agent"); ua != "camctl-test/1.2.3" {
				t.Errorf("User-Agent = %q", ua)
			}
			if acc := r.Header.Get("Accept"); !strings.Contains(acc, "application/json") || !strings.Contains(acc, "application/problem+json") {
				t.Errorf("Accept = %q", acc)
			}
			if a := r.Header.Get("Authorization"); a != "" {
				t.Errorf("Authorization = %q without an authorizer", a)
			}
		})
	}
}

func TestClientHTTPErrors(t *testing.T) {
	const nginx502 = `<html>
<head><title>502 Bad Gateway</title><style>body { color: red; }</style></head>
<body>
<center><h1>502 Bad Gateway</h1></center>
<hr><center>nginx</center>
<script>var secret = "x";</script>
</body>
</html>`
	tests := []struct {
		name         string
		handler      http.HandlerFunc
		wantStatus   int
		wantRequests int
		wantProblem  *Problem
		wantExcerpt  string
		wantCT       string
		wantText     string // Error() after "GET <url>: "
	}{
		{name: "401 problem detail", wantStatus: 401, wantRequests: 1,
			handler:     reply(401, "application/problem+json", `{"type":"about:blank","title":"Unauthorized","status":401,"detail":"The token is expired","instance":"/v2/topology","extra":1}`),
			wantProblem: &Problem{Type: "about:blank", Title: "Unauthorized", Status: 401, Detail: "The token is expired", Instance: "/v2/topology"},
			wantCT:      "application/problem+json",
			wantText:    "401 Unauthorized: The token is expired"},
		{name: "403 problem detail with its own title", wantStatus: 403, wantRequests: 1,
			handler:     reply(403, "application/problem+json; charset=utf-8", `{"title":"FORBIDDEN","status":403,"detail":"Unauthorized to perform operation 'READ' on resource 'CLUSTER'"}`),
			wantProblem: &Problem{Title: "FORBIDDEN", Status: 403, Detail: "Unauthorized to perform operation 'READ' on resource 'CLUSTER'"},
			wantCT:      "application/problem+json",
			wantText:    "403 Forbidden: FORBIDDEN: Unauthorized to perform operation 'READ' on resource 'CLUSTER'"},
		{name: "400 not retried", wantStatus: 400, wantRequests: 1,
			handler:     reply(400, "application/problem+json", `{"title":"INVALID_ARGUMENT","detail":"bad"}`),
			wantProblem: &Problem{Title: "INVALID_ARGUMENT", Detail: "bad"}, wantCT: "application/problem+json",
			wantText: "400 Bad Request: INVALID_ARGUMENT: bad"},
		{name: "404 text not retried", wantStatus: 404, wantRequests: 1,
			handler:     reply(404, "text/plain", "404 page not found\n"),
			wantExcerpt: "404 page not found", wantCT: "text/plain",
			wantText: `404 Not Found (text/plain body: "404 page not found")`},
		{name: "500 not retried", wantStatus: 500, wantRequests: 1,
			handler:     reply(500, "application/problem+json", `{"title":"Internal Server Error","detail":"boom"}`),
			wantProblem: &Problem{Title: "Internal Server Error", Detail: "boom"}, wantCT: "application/problem+json",
			wantText: "500 Internal Server Error: boom"},
		{name: "html 502 after retries", wantStatus: 502, wantRequests: 3,
			handler:     reply(502, "text/html", nginx502),
			wantExcerpt: "502 Bad Gateway nginx", wantCT: "text/html",
			wantText: `502 Bad Gateway (text/html body: "502 Bad Gateway nginx")`},
		{name: "json that is not a problem", wantStatus: 404, wantRequests: 1,
			handler:     reply(404, "application/json", `{"message":"nope"}`),
			wantExcerpt: `{"message":"nope"}`, wantCT: "application/json"},
		{name: "problem content type with a broken body", wantStatus: 401, wantRequests: 1,
			handler:     reply(401, "application/problem+json", "upstream\tconnect error"),
			wantExcerpt: "upstream connect error", wantCT: "application/problem+json"},
		{name: "no body no content type", wantStatus: 404, wantRequests: 1,
			handler:  status(404),
			wantText: "404 Not Found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t, false, tt.handler)
			c := newTestClient(t, s.URL, nil)
			_, err := c.Get(context.Background(), "topology")
			var he *HTTPError
			if !errors.As(err, &he) {
				t.Fatalf("err = %T %v, want *HTTPError", err, err)
			}
			url := s.URL + "/v2/topology"
			if he.StatusCode != tt.wantStatus || he.Method != "GET" || he.URL != url {
				t.Errorf("HTTPError = %+v", he)
			}
			if he.ContentType != tt.wantCT {
				t.Errorf("ContentType = %q, want %q", he.ContentType, tt.wantCT)
			}
			if got := s.count(); got != tt.wantRequests {
				t.Errorf("%d requests, want %d", got, tt.wantRequests)
			}
			switch {
			case tt.wantProblem != nil:
				if he.Problem == nil || *he.Problem != *tt.wantProblem {
					t.Errorf("Problem = %+v, want %+v", he.Problem, tt.wantProblem)
				}
			default:
				if he.Problem != nil {
					t.Errorf("Problem = %+v, want none", he.Problem)
				}
				if he.Excerpt != tt.wantExcerpt {
					t.Errorf("Excerpt = %q, want %q", he.Excerpt, tt.wantExcerpt)
				}
			}
			if strings.ContainsAny(he.Excerpt, "<>") && tt.wantCT == "text/html" {
				t.Errorf("Excerpt %q has tags", he.Excerpt)
			}
			if strings.Contains(err.Error(), "secret") {
				t.Errorf("Error() %q shows script content", err)
			}
			if tt.wantText != "" {
				if want := "GET " + url + ": " + tt.wantText; err.Error() != want {
					t.Errorf("Error() = %q\n want %q", err, want)
				}
			}
		})
	}
}

func TestClientRetries(t *testing.T) {
	unavailable := reply(503, "application/problem+json", `{"title":"RESOURCE_EXHAUSTED","detail":"backpressure"}`)
	tests := []struct {
		name         string
		retries      int
		handlers     []http.HandlerFunc
		wantOK       bool
		wantStatus   int
		wantRequests int
		wantBackoffs []int
	}{
		{name: "503 then 200", handlers: []http.HandlerFunc{unavailable, ok200},
			wantOK: true, wantRequests: 2, wantBackoffs: []int{1}},
		{name: "429 then 200", handlers: []http.HandlerFunc{status(429), ok200},
			wantOK: true, wantRequests: 2, wantBackoffs: []int{1}},
		{name: "502, 504 then 200", handlers: []http.HandlerFunc{status(502), status(504), ok200},
			wantOK: true, wantRequests: 3, wantBackoffs: []int{1, 2}},
		{name: "503 forever, default retries", handlers: []http.HandlerFunc{unavailable},
			wantStatus: 503, wantRequests: 1 + DefaultRetries, wantBackoffs: []int{1, 2}},
		{name: "503 forever, 1 retry", retries: 1, handlers: []http.HandlerFunc{unavailable},
			wantStatus: 503, wantRequests: 2, wantBackoffs: []int{1}},
		{name: "503 forever, 4 retries", retries: 4, handlers: []http.HandlerFunc{unavailable},
			wantStatus: 503, wantRequests: 5, wantBackoffs: []int{1, 2, 3, 4}},
		{name: "503, retries disabled", retries: -1, handlers: []http.HandlerFunc{unavailable, ok200},
			wantStatus: 503, wantRequests: 1},
		{name: "429 forever", handlers: []http.HandlerFunc{status(429)},
			wantStatus: 429, wantRequests: 3, wantBackoffs: []int{1, 2}},
		{name: "400 not retried", handlers: []http.HandlerFunc{status(400), ok200},
			wantStatus: 400, wantRequests: 1},
		{name: "404 not retried", handlers: []http.HandlerFunc{status(404), ok200},
			wantStatus: 404, wantRequests: 1},
		{name: "Retry-After 0 falls back to the backoff", handlers: []http.HandlerFunc{status(503, "Retry-After", "0"), ok200},
			wantOK: true, wantRequests: 2, wantBackoffs: []int{1}},
		{name: "Retry-After in the past falls back to the backoff",
			handlers: []http.HandlerFunc{status(503, "Retry-After", "Wed, 21 Oct 2015 07:28:00 GMT"), ok200},
			wantOK:   true, wantRequests: 2, wantBackoffs: []int{1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t, false, tt.handlers...)
			var mu sync.Mutex
			var backoffs []int
			c := newTestClient(t, s.URL, func(o *Options) {
				o.Retries = tt.retries
				o.Backoff = func(n int) time.Duration {
					mu.Lock()
					backoffs = append(backoffs, n)
					mu.Unlock()
					return 0
				}
			})
			resp, err := c.Get(context.Background(), "topology")
			if tt.wantOK {
				if err != nil || resp.StatusCode != 200 {
					t.Fatalf("Get = %v, %v; want 200", resp, err)
				}
			} else {
				var he *HTTPError
				if !errors.As(err, &he) || he.StatusCode != tt.wantStatus {
					t.Fatalf("err = %T %v, want *HTTPError %d", err, err, tt.wantStatus)
				}
			}
			if got := s.count(); got != tt.wantRequests {
				t.Errorf("%d requests, want %d", got, tt.wantRequests)
			}
			mu.Lock()
			defer mu.Unlock()
			if fmt.Sprint(backoffs) != fmt.Sprint(tt.wantBackoffs) && !(len(backoffs) == 0 && len(tt.wantBackoffs) == 0) {
				t.Errorf("Backoff called with %v, want %v", backoffs, tt.wantBackoffs)
			}
		})
	}
}

// TestClientRetryWaitCancelled: cancelling the context during the wait
// before a retry returns the last answer's error at once.
func TestClientRetryWaitCancelled(t *testing.T) {
	s := newServer(t, false, status(503))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c := newTestClient(t, s.URL, func(o *Options) {
		o.Backoff = func(int) time.Duration { cancel(); return time.Hour }
	})
	// Ctrl-C during the backoff is an interruption, not the 503.
	_, err := c.Get(ctx, "topology")
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %T %v, want context.Canceled", err, err)
	}
	if s.count() != 1 {
		t.Errorf("%d requests, want 1", s.count())
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Now()
	tests := []struct {
		name     string
		value    string
		min, max time.Duration
	}{
		{"empty", "", 0, 0},
		{"zero", "0", 0, 0},
		{"seconds", "5", 5 * time.Second, 5 * time.Second},
		{"seconds with space", " 7 ", 7 * time.Second, 7 * time.Second},
		{"at the cap", "30", 30 * time.Second, 30 * time.Second},
		{"capped", "3600", 30 * time.Second, 30 * time.Second},
		{"negative", "-5", 0, 0},
		{"garbage", "soon", 0, 0},
		{"fraction", "1.5", 0, 0},
		{"HTTP-date in 10s", now.Add(10 * time.Second).UTC().Format(http.TimeFormat), 8 * time.Second, 10 * time.Second},
		{"HTTP-date in an hour is capped", now.Add(time.Hour).UTC().Format(http.TimeFormat), 30 * time.Second, 30 * time.Second},
		{"HTTP-date in the past", now.Add(-time.Hour).UTC().Format(http.TimeFormat), 0, 0},
		{"RFC 850 date", now.Add(time.Hour).UTC().Format(time.RFC850), 30 * time.Second, 30 * time.Second},
		{"seconds overflowing time.Duration are capped", "10000000000", 30 * time.Second, 30 * time.Second},
		{"seconds overflowing int are capped", "99999999999999999999", 30 * time.Second, 30 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := RetryAfter(tt.value); got < tt.min || got > tt.max {
				t.Errorf("RetryAfter(%q) = %v, want in [%v, %v]", tt.value, got, tt.min, tt.max)
			}
		})
	}
}

func TestDefaultBackoff(t *testing.T) {
	for n := 1; n <= 4; n++ {
		base := 250 * time.Millisecond << (n - 1)
		for range 20 {
			if d := defaultBackoff(n); d < base/2 || d > base {
				t.Fatalf("defaultBackoff(%d) = %v, want in [%v, %v]", n, d, base/2, base)
			}
		}
	}
}

// fakeAuth authorizes with a bearer token and can refresh it.
type fakeAuth struct {
	mu         sync.Mutex
	token      string
	refreshes  int
	authErr    error
	refreshErr error
}

func (a *fakeAuth) Authorize(ctx context.Context, req *http.Request) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.authErr != nil {
		return a.authErr
	}
	req.Header.Set("Authorization", "Bearer "+a.token)
	return nil
}

func (a *fakeAuth) Refresh(ctx context.Context) (bool, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.refreshes++
	if a.refreshErr != nil {
		return false, a.refreshErr
	}
	a.token = fmt.Sprintf("fresh-%d", a.refreshes)
	return true, nil
}

// staticAuth cannot refresh.
type staticAuth struct{ header string }

func (a staticAuth) Authorize(ctx context.Context, req *http.Request) error {
	req.Header.Set("Authorization", a.header)
	return nil
}

// tokenServer answers 200 to "Bearer <valid>" and 401 otherwise.
func tokenServer(valid string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") == "Bearer "+valid {
			ok200(w, r)
			return
		}
		reply(401, "application/problem+json", `{"title":"Unauthorized","detail":"token rejected"}`)(w, r)
	}
}

func TestClientRefreshOn401(t *testing.T) {
	refreshFailed := errors.New("token endpoint down")
	tests := []struct {
		name          string
		auth          *fakeAuth
		handlers      []http.HandlerFunc
		retries       int
		wantOK        bool
		wantErr       error
		wantStatus    int
		wantRequests  int
		wantRefreshes int
	}{
		{name: "refresh then success", auth: &fakeAuth{token: "stale"},
			handlers: []http.HandlerFunc{tokenServer("fresh-1")},
			wantOK:   true, wantRequests: 2, wantRefreshes: 1},
		{name: "second 401 is returned", auth: &fakeAuth{token: "stale"},
			handlers:   []http.HandlerFunc{tokenServer("never")},
			wantStatus: 401, wantRequests: 2, wantRefreshes: 1},
		{name: "refresh error aborts", auth: &fakeAuth{token: "stale", refreshErr: refreshFailed},
			handlers: []http.HandlerFunc{tokenServer("never")},
			wantErr:  refreshFailed, wantRequests: 1, wantRefreshes: 1},
		{name: "403 does not refresh", auth: &fakeAuth{token: "t"},
			handlers:   []http.HandlerFunc{status(403), ok200},
			wantStatus: 403, wantRequests: 1, wantRefreshes: 0},
		{name: "valid token needs no refresh", auth: &fakeAuth{token: "fresh-1"},
			handlers: []http.HandlerFunc{tokenServer("fresh-1")},
			wantOK:   true, wantRequests: 1, wantRefreshes: 0},
		{name: "refresh retry does not use up a backpressure retry", auth: &fakeAuth{token: "stale"},
			retries:  1,
			handlers: []http.HandlerFunc{status(401), status(503), ok200},
			wantOK:   true, wantRequests: 3, wantRefreshes: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t, false, tt.handlers...)
			c := newTestClient(t, s.URL, func(o *Options) { o.Auth = tt.auth; o.Retries = tt.retries })
			resp, err := c.Get(context.Background(), "topology")
			switch {
			case tt.wantOK:
				if err != nil || resp.StatusCode != 200 {
					t.Fatalf("Get = %v, %v", resp, err)
				}
			case tt.wantErr != nil:
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
			default:
				var he *HTTPError
				if !errors.As(err, &he) || he.StatusCode != tt.wantStatus {
					t.Fatalf("err = %T %v, want *HTTPError %d", err, err, tt.wantStatus)
				}
			}
			if got := s.count(); got != tt.wantRequests {
				t.Errorf("%d requests, want %d", got, tt.wantRequests)
			}
			if tt.auth.refreshes != tt.wantRefreshes {
				t.Errorf("%d refreshes, want %d", tt.auth.refreshes, tt.wantRefreshes)
			}
			if tt.wantRequests == 2 && tt.wantRefreshes == 1 {
				if got := s.request(1).Header.Get("Authorization"); got != "Bearer fresh-1" {
					t.Errorf("retry sent %q, want the refreshed token", got)
				}
			}
		})
	}
}

func TestClient401WithoutRefresher(t *testing.T) {
	s := newServer(t, false, status(401), ok200)
	c := newTestClient(t, s.URL, func(o *Options) { o.Auth = staticAuth{"Basic ZGVtbzpkZW1v"} })
	_, err := c.Get(context.Background(), "topology")
	var he *HTTPError
	if !errors.As(err, &he) || he.StatusCode != 401 {
		t.Fatalf("err = %T %v", err, err)
	}
	if s.count() != 1 {
		t.Errorf("%d requests, want 1", s.count())
	}
	if got := s.request(0).Header.Get("Authorization"); got != "Basic ZGVtbzpkZW1v" {
		t.Errorf("Authorization = %q", got)
	}
}

func TestClientAuthorizerErrorSendsNothing(t *testing.T) {
	noSecret := errors.New("no secret available")
	s := newServer(t, false, ok200)
	c := newTestClient(t, s.URL, func(o *Options) { o.Auth = &fakeAuth{authErr: noSecret} })
	_, err := c.Get(context.Background(), "topology")
	if !errors.Is(err, noSecret) {
		t.Fatalf("err = %v, want the authorizer's error", err)
	}
	if s.count() != 0 {
		t.Errorf("server saw %d requests, want 0", s.count())
	}
}

func TestClientNetErrors(t *testing.T) {
	t.Run("connection refused", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		c := newTestClient(t, "http://"+addr, nil)
		_, err = c.Get(context.Background(), "topology")
		var ne *NetError
		if !errors.As(err, &ne) || ne.Kind != NetRefused {
			t.Fatalf("err = %T %v, want *NetError NetRefused", err, err)
		}
		if ne.Method != "GET" || ne.URL != "http://"+addr+"/v2/topology" || !strings.Contains(err.Error(), "connection refused") {
			t.Errorf("NetError = %+v (%v)", ne, err)
		}
	})

	t.Run("timeout", func(t *testing.T) {
		stop := make(chan struct{})
		s := newServer(t, false, func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-stop:
			}
		})
		t.Cleanup(func() { close(stop) }) // runs before the server's Close
		c := newTestClient(t, s.URL, func(o *Options) { o.Timeout = 100 * time.Millisecond })
		start := time.Now()
		_, err := c.Get(context.Background(), "topology")
		var ne *NetError
		if !errors.As(err, &ne) || ne.Kind != NetTimeout {
			t.Fatalf("err = %T %v, want *NetError NetTimeout", err, err)
		}
		if !strings.Contains(err.Error(), "timed out") {
			t.Errorf("Error() = %q", err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("took %v", d)
		}
		if s.count() != 1 {
			t.Errorf("%d requests, want 1 (no retry after a timeout)", s.count())
		}
	})

	t.Run("caller cancels", func(t *testing.T) {
		stop := make(chan struct{})
		ctx, cancel := context.WithCancel(context.Background())
		s := newServer(t, false, func(w http.ResponseWriter, r *http.Request) {
			cancel()
			select {
			case <-r.Context().Done():
			case <-stop:
			}
		})
		t.Cleanup(func() { close(stop) })
		c := newTestClient(t, s.URL, nil)
		_, err := c.Get(ctx, "topology")
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %T %v, want context.Canceled", err, err)
		}
	})
}

func writeCA(t *testing.T, s *httptest.Server) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ca.pem")
	data := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.Certificate().Raw})
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestClientTLS(t *testing.T) {
	s := newServer(t, true, ok200)
	ca := writeCA(t, s.Server)
	tests := []struct {
		name     string
		tls      TLSOptions
		wantKind NetKind
		wantOK   bool
	}{
		{name: "unknown authority", wantKind: NetUnknownAuthority},
		{name: "CA file", tls: TLSOptions{CAFile: ca}, wantOK: true},
		{name: "insecure-skip-verify", tls: TLSOptions{InsecureSkipVerify: true}, wantOK: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newTestClient(t, s.URL, func(o *Options) { o.TLS = tt.tls })
			resp, err := c.Get(context.Background(), "topology")
			if tt.wantOK {
				if err != nil || resp.StatusCode != 200 {
					t.Fatalf("Get = %v, %v", resp, err)
				}
				return
			}
			var ne *NetError
			if !errors.As(err, &ne) || ne.Kind != tt.wantKind {
				t.Fatalf("err = %T %v, want *NetError kind %d", err, err, tt.wantKind)
			}
			if !strings.Contains(err.Error(), "unknown authority") {
				t.Errorf("Error() = %q", err)
			}
		})
	}

	t.Run("plain http to a TLS server", func(t *testing.T) {
		c := newTestClient(t, strings.Replace(s.URL, "https://", "http://", 1), nil)
		_, err := c.Get(context.Background(), "topology")
		var he *HTTPError
		if !errors.As(err, &he) || he.StatusCode != 400 {
			t.Fatalf("err = %T %v, want the server's 400 answer", err, err)
		}
	})
}

func TestCAFileErrors(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.pem")
	garbage := filepath.Join(dir, "garbage.pem")
	os.WriteFile(empty, nil, 0o600)
	os.WriteFile(garbage, []byte("-----BEGIN NOTHING-----\nxx\n"), 0o600)
	tests := []struct {
		name     string
		path     string
		wantIs   error
		wantFrag string
	}{
		{"missing", filepath.Join(dir, "nope.pem"), fs.ErrNotExist, ""},
		{"empty", empty, nil, "no PEM certificate"},
		{"garbage", garbage, nil, "no PEM certificate"},
		{"directory", dir, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(Options{Address: "https://example.com", TLS: TLSOptions{CAFile: tt.path}})
			var ce *CAFileError
			if !errors.As(err, &ce) || ce.Path != tt.path {
				t.Fatalf("err = %T %v, want *CAFileError for %s", err, err, tt.path)
			}
			if !strings.Contains(err.Error(), tt.path) {
				t.Errorf("Error() = %q does not name the file", err)
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("errors.Is(%v, %v) = false", err, tt.wantIs)
			}
			if tt.wantFrag != "" && !strings.Contains(err.Error(), tt.wantFrag) {
				t.Errorf("Error() = %q, want %q", err, tt.wantFrag)
			}
		})
	}
}

func TestNewInvalidAddress(t *testing.T) {
	_, err := New(Options{Address: "ftp://x"})
	var ae *AddressError
	if !errors.As(err, &ae) {
		t.Errorf("err = %T %v, want *AddressError", err, err)
	}
}

func TestClientBodyLimit(t *testing.T) {
	tests := []struct {
		name   string
		size   int
		wantOK bool
	}{
		{"at the limit", maxBody, true},
		{"over the limit", maxBody + 1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			chunk := []byte(strings.Repeat("x", 64<<10))
			s := newServer(t, false, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				for left := tt.size; left > 0; {
					n := min(left, len(chunk))
					if _, err := w.Write(chunk[:n]); err != nil {
						return
					}
					left -= n
				}
			})
			c := newTestClient(t, s.URL, nil)
			resp, err := c.Get(context.Background(), "topology")
			if tt.wantOK {
				if err != nil || len(resp.Body) != tt.size {
					t.Fatalf("Get = %v; want %d bytes", err, tt.size)
				}
				return
			}
			var tl *TooLargeError
			if !errors.As(err, &tl) || !strings.Contains(err.Error(), "larger than 4 MiB") {
				t.Fatalf("err = %v, want the size limit", err)
			}
		})
	}
}

// countingBody counts the body bytes the client reads.
type countingBody struct {
	io.ReadCloser
	n *atomic.Int64
}

func (c countingBody) Read(p []byte) (int, error) {
	n, err := c.ReadCloser.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// A 50 MB answer costs camctl its read limit, not 50 MB: 4 MiB of a
// successful one, 64 KiB of an error page.
func TestClientReadsBoundedOfHugeAnswers(t *testing.T) {
	const size = 50 << 20
	tests := []struct {
		name     string
		status   int
		ct       string
		maxRead  int64
		wantErr  func(error) bool
		wantText string
	}{
		{"200", 200, "application/json", maxBody + 1,
			func(err error) bool { var e *TooLargeError; return errors.As(err, &e) }, "larger than 4 MiB"},
		{"401 HTML", 401, "text/html", maxErrorBody,
			func(err error) bool { var e *HTTPError; return errors.As(err, &e) && e.StatusCode == 401 }, `401 Unauthorized (text/html body: "Denied x`},
		{"503 problem", 503, "application/problem+json", maxErrorBody,
			func(err error) bool { var e *HTTPError; return errors.As(err, &e) && e.StatusCode == 503 }, "503 Service Unavailable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var sent atomic.Int64
			s := newServer(t, false, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", tt.ct)
				w.Header().Set("Content-Length", fmt.Sprint(size))
				w.WriteHeader(tt.status)
				head := "<html><title>Denied</title>"
				if tt.status != 401 {
					head = `{"title":"x"`
				}
				n, _ := io.WriteString(w, head)
				sent.Add(int64(n))
				chunk := []byte(strings.Repeat("x", 64<<10))
				for left := size - n; left > 0; left -= len(chunk) {
					n, err := w.Write(chunk[:min(left, len(chunk))])
					sent.Add(int64(n))
					if err != nil {
						return
					}
				}
			})
			var read atomic.Int64
			c := newTestClient(t, s.URL, func(o *Options) { o.Retries = -1 })
			next := c.http.Transport
			c.http.Transport = roundTripFunc(func(r *http.Request) (*http.Response, error) {
				resp, err := next.RoundTrip(r)
				if err == nil {
					resp.Body = countingBody{resp.Body, &read}
				}
				return resp, err
			})
			_, err := c.Get(context.Background(), "topology")
			if !tt.wantErr(err) || !strings.Contains(err.Error(), tt.wantText) {
				t.Fatalf("err = %v, want %q", err, tt.wantText)
			}
			if got := read.Load(); got > tt.maxRead {
				t.Errorf("read %d bytes of the body, want at most %d", got, tt.maxRead)
			}
			if sent.Load() >= size {
				t.Errorf("the server could write all %d bytes: camctl did not hang up", sent.Load())
			}
		})
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// Answers that break off after the headers: the connection failed
// (NetError, exit 4), and the message says the answer is incomplete.
func TestClientBrokenBodies(t *testing.T) {
	const body = `{"brokers":[],"clusterSize":3,"partitionsCount":3,"replicationFactor":3}`
	stop := make(chan struct{})
	tests := []struct {
		name     string
		handler  http.HandlerFunc
		wantKind NetKind
		wantText string
	}{
		{"cut off", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", fmt.Sprint(len(body)))
			io.WriteString(w, body[:10])
		}, NetCutOff, "the answer was cut off: reading the answer (after 10 of 72 bytes): unexpected EOF"},
		{"stalled", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", fmt.Sprint(len(body)))
			w.WriteHeader(200)
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
			case <-stop:
			}
		}, NetTimeout, "timed out: reading the answer (after 0 of 72 bytes)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t, false, tt.handler)
			c := newTestClient(t, s.URL, func(o *Options) { o.Timeout = 200 * time.Millisecond })
			_, err := c.Get(context.Background(), "topology")
			var ne *NetError
			if !errors.As(err, &ne) || ne.Kind != tt.wantKind || !strings.Contains(err.Error(), tt.wantText) {
				t.Fatalf("err = %v, want a NetError of kind %v saying %q", err, tt.wantKind, tt.wantText)
			}
			if s.count() != 1 {
				t.Errorf("%d requests, want 1", s.count())
			}
		})
	}
	close(stop)
}

// Ctrl-C while the body arrives is an interrupt (exit 1), not an answer
// cut off by the network (exit 4).
func TestClientInterruptedBody(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	stop := make(chan struct{})
	defer close(stop)
	s := newServer(t, false, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "100")
		w.WriteHeader(200)
		w.(http.Flusher).Flush()
		cancel() // the user presses Ctrl-C now
		select {
		case <-r.Context().Done():
		case <-stop:
		}
	})
	c := newTestClient(t, s.URL, func(o *Options) { o.Timeout = 5 * time.Second })
	_, err := c.Get(ctx, "topology")
	var ne *NetError
	if !errors.Is(err, context.Canceled) || errors.As(err, &ne) {
		t.Fatalf("err = %v, want context.Canceled and no NetError", err)
	}
}

// A Retry-After longer than the request timeout is not waited for.
// A Retry-After longer than camctl would wait (30 s, or --timeout if
// shorter) is answered at once, also with the default --timeout of 30 s,
// where the cap alone used to make 3600 look like a 30 s wait.
func TestClientRetryAfterBeyondTimeout(t *testing.T) {
	tests := []struct {
		retryAfter string
		timeout    time.Duration
	}{
		{"3600", time.Second},
		{"3600", 30 * time.Second},
		{"31", time.Minute},
		{"99999999999999999999", 30 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.retryAfter+"/"+tt.timeout.String(), func(t *testing.T) {
			s := newServer(t, false, status(503, "Retry-After", tt.retryAfter), ok200)
			c := newTestClient(t, s.URL, func(o *Options) { o.Timeout = tt.timeout })
			start := time.Now()
			_, err := c.Get(context.Background(), "topology")
			var he *HTTPError
			if !errors.As(err, &he) || he.StatusCode != 503 {
				t.Fatalf("err = %v, want the 503", err)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("took %v", d)
			}
			if s.count() != 1 {
				t.Errorf("%d requests, want 1", s.count())
			}
		})
	}
}

func TestClientRedirects(t *testing.T) {
	t.Run("https to http refused", func(t *testing.T) {
		plain := newServer(t, false, ok200)
		secure := newServer(t, true, func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, plain.URL+r.URL.Path, http.StatusFound)
		})
		c := newTestClient(t, secure.URL, func(o *Options) {
			o.TLS.InsecureSkipVerify = true
			o.Auth = staticAuth{"Basic ZGVtbzpkZW1v"}
		})
		_, err := c.Get(context.Background(), "topology")
		if err == nil || !strings.Contains(err.Error(), "refusing to follow a redirect from https") {
			t.Fatalf("err = %v, want the redirect refused", err)
		}
		if plain.count() != 0 {
			t.Errorf("the http server saw %d requests", plain.count())
		}
	})

	t.Run("same-scheme redirect followed", func(t *testing.T) {
		s := newServer(t, false, func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/v2/topology" {
				http.Redirect(w, r, "/v2/moved", http.StatusTemporaryRedirect)
				return
			}
			ok200(w, r)
		})
		c := newTestClient(t, s.URL, nil)
		resp, err := c.Get(context.Background(), "topology")
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("Get = %v, %v", resp, err)
		}
	})

	t.Run("redirect loop stopped", func(t *testing.T) {
		s := newServer(t, false, func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, r.URL.Path, http.StatusFound)
		})
		c := newTestClient(t, s.URL, nil)
		_, err := c.Get(context.Background(), "topology")
		if err == nil || !strings.Contains(err.Error(), "redirects") {
			t.Fatalf("err = %v", err)
		}
		if n := s.count(); n > 6 {
			t.Errorf("%d requests, want at most 6", n)
		}
	})
}

// A redirect must never hand the credentials to anyone but the host and
// port they were meant for. Go itself keeps Authorization for the same
// host name on another port and for subdomains, so camctl drops it.
func TestClientRedirectCredentials(t *testing.T) {
	const basic = "Basic ZGVtbzpkZW1v"
	target := newServer(t, false, ok200)
	_, targetPort, err := net.SplitHostPort(strings.TrimPrefix(target.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		location string
		want     string // Authorization seen by the target
	}{
		// 127.0.0.1 → localhost: another host name (Go drops it too).
		{"other host", "http://localhost:" + targetPort + "/v2/topology", ""},
		// 127.0.0.1:A → 127.0.0.1:B: Go would forward it.
		{"same host, other port", target.URL + "/v2/topology", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := target.count()
			origin := newServer(t, false, func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, tt.location, http.StatusTemporaryRedirect)
			})
			c := newTestClient(t, origin.URL, func(o *Options) { o.Auth = staticAuth{basic} })
			if _, err := c.Get(context.Background(), "topology"); err != nil {
				t.Fatalf("Get: %v", err)
			}
			if got := origin.request(0).Header.Get("Authorization"); got != basic {
				t.Fatalf("the origin got Authorization %q, want %q", got, basic)
			}
			if target.count() != before+1 {
				t.Fatalf("the redirect was not followed")
			}
			if got := target.request(before).Header.Get("Authorization"); got != tt.want {
				t.Errorf("the redirect target got Authorization %q, want %q", got, tt.want)
			}
		})
	}

	t.Run("same origin keeps credentials", func(t *testing.T) {
		s := newServer(t, false, func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/v2/topology" {
				http.Redirect(w, r, "/v2/moved", http.StatusTemporaryRedirect)
				return
			}
			ok200(w, r)
		})
		c := newTestClient(t, s.URL, func(o *Options) { o.Auth = staticAuth{basic} })
		if _, err := c.Get(context.Background(), "topology"); err != nil {
			t.Fatal(err)
		}
		if got := s.request(1).Header.Get("Authorization"); got != basic {
			t.Errorf("same-origin redirect got Authorization %q, want %q", got, basic)
		}
	})
}

func TestCredentialsMayFollow(t *testing.T) {
	tests := []struct {
		from, to string
		want     bool
	}{
		{"https://c.example.com/v2/x", "https://c.example.com/v2/y", true},
		{"https://c.example.com/v2/x", "https://C.EXAMPLE.COM:443/v2/y", true},
		{"http://c.example.com/v2/x", "https://c.example.com/v2/y", true},
		{"http://c.example.com:8080/v2/x", "https://c.example.com/v2/y", false},
		{"https://c.example.com/v2/x", "https://c.example.com:8443/v2/y", false},
		{"https://example.com/v2/x", "https://evil.example.com/v2/y", false},
		{"https://c.example.com/v2/x", "https://c.example.com.evil.test/v2/y", false},
		{"http://127.0.0.1:8080/v2/x", "http://127.0.0.1:9090/v2/y", false},
	}
	for _, tt := range tests {
		from, _ := url.Parse(tt.from)
		to, _ := url.Parse(tt.to)
		if got := credentialsMayFollow(from, to); got != tt.want {
			t.Errorf("credentialsMayFollow(%s, %s) = %v, want %v", tt.from, tt.to, got, tt.want)
		}
	}
}
