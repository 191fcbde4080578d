//go:build unix

package cmd

import (
	"context"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/camctl/camctl/internal/auth"
	"github.com/camctl/camctl/internal/build"
	"github.com/camctl/camctl/internal/config"
	"github.com/camctl/camctl/internal/session"
	"github.com/camctl/camctl/internal/testutil/oidctest"
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
	go func() {
		if _, err := oidctest.SignIn(t.Context(), authURL, u, allow); err != nil {
			t.Errorf("sign in at the IdP: %v", err)
		}
	}()
	select {
	case c := <-code:
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
	profile := []string{"-p", "sm", "--address", fake.URL, "--issuer", idp.Issuer, "--client-id", personClient.ID}

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
			"Signed in to " + fake.URL + "/v2 (profile sm) as alice (Alice Example) (browser sign-in).",
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
		if q.Get("code_challenge_method") != "S256" || q.Get("scope") != "openid offline_access" || !strings.HasPrefix(q.Get("redirect_uri"), "http://127.0.0.1:") || !strings.HasSuffix(q.Get("redirect_uri"), "/callback") {
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
	})
}
