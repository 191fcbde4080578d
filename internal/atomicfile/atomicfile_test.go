package atomicfile_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/camctl/camctl/internal/atomicfile"
)

// leftovers lists files in dir other than the target and its lock.
func leftovers(t *testing.T, dir, base string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if e.Name() != base && e.Name() != base+".lock" {
			out = append(out, e.Name())
		}
	}
	return out
}

func TestWrite(t *testing.T) {
	tests := []struct {
		name     string
		existing []byte // nil: no file yet
		mode     os.FileMode
		newDir   bool
		data     []byte
	}{
		{name: "new file in new directory", newDir: true, data: []byte("hello\n")},
		{name: "new file in existing directory", data: []byte("hello\n")},
		{name: "replace a 0644 file", existing: []byte("old content that is longer\n"), mode: 0o644, data: []byte("new\n")},
		{name: "replace with empty content", existing: []byte("old\n"), mode: 0o600, data: []byte{}},
		{name: "large content", data: bytes.Repeat([]byte("x"), 1<<20)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if tt.newDir {
				dir = filepath.Join(dir, "a", "b")
			}
			path := filepath.Join(dir, "file.json")
			if tt.existing != nil {
				if err := os.WriteFile(path, tt.existing, tt.mode); err != nil {
					t.Fatal(err)
				}
				if err := os.Chmod(path, tt.mode); err != nil {
					t.Fatal(err)
				}
			}
			if err := atomicfile.Write(path, tt.data); err != nil {
				t.Fatalf("Write: %v", err)
			}
			got, err := os.ReadFile(path)
			if err != nil || !bytes.Equal(got, tt.data) {
				t.Errorf("content = %d bytes, %v; want %d bytes", len(got), err, len(tt.data))
			}
			fi, _ := os.Stat(path)
			if fi.Mode().Perm() != 0o600 {
				t.Errorf("file mode = %v, want 0600", fi.Mode().Perm())
			}
			if tt.newDir {
				for _, d := range []string{dir, filepath.Dir(dir)} {
					di, _ := os.Stat(d)
					if di.Mode().Perm() != 0o700 {
						t.Errorf("dir %s mode = %v, want 0700", d, di.Mode().Perm())
					}
				}
			}
			if l := leftovers(t, dir, "file.json"); len(l) > 0 {
				t.Errorf("left behind: %v", l)
			}
		})
	}
}

func TestWriteKeepsExistingDirMode(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "shared")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := atomicfile.Write(filepath.Join(dir, "f"), []byte("x")); err != nil {
		t.Fatal(err)
	}
	di, _ := os.Stat(dir)
	if di.Mode().Perm() != 0o755 {
		t.Errorf("existing dir mode changed to %v", di.Mode().Perm())
	}
}

func TestWriteFailureLeavesNoTempFile(t *testing.T) {
	dir := t.TempDir()
	// The target is a non-empty directory: the final rename fails.
	path := filepath.Join(dir, "target")
	if err := os.MkdirAll(filepath.Join(path, "child"), 0o700); err != nil {
		t.Fatal(err)
	}
	err := atomicfile.Write(path, []byte("data"))
	if err == nil {
		t.Fatal("Write over a non-empty directory succeeded")
	}
	if !strings.Contains(err.Error(), path) {
		t.Errorf("error %q does not name %s", err, path)
	}
	if l := leftovers(t, dir, "target"); len(l) > 0 {
		t.Errorf("left behind after a failed write: %v", l)
	}
}

