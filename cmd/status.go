package cmd

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/camctl/camctl/internal/api"
	"github.com/camctl/camctl/internal/auth"
	"github.com/camctl/camctl/internal/config"
	"github.com/camctl/camctl/internal/session"
	"github.com/camctl/camctl/internal/status"
	"github.com/camctl/camctl/internal/termsafe"
)

// StatusOptions are the inputs of `camctl status`.
type StatusOptions struct {
	IO *IOStreams
	// Session is the connection state of the run.
	Session func() *session.Session
	Colors  func() ColorScheme
	// Output is -o; Timeout is --timeout, named in error hints.
	Output  string
	Timeout time.Duration

	// All checks every profile instead of the selected one.
	All bool
	// Now is the clock of the view's "in 4m59s" (tests replace it).
	Now func() time.Time
}

// NewCmdStatus builds `camctl status`.
func NewCmdStatus(f *Factory, runF func(context.Context, *StatusOptions) error) *cobra.Command {
	opts := &StatusOptions{IO: f.IO, Session: f.newSession, Colors: f.Colors, Now: time.Now}
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Check that a profile is ready: credentials, token, identity, reachability, health",
		Long: `Check that a profile is ready to use, like gh auth status: for the selected
profile (or, with --all, every profile of the config file and the CAMUNDA_*
environment when it is set), one block with the address and where it came
from, the auth method, whether the credential is there and the origin it is
bound to, the token's expiry, whether the cluster answers (GET /v2/status),
who the cluster says you are (GET /v2/authentication/me) and its health, as
the topology's health line says it.

status never prompts and never opens a browser; it fetches a token only when
none is cached. --all checks the profiles in parallel, each request bounded by
--timeout, and reads each file profile as the config file defines it: the
CAMUNDA_* variables make up the environment profile (check a profile with its
secret in a variable with -p NAME).

It exits 0 when every profile checked is ready, else with the code of the
first one that is not, in the order shown: 3 not signed in or credentials
rejected, 4 unreachable, 5 the server failed, 6 not healthy (DEGRADED or
UNAVAILABLE), 2 a configuration problem. -o json prints an array with one
object per profile.`,
		Example: `  camctl status
  camctl status -p prod
  camctl status --all
  camctl status --all -o json | jq '.[] | select(.ready | not) | .profile'`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.All && f.Global.Profile != "" {
				return flagErrorf("--all checks every profile; it cannot be combined with --profile %s", f.Global.Profile)
			}
			opts.Output, opts.Timeout = f.Global.Output, f.Global.Timeout
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runStatus(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.All, "all", false, "check every profile of the config file, and the CAMUNDA_* environment when set")
	return cmd
}

func runStatus(ctx context.Context, opts *StatusOptions) error {
	s := opts.Session()
	checker := &status.Checker{Session: s, Classify: statusFailure(opts.Timeout.String()), Now: opts.Now}
	var reports []*status.Report
	if opts.All {
		targets, err := status.Targets(s)
		if err != nil {
			return err
		}
		if len(targets) == 0 {
			path, _ := s.ConfigPath()
			// A readiness gate that checks nothing must not pass.
			return &config.UsageError{Msg: fmt.Sprintf("no profiles to check: %s defines none and no CAMUNDA_* variables are set; add one with `camctl profile add NAME --address URL`, or run `camctl status` for the built-in local profile", path)}
		}
		reports = checker.CheckAll(ctx, targets)
	} else {
		r, err := s.Resolve(nil)
		if err != nil {
			return err
		}
		reports = []*status.Report{checker.Check(ctx, r)}
	}
	if err := ctx.Err(); err != nil {
		return err // Ctrl-C: the reports would only say so many times
	}

	if opts.Output == OutputJSON || opts.Output == OutputYAML {
		if err := writeData(opts.IO.Out, opts.Output, reports); err != nil {
			return err
		}
	} else {
		// One Write for the whole view: Out filters and redacts per write.
		var buf bytes.Buffer
		renderStatus(&buf, opts.Colors(), reports, opts.Now())
		if _, err := opts.IO.Out.Write(buf.Bytes()); err != nil {
			return err
		}
	}
	return notReady(reports)
}

// notReadyError is a status run that found a profile not ready: the
// reports said why, this says which, and carries the exit code of the
// first (spec §12).
type notReadyError struct {
	code int
	msg  string
}

