// Package auth turns a resolved profile into credentials: the provider for
// its auth method, and the secrets that method needs, looked up in the
// environment or the secret store (OS keyring, or a 0600 file only when
// the user asked for it).
package auth

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/camctl/camctl/internal/api"
	"github.com/camctl/camctl/internal/config"
	"github.com/camctl/camctl/internal/redact"
	"github.com/camctl/camctl/internal/termsafe"
)

// Provider supplies the credentials of one auth method. Commands only see
// this interface, so new methods plug in without touching them.
type Provider interface {
	api.Authorizer
	// Method is the auth method (config.MethodNone, ...).
	Method() string
	// Identity describes who is authenticated, for messages ("demo", "client my-client").
	Identity() string
}

// MissingSecretError means the method needs a secret and none is
// available without asking; camctl exits with 3.
type MissingSecretError struct {
	Profile string
	What    string // "password", "client secret", ...
	Flag    string // the login flag that reads it from stdin
	Env     string // the variable that supplies it
	// Keyring is why the OS keyring could not be asked, if it could not:
	// the secret may well be stored there.
	Keyring error
	// InLogin: the user is running login already, without a terminal.
	InLogin bool
	// EnvOnly: the connection comes from CAMUNDA_* variables alone, so
	// there is no profile to log in to.
	EnvOnly bool
}

func (e *MissingSecretError) Error() string {
	if e.EnvOnly {
		return fmt.Sprintf("no %s: the CAMUNDA_* variables select this auth method but do not set %s", e.What, e.Env)
	}
	if e.InLogin {
		if e.Flag == "" {
			return fmt.Sprintf("no %s for profile %s and no terminal to ask for it: set %s (login then stores it)", e.What, e.Profile, e.Env)
		}
		return fmt.Sprintf("no %s for profile %s and no terminal to ask for it: pipe it in with %s, or set %s",
			e.What, e.Profile, e.Flag, e.Env)
	}
	msg := fmt.Sprintf("no %s for profile %s: run `camctl login -p %s` to store one, or set %s", e.What, e.Profile, e.Profile, e.Env)
	if e.Flag != "" {
		msg += fmt.Sprintf(" (for login without a terminal: %s)", e.Flag)
	}
	if e.Keyring != nil {
		msg += fmt.Sprintf(".\nThe OS keyring could not be asked, so it may hold one: %v (set %s=none to stop camctl asking it)", e.Keyring, config.EnvKeyring)
	}
	return msg
}

// Deps are what the providers need besides the profile.
type Deps struct {
	Secrets *Secrets
	// Tokens caches access tokens (oidc).
	Tokens *TokenCache
	// HTTP is the client for the token endpoint, with the profile's TLS
	// settings and the per-request timeout.
	HTTP *http.Client
	// Timeout is --timeout: the budget of a token request with retries.
	Timeout time.Duration

	// KeySecret, when set, supplies a password of the client assertion
	// key (config.AssertionKeystorePw, config.AssertionKeyPassword): the
	// session asks for it at login. Else it comes from Secrets.
	KeySecret func(ctx context.Context, key config.Key, label string) (string, error)
	// LookupEnv reads the run's environment (client-assertion-env, GitHub
	// Actions' variables).
	LookupEnv func(string) (string, bool)
	// Redactor learns what the providers obtain when Secrets has none.
	Redactor *redact.Redactor
	// Now is the clock (nil: time.Now).
	Now func() time.Time
	// ExecStderr receives the stderr of an exec auth command (nil: discarded).
	ExecStderr io.Writer
}

// NewProvider returns the provider for r's auth method, with its secrets
// resolved from the environment or the stores.
func NewProvider(ctx context.Context, r *config.Resolved, d Deps) (Provider, error) {
	secrets := d.Secrets
	switch r.Method() {
	case config.MethodNone:
		return noneProvider{}, nil
	case config.MethodBasic:
		user := r.Value(config.Username)
		if user == "" {
			return nil, missingSetting(r, config.Username)
		}
		pw, _, err := secrets.Resolve(ctx, r, config.Password)
		if err != nil {
			return nil, err
		}
		if pw == "" {
			return nil, secrets.missing(ctx, r, "password", "--password-stdin", "CAMUNDA_BASIC_AUTH_PASSWORD")
		}
		// The Authorization header carries user:password in Base64.
		secrets.Redactor.AddBasic(user, pw)
		return &basicProvider{username: user, password: pw}, nil
	case config.MethodBearer:
		tok, _, err := secrets.Resolve(ctx, r, config.Token)
		if err != nil {
			return nil, err
		}
		if tok == "" {
			return nil, secrets.missing(ctx, r, "bearer token", "--token-stdin", "CAMUNDA_OAUTH_TOKEN")
		}
		return NewBearer(tok), nil
	case config.MethodOIDC:
		disc := NewDiscovery(d)
		ep, err := ApplyDiscovery(ctx, r, disc, false)
		if err != nil {
			return nil, err
		}
		if r.Person() {
			key, err := PersonKey(r)
			if err != nil {
				return nil, err
			}
			p, err := NewPerson(ctx, r, d, key)
			if err != nil {
				return nil, err
			}
			p.opts.Rediscover = rediscoverer(r, disc, ep)
			return p, nil
		}
		key, err := OIDCKey(r)
		if err != nil {
			return nil, err
		}
		assertion, err := AssertionFor(ctx, r, d)
		if err != nil {
			return nil, err
		}
		if assertion != nil {
			// A client assertion authenticates the client: no secret.
			return NewOIDC(OIDCOptions{Key: key, Assertion: assertion, HTTP: d.HTTP, Budget: d.Timeout, Cache: d.Tokens, Redactor: secrets.Redactor}), nil
		}
		return NewOIDC(OIDCOptions{
			Key:        key,
			Secret:     func(ctx context.Context) (string, error) { return oidcSecret(ctx, r, secrets) },
			HTTP:       d.HTTP,
			Budget:     d.Timeout,
			Cache:      d.Tokens,
			Redactor:   secrets.Redactor,
			Rediscover: rediscoverer(r, disc, ep),
		}), nil
	case config.MethodExec:
		p, err := NewExecProvider(r, d)
		if err != nil {
			return nil, err
		}
		return p, nil
	default:
		return nil, &config.UsageError{Msg: fmt.Sprintf("profile %s: unknown auth method %q", r.Name, r.Method())}
	}
}

