// Package api is camctl's client for the Camunda 8 Orchestration Cluster
// REST API (v2): address handling, TLS, authentication hooks, retries and
// errors that say what went wrong in terms a user can act on.
package api

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/camctl/camctl/internal/atomicfile"
)

// Authorizer adds credentials to a request. The auth providers implement it.
type Authorizer interface {
	Authorize(ctx context.Context, req *http.Request) error
}

// Refresher is implemented by authorizers whose credentials can be
// renewed (OIDC access tokens). When the API answers 401, the client calls
// Refresh once and retries the request once.
type Refresher interface {
	// Refresh replaces the credentials just rejected. It reports false
	// when a retry could not help (they were fresh already), and then the
	// 401 is returned as it is.
	Refresh(ctx context.Context) (bool, error)
}

// TLSOptions are a profile's TLS settings; they apply to every connection
// it makes (API and token endpoint).
type TLSOptions struct {
	CAFile             string
	InsecureSkipVerify bool
	// CAOnly trusts only CAFile, not the system roots.
	CAOnly bool
	// Certificate is the client certificate (see LoadClientCert), if any.
	Certificate *tls.Certificate
}

// Options configure a Client.
type Options struct {
	// Address is the configured address; it is normalised.
	Address string
	// Timeout bounds each HTTP request (connect, TLS, headers and body).
	Timeout   time.Duration
	UserAgent string
	TLS       TLSOptions
	// Auth may be nil for no authentication.
	Auth Authorizer
	// Debug, when set, receives a log of every request with credentials redacted.
	Debug io.Writer
	// Redact takes the run's secrets out of server text before errors
	// shorten it (see newHTTPError); nil redacts nothing.
	Redact func(string) string
	// Retries is how often a GET is retried after 429, 502, 503 or 504
	// (backpressure, a restarting gateway). Negative means none.
	Retries int
	// Backoff returns the wait before retry n (1-based) when the server
	// gives no Retry-After. Nil means exponential with jitter.
	Backoff func(n int) time.Duration
}

// Client calls the REST API of one cluster.
type Client struct {
	base    *url.URL
	http    *http.Client
	opts    Options
	retries int
}

// DefaultRetries keeps a CLI responsive while riding out a short burst of
// backpressure.
const DefaultRetries = 2

// maxBody bounds what camctl reads of a successful answer: a topology
// is a few KB (some hundred KB for the largest clusters), and a runaway
// body must not eat the machine.
const maxBody = 4 << 20

// maxErrorBody bounds what camctl reads of an error answer: a problem
// detail or an ingress's error page needs a few hundred bytes, and only
// an excerpt is shown.
const maxErrorBody = 64 << 10

// New returns a client for opts.Address.
func New(opts Options) (*Client, error) {
	base, err := NormalizeAddress(opts.Address)
	if err != nil {
		return nil, err
	}
	hc, err := NewHTTPClient(opts.TLS, opts.Timeout, opts.Debug)
	if err != nil {
		return nil, err
	}
	retries := opts.Retries
	if retries == 0 {
		retries = DefaultRetries
	}
	if retries < 0 {
		retries = 0
	}
	if opts.Backoff == nil {
		opts.Backoff = defaultBackoff
	}
	return &Client{base: base, http: hc, opts: opts, retries: retries}, nil
}

// BaseURL is the normalised API base, ending in /v2.
func (c *Client) BaseURL() *url.URL { u := *c.base; return &u }

// NewHTTPClient builds the HTTP client for a profile's connections. The
// transport is a clone of the default one, so proxy settings from the
// environment and the dial timeouts still apply.
func NewHTTPClient(t TLSOptions, timeout time.Duration, debug io.Writer) (*http.Client, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	// #nosec G402 -- InsecureSkipVerify only when the profile says so, with a warning on every run (cmd.Factory.warn).
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: t.InsecureSkipVerify}
	if t.CAFile != "" {
		pem, err := atomicfile.ReadInput(t.CAFile)
		if err != nil {
			return nil, &CAFileError{Path: t.CAFile, Err: err}
		}
		// Added to, not replacing, the system roots (unless asked): a
		// corporate CA for the ingress must not break public endpoints
		// such as SaaS login.
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil || t.CAOnly {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, &CAFileError{Path: t.CAFile, Err: errors.New("no PEM certificate found in it")}
		}
		cfg.RootCAs = pool
	}
	if cert := t.Certificate; cert != nil {
		// Always present the configured certificate: with Certificates,
		// Go sends none when the server's list of accepted CAs does not
		// name its issuer, and the user would see "certificate required"
		// instead of the server's verdict on the certificate they chose.
		cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return cert, nil }
		// TLS 1.2 servers such as ADFS ask for the certificate by
		// renegotiating once.
		cfg.Renegotiation = tls.RenegotiateOnceAsClient
	}
	tr.TLSClientConfig = cfg
	var rt http.RoundTripper = tr
	if debug != nil {
		rt = &debugTransport{next: tr, w: debug}
	}
	return &http.Client{
		Transport: rt,
		Timeout:   timeout,
		// Credentials are set on the first request only, and Go copies
		// them to a redirect that stays on the same host name *or goes to
		// a subdomain of it*, whatever the port. camctl is stricter: see
		// credentialsMayFollow. Downgrades to http are refused outright.
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 5 {
				return &RedirectError{To: req.URL.Redacted(), TooMany: true}
			}
			if via[0].URL.Scheme == "https" && req.URL.Scheme != "https" {
				return &RedirectError{To: req.URL.Redacted()}
			}
			if !credentialsMayFollow(via[0].URL, req.URL) {
				req.Header.Del("Authorization")
				req.Header.Del("Proxy-Authorization")
				// Go copies the other headers, and `camctl api -H` can
				// add a gateway's key or a session cookie.
				for name := range req.Header {
					if CredentialHeader(name) {
						req.Header.Del(name)
					}
				}
			}
			return nil
		},
	}, nil
}