func (e *notReadyError) Error() string { return e.msg }

func notReady(reports []*status.Report) error {
	var failed []string
	code := ExitOK
	for _, rep := range reports {
		if rep.Ready {
			continue
		}
		if code == ExitOK {
			code = rep.Error.ExitCode
		}
		failed = append(failed, fmt.Sprintf("%s (exit %d)", rep.Profile, rep.Error.ExitCode))
	}
	switch {
	case code == ExitOK:
		return nil
	case len(reports) == 1:
		return &notReadyError{code: code, msg: fmt.Sprintf("profile %s is not ready", reports[0].Profile)}
	}
	return &notReadyError{code: code, msg: fmt.Sprintf("%d of %d profiles not ready: %s", len(failed), len(reports), strings.Join(failed, ", "))}
}

// statusFailure gives a failed check its exit code (spec §7) and its
// message with the next step, as the other commands would print it.
func statusFailure(timeout string) func(error, *config.Resolved) (int, string) {
	return func(err error, r *config.Resolved) (int, string) {
		var unhealthy *status.UnhealthyError
		if errors.As(err, &unhealthy) {
			return ExitWaitTimeout, err.Error()
		}
		if r != nil {
			err = explain(err, r, timeout)
		}
		msg := strings.TrimRight(err.Error(), "\n")
		var h *hintedError
		if errors.As(err, &h) && h.hint != "" {
			msg += "\n" + h.hint
		}
		return ExitCode(err), msg
	}
}

// statusLabel is the width of the labels of a status block.
const statusLabel = 12

// renderStatus writes one block per profile, like gh auth status.
func renderStatus(w io.Writer, cs ColorScheme, reports []*status.Report, now time.Time) {
	for i, rep := range reports {
		if i > 0 {
			fmt.Fprintln(w)
		}
		renderReport(w, cs, rep, now)
	}
}

func renderReport(w io.Writer, cs ColorScheme, rep *status.Report, now time.Time) {
	line := func(label, value string) {
		// Every value may hold outside text (an address, a claim, a
		// server's message): one safe line each, continued under the
		// value column.
		for j, part := range strings.Split(value, "\n") {
			if j > 0 {
				label = ""
			}
			fmt.Fprintf(w, "  %-*s%s\n", statusLabel, label, part)
		}
	}
	title := termsafe.Line(rep.Profile)
	if rep.Kind == config.KindBuiltin {
		title += " (built in)"
	}
	fmt.Fprintln(w, cs.Bold(title))
	if rep.Address != "" {
		line("Address:", termsafe.Line(rep.Address)+" ("+termsafe.Line(rep.AddressSource)+")")
	}
	if rep.Method != "" {
		line("Auth:", describeAuth(rep))
		line("Credential:", describeCredential(rep))
	}
	if t := describeStatusToken(rep, now); t != "" {
		line("Token:", t)
	}
	if reach := describeReach(rep); reach != "" {
		line("Reachable:", reach)
	}
	if id := rep.Identity; id != nil {
		who := termsafe.Line(id.Username)
		if who == "" {
			who = "(no username)"
		}
		if n := termsafe.Line(id.Name); n != "" && n != who {
			who += " (" + n + ")"
		}
		line("Signed in:", who)
		if len(id.Tenants) > 0 {
			ts := make([]string, len(id.Tenants))
			for i, t := range id.Tenants {
				ts[i] = termsafe.Line(t)
				if n := id.TenantNames[t]; n != "" && n != t {
					ts[i] += " (" + termsafe.Line(n) + ")"
				}
			}
			line("Tenants:", strings.Join(ts, ", "))
		}
		if len(id.Roles) > 0 {
			line("Roles:", safeJoin(id.Roles))
		}
		if len(id.Groups) > 0 {
			line("Groups:", safeJoin(id.Groups))
		}
	} else if rep.Method == config.MethodNone && rep.IdentityNote != "" {
		line("Signed in:", termsafe.Line(rep.IdentityNote))
	} else if rep.IdentityNote != "" {
		line("Signed in:", "unknown: "+termsafe.Line(rep.IdentityNote))
	}
	switch {
	case rep.Health == nil:
	case rep.Down && *rep.Health == api.HealthUnavailable && (rep.Topology == nil || rep.Topology.State() != api.HealthUnavailable):
		line("Health:", cs.Red("UNAVAILABLE: GET /v2/status answered 503: no partition has a healthy leader"))
	case rep.Topology != nil:
		line("Health:", healthLine(cs, *rep.Topology))
	}
	if rep.Ready {
		line("Ready:", cs.Green("yes"))
		return
	}
	line("Ready:", cs.Red(fmt.Sprintf("no (exit %d)", rep.Error.ExitCode)))
	msg := strings.Split(rep.Error.Message, "\n")
	for i := range msg {
		msg[i] = termsafe.Line(msg[i])
	}
	line("Error:", strings.Join(msg, "\n"))
}

