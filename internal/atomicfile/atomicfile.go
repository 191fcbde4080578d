// Package atomicfile writes files so that a reader sees either the old or
// the new content, never a mix, and so that concurrent camctl processes
// updating the same file serialise instead of losing each other's changes.
package atomicfile

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gofrs/flock"
)

// DirMode and FileMode are the permissions of everything camctl creates:
// the files may hold profile details or (with --insecure-storage) secrets.
const (
	DirMode  os.FileMode = 0o700
	FileMode os.FileMode = 0o600
)

// lockWait bounds how long a process waits for another one to finish its
// update, unless the caller's context sets its own deadline. Updates take milliseconds; a lock held longer than this means the
// holder is stuck, and failing beats hanging a CI job. The kernel releases
// flock(2) locks when their holder dies, so a killed process never leaves
// a stale lock behind.
const lockWait = 10 * time.Second

// Write replaces path with data: it writes a temporary file in the same
// directory, syncs it and renames it over path. The directory is created
// with DirMode when missing; an existing directory keeps its mode.
// Concurrent writers of one path must hold Lock (Update does): Update
// removes temporary files it finds while holding the lock as a dead
// writer's.
func Write(path string, data []byte) error {
	path = resolveLink(path)
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, DirMode); err != nil {
		return fmt.Errorf("create directory %s: %w", dir, err)
	}
	tmp, err := os.CreateTemp(dir, tempPrefix(path)+"*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmpName := tmp.Name()
	committed := false
	defer func() {
		if !committed {
			tmp.Close()
			os.Remove(tmpName)
		}
	}()
	if err := tmp.Chmod(FileMode); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err := tmp.Write(data); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmpName, path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	committed = true
	// Persist the rename itself; without this a crash can bring back the old file.
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}

// Update runs fn under an exclusive lock on path (held on a sibling
// "<path>.lock" file) with the file's current content (nil when it does
// not exist), and writes what fn returns atomically. Reading inside the
// lock is what makes read-modify-write safe across processes.
// If fn returns a nil slice, the file is left unchanged.
func Update(ctx context.Context, path string, fn func(current []byte) ([]byte, error)) error {
	path = resolveLink(path)
	unlock, err := Lock(ctx, path)
	if err != nil {
		return err
	}
	defer unlock()
	removeDeadTemps(path)

	current, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("read %s: %w", path, err)
	}
	next, err := fn(current)
	if err != nil {
		return err
	}
	if next == nil {
		return nil
	}
	return Write(path, next)
}

// tempPrefix starts the names of Write's temporary files for path.
func tempPrefix(path string) string {
	return "." + filepath.Base(path) + ".tmp-"
}

// removeDeadTemps deletes temporary files that writers of path left
// behind. Every writer holds the lock while its temporary file exists,
// so one seen by the lock holder belongs to a writer that died between
// creating and renaming it (SIGKILL, a power cut). Without this they
// pile up, and for a secrets file each is a copy of secrets that logout
// would never delete. It is best effort: a file that cannot be removed
// now does no harm to this update.
func removeDeadTemps(path string) {
	dir, prefix := filepath.Dir(path), tempPrefix(path)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), prefix) && e.Type().IsRegular() {
			_ = os.Remove(filepath.Join(dir, e.Name()))
		}
	}
}

// resolveLink returns the file a symlink points to, so that a config
// kept in a dotfiles repository and linked into place is updated where it
// lives instead of being replaced by a regular file.
func resolveLink(path string) string {
	if real, err := filepath.EvalSymlinks(path); err == nil {
		return real
	}
	return path
}

// Lock takes an exclusive lock associated with path and returns the
// function that releases it.
func Lock(ctx context.Context, path string) (unlock func(), err error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, DirMode); err != nil {
		return nil, fmt.Errorf("create directory %s: %w", dir, err)
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, lockWait)
		defer cancel()
	}
	fl := flock.New(path+".lock", flock.SetPermissions(FileMode))
	ok, err := fl.TryLockContext(ctx, 10*time.Millisecond)
	if err != nil || !ok {
		if err == nil || errors.Is(err, context.DeadlineExceeded) {
			err = fmt.Errorf("another camctl process holds %s.lock", path)
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return func() { _ = fl.Unlock() }, nil
}
