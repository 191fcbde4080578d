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
	"github.com/camctl/camctl/internal/login"
	"github.com/camctl/camctl/internal/session"
	"github.com/camctl/camctl/internal/termsafe"
)

// LoginOptions are the inputs of `camctl login`.
type LoginOptions struct {
	IO *IOStreams
	// Session is the connection state of the run; Prompter asks.
	Session  func() *session.Session
	Prompter login.Prompter
	// ProfileFlag is --profile; Timeout is --timeout, named in hints.
	ProfileFlag string
	Timeout     time.Duration

	Settings          map[config.Key]string
	PasswordStdin     bool
	ClientSecretStdin bool
	TokenStdin        bool
	InsecureStorage   bool
	// Imported are secrets from --from-env-file (or --from-env).
	Imported map[config.Key]string

	// Web and Device sign a person in (spec §10): login --web, --device.
	Web, Device  bool
	NoBrowser    bool
	RedirectPort int
	LoginTimeout time.Duration
	// Open opens a URL in the browser (tests replace it).
	Open func(string) error

	impliedMethod string
}

// NewCmdLogin builds `camctl login`.
func NewCmdLogin(f *Factory, runF func(context.Context, *LoginOptions) error) *cobra.Command {
	opts := &LoginOptions{IO: f.IO, Session: f.newSession, Prompter: loginPrompter{f}}
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
logging in is usually simpler.

A person signs in as themselves with --web (a browser: authorization code
with PKCE, redirected to http://127.0.0.1:PORT/callback) or --device (a code
to enter on any device, for SSH sessions and containers). Both need the
identity provider's --issuer and a public --client-id; the refresh token is
stored in the OS keyring, bound to the token endpoint, and later commands
refresh the access token silently. Later commands never open a browser:
when the sign-in has expired or was revoked they exit 3 and name this
command. The person's login is checked with GET /v2/authentication/me.`,
		Example: `  camctl login -p helm --address https://camunda.example.com --auth basic --username demo
  printf '%s\n' "$PASSWORD" | camctl login -p helm --password-stdin
  camctl login -p saas --region bru-2 --cluster-id ID --client-id ID --client-secret-stdin
  camctl login                # the current profile; prompts for what it needs
  camctl login -p sm --web --address https://camunda.example.com --issuer https://keycloak.example.com/realms/camunda-platform --client-id camctl-cli
  camctl login -p sm --device # on a machine without a browser`,
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
			opts.ProfileFlag, opts.Timeout = f.Global.Profile, f.Global.Timeout
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
	cmd.Flags().BoolVar(&opts.InsecureStorage, "insecure-storage", false, "store the secret (or a person's refresh token) in a plain-text 0600 file instead of the OS keyring")
	cmd.Flags().BoolVar(&opts.Web, "web", false, "sign in as yourself in a browser (authorization code with PKCE; sets --grant authorization-code)")
	cmd.Flags().BoolVar(&opts.Device, "device", false, "sign in as yourself with a code entered on any device (RFC 8628; sets --grant device-code)")
	cmd.Flags().BoolVar(&opts.NoBrowser, "no-browser", false, "with --web: only print the sign-in URL, do not open a browser")
	cmd.Flags().IntVar(&opts.RedirectPort, "redirect-port", 0, "with --web: the loopback port of the redirect http://127.0.0.1:PORT/callback, for IdPs that need it registered (default: a free one)")
	cmd.Flags().DurationVar(&opts.LoginTimeout, "login-timeout", login.DefaultLoginTimeout, "with --web or --device: how long to wait for the sign-in")
	opts.Open = login.SystemOpener(func(k string) string { v, _ := f.LookupEnv(k); return v })
	return cmd
}

