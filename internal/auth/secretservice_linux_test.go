package auth

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	dbus "github.com/godbus/dbus/v5"

	"github.com/camctl/camctl/internal/testutil/secretservicetest"
)

// newRun emulates what a camctl process starts with: no session bus
// connection yet (godbus keeps one per process; closing it makes the
// next call connect again, with Hello) and a new store.
func newRun(t *testing.T, backend KeyringBackend) SecretStore {
	t.Helper()
	if conn, err := dbus.SessionBus(); err == nil {
		conn.Close()
	}
	return NewKeyringStore(KeyringOptions{Service: testService, Backend: backend})
}

// The D-Bus method calls of a read, counted on the wire by a proxy in
// front of the bus, against a real gnome-keyring.
func TestSecretServiceCalls(t *testing.T) {
	if !secretservicetest.Inside() {
		secretservicetest.Run(t, "TestSecretServiceCalls", secretservicetest.Unlock)
		return
	}
	proxy := secretservicetest.StartBusProxy(t)
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", proxy.Address)
	ctx := t.Context()

	const password, token, big = "profile/calls/auth.password", "token/calls", "token/big"
	bigValue := secretOfSize(6000)
	seed := newRun(t, nil)
	for k, v := range map[string]string{password: "pw", token: "tok", big: bigValue} {
		if err := seed.Set(ctx, k, v); err != nil {
			t.Fatal(err)
		}
	}

	// calls runs f as a fresh run and returns the calls it made.
	const closed = "Close" + secretservicetest.NoReply
	// flush returns the calls since the first n, including any sent
	// without waiting for an answer: the proxy records calls in order, so
	// once a Ping behind them is answered they are all recorded.
	pings := 0
	flush := func(n int) []string {
		t.Helper()
		pings++
		conn, err := dbus.SessionBus()
		if err != nil {
			t.Fatal(err)
		}
		if err := conn.BusObject().Call("org.freedesktop.DBus.Peer.Ping", 0).Err; err != nil {
			t.Fatal(err)
		}
		// Pings (this one and earlier flushes) are the test's own calls.
		return slices.DeleteFunc(proxy.Since(n), func(c string) bool { return c == "Ping" })
	}
	// calls runs f as a fresh run and returns the calls it made and how
	// many round trips they took.
	calls := func(name string, backend KeyringBackend, f func(SecretStore) error) ([]string, int) {
		t.Helper()
		s := newRun(t, backend)
		n, w, p := len(proxy.Calls()), proxy.Waits(), pings
		if err := f(s); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		got := flush(n)
		waits := proxy.Waits() - w - (pings - p)
		t.Logf("%-34s %2d calls, %2d round trips: %v", name, len(got), waits, got)
		return got, waits
	}
	get := func(key, want string) func(SecretStore) error {
		return func(s SecretStore) error {
			v, err := s.Get(ctx, key)
			if err == nil && v != want {
				err = fmt.Errorf("Get %s = %d bytes, want %d", key, len(v), len(want))
			}
			return err
		}
	}
	_, before := calls("go-keyring Get (before)", goKeyring{}, get(password, "pw"))
	_, _ = calls("go-keyring Get 6000 bytes (before)", goKeyring{}, get(big, bigValue))

	tests := []struct {
		name string
		f    func(SecretStore) error
		want []string
		// maxWaits bounds the round trips. Searches sent together share
		// one unless an answer comes back before the next is sent, so
		// with several keys the count depends on timing.
		maxWaits int
	}{
		{"warm Basic read: one secret", get(password, "pw"),
			[]string{"Hello", "SearchItems", "OpenSession", "GetSecrets", closed}, 4},
		{"two secrets in one GetMany", func(s SecretStore) error {
			got, err := s.GetMany(ctx, []string{password, token})
			if err == nil && (got[password] != "pw" || got[token] != "tok") {
				err = fmt.Errorf("GetMany = %v", got)
			}
			return err
		}, []string{"Hello", "SearchItems", "SearchItems", "OpenSession", "GetSecrets", closed}, 5},
		{"second read of the run", func(s SecretStore) error {
			if err := get(password, "pw")(s); err != nil {
				return err
			}
			flush(0)
			n := len(proxy.Calls())
			if err := get(token, "tok")(s); err != nil {
				return err
			}
			if got := flush(n); !slices.Equal(got, []string{"SearchItems", "OpenSession", "GetSecrets", closed}) {
				return fmt.Errorf("second read made %v; want no Hello and no collection check (same connection)", got)
			}
			return nil
		}, []string{"Hello", "SearchItems", "OpenSession", "GetSecrets", closed, "SearchItems", "OpenSession", "GetSecrets", closed}, 7},
		{"6000 bytes in 3 parts", get(big, bigValue),
			[]string{"Hello", "SearchItems", "OpenSession", "GetSecrets", closed, "SearchItems", "SearchItems", "SearchItems", "OpenSession", "GetSecrets", closed}, 9},
	}
	for _, tt := range tests {
		got, waits := calls(tt.name, nil, tt.f)
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s: calls %v, want %v", tt.name, got, tt.want)
		}
		if waits > tt.maxWaits {
			t.Errorf("%s: %d round trips, want at most %d", tt.name, waits, tt.maxWaits)
		}
	}
	if before <= 3 {
		t.Errorf("go-keyring's Get took %d round trips; the comparison is broken", before)
	}

	// A miss asks whether the keyring could have had it at all (a locked or
	// missing login collection must not read as "not stored").
	miss, _ := calls("miss", nil, func(s SecretStore) error {
		if _, err := s.Get(ctx, "nothing/here"); !errors.Is(err, ErrNotFound) {
			return fmt.Errorf("Get of a missing key: %v, want ErrNotFound", err)
		}
		return nil
	})
	if i, j := slices.Index(miss, "SearchItems"), slices.Index(miss, "Unlock"); i < 0 || j < i {
		t.Errorf("miss made %v; want SearchItems, then the collection check", miss)
	}
}

