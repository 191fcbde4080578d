//go:build unix

package cmd

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/camctl/camctl/internal/auth"
	"github.com/camctl/camctl/internal/build"
	"github.com/camctl/camctl/internal/config"
	"github.com/camctl/camctl/internal/session"
	"github.com/camctl/camctl/internal/testutil/fakecamunda"
	"github.com/camctl/camctl/internal/testutil/oidctest"
	"github.com/camctl/camctl/internal/testutil/testneed"
)

// The test IdP's person: a public client for camctl and a user. The
// password is test-only.
var (
	personClient = oidctest.Client{ID: "camctl-cli", Public: true}
	alice        = oidctest.User{Login: "alice", Password: "Al1ce-pw", Name: "Alice Example", Email: "alice@example.com"}
)

// watchedStderr is a stderr that a test can watch while camctl runs: each
// complete line is also sent to lines.
type watchedStderr struct {
	mu    sync.Mutex
	buf   strings.Builder
	part  string
	lines chan string
}

func newWatchedStderr() *watchedStderr { return &watchedStderr{lines: make(chan string, 1000)} }

func (w *watchedStderr) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	w.part += string(p)
	for {
		i := strings.IndexByte(w.part, '\n')
		if i < 0 {
			break
		}
		select {
		case w.lines <- w.part[:i]:
		default:
		}
		w.part = w.part[i+1:]
	}
	return len(p), nil
}

func (w *watchedStderr) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// await returns the first submatch of re in the next lines that match.
func (w *watchedStderr) await(t *testing.T, re string) string {
	t.Helper()
	rx := regexp.MustCompile(re)
	timeout := time.After(20 * time.Second)
	for {
		select {
		case l := <-w.lines:
			if m := rx.FindStringSubmatch(l); m != nil {
				return m[len(m)-1]
			}
		case <-timeout:
			t.Fatalf("no line matching %q within 20 s; stderr so far:\n%s", re, w.String())
		}
	}
}

// personEnv is one user's camctl state for in-process runs that the
// camctl binary (sandbox) would see the same way: the config file, the
// token cache and CAMCTL_KEYRING=none (--insecure-storage keeps the
// refresh token in the secrets file).
type personEnv struct {
	env map[string]string
	// keyring, when set, is an in-memory OS keyring (KeyringAuto).
	keyring auth.SecretStore
}

