package cmd

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/pflag"

	"github.com/camctl/camctl/internal/api"
	"github.com/camctl/camctl/internal/config"
)

// profileFlags are the setting flags shared by `profile add`, `profile
// set` and `login`: one per non-secret setting of config.Fields. Secrets
// have no flag on purpose: argv is visible to every user of the machine.
type profileFlags struct {
	fs      *pflag.FlagSet
	strings map[config.Key]*string
	bools   map[config.Key]*bool
}

func addProfileFlags(fs *pflag.FlagSet) *profileFlags {
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
	return p
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
			m, ok := config.ValidMethod(v)
			if !ok {
				return nil, flagErrorf("invalid --auth %q: use one of %s", v, strings.Join(config.Methods, ", "))
			}
			v = m
		case config.Address:
			if _, err := api.NormalizeAddress(v); err != nil {
				return nil, &FlagError{Err: fmt.Errorf("--address: %w", err)}
			}
		case config.CAFile, config.ClientCert, config.ClientKey, config.Keystore:
			if v != "" {
				abs, err := filepath.Abs(v)
				if err == nil {
					_, err = os.Stat(abs)
				}
				if err != nil {
					return nil, flagErrorf("--%s: %v", f.Flag, err)
				}
				// Stored absolute: the profile is used from any directory.
				v = abs
			}
		}
		out[f.Key] = v
	}
	return out, nil
}

// inferMethod picks the auth method for a new profile from the other
// flags when --auth is not given.
func inferMethod(settings map[config.Key]string) string {
	switch {
	case settings[config.ClientID] != "":
		return config.MethodOIDC
	case settings[config.Username] != "":
		return config.MethodBasic
	}
	return config.MethodNone
}
