package auth

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"
)

func TestTokenFreshAt(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	token := func(lifetime time.Duration) *Token {
		return &Token{AccessToken: "tok", TokenType: "Bearer", ObtainedAt: t0, ExpiresAt: t0.Add(lifetime)}
	}
	tests := []struct {
		name  string
		token *Token
		now   time.Time
		want  bool
	}{
		// 300 s: 10 % is 30 s, the margin is 30 s.
		{"300s token just obtained", token(300 * time.Second), at(0), true},
		{"300s token at 269s", token(300 * time.Second), at(269), true},
		{"300s token at 271s", token(300 * time.Second), at(271), false},
		{"300s token after expiry", token(300 * time.Second), at(301), false},
		// 1 h: 10 % would be 6 min, the margin stays 30 s.
		{"1h token at 3569s", token(time.Hour), at(3569), true},
		{"1h token at 3571s", token(time.Hour), at(3571), false},
		// 200 s: 10 % is 20 s, smaller than 30 s; used for 180 s.
		{"200s token at 179s", token(200 * time.Second), at(179), true},
		{"200s token at 181s", token(200 * time.Second), at(181), false},
		// 60 s: 10 % is 6 s, smaller than 30 s; used for 54 s.
		{"60s token at 53s", token(60 * time.Second), at(53), true},
		{"60s token at 55s", token(60 * time.Second), at(55), false},
		// 20 s: a 30 s margin would make it stale at once; 10 % is 2 s.
		{"20s token at 17s", token(20 * time.Second), at(17), true},
		{"20s token at 19s", token(20 * time.Second), at(19), false},
		{"zero expiry", &Token{AccessToken: "tok", ObtainedAt: t0}, at(0), false},
		{"zero expiry, zero now", &Token{AccessToken: "tok"}, time.Time{}, false},
		{"nil token", nil, at(0), false},
		{"empty access token", &Token{ObtainedAt: t0, ExpiresAt: at(3600)}, at(0), false},
		// Unknown obtained time (say, a token from an older cache entry):
		// the 24 h trust cap cannot be checked, so it is not fresh.
		{"unknown obtained time, 31s left", &Token{AccessToken: "tok", ExpiresAt: at(31)}, at(0), false},
		// Trusted for 24 h at most, whatever the expiry says (spec §5).
		{"obtained 23h59m ago, expiry far ahead", &Token{AccessToken: "tok", ObtainedAt: t0, ExpiresAt: at(100 * 24 * 3600)}, at(24*3600 - 60), true},
		{"obtained 24h1s ago, expiry far ahead", &Token{AccessToken: "tok", ObtainedAt: t0, ExpiresAt: at(100 * 24 * 3600)}, at(24*3600 + 1), false},
		{"unknown obtained time, 29s left", &Token{AccessToken: "tok", ExpiresAt: at(29)}, at(0), false},
		{"expiry before obtained time", &Token{AccessToken: "tok", ObtainedAt: at(100), ExpiresAt: at(50)}, at(0), true},
		{"expiry before obtained time, 29s left", &Token{AccessToken: "tok", ObtainedAt: at(100), ExpiresAt: at(50)}, at(21), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.token.FreshAt(tt.now); got != tt.want {
				t.Errorf("FreshAt(%v) of %+v = %v, want %v", tt.now.Sub(t0), tt.token, got, tt.want)
			}
		})
	}
}

