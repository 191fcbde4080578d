package cmd

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/camctl/camctl/internal/api"
	"github.com/camctl/camctl/internal/atomicfile"
	"github.com/camctl/camctl/internal/auth"
	"github.com/camctl/camctl/internal/build"
	"github.com/camctl/camctl/internal/config"
)

// Factory carries what commands need. Everything that touches the disk,
// the keyring or the network is a function, so nothing runs until a
// command asks for it and tests can replace it.
type Factory struct {
	IO        *IOStreams
	LookupEnv func(string) (string, bool)
	Build     build.Info
	Global    *GlobalOptions

	// Secrets builds the secret stores for the config file at path.
	// Interactive callers get a long keyring timeout, so a user can
	// answer an unlock prompt.
	Secrets func(configPath string, interactive bool) (*auth.Secrets, error)
	// PromptSecret and Prompt ask the user; tests replace them.
	PromptSecret func(ctx context.Context, label string) (string, error)
	Prompt       func(ctx context.Context, label string) (string, error)

	warned warned
	// keysWarned: the config files whose unknown keys were reported.
	keysWarned map[string]bool
	// keyringNoted: the unreachable-keyring note was printed this run.
	keyringNoted bool
	// envNoted: the note that the environment outvoted the current
	// profile was printed this run.
	envNoted bool
	// inLogin: login runs, which binds secrets anew; a stored passphrase
	// bound elsewhere is asked for again instead of refused.
	inLogin bool
	// certs holds the client certificate of each profile once loaded.
	certs map[string]*loadedCert
	// secrets holds the stores built this run, so that every lookup
	// shares one keyring connection state (a keyring that timed out is
	// not waited on again for the next secret).
	secrets map[secretsKey]*auth.Secrets
	// certSecrets are passphrases given during this run (login asks for
	// them and stores them once the cluster accepted the certificate).
	certSecrets map[config.Key]string
}

type secretsKey struct {
	configPath  string
	interactive bool
}

type loadedCert struct {
	cert *tls.Certificate
	info *api.CertInfo
	err  error
}

// warned remembers which profiles' warnings this run has printed.
type warned map[string]bool

// GlobalOptions are the flags every command has.
type GlobalOptions struct {
	Profile    string
	ConfigPath string
	Output     string
	Timeout    time.Duration
	Debug      bool
	NoColor    bool
}

// NewFactory returns the factory of a real run.
func NewFactory() *Factory {
	io := SystemIO()
	f := &Factory{
		IO:           io,
		LookupEnv:    os.LookupEnv,
		Build:        build.Get(),
		Global:       &GlobalOptions{},
		PromptSecret: io.PromptSecret,
		Prompt:       io.Prompt,
	}
	f.Secrets = f.cachedSecrets
	return f
}

// cachedSecrets builds the stores of a config file once per run.
func (f *Factory) cachedSecrets(configPath string, interactive bool) (*auth.Secrets, error) {
	k := secretsKey{configPath, interactive}
	if s, ok := f.secrets[k]; ok {
		return s, nil
	}
	s, err := f.systemSecrets(configPath, interactive)
	if err != nil {
		return nil, err
	}
	if f.secrets == nil {
		f.secrets = map[secretsKey]*auth.Secrets{}
	}
	f.secrets[k] = s
	return s, nil
}

// Getenv returns an environment variable ("" when unset).
func (f *Factory) Getenv(name string) string {
	v, _ := f.LookupEnv(name)
	return v
}

// ConfigPath is the configuration file in effect.
func (f *Factory) ConfigPath() (string, error) {
	return config.Path(f.Global.ConfigPath, f.Getenv)
}

// LoadConfig reads the configuration file (missing is fine).
func (f *Factory) LoadConfig() (*config.File, string, error) {
	path, err := f.ConfigPath()
	if err != nil {
		return nil, "", err
	}
	file, err := config.Load(path)
	if err != nil {
		return nil, "", err
	}
	f.warnUnknownKeys(path, file.Warnings)
	return file, path, nil
}

// maxKeyWarnings bounds the unknown-key warnings of one file: a file full
// of them (a wrong file, say) must not flood the terminal.
const maxKeyWarnings = 10

// warnUnknownKeys prints, once per run and file, the keys inside profiles
// that camctl does not know (spec §3): a misspelt "adress" would
// otherwise send the user to another cluster without a word.
func (f *Factory) warnUnknownKeys(path string, warnings []string) {
	if len(warnings) == 0 || f.keysWarned[path] {
		return
	}
	if f.keysWarned == nil {
		f.keysWarned = map[string]bool{}
	}
	f.keysWarned[path] = true
	for i, w := range warnings {
		if i == maxKeyWarnings {
			fmt.Fprintf(f.IO.ErrOut, "Warning: %s: %d more unknown settings.\n", path, len(warnings)-i)
			break
		}
		fmt.Fprintf(f.IO.ErrOut, "Warning: %s\n", w)
	}
}

