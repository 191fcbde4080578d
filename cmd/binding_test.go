package cmd

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/camctl/camctl/internal/config"
	"github.com/camctl/camctl/internal/testutil/fakecamunda"
)

// recordingServer is "the other server": every request it gets is
// recorded, with its Authorization header and body, and refused.
type recordingServer struct {
	*httptest.Server
	mu       sync.Mutex
	requests []string
}

func newRecordingServer(t *testing.T) *recordingServer {
	t.Helper()
	rs := &recordingServer{}
	rs.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		rs.mu.Lock()
		rs.requests = append(rs.requests, fmt.Sprintf("%s %s Authorization=%q body=%q", r.Method, r.URL.Path, r.Header.Get("Authorization"), body))
		rs.mu.Unlock()
		http.Error(w, "who are you?", http.StatusUnauthorized)
	}))
	t.Cleanup(rs.Close)
	return rs
}

func (rs *recordingServer) got() []string {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return append([]string(nil), rs.requests...)
}

// bindWorld is one user's camctl state for the binding tests: cluster A
// (where login verifies), a token endpoint for A, and server B, which
// must never receive a credential.
type bindWorld struct {
	t   *testing.T
	h   *testHarness
	a   *fakeServer
	idp *httptest.Server
	b   *recordingServer
}

const (
	bindPassword = "Bind-S3cret-pw"
	bindToken    = "Static-T0ken-for-A"
	bindClient   = "bind-client"
	bindSecret   = "Cl1ent-S3cret-bind"
)

func newBindWorld(t *testing.T) *bindWorld {
	t.Helper()
	issuer := fakecamunda.NewIssuer(5 * time.Minute)
	issuer.AddClient(bindClient, bindSecret)
	idp := httptest.NewServer(issuer)
	t.Cleanup(idp.Close)
	a := newFakeServer(t)
	_, h, _, _, _ := newHarness(t, nil)
	return &bindWorld{t: t, h: h, a: a, idp: idp, b: newRecordingServer(t)}
}

// camctl runs one camctl command as a new process would, with stdin.
func (w *bindWorld) camctl(stdin string, args ...string) (int, string) {
	w.t.Helper()
	f, in, _, errOut := w.h.factory(w.t)
	in.WriteString(stdin)
	return run(w.t, f, args...), errOut.String()
}

// must runs a set-up command that has to succeed.
func (w *bindWorld) must(stdin string, args ...string) string {
	w.t.Helper()
	code, errOut := w.camctl(stdin, args...)
	if code != 0 {
		w.t.Fatalf("camctl %s: exit %d:\n%s", strings.Join(args, " "), code, errOut)
	}
	return errOut
}

func (w *bindWorld) loginBasic(name string) {
	w.t.Helper()
	w.a.fake.RequireBasic("demo", bindPassword)
	w.must(bindPassword+"\n", "login", "-p", name, "--address", w.a.URL, "--username", "demo", "--password-stdin")
}

func (w *bindWorld) loginOIDC(name string) {
	w.t.Helper()
	w.a.fake.RequireBearer(func(string) error { return nil })
	w.must(bindSecret+"\n", "login", "-p", name, "--address", w.a.URL, "--client-id", bindClient,
		"--token-url", w.idp.URL+"/token", "--audience", "orchestration-api", "--client-secret-stdin")
}

