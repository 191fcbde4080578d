package auth

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func TestFileStorePermissions(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "config", "camctl")
	path := filepath.Join(dir, "secrets.json")
	s := NewFileStore(path)
	if got := s.Kind(); got != "file" {
		t.Errorf("Kind() = %q, want file", got)
	}
	if err := s.Set(t.Context(), "k", "v"); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]os.FileMode{dir: 0o700, path: 0o600} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != want {
			t.Errorf("%s has mode %v, want %v", p, got, want)
		}
	}
}

func TestFileStoreMissingFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "camctl")
	s := NewFileStore(filepath.Join(dir, "secrets.json"))
	if _, err := s.Get(t.Context(), "k"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get without a file: %v, want ErrNotFound", err)
	}
	if err := s.Delete(t.Context(), "k"); err != nil {
		t.Fatalf("Delete without a file: %v", err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Get/Delete created %s (%v); want nothing written", dir, err)
	}
}

func TestFileStoreCorrupt(t *testing.T) {
	for name, content := range map[string]string{
		"not JSON":      `{"k": "hunter2-secret`,
		"not an object": `["hunter2-secret"]`,
		"not strings":   `{"k": 42}`,
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "secrets.json")
			if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
			s := NewFileStore(path)
			_, getErr := s.Get(t.Context(), "k")
			setErr := s.Set(t.Context(), "other", "v")
			for op, err := range map[string]error{"Get": getErr, "Set": setErr} {
				if err == nil || errors.Is(err, ErrNotFound) {
					t.Fatalf("%s on a corrupt file: %v, want an error", op, err)
				}
				if !strings.Contains(err.Error(), path) {
					t.Errorf("%s: %q does not name the file", op, err)
				}
				if strings.Contains(err.Error(), "hunter2") {
					t.Errorf("%s: %q quotes the file's content", op, err)
				}
			}
			// A failed Set must not replace the file: the user may still
			// repair it by hand.
			if data, _ := os.ReadFile(path); string(data) != content {
				t.Errorf("Set rewrote the corrupt file")
			}
		})
	}
}

// Many writers at once, each with its own store as separate camctl
// processes would have: flock(2) locks conflict between separate opens
// even within one process, so this exercises the cross-process lock.
func TestFileStoreConcurrentSet(t *testing.T) {
	path := filepath.Join(t.TempDir(), "secrets.json")
	const writers = 32
	var wg sync.WaitGroup
	for i := range writers {
		wg.Go(func() {
			if err := NewFileStore(path).Set(t.Context(), fmt.Sprintf("profile/p%d/password", i), fmt.Sprint("secret-", i)); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	s := NewFileStore(path)
	for i := range writers {
		got, err := s.Get(t.Context(), fmt.Sprintf("profile/p%d/password", i))
		if want := fmt.Sprint("secret-", i); err != nil || got != want {
			t.Errorf("writer %d: Get = %q, %v; want %q", i, got, err, want)
		}
	}
}

// A secrets file that the group or other users may read is refused, as
// ssh refuses such a key; a new write makes it 0600 again.
func TestFileStoreRefusesReadableFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "camctl", "secrets.json")
	s := NewFileStore(path)
	if err := s.Set(t.Context(), "k", "v"); err != nil {
		t.Fatal(err)
	}
	for _, mode := range []os.FileMode{0o640, 0o604, 0o644} {
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		_, err := s.Get(t.Context(), "k")
		if err == nil || !strings.Contains(err.Error(), "chmod 600 "+path) || !strings.Contains(err.Error(), "log in again") {
			t.Errorf("mode %#o: Get = %v, want a refusal that says chmod 600 or log in again", mode, err)
		}
	}
	if err := s.Set(t.Context(), "k", "v2"); err != nil {
		t.Fatal(err)
	}
	if v, err := s.Get(t.Context(), "k"); err != nil || v != "v2" {
		t.Errorf("after a new write: %q, %v", v, err)
	}
}

// Tidy removes the plaintext temporary copies a killed writer left, and
// creates nothing where there is no directory.
func TestFileStoreTidy(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "camctl")
	s := NewFileStore(filepath.Join(dir, "secrets.json")).(*fileStore)
	if err := s.Tidy(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Tidy created %s", dir)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	stale := filepath.Join(dir, ".secrets.json.tmp-12345")
	if err := os.WriteFile(stale, []byte(`{"k":"plaintext"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := s.Tidy(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the stale temporary file is still there (%v)", err)
	}
}
