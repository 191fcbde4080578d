package cmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/camctl/camctl/internal/auth"
	"github.com/camctl/camctl/internal/config"
)

// LoginOptions are the inputs of `camctl login`.
type LoginOptions struct {
	f               *Factory
	Settings        map[config.Key]string
	PasswordStdin   bool
	InsecureStorage bool
}

// NewCmdLogin builds `camctl login`.
func NewCmdLogin(f *Factory, runF func(context.Context, *LoginOptions) error) *cobra.Command {
	opts := &LoginOptions{f: f}
	var flags *profileFlags
	cmd := &cobra.Command{
		Use:   "login",
		Short: "Store the selected profile's secret after checking it against the cluster",
		Long: `Make the selected profile ready to use: ask for the secret its auth method
needs (hidden input on a terminal) or read it from --password-stdin or the
environment, check it against the cluster with GET /v2/topology, and only
then store it in the OS keyring.

With --address, --auth and the other profile flags it creates or updates the
profile in the same step. Without a terminal and without a secret source it
fails at once, naming the flag or variable to use.

Where no OS keyring is reachable (CI, SSH, containers) login refuses to
store a secret unless --insecure-storage is given; then it goes to a 0600
file beside the config file. In CI, setting CAMUNDA_* variables instead of
logging in is usually simpler.`,
		Example: `  camctl login -p helm --address https://camunda.example.com --auth basic --username demo
  printf '%s\n' "$PASSWORD" | camctl login -p helm --password-stdin
  camctl login                # the current profile; prompts for what it needs`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			settings, err := flags.changed()
			if err != nil {
				return err
			}
			opts.Settings = settings
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runLogin(cmd.Context(), opts)
		},
	}
	flags = addProfileFlags(cmd.Flags())
	cmd.Flags().BoolVar(&opts.PasswordStdin, "password-stdin", false, "read the basic-auth password from stdin")
	cmd.Flags().BoolVar(&opts.InsecureStorage, "insecure-storage", false, "store the secret in a plain-text 0600 file instead of the OS keyring")
	return cmd
}

func runLogin(ctx context.Context, opts *LoginOptions) error {
	f := opts.f
	r, created, err := resolveForLogin(f, opts.Settings)
	if err != nil {
		return err
	}
	secrets, err := f.Secrets(r.ConfigPath, f.IO.CanPrompt())
	if err != nil {
		return err
	}

	var (
		provider  auth.Provider
		secretKey config.Key
		secret    string
	)
	switch r.Method() {
	case config.MethodNone:
		provider = auth.None()
	case config.MethodBasic:
		if !opts.InsecureStorage {
			// Find out before asking for a password that could not be kept.
			if err := secrets.KeyringStatus(ctx); err != nil {
				return &auth.NoKeyringError{Err: err}
			}
		}
		user, err := loginUsername(ctx, f, r)
		if err != nil {
			return err
		}
		pw, err := loginSecret(ctx, f, r, opts.PasswordStdin, config.Password,
			fmt.Sprintf("Password for %s at %s: ", user, r.Value(config.Address)))
		if err != nil {
			return err
		}
		provider, secretKey, secret = auth.NewBasic(user, pw), config.Password, pw
		if r.Get(config.Username).Source.Kind != config.FromFlag && !r.Get(config.Username).IsSet() {
			opts.Settings[config.Username] = user
		}
	default:
		return &config.UsageError{Msg: fmt.Sprintf("profile %s: login for auth method %q is not supported by this version of camctl yet", r.Name, r.Method())}
	}
	if opts.PasswordStdin && secretKey == "" {
		return flagErrorf("--password-stdin is for basic auth; profile %s uses %s", r.Name, r.Method())
	}

	client, err := f.APIClient(r, provider)
	if err != nil {
		return err
	}
	topo, _, err := client.Topology(ctx)
	if err != nil {
		return explain(fmt.Errorf("login failed, nothing was stored: %w", err), r, f.Global.Timeout.String())
	}

	var where string
	if secretKey != "" {
		if where, err = secrets.Save(ctx, r.Name, secretKey, secret, opts.InsecureStorage); err != nil {
			return err
		}
	}
	if len(opts.Settings) > 0 || created {
		if err := saveLoginProfile(ctx, f, r, opts.Settings); err != nil {
			return fmt.Errorf("the secret is stored, but profile %s could not be saved: %w", r.Name, err)
		}
	}

	w := f.IO.ErrOut
	who := "without authentication"
	if provider.Method() != config.MethodNone {
		who = fmt.Sprintf("as %s (%s auth)", provider.Identity(), provider.Method())
	}
	fmt.Fprintf(w, "Logged in to %s (profile %s) %s: gateway %s, %d brokers.\n",
		client.BaseURL(), r.Name, who, topo.GatewayVersion, len(topo.Brokers))
	switch where {
	case auth.InKeyring:
		fmt.Fprintf(w, "The %s is stored in the OS keyring.\n", strings.TrimPrefix(string(secretKey), "auth."))
	case auth.InFile:
		fmt.Fprintf(w, "Warning: the %s is stored in plain text in %s (mode 0600), as --insecure-storage asked.\n",
			strings.TrimPrefix(string(secretKey), "auth."), config.SecretsPath(r.ConfigPath))
	default:
		fmt.Fprintln(w, "Nothing to store for this auth method.")
	}
	return nil
}

