package auth

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/camctl/camctl/internal/config"
	"github.com/camctl/camctl/internal/redact"
)

// Keyring modes (CAMCTL_KEYRING).
const (
	// KeyringAuto uses the OS keyring when it is reachable and falls back
	// to the file store for reading; login refuses to store a secret in the
	// file without --insecure-storage.
	KeyringAuto = "auto"
	// KeyringSystem requires the OS keyring; an unreachable one is an error.
	KeyringSystem = "system"
	// KeyringNone never touches the OS keyring (CI, containers).
	KeyringNone = "none"
)

// ParseKeyringMode validates a CAMCTL_KEYRING value ("" means auto).
func ParseKeyringMode(v string) (string, error) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "", KeyringAuto:
		return KeyringAuto, nil
	case KeyringSystem:
		return KeyringSystem, nil
	case KeyringNone:
		return KeyringNone, nil
	}
	return "", &config.UsageError{Msg: fmt.Sprintf("%s=%q: use auto, system or none", config.EnvKeyring, v)}
}

// Secrets finds and keeps profile secrets. The keyring is consulted only
// when a secret is actually needed, never on start-up.
type Secrets struct {
	Mode string
	// Namespace keeps profiles of different config files apart
	// (config.SecretNamespace); "" for the default config file.
	Namespace string
	// Keyring is the OS keyring store (unused with KeyringNone).
	Keyring SecretStore
	// File is the plain-text 0600 store of --insecure-storage.
	File SecretStore
	// Redactor learns every secret Resolve and Lookup hand out, so that
	// nothing camctl prints can show it (nil: nobody prints).
	Redactor *redact.Redactor
}

// key is the store key of a profile's secret, e.g.
// "profile/helm/auth.password", or "config/<id>/profile/helm/auth.password"
// for a config file other than the default. Profile names are validated,
// so one profile's key can never be spelt through another's.
func (s *Secrets) key(profile string, key config.Key) string {
	return s.Namespace + "profile/" + profile + "/" + string(key)
}

// Where a secret came from, for messages and `profile show`.
const (
	InEnv     = "env"
	InKeyring = "keyring"
	InFile    = "file"
)

// Resolve returns a secret setting of r: the environment (already in r)
// wins, then the keyring, then the file store. It returns "" when no
// secret is available, and where it found one.
func (s *Secrets) Resolve(ctx context.Context, r *config.Resolved, key config.Key) (value, where string, err error) {
	if set := r.Get(key); set.IsSet() {
		s.Redactor.Add(set.Value)
		return set.Value, InEnv + " " + set.Source.Name, nil
	}
	if !r.Storable() {
		return "", "", nil
	}
	v, where, err := s.Lookup(ctx, r.Name, key)
	var sre *SecretReadError
	if errors.Is(err, ErrUnavailable) && !errors.As(err, &sre) {
		// auto mode: a keyring that cannot be reached holds nothing
		// usable now; missing() says so if nothing else is found. (With
		// CAMCTL_KEYRING=system that is an error of its own: "run
		// camctl login" would not help while the keyring is locked.)
		return "", "", nil
	}
	return v, where, err
}

// Lookup returns a stored secret of profile and the store it came from.
// When nothing is found and the keyring could not be asked (auto mode),
// the error wraps ErrUnavailable: "not stored" would be a guess.
func (s *Secrets) Lookup(ctx context.Context, profile string, key config.Key) (value, where string, err error) {
	k := s.key(profile, key)
	var unreachable error
	if s.Mode != KeyringNone && s.Keyring != nil {
		v, err := s.Keyring.Get(ctx, k)
		switch {
		case err == nil:
			s.Redactor.Add(v)
			return v, InKeyring, nil
		case errors.Is(err, ErrNotFound):
		case s.Mode == KeyringAuto && errors.Is(err, ErrUnavailable):
			unreachable = err
		case s.Mode == KeyringSystem || !errors.Is(err, ErrUnavailable):
			return "", "", &SecretReadError{Profile: profile, What: SecretName(key), System: s.Mode == KeyringSystem, Err: err}
		}
	}
	if s.File != nil {
		v, err := s.File.Get(ctx, k)
		switch {
		case err == nil:
			s.Redactor.Add(v)
			return v, InFile, nil
		case !errors.Is(err, ErrNotFound):
			return "", "", fmt.Errorf("read %s of profile %s: %w", SecretName(key), profile, err)
		}
	}
	return "", "", unreachable
}

