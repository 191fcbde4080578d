//go:build linux

// Package secretservicetest runs a test inside a private D-Bus session
// with a real, unlocked gnome-keyring Secret Service, so that keyring code
// is tested against what Linux users have — without ever touching the
// developer's own bus, keyring or display.
//
// The outer test calls Run; Run re-executes the test binary for one test
// under dbus-run-session, where Inside reports true and the test does its
// checks.
package secretservicetest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/camctl/camctl/internal/testutil/testneed"
)

// env marks the inner run.
const env = "CAMCTL_TEST_IN_DBUS_SESSION"

// Inside reports whether this process is the run inside the session.
func Inside() bool { return os.Getenv(env) == "1" }

// Unlock starts gnome-keyring with an empty login keyring password and
// waits until it owns the Secret Service name: a client that comes first
// D-Bus-activates a second daemon and the two corrupt the keyring (3
// failures in 10 trials without the wait).
const Unlock = `
echo "" | gnome-keyring-daemon --unlock --components=secrets >/dev/null || exit 3
i=0
until dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
	org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets 2>/dev/null | grep -q "boolean true"
do
	i=$((i+1))
	if [ $i -ge 100 ]; then echo "org.freedesktop.secrets did not appear within 5s" >&2; exit 3; fi
	sleep 0.05
done
`

// Run runs the test binary's test testName under dbus-run-session after
// the shell script setup (Unlock for a working keyring, "" for a locked
// one), and fails t unless it passes. dbusArgs go to dbus-run-session.
func Run(t *testing.T, testName, setup string, dbusArgs ...string) {
	t.Helper()
	testneed.Programs(t, testneed.Need{
		What:    "a Secret Service",
		Install: "apt-get install gnome-keyring dbus dbus-x11 libsecret-tools",
		For:     "the keyring tests",
	}, "dbus-run-session", "dbus-send", "gnome-keyring-daemon", "secret-tool")
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	home := t.TempDir()
	runtimeDir := ShortTempDir(t) // gnome-keyring puts its control socket here

	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	script := setup + `exec "$0" -test.run="^` + testName + `\$" -test.count=1 -test.v -test.timeout=100s`
	args := append(dbusArgs, "--", "sh", "-c", script, self)
	cmd := exec.CommandContext(ctx, "dbus-run-session", args...)
	cmd.Env = append(isolatedEnv(),
		"HOME="+home,
		"XDG_DATA_HOME="+filepath.Join(home, "data"),
		"XDG_CONFIG_HOME="+filepath.Join(home, "config"),
		"XDG_RUNTIME_DIR="+runtimeDir,
		env+"=1",
		// The inner run has a HOME of its own: what tests installed on
		// demand stays where the outer run keeps it.
		testneed.CacheEnv+"="+testneed.CacheDir(),
		// A -race binary sleeps 1 s at exit by default; that would
		// triple the time of each run.
		"GORACE="+strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0"),
	)
	start := time.Now()
	out, err := cmd.CombinedOutput()
	t.Logf("dbus-run-session %s (%v):\n%s", testName, time.Since(start).Round(time.Millisecond), out)
	if err != nil {
		t.Fatalf("%s inside dbus-run-session: %v", testName, err)
	}
	// The inner run skips when it lacks something else (Node.js for the
	// test identity provider): skip here too, with its line.
	if strings.Contains(string(out), "--- SKIP: "+testName) {
		line := testName + " skipped inside dbus-run-session"
		if _, why, ok := strings.Cut(string(out), "skipping: "); ok {
			why, _, _ = strings.Cut(why, "\n")
			line = "skipping: " + why
		}
		t.Skip(line)
	}
	if !strings.Contains(string(out), "--- PASS: "+testName) {
		t.Fatalf("%s did not run inside dbus-run-session", testName)
	}
}

// isolatedEnv is the environment minus everything that could lead the
// inner run to the developer's own bus, keyring or display (a display
// would let gnome-keyring show an unlock prompt and wait for a person).
func isolatedEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		switch name {
		case "DBUS_SESSION_BUS_ADDRESS", "GNOME_KEYRING_CONTROL", "SSH_AUTH_SOCK",
			"DISPLAY", "WAYLAND_DISPLAY", "HOME", "XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_RUNTIME_DIR",
			"GORACE", testneed.CacheEnv, env:
			continue
		}
		out = append(out, kv)
	}
	return out
}

// ShortTempDir is a temporary directory with a path short enough for a
// unix socket (t.TempDir paths can exceed the 108-byte limit).
func ShortTempDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "camctl-bus-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}
