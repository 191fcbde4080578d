//go:build linux

package cmd

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/camctl/camctl/internal/oidctest"
	"github.com/camctl/camctl/internal/secretservicetest"
)

// TestScriptsSecretService runs testdata/script-keyring against a real
// gnome-keyring Secret Service on a private session bus: login stores in
// the keyring a user has, and secret-tool can see it there.
func TestScriptsSecretService(t *testing.T) {
	if !secretservicetest.Inside() {
		secretservicetest.Run(t, "TestScriptsSecretService", secretservicetest.Unlock)
		return
	}
	idp := oidctest.Start(t, oidctest.Options{Clients: oidcClients})
	p := withIdP(scriptParams(filepath.Join("..", "testdata", "script-keyring")), idp)
	setup := p.Setup
	p.Setup = func(env *testscript.Env) error {
		if err := setup(env); err != nil {
			return err
		}
		// Hand the private session bus through to camctl.
		env.Setenv("DBUS_SESSION_BUS_ADDRESS", os.Getenv("DBUS_SESSION_BUS_ADDRESS"))
		env.Setenv("XDG_RUNTIME_DIR", os.Getenv("XDG_RUNTIME_DIR"))
		return nil
	}
	testscript.Run(t, p)
}
