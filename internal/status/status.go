// Package status answers "is this profile ready?" (spec §12) for one
// profile or all of them: whether its credential is there and where it
// is bound to, its token, whether the cluster answers (GET /v2/status,
// public), who the cluster says the credentials belong to (GET
// /v2/authentication/me) and its health (GET /v2/topology, as
// `topology` judges it). It never prompts and never opens a browser; it
// fetches a token only when none is cached. Rendering is the caller's.
package status

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/camctl/camctl/internal/api"
	"github.com/camctl/camctl/internal/auth"
	"github.com/camctl/camctl/internal/config"
	"github.com/camctl/camctl/internal/session"
)

// Report is one profile's status: one object of `status -o json`. The
// fields with a JSON name are the contract of spec §12; the others feed
// the human view.
type Report struct {
	Profile string `json:"profile"`
	// Address is the REST address as configured (see AddressSource).
	Address string `json:"address"`
	Method  string `json:"method"`
	// Grant is how an oidc profile gets its tokens ("client-credentials";
	// the grants of §10 join it), nil for the other methods.
	Grant      *string    `json:"grant"`
	Credential Credential `json:"credential"`
	// Token is the access token the profile sends: cached, fetched for
	// this check, or static; nil for none and basic.
	Token *Token `json:"token"`
	// Reachable: the cluster answered GET /v2/status.
	Reachable bool `json:"reachable"`
	// Identity is who the cluster says the credentials belong to; nil
	// when it did not say (see IdentityNote).
	Identity *Identity `json:"identity"`
	// Health is api.HealthOK, HealthDegraded or HealthUnavailable; nil
	// when the topology could not be read.
	Health *string `json:"health"`
	// Ready: nothing failed, and the cluster is OK.
	Ready bool `json:"ready"`
	// Error is the first thing that failed; nil when ready.
	Error *Failure `json:"error"`
	// SignIn is a person's sign-in (spec §10: "the sign-in's expiry, for
	// refresh tokens"), nil for clients. Not in §12's list; added after
	// its fields.
	SignIn *SignInReport `json:"sign_in"`

	// AddressSource is where the address came from, as `profile show`
	// names it ("config file", "env CAMUNDA_REST_ADDRESS", "default").
	AddressSource string `json:"-"`
	// Kind is the profile's kind (file, built-in, environment).
	Kind config.ProfileKind `json:"-"`
	// Principal is whom the credentials name ("demo", "client my-client").
	Principal string `json:"-"`
	// Down: GET /v2/status answered 503 (no partition has a healthy
	// leader). StatusAnswer is its status code, 0 without an answer.
	Down         bool `json:"-"`
	StatusAnswer int  `json:"-"`
	// Topology is the health the topology shows (nil when not read).
	Topology *api.Health `json:"-"`
	// IdentityNote says why Identity is nil, when the cluster was asked.
	IdentityNote string `json:"-"`
}

// SignInReport is who signed in and until when (nil: unknown).
type SignInReport struct {
	Username  string  `json:"username"`
	ExpiresAt *string `json:"expires_at"`
}

// Token is the expiry of the access token a profile sends.
type Token struct {
	// ExpiresAt is RFC 3339 in UTC; nil when unknown (an opaque static
	// token, or a token endpoint that gave no lifetime).
	ExpiresAt *string `json:"expires_at"`

	// Source is "cached" (found valid in the cache), "fetched" (got
	// from the token endpoint for this check) or "static" (a bearer
	// token). Refresh tokens add their own.
	Source string `json:"-"`
	// Where is auth.InKeyring or auth.InFile for a cached token.
	Where string `json:"-"`
	// Expiry is ExpiresAt as a time (zero when unknown).
	Expiry time.Time `json:"-"`
}

// Identity is the part of GET /v2/authentication/me that status shows.
type Identity struct {
	Username string `json:"username"`
	// Name is the display name.
	Name    string   `json:"name"`
	Tenants []string `json:"tenants"`
	Roles   []string `json:"roles"`
	Groups  []string `json:"groups"`
	// TenantNames are the tenants' names, by id, where the cluster gave one.
	TenantNames map[string]string `json:"-"`
}

// Failure is why a profile is not ready.
type Failure struct {
	ExitCode int    `json:"exit_code"`
	Message  string `json:"message"`
	// Err is the error itself, for the caller.
	Err error `json:"-"`
}

// UnhealthyError is a cluster that answered but is not OK.
type UnhealthyError struct {
	Profile, State string
}

func (e *UnhealthyError) Error() string {
	return fmt.Sprintf("profile %s: the cluster is %s (status wants OK: every replica healthy)", e.Profile, e.State)
}

// Checker checks profiles on one run's session.
type Checker struct {
	Session *session.Session
	// Classify turns a failure into its exit code (spec §7) and the
	// message with what to do next; r is nil when the profile could not
	// be resolved.
	Classify func(err error, r *config.Resolved) (code int, message string)
	// Now is the clock (tests replace it).
	Now func() time.Time
}

