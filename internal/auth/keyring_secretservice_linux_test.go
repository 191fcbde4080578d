package auth

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/camctl/camctl/internal/testutil/secretservicetest"
)

// These tests talk to a real gnome-keyring Secret Service on a private
// session bus (see internal/testutil/secretservicetest); the developer's own bus
// and keyring are never touched.
const testService = "camctl-test-secretservice"

func TestSecretServiceRoundTrip(t *testing.T) {
	if secretservicetest.Inside() {
		secretServiceRoundTrip(t)
		return
	}
	secretservicetest.Run(t, "TestSecretServiceRoundTrip", secretservicetest.Unlock)
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
	if secretservicetest.Inside() {
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
		secretservicetest.Run(t, "TestSecretServiceUnavailable", "")
	})
	t.Run("absent: no Secret Service on the bus", func(t *testing.T) {
		conf := filepath.Join(t.TempDir(), "session.conf")
		if err := os.WriteFile(conf, []byte(noServices), 0o600); err != nil {
			t.Fatal(err)
		}
		secretservicetest.Run(t, "TestSecretServiceUnavailable", "", "--config-file="+conf)
	})
}
