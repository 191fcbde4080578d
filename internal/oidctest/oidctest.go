// Package oidctest runs a real OpenID provider for integration tests:
// panva's oidc-provider (testdata/oidc, installed with npm) on 127.0.0.1,
// which checks client secrets and signs JWT access tokens, behind a proxy
// that counts token requests and can inject failures. Verify checks an
// access token the way a Camunda cluster would: signature against the
// provider's JWKS, audience and expiry.
package oidctest

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// Client is a registered OAuth client.
type Client struct {
	ID     string
	Secret string
}

// Options configure the provider.
type Options struct {
	Clients []Client
	// TTL is the access token lifetime (default 300 s).
	TTL time.Duration
	// Audience is the aud claim of tokens (default orchestration-api).
	Audience string
}

// IdP is a running provider.
type IdP struct {
	Issuer   string
	Audience string
	jwks     jose.JSONWebKeySet
}

// Start runs the provider until the test ends. It fails the test, naming
// the install step, when Node.js or the npm packages are missing.
func Start(t testing.TB, o Options) *IdP {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node not found: the OIDC integration tests run a real OpenID provider on Node.js (Debian: apt-get install nodejs)")
	}
	dir := serverDir()
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "oidc-provider")); err != nil {
		t.Fatalf("oidc-provider is not installed: run `npm ci --prefix %s` (.ci/run does)", dir)
	}
	if o.TTL == 0 {
		o.TTL = 300 * time.Second
	}
	if o.Audience == "" {
		o.Audience = "orchestration-api"
	}
	var clients []map[string]any
	for _, c := range o.Clients {
		clients = append(clients, map[string]any{
			"client_id": c.ID, "client_secret": c.Secret,
			"grant_types": []string{"client_credentials"}, "redirect_uris": []string{}, "response_types": []string{},
			"token_endpoint_auth_method": "client_secret_post",
		})
	}
	cj, _ := json.Marshal(clients)

	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, node, filepath.Join(dir, "server.mjs"))
	cmd.Env = append(os.Environ(), "IDP_CLIENTS="+string(cj), fmt.Sprintf("IDP_TTL=%d", int(o.TTL.Seconds())), "IDP_AUDIENCE="+o.Audience)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start the OpenID provider: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
	})
	issuer := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if v, ok := strings.CutPrefix(sc.Text(), "listening "); ok {
				issuer <- v
			}
		}
		close(issuer)
	}()
	idp := &IdP{Audience: o.Audience}
	select {
	case v, ok := <-issuer:
		if !ok {
			t.Fatalf("the OpenID provider exited: %s", stderr.String())
		}
		idp.Issuer = v
	case <-time.After(20 * time.Second):
		t.Fatalf("the OpenID provider did not start within 20 s: %s", stderr.String())
	}
	resp, err := http.Get(idp.Issuer + "/jwks")
	if err != nil {
		t.Fatalf("fetch the provider's keys: %v", err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&idp.jwks); err != nil || len(idp.jwks.Keys) == 0 {
		t.Fatalf("read the provider's keys: %v", err)
	}
	return idp
}

func serverDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "testdata", "oidc")
}

// Verify checks an access token as the cluster would: signed by this
// provider, for its audience, not expired.
func (i *IdP) Verify(token string) error {
	jws, err := jose.ParseSigned(token, []jose.SignatureAlgorithm{jose.RS256, jose.ES256, jose.PS256})
	if err != nil {
		return fmt.Errorf("not a signed JWT: %w", err)
	}
	if len(jws.Signatures) != 1 {
		return errors.New("want exactly one signature")
	}
	keys := i.jwks.Key(jws.Signatures[0].Header.KeyID)
	if len(keys) == 0 {
		return errors.New("signed with an unknown key")
	}
	payload, err := jws.Verify(keys[0])
	if err != nil {
		return fmt.Errorf("bad signature: %w", err)
	}
	var claims struct {
		Iss string          `json:"iss"`
		Aud json.RawMessage `json:"aud"`
		Exp int64           `json:"exp"`
	}
	if err := json.Unmarshal(payload, &claims); err != nil {
		return err
	}
	if claims.Iss != i.Issuer {
		return fmt.Errorf("issuer %q", claims.Iss)
	}
	if !strings.Contains(string(claims.Aud), `"`+i.Audience+`"`) {
		return fmt.Errorf("audience %s, want %s", claims.Aud, i.Audience)
	}
	if time.Now().Unix() >= claims.Exp {
		return errors.New("expired")
	}
	return nil
}

// Fault is an answer the proxy gives instead of forwarding.
type Fault struct {
	Status     int
	RetryAfter string
	Body       string
	// Drop closes the connection without an answer.
	Drop bool
	// Hang never answers (until the client gives up or the proxy closes).
	Hang bool
}

// Proxy sits in front of the provider: it counts token requests and
// injects faults.
type Proxy struct {
	*httptest.Server
	mu      sync.Mutex
	tokens  int
	faults  []Fault
	down    bool
	arrived chan struct{}
	closed  chan struct{}
}

// NewProxy returns a proxy to idp; the caller closes it.
func NewProxy(idp *IdP) *Proxy {
	target, _ := url.Parse(idp.Issuer)
	rp := httputil.NewSingleHostReverseProxy(target)
	p := &Proxy{arrived: make(chan struct{}, 1), closed: make(chan struct{})}
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		isToken := r.URL.Path == "/token"
		if isToken {
			p.tokens++
			select {
			case p.arrived <- struct{}{}:
			default:
			}
		}
		var fault *Fault
		if isToken && len(p.faults) > 0 {
			fault = &p.faults[0]
			p.faults = p.faults[1:]
		}
		down := p.down
		p.mu.Unlock()
		if down {
			fault = &Fault{Drop: true}
		}
		if fault != nil {
			if fault.Hang {
				select {
				case <-r.Context().Done():
				case <-p.closed:
				}
				return
			}
			if fault.Drop {
				if hj, ok := w.(http.Hijacker); ok {
					if c, _, err := hj.Hijack(); err == nil {
						c.Close()
						return
					}
				}
			}
			if fault.RetryAfter != "" {
				w.Header().Set("Retry-After", fault.RetryAfter)
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(fault.Status)
			_, _ = io.WriteString(w, fault.Body)
			return
		}
		// The provider builds URLs from its issuer, not from the proxy.
		r.Host = target.Host
		rp.ServeHTTP(w, r)
	}))
	return p
}

// Arrived signals that a token request arrived since the last receive.
func (p *Proxy) Arrived() <-chan struct{} { return p.arrived }

// Close stops the proxy, releasing hanging requests.
func (p *Proxy) Close() {
	p.mu.Lock()
	select {
	case <-p.closed:
	default:
		close(p.closed)
	}
	p.mu.Unlock()
	p.Server.Close()
}

// TokenURL is the token endpoint as camctl should be configured with it.
func (p *Proxy) TokenURL() string { return p.URL + "/token" }

// TokenRequests returns how many token requests arrived.
func (p *Proxy) TokenRequests() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.tokens
}

// Fail answers the next token requests with these faults.
func (p *Proxy) Fail(f ...Fault) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.faults = append(p.faults, f...)
}

// SetDown makes every request fail at the connection level.
func (p *Proxy) SetDown(down bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = down
}
