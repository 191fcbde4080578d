//go:build !windows

package cmd

import (
	"os"
	"syscall"
)

// forwardedSignals are the signals `camctl exec` passes on to its child:
// those a terminal, a CI runner or a process supervisor sends.
func forwardedSignals() []os.Signal {
	return []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGWINCH}
}