// Target is one profile to check: resolved, or why it could not be.
type Target struct {
	Name     string
	Resolved *config.Resolved
	Err      error
}

// Targets are the profiles `status --all` checks: every profile of the
// config file, sorted by name, each as the file defines it (the
// connection variables belong to the environment profile), then the
// environment profile when its variables are set. A profile that does
// not resolve is a target with its error.
func Targets(s *session.Session) ([]Target, error) {
	file, path, err := s.LoadConfig()
	if err != nil {
		return nil, err
	}
	fileEnv := config.WithoutConnectionEnv(s.LookupEnv)
	var out []Target
	for _, name := range file.Names() {
		r, err := config.Resolve(config.Options{ConfigPath: path, File: file, Profile: name, LookupEnv: fileEnv})
		out = append(out, Target{Name: name, Resolved: r, Err: err})
	}
	// CAMCTL_PROFILE selects a profile, which --all already covers: the
	// environment profile is the variables alone.
	env := func(name string) (string, bool) {
		if name == config.EnvProfile {
			return "", false
		}
		return s.LookupEnv(name)
	}
	if config.EnvDefinesConnection(env) {
		r, err := config.Resolve(config.Options{ConfigPath: path, File: file, LookupEnv: env})
		out = append(out, Target{Name: config.EnvProfileName, Resolved: r, Err: err})
	}
	return out, nil
}

// CheckAll checks the targets in parallel and returns their reports in
// the targets' order.
func (c *Checker) CheckAll(ctx context.Context, targets []Target) []*Report {
	reports := make([]*Report, len(targets))
	var wg sync.WaitGroup
	for i, t := range targets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if t.Err != nil {
				rep := &Report{Profile: t.Name, Credential: Credential{}}
				rep.fail(c, t.Err, nil)
				reports[i] = rep
				return
			}
			reports[i] = c.Check(ctx, t.Resolved)
		}()
	}
	wg.Wait()
	return reports
}

// tokenSource is a provider that fetches tokens (oidc).
type tokenSource interface {
	Token(ctx context.Context, force bool) (*auth.Token, error)
	// Current is the token last used: after a 401 it may be a new one.
	Current() *auth.Token
}

// staticToken is the bearer provider.
type staticToken interface {
	StaticToken() string
}

// Check checks one profile. Every step that can run does, so that the
// report says as much as can be known; Error is the first failure.
func (c *Checker) Check(ctx context.Context, r *config.Resolved) *Report {
	s := c.Session
	rep := &Report{
		Profile:       r.Name,
		Address:       r.Value(config.Address),
		AddressSource: r.Get(config.Address).Source.String(),
		Method:        r.Method(),
		Grant:         grant(r),
		Kind:          r.Kind,
	}
	switch r.Method() {
	case config.MethodBasic:
		rep.Principal = r.Value(config.Username)
	case config.MethodOIDC:
		rep.Principal = "client " + r.Value(config.ClientID)
	}
	secrets, err := s.Secrets(r, false)
	if err != nil {
		return rep.fail(c, err, r)
	}
	// The token endpoint of an --issuer profile, from the cached
	// discovery document (no request): stored secrets are bound to it.
	_, _ = auth.ApplyDiscovery(ctx, r, auth.NewDiscovery(auth.Deps{Tokens: s.TokenCache(secrets, r)}), true)
	rep.Credential = DescribeCredential(ctx, secrets, r)
	if si := rep.Credential.SignIn; si != nil {
		rep.SignIn = &SignInReport{Username: si.Username}
		if !si.ExpiresAt.IsZero() {
			rep.SignIn.ExpiresAt = ptr(si.ExpiresAt.UTC().Format(time.RFC3339))
		}
	}
	// The cache alone, before anything can fail on the network: the
	// report names a cached token even when the cluster is away.
	var cached *auth.Token
	if key, ok := cacheKey(r, s.TokenCache(secrets, r)); ok {
		if t, where, err := s.TokenCache(secrets, r).Get(ctx, key); err == nil && t.FreshAt(c.now()) {
			cached = t
			rep.Token = &Token{Source: "cached", Where: where, Expiry: t.ExpiresAt, ExpiresAt: ptr(t.ExpiresAt.UTC().Format(time.RFC3339))}
		}
	}

	// Reachability first, without credentials: it says whether the
	// cluster is there whatever becomes of them.
	public, err := s.PublicClient(ctx, r)
	if err != nil {
		return rep.fail(c, err, r)
	}
	up, err := public.Status(ctx)
	var httpErr *api.HTTPError
	switch {
	case err == nil:
		rep.Reachable, rep.Down = true, !up
		rep.StatusAnswer = http.StatusNoContent
		if !up {
			rep.StatusAnswer = http.StatusServiceUnavailable
		}
	case errors.As(err, &httpErr):
		// An answer, if not the one a cluster gives (an ingress that
		// wants credentials even here): the server is there; the
		// authenticated requests below tell the rest.
		rep.Reachable, rep.StatusAnswer = true, httpErr.StatusCode
	default:
		return rep.fail(c, err, r)
	}

	conn, err := s.Connect(ctx, r)
	if err != nil {
		return rep.fail(c, err, r)
	}
	rep.Principal = conn.Provider.Identity()
	if src, ok := conn.Provider.(tokenSource); ok {
		// The cached token if it is fresh, else one new token.
		t, err := src.Token(ctx, false)
		if err != nil {
			return rep.fail(c, err, r)
		}
		rep.setToken(t, cached)
		defer func() { rep.setToken(src.Current(), cached) }()
	} else if st, ok := conn.Provider.(staticToken); ok {
		rep.Token = &Token{Source: "static"}
		if j, err := auth.DecodeJWT(st.StaticToken()); err == nil {
			if exp, ok := j.Time("exp"); ok {
				rep.Token.Expiry = exp
				rep.Token.ExpiresAt = ptr(exp.UTC().Format(time.RFC3339))
			}
		}
	}

	topo, _, err := conn.Client.Topology(ctx)
	if err != nil {
		return rep.fail(c, err, r)
	}
	h := topo.Health()
	rep.Topology = &h
	state := h.State()
	if rep.Down {
		state = api.HealthUnavailable
	}
	rep.Health = &state

	var id *api.Identity
	if r.Method() == config.MethodNone {
		// No credentials, no one to name: not a question for the cluster.
		rep.IdentityNote = "nobody: the profile sends no credentials (auth none)"
	} else {
		id, err = conn.Client.Me(ctx)
	}
	switch {
	case r.Method() == config.MethodNone:
	case err == nil:
		rep.Identity = identity(id)
	case errors.Is(err, context.Canceled):
		return rep.fail(c, err, r)
	case errors.Is(err, api.ErrNoIdentity):
		rep.IdentityNote = "the cluster has no GET /v2/authentication/me"
	case errors.As(err, &httpErr) && (httpErr.StatusCode == http.StatusUnauthorized || httpErr.StatusCode == http.StatusForbidden):
		// The credentials read the topology: the cluster only will not
		// say whom they belong to.
		rep.IdentityNote = fmt.Sprintf("the cluster does not say (GET /v2/authentication/me: %d %s)", httpErr.StatusCode, http.StatusText(httpErr.StatusCode))
	default:
		// Who the user is matters less than whether the profile works:
		// said, not failed.
		rep.IdentityNote = "could not ask the cluster: " + err.Error()
	}

	if state != api.HealthOK {
		return rep.fail(c, &UnhealthyError{Profile: r.Name, State: state}, r)
	}
	rep.Ready = true
	return rep
}

