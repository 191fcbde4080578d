package cmd

// Small helpers that every command uses: argument checks, the data-output
// mark, the -o formats.

import (
	"github.com/spf13/cobra"
)

// dataOutput marks commands whose output -o json|yaml formats.
const dataOutput = "camctl/data-output"

func withDataOutput(cmd *cobra.Command) *cobra.Command {
	if cmd.Annotations == nil {
		cmd.Annotations = map[string]string{}
	}
	cmd.Annotations[dataOutput] = "true"
	return cmd
}

// noOutputFormat explains, for a command with data that -o does not
// format, why (the text is the annotation's value).
const noOutputFormat = "camctl/no-output-format"

// Output formats of -o.
const (
	OutputText = "text"
	OutputJSON = "json"
	OutputYAML = "yaml"
)

func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return flagErrorf("%s takes no arguments, got %q", cmd.CommandPath(), args[0])
	}
	return nil
}

func exactArgs(n int, names string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return flagErrorf("%s needs %s (got %d argument(s))", cmd.CommandPath(), names, len(args))
		}
		return nil
	}
}
