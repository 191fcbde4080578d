package cmd

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/camctl/camctl/internal/config"
)

// The README's table of environment variables names exactly the
// variables camctl reads (config.Fields and camctl's own), so the table a
// user reads cannot drift from `camctl help environment`.
func TestREADMEEnvironmentTable(t *testing.T) {
	readme := readmeText(t)
	start := strings.Index(readme, "## Environment variables")
	end := strings.Index(readme[start+1:], "\n## ")
	if start < 0 || end < 0 {
		t.Fatal("README.md has no section 'Environment variables'")
	}
	var got []string
	for _, m := range regexp.MustCompile("`([A-Z][A-Z0-9_]+)`").FindAllStringSubmatch(readme[start:start+1+end], -1) {
		if strings.Contains(m[1], "_") && !slices.Contains(got, m[1]) {
			got = append(got, m[1])
		}
	}
	var want []string
	for _, f := range config.Fields {
		want = append(want, f.Env...)
	}
	for _, v := range camctlVariables {
		want = append(want, v.Name)
	}
	slices.Sort(got)
	slices.Sort(want)
	for _, n := range want {
		if !slices.Contains(got, n) {
			t.Errorf("README.md's environment table lacks %s", n)
		}
	}
	for _, n := range got {
		if !slices.Contains(want, n) {
			t.Errorf("README.md's environment table names %s, which camctl does not read", n)
		}
	}
}
