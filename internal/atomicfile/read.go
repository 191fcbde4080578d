package atomicfile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
)

// MaxInputFile bounds every file camctl reads on the user's word: the
// config file, a Console env file, certificates, keys, keystores and CA
// bundles. Real ones are a few KB; the bound keeps /dev/zero or a
// mistyped path to a disk image from filling the memory (spec §8).
const MaxInputFile = 1 << 20

// InputFileError is a file that ReadInput refuses to read: not a regular
// file, or larger than MaxInputFile. Callers wrap it in their own error
// type, which says what the file was for.
type InputFileError struct {
	What string // "a named pipe", "a directory", "larger than 1 MiB (N bytes)"
}

func (e *InputFileError) Error() string {
	return "it is " + e.What + "; camctl reads only regular files of at most 1 MiB"
}

// ReadInput reads a regular file of at most MaxInputFile bytes. The file
// is opened without blocking (a named pipe with no writer would otherwise
// hang the open itself) and checked on the open descriptor, so nothing can
// swap the path between the check and the read. A file that grows past
// the bound while being read is refused too.
func ReadInput(path string) ([]byte, error) {
	// #nosec G304 -- the user names this file; checking it is the point.
	b, err := readChecked(path, os.O_RDONLY|oNonblock, CheckInput, MaxInputFile)
	if errors.Is(err, errTooLarge) {
		return nil, &InputFileError{What: "larger than 1 MiB"}
	}
	return b, err
}

var errTooLarge = errors.New("larger than the read bound")

// readChecked opens path with flag, refuses what check refuses about the
// open descriptor (no check-then-open race), and reads at most limit
// bytes (errTooLarge beyond, also for a file that grows while read).
func readChecked(path string, flag int, check func(fs.FileInfo) error, limit int64) ([]byte, error) {
	f, err := os.OpenFile(path, flag, 0) // #nosec G304 -- callers name and check the file
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if err := check(fi); err != nil {
		return nil, err
	}
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, errTooLarge
	}
	return b, nil
}

// CheckInput refuses what ReadInput refuses, from a FileInfo: a setting
// can be checked when it is made, not only when the file is used.
func CheckInput(fi fs.FileInfo) error {
	m := fi.Mode()
	switch {
	case m.IsRegular():
		if fi.Size() > MaxInputFile {
			return &InputFileError{What: fmt.Sprintf("larger than 1 MiB (%d bytes)", fi.Size())}
		}
		return nil
	case m.IsDir():
		return &InputFileError{What: "a directory"}
	case m&fs.ModeNamedPipe != 0:
		return &InputFileError{What: "a named pipe"}
	case m&fs.ModeSocket != 0:
		return &InputFileError{What: "a socket"}
	case m&fs.ModeDevice != 0:
		return &InputFileError{What: "a device"}
	}
	return &InputFileError{What: "not a regular file"}
}
