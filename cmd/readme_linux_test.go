//go:build linux

package cmd

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/camctl/camctl/internal/testutil/ciplatform"
	"github.com/camctl/camctl/internal/testutil/fakecamunda"
	"github.com/camctl/camctl/internal/testutil/fakenet"
	"github.com/camctl/camctl/internal/testutil/oidctest"
	"github.com/camctl/camctl/internal/testutil/pkitest"
	"github.com/camctl/camctl/internal/testutil/secretservicetest"
	"github.com/camctl/camctl/internal/testutil/testneed"
)

// The README's example values, as the scripts in testdata/readme know them.
// The secrets are test-only.
const (
	readmeClusterID    = "3f6c1b2a-7d4e-4c59-9a1b-2e8f0d6c5a47"
	readmeSaaSClient   = "Xq2pLr8vZk4sTn6w"
	readmeSaaSSecret   = "saas-S3cret-readme"
	readmeKCClient     = "camctl"
	readmeKCSecret     = "kc-S3cret-readme"
	readmeCIClient     = "camctl-ci"
	readmeCISecret     = "ci-S3cret-readme"
	readmeX509Client   = "camctl-x509"
	readmeEntraApp     = "5b1f0e2c-8a47-4d3b-b6e9-1c2d3e4f5a6b"
	readmeEntraSecret  = "entra-S3cret-readme"
	readmeEntraTenant  = "9c8b7a6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"
	readmeEntraAPI     = "api://camunda-orchestration"
	readmeStaticToken  = "static-T0ken-readme"
	readmeHelmPassword = "demo"
	readmeRealm        = "https://keycloak.example.com/realms/camunda-platform"
	// §11: clients without secrets.
	readmeSignedClient = "camctl-signed"
	readmeCertApp      = "0d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6"
	readmeFederatedApp = "7a6b5c4d-3e2f-4a1b-9c8d-7e6f5a4b3c2d"
	readmeK8sClient    = "camunda-health"
)