func safeJoin(xs []string) string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = termsafe.Line(x)
	}
	return strings.Join(out, ", ")
}

func describeAuth(rep *status.Report) string {
	parts := []string{rep.Method}
	if rep.Grant != nil {
		parts = append(parts, *rep.Grant+" grant")
	}
	switch {
	case rep.Method == config.MethodBasic && rep.Principal != "":
		parts = append(parts, "user "+termsafe.Line(rep.Principal))
	case rep.Principal != "" && rep.Method != config.MethodNone:
		parts = append(parts, termsafe.Line(rep.Principal))
	}
	return strings.Join(parts, ", ")
}

func describeCredential(rep *status.Report) string {
	c := rep.Credential
	if !c.Needed {
		return "none needed"
	}
	where := ""
	if c.Where != nil {
		where = *c.Where
	}
	switch {
	case c.ClientAuth != nil && c.Problem != "":
		return c.Kind + ": " + termsafe.Line(c.Problem)
	case c.ClientAuth != nil:
		return c.Kind
	case where == "certificate":
		return "client certificate " + termsafe.Line(c.Path) + " (no client secret)"
	case where == "env":
		return c.Kind + " from env " + c.Variable
	case c.Stored:
		s := c.Kind + " stored in the OS keyring"
		if where == auth.InFile {
			s = c.Kind + " stored in a plain-text file (--insecure-storage)"
		}
		if len(c.BoundTo) > 0 {
			s += ", bound to " + strings.Join(c.BoundTo, " and ")
		}
		if si := c.SignIn; si != nil {
			if si.Username != "" {
				s += "; signed in as " + termsafe.Line(si.Username)
			}
			if !si.ExpiresAt.IsZero() {
				s += ", sign-in valid until " + si.ExpiresAt.Local().Format("2006-01-02 15:04 MST")
			}
		}
		if c.Refused != nil {
			s += "; " + refusedNote(c.Refused, rep.Profile)
		}
		return s
	case c.Problem != "":
		return c.Kind + " unknown: " + termsafe.Line(c.Problem)
	case rep.Kind == config.KindEnv:
		return c.Kind + " not set"
	}
	return fmt.Sprintf("%s not stored (run `camctl login -p %s`)", c.Kind, rep.Profile)
}

func describeStatusToken(rep *status.Report, now time.Time) string {
	t := rep.Token
	if t == nil {
		return ""
	}
	until := func() string {
		if t.Expiry.IsZero() {
			return "no expiry known"
		}
		at := t.Expiry.Local().Format("2006-01-02 15:04 MST")
		if left := t.Expiry.Sub(now).Round(time.Second); left > 0 {
			return fmt.Sprintf("valid until %s (in %s)", at, left)
		}
		return "expired at " + at
	}
	switch t.Source {
	case "cached":
		place := "the OS keyring"
		if t.Where == auth.InFile {
			place = "the file cache"
		}
		return fmt.Sprintf("cached in %s, %s", place, until())
	case "fetched":
		if t.Expiry.IsZero() {
			return "fetched now (no expiry given, so not cached)"
		}
		return "fetched now, " + until()
	}
	return "static, " + until()
}

func describeReach(rep *status.Report) string {
	switch {
	case rep.Reachable && rep.StatusAnswer == 503:
		return "yes (GET /v2/status: 503, no partition has a healthy leader)"
	case rep.Reachable && rep.StatusAnswer == 204:
		return "yes"
	case rep.Reachable:
		return fmt.Sprintf("yes (GET /v2/status answered %d)", rep.StatusAnswer)
	case rep.Error != nil && rep.Error.ExitCode == ExitUnreachable:
		return "no"
	}
	return ""
}
