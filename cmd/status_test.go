package cmd

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/camctl/camctl/internal/config"
	"github.com/camctl/camctl/internal/termsafe"
	"github.com/camctl/camctl/internal/testutil/fakecamunda"
	"github.com/camctl/camctl/internal/testutil/hostile"
)

// statusWorld is one user's camctl state for the status tests: a
// cluster, a token endpoint for it, and the harness's keyring and config.
type statusWorld struct {
	t      *testing.T
	h      *testHarness
	api    *fakeServer
	issuer *fakecamunda.Issuer
	idp    *httptest.Server
	// me, when set, answers GET /v2/authentication/me instead of the
	// fake (setMe; mu guards it, as the server reads it).
	mu sync.Mutex
	me http.HandlerFunc
	// front is the cluster's address: the fake behind the me override.
	front *httptest.Server
}

const (
	statusPassword = "Pw5-kJ2hG7fD9sA3"
	statusClient   = "status-client"
	statusSecret   = "Sq8-vB3nM6cX1zR4"
)

func newStatusWorld(t *testing.T) *statusWorld {
	t.Helper()
	w := &statusWorld{t: t}
	w.issuer = fakecamunda.NewIssuer(5 * time.Minute)
	w.issuer.AddClient(statusClient, statusSecret)
	w.idp = httptest.NewServer(w.issuer)
	t.Cleanup(w.idp.Close)
	w.api = newFakeServer(t)
	w.front = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		w.mu.Lock()
		me := w.me
		w.mu.Unlock()
		if me != nil && r.URL.Path == "/v2/authentication/me" {
			me(rw, r)
			return
		}
		w.api.fake.ServeHTTP(rw, r)
	}))
	t.Cleanup(w.front.Close)
	_, w.h, _, _, _ = newHarness(t, nil)
	return w
}

// camctl runs one camctl command as a new process would.
func (w *statusWorld) camctl(stdin string, args ...string) (code int, stdout, stderr string) {
	w.t.Helper()
	f, in, out, errOut := w.h.factory(w.t)
	in.WriteString(stdin)
	code = run(w.t, f, args...)
	return code, out.String(), errOut.String()
}

func (w *statusWorld) setMe(h http.HandlerFunc) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.me = h
}

func (w *statusWorld) must(stdin string, args ...string) {
	w.t.Helper()
	if code, _, errOut := w.camctl(stdin, args...); code != 0 {
		w.t.Fatalf("camctl %s: exit %d:\n%s", strings.Join(args, " "), code, errOut)
	}
}

func (w *statusWorld) loginBasic(name string) {
	w.t.Helper()
	w.api.fake.RequireBasic("demo", statusPassword)
	w.must(statusPassword+"\n", "login", "-p", name, "--address", w.front.URL, "--username", "demo", "--password-stdin")
}

func (w *statusWorld) loginOIDC(name string) {
	w.t.Helper()
	w.api.fake.RequireBearer(w.issuer.Verify)
	w.must(statusSecret+"\n", "login", "-p", name, "--address", w.front.URL, "--client-id", statusClient,
		"--token-url", w.idp.URL+"/token", "--audience", "orchestration-api", "--client-secret-stdin")
}

// statusJSON is `status -o json` decoded loosely, as a script would.
type statusJSON struct {
	Profile    string  `json:"profile"`
	Address    string  `json:"address"`
	Method     string  `json:"method"`
	Grant      *string `json:"grant"`
	Credential struct {
		Stored  bool     `json:"stored"`
		Where   *string  `json:"where"`
		BoundTo []string `json:"bound_to"`
	} `json:"credential"`
	Token *struct {
		ExpiresAt *string `json:"expires_at"`
	} `json:"token"`
	Reachable bool `json:"reachable"`
	Identity  *struct {
		Username string   `json:"username"`
		Name     string   `json:"name"`
		Tenants  []string `json:"tenants"`
		Roles    []string `json:"roles"`
		Groups   []string `json:"groups"`
	} `json:"identity"`
	Health *string `json:"health"`
	Ready  bool    `json:"ready"`
	Error  *struct {
		ExitCode int    `json:"exit_code"`
		Message  string `json:"message"`
	} `json:"error"`
}

