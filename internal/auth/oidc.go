package auth

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/camctl/camctl/internal/api"
	"github.com/camctl/camctl/internal/config"
	"github.com/camctl/camctl/internal/redact"
	"github.com/camctl/camctl/internal/termsafe"
)

// OIDCOptions configure the client-credentials provider.
type OIDCOptions struct {
	Key TokenKey
	// Secret returns the client secret. It is called only when a token
	// must be fetched, so a run with a cached token does not read it.
	Secret func(ctx context.Context) (string, error)
	// Assertion, when set, authenticates the client instead of a secret
	// (RFC 7523 client assertion, spec §11): it is called for every token
	// request, retries included, and no client_secret is sent.
	Assertion AssertionFunc
	// HTTP carries the profile's TLS settings and the per-request timeout.
	HTTP *http.Client
	// Budget bounds a token request including its retries (--timeout).
	Budget time.Duration
	Cache  *TokenCache
	// Redactor learns the client secret and every token this provider
	// obtains; nil gives the provider one of its own, which still keeps
	// the secret out of its error excerpts.
	Redactor *redact.Redactor
	// Obtain, when set, replaces the client-credentials request: a
	// person's sign-in refreshes its token (NewPerson). It is called
	// under the token lock, with the token endpoint's HTTP client in ctx.
	Obtain func(ctx context.Context) (*oauth2.Token, error)
	// Rediscover, when set, reads the discovery document the token URL
	// came from again, after the token endpoint failed (404, no answer),
	// and returns the token endpoint it names now.
	Rediscover func(ctx context.Context) (string, error)
	// Now and Backoff are replaced by tests.
	Now     func() time.Time
	Backoff func(attempt int) time.Duration
}

// OIDC gets access tokens with the OAuth 2.0 client-credentials grant and
// caches them between runs.
type OIDC struct {
	opts OIDCOptions
	cc   *clientcredentials.Config

	mu sync.Mutex // one fetch at a time within the process
	// used is the token this process sent last; a 401 drops exactly it.
	used *Token
	// fetched says that used came from the endpoint in this process,
	// not from the cache.
	fetched bool
}

// NewOIDC returns the provider. The token request is the one Camunda
// documents: form fields grant_type, client_id, client_secret (omitted
// when empty), audience, and scope/resource only when configured. The
// auth style is fixed to form parameters, because oauth2's default
// probing costs two requests per token (golang/oauth2#786).
func NewOIDC(o OIDCOptions) *OIDC {
	params := url.Values{}
	if o.Key.Audience != "" {
		params.Set("audience", o.Key.Audience)
	}
	if o.Key.Resource != "" {
		params.Set("resource", o.Key.Resource)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Backoff == nil {
		o.Backoff = tokenBackoff
	}
	if o.Redactor == nil {
		o.Redactor = redact.New()
	}
	return &OIDC{opts: o, cc: &clientcredentials.Config{
		ClientID:       o.Key.ClientID,
		TokenURL:       o.Key.TokenURL,
		Scopes:         strings.Fields(o.Key.Scope),
		EndpointParams: params,
		AuthStyle:      oauth2.AuthStyleInParams,
	}}
}

// Method implements Provider.
func (p *OIDC) Method() string { return config.MethodOIDC }

// Identity implements Provider.
func (p *OIDC) Identity() string {
	if p.opts.Obtain != nil {
		return personIdentity(p.Current())
	}
	return "client " + p.opts.Key.ClientID
}

// Authorize sends the cached token, or a new one.
func (p *OIDC) Authorize(ctx context.Context, req *http.Request) error {
	return authorizeBearer(ctx, req, p.Token)
}

// Refresh implements api.Refresher: after a 401 to a cached token, that
// token is dropped and one new token fetched (see refreshOnce).
func (p *OIDC) Refresh(ctx context.Context) (bool, error) {
	p.mu.Lock()
	fresh := p.fetched
	p.mu.Unlock()
	return refreshOnce(ctx, fresh, p.Token)
}

// authorizeBearer sets the bearer token that token gives (cached or new).
func authorizeBearer(ctx context.Context, req *http.Request, token func(context.Context, bool) (*Token, error)) error {
	t, err := token(ctx, false)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+t.AccessToken)
	return nil
}

