package auth

import (
	"context"
	"errors"
)

// SecretStore keeps small secrets (passwords, client secrets, passphrases,
// later access tokens) under a key such as "profile/helm/password".
// Implementations: the OS keyring (service "camctl"), a 0600 file used only
// with --insecure-storage or CAMCTL_KEYRING=none, and memory for tests.
type SecretStore interface {
	// Get returns ErrNotFound when nothing is stored under key.
	Get(ctx context.Context, key string) (string, error)
	// GetMany reads several keys together, in as few round trips as the
	// store allows (one file read; for the Secret Service one search per
	// key and one GetSecrets for all). Keys with nothing stored are
	// absent from the map. Any other error fails the whole read: a run
	// that needs the secrets cannot go on with part of them.
	GetMany(ctx context.Context, keys []string) (map[string]string, error)
	Set(ctx context.Context, key, value string) error
	// Delete succeeds when nothing is stored under key.
	Delete(ctx context.Context, key string) error
	// Kind names the store for messages: "keyring", "file" or "memory".
	Kind() string
}

var (
	// ErrNotFound means the store works but holds nothing under the key.
	ErrNotFound = errors.New("secret not found")
	// ErrUnavailable means the store cannot be used at all (no Secret
	// Service, locked keyring, CAMCTL_KEYRING=none ...). Errors wrapping it
	// explain why.
	ErrUnavailable = errors.New("secret store unavailable")
	// ErrCorrupt means a file store's file cannot be read as a store, or
	// a value split over keyring items cannot be put together again.
	ErrCorrupt = errors.New("corrupt secret store")
)

// MaxItemSize is the largest value one keyring item may hold. Windows
// Credential Manager refuses blobs over 2,560 bytes; enforcing the smallest
// platform limit everywhere means Linux tests catch what Windows would
// refuse. Larger values are split over several items.
const MaxItemSize = 2560

// getOne is Get for a store whose reads all go through GetMany.
func getOne(ctx context.Context, s interface {
	GetMany(context.Context, []string) (map[string]string, error)
}, key string) (string, error) {
	got, err := s.GetMany(ctx, []string{key})
	if err != nil {
		return "", err
	}
	v, ok := got[key]
	if !ok {
		return "", ErrNotFound
	}
	return v, nil
}