func decodeStatus(t *testing.T, stdout string) []statusJSON {
	t.Helper()
	var out []statusJSON
	if err := json.Unmarshal([]byte(stdout), &out); err != nil {
		t.Fatalf("stdout is not a JSON array of reports: %v\n%s", err, stdout)
	}
	return out
}

func str(p *string) string {
	if p == nil {
		return "<null>"
	}
	return *p
}

func readFixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", "topology", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Every state a single profile can be in, each checked the way a user
// sees it: the exit code, the human block and the JSON report.
func TestStatusStates(t *testing.T) {
	tests := []struct {
		name string
		// setup prepares the world and returns the profile's arguments.
		setup func(w *statusWorld) []string
		code  int
		// human are lines of the human view (regular expressions).
		human []string
		// check looks at the JSON report.
		check func(t *testing.T, w *statusWorld, rep statusJSON)
	}{
		{
			name:  "basic, signed in",
			setup: func(w *statusWorld) []string { w.loginBasic("helm"); return []string{"-p", "helm"} },
			code:  ExitOK,
			human: []string{`^helm$`, `^  Address: +http://127\.0\.0\.1:\d+ \(config file\)$`, `^  Auth: +basic, user demo$`,
				`^  Credential: +password stored in the OS keyring, bound to http://127\.0\.0\.1:\d+$`, `^  Reachable: +yes$`,
				`^  Signed in: +demo$`, `^  Tenants: +<default> \(Default\)$`, `^  Roles: +admin$`,
				`^  Health: +OK: all 3 partitions have a healthy leader$`, `^  Ready: +yes$`},
			check: func(t *testing.T, w *statusWorld, rep statusJSON) {
				if !rep.Ready || rep.Error != nil || !rep.Reachable || str(rep.Health) != "OK" || rep.Grant != nil || rep.Token != nil {
					t.Errorf("report = %+v", rep)
				}
				if !rep.Credential.Stored || str(rep.Credential.Where) != "keyring" || len(rep.Credential.BoundTo) != 1 || rep.Credential.BoundTo[0] != w.front.URL {
					t.Errorf("credential = %+v; want stored in the keyring, bound to %s", rep.Credential, w.front.URL)
				}
				if rep.Identity == nil || rep.Identity.Username != "demo" || len(rep.Identity.Tenants) != 1 || rep.Identity.Tenants[0] != "<default>" ||
					len(rep.Identity.Roles) != 1 || rep.Identity.Groups == nil {
					t.Errorf("identity = %+v", rep.Identity)
				}
			},
		},
		{
			name: "oidc, token cached since login",
			setup: func(w *statusWorld) []string {
				w.loginOIDC("kc")
				w.t.Cleanup(func() {
					if n := w.issuer.Requests(); n != 1 {
						w.t.Errorf("%d token requests; want only login's", n)
					}
				})
				return []string{"-p", "kc"}
			},
			code: ExitOK,
			human: []string{`^  Auth: +oidc, client-credentials grant, client status-client$`,
				`^  Credential: +client secret stored in the OS keyring, bound to http://127\.0\.0\.1:\d+ and http://127\.0\.0\.1:\d+$`,
				`^  Token: +cached in the OS keyring, valid until .+ \(in [45]m\d+s\)$`, `^  Signed in: +status-client$`},
			check: func(t *testing.T, w *statusWorld, rep statusJSON) {
				if str(rep.Grant) != "client-credentials" || rep.Token == nil || rep.Token.ExpiresAt == nil {
					t.Fatalf("grant %s, token %+v", str(rep.Grant), rep.Token)
				}
				exp, err := time.Parse(time.RFC3339, *rep.Token.ExpiresAt)
				if err != nil || time.Until(exp) < 4*time.Minute || time.Until(exp) > 5*time.Minute {
					t.Errorf("expires_at %s, %v; want about 5 minutes from now", *rep.Token.ExpiresAt, err)
				}
				if len(rep.Credential.BoundTo) != 2 || rep.Credential.BoundTo[0] != w.idp.URL || rep.Credential.BoundTo[1] != w.front.URL {
					t.Errorf("bound to %v; want the token endpoint and the API", rep.Credential.BoundTo)
				}
			},
		},
		{
			name: "oidc, no token cached: one is fetched",
			setup: func(w *statusWorld) []string {
				w.api.fake.RequireBearer(w.issuer.Verify)
				w.h.env["CAMUNDA_CLIENT_SECRET"] = statusSecret
				w.must("", "profile", "add", "kc", "--address", w.front.URL, "--client-id", statusClient, "--token-url", w.idp.URL+"/token")
				w.t.Cleanup(func() {
					if n := w.issuer.Requests(); n != 1 {
						w.t.Errorf("%d token requests; want 1", n)
					}
				})
				return []string{"-p", "kc"}
			},
			code:  ExitOK,
			human: []string{`^  Credential: +client secret from env CAMUNDA_CLIENT_SECRET$`, `^  Token: +fetched now, valid until .+ \(in [45]m\d+s\)$`},
			check: func(t *testing.T, w *statusWorld, rep statusJSON) {
				if !rep.Credential.Stored || str(rep.Credential.Where) != "env" || rep.Credential.BoundTo != nil || rep.Token == nil || rep.Token.ExpiresAt == nil {
					t.Errorf("credential %+v, token %+v", rep.Credential, rep.Token)
				}
			},
		},
		{
			name: "no credential stored",
			setup: func(w *statusWorld) []string {
				w.api.fake.RequireBasic("demo", statusPassword)
				w.must("", "profile", "add", "helm", "--address", w.front.URL, "--auth", "basic", "--username", "demo")
				return []string{"-p", "helm"}
			},
			code: ExitAuth,
			human: []string{`^  Credential: +password not stored \(run ` + "`camctl login -p helm`" + `\)$`, `^  Reachable: +yes$`,
				`^  Ready: +no \(exit 3\)$`, `^  Error: +no password for profile helm: run ` + "`camctl login -p helm`"},
			check: func(t *testing.T, w *statusWorld, rep statusJSON) {
				if rep.Ready || rep.Credential.Stored || rep.Credential.Where != nil || rep.Error == nil || rep.Error.ExitCode != 3 ||
					!strings.Contains(rep.Error.Message, "camctl login -p helm") || rep.Health != nil || rep.Identity != nil {
					t.Errorf("report = %+v", rep)
				}
			},
		},
		{
			name: "credentials rejected (401)",
			setup: func(w *statusWorld) []string {
				w.loginBasic("helm")
				w.api.fake.RequireBasic("demo", "changed-on-the-server")
				return []string{"-p", "helm"}
			},
			code:  ExitAuth,
			human: []string{`^  Reachable: +yes$`, `^  Error: +profile helm: GET http://127\.0\.0\.1:\d+/v2/topology: 401 Unauthorized`, "Run `camctl login -p helm` to store new ones"},
			check: func(t *testing.T, w *statusWorld, rep statusJSON) {
				if rep.Ready || !rep.Reachable || !rep.Credential.Stored || rep.Error == nil || rep.Error.ExitCode != 3 || rep.Health != nil {
					t.Errorf("report = %+v", rep)
				}
			},
		},
		{
			name: "403 on /authentication/me, OK elsewhere",
			setup: func(w *statusWorld) []string {
				w.loginBasic("helm")
				w.setMe(func(rw http.ResponseWriter, _ *http.Request) {
					rw.Header().Set("Content-Type", "application/problem+json")
					rw.WriteHeader(http.StatusForbidden)
					fmt.Fprint(rw, `{"title":"Forbidden","status":403,"detail":"no read permission on users"}`)
				})
				return []string{"-p", "helm"}
			},
			code:  ExitOK,
			human: []string{`^  Signed in: +unknown: the cluster does not say \(GET /v2/authentication/me: 403 Forbidden\)$`, `^  Ready: +yes$`},
			check: func(t *testing.T, w *statusWorld, rep statusJSON) {
				if !rep.Ready || rep.Identity != nil || str(rep.Health) != "OK" {
					t.Errorf("report = %+v", rep)
				}
			},
		},
		{
			name: "no /authentication/me (404)",
			setup: func(w *statusWorld) []string {
				w.loginBasic("helm")
				w.setMe(http.NotFound)
				return []string{"-p", "helm"}
			},
			code:  ExitOK,
			human: []string{`^  Signed in: +unknown: the cluster has no GET /v2/authentication/me$`, `^  Ready: +yes$`},
			check: func(t *testing.T, w *statusWorld, rep statusJSON) {
				if !rep.Ready || rep.Identity != nil || rep.Error != nil {
					t.Errorf("report = %+v", rep)
				}
			},
		},
		{
			name: "unreachable",
			setup: func(w *statusWorld) []string {
				w.must("", "profile", "add", "gone", "--address", "http://127.0.0.1:1")
				return []string{"-p", "gone"}
			},
			code:  ExitUnreachable,
			human: []string{`^  Reachable: +no$`, `^  Ready: +no \(exit 4\)$`, `connection refused`, `Is the cluster running at http://127\.0\.0\.1:1\?`},
			check: func(t *testing.T, w *statusWorld, rep statusJSON) {
				if rep.Ready || rep.Reachable || rep.Error == nil || rep.Error.ExitCode != 4 || rep.Health != nil {
					t.Errorf("report = %+v", rep)
				}
			},
		},
		{
			name: "DEGRADED",
			setup: func(w *statusWorld) []string {
				w.loginBasic("helm")
				w.api.fake.SetTopology(readFixture(w.t, "follower_unhealthy"))
				return []string{"-p", "helm"}
			},
			code:  ExitWaitTimeout,
			human: []string{`^  Health: +DEGRADED: 1 of 9 replicas not healthy`, `^  Ready: +no \(exit 6\)$`, `^  Error: +profile helm: the cluster is DEGRADED`},
			check: func(t *testing.T, w *statusWorld, rep statusJSON) {
				if rep.Ready || str(rep.Health) != "DEGRADED" || rep.Error == nil || rep.Error.ExitCode != 6 || rep.Identity == nil {
					t.Errorf("report = %+v", rep)
				}
			},
		},
		{
			name: "UNAVAILABLE by the topology",
			setup: func(w *statusWorld) []string {
				w.loginBasic("helm")
				w.api.fake.SetTopology(readFixture(w.t, "degraded"))
				return []string{"-p", "helm"}
			},
			code:  ExitWaitTimeout,
			human: []string{`^  Health: +UNAVAILABLE: 2 partitions \(2, 3\) without a healthy leader$`, `^  Ready: +no \(exit 6\)$`},
			check: func(t *testing.T, w *statusWorld, rep statusJSON) {
				if rep.Ready || str(rep.Health) != "UNAVAILABLE" || rep.Error.ExitCode != 6 {
					t.Errorf("report = %+v", rep)
				}
			},
		},
		{
			name: "UNAVAILABLE by GET /v2/status (503)",
			setup: func(w *statusWorld) []string {
				w.loginBasic("helm")
				w.api.fake.SetDown(true)
				return []string{"-p", "helm"}
			},
			code:  ExitWaitTimeout,
			human: []string{`^  Reachable: +yes \(GET /v2/status: 503, no partition has a healthy leader\)$`, `^  Health: +UNAVAILABLE: GET /v2/status answered 503`},
			check: func(t *testing.T, w *statusWorld, rep statusJSON) {
				if rep.Ready || !rep.Reachable || str(rep.Health) != "UNAVAILABLE" || rep.Error.ExitCode != 6 {
					t.Errorf("report = %+v", rep)
				}
			},
		},
		{
			name: "a static token with its expiry",
			setup: func(w *statusWorld) []string {
				tok := statusJWT(time.Now().Add(time.Hour))
				w.api.fake.RequireBearer(func(got string) error {
					if got != tok {
						return fmt.Errorf("wrong token")
					}
					return nil
				})
				w.must(tok+"\n", "login", "-p", "static", "--address", w.front.URL, "--auth", "bearer", "--token-stdin")
				return []string{"-p", "static"}
			},
			code:  ExitOK,
			human: []string{`^  Auth: +bearer, jane$`, `^  Credential: +bearer token stored in the OS keyring, bound to`, `^  Token: +static, valid until .+ \(in (59m\d+s|1h0m0s)\)$`, `^  Signed in: +jane$`},
			check: func(t *testing.T, w *statusWorld, rep statusJSON) {
				if !rep.Ready || rep.Token == nil || rep.Token.ExpiresAt == nil || rep.Grant != nil {
					t.Errorf("report = %+v", rep)
				}
			},
		},
		{
			name: "an expired static token",
			setup: func(w *statusWorld) []string {
				w.api.fake.RequireBearer(func(string) error { return nil })
				w.h.env["CAMUNDA_OAUTH_TOKEN"] = statusJWT(time.Now().Add(-time.Hour))
				w.must("", "profile", "add", "static", "--address", w.front.URL, "--auth", "bearer")
				return []string{"-p", "static"}
			},
			code:  ExitAuth,
			human: []string{`^  Credential: +bearer token from env CAMUNDA_OAUTH_TOKEN$`, `^  Token: +static, expired at `, `^  Ready: +no \(exit 3\)$`, `expired`},
			check: func(t *testing.T, w *statusWorld, rep statusJSON) {
				if rep.Ready || rep.Token == nil || rep.Token.ExpiresAt == nil || rep.Error.ExitCode != 3 {
					t.Errorf("report = %+v", rep)
				}
			},
		},
		{
			name: "the token endpoint rejects the client",
			setup: func(w *statusWorld) []string {
				w.api.fake.RequireBearer(w.issuer.Verify)
				w.h.env["CAMUNDA_CLIENT_SECRET"] = "Wr0ng-9fK2-secret"
				w.must("", "profile", "add", "kc", "--address", w.front.URL, "--client-id", statusClient, "--token-url", w.idp.URL+"/token")
				return []string{"-p", "kc"}
			},
			code:  ExitAuth,
			human: []string{`^  Reachable: +yes$`, `invalid_client`, `CAMUNDA_CLIENT_SECRET; correct or unset it`},
			check: func(t *testing.T, w *statusWorld, rep statusJSON) {
				if rep.Ready || !rep.Reachable || rep.Token != nil || rep.Error.ExitCode != 3 {
					t.Errorf("report = %+v", rep)
				}
			},
		},
		{
			name: "the token endpoint is unreachable",
			setup: func(w *statusWorld) []string {
				w.h.env["CAMUNDA_CLIENT_SECRET"] = statusSecret
				w.must("", "profile", "add", "kc", "--address", w.front.URL, "--client-id", statusClient, "--token-url", "http://127.0.0.1:1/token")
				return []string{"-p", "kc", "--timeout", "300ms"}
			},
			code:  ExitUnreachable,
			human: []string{`^  Reachable: +yes$`, `^  Ready: +no \(exit 4\)$`, `token URL`},
			check: func(t *testing.T, w *statusWorld, rep statusJSON) {
				if rep.Ready || !rep.Reachable || rep.Error.ExitCode != 4 {
					t.Errorf("report = %+v", rep)
				}
			},
		},
		{
			name: "a stored secret bound elsewhere",
			setup: func(w *statusWorld) []string {
				w.loginBasic("helm")
				other := newFakeServer(w.t)
				w.must("", "profile", "set", "helm", "--address", other.URL)
				w.t.Cleanup(func() {
					if n := other.fake.Requests(); n > 2 {
						w.t.Errorf("the other server got %d requests; want at most the public GET /v2/status of each run", n)
					}
					for _, s := range other.fake.AuthSchemes() {
						if s != "" {
							w.t.Errorf("the other server got credentials (%s)", s)
						}
					}
				})
				return []string{"-p", "helm"}
			},
			code:  ExitAuth,
			human: []string{`^  Credential: +password stored in the OS keyring, bound to http://127\.0\.0\.1:\d+; not sent to http://127\.0\.0\.1:\d+ \(address from config file\): run ` + "`camctl login -p helm`"},
			check: func(t *testing.T, w *statusWorld, rep statusJSON) {
				if rep.Ready || rep.Error.ExitCode != 3 || !strings.Contains(rep.Error.Message, "nothing was sent") {
					t.Errorf("report = %+v", rep)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newStatusWorld(t)
			args := tt.setup(w)
			code, stdout, stderr := w.camctl("", append([]string{"status", "--timeout", "5s"}, args...)...)
			if code != tt.code {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.code, stdout, stderr)
			}
			for _, re := range tt.human {
				if !regexp.MustCompile("(?m)" + re).MatchString(stdout) {
					t.Errorf("no line %q in\n%s", re, stdout)
				}
			}
			if tt.code != ExitOK && !strings.Contains(stderr, "is not ready") {
				t.Errorf("stderr does not say that the profile is not ready:\n%s", stderr)
			}
			code, stdout, stderr = w.camctl("", append([]string{"status", "--timeout", "5s", "-o", "json"}, args...)...)
			if code != tt.code {
				t.Errorf("-o json: exit %d, want %d\n%s", code, tt.code, stderr)
			}
			reps := decodeStatus(t, stdout)
			if len(reps) != 1 {
				t.Fatalf("%d reports; want 1", len(reps))
			}
			tt.check(t, w, reps[0])
		})
	}
}

