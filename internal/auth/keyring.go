package auth

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/zalando/go-keyring"
)

// Defaults for KeyringOptions.
const (
	DefaultKeyringService = "camctl"
	// DefaultKeyringTimeout suits non-interactive calls. A command where
	// the user may have to type a keyring unlock password (login) should
	// pass a longer Timeout: 3 s is too short for that (cli/cli#11005).
	DefaultKeyringTimeout = 3 * time.Second
)

// KeyringOptions configure NewKeyringStore. The zero value is ready to use.
type KeyringOptions struct {
	// Service is the keyring service name items are stored under;
	// default "camctl". Tests use their own name so they never touch a
	// developer's real secrets.
	Service string
	// Timeout bounds every single keyring call; default 3 s. A read of
	// several keys at once (GetMany) is one call; a value over
	// MaxItemSize takes two (its marker, then all its parts, see chunk.go).
	Timeout time.Duration
	// Getenv looks up the environment for the session bus check; default
	// os.Getenv. Tests inject their own. go-keyring itself always reads
	// the real environment.
	Getenv func(string) string
	// Backend replaces the OS keyring, so that tests outside this package
	// can run the store (timeouts included) on a keyring that hangs,
	// is locked or answers garbage; nil means the OS keyring (on Linux
	// reads go straight to the Secret Service, see secretservice_linux.go;
	// everything else goes through go-keyring).
	Backend KeyringBackend
}

// NewKeyringStore returns a store backed by the OS keyring through
// github.com/zalando/go-keyring: Secret Service on Linux, Keychain on macOS,
// Credential Manager on Windows. Values over MaxItemSize are split over
// several items (see chunk.go).
//
// Nothing is checked or contacted until the first call. On Linux that call
// first verifies that a D-Bus session bus exists (checkSessionBus);
// without one every call fails with ErrUnavailable.
//
// Every keyring call gives up after the Timeout or when ctx ends; a call
// that timed out leaves its goroutine blocked inside go-keyring, which has
// no way to cancel it, and makes later calls on the same store fail at once.
func NewKeyringStore(opts KeyringOptions) SecretStore {
	if opts.Backend == nil {
		return newKeyringStore(opts, newOSKeyring())
	}
	return newKeyringStore(opts, opts.Backend)
}

// KeyringBackend is the part of go-keyring the store uses, so tests can
// substitute a fake or a hanging keyring without go-keyring's global mock.
type KeyringBackend interface {
	Get(service, user string) (string, error)
	Set(service, user, password string) error
	Delete(service, user string) error
}

// manyGetter is a backend that reads several items in fewer round trips
// than one Get each. Backends without it are asked one key at a time.
type manyGetter interface {
	// GetMany returns the values of the users' items; users without an
	// item are absent.
	GetMany(service string, users []string) (map[string]string, error)
}

type goKeyring struct{}

func (goKeyring) Get(service, user string) (string, error) { return keyring.Get(service, user) }
func (goKeyring) Set(service, user, pw string) error       { return keyring.Set(service, user, pw) }
func (goKeyring) Delete(service, user string) error        { return keyring.Delete(service, user) }

func newKeyringStore(opts KeyringOptions, backend KeyringBackend) SecretStore {
	if opts.Service == "" {
		opts.Service = DefaultKeyringService
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultKeyringTimeout
	}
	if opts.Getenv == nil {
		opts.Getenv = os.Getenv
	}
	return newChunkedStore(&keyringItems{opts: opts, backend: backend})
}

// keyringItems is the raw item store under NewKeyringStore: one keyring
// item per key, account name = key.
type keyringItems struct {
	opts    KeyringOptions
	backend KeyringBackend

	reachOnce sync.Once
	reachErr  error

	mu sync.Mutex
	// stuck is the timeout error of an earlier call. That call is still
	// blocked in go-keyring; asking again would only wait once more.
	stuck error
}

func (k *keyringItems) Kind() string { return "keyring" }

func (k *keyringItems) Get(ctx context.Context, key string) (string, error) {
	return getOne(ctx, k, key)
}

// GetMany reads all keys in one keyring call (one Timeout).
func (k *keyringItems) GetMany(ctx context.Context, keys []string) (map[string]string, error) {
	if len(keys) == 0 {
		return map[string]string{}, nil
	}
	label := strings.Join(keys, `", "`)
	return keyringCall(ctx, k, "get", label, func() (map[string]string, error) {
		if mg, ok := k.backend.(manyGetter); ok {
			return mg.GetMany(k.opts.Service, keys)
		}
		out := make(map[string]string, len(keys))
		for _, key := range keys {
			v, err := k.backend.Get(k.opts.Service, key)
			switch {
			case errors.Is(err, keyring.ErrNotFound):
			case err != nil:
				return nil, err
			default:
				out[key] = v
			}
		}
		return out, nil
	})
}

func (k *keyringItems) Set(ctx context.Context, key, value string) error {
	if len(value) > MaxItemSize {
		// chunkedStore never does this; refuse rather than rely on each
		// platform's own (different) limit.
		return fmt.Errorf("keyring item %q: %d bytes exceed MaxItemSize (%d)", key, len(value), MaxItemSize)
	}
	_, err := keyringCall(ctx, k, "set", key, func() (struct{}, error) {
		return struct{}{}, k.backend.Set(k.opts.Service, key, value)
	})
	return err
}

func (k *keyringItems) Delete(ctx context.Context, key string) error {
	_, err := keyringCall(ctx, k, "delete", key, func() (struct{}, error) {
		return struct{}{}, k.backend.Delete(k.opts.Service, key)
	})
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	return err
}

// keyringCall runs fn (one go-keyring call) in a goroutine so that a
// keyring that never answers (go-keyring waits for D-Bus prompts without
// a timeout, zalando/go-keyring#88) cannot hang camctl.
func keyringCall[T any](ctx context.Context, k *keyringItems, op, key string, fn func() (T, error)) (T, error) {
	var zero T
	k.reachOnce.Do(func() {
		k.reachErr = checkSessionBus(k.opts.Getenv, uidRuntimeDir())
	})
	if k.reachErr != nil {
		return zero, k.reachErr
	}
	if ctx.Err() != nil {
		return zero, context.Cause(ctx)
	}
	k.mu.Lock()
	stuck := k.stuck
	k.mu.Unlock()
	if stuck != nil {
		return zero, stuck
	}

	timeoutErr := fmt.Errorf("%w: the OS keyring did not answer within %s",
		ErrUnavailable, k.opts.Timeout)
	ctx, cancel := context.WithTimeoutCause(ctx, k.opts.Timeout, timeoutErr)
	defer cancel()

	type result struct {
		v   T
		err error
	}
	done := make(chan result, 1) // buffered: an abandoned call must not block forever on send
	go func() {
		v, err := fn()
		done <- result{v, err}
	}()
	select {
	case r := <-done:
		switch {
		case r.err == nil:
			return r.v, nil
		case errors.Is(r.err, keyring.ErrNotFound):
			return zero, ErrNotFound
		default:
			// Keep go-keyring's text: "failed to unlock correct
			// collection ..." tells the user what is wrong.
			return zero, fmt.Errorf("%w: keyring %s \"%s\": %w", ErrUnavailable, op, key, r.err)
		}
	case <-ctx.Done():
		err := context.Cause(ctx)
		if err == timeoutErr {
			k.mu.Lock()
			k.stuck = err
			k.mu.Unlock()
		}
		return zero, err
	}
}
