package cmd

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"

	"github.com/camctl/camctl/internal/redact"
)

// IOStreams carries the three streams and what is known about them. All
// output goes through it, never through os.Stdout or cobra's Print.
//
// Out and ErrOut make everything written to them terminal-safe and
// redact every secret and token of the run (spec §8): messages, hints,
// warnings, prompts, --debug lines and human views need nothing else.
// Only data that must stay byte-exact and has been checked (the token
// that `camctl token` prints) goes to DataOut.
type IOStreams struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer
	// Redactor knows the run's secrets; they are registered where they
	// are obtained (auth.Secrets, login's stdin and prompts, the oidc
	// provider), never at a print.
	Redactor *redact.Redactor

	dataOut                        io.Writer
	errRaw                         io.Writer
	out                            *redact.Writer
	inFd                           int
	stdinTTY, stdoutTTY, stderrTTY bool
}

func newIOStreams(in io.Reader, out, errOut io.Writer) *IOStreams {
	r := redact.New()
	o := redact.NewWriter(out, r)
	return &IOStreams{In: in, Out: o, ErrOut: redact.NewWriter(errOut, r), Redactor: r, dataOut: out, errRaw: errOut, out: o, inFd: -1}
}

// SystemIO returns the process's streams.
func SystemIO() *IOStreams {
	isTTY := func(f *os.File) bool { return term.IsTerminal(int(f.Fd())) }
	s := newIOStreams(os.Stdin, os.Stdout, os.Stderr)
	s.inFd = int(os.Stdin.Fd())
	s.stdinTTY, s.stdoutTTY, s.stderrTTY = isTTY(os.Stdin), isTTY(os.Stdout), isTTY(os.Stderr)
	return s
}

// TestIO returns streams backed by buffers, none of them a terminal.
func TestIO() (io *IOStreams, in, out, errOut *bytes.Buffer) {
	in, out, errOut = &bytes.Buffer{}, &bytes.Buffer{}, &bytes.Buffer{}
	return newIOStreams(in, out, errOut), in, out, errOut
}

// RawErrOut is stderr without filter or redactor: only for the stderr of
// a child process (camctl exec), whose output is not camctl's to change.
func (s *IOStreams) RawErrOut() io.Writer {
	if s.errRaw == nil {
		return s.ErrOut
	}
	return s.errRaw
}

// DataOut is stdout without filter or redactor, for data that must be
// byte-exact: a token `camctl token` checked (auth.CheckAccessToken)
// before printing it. Anything else goes to Out.
func (s *IOStreams) DataOut() io.Writer {
	if s.dataOut == nil {
		return s.Out
	}
	return s.dataOut
}

// SetTTY marks the streams as terminals (tests of interactive paths).
func (s *IOStreams) SetTTY(stdin, stdout, stderr bool) {
	s.stdinTTY, s.stdoutTTY, s.stderrTTY = stdin, stdout, stderr
}

// IsStdoutTTY reports whether stdout is a terminal.
func (s *IOStreams) IsStdoutTTY() bool { return s.stdoutTTY }

// CanPrompt reports whether camctl may ask the user: prompts are read
// from a terminal on stdin and written to stderr, so stdout can be piped.
func (s *IOStreams) CanPrompt() bool { return s.stdinTTY && s.stderrTTY }

// Prompt asks for one line of visible input.
func (s *IOStreams) Prompt(ctx context.Context, label string) (string, error) {
	fmt.Fprint(s.ErrOut, label)
	return readCancellable(ctx, func() (string, error) {
		line, err := bufio.NewReader(s.In).ReadString('\n')
		if err != nil && (err != io.EOF || line == "") {
			return "", err
		}
		return strings.TrimRight(line, "\r\n"), nil
	}, func() { fmt.Fprintln(s.ErrOut) })
}

// PromptSecret asks for a secret without echoing it. Echo goes off before
// the prompt is shown, so a secret typed or pasted the instant the prompt
// appears is not echoed either. Ctrl-C cancels ctx (camctl handles SIGINT
// itself); the terminal is then put back before returning, or the shell
// would be left without echo.
func (s *IOStreams) PromptSecret(ctx context.Context, label string) (string, error) {
	if s.inFd < 0 {
		return "", fmt.Errorf("no terminal to read the secret from")
	}
	read, restore, err := hiddenInput(s.inFd)
	if err != nil {
		return "", fmt.Errorf("read secret: %w", err)
	}
	defer restore()
	fmt.Fprint(s.ErrOut, label)
	defer fmt.Fprintln(s.ErrOut)
	return readCancellable(ctx, read, func() {})
}

// readCancellable runs a blocking read and returns early when ctx ends.
// The read goroutine is left behind; the process is about to exit.
func readCancellable(ctx context.Context, read func() (string, error), onCancel func()) (string, error) {
	type result struct {
		v   string
		err error
	}
	ch := make(chan result, 1)
	go func() {
		v, err := read()
		ch <- result{v, err}
	}()
	select {
	case r := <-ch:
		return r.v, r.err
	case <-ctx.Done():
		onCancel()
		return "", ctx.Err()
	}
}

// ColorScheme paints only when enabled.
type ColorScheme struct{ enabled bool }

// sgrCodes are the escape sequences ColorScheme writes: with colour on,
// the stdout filter keeps exactly these. Renderers make outside text
// terminal-safe before painting it, so it cannot bring them in.
func sgrCodes() []string {
	return []string{"\x1b[0m", "\x1b[1m", "\x1b[2m", "\x1b[31m", "\x1b[32m", "\x1b[33m"}
}

// keepColor lets camctl's own colour codes through the stdout filter.
func (s *IOStreams) keepColor(on bool) {
	if s.out == nil {
		return
	}
	if on {
		s.out.Keep(sgrCodes())
	} else {
		s.out.Keep(nil)
	}
}

func (c ColorScheme) paint(code, s string) string {
	if !c.enabled {
		return s
	}
	return "\x1b[" + code + "m" + s + "\x1b[0m"
}

// Red, Green, Yellow, Bold and Dim style s when colour is on.
func (c ColorScheme) Red(s string) string    { return c.paint("31", s) }
func (c ColorScheme) Green(s string) string  { return c.paint("32", s) }
func (c ColorScheme) Yellow(s string) string { return c.paint("33", s) }
func (c ColorScheme) Bold(s string) string   { return c.paint("1", s) }
func (c ColorScheme) Dim(s string) string    { return c.paint("2", s) }
