//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package cmd

import "golang.org/x/term"

// hiddenInput reads with term.ReadPassword where there is no termios
// (Windows), which switches echo off and on itself.
func hiddenInput(fd int) (read func() (string, error), restore func(), err error) {
	state, err := term.GetState(fd)
	if err != nil {
		return nil, nil, err
	}
	read = func() (string, error) {
		b, err := term.ReadPassword(fd)
		return string(b), err
	}
	return read, func() { _ = term.Restore(fd, state) }, nil
}