// refreshOnce gets a new token after a 401, unless the one rejected was
// got moments ago in this process (fresh): getting it again would only
// repeat the refusal (a wrong audience, say), so then the 401 stands.
func refreshOnce(ctx context.Context, fresh bool, token func(context.Context, bool) (*Token, error)) (bool, error) {
	if fresh {
		return false, nil
	}
	_, err := token(ctx, true)
	return err == nil, err
}

// Current is the token this process last used (nil before the first).
func (p *OIDC) Current() *Token {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.used
}

// Token returns a fresh token: the cached one while it has more than the
// refresh margin left, else a new one. With force, the token this process
// last used is not good enough (the API rejected it, or the user asked).
//
// Only one process fetches a token for a key at a time: the others wait
// for the lock and then find the new token in the cache. That is how 20
// camctl processes started at once make one token request between them.
func (p *OIDC) Token(ctx context.Context, force bool) (*Token, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	cache, key := p.opts.Cache, p.opts.Key
	// With force, only a token another process fetched after the one
	// this process was refused will do; with nothing used yet, none will.
	usable := func(t *Token) bool {
		if !t.FreshAt(p.opts.Now()) {
			return false
		}
		return !force || (p.used != nil && t.AccessToken != p.used.AccessToken)
	}
	// The token this process already holds comes first: no cache read,
	// and login (which has no cache yet) does not fetch twice. One of
	// unknown lifetime serves the whole process, until a 401.
	if !force && p.used != nil && (p.used.ExpiresAt.IsZero() || p.used.FreshAt(p.opts.Now())) {
		return p.used, nil
	}
	if cache != nil {
		t, _, err := cache.Get(ctx, key)
		switch {
		case err != nil && cache.Mode == KeyringSystem && errors.Is(err, ErrUnavailable):
			// CAMCTL_KEYRING=system: no token request for a token that
			// could not be kept.
			return nil, err
		case err == nil && usable(t):
			p.opts.Redactor.Add(t.AccessToken)
			p.used, p.fetched = t, false
			return t, nil
		}
		lockCtx, cancel := context.WithTimeout(ctx, p.opts.Budget+5*time.Second)
		unlock, err := cache.Lock(lockCtx, key)
		cancel()
		switch {
		case err == nil:
			defer unlock()
		case ctx.Err() != nil:
			return nil, ctx.Err()
		default:
			// The lock only saves token requests: a holder that takes too
			// long, or a cache directory that cannot hold the lock, must
			// not stop the command. Fetch without it.
		}
		// Someone else may have fetched it while this process waited.
		t, _, err = cache.Get(ctx, key)
		if err == nil && usable(t) {
			p.opts.Redactor.Add(t.AccessToken)
			p.used, p.fetched = t, false
			return t, nil
		}
		if force && err == nil && t != nil && p.used != nil && t.AccessToken == p.used.AccessToken {
			// The rejected token goes even if no new one can be had.
			_, _ = cache.Delete(ctx, key)
		}
	}
	t, err := p.fetch(ctx)
	if err != nil && p.rediscover(ctx, err) {
		// The discovery document was stale: the issuer moved its token
		// endpoint (within the origin the credential is bound to).
		t, err = p.fetch(ctx)
	}
	if err != nil {
		return nil, err
	}
	if cache != nil && !t.ExpiresAt.IsZero() {
		// A token without a known expiry is used once and not cached.
		// Failing to cache one costs a token request next time, not
		// this command.
		if _, err := cache.Put(ctx, key, t); err != nil && cache.Mode == KeyringSystem {
			return nil, err
		}
	}
	p.used, p.fetched = t, true
	return t, nil
}

