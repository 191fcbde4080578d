// Package oidctest runs a real OpenID provider for integration tests:
// panva's oidc-provider (testdata/oidc, installed with npm) on 127.0.0.1,
// which checks client secrets and signs JWT access tokens, behind a proxy
// that counts token requests and can inject failures. Verify checks an
// access token the way a Camunda cluster would: signature against the
// provider's JWKS, audience and expiry.
//
// With Options.TLS the provider serves HTTPS itself and also
// authenticates clients by X.509 certificate (RFC 8705 tls_client_auth,
// Client.TLSSubjectDN). A Proxy cannot sit in front of it (it would end
// the client's TLS session), so count with IdP.TokenRequests instead.
package oidctest

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
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
	// TLSSubjectDN registers the client for tls_client_auth: it
	// authenticates by a client certificate with this subject (RFC 4514,
	// as pkix.Name.String prints it, e.g. "CN=app,O=example,C=DE"; order
	// matters, attribute types ignore case, white space after the commas
	// is ignored) from the CA in TLSOptions.CAFile, and has no secret.
	// It needs Options.TLS.
	TLSSubjectDN string
	// JWKS registers the client for private_key_jwt (RFC 7523): it
	// authenticates with client assertions signed by one of these public
	// keys, and has no secret. A federated client's JWKS is the CI
	// platform's (see ciplatform).
	JWKS []jose.JSONWebKey
	// Public registers a person's client without a secret (a CLI):
	// token_endpoint_auth_method none, PKCE required, the authorization
	// code, refresh token and device code grants, and the loopback
	// redirect http://127.0.0.1/callback on any port (RFC 8252; the
	// client is a native one).
	Public bool
}

// User is a person who can sign in on the provider's login form.
type User struct {
	Login, Password string
	Name, Email     string
}

// TLSOptions make the provider serve HTTPS and ask clients for
// certificates.
type TLSOptions struct {
	// CertFile and KeyFile are the server's certificate (for 127.0.0.1)
	// and key, PEM.
	CertFile, KeyFile string
	// CAFile is the PEM CA that signed CertFile and that client
	// certificates must chain to. Start trusts it to talk to the provider.
	CAFile string
}

// Options configure the provider.
type Options struct {
	Clients []Client
	// TTL is the access token lifetime (default 300 s).
	TTL time.Duration
	// Audience is the aud claim of tokens (default orchestration-api).
	Audience string
	// TLS, when set, serves HTTPS with client certificates.
	TLS *TLSOptions
	// Users can sign in (browser and device flows).
	Users []User
	// NoRotation keeps a refresh token valid across refreshes (default:
	// each refresh returns a new one and spends the old).
	NoRotation bool
	// Issuer, when set, is the issuer the provider names itself (an
	// https:// name a fakenet host forwards to it, with a path such as
	// Keycloak's /realms/NAME). IdP.Issuer is then this name and
	// IdP.Local the provider's own http://127.0.0.1:PORT; see Forward.
	Issuer string
}

// IdP is a running provider.
type IdP struct {
	// Issuer is http://127.0.0.1:PORT, or https:// with Options.TLS
	// (or Options.Issuer); Local is where the provider listens.
	Issuer   string
	Local    string
	Audience string
	jwks     jose.JSONWebKeySet
	t        testing.TB
	client   *http.Client
}

// Start runs the provider until the test ends. Without Node.js it skips
// the test, naming what to install (with CI=true it fails: testneed);
// without the provider's npm packages it installs them into a cache
// first.
func Start(t testing.TB, o Options) *IdP {
	t.Helper()
	node, script := prepare(t, serverDir())
	return start(t, o, node, script)
}

