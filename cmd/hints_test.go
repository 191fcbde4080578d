package cmd

import (
	"bufio"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/camctl/camctl/internal/config"
	"github.com/camctl/camctl/internal/testutil/fakecamunda"
	"github.com/camctl/camctl/internal/testutil/pkitest"
)

// TestHints runs commands that fail and checks the next step they print:
// something the user can type or set, by its message.
func TestHints(t *testing.T) {
	plain := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(plain.Close)
	tlsSrv := httptest.NewUnstartedServer(http.NotFoundHandler())
	tlsSrv.Config.ErrorLog = log.New(io.Discard, "", 0) // the handshakes that fail on purpose
	tlsSrv.StartTLS()
	t.Cleanup(tlsSrv.Close)
	httpsToPlain := strings.Replace(plain.URL, "http://", "https://", 1)
	httpToTLS := strings.Replace(tlsSrv.URL, "https://", "http://", 1)
	pki := pkitest.New(t, "")

	for _, tc := range []struct {
		name    string
		env     map[string]string
		setup   [][]string // camctl commands run first
		args    []string
		code    int
		want    []string
		notWant []string
	}{
		{
			name:  "https against plain http names http:// and the profile set",
			setup: [][]string{{"profile", "add", "helm", "--address", httpsToPlain}},
			args:  []string{"topology", "-p", "helm"},
			code:  ExitUnreachable,
			want: []string{
				"the server answered in plain HTTP, not TLS",
				"The server speaks plain HTTP, not TLS: use http:// instead of https:// (`camctl profile set helm --address " + plain.URL + "`).",
			},
		},
		{
			name: "https against plain http from the environment names the variable",
			env:  map[string]string{"CAMUNDA_REST_ADDRESS": httpsToPlain},
			args: []string{"topology"},
			code: ExitUnreachable,
			want: []string{"use http:// instead of https:// (set CAMUNDA_REST_ADDRESS=" + plain.URL + ")."},
		},
		{
			name:  "http against a TLS server names https://",
			setup: [][]string{{"profile", "add", "helm", "--address", httpToTLS}},
			args:  []string{"topology", "-p", "helm"},
			code:  ExitError,
			want: []string{
				"400 Bad Request",
				"The server speaks TLS, but the address uses http://: use https:// (`camctl profile set helm --address " + tlsSrv.URL + "`).",
			},
		},
		{
			name: "http against a TLS server from a variable under a named profile",
			env:  map[string]string{"CAMUNDA_REST_ADDRESS": httpToTLS},
			args: []string{"topology", "-p", "local"},
			code: ExitError,
			want: []string{"use https:// (set CAMUNDA_REST_ADDRESS=" + tlsSrv.URL + ")."},
		},
		{
			name: "refused from the environment names the variable",
			env:  map[string]string{"CAMUNDA_REST_ADDRESS": "http://127.0.0.1:1"},
			args: []string{"topology"},
			code: ExitUnreachable,
			want: []string{"Is the cluster running at http://127.0.0.1:1? Check the address in CAMUNDA_REST_ADDRESS."},
		},
		{
			name:    "a value from a variable under a file profile names the variable, not the profile",
			env:     map[string]string{"CAMUNDA_REST_ADDRESS": "http://127.0.0.1:1"},
			setup:   [][]string{{"profile", "add", "helm", "--address", plain.URL}},
			args:    []string{"topology", "-p", "helm"},
			code:    ExitUnreachable,
			want:    []string{"Check the address in CAMUNDA_REST_ADDRESS."},
			notWant: []string{"profile show helm"},
		},
		{
			name: "private CA for the environment profile: a variable, never (environment) as an argument",
			env:  map[string]string{"CAMUNDA_REST_ADDRESS": tlsSrv.URL},
			args: []string{"topology"},
			code: ExitUnreachable,
			want: []string{"If the server uses a private CA, trust it: set CAMUNDA_MTLS_CA_PATH=CA.pem."},
		},
		{
			name:  "private CA for a file profile",
			setup: [][]string{{"profile", "add", "helm", "--address", tlsSrv.URL}},
			args:  []string{"topology", "-p", "helm"},
			code:  ExitUnreachable,
			want:  []string{"trust it: `camctl profile set helm --ca-file CA.pem` (or set CAMUNDA_CA_CERTIFICATE_PATH)."},
		},
		{
			name:    "private CA at a login that would create the profile: the flag to add",
			args:    []string{"login", "-p", "fresh", "--address", tlsSrv.URL, "--auth", "none"},
			code:    ExitUnreachable,
			want:    []string{"trust it: add --ca-file CA.pem to this camctl login (or set CAMUNDA_CA_CERTIFICATE_PATH)."},
			notWant: []string{"profile set fresh"},
		},
		{
			name:    "a login that would create an oidc profile without a client id",
			args:    []string{"login", "-p", "saas", "--address", plain.URL, "--auth", "oidc", "--token-url", plain.URL + "/token", "--insecure-storage"},
			code:    ExitUsage,
			want:    []string{"Error: profile saas uses oidc auth but has no auth.client-id: add --client-id VALUE to this camctl login, or set CAMUNDA_CLIENT_ID"},
			notWant: []string{"profile set saas"},
		},
		{
			name:  "an existing oidc profile without a client id gets profile set",
			setup: [][]string{{"profile", "add", "saas", "--address", plain.URL, "--auth", "oidc", "--token-url", plain.URL + "/token"}},
			args:  []string{"topology", "-p", "saas"},
			code:  ExitUsage,
			want:  []string{"set it with `camctl profile set saas --client-id VALUE` or CAMUNDA_CLIENT_ID"},
		},
		{
			name:    "a PEM file as the keystore names the certificate and key flags",
			setup:   [][]string{{"profile", "add", "helm", "--address", tlsSrv.URL, "--keystore", pki.ClientCert}},
			args:    []string{"topology", "-p", "helm"},
			code:    ExitUsage,
			want:    []string{": a PEM file, not a PKCS#12 keystore\n", "`camctl profile set helm --keystore '' --client-cert CERT.pem --client-key KEY.pem`."},
			notWant: []string{"asn1", "ASN.1", "pkcs12"},
		},
		{
			name:    "a PEM file as the keystore of a login that creates the profile",
			args:    []string{"login", "-p", "fresh", "--address", tlsSrv.URL, "--auth", "none", "--keystore", pki.ClientCert},
			code:    ExitUsage,
			want:    []string{"use --client-cert CERT.pem --client-key KEY.pem in this camctl login instead of --keystore."},
			notWant: []string{"asn1", "profile set fresh"},
		},
		{
			name:    "a PEM file as the keystore from the environment",
			env:     map[string]string{"CAMUNDA_REST_ADDRESS": tlsSrv.URL, "CAMUNDA_SSL_CLIENT_KEYSTORE_PATH": pki.ClientCert},
			args:    []string{"topology"},
			code:    ExitUsage,
			want:    []string{"set CAMUNDA_MTLS_CERT_PATH and CAMUNDA_MTLS_KEY_PATH instead of CAMUNDA_SSL_CLIENT_KEYSTORE_PATH."},
			notWant: []string{"asn1"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := map[string]string{config.EnvKeyring: "none"}
			for k, v := range tc.env {
				env[k] = v
			}
			_, h, _, _, _ := newHarness(t, env)
			for _, args := range tc.setup {
				f, _, _, errOut := h.factory(t)
				if code := run(t, f, args...); code != 0 {
					t.Fatalf("camctl %v: exit %d: %s", args, code, errOut)
				}
			}
			f, _, out, errOut := h.factory(t)
			code := run(t, f, tc.args...)
			got := errOut.String()
			if code != tc.code {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, tc.code, got)
			}
			if out.Len() > 0 {
				t.Errorf("stdout: %q", out)
			}
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("stderr lacks %q:\n%s", w, got)
				}
			}
			for _, w := range append(tc.notWant, "set "+config.EnvProfileName, "show "+config.EnvProfileName, "-p "+config.EnvProfileName) {
				if strings.Contains(got, w) {
					t.Errorf("stderr has %q:\n%s", w, got)
				}
			}
		})
	}
}

