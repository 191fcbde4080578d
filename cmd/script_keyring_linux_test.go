//go:build linux

package cmd

import (
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/camctl/camctl/internal/testutil/fakecamunda"
	"github.com/camctl/camctl/internal/testutil/oidctest"
	"github.com/camctl/camctl/internal/testutil/pkitest"
	"github.com/camctl/camctl/internal/testutil/secretservicetest"
)

// TestScriptsSecretService runs testdata/script-keyring against a real
// gnome-keyring Secret Service on a private session bus: login stores in
// the keyring a user has, and secret-tool can see it there.
func TestScriptsSecretService(t *testing.T) {
	if !secretservicetest.Inside() {
		// Out here, with the user's HOME and network: the provider's
		// npm packages are installed (or found missing) before the run
		// inside the session, whose HOME is a temporary one.
		oidctest.Require(t)
		secretservicetest.Run(t, "TestScriptsSecretService", secretservicetest.Unlock)
		return
	}
	idp := oidctest.Start(t, oidctest.Options{Clients: oidcClients})
	pki := pkitest.New(t, "")
	p := withIdP(scriptParams(filepath.Join("..", "testdata", "script-keyring")), idp)
	setup := p.Setup
	p.Setup = func(env *testscript.Env) error {
		if err := setup(env); err != nil {
			return err
		}
		// A cluster behind mutual TLS with Basic auth, for client keys
		// whose passphrase lives in the keyring.
		fake := fakecamunda.New()
		fake.RequireBasic("demo", "s3cret")
		srv := httptest.NewUnstartedServer(fake)
		srv.TLS = pki.ServerTLSConfig(true)
		srv.StartTLS()
		env.Defer(func() { fake.Close(); srv.Close() })
		env.Setenv("CAMUNDA_MTLS_API", srv.URL)
		env.Setenv("CA", pki.CACert)
		env.Setenv("CERT", pki.ClientCert)
		env.Setenv("KEY_ENC", pki.ClientKeyEncrypted)
		env.Setenv("KEY_PASS", pki.ClientKeyPassphrase)
		// Hand the private session bus through to camctl.
		env.Setenv("DBUS_SESSION_BUS_ADDRESS", os.Getenv("DBUS_SESSION_BUS_ADDRESS"))
		env.Setenv("XDG_RUNTIME_DIR", os.Getenv("XDG_RUNTIME_DIR"))
		return nil
	}
	testscript.Run(t, p)
}
