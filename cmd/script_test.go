package cmd

import (
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/camctl/camctl/internal/config"
	"github.com/camctl/camctl/internal/testutil/fakecamunda"
	"github.com/camctl/camctl/internal/testutil/pkitest"
)

// TestMain lets testscript run the real command tree as the `camctl`
// program: scripts call `exec camctl ...`, which re-executes this test
// binary as a separate process with its own environment and exit code.
func TestMain(m *testing.M) {
	// Tests that drive camctl through a pseudo-terminal start this binary
	// with CAMCTL_TEST_MAIN=1 to get the real command in a child process.
	// The child of a camctl exec test that counts the signals it gets
	// (camctl passes CAMCTL_TEST_MAIN on to it too).
	if os.Getenv("CAMCTL_TEST_SIGCOUNT") == "1" {
		os.Exit(sigCountMain())
	}
	if os.Getenv("CAMCTL_TEST_MAIN") == "1" {
		code := Main()
		if path := os.Getenv("CAMCTL_TEST_PEAK_RSS"); path != "" {
			writePeakRSS(path)
		}
		os.Exit(code)
	}
	testscript.Main(m, map[string]func(){
		"camctl": func() { os.Exit(Main()) },
		// The $BROWSER of the README's `camctl login --web`.
		"test-browser": func() { os.Exit(testBrowser()) },
	})
}

// writePeakRSS writes this process's peak resident set (VmHWM of
// /proc/self/status, Linux) to path. The rusage of a waited child is no
// measure: Go starts it with vfork, and until it execs, the child counts
// the parent's memory, which for this test binary can be hundreds of MB.
func writePeakRSS(path string) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			_ = os.WriteFile(path, []byte(strings.TrimSpace(v)), 0o600)
		}
	}
}

// TestScripts runs the end-to-end CLI scenarios in testdata/script. Each
// script gets a fresh HOME, a fake Camunda API at $CAMUNDA_FAKE and no
// session bus, so the OS keyring is unreachable unless a script sets one up.
// Run with -update to rewrite the expected output embedded in the scripts.
func TestScripts(t *testing.T) {
	testscript.Run(t, scriptParams(filepath.Join("..", "testdata", "script")))
}

type fakeKey struct{}

func scriptParams(dir string) testscript.Params {
	return testscript.Params{
		Dir:                 dir,
		UpdateScripts:       *update,
		RequireExplicitExec: true,
		RequireUniqueNames:  true,
		Setup: func(env *testscript.Env) error {
			fake := fakecamunda.New()
			srv := httptest.NewServer(fake)
			env.Defer(func() {
				fake.Close()
				srv.Close()
			})
			env.Values[fakeKey{}] = fake
			home := filepath.Join(env.WorkDir, "home")
			env.Setenv("CAMUNDA_FAKE", srv.URL)
			env.Setenv("HOME", home)
			env.Setenv("XDG_CONFIG_HOME", filepath.Join(home, ".config"))
			env.Setenv("XDG_CACHE_HOME", filepath.Join(home, ".cache"))
			// No session bus: godbus must not find or launch one.
			env.Setenv("DBUS_SESSION_BUS_ADDRESS", "")
			env.Setenv("XDG_RUNTIME_DIR", filepath.Join(env.WorkDir, "no-runtime-dir"))
			env.Setenv("CONFIG", filepath.Join(home, ".config", "camctl", "config.yaml"))
			// Under -race every camctl child would sleep 1 s at exit.
			env.Setenv("GORACE", "atexit_sleep_ms=0")
			// A throw-away CA certificate for --ca-file.
			if err := pkitest.WriteCA(filepath.Join(env.WorkDir, "testca.pem")); err != nil {
				return err
			}
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"fake":  cmdFake,
			"exits": cmdExits,
			"mode":  cmdMode,
			// cmpconfig FILE WANT: cmpenv, with each profile id in FILE
			// (random, see config.NewProfileID) shown as "id: ID".
			"cmpconfig": cmdCmpConfig,
			// profileid NAME VAR: set $VAR to the id of profile NAME in $CONFIG.
			"profileid": cmdProfileID,
		},
	}
}