// A login whose token the cluster refuses (the wrong audience, most
// often) names the audience setting, in the form that fits the login.
func TestLoginWrongAudienceHint(t *testing.T) {
	issuer := fakecamunda.NewIssuer(5 * time.Minute)
	issuer.AddClient("camctl-ci", "Cl1ent-S3cret")
	idp := httptest.NewServer(issuer)
	t.Cleanup(idp.Close)
	cluster := newFakeServer(t)
	cluster.fake.RequireBearer(func(string) error { return errors.New("wrong audience") })

	for _, tc := range []struct {
		name  string
		env   map[string]string
		setup []string
		args  []string
		want  string
	}{
		{
			name: "a login that creates the profile",
			args: []string{"login", "-p", "kc", "--address", cluster.URL, "--client-id", "camctl-ci", "--token-url", idp.URL + "/token", "--audience", "zeebe-api", "--client-secret-stdin", "--insecure-storage"},
			want: `Check that the audience ("zeebe-api") is the one the cluster expects (SaaS: zeebe.camunda.io; Self-Managed 8.8: usually orchestration-api) and that the client may access this cluster. To change the audience: use --audience AUDIENCE in this camctl login.`,
		},
		{
			name:  "a login to an existing profile",
			setup: []string{"profile", "add", "kc", "--address", cluster.URL, "--client-id", "camctl-ci", "--token-url", idp.URL + "/token"},
			args:  []string{"login", "-p", "kc", "--client-secret-stdin", "--insecure-storage"},
			want:  "Check that the audience (none is set) is the one the cluster expects (SaaS: zeebe.camunda.io; Self-Managed 8.8: usually orchestration-api) and that the client may access this cluster. To change the audience: `camctl profile set kc --audience AUDIENCE`.",
		},
		{
			name:  "the audience from the environment",
			env:   map[string]string{"CAMUNDA_TOKEN_AUDIENCE": "zeebe-api"},
			setup: []string{"profile", "add", "kc", "--address", cluster.URL, "--client-id", "camctl-ci", "--token-url", idp.URL + "/token"},
			args:  []string{"login", "-p", "kc", "--client-secret-stdin", "--insecure-storage"},
			want:  "To change the audience: set CAMUNDA_TOKEN_AUDIENCE=AUDIENCE.",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := map[string]string{config.EnvKeyring: "none"}
			for k, v := range tc.env {
				env[k] = v
			}
			_, h, _, _, _ := newHarness(t, env)
			if tc.setup != nil {
				f, _, _, errOut := h.factory(t)
				if code := run(t, f, tc.setup...); code != 0 {
					t.Fatalf("camctl %v: exit %d: %s", tc.setup, code, errOut)
				}
			}
			f, in, _, errOut := h.factory(t)
			in.WriteString("Cl1ent-S3cret\n")
			if code := run(t, f, tc.args...); code != ExitAuth {
				t.Errorf("exit %d, want %d", code, ExitAuth)
			}
			got := errOut.String()
			if !strings.Contains(got, "login failed, nothing was stored") || !strings.Contains(got, tc.want) {
				t.Errorf("stderr:\n%s\nwant the failure and %q", got, tc.want)
			}
			if strings.Contains(got, "check them and run the same command again") {
				t.Errorf("stderr blames the credentials, not the audience:\n%s", got)
			}
		})
	}
}

