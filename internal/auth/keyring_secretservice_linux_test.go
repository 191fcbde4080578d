package auth

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// These tests talk to a real gnome-keyring Secret Service on a private
// session bus. The outer test re-runs the test binary under
// dbus-run-session with a throwaway HOME and XDG_RUNTIME_DIR, so a
// developer's own bus and keyring are never touched; the inner run (marked
// by inDBusSessionEnv) does the checks.
const (
	inDBusSessionEnv = "CAMCTL_TEST_IN_DBUS_SESSION"
	testService      = "camctl-test-secretservice"
)

// unlockScript starts gnome-keyring with an empty login keyring password
// and waits until it owns the Secret Service name: a client that comes
// first D-Bus-activates a second daemon and the two corrupt the keyring
// (3 failures in 10 trials without the wait, shared/notes/peers.md §7).
const unlockScript = `
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

func TestSecretServiceRoundTrip(t *testing.T) {
	if os.Getenv(inDBusSessionEnv) == "1" {
		secretServiceRoundTrip(t)
		return
	}
	runInDBusSession(t, "TestSecretServiceRoundTrip", unlockScript)
}

func secretServiceRoundTrip(t *testing.T) {
	ctx := t.Context()
	s := NewKeyringStore(KeyringOptions{Service: testService})
	timed := func(what string, f func() error) {
		t.Helper()
		start := time.Now()
		err := f()
		t.Logf("%-40s %v", what, time.Since(start))
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	get := func(key string) (v string) {
		t.Helper()
		timed("Get "+key, func() (err error) { v, err = s.Get(ctx, key); return err })
		return v
	}

	const small, big = "profile/itest/password", "profile/itest/token"
	timed("first Set (bus check, D-Bus connect)", func() error { return s.Set(ctx, small, "s3cr3t-value") })
	if got := get(small); got != "s3cr3t-value" {
		t.Fatalf("Get = %q, want the stored value", got)
	}
	if got, ok := secretToolLookup(t, small); !ok || got != "s3cr3t-value" {
		t.Fatalf("secret-tool lookup %s = %q, %v; want the plain value in the Secret Service", small, got, ok)
	}

	want := secretOfSize(6000)
	timed("Set 6000 bytes", func() error { return s.Set(ctx, big, want) })
	if got := get(big); got != want {
		t.Fatalf("Get returned %d bytes, not the 6000 stored", len(got))
	}
	marker, _ := secretToolLookup(t, big)
	if !strings.HasPrefix(marker, "camctl:chunked:v1:3:") {
		t.Fatalf("secret-tool lookup %s = %q, want a 3-part chunk marker", big, marker)
	}
	var joined strings.Builder
	for i := 1; i <= 3; i++ {
		part, ok := secretToolLookup(t, partKey(big, i))
		if !ok || len(part) > MaxItemSize {
			t.Fatalf("part %d: found %v, %d bytes; want at most %d", i, ok, len(part), MaxItemSize)
		}
		joined.WriteString(part)
	}
	if joined.String() != want {
		t.Fatal("the parts in the Secret Service do not add up to the value")
	}

	timed("Set small over chunked", func() error { return s.Set(ctx, big, "short") })
	for i := 1; i <= 3; i++ {
		if _, ok := secretToolLookup(t, partKey(big, i)); ok {
			t.Errorf("part %d outlived the overwrite with a small value", i)
		}
	}

	for _, key := range []string{small, big} {
		timed("Delete "+key, func() error { return s.Delete(ctx, key) })
		if _, err := s.Get(ctx, key); !errors.Is(err, ErrNotFound) {
			t.Errorf("Get after Delete: %v, want ErrNotFound", err)
		}
		if _, ok := secretToolLookup(t, key); ok {
			t.Errorf("secret-tool still finds %s after Delete", key)
		}
		timed("Delete again "+key, func() error { return s.Delete(ctx, key) })
	}
}

// secretToolLookup asks the Secret Service directly, bypassing go-keyring.
func secretToolLookup(t *testing.T, key string) (value string, found bool) {
	t.Helper()
	out, err := exec.Command("secret-tool", "lookup", "service", testService, "username", key).Output()
	if err != nil {
		if ee, ok := errors.AsType[*exec.ExitError](err); ok && ee.ExitCode() == 1 && len(out) == 0 {
			return "", false
		}
		t.Fatalf("secret-tool lookup %s: %v", key, err)
	}
	return string(out), true
}

// With a session bus but no usable Secret Service, every call must fail
// with ErrUnavailable quickly, not after the timeout.
func TestSecretServiceUnavailable(t *testing.T) {
	if os.Getenv(inDBusSessionEnv) == "1" {
		s := NewKeyringStore(KeyringOptions{Service: testService})
		for _, op := range storeOps {
			start := time.Now()
			err := op.call(t.Context(), s)
			elapsed := time.Since(start)
			t.Logf("%s: %v after %v", op.name, err, elapsed)
			if !errors.Is(err, ErrUnavailable) {
				t.Errorf("%s: %v, want ErrUnavailable", op.name, err)
			}
			if strings.Contains(err.Error(), "did not answer") || elapsed > time.Second {
				t.Errorf("%s took %v; want a fast failure, not the timeout", op.name, elapsed)
			}
		}
		return
	}
	// A session bus config without service directories: nothing can be
	// D-Bus-activated, so org.freedesktop.secrets has no owner.
	const noServices = `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:tmpdir=/tmp</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
