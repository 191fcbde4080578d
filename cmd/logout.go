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
		Short: "Delete the selected profile's stored secrets",
		Long: `Delete the stored secrets of the selected profile (or of every profile with
--all) from the OS keyring and the plain-text file. The profile itself stays.
Logging out twice is not an error.`,
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
	file, path, err := f.LoadConfig()
	if err != nil {
		return err
	}
	var names []string
	if all {
		names = file.Names()
		if _, ok := file.Profiles[config.BuiltinLocalName]; !ok {
			names = append(names, config.BuiltinLocalName)
		}
	} else {
		name := f.Global.Profile
		if name != "" {
			// A removed or never-created profile has nothing stored;
			// logging out of it succeeds, like a second logout.
			if err := config.ValidateName(name); err != nil {
				return err
			}
		} else {
			r, err := f.Resolve(nil)
			if err != nil {
				return err
			}
			if !r.Storable() {
				fmt.Fprintln(f.IO.ErrOut, "The connection comes from CAMUNDA_* variables alone; camctl stores nothing for it.")
				return nil
			}
			name = r.Name
		}
		names = []string{name}
	}
	secrets, err := f.Secrets(path, false)
	if err != nil {
		return err
	}
	var failed []string
	for _, name := range names {
		removed, err := secrets.DeleteProfile(ctx, name)
		switch {
		case err != nil:
			failed = append(failed, fmt.Sprintf("%s: %v", name, err))
		case len(removed) > 0:
			fmt.Fprintf(f.IO.ErrOut, "Logged out of profile %s: deleted the stored %s.\n", name, strings.Join(removed, ", "))
		case !all:
			fmt.Fprintf(f.IO.ErrOut, "Profile %s has no stored secrets; nothing to do.\n", name)
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("logout incomplete:\n  %s", strings.Join(failed, "\n  "))
	}
	return nil
}
