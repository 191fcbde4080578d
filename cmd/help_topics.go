package cmd

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"

	"github.com/camctl/camctl/internal/config"
)

// exitCodes is the table of spec §7; `camctl help exit-codes` prints it,
// and ExitCode maps errors onto the same constants.
var exitCodes = []struct {
	Code    int
	Meaning string
}{
	{ExitOK, "success"},
	{ExitError, "any other error (also: interrupted with Ctrl-C; no keyring to store a secret in; camctl api: a 4xx answer other than 401/403, a search whose server repeated a cursor)"},
	{ExitUsage, "usage or configuration error: bad flag or argument, unknown profile, invalid config file (names the file and line), missing required setting (names the flag and variable), unusable client certificate"},
	{ExitAuth, "authentication or authorization failed: API 401/403, the token endpoint rejected the client, no secret available without a terminal, a stored secret that cannot be read (locked keyring with CAMCTL_KEYRING=system, damaged value), wrong key passphrase or keystore password, a token that had expired when it arrived (check the clocks), no client assertion (a missing or expired CI token, a CI platform endpoint that failed), an exec auth command that failed or timed out"},
	{ExitUnreachable, "could not reach the server or the token endpoint: DNS, connection refused, TLS failure, timeout, an answer cut off or stalled mid-way"},
	{ExitServer, "the server or the token endpoint failed: 5xx (or 429) after retries"},
	{ExitWaitTimeout, "the cluster is not healthy: topology --wait ran out of time, or topology --check or status found it DEGRADED or UNAVAILABLE"},
}

// camctlVariables are read by camctl itself rather than for a setting.
var camctlVariables = []struct{ Name, Help string }{
	{config.EnvProfile, "profile to use (after --profile)"},
	{config.EnvConfig, "config file (after --config)"},
	{config.EnvCacheDir, "directory of the token file cache and its locks (default: the OS user cache dir + /camctl)"},
	{config.EnvKeyring, "auto (default: the OS keyring when reachable), system (required) or none (never)"},
	{config.EnvNoColor, "no colour when set to anything"},
}

// addHelpTopics adds `camctl help environment` and `camctl help
// exit-codes`, generated from the tables the code uses, so the
// documentation cannot drift from the behaviour.
func addHelpTopics(root *cobra.Command) {
	root.AddCommand(&cobra.Command{
		Use:   "environment",
		Short: "Environment variables camctl reads",
		Long:  environmentHelp(),
	}, &cobra.Command{
		Use:   "exit-codes",
		Short: "Exit codes of camctl",
		Long:  exitCodesHelp(),
	})
}

func environmentHelp() string {
	var b strings.Builder
	b.WriteString(`camctl reads the variables of Camunda's SDKs and Console credential
downloads, so a CI job that has them set needs nothing else. For each
setting the first variable set wins. Variables override the selected
profile; flags override variables.

`)
	for _, f := range config.Fields {
		if len(f.Env) == 0 {
			continue
		}
		kind := ""
		if f.Secret {
			kind = " [secret]"
		}
		fmt.Fprintf(&b, "  %s: %s%s\n      %s\n", f.Key, f.Help, kind, strings.Join(f.Env, ", "))
	}
	b.WriteString("\nFor camctl itself:\n\n")
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	for _, v := range camctlVariables {
		fmt.Fprintf(tw, "  %s\t%s\n", v.Name, v.Help)
	}
	_ = tw.Flush() // writes to a strings.Builder, which cannot fail
	b.WriteString("\nCAMUNDA_AUTH_STRATEGY takes NONE, BASIC, OAUTH or BEARER; when it is unset the\nmethod is inferred: client id + (secret, certificate or client assertion) ->\noidc, user name + password -> basic, token -> bearer.\n")
	return b.String()
}

func exitCodesHelp() string {
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	for _, e := range exitCodes {
		fmt.Fprintf(tw, "%d\t%s\n", e.Code, e.Meaning)
	}
	_ = tw.Flush() // writes to a strings.Builder, which cannot fail
	b.WriteString("\ncamctl exec exits with its command's status (128 + N when signal N ended it,\n127 when the command is not found).\n")
	return b.String()
}

// newCmdDocs generates man pages; release builds run it (hidden: users
// get the pages from their package).
func newCmdDocs(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:    "docs man DIR",
		Short:  "Generate man pages into DIR",
		Hidden: true,
		Args:   exactArgs(2, "`man` and a directory"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if args[0] != "man" {
				return flagErrorf("unknown document kind %q: use man", args[0])
			}
			root := cmd.Root()
			root.DisableAutoGenTag = true
			// #nosec G301 -- man pages are public documentation for packages, not user data.
			if err := os.MkdirAll(args[1], 0o755); err != nil {
				return err
			}
			// A fixed date keeps release builds reproducible.
			date := time.Unix(0, 0).UTC()
			if v := f.Getenv("SOURCE_DATE_EPOCH"); v != "" {
				var sec int64
				if _, err := fmt.Sscan(v, &sec); err == nil {
					date = time.Unix(sec, 0).UTC()
				}
			}
			hdr := &doc.GenManHeader{Title: "CAMCTL", Section: "1", Source: "camctl " + f.Build.Version, Date: &date}
			if err := doc.GenManTree(root, hdr, args[1]); err != nil {
				return err
			}
			fmt.Fprintf(f.IO.ErrOut, "Man pages written to %s.\n", filepath.Clean(args[1]))
			return nil
		},
	}
}