// CredentialHeader reports whether a header's name says it carries a
// credential (an API gateway's key, a token, a session cookie): such a
// header (from `camctl api -H`) is redacted from every message and never
// follows a redirect to another origin, like Authorization.
func CredentialHeader(name string) bool {
	n := strings.ToLower(name)
	for _, w := range []string{"key", "token", "secret", "auth", "cookie", "session", "password", "signature"} {
		if strings.Contains(n, w) {
			return true
		}
	}
	return false
}

// credentialsMayFollow reports whether a redirect from one URL to another
// may carry the credentials of the first request: only to the same host
// and port, or from http:80 to https:443 on the same host (an ingress
// that upgrades to TLS). Another port can be another service, and a
// subdomain another tenant.
func credentialsMayFollow(from, to *url.URL) bool {
	if !strings.EqualFold(from.Hostname(), to.Hostname()) {
		return false
	}
	fp, tp := effectivePort(from), effectivePort(to)
	if from.Scheme == to.Scheme {
		return fp == tp
	}
	return from.Scheme == "http" && to.Scheme == "https" && fp == "80" && tp == "443"
}

func effectivePort(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	if u.Scheme == "https" {
		return "443"
	}
	return "80"
}

// RedirectError is a redirect camctl refuses to follow: the server
// answered, so it is not a network problem.
type RedirectError struct {
	To      string
	TooMany bool
}

func (e *RedirectError) Error() string {
	if e.TooMany {
		return fmt.Sprintf("stopped after 5 redirects (the last to %s): check the address", e.To)
	}
	return fmt.Sprintf("refusing to follow a redirect from https to %s: check the address", e.To)
}

// CAFileError is an unreadable or empty CA bundle; camctl exits with 2.
type CAFileError struct {
	Path string
	Err  error
}

func (e *CAFileError) Error() string {
	return fmt.Sprintf("CA file %s: %v", e.Path, e.Err)
}

func (e *CAFileError) Unwrap() error { return e.Err }

// Response is a successful answer.
type Response struct {
	StatusCode int
	Header     http.Header
	Body       []byte
}

// Get fetches path (relative to the /v2 base, e.g. "topology").
func (c *Client) Get(ctx context.Context, path string) (*Response, error) {
	// #nosec G125 -- path is a constant API route from camctl's own code ("topology"), never user input.
	u := c.base.JoinPath(path)
	refreshed := false
	// retried counts backpressure retries only; the one retry after a
	// credential refresh does not use one up.
	for retried := 0; ; {
		resp, err := c.do(ctx, http.MethodGet, u)
		if err != nil {
			return nil, err
		}
		if resp.StatusCode < 300 {
			return &Response{StatusCode: resp.StatusCode, Header: resp.Header, Body: resp.body}, nil
		}
		herr := newHTTPError(http.MethodGet, u.String(), resp.Response, resp.body, c.opts.Redact)
		if resp.StatusCode == http.StatusUnauthorized && !refreshed {
			if r, ok := c.opts.Auth.(Refresher); ok {
				refreshed = true
				ok, err := r.Refresh(ctx)
				if err != nil {
					return nil, err
				}
				if ok {
					continue
				}
			}
		}
		if retried >= c.retries || !retryable(resp.StatusCode) {
			return nil, herr
		}
		retried++
		if ok, err := c.pause(ctx, retried, resp.Header); err != nil {
			return nil, err
		} else if !ok {
			return nil, herr
		}
	}
}

type rawResponse struct {
	*http.Response
	body []byte
}

