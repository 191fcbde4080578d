// Package cmd is camctl's command layer: flags, wiring and rendering.
// Behaviour lives in internal/; each command here is an options struct, a
// NewCmdX constructor and a runX function.
package cmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/camctl/camctl/internal/config"
)

// Main runs camctl and returns its exit code.
func Main() int {
	// Ctrl-C and SIGTERM cancel the context instead of killing the
	// process, so prompts restore the terminal and nothing is half-stored.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	f := NewFactory()
	// net/http logs a server's misbehaviour (bytes after an answer on an
	// idle connection: "Unsolicited response ... starting with ...")
	// through the standard logger, with the server's bytes in it, which
	// can hold an echoed token: that goes through the redactor and the
	// terminal-safe filter like everything else.
	log.SetOutput(f.IO.ErrOut)
	log.SetFlags(0)
	log.SetPrefix("camctl: ")
	done := make(chan struct{})
	// Runs before stop (defers run last first), so that the watchdog
	// below sees the end of the run, not the cancellation stop causes.
	defer close(done)
	go watchdog(ctx, stop, done, quietWhile(f.Forwarding, f.IO.ErrOut), func(code int) {
		// camctl exec passes the signals to its child and waits for it:
		// the child decides when the run ends.
		if !f.Forwarding() {
			os.Exit(code)
		}
	})
	return Run(ctx, f, os.Args[1:])
}

// interruptGrace is how long a cancelled command may take to wind down
// (restore the terminal, finish an atomic write) before the process ends
// anyway. Spec §8 wants any command gone within a second of SIGTERM or
// Ctrl-C, and not every piece of work can watch the context: a render of
// a large answer, a read of a pipe that never ends.
const interruptGrace = 500 * time.Millisecond

// watchdog waits for the first signal. From then on the next one gets the
// default behaviour (a user who presses Ctrl-C twice wants camctl gone),
// and if the run has not ended after interruptGrace, exit ends it with the
// code a cancelled run returns. Nothing is left half-stored that a
// SIGKILL could not leave too: writes are atomic, and the next write
// removes a dead writer's temporary file.
func watchdog(ctx context.Context, stop func(), done <-chan struct{}, stderr io.Writer, exit func(int)) {
	select {
	case <-done:
		return
	case <-ctx.Done():
	}
	stop()
	t := time.NewTimer(interruptGrace)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		fmt.Fprintln(stderr, "Interrupted.")
		exit(ExitError)
	}
}

// quietWhile drops what is written to w while hold says so.
func quietWhile(hold func() bool, w io.Writer) io.Writer {
	return writerFunc(func(p []byte) (int, error) {
		if hold() {
			return len(p), nil
		}
		return w.Write(p)
	})
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// Run executes the command line args with f and returns the exit code.
func Run(ctx context.Context, f *Factory, args []string) int {
	root := NewCmdRoot(f)
	root.SetArgs(args)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return ExitOK
	}
	var childExit *ChildExitError
	if errors.As(err, &childExit) {
		// camctl exec: the command's own status, and nothing to add.
		return childExit.Code
	}
	var flagErr *FlagError
	if !errors.As(err, &flagErr) && isCobraUsageError(err) {
		err = &FlagError{Err: err}
	}
	printError(f.IO.ErrOut, err)
	if errors.As(err, &flagErr) && cmd != nil {
		fmt.Fprintf(f.IO.ErrOut, "Run '%s --help' for usage.\n", cmd.CommandPath())
	}
	return ExitCode(err)
}

// cobra reports unknown commands and wrong argument counts as plain errors.
func isCobraUsageError(err error) bool {
	msg := err.Error()
	for _, p := range []string{"unknown command", "unknown flag", "unknown shorthand flag", "accepts ", "requires at least", "requires at most", "invalid argument", "flag needs an argument"} {
		if strings.HasPrefix(msg, p) {
			return true
		}
	}
	return false
}

