// Package atomicfile writes files so that a reader sees either the old or
// the new content, never a mix, and so that concurrent camctl processes
// updating the same file serialise instead of losing each other's changes.
package atomicfile

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
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

// lockWait bounds how long a process waits for others to finish their
// updates, unless the caller's context sets its own deadline. An update
// takes milliseconds, but a queue of them behind slow fsyncs on a busy
// machine (20 processes at once, say) can take seconds; a lock held
// longer than this means the holder is stuck, and failing beats hanging a
// CI job. The kernel releases flock(2) locks when their holder dies, so a
// killed process never leaves a stale lock behind.
const lockWait = 30 * time.Second

// Write replaces path with data: it writes a temporary file in the same
// directory, syncs it and renames it over path. The directory is created
// with DirMode when missing; an existing directory keeps its mode. A
// symlink at path is followed (see resolveLink); a directory that other
// users may write to is refused (see CheckDir).
// Write takes no lock: concurrent writers use Update, which locks the
// resolved path and removes temporary files it finds there as a dead
// writer's.
func Write(path string, data []byte) error {
	return write(resolveLink(path), data, Shared)
}

// Policy says how much a file's surroundings must be trusted.
type Policy int

const (
	// Shared is for files without secrets (config.yaml): a symlink at
	// the path is followed, and the directory must not be writable by
	// every user (see CheckDir).
	Shared Policy = iota
	// Private is for files that hold secrets or tokens: a symlink at
	// the path is refused, and the directory must also belong to this
	// user (or root).
	Private
)

func write(path string, data []byte, policy Policy) error {
	if err := prepareDir(filepath.Dir(path), policy); err != nil {
		return err
	}
	return replace(path, data, policy)
}

// prepareDir creates dir when it is missing and refuses one that other
// users could tamper with (CheckDir).
func prepareDir(dir string, policy Policy) error {
	if err := os.MkdirAll(dir, DirMode); err != nil {
		return fmt.Errorf("create directory %s: %w", dir, err)
	}
	return CheckDir(dir, policy)
}