func newPersonEnv(t *testing.T, s *sandbox) *personEnv {
	env := map[string]string{}
	for _, kv := range s.env {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	return &personEnv{env: env}
}

// factory is the next in-process camctl run, its stderr watched.
func (p *personEnv) factory(t *testing.T) (*Factory, *watchedStderr, *strings.Builder) {
	errW := newWatchedStderr()
	out := &strings.Builder{}
	streams := newIOStreams(strings.NewReader(""), out, errW)
	f := &Factory{IO: streams, LookupEnv: envMap(p.env), Build: build.Info{Version: "test"}, Global: &GlobalOptions{}}
	if p.keyring != nil {
		f.Secrets = func(path string, _ bool) (*auth.Secrets, error) {
			return &auth.Secrets{Mode: auth.KeyringAuto, Keyring: p.keyring, Namespace: config.SecretNamespace(path, f.Getenv),
				File: auth.NewFileStore(filepath.Join(filepath.Dir(path), "secrets.json")), Redactor: streams.Redactor}, nil
		}
	} else {
		f.Secrets = session.CachedSecrets(func(path string, interactive bool) (*auth.Secrets, error) {
			return session.SystemSecrets(f.Getenv, streams.Redactor, path, interactive)
		})
	}
	f.Prompt = func(context.Context, string) (string, error) { t.Error("unexpected prompt"); return "", nil }
	f.PromptSecret = f.Prompt
	return f, errW, out
}

// loginWeb runs `camctl login --web --no-browser ARGS` and signs in as u
// in the IdP's pages over HTTP once camctl printed the URL. It returns
// camctl's exit code and stderr.
func (p *personEnv) loginWeb(t *testing.T, u oidctest.User, allow bool, args ...string) (int, string) {
	t.Helper()
	f, errW, _ := p.factory(t)
	code := make(chan int, 1)
	go func() { code <- run(t, f, append([]string{"login", "--web", "--no-browser"}, args...)...) }()
	authURL := errW.await(t, `^  (http\S+)$`)
	var callback time.Time
	var mu sync.Mutex
	rt := roundTrip(func(r *http.Request) (*http.Response, error) {
		if r.URL.Path == "/callback" {
			mu.Lock()
			callback = time.Now()
			mu.Unlock()
		}
		return http.DefaultTransport.RoundTrip(r)
	})
	go func() {
		if _, err := oidctest.SignInVia(t.Context(), rt, authURL, u, allow); err != nil {
			t.Errorf("sign in at the IdP: %v", err)
		}
	}()
	select {
	case c := <-code:
		mu.Lock()
		if !callback.IsZero() && c == 0 {
			t.Logf("from the callback to \"signed in\": %v", time.Since(callback).Round(100*time.Microsecond))
		}
		mu.Unlock()
		return c, errW.String()
	case <-time.After(30 * time.Second):
		t.Fatalf("login --web did not end; stderr:\n%s", errW.String())
	}
	return 0, ""
}

// camctl runs camctl ARGS in process.
func (p *personEnv) camctl(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	f, errW, out := p.factory(t)
	code = run(t, f, args...)
	return code, out.String(), errW.String()
}

// TestPersonSignIn is spec §10 against the real test IdP: a browser and
// a device sign-in of a person through a public client with PKCE, the
// refresh token kept and rotated, and the cluster told who signed in.
func TestPersonSignIn(t *testing.T) {
	idp := oidctest.Start(t, oidctest.Options{Clients: append([]oidctest.Client{personClient}, oidcClients...), Users: []oidctest.User{alice}})
	fake := newFakeServer(t)
	fake.fake.RequireBearer(idp.Verify)
	profile := []string{"-p", "sm", "--address", fake.URL, "--issuer", idp.Issuer, "--client-id", personClient.ID, "--audience", "orchestration-api"}

	t.Run("web", func(t *testing.T) {
		p := newPersonEnv(t, newSandbox(t))
		p.keyring = auth.NewMemoryStore()
		before := idp.Stats()
		code, stderr := p.loginWeb(t, alice, true, profile...)
		if code != 0 {
			t.Fatalf("login --web: exit %d\n%s", code, stderr)
		}
		for _, want := range []string{
			"Open this URL in a browser to sign in:",
			"Signed in to " + fake.URL + "/v2 (profile sm) as alice (Alice Example), in the browser.",
			"The refresh token is stored in the OS keyring.",
		} {
			if !strings.Contains(stderr, want) {
				t.Errorf("stderr lacks %q:\n%s", want, stderr)
			}
		}
		file, err := config.Load(p.env[config.EnvConfig])
		if err != nil {
			t.Fatal(err)
		}
		if a := file.Profiles["sm"].Auth; a.Grant != config.GrantAuthorizationCode || a.Issuer != idp.Issuer || a.Method != config.MethodOIDC {
			t.Errorf("the profile keeps %+v; want grant authorization-code, the issuer and method oidc", a)
		}
		// The authorization URL asks for PKCE S256, state, nonce and the
		// default scopes.
		u, _ := url.Parse(regexp.MustCompile(`  (http\S+)`).FindStringSubmatch(stderr)[1])
		q := u.Query()
		for _, k := range []string{"code_challenge", "state", "nonce"} {
			if q.Get(k) == "" {
				t.Errorf("the authorization URL has no %s: %s", k, u)
			}
		}
		if q.Get("code_challenge_method") != "S256" || q.Get("scope") != "openid offline_access" || q.Get("audience") != "orchestration-api" || !strings.HasPrefix(q.Get("redirect_uri"), "http://127.0.0.1:") || !strings.HasSuffix(q.Get("redirect_uri"), "/callback") {
			t.Errorf("authorization URL %s: want S256, scope openid offline_access, a loopback /callback", u)
		}

		// 100 commands within the access token's lifetime: no token request.
		mid := idp.Stats()
		for range 100 {
			if code, _, stderr := p.camctl(t, "-p", "sm", "token"); code != 0 {
				t.Fatalf("token: exit %d\n%s", code, stderr)
			}
		}
		if got := idp.Stats().Token - mid.Token; got != 0 {
			t.Errorf("100 commands within the token's lifetime made %d token requests, want 0", got)
		}
		if got := mid.Grants["authorization_code"] - before.Grants["authorization_code"]; got != 1 {
			t.Errorf("the login made %d code exchanges, want 1", got)
		}
		code, out, stderr := p.camctl(t, "-p", "sm", "topology")
		if code != 0 || !strings.Contains(out, "Profile:") {
			t.Fatalf("topology with the person's token: exit %d\n%s\n%s", code, out, stderr)
		}
		code, out, _ = p.camctl(t, "profile", "show", "sm")
		if code != 0 || !regexp.MustCompile(`auth.refresh-token +stored in the OS keyring`).MatchString(out) || !regexp.MustCompile(`auth.grant +authorization-code`).MatchString(out) || !regexp.MustCompile(`(?m)^kind +person$`).MatchString(out) {
			t.Errorf("profile show of a person's profile:\n%s", out)
		}
		// What camctl status shows without a network request.
		f, _, _ := p.factory(t)
		sess := f.newSession()
		r, err := sess.ResolveProfile("sm", nil)
		if err != nil {
			t.Fatal(err)
		}
		secrets, err := sess.Secrets(r, false)
		if err != nil {
			t.Fatal(err)
		}
		st, err := auth.LocalSignIn(t.Context(), r, secrets)
		if err != nil || st.Grant != config.GrantAuthorizationCode || !st.Person || !st.Stored || st.Where != auth.InKeyring || st.Username != "alice" || len(st.Bound) != 2 {
			t.Errorf("LocalSignIn: %+v, %v", st, err)
		}
		// camctl status: signed in, the person's grant and identity.
		code, out, stderr = p.camctl(t, "status", "-p", "sm")
		if code != 0 || !regexp.MustCompile(`refresh token stored in the OS keyring, bound to .*; signed in as alice`).MatchString(out) || !regexp.MustCompile(`(?m)^  Ready: +yes$`).MatchString(out) || !regexp.MustCompile(`(?m)^  Token: +cached`).MatchString(out) {
			t.Errorf("status of a signed-in person: exit %d\n%s\n%s", code, out, stderr)
		}
		code, out, _ = p.camctl(t, "status", "-p", "sm", "-o", "json")
		var reports []map[string]any
		if err := json.Unmarshal([]byte(out), &reports); code != 0 || err != nil || len(reports) != 1 {
			t.Fatalf("status -o json: exit %d, %v\n%s", code, err, out)
		}
		rep := reports[0]
		if si, _ := rep["sign_in"].(map[string]any); si == nil || si["username"] != "alice" {
			t.Errorf("status -o json of a person has no sign_in: %v", rep["sign_in"])
		}
		if rep["grant"] != config.GrantAuthorizationCode || rep["identity"].(map[string]any)["username"] != "alice" || rep["ready"] != true {
			t.Errorf("status -o json of a person: %v", rep)
		}
		// camctl exec: an SDK has no grant for a person's public client,
		// so the child gets a fresh token, not a client id to fail with.
		f, _, _ = p.factory(t)
		child, code := childEnvOf(t, f, &strings.Builder{}, []string{"PATH=" + os.Getenv("PATH")}, "-p", "sm")
		if code != 3 || child["CAMUNDA_AUTH_STRATEGY"] != "BEARER" || idp.Verify(child["CAMUNDA_OAUTH_TOKEN"]) != nil || child["CAMUNDA_CLIENT_ID"] != "" || child["CAMUNDA_REST_ADDRESS"] != fake.URL {
			t.Errorf("camctl exec of a person's profile: exit %d, child environment %v", code, child)
		}
	})

	t.Run("cluster without authentication/me", func(t *testing.T) {
		old := newFakeServer(t)
		old.fake.RequireBearer(idp.Verify)
		old.fake.Script(fakecamunda.Reply{Status: http.StatusNotFound, ContentType: "application/problem+json", Body: `{"title":"Not Found","status":404}`})
		p := newPersonEnv(t, newSandbox(t))
		p.keyring = auth.NewMemoryStore()
		code, stderr := p.loginWeb(t, alice, true, "-p", "sm", "--address", old.URL, "--issuer", idp.Issuer, "--client-id", personClient.ID)
		if code != 0 || !strings.Contains(stderr, "Signed in to "+old.URL+"/v2 (profile sm) as alice, in the browser.") {
			t.Errorf("login against a cluster without /v2/authentication/me: exit %d\n%s\nwant verified with /v2/topology, the name from the token", code, stderr)
		}
	})

	t.Run("wrong audience", func(t *testing.T) {
		other := newFakeServer(t)
		other.fake.RequireBearer(idp.VerifyFor("another-api"))
		p := newPersonEnv(t, newSandbox(t))
		p.keyring = auth.NewMemoryStore()
		code, stderr := p.loginWeb(t, alice, true, "-p", "sm", "--address", other.URL, "--issuer", idp.Issuer, "--client-id", personClient.ID)
		if code != 3 || !strings.Contains(stderr, "login failed, nothing was stored") || !strings.Contains(stderr, "\"Audience\" mapper") || !strings.Contains(stderr, "camctl -p sm token --decode") {
			t.Errorf("a cluster that wants another audience: exit %d\n%s", code, stderr)
		}
		if _, err := os.Stat(p.env[config.EnvConfig]); err == nil {
			t.Error("the failed login created the profile")
		}
	})

	t.Run("keyring none", func(t *testing.T) {
		p := newPersonEnv(t, newSandbox(t))
		f, errW, _ := p.factory(t)
		code := run(t, f, append([]string{"login", "--web", "--no-browser"}, profile...)...)
		if code == 0 || !strings.Contains(errW.String(), "--insecure-storage") || strings.Contains(errW.String(), "Open this URL") {
			t.Errorf("CAMCTL_KEYRING=none: exit %d\n%s\nwant refused before the browser, naming --insecure-storage", code, errW.String())
		}
	})

	t.Run("refresh", func(t *testing.T) {
		s := newSandbox(t)
		p := newPersonEnv(t, s)
		if code, stderr := p.loginWeb(t, alice, true, append(profile, "--insecure-storage")...); code != 0 || !strings.Contains(stderr, "stored in plain text") {
			t.Fatalf("login --web --insecure-storage: exit %d\n%s", code, stderr)
		}
		rt0 := storedRefresh(t, p)
		// camctl status with the access token expired: ready, after one
		// silent refresh (whose rotated refresh token is kept).
		expireTokens(t, s.cache)
		if code, out, stderr := p.camctl(t, "status", "-p", "sm"); code != 0 || !regexp.MustCompile(`(?m)^  Ready: +yes$`).MatchString(out) {
			t.Errorf("status with an expired access token: exit %d\n%s\n%s", code, out, stderr)
		}
		rt1 := storedRefresh(t, p)
		if rt1 == rt0 {
			t.Error("status refreshed no token, or did not keep the rotated refresh token")
		}
		// At expiry: one refresh, and the rotated refresh token is kept.
		expireTokens(t, s.cache)
		before := idp.Stats()
		code, out, stderr := p.camctl(t, "-p", "sm", "token")
		if code != 0 || idp.Verify(strings.TrimSpace(out)) != nil {
			t.Fatalf("token at expiry: exit %d\n%s", code, stderr)
		}
		if got := idp.Stats().Grants["refresh_token"] - before.Grants["refresh_token"]; got != 1 {
			t.Errorf("%d refresh requests at expiry, want 1", got)
		}
		rt2 := storedRefresh(t, p)
		if rt2 == rt1 {
			t.Error("the refresh token was not rotated, or the new one not stored")
		}
		// 100 commands over an expiry: exactly one token request.
		expireTokens(t, s.cache)
		before = idp.Stats()
		for range 100 {
			if code, _, stderr := p.camctl(t, "-p", "sm", "token"); code != 0 {
				t.Fatalf("token: exit %d\n%s", code, stderr)
			}
		}
		if got := idp.Stats().Token - before.Token; got != 1 {
			t.Errorf("100 commands over an expiry made %d token requests, want 1", got)
		}

		t.Run("20 processes at expiry", func(t *testing.T) {
			expireTokens(t, s.cache)
			before := idp.Stats()
			procs := make([]*proc, 20)
			for i := range procs {
				procs[i] = s.start(nil, "-p", "sm", "token")
			}
			printed := map[string]bool{}
			for _, pr := range procs {
				r := pr.wait()
				if r.code != 0 {
					t.Errorf("%v", r)
					continue
				}
				printed[strings.TrimSpace(r.stdout)] = true
			}
			if got := idp.Stats().Grants["refresh_token"] - before.Grants["refresh_token"]; got != 1 {
				t.Errorf("20 processes at expiry made %d refresh requests, want exactly 1 (with rotation a second one would be refused)", got)
			}
			if len(printed) != 1 {
				t.Errorf("the processes printed %d different tokens, want 1", len(printed))
			}
		})

		t.Run("revoked", func(t *testing.T) {
			revoke(t, idp, storedRefresh(t, p))
			expireTokens(t, s.cache)
			r := s.camctl(nil, "-p", "sm", "topology")
			if r.code != 3 || !strings.Contains(r.stderr, "has a sign-in that expired or was revoked") || !strings.Contains(r.stderr, "camctl login -p sm") {
				t.Errorf("a revoked sign-in: %v\nwant exit 3 naming camctl login -p sm", r)
			}
			if strings.Contains(r.stderr, "Open this URL") || strings.Contains(r.stderr, "/auth?") {
				t.Errorf("a command other than login started a browser sign-in:\n%s", r.stderr)
			}
			r = s.camctl(nil, "status", "-p", "sm")
			if r.code != 3 || !strings.Contains(r.stdout+r.stderr, "camctl login -p sm") || strings.Contains(r.stderr, "Open this URL") {
				t.Errorf("status of a revoked sign-in: %v\nstdout %s\nwant exit 3 naming camctl login -p sm, no browser", r, r.stdout)
			}
		})
	})

	t.Run("logout revokes", func(t *testing.T) {
		s := newSandbox(t)
		p := newPersonEnv(t, s)
		if code, stderr := p.loginWeb(t, alice, true, append(profile, "--insecure-storage")...); code != 0 {
			t.Fatalf("login: exit %d\n%s", code, stderr)
		}
		rt := storedRefresh(t, p)
		before := idp.Stats()
		code, _, stderr := p.camctl(t, "-p", "sm", "logout")
		if code != 0 || !strings.Contains(stderr, "Revoked the sign-in of profile sm at the identity provider.") {
			t.Fatalf("logout: exit %d\n%s", code, stderr)
		}
		if idp.Stats().Revoked-before.Revoked != 1 {
			t.Error("logout sent no revocation request")
		}
		path, _ := config.SecretsPath(func(k string) string { return p.env[k] })
		if b, _ := os.ReadFile(path); strings.Contains(string(b), "refresh-token") {
			t.Errorf("the refresh token is still stored after logout: %s", b)
		}
		if refresh(t, idp, rt) == nil {
			t.Error("the IdP still accepts the refresh token logout revoked")
		}
		code, _, stderr = p.camctl(t, "-p", "sm", "token")
		if code != 3 || !strings.Contains(stderr, "profile sm is not signed in: sign in again with `camctl login -p sm`") {
			t.Errorf("token after logout: exit %d\n%s", code, stderr)
		}
	})

	t.Run("logout with the IdP down", func(t *testing.T) {
		proxy := oidctest.NewProxy(idp)
		t.Cleanup(proxy.Close)
		s := newSandbox(t)
		p := newPersonEnv(t, s)
		p.env["CAMUNDA_WELL_KNOWN_CONFIGURATION_URL"] = proxy.DiscoveryURL()
		if code, stderr := p.loginWeb(t, alice, true, append(profile, "--insecure-storage")...); code != 0 {
			t.Fatalf("login: exit %d\n%s", code, stderr)
		}
		proxy.SetDown(true)
		code, _, stderr := p.camctl(t, "-p", "sm", "logout")
		if code != 0 || !strings.Contains(stderr, "Warning: profile sm: the refresh token was not revoked") || !strings.Contains(stderr, "deleting the local copies anyway") || !strings.Contains(stderr, "Deleted the stored refresh token") {
			t.Errorf("logout with the IdP down: exit %d\n%s\nwant a warning, and the local copies deleted", code, stderr)
		}
	})

	t.Run("expired sign-in", func(t *testing.T) {
		s := newSandbox(t)
		p := newPersonEnv(t, s)
		if code, stderr := p.loginWeb(t, alice, true, append(profile, "--insecure-storage")...); code != 0 {
			t.Fatalf("login: exit %d\n%s", code, stderr)
		}
		// The IdP said when the refresh token expires, and that has passed:
		// camctl knows without asking it.
		editSignIn(t, p, func(si *auth.SignIn) { si.ExpiresAt = time.Now().Add(-time.Minute) })
		expireTokens(t, s.cache)
		before := idp.Stats()
		r := s.camctl(nil, "-p", "sm", "token")
		if r.code != 3 || !strings.Contains(r.stderr, "profile sm has expired: its refresh token expired at") || !strings.Contains(r.stderr, "`camctl login -p sm`") {
			t.Errorf("an expired sign-in: %v", r)
		}
		if got := idp.Stats().Token - before.Token; got != 0 {
			t.Errorf("an expired sign-in made %d token requests, want 0", got)
		}
	})

	t.Run("device", func(t *testing.T) {
		t.Parallel() // waits out polling intervals: beside the rest
		for _, tt := range []struct {
			name  string
			allow bool
			code  int
			want  string
		}{
			{"approved", true, 0, "Signed in to " + fake.URL + "/v2 (profile sm) as alice (Alice Example), with a device code."},
			{"denied", false, 3, "the sign-in was refused: access_denied"},
		} {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				p := newPersonEnv(t, newSandbox(t))
				p.keyring = auth.NewMemoryStore()
				f, errW, _ := p.factory(t)
				done := make(chan int, 1)
				go func() { done <- run(t, f, append([]string{"login", "--device"}, profile...)...) }()
				errW.await(t, `^To sign in, open http://127\.0\.0\.1:\d+/device in a browser on any device and enter the code [A-Z]{4}-[A-Z]{4}$`)
				complete := errW.await(t, `^  \(or open (\S+), which has the code in it\)$`)
				if _, err := oidctest.SignIn(t.Context(), complete, alice, tt.allow); err != nil {
					t.Fatal(err)
				}
				code := <-done
				if code != tt.code || !strings.Contains(errW.String(), tt.want) {
					t.Errorf("login --device: exit %d\n%s\nwant exit %d and %q", code, errW.String(), tt.code, tt.want)
				}
				if tt.allow {
					if code, _, stderr := p.camctl(t, "-p", "sm", "topology"); code != 0 {
						t.Errorf("topology after the device sign-in: exit %d\n%s", code, stderr)
					}
				}
			})
		}
	})

	t.Run("device faults", func(t *testing.T) {
		t.Parallel()
		for _, tt := range []struct {
			name  string
			fault string
			code  int
			want  string
		}{
			{"slow_down", "slow_down", 0, "Signed in to"},
			{"expired_token", "expired_token", 3, "the code expired before the sign-in was approved: expired_token"},
		} {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				proxy := oidctest.NewProxy(idp)
				t.Cleanup(proxy.Close)
				p := newPersonEnv(t, newSandbox(t))
				p.keyring = auth.NewMemoryStore()
				p.env["CAMUNDA_WELL_KNOWN_CONFIGURATION_URL"] = proxy.DiscoveryURL()
				proxy.Fail(oidctest.Fault{Status: http.StatusBadRequest, Body: `{"error":"` + tt.fault + `"}`})
				f, errW, _ := p.factory(t)
				done := make(chan int, 1)
				start := time.Now()
				go func() { done <- run(t, f, append([]string{"login", "--device"}, profile...)...) }()
				complete := errW.await(t, `^  \(or open (\S+), which has the code in it\)$`)
				if _, err := oidctest.SignIn(t.Context(), complete, alice, true); err != nil {
					t.Fatal(err)
				}
				code := <-done
				took := time.Since(start)
				if code != tt.code || !strings.Contains(errW.String(), tt.want) {
					t.Errorf("login --device after %s: exit %d\n%s\nwant exit %d and %q", tt.fault, code, errW.String(), tt.code, tt.want)
				}
				if tt.fault == "slow_down" && took < 6*time.Second {
					// The interval is 1 s; slow_down adds 5 s (RFC 8628 §3.5).
					t.Errorf("after slow_down the next poll came within %v, want at least 6 s", took)
				}
			})
		}
	})
	t.Run("killed during a refresh", func(t *testing.T) {
		proxy := oidctest.NewProxy(idp)
		t.Cleanup(proxy.Close)
		s := newSandbox(t)
		p := newPersonEnv(t, s)
		via := "CAMUNDA_WELL_KNOWN_CONFIGURATION_URL=" + proxy.DiscoveryURL()
		p.env["CAMUNDA_WELL_KNOWN_CONFIGURATION_URL"] = proxy.DiscoveryURL()
		if code, stderr := p.loginWeb(t, alice, true, append(profile, "--insecure-storage")...); code != 0 {
			t.Fatalf("login: exit %d\n%s", code, stderr)
		}
		rt := storedRefresh(t, p)
		select {
		case <-proxy.Arrived(): // the login's code exchange
		default:
		}
		expireTokens(t, s.cache)
		// The refresh is held at the proxy; camctl dies waiting for it,
		// holding the token lock, before the IdP saw the refresh token.
		proxy.SetDelay(10 * time.Second)
		pr := s.start([]string{via}, "-p", "sm", "token")
		select {
		case <-proxy.Arrived():
		case <-time.After(10 * time.Second):
			t.Fatal("no refresh request arrived")
		}
		if err := pr.cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		if r := pr.wait(); !r.killed {
			t.Fatalf("camctl was not killed: %v", r)
		}
		proxy.SetDelay(0)
		if got := storedRefresh(t, p); got != rt {
			t.Error("the killed refresh changed the stored refresh token")
		}
		r := s.camctl([]string{via}, "-p", "sm", "token")
		if r.code != 0 || idp.Verify(strings.TrimSpace(r.stdout)) != nil {
			t.Fatalf("the next command after the kill: %v", r)
		}
		if got := storedRefresh(t, p); got == rt {
			t.Error("the refresh after the kill did not store the rotated refresh token")
		}
	})

	t.Run("connection reset during a refresh", func(t *testing.T) {
		proxy := oidctest.NewProxy(idp)
		t.Cleanup(proxy.Close)
		s := newSandbox(t)
		p := newPersonEnv(t, s)
		via := "CAMUNDA_WELL_KNOWN_CONFIGURATION_URL=" + proxy.DiscoveryURL()
		p.env["CAMUNDA_WELL_KNOWN_CONFIGURATION_URL"] = proxy.DiscoveryURL()
		if code, stderr := p.loginWeb(t, alice, true, append(profile, "--insecure-storage")...); code != 0 {
			t.Fatalf("login: exit %d\n%s", code, stderr)
		}
		expireTokens(t, s.cache)
		proxy.Recount()
		proxy.Fail(oidctest.Fault{Reset: true})
		// The refresh token may have reached the IdP: no second try with
		// it (with rotation the IdP would take that for a replay).
		r := s.camctl([]string{via}, "-p", "sm", "token")
		if r.code != 4 || proxy.TokenRequests() != 1 {
			t.Errorf("a reset refresh: %v after %d token requests; want exit 4 after 1", r, proxy.TokenRequests())
		}
		if r := s.camctl([]string{via}, "-p", "sm", "token"); r.code != 0 {
			t.Errorf("the next command: %v", r)
		}
	})

	t.Run("real browser", func(t *testing.T) {
		browser := testneed.Programs(t, testneed.Need{What: "Chromium", Install: "apt-get install chromium", For: "the real-browser sign-in test"}, "chromium")[0]
		p := newPersonEnv(t, newSandbox(t))
		p.keyring = auth.NewMemoryStore()
		f, errW, _ := p.factory(t)
		done := make(chan int, 1)
		go func() { done <- run(t, f, append([]string{"login", "--web", "--no-browser"}, profile...)...) }()
		authURL := errW.await(t, `^  (http\S+)$`)

		actx, cancel := chromedp.NewExecAllocator(t.Context(), append(chromedp.DefaultExecAllocatorOptions[:],
			chromedp.ExecPath(browser), chromedp.NoSandbox, chromedp.Flag("headless", true),
			chromedp.UserDataDir(t.TempDir()))...)
		defer cancel()
		bctx, cancel := chromedp.NewContext(actx)
		defer cancel()
		bctx, cancel = context.WithTimeout(bctx, 60*time.Second)
		defer cancel()
		var clicked time.Time
		err := chromedp.Do(bctx,
			chromedp.Navigate(authURL),
			chromedp.WaitVisible(chromedp.ID("username")),
			chromedp.SendKeys(chromedp.ID("username"), alice.Login),
			chromedp.SendKeys(chromedp.ID("password"), alice.Password),
			chromedp.Click(chromedp.ID("signin")),
			chromedp.WaitVisible(chromedp.ID("allow")),
			func(context.Context, *chromedp.Target) (chromedp.Void, error) {
				clicked = time.Now()
				return chromedp.Void{}, nil
			},
			chromedp.Click(chromedp.ID("allow")),
			chromedp.WaitVisible(chromedp.ID("message")),
		)
		message := ""
		if err == nil {
			message, err = chromedp.Run(bctx, chromedp.Text(chromedp.ID("message")))
		}
		if err != nil {
			t.Fatalf("the browser: %v\nstderr:\n%s", err, errW.String())
		}
		code := <-done
		t.Logf("from the consent click to camctl's \"signed in\": %v", time.Since(clicked).Round(time.Millisecond))
		if !strings.Contains(message, "You can close this tab") {
			t.Errorf("the loopback page says %q", message)
		}
		if code != 0 || !strings.Contains(errW.String(), "as alice (Alice Example), in the browser.") {
			t.Fatalf("login --web in a real browser: exit %d\n%s", code, errW.String())
		}
		if code, out, stderr := p.camctl(t, "-p", "sm", "topology"); code != 0 || !strings.Contains(out, "Profile:") {
			t.Errorf("the profile after the browser sign-in: exit %d\n%s%s", code, out, stderr)
		}
	})
}

