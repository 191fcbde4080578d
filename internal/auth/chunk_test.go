package auth

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// newMemoryRaw returns a memory store and the raw items below its chunking.
func newMemoryRaw(t *testing.T) (SecretStore, *memItems) {
	t.Helper()
	s := NewMemoryStore()
	return s, s.(*chunkedStore).raw.(*memItems)
}

func TestChunkLayout(t *testing.T) {
	tests := []struct {
		name      string
		value     string
		wantParts []int // sizes of "<key>#1".."<key>#n"; nil: stored as-is
	}{
		{"empty", "", nil},
		{"exactly MaxItemSize", secretOfSize(MaxItemSize), nil},
		{"one byte over", secretOfSize(MaxItemSize + 1), []int{MaxItemSize, 1}},
		{"10,000 bytes", secretOfSize(10_000), []int{MaxItemSize, MaxItemSize, MaxItemSize, 2320}},
		{"short value that looks like a marker", "camctl:chunked:v1:1:abc", []int{23}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, raw := newMemoryRaw(t)
			if err := s.Set(t.Context(), "k", tt.value); err != nil {
				t.Fatal(err)
			}
			items := maps.Clone(raw.items)
			if tt.wantParts == nil {
				if len(items) != 1 || items["k"] != tt.value {
					t.Fatalf("raw items %q, want the value as-is under k", keys(items))
				}
				return
			}
			if want := "camctl:chunked:v1:" + strconv.Itoa(len(tt.wantParts)) + ":" + checksum(tt.value); items["k"] != want {
				t.Errorf("marker %q, want %q", items["k"], want)
			}
			delete(items, "k")
			if len(items) != len(tt.wantParts) {
				t.Fatalf("parts %q, want %d", keys(items), len(tt.wantParts))
			}
			for i, size := range tt.wantParts {
				if got := len(items[partKey("k", i+1)]); got != size {
					t.Errorf("part %d holds %d bytes, want %d", i+1, got, size)
				}
			}
		})
	}
}

func TestChunkDamage(t *testing.T) {
	tests := []struct {
		name    string
		damage  func(raw *memItems)
		wantMsg string
	}{
		{"missing part", func(raw *memItems) { delete(raw.items, "k#2") }, `item "k#2" is missing`},
		{"part from another write", func(raw *memItems) {
			raw.items["k#2"] = strings.Repeat("x", len(raw.items["k#2"]))
		}, "do not match their checksum"},
		{"unknown format version", func(raw *memItems) { raw.items["k"] = "camctl:chunked:v2:4:whatever" }, "unknown chunk format"},
		{"absurd part count", func(raw *memItems) { raw.items["k"] = "camctl:chunked:v1:99999:0" }, "invalid part count"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, raw := newMemoryRaw(t)
			secret := secretOfSize(10_000)
			if err := s.Set(t.Context(), "k", secret); err != nil {
				t.Fatal(err)
			}
			tt.damage(raw)
			got, err := s.Get(t.Context(), "k")
			if err == nil {
				t.Fatalf("Get of a damaged value returned %d bytes and no error", len(got))
			}
			if errors.Is(err, ErrNotFound) {
				t.Errorf("Get: %v; a damaged secret must not look like a missing one", err)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("Get: %q, want it to mention %q", err, tt.wantMsg)
			}
			if strings.Contains(err.Error(), secret[:20]) {
				t.Errorf("error contains the secret")
			}

			// Delete and Set must still recover the key.
			if err := s.Delete(t.Context(), "k"); err != nil {
				t.Fatalf("Delete of a damaged value: %v", err)
			}
			if err := s.Set(t.Context(), "k", "fresh"); err != nil {
				t.Fatal(err)
			}
			if got, err := s.Get(t.Context(), "k"); err != nil || got != "fresh" {
				t.Fatalf("Get after recovery = %q, %v", got, err)
			}
		})
	}
}

func TestChunkTooLarge(t *testing.T) {
	s, raw := newMemoryRaw(t)
	err := s.Set(t.Context(), "k", secretOfSize(maxParts*MaxItemSize+1))
	if err == nil || !strings.Contains(err.Error(), "at most 102400") {
		t.Fatalf("Set of %d bytes: %v, want a size error", maxParts*MaxItemSize+1, err)
	}
	if len(raw.items) != 0 {
		t.Errorf("a refused Set wrote %q", keys(raw.items))
	}
	if err := s.Set(t.Context(), "k", secretOfSize(maxParts*MaxItemSize)); err != nil {
		t.Fatalf("Set of the largest allowed value: %v", err)
	}
}

// countingRaw counts the reads that reach the raw store below chunking,
// each of which is at least one round trip to a keyring.
type countingRaw struct {
	*memItems
	reads [][]string
}

func (c *countingRaw) GetMany(ctx context.Context, keys []string) (map[string]string, error) {
	c.reads = append(c.reads, keys)
	return c.memItems.GetMany(ctx, keys)
}

func TestChunkedReadsTogether(t *testing.T) {
	ctx := t.Context()
	raw := &countingRaw{memItems: &memItems{items: map[string]string{}}}
	s := newChunkedStore(raw)
	values := map[string]string{"a": "small", "b": secretOfSize(3 * MaxItemSize), "c": secretOfSize(MaxItemSize + 1)}
	for k, v := range values {
		if err := s.Set(ctx, k, v); err != nil {
			t.Fatal(err)
		}
	}
	raw.reads = nil
	got, err := s.GetMany(ctx, []string{"a", "b", "c", "none"})
	if err != nil || !maps.Equal(got, values) {
		t.Fatalf("GetMany: %d values, %v", len(got), err)
	}
	want := [][]string{{"a", "b", "c", "none"}, {"b#1", "b#2", "b#3", "c#1", "c#2"}}
	if !slices.EqualFunc(raw.reads, want, slices.Equal) {
		t.Errorf("raw reads %q, want %q: the keys, then every part of every chunked value at once", raw.reads, want)
	}

	raw.reads = nil
	if v, err := s.Get(ctx, "a"); err != nil || v != "small" {
		t.Fatalf("Get a = %q, %v", v, err)
	}
	if len(raw.reads) != 1 {
		t.Errorf("Get of a plain value made %d raw reads, want 1", len(raw.reads))
	}
}
