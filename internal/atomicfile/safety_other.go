//go:build !unix

package atomicfile

import "os"

// Windows has no O_NOFOLLOW, and its permission bits are synthetic (a
// writable file reads as 0666), so the mode and owner checks do not
// apply there: profile directories are protected by their ACLs.
const oNoFollow = 0

// oNonblock: Windows opens a named pipe without waiting for its writer.
const oNonblock = 0

func worldWritable(os.FileInfo) bool { return false }

func ownedByOther(os.FileInfo) (uint32, bool) { return 0, false }

func ownerText(uint32) string { return "" }

func ownedBySelf(os.FileInfo) bool { return false }

// checksOwners: no owner checks without Unix owners (see above).
const checksOwners = false
