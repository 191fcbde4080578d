package auth

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Chunk format
//
// No single item written to a backing store exceeds MaxItemSize bytes, so a
// value that fits on Linux also fits in Windows Credential Manager and the
// macOS keychain. chunkedStore maps one secret onto items like this.
//
// A value of at most MaxItemSize bytes that does not start with chunkPrefix
// is stored as-is under key, so `secret-tool lookup service camctl username
// <key>` shows the plain secret.
//
// Any other value is split into n parts of at most MaxItemSize bytes, stored
// under "<key>#1" .. "<key>#n", and key holds the marker
//
//	camctl:chunked:v1:<n>:<sum>
//
// where <sum> is the first 16 hex digits of the SHA-256 of the whole value.
// Parts are cut at byte offsets (every backend stores bytes), so a part may
// end inside a UTF-8 sequence.
//
// Set writes the parts before the marker and Delete removes the parts before
// the marker, so an interrupted Delete leaves a marker whose parts are
// missing: Get reports that as an error and a repeated Delete finishes the
// job. The checksum turns a value assembled from parts of two different
// writes (two processes racing, a crash half-way through Set) into an error
// rather than a wrong secret. An interrupted Set may leave parts that no
// marker references; the next chunked Set of that key overwrites them.
const (
	chunkPrefix   = "camctl:chunked:"
	chunkVersion  = "v1"
	partSeparator = "#"
	// maxParts bounds a secret at 100 KiB: camctl stores passwords, client
	// secrets and tokens, and a corrupt marker must not make Get issue
	// thousands of keyring calls.
	maxParts = 40
)

// chunkedStore enforces MaxItemSize over a raw store that keeps one item
// per key and has no size handling of its own.
type chunkedStore struct {
	raw SecretStore
}

func newChunkedStore(raw SecretStore) SecretStore {
	return &chunkedStore{raw: raw}
}

func (s *chunkedStore) Kind() string { return s.raw.Kind() }

func (s *chunkedStore) Get(ctx context.Context, key string) (string, error) {
	return getOne(ctx, s, key)
}

// GetMany reads the keys' items in one raw read, then the parts of every
// chunked value among them in a second one: a value split over n items
// costs two reads, not n+1.
func (s *chunkedStore) GetMany(ctx context.Context, keys []string) (map[string]string, error) {
	for _, key := range keys {
		if err := checkKey(key); err != nil {
			return nil, err
		}
	}
	heads, err := s.raw.GetMany(ctx, keys)
	if err != nil {
		return nil, err
	}
	type split struct {
		key string
		n   int
		sum string
	}
	out := make(map[string]string, len(keys))
	var splits []split
	var parts []string
	for _, key := range keys {
		head, ok := heads[key]
		if !ok {
			continue
		}
		if !strings.HasPrefix(head, chunkPrefix) {
			out[key] = head
			continue
		}
		n, sum, err := parseMarker(head)
		if errors.Is(err, errNewerChunkFormat) {
			// Not ErrCorrupt, whose hint is to store the secret again: that
			// would overwrite what a newer camctl stored.
			return nil, fmt.Errorf("%s secret %q: %w", s.raw.Kind(), key, err)
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %s secret %q: %w", ErrCorrupt, s.raw.Kind(), key, err)
		}
		splits = append(splits, split{key, n, sum})
		for i := 1; i <= n; i++ {
			parts = append(parts, partKey(key, i))
		}
	}
	if len(splits) == 0 {
		return out, nil
	}
	got, err := s.raw.GetMany(ctx, parts)
	if err != nil {
		return nil, err
	}
	for _, sp := range splits {
		var b strings.Builder
		for i := 1; i <= sp.n; i++ {
			part, ok := got[partKey(sp.key, i)]
			if !ok {
				// Not ErrNotFound: the secret exists but is damaged, and
				// callers must not treat it as "never stored".
				return nil, fmt.Errorf("%w: %s secret %q is split over %d items but item %q is missing",
					ErrCorrupt, s.raw.Kind(), sp.key, sp.n, partKey(sp.key, i))
			}
			b.WriteString(part)
		}
		value := b.String()
		if checksum(value) != sp.sum {
			return nil, fmt.Errorf("%w: %s secret %q: its %d parts do not match their checksum (written by two processes at once?)",
				ErrCorrupt, s.raw.Kind(), sp.key, sp.n)
		}
		out[sp.key] = value
	}
	return out, nil
}

