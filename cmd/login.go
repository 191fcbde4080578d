package cmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/camctl/camctl/internal/api"
	"github.com/camctl/camctl/internal/auth"
	"github.com/camctl/camctl/internal/config"
	"github.com/camctl/camctl/internal/session"
	"github.com/camctl/camctl/internal/termsafe"
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
		Args: func(cmd *cobra.Command, args []string) error {
			// Not repeated: `login --password-stdin hunter2` puts the
			// secret here.
			if len(args) > 0 {
				return flagErrorf("%s takes no arguments (%d given, not shown: it may be a secret); pipe a secret into --password-stdin, --client-secret-stdin or --token-stdin", cmd.CommandPath(), len(args))
			}
			return nil
		},
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
	addStdinFlag(cmd.Flags(), &opts.PasswordStdin, "password-stdin", "read the basic-auth password from stdin")
	addStdinFlag(cmd.Flags(), &opts.ClientSecretStdin, "client-secret-stdin", "read the OAuth client secret from stdin")
	addStdinFlag(cmd.Flags(), &opts.TokenStdin, "token-stdin", "read the static bearer token from stdin")
	cmd.Flags().BoolVar(&opts.InsecureStorage, "insecure-storage", false, "store the secret in a plain-text 0600 file instead of the OS keyring")
	return cmd
}