// Resolve selects the profile and resolves its settings, with flags
// (from login) taking precedence over everything else.
func (f *Factory) Resolve(flags map[config.Key]string) (*config.Resolved, error) {
	return f.ResolveProfile(f.Global.Profile, flags)
}

// ResolveProfile is Resolve for a named profile ("" selects as usual).
func (f *Factory) ResolveProfile(name string, flags map[config.Key]string) (*config.Resolved, error) {
	from := ""
	if name != "" && name != f.Global.Profile {
		from = "the argument"
	}
	return f.resolveProfile(name, from, flags)
}

func (f *Factory) resolveProfile(name, from string, flags map[config.Key]string) (*config.Resolved, error) {
	file, path, err := f.LoadConfig()
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
		LookupEnv:   f.LookupEnv,
	})
	if err != nil {
		return nil, err
	}
	f.noteEnvProfile(r)
	return r, nil
}

// noteEnvProfile says, once per run, that connection variables made the
// environment the profile instead of the current one (spec §3): the user
// may have forgotten an export, or meant the profile.
func (f *Factory) noteEnvProfile(r *config.Resolved) {
	if r.Kind != config.KindEnv || r.Outvoted == "" || f.envNoted {
		return
	}
	f.envNoted = true
	fmt.Fprintf(f.IO.ErrOut, "Note: using the CAMUNDA_* environment (%s) instead of current profile %s; pass -p %s to use the profile.\n",
		strings.Join(r.EnvVars, ", "), r.Outvoted, r.Outvoted)
}

// keyringInteractiveTimeout replaces auth.DefaultKeyringTimeout when a
// person at a terminal may be typing a keyring password (cli/cli#11005
// found 3 s too short for that).
const keyringInteractiveTimeout = 60 * time.Second

func (f *Factory) systemSecrets(configPath string, interactive bool) (*auth.Secrets, error) {
	mode, err := auth.ParseKeyringMode(f.Getenv(config.EnvKeyring))
	if err != nil {
		return nil, err
	}
	// Without a home directory there is no place for the plain-text
	// file; that must not stop commands that never need it.
	var fileStore auth.SecretStore
	if path, err := config.SecretsPath(f.Getenv); err == nil {
		fileStore = auth.NewFileStore(path)
	} else {
		fileStore = auth.NewFailingStore(fmt.Errorf("no place for the secrets file: %w", err))
	}
	s := &auth.Secrets{Mode: mode, Namespace: config.SecretNamespace(configPath, f.Getenv), File: fileStore, Redactor: f.IO.Redactor}
	if mode != auth.KeyringNone {
		timeout := auth.DefaultKeyringTimeout
		if interactive {
			timeout = keyringInteractiveTimeout
		}
		s.Keyring = auth.NewKeyringStore(auth.KeyringOptions{Getenv: f.Getenv, Timeout: timeout})
	}
	return s, nil
}

// Provider returns the auth provider of r with everything it needs: the
// secret stores, the token cache and an HTTP client for the token
// endpoint that carries the profile's TLS settings and --timeout.
func (f *Factory) Provider(ctx context.Context, r *config.Resolved) (auth.Provider, error) {
	d, err := f.authDeps(ctx, r, false)
	if err != nil {
		return nil, err
	}
	f.warn(r)
	return auth.NewProvider(ctx, r, d)
}

func (f *Factory) authDeps(ctx context.Context, r *config.Resolved, interactive bool) (auth.Deps, error) {
	secrets, err := f.Secrets(r.ConfigPath, interactive)
	if err != nil {
		return auth.Deps{}, err
	}
	// Only oidc caches tokens: other methods neither look for a cache
	// directory nor check it, on every run.
	var tokens *auth.TokenCache
	if r.Method() == config.MethodOIDC {
		tokens = f.tokenCache(secrets, r)
	}
	tlsOpts, err := f.tlsOptions(ctx, r, interactive)
	if err != nil {
		return auth.Deps{}, err
	}
	hc, err := api.NewHTTPClient(tlsOpts, f.Global.Timeout, f.debugWriter())
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
		Timeout: f.Global.Timeout,
	}, nil
}

// tlsOptions are r's TLS settings with its client certificate, loaded
// once per run. The certificate goes to every connection of the profile:
// the API and the token endpoint.
func (f *Factory) tlsOptions(ctx context.Context, r *config.Resolved, interactive bool) (api.TLSOptions, error) {
	o := api.TLSOptions{
		CAFile:             r.Value(config.CAFile),
		InsecureSkipVerify: r.Value(config.InsecureSkipVerify) == "true",
		CAOnly:             r.Value(config.CAOnly) == "true",
	}
	if o.CAOnly && o.CAFile == "" {
		return o, &config.UsageError{Msg: fmt.Sprintf("profile %s: ca-only is set but there is no ca-file to trust instead of the system roots", r.Name)}
	}
	lc, err := f.clientCert(ctx, r, interactive)
	if err != nil {
		return o, err
	}
	if lc != nil {
		o.Certificate = lc.cert
	}
	return o, nil
}

