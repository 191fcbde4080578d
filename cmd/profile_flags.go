package cmd

import (
	"bytes"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/camctl/camctl/internal/api"
	"github.com/camctl/camctl/internal/atomicfile"
	"github.com/camctl/camctl/internal/config"
)

// profileFlags are the setting flags shared by `profile add`, `profile
// set` and `login`: one per non-secret setting of config.Fields. Secrets
// have no flag on purpose: argv is visible to every user of the machine.
type profileFlags struct {
	fs      *pflag.FlagSet
	strings map[config.Key]*string
	bools   map[config.Key]*bool

	region, clusterID string
	fromEnv           bool
	fromEnvFile       string

	// --exec-command and --exec-arg make up auth.command (spec §11).
	execCommand string
	execArgs    []string
}

func addProfileFlags(cmd *cobra.Command) *profileFlags {
	fs := cmd.Flags()
	p := &profileFlags{fs: fs, strings: map[config.Key]*string{}, bools: map[config.Key]*bool{}}
	for _, f := range config.Fields {
		if f.Flag == "" || f.Secret || f.EnvOnly {
			continue
		}
		help := f.Help
		if len(f.Env) > 0 {
			help += " (env: " + f.Env[0] + ")"
		}
		if f.Bool {
			p.bools[f.Key] = fs.Bool(f.Flag, false, help)
		} else {
			p.strings[f.Key] = fs.String(f.Flag, "", help)
		}
	}
	fs.StringVar(&p.region, "region", "", "SaaS region (with --cluster-id: sets the SaaS address, token URL and audience)")
	fs.StringVar(&p.clusterID, "cluster-id", "", "SaaS cluster id (with --region)")
	fs.BoolVar(&p.fromEnv, "from-env", false, "take the settings from the current CAMUNDA_*/ZEEBE_* variables (a secret among them goes to the keyring)")
	fs.StringVar(&p.fromEnvFile, "from-env-file", "", "take the settings from a Camunda Console credentials `file` (export KEY='value' lines)")
	fs.StringVar(&p.execCommand, "exec-command", "", "exec auth: the `program` that prints a token (run without a shell; \"\" removes the command)")
	fs.StringArrayVar(&p.execArgs, "exec-arg", nil, "exec auth: an argument of --exec-command (repeat for each, in order)")
	// The settings with a fixed set of values; the others are free text
	// or files, which the shell completes by default.
	_ = cmd.RegisterFlagCompletionFunc("auth", cobra.FixedCompletions(config.Methods, cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.RegisterFlagCompletionFunc("grant", cobra.FixedCompletions(config.Grants, cobra.ShellCompDirectiveNoFileComp))
	return p
}

// collect returns the settings the command line describes, lowest first:
// --from-env or --from-env-file, then --region/--cluster-id, then the
// individual flags. Secrets found in the imported variables are returned
// separately: they go to the secret store, never to the file.
func (p *profileFlags) collect(lookup func(string) (string, bool)) (settings, secrets map[config.Key]string, err error) {
	settings, secrets = map[config.Key]string{}, map[config.Key]string{}
	if p.fromEnv && p.fromEnvFile != "" {
		return nil, nil, flagErrorf("--from-env and --from-env-file cannot be combined")
	}
	if p.fromEnv || p.fromEnvFile != "" {
		if p.fromEnvFile != "" {
			// A regular file of at most 1 MiB, like every input file.
			data, err := atomicfile.ReadInput(expandHome(p.fromEnvFile))
			if err != nil {
				return nil, nil, &config.UsageError{Msg: fmt.Sprintf("--from-env-file %s: %v", p.fromEnvFile, err)}
			}
			vars, err := config.ParseEnvFile(bytes.NewReader(data))
			if err != nil {
				return nil, nil, &config.UsageError{Msg: fmt.Sprintf("--from-env-file %s: %v", p.fromEnvFile, err)}
			}
			lookup = func(k string) (string, bool) { v, ok := vars[k]; return v, ok }
		}
		im, err := config.Import(lookup)
		if err != nil {
			return nil, nil, err
		}
		if len(im.Settings) == 0 && len(im.Secrets) == 0 {
			return nil, nil, &config.UsageError{Msg: "no CAMUNDA_* or ZEEBE_* settings found to import"}
		}
		settings, secrets = im.Settings, im.Secrets
	}
	if (p.region == "") != (p.clusterID == "") {
		return nil, nil, flagErrorf("--region and --cluster-id go together")
	}
	if p.region != "" {
		for k, v := range config.SaaSSettings(p.region, p.clusterID) {
			settings[k] = v
		}
	}
	explicit, err := p.changed()
	if err != nil {
		return nil, nil, err
	}
	for k, v := range explicit {
		settings[k] = v
	}
	if err := p.execSettings(settings); err != nil {
		return nil, nil, err
	}
	if a, ok := settings[config.Address]; ok && a != "" {
		if _, err := api.NormalizeAddress(a); err != nil {
			return nil, nil, &config.UsageError{Msg: fmt.Sprintf("address: %v", err)}
		}
	}
	return settings, secrets, nil
}

// changed returns the settings given on the command line, validated. An
// empty string value means "remove this setting".
func (p *profileFlags) changed() (map[config.Key]string, error) {
	out := map[config.Key]string{}
	for _, f := range config.Fields {
		if f.Flag == "" || !p.fs.Changed(f.Flag) {
			continue
		}
		if f.Bool {
			if *p.bools[f.Key] {
				out[f.Key] = "true"
			} else {
				out[f.Key] = ""
			}
			continue
		}
		v := strings.TrimSpace(*p.strings[f.Key])
		switch f.Key {
		case config.AuthMethod:
			m, ok := config.ParseMethod(v)
			if !ok {
				return nil, flagErrorf("invalid --auth %q: use one of %s", v, strings.Join(config.Methods, ", "))
			}
			v = m
		case config.Address:
			if _, err := api.NormalizeAddress(v); err != nil {
				return nil, &FlagError{Err: fmt.Errorf("--address: %w", err)}
			}
		case config.TokenURL:
			u, err := url.Parse(v)
			if err != nil || u.User != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				return nil, flagErrorf("--token-url must be an http:// or https:// URL without credentials")
			}
			if err := api.CheckPort(u); err != nil {
				return nil, flagErrorf("--token-url: %v", err)
			}
		case config.AssertionFile:
			// Often a file only the job's pod or runner has (a projected
			// service-account token): stored absolute, not checked now.
			if v = expandHome(v); v != "" {
				abs, err := filepath.Abs(v)
				if err != nil {
					return nil, flagErrorf("--%s: %v", f.Flag, err)
				}
				v = abs
			}
		case config.AssertionFrom:
			if v != "" && v != "github-actions" {
				return nil, flagErrorf("invalid --client-assertion-from %q: use github-actions", v)
			}
		case config.AssertionAlg:
			v = strings.ToUpper(v)
			if v != "" && v != "RS256" && v != "PS256" && v != "ES256" && v != "ES384" {
				return nil, flagErrorf("invalid --assertion-alg %q: use RS256, PS256 (RSA keys), ES256 or ES384 (EC keys)", v)
			}
		case config.CAFile, config.ClientCert, config.ClientKey, config.Keystore,
			config.AssertionKey, config.AssertionCert, config.AssertionKeystore:
			v = expandHome(v)
			if v != "" {
				abs, err := filepath.Abs(v)
				var fi os.FileInfo
				if err == nil {
					fi, err = os.Stat(abs)
				}
				if err != nil {
					return nil, flagErrorf("--%s: %v", f.Flag, err)
				}
				// Refused now rather than on every later run.
				if err := atomicfile.CheckInput(fi); err != nil {
					return nil, flagErrorf("--%s %s: %v", f.Flag, v, err)
				}
				// Stored absolute: the profile is used from any directory.
				v = abs
			}
		}
		out[f.Key] = v
	}
	return out, nil
}

// expandHome expands a leading ~/ as the shell would: --client-cert=~/x and
// quoted paths reach camctl unexpanded.
func expandHome(path string) string {
	home, _ := os.UserHomeDir()
	return config.ExpandHome(path, home)
}

// execSettings turns --exec-command and --exec-arg into auth.command, a
// list: the program runs without a shell, so each argument is its own.
func (p *profileFlags) execSettings(settings map[config.Key]string) error {
	if !p.fs.Changed("exec-command") {
		if p.fs.Changed("exec-arg") {
			return flagErrorf("--exec-arg goes with --exec-command: give the program too (the arguments replace the old ones)")
		}
		return nil
	}
	prog := strings.TrimSpace(p.execCommand)
	if prog == "" {
		if len(p.execArgs) > 0 {
			return flagErrorf("--exec-arg needs a non-empty --exec-command")
		}
		settings[config.Command] = ""
		return nil
	}
	if strings.ContainsAny(prog, " \t") && !strings.ContainsAny(prog, "/\\") {
		return flagErrorf("--exec-command %q: give the program alone and each argument with --exec-arg (there is no shell to split it)", prog)
	}
	settings[config.Command] = config.EncodeCommand(append([]string{prog}, p.execArgs...))
	if _, ok := settings[config.AuthMethod]; !ok {
		settings[config.AuthMethod] = config.MethodExec
	}
	return nil
}