// fetch makes token requests until one succeeds, the endpoint rejects the
// client (no retry: SaaS delays repeated bad credentials by 30 s), or the
// budget is spent. 429, 5xx and connection errors are retried with
// exponential backoff and jitter, honouring Retry-After.
func (p *OIDC) fetch(ctx context.Context) (*Token, error) {
	if p.opts.Secret != nil {
		secret, err := p.opts.Secret(ctx)
		if err != nil {
			return nil, err
		}
		p.opts.Redactor.Add(secret)
		p.cc.ClientSecret = secret
	}
	deadline := p.opts.Now().Add(p.opts.Budget)
	ctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	if p.opts.Assertion != nil {
		p.cc.ClientSecret = ""
	}
	hc, bodyErr := watchBodies(p.opts.HTTP)
	ctx = context.WithValue(ctx, oauth2.HTTPClient, hc)
	var answered *TokenError // the last answer the endpoint gave
	var failed *TokenError   // the last failure without an answer
	for attempt := 1; ; attempt++ {
		obtained := p.opts.Now()
		bodyErr.reset()
		ot, err := p.obtain(ctx)
		if err == nil {
			// Known before anything can print it, even if it is refused.
			p.opts.Redactor.Add(ot.AccessToken)
			if err := CheckAccessToken(ot.AccessToken); err != nil {
				// Asking again would get the same: no retry, and
				// nothing is cached or sent (spec §5).
				return nil, &UnusableTokenError{TokenURL: p.opts.Key.TokenURL, ClientID: p.opts.Key.ClientID, Reason: err}
			}
			t := p.convert(ot, obtained)
			if !t.ExpiresAt.IsZero() && !t.ExpiresAt.After(obtained) {
				// Dead on arrival: a clock far off here or at the IdP.
				// Sending it would earn a 401 that reads like a wrong
				// audience, and asking again gets the same: stop here.
				return nil, &TokenError{TokenURL: p.opts.Key.TokenURL, ClientID: p.opts.Key.ClientID,
					StatusCode: http.StatusOK, ExpiredAt: t.ExpiresAt, ObtainedAt: obtained}
			}
			return t, nil
		}
		if errors.Is(context.Cause(ctx), context.Canceled) {
			return nil, ctx.Err() // Ctrl-C, not a failing endpoint
		}
		var stop *stopError
		if errors.As(err, &stop) {
			// Not an answer of the endpoint (Options.Obtain found no
			// sign-in, say): as it is, and no retry.
			return nil, stop.err
		}
		if rerr := bodyErr.get(); rerr != nil {
			// oauth2 reports a failed body read only as text; the
			// connection broke, the endpoint did not answer a non-token.
			err = &url.Error{Op: "Post", URL: p.opts.Key.TokenURL, Err: rerr}
		}
		terr, retryIn := p.classify(err)
		if terr.StatusCode == 0 && ctx.Err() != nil {
			// The budget ended during a retry: what the endpoint said
			// before, or why it could not say anything, is the truth,
			// not "deadline exceeded".
			if answered != nil {
				return nil, answered
			}
			if failed != nil {
				return nil, failed
			}
		}
		if terr.StatusCode != 0 {
			answered = terr
		} else {
			failed = terr
		}
		if retryIn < 0 {
			return nil, terr
		}
		if retryIn == 0 {
			retryIn = p.opts.Backoff(attempt)
		}
		if p.opts.Now().Add(retryIn).After(deadline) {
			if terr.StatusCode == 0 && answered != nil {
				return nil, answered
			}
			return nil, terr
		}
		t := time.NewTimer(retryIn)
		select {
		case <-ctx.Done():
			t.Stop()
			if errors.Is(context.Cause(ctx), context.Canceled) {
				return nil, ctx.Err()
			}
			if answered != nil {
				return nil, answered
			}
			return nil, terr
		case <-t.C:
		}
	}
}

// obtain makes one token request: client credentials, or what
// Options.Obtain does instead.
func (p *OIDC) obtain(ctx context.Context) (*oauth2.Token, error) {
	if p.opts.Obtain != nil {
		return p.opts.Obtain(ctx)
	}
	if p.opts.Assertion != nil {
		// A new assertion for each request: an IdP refuses a jti it has
		// seen, and a retry must not reuse the first one. Its audience
		// is the token endpoint this request goes to (discovery may
		// have moved it).
		a, err := p.opts.Assertion(ctx, p.cc.TokenURL)
		if err != nil {
			return nil, &stopError{err}
		}
		p.opts.Redactor.Add(a)
		p.cc.EndpointParams.Set("client_assertion_type", AssertionType)
		p.cc.EndpointParams.Set("client_assertion", a)
	}
	return p.cc.Token(ctx)
}

// stopError carries an error of Options.Obtain that is not a token
// request's: fetch returns it unchanged and does not retry.
type stopError struct{ err error }

func (e *stopError) Error() string { return e.err.Error() }
func (e *stopError) Unwrap() error { return e.err }

// bodyErr remembers why reading the last answer's body failed.
type bodyErr struct {
	mu  sync.Mutex
	err error
}

func (b *bodyErr) reset() { b.mu.Lock(); b.err = nil; b.mu.Unlock() }

func (b *bodyErr) get() error { b.mu.Lock(); defer b.mu.Unlock(); return b.err }

func (b *bodyErr) set(err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.err == nil {
		b.err = err
	}
}