// Thousands of reads back to back, each on a new connection as a camctl
// run makes it, and reads from parallel processes and goroutines (a
// tenth of them with -short): the
// pattern under which gnome-keyring 42.1 aborted when OpenSession came
// before SearchItems. The daemon must still be the one that started.
func TestSecretServiceStress(t *testing.T) {
	const small, big = "profile/stress/auth.password", "token/stress"
	sequential, processes, perProcess, goroutines, perGoroutine := 2000, 8, 25, 8, 100
	if testing.Short() {
		sequential, perProcess, perGoroutine = 200, 3, 10
	}
	bigValue := secretOfSize(6000)
	if os.Getenv("CAMCTL_STRESS_CHILD") == "1" {
		perProcess, _ = strconv.Atoi(os.Getenv("CAMCTL_STRESS_RUNS"))
		for i := range perProcess {
			readBoth(t, newRun(t, nil), small, big, bigValue, i)
		}
		return
	}
	if !secretservicetest.Inside() {
		secretservicetest.Run(t, "TestSecretServiceStress", secretservicetest.Unlock)
		return
	}
	ctx := t.Context()
	owner := secretsOwner(t)
	seed := newRun(t, nil)
	if err := seed.Set(ctx, small, "stress-pw"); err != nil {
		t.Fatal(err)
	}
	if err := seed.Set(ctx, big, bigValue); err != nil {
		t.Fatal(err)
	}

	start := time.Now()
	// The warm Basic run: one small secret per run.
	for i := range sequential {
		v, err := newRun(t, nil).Get(ctx, small)
		if err != nil || v != "stress-pw" {
			t.Fatalf("sequential run %d: %q, %v", i, v, err)
		}
	}

	t.Logf("%d sequential runs: %v", sequential, time.Since(start))
	start = time.Now()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, processes+goroutines)
	for p := range processes {
		wg.Go(func() {
			cmd := exec.CommandContext(ctx, self, "-test.run=^TestSecretServiceStress$", "-test.count=1")
			cmd.Env = append(os.Environ(), "CAMCTL_STRESS_CHILD=1", "CAMCTL_STRESS_RUNS="+strconv.Itoa(perProcess))
			if out, err := cmd.CombinedOutput(); err != nil {
				errs <- fmt.Errorf("process %d: %v\n%s", p, err, out)
			}
		})
	}
	shared := newRun(t, nil)
	for g := range goroutines {
		wg.Go(func() {
			for i := range perGoroutine {
				got, err := shared.GetMany(ctx, []string{small, big})
				if err != nil || got[small] != "stress-pw" || got[big] != bigValue {
					errs <- fmt.Errorf("goroutine %d read %d: %v (%d, %d bytes)", g, i, err, len(got[small]), len(got[big]))
					return
				}
			}
		})
	}
	wg.Wait()
	t.Logf("parallel: %v", time.Since(start))
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if now := secretsOwner(t); now != owner {
		t.Errorf("org.freedesktop.secrets is now owned by %s, was %s: the keyring daemon died and was replaced", now, owner)
	}
	t.Logf("%d sequential runs, %d processes x %d runs, %d goroutines x %d reads: all values right, same daemon %s",
		sequential, processes, perProcess, goroutines, perGoroutine, owner)
}

