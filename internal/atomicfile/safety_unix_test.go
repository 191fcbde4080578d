//go:build unix

package atomicfile_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/camctl/camctl/internal/atomicfile"
)

// nobody is the uid that stands for "another user"; chown to it needs root.
const nobody = 65534

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to give files to another user")
	}
}

func wantUnsafe(t *testing.T, err error) {
	t.Helper()
	if _, ok := errors.AsType[*atomicfile.UnsafeError](err); !ok {
		t.Fatalf("err = %v, want an UnsafeError", err)
	}
}

func chmod(t *testing.T, path string, mode os.FileMode) {
	t.Helper()
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

func TestCheckDir(t *testing.T) {
	tests := []struct {
		name    string
		setup   func(t *testing.T, base string) string // returns the dir to check
		policy  atomicfile.Policy
		wantErr bool
	}{
		{"own 0700", func(t *testing.T, base string) string { return base }, atomicfile.Private, false},
		{"group-writable accepted", func(t *testing.T, base string) string { chmod(t, base, 0o770); return base }, atomicfile.Private, false},
		{"world-writable", func(t *testing.T, base string) string { chmod(t, base, 0o777); return base }, atomicfile.Shared, true},
		{"world-writable even with sticky bit", func(t *testing.T, base string) string {
			chmod(t, base, 0o777|os.ModeSticky)
			return base
		}, atomicfile.Shared, true},
		{"own dir under a sticky world-writable one (like /tmp)", func(t *testing.T, base string) string {
			chmod(t, base, 0o777|os.ModeSticky)
			d := filepath.Join(base, "mine")
			if err := os.Mkdir(d, 0o700); err != nil {
				t.Fatal(err)
			}
			return d
		}, atomicfile.Private, false},
		{"own dir under a world-writable one without sticky bit", func(t *testing.T, base string) string {
			d := filepath.Join(base, "mine")
			if err := os.Mkdir(d, 0o700); err != nil {
				t.Fatal(err)
			}
			chmod(t, base, 0o777)
			return d
		}, atomicfile.Private, true},
		{"reached through a symlink", func(t *testing.T, base string) string {
			real := filepath.Join(base, "real")
			if err := os.Mkdir(real, 0o777); err != nil {
				t.Fatal(err)
			}
			chmod(t, real, 0o777)
			link := filepath.Join(base, "link")
			if err := os.Symlink(real, link); err != nil {
				t.Fatal(err)
			}
			return link
		}, atomicfile.Shared, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := t.TempDir()
			chmod(t, base, 0o700)
			dir := tt.setup(t, base)
			t.Cleanup(func() { _ = os.Chmod(base, 0o700) })
			err := atomicfile.CheckDir(dir, tt.policy)
			if tt.wantErr {
				wantUnsafe(t, err)
			} else if err != nil {
				t.Fatalf("CheckDir: %v", err)
			}
		})
	}
}

func TestCheckDirOwner(t *testing.T) {
	requireRoot(t)
	dir := filepath.Join(t.TempDir(), "theirs")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(dir, nobody, nobody); err != nil {
		t.Fatal(err)
	}
	wantUnsafe(t, atomicfile.CheckDir(dir, atomicfile.Private))
	// A file without secrets may live in a directory of another user
	// (a CI job as root in the runner user's checkout).
	if err := atomicfile.CheckDir(dir, atomicfile.Shared); err != nil {
		t.Errorf("Shared: %v", err)
	}
}

// Writes into a world-writable directory are refused, and nothing is
// created there.
func TestWriteRefusesWorldWritableDir(t *testing.T) {
	dir := t.TempDir()
	chmod(t, dir, 0o777)
	t.Cleanup(func() { _ = os.Chmod(dir, 0o700) })
	path := filepath.Join(dir, "config.yaml")
	wantUnsafe(t, atomicfile.Write(path, []byte("x")))
	for _, p := range []atomicfile.Policy{atomicfile.Shared, atomicfile.Private} {
		wantUnsafe(t, atomicfile.Update(context.Background(), path, p, func([]byte) ([]byte, error) { return []byte("x"), nil }))
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("left behind %v", entries)
	}
}

// A symlink planted where a private file goes is neither followed for
// reading nor for writing, and its target is left as it was.
func TestPrivateRefusesSymlink(t *testing.T) {
	dir := t.TempDir()
	victim := filepath.Join(t.TempDir(), "authorized_keys")
	if err := os.WriteFile(victim, []byte("precious\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "tokens.json")
	if err := os.Symlink(victim, path); err != nil {
		t.Fatal(err)
	}
	err := atomicfile.Update(context.Background(), path, atomicfile.Private, func([]byte) ([]byte, error) {
		t.Error("fn ran on a symlinked private file")
		return []byte("{}"), nil
	})
	wantUnsafe(t, err)
	_, err = atomicfile.ReadPrivate(path)
	wantUnsafe(t, err)
	if b, _ := os.ReadFile(victim); string(b) != "precious\n" {
		t.Errorf("the link target now holds %q", b)
	}
	if fi, err := os.Lstat(path); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the link itself was replaced: %v", err)
	}
}

// A lock file planted as a symlink is not followed: camctl neither
// creates nor opens the file it points to.
func TestLockRefusesSymlink(t *testing.T) {
	dir := t.TempDir()
	elsewhere := filepath.Join(t.TempDir(), "created-by-camctl")
	path := filepath.Join(dir, "tokens.json")
	if err := os.Symlink(elsewhere, path+".lock"); err != nil {
		t.Fatal(err)
	}
	if unlock, err := atomicfile.Lock(context.Background(), path); err == nil {
		unlock()
		t.Fatal("Lock followed a symlinked lock file")
	}
	if _, err := os.Lstat(elsewhere); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the link target exists: %v", err)
	}
}

