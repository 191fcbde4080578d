package oidctest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/camctl/camctl/internal/testutil/npmcache"
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

// installed marks a finished install in a cache directory.
const installed = npmcache.Marker

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
// packages its package-lock.json pins (npmcache.Install): src itself
// after an npm ci there, else root/oidc-HASH. ran reports whether this
// call ran npm.
func install(t testing.TB, src, root string) (dir string, ran bool) {
	t.Helper()
	return npmcache.Install(t, npmcache.Packages{
		Src: src, Name: "oidc", Probe: "oidc-provider", Node: needNode(), Missing: needPackages(),
	}, root)
}

// Require ends t as Start would when the provider cannot run on this
// machine (testneed), installing its packages if needed. A test that
// starts providers later, in its subtests, calls it first, so that it
// skips once and not in every subtest.
func Require(t testing.TB) {
	t.Helper()
	prepare(t, serverDir())
}
