//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package cmd

// echoOff is a no-op where termios does not exist; term.ReadPassword
// still hides the input once it runs.
func echoOff(int) (func(), error) { return func() {}, nil }