// TestREADME runs testdata/readme: the README's commands, word for word
// (TestREADMECommandsAreTested checks that none is missing), against local
// fakes of every cluster and identity provider the README names. camctl
// reaches the real-looking hosts (camunda.example.com,
// bru-2.zeebe.camunda.io, login.cloud.camunda.io, keycloak.internal, ...)
// through fakenet, a proxy given in HTTPS_PROXY as a corporate network
// would; secrets go to a real gnome-keyring, as on a desktop.
func TestREADME(t *testing.T) {
	if !secretservicetest.Inside() {
		secretservicetest.Run(t, "TestREADME", secretservicetest.Unlock)
		return
	}
	pki := pkitest.New(t, "")
	issuer := fakecamunda.NewIssuer(5 * time.Minute)
	issuer.AddClient("orchestration", "secret")
	issuer.AddClient(readmeKCClient, readmeKCSecret)
	issuer.AddClient(readmeCIClient, readmeCISecret)
	issuer.AddClient(readmeSaaSClient, readmeSaaSSecret)
	issuer.AddClient(readmeEntraApp, readmeEntraSecret)
	issuer.AddCertClient(readmeX509Client, pkitest.ClientSubjectDN)
	// A real OpenID provider for a person's sign-in, as Keycloak's realm
	// camunda-platform at keycloak.example.com (without Node.js it is
	// missing, and the scripts that need it skip; under CI=true, fail).
	var person *oidctest.IdP
	devices := make(chan string, 4)
	if _, err := exec.LookPath("node"); err == nil || testneed.Strict() {
		person = oidctest.Start(t, oidctest.Options{
			Issuer:  readmeRealm,
			Clients: []oidctest.Client{{ID: "camctl-cli", Public: true}, {ID: readmeKCClient, Secret: readmeKCSecret}},
			Users:   []oidctest.User{alice},
		})
	}
	assertionKeys := pki.AssertionKeys(t)
	issuer.AddKeyClient(readmeSignedClient, assertionKeys.JWKS(t), false)
	issuer.AddKeyClient(readmeCertApp, assertionKeys.JWKS(t), false)
	// The CI platforms: GitHub's token endpoint, and the issuer of a
	// Kubernetes cluster's service-account tokens (GitLab's id_tokens are
	// tokens of the first here: the IdP only needs to trust their key).
	github := ciplatform.New(t, "repo:acme/workers:ref:refs/heads/main")
	kubernetes := ciplatform.New(t, "system:serviceaccount:ops:camunda-health")
	issuer.AddKeyClient(readmeFederatedApp, github.JWKS(), true, "api://AzureADTokenExchange")
	issuer.AddKeyClient(readmeK8sClient, kubernetes.JWKS(), true, "https://keycloak.example.com/auth/realms/camunda-platform")
	verify := func(token string) error {
		if token == readmeStaticToken {
			return nil
		}
		err := issuer.Verify(token)
		if err != nil && person != nil && person.Verify(token) == nil {
			return nil
		}
		return err
	}

	// A self-managed cluster behind an ingress: Basic (the Helm default)
	// or a bearer token, as the request brings.
	basic := fakecamunda.New()
	basic.RequireBasic("demo", readmeHelmPassword)
	bearer := fakecamunda.New()
	bearer.RequireBearer(verify)
	t.Cleanup(func() { basic.Close(); bearer.Close() })
	selfManaged := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") {
			bearer.ServeHTTP(w, r)
			return
		}
		basic.ServeHTTP(w, r)
	})

	net := fakenet.New(t, pki)
	net.Handle("camunda.example.com", selfManaged)
	net.HandleMTLS("camunda.internal", bearer)
	net.Handle("bru-2.zeebe.camunda.io", http.StripPrefix("/"+readmeClusterID, bearer))
	net.Handle("bru-2.api.camunda.io", http.StripPrefix("/"+readmeClusterID, bearer))
	for _, host := range []string{"login.cloud.camunda.io", "login.microsoftonline.com"} {
		net.Handle(host, issuer)
	}
	var realm http.Handler = http.NotFoundHandler()
	if person != nil {
		realm = person.Forward(func(complete string) { devices <- complete })
	}
	net.Handle("keycloak.example.com", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The realm at /realms/camunda-platform is the real provider; the
		// older /auth/realms/... URLs of the other examples the fake one.
		if strings.HasPrefix(r.URL.Path, "/realms/camunda-platform/") {
			realm.ServeHTTP(w, r)
			return
		}
		issuer.ServeHTTP(w, r)
	}))
	net.HandleMTLS("keycloak.internal", issuer)
	keycloak := httptest.NewServer(issuer) // the Docker Compose one, on the user's machine
	t.Cleanup(keycloak.Close)

	p := scriptParams(filepath.Join("..", "testdata", "readme"))
	setup := p.Setup
	p.Setup = func(env *testscript.Env) error {
		if err := setup(env); err != nil {
			return err
		}
		for k, v := range net.Env() {
			env.Setenv(k, v)
		}
		home := env.Getenv("HOME")
		// A config file per script: its secrets get their own keyring
		// namespace, so scripts running at once never share a profile.
		env.Setenv("CAMCTL_CONFIG", filepath.Join(env.WorkDir, "config.yaml"))
		env.Setenv("CONFIG", filepath.Join(env.WorkDir, "config.yaml"))
		env.Setenv("CAMCTL_CACHE_DIR", filepath.Join(env.WorkDir, "cache"))
		env.Setenv("COMPOSE_URL", env.Getenv("CAMUNDA_FAKE"))
		env.Setenv("KEYCLOAK_URL", keycloak.URL)
		for k, v := range map[string]string{
			"REGION": "bru-2", "CLUSTER_ID": readmeClusterID,
			"CLIENT_ID": readmeSaaSClient, "SAAS_SECRET": readmeSaaSSecret,
			"KC_SECRET": readmeKCSecret, "CI_SECRET": readmeCISecret,
			"APP_ID": readmeEntraApp, "ENTRA_SECRET": readmeEntraSecret,
			"TENANT_ID": readmeEntraTenant, "API_APP_ID": readmeEntraAPI,
			"TOKEN": readmeStaticToken, "HELM_PASSWORD": readmeHelmPassword,
			"SUBJECT_DN": pkitest.ClientSubjectDN, "P12_PASSWORD": pki.ClientP12Password,
			"CERT_APP_ID": readmeCertApp, "FED_APP_ID": readmeFederatedApp,
			"GH_TOKEN_URL": github.Env()["ACTIONS_ID_TOKEN_REQUEST_URL"], "GH_REQUEST_TOKEN": github.RequestToken,
		} {
			env.Setenv(k, v)
		}
		// The files the README's commands name, where it says they are.
		for src, dst := range map[string]string{
			pki.CACert:     "internal-ca.pem",
			pki.ClientCert: ".camctl/client.pem",
			pki.ClientKey:  ".camctl/client-key.pem",
			pki.ClientP12:  ".camctl/client.p12",
			// §11: the keys that sign client assertions.
			assertionKeys.RSAKey:  ".camctl/assertion-key.pem",
			assertionKeys.RSACert: ".camctl/assertion-cert.pem",
			assertionKeys.P12AES:  ".camctl/assertion.p12",
		} {
			if err := copyFile(src, filepath.Join(home, dst)); err != nil {
				return err
			}
		}
		env.Setenv("DBUS_SESSION_BUS_ADDRESS", os.Getenv("DBUS_SESSION_BUS_ADDRESS"))
		env.Setenv("XDG_RUNTIME_DIR", os.Getenv("XDG_RUNTIME_DIR"))
		env.Values[issuerKey{}] = issuer
		// camctl login --web opens this "browser": it signs alice in.
		env.Setenv("BROWSER", "test-browser")
		env.Setenv("TEST_BROWSER_LOGIN", alice.Login)
		env.Setenv("TEST_BROWSER_PASSWORD", alice.Password)
		return nil
	}
	p.Condition = func(cond string) (bool, error) {
		if cond == "person-idp" {
			return person != nil, nil
		}
		return false, fmt.Errorf("unknown condition %q", cond)
	}
	// approve-device: alice approves the device sign-in that is waiting,
	// in the provider's pages (through fakenet, as her browser would).
	p.Cmds["approve-device"] = func(ts *testscript.TestScript, neg bool, args []string) {
		var complete string
		select {
		case complete = <-devices:
		case <-time.After(20 * time.Second):
			ts.Fatalf("no device sign-in started within 20 s")
		}
		res, err := oidctest.SignInVia(context.Background(), net.Transport(), complete, alice, true)
		ts.Check(err)
		if res.Status != http.StatusOK {
			ts.Fatalf("the device sign-in ended on %s: %d", res.URL, res.Status)
		}
	}
	// ci-token github|kubernetes AUD VAR|FILE [TTL]: a CI platform's
	// identity token for AUD in a variable, or (a path) in a file.
	p.Cmds["ci-token"] = func(ts *testscript.TestScript, neg bool, args []string) {
		if len(args) < 3 {
			ts.Fatalf("usage: ci-token github|kubernetes AUD VAR|FILE [TTL]")
		}
		platform := map[string]*ciplatform.Platform{"github": github, "kubernetes": kubernetes}[args[0]]
		if platform == nil {
			ts.Fatalf("ci-token: unknown platform %s", args[0])
		}
		ttl := 5 * time.Minute
		if len(args) > 3 {
			d, err := time.ParseDuration(args[3])
			ts.Check(err)
			ttl = d
		}
		tok := platform.Issue(args[1], ttl)
		if strings.ContainsAny(args[2], "/.") {
			ts.Check(os.WriteFile(ts.MkAbs(args[2]), []byte(tok+"\n"), 0o600))
			return
		}
		ts.Setenv(args[2], tok)
	}
	// mint-token FILE: an access token the fake clusters accept, for the
	// fake IdP tools (az, vault) of the exec recipes.
	p.Cmds["mint-token"] = func(ts *testscript.TestScript, neg bool, args []string) {
		tok := ts.Value(issuerKey{}).(*fakecamunda.Issuer).Issue("tool", "orchestration-api")
		ts.Check(os.WriteFile(ts.MkAbs(args[0]), []byte(tok+"\n"), 0o600))
	}
	p.Cmds["oidc-cluster"] = func(ts *testscript.TestScript, neg bool, args []string) {
		ts.Value(fakeKey{}).(*fakecamunda.Server).RequireBearer(ts.Value(issuerKey{}).(*fakecamunda.Issuer).Verify)
	}
	testscript.Run(t, p)
}

type issuerKey struct{}

func copyFile(src, dst string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		return err
	}
	return os.WriteFile(dst, b, 0o600)
}
