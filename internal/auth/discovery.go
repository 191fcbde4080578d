package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/camctl/camctl/internal/api"
	"github.com/camctl/camctl/internal/atomicfile"
	"github.com/camctl/camctl/internal/config"
	"github.com/camctl/camctl/internal/termsafe"
)

// Endpoints are what an OpenID Connect discovery document says about an
// issuer (OpenID Connect Discovery 1.0; RFC 8414 uses the same names).
type Endpoints struct {
	Issuer        string `json:"issuer"`
	Token         string `json:"token_endpoint"`
	Authorization string `json:"authorization_endpoint,omitempty"`
	Device        string `json:"device_authorization_endpoint,omitempty"`
	Revocation    string `json:"revocation_endpoint,omitempty"`
	JWKS          string `json:"jwks_uri,omitempty"`
	// FetchedAt is when camctl read the document (not part of it).
	FetchedAt time.Time `json:"fetched_at"`
	// URL is the discovery document's address (not part of it).
	URL string `json:"-"`
}

// maxDiscoveryAge bounds how long a cached discovery document is used
// without an endpoint failing: endpoints rarely move, but a day-old
// document is cheap to read again.
const maxDiscoveryAge = 24 * time.Hour

// maxDiscoveryBody bounds the document (spec §8); real ones are a few KiB.
const maxDiscoveryBody = 1 << 20

// wellKnownSuffix is where an issuer publishes its discovery document.
const wellKnownSuffix = "/.well-known/openid-configuration"

// DiscoveryURL is the discovery document of r: the full URL of
// CAMUNDA_WELL_KNOWN_CONFIGURATION_URL, else the issuer's
// /.well-known/openid-configuration; "" when r has neither.
func DiscoveryURL(r *config.Resolved) string {
	if u := strings.TrimSpace(r.Value(config.WellKnownURL)); u != "" {
		return u
	}
	iss := strings.TrimSpace(r.Value(config.Issuer))
	if iss == "" {
		return ""
	}
	if strings.HasSuffix(iss, wellKnownSuffix) {
		// The whole discovery URL given as the issuer: a frequent paste.
		return iss
	}
	return strings.TrimRight(iss, "/") + wellKnownSuffix
}

// Discovery reads discovery documents and caches them in the token cache
// directory (discovery.json, 0600: it says where secrets are sent, so
// it is read only when this user owns it).
type Discovery struct {
	HTTP *http.Client
	// Dir is the cache directory ("" caches nothing).
	Dir string
	Now func() time.Time
}

// NewDiscovery returns the discovery of a provider's dependencies.
func NewDiscovery(d Deps) *Discovery {
	dir := ""
	if d.Tokens != nil {
		dir = d.Tokens.Dir
	}
	return &Discovery{HTTP: d.HTTP, Dir: dir, Now: time.Now}
}

func (d *Discovery) path() string { return filepath.Join(d.Dir, "discovery.json") }

// Cached returns the cached document of url, if there is one young
// enough. It makes no network request.
func (d *Discovery) Cached(url string) (*Endpoints, bool) {
	if d.Dir == "" {
		return nil, false
	}
	b, err := atomicfile.ReadPrivate(d.path())
	if err != nil {
		return nil, false
	}
	var all map[string]Endpoints
	if json.Unmarshal(b, &all) != nil {
		return nil, false
	}
	ep, ok := all[url]
	if !ok || ep.Token == "" || d.now().Sub(ep.FetchedAt) > maxDiscoveryAge || ep.FetchedAt.After(d.now().Add(time.Hour)) {
		return nil, false
	}
	ep.URL = url
	return &ep, true
}

func (d *Discovery) now() time.Time {
	if d.Now == nil {
		return time.Now()
	}
	return d.Now()
}

// Get returns the document of url: the cached one unless fresh is set,
// else read from the issuer and cached. issuer, when not "", is the
// issuer the user configured, which the document must name (OpenID
// Connect Discovery §4.3: a document for another issuer is refused).
func (d *Discovery) Get(ctx context.Context, rawURL, issuer string, fresh bool) (*Endpoints, error) {
	if !fresh {
		if ep, ok := d.Cached(rawURL); ok && (issuer == "" || sameIssuer(ep.Issuer, issuer)) {
			return ep, nil
		}
	}
	ep, err := d.fetch(ctx, rawURL, issuer)
	if err != nil {
		return nil, err
	}
	if d.Dir != "" {
		// Failing to cache costs one request next time, not this command.
		_ = d.store(ctx, rawURL, ep)
	}
	return ep, nil
}

