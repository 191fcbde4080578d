package auth

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zalando/go-keyring"
)

// busEnv passes the Linux session bus check without a real bus; the fake
// backends below never dial it.
func busEnv(name string) string {
	if name == "DBUS_SESSION_BUS_ADDRESS" {
		return "unix:path=/nonexistent/camctl-test-bus"
	}
	return ""
}

// fakeKeyring behaves like go-keyring over a map. fail, when set, can make
// any call fail instead.
type fakeKeyring struct {
	mu    sync.Mutex
	m     map[[2]string]string
	fail  func(op, user string) error
	calls int
}

func newFakeKeyring() *fakeKeyring {
	return &fakeKeyring{m: map[[2]string]string{}}
}

func (f *fakeKeyring) call(op, user string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.fail != nil {
		return f.fail(op, user)
	}
	return nil
}

func (f *fakeKeyring) Get(service, user string) (string, error) {
	if err := f.call("get", user); err != nil {
		return "", err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	v, ok := f.m[[2]string{service, user}]
	if !ok {
		return "", keyring.ErrNotFound
	}
	return v, nil
}

func (f *fakeKeyring) Set(service, user, password string) error {
	if err := f.call("set", user); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.m[[2]string{service, user}] = password
	return nil
}

func (f *fakeKeyring) Delete(service, user string) error {
	if err := f.call("delete", user); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	k := [2]string{service, user}
	if _, ok := f.m[k]; !ok {
		return keyring.ErrNotFound
	}
	delete(f.m, k)
	return nil
}

func (f *fakeKeyring) callCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

func (f *fakeKeyring) items(service string) map[string]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]string{}
	for k, v := range f.m {
		if k[0] == service {
			out[k[1]] = v
		}
	}
	return out
}

// hangingKeyring never answers, like a Secret Service waiting for a
// prompt nobody can see. Each call reports on entered, then blocks until
// the test ends.
type hangingKeyring struct {
	entered chan string
	release chan struct{}
}

func newHangingKeyring(t *testing.T) *hangingKeyring {
	h := &hangingKeyring{entered: make(chan string, 100), release: make(chan struct{})}
	t.Cleanup(func() { close(h.release) })
	return h
}

func (h *hangingKeyring) hang(op string) {
	h.entered <- op
	<-h.release
}

func (h *hangingKeyring) Get(string, string) (string, error) { h.hang("get"); return "", nil }
func (h *hangingKeyring) Set(string, string, string) error   { h.hang("set"); return nil }
func (h *hangingKeyring) Delete(string, string) error        { h.hang("delete"); return nil }

type storeOp struct {
	name string
	call func(ctx context.Context, s SecretStore) error
}

// storeOps are the three calls of a SecretStore, for tests that expect
// the same outcome from each.
var storeOps = []storeOp{
	{"Get", func(ctx context.Context, s SecretStore) error {
		_, err := s.Get(ctx, "profile/p/password")
		return err
	}},
	{"Set", func(ctx context.Context, s SecretStore) error {
		return s.Set(ctx, "profile/p/password", "hunter2-secret")
	}},
	{"Delete", func(ctx context.Context, s SecretStore) error {
		return s.Delete(ctx, "profile/p/password")
	}},
}

func TestKeyringTimeout(t *testing.T) {
	const timeout = 50 * time.Millisecond
	for _, op := range storeOps {
		t.Run(op.name, func(t *testing.T) {
			hang := newHangingKeyring(t)
			s := newKeyringStore(KeyringOptions{Service: "camctl-test", Timeout: timeout, Getenv: busEnv}, hang)

			start := time.Now()
			err := op.call(t.Context(), s)
			elapsed := time.Since(start)
			t.Logf("%s gave up after %v: %v", op.name, elapsed, err)
			if !errors.Is(err, ErrUnavailable) {
				t.Fatalf("error %v does not wrap ErrUnavailable", err)
			}
			for _, want := range []string{"did not answer within 50ms"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not mention %q", err, want)
				}
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error %q contains the secret", err)
			}
			if elapsed < timeout || elapsed > 20*timeout {
				t.Errorf("returned after %v, want about %v", elapsed, timeout)
			}

			<-hang.entered // the first call did reach the keyring

			// The first call is still stuck in the keyring: the next one
			// must fail at once instead of waiting (and queueing) again.
			start = time.Now()
			if err := op.call(t.Context(), s); !errors.Is(err, ErrUnavailable) {
				t.Fatalf("second call: %v, want ErrUnavailable", err)
			}
			if elapsed := time.Since(start); elapsed >= timeout {
				t.Errorf("second call took %v; want an immediate failure", elapsed)
			}
			if n := len(hang.entered); n != 0 {
				t.Errorf("keyring was called %d more times, want 0", n)
			}
		})
	}
}