// fail records err as the reason the profile is not ready.
func (rep *Report) fail(c *Checker, err error, r *config.Resolved) *Report {
	code, msg := c.Classify(err, r)
	rep.Ready, rep.Error = false, &Failure{ExitCode: code, Message: msg, Err: err}
	return rep
}

// setToken records the token sent, and whether it came from the cache.
func (rep *Report) setToken(t, cached *auth.Token) {
	if t == nil {
		return
	}
	tok := &Token{Source: "fetched"}
	if cached != nil && cached.AccessToken == t.AccessToken {
		tok.Source = "cached"
		if rep.Token != nil {
			tok.Where = rep.Token.Where
		}
	}
	if !t.ExpiresAt.IsZero() {
		tok.Expiry = t.ExpiresAt
		tok.ExpiresAt = ptr(t.ExpiresAt.UTC().Format(time.RFC3339))
	}
	rep.Token = tok
}

func (c *Checker) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// cacheKey is the token cache's key for r's access token, found
// without the network: an oidc profile's (also a person's, or one whose
// token endpoint is known by the cached discovery document), or an exec
// command's.
func cacheKey(r *config.Resolved, cache *auth.TokenCache) (auth.TokenKey, bool) {
	switch r.Method() {
	case config.MethodOIDC:
		key, err := auth.LocalTokenKey(r, cache)
		return key, err == nil
	case config.MethodExec:
		argv, err := config.DecodeCommand(r.Value(config.Command))
		if err != nil || len(argv) == 0 {
			return auth.TokenKey{}, false
		}
		return auth.ExecKey(r, argv), true
	}
	return auth.TokenKey{}, false
}

// grant is how an oidc profile gets its tokens (auth.grant), nil for
// the other methods.
func grant(r *config.Resolved) *string {
	if r.Method() != config.MethodOIDC {
		return nil
	}
	return ptr(r.Grant())
}

func identity(id *api.Identity) *Identity {
	out := &Identity{Username: id.Username, Name: id.DisplayName, Tenants: []string{}, Roles: nonNil(id.Roles), Groups: nonNil(id.Groups)}
	for _, t := range id.Tenants {
		out.Tenants = append(out.Tenants, t.TenantID)
		if t.Name != "" {
			if out.TenantNames == nil {
				out.TenantNames = map[string]string{}
			}
			out.TenantNames[t.TenantID] = t.Name
		}
	}
	return out
}

// nonNil keeps the JSON shape stable: [] rather than null.
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