func (f *Factory) clientCert(ctx context.Context, r *config.Resolved, interactive bool) (*loadedCert, error) {
	cc := api.ClientCert{
		CertFile: r.Value(config.ClientCert),
		KeyFile:  r.Value(config.ClientKey),
		Keystore: r.Value(config.Keystore),
	}
	if !cc.IsSet() {
		return nil, nil
	}
	if lc, ok := f.certs[r.Name]; ok {
		return lc, lc.err
	}
	cc.Passphrase = f.certSecret(ctx, r, config.KeyPassphrase, interactive, "Passphrase of the client key "+cc.KeyFile+": ")
	cc.KeystorePassword = f.certSecret(ctx, r, config.KeystorePassword, interactive, "Password of the keystore "+cc.Keystore+": ")
	cc.KeystoreKeyPassword = func() (string, error) {
		v, _, err := f.secretsOrNil(r, interactive).Resolve(ctx, r, config.KeystoreKeyPassword)
		return v, err
	}
	cert, info, err := api.LoadClientCert(cc, time.Now())
	if err != nil {
		err = fmt.Errorf("profile %s: %w", r.Name, err)
	}
	lc := &loadedCert{cert: cert, info: info, err: err}
	if f.certs == nil {
		f.certs = map[string]*loadedCert{}
	}
	f.certs[r.Name] = lc
	return lc, err
}

// certSecret returns the function that supplies a certificate secret:
// given in this run, from the environment, stored, or (at login on a
// terminal) asked for. It runs only if the file is encrypted.
func (f *Factory) certSecret(ctx context.Context, r *config.Resolved, key config.Key, interactive bool, label string) func() (string, error) {
	return func() (string, error) {
		if v, ok := f.certSecrets[key]; ok {
			return v, nil
		}
		v, _, err := f.secretsOrNil(r, interactive).Resolve(ctx, r, key)
		var bound *auth.BindingError
		if f.inLogin && errors.As(err, &bound) {
			// Bound to where the profile pointed before: login verifies
			// it anew, so it must be given again.
			v, err = "", nil
		}
		if err != nil || v != "" {
			return v, err
		}
		if interactive && f.IO.CanPrompt() {
			v, err := f.PromptSecret(ctx, label)
			if err != nil {
				return "", loginCancelled(err)
			}
			f.IO.Redactor.Add(v)
			f.rememberCertSecret(key, v)
			return v, nil
		}
		fld, _ := config.FieldFor(key)
		return "", &auth.MissingSecretError{Profile: r.Name, What: auth.SecretName(key), Env: fld.Env[0], EnvOnly: !r.Storable(), InLogin: interactive}
	}
}

func inDays(d time.Duration) string {
	switch days := int(d.Hours() / 24); days {
	case 0:
		return "less than a day"
	case 1:
		return "1 day"
	default:
		return fmt.Sprintf("%d days", days)
	}
}

func (f *Factory) rememberCertSecret(key config.Key, v string) {
	if f.certSecrets == nil {
		f.certSecrets = map[config.Key]string{}
	}
	f.certSecrets[key] = v
}

// secretsOrNil returns the profile's secret stores; without them a
// lookup finds nothing.
func (f *Factory) secretsOrNil(r *config.Resolved, interactive bool) *auth.Secrets {
	s, err := f.Secrets(r.ConfigPath, interactive)
	if err != nil {
		return &auth.Secrets{Mode: auth.KeyringNone, File: auth.NewFailingStore(err)}
	}
	return s
}

func (f *Factory) debugWriter() io.Writer {
	if f.Global.Debug {
		return f.IO.ErrOut
	}
	return nil
}

// APIClient returns a client for r with the provider's credentials and
// prints the warnings the profile deserves.
func (f *Factory) APIClient(r *config.Resolved, p auth.Provider) (*api.Client, error) {
	tlsOpts, err := f.tlsOptions(context.Background(), r, false)
	if err != nil {
		return nil, err
	}
	opts := api.Options{
		Address:   r.Value(config.Address),
		Timeout:   f.Global.Timeout,
		UserAgent: "camctl/" + f.Build.Version,
		TLS:       tlsOpts,
		Auth:      p,
		Debug:     f.debugWriter(),
		Redact:    f.IO.Redactor.Redact,
	}
	c, err := api.New(opts)
	var addrErr *api.AddressError
	if errors.As(err, &addrErr) {
		// Name the setting and where it came from: a variable or a
		// file the user may not think of.
		return nil, fmt.Errorf("profile %s: address (from %s): %w", r.Name, r.Get(config.Address).Source, err)
	}
	if err != nil {
		return nil, fmt.Errorf("profile %s: %w", r.Name, err)
	}
	f.warn(r)
	return c, nil
}

