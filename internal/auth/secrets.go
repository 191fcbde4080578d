package auth

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/camctl/camctl/internal/config"
	"github.com/camctl/camctl/internal/redact"
)

// KeyringMode is the value of CAMCTL_KEYRING: where secrets may live.
type KeyringMode string

// Keyring modes (CAMCTL_KEYRING).
const (
	// KeyringAuto uses the OS keyring when it is reachable and falls back
	// to the file store for reading; login refuses to store a secret in the
	// file without --insecure-storage.
	KeyringAuto KeyringMode = "auto"
	// KeyringSystem requires the OS keyring; an unreachable one is an error.
	KeyringSystem KeyringMode = "system"
	// KeyringNone never touches the OS keyring (CI, containers).
	KeyringNone KeyringMode = "none"
)

// ParseKeyringMode validates a CAMCTL_KEYRING value ("" means auto).
func ParseKeyringMode(v string) (KeyringMode, error) {
	switch m := KeyringMode(strings.ToLower(strings.TrimSpace(v))); m {
	case "":
		return KeyringAuto, nil
	case KeyringAuto, KeyringSystem, KeyringNone:
		return m, nil
	}
	return "", &config.UsageError{Msg: fmt.Sprintf("%s=%q: use auto, system or none", config.EnvKeyring, v)}
}