// Forget drops the cached document of url (an endpoint from it failed).
func (d *Discovery) Forget(ctx context.Context, rawURL string) {
	if d.Dir == "" {
		return
	}
	_ = atomicfile.Update(ctx, d.path(), atomicfile.Private, func(cur []byte) ([]byte, error) {
		all := map[string]Endpoints{}
		_ = json.Unmarshal(cur, &all)
		delete(all, rawURL)
		return json.Marshal(all)
	})
}

func (d *Discovery) store(ctx context.Context, rawURL string, ep *Endpoints) error {
	if err := os.MkdirAll(d.Dir, 0o700); err != nil {
		return err
	}
	return atomicfile.Update(ctx, d.path(), atomicfile.Private, func(cur []byte) ([]byte, error) {
		all := map[string]Endpoints{}
		// A damaged file is as good as none.
		_ = json.Unmarshal(cur, &all)
		all[rawURL] = *ep
		return json.Marshal(all)
	})
}

// DiscoveryError is a discovery document that could not be had. An
// answer of 404 means the issuer is wrong (exit 2), no answer that the
// issuer is unreachable (4), 5xx that it failed (5).
type DiscoveryError struct {
	URL        string
	StatusCode int
	Net        api.NetKind
	Reason     string
	Err        error
}

func (e *DiscoveryError) Error() string {
	switch {
	case e.StatusCode == 0 && e.Err != nil:
		return fmt.Sprintf("OIDC discovery: GET %s failed: %v", e.URL, e.Err)
	case e.StatusCode == http.StatusNotFound:
		return fmt.Sprintf("OIDC discovery: GET %s answered 404 Not Found: no discovery document there. Check the issuer: it is the URL before /.well-known/openid-configuration (Keycloak: https://HOST/realms/REALM; Entra ID: https://login.microsoftonline.com/TENANT/v2.0)", e.URL)
	case e.StatusCode != http.StatusOK:
		return fmt.Sprintf("OIDC discovery: GET %s answered %d %s", e.URL, e.StatusCode, http.StatusText(e.StatusCode))
	}
	return fmt.Sprintf("OIDC discovery: %s is not a usable discovery document: %s", e.URL, e.Reason)
}

func (e *DiscoveryError) Unwrap() error { return e.Err }

func (d *Discovery) fetch(ctx context.Context, rawURL, issuer string) (*Endpoints, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, &config.UsageError{Msg: fmt.Sprintf("the OIDC discovery URL %q is not an http(s) URL", rawURL)}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, &config.UsageError{Msg: fmt.Sprintf("the OIDC discovery URL %q: %v", rawURL, err)}
	}
	req.Header.Set("Accept", "application/json")
	hc := d.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		if ctx.Err() != nil && errors.Is(context.Cause(ctx), context.Canceled) {
			return nil, ctx.Err()
		}
		return nil, &DiscoveryError{URL: rawURL, Net: api.Classify(err), Err: netCause(err)}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxDiscoveryBody+1))
	if err != nil {
		return nil, &DiscoveryError{URL: rawURL, Net: api.NetCutOff, Err: err}
	}
	if resp.StatusCode != http.StatusOK {
		return nil, &DiscoveryError{URL: rawURL, StatusCode: resp.StatusCode}
	}
	bad := func(format string, args ...any) error {
		return &DiscoveryError{URL: rawURL, StatusCode: http.StatusOK, Reason: fmt.Sprintf(format, args...)}
	}
	if len(body) > maxDiscoveryBody {
		return nil, bad("it is larger than 1 MiB")
	}
	var ep Endpoints
	if err := json.Unmarshal(body, &ep); err != nil {
		return nil, bad("not JSON (%s)", api.Excerpt(body, 80))
	}
	if issuer != "" && !sameIssuer(ep.Issuer, issuer) {
		// A document for another issuer would send tokens' audience
		// checks and secrets elsewhere (OpenID Connect Discovery §4.3).
		return nil, bad("it is the document of issuer %q, not of %q", termsafe.Line(ep.Issuer), issuer)
	}
	for name, v := range map[string]*string{"token_endpoint": &ep.Token, "authorization_endpoint": &ep.Authorization,
		"device_authorization_endpoint": &ep.Device, "revocation_endpoint": &ep.Revocation, "jwks_uri": &ep.JWKS} {
		if *v == "" {
			continue
		}
		if eu, err := url.Parse(*v); err != nil || (eu.Scheme != "https" && eu.Scheme != "http") || eu.Host == "" {
			if name == "token_endpoint" {
				return nil, bad("its token_endpoint %q is not an http(s) URL", termsafe.Line(*v))
			}
			*v = "" // an endpoint camctl cannot use is one it does not know
		}
	}
	if ep.Token == "" {
		return nil, bad("it names no token_endpoint")
	}
	ep.FetchedAt = d.now().UTC()
	ep.URL = rawURL
	return &ep, nil
}

