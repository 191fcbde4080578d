// Package session turns a resolved profile into a ready connection: its
// secret stores, auth provider, TLS settings with the client certificate,
// token cache and API client, and the warnings spec §8 wants said about
// it. A Session is one run's: what it loads (a client certificate, a
// passphrase asked for) is loaded once, and each warning said once.
// It prints nothing itself: warnings go to Options.Warn, as text.
package session

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/camctl/camctl/internal/api"
	"github.com/camctl/camctl/internal/auth"
	"github.com/camctl/camctl/internal/config"
	"github.com/camctl/camctl/internal/redact"
)

// Options are what a session needs from its run.
type Options struct {
	// ConfigFlag and ProfileFlag are --config and --profile ("" unless given).
	ConfigFlag, ProfileFlag string
	LookupEnv               func(string) (string, bool)
	// Secrets builds the secret stores of a config file (see Factory).
	Secrets func(configPath string, interactive bool) (*auth.Secrets, error)
	// PromptSecret asks for a hidden value; CanPrompt says whether a
	// person can answer.
	PromptSecret func(ctx context.Context, label string) (string, error)
	CanPrompt    bool
	// Timeout is --timeout, for each request.
	Timeout time.Duration
	// Debug receives the request log of --debug (nil: none).
	Debug     io.Writer
	UserAgent string
	// Redactor learns the secrets the session obtains.
	Redactor *redact.Redactor
	// Warn receives each warning and note, one line without its newline,
	// as it arises: before the first byte is sent or a secret asked for.
	Warn func(string)
	// ExecStderr receives the stderr of an exec auth command (spec §11:
	// it passes through).
	ExecStderr io.Writer
}

// Session is one run's connection state. It is safe for concurrent use
// by profiles checked in parallel (`status --all`): mu guards its maps,
// and is never held across I/O.
type Session struct {
	o Options
	// InLogin: login runs, which binds secrets anew; a stored passphrase
	// bound elsewhere is asked for again instead of refused.
	InLogin bool

	mu   sync.Mutex
	said map[string]bool
	// certs holds the client certificate of each profile once loaded.
	certs map[string]*loadedCert
	// certSecrets are passphrases given during this run (login asks for
	// them and stores them once the cluster accepted the certificate).
	certSecrets map[config.Key]string
}

type loadedCert struct {
	cert *tls.Certificate
	info *api.CertInfo
	err  error
}

// New returns the session of one run.
func New(o Options) *Session {
	return &Session{o: o, said: map[string]bool{}, certs: map[string]*loadedCert{}, certSecrets: map[config.Key]string{}}
}

// Getenv returns an environment variable ("" when unset).
func (s *Session) Getenv(name string) string {
	v, _ := s.LookupEnv(name)
	return v
}

// Once reports whether what is said for the first time this run (and
// remembers it): each note is said once per run.
func (s *Session) Once(what string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.said[what] {
		return false
	}
	s.said[what] = true
	return true
}

func (s *Session) warnf(format string, args ...any) {
	if s.o.Warn != nil {
		s.o.Warn(fmt.Sprintf(format, args...))
	}
}

// ConfigPath is the configuration file in effect.
func (s *Session) ConfigPath() (string, error) {
	return config.Path(s.o.ConfigFlag, s.Getenv)
}

// LoadConfig reads the configuration file (missing is fine).
func (s *Session) LoadConfig() (*config.File, string, error) {
	path, err := s.ConfigPath()
	if err != nil {
		return nil, "", err
	}
	file, err := config.Load(path)
	if err != nil {
		return nil, "", err
	}
	s.warnUnknownKeys(path, file.Warnings)
	return file, path, nil
}

// maxKeyWarnings bounds the unknown-key warnings of one file: a file full
// of them (a wrong file, say) must not flood the terminal.
const maxKeyWarnings = 10

