package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// storeUnderTest is one SecretStore plus a view of the raw items it wrote,
// so tests can check what really reached the backend.
type storeUnderTest struct {
	store SecretStore
	// items returns every raw item by name.
	items func(t *testing.T) map[string]string
	// chunked stores split values over several items.
	chunked bool
}

func storesUnderTest() map[string]func(t *testing.T) storeUnderTest {
	return map[string]func(t *testing.T) storeUnderTest{
		"memory": func(t *testing.T) storeUnderTest {
			s := NewMemoryStore()
			raw := s.(*chunkedStore).raw.(*memItems)
			return storeUnderTest{store: s, chunked: true, items: func(*testing.T) map[string]string {
				raw.mu.Lock()
				defer raw.mu.Unlock()
				return maps.Clone(raw.items)
			}}
		},
		"file": func(t *testing.T) storeUnderTest {
			path := filepath.Join(t.TempDir(), "camctl", "secrets.json")
			return storeUnderTest{store: NewFileStore(path), items: func(t *testing.T) map[string]string {
				data, err := os.ReadFile(path)
				if errors.Is(err, os.ErrNotExist) {
					return map[string]string{}
				}
				if err != nil {
					t.Fatal(err)
				}
				m := map[string]string{}
				if err := json.Unmarshal(data, &m); err != nil {
					t.Fatal(err)
				}
				return m
			}}
		},
		"keyring (fake backend)": func(t *testing.T) storeUnderTest {
			fake := newFakeKeyring()
			s := newKeyringStore(KeyringOptions{Service: "camctl-test", Getenv: busEnv}, fake)
			return storeUnderTest{store: s, chunked: true, items: func(*testing.T) map[string]string {
				return fake.items("camctl-test")
			}}
		},
	}
}

// secretOfSize returns a deterministic value of n bytes that includes
// multi-byte UTF-8, so chunk boundaries fall inside characters.
func secretOfSize(n int) string {
	var b strings.Builder
	for i := 0; b.Len() < n; i++ {
		if i%50 == 49 {
			b.WriteString("é")
		} else {
			b.WriteByte(byte('a' + i%26))
		}
	}
	return b.String()[:n]
}

func TestStoreContract(t *testing.T) {
	ctx := context.Background()
	for name, newStore := range storesUnderTest() {
		t.Run(name, func(t *testing.T) {
			t.Run("round trip of sizes", func(t *testing.T) {
				for _, size := range []int{0, 1, MaxItemSize - 1, MaxItemSize, MaxItemSize + 1, 10_000} {
					t.Run(fmt.Sprint(size), func(t *testing.T) {
						sut := newStore(t)
						want := secretOfSize(size)
						if err := sut.store.Set(ctx, "profile/p/password", want); err != nil {
							t.Fatalf("Set: %v", err)
						}
						got, err := sut.store.Get(ctx, "profile/p/password")
						if err != nil {
							t.Fatalf("Get: %v", err)
						}
						if got != want {
							t.Fatalf("Get returned %d bytes, want the %d stored", len(got), len(want))
						}
						for k, v := range sut.items(t) {
							if sut.chunked && len(v) > MaxItemSize {
								t.Errorf("raw item %q holds %d bytes, more than MaxItemSize", k, len(v))
							}
						}
					})
				}
			})

			t.Run("value that looks like a chunk marker", func(t *testing.T) {
				sut := newStore(t)
				want := "camctl:chunked:v1:2:0000000000000000"
				if err := sut.store.Set(ctx, "k", want); err != nil {
					t.Fatal(err)
				}
				if got, err := sut.store.Get(ctx, "k"); err != nil || got != want {
					t.Fatalf("Get = %q, %v; want %q", got, err, want)
				}
			})

			t.Run("missing key", func(t *testing.T) {
				sut := newStore(t)
				if _, err := sut.store.Get(ctx, "nope"); !errors.Is(err, ErrNotFound) {
					t.Fatalf("Get on an empty store: %v, want ErrNotFound", err)
				}
				if err := sut.store.Set(ctx, "other", "x"); err != nil {
					t.Fatal(err)
				}
				if _, err := sut.store.Get(ctx, "nope"); !errors.Is(err, ErrNotFound) {
					t.Fatalf("Get of a missing key: %v, want ErrNotFound", err)
				}
			})

			t.Run("delete is idempotent and removes every part", func(t *testing.T) {
				sut := newStore(t)
				if err := sut.store.Set(ctx, "keep", "kept"); err != nil {
					t.Fatal(err)
				}
				for _, v := range []string{"small", secretOfSize(10_000)} {
					if err := sut.store.Set(ctx, "gone", v); err != nil {
						t.Fatal(err)
					}
					for i := range 2 {
						if err := sut.store.Delete(ctx, "gone"); err != nil {
							t.Fatalf("Delete #%d: %v", i+1, err)
						}
					}
					if _, err := sut.store.Get(ctx, "gone"); !errors.Is(err, ErrNotFound) {
						t.Fatalf("Get after Delete: %v, want ErrNotFound", err)
					}
					if got := keys(sut.items(t)); !slices.Equal(got, []string{"keep"}) {
						t.Fatalf("raw items after Delete: %q, want only \"keep\"", got)
					}
				}
			})

			t.Run("overwrite shrinks", func(t *testing.T) {
				sut := newStore(t)
				for _, v := range []string{secretOfSize(10_000), secretOfSize(6_000), "short"} {
					if err := sut.store.Set(ctx, "k", v); err != nil {
						t.Fatal(err)
					}
					if got, err := sut.store.Get(ctx, "k"); err != nil || got != v {
						t.Fatalf("Get after overwrite with %d bytes: %d bytes, %v", len(v), len(got), err)
					}
				}
				items := sut.items(t)
				if !maps.Equal(items, map[string]string{"k": "short"}) {
					t.Fatalf("raw items after overwriting a large value with a small one: %q, want only k", keys(items))
				}
			})

			t.Run("GetMany", func(t *testing.T) {
				sut := newStore(t)
				want := map[string]string{"small": "s", "big": secretOfSize(6000), "empty": ""}
				for k, v := range want {
					if err := sut.store.Set(ctx, k, v); err != nil {
						t.Fatal(err)
					}
				}
				got, err := sut.store.GetMany(ctx, []string{"small", "missing", "big", "empty", "small"})
				if err != nil {
					t.Fatalf("GetMany: %v", err)
				}
				if !maps.Equal(got, want) {
					t.Fatalf("GetMany returned keys %q with sizes %d, %d; want %q (missing keys absent)", keys(got), len(got["small"]), len(got["big"]), keys(want))
				}
				if got, err := sut.store.GetMany(ctx, nil); err != nil || len(got) != 0 {
					t.Fatalf("GetMany of no keys = %v, %v", got, err)
				}
				if _, err := sut.store.GetMany(ctx, []string{"small", "a#1"}); err == nil {
					t.Errorf("GetMany with an invalid key succeeded")
				}
			})

			t.Run("invalid keys", func(t *testing.T) {
				sut := newStore(t)
				for _, key := range []string{"", "a#1"} {
					if err := sut.store.Set(ctx, key, "v"); err == nil {
						t.Errorf("Set(%q) succeeded, want an error", key)
					}
					if _, err := sut.store.Get(ctx, key); err == nil || errors.Is(err, ErrNotFound) {
						t.Errorf("Get(%q) = %v, want an invalid key error", key, err)
					}
				}
			})
		})
	}
}

func keys(m map[string]string) []string {
	return slices.Sorted(maps.Keys(m))
}
