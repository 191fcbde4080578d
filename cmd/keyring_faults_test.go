package cmd

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zalando/go-keyring"

	"github.com/camctl/camctl/internal/auth"
	"github.com/camctl/camctl/internal/config"
)

// faultyKeyring is an OS keyring backend that fails in a chosen way. Its
// items map is the keyring's content; get overrides reads.
type faultyKeyring struct {
	mu      sync.Mutex
	items   map[string]string
	get     func(user string) (string, error) // nil: read items
	release chan struct{}
}

func (k *faultyKeyring) Get(_, user string) (string, error) {
	if k.get != nil {
		return k.get(user)
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	v, ok := k.items[user]
	if !ok {
		return "", keyring.ErrNotFound
	}
	return v, nil
}

func (k *faultyKeyring) Set(_, user, v string) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.items[user] = v
	return nil
}

func (k *faultyKeyring) Delete(_, user string) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	delete(k.items, user)
	return nil
}

// hang blocks like a keyring waiting for an unlock prompt nobody answers.
func (k *faultyKeyring) hang(string) (string, error) {
	<-k.release
	return "", errors.New("released")
}

// Keyring faults as `camctl topology` meets them for a basic-auth profile
// whose password is stored: each ends within the keyring timeout with an
// exit code of spec §7 and a message that says what to do, sends no API
// request without credentials, and leaves the config file byte for byte
// as it was.
func TestKeyringFaults(t *testing.T) {
	const timeout = 100 * time.Millisecond
	// The password item is keyed by the profile's id, which profile add
	// gives it; the tests write it before their keyring function runs.
	var pwKey string
	tests := []struct {
		name     string
		mode     auth.KeyringMode
		keyring  func(k *faultyKeyring)
		wantExit int
		want     []string
	}{
		{
			name: "unavailable",
			mode: auth.KeyringAuto,
			keyring: func(k *faultyKeyring) {
				k.get = func(string) (string, error) {
					return "", errors.New("The name org.freedesktop.secrets was not provided by any .service files")
				}
			},
			wantExit: ExitAuth,
			want:     []string{"no password for profile prod: run `camctl login -p prod`", "The OS keyring could not be asked, so it may hold one", "org.freedesktop.secrets was not provided", "CAMCTL_KEYRING=none"},
		},
		{
			name: "locked",
			mode: auth.KeyringAuto,
			keyring: func(k *faultyKeyring) {
				k.get = func(string) (string, error) {
					return "", errors.New("failed to unlock correct collection '/org/freedesktop/secrets/aliases/default'")
				}
			},
			wantExit: ExitAuth,
			want:     []string{"no password for profile prod", "failed to unlock correct collection"},
		},
		{
			name: "locked, CAMCTL_KEYRING=system",
			mode: auth.KeyringSystem,
			keyring: func(k *faultyKeyring) {
				k.get = func(string) (string, error) {
					return "", errors.New("failed to unlock correct collection '/org/freedesktop/secrets/aliases/default'")
				}
			},
			wantExit: ExitAuth,
			want:     []string{"read password of profile prod from the OS keyring (CAMCTL_KEYRING=system)", "failed to unlock correct collection", "Unlock the OS keyring"},
		},
		{
			name:     "hanging",
			mode:     auth.KeyringAuto,
			keyring:  func(k *faultyKeyring) { k.get = k.hang },
			wantExit: ExitAuth,
			want:     []string{"no password for profile prod", "the OS keyring did not answer within 100ms"},
		},
		{
			name: "garbage: a chunk marker whose parts are missing",
			mode: auth.KeyringAuto,
			keyring: func(k *faultyKeyring) {
				k.items[pwKey] = "camctl:chunked:v1:3:0123456789abcdef"
			},
			wantExit: ExitAuth,
			want:     []string{"read password of profile prod from the OS keyring", "is missing", "run `camctl login -p prod` to store it again"},
		},
		{
			name: "garbage: parts that do not match their checksum",
			mode: auth.KeyringAuto,
			keyring: func(k *faultyKeyring) {
				k.items[pwKey] = "camctl:chunked:v1:2:0123456789abcdef"
				k.items[pwKey+"#1"], k.items[pwKey+"#2"] = "s3c", "ret"
			},
			wantExit: ExitAuth,
			want:     []string{"do not match their checksum", "run `camctl login -p prod` to store it again"},
		},
		{
			name: "garbage: an unknown marker format",
			mode: auth.KeyringAuto,
			keyring: func(k *faultyKeyring) {
				k.items[pwKey] = "camctl:chunked:v9:\x00\x01"
			},
			wantExit: ExitAuth,
			// Not "store it again": that would overwrite what a newer
			// camctl stored.
			want: []string{"unknown chunk format (written by a newer camctl?)"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newFakeServer(t)
			srv.fake.RequireBasic("demo", "s3cret")
			f, h, _, _, errOut := newHarness(t, nil)
			if code := run(t, f, "profile", "add", "prod", "--address", srv.URL, "--username", "demo"); code != 0 {
				t.Fatalf("profile add: exit %d: %s", code, errOut)
			}
			before, err := os.ReadFile(h.config)
			if err != nil {
				t.Fatal(err)
			}
			pwKey = "id/" + profileID(t, h.config, "prod") + "/auth.password"
			stored := `{"camctl":1,"bound":["` + srv.URL + `"],"value":"s3cret"}`
			k := &faultyKeyring{items: map[string]string{pwKey: stored}, release: make(chan struct{})}
			t.Cleanup(func() { close(k.release) })
			tt.keyring(k)
			store := auth.NewKeyringStore(auth.KeyringOptions{
				Timeout: timeout, Backend: k,
				Getenv: func(string) string { return "unix:path=/nonexistent" }, // a session bus "exists"
			})
			f.Secrets = func(path string, _ bool) (*auth.Secrets, error) {
				return &auth.Secrets{Mode: tt.mode, Keyring: store, File: auth.NewFailingStore(auth.ErrNotFound), Redactor: f.IO.Redactor}, nil
			}
			errOut.Reset()

			start := time.Now()
			code := run(t, f, "topology")
			elapsed := time.Since(start)

			if code != tt.wantExit {
				t.Errorf("exit %d, want %d: %s", code, tt.wantExit, errOut)
			}
			for _, w := range tt.want {
				if !strings.Contains(errOut.String(), w) {
					t.Errorf("stderr does not say %q:\n%s", w, errOut)
				}
			}
			if strings.Contains(errOut.String(), "s3c") {
				t.Errorf("stderr shows (part of) the secret:\n%s", errOut)
			}
			// One keyring call times out; the store then fails at once.
			if elapsed > timeout+time.Second {
				t.Errorf("took %v with a %v keyring timeout", elapsed, timeout)
			}
			if n := srv.fake.Requests(); n != 0 {
				t.Errorf("%d API requests without credentials", n)
			}
			after, err := os.ReadFile(h.config)
			if err != nil || !bytes.Equal(before, after) {
				t.Errorf("the config file changed:\n%s\n---\n%s (%v)", before, after, err)
			}
		})
	}
}