// exits N [-within DURATION] PROG ARGS... runs PROG like exec and
// requires exit code N (and, with -within, that it returned in time:
// a fault must not make camctl wait much beyond its --timeout).
func cmdExits(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: exits CODE [-within DURATION] PROGRAM [ARGS...]")
	}
	want, err := strconv.Atoi(args[0])
	if err != nil {
		ts.Fatalf("exits: bad code %q", args[0])
	}
	var within time.Duration
	if args[1] == "-within" {
		if len(args) < 4 {
			ts.Fatalf("usage: exits CODE [-within DURATION] PROGRAM [ARGS...]")
		}
		within, err = time.ParseDuration(args[2])
		ts.Check(err)
		args = args[2:]
	}
	start := time.Now()
	err = ts.Exec(args[1], args[2:]...)
	if elapsed := time.Since(start); within > 0 && elapsed > within {
		ts.Fatalf("%s took %v, want at most %v", args[1], elapsed.Round(time.Millisecond), within)
	}
	got := 0
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		got = ee.ExitCode()
	case err != nil:
		ts.Fatalf("exits: %v", err)
	}
	if got != want {
		ts.Fatalf("exit code %d, want %d", got, want)
	}
}

var profileIDLine = regexp.MustCompile(`(?m)^(\s*)id: ["']?[0-9a-f]{16}["']?$`)

// cmpconfig FILE WANT compares like cmpenv, but reads every random
// profile id in FILE as the word ID: a script states that a profile has
// an id and where, not which one.
func cmdCmpConfig(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: cmpconfig FILE WANT")
	}
	got := profileIDLine.ReplaceAllString(ts.ReadFile(args[0]), "${1}id: ID")
	want := os.Expand(ts.ReadFile(args[1]), ts.Getenv)
	if got != want {
		ts.Logf("[diff -%s +%s]\n%s", args[0], args[1], diffLines(got, want))
		ts.Fatalf("%s and %s differ", args[0], args[1])
	}
}

// profileid NAME VAR sets VAR to the id $CONFIG gives profile NAME: the
// key of its items in the keyring ("id/$VAR/auth.password").
func cmdProfileID(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: profileid NAME VAR")
	}
	file, err := config.Load(ts.Getenv("CONFIG"))
	ts.Check(err)
	id := file.Profiles[args[0]].ID
	if id == "" {
		ts.Fatalf("profile %s has no id in %s", args[0], ts.Getenv("CONFIG"))
	}
	ts.Setenv(args[1], id)
}

// diffLines is a small line diff for cmpconfig's failure message.
func diffLines(a, b string) string {
	var out strings.Builder
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := 0; i < len(al) || i < len(bl); i++ {
		var x, y string
		if i < len(al) {
			x = al[i]
		}
		if i < len(bl) {
			y = bl[i]
		}
		if x != y {
			fmt.Fprintf(&out, "%d: -%q\n%d: +%q\n", i+1, x, i+1, y)
		}
	}
	return out.String()
}

// mode FILE PERM requires FILE to have permission bits PERM (octal).
func cmdMode(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: mode FILE PERM")
	}
	want, err := strconv.ParseUint(args[1], 8, 32)
	if err != nil {
		ts.Fatalf("mode: bad permission %q", args[1])
	}
	fi, err := os.Stat(ts.MkAbs(args[0]))
	ts.Check(err)
	if got := uint64(fi.Mode().Perm()); (got == want) == neg {
		ts.Fatalf("%s has mode %#o, want %s%#o", args[0], got, map[bool]string{true: "not ", false: ""}[neg], want)
	}
}