// warn prints, once per run, what spec §8 wants said about a profile:
// TLS verification switched off, and credentials (to the API, or the
// client secret to the token endpoint) over plain http:// to another host.
func (f *Factory) warn(r *config.Resolved) {
	if f.warned == nil {
		f.warned = warned{}
	}
	if f.warned[r.Name] {
		return
	}
	f.warned[r.Name] = true
	if lc := f.certs[r.Name]; lc != nil && lc.info != nil && lc.err == nil {
		if left := time.Until(lc.info.NotAfter); left < api.ExpiryWarning {
			fmt.Fprintf(f.IO.ErrOut, "Warning: the client certificate of profile %s (%s) expires on %s, in %s; renew it.\n",
				r.Name, lc.info.Subject, lc.info.NotAfter.UTC().Format(time.DateOnly), inDays(left))
		}
	}
	if r.Value(config.InsecureSkipVerify) == "true" {
		fmt.Fprintf(f.IO.ErrOut, "Warning: profile %s skips TLS certificate verification (insecure-skip-verify); anyone on the network path can read and change the traffic.\n", r.Name)
	}
	if r.Method() == config.MethodNone {
		return
	}
	if u, err := api.NormalizeAddress(r.Value(config.Address)); err == nil {
		f.warnPlainHTTP(r, u, r.Method()+" credentials")
	}
	if r.Method() == config.MethodOIDC {
		if u, err := url.Parse(r.Value(config.TokenURL)); err == nil && u.Host != "" {
			f.warnPlainHTTP(r, u, "its client secret")
		}
	}
}

// warnPlainHTTP warns that what goes to u over plain http:// can be read
// on the way: on the network when u is not loopback (spec §8), and by
// the proxy that the environment (HTTP_PROXY, NO_PROXY) routes u through,
// loopback or not. The proxy is the one the transport will use: both come
// from http.ProxyFromEnvironment.
func (f *Factory) warnPlainHTTP(r *config.Resolved, u *url.URL, what string) {
	if u.Scheme != "http" {
		return
	}
	proxy, err := http.ProxyFromEnvironment(&http.Request{URL: u})
	switch {
	case err == nil && proxy != nil:
		// The proxy's host only: its URL may carry a password.
		fmt.Fprintf(f.IO.ErrOut, "Warning: profile %s sends %s over plain http:// to %s through the proxy %s; the proxy and the networks on either side of it can read them; use https://.\n", r.Name, what, u.Host, proxy.Host)
	case !api.IsLoopback(u):
		fmt.Fprintf(f.IO.ErrOut, "Warning: profile %s sends %s over plain http:// to %s; use https:// outside your own machine.\n", r.Name, what, u.Host)
	}
}

// checkCacheDir reports an existing cache directory that camctl must not
// use; one that does not exist yet is created 0700 on first use.
func checkCacheDir(dir string) error {
	if _, err := os.Stat(dir); err != nil {
		return nil
	}
	var unsafe *atomicfile.UnsafeError
	if err := atomicfile.CheckDir(dir, atomicfile.Private); errors.As(err, &unsafe) {
		return err
	}
	return nil
}

// tokenCache is where the access tokens of r's client are cached.
func (f *Factory) tokenCache(secrets *auth.Secrets, r *config.Resolved) *auth.TokenCache {
	return auth.NewTokenCache(secrets.Mode, secrets.Keyring, f.tokenCacheDir(r))
}

// tokenCacheDir is the directory for the token file and its locks, or ""
// when there is none to trust: then tokens are cached in the keyring
// only (with CAMCTL_KEYRING=none, not at all), and an oidc profile says
// so. A directory that other users can write to is not used (they could
// plant links or tokens there).
func (f *Factory) tokenCacheDir(r *config.Resolved) string {
	dir, err := config.CacheDir(f.Getenv)
	if err == nil {
		err = checkCacheDir(dir)
	}
	if err == nil {
		return dir
	}
	if r.Method() == config.MethodOIDC {
		what := "tokens are cached only in the OS keyring, if one is reachable"
		if auth.KeyringMode(f.Getenv(config.EnvKeyring)) == auth.KeyringNone {
			what = "every command fetches a new token"
		}
		fmt.Fprintf(f.IO.ErrOut, "Warning: no token cache directory (%v): %s. Set %s to a directory of your own.\n", err, what, config.EnvCacheDir)
	}
	return ""
}
