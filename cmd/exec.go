package cmd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/camctl/camctl/internal/auth"
	"github.com/camctl/camctl/internal/session"
)

// ExecOptions are the inputs of `camctl exec`.
type ExecOptions struct {
	IO      *IOStreams
	Session func() *session.Session
	// Environ is camctl's environment, the base of the child's.
	Environ func() []string
	// Forwarding tells Main's watchdog that a child gets the signals, so
	// a Ctrl-C must not end camctl before its child.
	Forwarding func(on bool)
	Timeout    time.Duration

	NoSecrets bool
	Argv      []string
}

// ChildExitError carries the exit status of the command `camctl exec`
// ran: camctl exits with it and prints nothing.
type ChildExitError struct{ Code int }

func (e *ChildExitError) Error() string {
	return fmt.Sprintf("the command exited with status %d", e.Code)
}

// NewCmdExec builds `camctl exec`.
func NewCmdExec(f *Factory, runF func(context.Context, *ExecOptions) error) *cobra.Command {
	opts := &ExecOptions{IO: f.IO, Session: f.newSession, Environ: f.environ, Forwarding: f.setForwarding}
	cmd := &cobra.Command{
		Use:   "exec [-p NAME] [--no-secrets] -- CMD [ARGS...]",
		Short: "Run a command with the profile in Camunda's SDK variables",
		Long: `Run CMD with the selected profile handed over in the variables that Camunda's
SDKs and c8ctl read: CAMUNDA_REST_ADDRESS, CAMUNDA_AUTH_STRATEGY, CAMUNDA_CLIENT_ID,
CAMUNDA_CLIENT_SECRET, CAMUNDA_OAUTH_URL, CAMUNDA_TOKEN_AUDIENCE, CAMUNDA_BASIC_AUTH_*,
the TLS paths, and CAMUNDA_OAUTH_TOKEN with a fresh access token.

Secrets come from the keyring (or camctl's environment) and go into CMD's
environment only: never into a file, never onto a command line. Signals are
passed on to CMD, and camctl exits with CMD's exit status.

--no-secrets hands over only the address, CAMUNDA_AUTH_STRATEGY=BEARER and a
fresh CAMUNDA_OAUTH_TOKEN: enough for a short task, nothing long-lived.`,
		Example: `  camctl exec -p saas -- java -jar worker.jar
  camctl exec -p helm --no-secrets -- c8ctl list process-instances`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if cmd.ArgsLenAtDash() != 0 {
				return flagErrorf("put -- before the command: camctl exec [flags] -- CMD [ARGS...]")
			}
			opts.Argv, opts.Timeout = args, f.Global.Timeout
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runExec(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.NoSecrets, "no-secrets", false, "hand over only the address and a fresh access token")
	return cmd
}

func runExec(ctx context.Context, opts *ExecOptions) error {
	s := opts.Session()
	r, err := s.Resolve(nil)
	if err != nil {
		return err
	}
	p, d, err := s.ProviderDeps(ctx, r)
	if err != nil {
		return explain(err, r, opts.Timeout.String())
	}
	h, err := auth.HandOver(ctx, r, d, p, opts.NoSecrets)
	if err != nil {
		return explain(err, r, opts.Timeout.String())
	}
	path, err := exec.LookPath(opts.Argv[0])
	if err != nil {
		return &execNotFoundError{name: opts.Argv[0], err: err}
	}
	// #nosec G204 -- running the user's command is what exec is for; no shell is involved.
	child := exec.Command(path, opts.Argv[1:]...)
	child.Args[0] = opts.Argv[0]
	child.Env = childEnv(opts.Environ(), h)
	// The child's streams are camctl's own, unfiltered: its output is
	// its own business, not camctl's messages.
	child.Stdin, child.Stdout, child.Stderr = opts.IO.In, opts.IO.DataOut(), opts.IO.RawErrOut()

	stdin, _ := opts.IO.In.(*os.File)
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, forwardedSignals()...)
	defer signal.Stop(sigs)
	opts.Forwarding(true)
	defer opts.Forwarding(false)
	if err := child.Start(); err != nil {
		return fmt.Errorf("start %s: %w", opts.Argv[0], err)
	}
	done := make(chan error, 1)
	go func() { done <- child.Wait() }()
	for {
		select {
		case sig := <-sigs:
			// The child decides what a signal means; camctl waits for it.
			if !terminalSent(sig, stdin) {
				_ = child.Process.Signal(sig)
			}
		case err := <-done:
			return childStatus(err)
		}
	}
}

// childEnv is camctl's environment without its connection variables,
// plus the handed-over ones.
func childEnv(base []string, h *auth.Handover) []string {
	drop := map[string]bool{}
	for _, n := range h.Unset {
		drop[n] = true
	}
	for n := range h.Set {
		drop[n] = true
	}
	var env []string
	for _, kv := range base {
		name, _, _ := strings.Cut(kv, "=")
		if !drop[name] {
			env = append(env, kv)
		}
	}
	names := make([]string, 0, len(h.Set))
	for n := range h.Set {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		env = append(env, n+"="+h.Set[n])
	}
	return env
}

// childStatus turns the child's end into camctl's exit: its status, or
// 128 + the signal that ended it (as a shell reports it).
func childStatus(err error) error {
	if err == nil {
		return nil
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return &ChildExitError{Code: 128 + int(ws.Signal())}
		}
		return &ChildExitError{Code: ee.ExitCode()}
	}
	return err
}

type execNotFoundError struct {
	name string
	err  error
}

func (e *execNotFoundError) Error() string {
	return fmt.Sprintf("cannot run %s: %v", e.name, e.err)
}

// ExitCode of a command that cannot be found is 127, as in a shell.
func (e *execNotFoundError) exitCode() int { return 127 }
