//go:build darwin || freebsd || netbsd || openbsd || dragonfly

package cmd

import "golang.org/x/sys/unix"

// echoOff clears ECHO on the terminal fd and returns the function that
// restores the previous settings.
func echoOff(fd int) (restore func(), err error) {
	return termiosEchoOff(fd, unix.TIOCGETA, unix.TIOCSETA)
}