// resolveForLogin resolves the selected profile with the login flags on
// top. A profile that does not exist yet is resolved as an empty one when
// flags describe it, and created after a successful check.
func resolveForLogin(f *Factory, settings map[config.Key]string) (*config.Resolved, bool, error) {
	file, path, err := f.LoadConfig()
	if err != nil {
		return nil, false, err
	}
	name := f.Global.Profile
	if name == "" {
		name = f.Getenv(config.EnvProfile)
	}
	if name != "" {
		if err := config.ValidateName(name); err != nil {
			return nil, false, err
		}
	}
	created := false
	if _, ok := file.Profiles[name]; name != "" && !ok && len(settings) > 0 {
		// As with `profile add`: --username means basic, --client-id oidc.
		if _, ok := settings[config.AuthMethod]; !ok {
			settings[config.AuthMethod] = inferMethod(settings)
		}
		clone := *file
		clone.Profiles = map[string]config.Profile{name: {}}
		for k, v := range file.Profiles {
			clone.Profiles[k] = v
		}
		file, created = &clone, true
	}
	if name == "" && file.CurrentProfile == "" {
		// Nothing selected: login works on the built-in local profile,
		// which becomes a real one if flags change it.
		name = config.BuiltinLocalName
		if _, ok := file.Profiles[name]; !ok {
			created = len(settings) > 0
		}
	}
	r, err := config.Resolve(config.Options{ConfigPath: path, File: file, Profile: name, Flags: settings, LookupEnv: f.LookupEnv})
	if err != nil {
		return nil, false, err
	}
	if r.Kind == config.KindBuiltin && len(settings) == 0 {
		created = false
	}
	return r, created, nil
}

func loginUsername(ctx context.Context, f *Factory, r *config.Resolved) (string, error) {
	if u := r.Value(config.Username); u != "" {
		return u, nil
	}
	if !f.IO.CanPrompt() {
		return "", &config.UsageError{Msg: fmt.Sprintf("profile %s uses basic auth but has no username: pass --username NAME or set CAMUNDA_BASIC_AUTH_USERNAME", r.Name)}
	}
	u, err := f.Prompt(ctx, fmt.Sprintf("Username for %s: ", r.Value(config.Address)))
	if err != nil {
		return "", loginCancelled(err)
	}
	if u = strings.TrimSpace(u); u == "" {
		return "", &config.UsageError{Msg: "no username given"}
	}
	return u, nil
}

// loginSecret gets the secret from, in order: --*-stdin, the environment,
// a hidden prompt on a terminal.
func loginSecret(ctx context.Context, f *Factory, r *config.Resolved, fromStdin bool, key config.Key, label string) (string, error) {
	fld, _ := config.FieldFor(key)
	if fromStdin {
		b, err := io.ReadAll(io.LimitReader(f.IO.In, 64<<10))
		if err != nil {
			return "", fmt.Errorf("read the secret from stdin: %w", err)
		}
		s := strings.TrimRight(string(b), "\r\n")
		if s == "" {
			return "", flagErrorf("stdin was empty: pipe the secret into camctl login")
		}
		return s, nil
	}
	if s := r.Get(key); s.IsSet() {
		return s.Value, nil
	}
	if !f.IO.CanPrompt() {
		return "", &auth.MissingSecretError{Profile: r.Name, What: secretLabel(key), Flag: "--password-stdin", Env: fld.Env[0], InLogin: true}
	}
	s, err := f.PromptSecret(ctx, label)
	if err != nil {
		return "", loginCancelled(err)
	}
	if s == "" {
		return "", &config.UsageError{Msg: "no " + secretLabel(key) + " given"}
	}
	return s, nil
}

func loginCancelled(err error) error {
	if errors.Is(err, context.Canceled) {
		return fmt.Errorf("login cancelled, nothing was stored: %w", err)
	}
	return err
}

func secretLabel(key config.Key) string {
	return strings.ReplaceAll(strings.TrimPrefix(strings.TrimPrefix(string(key), "auth."), "tls."), "-", " ")
}

// saveLoginProfile writes the login flags into the profile, creating it
// (and making it current when it is the first) if needed.
func saveLoginProfile(ctx context.Context, f *Factory, r *config.Resolved, settings map[config.Key]string) error {
	return config.Edit(ctx, r.ConfigPath, func(doc *config.Document) error {
		if !doc.HasProfile(r.Name) {
			first := len(doc.ProfileNames()) == 0 && doc.CurrentProfile() == ""
			if err := doc.AddProfile(r.Name); err != nil {
				return err
			}
			if _, ok := settings[config.Address]; !ok {
				settings[config.Address] = r.Value(config.Address)
			}
			if _, ok := settings[config.AuthMethod]; !ok {
				settings[config.AuthMethod] = r.Method()
			}
			if first {
				doc.SetCurrentProfile(r.Name)
			}
		}
		return setAll(doc, r.Name, settings)
	})
}