// watchBodies returns a copy of hc whose answers report a failed body
// read to the returned bodyErr. oauth2 turns such a failure into the text
// "cannot fetch token: ..." (no %w), which would read as an endpoint that
// answered something other than a token: an answer cut off by a reset, or
// a body that stops arriving until the timeout, is a network failure.
func watchBodies(hc *http.Client) (*http.Client, *bodyErr) {
	be := &bodyErr{}
	if hc == nil {
		hc = http.DefaultClient
	}
	c := *hc
	next := c.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	c.Transport = roundTripFunc(func(req *http.Request) (*http.Response, error) {
		start := time.Now()
		resp, err := next.RoundTrip(req)
		if err == nil {
			resp.Body = &watchedBody{ReadCloser: resp.Body, be: be, start: start, timeout: c.Timeout}
		}
		return resp, err
	})
	return &c, be
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

type watchedBody struct {
	io.ReadCloser
	be      *bodyErr
	start   time.Time
	timeout time.Duration // the client's, which ends a stalled body
}

func (w *watchedBody) Read(p []byte) (int, error) {
	n, err := w.ReadCloser.Read(p)
	if err != nil && err != io.EOF {
		if w.timeout > 0 && time.Since(w.start) >= w.timeout {
			// The transport says "request canceled" when the client's
			// timeout ends a body that stopped arriving: a timeout.
			err = fmt.Errorf("no more of it arrived within %s: %w", w.timeout, os.ErrDeadlineExceeded)
		}
		if errors.Is(err, io.ErrUnexpectedEOF) {
			err = fmt.Errorf("the answer was cut off (the connection closed before all of it arrived): %w", err)
		} else {
			err = fmt.Errorf("the answer was cut off: %w", err)
		}
		w.be.set(err)
	}
	return n, err
}

// convert takes the expiry from the JWT exp claim when there is one (an
// IdP may hand out a cached, partly used token), else from expires_in.
// An expiry that has already passed when the token arrives (a clock that
// is ahead, a negative or overflowing expires_in) is no expiry: it would
// make every request of the process fetch a new token, where a token of
// unknown lifetime serves the process until the API refuses it.
func (p *OIDC) convert(ot *oauth2.Token, obtained time.Time) *Token {
	t := &Token{AccessToken: ot.AccessToken, TokenType: ot.TokenType, ObtainedAt: obtained.UTC()}
	if t.TokenType == "" || strings.EqualFold(t.TokenType, "bearer") {
		t.TokenType = "Bearer"
	}
	if j, err := DecodeJWT(ot.AccessToken); err == nil {
		if exp, ok := j.Time("exp"); ok {
			// Kept even when it has passed: fetch refuses such a token
			// with a message about the clocks, since a cluster whose
			// clock agrees with this machine's would answer 401 to it,
			// which reads like a wrong audience.
			t.ExpiresAt = exp
			return t.capped()
		}
	}
	// A negative or zero expires_in is no expiry: the token is used for
	// this command and not cached (with an expiry in the past, every
	// request of a long run would fetch a new one).
	if ot.Expiry.After(obtained) {
		t.ExpiresAt = ot.Expiry.UTC()
	}
	return t.capped()
}

// TokenError is a failed token request. Rejections (400/401) exit with 3,
// an endpoint that failed with 5xx or 429 with 5, an unreachable one with 4.
type TokenError struct {
	TokenURL   string
	ClientID   string
	StatusCode int // 0 when no answer arrived
	// Net says why no answer arrived (StatusCode 0).
	Net         api.NetKind
	Code        string
	Description string
	Excerpt     string
	// ExpiredAt is set when the endpoint issued a token whose expiry
	// (ExpiredAt) was not after ObtainedAt, by this machine's clock.
	ExpiredAt, ObtainedAt time.Time
	Err                   error
}

func (e *TokenError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "token request to %s for client %s", e.TokenURL, e.ClientID)
	switch {
	case e.StatusCode == 0:
		fmt.Fprintf(&b, " failed: %v", e.Err)
		return b.String()
	case e.StatusCode == http.StatusOK && !e.ExpiredAt.IsZero():
		fmt.Fprintf(&b, " answered 200 OK with a token that had expired already: it expired at %s, %s before it arrived at %s by this machine's clock",
			e.ExpiredAt.UTC().Format(time.RFC3339), e.ObtainedAt.Sub(e.ExpiredAt).Round(time.Second), e.ObtainedAt.UTC().Format(time.RFC3339))
	case e.StatusCode == http.StatusOK && e.Code == "":
		// oauth2 keeps no response here: any 2xx status reads as 200.
		b.WriteString(" answered 200 OK, but not with a token")
		if x := termsafe.Line(e.Excerpt); x != "" {
			fmt.Fprintf(&b, " (%s)", x)
		}
	case e.StatusCode >= 200 && e.StatusCode < 300:
		// Some endpoints send an OAuth error with 200 (RFC 6749 says 400).
		fmt.Fprintf(&b, " answered %d %s with an error: %s", e.StatusCode, http.StatusText(e.StatusCode), termsafe.Line(e.Code))
		if d := termsafe.Line(e.Description); d != "" {
			fmt.Fprintf(&b, ": %s", d)
		}
	default:
		verb := "failed"
		if e.Rejected() {
			verb = "rejected"
		}
		fmt.Fprintf(&b, " %s: %d %s", verb, e.StatusCode, http.StatusText(e.StatusCode))
		if e.Code != "" {
			fmt.Fprintf(&b, ": %s", termsafe.Line(e.Code))
			if d := termsafe.Line(e.Description); d != "" {
				fmt.Fprintf(&b, ": %s", d)
			}
		} else if e.Excerpt != "" {
			fmt.Fprintf(&b, " (%q)", e.Excerpt)
		}
	}
	return b.String()
}