`
	t.Run("locked: gnome-keyring activated without a login keyring", func(t *testing.T) {
		runInDBusSession(t, "TestSecretServiceUnavailable", "")
	})
	t.Run("absent: no Secret Service on the bus", func(t *testing.T) {
		conf := filepath.Join(t.TempDir(), "session.conf")
		if err := os.WriteFile(conf, []byte(noServices), 0o600); err != nil {
			t.Fatal(err)
		}
		runInDBusSession(t, "TestSecretServiceUnavailable", "", "--config-file="+conf)
	})
}

// runInDBusSession runs the test binary's test testName under
// dbus-run-session after the shell script setup, and fails unless it
// passes.
func runInDBusSession(t *testing.T, testName, setup string, dbusArgs ...string) {
	t.Helper()
	for _, tool := range []string{"dbus-run-session", "dbus-send", "gnome-keyring-daemon", "secret-tool"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s not found: the Secret Service tests need the Debian packages gnome-keyring dbus dbus-x11 libsecret-tools (apt-get install -y gnome-keyring dbus dbus-x11 libsecret-tools)", tool)
		}
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	home := t.TempDir()
	runtimeDir := shortTempDir(t) // gnome-keyring puts its control socket here

	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	script := setup + `exec "$0" -test.run="^` + testName + `\$" -test.count=1 -test.v -test.timeout=50s`
	args := append(dbusArgs, "--", "sh", "-c", script, self)
	cmd := exec.CommandContext(ctx, "dbus-run-session", args...)
	cmd.Env = append(isolatedEnv(),
		"HOME="+home,
		"XDG_DATA_HOME="+filepath.Join(home, "data"),
		"XDG_CONFIG_HOME="+filepath.Join(home, "config"),
		"XDG_RUNTIME_DIR="+runtimeDir,
		inDBusSessionEnv+"=1",
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
	if !strings.Contains(string(out), "--- PASS: "+testName) {
		t.Fatalf("%s did not run inside dbus-run-session", testName)
	}
}

// isolatedEnv is the environment minus everything that could lead the
// inner run to the developer's own bus, keyring or display (a display
// would let gnome-keyring show an unlock prompt and wait for a person).
func isolatedEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		switch name {
		case "DBUS_SESSION_BUS_ADDRESS", "GNOME_KEYRING_CONTROL", "SSH_AUTH_SOCK",
			"DISPLAY", "WAYLAND_DISPLAY", "HOME", "XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_RUNTIME_DIR",
			"GORACE", inDBusSessionEnv:
			continue
		}
		env = append(env, kv)
	}
	return env
}