// A secret deleted from the keyring between login and use (by another
// tool, a keyring reset): the next command says to log in again, exit 3.
func TestKeyringSecretDeletedAfterLogin(t *testing.T) {
	srv := newFakeServer(t)
	srv.fake.RequireBasic("demo", "s3cret")
	f, h, in, _, errOut := newHarness(t, nil)
	fmt.Fprintln(in, "s3cret")
	if code := run(t, f, "login", "-p", "prod", "--address", srv.URL, "--username", "demo", "--password-stdin"); code != 0 {
		t.Fatalf("login: exit %d: %s", code, errOut)
	}
	before, err := os.ReadFile(h.config)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.keyring.Delete(t.Context(), h.itemKey(t, "prod", config.Password)); err != nil {
		t.Fatal(err)
	}
	errOut.Reset()
	if code := run(t, f, "topology", "-p", "prod"); code != ExitAuth {
		t.Errorf("exit %d, want %d", code, ExitAuth)
	}
	if want := "no password for profile prod: run `camctl login -p prod` to store one"; !strings.Contains(errOut.String(), want) {
		t.Errorf("stderr does not say %q:\n%s", want, errOut)
	}
	if n := srv.fake.Requests(); n != 1 {
		t.Errorf("%d API requests, want 1 (login's)", n)
	}
	after, _ := os.ReadFile(h.config)
	if !bytes.Equal(before, after) {
		t.Errorf("the config file changed:\n%s\n---\n%s", before, after)
	}
}