// storedRefresh is the refresh token in the secrets file of p.
func storedRefresh(t *testing.T, p *personEnv) string {
	t.Helper()
	path, err := config.SecretsPath(func(k string) string { return p.env[k] })
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var items map[string]string
	if err := json.Unmarshal(b, &items); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	for k, v := range items {
		if !strings.HasSuffix(k, "/"+string(config.RefreshToken)) {
			continue
		}
		var env struct{ Value string }
		var si auth.SignIn
		if json.Unmarshal([]byte(v), &env) != nil || json.Unmarshal([]byte(env.Value), &si) != nil || si.RefreshToken == "" {
			t.Fatalf("the stored sign-in is not readable: %s", v)
		}
		return si.RefreshToken
	}
	t.Fatalf("no refresh token in %s", path)
	return ""
}

// expireTokens makes every cached access token in dir expired.
func expireTokens(t *testing.T, dir string) {
	t.Helper()
	path := filepath.Join(dir, "tokens.json")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var entries map[string]string
	if err := json.Unmarshal(b, &entries); err != nil {
		t.Fatal(err)
	}
	for k, v := range entries {
		var tok auth.Token
		if err := json.Unmarshal([]byte(v), &tok); err != nil {
			t.Fatal(err)
		}
		tok.ExpiresAt = time.Now().Add(-time.Minute)
		nb, _ := json.Marshal(tok)
		entries[k] = string(nb)
	}
	b, _ = json.Marshal(entries)
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// revoke revokes a refresh token at the IdP, as an admin would.
func revoke(t *testing.T, idp *oidctest.IdP, rt string) {
	t.Helper()
	resp, err := http.PostForm(idp.Issuer+"/token/revocation", url.Values{"token": {rt}, "token_type_hint": {"refresh_token"}, "client_id": {personClient.ID}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("revoke: %s", resp.Status)
	}
}

// refresh tries a refresh token at the IdP; nil means it was accepted.
func refresh(t *testing.T, idp *oidctest.IdP, rt string) error {
	t.Helper()
	resp, err := http.PostForm(idp.TokenURL(), url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {personClient.ID}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return errors.New(resp.Status)
	}
	return nil
}

// TestRealmAsTokenURL: a Keycloak realm URL given as the token URL is a
// frequent mistake; its 404 (or 405) gets the hint to give it as --issuer.
func TestRealmAsTokenURL(t *testing.T) {
	r, err := config.Resolve(config.Options{Profile: "kc", AllowNew: true, Flags: map[config.Key]string{config.AuthMethod: config.MethodOIDC}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		url  string
		code int
		hint bool
	}{
		{"https://kc.example.com/realms/camunda-platform", http.StatusNotFound, true},
		{"https://kc.example.com/auth/realms/camunda-platform/", http.StatusMethodNotAllowed, true},
		{"https://login.example.com/oauth2/default", http.StatusNotFound, true},
		{"https://kc.example.com/realms/camunda-platform/protocol/openid-connect/token", http.StatusNotFound, false},
		{"https://kc.example.com/realms/camunda-platform", http.StatusBadRequest, false},
	} {
		err := explainToken(errors.New("token request failed"), &auth.TokenError{TokenURL: tt.url, StatusCode: tt.code}, r, " -p kc")
		var h *hintedError
		got := errors.As(err, &h) && strings.Contains(h.hint, "--issuer "+tt.url)
		if got != tt.hint {
			t.Errorf("%s answering %d: hint %v (%v), want %v", tt.url, tt.code, got, err, tt.hint)
		}
	}
}

// editSignIn changes the stored sign-in in the secrets file of p.
func editSignIn(t *testing.T, p *personEnv, edit func(*auth.SignIn)) {
	t.Helper()
	path, err := config.SecretsPath(func(k string) string { return p.env[k] })
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var items map[string]string
	if err := json.Unmarshal(b, &items); err != nil {
		t.Fatal(err)
	}
	for k, v := range items {
		if !strings.HasSuffix(k, "/"+string(config.RefreshToken)) {
			continue
		}
		var env map[string]any
		var si auth.SignIn
		if err := json.Unmarshal([]byte(v), &env); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal([]byte(env["value"].(string)), &si); err != nil {
			t.Fatal(err)
		}
		edit(&si)
		nv, _ := json.Marshal(si)
		env["value"] = string(nv)
		ne, _ := json.Marshal(env)
		items[k] = string(ne)
	}
	b, _ = json.Marshal(items)
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

type roundTrip func(*http.Request) (*http.Response, error)

func (f roundTrip) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