func TestKeyringCallerContext(t *testing.T) {
	t.Run("cancelled", func(t *testing.T) {
		hang := newHangingKeyring(t)
		s := newKeyringStore(KeyringOptions{Service: "camctl-test", Timeout: time.Hour, Getenv: busEnv}, hang)
		ctx, cancel := context.WithCancel(t.Context())
		go func() {
			<-hang.entered
			cancel()
		}()
		_, err := s.Get(ctx, "k")
		if !errors.Is(err, context.Canceled) || errors.Is(err, ErrUnavailable) {
			t.Fatalf("Get with a cancelled context: %v, want context.Canceled and not ErrUnavailable", err)
		}
	})
	t.Run("cancelled before the call", func(t *testing.T) {
		fake := newFakeKeyring()
		s := newKeyringStore(KeyringOptions{Service: "camctl-test", Getenv: busEnv}, fake)
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		for _, op := range storeOps {
			if err := op.call(ctx, s); !errors.Is(err, context.Canceled) {
				t.Errorf("%s: %v, want context.Canceled", op.name, err)
			}
		}
		if n := fake.callCount(); n != 0 {
			t.Errorf("keyring called %d times with a cancelled context", n)
		}
	})
	t.Run("caller deadline shorter than Timeout", func(t *testing.T) {
		hang := newHangingKeyring(t)
		s := newKeyringStore(KeyringOptions{Service: "camctl-test", Timeout: time.Hour, Getenv: busEnv}, hang)
		ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
		defer cancel()
		_, err := s.Get(ctx, "k")
		if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, ErrUnavailable) {
			t.Fatalf("Get past the caller's deadline: %v, want context.DeadlineExceeded", err)
		}
	})
}

func TestKeyringErrors(t *testing.T) {
	unlock := errors.New("failed to unlock correct collection '/org/freedesktop/secrets/aliases/default'")
	noService := errors.New("The name org.freedesktop.secrets was not provided by any .service files")
	tests := []struct {
		name      string
		failOp    string // only this operation of the backend fails
		err       error
		op        string
		wantIs    error // nil: op succeeds
		wantInMsg string
	}{
		{"missing item on Get", "get", keyring.ErrNotFound, "Get", ErrNotFound, ""},
		{"missing item on Delete", "delete", keyring.ErrNotFound, "Delete", nil, ""},
		{"locked collection on Get", "get", unlock, "Get", ErrUnavailable, unlock.Error()},
		{"locked collection on Set", "set", unlock, "Set", ErrUnavailable, unlock.Error()},
		{"locked collection on Delete", "get", unlock, "Delete", ErrUnavailable, unlock.Error()},
		{"no secret service", "get", noService, "Get", ErrUnavailable, noService.Error()},
		{"data too big", "set", keyring.ErrSetDataTooBig, "Set", keyring.ErrSetDataTooBig, "too big"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := newFakeKeyring()
			fake.fail = func(op, _ string) error {
				if op == tt.failOp {
					return tt.err
				}
				return nil
			}
			s := newKeyringStore(KeyringOptions{Service: "camctl-test", Getenv: busEnv}, fake)
			var err error
			for _, op := range storeOps {
				if op.name == tt.op {
					err = op.call(t.Context(), s)
				}
			}
			if tt.wantIs == nil {
				if err != nil {
					t.Fatalf("%s: %v, want success", tt.op, err)
				}
				return
			}
			if !errors.Is(err, tt.wantIs) {
				t.Fatalf("%s: %v, want it to wrap %v", tt.op, err, tt.wantIs)
			}
			if !strings.Contains(err.Error(), tt.wantInMsg) {
				t.Errorf("error %q does not keep the keyring's message %q", err, tt.wantInMsg)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error %q contains the secret", err)
			}
		})
	}
}

// The chunking layer never passes an oversized item down; the keyring layer
// refuses one anyway instead of leaving it to each platform.
func TestKeyringItemLimit(t *testing.T) {
	fake := newFakeKeyring()
	raw := newKeyringStore(KeyringOptions{Service: "camctl-test", Getenv: busEnv}, fake).(*chunkedStore).raw
	if err := raw.Set(t.Context(), "k", secretOfSize(MaxItemSize+1)); err == nil {
		t.Fatal("raw keyring Set of MaxItemSize+1 bytes succeeded")
	}
	if n := fake.callCount(); n != 0 {
		t.Errorf("backend was called %d times, want 0", n)
	}
}

func TestKeyringStoreDefaults(t *testing.T) {
	k := newKeyringStore(KeyringOptions{}, newFakeKeyring()).(*chunkedStore).raw.(*keyringItems)
	if k.opts.Service != "camctl" || k.opts.Timeout != 3*time.Second || k.opts.Getenv == nil {
		t.Errorf("defaults: service %q, timeout %v, getenv set %v", k.opts.Service, k.opts.Timeout, k.opts.Getenv != nil)
	}
	if got := k.Kind(); got != "keyring" {
		t.Errorf("Kind() = %q", got)
	}
}