func (s *chunkedStore) Set(ctx context.Context, key, value string) error {
	if err := checkKey(key); err != nil {
		return err
	}
	oldParts, err := s.partCount(ctx, key)
	if err != nil {
		return err
	}
	if len(value) <= MaxItemSize && !strings.HasPrefix(value, chunkPrefix) {
		if err := s.raw.Set(ctx, key, value); err != nil {
			return err
		}
		return s.deleteParts(ctx, key, 1, oldParts)
	}

	n := (len(value) + MaxItemSize - 1) / MaxItemSize
	if n > maxParts {
		return fmt.Errorf("secret %q is %d bytes; at most %d fit in the %s store", key, len(value), maxParts*MaxItemSize, s.raw.Kind())
	}
	for i := 1; i <= n; i++ {
		part := value[(i-1)*MaxItemSize : min(i*MaxItemSize, len(value))]
		if err := s.raw.Set(ctx, partKey(key, i), part); err != nil {
			return err
		}
	}
	marker := fmt.Sprintf("%s%s:%d:%s", chunkPrefix, chunkVersion, n, checksum(value))
	if err := s.raw.Set(ctx, key, marker); err != nil {
		return err
	}
	return s.deleteParts(ctx, key, n+1, oldParts)
}

func (s *chunkedStore) Delete(ctx context.Context, key string) error {
	if err := checkKey(key); err != nil {
		return err
	}
	n, err := s.partCount(ctx, key)
	if err != nil {
		return err
	}
	if err := s.deleteParts(ctx, key, 1, n); err != nil {
		return err
	}
	return s.raw.Delete(ctx, key)
}

// partCount returns how many parts the value now stored under key uses:
// 0 for a plain value or none.
func (s *chunkedStore) partCount(ctx context.Context, key string) (int, error) {
	head, err := s.raw.Get(ctx, key)
	if errors.Is(err, ErrNotFound) || (err == nil && !strings.HasPrefix(head, chunkPrefix)) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	n, _, err := parseMarker(head)
	if err != nil {
		// An unreadable marker (say, from a newer camctl) names no parts
		// we could clean up; overwriting or deleting it is still fine.
		return 0, nil
	}
	return n, nil
}

func (s *chunkedStore) deleteParts(ctx context.Context, key string, from, to int) error {
	for i := from; i <= to; i++ {
		if err := s.raw.Delete(ctx, partKey(key, i)); err != nil {
			return err
		}
	}
	return nil
}

// errNewerChunkFormat is a marker this camctl does not know: a newer one
// wrote it, and it is not to be overwritten as if damaged.
var errNewerChunkFormat = errors.New("stored in an unknown chunk format (written by a newer camctl?)")

func parseMarker(marker string) (n int, sum string, err error) {
	fields := strings.Split(strings.TrimPrefix(marker, chunkPrefix), ":")
	if len(fields) != 3 || fields[0] != chunkVersion {
		return 0, "", errNewerChunkFormat
	}
	n, err = strconv.Atoi(fields[1])
	if err != nil || n < 1 || n > maxParts {
		return 0, "", errors.New("chunk marker has an invalid part count")
	}
	return n, fields[2], nil
}

func partKey(key string, i int) string {
	return key + partSeparator + strconv.Itoa(i)
}

func checksum(value string) string {
	sum := sha256.Sum256([]byte(value))
	return hex.EncodeToString(sum[:8])
}

// checkKey rejects keys that could collide with another key's parts. Every
// store applies it so a key that works with one store works with all.
func checkKey(key string) error {
	if key == "" {
		return errors.New("empty secret key")
	}
	if strings.Contains(key, partSeparator) {
		return fmt.Errorf("invalid secret key %q: it must not contain %q", key, partSeparator)
	}
	return nil
}
