package testneed

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

const child = "CAMCTL_TESTNEED_CHILD"

// What a developer without the program sees (a skip naming what to
// install), and what CI sees (a failure with the same line).
func TestMissing(t *testing.T) {
	n := Need{What: "frobnicator 2+", Install: "apt-get install frob", For: "the frob tests"}
	if os.Getenv(child) == "1" {
		Programs(t, n, "sh", "camctl-no-such-program")
		t.Log("reached after a missing program")
		return
	}
	line := "needs frobnicator 2+ (apt-get install frob) for the frob tests: camctl-no-such-program is not on PATH"
	for _, c := range []struct{ ci, want, line string }{
		{"", "--- SKIP: TestMissing", "skipping: " + line},
		{"false", "--- SKIP: TestMissing", "skipping: " + line},
		{"true", "--- FAIL: TestMissing", line + " (CI=true: a test that cannot run fails)"},
		{"1", "--- FAIL: TestMissing", line},
	} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestMissing$", "-test.v", "-test.count=1")
		cmd.Env = append(os.Environ(), child+"=1", "CI="+c.ci)
		out, err := cmd.CombinedOutput()
		s := string(out)
		if !strings.Contains(s, c.want) || !strings.Contains(s, c.line) || strings.Contains(s, "reached after") {
			t.Errorf("CI=%q: want %q and %q, got (%v):\n%s", c.ci, c.want, c.line, err, s)
		}
		if failed := err != nil; failed != strings.Contains(c.want, "FAIL") {
			t.Errorf("CI=%q: the test binary's error is %v", c.ci, err)
		}
	}
}
