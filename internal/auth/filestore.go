package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"runtime"

	"github.com/camctl/camctl/internal/atomicfile"
)

// NewFileStore returns a store that keeps secrets in plain text as a JSON
// object {"key": "value"} in path (mode 0600, directory 0700). It is meant
// only for --insecure-storage and CAMCTL_KEYRING=none. Every change is a
// locked read-modify-write with an atomic rename, so concurrent camctl
// processes never lose each other's secrets. Values are not chunked: the
// file has no item size limit.
func NewFileStore(path string) SecretStore {
	return &fileStore{path: path}
}

// newCacheFileStore returns a file store for data that can be fetched
// again (access tokens): content that is not a store (a full disk, a
// hand edit) reads as empty, and the next change replaces it, inside the
// lock, instead of every later run failing until someone removes it.
func newCacheFileStore(path string) SecretStore {
	return &fileStore{path: path, discardDamaged: true}
}

type fileStore struct {
	path string
	// discardDamaged makes damaged content an empty store rather than
	// ErrCorrupt. Secrets keep the error: they cannot be fetched again,
	// so the user must see the damage and may still repair the file.
	discardDamaged bool
}

func (f *fileStore) Kind() string { return "file" }

func (f *fileStore) Get(ctx context.Context, key string) (string, error) {
	return getOne(ctx, f, key)
}

// GetMany reads the file once for all keys.
func (f *fileStore) GetMany(ctx context.Context, keys []string) (map[string]string, error) {
	for _, key := range keys {
		if err := checkKey(key); err != nil {
			return nil, err
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	out := make(map[string]string, len(keys))
	// No lock: writers replace the file by rename, so a reader always
	// sees one complete version. ReadPrivate refuses a symlink or a file
	// another user planted.
	data, err := atomicfile.ReadPrivate(f.path)
	if errors.Is(err, os.ErrNotExist) {
		return out, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read secrets file: %w", err)
	}
	if err := f.checkPrivate(); err != nil {
		return nil, err
	}
	secrets, _, err := f.decode(data)
	if err != nil {
		return nil, err
	}
	for _, key := range keys {
		if v, ok := secrets[key]; ok {
			out[key] = v
		}
	}
	return out, nil
}

// checkPrivate refuses a secrets file that the group or other users may
// read, as ssh refuses such a key: its secrets may already be known to
// others. (A write replaces the file with mode 0600, so logging in again
// fixes it too.) The token cache is not refused: its tokens expire, and
// it is rewritten 0600 on the next token.
func (f *fileStore) checkPrivate() error {
	if f.discardDamaged || runtime.GOOS == "windows" {
		return nil
	}
	fi, err := os.Lstat(f.path)
	if err != nil {
		return fmt.Errorf("read secrets file: %w", err)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return &atomicfile.UnsafeError{Path: f.path, Reason: fmt.Sprintf("other users may read it (mode %04o), so its secrets may be known to them", uint32(perm)),
			Fix: fmt.Sprintf("run chmod 600 %s if you trust it, or log in again (`camctl login -p NAME --insecure-storage` rewrites it 0600)", f.path)}
	}
	return nil
}

// Tidy removes temporary copies of the file that a killed camctl left.
func (f *fileStore) Tidy(ctx context.Context) error {
	return atomicfile.Tidy(ctx, f.path)
}

func (f *fileStore) Set(ctx context.Context, key, value string) error {
	if err := checkKey(key); err != nil {
		return err
	}
	return atomicfile.Update(ctx, f.path, atomicfile.Private, func(current []byte) ([]byte, error) {
		secrets, _, err := f.decode(current)
		if err != nil {
			return nil, err
		}
		secrets[key] = value
		return encodeSecrets(secrets)
	})
}

func (f *fileStore) Delete(ctx context.Context, key string) error {
	if err := checkKey(key); err != nil {
		return err
	}
	// Deleting from a file that does not exist must not create it (nor
	// its directory and lock file).
	if _, err := os.Lstat(f.path); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return atomicfile.Update(ctx, f.path, atomicfile.Private, func(current []byte) ([]byte, error) {
		secrets, damaged, err := f.decode(current)
		if err != nil {
			return nil, err
		}
		if _, ok := secrets[key]; !ok && !damaged {
			return nil, nil // leave the file untouched
		}
		// A damaged file is rewritten too: what is being deleted may be
		// somewhere in its unreadable bytes.
		delete(secrets, key)
		return encodeSecrets(secrets)
	})
}

// decode parses the file content; nil or empty content is an empty store.
// damaged reports content that is not a store, which is an empty store
// with discardDamaged and ErrCorrupt without. The JSON error is not
// wrapped: its text can quote bytes of the file, and those bytes may be a
// secret.
func (f *fileStore) decode(data []byte) (secrets map[string]string, damaged bool, err error) {
	secrets = map[string]string{}
	if len(data) == 0 {
		return secrets, false, nil
	}
	if err := json.Unmarshal(data, &secrets); err != nil {
		if f.discardDamaged {
			return map[string]string{}, true, nil
		}
		where := ""
		if se, ok := errors.AsType[*json.SyntaxError](err); ok {
			where = fmt.Sprintf(" (syntax error at byte %d)", se.Offset)
		}
		return nil, true, fmt.Errorf("%w: file %s: want a JSON object of strings%s; fix or remove it", ErrCorrupt, f.path, where)
	}
	if secrets == nil { // the file held JSON null
		secrets = map[string]string{}
	}
	return secrets, false, nil
}

func encodeSecrets(secrets map[string]string) ([]byte, error) {
	data, err := json.MarshalIndent(secrets, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode secrets: %w", err)
	}
	return append(data, '\n'), nil
}