func TestTokenKeyID(t *testing.T) {
	base := TokenKey{
		TokenURL: "https://login.cloud.camunda.io/oauth/token",
		ClientID: "camctl-ci",
		Audience: "zeebe.camunda.io",
		Scope:    "read write",
		Resource: "https://api.example",
		API:      "https://bru-2.zeebe.camunda.io/0a1b/v2",
	}
	id := base.ID()
	if !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(id) {
		t.Fatalf("ID() = %q, want 32 lower-case hex digits (safe as a file name and keyring account)", id)
	}
	copyOf := base
	if copyOf.ID() != id || base.ID() != id {
		t.Fatalf("ID() is not stable: %q, %q, %q", id, base.ID(), copyOf.ID())
	}
	// The ID names entries written by earlier camctl runs: if it changed
	// between versions, every user would refetch and leave the old
	// entries behind in the keyring. Pin it. (Keys of versions before API
	// was part of the key keep their id, so that logout can find them.)
	saas := TokenKey{TokenURL: "https://login.cloud.camunda.io/oauth/token", ClientID: "camctl-ci", Audience: "zeebe.camunda.io"}
	if got, want := saas.ID(), "189449cf09b3407f650157b5e5aa5daa"; got != want {
		t.Errorf("ID() of %+v = %s, want %s (cached tokens of earlier versions would be orphaned)", saas, got, want)
	}

	change := []struct {
		name string
		key  TokenKey
	}{
		{"token URL", func() TokenKey { k := base; k.TokenURL += "2"; return k }()},
		{"token URL trailing slash", func() TokenKey { k := base; k.TokenURL += "/"; return k }()},
		{"client id", func() TokenKey { k := base; k.ClientID = "camctl-ci2"; return k }()},
		{"client id case", func() TokenKey { k := base; k.ClientID = "Camctl-CI"; return k }()},
		{"audience", func() TokenKey { k := base; k.Audience = "operate-api"; return k }()},
		{"no audience", func() TokenKey { k := base; k.Audience = ""; return k }()},
		{"scope", func() TokenKey { k := base; k.Scope = "read"; return k }()},
		{"no scope", func() TokenKey { k := base; k.Scope = ""; return k }()},
		{"resource", func() TokenKey { k := base; k.Resource = "https://other.example"; return k }()},
		{"no resource", func() TokenKey { k := base; k.Resource = ""; return k }()},
		{"API address", func() TokenKey { k := base; k.API = "https://bru-2.zeebe.camunda.io/9f8e/v2"; return k }()},
		{"API host", func() TokenKey { k := base; k.API = "https://other.example/v2"; return k }()},
		// Parts that run into each other must not collide.
		{"client id moved into audience", func() TokenKey { k := base; k.ClientID, k.Audience = "camctl-cizeebe", ".camunda.io"; return k }()},
		{"audience and scope swapped", func() TokenKey { k := base; k.Audience, k.Scope = k.Scope, k.Audience; return k }()},
	}
	seen := map[string]string{id: "base"}
	for _, c := range change {
		t.Run(c.name, func(t *testing.T) {
			got := c.key.ID()
			if other, dup := seen[got]; dup {
				t.Fatalf("ID of %+v = %s, the same as for %s", c.key, got, other)
			}
			seen[got] = c.name
			if got != c.key.ID() {
				t.Errorf("ID() of %+v is not stable", c.key)
			}
		})
	}
}

// cacheToken is a token as OIDC would cache it, valid for an hour.
func cacheToken(access string) *Token {
	now := time.Now().UTC().Truncate(time.Second)
	return &Token{AccessToken: access, TokenType: "Bearer", ObtainedAt: now, ExpiresAt: now.Add(time.Hour)}
}

// rawGet reads the stored text of k's token directly from a store.
func rawGet(t *testing.T, s SecretStore, k TokenKey) (string, bool) {
	t.Helper()
	if s == nil {
		return "", false
	}
	v, err := s.Get(t.Context(), tokenStoreKey(k))
	switch {
	case errors.Is(err, ErrNotFound):
		return "", false
	case err != nil:
		t.Fatalf("raw read of %s from %s store: %v", tokenStoreKey(k), s.Kind(), err)
	}
	return v, true
}

var testKey = TokenKey{TokenURL: "https://idp.example/token", ClientID: "camctl-ci", Audience: "orchestration-api"}

