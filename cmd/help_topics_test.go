package cmd

import (
	"strconv"
	"strings"
	"testing"

	"github.com/camctl/camctl/internal/config"
)

// Every variable camctl reads is documented by `camctl help environment`
// (the resolver tests show each is honoured), and every exit code by
// `camctl help exit-codes`: both are generated from the tables the code
// uses.
func TestHelpTopicsDocumentTheTables(t *testing.T) {
	f, _, out, errOut := testFactory(t, nil)
	if code := run(t, f, "help", "environment"); code != 0 {
		t.Fatalf("help environment: exit %d: %s", code, errOut)
	}
	env := out.String()
	var names []string
	for _, fld := range config.Fields {
		names = append(names, fld.Env...)
	}
	for _, v := range camctlVariables {
		names = append(names, v.Name)
	}
	for _, n := range append(names, "CAMCTL_PROFILE", "CAMCTL_CONFIG", "CAMCTL_CACHE_DIR", "CAMCTL_KEYRING", "NO_COLOR") {
		if !strings.Contains(env, n) {
			t.Errorf("help environment does not mention %s", n)
		}
	}

	f, _, out, errOut = testFactory(t, nil)
	if code := run(t, f, "help", "exit-codes"); code != 0 {
		t.Fatalf("help exit-codes: exit %d: %s", code, errOut)
	}
	for _, c := range []int{ExitOK, ExitError, ExitUsage, ExitAuth, ExitUnreachable, ExitServer, ExitWaitTimeout} {
		if !strings.Contains(out.String(), "\n"+strconv.Itoa(c)+" ") && !strings.HasPrefix(out.String(), strconv.Itoa(c)+" ") {
			t.Errorf("help exit-codes does not list %d:\n%s", c, out)
		}
	}
}

// The README's exit-code table is the one `camctl help exit-codes` prints.
func TestREADMEExitCodesMatchHelp(t *testing.T) {
	readme := readmeText(t)
	section := readme[strings.Index(readme, "## Exit codes"):]
	for _, e := range exitCodes {
		row := "| " + strconv.Itoa(e.Code) + " | " + e.Meaning + " |"
		if !strings.Contains(section, row) {
			t.Errorf("README.md lacks the exit-code row %q", row)
		}
	}
}