func (e *TokenError) Unwrap() error { return e.Err }

// Rejected reports whether the endpoint refused the client or request.
func (e *TokenError) Rejected() bool {
	return e.StatusCode >= 400 && e.StatusCode < 500 && e.StatusCode != http.StatusTooManyRequests
}

// classify turns an oauth2 error into a TokenError and says whether and
// when to retry: -1 never, 0 after the backoff, >0 after that long.
func (p *OIDC) classify(err error) (*TokenError, time.Duration) {
	te := &TokenError{TokenURL: p.opts.Key.TokenURL, ClientID: p.opts.Key.ClientID, Err: err}
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) || re.Response == nil {
		var ne interface{ Timeout() bool }
		if errors.As(err, &ne) || isNetErr(err) {
			te.Err = netCause(err)
			te.Net = api.Classify(err)
			switch te.Net {
			case api.NetTLS, api.NetUnknownAuthority, api.NetClientCertRequired:
				// A certificate problem does not go away by asking again.
				return te, -1
			}
			return te, 0
		}
		// A 200 that is not a token (HTML, missing access_token): the
		// address is wrong; retrying will not help.
		te.Err = fmt.Errorf("the answer is not a token: %v", err)
		te.StatusCode = http.StatusOK
		te.Excerpt = p.shorten(strings.TrimPrefix(err.Error(), "oauth2: "), 120)
		return te, -1
	}
	te.StatusCode = re.Response.StatusCode
	// An error page can be a megabyte: the message keeps a line of it.
	te.Code, te.Description = p.shorten(re.ErrorCode, 80), p.shorten(re.ErrorDescription, 300)
	if te.Code == "" {
		te.Excerpt = p.shorten(string(re.Body), 120)
	}
	// The raw error holds the whole answer; keep only what was read.
	te.Err = fmt.Errorf("HTTP %d", te.StatusCode)
	switch {
	case te.StatusCode == http.StatusTooManyRequests || te.StatusCode >= 500:
		return te, api.RetryAfter(re.Response.Header.Get("Retry-After"))
	}
	return te, -1
}

// shorten makes a printable excerpt of at most max bytes of what the
// endpoint sent, without the client secret (some endpoints echo the
// request in their error pages). RedactedExcerpt redacts before it cuts,
// so that no prefix of the secret survives; the writers of IOStreams
// filter and redact once more, in case dropping control characters
// joined its pieces.
func (p *OIDC) shorten(s string, max int) string {
	return api.RedactedExcerpt([]byte(s), max, p.redact)
}

// redact replaces the client secret and tokens, in every form the
// redactor knows (plain, form-encoded, Base64, JSON), in s.
func (p *OIDC) redact(s string) string { return p.opts.Redactor.Redact(s) }

func isNetErr(err error) bool {
	var ue *url.Error
	return errors.As(err, &ue)
}

func netCause(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

func tokenBackoff(attempt int) time.Duration {
	base := 500 * time.Millisecond << min(attempt-1, 5)
	// #nosec G404 -- retry jitter needs no unpredictability, only spread.
	return base/2 + rand.N(base/2+1)
}