func TestTokenCacheWhere(t *testing.T) {
	tests := []struct {
		name    string
		mode    KeyringMode
		keyring func() SecretStore // nil: no keyring store at all
		want    string             // where Put and Get say the token is
		wantErr bool               // Put and Get fail
	}{
		{"auto with keyring", KeyringAuto, NewMemoryStore, InKeyring, false},
		{"system with keyring", KeyringSystem, NewMemoryStore, InKeyring, false},
		{"none ignores the keyring", KeyringNone, NewMemoryStore, InFile, false},
		{"none without keyring", KeyringNone, nil, InFile, false},
		{"auto without keyring store", KeyringAuto, nil, InFile, false},
		{"auto with unavailable keyring", KeyringAuto, func() SecretStore { return NewFailingStore(ErrUnavailable) }, InFile, false},
		{"system with unavailable keyring", KeyringSystem, func() SecretStore { return NewFailingStore(ErrUnavailable) }, "", true},
		{"system with broken keyring", KeyringSystem, func() SecretStore { return NewFailingStore(errors.New("dbus: no reply")) }, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := t.Context()
			dir := filepath.Join(t.TempDir(), "cache", "camctl")
			var kr SecretStore
			if tt.keyring != nil {
				kr = tt.keyring()
			}
			c := NewTokenCache(tt.mode, kr, dir)
			tok := cacheToken("tok-where")

			where, err := c.Put(ctx, testKey, tok)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("Put = %q, nil; want an error (mode %s, keyring unusable)", where, tt.mode)
				}
				if _, statErr := os.Stat(filepath.Join(dir, "tokens.json")); statErr == nil {
					t.Errorf("Put failed but wrote tokens.json: mode system must never fall back to the file")
				}
				if got, _, err := c.Get(ctx, testKey); err == nil {
					t.Errorf("Get = %+v, nil; want an error in mode system with an unusable keyring", got)
				}
				return
			}
			if err != nil {
				t.Fatalf("Put: %v", err)
			}
			if where != tt.want {
				t.Errorf("Put stored the token in %q, want %q", where, tt.want)
			}
			_, inKeyring := rawGet(t, func() SecretStore {
				if _, ok := kr.(failingStore); ok {
					return nil
				}
				return kr
			}(), testKey)
			_, inFile := rawGet(t, c.File, testKey)
			if inKeyring != (tt.want == InKeyring) || inFile != (tt.want == InFile) {
				t.Errorf("token in keyring: %v, in file: %v; want only in %s", inKeyring, inFile, tt.want)
			}
			if tt.want == InFile {
				fi, err := os.Stat(filepath.Join(dir, "tokens.json"))
				if err != nil {
					t.Fatal(err)
				}
				if fi.Mode().Perm() != 0o600 {
					t.Errorf("tokens.json has mode %v, want 0600", fi.Mode().Perm())
				}
			}

			got, gotWhere, err := c.Get(ctx, testKey)
			if err != nil {
				t.Fatalf("Get: %v", err)
			}
			if gotWhere != tt.want {
				t.Errorf("Get found the token in %q, want %q", gotWhere, tt.want)
			}
			if got == nil || got.AccessToken != tok.AccessToken || got.TokenType != tok.TokenType ||
				!got.ExpiresAt.Equal(tok.ExpiresAt) || !got.ObtainedAt.Equal(tok.ObtainedAt) {
				t.Errorf("Get = %+v, want %+v", got, tok)
			}
		})
	}
}

func TestTokenCacheGetMissing(t *testing.T) {
	for _, mode := range []KeyringMode{KeyringAuto, KeyringSystem, KeyringNone} {
		t.Run(string(mode), func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "camctl")
			c := NewTokenCache(mode, NewMemoryStore(), dir)
			got, where, err := c.Get(t.Context(), testKey)
			if got != nil || where != "" || err != nil {
				t.Fatalf("Get on an empty cache = %+v, %q, %v; want nil, \"\", nil", got, where, err)
			}
			if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("Get on an empty cache created %s (err %v)", dir, err)
			}
		})
	}
}

func TestTokenCacheKeysAreSeparate(t *testing.T) {
	ctx := t.Context()
	for _, mode := range []KeyringMode{KeyringAuto, KeyringNone} {
		t.Run(string(mode), func(t *testing.T) {
			c := NewTokenCache(mode, NewMemoryStore(), t.TempDir())
			other := testKey
			other.ClientID = "someone-else"
			if _, err := c.Put(ctx, testKey, cacheToken("tok-mine")); err != nil {
				t.Fatal(err)
			}
			if got, _, err := c.Get(ctx, other); got != nil || err != nil {
				t.Fatalf("Get for another client id = %+v, %v; want nothing", got, err)
			}
			if _, err := c.Put(ctx, other, cacheToken("tok-theirs")); err != nil {
				t.Fatal(err)
			}
			for k, want := range map[TokenKey]string{testKey: "tok-mine", other: "tok-theirs"} {
				if got, _, err := c.Get(ctx, k); err != nil || got == nil || got.AccessToken != want {
					t.Errorf("Get(%s) = %+v, %v; want %s", k.ClientID, got, err, want)
				}
			}
		})
	}
}

