package cmd

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/camctl/camctl/internal/api"
	"github.com/camctl/camctl/internal/auth"
	"github.com/camctl/camctl/internal/config"
	"github.com/camctl/camctl/internal/session"
	"github.com/camctl/camctl/internal/status"
	"github.com/camctl/camctl/internal/termsafe"
)

type shownSetting struct {
	Key    string `json:"key"`
	Value  string `json:"value"`
	Source string `json:"source"`
}

type shownSecret struct {
	Key string `json:"key"`
	// Status is "stored", "env", "missing" or "unknown" (store unreachable).
	Status string `json:"status"`
	// Where is "keyring", "file" or the variable name.
	Where  string `json:"where,omitempty"`
	Detail string `json:"detail,omitempty"`
	// Optional is set for a client secret that an oidc profile with a
	// client certificate may do without (tls_client_auth).
	Optional bool `json:"optional,omitempty"`
	// Bound are the origins a stored secret was verified with and is
	// sent to (spec §5).
	Bound []string `json:"bound,omitempty"`
	// Refused says why this run would not send the stored secret: the
	// profile now points elsewhere.
	Refused string `json:"refused,omitempty"`
}

// settingName is how a setting that points somewhere is called.
func settingName(k config.Key) string {
	if k == config.TokenURL {
		return "token URL"
	}
	return "address"
}

type shownProfile struct {
	Name       string         `json:"name"`
	Kind       string         `json:"kind"`
	SelectedBy string         `json:"selectedBy"`
	ConfigFile string         `json:"configFile"`
	Settings   []shownSetting `json:"settings"`
	Secrets    []shownSecret  `json:"secrets"`
	// Token is the cached access token of an oidc profile (nil otherwise).
	Token *shownToken `json:"token"`
	// Certificate describes the client certificate (never its key).
	Certificate *shownCert `json:"certificate,omitempty"`
	// ClientAuth says how the client authenticates (spec §11): secret,
	// certificate, private_key_jwt with its key and thumbprint, federated
	// with its source, exec with its command.
	ClientAuth *auth.ClientAuth `json:"clientAuth,omitempty"`
}

type shownCert struct {
	*api.CertInfo
	Error string `json:"error,omitempty"`
}

type shownToken struct {
	Cached    bool   `json:"cached"`
	Where     string `json:"where,omitempty"`
	ExpiresAt string `json:"expiresAt,omitempty"`
	Valid     bool   `json:"valid"`
}

// ProfileShowOptions are the inputs of `profile show`.
type ProfileShowOptions struct {
	IO *IOStreams
	// Session is the connection state of the run.
	Session func() *session.Session
	// Output is -o.
	Output string
	// Name is the profile to show ("" selects as usual); ByFlag says it
	// is the one --profile named.
	Name   string
	ByFlag bool
}

