//go:build linux

package cmd

import (
	"os"
	"strings"
	"testing"
)

// Ctrl-C at the terminal reaches the child once: the terminal sends it to
// the whole foreground group, so camctl does not send a second copy (a
// worker that shuts down gracefully on the first would stop at once on
// the second). camctl waits for the child and exits with its status.
func TestExecCtrlCReachesChildOnce(t *testing.T) {
	dir := t.TempDir()
	// Only the child counts: env sets the variable for it alone.
	s := startPTY(t, []string{"HOME=" + dir, "CAMCTL_CONFIG=" + dir + "/config.yaml", "CAMCTL_KEYRING=none"},
		"exec", "--", "env", "CAMCTL_TEST_SIGCOUNT=1", os.Args[0])
	s.expect("child ready")
	s.send("\x03")
	s.expect("SIGINT")
	if code := s.wait(); code != 0 {
		t.Errorf("exit %d, want the child's 0; terminal:\n%s", code, s.output())
	}
	if !strings.Contains(s.output(), "child got 1 SIGINT") {
		t.Errorf("terminal:\n%s", s.output())
	}
	if strings.Contains(s.output(), "Interrupted") {
		t.Errorf("camctl gave up before its child:\n%s", s.output())
	}
}