func TestTokenCacheDamagedEntry(t *testing.T) {
	damaged := []struct{ name, value string }{
		{"not JSON", "eyJhbGciOi"},
		{"empty", ""},
		{"JSON array", `["tok"]`},
		{"JSON null", `null`},
		{"empty object", `{}`},
		{"empty access token", `{"access_token":"","expires_at":"2099-01-01T00:00:00Z"}`},
		{"bad expiry", `{"access_token":"tok","expires_at":"tomorrow"}`},
		{"truncated", `{"access_token":"tok","expires_at":"2099-01-01T00:0`},
	}
	for _, mode := range []KeyringMode{KeyringAuto, KeyringNone} {
		for _, d := range damaged {
			t.Run(string(mode)+"/"+d.name, func(t *testing.T) {
				ctx := t.Context()
				kr := NewMemoryStore()
				c := NewTokenCache(mode, kr, t.TempDir())
				store := c.File
				if mode == KeyringAuto {
					store = kr
				}
				if err := store.Set(ctx, tokenStoreKey(testKey), d.value); err != nil {
					t.Fatal(err)
				}
				got, where, err := c.Get(ctx, testKey)
				if got != nil || where != "" || err != nil {
					t.Fatalf("Get of a damaged entry = %+v, %q, %v; want nil, \"\", nil (as if absent)", got, where, err)
				}
				// The next Put replaces it.
				if _, err := c.Put(ctx, testKey, cacheToken("tok-new")); err != nil {
					t.Fatalf("Put over a damaged entry: %v", err)
				}
				if got, _, err := c.Get(ctx, testKey); err != nil || got == nil || got.AccessToken != "tok-new" {
					t.Fatalf("Get after Put = %+v, %v; want tok-new", got, err)
				}
			})
		}
	}
}

// A damaged keyring entry does not hide a good token in the file (left
// there by a run when the keyring was unreachable).
func TestTokenCacheDamagedKeyringEntryFallsBackToFile(t *testing.T) {
	ctx := t.Context()
	kr := NewMemoryStore()
	c := NewTokenCache(KeyringAuto, kr, t.TempDir())
	if err := kr.Set(ctx, tokenStoreKey(testKey), "garbage"); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(cacheToken("tok-file"))
	if err := c.File.Set(ctx, tokenStoreKey(testKey), string(b)); err != nil {
		t.Fatal(err)
	}
	got, where, err := c.Get(ctx, testKey)
	if err != nil || got == nil || got.AccessToken != "tok-file" || where != InFile {
		t.Fatalf("Get = %+v, %q, %v; want tok-file from the file", got, where, err)
	}
}

func TestTokenCacheDelete(t *testing.T) {
	tests := []struct {
		name      string
		mode      KeyringMode
		keyring   func() SecretStore
		inKeyring bool // put a token in the keyring first
		inFile    bool // and/or in the file
		wantFound bool
		wantErr   bool
	}{
		{"auto, in both", KeyringAuto, NewMemoryStore, true, true, true, false},
		{"auto, keyring only", KeyringAuto, NewMemoryStore, true, false, true, false},
		{"auto, file only", KeyringAuto, NewMemoryStore, false, true, true, false},
		{"auto, nowhere", KeyringAuto, NewMemoryStore, false, false, false, false},
		{"none, file only", KeyringNone, nil, false, true, true, false},
		{"auto, unavailable keyring, file", KeyringAuto, func() SecretStore { return NewFailingStore(ErrUnavailable) }, false, true, true, false},
		{"system, unavailable keyring", KeyringSystem, func() SecretStore { return NewFailingStore(ErrUnavailable) }, false, false, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := t.Context()
			var kr SecretStore
			if tt.keyring != nil {
				kr = tt.keyring()
			}
			c := NewTokenCache(tt.mode, kr, t.TempDir())
			b, _ := json.Marshal(cacheToken("tok-del"))
			if tt.inKeyring {
				if err := kr.Set(ctx, tokenStoreKey(testKey), string(b)); err != nil {
					t.Fatal(err)
				}
			}
			if tt.inFile {
				if err := c.File.Set(ctx, tokenStoreKey(testKey), string(b)); err != nil {
					t.Fatal(err)
				}
			}
			// A token of another key stays.
			other := testKey
			other.Audience = "other"
			if err := c.File.Set(ctx, tokenStoreKey(other), string(b)); err != nil {
				t.Fatal(err)
			}

			found, err := c.Delete(ctx, testKey)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Delete error = %v, want error: %v", err, tt.wantErr)
			}
			if found != tt.wantFound {
				t.Errorf("Delete found = %v, want %v", found, tt.wantFound)
			}
			if tt.wantErr {
				return
			}
			if _, ok := kr.(failingStore); !ok {
				if _, ok := rawGet(t, kr, testKey); ok {
					t.Errorf("the token is still in the keyring")
				}
			}
			if _, ok := rawGet(t, c.File, testKey); ok {
				t.Errorf("the token is still in the file")
			}
			if got, _, err := c.Get(ctx, testKey); got != nil || err != nil {
				t.Errorf("Get after Delete = %+v, %v; want nothing", got, err)
			}
			if _, ok := rawGet(t, c.File, other); !ok {
				t.Errorf("Delete removed the token of another key")
			}
			if found, err := c.Delete(ctx, testKey); found || err != nil {
				t.Errorf("second Delete = %v, %v; want false, nil", found, err)
			}
		})
	}
}