func newCmdProfileShow(f *Factory, runF func(context.Context, *ProfileShowOptions) error) *cobra.Command {
	return &cobra.Command{
		Use:   "show [NAME]",
		Short: "Show every setting of a profile and where it came from",
		Long: `Show every setting of a profile (default: the one camctl would use now) with
its value and where it came from: a flag, an environment variable, the config
file or the built-in default. Secrets are never shown, only whether one is
stored and where.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 1 {
				return flagErrorf("%s takes at most one profile NAME", cmd.CommandPath())
			}
			return nil
		},
		ValidArgsFunction: profileArg(f, true),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts := &ProfileShowOptions{IO: f.IO, Session: f.newSession, Output: f.Global.Output, Name: f.Global.Profile}
			if len(args) == 1 {
				opts.Name = args[0]
			}
			opts.ByFlag = opts.Name != "" && opts.Name == f.Global.Profile
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runProfileShow(cmd.Context(), opts)
		},
	}
}

func runProfileShow(ctx context.Context, opts *ProfileShowOptions) error {
	sess, name := opts.Session(), opts.Name
	r, err := sess.ResolveProfile(name, nil)
	if err != nil {
		return err
	}
	out := shownProfile{Name: r.Name, SelectedBy: r.Selection.String(), ConfigFile: r.ConfigPath, Settings: []shownSetting{}, Secrets: []shownSecret{}}
	switch r.Kind {
	case config.KindFile:
		out.Kind = "config"
	case config.KindBuiltin:
		out.Kind = "builtin"
	case config.KindEnv:
		out.Kind = "environment"
	}
	if name != "" {
		out.SelectedBy = "argument"
		if opts.ByFlag {
			out.SelectedBy = config.Source{Kind: config.FromFlag, Name: "profile"}.String()
		}
	}
	for _, fld := range config.Fields {
		if fld.Secret {
			continue
		}
		s := r.Get(fld.Key)
		src := s.Source.String()
		if !s.IsSet() {
			src = "unset"
		}
		out.Settings = append(out.Settings, shownSetting{Key: string(fld.Key), Value: s.Value, Source: src})
	}
	secrets, err := sess.Secrets(r, false)
	if err != nil {
		return err
	}
	// The token endpoint of an --issuer profile, from the cached
	// discovery document (no request): stored secrets are bound to it.
	_, _ = auth.ApplyDiscovery(ctx, r, auth.NewDiscovery(auth.Deps{Tokens: sess.TokenCache(secrets, r)}), true)
	for _, key := range relevantSecrets(r) {
		out.Secrets = append(out.Secrets, secretStatus(ctx, secrets, r, key))
	}
	if path := r.Value(config.ClientCert); path != "" && !r.Get(config.Keystore).IsSet() {
		// The certificate file says all that is shown; the key (and its
		// passphrase) stays untouched.
		info, err := api.ReadCertInfo(path)
		out.Certificate = &shownCert{CertInfo: info}
		if err != nil {
			out.Certificate.Error = err.Error()
		}
	} else if r.Get(config.Keystore).IsSet() {
		info, err := sess.ClientCert(ctx, r)
		out.Certificate = &shownCert{CertInfo: info}
		if err != nil {
			out.Certificate.Error = err.Error()
		}
	}
	if r.Method() != config.MethodNone {
		ca := auth.DescribeClientAuthWith(ctx, r, secrets)
		out.ClientAuth = &ca
	}
	if argv, err := config.DecodeCommand(r.Value(config.Command)); err == nil && len(argv) > 0 && r.Method() == config.MethodExec {
		if secrets, err := sess.Secrets(r, false); err == nil {
			out.Token = &shownToken{}
			if t, where, err := sess.TokenCache(secrets, r).Get(ctx, auth.ExecKey(r, argv)); err == nil && t != nil {
				out.Token = &shownToken{Cached: true, Where: where, ExpiresAt: t.ExpiresAt.UTC().Format(time.RFC3339), Valid: t.FreshAt(time.Now())}
			}
		}
	}
	if secrets, err := sess.Secrets(r, false); err == nil && r.Method() == config.MethodOIDC {
		// The cache alone: no HTTP client, CA bundle or certificate is
		// needed to read it.
		cache := sess.TokenCache(secrets, r)
		if key, err := auth.LocalTokenKey(r, cache); err == nil {
			out.Token = &shownToken{}
			if t, where, err := cache.Get(ctx, key); err == nil && t != nil {
				out.Token = &shownToken{Cached: true, Where: where, ExpiresAt: t.ExpiresAt.UTC().Format(time.RFC3339), Valid: t.FreshAt(time.Now())}
			}
		}
	}

	if opts.Output == OutputJSON || opts.Output == OutputYAML {
		return writeData(opts.IO.Out, opts.Output, out)
	}
	// One Write for the whole view (Out redacts per write); every value
	// is one safe line, so a tab in a config value cannot open a column.
	var buf bytes.Buffer
	if err := renderProfile(&buf, out); err != nil {
		return err
	}
	_, err = opts.IO.Out.Write(buf.Bytes())
	return err
}

func renderProfile(w io.Writer, out shownProfile) error {
	tw := tabwriter.NewWriter(w, 0, 0, 1, ' ', 0)
	kind := map[string]string{"config": "from the config file", "builtin": "built in (not in the config file)", "environment": "CAMUNDA_* variables only"}[out.Kind]
	fmt.Fprintf(tw, "Profile:\t%s\n", out.Name)
	fmt.Fprintf(tw, "Kind:\t%s\n", kind)
	fmt.Fprintf(tw, "Selected by:\t%s\n", out.SelectedBy)
	fmt.Fprintf(tw, "Config file:\t%s\n", termsafe.Line(out.ConfigFile))
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SETTING\tVALUE\tSOURCE")
	for _, s := range out.Settings {
		if s.Source == "unset" {
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", s.Key, termsafe.Line(s.Value), termsafe.Line(s.Source))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	// One table per section, so a long cell in one does not pad the others.
	section := func(title string, rows [][2]string) error {
		if len(rows) == 0 {
			return nil
		}
		fmt.Fprintf(w, "\n%s\n", title)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		for _, r := range rows {
			fmt.Fprintf(tw, "%s\t%s\n", r[0], termsafe.Line(r[1]))
		}
		return tw.Flush()
	}
	var secretRows [][2]string
	for _, s := range out.Secrets {
		secretRows = append(secretRows, [2]string{s.Key, describeSecret(s, out.Name)})
	}
	if t := out.Token; t != nil {
		secretRows = append(secretRows, [2]string{"access token", describeToken(t)})
	}
	if err := section("SECRET", secretRows); err != nil {
		return err
	}
	if c := out.ClientAuth; c != nil {
		rows := [][2]string{{"kind", c.Kind}}
		add := func(k, v string) {
			if v != "" {
				rows = append(rows, [2]string{k, v})
			}
		}
		add("key", c.KeyFile)
		add("certificate", c.Certificate)
		add("algorithm", c.Alg)
		add("thumbprint (kid)", c.Thumbprint)
		add("source", c.Source)
		add("audience", c.Audience)
		if len(c.Command) > 0 {
			add("command", strings.Join(c.Command, " "))
		}
		add("problem", c.Problem)
		if err := section("CLIENT AUTHENTICATION", rows); err != nil {
			return err
		}
	}
	var certRows [][2]string
	if c := out.Certificate; c != nil {
		if c.CertInfo != nil {
			certRows = append(certRows,
				[2]string{"subject", c.Subject},
				[2]string{"issuer", c.Issuer},
				[2]string{"valid", c.NotBefore.UTC().Format(time.DateOnly) + " to " + c.NotAfter.UTC().Format(time.DateOnly)})
		}
		if c.Error != "" {
			certRows = append(certRows, [2]string{"problem", c.Error})
		}
	}
	return section("CERTIFICATE", certRows)
}

// relevantSecrets are the secrets the profile needs: its method's, and
// the passphrase of an encrypted key or the keystore password.
func relevantSecrets(r *config.Resolved) []config.Key {
	want := map[config.Key]bool{}
	switch r.Method() {
	case config.MethodBasic:
		want[config.Password] = true
	case config.MethodOIDC:
		if r.Person() {
			// A person's sign-in: the refresh token login stored.
			want[config.RefreshToken] = true
		} else {
			// A client assertion replaces the secret (spec §11).
			want[config.ClientSecret] = !auth.HasAssertion(r)
		}
		if r.Get(config.AssertionKeystore).IsSet() {
			want[config.AssertionKeystorePw] = true
		} else if k := r.Value(config.AssertionKey); k != "" && api.KeyIsEncrypted(k) {
			want[config.AssertionKeyPassword] = true
		}
	case config.MethodBearer:
		want[config.Token] = true
	}
	if k := r.Value(config.ClientKey); k != "" && api.KeyIsEncrypted(k) {
		want[config.KeyPassphrase] = true
	}
	if r.Get(config.Keystore).IsSet() {
		want[config.KeystorePassword] = true
	}
	var keys []config.Key
	for _, fld := range config.Fields {
		if fld.Secret && want[fld.Key] {
			keys = append(keys, fld.Key)
		}
	}
	return keys
}

func secretStatus(ctx context.Context, secrets *auth.Secrets, r *config.Resolved, key config.Key) shownSecret {
	st := status.LookupSecret(ctx, secrets, r, key)
	s := shownSecret{Key: string(key), Status: st.Status, Where: st.Where, Detail: st.Detail, Optional: st.Optional, Bound: st.Bound}
	if be := st.Refused; be != nil {
		s.Refused = refusedNote(be, r.Name)
	}
	return s
}

// refusedNote says that a stored secret bound elsewhere is not sent, and
// the login that binds it where the profile points now.
func refusedNote(be *auth.BindingError, profile string) string {
	return fmt.Sprintf("not sent to %s (%s from %s): run `camctl login -p %s` to bind it there", be.Now, settingName(be.Setting), be.Source, profile)
}

func describeToken(t *shownToken) string {
	if !t.Cached {
		return "none cached"
	}
	place := "the OS keyring"
	if t.Where == auth.InFile {
		place = "the file cache"
	}
	exp, _ := time.Parse(time.RFC3339, t.ExpiresAt)
	if !t.Valid {
		return fmt.Sprintf("cached in %s, expired or about to (%s); the next command fetches a new one", place, exp.Local().Format("2006-01-02 15:04 MST"))
	}
	return fmt.Sprintf("cached in %s, valid until %s (in %s)", place, exp.Local().Format("2006-01-02 15:04 MST"), time.Until(exp).Round(time.Second))
}

func describeSecret(s shownSecret, profile string) string {
	switch s.Status {
	case "env":
		return "from env " + s.Where
	case "stored":
		where := "stored in the OS keyring"
		if s.Where == auth.InFile {
			where = "stored in a plain-text file (--insecure-storage)"
		}
		if len(s.Bound) > 0 {
			where += ", bound to " + strings.Join(s.Bound, " and ")
		}
		if s.Refused != "" {
			where += "; " + s.Refused
		}
		return where
	case "missing":
		if s.Optional {
			return "not stored (none needed: the client certificate authenticates)"
		}
		if profile == config.EnvProfileName {
			return "not set"
		}
		return fmt.Sprintf("not stored (run `camctl login -p %s`)", profile)
	}
	return "unknown: " + s.Detail
}
