package auth

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/camctl/camctl/internal/atomicfile"
)

// Token is an access token with what camctl knows about its lifetime.
type Token struct {
	AccessToken string    `json:"access_token"`
	TokenType   string    `json:"token_type"`
	ExpiresAt   time.Time `json:"expires_at"`
	// ObtainedAt is when camctl received it; with ExpiresAt it gives the
	// lifetime that the refresh margin is a share of.
	ObtainedAt time.Time `json:"obtained_at"`
}

// refreshMargin is how long before expiry a token is replaced: 30 s, or
// 10 % of its lifetime if that is smaller (a 60 s token is used for 54 s).
func (t *Token) refreshMargin() time.Duration {
	m := 30 * time.Second
	if life := t.ExpiresAt.Sub(t.ObtainedAt); life > 0 && life/10 < m {
		m = life / 10
	}
	return m
}

// FreshAt reports whether the token can still be used at now: until
// less than the refresh margin is left, and never past MaxTokenTrust
// after it was obtained (a cache entry written before that cap, or with
// no time it was obtained, is not fresh).
func (t *Token) FreshAt(now time.Time) bool {
	return t != nil && t.AccessToken != "" && !t.ExpiresAt.IsZero() && !now.After(t.ExpiresAt.Add(-t.refreshMargin())) &&
		!now.After(t.ObtainedAt.Add(MaxTokenTrust))
}

// capped is t with its expiry no later than MaxTokenTrust after it was
// obtained, whatever expires_in or exp said.
func (t *Token) capped() *Token {
	if limit := t.ObtainedAt.Add(MaxTokenTrust); t.ExpiresAt.After(limit) {
		t.ExpiresAt = limit
	}
	return t
}

// TokenKey identifies the token a client gets from a token endpoint for
// one cluster. Profiles (and the environment) with the same key share a
// token; two client ids never do, and neither do two clusters: API is
// part of the key, so a token fetched for one address is never sent to
// another (spec §5), even when both use one client of one token endpoint.
type TokenKey struct {
	TokenURL string
	ClientID string
	Audience string
	Scope    string
	Resource string
	// API is the normalised REST base URL the token is sent to.
	API string
	// Subject is "" for a client's token; for a person's, who signed in
	// ("profile:<id>"): two people's tokens are never shared.
	Subject string
}

// ID is the key's name in the stores: a hash, because the parts can be
// long and contain characters a keyring account or file name should not.
func (k TokenKey) ID() string {
	parts := []string{k.TokenURL, k.ClientID, k.Audience, k.Scope, k.Resource}
	if k.API != "" {
		parts = append(parts, k.API)
	}
	if k.Subject != "" {
		parts = append(parts, "subject", k.Subject)
	}
	// Without API this is the id of camctl versions before API was part
	// of the key, which logout uses to delete those tokens too.
	b, _ := json.Marshal(parts)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
}

// TokenCache keeps access tokens between camctl runs: in the OS keyring
// when it is reachable, otherwise in a 0600 file under the cache dir.
// A lock file per key lets concurrent processes share one token request.
type TokenCache struct {
	Mode    KeyringMode
	Keyring SecretStore // nil with KeyringNone
	File    SecretStore
	// Dir is the cache directory (lock files live in Dir/locks).
	Dir string
}

// NewTokenCache returns the cache in dir. Without a dir (none could be
// found, or it is not safe to use) it is the keyring alone, without the
// file and without locks: never a tokens.json relative to the working
// directory.
func NewTokenCache(mode KeyringMode, keyring SecretStore, dir string) *TokenCache {
	c := &TokenCache{Mode: mode, Keyring: keyring, Dir: dir}
	if dir != "" {
		// A damaged tokens.json reads as empty: tokens can be fetched again.
		c.File = newCacheFileStore(filepath.Join(dir, "tokens.json"))
	}
	return c
}

func tokenStoreKey(k TokenKey) string { return "token/" + k.ID() }

// Get returns the cached token for k (nil if none) and where it was.
func (c *TokenCache) Get(ctx context.Context, k TokenKey) (*Token, string, error) {
	var t Token
	// A damaged entry is as good as none; the next Put replaces it. So
	// is one that could not be sent (written by a build that did not
	// check, or by someone else).
	valid := func(v string) bool {
		t = Token{}
		return json.Unmarshal([]byte(v), &t) == nil && CheckAccessToken(t.AccessToken) == nil
	}
	_, at, _, err := c.tiers().get(ctx, tokenStoreKey(k), valid)
	if err != nil {
		return nil, "", fmt.Errorf("read the cached token: %w", err)
	}
	if at.where == "" {
		return nil, "", nil
	}
	return &t, at.where, nil
}

// Put caches t for k: in the keyring if it answers, else in the file.
func (c *TokenCache) Put(ctx context.Context, k TokenKey, t *Token) (string, error) {
	// #nosec G117 -- serialising the token is the point: it goes to the keyring or the private 0600 cache file.
	b, err := json.Marshal(t)
	if err != nil {
		return "", err
	}
	key := tokenStoreKey(k)
	var errs []error
	for _, st := range c.tiers().list {
		err := st.store.Set(ctx, key, string(b))
		if err == nil {
			return st.where, nil
		}
		if st.where == InKeyring && c.Mode == KeyringSystem {
			return "", fmt.Errorf("cache the token in the OS keyring: %w", err)
		}
		errs = append(errs, err)
	}
	return "", fmt.Errorf("cache the token: %w", errors.Join(errs...))
}

// Delete removes the cached token for k from every store; it reports
// whether there was one.
func (c *TokenCache) Delete(ctx context.Context, k TokenKey) (bool, error) {
	key := tokenStoreKey(k)
	found := false
	var errs []error
	ts := c.tiers()
	for _, st := range ts.list {
		if _, err := st.store.Get(ctx, key); err != nil {
			if errors.Is(err, ErrNotFound) && st.where == InFile {
				// A damaged file reads as empty, but Delete still resets
				// it: the token may be in its unreadable bytes.
				if err := st.store.Delete(ctx, key); err != nil {
					errs = append(errs, err)
				}
				continue
			}
			if !errors.Is(err, ErrNotFound) && !ts.unreached(st, err) {
				errs = append(errs, err)
			}
			continue
		}
		found = true
		if err := st.store.Delete(ctx, key); err != nil {
			errs = append(errs, err)
		}
	}
	return found, errors.Join(errs...)
}

// Lock serialises token requests for k across processes. The kernel
// drops the lock of a process that dies, so a killed camctl never blocks
// the next one.
func (c *TokenCache) Lock(ctx context.Context, k TokenKey) (func(), error) {
	if c.Dir == "" {
		return nil, errors.New("no cache directory to hold token locks")
	}
	return atomicfile.Lock(ctx, filepath.Join(c.Dir, "locks", k.ID()))
}

// tiers are the stores of c: under KeyringSystem the keyring alone, so
// that a required keyring is never quietly replaced by the file.
func (c *TokenCache) tiers() tiers { return newTiers(c.Mode, c.Keyring, c.File, false) }