// start runs script (server.mjs) on node.
func start(t testing.TB, o Options, node, script string) *IdP {
	t.Helper()
	if o.TTL == 0 {
		o.TTL = 300 * time.Second
	}
	if o.Audience == "" {
		o.Audience = "orchestration-api"
	}
	var clients []map[string]any
	for _, c := range o.Clients {
		m := map[string]any{
			"client_id": c.ID, "client_secret": c.Secret,
			"grant_types": []string{"client_credentials"}, "redirect_uris": []string{}, "response_types": []string{},
			"token_endpoint_auth_method": "client_secret_post",
		}
		if c.Public {
			delete(m, "client_secret")
			m["token_endpoint_auth_method"] = "none"
			m["application_type"] = "native"
			m["grant_types"] = []string{"authorization_code", "refresh_token", "urn:ietf:params:oauth:grant-type:device_code"}
			m["response_types"] = []string{"code"}
			m["redirect_uris"] = []string{"http://127.0.0.1/callback"}
		}
		if c.TLSSubjectDN != "" {
			if o.TLS == nil {
				t.Fatalf("oidctest: client %s has a TLSSubjectDN but the provider has no Options.TLS", c.ID)
			}
			if c.Secret != "" {
				t.Fatalf("oidctest: client %s has both a TLSSubjectDN and a Secret; a tls_client_auth client has no secret", c.ID)
			}
			delete(m, "client_secret")
			m["token_endpoint_auth_method"] = "tls_client_auth"
			m["tls_client_auth_subject_dn"] = c.TLSSubjectDN
		}
		if len(c.JWKS) > 0 {
			if c.Secret != "" || c.TLSSubjectDN != "" {
				t.Fatalf("oidctest: client %s has a JWKS and a Secret or TLSSubjectDN; a private_key_jwt client has only keys", c.ID)
			}
			delete(m, "client_secret")
			m["token_endpoint_auth_method"] = "private_key_jwt"
			m["jwks"] = jose.JSONWebKeySet{Keys: c.JWKS}
		}
		clients = append(clients, m)
	}
	cj, _ := json.Marshal(clients)

	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, node, script)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "IDP_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	var users []map[string]string
	for _, u := range o.Users {
		users = append(users, map[string]string{"login": u.Login, "password": u.Password, "name": u.Name, "email": u.Email})
	}
	uj, _ := json.Marshal(users)
	cmd.Env = append(cmd.Env, "IDP_CLIENTS="+string(cj), fmt.Sprintf("IDP_TTL=%d", int(o.TTL.Seconds())), "IDP_AUDIENCE="+o.Audience, "IDP_USERS="+string(uj))
	if o.NoRotation {
		cmd.Env = append(cmd.Env, "IDP_ROTATE=0")
	}
	if o.Issuer != "" {
		cmd.Env = append(cmd.Env, "IDP_ISSUER="+o.Issuer)
	}
	httpClient := &http.Client{Timeout: 10 * time.Second}
	if o.TLS != nil {
		var files []string
		for _, f := range []string{o.TLS.CertFile, o.TLS.KeyFile, o.TLS.CAFile} {
			abs, err := filepath.Abs(f)
			if err != nil {
				t.Fatal(err)
			}
			files = append(files, abs)
		}
		cmd.Env = append(cmd.Env, "IDP_TLS_CERT="+files[0], "IDP_TLS_KEY="+files[1], "IDP_TLS_CA="+files[2])
		pem, err := os.ReadFile(files[2])
		if err != nil {
			t.Fatalf("oidctest: read the CA: %v", err)
		}
		roots := x509.NewCertPool()
		if !roots.AppendCertsFromPEM(pem) {
			t.Fatalf("oidctest: no certificate in %s", files[2])
		}
		httpClient.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}
	}
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
		httpClient.CloseIdleConnections()
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
	idp := &IdP{Audience: o.Audience, t: t, client: httpClient}
	select {
	case v, ok := <-issuer:
		if !ok {
			t.Fatalf("the OpenID provider exited: %s", stderr.String())
		}
		idp.Issuer, idp.Local, _ = strings.Cut(v, " ")
	case <-time.After(20 * time.Second):
		t.Fatalf("the OpenID provider did not start within 20 s: %s", stderr.String())
	}
	resp, err := httpClient.Get(idp.Local + "/jwks")
	if err != nil {
		t.Fatalf("fetch the provider's keys: %v", err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&idp.jwks); err != nil || len(idp.jwks.Keys) == 0 {
		t.Fatalf("read the provider's keys: %v", err)
	}
	return idp
}

