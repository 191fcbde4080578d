// Package npmcache installs the npm packages a test helper runs under
// Node.js (the test identity provider of oidctest, Prism of prismtest)
// on demand, into testneed.CacheDir, once per lock file, shared by
// parallel test binaries.
package npmcache

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gofrs/flock"

	"github.com/camctl/camctl/internal/testutil/testneed"
)

// Marker marks a finished install in a cache directory: an install cut
// short (a killed test binary) leaves none and is done again.
const Marker = ".camctl-installed"

// Packages is one testdata directory with a package.json and the
// package-lock.json that pins it.
type Packages struct {
	// Src is the directory (testdata/oidc).
	Src string
	// Name prefixes the cache directory: Name-HASH.
	Name string
	// Probe is a package whose package.json in Src/node_modules means
	// someone ran npm ci in Src itself.
	Probe string
	// Node is what ends the test when npm is missing.
	Node testneed.Need
	// Missing is what ends the test when npm cannot install them.
	Missing testneed.Need
}

// Install returns a directory with p.Src's package.json and the npm
// packages its package-lock.json pins: p.Src itself when someone ran npm
// ci there (which also works offline), else root/NAME-HASH, where HASH is
// of the manifest and the lock file, installed now if it is not there
// yet. A lock file beside it lets parallel test binaries (go test ./...
// runs several) install it once: the others wait and find it done. ran
// reports whether this call ran npm.
func Install(t testing.TB, p Packages, root string) (dir string, ran bool) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(p.Src, "node_modules", p.Probe, "package.json")); err == nil {
		return p.Src, false
	}
	manifest, err := os.ReadFile(filepath.Join(p.Src, "package.json"))
	if err != nil {
		t.Fatalf("%s: %v", p.Name, err)
	}
	lock, err := os.ReadFile(filepath.Join(p.Src, "package-lock.json"))
	if err != nil {
		t.Fatalf("%s: %v", p.Name, err)
	}
	sum := sha256.Sum256(append(append(manifest, 0), lock...))
	dir = filepath.Join(root, p.Name+"-"+hex.EncodeToString(sum[:8]))
	if _, err := os.Stat(filepath.Join(dir, Marker)); err == nil {
		return dir, false
	}
	npm := testneed.Programs(t, p.Node, "npm")[0]
	if err := os.MkdirAll(root, 0o700); err != nil {
		t.Fatalf("%s: the install cache: %v", p.Name, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	fl := flock.New(dir + ".lock")
	if ok, err := fl.TryLockContext(ctx, 50*time.Millisecond); err != nil || !ok {
		t.Fatalf("%s: lock %s.lock (another test binary installing for 5 min?): %v", p.Name, dir, err)
	}
	defer func() { _ = fl.Unlock() }()
	if _, err := os.Stat(filepath.Join(dir, Marker)); err == nil {
		return dir, false // another test binary installed it while this one waited
	}
	if err := os.RemoveAll(dir); err != nil {
		t.Fatalf("%s: remove a cut-short install: %v", p.Name, err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatalf("%s: %v", p.Name, err)
	}
	for name, body := range map[string][]byte{"package.json": manifest, "package-lock.json": lock} {
		if err := os.WriteFile(filepath.Join(dir, name), body, 0o600); err != nil {
			t.Fatalf("%s: %v", p.Name, err)
		}
	}
	// --prefer-offline: what npm's own cache has is not fetched again,
	// so a second install works without the network. One quick retry:
	// offline, npm's default retries take 73 s before the test can skip.
	cmd := exec.CommandContext(ctx, npm, "ci", "--prefer-offline", "--no-audit", "--no-fund", "--loglevel=error",
		"--fetch-retries=1", "--fetch-retry-mintimeout=1000", "--fetch-retry-maxtimeout=3000")
	cmd.Dir = dir
	start := time.Now()
	out, err := cmd.CombinedOutput()
	if err != nil {
		testneed.Missing(t, p.Missing, fmt.Sprintf("npm ci in %s: %v: %s", dir, err, npmError(out)))
	}
	if err := os.WriteFile(filepath.Join(dir, Marker), nil, 0o600); err != nil {
		t.Fatalf("%s: %v", p.Name, err)
	}
	t.Logf("%s: installed the npm packages of %s into %s (%v)", p.Name, p.Src, dir, time.Since(start).Round(time.Millisecond))
	return dir, true
}

// npmError is the last line of npm's output that says what went wrong
// ("npm error request to https://registry.npmjs.org/... failed, reason:
// getaddrinfo EAI_AGAIN ..."), not where its log is.
func npmError(out []byte) string {
	last := ""
	for line := range strings.Lines(string(out)) {
		line = strings.TrimSpace(line)
		if line != "" && !strings.Contains(line, "A complete log of this run") {
			last = line
		}
	}
	return last
}
