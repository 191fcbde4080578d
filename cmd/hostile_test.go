package cmd

import (
	"bytes"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/camctl/camctl/internal/auth"
	"github.com/camctl/camctl/internal/config"
	"github.com/camctl/camctl/internal/redact"
	"github.com/camctl/camctl/internal/session"
	"github.com/camctl/camctl/internal/termsafe"
	"github.com/camctl/camctl/internal/testutil/hostile"
	"github.com/camctl/camctl/internal/testutil/leakcheck"
	"github.com/camctl/camctl/internal/testutil/pkitest"
)

// The secrets of a hostile run. Random-looking, so that a six-character
// run of one in the output is a leak and not a word.
const (
	hostilePassword     = "Hq7-pW9zX2kL4vN8"
	hostileClientSecret = "Cs3-tY6uI1oP5aS0"
)

// hostileStaticToken is a JWT valid for an hour whose sub claim carries
// escape sequences: login and messages show it as the identity.
func hostileStaticToken() string {
	enc := base64.RawURLEncoding.EncodeToString
	claims, _ := json.Marshal(map[string]any{"sub": "user-" + hostile.EvilStatus, "exp": time.Now().Add(time.Hour).Unix()})
	return enc([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + enc(claims) + "." + enc([]byte("St4t1c-S1gnatur3"))
}

// hostileMethod is how each auth method gets its secret.
type hostileMethod struct {
	secret, stdinFlag, envVar string
}

type hostileCmd struct {
	name string
	args []string
	// data: stdout is the token (or the header) that was asked for, the
	// one output that may hold a credential.
	data bool
	// login reads the method's secret from stdin.
	login bool
}

func hostileCommands() []hostileCmd {
	return []hostileCmd{
		{name: "topology", args: []string{"topology"}},
		{name: "topology -o json", args: []string{"topology", "-o", "json"}},
		{name: "topology -o yaml", args: []string{"topology", "-o", "yaml"}},
		{name: "topology --wait", args: []string{"topology", "--wait", "--wait-timeout", "2s"}},
		{name: "token", args: []string{"token"}, data: true},
		{name: "token --header", args: []string{"token", "--header"}, data: true},
		{name: "token --decode", args: []string{"token", "--decode"}},
		{name: "token -o json", args: []string{"token", "-o", "json"}, data: true},
		{name: "login", args: []string{"login"}, login: true},
		{name: "logout", args: []string{"logout"}},
		{name: "status", args: []string{"status"}},
		{name: "status -o json", args: []string{"status", "-o", "json"}},
		{name: "profile show", args: []string{"profile", "show"}},
		{name: "profile list", args: []string{"profile", "list"}},
		{name: "profile current", args: []string{"profile", "current"}},
		{name: "version", args: []string{"version"}},
	}
}

// hostileOutcome is what a case does to the two network operations: a
// call of the API (with a good credential) and a token request.
func hostileOutcome(c hostile.Case) (api, token int) {
	switch c {
	case hostile.ProblemEcho, hostile.HTMLEcho:
		return ExitAuth, ExitOK
	case hostile.PlainEcho:
		return ExitServer, ExitOK
	case hostile.HTML200Echo:
		return ExitError, ExitOK
	case hostile.Stall, hostile.TLSEvilName:
		return ExitUnreachable, ExitUnreachable
	case hostile.TokenErrorEcho, hostile.TokenCRLF, hostile.TokenESC, hostile.TokenHuge:
		return ExitOK, ExitAuth
	case hostile.TokenHTMLEcho:
		return ExitOK, ExitError
	}
	return ExitOK, ExitOK
}

// hostileExit is the exit code a user must see.
func hostileExit(method string, cmd hostileCmd, c hostile.Case) int {
	api, token := hostileOutcome(c)
	if method != config.MethodOIDC {
		token = ExitOK
	}
	network := api
	if token != ExitOK {
		network = token
	}
	switch cmd.args[0] {
	case "topology":
		if slices.Contains(cmd.args, "--wait") && (network == ExitServer || c == hostile.Stall) {
			// Still starting, as far as --wait can tell: it waits it out.
			return ExitWaitTimeout
		}
		return network
	case "login":
		return network
	case "status":
		// The cluster answers GET /v2/status in every case but those it
		// answers in no case; the rest is topology's.
		return network
	case "token":
		switch {
		case method == config.MethodOIDC:
			return token
		case method == config.MethodBasic && !slices.Contains(cmd.args, "--header"):
			return ExitUsage // basic auth has no token, only a header
		}
		return ExitOK
	}
	return ExitOK
}

// One hostile server per row, against every command, with and without
// --debug, for each auth method: nothing camctl writes holds a secret or
// token of the run (but the token output that was asked for), nothing it
// writes can drive the terminal, and the exit code says what happened
// (spec §8). TestHostileKeyring runs the same table under a real keyring.
func TestHostileTable(t *testing.T) {
	for _, mode := range []auth.KeyringMode{"memory", auth.KeyringNone} {
		t.Run(string(mode), func(t *testing.T) { hostileTable(t, mode, hostileMethods()...) })
	}
}

func hostileMethods() []string {
	return []string{config.MethodBasic, config.MethodOIDC, config.MethodBearer}
}

func hostileTable(t *testing.T, keyring auth.KeyringMode, methods ...string) {
	pkiDir := t.TempDir()
	pki := pkitest.New(t, pkiDir)
	evilCert := pki.IssueServerCertNames(t, hostile.EvilDNSName)
	var rows atomic.Int64
	for _, method := range methods {
		for _, c := range hostile.Cases() {
			for _, cmd := range hostileCommands() {
				for _, debug := range []bool{false, true} {
					name := fmt.Sprintf("%s/%s/%s/debug=%v", method, c, cmd.name, debug)
					t.Run(name, func(t *testing.T) {
						t.Parallel()
						rows.Add(1)
						hostileRow(t, keyring, pki, evilCert, method, c, cmd, debug)
					})
				}
			}
		}
	}
	t.Cleanup(func() {
		t.Logf("hostile table (%s keyring): %d rows = %d commands × %d cases × %d auth methods × 2 (--debug)",
			keyring, rows.Load(), len(hostileCommands()), len(hostile.Cases()), len(methods))
	})
}

func hostileRow(t *testing.T, keyring auth.KeyringMode, pki *pkitest.PKI, evilCert tls.Certificate, method string, c hostile.Case, cmd hostileCmd, debug bool) {
	srv := hostile.New()
	ts := httptest.NewUnstartedServer(srv)
	if c == hostile.TLSEvilName {
		ts.TLS = &tls.Config{Certificates: []tls.Certificate{evilCert}}
		ts.StartTLS()
	} else {
		ts.Start()
	}
	t.Cleanup(func() {
		srv.Close()
		ts.Close()
	})
	dir := t.TempDir()
	env := map[string]string{
		config.EnvConfig:   filepath.Join(dir, "config.yaml"),
		config.EnvCacheDir: filepath.Join(dir, "cache"),
		"HOME":             dir,
		"XDG_CONFIG_HOME":  filepath.Join(dir, "xdg"),
	}
	if keyring == auth.KeyringNone || keyring == auth.KeyringSystem {
		env[config.EnvKeyring] = string(keyring)
	}
	if keyring == auth.KeyringSystem {
		for _, k := range []string{"DBUS_SESSION_BUS_ADDRESS", "XDG_RUNTIME_DIR"} {
			env[k] = os.Getenv(k)
		}
	}
	f, _, in, out, errOut := newHarness(t, env)
	switch keyring {
	case auth.KeyringNone:
		f.Secrets = func(path string, _ bool) (*auth.Secrets, error) {
			return &auth.Secrets{Mode: auth.KeyringNone, File: auth.NewFileStore(filepath.Join(filepath.Dir(path), "secrets.json")), Redactor: f.IO.Redactor}, nil
		}
	case auth.KeyringSystem:
		f.Secrets = session.CachedSecrets(f.systemSecrets)
	}
	static := hostileStaticToken()
	m := map[string]hostileMethod{
		config.MethodBasic:  {hostilePassword, "--password-stdin", "CAMUNDA_BASIC_AUTH_PASSWORD"},
		config.MethodOIDC:   {hostileClientSecret, "--client-secret-stdin", "CAMUNDA_CLIENT_SECRET"},
		config.MethodBearer: {static, "--token-stdin", "CAMUNDA_OAUTH_TOKEN"},
	}[method]
	profileFlags := []string{"--address", ts.URL, "--auth", method}
	switch method {
	case config.MethodBasic:
		profileFlags = append(profileFlags, "--username", "demo")
	case config.MethodOIDC:
		profileFlags = append(profileFlags, "--client-id", "ci", "--token-url", ts.URL+"/token", "--audience", "orchestration-api")
	}
	storage := []string{}
	if keyring == auth.KeyringNone {
		storage = []string{"--insecure-storage"}
	}

	// Set-up while the server is benign: a stored secret, as users have.
	// No TLS handshake can succeed with the evil certificate, so there
	// the profile is added and the secret comes from the environment.
	if c == hostile.TLSEvilName {
		if code := run(t, f, append([]string{"profile", "add", "h", "--ca-file", pki.CACert}, profileFlags...)...); code != ExitOK {
			t.Fatalf("set-up: profile add: exit %d\n%s", code, errOut)
		}
		f.LookupEnv = envMap(withEnv(env, m.envVar, m.secret))
	} else {
		in.WriteString(m.secret + "\n")
		args := append(append([]string{"login", "-p", "h", m.stdinFlag}, profileFlags...), storage...)
		if code := run(t, f, args...); code != ExitOK {
			t.Fatalf("set-up: login: exit %d\n%s", code, errOut)
		}
	}
	srv.Set(c)
	in.Reset()
	out.Reset()
	errOut.Reset()
	// A fresh run: a real camctl process knows only what it reads itself.
	f = rerun(f, in, out, errOut)

	args := append(slices.Clone(cmd.args), "-p", "h", "--timeout", "1s")
	if cmd.login {
		args = append(args, m.stdinFlag)
		args = append(args, storage...)
		in.WriteString(m.secret + "\n")
	}
	if debug {
		args = append(args, "--debug")
	}
	code := run(t, f, args...)
	stdout, stderr := out.String(), errOut.String()
	report := func() string {
		return fmt.Sprintf("camctl %s\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), stdout, stderr)
	}

	if want := hostileExit(method, cmd, c); code != want {
		t.Errorf("exit %d, want %d\n%s", code, want, report())
	}
	for what, s := range map[string]string{"stdout": stdout, "stderr": stderr} {
		if !termsafe.Safe(s) {
			i := strings.IndexFunc(s, termsafe.Forbidden)
			t.Errorf("%s has a character that can drive the terminal at %d (%q)\n%s", what, i, s[max(0, i-20):min(len(s), i+20)], report())
		}
	}
	secrets := append([]string{hostilePassword, "demo:" + hostilePassword, hostileClientSecret, static}, srv.Issued()...)
	check := map[string]string{"stderr": stderr}
	if !cmd.data {
		check["stdout"] = stdout
	}
	for what, s := range check {
		for _, sec := range secrets {
			if leaked := leak(s, sec); leaked != "" {
				t.Errorf("%s holds %q of a secret of the run\n%s", what, leaked, report())
			}
		}
	}
}

// leak returns a run of a secret's characters (leakcheck.Run of them),
// or a form of it the redactor knows (Base64, URL- or JSON-escaped), that
// s holds; "" when none. A 100 KiB token is checked at its ends.
func leak(s, secret string) string {
	probe := secret
	if len(probe) > 2048 {
		probe = probe[:1024] + probe[len(probe)-1024:]
	}
	if w := leakcheck.Leaked(s, "", termsafe.Text(probe)); w != "" {
		return w
	}
	for _, form := range redact.Forms(secret) {
		if len(form) >= redact.MinLen && strings.Contains(s, form) {
			return form
		}
	}
	return ""
}

func withEnv(env map[string]string, k, v string) map[string]string {
	m := make(map[string]string, len(env)+1)
	for key, val := range env {
		m[key] = val
	}
	m[k] = v
	return m
}

// rerun is f for a new process: the same streams, environment and
// stores, but a redactor that has seen nothing yet, so that the command
// must register what it obtains itself.
func rerun(f *Factory, in, out, errOut *bytes.Buffer) *Factory {
	streams := newIOStreams(in, out, errOut)
	g := &Factory{IO: streams, LookupEnv: f.LookupEnv, Build: f.Build, Global: &GlobalOptions{}, Prompt: f.Prompt, PromptSecret: f.PromptSecret}
	inner := f.Secrets
	g.Secrets = func(path string, interactive bool) (*auth.Secrets, error) {
		s, err := inner(path, interactive)
		if s != nil {
			c := *s
			c.Redactor = streams.Redactor
			s = &c
		}
		return s, err
	}
	return g
}

// On a terminal camctl's own colours survive the stdout filter, and the
// hostile topology's escape sequences do not.
func TestColourSurvivesTheFilter(t *testing.T) {
	srv := hostile.New()
	srv.Set(hostile.EvilTopology)
	ts := httptest.NewServer(srv)
	t.Cleanup(func() { srv.Close(); ts.Close() })
	f, _, out, errOut := testFactory(t, map[string]string{"CAMUNDA_REST_ADDRESS": ts.URL})
	f.IO.SetTTY(false, true, false)
	if code := run(t, f, "topology"); code != ExitOK {
		t.Fatalf("exit %d\n%s", code, errOut)
	}
	s := out.String()
	for _, code := range []string{"\x1b[32m", "\x1b[1m", "\x1b[0m"} {
		if !strings.Contains(s, code) {
			t.Errorf("camctl's colour %q is gone:\n%q", code, s)
		}
	}
	rest := s
	for _, code := range sgrCodes() {
		rest = strings.ReplaceAll(rest, code, "")
	}
	if !termsafe.Safe(rest) {
		t.Errorf("the server's text drives the terminal:\n%q", s)
	}
}

// -o json and -o yaml write the hostile topology terminal-safe and still
// exactly: decoded, they hold the server's very strings.
func TestDataOutputStaysExact(t *testing.T) {
	srv := hostile.New()
	srv.Set(hostile.EvilTopology)
	ts := httptest.NewServer(srv)
	t.Cleanup(func() { srv.Close(); ts.Close() })
	var want any
	if err := json.Unmarshal(evilTopologyBody(t, ts.URL), &want); err != nil {
		t.Fatal(err)
	}
	for _, format := range []string{"json", "yaml"} {
		f, _, out, errOut := testFactory(t, map[string]string{"CAMUNDA_REST_ADDRESS": ts.URL})
		if code := run(t, f, "topology", "-o", format); code != ExitOK {
			t.Fatalf("-o %s: exit %d\n%s", format, code, errOut)
		}
		if !termsafe.Safe(out.String()) {
			t.Errorf("-o %s is not terminal-safe:\n%q", format, out)
		}
		var got any
		var err error
		if format == "json" {
			err = json.Unmarshal(out.Bytes(), &got)
		} else {
			err = yaml.Unmarshal(out.Bytes(), &got)
		}
		if err != nil {
			t.Fatalf("-o %s: %v\n%s", format, err, out)
		}
		if !reflect.DeepEqual(normalize(got), normalize(want)) {
			t.Errorf("-o %s changed the data:\n got %#v\nwant %#v", format, got, want)
		}
	}
}

func evilTopologyBody(t *testing.T, url string) []byte {
	t.Helper()
	resp, err := http.Get(url + "/v2/topology")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// normalize makes YAML's decoded numbers and maps comparable with JSON's.
func normalize(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := map[string]any{}
		for k, e := range x {
			m[k] = normalize(e)
		}
		return m
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = normalize(e)
		}
		return out
	case int:
		return float64(x)
	}
	return v
}
