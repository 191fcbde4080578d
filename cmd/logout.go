package cmd

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/camctl/camctl/internal/config"
	"github.com/camctl/camctl/internal/session"
)

// LogoutOptions are the inputs of `camctl logout`.
type LogoutOptions struct {
	IO *IOStreams
	// Session is the connection state of the run.
	Session func() *session.Session
	All     bool
}

// NewCmdLogout builds `camctl logout`.
func NewCmdLogout(f *Factory, runF func(context.Context, *LogoutOptions) error) *cobra.Command {
	opts := &LogoutOptions{IO: f.IO, Session: f.newSession}
	cmd := &cobra.Command{
		Use:   "logout",
		Short: "Delete the selected profile's stored secrets and cached tokens",
		Long: `Delete the stored secrets of the selected profile (or of every profile with
--all) from the OS keyring and the plain-text file, and its cached access
token. The profile itself stays. Logging out twice is not an error.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runLogout(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.All, "all", false, "log out of every profile")
	return cmd
}

func runLogout(ctx context.Context, opts *LogoutOptions) error {
	s, all := opts.Session(), opts.All
	var targets []*config.Resolved
	if all {
		file, _, err := s.LoadConfig()
		if err != nil {
			return err
		}
		names := file.Names()
		if _, ok := file.Profiles[config.BuiltinLocalName]; !ok {
			names = append(names, config.BuiltinLocalName)
		}
		for _, name := range names {
			r, err := s.ResolveProfile(name, nil)
			if err != nil {
				return err
			}
			targets = append(targets, r)
		}
	} else {
		r, err := s.Resolve(nil)
		if err != nil {
			return err
		}
		targets = append(targets, r)
	}
	var failed []string
	anything := false
	for _, r := range targets {
		found, err := forget(ctx, opts.IO, s, r)
		anything = anything || found
		switch {
		case err != nil:
			failed = append(failed, err.Error())
		case !found && !all:
			fmt.Fprintf(opts.IO.ErrOut, "Profile %s has nothing stored; nothing to do.\n", r.Name)
		}
	}
	if all && !anything && len(failed) == 0 {
		fmt.Fprintln(opts.IO.ErrOut, "No profile has anything stored; nothing to do.")
	}
	if len(failed) > 0 {
		return fmt.Errorf("logout incomplete:\n  %s", strings.Join(failed, "\n  "))
	}
	return nil
}
