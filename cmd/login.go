package cmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/camctl/camctl/internal/api"
	"github.com/camctl/camctl/internal/auth"
	"github.com/camctl/camctl/internal/config"
)

// LoginOptions are the inputs of `camctl login`.
type LoginOptions struct {
	f                 *Factory
	Settings          map[config.Key]string
	PasswordStdin     bool
	ClientSecretStdin bool
	TokenStdin        bool
	InsecureStorage   bool
	// Imported are secrets from --from-env-file (or --from-env).
	Imported map[config.Key]string

	impliedMethod string
}

// NewCmdLogin builds `camctl login`.
func NewCmdLogin(f *Factory, runF func(context.Context, *LoginOptions) error) *cobra.Command {
	opts := &LoginOptions{f: f}
	var flags *profileFlags
	cmd := &cobra.Command{
		Use:   "login",
		Short: "Store the selected profile's secret after checking it against the cluster",
		Long: `Make the selected profile ready to use: ask for the secret its auth method
needs (hidden input on a terminal) or read it from --password-stdin,
--client-secret-stdin, --token-stdin or the environment, check it against the cluster with GET /v2/topology, and only
then store it in the OS keyring.

With --address, --auth and the other profile flags it creates or updates the
profile in the same step. Without a terminal and without a secret source it
fails at once, naming the flag or variable to use.

Where no OS keyring is reachable (CI, SSH, containers) login refuses to
store a secret unless --insecure-storage is given; then it goes to a 0600
file in camctl's config directory. In CI, setting CAMUNDA_* variables instead of
logging in is usually simpler.`,
		Example: `  camctl login -p helm --address https://camunda.example.com --auth basic --username demo
  printf '%s\n' "$PASSWORD" | camctl login -p helm --password-stdin
  camctl login -p saas --region bru-2 --cluster-id ID --client-id ID --client-secret-stdin
  camctl login                # the current profile; prompts for what it needs`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			settings, secrets, err := flags.collect(f.LookupEnv)
			if err != nil {
				return err
			}
			opts.Settings, opts.Imported = settings, secrets
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runLogin(cmd.Context(), opts)
		},
	}
	flags = addProfileFlags(cmd)
	cmd.Flags().BoolVar(&opts.PasswordStdin, "password-stdin", false, "read the basic-auth password from stdin")
	cmd.Flags().BoolVar(&opts.ClientSecretStdin, "client-secret-stdin", false, "read the OAuth client secret from stdin")
	cmd.Flags().BoolVar(&opts.TokenStdin, "token-stdin", false, "read the static bearer token from stdin")
	cmd.Flags().BoolVar(&opts.InsecureStorage, "insecure-storage", false, "store the secret in a plain-text 0600 file instead of the OS keyring")
	return cmd
}