// sameIssuer compares issuers as OpenID Connect does (exactly), except
// for a trailing slash, which users add or leave out at will.
func sameIssuer(a, b string) bool {
	return strings.TrimRight(a, "/") == strings.TrimRight(b, "/")
}

// ApplyDiscovery reads r's discovery document, if r has an issuer (or a
// discovery URL), and fills in the token URL from it unless the profile
// sets one. It returns the endpoints (nil without an issuer). With
// cachedOnly it makes no network request (nil when nothing is cached).
func ApplyDiscovery(ctx context.Context, r *config.Resolved, d *Discovery, cachedOnly bool) (*Endpoints, error) {
	if r.Method() != config.MethodOIDC {
		return nil, nil
	}
	raw := DiscoveryURL(r)
	if raw == "" {
		return nil, nil
	}
	var ep *Endpoints
	if cachedOnly {
		cached, ok := d.Cached(raw)
		if !ok {
			return nil, nil
		}
		ep = cached
	} else {
		var err error
		iss := strings.TrimSuffix(strings.TrimSpace(r.Value(config.Issuer)), wellKnownSuffix)
		if ep, err = d.Get(ctx, raw, iss, false); err != nil {
			return nil, fmt.Errorf("profile %s: %w", r.Name, err)
		}
	}
	r.SetInferred(config.TokenURL, ep.Token, "the discovery document "+raw)
	return ep, nil
}

// rediscover reads the discovery document again after the token endpoint
// failed in a way a moved endpoint explains (404, 405, refused, unknown
// host), and points p at the token endpoint it names now. It reports
// whether that changed anything, so that the request is worth repeating.
// An endpoint at another origin is refused: the stored credential is
// bound to the old one (spec §5), and only login re-binds it.
func (p *OIDC) rediscover(ctx context.Context, err error) bool {
	if p.opts.Rediscover == nil {
		return false
	}
	var te *TokenError
	if !errors.As(err, &te) {
		return false
	}
	switch {
	case te.StatusCode == http.StatusNotFound, te.StatusCode == http.StatusMethodNotAllowed:
	case te.StatusCode == 0 && (te.Net == api.NetRefused || te.Net == api.NetDNS):
	default:
		return false
	}
	now, derr := p.opts.Rediscover(ctx)
	if derr != nil || now == "" || now == p.cc.TokenURL {
		return false
	}
	was, _ := Origin(p.cc.TokenURL)
	if o, _ := Origin(now); o != was {
		return false
	}
	p.cc.TokenURL = now
	return true
}

// rediscoverer is OIDCOptions.Rediscover for profile r, whose token URL
// came from the discovery document: nil when the user set it.
func rediscoverer(r *config.Resolved, d *Discovery, ep *Endpoints) func(context.Context) (string, error) {
	if ep == nil || r.Get(config.TokenURL).Source.Kind != config.FromInferred {
		return nil
	}
	iss := strings.TrimSuffix(strings.TrimSpace(r.Value(config.Issuer)), wellKnownSuffix)
	return func(ctx context.Context) (string, error) {
		d.Forget(ctx, ep.URL)
		fresh, err := d.Get(ctx, ep.URL, iss, true)
		if err != nil {
			return "", err
		}
		return fresh.Token, nil
	}
}
