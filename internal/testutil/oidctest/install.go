package oidctest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gofrs/flock"

	"github.com/camctl/camctl/internal/testutil/testneed"
)

// needNode is what the provider needs from the machine. oidc-provider 9
// runs on Node.js 20.19 and newer.
func needNode() testneed.Need {
	return testneed.Need{What: "Node.js 20.19+", Install: "apt-get install nodejs npm", For: "the test identity provider"}
}

// needPackages is what the provider needs when its npm packages are not
// installed yet and npm cannot fetch them.
func needPackages() testneed.Need {
	return testneed.Need{
		What:    "the npm packages of testdata/oidc",
		Install: "network access to the npm registry once, or npm ci --prefix testdata/oidc",
		For:     "the test identity provider",
	}
}

// installed marks a finished install in a cache directory: an install
// cut short (a killed test binary) leaves none and is done again.
const installed = ".camctl-installed"

// prepare finds Node.js and the provider's script in src (testdata/oidc)
// next to its npm packages, installing them into testneed.CacheDir first
// if needed, or ends t (testneed).
func prepare(t testing.TB, src string) (node, script string) {
	t.Helper()
	return prepareIn(t, src, testneed.CacheDir())
}

// prepareIn is prepare with the install cache in root.
func prepareIn(t testing.TB, src, root string) (node, script string) {
	t.Helper()
	node = testneed.Programs(t, needNode(), "node")[0]
	checkNodeVersion(t, node)
	dir, _ := install(t, src, root)
	if dir == src {
		return node, filepath.Join(src, "server.mjs")
	}
	// Node resolves `import 'oidc-provider'` from the directory of the
	// script, so the script runs from a directory whose node_modules is
	// the cached one.
	run := t.TempDir()
	body, err := os.ReadFile(filepath.Join(src, "server.mjs"))
	if err != nil {
		t.Fatalf("oidctest: read the provider's script: %v", err)
	}
	if err := os.WriteFile(filepath.Join(run, "server.mjs"), body, 0o600); err != nil {
		t.Fatalf("oidctest: copy the provider's script: %v", err)
	}
	if err := os.Symlink(filepath.Join(dir, "node_modules"), filepath.Join(run, "node_modules")); err != nil {
		t.Fatalf("oidctest: link the provider's packages: %v", err)
	}
	return node, filepath.Join(run, "server.mjs")
}

// checkNodeVersion ends t when node is older than oidc-provider allows:
// its failure would otherwise be a stack trace from inside the package.
func checkNodeVersion(t testing.TB, node string) {
	t.Helper()
	out, err := exec.Command(node, "--version").Output()
	if err != nil {
		testneed.Missing(t, needNode(), fmt.Sprintf("%s --version: %v", node, err))
	}
	v := strings.TrimSpace(string(out))
	parts := strings.SplitN(strings.TrimPrefix(v, "v"), ".", 3)
	major, err1 := strconv.Atoi(parts[0])
	minor, err2 := 0, error(nil)
	if len(parts) > 1 {
		minor, err2 = strconv.Atoi(parts[1])
	}
	if err1 != nil || err2 != nil {
		testneed.Missing(t, needNode(), fmt.Sprintf("%s says its version is %q", node, v))
	}
	if major < 20 || major == 20 && minor < 19 {
		testneed.Missing(t, needNode(), "found "+v)
	}
}

// install returns a directory with src's package.json and the npm
// packages its package-lock.json pins: src itself when someone ran npm ci
// there (which also works offline), else root/oidc-HASH, where HASH is of
// the lock file, installed now if it is not there yet. A lock file beside
// it lets parallel test binaries (go test ./... runs several) install it
// once: the others wait and find it done. ran reports whether this call
// ran npm.
func install(t testing.TB, src, root string) (dir string, ran bool) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(src, "node_modules", "oidc-provider", "package.json")); err == nil {
		return src, false
	}
	manifest, err := os.ReadFile(filepath.Join(src, "package.json"))
	if err != nil {
		t.Fatalf("oidctest: %v", err)
	}
	lock, err := os.ReadFile(filepath.Join(src, "package-lock.json"))
	if err != nil {
		t.Fatalf("oidctest: %v", err)
	}
	sum := sha256.Sum256(append(append(manifest, 0), lock...))
	dir = filepath.Join(root, "oidc-"+hex.EncodeToString(sum[:8]))
	if _, err := os.Stat(filepath.Join(dir, installed)); err == nil {
		return dir, false
	}
	npm := testneed.Programs(t, needNode(), "npm")[0]
	if err := os.MkdirAll(root, 0o700); err != nil {
		t.Fatalf("oidctest: the install cache: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	fl := flock.New(dir + ".lock")
	if ok, err := fl.TryLockContext(ctx, 50*time.Millisecond); err != nil || !ok {
		t.Fatalf("oidctest: lock %s.lock (another test binary installing for 5 min?): %v", dir, err)
	}
	defer func() { _ = fl.Unlock() }()
	if _, err := os.Stat(filepath.Join(dir, installed)); err == nil {
		return dir, false // another test binary installed it while this one waited
	}
	if err := os.RemoveAll(dir); err != nil {
		t.Fatalf("oidctest: remove a cut-short install: %v", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatalf("oidctest: %v", err)
	}
	for name, body := range map[string][]byte{"package.json": manifest, "package-lock.json": lock} {
		if err := os.WriteFile(filepath.Join(dir, name), body, 0o600); err != nil {
			t.Fatalf("oidctest: %v", err)
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
		testneed.Missing(t, needPackages(), fmt.Sprintf("npm ci in %s: %v: %s", dir, err, npmError(out)))
	}
	if err := os.WriteFile(filepath.Join(dir, installed), nil, 0o600); err != nil {
		t.Fatalf("oidctest: %v", err)
	}
	t.Logf("oidctest: installed the provider's npm packages into %s (%v)", dir, time.Since(start).Round(time.Millisecond))
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

// Require ends t as Start would when the provider cannot run on this
// machine (testneed), installing its packages if needed. A test that
// starts providers later, in its subtests, calls it first, so that it
// skips once and not in every subtest.
func Require(t testing.TB) {
	t.Helper()
	prepare(t, serverDir())
}
