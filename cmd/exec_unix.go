//go:build !windows

package cmd

import (
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// forwardedSignals are the signals `camctl exec` passes on to its child:
// those a terminal, a CI runner or a process supervisor sends.
func forwardedSignals() []os.Signal {
	return []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGWINCH}
}

// terminalSent reports whether sig is one the terminal sends to its whole
// foreground process group (Ctrl-C, Ctrl-\, a resize) while camctl, and
// so its child, is in that group: the child has it already, and a second
// copy would make a worker that shuts down gracefully on the first Ctrl-C
// stop at once. A supervisor's signal to camctl alone still goes on.
func terminalSent(sig os.Signal, stdin *os.File) bool {
	switch sig {
	case syscall.SIGINT, syscall.SIGQUIT, syscall.SIGWINCH:
	default:
		return false
	}
	if stdin == nil {
		return false
	}
	fg, err := unix.IoctlGetInt(int(stdin.Fd()), unix.TIOCGPGRP)
	return err == nil && fg == unix.Getpgrp()
}