// SecretReadError is a stored secret that the OS keyring holds but could
// not give: locked or not answering with CAMCTL_KEYRING=system, or a
// damaged value. No secret is available, so camctl exits with 3.
type SecretReadError struct {
	Profile, What string
	// System: CAMCTL_KEYRING=system, so no other store was tried.
	System bool
	Err    error
}

func (e *SecretReadError) Error() string {
	mode := ""
	if e.System {
		mode = fmt.Sprintf(" (%s=system)", config.EnvKeyring)
	}
	msg := fmt.Sprintf("read %s of profile %s from the OS keyring%s: %v", e.What, e.Profile, mode, e.Err)
	if errors.Is(e.Err, ErrCorrupt) {
		msg += fmt.Sprintf("; run `camctl login -p %s` to store it again", e.Profile)
	}
	return msg
}

func (e *SecretReadError) Unwrap() error { return e.Err }

// KeyringStatus reports whether the OS keyring can be used now (nil) or why not.
func (s *Secrets) KeyringStatus(ctx context.Context) error {
	if s.Mode == KeyringNone || s.Keyring == nil {
		return fmt.Errorf("%w: %s=none", ErrUnavailable, config.EnvKeyring)
	}
	_, err := s.Keyring.Get(ctx, "camctl-probe")
	if err == nil || errors.Is(err, ErrNotFound) {
		return nil
	}
	return err
}

// missing builds the error for a secret that is nowhere to be found,
// saying so when the keyring could not be asked (in auto mode Lookup
// falls back to the file store silently).
func (s *Secrets) missing(ctx context.Context, r *config.Resolved, what, flag, env string) error {
	e := &MissingSecretError{Profile: r.Name, What: what, Flag: flag, Env: env, EnvOnly: !r.Storable()}
	if r.Storable() && s.Mode == KeyringAuto {
		if err := s.KeyringStatus(ctx); err != nil {
			e.Keyring = err
		}
	}
	return e
}

// NoKeyringError means login has a secret to store but no keyring to put
// it in, and the user has not allowed a plain-text file.
type NoKeyringError struct {
	Err error
}

func (e *NoKeyringError) Error() string {
	return fmt.Sprintf("cannot store the secret: no OS keyring is available: %v.\n"+
		"Pass --insecure-storage to keep it in a plain-text 0600 file instead, or don't store it and give camctl the secret in the environment (CAMUNDA_* variables) when it runs.", e.Err)
}

func (e *NoKeyringError) Unwrap() error { return e.Err }

// Save stores a secret of profile: in the OS keyring, or, with insecure,
// in the plain-text file. It returns where it went.
func (s *Secrets) Save(ctx context.Context, profile string, key config.Key, value string, insecure bool) (string, error) {
	k := s.key(profile, key)
	if insecure {
		if err := s.File.Set(ctx, k, value); err != nil {
			return "", fmt.Errorf("store %s of profile %s: %w", SecretName(key), profile, err)
		}
		// A stale copy in the keyring would win over the new one.
		if s.Mode != KeyringNone && s.Keyring != nil {
			_ = s.Keyring.Delete(ctx, k)
		}
		return InFile, nil
	}
	if s.Mode == KeyringNone || s.Keyring == nil {
		return "", &NoKeyringError{Err: fmt.Errorf("%s=none", config.EnvKeyring)}
	}
	if err := s.Keyring.Set(ctx, k, value); err != nil {
		if errors.Is(err, ErrUnavailable) {
			return "", &NoKeyringError{Err: err}
		}
		return "", fmt.Errorf("store %s of profile %s in the keyring: %w", SecretName(key), profile, err)
	}
	if s.File != nil {
		_ = s.File.Delete(ctx, k)
	}
	return InKeyring, nil
}