// TestWriteAtomicForReaders: a reader never sees a partial or empty file
// while a writer alternates between two large contents.
func TestWriteAtomicForReaders(t *testing.T) {
	const iterations = 40
	path := filepath.Join(t.TempDir(), "big")
	a := bytes.Repeat([]byte("a"), 256<<10)
	b := bytes.Repeat([]byte("bb"), 200<<10) // a different length too
	if err := atomicfile.Write(path, a); err != nil {
		t.Fatal(err)
	}

	done := make(chan struct{})
	var reads, bad atomic.Int64
	var firstBad atomic.Value
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-done:
					return
				default:
				}
				got, err := os.ReadFile(path)
				reads.Add(1)
				if err != nil || (!bytes.Equal(got, a) && !bytes.Equal(got, b)) {
					bad.Add(1)
					firstBad.CompareAndSwap(nil, len(got))
				}
			}
		}()
	}
	for i := range iterations {
		data := a
		if i%2 == 0 {
			data = b
		}
		if err := atomicfile.Write(path, data); err != nil {
			t.Errorf("Write %d: %v", i, err)
		}
	}
	close(done)
	wg.Wait()
	if reads.Load() == 0 {
		t.Fatal("the readers never ran")
	}
	if n := bad.Load(); n > 0 {
		t.Errorf("%d of %d reads saw a partial, empty or missing file (first: %v bytes)", n, reads.Load(), firstBad.Load())
	}
	if l := leftovers(t, filepath.Dir(path), "big"); len(l) > 0 {
		t.Errorf("left behind: %v", l)
	}
}

func TestUpdate(t *testing.T) {
	fnErr := errors.New("fn failed")
	tests := []struct {
		name        string
		existing    *string
		fn          func(current []byte) ([]byte, error)
		wantErr     error
		wantContent *string // nil: the file must not exist
		wantSame    bool    // the file must be the very same (not replaced)
	}{
		{name: "missing file: fn sees nil and creates it", existing: nil,
			fn: func(cur []byte) ([]byte, error) {
				if cur != nil {
					return nil, errors.New("current is not nil")
				}
				return []byte("created"), nil
			},
			wantContent: ptr("created")},
		{name: "existing file: fn sees its content", existing: ptr("one"),
			fn:          func(cur []byte) ([]byte, error) { return append(cur, "+two"...), nil },
			wantContent: ptr("one+two")},
		{name: "nil result leaves the file untouched", existing: ptr("keep"),
			fn:          func(cur []byte) ([]byte, error) { return nil, nil },
			wantContent: ptr("keep"), wantSame: true},
		{name: "nil result on a missing file creates nothing", existing: nil,
			fn:          func(cur []byte) ([]byte, error) { return nil, nil },
			wantContent: nil},
		{name: "empty non-nil result empties the file", existing: ptr("old"),
			fn:          func(cur []byte) ([]byte, error) { return []byte{}, nil },
			wantContent: ptr("")},
		{name: "fn error leaves the file untouched", existing: ptr("keep"),
			fn:          func(cur []byte) ([]byte, error) { return []byte("ignored"), fnErr },
			wantErr:     fnErr,
			wantContent: ptr("keep"), wantSame: true},
		{name: "fn error on a missing file creates nothing", existing: nil,
			fn:      func(cur []byte) ([]byte, error) { return []byte("ignored"), fnErr },
			wantErr: fnErr, wantContent: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "state")
			var before os.FileInfo
			if tt.existing != nil {
				if err := os.WriteFile(path, []byte(*tt.existing), 0o600); err != nil {
					t.Fatal(err)
				}
				before, _ = os.Stat(path)
			}
			err := atomicfile.Update(context.Background(), path, atomicfile.Shared, tt.fn)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Update = %v, want %v", err, tt.wantErr)
			}
			got, rerr := os.ReadFile(path)
			switch {
			case tt.wantContent == nil && !errors.Is(rerr, os.ErrNotExist):
				t.Errorf("file exists (%q, %v), want none", got, rerr)
			case tt.wantContent != nil && (rerr != nil || string(got) != *tt.wantContent):
				t.Errorf("content = %q, %v; want %q", got, rerr, *tt.wantContent)
			}
			if tt.wantSame {
				after, _ := os.Stat(path)
				if !os.SameFile(before, after) || !after.ModTime().Equal(before.ModTime()) {
					t.Error("file was replaced")
				}
			} else if tt.wantContent != nil {
				fi, _ := os.Stat(path)
				if fi.Mode().Perm() != 0o600 {
					t.Errorf("mode = %v, want 0600", fi.Mode().Perm())
				}
			}
			if l := leftovers(t, dir, "state"); len(l) > 0 {
				t.Errorf("left behind: %v", l)
			}
		})
	}
}

func TestUpdateReadError(t *testing.T) {
	path := t.TempDir() // a directory cannot be read as a file
	called := false
	err := atomicfile.Update(context.Background(), path, atomicfile.Shared, func([]byte) ([]byte, error) { called = true; return nil, nil })
	if err == nil || called {
		t.Errorf("Update on a directory = %v (fn called: %v), want an error before fn", err, called)
	}
}

