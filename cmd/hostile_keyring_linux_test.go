//go:build linux

package cmd

import (
	"testing"

	"github.com/camctl/camctl/internal/auth"
	"github.com/camctl/camctl/internal/config"
	"github.com/camctl/camctl/internal/testutil/secretservicetest"
)

// The hostile table with secrets and tokens in a real, unlocked
// gnome-keyring (CAMCTL_KEYRING=system), in a private D-Bus session: one
// session per auth method, so that each stays within the session's time
// limit under -race.
func TestHostileKeyringBasic(t *testing.T) {
	hostileKeyring(t, "TestHostileKeyringBasic", config.MethodBasic)
}
func TestHostileKeyringOIDC(t *testing.T) {
	hostileKeyring(t, "TestHostileKeyringOIDC", config.MethodOIDC)
}
func TestHostileKeyringBearer(t *testing.T) {
	hostileKeyring(t, "TestHostileKeyringBearer", config.MethodBearer)
}

func hostileKeyring(t *testing.T, name, method string) {
	if !secretservicetest.Inside() {
		secretservicetest.Run(t, name, secretservicetest.Unlock)
		return
	}
	hostileTable(t, auth.KeyringSystem, method)
}