// replace writes data to a temporary file in path's directory, which
// prepareDir has checked, and renames it over path.
func replace(path string, data []byte, policy Policy) error {
	dir := filepath.Dir(path)
	if policy == Private {
		if err := refuseLink(path); err != nil {
			return err
		}
	}
	tmp, err := os.CreateTemp(dir, tempPrefix(path)+"*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmpName := tmp.Name()
	committed := false
	defer func() {
		if !committed {
			// Clean-up after an error that is already being returned.
			_ = tmp.Close()
			_ = os.Remove(tmpName)
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
	// Best effort: the data is already in place, and some file systems
	// cannot sync a directory.
	// #nosec G304 -- dir is the directory camctl just wrote to.
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
	return nil
}

// Update runs fn under an exclusive lock on path (held on a sibling
// "<path>.lock" file) with the file's current content (nil when it does
// not exist), and writes what fn returns atomically. Reading inside the
// lock is what makes read-modify-write safe across processes.
// If fn returns a nil slice, the file is left unchanged.
//
// The path is handled as policy says: Shared follows a symlink at path,
// Private refuses one and reads the file only if this user owns it.
func Update(ctx context.Context, path string, policy Policy, fn func(current []byte) ([]byte, error)) error {
	if policy == Shared {
		path = resolveLink(path)
	}
	unlock, err := lock(ctx, path, policy)
	if err != nil {
		return err
	}
	defer unlock()
	removeDeadTemps(path)

	var current []byte
	if policy == Private {
		current, err = ReadPrivate(path)
	} else {
		// The config file the user chose: bounded like every input file.
		current, err = ReadInput(path)
	}
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
	// lock has prepared and checked the directory.
	return replace(path, next, policy)
}

// UnsafeError is a file or directory camctl will not use because another
// user could read or replace what it holds.
type UnsafeError struct {
	Path   string
	Reason string
	Fix    string
}

func (e *UnsafeError) Error() string {
	msg := fmt.Sprintf("refusing to use %s: %s", e.Path, e.Reason)
	if e.Fix != "" {
		msg += "; " + e.Fix
	}
	return msg
}

// CheckDir refuses a directory in which another user could plant or swap
// files: one writable by every user (like /tmp: another user could put a
// symlink where camctl is about to write), or with an ancestor that every
// user may write to without the sticky bit (anyone could rename the
// whole subtree away). With Private the directory must also belong to
// this user or root. Group-writable directories are accepted: Debian's
// user-private groups make them common, and OpenSSH accepts them too when
// the group has no other member. Like ssh's StrictModes this looks at the
// resolved path; on Windows it checks nothing (ACLs, not mode bits).
func CheckDir(dir string, policy Policy) error {
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return fmt.Errorf("check directory %s: %w", dir, err)
	}
	if real, err = filepath.Abs(real); err != nil {
		return fmt.Errorf("check directory %s: %w", dir, err)
	}
	for d, first := real, true; ; first = false {
		fi, err := os.Lstat(d)
		if err != nil {
			return fmt.Errorf("check directory %s: %w", dir, err)
		}
		if worldWritable(fi) && (first || fi.Mode()&os.ModeSticky == 0) {
			fix := "use a directory only you can write to"
			if ownedBySelf(fi) && fi.Mode()&os.ModeSticky == 0 {
				// Only for a directory of the user's own that is open by
				// mistake: /tmp and the like are meant to be shared.
				fix += ", or run chmod o-w " + d
			}
			return &UnsafeError{Path: dir, Reason: fmt.Sprintf("%s is writable by every user (mode %04o)", d, uint32(fi.Mode().Perm())), Fix: fix}
		}
		if first && policy == Private {
			if uid, other := ownedByOther(fi); other {
				return &UnsafeError{Path: dir, Reason: "it belongs to " + ownerText(uid),
					Fix: "use a directory of your own"}
			}
		}
		parent := filepath.Dir(d)
		if parent == d {
			return nil
		}
		d = parent
	}
}

// refuseLink fails when path is a symbolic link.
func refuseLink(path string) error {
	fi, err := os.Lstat(path)
	if err == nil && fi.Mode()&os.ModeSymlink != 0 {
		return &UnsafeError{Path: path, Reason: "it is a symbolic link, and camctl does not follow links for files that hold secrets",
			Fix: "remove it; camctl creates the file itself"}
	}
	return nil
}

// ReadPrivate reads a file that holds secrets: never through a symbolic
// link, and only when this user (or root) owns it and other users cannot
// write to it, so a file planted by someone else is never taken for
// camctl's own.
func ReadPrivate(path string) ([]byte, error) {
	if err := refuseLink(path); err != nil {
		return nil, err
	}
	// O_NOFOLLOW closes the gap between the Lstat above and the open.
	return readChecked(path, os.O_RDONLY|oNoFollow, func(fi fs.FileInfo) error {
		if uid, other := ownedByOther(fi); other {
			return &UnsafeError{Path: path, Reason: "it belongs to " + ownerText(uid), Fix: "remove it"}
		}
		if worldWritable(fi) {
			return &UnsafeError{Path: path, Reason: fmt.Sprintf("it is writable by every user (mode %04o)", uint32(fi.Mode().Perm())), Fix: "remove it"}
		}
		return nil
	}, maxPrivateFile)
}

// maxPrivateFile bounds camctl's own secrets and token files (spec §8):
// far above what they hold (tokens are at most 64 KiB each).
const maxPrivateFile = 16 << 20

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
// The lock file is private: it is never opened through a symbolic link,
// and its directory must belong to this user.
func Lock(ctx context.Context, path string) (unlock func(), err error) {
	return lock(ctx, path, Private)
}

func lock(ctx context.Context, path string, policy Policy) (unlock func(), err error) {
	if err := prepareDir(filepath.Dir(path), policy); err != nil {
		return nil, err
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, lockWait)
		defer cancel()
	}
	// O_NOFOLLOW: a symlink planted in place of the lock file must not
	// make camctl create or open a file elsewhere.
	fl := flock.New(path+".lock", flock.SetPermissions(FileMode), flock.SetFlag(os.O_CREATE|os.O_RDWR|oNoFollow))
	ok, err := fl.TryLockContext(ctx, 10*time.Millisecond)
	if err != nil || !ok {
		if err == nil || errors.Is(err, context.DeadlineExceeded) {
			err = fmt.Errorf("another camctl process holds %s.lock", path)
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return func() { _ = fl.Unlock() }, nil
}

// CheckShared refuses a file without secrets whose content another user
// may have chosen: one writable by every user, or one reached through
// anything (the file, a symbolic link on the way to it, or a directory)
// that someone else owns in a directory every user may write to: a
// config planted in /tmp, or a link /tmp/x.yaml planted there that points
// to a file of the planter's own, in a directory of theirs. Whoever writes
// camctl's config file chooses where its credentials go. A file owned by
// another user elsewhere is accepted: a CI job running as root commonly
// reads a checkout that belongs to the runner's user.
func CheckShared(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if worldWritable(fi) {
		return &UnsafeError{Path: path, Reason: fmt.Sprintf("it is writable by every user (mode %04o)", uint32(fi.Mode().Perm())),
			Fix: "run chmod 600 " + path}
	}
	if !checksOwners {
		return nil
	}
	return walkPath(path, func(name, dir string, fi os.FileInfo) error {
		uid, other := ownedByOther(fi)
		if !other {
			return nil
		}
		di, err := os.Stat(dir)
		if err != nil {
			return err
		}
		if !worldWritable(di) {
			return nil
		}
		what := "it belongs to "
		switch {
		case fi.Mode()&os.ModeSymlink != 0:
			what = "the link " + name + " belongs to "
		case name != path:
			what = name + " belongs to "
		}
		return &UnsafeError{Path: path, Reason: what + ownerText(uid) + " and lies in a directory every user can write to",
			Fix: "keep your config file in a directory of your own"}
	})
}

// maxLinks bounds the symbolic links walkPath follows (Linux's own limit
// is 40), so a loop of links ends in an error.
const maxLinks = 40

// walkPath resolves path one component at a time, as the kernel does, and
// calls visit with every component it meets — each directory, each
// symbolic link (before following it) and the final file — together with
// the directory that holds it. Looking at the links themselves, not only
// at where they lead, is the point: EvalSymlinks would hide who placed them.
func walkPath(path string, visit func(name, dir string, fi os.FileInfo) error) error {
	abs, err := filepath.Abs(path)
	if err != nil {
		return err
	}
	vol := filepath.VolumeName(abs)
	resolved := vol + string(filepath.Separator)
	todo := splitPath(abs[len(vol):])
	links := 0
	for len(todo) > 0 {
		comp := todo[0]
		todo = todo[1:]
		if comp == "." || comp == "" {
			continue
		}
		if comp == ".." {
			resolved = filepath.Dir(resolved)
			continue
		}
		name := filepath.Join(resolved, comp)
		fi, err := os.Lstat(name)
		if err != nil {
			return err
		}
		shown := name
		if len(todo) == 0 && links == 0 {
			shown = path
		}
		if err := visit(shown, resolved, fi); err != nil {
			return err
		}
		if fi.Mode()&os.ModeSymlink == 0 {
			resolved = name
			continue
		}
		if links++; links > maxLinks {
			return fmt.Errorf("%s: too many levels of symbolic links", path)
		}
		target, err := os.Readlink(name)
		if err != nil {
			return err
		}
		if filepath.IsAbs(target) {
			v := filepath.VolumeName(target)
			resolved = v + string(filepath.Separator)
			target = target[len(v):]
		}
		todo = append(splitPath(target), todo...)
	}
	return nil
}

// Tidy removes, under path's lock, the temporary files that writers of
// path killed mid-write left behind (see removeDeadTemps), without
// writing path. logout and profile remove call it for the secrets file:
// such a file holds a copy of secrets that nothing else would delete.
// A directory that does not exist is left alone (nothing to tidy, and
// nothing is created).
func Tidy(ctx context.Context, path string) error {
	if _, err := os.Lstat(filepath.Dir(path)); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	unlock, err := lock(ctx, path, Private)
	if err != nil {
		return err
	}
	defer unlock()
	removeDeadTemps(path)
	return nil
}

func splitPath(p string) []string {
	return strings.FieldsFunc(p, func(r rune) bool { return r == '/' || r == filepath.Separator })
}
