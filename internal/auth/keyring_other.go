//go:build !linux

package auth

// checkSessionBus is Linux-only: elsewhere go-keyring talks to the
// Keychain or Credential Manager and starts no daemons.
func checkSessionBus(getenv func(string) string, uidRuntimeDir string) error {
	return nil
}

func uidRuntimeDir() string { return "" }