func readBoth(t *testing.T, s SecretStore, small, big, bigValue string, i int) {
	t.Helper()
	got, err := s.GetMany(t.Context(), []string{small, big})
	if err != nil {
		t.Fatalf("read %d: %v", i, err)
	}
	if got[small] != "stress-pw" || got[big] != bigValue {
		t.Fatalf("read %d: got %d and %d bytes, want %d and %d", i, len(got[small]), len(got[big]), len("stress-pw"), len(bigValue))
	}
}

// secretsOwner is the unique bus name of the Secret Service daemon.
func secretsOwner(t *testing.T) string {
	t.Helper()
	conn, err := dbus.ConnectSessionBus()
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var owner string
	if err := conn.BusObject().Call("org.freedesktop.DBus.GetNameOwner", 0, "org.freedesktop.secrets").Store(&owner); err != nil {
		t.Fatal(err)
	}
	return owner
}

// A login keyring that is locked: the item is found among the locked ones
// and must be unlocked, which asks for a password nobody can type here
// (no display). The store must give up within its timeout, and at once
// on the next call, rather than wait forever for the prompt.
func TestSecretServiceLocked(t *testing.T) {
	if !secretservicetest.Inside() {
		// A login keyring with a password, so that locking it means
		// something (an empty one would unlock without asking).
		setup := strings.Replace(secretservicetest.Unlock, `echo ""`, `printf camctl-test-pw`, 1)
		if setup == secretservicetest.Unlock {
			t.Fatal("secretservicetest.Unlock changed: cannot set a keyring password")
		}
		secretservicetest.Run(t, "TestSecretServiceLocked", setup)
		return
	}
	ctx := t.Context()
	const key = "profile/locked/auth.password"
	if err := newRun(t, nil).Set(ctx, key, "pw"); err != nil {
		t.Fatal(err)
	}
	conn, err := dbus.SessionBus()
	if err != nil {
		t.Fatal(err)
	}
	var locked []dbus.ObjectPath
	var prompt dbus.ObjectPath
	if err := conn.Object(ssBusName, ssPath).Call(ssInterface+".Lock", 0,
		[]dbus.ObjectPath{"/org/freedesktop/secrets/collection/login"}).Store(&locked, &prompt); err != nil {
		t.Fatalf("lock the login keyring: %v", err)
	}
	if len(locked) != 1 || prompt != "/" {
		t.Fatalf("Lock = %v, prompt %s; want the login collection locked at once", locked, prompt)
	}

	const timeout = time.Second
	s := NewKeyringStore(KeyringOptions{Service: testService, Timeout: timeout})
	start := time.Now()
	_, err = s.Get(ctx, key)
	elapsed := time.Since(start)
	t.Logf("Get from a locked keyring: %v after %v", err, elapsed)
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Get: %v, want ErrUnavailable", err)
	}
	if elapsed > timeout+time.Second {
		t.Fatalf("Get took %v; the %v timeout did not hold", elapsed, timeout)
	}
	start = time.Now()
	if _, err := s.Get(ctx, key); !errors.Is(err, ErrUnavailable) || time.Since(start) > 100*time.Millisecond {
		t.Errorf("second Get: %v after %v; want ErrUnavailable at once", err, time.Since(start))
	}
}
