//go:build !windows

package cmd

import (
	"bufio"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/camctl/camctl/internal/testutil/fakecamunda"
	"github.com/camctl/camctl/internal/testutil/pkitest"
)

// writeScript writes an executable shell script.
func writeScript(t *testing.T, dir, name, body string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+body), 0o700); err != nil {
		t.Fatal(err)
	}
	return path
}

// countLines is how many lines a file has (0 when it does not exist).
func countLines(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	return strings.Count(string(b), "\n")
}

// tokenCluster is a fake cluster that accepts the tokens of an issuer,
// and the issuer.
func tokenCluster(t *testing.T) (*fakeServer, *fakecamunda.Issuer, *httptest.Server) {
	t.Helper()
	issuer := fakecamunda.NewIssuer(10 * time.Minute)
	issuer.AddClient("worker", "S3cret-worker-secret")
	idp := httptest.NewServer(issuer)
	t.Cleanup(idp.Close)
	srv := newFakeServer(t)
	srv.fake.RequireBearer(issuer.Verify)
	return srv, issuer, idp
}

// TestExecAuth: auth.method exec runs the command once for N commands
// (the token is cached by its expiry), takes a bare token, the JSON and
// an ExecCredential, passes stderr through, and fails with exit 3 and
// the command's status, or after the timeout.
func TestExecAuth(t *testing.T) {
	srv, issuer, idp := tokenCluster(t)
	// A real token for the fake command to print.
	tok, _ := issuerToken(t, idp.URL+"/token", "worker", "S3cret-worker-secret")
	dir := t.TempDir()
	tokFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokFile, []byte(tok), 0o600); err != nil {
		t.Fatal(err)
	}
	runs := filepath.Join(dir, "runs")
	exp := time.Now().Add(10 * time.Minute).UTC().Format(time.RFC3339)
	outputs := map[string]string{
		"bare":            `cat "$TOKFILE"`,
		"json expires_in": `printf '{"access_token":"%s","expires_in":600}' "$(cat "$TOKFILE")"`,
		"json expires_at": `printf '{"access_token":"%s","expires_at":"` + exp + `"}' "$(cat "$TOKFILE")"`,
		"ExecCredential":  `printf '{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","status":{"token":"%s","expirationTimestamp":"` + exp + `"}}' "$(cat "$TOKFILE")"`,
	}
	for name, body := range outputs {
		t.Run(name, func(t *testing.T) {
			script := writeScript(t, dir, strings.ReplaceAll(name, " ", "-"), "TOKFILE='"+tokFile+"'\necho run >> \""+runs+"\"\necho 'fetching a token' >&2\n"+body+"\n")
			env := map[string]string{"CAMCTL_KEYRING": "none", "CAMCTL_CACHE_DIR": t.TempDir()}
			f, h, _, _, errOut := newHarness(t, env)
			if code := run(t, f, "profile", "add", "cmd", "--address", srv.URL, "--exec-command", script, "--exec-arg", "get token", "--exec-arg", "--json"); code != 0 {
				t.Fatalf("profile add: exit %d: %s", code, errOut)
			}
			before := countLines(t, runs)
			for i := range 3 {
				f, _, out, errOut := h.factory(t)
				if code := run(t, f, "topology", "-o", "json"); code != 0 {
					t.Fatalf("topology %d: exit %d: %s", i, code, errOut)
				}
				if !strings.Contains(out.String(), "gatewayVersion") {
					t.Errorf("topology printed %q", out)
				}
				if i == 0 && !strings.Contains(errOut.String(), "fetching a token") {
					t.Errorf("the command's stderr did not pass through: %q", errOut)
				}
			}
			if n := countLines(t, runs) - before; n != 1 {
				t.Errorf("the command ran %d times for 3 commands, want 1 (cached by expiry)", n)
			}
			// camctl status: ready on the cached token, the command named.
			f, _, out, errOut := h.factory(t)
			if code := run(t, f, "status", "-p", "cmd"); code != 0 || !strings.Contains(out.String(), "exec") || !strings.Contains(out.String(), script) || !strings.Contains(out.String(), "cached") {
				t.Errorf("status of an exec profile: exit %d\n%s\n%s", code, out, errOut)
			}
			if n := countLines(t, runs) - before; n != 1 {
				t.Errorf("status ran the command again (%d runs); the cached token serves it", n)
			}
			// logout forgets the command's cached token: the next run asks it again.
			f, _, _, errOut = h.factory(t)
			if code := run(t, f, "logout", "-p", "cmd"); code != 0 || !strings.Contains(errOut.String(), "cached access token") {
				t.Errorf("logout of an exec profile: exit %d: %s", code, errOut)
			}
			f, _, _, errOut = h.factory(t)
			if code := run(t, f, "topology"); code != 0 {
				t.Fatalf("topology after logout: exit %d: %s", code, errOut)
			}
			if n := countLines(t, runs) - before; n != 2 {
				t.Errorf("after logout the command ran %d times in all, want 2", n)
			}
		})
	}
	_ = issuer

	t.Run("auth.command is a list in the file", func(t *testing.T) {
		env := map[string]string{"CAMCTL_KEYRING": "none", "CAMCTL_CACHE_DIR": t.TempDir()}
		f, h, _, _, _ := newHarness(t, env)
		if code := run(t, f, "profile", "add", "cmd", "--address", srv.URL, "--exec-command", "az", "--exec-arg", "account", "--exec-arg", "get-access-token"); code != 0 {
			t.Fatal("profile add failed")
		}
		b, _ := os.ReadFile(h.config)
		if !strings.Contains(string(b), "command: [az, account, get-access-token]") || !strings.Contains(string(b), "method: exec") {
			t.Errorf("config file:\n%s", b)
		}
	})

	failures := []struct {
		name, body string
		timeout    string
		want       string
	}{
		{"exit status", "echo 'az: not logged in' >&2\nexit 4\n", "", "failed with exit status 4"},
		{"timeout", "sleep 10\n", "300ms", "did not finish within 300ms"},
		{"no output", "true\n", "", "printed nothing"},
		{"two lines", "echo a\necho b\n", "", "more than one line"},
		{"JSON without token", `echo '{"expires_in": 60}'` + "\n", "", "without a token"},
		{"expired", `echo '{"access_token":"abc","expires_at":"2001-01-01T00:00:00Z"}'` + "\n", "", "expired at 2001-01-01T00:00:00Z"},
	}
	for _, c := range failures {
		t.Run("fails: "+c.name, func(t *testing.T) {
			script := writeScript(t, dir, "fail-"+strings.ReplaceAll(c.name, " ", "-"), c.body)
			env := map[string]string{"CAMCTL_KEYRING": "none", "CAMCTL_CACHE_DIR": t.TempDir()}
			f, h, _, _, _ := newHarness(t, env)
			if code := run(t, f, "profile", "add", "cmd", "--address", srv.URL, "--exec-command", script); code != 0 {
				t.Fatal("profile add failed")
			}
			f, _, _, errOut := h.factory(t)
			args := []string{"topology"}
			if c.timeout != "" {
				args = append(args, "--timeout", c.timeout)
			}
			start := time.Now()
			if code := run(t, f, args...); code != ExitAuth {
				t.Errorf("exit %d, want 3: %s", code, errOut)
			}
			if !strings.Contains(errOut.String(), c.want) {
				t.Errorf("stderr %q, want %q", errOut, c.want)
			}
			if c.name == "exit status" && !strings.Contains(errOut.String(), "az: not logged in") {
				t.Errorf("the command's stderr did not pass through: %q", errOut)
			}
			if el := time.Since(start); c.timeout != "" && el > 5*time.Second {
				t.Errorf("the timeout took %s", el)
			}
		})
	}
}