func TestTokenCacheLock(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	c := NewTokenCache(KeyringNone, nil, dir)
	unlock, err := c.Lock(ctx, testKey)
	if err != nil {
		t.Fatalf("Lock: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "locks", testKey.ID()+".lock")); err != nil {
		t.Errorf("lock file: %v", err)
	}

	// Another cache value over the same directory (another process) waits
	// for the lock: with a short deadline it gives up.
	c2 := NewTokenCache(KeyringNone, nil, dir)
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if u, err := c2.Lock(short, testKey); err == nil {
		u()
		t.Fatalf("a second Lock for the same key succeeded while the first was held")
	}

	// Other keys are not serialised behind it.
	other := testKey
	other.ClientID = "other"
	short2, cancel2 := context.WithTimeout(ctx, 2*time.Second)
	defer cancel2()
	u2, err := c2.Lock(short2, other)
	if err != nil {
		t.Fatalf("Lock of another key while the first is held: %v", err)
	}
	u2()

	unlock()
	u3, err := c2.Lock(short2, testKey)
	if err != nil {
		t.Fatalf("Lock after unlock: %v", err)
	}
	u3()
}

// tokens.json as a whole is only a cache: a damaged file (a full disk, a
// hand edit) reads as empty, a Delete (logout, profile remove) succeeds
// and leaves a valid file without the damaged bytes, and a Put replaces it.
func TestTokenCacheDamagedFile(t *testing.T) {
	for name, content := range map[string]string{
		"truncated":     `{"token/0123": "{\"access_token\":\"eyJhbGciOi`,
		"not an object": `["tok"]`,
		"not strings":   `{"token/0123": 42}`,
		"binary":        "\x00\x00\x00\x00",
	} {
		t.Run(name, func(t *testing.T) {
			ctx := t.Context()
			dir := t.TempDir()
			path := filepath.Join(dir, "tokens.json")
			reset := func() {
				t.Helper()
				if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			reset()
			c := NewTokenCache(KeyringNone, nil, dir)
			if got, where, err := c.Get(ctx, testKey); got != nil || where != "" || err != nil {
				t.Fatalf("Get from a damaged file = %+v, %q, %v; want nil, \"\", nil (as if empty)", got, where, err)
			}
			if found, err := c.Delete(ctx, testKey); found || err != nil {
				t.Fatalf("Delete from a damaged file = %v, %v; want false, nil", found, err)
			}
			// Logout must not leave the damaged bytes (maybe a token) behind.
			if b, err := os.ReadFile(path); err != nil || string(b) == content {
				t.Errorf("after Delete the file holds %q (%v); want it reset", b, err)
			}
			reset()
			if _, err := c.Put(ctx, testKey, cacheToken("tok-new")); err != nil {
				t.Fatalf("Put over a damaged file: %v", err)
			}
			if got, _, err := c.Get(ctx, testKey); err != nil || got == nil || got.AccessToken != "tok-new" {
				t.Fatalf("Get after Put = %+v, %v; want tok-new", got, err)
			}
			if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
				t.Errorf("tokens.json: %v, %v; want mode 0600", fi.Mode(), err)
			}
		})
	}
}