// TestStoredCredentialsStayWhereVerified tries each way in which a stored
// credential (or a cached token) could reach a server other than the
// one login verified it with (spec §5). In every case server B receives
// no credential at all, camctl exits 3, and where a stored secret is
// refused the message names both origins, where the new one came from
// and the login that re-binds it.
func TestStoredCredentialsStayWhereVerified(t *testing.T) {
	tests := []struct {
		name string
		// attack sets up the world and returns the command that must not
		// send a credential to B.
		attack func(w *bindWorld) []string
		// want are parts of stderr; {A}, {B} and {IDP} stand for the
		// servers' origins.
		want []string
	}{
		{
			name: "profile set --address to another server",
			attack: func(w *bindWorld) []string {
				w.loginBasic("helm")
				errOut := w.must("", "profile", "set", "helm", "--address", w.b.URL)
				// One line says that a login is needed.
				want := fmt.Sprintf("Note: the stored password of profile helm is bound to %s; run `camctl login -p helm` before camctl sends it to %s.\n", w.a.URL, w.b.URL)
				if !strings.Contains(errOut, want) || strings.Count(errOut, "\n") != 2 {
					w.t.Errorf("profile set says:\n%s\nwant the update and one line:\n%s", errOut, want)
				}
				return []string{"topology", "-p", "helm"}
			},
			want: []string{"profile helm: the stored password is bound to {A}", "the address now points to {B} (from config file)", "nothing was sent", "camctl login -p helm"},
		},
		{
			name: "CAMUNDA_REST_ADDRESS with the profile named by -p",
			attack: func(w *bindWorld) []string {
				w.loginBasic("helm")
				w.h.env["CAMUNDA_REST_ADDRESS"] = w.b.URL
				return []string{"topology", "-p", "helm"}
			},
			want: []string{"bound to {A}", "now points to {B} (from env CAMUNDA_REST_ADDRESS)", "camctl login -p helm"},
		},
		{
			name: "CAMUNDA_REST_ADDRESS with the profile named by CAMCTL_PROFILE",
			attack: func(w *bindWorld) []string {
				w.loginBasic("helm")
				w.h.env["CAMUNDA_REST_ADDRESS"] = w.b.URL
				w.h.env["CAMCTL_PROFILE"] = "helm"
				return []string{"topology"}
			},
			want: []string{"bound to {A}", "now points to {B} (from env CAMUNDA_REST_ADDRESS)", "camctl login -p helm"},
		},
		{
			name: "a static token, ZEEBE_REST_ADDRESS with -p",
			attack: func(w *bindWorld) []string {
				w.a.fake.RequireBearer(func(tok string) error {
					if tok != bindToken {
						return fmt.Errorf("wrong token")
					}
					return nil
				})
				w.must(bindToken+"\n", "login", "-p", "static", "--address", w.a.URL, "--auth", "bearer", "--token-stdin")
				w.h.env["ZEEBE_REST_ADDRESS"] = w.b.URL
				return []string{"token", "-p", "static"}
			},
			want: []string{"the stored bearer token is bound to {A}", "now points to {B} (from env ZEEBE_REST_ADDRESS)", "camctl login -p static"},
		},
		{
			name: "the client secret, profile set --token-url to another server",
			attack: func(w *bindWorld) []string {
				w.loginOIDC("kc")
				errOut := w.must("", "profile", "set", "kc", "--token-url", w.b.URL+"/token")
				if !strings.Contains(errOut, "Note: the stored client secret of profile kc is bound to "+w.idp.URL) {
					w.t.Errorf("profile set does not say that a login is needed:\n%s", errOut)
				}
				return []string{"token", "-p", "kc", "--refresh"}
			},
			want: []string{"the stored client secret is bound to {IDP}", "the token URL now points to {B} (from config file)", "camctl login -p kc"},
		},
		{
			// The token endpoint is unchanged, but a token it issues for
			// the stored secret would go to B, which could replay it at A.
			name: "the client secret, profile set --address to another server",
			attack: func(w *bindWorld) []string {
				w.loginOIDC("kc")
				w.must("", "profile", "set", "kc", "--address", w.b.URL)
				return []string{"topology", "-p", "kc"}
			},
			want: []string{"the stored client secret is bound to {A}", "the address now points to {B} (from config file)", "camctl login -p kc"},
		},
		{
			name: "the client secret, CAMUNDA_REST_ADDRESS with -p",
			attack: func(w *bindWorld) []string {
				w.loginOIDC("kc")
				w.h.env["CAMUNDA_REST_ADDRESS"] = w.b.URL
				return []string{"topology", "-p", "kc"}
			},
			want: []string{"the stored client secret is bound to {A}", "now points to {B} (from env CAMUNDA_REST_ADDRESS)", "camctl login -p kc"},
		},
		{
			name: "a namesake of a removed profile whose items were left behind",
			attack: func(w *bindWorld) []string {
				w.loginBasic("helm")
				key := w.h.itemKey(w.t, "helm", config.Password)
				item, err := w.h.keyring.Get(w.t.Context(), key)
				if err != nil {
					w.t.Fatal(err)
				}
				w.must("", "profile", "remove", "helm")
				// As if the keyring had hung during the remove.
				if err := w.h.keyring.Set(w.t.Context(), key, item); err != nil {
					w.t.Fatal(err)
				}
				w.must("", "profile", "add", "helm", "--address", w.b.URL, "--username", "demo")
				return []string{"topology", "-p", "helm"}
			},
			want: []string{"no password for profile helm: run `camctl login -p helm`"},
		},
		{
			name: "a namesake of a profile of an earlier camctl (items keyed by name)",
			attack: func(w *bindWorld) []string {
				ns := config.SecretNamespace(w.h.config, func(k string) string { return w.h.env[k] })
				if err := w.h.keyring.Set(w.t.Context(), ns+"profile/helm/auth.password", bindPassword); err != nil {
					w.t.Fatal(err)
				}
				w.must("", "profile", "add", "helm", "--address", w.b.URL, "--username", "demo")
				return []string{"topology", "-p", "helm"}
			},
			want: []string{"no password for profile helm"},
		},
		{
			name: "a second config file with the same profile (and id)",
			attack: func(w *bindWorld) []string {
				w.loginBasic("helm")
				data, err := os.ReadFile(w.h.config)
				if err != nil {
					w.t.Fatal(err)
				}
				second := filepath.Join(w.t.TempDir(), "camctl.yaml")
				if err := os.WriteFile(second, data, 0o600); err != nil {
					w.t.Fatal(err)
				}
				w.must("", "--config", second, "profile", "set", "helm", "--address", w.b.URL)
				return []string{"--config", second, "topology", "-p", "helm"}
			},
			want: []string{"no password for profile helm"},
		},
		{
			name: "a cached token: a second profile with the same token URL, client and audience",
			attack: func(w *bindWorld) []string {
				w.loginOIDC("kc")
				w.must("", "profile", "add", "kc2", "--address", w.b.URL, "--client-id", bindClient,
					"--token-url", w.idp.URL+"/token", "--audience", "orchestration-api")
				return []string{"topology", "-p", "kc2"}
			},
			want: []string{"no client secret for profile kc2"},
		},
		{
			name: "a cached token: the same profile in a second config file",
			attack: func(w *bindWorld) []string {
				w.loginOIDC("kc")
				second := filepath.Join(w.t.TempDir(), "camctl.yaml")
				w.must("", "--config", second, "profile", "add", "kc", "--address", w.b.URL, "--client-id", bindClient,
					"--token-url", w.idp.URL+"/token", "--audience", "orchestration-api")
				return []string{"--config", second, "topology", "-p", "kc"}
			},
			want: []string{"no client secret for profile kc"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newBindWorld(t)
			args := tt.attack(w)
			code, errOut := w.camctl("", args...)
			t.Logf("camctl %s:\n%s", strings.Join(args, " "), errOut)
			if code != ExitAuth {
				t.Errorf("camctl %s: exit %d, want %d:\n%s", strings.Join(args, " "), code, ExitAuth, errOut)
			}
			for _, want := range tt.want {
				want = strings.NewReplacer("{A}", w.a.URL, "{B}", w.b.URL, "{IDP}", w.idp.URL).Replace(want)
				if !strings.Contains(errOut, want) {
					t.Errorf("stderr does not say %q:\n%s", want, errOut)
				}
			}
			if got := w.b.got(); len(got) > 0 {
				t.Errorf("server B received %d requests, want none:\n%s", len(got), strings.Join(got, "\n"))
			}
			for _, s := range []string{bindPassword, bindToken, bindSecret} {
				if strings.Contains(errOut, s) {
					t.Errorf("stderr shows a secret:\n%s", errOut)
				}
			}
		})
	}
}
