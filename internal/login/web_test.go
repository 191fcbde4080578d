package login

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/camctl/camctl/internal/auth"
	"github.com/camctl/camctl/internal/config"
	"github.com/camctl/camctl/internal/redact"
)

// fakeIdP is a token endpoint for the code exchange: it answers with an
// ID token carrying the nonce it is told (Nonce), after Hold is closed.
type fakeIdP struct {
	*httptest.Server
	mu       sync.Mutex
	nonce    string
	hold     chan struct{}
	verifier string
}

func newFakeIdP(t *testing.T) *fakeIdP {
	f := &fakeIdP{}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		f.mu.Lock()
		hold, nonce := f.hold, f.nonce
		f.verifier = r.Form.Get("code_verifier")
		f.mu.Unlock()
		if hold != nil {
			<-hold
		}
		claims, _ := json.Marshal(map[string]any{"iss": f.URL, "aud": "cli", "nonce": nonce, "sub": "alice"})
		idt := "eyJhbGciOiJub25lIn0." + base64.RawURLEncoding.EncodeToString(claims) + ".c2ln"
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"access_token": "at-1", "token_type": "Bearer", "expires_in": 300, "refresh_token": "rt-1", "id_token": idt})
	}))
	t.Cleanup(f.Close)
	return f
}

// webFlow returns a flow against f whose "browser" hands the URL to urls.
func webFlow(f *fakeIdP, urls chan<- *url.URL) *Flow {
	return &Flow{
		Endpoints: &auth.Endpoints{Issuer: f.URL, Authorization: f.URL + "/auth", Token: f.URL + "/token"},
		ClientID:  "cli",
		Scopes:    DefaultScopes(""),
		HTTP:      f.Client(),
		Notify:    func(string) {},
		Open: func(s string) error {
			u, err := url.Parse(s)
			urls <- u
			return err
		},
		Timeout:  10 * time.Second,
		Redactor: redact.New(),
	}
}