func runLogin(ctx context.Context, opts *LoginOptions) error {
	f := opts.f
	if _, ok := opts.Settings[config.AuthMethod]; !ok {
		// For a profile this login creates, the stdin flag says the method.
		switch {
		case opts.TokenStdin:
			opts.impliedMethod = config.MethodBearer
		case opts.ClientSecretStdin:
			opts.impliedMethod = config.MethodOIDC
		case opts.PasswordStdin:
			opts.impliedMethod = config.MethodBasic
		}
	}
	r, created, err := resolveForLogin(f, opts.Settings, opts.impliedMethod)
	if err != nil {
		return err
	}
	if err := opts.checkStdinFlag(r); err != nil {
		return err
	}
	deps, err := f.authDeps(ctx, r, f.IO.CanPrompt())
	if err != nil {
		return explain(err, r, f.Global.Timeout.String())
	}
	secrets := deps.Secrets
	certOnly := r.Method() == config.MethodOIDC && auth.HasClientCert(r) && !opts.ClientSecretStdin &&
		!r.Get(config.ClientSecret).IsSet() && opts.Imported[config.ClientSecret] == ""
	if r.Method() != config.MethodNone && !opts.InsecureStorage && !certOnly {
		// Find out before asking for a secret that could not be kept.
		if err := secrets.KeyringStatus(ctx); err != nil {
			return &auth.NoKeyringError{Err: err}
		}
	}

	var (
		provider  auth.Provider
		secretKey config.Key
		secret    string
		token     *auth.Token
	)
	switch r.Method() {
	case config.MethodNone:
		provider = auth.None()
	case config.MethodBasic:
		user, err := loginUsername(ctx, f, r)
		if err != nil {
			return err
		}
		pw, err := loginSecret(ctx, f, r, opts, opts.PasswordStdin, config.Password,
			fmt.Sprintf("Password for %s at %s: ", user, r.Value(config.Address)))
		if err != nil {
			return err
		}
		provider, secretKey, secret = auth.NewBasic(user, pw), config.Password, pw
		if r.Get(config.Username).Source.Kind != config.FromFlag && !r.Get(config.Username).IsSet() {
			opts.Settings[config.Username] = user
		}
	case config.MethodOIDC:
		key, err := auth.OIDCKey(r)
		if err != nil {
			return err
		}
		cs := ""
		if certOnly && r.Storable() {
			// A secret stored by an earlier login still goes along.
			if v, _, err := secrets.Lookup(ctx, r.Name, config.ClientSecret); err == nil && v != "" {
				cs = v
			}
		}
		if !certOnly {
			// A client certificate alone is enough (tls_client_auth);
			// else the secret, with or without a certificate.
			if cs, err = loginSecret(ctx, f, r, opts, opts.ClientSecretStdin, config.ClientSecret,
				fmt.Sprintf("Client secret of %s at %s: ", key.ClientID, key.TokenURL)); err != nil {
				return err
			}
		}
		// No cache yet: the token is stored only once the cluster accepts it.
		oidc := auth.NewOIDC(auth.OIDCOptions{
			Key:    key,
			Secret: func(context.Context) (string, error) { return cs, nil },
			HTTP:   deps.HTTP,
			Budget: deps.Timeout,
		})
		if token, err = oidc.Token(ctx, true); err != nil {
			return explain(fmt.Errorf("login failed, nothing was stored: %w", err), r, f.Global.Timeout.String())
		}
		provider = oidc
		if cs != "" {
			secretKey, secret = config.ClientSecret, cs
		}
	case config.MethodBearer:
		tok, err := loginSecret(ctx, f, r, opts, opts.TokenStdin, config.Token, "Bearer token: ")
		if err != nil {
			return err
		}
		provider, secretKey, secret = auth.NewBearer(tok), config.Token, tok
		if j, err := auth.DecodeJWT(tok); err == nil {
			if exp, ok := j.Time("exp"); ok {
				token = &auth.Token{AccessToken: tok, ExpiresAt: exp}
			}
		}
	}

	client, err := f.APIClient(r, provider)
	if err != nil {
		return explain(err, r, f.Global.Timeout.String())
	}
	topo, _, err := client.Topology(ctx)
	if err != nil {
		err = fmt.Errorf("login failed, nothing was stored: %w", err)
		var httpErr *api.HTTPError
		if errors.As(err, &httpErr) && httpErr.StatusCode == http.StatusUnauthorized && httpErr.Problem != nil && r.Method() != config.MethodNone && secretFromEnv(r) == "" {
			return withHint(fmt.Errorf("profile %s: %w", r.Name, err), "The cluster rejected these credentials; check them and run the same command again.")
		}
		return explain(err, r, f.Global.Timeout.String())
	}

	var where string
	if secretKey != "" {
		if where, err = secrets.Save(ctx, r.Name, secretKey, secret, opts.InsecureStorage); err != nil {
			return err
		}
	}
	// Passphrases of the client certificate, asked for now or given in
	// the environment, are kept like the other secrets.
	storedPassphrase := false
	for _, k := range []config.Key{config.KeyPassphrase, config.KeystorePassword} {
		v, asked := f.certSecrets[k]
		if !asked && r.Get(k).Source.Kind == config.FromEnv {
			v = r.Value(k)
		}
		if v == "" || !r.Storable() {
			continue
		}
		w, err := secrets.Save(ctx, r.Name, k, v, opts.InsecureStorage)
		var noKeyring *auth.NoKeyringError
		if errors.As(err, &noKeyring) {
			// The cluster accepted the certificate; not being able to
			// keep its passphrase must not undo that.
			fld, _ := config.FieldFor(k)
			fmt.Fprintf(f.IO.ErrOut, "Note: the %s is not stored (no OS keyring: %v); set %s, or log in with --insecure-storage.\n", auth.SecretName(k), noKeyring.Err, fld.Env[0])
			continue
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(f.IO.ErrOut, "The %s is stored %s.\n", auth.SecretName(k), map[string]string{auth.InKeyring: "in the OS keyring", auth.InFile: "in a plain-text 0600 file (--insecure-storage)"}[w])
		storedPassphrase = true
	}
	if oidc, ok := provider.(*auth.OIDC); ok {
		// The token the cluster accepted (a 401 may have replaced the
		// first one), and only one whose expiry is known.
		token = oidc.Current()
	}
	if token != nil && r.Method() == config.MethodOIDC && !token.ExpiresAt.IsZero() && deps.Tokens != nil {
		key, _ := auth.OIDCKey(r)
		if _, err := deps.Tokens.Put(ctx, key, token); err != nil {
			fmt.Fprintf(f.IO.ErrOut, "Warning: the token could not be cached (%v); the next command fetches a new one.\n", err)
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
	if token != nil && !token.ExpiresAt.IsZero() {
		fmt.Fprintf(w, "The token is valid until %s (in %s).\n",
			token.ExpiresAt.Local().Format("2006-01-02 15:04:05 MST"), time.Until(token.ExpiresAt).Round(time.Second))
	}
	what := auth.SecretName(secretKey)
	switch where {
	case auth.InKeyring:
		fmt.Fprintf(w, "The %s is stored in the OS keyring.\n", what)
	case auth.InFile:
		path, _ := config.SecretsPath(f.Getenv)
		fmt.Fprintf(w, "Warning: the %s is stored in plain text in %s (mode 0600), as --insecure-storage asked.\n", what, path)
	default:
		if !storedPassphrase {
			fmt.Fprintln(w, "Nothing to store for this auth method.")
		}
	}
	return nil
}

// checkStdinFlag allows only the --*-stdin flag of the profile's method.
func (opts *LoginOptions) checkStdinFlag(r *config.Resolved) error {
	want := map[string]string{
		config.MethodBasic:  "--password-stdin",
		config.MethodOIDC:   "--client-secret-stdin",
		config.MethodBearer: "--token-stdin",
	}[r.Method()]
	for flag, set := range map[string]bool{"--password-stdin": opts.PasswordStdin, "--client-secret-stdin": opts.ClientSecretStdin, "--token-stdin": opts.TokenStdin} {
		if set && flag != want {
			hint := "it needs no secret"
			if want != "" {
				hint = "use " + want
			}
			return flagErrorf("%s does not fit profile %s, which uses %s auth: %s", flag, r.Name, r.Method(), hint)
		}
	}
	return nil
}

// resolveForLogin resolves the selected profile with the login flags on
// top. A profile that does not exist yet is resolved as an empty one when
// flags describe it, and created after a successful check.
func resolveForLogin(f *Factory, settings map[config.Key]string, impliedMethod string) (*config.Resolved, bool, error) {
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
			settings[config.AuthMethod] = impliedMethod
			if impliedMethod == "" {
				settings[config.AuthMethod] = config.MethodForNewProfile(settings, nil)
			}
		}
		clone := *file
		clone.Profiles = map[string]config.Profile{name: {}}
		for k, v := range file.Profiles {
			clone.Profiles[k] = v
		}
		file, created = &clone, true
	}
	if name == "" && file.CurrentProfile == "" {
		if config.EnvDefinesConnection(f.LookupEnv) {
			return nil, false, &config.UsageError{Msg: "no profile is selected and CAMUNDA_* variables define the connection; camctl uses them as they are, without login. To store credentials in a profile, name it: `camctl login -p NAME`"}
		}
		// Nothing selected: login works on the local profile, which
		// becomes a real one if flags change it.
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
func loginSecret(ctx context.Context, f *Factory, r *config.Resolved, opts *LoginOptions, fromStdin bool, key config.Key, label string) (string, error) {
	fld, _ := config.FieldFor(key)
	if fromStdin {
		// Cancellable: on a terminal, stdin waits for Ctrl-D.
		s, err := readCancellable(ctx, func() (string, error) {
			b, err := io.ReadAll(io.LimitReader(f.IO.In, 64<<10))
			return string(b), err
		}, func() {})
		if err != nil {
			return "", loginCancelled(fmt.Errorf("read the secret from stdin: %w", err))
		}
		s = strings.TrimRight(s, "\r\n")
		if s == "" {
			return "", &config.UsageError{Msg: "stdin was empty: pipe the secret into camctl login"}
		}
		return s, nil
	}
	if s := r.Get(key); s.IsSet() {
		return s.Value, nil
	}
	if v := opts.Imported[key]; v != "" {
		return v, nil
	}
	if !f.IO.CanPrompt() {
		flag := map[config.Key]string{config.Password: "--password-stdin", config.ClientSecret: "--client-secret-stdin", config.Token: "--token-stdin"}[key]
		return "", &auth.MissingSecretError{Profile: r.Name, What: auth.SecretName(key), Flag: flag, Env: fld.Env[0], InLogin: true}
	}
	s, err := f.PromptSecret(ctx, label)
	if err != nil {
		return "", loginCancelled(err)
	}
	if s == "" {
		return "", &config.UsageError{Msg: "no " + auth.SecretName(key) + " given"}
	}
	return s, nil
}

func loginCancelled(err error) error {
	if errors.Is(err, context.Canceled) {
		return fmt.Errorf("login cancelled, nothing was stored: %w", err)
	}
	return err
}

// saveLoginProfile writes the login flags into the profile, creating it
// (and making it current when it is the first) if needed.
func saveLoginProfile(ctx context.Context, f *Factory, r *config.Resolved, settings map[config.Key]string) error {
	return config.Edit(ctx, r.ConfigPath, func(doc *config.Document) error {
		if !doc.HasProfile(r.Name) {
			// Only what the command line says, never what came from the
			// environment: the file must not pick up a CI job's variables.
			for _, k := range []config.Key{config.Address, config.AuthMethod} {
				if _, ok := settings[k]; !ok && r.Get(k).Source.Kind != config.FromEnv {
					settings[k] = r.Value(k)
				}
			}
			_, err := doc.CreateProfile(r.Name, settings, true)
			return err
		}
		return setAll(doc, r.Name, settings)
	})
}
