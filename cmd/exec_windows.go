//go:build windows

package cmd

import "os"

// forwardedSignals are the signals `camctl exec` passes on to its child.
func forwardedSignals() []os.Signal { return []os.Signal{os.Interrupt} }

// terminalSent: the console sends Ctrl-C to every process attached to it.
func terminalSent(sig os.Signal, _ *os.File) bool { return sig == os.Interrupt }