func get(t *testing.T, u string) (int, string) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestWebCallbacks: the loopback listener takes exactly one valid
// callback. Others (another path, a wrong state, no code, a second one
// while the first is being exchanged) get a page and change nothing.
func TestWebCallbacks(t *testing.T) {
	idp := newFakeIdP(t)
	idp.hold = make(chan struct{})
	urls := make(chan *url.URL, 1)
	flow := webFlow(idp, urls)
	type result struct {
		tok string
		err error
	}
	done := make(chan result, 1)
	go func() {
		tok, err := flow.Web(t.Context())
		if err != nil {
			done <- result{err: err}
			return
		}
		done <- result{tok: tok.AccessToken}
	}()
	auth := <-urls
	q := auth.Query()
	idp.mu.Lock()
	idp.nonce = q.Get("nonce")
	idp.mu.Unlock()
	cb, _ := url.Parse(q.Get("redirect_uri"))
	if cb.Hostname() != "127.0.0.1" || cb.Path != "/callback" {
		t.Fatalf("redirect_uri %s, want http://127.0.0.1:PORT/callback", cb)
	}
	if q.Get("code_challenge_method") != "S256" || len(q.Get("code_challenge")) != 43 || q.Get("state") == "" || q.Get("nonce") == "" {
		t.Fatalf("authorization URL %s: want PKCE S256, state and nonce", auth)
	}
	call := func(v url.Values) (int, string) {
		u := *cb
		u.RawQuery = v.Encode()
		return get(t, u.String())
	}
	if code, _ := get(t, cb.Scheme+"://"+cb.Host+"/other"); code != http.StatusNotFound {
		t.Errorf("another path: %d, want 404", code)
	}
	if code, body := call(url.Values{"state": {"forged"}, "code": {"evil"}}); code != http.StatusBadRequest || !strings.Contains(body, "still waiting") {
		t.Errorf("a wrong state: %d %s, want 400 and the flow still waiting", code, body)
	}
	if code, _ := call(url.Values{"state": {"forged"}, "error": {"access_denied"}}); code != http.StatusBadRequest {
		t.Errorf("an error= with a wrong state: %d, want 400 (it does not end the sign-in)", code)
	}
	if code, _ := call(url.Values{"state": {q.Get("state")}}); code != http.StatusBadRequest {
		t.Errorf("no code: %d, want 400", code)
	}
	first := make(chan string, 1)
	go func() {
		_, body := call(url.Values{"state": {q.Get("state")}, "code": {"good"}})
		first <- body
	}()
	// The first is being exchanged (the IdP holds it); a second arrives.
	for range 100 {
		idp.mu.Lock()
		v := idp.verifier
		idp.mu.Unlock()
		if v != "" {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if code, body := call(url.Values{"state": {q.Get("state")}, "code": {"second"}}); code != http.StatusConflict || !strings.Contains(body, "already") {
		t.Errorf("a second callback: %d %s, want 409", code, body)
	}
	close(idp.hold)
	if body := <-first; !strings.Contains(body, "You can close this tab") {
		t.Errorf("the success page: %s", body)
	}
	res := <-done
	if res.err != nil || res.tok != "at-1" {
		t.Fatalf("Web: %q, %v", res.tok, res.err)
	}
	if len(idp.verifier) < 43 {
		t.Errorf("the exchange sent code_verifier %q", idp.verifier)
	}
}

// TestWebFailures: the IdP's error, a nonce that is not ours, the
// timeout and Ctrl-C each end the sign-in with what happened.
func TestWebFailures(t *testing.T) {
	t.Run("error callback", func(t *testing.T) {
		idp := newFakeIdP(t)
		urls := make(chan *url.URL, 1)
		flow := webFlow(idp, urls)
		go func() {
			u := <-urls
			cb := u.Query().Get("redirect_uri") + "?" + url.Values{"state": {u.Query().Get("state")}, "error": {"access_denied"}, "error_description": {"the user said <no>"}}.Encode()
			if code, body := get(t, cb); code != http.StatusOK || strings.Contains(body, "<no>") {
				t.Errorf("the failure page: %d %s (the IdP's text must be escaped)", code, body)
			}
		}()
		_, err := flow.Web(t.Context())
		var fe *FlowError
		if !errors.As(err, &fe) || fe.Code != "access_denied" {
			t.Fatalf("Web: %v, want a FlowError access_denied", err)
		}
	})
	t.Run("nonce", func(t *testing.T) {
		idp := newFakeIdP(t)
		idp.nonce = "someone-else's"
		urls := make(chan *url.URL, 1)
		flow := webFlow(idp, urls)
		go func() {
			u := <-urls
			get(t, u.Query().Get("redirect_uri")+"?"+url.Values{"state": {u.Query().Get("state")}, "code": {"c"}}.Encode())
		}()
		_, err := flow.Web(t.Context())
		if err == nil || !strings.Contains(err.Error(), "nonce") {
			t.Fatalf("Web: %v, want the nonce refused", err)
		}
	})
	t.Run("timeout", func(t *testing.T) {
		idp := newFakeIdP(t)
		flow := webFlow(idp, make(chan *url.URL, 1))
		flow.Timeout = 50 * time.Millisecond
		_, err := flow.Web(t.Context())
		if err == nil || !strings.Contains(err.Error(), "--login-timeout") {
			t.Fatalf("Web: %v, want the timeout named", err)
		}
	})
	t.Run("ctrl-c", func(t *testing.T) {
		idp := newFakeIdP(t)
		urls := make(chan *url.URL, 1)
		flow := webFlow(idp, urls)
		ctx, cancel := context.WithCancel(t.Context())
		go func() { <-urls; cancel() }()
		_, err := flow.Web(ctx)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Web: %v, want cancelled", err)
		}
	})
}

func TestOpenerCommand(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	for _, tt := range []struct {
		goos string
		env  map[string]string
		want string
	}{
		{"linux", nil, "xdg-open"},
		{"freebsd", nil, "xdg-open"},
		{"darwin", nil, "open"},
		{"windows", nil, "rundll32 url.dll,FileProtocolHandler"},
		{"linux", map[string]string{"BROWSER": "firefox --new-tab"}, "firefox --new-tab"},
	} {
		if got := strings.Join(OpenerCommand(tt.goos, env(tt.env)), " "); got != tt.want {
			t.Errorf("%s %v: %q, want %q", tt.goos, tt.env, got, tt.want)
		}
	}
}

// TestRedirectPort: --redirect-port fixes the loopback port (an IdP may
// need it registered); a port in use is a usage error naming it.
func TestRedirectPort(t *testing.T) {
	hold, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := hold.Addr().(*net.TCPAddr).Port
	idp := newFakeIdP(t)
	urls := make(chan *url.URL, 1)
	_, err = webFlow(idp, urls).withPort(port).Web(t.Context())
	var ue *config.UsageError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "--redirect-port "+strconv.Itoa(port)) {
		t.Errorf("a port in use: %v, want a usage error naming --redirect-port", err)
	}
	hold.Close()
	ctx, cancel := context.WithCancel(t.Context())
	go func() {
		u := <-urls
		if got := u.Query().Get("redirect_uri"); got != "http://127.0.0.1:"+strconv.Itoa(port)+"/callback" {
			t.Errorf("redirect_uri %s, want port %d", got, port)
		}
		cancel()
	}()
	if _, err := webFlow(idp, urls).withPort(port).Web(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Web on the freed port: %v", err)
	}
}

func (f *Flow) withPort(p int) *Flow { f.RedirectPort = p; return f }

func TestOpenerArgs(t *testing.T) {
	const u = "https://idp/auth?a=1&b=2"
	for _, tt := range []struct {
		argv []string
		want string
	}{
		{[]string{"xdg-open"}, u},
		{[]string{"rundll32", "url.dll,FileProtocolHandler"}, "url.dll,FileProtocolHandler " + u},
		{[]string{"firefox", "--new-tab", "%s"}, "--new-tab " + u},
	} {
		if got := strings.Join(OpenerArgs(tt.argv, u), " "); got != tt.want {
			t.Errorf("%q: %q, want %q", tt.argv, got, tt.want)
		}
	}
}