// OIDCKey is the token cache key of an oidc profile; it fails, naming
// the flag and variable, when the client id or token URL is missing.
func OIDCKey(r *config.Resolved) (TokenKey, error) {
	for _, k := range []config.Key{config.ClientID, config.TokenURL} {
		if r.Value(k) == "" {
			err := missingSetting(r, k)
			var ue *config.UsageError
			if k == config.TokenURL && errors.As(err, &ue) {
				// Discovery finds it from the issuer (spec §10).
				ue.Msg += " (or give the issuer instead: --issuer URL or CAMUNDA_ISSUER_URL, and camctl finds the token endpoint)"
			}
			return TokenKey{}, err
		}
	}
	if u, err := url.Parse(r.Value(config.TokenURL)); err == nil {
		if err := api.CheckPort(u); err != nil {
			return TokenKey{}, &config.UsageError{Msg: fmt.Sprintf("profile %s: invalid token URL %s (%s, from %s): %v", r.Name, r.Value(config.TokenURL), config.TokenURL, r.Get(config.TokenURL).Source, err)}
		}
	}
	return TokenKey{
		TokenURL: r.Value(config.TokenURL),
		ClientID: r.Value(config.ClientID),
		Audience: r.Value(config.Audience),
		Scope:    r.Value(config.Scope),
		Resource: r.Value(config.Resource),
		API:      apiBase(r),
	}, nil
}

func oidcSecret(ctx context.Context, r *config.Resolved, secrets *Secrets) (string, error) {
	s, _, err := secrets.Resolve(ctx, r, config.ClientSecret)
	if err != nil {
		return "", err
	}
	if s == "" && !HasClientCert(r) {
		return "", secrets.missing(ctx, r, "client secret", "--client-secret-stdin", "CAMUNDA_CLIENT_SECRET")
	}
	// With a client certificate and no secret, the certificate alone
	// authenticates the client (tls_client_auth): only client_id is sent.
	return s, nil
}

// HasClientCert reports whether the profile has a client certificate.
func HasClientCert(r *config.Resolved) bool {
	return r.Get(config.ClientCert).IsSet() || r.Get(config.Keystore).IsSet()
}

type bearerProvider struct {
	token string
	now   func() time.Time
}

// NewBearer returns the provider of a static bearer token.
func NewBearer(token string) Provider { return &bearerProvider{token: token, now: time.Now} }

// Authorize sends the token unless it is unusable or, being a JWT, has
// expired (spec §5): the server would refuse it, and `camctl token`,
// which prints the header this fills in, must not hand it out either.
func (b *bearerProvider) Authorize(_ context.Context, req *http.Request) error {
	if err := checkStatic(b.token, b.now()); err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+b.token)
	return nil
}
func (b *bearerProvider) Method() string { return config.MethodBearer }
func (b *bearerProvider) Identity() string {
	if j, err := DecodeJWT(b.token); err == nil {
		for _, c := range []string{"sub", "client_id", "azp"} {
			if v, ok := j.Claims[c].(string); ok && v != "" {
				// A claim is outside text, printed in messages.
				return termsafe.Line(v)
			}
		}
	}
	return "a static token"
}

// StaticToken returns the token a bearer provider sends.
func (b *bearerProvider) StaticToken() string { return b.token }

// missingSetting names the flag and variable that would supply key.
func missingSetting(r *config.Resolved, key config.Key) error {
	f, _ := config.FieldFor(key)
	if r.Kind == config.KindEnv {
		return &config.UsageError{Msg: fmt.Sprintf("the CAMUNDA_* variables select %s auth but set no %s: set %s", r.Method(), key, f.Env[0])}
	}
	env := ""
	if len(f.Env) > 0 {
		env = " or " + f.Env[0]
	}
	if r.New {
		// No `profile set` for a profile that does not exist yet.
		if len(f.Env) > 0 {
			env = ", or set " + f.Env[0]
		}
		return &config.UsageError{Msg: fmt.Sprintf("profile %s uses %s auth but has no %s: add --%s VALUE to this camctl login%s",
			r.Name, r.Method(), key, f.Flag, env)}
	}
	return &config.UsageError{Msg: fmt.Sprintf("profile %s uses %s auth but has no %s: set it with `camctl profile set %s --%s VALUE`%s",
		r.Name, r.Method(), key, r.Name, f.Flag, env)}
}

type noneProvider struct{}

func (noneProvider) Authorize(context.Context, *http.Request) error { return nil }
func (noneProvider) Method() string                                 { return config.MethodNone }
func (noneProvider) Identity() string                               { return "anonymous" }

type basicProvider struct {
	username, password string
}

func (b *basicProvider) Authorize(_ context.Context, req *http.Request) error {
	req.SetBasicAuth(b.username, b.password)
	return nil
}
func (b *basicProvider) Method() string   { return config.MethodBasic }
func (b *basicProvider) Identity() string { return b.username }

// NewBasic returns a basic-auth provider; login uses it to verify a
// password before storing it.
func NewBasic(username, password string) Provider {
	return &basicProvider{username: username, password: password}
}

// None returns the provider for auth method none.
func None() Provider { return noneProvider{} }
