//go:build linux

package cmd

import (
	"testing"

	"github.com/camctl/camctl/internal/auth"
	"github.com/camctl/camctl/internal/secretservicetest"
)

// The hostile table with secrets and tokens in a real, unlocked
// gnome-keyring (CAMCTL_KEYRING=system), in a private D-Bus session.
func TestHostileKeyring(t *testing.T) {
	if !secretservicetest.Inside() {
		secretservicetest.Run(t, "TestHostileKeyring", secretservicetest.Unlock)
		return
	}
	hostileTable(t, auth.KeyringSystem)
}