func (c *Client) do(ctx context.Context, method string, u *url.URL) (*rawResponse, error) {
	req, err := http.NewRequestWithContext(ctx, method, u.String(), nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json, application/problem+json")
	if c.opts.UserAgent != "" {
		req.Header.Set("User-Agent", c.opts.UserAgent)
	}
	if c.opts.Auth != nil {
		// Never send a request without the credentials it needs: an
		// authorizer that fails aborts the request.
		if err := c.opts.Auth.Authorize(ctx, req); err != nil {
			return nil, err
		}
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, requestError(ctx, method, u, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		// Enough for the message; the rest is never read (closing the
		// body then drops the connection rather than draining it).
		body, err := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		if err != nil && len(body) == 0 {
			if ctx.Err() != nil && !errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return nil, ctx.Err()
			}
			return nil, bodyError(method, u, resp, body, err)
		}
		return &rawResponse{Response: resp, body: body}, nil
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		if ctx.Err() != nil && !errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return nil, ctx.Err() // Ctrl-C while the answer arrived: not a cut-off answer
		}
		return nil, bodyError(method, u, resp, body, err)
	}
	if len(body) > maxBody {
		return nil, &TooLargeError{Method: method, URL: u.String(), Limit: maxBody}
	}
	return &rawResponse{Response: resp, body: body}, nil
}

// TooLargeError is a successful answer larger than camctl reads: not
// the REST API's (a download page, a misrouted stream); camctl exits
// with 1.
type TooLargeError struct {
	Method, URL string
	Limit       int
}

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("%s %s: the answer is larger than %d MiB, far more than the REST API sends; camctl stopped reading it", e.Method, e.URL, e.Limit>>20)
}

// bodyError is a failure while reading an answer's body: the status and
// headers arrived, the rest did not, in time or at all.
func bodyError(method string, u *url.URL, resp *http.Response, body []byte, err error) error {
	got := fmt.Sprintf("after %d bytes", len(body))
	if resp.ContentLength > 0 {
		got = fmt.Sprintf("after %d of %d bytes", len(body), resp.ContentLength)
	}
	return CutOff(method, u.String(), fmt.Errorf("reading the answer (%s): %w", got, err))
}

// CutOff is the error of an answer whose body broke off while it was
// read: the status and headers came, the rest did not. A reset or a
// closed connection then is a cut, not a refusal; a timeout stays one.
func CutOff(method, url string, err error) *NetError {
	kind := Classify(err)
	if kind == NetOther || kind == NetRefused {
		kind = NetCutOff
	}
	return &NetError{Method: method, URL: url, Kind: kind, Err: err}
}

func retryable(status int) bool {
	switch status {
	case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// maxRetryAfter caps a server's Retry-After: a CLI waits seconds, not hours.
const maxRetryAfter = 30 * time.Second

// RetryAfter reads a Retry-After header (seconds or an HTTP date),
// capped at 30 s; 0 when absent or unreadable.
func RetryAfter(v string) time.Duration {
	return min(retryAfter(v), maxRetryAfter)
}

// retryAfter is the pause a Retry-After value asks for, uncapped (a
// number too large for a Duration saturates).
func retryAfter(v string) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	var d time.Duration
	if secs, err := strconv.ParseUint(v, 10, 64); err == nil || errors.Is(err, strconv.ErrRange) {
		if err != nil || secs > uint64(math.MaxInt64/int64(time.Second)) {
			return math.MaxInt64
		}
		d = time.Duration(secs) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = time.Until(t)
	}
	return max(d, 0)
}

// pause waits before retry n as the answer's Retry-After asks, or by the
// client's backoff. It reports false when the server asks for a longer
// pause than camctl waits (30 s) or than the user gives a request
// (--timeout): the answer is then returned at once instead of sitting
// silent; an error only when the run was cancelled.
func (c *Client) pause(ctx context.Context, n int, h http.Header) (bool, error) {
	wait := retryAfter(h.Get("Retry-After"))
	if wait > maxRetryAfter || c.opts.Timeout > 0 && wait > c.opts.Timeout {
		return false, nil
	}
	if wait <= 0 {
		wait = c.opts.Backoff(n)
	}
	if err := sleep(ctx, wait); err != nil {
		if errors.Is(err, context.Canceled) {
			return false, err
		}
		return false, nil
	}
	return true, nil
}

// requestError is what a request that got no answer returns: the
// cancellation, a refused redirect, a body that could not be read from
// its source, or a NetError saying why the server could not be reached.
func requestError(ctx context.Context, method string, u *url.URL, err error) error {
	if ctx.Err() != nil && !errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return ctx.Err()
	}
	var redirect *RedirectError
	if errors.As(err, &redirect) {
		return fmt.Errorf("%s %s: %w", method, u.Redacted(), redirect)
	}
	var be *bodyReadError
	if errors.As(err, &be) {
		return fmt.Errorf("%s %s: %w", method, u.Redacted(), be.err)
	}
	inner := err
	var ue *url.Error
	if errors.As(err, &ue) {
		inner = ue.Err
	}
	return &NetError{Method: method, URL: u.Redacted(), Kind: Classify(err), Err: inner}
}

func defaultBackoff(n int) time.Duration {
	base := 250 * time.Millisecond << (n - 1)
	// Full jitter keeps many CI jobs from retrying in lockstep.
	// #nosec G404 -- retry jitter needs no unpredictability, only spread.
	return base/2 + rand.N(base/2+1)
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