// issuerToken gets a token from a fakecamunda issuer the way camctl does.
func issuerToken(t *testing.T, tokenURL, id, secret string) (string, error) {
	t.Helper()
	env := map[string]string{"CAMCTL_KEYRING": "none", "CAMCTL_CACHE_DIR": t.TempDir(),
		"CAMUNDA_REST_ADDRESS": "http://127.0.0.1:1", "CAMUNDA_CLIENT_ID": id, "CAMUNDA_CLIENT_SECRET": secret, "CAMUNDA_OAUTH_URL": tokenURL}
	f, _, out, errOut := testFactory(t, env)
	if code := run(t, f, "token"); code != 0 {
		t.Fatalf("token: exit %d: %s", code, errOut)
	}
	return strings.TrimSpace(out.String()), nil
}

// childEnvOf runs `camctl exec ... -- sh -c 'env > FILE'` and returns the
// child's environment.
func childEnvOf(t *testing.T, f *Factory, errOut interface{ String() string }, base []string, args ...string) (map[string]string, int) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "env")
	f.Environ = func() []string { return base }
	argv := append(append([]string{"exec"}, args...), "--", "sh", "-c", `env > "$0"; exit 3`, file)
	code := run(t, f, argv...)
	env := map[string]string{}
	fh, err := os.Open(file)
	if err != nil {
		t.Fatalf("the child did not run (exit %d): %s", code, errOut.String())
	}
	defer fh.Close()
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), "=")
		env[k] = v
	}
	return env, code
}

