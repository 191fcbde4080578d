package auth

import (
	"context"
	"fmt"
	"sync"
)

// NewMemoryStore returns an empty store that lives in memory, for tests.
// It splits large values exactly as the keyring store does, so tests
// exercise the MaxItemSize limit on every platform.
func NewMemoryStore() SecretStore {
	return newChunkedStore(&memItems{items: map[string]string{}})
}

// NewFailingStore returns a store whose every call fails with err, to
// simulate a broken keyring. A nil err means ErrUnavailable.
func NewFailingStore(err error) SecretStore {
	if err == nil {
		err = ErrUnavailable
	}
	return failingStore{err: err}
}

// memItems is the raw item store under NewMemoryStore. It refuses items
// over MaxItemSize, as Windows Credential Manager does, so a chunking bug
// fails tests instead of passing silently on Linux.
type memItems struct {
	mu    sync.Mutex
	items map[string]string
}

func (m *memItems) Kind() string { return "memory" }

func (m *memItems) Get(ctx context.Context, key string) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := m.items[key]
	if !ok {
		return "", ErrNotFound
	}
	return v, nil
}

func (m *memItems) GetMany(ctx context.Context, keys []string) (map[string]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[string]string, len(keys))
	for _, key := range keys {
		if v, ok := m.items[key]; ok {
			out[key] = v
		}
	}
	return out, nil
}

func (m *memItems) Set(ctx context.Context, key, value string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if len(value) > MaxItemSize {
		return fmt.Errorf("memory item %q: %d bytes exceed MaxItemSize (%d)", key, len(value), MaxItemSize)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.items[key] = value
	return nil
}

func (m *memItems) Delete(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.items, key)
	return nil
}

type failingStore struct{ err error }

func (f failingStore) Kind() string                                { return "memory" }
func (f failingStore) Get(context.Context, string) (string, error) { return "", f.err }
func (f failingStore) GetMany(context.Context, []string) (map[string]string, error) {
	return nil, f.err
}
func (f failingStore) Set(context.Context, string, string) error { return f.err }
func (f failingStore) Delete(context.Context, string) error      { return f.err }