// SecretKeys are the settings that are stored as secrets.
func SecretKeys() []config.Key {
	var keys []config.Key
	for _, f := range config.Fields {
		if f.Secret {
			keys = append(keys, f.Key)
		}
	}
	return keys
}

// DeleteProfile removes every stored secret of profile from both stores
// and reports what it removed. Deleting what is not there is not an
// error. A keyring that cannot be reached in auto mode is reported as
// unreached, so the caller can say that secrets may be left there.
func (s *Secrets) DeleteProfile(ctx context.Context, profile string) (removed []string, unreached, err error) {
	var errs []error
	for _, key := range SecretKeys() {
		k := s.key(profile, key)
		for _, st := range s.stores() {
			if _, err := st.store.Get(ctx, k); err != nil {
				switch {
				case errors.Is(err, ErrNotFound):
				case st.where == InKeyring && s.Mode == KeyringAuto && errors.Is(err, ErrUnavailable):
					unreached = err
				default:
					errs = append(errs, fmt.Errorf("%s: %w", st.where, err))
				}
				continue
			}
			if err := st.store.Delete(ctx, k); err != nil {
				errs = append(errs, fmt.Errorf("delete %s from %s: %w", SecretName(key), st.where, err))
				continue
			}
			removed = append(removed, SecretName(key)+" ("+st.where+")")
		}
	}
	return removed, unreached, joinUnique(errs)
}

// joinUnique joins errors, dropping repeats (an unreachable keyring fails
// the same way for every secret).
func joinUnique(errs []error) error {
	seen := map[string]bool{}
	var out []error
	for _, e := range errs {
		if !seen[e.Error()] {
			seen[e.Error()] = true
			out = append(out, e)
		}
	}
	return errors.Join(out...)
}

// MoveProfile moves every stored secret of old to new, in the store it
// is in. Like DeleteProfile it reports an unreachable keyring separately.
func (s *Secrets) MoveProfile(ctx context.Context, old, new string) (unreached, err error) {
	for _, key := range SecretKeys() {
		from, to := s.key(old, key), s.key(new, key)
		for _, st := range s.stores() {
			v, err := st.store.Get(ctx, from)
			if err != nil {
				if errors.Is(err, ErrNotFound) {
					continue
				}
				if st.where == InKeyring && s.Mode == KeyringAuto && errors.Is(err, ErrUnavailable) {
					unreached = err
					continue
				}
				return unreached, fmt.Errorf("move %s of profile %s: %w", SecretName(key), old, err)
			}
			if err := st.store.Set(ctx, to, v); err != nil {
				return unreached, fmt.Errorf("move %s of profile %s: %w", SecretName(key), old, err)
			}
			if err := st.store.Delete(ctx, from); err != nil {
				return unreached, fmt.Errorf("move %s of profile %s: %w", SecretName(key), old, err)
			}
		}
	}
	return unreached, nil
}

type namedStore struct {
	store SecretStore
	where string
}

func (s *Secrets) stores() []namedStore {
	var out []namedStore
	if s.Mode != KeyringNone && s.Keyring != nil {
		out = append(out, namedStore{s.Keyring, InKeyring})
	}
	if s.File != nil {
		out = append(out, namedStore{s.File, InFile})
	}
	return out
}

// SecretName is how a secret setting is called in messages.
func SecretName(key config.Key) string {
	switch key {
	case config.Password:
		return "password"
	case config.ClientSecret:
		return "client secret"
	case config.Token:
		return "bearer token"
	case config.KeyPassphrase:
		return "key passphrase"
	case config.KeystorePassword:
		return "keystore password"
	case config.KeystoreKeyPassword:
		return "keystore key password"
	}
	return string(key)
}