func runLogin(ctx context.Context, opts *LoginOptions) error {
	s := opts.Session()
	s.InLogin = true
	if err := opts.personFlags(); err != nil {
		return err
	}
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
	r, created, err := resolveForLogin(s, opts.ProfileFlag, opts.Settings, opts.impliedMethod)
	if err != nil {
		return err
	}
	if err := opts.checkStdinFlag(r); err != nil {
		return err
	}
	if err := config.CheckCombination(r.Value); err != nil {
		return err
	}
	if r.Person() && opts.ClientSecretStdin {
		return flagErrorf("profile %s signs a person in (grant %s) with a public client, which has no client secret: drop --client-secret-stdin", r.Name, r.Grant())
	}
	if (opts.Web || opts.Device) && r.Method() != config.MethodOIDC {
		return flagErrorf("profile %s uses %s auth (%s); a person signs in to an oidc profile: add --auth oidc", r.Name, r.Method(), r.Get(config.AuthMethod).Source)
	}
	res, err := login.Run(ctx, &login.Request{
		Profile:           r,
		Created:           created,
		Settings:          opts.Settings,
		Imported:          opts.Imported,
		PasswordStdin:     opts.PasswordStdin,
		ClientSecretStdin: opts.ClientSecretStdin,
		TokenStdin:        opts.TokenStdin,
		ReadStdin: func(ctx context.Context, key config.Key) (string, error) {
			return readStdinSecret(ctx, opts.IO.In, key)
		},
		InsecureStorage: opts.InsecureStorage,
		Person: login.PersonOptions{
			NoBrowser:    opts.NoBrowser,
			RedirectPort: opts.RedirectPort,
			Timeout:      opts.LoginTimeout,
			Notify:       func(line string) { fmt.Fprintln(opts.IO.ErrOut, line) },
			Open:         opts.Open,
		},
		Session:  s,
		Prompter: opts.Prompter,
		Redactor: opts.IO.Redactor,
		Explain: func(err error) error {
			// Ctrl-C at a prompt and during the check say the same.
			if isCancelled(err) {
				return session.Cancelled(err)
			}
			return explainLogin(err, r, opts.Timeout)
		},
		Progress: func(label string) func(error) {
			done := opts.IO.progress(label)
			return func(err error) { done(checkResult(err)) }
		},
	})
	for _, n := range res.Notes {
		fmt.Fprintln(opts.IO.ErrOut, n)
	}
	if err != nil {
		return err
	}
	if res.Person {
		printSignedIn(opts.IO.ErrOut, s, r, res)
		return nil
	}
	provider, client, topo, token, secretKey, where, storedPassphrase := res.Provider, res.Client, res.Topology, res.Token, res.SecretKey, res.Where, res.StoredPassphrase
	w := opts.IO.ErrOut
	who := "without authentication"
	if provider.Method() != config.MethodNone {
		who = fmt.Sprintf("as %s (%s auth)", provider.Identity(), provider.Method())
	}
	fmt.Fprintf(w, "Logged in to %s (profile %s) %s: gateway %s, %d brokers.\n",
		client.BaseURL(), r.Name, who, termsafe.Line(topo.GatewayVersion), len(topo.Brokers)+topo.Omitted.Brokers)
	if token != nil {
		fmt.Fprintf(w, "The token is valid until %s (in %s).\n",
			token.ExpiresAt.Local().Format("2006-01-02 15:04:05 MST"), time.Until(token.ExpiresAt).Round(time.Second))
	}
	what := auth.SecretName(secretKey)
	switch where {
	case auth.InKeyring:
		fmt.Fprintf(w, "The %s is stored in the OS keyring.\n", what)
	case auth.InFile:
		path, _ := config.SecretsPath(s.Getenv)
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
func resolveForLogin(s *session.Session, profileFlag string, settings map[config.Key]string, impliedMethod string) (*config.Resolved, bool, error) {
	file, path, err := s.LoadConfig()
	if err != nil {
		return nil, false, err
	}
	o := config.Options{ConfigPath: path, File: file, Profile: profileFlag, Flags: settings, LookupEnv: s.LookupEnv, AllowNew: len(settings) > 0}
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
	// Hints then name the flag to add to this login, not a `profile set`
	// of a profile that does not exist yet.
	r.New = created
	return r, created, nil
}

// loginPrompter asks through f's prompts, which tests replace.
type loginPrompter struct{ f *Factory }

func (p loginPrompter) CanPrompt() bool { return p.f.IO.CanPrompt() }
func (p loginPrompter) Prompt(ctx context.Context, label string) (string, error) {
	return p.f.Prompt(ctx, label)
}
func (p loginPrompter) PromptSecret(ctx context.Context, label string) (string, error) {
	return p.f.PromptSecret(ctx, label)
}

// readStdinSecret reads the secret of --*-stdin. Cancellable: on a
// terminal, stdin waits for Ctrl-D.
func readStdinSecret(ctx context.Context, in io.Reader, key config.Key) (string, error) {
	s, err := readCancellable(ctx, func() (string, error) {
		// One byte more than allowed (and the line end): enough to
		// tell a secret that is too long from one that fits.
		b, err := io.ReadAll(io.LimitReader(in, maxStdinSecret+3))
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

// explainLogin is explain for a login: credentials that the cluster
// rejected (and that the user typed or piped, not set in a variable) get
// the advice to check them.
func explainLogin(err error, r *config.Resolved, timeout time.Duration) error {
	var httpErr *api.HTTPError
	if errors.As(err, &httpErr) && httpErr.StatusCode == http.StatusUnauthorized && httpErr.Problem != nil && r.Method() != config.MethodNone && r.Method() != config.MethodOIDC && secretFromEnv(r) == "" {
		return withHint(fmt.Errorf("profile %s: %w", r.Name, err), "The cluster rejected these credentials; check them and run the same command again.")
	}
	return explain(err, r, timeout.String())
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

// personFlags checks --web, --device and their options, and turns --web
// or --device into the grant the profile keeps.
func (opts *LoginOptions) personFlags() error {
	if !opts.Web && !opts.Device && (opts.NoBrowser || opts.RedirectPort != 0 || opts.LoginTimeout != login.DefaultLoginTimeout) {
		return flagErrorf("--no-browser, --redirect-port and --login-timeout go with --web (and --login-timeout with --device)")
	}
	if opts.Device && (opts.NoBrowser || opts.RedirectPort != 0) {
		return flagErrorf("--no-browser and --redirect-port go with --web; --device opens no browser and has no redirect")
	}
	if opts.Web && opts.Device {
		return flagErrorf("--web and --device cannot be combined: choose the browser (--web) or a code for another device (--device)")
	}
	if opts.RedirectPort < 0 || opts.RedirectPort > 65535 {
		return flagErrorf("--redirect-port %d: give a port from 1 to 65535 (or 0 for a free one)", opts.RedirectPort)
	}
	if opts.LoginTimeout <= 0 {
		return flagErrorf("--login-timeout %s: give a positive duration, e.g. 5m", opts.LoginTimeout)
	}
	grant := ""
	switch {
	case opts.Web:
		grant = config.GrantAuthorizationCode
	case opts.Device:
		grant = config.GrantDeviceCode
	default:
		return nil
	}
	if g, ok := opts.Settings[config.Grant]; ok && g != grant {
		return flagErrorf("--grant %s does not fit %s, which signs in with %s", g, map[bool]string{true: "--web", false: "--device"}[opts.Web], grant)
	}
	if opts.PasswordStdin || opts.TokenStdin {
		return flagErrorf("a person's sign-in (--web, --device) takes no --password-stdin or --token-stdin")
	}
	opts.Settings[config.Grant] = grant
	if _, ok := opts.Settings[config.AuthMethod]; !ok {
		opts.impliedMethod = config.MethodOIDC
	}
	return nil
}

// printSignedIn says who signed in to what, until when, and where the
// sign-in is kept.
func printSignedIn(w io.Writer, s *session.Session, r *config.Resolved, res *login.Result) {
	who := res.Username
	if res.Identity != nil && res.Identity.DisplayName != "" && res.Identity.DisplayName != who {
		who = fmt.Sprintf("%s (%s)", who, termsafe.Line(res.Identity.DisplayName))
	}
	if who == "" {
		who = "a person the cluster does not name"
	}
	how := map[string]string{config.GrantAuthorizationCode: "in the browser", config.GrantDeviceCode: "with a device code"}[r.Grant()]
	fmt.Fprintf(w, "Signed in to %s (profile %s) as %s, %s.\n", res.Client.BaseURL(), r.Name, termsafe.Line(who), how)
	if res.Token != nil && !res.Token.ExpiresAt.IsZero() {
		fmt.Fprintf(w, "The access token is valid until %s (in %s); camctl refreshes it when it is due.\n",
			res.Token.ExpiresAt.Local().Format("2006-01-02 15:04:05 MST"), time.Until(res.Token.ExpiresAt).Round(time.Second))
	}
	if res.SignIn == nil {
		return
	}
	until := ""
	if !res.SignIn.ExpiresAt.IsZero() {
		until = ", until " + res.SignIn.ExpiresAt.Local().Format("2006-01-02 15:04:05 MST")
	}
	switch res.Where {
	case auth.InKeyring:
		fmt.Fprintf(w, "The refresh token is stored in the OS keyring%s.\n", until)
	case auth.InFile:
		path, _ := config.SecretsPath(s.Getenv)
		fmt.Fprintf(w, "Warning: the refresh token is stored in plain text in %s (mode 0600), as --insecure-storage asked%s.\n", path, until)
	}
}