// warnUnknownKeys says, once per run and file, the keys inside profiles
// that camctl does not know (spec §3): a misspelt "adress" would
// otherwise send the user to another cluster without a word.
func (s *Session) warnUnknownKeys(path string, warnings []string) {
	if len(warnings) == 0 || !s.Once("keys "+path) {
		return
	}
	for i, w := range warnings {
		if i == maxKeyWarnings {
			s.warnf("Warning: %s: %d more unknown settings.", path, len(warnings)-i)
			break
		}
		s.warnf("Warning: %s", w)
	}
}

// Resolve selects the profile and resolves its settings, with flags
// (from login) taking precedence over everything else.
func (s *Session) Resolve(flags map[config.Key]string) (*config.Resolved, error) {
	return s.ResolveProfile(s.o.ProfileFlag, flags)
}

// ResolveProfile is Resolve for a named profile ("" selects as usual).
func (s *Session) ResolveProfile(name string, flags map[config.Key]string) (*config.Resolved, error) {
	from := ""
	if name != "" && name != s.o.ProfileFlag {
		from = "the argument"
	}
	file, path, err := s.LoadConfig()
	if err != nil {
		return nil, err
	}
	if name != "" {
		if err := config.ValidateName(name); err != nil {
			return nil, err
		}
	}
	r, err := config.Resolve(config.Options{
		ConfigPath:  path,
		File:        file,
		Profile:     name,
		ProfileFrom: from,
		Flags:       flags,
		LookupEnv:   s.o.LookupEnv,
	})
	if err != nil {
		return nil, err
	}
	s.NoteEnvProfile(r)
	return r, nil
}

// NoteEnvProfile says, once per run, that connection variables made the
// environment the profile instead of the current one (spec §3): the user
// may have forgotten an export, or meant the profile.
func (s *Session) NoteEnvProfile(r *config.Resolved) {
	if r.Kind != config.KindEnv || r.Outvoted == "" || !s.Once("env profile") {
		return
	}
	s.warnf("Note: using the CAMUNDA_* environment (%s) instead of current profile %s; pass -p %s to use the profile.",
		strings.Join(r.EnvVars, ", "), r.Outvoted, r.Outvoted)
}

// Secrets returns the secret stores of r's config file.
func (s *Session) Secrets(r *config.Resolved, interactive bool) (*auth.Secrets, error) {
	return s.o.Secrets(r.ConfigPath, interactive)
}

// secretsOrNil returns the profile's secret stores; without them a
// lookup finds nothing.
func (s *Session) secretsOrNil(r *config.Resolved, interactive bool) *auth.Secrets {
	st, err := s.Secrets(r, interactive)
	if err != nil {
		return &auth.Secrets{Mode: auth.KeyringNone, File: auth.NewFailingStore(err)}
	}
	return st
}

// Provider returns the auth provider of r with everything it needs: the
// secret stores, the token cache and an HTTP client for the token
// endpoint that carries the profile's TLS settings and --timeout.
func (s *Session) Provider(ctx context.Context, r *config.Resolved) (auth.Provider, error) {
	p, _, err := s.ProviderDeps(ctx, r)
	return p, err
}

// ProviderDeps is Provider with the deps it was built on, for a caller
// that needs both (camctl exec hands over the stores' secrets too).
func (s *Session) ProviderDeps(ctx context.Context, r *config.Resolved) (auth.Provider, auth.Deps, error) {
	d, err := s.Deps(ctx, r, false)
	if err != nil {
		return nil, auth.Deps{}, err
	}
	s.Warn(r)
	p, err := auth.NewProvider(ctx, r, d)
	return p, d, err
}