func TestReadPrivate(t *testing.T) {
	t.Run("own 0600 file", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "secrets.json")
		if err := os.WriteFile(path, []byte("{}"), 0o600); err != nil {
			t.Fatal(err)
		}
		if b, err := atomicfile.ReadPrivate(path); err != nil || string(b) != "{}" {
			t.Fatalf("ReadPrivate = %q, %v", b, err)
		}
	})
	t.Run("a file beyond any real store (spec §8: bounded reads)", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "tokens.json")
		if err := os.WriteFile(path, make([]byte, 16<<20+1), 0o600); err != nil {
			t.Fatal(err)
		}
		if b, err := atomicfile.ReadPrivate(path); err == nil {
			t.Fatalf("ReadPrivate read %d bytes, want a refusal", len(b))
		}
	})
	t.Run("world-writable file", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "secrets.json")
		if err := os.WriteFile(path, []byte("{}"), 0o600); err != nil {
			t.Fatal(err)
		}
		chmod(t, path, 0o666)
		_, err := atomicfile.ReadPrivate(path)
		wantUnsafe(t, err)
	})
	t.Run("another user's file", func(t *testing.T) {
		requireRoot(t)
		path := filepath.Join(t.TempDir(), "tokens.json")
		if err := os.WriteFile(path, []byte("{}"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(path, nobody, nobody); err != nil {
			t.Fatal(err)
		}
		_, err := atomicfile.ReadPrivate(path)
		wantUnsafe(t, err)
	})
	t.Run("missing", func(t *testing.T) {
		_, err := atomicfile.ReadPrivate(filepath.Join(t.TempDir(), "none"))
		if !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("err = %v, want ErrNotExist", err)
		}
	})
}

func TestCheckShared(t *testing.T) {
	t.Run("world-writable config", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "config.yaml")
		if err := os.WriteFile(path, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		chmod(t, path, 0o646)
		wantUnsafe(t, atomicfile.CheckShared(path))
	})
	t.Run("another user's config in a world-writable dir", func(t *testing.T) {
		requireRoot(t)
		dir := t.TempDir()
		path := filepath.Join(dir, "camctl.yaml")
		if err := os.WriteFile(path, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(path, nobody, nobody); err != nil {
			t.Fatal(err)
		}
		if err := atomicfile.CheckShared(path); err != nil {
			t.Fatalf("in a private dir: %v", err)
		}
		chmod(t, dir, 0o777|os.ModeSticky)
		t.Cleanup(func() { _ = os.Chmod(dir, 0o700) })
		wantUnsafe(t, atomicfile.CheckShared(path))
	})
	t.Run("a link planted in a world-writable dir", func(t *testing.T) {
		// Finding 7 of issue 10: /tmp/x.yaml -> the planter's own file in
		// the planter's own directory used to pass, because only the
		// target's directory was looked at.
		requireRoot(t)
		shared := t.TempDir()
		chmod(t, shared, 0o777|os.ModeSticky)
		t.Cleanup(func() { _ = os.Chmod(shared, 0o700) })
		theirs := t.TempDir()
		target := filepath.Join(theirs, "evil.yaml")
		if err := os.WriteFile(target, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		for _, p := range []string{theirs, target} {
			if err := os.Chown(p, nobody, nobody); err != nil {
				t.Fatal(err)
			}
		}
		link := filepath.Join(shared, "x.yaml")
		if err := os.Symlink(target, link); err != nil {
			t.Fatal(err)
		}
		// Our own link to their file: the target passes (its directory is
		// not shared), and so does the link, which only we could place.
		if err := atomicfile.CheckShared(link); err != nil {
			t.Fatalf("own link: %v", err)
		}
		if err := os.Lchown(link, nobody, nobody); err != nil {
			t.Fatal(err)
		}
		err := atomicfile.CheckShared(link)
		wantUnsafe(t, err)
		if !strings.Contains(err.Error(), "the link "+link) {
			t.Errorf("err = %v, want it to name the link", err)
		}
		// A relative link through a planted directory is caught the same way.
		dir := filepath.Join(shared, "sub")
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "c.yaml"), nil, 0o644); err != nil {
			t.Fatal(err)
		}
		rel := filepath.Join(t.TempDir(), "c.yaml")
		relTarget, _ := filepath.Rel(filepath.Dir(rel), filepath.Join(dir, "c.yaml"))
		if err := os.Symlink(relTarget, rel); err != nil {
			t.Fatal(err)
		}
		if err := atomicfile.CheckShared(rel); err != nil {
			t.Fatalf("own directory in a shared one: %v", err)
		}
		if err := os.Chown(dir, nobody, nobody); err != nil {
			t.Fatal(err)
		}
		wantUnsafe(t, atomicfile.CheckShared(rel))
	})
	t.Run("a loop of links", func(t *testing.T) {
		dir := t.TempDir()
		a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
		if err := os.Symlink(b, a); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(a, b); err != nil {
			t.Fatal(err)
		}
		if err := atomicfile.CheckShared(a); err == nil {
			t.Fatal("a loop of links passed")
		}
	})
}
