//go:build windows

package cmd

import "os"

// forwardedSignals are the signals `camctl exec` passes on to its child.
func forwardedSignals() []os.Signal { return []os.Signal{os.Interrupt} }