// Deps are what a provider of r needs; interactive runs may ask for the
// passphrase of a client key.
func (s *Session) Deps(ctx context.Context, r *config.Resolved, interactive bool) (auth.Deps, error) {
	secrets, err := s.Secrets(r, interactive)
	if err != nil {
		return auth.Deps{}, err
	}
	// Only oidc and exec cache tokens: other methods neither look for a cache
	// directory nor check it, on every run.
	var tokens *auth.TokenCache
	if r.Method() == config.MethodOIDC || r.Method() == config.MethodExec {
		tokens = s.TokenCache(secrets, r)
	}
	tlsOpts, err := s.tlsOptions(ctx, r, interactive)
	if err != nil {
		return auth.Deps{}, err
	}
	hc, err := api.NewHTTPClient(tlsOpts, s.o.Timeout, s.o.Debug)
	if err != nil {
		return auth.Deps{}, fmt.Errorf("profile %s: %w", r.Name, err)
	}
	// The token request carries the client secret in its body, and a 307
	// or 308 would post it again to wherever the redirect points.
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return auth.Deps{
		Secrets: secrets,
		Tokens:  tokens,
		HTTP:    hc,
		Timeout: s.o.Timeout,
		// The passwords of a client assertion key are kept like those of
		// a client certificate: given, from the environment, stored, or
		// asked for at login.
		KeySecret: func(ctx context.Context, key config.Key, label string) (string, error) {
			return s.certSecret(ctx, r, key, interactive, label)()
		},
		LookupEnv:  s.o.LookupEnv,
		Redactor:   s.o.Redactor,
		ExecStderr: s.o.ExecStderr,
	}, nil
}

// APIClient returns a client for r with the provider's credentials, after
// the warnings the profile deserves.
func (s *Session) APIClient(ctx context.Context, r *config.Resolved, p auth.Provider) (*api.Client, error) {
	return s.apiClient(ctx, r, p, 0)
}

// PublicClient returns a client for r's public endpoints (GET
// /v2/status): it sends no credentials, so it needs none, and it does
// not retry, so that a 503 (no partition has a healthy leader) is the
// answer at once rather than backpressure to wait out. It still carries
// the profile's TLS settings and client certificate.
func (s *Session) PublicClient(ctx context.Context, r *config.Resolved) (*api.Client, error) {
	return s.apiClient(ctx, r, nil, -1)
}

func (s *Session) apiClient(ctx context.Context, r *config.Resolved, p auth.Provider, retries int) (*api.Client, error) {
	tlsOpts, err := s.tlsOptions(ctx, r, false)
	if err != nil {
		return nil, err
	}
	c, err := api.New(api.Options{
		Address:   r.Value(config.Address),
		Timeout:   s.o.Timeout,
		UserAgent: s.o.UserAgent,
		TLS:       tlsOpts,
		Auth:      p, // a nil Provider is a nil Authorizer: no credentials
		Debug:     s.o.Debug,
		Redact:    s.o.Redactor.Redact,
		Retries:   retries,
	})
	var addrErr *api.AddressError
	if errors.As(err, &addrErr) {
		// Name the setting and where it came from: a variable or a
		// file the user may not think of.
		return nil, fmt.Errorf("profile %s: address (from %s): %w", r.Name, r.Get(config.Address).Source, err)
	}
	if err != nil {
		return nil, fmt.Errorf("profile %s: %w", r.Name, err)
	}
	s.Warn(r)
	return c, nil
}

// Conn is a ready connection to a profile's cluster.
type Conn struct {
	Provider auth.Provider
	Client   *api.Client
}

// Connect returns r's provider and API client; the warnings are said
// before it returns, so before the first request.
func (s *Session) Connect(ctx context.Context, r *config.Resolved) (*Conn, error) {
	p, err := s.Provider(ctx, r)
	if err != nil {
		return nil, err
	}
	c, err := s.APIClient(ctx, r, p)
	if err != nil {
		return nil, err
	}
	return &Conn{Provider: p, Client: c}, nil
}

// LookupEnv is the run's os.LookupEnv.
func (s *Session) LookupEnv(name string) (string, bool) {
	if s.o.LookupEnv == nil {
		return "", false
	}
	return s.o.LookupEnv(name)
}
