package cmd

import (
	"bytes"
	"context"
	"testing"
)

// The watchdog ends a run that has not wound down within the grace
// period after the first signal, saying so on stderr with exit 1; a run
// that finishes in time is left alone.
func TestWatchdog(t *testing.T) {
	t.Run("run does not end", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		var stderr bytes.Buffer
		exited := make(chan int, 1)
		stopped := false
		cancel()
		watchdog(ctx, func() { stopped = true }, make(chan struct{}), &stderr, func(code int) { exited <- code })
		if code := <-exited; code != ExitError {
			t.Errorf("exit %d, want %d", code, ExitError)
		}
		if !stopped {
			t.Error("the signal handler was not reset: a second Ctrl-C would not kill camctl")
		}
		if stderr.String() != "Interrupted.\n" {
			t.Errorf("stderr = %q", stderr.String())
		}
	})
	t.Run("run ends in time", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		done := make(chan struct{})
		close(done)
		var stderr bytes.Buffer
		watchdog(ctx, func() {}, done, &stderr, func(code int) { t.Errorf("exit(%d) for a run that ended", code) })
		if stderr.Len() != 0 {
			t.Errorf("stderr = %q", stderr.String())
		}
	})
}