// statusJWT is a static token for jane that expires at exp.
func statusJWT(exp time.Time) string {
	enc := base64.RawURLEncoding.EncodeToString
	claims, _ := json.Marshal(map[string]any{"sub": "jane", "exp": exp.Unix()})
	return enc([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + enc(claims) + "." + enc([]byte("sig"))
}

// --all checks every profile, the dead one included, and exits with the
// code of the first that is not ready in name order.
func TestStatusAll(t *testing.T) {
	w := newStatusWorld(t)
	w.loginBasic("b-helm")
	w.must("", "profile", "add", "a-gone", "--address", "http://127.0.0.1:1")
	w.must("", "profile", "add", "c-nopw", "--address", w.front.URL, "--auth", "basic", "--username", "demo")
	start := time.Now()
	code, stdout, stderr := w.camctl("", "status", "--all", "--timeout", "2s", "-o", "json")
	if elapsed := time.Since(start); elapsed > 5*time.Second {
		t.Errorf("status --all took %v", elapsed)
	}
	if code != ExitUnreachable {
		t.Errorf("exit %d, want 4 (a-gone is first)\n%s", code, stderr)
	}
	reps := decodeStatus(t, stdout)
	var got []string
	for _, r := range reps {
		exit := 0
		if r.Error != nil {
			exit = r.Error.ExitCode
		}
		got = append(got, fmt.Sprintf("%s:%v:%d", r.Profile, r.Ready, exit))
	}
	if want := "a-gone:false:4 b-helm:true:0 c-nopw:false:3"; strings.Join(got, " ") != want {
		t.Errorf("reports %s; want %s", strings.Join(got, " "), want)
	}
	if want := "Error: 2 of 3 profiles not ready: a-gone (exit 4), c-nopw (exit 3)\n"; !strings.HasSuffix(stderr, want) {
		t.Errorf("stderr:\n%s\nwant it to end in %q", stderr, want)
	}

	// Without the dead one, the profile without a password decides.
	w.must("", "profile", "remove", "a-gone")
	if code, _, stderr := w.camctl("", "status", "--all"); code != ExitAuth {
		t.Errorf("exit %d, want 3\n%s", code, stderr)
	}
	// Everything ready: 0.
	w.must("", "profile", "remove", "c-nopw")
	if code, stdout, stderr := w.camctl("", "status", "--all"); code != ExitOK || !strings.Contains(stdout, "b-helm\n") {
		t.Errorf("exit %d, want 0\n%s%s", code, stdout, stderr)
	}
}

// The environment profile comes last in --all when its variables are
// set, and its variables leave the file's profiles alone: each is checked
// as the file defines it.
func TestStatusAllEnvironment(t *testing.T) {
	w := newStatusWorld(t)
	w.loginBasic("helm")
	other := newFakeServer(t)
	w.h.env["CAMUNDA_REST_ADDRESS"] = other.URL
	w.h.env["CAMUNDA_BASIC_AUTH_PASSWORD"] = "the environment's"
	w.h.env["CAMCTL_PROFILE"] = "helm"
	code, stdout, stderr := w.camctl("", "status", "--all", "-o", "json")
	if code != ExitOK {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	reps := decodeStatus(t, stdout)
	if len(reps) != 2 || reps[0].Profile != "helm" || reps[1].Profile != config.EnvProfileName {
		t.Fatalf("reports for %+v; want helm, then the environment", reps)
	}
	if reps[0].Address != w.front.URL || str(reps[0].Credential.Where) != "keyring" || !reps[0].Ready {
		t.Errorf("helm = %+v; want its own address and stored password", reps[0])
	}
	if reps[1].Address != other.URL || reps[1].Method != "none" || !reps[1].Ready {
		t.Errorf("environment = %+v; want %s without auth", reps[1], other.URL)
	}
	for _, s := range other.fake.AuthSchemes() {
		if s != "" {
			t.Errorf("the environment's cluster got credentials (%s): the password of helm or of the variables", s)
		}
	}
	if code, stdout, _ := w.camctl("", "status", "--all"); code != ExitOK || !strings.Contains(stdout, "\n(environment)\n  Address:    "+other.URL+" (env CAMUNDA_REST_ADDRESS)\n") {
		t.Errorf("exit %d; the human view has no environment block:\n%s", code, stdout)
	}
}

func TestStatusUsage(t *testing.T) {
	w := newStatusWorld(t)
	if code, _, stderr := w.camctl("", "status", "--all", "-p", "x"); code != ExitUsage || !strings.Contains(stderr, "--all checks every profile") {
		t.Errorf("--all with -p: exit %d\n%s", code, stderr)
	}
	code, stdout, stderr := w.camctl("", "status", "--all", "-o", "json")
	if code != ExitUsage || stdout != "" || !strings.Contains(stderr, "no profiles to check") {
		t.Errorf("--all without profiles: exit %d, stdout %q\n%s", code, stdout, stderr)
	}
	if code, _, stderr := w.camctl("", "status", "-p", "nope"); code != ExitUsage || !strings.Contains(stderr, `unknown profile "nope"`) {
		t.Errorf("unknown profile: exit %d\n%s", code, stderr)
	}
}

// The human view and the JSON shape, against golden files: a profile
// that is ready, one without its password, an unreachable one and an
// unhealthy one. Addresses, ports and times are normalised.
func TestStatusGolden(t *testing.T) {
	w := newStatusWorld(t)
	w.loginBasic("helm")
	// An oidc cluster of its own (the fake takes Basic or bearer, not both).
	kc := newFakeServer(t)
	kc.fake.RequireBearer(w.issuer.Verify)
	w.must(statusSecret+"\n", "login", "-p", "kc", "--address", kc.URL, "--client-id", statusClient,
		"--token-url", w.idp.URL+"/token", "--audience", "orchestration-api", "--client-secret-stdin")
	w.must("", "profile", "add", "nopw", "--address", w.front.URL, "--auth", "basic", "--username", "ci")
	w.must("", "profile", "add", "gone", "--address", "http://127.0.0.1:1")
	sick := newFakeServer(t)
	sick.fake.SetTopology(readFixture(t, "follower_unhealthy"))
	w.must("", "profile", "add", "sick", "--address", sick.URL)
	w.h.env["NO_COLOR"] = "1"
	for _, format := range []string{"text", "json", "yaml"} {
		t.Run(format, func(t *testing.T) {
			code, stdout, stderr := w.camctl("", "status", "--all", "--timeout", "2s", "-o", format)
			if code != ExitUnreachable {
				t.Fatalf("exit %d\n%s", code, stderr)
			}
			got := strings.NewReplacer(w.front.URL, "http://127.0.0.1:PORT", sick.URL, "http://127.0.0.1:SICK", kc.URL, "http://127.0.0.1:KC", w.idp.URL, "http://127.0.0.1:IDP").Replace(stdout)
			got = regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ`).ReplaceAllString(got, "2026-01-02T15:04:05Z")
			got = regexp.MustCompile(`valid until .* \(in .*\)`).ReplaceAllString(got, "valid until 2026-01-02 15:04 UTC (in 4m59s)")
			golden(t, "status/all."+format, []byte(got))
		})
	}
}

// A cluster that echoes the request's credentials (and escape
// sequences) in every field of GET /v2/authentication/me: status shows
// the identity, but neither a secret nor a character that could drive
// the terminal, in the human view or in -o json|yaml.
func TestStatusHostileIdentity(t *testing.T) {
	for _, method := range []string{config.MethodBasic, config.MethodOIDC, config.MethodBearer} {
		t.Run(method, func(t *testing.T) {
			w := newStatusWorld(t)
			static := statusJWT(time.Now().Add(time.Hour))
			switch method {
			case config.MethodBasic:
				w.loginBasic("p")
			case config.MethodOIDC:
				w.loginOIDC("p")
			case config.MethodBearer:
				w.api.fake.RequireBearer(func(string) error { return nil })
				w.must(static+"\n", "login", "-p", "p", "--address", w.front.URL, "--auth", "bearer", "--token-stdin")
			}
			var mu sync.Mutex
			var tokens []string
			w.setMe(func(rw http.ResponseWriter, r *http.Request) {
				a := r.Header.Get("Authorization")
				echo := a
				if scheme, v, ok := strings.Cut(a, " "); ok {
					mu.Lock()
					tokens = append(tokens, v)
					mu.Unlock()
					if strings.EqualFold(scheme, "Basic") {
						dec, _ := base64.StdEncoding.DecodeString(v)
						echo += " " + string(dec)
					}
				}
				rw.Header().Set("Content-Type", "application/json")
				_ = json.NewEncoder(rw).Encode(map[string]any{
					"username": "u" + hostile.Evil + echo, "displayName": echo + hostile.Evil,
					"tenants": []map[string]any{{"tenantId": echo, "name": hostile.Evil + echo}},
					"roles":   []string{echo + hostile.Evil}, "groups": []string{hostile.Evil, echo},
				})
			})
			for _, format := range []string{"text", "json", "yaml"} {
				code, stdout, stderr := w.camctl("", "status", "-p", "p", "-o", format)
				if code != ExitOK {
					t.Fatalf("-o %s: exit %d\n%s", format, code, stderr)
				}
				mu.Lock()
				secrets := append([]string{statusPassword, "demo:" + statusPassword, statusSecret, static}, tokens...)
				mu.Unlock()
				for what, s := range map[string]string{"stdout": stdout, "stderr": stderr} {
					if !termsafe.Safe(s) {
						t.Errorf("-o %s: %s is not terminal-safe:\n%q", format, what, s)
					}
					for _, sec := range secrets {
						if leaked := leak(s, sec); leaked != "" {
							t.Errorf("-o %s: %s holds %q of a secret\n%s", format, what, leaked, s)
						}
					}
				}
				if !strings.Contains(stdout, "u") || (format == "text" && !strings.Contains(stdout, "  Signed in:  u")) {
					t.Errorf("-o %s: no identity shown:\n%s", format, stdout)
				}
			}
			mu.Lock()
			defer mu.Unlock()
			if len(tokens) == 0 {
				t.Fatal("the cluster was never asked who the credentials belong to")
			}
		})
	}
}

func TestNewCmdStatus(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		profile string
		output  string
		want    StatusOptions
		wantErr string
	}{
		{name: "plain", want: StatusOptions{}},
		{name: "all json", args: []string{"--all"}, output: OutputJSON, want: StatusOptions{All: true, Output: OutputJSON}},
		{name: "one profile", profile: "prod", want: StatusOptions{}},
		{name: "all and a profile", args: []string{"--all"}, profile: "prod", wantErr: "cannot be combined with --profile prod"},
		{name: "argument", args: []string{"prod"}, wantErr: "takes no arguments"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, _, _, _ := testFactory(t, nil)
			f.Global.Output, f.Global.Profile, f.Global.Timeout = tt.output, tt.profile, 7*time.Second
			var got *StatusOptions
			err := execRunF(t, NewCmdStatus(f, func(_ context.Context, o *StatusOptions) error { got = o; return nil }), tt.args)
			if !checkFlagErr(t, err, tt.wantErr) {
				return
			}
			if got.All != tt.want.All || got.Output != tt.want.Output {
				t.Errorf("options = %+v, want %+v", *got, tt.want)
			}
			if got.Timeout != 7*time.Second || got.IO != f.IO || got.Session == nil || got.Colors == nil || got.Now == nil {
				t.Errorf("options lack the run's dependencies: %+v", *got)
			}
		})
	}
}

// On a terminal, the verdict is in colour (green ready, red not) and
// nothing else the server sent can paint; never with NO_COLOR.
func TestStatusColour(t *testing.T) {
	w := newStatusWorld(t)
	w.loginBasic("helm")
	w.must("", "profile", "add", "gone", "--address", "http://127.0.0.1:1")
	for _, noColor := range []bool{false, true} {
		if noColor {
			w.h.env["NO_COLOR"] = "1"
		}
		f, _, out, errOut := w.h.factory(t)
		f.IO.SetTTY(false, true, false)
		if code := run(t, f, "status", "--all"); code != ExitUnreachable {
			t.Fatalf("exit %d\n%s", code, errOut)
		}
		s := out.String()
		painted := strings.Contains(s, "\x1b[32myes\x1b[0m") && strings.Contains(s, "\x1b[31mno (exit 4)\x1b[0m")
		if painted == noColor {
			t.Errorf("NO_COLOR=%v: colour %v:\n%q", noColor, painted, s)
		}
		rest := s
		for _, code := range sgrCodes() {
			rest = strings.ReplaceAll(rest, code, "")
		}
		if !termsafe.Safe(rest) {
			t.Errorf("escape sequences besides camctl's colours:\n%q", s)
		}
	}
}