// NewCmdRoot builds the command tree. It is built afresh for every run
// (and every test), so no flag state leaks between executions.
func NewCmdRoot(f *Factory) *cobra.Command {
	g := f.Global
	root := &cobra.Command{
		Use:   "camctl",
		Short: "Command-line client for the Camunda 8 Orchestration Cluster REST API",
		Long: `camctl talks to the Camunda 8 Orchestration Cluster REST API (v2).

With no set-up it uses the built-in "local" profile: a Camunda 8 Run on
http://localhost:8080 without authentication. Named profiles hold other
clusters; CAMUNDA_* environment variables work as in Camunda's SDKs.`,
		Version:       f.Build.Version,
		SilenceErrors: true,
		SilenceUsage:  true,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			switch g.Output {
			case "", OutputText:
			case OutputJSON, OutputYAML:
				// stdout must then be exactly one document; a command
				// without data would print none.
				if why := cmd.Annotations[noOutputFormat]; why != "" {
					return flagErrorf("-o %s does not apply to %s: %s", g.Output, cmd.CommandPath(), why)
				}
				if cmd.Annotations[dataOutput] == "" && cmd.Name() != cobra.ShellCompRequestCmd && cmd.Name() != cobra.ShellCompNoDescRequestCmd {
					return flagErrorf("%s prints no data, so -o %s does not apply to it", cmd.CommandPath(), g.Output)
				}
			default:
				return flagErrorf("invalid output format %q: use text, json or yaml", g.Output)
			}
			if g.Timeout <= 0 {
				return flagErrorf("invalid --timeout %s: it must be positive", g.Timeout)
			}
			return nil
		},
	}
	root.SetIn(f.IO.In)
	root.SetOut(f.IO.Out)
	root.SetErr(f.IO.ErrOut)
	root.SetVersionTemplate(f.Build.String() + "\n")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		if e := stdinFlagError(err); e != nil {
			return &FlagError{Err: e}
		}
		if hint := secretFlagHint(err); hint != "" {
			return &FlagError{Err: fmt.Errorf("%w: %s", err, hint)}
		}
		return &FlagError{Err: err}
	})

	pf := root.PersistentFlags()
	pf.StringVarP(&g.Profile, "profile", "p", "", "profile to use (default: $CAMCTL_PROFILE, else the CAMUNDA_* environment if set, else the current profile)")
	pf.StringVar(&g.ConfigPath, "config", "", "config file (default: $CAMCTL_CONFIG, else $XDG_CONFIG_HOME/camctl/config.yaml, else ~/.config/camctl/config.yaml)")
	pf.StringVarP(&g.Output, "output", "o", "", "output format: text, json or yaml")
	pf.DurationVar(&g.Timeout, "timeout", 30*time.Second, "timeout of each HTTP request")
	pf.BoolVar(&g.Debug, "debug", false, "log HTTP requests to stderr (credentials redacted)")
	pf.BoolVar(&g.NoColor, "no-color", false, "disable colour (also: NO_COLOR)")
	_ = root.RegisterFlagCompletionFunc("profile", f.completeProfiles)
	_ = root.RegisterFlagCompletionFunc("output", cobra.FixedCompletions([]cobra.Completion{OutputText, OutputJSON, OutputYAML}, cobra.ShellCompDirectiveNoFileComp))

	root.AddCommand(
		withDataOutput(NewCmdTopology(f, nil)),
		withDataOutput(NewCmdToken(f, nil)),
		NewCmdAPI(f, nil),
		withDataOutput(NewCmdStatus(f, nil)),
		NewCmdExec(f, nil),
		NewCmdLogin(f, nil),
		NewCmdLogout(f, nil),
		NewCmdProfile(f),
		withDataOutput(NewCmdVersion(f)),
		newCmdDocs(f),
	)
	addHelpTopics(root)
	completeHelpTopics(root)
	return root
}

// completeHelpTopics makes `camctl help <TAB>` offer the help topics
// (environment, exit-codes) beside the commands: cobra's help command
// completes only commands that run something.
func completeHelpTopics(root *cobra.Command) {
	root.InitDefaultHelpCmd() // idempotent: cobra calls it again on Execute
	help, _, err := root.Find([]string{"help"})
	if err != nil || help == root || help.ValidArgsFunction == nil {
		return
	}
	commands := help.ValidArgsFunction
	help.ValidArgsFunction = func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		completions, directive := commands(cmd, args, toComplete)
		if len(args) > 0 {
			return completions, directive // topics exist at the top level only
		}
		for _, c := range root.Commands() {
			if c.IsAdditionalHelpTopicCommand() && strings.HasPrefix(c.Name(), toComplete) {
				completions = append(completions, cobra.CompletionWithDesc(c.Name(), c.Short))
			}
		}
		return completions, directive
	}
}

// Colors returns the colour scheme for stdout: only on a terminal, never
// with NO_COLOR or --no-color.
func (f *Factory) Colors() ColorScheme {
	// no-color.org: present and not empty.
	noColor := f.Getenv(config.EnvNoColor) != ""
	cs := ColorScheme{enabled: f.IO.IsStdoutTTY() && !noColor && !f.Global.NoColor}
	f.IO.keepColor(cs.enabled)
	return cs
}

// completeProfiles offers profile names. It runs inside cobra's hidden
// __complete command, so it must never prompt or print.
func (f *Factory) completeProfiles(cmd *cobra.Command, _ []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
	path, err := f.ConfigPath()
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	// config.Load, not f.LoadConfig: no warnings in the middle of a
	// completion.
	file, err := config.Load(path)
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	names := file.Names()
	if _, ok := file.Profiles[config.BuiltinLocalName]; !ok {
		names = append(names, config.BuiltinLocalName)
	}
	return names, cobra.ShellCompDirectiveNoFileComp
}

// NewCmdVersion prints the version, like --version.
func NewCmdVersion(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version of camctl",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			switch f.Global.Output {
			case OutputJSON, OutputYAML:
				return writeData(f.IO.Out, f.Global.Output, f.Build)
			}
			fmt.Fprintln(f.IO.Out, f.Build.String())
			return nil
		},
	}
}

// secretFlagHint answers a user who tries to pass a secret as a flag
// (--password, --client-secret=...) with where secrets go instead; the
// usual wall of usage would not say it.
func secretFlagHint(err error) string {
	name, ok := strings.CutPrefix(err.Error(), "unknown flag: --")
	if !ok {
		return ""
	}
	name, _, _ = strings.Cut(name, "=")
	const why = "camctl takes no secret on the command line, where other users of the machine can read it"
	// Whole names only: a typo such as --token-urll is no secret.
	switch name {
	case "keystore-password", "keystore-secret", "keystore-pass":
		return why + "; login asks for the keystore password, or set CAMUNDA_SSL_CLIENT_KEYSTORE_SECRET"
	case "passphrase", "key-passphrase", "key-password":
		return why + "; login asks for the key passphrase, or set CAMUNDA_MTLS_KEY_PASSPHRASE"
	case "password", "pass", "pw", "basic-password":
		return why + "; use --password-stdin, or set CAMUNDA_BASIC_AUTH_PASSWORD"
	case "secret", "client-secret", "oauth-secret":
		return why + "; use --client-secret-stdin, or set CAMUNDA_CLIENT_SECRET"
	case "token", "access-token", "bearer-token", "bearer":
		return why + "; use --token-stdin, or set CAMUNDA_OAUTH_TOKEN"
	}
	return ""
}
