//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package cmd

import (
	"errors"
	"io"

	"golang.org/x/sys/unix"
)

// hiddenInput turns echo off on the terminal fd and returns a function
// that reads one line from it, and one that restores the terminal. Only
// the caller changes the terminal state; the read function just reads, so
// a read abandoned on Ctrl-C can never switch echo off again after the
// terminal was restored (as term.ReadPassword in a goroutine could).
func hiddenInput(fd int) (read func() (string, error), restore func(), err error) {
	old, err := unix.IoctlGetTermios(fd, ioctlGetTermios)
	if err != nil {
		return nil, nil, err
	}
	noEcho := *old
	noEcho.Lflag &^= unix.ECHO
	// Canonical mode: the kernel does the line editing (backspace) and
	// hands over the line on Enter; ISIG keeps Ctrl-C a signal.
	noEcho.Lflag |= unix.ICANON | unix.ISIG
	noEcho.Iflag |= unix.ICRNL
	if err := unix.IoctlSetTermios(fd, ioctlSetTermios, &noEcho); err != nil {
		return nil, nil, err
	}
	restore = func() { _ = unix.IoctlSetTermios(fd, ioctlSetTermios, old) }
	read = func() (string, error) {
		var line []byte
		b := make([]byte, 1)
		for {
			n, err := unix.Read(fd, b)
			switch {
			case n == 1 && b[0] == '\n':
				return string(line), nil
			case n == 1:
				line = append(line, b[0])
			case errors.Is(err, unix.EINTR):
			case err != nil:
				return "", err
			default:
				if len(line) > 0 {
					return string(line), nil
				}
				return "", io.EOF
			}
		}
	}
	return read, restore, nil
}
