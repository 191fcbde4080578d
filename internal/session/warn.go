package session

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"sync"
	"time"

	"github.com/camctl/camctl/internal/api"
	"github.com/camctl/camctl/internal/atomicfile"
	"github.com/camctl/camctl/internal/auth"
	"github.com/camctl/camctl/internal/config"
	"github.com/camctl/camctl/internal/redact"
)

// Warn says, once per run, what spec §8 wants said about a profile: a
// client certificate about to expire, TLS verification switched off, and
// credentials (to the API, or the client secret to the token endpoint)
// over plain http:// to another host.
func (s *Session) Warn(r *config.Resolved) {
	if !s.Once("profile " + r.Name) {
		return
	}
	if lc := s.loaded(r.Name); lc != nil && lc.info != nil && lc.err == nil {
		if left := time.Until(lc.info.NotAfter); left < api.ExpiryWarning {
			s.warnf("Warning: the client certificate of profile %s (%s) expires on %s, in %s; renew it.",
				r.Name, lc.info.Subject, lc.info.NotAfter.UTC().Format(time.DateOnly), inDays(left))
		}
	}
	if r.Value(config.InsecureSkipVerify) == "true" {
		s.warnf("Warning: profile %s skips TLS certificate verification (insecure-skip-verify); anyone on the network path can read and change the traffic.", r.Name)
	}
	if r.Method() == config.MethodNone {
		return
	}
	if u, err := api.NormalizeAddress(r.Value(config.Address)); err == nil {
		s.warnPlainHTTP(r, u, r.Method()+" credentials")
	}
	if r.Method() == config.MethodOIDC {
		if u, err := url.Parse(r.Value(config.TokenURL)); err == nil && u.Host != "" {
			what := "its client secret"
			if auth.HasAssertion(r) {
				// An assertion is a bearer credential for its lifetime.
				what = "its client assertion"
			}
			s.warnPlainHTTP(r, u, what)
		}
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

// warnPlainHTTP warns that what goes to u over plain http:// can be read
// on the way: on the network when u is not loopback (spec §8), and by
// the proxy that the environment (HTTP_PROXY, NO_PROXY) routes u through,
// loopback or not. The proxy is the one the transport will use: both come
// from http.ProxyFromEnvironment.
func (s *Session) warnPlainHTTP(r *config.Resolved, u *url.URL, what string) {
	if u.Scheme != "http" {
		return
	}
	proxy, err := http.ProxyFromEnvironment(&http.Request{URL: u})
	switch {
	case err == nil && proxy != nil:
		// The proxy's host only: its URL may carry a password.
		s.warnf("Warning: profile %s sends %s over plain http:// to %s through the proxy %s; the proxy and the networks on either side of it can read them; use https://.", r.Name, what, u.Host, proxy.Host)
	case !api.IsLoopback(u):
		s.warnf("Warning: profile %s sends %s over plain http:// to %s; use https:// outside your own machine.", r.Name, what, u.Host)
	}
}

// TokenCache is where the access tokens of r's client are cached.
func (s *Session) TokenCache(secrets *auth.Secrets, r *config.Resolved) *auth.TokenCache {
	return auth.NewTokenCache(secrets.Mode, secrets.Keyring, s.tokenCacheDir(r))
}

// tokenCacheDir is the directory for the token file and its locks, or ""
// when there is none to trust: then tokens are cached in the keyring
// only (with CAMCTL_KEYRING=none, not at all), and an oidc profile says
// so. A directory that other users can write to is not used (they could
// plant links or tokens there).
func (s *Session) tokenCacheDir(r *config.Resolved) string {
	dir, err := config.CacheDir(s.Getenv)
	if err == nil {
		err = checkCacheDir(dir)
	}
	if err == nil {
		return dir
	}
	// Every token cache of the run asks (status builds several): one
	// warning per run.
	if r.Method() == config.MethodOIDC && s.Once("token cache dir") {
		what := "tokens are cached only in the OS keyring, if one is reachable"
		if auth.KeyringMode(s.Getenv(config.EnvKeyring)) == auth.KeyringNone {
			what = "every command fetches a new token"
		}
		s.warnf("Warning: no token cache directory (%v): %s. Set %s to a directory of your own.", err, what, config.EnvCacheDir)
	}
	return ""
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

// keyringInteractiveTimeout replaces auth.DefaultKeyringTimeout when a
// person at a terminal may be typing a keyring password (cli/cli#11005
// found 3 s too short for that).
const keyringInteractiveTimeout = 60 * time.Second

// SystemSecrets builds the secret stores of a real run for the config
// file at configPath: CAMCTL_KEYRING's mode, the OS keyring (with a long
// timeout when a person may answer an unlock prompt) and the file.
func SystemSecrets(getenv func(string) string, red *redact.Redactor, configPath string, interactive bool) (*auth.Secrets, error) {
	mode, err := auth.ParseKeyringMode(getenv(config.EnvKeyring))
	if err != nil {
		return nil, err
	}
	// Without a home directory there is no place for the plain-text
	// file; that must not stop commands that never need it.
	var fileStore auth.SecretStore
	if path, err := config.SecretsPath(getenv); err == nil {
		fileStore = auth.NewFileStore(path)
	} else {
		fileStore = auth.NewFailingStore(fmt.Errorf("no place for the secrets file: %w", err))
	}
	s := &auth.Secrets{Mode: mode, Namespace: config.SecretNamespace(configPath, getenv), File: fileStore, Redactor: red}
	if mode != auth.KeyringNone {
		timeout := auth.DefaultKeyringTimeout
		if interactive {
			timeout = keyringInteractiveTimeout
		}
		s.Keyring = auth.NewKeyringStore(auth.KeyringOptions{Getenv: getenv, Timeout: timeout})
	}
	return s, nil
}

// CachedSecrets wraps build so that the stores of each config file and
// mode are built once: every lookup of a run then shares one keyring
// connection state (a keyring that timed out is not waited on again).
func CachedSecrets(build func(configPath string, interactive bool) (*auth.Secrets, error)) func(string, bool) (*auth.Secrets, error) {
	type key struct {
		configPath  string
		interactive bool
	}
	// The lock is held while building, so that profiles checked in
	// parallel share one set of stores (building touches no keyring).
	var mu sync.Mutex
	built := map[key]*auth.Secrets{}
	return func(configPath string, interactive bool) (*auth.Secrets, error) {
		mu.Lock()
		defer mu.Unlock()
		k := key{configPath, interactive}
		if s, ok := built[k]; ok {
			return s, nil
		}
		s, err := build(configPath, interactive)
		if err != nil {
			return nil, err
		}
		built[k] = s
		return s, nil
	}
}
