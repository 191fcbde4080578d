package cmd

import (
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/camctl/camctl/internal/testutil/fakecamunda"
	"github.com/camctl/camctl/internal/testutil/oidctest"
	"github.com/camctl/camctl/internal/testutil/pkitest"
)

type x509IdPKey struct{}

// TestScriptsX509 runs testdata/script-x509 with real TLS everywhere: a
// generated PKI, the OpenID provider over HTTPS authenticating clients by
// certificate (tls_client_auth) or by secret, and a cluster API behind
// TLS that demands a client certificate signed by the CA.
func TestScriptsX509(t *testing.T) {
	// Skips here, once, when Node.js is missing, not in every script.
	oidctest.Require(t)
	pki := pkitest.New(t, "")
	assertionKeys := pki.AssertionKeys(t)
	p := scriptParams(filepath.Join("..", "testdata", "script-x509"))
	setup := p.Setup
	p.Setup = func(env *testscript.Env) error {
		if err := setup(env); err != nil {
			return err
		}
		// An IdP per script, so that its token count is the script's own,
		// started on the script's own T: a Fatal on the parent t from here
		// (the script's goroutine) would abort the whole test binary.
		st, ok := env.T().(testing.TB)
		if !ok {
			return fmt.Errorf("testscript gave a %T, not a testing.TB", env.T())
		}
		idp := oidctest.Start(st, oidctest.Options{
			TLS: &oidctest.TLSOptions{CertFile: pki.ServerCert, KeyFile: pki.ServerKey, CAFile: pki.CACert},
			Clients: []oidctest.Client{
				{ID: "camctl-x509", TLSSubjectDN: pkitest.ClientSubjectDN},
				{ID: "camctl-ci", Secret: "Cl1ent-S3cret-ci"},
				// §11: a client assertion, sent over mTLS.
				{ID: "camctl-signed", JWKS: assertionKeys.JWKS(st)},
			},
		})
		fake := fakecamunda.New()
		fake.RequireBearer(idp.Verify)
		srv := httptest.NewUnstartedServer(fake)
		srv.TLS = pki.ServerTLSConfig(true)
		srv.StartTLS()
		env.Defer(func() {
			fake.Close()
			srv.Close()
		})
		env.Values[x509IdPKey{}] = idp
		for k, v := range map[string]string{
			"CAMUNDA_MTLS_API": srv.URL, "TOKEN_URL": idp.TokenURL(), "DN": pkitest.ClientSubjectDN,
			"CA": pki.CACert, "UNTRUSTED_CA": pki.UntrustedCACert,
			"CERT": pki.ClientCert, "KEY": pki.ClientKey, "KEY_ENC": pki.ClientKeyEncrypted, "KEY_PASS": pki.ClientKeyPassphrase,
			"P12": pki.ClientP12, "P12_PASS": pki.ClientP12Password,
			"UNTRUSTED_CERT": pki.UntrustedClientCert, "UNTRUSTED_KEY": pki.UntrustedClientKey,
			"EXPIRED_CERT": pki.ExpiredClientCert, "EXPIRED_KEY": pki.ExpiredClientKey,
			"NOTYET_CERT": pki.NotYetValidClientCert, "NOTYET_KEY": pki.NotYetValidClientKey,
			"EXPIRING_CERT": pki.ExpiringClientCert, "EXPIRING_KEY": pki.ExpiringClientKey,
			"WRONG_KEY":        pki.WrongKey,
			"ASSERTION_KEY":    assertionKeys.ECKey,
			"ASSERTION_P12":    assertionKeys.P12AES,
			"ISSUER":           idp.Issuer,
			"CAMCTL_CACHE_DIR": filepath.Join(env.WorkDir, "cache"),
		} {
			env.Setenv(k, v)
		}
		return nil
	}
	p.Cmds["idp-requests"] = func(ts *testscript.TestScript, neg bool, args []string) {
		want, err := strconv.Atoi(args[0])
		ts.Check(err)
		if got := ts.Value(x509IdPKey{}).(*oidctest.IdP).TokenRequests(); (got == want) == neg {
			ts.Fatalf("the IdP got %d token requests, want %d", got, want)
		}
	}
	testscript.Run(t, p)
}

// An IdP that cannot start fails the scripts that need it, each with the
// provider's error, and nothing else: the test binary goes on. (It once
// called Fatal on the parent test from a script's goroutine, which
// aborted the whole cmd test binary with a panic.)
func TestScriptsX509IdPCannotStart(t *testing.T) {
	oidctest.Require(t)
	cmd := exec.Command(os.Args[0], "-test.run=^TestScriptsX509$", "-test.count=1", "-test.v")
	// node starts (so oidctest.Require passes) but every provider
	// exits at once: Node.js cannot load a module it is told to preload.
	cmd.Env = append(os.Environ(), "NODE_OPTIONS=--require=/camctl-no-such-module")
	out, err := cmd.CombinedOutput()
	s := string(out)
	if err == nil || strings.Contains(s, "panic:") || !strings.Contains(s, "the OpenID provider exited") {
		t.Fatalf("want failed scripts without a panic, got (%v):\n%s", err, s)
	}
	scripts, _ := filepath.Glob(filepath.Join("..", "testdata", "script-x509", "*.txtar"))
	if n := strings.Count(s, "--- FAIL: TestScriptsX509/"); n != len(scripts) || n == 0 {
		t.Errorf("%d scripts failed, want all %d:\n%s", n, len(scripts), s)
	}
}
