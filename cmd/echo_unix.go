//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package cmd

import "golang.org/x/sys/unix"

func termiosEchoOff(fd int, get, set uint) (func(), error) {
	old, err := unix.IoctlGetTermios(fd, get)
	if err != nil {
		return nil, err
	}
	noEcho := *old
	noEcho.Lflag &^= unix.ECHO
	if err := unix.IoctlSetTermios(fd, set, &noEcho); err != nil {
		return nil, err
	}
	return func() { _ = unix.IoctlSetTermios(fd, set, old) }, nil
}