// TestExecHandsOverProfile: camctl exec gives the child the profile in
// the SDK variables, per method, with secrets only in the child's
// environment, and returns the child's exit status.
func TestExecHandsOverProfile(t *testing.T) {
	srv, _, idp := tokenCluster(t)
	basic := newFakeServer(t)
	basic.fake.RequireBasic("demo", "S3cret-basic-pw")
	base := []string{"PATH=" + os.Getenv("PATH"), "HOME=/nonexistent", "CAMUNDA_CLIENT_SECRET=stale-from-the-shell", "KEEP_ME=1"}

	t.Run("oidc with a secret", func(t *testing.T) {
		env := map[string]string{"CAMCTL_KEYRING": "none", "CAMCTL_CACHE_DIR": t.TempDir(),
			"CAMUNDA_REST_ADDRESS": srv.URL, "CAMUNDA_CLIENT_ID": "worker", "CAMUNDA_CLIENT_SECRET": "S3cret-worker-secret",
			"CAMUNDA_OAUTH_URL": idp.URL + "/token", "CAMUNDA_TOKEN_AUDIENCE": "orchestration-api"}
		f, _, out, errOut := testFactory(t, env)
		child, code := childEnvOf(t, f, errOut, base)
		if code != 3 {
			t.Errorf("exit %d, want the child's 3: %s", code, errOut)
		}
		want := map[string]string{
			"CAMUNDA_REST_ADDRESS": srv.URL, "CAMUNDA_AUTH_STRATEGY": "OAUTH", "CAMUNDA_CLIENT_ID": "worker",
			"CAMUNDA_CLIENT_SECRET": "S3cret-worker-secret", "CAMUNDA_OAUTH_URL": idp.URL + "/token",
			"CAMUNDA_AUTHORIZATION_SERVER_URL": idp.URL + "/token", "CAMUNDA_TOKEN_AUDIENCE": "orchestration-api", "KEEP_ME": "1",
			// The Spring Boot starter's names.
			"CAMUNDA_CLIENT_RESTADDRESS": srv.URL, "CAMUNDA_CLIENT_AUTH_METHOD": "oidc", "CAMUNDA_CLIENT_AUTH_CLIENTID": "worker",
			"CAMUNDA_CLIENT_AUTH_CLIENTSECRET": "S3cret-worker-secret", "CAMUNDA_CLIENT_AUTH_TOKENURL": idp.URL + "/token",
			"CAMUNDA_CLIENT_AUTH_AUDIENCE": "orchestration-api",
		}
		for k, v := range want {
			if child[k] != v {
				t.Errorf("child %s = %q, want %q", k, child[k], v)
			}
		}
		if !strings.HasPrefix(child["CAMUNDA_OAUTH_TOKEN"], "eyJ") {
			t.Errorf("child CAMUNDA_OAUTH_TOKEN = %q, want a fresh token", child["CAMUNDA_OAUTH_TOKEN"])
		}
		if s := out.String() + errOut.String(); strings.Contains(s, "S3cret") || strings.Contains(s, child["CAMUNDA_OAUTH_TOKEN"]) {
			t.Errorf("camctl printed a secret: %q", s)
		}
	})
	t.Run("--no-secrets", func(t *testing.T) {
		env := map[string]string{"CAMCTL_KEYRING": "none", "CAMCTL_CACHE_DIR": t.TempDir(),
			"CAMUNDA_REST_ADDRESS": srv.URL, "CAMUNDA_CLIENT_ID": "worker", "CAMUNDA_CLIENT_SECRET": "S3cret-worker-secret",
			"CAMUNDA_OAUTH_URL": idp.URL + "/token"}
		f, _, _, errOut := testFactory(t, env)
		child, _ := childEnvOf(t, f, errOut, base, "--no-secrets")
		var camunda []string
		for k := range child {
			if strings.HasPrefix(k, "CAMUNDA_") || strings.HasPrefix(k, "ZEEBE_") {
				camunda = append(camunda, k)
			}
		}
		// The address (with its ZEEBE_ and Spring twins), BEARER, the token.
		if len(camunda) != 5 || child["CAMUNDA_AUTH_STRATEGY"] != "BEARER" || child["CAMUNDA_REST_ADDRESS"] != srv.URL || !strings.HasPrefix(child["CAMUNDA_OAUTH_TOKEN"], "eyJ") {
			t.Errorf("child variables %v (%v): want only the address (and its ZEEBE_ and Spring twins), BEARER and a token", camunda, child)
		}
	})
	t.Run("basic from the keyring", func(t *testing.T) {
		f, h, in, _, errOut := newHarness(t, map[string]string{})
		in.WriteString("S3cret-basic-pw\n")
		if code := run(t, f, "login", "-p", "helm", "--address", basic.URL, "--username", "demo", "--password-stdin"); code != 0 {
			t.Fatalf("login: %s", errOut)
		}
		f, _, out, errOut := h.factory(t)
		child, _ := childEnvOf(t, f, errOut, base, "-p", "helm")
		if child["CAMUNDA_AUTH_STRATEGY"] != "BASIC" || child["CAMUNDA_BASIC_AUTH_USERNAME"] != "demo" || child["CAMUNDA_BASIC_AUTH_PASSWORD"] != "S3cret-basic-pw" {
			t.Errorf("child %v", child)
		}
		if _, ok := child["CAMUNDA_CLIENT_SECRET"]; ok {
			t.Errorf("the shell's CAMUNDA_CLIENT_SECRET reached the child of a basic profile")
		}
		if s := out.String() + errOut.String(); strings.Contains(s, "S3cret") {
			t.Errorf("camctl printed the password: %q", s)
		}
		// Basic has no token to hand over alone.
		f, _, _, errOut = h.factory(t)
		f.Environ = func() []string { return base }
		if code := run(t, f, "exec", "-p", "helm", "--no-secrets", "--", "true"); code != ExitUsage || !strings.Contains(errOut.String(), "no token to hand over") {
			t.Errorf("--no-secrets with basic: exit %d, %s", code, errOut)
		}
	})
	t.Run("exec and bearer go over as a token", func(t *testing.T) {
		tok, _ := issuerToken(t, idp.URL+"/token", "worker", "S3cret-worker-secret")
		for _, method := range []string{"bearer", "exec"} {
			env := map[string]string{"CAMCTL_KEYRING": "none", "CAMCTL_CACHE_DIR": t.TempDir()}
			if method == "bearer" {
				env["CAMUNDA_REST_ADDRESS"], env["CAMUNDA_OAUTH_TOKEN"] = srv.URL, tok
			}
			f, h, _, _, errOut := newHarness(t, env)
			args := []string{}
			if method == "exec" {
				script := writeScript(t, t.TempDir(), "tok", "echo "+tok+"\n")
				if code := run(t, f, "profile", "add", "cmd", "--address", srv.URL, "--exec-command", script); code != 0 {
					t.Fatalf("profile add: %s", errOut)
				}
				f, _, _, errOut = h.factory(t)
				args = []string{"-p", "cmd"}
			}
			child, _ := childEnvOf(t, f, errOut, base, args...)
			if child["CAMUNDA_AUTH_STRATEGY"] != "BEARER" || child["CAMUNDA_OAUTH_TOKEN"] != tok {
				t.Errorf("%s: child strategy %q token %q", method, child["CAMUNDA_AUTH_STRATEGY"], child["CAMUNDA_OAUTH_TOKEN"])
			}
		}
	})
	t.Run("none", func(t *testing.T) {
		f, _, _, errOut := testFactory(t, map[string]string{"CAMUNDA_REST_ADDRESS": srv.URL})
		child, _ := childEnvOf(t, f, errOut, base)
		if child["CAMUNDA_AUTH_STRATEGY"] != "NONE" || child["CAMUNDA_REST_ADDRESS"] != srv.URL || child["CAMUNDA_CLIENT_SECRET"] != "" {
			t.Errorf("child %v", child)
		}
	})
	t.Run("assertion keystore: the Java client's variables", func(t *testing.T) {
		keys := pkitest.New(t, "").AssertionKeys(t)
		issuer := fakecamunda.NewIssuer(10 * time.Minute)
		issuer.AddKeyClient("signed", keys.JWKS(t), false)
		kidp := httptest.NewServer(issuer)
		t.Cleanup(kidp.Close)
		cluster := newFakeServer(t)
		cluster.fake.RequireBearer(issuer.Verify)
		env := map[string]string{"CAMCTL_KEYRING": "none", "CAMCTL_CACHE_DIR": t.TempDir(),
			"CAMUNDA_REST_ADDRESS": cluster.URL, "CAMUNDA_CLIENT_ID": "signed", "CAMUNDA_OAUTH_URL": kidp.URL + "/token",
			"CAMUNDA_CLIENT_ASSERTION_KEYSTORE_PATH": keys.P12AES, "CAMUNDA_CLIENT_ASSERTION_KEYSTORE_PASSWORD": pkitest.ClientP12Password}
		f, _, out, errOut := testFactory(t, env)
		child, _ := childEnvOf(t, f, errOut, base)
		want := map[string]string{"CAMUNDA_AUTH_STRATEGY": "OAUTH", "CAMUNDA_CLIENT_ID": "signed",
			"CAMUNDA_CLIENT_ASSERTION_KEYSTORE_PATH": keys.P12AES, "CAMUNDA_CLIENT_ASSERTION_KEYSTORE_PASSWORD": pkitest.ClientP12Password}
		for k, v := range want {
			if child[k] != v {
				t.Errorf("child %s = %q, want %q", k, child[k], v)
			}
		}
		if _, ok := child["CAMUNDA_CLIENT_SECRET"]; ok {
			t.Errorf("a client secret went over for an assertion client")
		}
		if !strings.HasPrefix(child["CAMUNDA_OAUTH_TOKEN"], "eyJ") {
			t.Errorf("no fresh token: %q (%s)", child["CAMUNDA_OAUTH_TOKEN"], errOut)
		}
		if strings.Contains(out.String()+errOut.String(), pkitest.ClientP12Password) {
			t.Errorf("camctl printed the keystore password")
		}
	})
	t.Run("PEM assertion key goes over as a token", func(t *testing.T) {
		keys := pkitest.New(t, "").AssertionKeys(t)
		issuer := fakecamunda.NewIssuer(10 * time.Minute)
		issuer.AddKeyClient("signed", keys.JWKS(t), false)
		kidp := httptest.NewServer(issuer)
		t.Cleanup(kidp.Close)
		env := map[string]string{"CAMCTL_KEYRING": "none", "CAMCTL_CACHE_DIR": t.TempDir(),
			"CAMUNDA_REST_ADDRESS": srv.URL, "CAMUNDA_CLIENT_ID": "signed", "CAMUNDA_OAUTH_URL": kidp.URL + "/token",
			"CAMCTL_CLIENT_ASSERTION_KEY_PATH": keys.ECKey}
		f, _, _, errOut := testFactory(t, env)
		child, _ := childEnvOf(t, f, errOut, base)
		if child["CAMUNDA_AUTH_STRATEGY"] != "BEARER" || !strings.HasPrefix(child["CAMUNDA_OAUTH_TOKEN"], "eyJ") || child["CAMUNDA_CLIENT_ID"] != "" {
			t.Errorf("child %v (%s)", child, errOut)
		}
	})
	t.Run("command not found", func(t *testing.T) {
		f, _, _, errOut := testFactory(t, map[string]string{})
		f.Environ = func() []string { return base }
		if code := run(t, f, "exec", "--", "camctl-no-such-program"); code != 127 {
			t.Errorf("exit %d, want 127: %s", code, errOut)
		}
	})
	t.Run("without --", func(t *testing.T) {
		f, _, _, errOut := testFactory(t, map[string]string{})
		if code := run(t, f, "exec", "true"); code != ExitUsage || !strings.Contains(errOut.String(), "put -- before the command") {
			t.Errorf("exit %d: %s", code, errOut)
		}
	})
}