func runLogin(ctx context.Context, opts *LoginOptions) error {
	f := opts.f
	s := f.newSession()
	s.InLogin = true
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
	r, created, err := resolveForLogin(f, s, opts.Settings, opts.impliedMethod)
	if err != nil {
		return err
	}
	if err := opts.checkStdinFlag(r); err != nil {
		return err
	}
	deps, err := s.Deps(ctx, r, f.IO.CanPrompt())
	if err != nil {
		return explain(err, r, f.Global.Timeout.String())
	}
	// Before the first byte leaves (spec §8), the token request included,
	// and before the user types a secret that plain http:// would expose.
	s.Warn(r)
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
		// The Authorization header carries user:password in Base64.
		f.IO.Redactor.AddBasic(user, pw)
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
			// A secret stored by an earlier login still goes along, but
			// only to the token endpoint it was verified with.
			if st, err := secrets.Lookup(ctx, r, config.ClientSecret); err == nil && st.Value != "" && auth.CheckBinding(r, config.ClientSecret, st) == nil {
				cs = st.Value
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
			Key:      key,
			Secret:   func(context.Context) (string, error) { return cs, nil },
			HTTP:     deps.HTTP,
			Budget:   deps.Timeout,
			Redactor: f.IO.Redactor,
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

	client, err := s.APIClient(ctx, r, provider)
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

	// Passphrases of the client certificate, asked for now or given in
	// the environment, are kept like the other secrets.
	type certSecret struct {
		key   config.Key
		value string
	}
	var passphrases []certSecret
	for _, k := range []config.Key{config.KeyPassphrase, config.KeystorePassword} {
		v, asked := s.GivenCertSecret(k)
		if !asked && r.Get(k).Source.Kind == config.FromEnv {
			v = r.Value(k)
		}
		if v != "" && r.Storable() {
			passphrases = append(passphrases, certSecret{k, v})
		}
	}
	// Crash-safe order: the profile with its id is in the config file
	// before anything is stored under that id, so a crash at any point
	// leaves at most an item under an id that no profile has.
	needID := secretKey != "" || len(passphrases) > 0
	if needID && r.ID == "" && !created {
		// Items stored under the profile's name by an older camctl move
		// to its id first, bound to where the file pointed.
		if err := secrets.MigrateProfile(ctx, r); err != nil {
			return fmt.Errorf("login failed, nothing was stored: %w", err)
		}
	}
	if needID || len(opts.Settings) > 0 || created {
		id, err := saveLoginProfile(ctx, f, r, opts.Settings, needID)
		if err != nil {
			return fmt.Errorf("login failed, nothing was stored: profile %s could not be saved: %w", r.Name, err)
		}
		r.ID = id
	}

	var where string
	if secretKey != "" {
		if where, err = secrets.Save(ctx, r, secretKey, secret, opts.InsecureStorage); err != nil {
			return err
		}
	}
	storedPassphrase := false
	for _, p := range passphrases {
		k, v := p.key, p.value
		w, err := secrets.Save(ctx, r, k, v, opts.InsecureStorage)
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
	w := f.IO.ErrOut
	who := "without authentication"
	if provider.Method() != config.MethodNone {
		who = fmt.Sprintf("as %s (%s auth)", provider.Identity(), provider.Method())
	}
	fmt.Fprintf(w, "Logged in to %s (profile %s) %s: gateway %s, %d brokers.\n",
		client.BaseURL(), r.Name, who, termsafe.Line(topo.GatewayVersion), len(topo.Brokers)+topo.Omitted.Brokers)
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
func resolveForLogin(f *Factory, s *session.Session, settings map[config.Key]string, impliedMethod string) (*config.Resolved, bool, error) {
	file, path, err := s.LoadConfig()
	if err != nil {
		return nil, false, err
	}
	o := config.Options{ConfigPath: path, File: file, Profile: f.Global.Profile, Flags: settings, LookupEnv: f.LookupEnv, AllowNew: len(settings) > 0}
	sel := config.Select(o)
	if sel.Selection.Kind == config.FromFlag || sel.Selection.Kind == config.FromEnv && sel.Kind == config.KindFile {
		if err := config.ValidateName(sel.Name); err != nil {
			return nil, false, err
		}
	}
	if sel.Kind == config.KindEnv {
		// The environment profile is selected (spec §3): it has no name
		// to store anything under, and the current profile is not the
		// one in use.
		if sel.Outvoted != "" {
			return nil, false, &config.UsageError{Msg: fmt.Sprintf("the CAMUNDA_* environment (%s) is selected instead of current profile %s, and camctl uses it as it is, without login. To log in to the profile (with these variables applied to it), name it: `camctl login -p %s`",
				strings.Join(sel.EnvVars, ", "), sel.Outvoted, sel.Outvoted)}
		}
		return nil, false, &config.UsageError{Msg: "no profile is selected and CAMUNDA_* variables define the connection; camctl uses them as they are, without login. To store credentials in a profile, name it: `camctl login -p NAME`"}
	}
	r, err := config.Resolve(o)
	if err != nil {
		return nil, false, err
	}
	if _, ok := settings[config.AuthMethod]; r.New && !ok {
		// As with `profile add`: --username means basic, --client-id oidc.
		settings[config.AuthMethod] = impliedMethod
		if impliedMethod == "" {
			settings[config.AuthMethod] = config.MethodForNewProfile(settings, nil)
		}
		if r, err = config.Resolve(o); err != nil {
			return nil, false, err
		}
	}
	// Nothing selected: login works on the built-in local profile, which
	// becomes a real one if flags change it.
	created := r.New || r.Kind == config.KindBuiltin && len(settings) > 0
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
		return "", session.Cancelled(err)
	}
	if u = strings.TrimSpace(u); u == "" {
		return "", &config.UsageError{Msg: "no username given"}
	}
	return u, nil
}

// loginSecret gets the secret from, in order: --*-stdin, the environment,
// a hidden prompt on a terminal. This is where login obtains it, so the
// redactor learns it here.
func loginSecret(ctx context.Context, f *Factory, r *config.Resolved, opts *LoginOptions, fromStdin bool, key config.Key, label string) (secret string, err error) {
	defer func() { f.IO.Redactor.Add(secret) }()
	fld, _ := config.FieldFor(key)
	if fromStdin {
		// Cancellable: on a terminal, stdin waits for Ctrl-D.
		s, err := readCancellable(ctx, func() (string, error) {
			// One byte more than allowed (and the line end): enough to
			// tell a secret that is too long from one that fits.
			b, err := io.ReadAll(io.LimitReader(f.IO.In, maxStdinSecret+3))
			return string(b), err
		}, func() {})
		if err != nil {
			return "", session.Cancelled(fmt.Errorf("read the secret from stdin: %w", err))
		}
		whole := len(s) < maxStdinSecret+3
		s = strings.TrimRight(s, "\r\n")
		if len(s) > maxStdinSecret || !whole {
			// Refused, not cut: a truncated secret would be stored and
			// fail later, far from the cause (spec §8).
			return "", &config.UsageError{Msg: fmt.Sprintf("the %s on stdin is longer than 64 KiB; camctl refuses it rather than cut it", auth.SecretName(key))}
		}
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
		return "", session.Cancelled(err)
	}
	if s == "" {
		return "", &config.UsageError{Msg: "no " + auth.SecretName(key) + " given"}
	}
	return s, nil
}

// saveLoginProfile writes the login flags into the profile, creating it
// (and making it current when it is the first) if needed, and with
// needID gives it an id if it has none. It returns the profile's id.
func saveLoginProfile(ctx context.Context, f *Factory, r *config.Resolved, settings map[config.Key]string, needID bool) (string, error) {
	id := ""
	err := config.Edit(ctx, r.ConfigPath, func(doc *config.Document) error {
		if !doc.HasProfile(r.Name) {
			// Only what the command line says, never what came from the
			// environment: the file must not pick up a CI job's variables.
			for _, k := range []config.Key{config.Address, config.AuthMethod} {
				if _, ok := settings[k]; !ok && r.Get(k).Source.Kind != config.FromEnv {
					settings[k] = r.Value(k)
				}
			}
			if _, err := doc.CreateProfile(r.Name, settings, true); err != nil {
				return err
			}
		} else if err := setAll(doc, r.Name, settings); err != nil {
			return err
		}
		id = doc.ProfileID(r.Name)
		if needID {
			var err error
			id, err = doc.EnsureProfileID(r.Name, r.ID)
			return err
		}
		return nil
	})
	return id, err
}

// maxStdinSecret bounds a secret read from stdin (spec §8): far above any
// real password, client secret or token, and a guard against piping in a
// file by mistake.
const maxStdinSecret = 64 << 10

// addStdinFlag adds a --*-stdin switch. It takes no value: one given to
// it (--password-stdin=hunter2) is most likely the secret itself, and is
// refused without being repeated (see stdinFlagError).
func addStdinFlag(fs *pflag.FlagSet, p *bool, name, usage string) {
	fs.Var((*stdinFlag)(p), name, usage)
	fs.Lookup(name).NoOptDefVal = "true"
}

type stdinFlag bool

func (b *stdinFlag) String() string   { return strconv.FormatBool(bool(*b)) }
func (b *stdinFlag) Type() string     { return "bool" }
func (b *stdinFlag) IsBoolFlag() bool { return true }
func (b *stdinFlag) Set(v string) error {
	if v != "true" {
		// Never the value: pflag wraps this in a message that quotes
		// it, which stdinFlagError replaces.
		return errors.New("takes no value")
	}
	*b = true
	return nil
}

// stdinFlagError is the message for a value given to a --*-stdin flag,
// without the value, or nil for any other flag error.
func stdinFlagError(err error) error {
	var ive *pflag.InvalidValueError
	if !errors.As(err, &ive) {
		return nil
	}
	if _, ok := ive.GetFlag().Value.(*stdinFlag); !ok {
		return nil
	}
	name := ive.GetFlag().Name
	return fmt.Errorf("--%s takes no value (the one given is not shown: it may be the secret); pipe the secret into it instead: printf '%%s\\n' \"$SECRET\" | camctl login --%s", name, name)
}
