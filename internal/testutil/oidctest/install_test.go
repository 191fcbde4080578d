package oidctest

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/camctl/camctl/internal/testutil/testneed"
)

// A fresh clone has no testdata/oidc/node_modules: the first Start
// installs the packages package-lock.json pins into a cache named after
// the lock file, later ones reuse it, and the provider runs from there.
func TestInstallOnDemand(t *testing.T) {
	testneed.Programs(t, needNode(), "node", "npm")
	src := t.TempDir()
	for _, name := range []string{"package.json", "package-lock.json", "server.mjs"} {
		body, err := os.ReadFile(filepath.Join(serverDir(), name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(src, name), body, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	root := t.TempDir()
	// Test binaries run in parallel (go test ./...): two that find no
	// install at once must not both run npm ci into the same directory.
	var ran [2]bool
	t.Run("parallel", func(t *testing.T) {
		for i := range ran {
			t.Run("install", func(t *testing.T) {
				t.Parallel()
				_, ran[i] = install(t, src, root)
			})
		}
	})
	if t.Failed() {
		t.FailNow()
	}
	if !ran[0] && !ran[1] {
		t.Skip("skipping: the install skipped (the line above says why)")
	}
	if ran[0] == ran[1] {
		t.Fatalf("npm ran in %v of two parallel installs, want exactly one", ran)
	}
	node, script := prepareIn(t, src, root)
	dirs, _ := filepath.Glob(filepath.Join(root, "oidc-*", installed))
	if len(dirs) != 1 {
		t.Fatalf("the cache holds %q, want one finished oidc-HASH install", dirs)
	}
	dirs[0] = filepath.Dir(dirs[0])
	if _, err := os.Stat(filepath.Join(src, "node_modules")); err == nil {
		t.Error("the install wrote node_modules into the source directory")
	}
	var lock struct {
		Packages map[string]struct{ Version string } `json:"packages"`
	}
	body, err := os.ReadFile(filepath.Join(src, "package-lock.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(body, &lock); err != nil {
		t.Fatal(err)
	}
	var got struct{ Version string }
	body, err = os.ReadFile(filepath.Join(dirs[0], "node_modules", "oidc-provider", "package.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatal(err)
	}
	if want := lock.Packages["node_modules/oidc-provider"].Version; got.Version != want || want == "" {
		t.Errorf("installed oidc-provider %q, the lock file pins %q", got.Version, want)
	}

	marker := filepath.Join(dirs[0], installed)
	before, err := os.Stat(marker)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = prepareIn(t, src, root)
	after, err := os.Stat(marker)
	if err != nil || !after.ModTime().Equal(before.ModTime()) {
		t.Errorf("the second Start installed again (%v)", err)
	}

	idp := start(t, Options{Clients: []Client{{ID: "c", Secret: "s"}}}, node, script)
	if n := idp.TokenRequests(); n != 0 {
		t.Errorf("a new provider counts %d token requests", n)
	}
}