// Without a terminal, login prints no progress line: logs see only the
// outcome.
func TestLoginProgressOnlyOnATerminal(t *testing.T) {
	srv := newFakeServer(t)
	f, _, _, errOut := testFactory(t, map[string]string{config.EnvKeyring: "none"})
	if code := run(t, f, "login", "-p", "plain", "--address", srv.URL, "--auth", "none"); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if strings.Contains(errOut.String(), "Checking") || !strings.HasPrefix(errOut.String(), "Logged in to ") {
		t.Errorf("stderr:\n%s", errOut)
	}
}

// A server that closes the connection on a plain-HTTP request without an
// answer (TLS servers other than Go's and nginx's do): http:// may be
// the wrong scheme, and the hint says so.
func TestHintConnectionClosedOnPlainHTTP(t *testing.T) {
	for _, readAll := range []bool{true, false} {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { l.Close() })
		go func() {
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				if readAll {
					// Read the request, then close: the client sees EOF.
					_, _ = http.ReadRequest(bufio.NewReader(c))
				}
				// Without reading: the unread request makes it a reset.
				c.Close()
			}
		}()
		addr := "http://" + l.Addr().String()
		f, _, out, errOut := testFactory(t, map[string]string{"CAMUNDA_REST_ADDRESS": addr})
		if code := run(t, f, "topology"); code != ExitUnreachable {
			t.Errorf("exit %d, want %d: %s", code, ExitUnreachable, errOut)
		}
		want := "The server closed the connection without an answer. If it speaks TLS, use https:// (set CAMUNDA_REST_ADDRESS=https://" + l.Addr().String() + ")."
		if !strings.Contains(errOut.String(), want) || out.Len() > 0 {
			t.Errorf("read the request first %v: stderr:\n%s\nwant %q", readAll, errOut, want)
		}
	}
}
