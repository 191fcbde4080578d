//go:build unix

package atomicfile

import (
	"fmt"
	"os"
	"syscall"
)

// oNoFollow makes open(2) fail with ELOOP when the last path component is
// a symbolic link.
const oNoFollow = syscall.O_NOFOLLOW

// oNonblock keeps open(2) of a named pipe from waiting for a writer;
// it changes nothing for a regular file.
const oNonblock = syscall.O_NONBLOCK

// worldWritable reports whether every user may change fi (mode o+w).
func worldWritable(fi os.FileInfo) bool { return fi.Mode().Perm()&0o002 != 0 }

// ownedByOther returns the owner of fi when it is neither this user nor
// root (root can change anything anyway), and ok=false otherwise.
func ownedByOther(fi os.FileInfo) (uid uint32, other bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false
	}
	if int(st.Uid) == os.Geteuid() || st.Uid == 0 {
		return st.Uid, false
	}
	return st.Uid, true
}

// ownedBySelf reports whether this user (not merely root) owns fi: only
// then is "chmod" advice the user can follow.
func ownedBySelf(fi os.FileInfo) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && int(st.Uid) == os.Geteuid()
}

func ownerText(uid uint32) string {
	return fmt.Sprintf("uid %d, not you (uid %d)", uid, os.Geteuid())
}

// checksOwners: file owners and mode bits mean what they say.
const checksOwners = true