// TokenURL is the provider's token endpoint.
func (i *IdP) TokenURL() string { return i.Issuer + "/token" }

// Stats are what the provider itself saw at its token endpoint.
type Stats struct {
	// Token counts the requests to /token, Clients counts them by the
	// client they named ("" for none). Both include failed requests.
	Token   int            `json:"token"`
	Clients map[string]int `json:"clients"`
	// Grants counts token requests by grant_type ("refresh_token", ...).
	Grants map[string]int `json:"grants"`
	// Revoked counts revocation requests (RFC 7009).
	Revoked int `json:"revoked"`
	// Errors says why failed token requests failed, in order, as
	// "invalid_client: client certificate was not verified" (clients see
	// only "client authentication failed").
	Errors []string `json:"errors"`
	// Fields are the form field names of each token request, in order.
	Fields [][]string `json:"fields"`
	// Assertions are the decoded client assertions that reached client
	// authentication, in order.
	Assertions []Assertion `json:"assertions"`
}

// Assertion is a client assertion as the provider received it.
type Assertion struct {
	Header map[string]any `json:"header"`
	Claims map[string]any `json:"claims"`
}

// Stats asks the provider what it saw. It counts requests that reached
// it, through a Proxy or not; a request is counted before it is answered.
// On error it fails the test (from any goroutine: it uses Errorf) and
// returns zero Stats.
func (i *IdP) Stats() Stats {
	var s Stats
	resp, err := i.client.Get(i.Local + "/_stats")
	if err != nil {
		i.t.Errorf("oidctest: ask the provider for its counts: %v", err)
		return Stats{}
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
		i.t.Errorf("oidctest: read the provider's counts: %v", err)
		return Stats{}
	}
	return s
}

// TokenRequests returns how many token requests reached the provider. It
// works with and without Options.TLS.
func (i *IdP) TokenRequests() int { return i.Stats().Token }

func serverDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..", "testdata", "oidc")
}

// Verify checks an access token as the cluster would: signed by this
// provider, for its audience, not expired.
func (i *IdP) Verify(token string) error { return i.VerifyFor(i.Audience)(token) }

// VerifyFor is Verify for a cluster that expects another audience than
// the one the provider puts in its tokens: it refuses them all, as a
// cluster set up for a different audience does.
func (i *IdP) VerifyFor(audience string) func(token string) error {
	return func(token string) error { return i.verify(token, audience) }
}

