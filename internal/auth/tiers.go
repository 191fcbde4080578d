package auth

import (
	"context"
	"errors"
)

// tier is one store of a tiered lookup, and where it is for messages.
type tier struct {
	store SecretStore
	where string // InKeyring or InFile
}

// tiers are the stores a mode allows, the OS keyring first. Secrets and
// the token cache both read, write and delete through them, so that the
// order and what an unreachable keyring means are decided here alone.
type tiers struct {
	mode KeyringMode
	list []tier
}

// newTiers returns the keyring (unless mode is KeyringNone) and then the
// file. fileUnderSystem says whether the file is a tier under
// KeyringSystem too: a stored secret may be there from
// --insecure-storage, but a cached token must not fall back to it.
func newTiers(mode KeyringMode, keyring, file SecretStore, fileUnderSystem bool) tiers {
	t := tiers{mode: mode}
	if mode != KeyringNone && keyring != nil {
		t.list = append(t.list, tier{keyring, InKeyring})
	}
	if file != nil && (fileUnderSystem || mode != KeyringSystem) {
		t.list = append(t.list, tier{file, InFile})
	}
	return t
}

// unreached reports the one failure a lookup passes over: in auto mode
// an OS keyring that cannot be asked at all holds nothing usable now
// (with CAMCTL_KEYRING=system that is an error of its own).
func (t tiers) unreached(at tier, err error) bool {
	return at.where == InKeyring && t.mode == KeyringAuto && errors.Is(err, ErrUnavailable)
}

// get reads k from each tier in turn and returns the first value that
// accept takes (nil takes any), with its tier. A keyring passed over
// (unreached) is returned as unreachable when nothing is found; any
// other error but ErrNotFound ends the lookup, with the tier it came from.
func (t tiers) get(ctx context.Context, k string, accept func(string) bool) (v string, at tier, unreachable, err error) {
	for _, st := range t.list {
		v, err := st.store.Get(ctx, k)
		switch {
		case errors.Is(err, ErrNotFound):
			continue
		case t.unreached(st, err):
			unreachable = err
			continue
		case err != nil:
			return "", st, nil, err
		case accept != nil && !accept(v):
			continue
		}
		return v, st, nil, nil
	}
	return "", tier{}, unreachable, nil
}

// passedOver reports an error that carries a keyring the lookup passed
// over (see unreached): nothing was found, and the keyring was not asked.
// A SecretReadError is not one: that keyring answered, or was required.
func passedOver(err error) bool {
	var sre *SecretReadError
	return errors.Is(err, ErrUnavailable) && !errors.As(err, &sre)
}
