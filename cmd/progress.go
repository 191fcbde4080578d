package cmd

import (
	"context"
	"errors"
	"fmt"
)

// progress shows on a terminal's stderr that camctl is waiting for
// something: label, then on the same line the result that the returned
// function is given ("ok", "failed", "interrupted"). Without a terminal
// it prints nothing, so logs and pipes see only the outcome.
func (s *IOStreams) progress(label string) func(result string) {
	if !s.stderrTTY {
		return func(string) {}
	}
	fmt.Fprintf(s.ErrOut, "%s ... ", label)
	return func(result string) { fmt.Fprintln(s.ErrOut, result) }
}

// checkResult is the word that ends a progress line for err.
func checkResult(err error) string {
	switch {
	case err == nil:
		return "ok"
	case isCancelled(err):
		return "interrupted"
	}
	return "failed"
}

// isCancelled reports Ctrl-C (or SIGTERM): the run's context ended.
func isCancelled(err error) bool { return errors.Is(err, context.Canceled) }