func (i *IdP) verify(token, audience string) error {
	// Compact only: an access token is never in the JSON serialisation.
	jws, err := jose.ParseSignedCompact(token, []jose.SignatureAlgorithm{jose.RS256, jose.ES256, jose.PS256})
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
	if !strings.Contains(string(claims.Aud), `"`+audience+`"`) {
		return fmt.Errorf("audience %s, want %s", claims.Aud, audience)
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
	// ContentType of Body; default application/json.
	ContentType string
	// Drop closes the connection without an answer.
	Drop bool
	// Reset aborts the connection with a TCP RST once the request
	// arrived, before any answer.
	Reset bool
	// Cut sends the status line and headers announcing all of Body
	// (Content-Length), then half of Body, then resets the connection.
	Cut bool
	// Hang never answers (until the client gives up or the proxy closes).
	Hang bool
	// Delay forwards the request to the provider only after this long,
	// or never if the client gives up first: a slow provider.
	Delay time.Duration
	// Rewrite forwards the request and passes the provider's JSON answer
	// through this function: tokens the provider itself never issues
	// (without an expiry, already expired).
	Rewrite func(answer map[string]any)
}

// Proxy sits in front of the provider: it counts token requests and
// injects faults.
type Proxy struct {
	*httptest.Server
	mu      sync.Mutex
	tokens  int
	faults  []Fault
	always  *Fault
	delay   time.Duration
	arrived chan struct{}
	closed  chan struct{}
}

// NewProxy returns a proxy to idp; the caller closes it.
func NewProxy(idp *IdP) *Proxy {
	target, _ := url.Parse(idp.Local)
	rp := httputil.NewSingleHostReverseProxy(target)
	p := &Proxy{arrived: make(chan struct{}, 1), closed: make(chan struct{})}
	rp.ErrorHandler = func(w http.ResponseWriter, r *http.Request, err error) {
		// A client that went away (a test killed camctl mid-request) is
		// not the provider failing: nothing to say, nobody to answer.
		if errors.Is(err, context.Canceled) && r.Context().Err() != nil {
			return
		}
		log.Printf("oidctest proxy: %v", err)
		w.WriteHeader(http.StatusBadGateway)
	}
	forward := func(w http.ResponseWriter, r *http.Request) {
		// The provider builds URLs from its issuer, not from the proxy.
		r.Host = target.Host
		rp.ServeHTTP(w, r)
	}
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
		if p.always != nil {
			fault = p.always
		}
		delay := p.delay
		p.mu.Unlock()
		if isToken && delay > 0 {
			// A slow IdP keeps the token lock held long enough for a test
			// to kill camctl in the middle of a refresh.
			t := time.NewTimer(delay)
			select {
			case <-t.C:
			case <-r.Context().Done():
				t.Stop()
				return
			case <-p.closed:
				t.Stop()
				return
			}
		}
		if r.URL.Path == "/.well-known/openid-configuration" {
			p.serveDiscovery(w, r, forward, idp.Issuer)
			return
		}
		if fault == nil {
			forward(w, r)
			return
		}
		p.serveFault(w, r, fault, forward)
	}))
	return p
}

func (p *Proxy) serveFault(w http.ResponseWriter, r *http.Request, f *Fault, forward http.HandlerFunc) {
	switch {
	case f.Hang:
		select {
		case <-r.Context().Done():
		case <-p.closed:
		}
		return
	case f.Delay > 0:
		t := time.NewTimer(f.Delay)
		defer t.Stop()
		select {
		case <-r.Context().Done():
			return
		case <-p.closed:
			return
		case <-t.C:
		}
		forward(w, r)
		return
	case f.Rewrite != nil:
		rec := httptest.NewRecorder()
		forward(rec, r)
		var answer map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &answer); err != nil || rec.Code != http.StatusOK {
			http.Error(w, "oidctest: the provider did not issue a token to rewrite: "+rec.Body.String(), http.StatusBadGateway)
			return
		}
		f.Rewrite(answer)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		_ = json.NewEncoder(w).Encode(answer)
		return
	case f.Drop, f.Reset, f.Cut:
		p.abort(w, f)
		return
	}
	if f.RetryAfter != "" {
		w.Header().Set("Retry-After", f.RetryAfter)
	}
	ct := f.ContentType
	if ct == "" {
		ct = "application/json"
	}
	w.Header().Set("Content-Type", ct)
	w.WriteHeader(f.Status)
	_, _ = io.WriteString(w, f.Body)
}