func TestUpdateHoldsLock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state")
	err := atomicfile.Update(context.Background(), path, atomicfile.Shared, func([]byte) ([]byte, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		if unlock, err := atomicfile.Lock(ctx, path); err == nil {
			unlock()
			return nil, errors.New("Lock succeeded while Update was running")
		}
		return []byte("x"), nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestLockSerialises: a second Lock blocks until the first is released.
func TestLockSerialises(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "state")
	unlock1, err := atomicfile.Lock(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Dir(path)); err != nil {
		t.Errorf("Lock did not create the directory: %v", err)
	}

	var released atomic.Bool
	started := make(chan struct{})
	acquired := make(chan error, 1)
	go func() {
		close(started)
		unlock2, err := atomicfile.Lock(context.Background(), path)
		if err == nil {
			if !released.Load() {
				err = errors.New("second Lock acquired while the first was held")
			}
			unlock2()
		}
		acquired <- err
	}()
	<-started

	// While the first lock is held, a bounded attempt fails...
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if unlock, err := atomicfile.Lock(ctx, path); err == nil {
		unlock()
		t.Fatal("Lock with a deadline succeeded while the lock was held")
	} else if !strings.Contains(err.Error(), "holds") {
		t.Errorf("error %q does not say the lock is held", err)
	}
	// ...and the waiting one has not got it.
	select {
	case err := <-acquired:
		t.Fatalf("second Lock returned while the first was held: %v", err)
	default:
	}

	released.Store(true)
	unlock1()
	if err := <-acquired; err != nil {
		t.Fatal(err)
	}
	// Released again: a third Lock succeeds at once.
	unlock3, err := atomicfile.Lock(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	unlock3()
}

func TestLockCancelled(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state")
	unlock, err := atomicfile.Lock(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if u, err := atomicfile.Lock(ctx, path); err == nil {
		u()
		t.Fatal("Lock with a cancelled context succeeded while held")
	}
	fnCalled := false
	if err := atomicfile.Update(ctx, path, atomicfile.Shared, func([]byte) ([]byte, error) { fnCalled = true; return nil, nil }); err == nil || fnCalled {
		t.Errorf("Update with a cancelled context while locked = %v (fn called: %v)", err, fnCalled)
	}
}

// TestUpdateConcurrent: read-modify-write from many goroutines loses nothing.
func TestUpdateConcurrent(t *testing.T) {
	const n = 20
	path := filepath.Join(t.TempDir(), "counter")
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := atomicfile.Update(context.Background(), path, atomicfile.Shared, func(cur []byte) ([]byte, error) {
				return append(cur, 'x'), nil
			}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	got, _ := os.ReadFile(path)
	if len(got) != n {
		t.Errorf("%d increments survived, want %d", len(got), n)
	}
}

func ptr(s string) *string { return &s }

// A writer killed between creating its temporary file and renaming it
// leaves the temporary file behind (for secrets.json: a copy of the
// secrets, which logout would then never delete). The next Update, which
// holds the lock every writer holds, removes it; temporary files of other
// files in the directory are not its business.
func TestUpdateRemovesTempFilesOfDeadWriters(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(path, []byte("old\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	dead := []string{".config.yaml.tmp-123456", ".config.yaml.tmp-987"}
	for _, n := range dead {
		if err := os.WriteFile(filepath.Join(dir, n), []byte("half a fi"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	other := filepath.Join(dir, ".secrets.json.tmp-42")
	if err := os.WriteFile(other, []byte("{}"), 0o600); err != nil {
		t.Fatal(err)
	}
	err := atomicfile.Update(t.Context(), path, atomicfile.Private, func(current []byte) ([]byte, error) {
		if string(current) != "old\n" {
			t.Errorf("Update read %q, want the real file, not a temporary one", current)
		}
		return []byte("new\n"), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(path); string(got) != "new\n" {
		t.Errorf("file = %q, want new", got)
	}
	if left := leftovers(t, dir, "config.yaml"); len(left) != 1 || left[0] != filepath.Base(other) {
		t.Errorf("files beside config.yaml: %v, want only %s (another file's)", left, filepath.Base(other))
	}
}
