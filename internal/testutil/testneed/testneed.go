// Package testneed is the one rule for tests that need a program the
// machine may lack (Node.js for the test identity provider, gnome-keyring
// and D-Bus for the Secret Service): on a developer's machine such a test
// skips with one line naming what to install, so that the README's test
// command passes on a fresh clone with only Go; with CI=true the same line
// fails the test, so CI cannot pass by proving less.
package testneed

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
)

// Need is something a test needs from the machine.
type Need struct {
	// What is needed, e.g. "Node.js 20.19+".
	What string
	// Install says how to get it, e.g. "apt-get install nodejs npm".
	Install string
	// For says what the tests use it for, e.g. "the test identity provider".
	For string
}

// Line is the one line a test prints when n is missing, why being what
// was found instead ("" for nothing).
func (n Need) Line(why string) string {
	s := fmt.Sprintf("needs %s (%s) for %s", n.What, n.Install, n.For)
	if why != "" {
		s += ": " + why
	}
	return s
}

// Strict reports whether a missing program fails the test instead of
// skipping it: CI sets CI=true (GitHub Actions, GitLab, .ci/run's
// callers), and there a skip would hide that the run proved less.
func Strict() bool {
	v, err := strconv.ParseBool(os.Getenv("CI"))
	return err == nil && v
}

// Missing ends t because n is missing: t.Skip with "skipping: " and the
// line, or with CI=true t.Fatal with the line.
func Missing(t testing.TB, n Need, why string) {
	t.Helper()
	if Strict() {
		t.Fatal(n.Line(why) + " (CI=true: a test that cannot run fails)")
	}
	t.Skip("skipping: " + n.Line(why))
}

// CacheEnv names the directory where tests keep what they install on
// demand (the test identity provider's npm packages). A test that runs
// another test binary with a HOME of its own passes it on (CacheDir's
// value), so the inner run finds what the outer one installed.
const CacheEnv = "CAMCTL_TEST_CACHE_DIR"

// CacheDir is $CAMCTL_TEST_CACHE_DIR, else camctl-test in the user's
// cache directory (~/.cache/camctl-test on Linux), else in the temporary
// directory.
func CacheDir() string {
	if d := os.Getenv(CacheEnv); d != "" {
		return d
	}
	base, err := os.UserCacheDir()
	if err != nil {
		base = os.TempDir()
	}
	return filepath.Join(base, "camctl-test")
}

// Programs returns the paths of the programs names on PATH, or ends t
// with Missing naming the first one that is not there.
func Programs(t testing.TB, n Need, names ...string) []string {
	t.Helper()
	paths := make([]string, len(names))
	for i, name := range names {
		p, err := exec.LookPath(name)
		if err != nil {
			Missing(t, n, name+" is not on PATH")
		}
		paths[i] = p
	}
	return paths
}