// abort ends the connection without a complete answer: closed (Drop), or
// reset with a TCP RST (Reset, Cut), which a client sees as "connection
// reset by peer" rather than a clean end of file.
func (p *Proxy) abort(w http.ResponseWriter, f *Fault) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic("oidctest: the proxy's ResponseWriter cannot be hijacked")
	}
	c, buf, err := hj.Hijack()
	if err != nil {
		return
	}
	defer c.Close()
	if f.Cut {
		ct := f.ContentType
		if ct == "" {
			ct = "application/json"
		}
		status := f.Status
		if status == 0 {
			status = http.StatusOK
		}
		fmt.Fprintf(buf, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n%s",
			status, http.StatusText(status), ct, len(f.Body), f.Body[:len(f.Body)/2])
		_ = buf.Flush()
	}
	if tc, ok := c.(*net.TCPConn); ok && (f.Reset || f.Cut) {
		// Linger 0 makes Close send RST instead of FIN.
		_ = tc.SetLinger(0)
	}
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

// Forget drops the faults queued by Fail that no request used.
func (p *Proxy) Forget() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.faults = nil
}

// Recount counts token requests from zero again.
func (p *Proxy) Recount() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.tokens = 0
}

// Fail answers the next token requests with these faults.
func (p *Proxy) Fail(f ...Fault) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.faults = append(p.faults, f...)
}

// SetDown makes every request fail at the connection level.
func (p *Proxy) SetDown(down bool) {
	if down {
		p.Always(&Fault{Drop: true})
	} else {
		p.Always(nil)
	}
}

// Always answers every token request with f from now on (a storm of 429
// or 5xx, say); nil serves normally again.
func (p *Proxy) Always(f *Fault) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.always = f
}

// SetDelay holds every token request for d before it is answered (0:
// answer at once).
func (p *Proxy) SetDelay(d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.delay = d
}

// serveDiscovery passes the provider's discovery document with its
// endpoints moved to the proxy (the issuer stays the provider's, as it
// names itself in its tokens): a client that discovers through the proxy
// sends its token, device and revocation requests through it too.
func (p *Proxy) serveDiscovery(w http.ResponseWriter, r *http.Request, forward http.HandlerFunc, issuer string) {
	rec := httptest.NewRecorder()
	forward(rec, r)
	var doc map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
		http.Error(w, "oidctest: the provider sent no discovery document", http.StatusBadGateway)
		return
	}
	for k, v := range doc {
		if s, ok := v.(string); ok && strings.HasSuffix(k, "_endpoint") && strings.HasPrefix(s, issuer) {
			doc[k] = p.URL + strings.TrimPrefix(s, issuer)
		}
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(doc)
}

// DiscoveryURL is the proxy's discovery document. Its "issuer" stays the
// provider's (IdP.Issuer): give a client that URL as the issuer and this
// one as the full discovery URL (CAMUNDA_WELL_KNOWN_CONFIGURATION_URL).
func (p *Proxy) DiscoveryURL() string { return p.URL + "/.well-known/openid-configuration" }

// Forward is the handler of a fakenet host that stands for the provider
// under Options.Issuer: it passes requests to the provider as a TLS-
// terminating proxy would (X-Forwarded-Proto, the original Host), and
// calls onDevice with each device authorization answer's
// verification_uri_complete (nil: none), which a test that plays the
// person needs.
func (i *IdP) Forward(onDevice func(complete string)) http.Handler {
	target, _ := url.Parse(i.Local)
	rp := &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) {
		pr.SetURL(target)
		// The provider builds its URLs from the name it is reached by.
		pr.Out.Host = pr.In.Host
		pr.Out.Header.Set("X-Forwarded-Proto", "https")
		pr.Out.Header.Set("X-Forwarded-Host", pr.In.Host)
	}}
	rp.ModifyResponse = func(resp *http.Response) error {
		if onDevice == nil || !strings.HasSuffix(resp.Request.URL.Path, "/device/auth") || resp.StatusCode != http.StatusOK {
			return nil
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return err
		}
		var da struct {
			Complete string `json:"verification_uri_complete"`
		}
		if json.Unmarshal(b, &da) == nil && da.Complete != "" {
			onDevice(da.Complete)
		}
		resp.Body = io.NopCloser(strings.NewReader(string(b)))
		return nil
	}
	return rp
}