// fake configures the fake Camunda API of the script:
//
//	fake basic USER PASSWORD   require HTTP Basic
//	fake bearer-any            require a bearer token, any token
//	fake topology FILE         serve FILE as the topology
//	fake reply redirect URL    answer the next request with 307 to URL
//	fake reply KIND [COUNT]    answer the next COUNT requests with KIND:
//	                           html401, 403, 503, 500, 404-html, login-page, hang,
//	                           503-retry-after-1, 503-retry-after-3600,
//	                           cut (half the announced body, then closed),
//	                           stall (headers, then nothing), invalid-json (200),
//	                           huge (50 MB of JSON), huge-401 (a 50 MB HTML 401)
//	fake sent <=N              require that scripted answers wrote at most N body bytes
//	fake requests N            require that N API requests arrived so far
//	fake auth SCHEME...        require these Authorization schemes, in order ("none" for none)
//	fake items N               serve a data set of N items on the search endpoints
//	fake bodies N TEXT         require that N requests so far had TEXT in their body
func cmdFake(ts *testscript.TestScript, neg bool, args []string) {
	fake := ts.Value(fakeKey{}).(*fakecamunda.Server)
	if len(args) == 0 {
		ts.Fatalf("usage: fake basic|topology|reply|requests|auth ...")
	}
	switch args[0] {
	case "basic":
		if len(args) != 3 {
			ts.Fatalf("usage: fake basic USER PASSWORD")
		}
		fake.RequireBasic(args[1], args[2])
	case "bearer-any":
		fake.RequireBearer(func(string) error { return nil })
	case "topology":
		if len(args) != 2 {
			ts.Fatalf("usage: fake topology FILE")
		}
		b, err := os.ReadFile(ts.MkAbs(args[1]))
		ts.Check(err)
		fake.SetTopology(b)
	case "reply":
		if args[1] == "redirect" {
			if len(args) != 3 {
				ts.Fatalf("usage: fake reply redirect URL")
			}
			fake.Script(fakecamunda.Reply{Status: 307, Location: args[2]})
			return
		}
		if len(args) < 2 || len(args) > 3 {
			ts.Fatalf("usage: fake reply KIND [COUNT]")
		}
		n := 1
		if len(args) == 3 {
			var err error
			n, err = strconv.Atoi(args[2])
			ts.Check(err)
		}
		var r fakecamunda.Reply
		switch args[1] {
		case "html401":
			r = fakecamunda.HTML401
		case "503":
			r = fakecamunda.Unavailable
		case "500":
			r = fakecamunda.Internal
		case "403":
			r = fakecamunda.Forbidden
		case "401":
			r = fakecamunda.Unauthorized
		case "404-html":
			r = fakecamunda.Reply{Status: 404, ContentType: "text/html", Body: "<!DOCTYPE html><html><head><title>404 Not Found</title></head><body><h1>Not Found</h1><p>The requested URL was not found on this server.</p></body></html>"}
		case "login-page":
			r = fakecamunda.Reply{Status: 200, ContentType: "text/html", Body: "<!DOCTYPE html><html><head><title>Sign in to Camunda</title></head><body><form>Username Password</form></body></html>"}
		case "hang":
			r = fakecamunda.Reply{Hang: true}
		case "503-retry-after-1", "503-retry-after-3600":
			r = fakecamunda.Unavailable
			r.RetryAfter = strings.TrimPrefix(args[1], "503-retry-after-")
		case "cut":
			r = fakecamunda.Reply{Cut: true}
		case "stall":
			r = fakecamunda.Reply{Stall: true}
		case "invalid-json":
			r = fakecamunda.Reply{Status: 200, ContentType: "application/json", Body: `{"brokers":[{"nodeId":0,"host":"camunda-zeebe-0"`}
		case "huge":
			r = fakecamunda.Reply{Size: 50 << 20}
		case "huge-401":
			r = fakecamunda.HTML401
			r.Size = 50 << 20
		default:
			ts.Fatalf("fake reply: unknown kind %q", args[1])
		}
		for range n {
			fake.Script(r)
		}
	case "requests":
		if len(args) != 2 {
			ts.Fatalf("usage: fake requests N")
		}
		want, err := strconv.Atoi(args[1])
		ts.Check(err)
		if got := fake.Requests(); (got == want) == neg {
			ts.Fatalf("fake API got %d requests, want %d", got, want)
		}
	case "sent":
		want, err := strconv.ParseInt(strings.TrimPrefix(args[1], "<="), 10, 64)
		ts.Check(err)
		if got := fake.Sent(); (got <= want) == neg {
			ts.Fatalf("fake API sent %d body bytes, want at most %d", got, want)
		}
	case "items":
		n, err := strconv.Atoi(args[1])
		ts.Check(err)
		fake.SetItems(n)
	case "bodies":
		want, err := strconv.Atoi(args[1])
		ts.Check(err)
		got := 0
		for _, r := range fake.Log() {
			if strings.Contains(string(r.Body), args[2]) {
				got++
			}
		}
		if (got == want) == neg {
			ts.Fatalf("%d requests had %q in their body, want %d", got, args[2], want)
		}
	case "auth":
		got := fake.AuthSchemes()
		for i := range got {
			if got[i] == "" {
				got[i] = "none"
			}
		}
		if g, w := strings.Join(got, " "), strings.Join(args[1:], " "); (g == w) == neg {
			ts.Fatalf("Authorization schemes seen: %q, want %q", g, w)
		}
	default:
		ts.Fatalf("fake: unknown subcommand %q", args[0])
	}
}