// TestExecBinarySecretsAndSignals runs the built camctl: the secret is
// not on its command line (/proc/PID/cmdline) nor in its output, a
// signal reaches the child, and the child's status is camctl's.
func TestExecBinarySecretsAndSignals(t *testing.T) {
	if _, err := os.Stat("/proc/self/cmdline"); err != nil {
		t.Skip("needs /proc")
	}
	srv, _, idp := tokenCluster(t)
	dir := t.TempDir()
	ready := filepath.Join(dir, "ready")
	// TestMain makes this binary camctl: a real process of its own.
	cmd := exec.Command(os.Args[0], "exec", "--", "sh", "-c", `trap 'exit 42' TERM; : > "$0"; while :; do sleep 0.05; done`, ready)
	cmd.Env = []string{"CAMCTL_TEST_MAIN=1", "GORACE=atexit_sleep_ms=0", "PATH=" + os.Getenv("PATH"), "HOME=" + dir, "CAMCTL_KEYRING=none", "CAMCTL_CACHE_DIR=" + dir,
		"CAMCTL_CONFIG=" + filepath.Join(dir, "config.yaml"),
		"CAMUNDA_REST_ADDRESS=" + srv.URL, "CAMUNDA_CLIENT_ID=worker", "CAMUNDA_CLIENT_SECRET=S3cret-worker-secret", "CAMUNDA_OAUTH_URL=" + idp.URL + "/token"}
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		if _, err := os.Stat(ready); err == nil {
			break
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			t.Fatalf("the child did not start: %s", errOut.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	cmdline, err := os.ReadFile("/proc/" + strconv.Itoa(cmd.Process.Pid) + "/cmdline")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(cmdline), "S3cret") || strings.Contains(string(cmdline), "eyJ") {
		t.Errorf("camctl's command line holds a secret: %q", cmdline)
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	err = cmd.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 42 {
		t.Errorf("camctl exec ended with %v, want the child's 42 after SIGTERM (stderr %q)", err, errOut.String())
	}
	if s := out.String() + errOut.String(); strings.Contains(s, "S3cret") || strings.Contains(s, "eyJ") || strings.Contains(s, "Interrupted") {
		t.Errorf("camctl printed %q", s)
	}
}
