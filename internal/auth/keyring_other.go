//go:build !linux

package auth

// checkSessionBus is Linux-only: elsewhere go-keyring talks to the
// Keychain or Credential Manager and starts no daemons.
func checkSessionBus(getenv func(string) string, uidRuntimeDir string) error {
	return nil
}

func uidRuntimeDir() string { return "" }

// newOSKeyring is go-keyring itself: the Keychain and Credential Manager
// answer each call in-process, with no round trips worth saving.
func newOSKeyring() KeyringBackend { return goKeyring{} }
