package cmd

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/camctl/camctl/internal/config"
)

// NewCmdLogout builds `camctl logout`.
func NewCmdLogout(f *Factory, runF func(context.Context, bool) error) *cobra.Command {
	var all bool
	cmd := &cobra.Command{
		Use:   "logout",
		Short: "Delete the selected profile's stored secrets and cached tokens",
		Long: `Delete the stored secrets of the selected profile (or of every profile with
--all) from the OS keyring and the plain-text file, and its cached access
token. The profile itself stays. Logging out twice is not an error.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(cmd.Context(), all)
			}
			return runLogout(cmd.Context(), f, all)
		},
	}
	cmd.Flags().BoolVar(&all, "all", false, "log out of every profile")
	return cmd
}

func runLogout(ctx context.Context, f *Factory, all bool) error {
	s := f.newSession()
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
		found, err := forget(ctx, f, s, r)
		anything = anything || found
		switch {
		case err != nil:
			failed = append(failed, err.Error())
		case !found && !all:
			fmt.Fprintf(f.IO.ErrOut, "Profile %s has nothing stored; nothing to do.\n", r.Name)
		}
	}
	if all && !anything && len(failed) == 0 {
		fmt.Fprintln(f.IO.ErrOut, "No profile has anything stored; nothing to do.")
	}
	if len(failed) > 0 {
		return fmt.Errorf("logout incomplete:\n  %s", strings.Join(failed, "\n  "))
	}
	return nil
}