// Secrets finds and keeps profile secrets. The keyring is consulted only
// when a secret is actually needed, never on start-up.
type Secrets struct {
	Mode KeyringMode
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

// key is the store key of a profile's secret: by the profile's id, e.g.
// "id/7f3c9a0b12d4e5f6/auth.password", or
// "config/<hash>/id/7f3c9a0b12d4e5f6/auth.password" for a config file
// other than the default (a copy of a config file keeps the ids, not the
// secrets). Ids are validated, so one profile's key can never be spelt
// through another's.
func (s *Secrets) key(id string, key config.Key) string {
	return s.Namespace + "id/" + id + "/" + string(key)
}

// legacyKey is where camctl stored a profile's secret before profiles
// had ids: by its name. Such items are read once and moved (migrate).
func (s *Secrets) legacyKey(profile string, key config.Key) string {
	return s.Namespace + "profile/" + profile + "/" + string(key)
}

// Where a secret came from, for messages and `profile show`.
const (
	InKeyring = "keyring"
	InFile    = "file"
)

// Stored is a secret found in a store.
type Stored struct {
	Value string
	// Bound are the origins it was verified against and may be sent to.
	Bound []string
	// Where is InKeyring or InFile ("" when nothing is stored).
	Where string
}

// Resolve returns a secret setting of r: the environment (already in r)
// wins, then the keyring, then the file store. It returns "" when no
// secret is available, and where it found one. A stored secret is
// returned only when r would send it where it is bound to; otherwise
// the error is a *BindingError and nothing may be sent. A secret from
// the environment is the user's choice for this run and is not bound.
func (s *Secrets) Resolve(ctx context.Context, r *config.Resolved, key config.Key) (value, where string, err error) {
	if set := r.Get(key); set.IsSet() {
		s.Redactor.Add(set.Value)
		// Where it is set, as `profile show` names it: "env NAME".
		return set.Value, set.Source.String(), nil
	}
	if !r.Storable() {
		return "", "", nil
	}
	st, err := s.Lookup(ctx, r, key)
	if passedOver(err) {
		// A keyring that cannot be reached holds nothing usable now;
		// missing() says so if nothing else is found.
		return "", "", nil
	}
	if err != nil || st.Where == "" {
		return "", "", err
	}
	if err := checkBinding(r, key, st.Bound); err != nil {
		return "", "", err
	}
	return st.Value, st.Where, nil
}

// CheckBinding reports whether r would send st where it is bound to
// (nil), or a *BindingError.
func CheckBinding(r *config.Resolved, key config.Key, st Stored) error {
	return checkBinding(r, key, st.Bound)
}

// Lookup returns a stored secret of profile r, with the origins it is
// bound to, without checking them. A profile without an id has its
// items under its name from before ids: they are moved to a new id on
// the way (migrate). When nothing is found and the keyring could not be
// asked (auto mode), the error wraps ErrUnavailable: "not stored" would
// be a guess.
func (s *Secrets) Lookup(ctx context.Context, r *config.Resolved, key config.Key) (Stored, error) {
	if !r.Storable() || r.Kind != config.KindFile && r.ID == "" {
		// The environment profile has nothing stored; the built-in one
		// has no id until login writes it into the file.
		return Stored{}, nil
	}
	if r.ID == "" {
		if err := s.migrate(ctx, r, key); err != nil || r.ID == "" {
			return Stored{}, err
		}
	}
	raw, where, err := s.get(ctx, s.key(r.ID, key), r.Name, key)
	if err != nil || where == "" {
		return Stored{}, err
	}
	v, bound, err := decodeEnvelope(raw)
	if err != nil {
		if where == InKeyring {
			return Stored{}, &SecretReadError{Profile: r.Name, What: SecretName(key), System: s.Mode == KeyringSystem, Err: err}
		}
		return Stored{}, fmt.Errorf("read %s of profile %s from the secrets file: %w; run `camctl login -p %s` to store it again", SecretName(key), r.Name, err, r.Name)
	}
	// The item is an envelope; the secret is the value inside it (get
	// registered the item itself, which is the secret of a pre-id item).
	s.Redactor.Add(v)
	return Stored{Value: v, Bound: bound, Where: where}, nil
}

// get reads the item k from the keyring, else the file store.
func (s *Secrets) get(ctx context.Context, k, profile string, key config.Key) (value, where string, err error) {
	v, at, unreachable, err := s.tiers().get(ctx, k, nil)
	switch {
	case err != nil && at.where == InKeyring:
		return "", "", &SecretReadError{Profile: profile, What: SecretName(key), System: s.Mode == KeyringSystem, Err: err}
	case err != nil:
		return "", "", fmt.Errorf("read %s of profile %s: %w", SecretName(key), profile, err)
	case at.where == "":
		return "", "", unreachable
	}
	s.Redactor.Add(v)
	return v, at.where, nil
}

// migrate moves the items that profile r (which has no id) has under its
// name to a new id, if it has any: each is written under the id first,
// bound to the origins the profile's config file gives it now (the
// environment and flags of this run do not count); then the id goes into
// the config file; then the old items are deleted. A crash in between
// leaves either items under an id no profile has, or old items that the
// profile, now with its id, no longer reads: never a secret for the wrong
// profile. It sets r.ID when it moved anything.
func (s *Secrets) migrate(ctx context.Context, r *config.Resolved, want config.Key) error {
	// One round trip when there is nothing to move, as before ids.
	if _, where, err := s.get(ctx, s.legacyKey(r.Name, want), r.Name, want); err != nil || where == "" {
		return err
	}
	file, err := config.Load(r.ConfigPath)
	if err != nil {
		return err
	}
	switch p, ok := file.Profiles[r.Name]; {
	case !ok:
		// A profile that login is about to create: what its name holds
		// belongs to a removed namesake, never to it.
		return nil
	case p.ID != "":
		// Given an id since r was resolved (another camctl moved them).
		r.ID = p.ID
		return nil
	}
	own, err := config.Resolve(config.Options{ConfigPath: r.ConfigPath, File: file, Profile: r.Name})
	if err != nil {
		return err
	}
	type moved struct {
		st  tier
		key config.Key
	}
	var done []moved
	id := config.NewProfileID()
	for _, key := range SecretKeys() {
		ts := s.tiers()
		for _, st := range ts.list {
			v, err := st.store.Get(ctx, s.legacyKey(r.Name, key))
			switch {
			case errors.Is(err, ErrNotFound) || ts.unreached(st, err):
				continue
			case err != nil:
				return fmt.Errorf("move the %s of profile %s to its id: %w", SecretName(key), r.Name, err)
			}
			bound, err := BoundOrigins(own, key)
			if err != nil {
				return fmt.Errorf("move the %s of profile %s to its id: %w", SecretName(key), r.Name, err)
			}
			env, err := encodeEnvelope(v, bound)
			if err != nil {
				return err
			}
			if err := st.store.Set(ctx, s.key(id, key), env); err != nil {
				return fmt.Errorf("move the %s of profile %s to its id: %w", SecretName(key), r.Name, err)
			}
			done = append(done, moved{st, key})
		}
	}
	got := id
	if err := config.Edit(ctx, r.ConfigPath, func(doc *config.Document) (err error) {
		got, err = doc.EnsureProfileID(r.Name, id)
		return err
	}); err != nil {
		return fmt.Errorf("give profile %s an id for its stored secrets: %w", r.Name, err)
	}
	if got != id {
		// Another camctl gave the profile an id meanwhile; its items are
		// the ones the profile reads. Ours are dropped.
		for _, d := range done {
			_ = d.st.store.Delete(ctx, s.key(id, d.key))
		}
		r.ID = got
		return nil
	}
	r.ID = id
	for _, d := range done {
		if err := d.st.store.Delete(ctx, s.legacyKey(r.Name, d.key)); err != nil {
			return fmt.Errorf("delete the %s of profile %s under its old name: %w", SecretName(d.key), r.Name, err)
		}
	}
	return nil
}

// MigrateProfile moves what profile r has stored under its name to an id
// (see migrate) before a rename would leave those items behind. It does
// nothing for a profile that has an id.
func (s *Secrets) MigrateProfile(ctx context.Context, r *config.Resolved) error {
	if r.ID != "" || r.Kind != config.KindFile {
		return nil
	}
	for _, key := range SecretKeys() {
		if err := s.migrate(ctx, r, key); err != nil {
			if passedOver(err) {
				continue
			}
			return err
		}
		if r.ID != "" {
			return nil
		}
	}
	return nil
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
	// Person: the secret is a person's sign-in (a refresh token), which
	// only a store can keep; the environment is no alternative.
	Person bool
}

func (e *NoKeyringError) Error() string {
	if e.Person {
		return fmt.Sprintf("cannot keep your sign-in: no OS keyring is available: %v.\n"+
			"A person's sign-in outlasts this command only through its refresh token, which camctl keeps in the OS keyring. "+
			"Pass --insecure-storage to keep it in a plain-text 0600 file instead, knowingly (anyone who can read that file can act as you until the sign-in expires).", e.Err)
	}
	return fmt.Sprintf("cannot store the secret: no OS keyring is available: %v.\n"+
		"Pass --insecure-storage to keep it in a plain-text 0600 file instead, or don't store it and give camctl the secret in the environment (CAMUNDA_* variables) when it runs.", e.Err)
}

func (e *NoKeyringError) Unwrap() error { return e.Err }

// Save stores a secret of profile r, which must have an id: in the OS
// keyring, or, with insecure, in the plain-text file. It is bound to
// the origins r sends it to (the ones login has just verified). It
// returns where it went.
func (s *Secrets) Save(ctx context.Context, r *config.Resolved, key config.Key, value string, insecure bool) (string, error) {
	if r.ID == "" {
		return "", fmt.Errorf("store %s of profile %s: the profile has no id yet", SecretName(key), r.Name)
	}
	bound, err := BoundOrigins(r, key)
	if err != nil {
		return "", err
	}
	env, err := encodeEnvelope(value, bound)
	if err != nil {
		return "", err
	}
	k := s.key(r.ID, key)
	if insecure {
		if err := s.File.Set(ctx, k, env); err != nil {
			return "", fmt.Errorf("store %s of profile %s: %w", SecretName(key), r.Name, err)
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
	if err := s.Keyring.Set(ctx, k, env); err != nil {
		if errors.Is(err, ErrUnavailable) {
			return "", &NoKeyringError{Err: err}
		}
		return "", fmt.Errorf("store %s of profile %s in the keyring: %w", SecretName(key), r.Name, err)
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

// DeleteProfile removes every stored secret of the profile with id and
// name from both stores: its items under the id, and any it still has
// under its name from before ids (so a namesake cannot find them). It
// reports what it removed; deleting what is not there is not an error. A
// keyring that cannot be reached in auto mode is reported as unreached,
// so the caller can say that secrets may be left there. Temporary copies
// of the secrets file that a killed camctl left are removed too.
func (s *Secrets) DeleteProfile(ctx context.Context, id, name string) (removed []string, unreached, err error) {
	var errs []error
	if t, ok := s.File.(interface{ Tidy(context.Context) error }); ok {
		if err := t.Tidy(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	type item struct {
		k   string
		key config.Key
	}
	var items []item
	for _, key := range SecretKeys() {
		if id != "" {
			items = append(items, item{s.key(id, key), key})
		}
		items = append(items, item{s.legacyKey(name, key), key})
	}
	for _, it := range items {
		k, key := it.k, it.key
		ts := s.tiers()
		for _, st := range ts.list {
			if _, err := st.store.Get(ctx, k); err != nil {
				switch {
				case errors.Is(err, ErrNotFound):
				case ts.unreached(st, err):
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

// tiers are the stores of s: a secret may be in the file under any mode
// (--insecure-storage put it there).
func (s *Secrets) tiers() tiers { return newTiers(s.Mode, s.Keyring, s.File, true) }

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
	case config.RefreshToken:
		return "refresh token"
	case config.AssertionKeystorePw:
		return "client assertion keystore password"
	case config.AssertionKeyPassword:
		return "client assertion key password"
	}
	return string(key)
}
