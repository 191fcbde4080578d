package auth

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/camctl/camctl/internal/testutil/secretservicetest"
)

func envMap(m map[string]string) func(string) string {
	return func(name string) string { return m[name] }
}

func TestCheckSessionBus(t *testing.T) {
	empty := secretservicetest.ShortTempDir(t)
	other := secretservicetest.ShortTempDir(t)
	withFile := secretservicetest.ShortTempDir(t)
	if err := os.WriteFile(filepath.Join(withFile, "bus"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	withSocket := secretservicetest.ShortTempDir(t)
	l, err := net.Listen("unix", filepath.Join(withSocket, "bus"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })

	tests := []struct {
		name    string
		env     map[string]string
		uidDir  string // where godbus would look for the socket
		wantMsg string // "" means reachable
	}{
		{"address set", map[string]string{"DBUS_SESSION_BUS_ADDRESS": "unix:path=/run/user/1000/bus"}, other, ""},
		{"autolaunch address", map[string]string{"DBUS_SESSION_BUS_ADDRESS": "autolaunch:"}, other, "XDG_RUNTIME_DIR are not set"},
		{"nothing set", map[string]string{}, other, "XDG_RUNTIME_DIR are not set"},
		{"empty runtime dir", map[string]string{"XDG_RUNTIME_DIR": empty}, empty, "no socket " + filepath.Join(empty, "bus")},
		{"bus is a plain file", map[string]string{"XDG_RUNTIME_DIR": withFile}, withFile, "no socket"},
		{"socket where godbus looks", map[string]string{"XDG_RUNTIME_DIR": withSocket}, withSocket, ""},
		{"socket where godbus does not look", map[string]string{"XDG_RUNTIME_DIR": withSocket}, other,
			"export DBUS_SESSION_BUS_ADDRESS=unix:path=" + filepath.Join(withSocket, "bus")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkSessionBus(envMap(tt.env), tt.uidDir)
			if tt.wantMsg == "" {
				if err != nil {
					t.Fatalf("checkSessionBus: %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, ErrUnavailable) {
				t.Fatalf("checkSessionBus: %v, want ErrUnavailable", err)
			}
			for _, want := range []string{tt.wantMsg} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not mention %q", err, want)
				}
			}
		})
	}
}

func TestKeyringChecksBusLazilyOnce(t *testing.T) {
	for _, bus := range []bool{true, false} {
		t.Run(fmt.Sprintf("bus=%v", bus), func(t *testing.T) {
			var lookups atomic.Int32
			getenv := func(name string) string {
				lookups.Add(1)
				if bus {
					return busEnv(name)
				}
				return ""
			}
			fake := newFakeKeyring()
			s := newKeyringStore(KeyringOptions{Service: "camctl-test", Getenv: getenv}, fake)
			if n := lookups.Load(); n != 0 {
				t.Fatalf("NewKeyringStore looked at the environment %d times; want it to wait for the first call", n)
			}
			for range 2 {
				for _, op := range storeOps {
					err := op.call(t.Context(), s)
					if !bus && !errors.Is(err, ErrUnavailable) {
						t.Fatalf("%s without a bus: %v, want ErrUnavailable", op.name, err)
					}
				}
			}
			after := lookups.Load()
			if after == 0 || after > 2 {
				t.Errorf("environment looked up %d times over 6 calls; want one check (at most 2 variables)", after)
			}
			if n := fake.callCount(); !bus && n != 0 {
				t.Errorf("keyring called %d times without a session bus", n)
			}
		})
	}
}

// Without a session bus, godbus would run dbus-launch, and on this Debian
// image (dbus-x11 installed) that starts a dbus-daemon and a
// gnome-keyring-daemon which outlive the test. The store must fail fast
// before go-keyring is ever called.
func TestKeyringWithoutSessionBusStartsNoDaemons(t *testing.T) {
	// Anything started on our behalf inherits this variable, which tells
	// our leaks apart from daemons other tests on the machine start.
	marker := fmt.Sprintf("CAMCTL_TEST_LEAK_MARKER=%d-%d", os.Getpid(), time.Now().UnixNano())
	name, value, _ := strings.Cut(marker, "=")
	t.Setenv(name, value)

	before := busDaemons(t)
	s := NewKeyringStore(KeyringOptions{
		Service: "camctl-test-nobus",
		Getenv:  envMap(map[string]string{"XDG_RUNTIME_DIR": t.TempDir()}),
	})
	for _, op := range storeOps {
		start := time.Now()
		err := op.call(t.Context(), s)
		elapsed := time.Since(start)
		t.Logf("%s without a session bus: %v after %v", op.name, err, elapsed)
		if !errors.Is(err, ErrUnavailable) {
			t.Errorf("%s: %v, want ErrUnavailable", op.name, err)
		}
		if elapsed > 100*time.Millisecond {
			t.Errorf("%s took %v, want well under 100ms", op.name, elapsed)
		}
	}

	for pid, comm := range busDaemons(t) {
		if before[pid] == comm {
			continue
		}
		env, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
		if err != nil {
			continue // already gone
		}
		if !bytes.Contains(env, []byte(marker+"\x00")) {
			t.Logf("ignoring %s (pid %d): started by something else", comm, pid)
			continue
		}
		t.Errorf("a keyring call started %s (pid %d), which outlives camctl", comm, pid)
		_ = syscall.Kill(pid, syscall.SIGTERM) // ours: don't leave it behind
	}
}

// busDaemons lists the processes a D-Bus autolaunch leaves running, by pid.
// /proc/<pid>/comm is cut at 15 bytes: "gnome-keyring-d".
func busDaemons(t *testing.T) map[int]string {
	t.Helper()
	paths, err := filepath.Glob("/proc/[0-9]*/comm")
	if err != nil {
		t.Fatal(err)
	}
	daemons := map[int]string{}
	for _, p := range paths {
		comm, err := os.ReadFile(p)
		if err != nil {
			continue // exited meanwhile
		}
		switch c := strings.TrimSpace(string(comm)); c {
		case "dbus-daemon", "dbus-launch", "gnome-keyring-d":
			pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(p)))
			daemons[pid] = c
		}
	}
	return daemons
}
