package cmd

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/camctl/camctl/internal/auth"
	"github.com/camctl/camctl/internal/config"
	"github.com/camctl/camctl/internal/session"
	"github.com/camctl/camctl/internal/termsafe"
)

// NewCmdProfile builds `camctl profile` and its subcommands.
func NewCmdProfile(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "profile",
		Short: "Manage cluster profiles",
		Long: `A profile is a named cluster connection: its address, auth method and TLS
settings. Secrets are never part of a profile; ` + "`camctl login`" + ` stores them in the
OS keyring.`,
		// A group without RunE would print help and exit 0 for a
		// mistyped subcommand; that must be a usage error.
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return flagErrorf("unknown command %q for %q", args[0], cmd.CommandPath())
			}
			return cmd.Help()
		},
	}
	cmd.AddCommand(
		newCmdProfileAdd(f, nil),
		newCmdProfileSet(f, nil),
		withDataOutput(newCmdProfileList(f, nil)),
		newCmdProfileUse(f, nil),
		withDataOutput(newCmdProfileCurrent(f, nil)),
		withDataOutput(newCmdProfileShow(f, nil)),
		newCmdProfileRemove(f, nil),
		newCmdProfileRename(f, nil),
	)
	return cmd
}

// ProfileOptions are the inputs of `profile list`, `current`, `use`,
// `remove` and `rename`: IO, the run's session and -o, with the profile
// names given as arguments.
type ProfileOptions struct {
	IO *IOStreams
	// Session is the connection state of the run.
	Session func() *session.Session
	// Output is -o; ProfileFlag is --profile.
	Output, ProfileFlag string
	// Names are the arguments, validated.
	Names []string
}

func profileOptions(f *Factory, args []string) (*ProfileOptions, error) {
	for _, n := range args {
		if err := config.ValidateName(n); err != nil {
			return nil, err
		}
	}
	return &ProfileOptions{IO: f.IO, Session: f.newSession, Output: f.Global.Output, ProfileFlag: f.Global.Profile, Names: args}, nil
}

// runProfileCmd is the RunE of a profile subcommand: options from f and
// args, then runF (tests) or run.
func runProfileCmd(f *Factory, runF, run func(context.Context, *ProfileOptions) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		opts, err := profileOptions(f, args)
		if err != nil {
			return err
		}
		if runF != nil {
			return runF(cmd.Context(), opts)
		}
		return run(cmd.Context(), opts)
	}
}

// profileArg completes the first argument with profile names; the
// built-in local profile only where it can be used.
func profileArg(f *Factory, withBuiltin bool) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		names, dir := f.completeProfiles(cmd, args, toComplete)
		if !withBuiltin {
			if file, _, err := f.newSession().LoadConfig(); err == nil {
				if _, ok := file.Profiles[config.BuiltinLocalName]; !ok {
					names = slices.DeleteFunc(names, func(n cobra.Completion) bool { return n == config.BuiltinLocalName })
				}
			}
		}
		return names, dir
	}
}

func newCmdProfileAdd(f *Factory, runF func(context.Context, *ProfileEditOptions) error) *cobra.Command {
	return profileEditCmd(f, &cobra.Command{
		Use:   "add NAME",
		Short: "Create a profile",
		Long: `Create a profile from flags. It fails if NAME exists. The first profile
added becomes the current one. Secrets are not accepted as flags: store them
with ` + "`camctl login -p NAME`" + `.`,
		Example: `  camctl profile add helm --address https://camunda.example.com --auth basic --username demo
  camctl profile add dev --address http://localhost:8088
  camctl profile add saas --region bru-2 --cluster-id 0a1b2c3d-... --client-id my-client
  camctl profile add saas --from-env-file ~/Downloads/credentials.env   # Console download`,
	}, orRun(runF, runProfileAdd))
}

// ProfileEditOptions are the inputs of `profile add` and `profile set`.
type ProfileEditOptions struct {
	IO         *IOStreams
	ConfigPath func() (string, error)
	// Stores builds the secret stores of a config file (Factory.Secrets).
	Stores func(configPath string, interactive bool) (*auth.Secrets, error)

	Name     string
	Settings map[config.Key]string
	// Secrets come from --from-env or --from-env-file.
	Secrets  map[config.Key]string
	Insecure bool
}

// orRun is runF when a test gives one, else run.
func orRun(runF, run func(context.Context, *ProfileEditOptions) error) func(context.Context, *ProfileEditOptions) error {
	if runF != nil {
		return runF
	}
	return run
}

// profileEditCmd gives cmd the profile setting flags and the argument
// handling that add and set share, and runs run with the result.
func profileEditCmd(f *Factory, cmd *cobra.Command, run func(context.Context, *ProfileEditOptions) error) *cobra.Command {
	opts := &ProfileEditOptions{IO: f.IO, ConfigPath: f.ConfigPath, Stores: f.Secrets}
	flags := addProfileFlags(cmd)
	cmd.Flags().BoolVar(&opts.Insecure, "insecure-storage", false, "store an imported secret in a plain-text 0600 file instead of the OS keyring")
	cmd.Args = exactArgs(1, "a profile NAME")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		opts.Name = args[0]
		if err := config.ValidateName(opts.Name); err != nil {
			return err
		}
		var err error
		if opts.Settings, opts.Secrets, err = flags.collect(f.LookupEnv); err != nil {
			return err
		}
		return run(cmd.Context(), opts)
	}
	return cmd
}

func runProfileAdd(ctx context.Context, o *ProfileEditOptions) error {
	name, settings, secrets, insecure := o.Name, o.Settings, o.Secrets, o.Insecure
	if err := config.CheckCombination(func(k config.Key) string { return settings[k] }); err != nil {
		return err
	}
	path, err := o.ConfigPath()
	if err != nil {
		return err
	}
	store, err := secretsForImport(ctx, o, path, secrets, insecure)
	if err != nil {
		return err
	}
	becameCurrent := false
	err = config.Edit(ctx, path, func(doc *config.Document) (err error) {
		becameCurrent, err = doc.CreateProfile(name, settings, true)
		return err
	})
	if err != nil {
		return err
	}
	w := o.IO.ErrOut
	fmt.Fprintf(w, "Added profile %q (%s, auth %s).\n", name, settings[config.Address], settings[config.AuthMethod])
	if becameCurrent {
		fmt.Fprintf(w, "It is now the current profile.\n")
	}
	if err := storeImported(ctx, o, store, name, secrets, insecure); err != nil {
		return err
	}
	if m := settings[config.AuthMethod]; m != config.MethodNone && len(secrets) == 0 {
		what := "stores its secret and checks the connection"
		if m == config.MethodOIDC && (settings[config.ClientCert] != "" || settings[config.Keystore] != "") {
			what = "checks the connection and the client certificate"
		}
		switch {
		case m == config.MethodOIDC && (settings[config.AssertionKey] != "" || settings[config.AssertionKeystore] != ""):
			what = "checks the connection and the key that signs the client assertions"
		case m == config.MethodOIDC && (settings[config.AssertionFile] != "" || settings[config.AssertionEnv] != "" || settings[config.AssertionFrom] != ""):
			what = "checks the connection with the CI platform's token (where the job has one)"
		case m == config.MethodExec:
			what = "runs the command and checks the connection"
		}
		fmt.Fprintf(w, "Next: `camctl login -p %s` %s.\n", name, what)
	}
	return nil
}

// secretsForImport returns the secret stores when secrets were imported,
// after making sure they can be kept: nothing is written otherwise.
func secretsForImport(ctx context.Context, o *ProfileEditOptions, configPath string, secrets map[config.Key]string, insecure bool) (*auth.Secrets, error) {
	if len(secrets) == 0 {
		return nil, nil
	}
	store, err := o.Stores(configPath, o.IO.CanPrompt())
	if err != nil {
		return nil, err
	}
	if !insecure {
		if err := store.KeyringStatus(ctx); err != nil {
			return nil, &auth.NoKeyringError{Err: err}
		}
	}
	return store, nil
}

// storeImported keeps imported secrets in the secret store, bound to
// the origins the profile's config file gives (nobody verified them, so
// only where the user configured them to go).
func storeImported(ctx context.Context, o *ProfileEditOptions, store *auth.Secrets, name string, secrets map[config.Key]string, insecure bool) error {
	if len(secrets) == 0 {
		return nil
	}
	path, err := o.ConfigPath()
	if err != nil {
		return err
	}
	// A profile from before ids first moves what it has stored under its
	// name, so that giving it an id does not strand those items.
	if r, err := fileProfile(path, name); err == nil && r.ID == "" {
		if err := store.MigrateProfile(ctx, r); err != nil {
			return fmt.Errorf("profile %s is saved, but its secrets could not be stored: %w", name, err)
		}
	}
	if err := config.Edit(ctx, path, func(doc *config.Document) error {
		_, err := doc.EnsureProfileID(name, "")
		return err
	}); err != nil {
		return fmt.Errorf("profile %s is saved, but its secrets could not be stored: %w", name, err)
	}
	r, err := fileProfile(path, name)
	if err != nil {
		return fmt.Errorf("profile %s is saved, but its secrets could not be stored: %w", name, err)
	}
	for _, fld := range config.Fields {
		v, ok := secrets[fld.Key]
		if !ok {
			continue
		}
		where, err := store.Save(ctx, r, fld.Key, v, insecure)
		if err != nil {
			return fmt.Errorf("profile %s is saved, but its %s could not be stored: %w", name, auth.SecretName(fld.Key), err)
		}
		place := "in the OS keyring"
		if where == auth.InFile {
			place = "in a plain-text 0600 file (--insecure-storage)"
		}
		fmt.Fprintf(o.IO.ErrOut, "Stored the %s %s.\n", auth.SecretName(fld.Key), place)
	}
	return nil
}

// fileProfile resolves profile name from the config file at path alone:
// no flags, no environment. It is what the profile says about itself,
// which names the items to delete or move and the origins of a binding.
func fileProfile(path, name string) (*config.Resolved, error) {
	file, err := config.Load(path)
	if err != nil {
		return nil, err
	}
	return config.Resolve(config.Options{ConfigPath: path, File: file, Profile: name})
}

func newCmdProfileSet(f *Factory, runF func(context.Context, *ProfileEditOptions) error) *cobra.Command {
	cmd := profileEditCmd(f, &cobra.Command{
		Use:   "set NAME",
		Short: "Change settings of a profile",
		Long: `Change only the settings given as flags. An empty value removes a setting
(for example --scope "").`,
		Example: `  camctl profile set helm --ca-file /etc/pki/internal-ca.pem`,
	}, orRun(runF, runProfileSet))
	cmd.ValidArgsFunction = profileArg(f, true)
	return cmd
}

func runProfileSet(ctx context.Context, o *ProfileEditOptions) error {
	name, settings, secrets, insecure := o.Name, o.Settings, o.Secrets, o.Insecure
	if len(settings) == 0 && len(secrets) == 0 {
		return flagErrorf("no settings given: pass at least one flag, such as --address or --auth")
	}
	path, err := o.ConfigPath()
	if err != nil {
		return err
	}
	store, err := secretsForImport(ctx, o, path, secrets, insecure)
	if err != nil {
		return err
	}
	_, moves := settings[config.Address]
	if _, ok := settings[config.TokenURL]; ok {
		moves = true
	}
	var before *config.Resolved
	if moves {
		// Secrets stored under the name by an older camctl were verified
		// with the address the file has now: they are moved to an id and
		// bound to it before the edit changes it.
		if before, err = fileProfile(path, name); err == nil {
			if s, serr := o.Stores(path, false); serr == nil {
				if err := s.MigrateProfile(ctx, before); err != nil {
					return err
				}
			}
		}
	}
	if current, ferr := fileProfile(path, name); ferr == nil {
		// The profile as it will be: its settings, these flags over them.
		merged := func(k config.Key) string {
			if v, ok := settings[k]; ok {
				return v
			}
			return current.Value(k)
		}
		if err := config.CheckCombination(merged); err != nil {
			return err
		}
	}
	// What the user changed, before CreateProfile fills in a method of
	// its own (the built-in local profile's first change).
	keys := make([]string, 0, len(settings))
	for _, fld := range config.Fields {
		if _, ok := settings[fld.Key]; ok {
			keys = append(keys, string(fld.Key))
		}
	}
	err = config.Edit(ctx, path, func(doc *config.Document) error {
		if !doc.HasProfile(name) {
			if name != config.BuiltinLocalName {
				return config.UnknownProfileError(name, "", doc.ProfileNames())
			}
			// The built-in profile becomes a real one on its first change,
			// without becoming current: CAMUNDA_* variables alone must
			// still make up the environment profile.
			_, err := doc.CreateProfile(name, settings, false)
			return err
		}
		return doc.SetAll(name, settings)
	})
	if err != nil {
		return err
	}
	if len(keys) > 0 {
		fmt.Fprintf(o.IO.ErrOut, "Updated profile %q: %s.\n", name, strings.Join(keys, ", "))
	}
	if err := storeImported(ctx, o, store, name, secrets, insecure); err != nil {
		return err
	}
	if moves && before != nil && before.ID != "" {
		noteRebind(ctx, o, path, name, secrets)
	}
	return nil
}

// noteRebind says in one line that a stored secret of profile name is
// bound to where the profile pointed before this edit, so camctl will
// not send it until a login verifies it at the new place. Secrets just
// imported by the same command are bound to the new place already.
func noteRebind(ctx context.Context, o *ProfileEditOptions, path, name string, imported map[config.Key]string) {
	r, err := fileProfile(path, name)
	if err != nil {
		return
	}
	store, err := o.Stores(path, false)
	if err != nil {
		return
	}
	for _, key := range auth.SecretKeys() {
		if _, ok := imported[key]; ok {
			continue
		}
		st, err := store.Lookup(ctx, r, key)
		if err != nil || st.Where == "" {
			continue
		}
		var be *auth.BindingError
		if errors.As(auth.CheckBinding(r, key, st), &be) {
			fmt.Fprintf(o.IO.ErrOut, "Note: the stored %s of profile %s is bound to %s; run `camctl login -p %s` before camctl sends it to %s.\n", be.What, name, be.Bound, name, be.Now)
			return
		}
	}
}

type profileRow struct {
	Name    string `json:"name"`
	Current bool   `json:"current"`
	Address string `json:"address"`
	Auth    string `json:"auth"`
	// Builtin marks the built-in local profile, listed only while it is
	// the one in use (and not defined in the file).
	Builtin bool `json:"builtin,omitempty"`
}

func newCmdProfileList(f *Factory, runF func(context.Context, *ProfileOptions) error) *cobra.Command {
	return &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List profiles",
		Long:    "List the profiles of the config file; `*` marks the one camctl would use now.",
		Args:    noArgs,
		RunE:    runProfileCmd(f, runF, runProfileList),
	}
}

func runProfileList(_ context.Context, opts *ProfileOptions) error {
	s := opts.Session()
	file, path, err := s.LoadConfig()
	if err != nil {
		return err
	}
	// The profile camctl would use now, by the same rule as every other
	// command: also a file's own "local" when none is current.
	current := ""
	if r, err := config.Resolve(config.Options{ConfigPath: path, File: file, Profile: opts.ProfileFlag, LookupEnv: s.LookupEnv}); err == nil {
		current = r.Name
		s.NoteEnvProfile(r)
	} else if current = opts.ProfileFlag; current == "" {
		// An unknown -p or $CAMCTL_PROFILE, or a variable that does not
		// resolve: still list what there is, marking what was chosen.
		if current = s.Getenv(config.EnvProfile); current == "" {
			current = file.CurrentProfile
		}
	}
	rows := make([]profileRow, 0, len(file.Profiles))
	for _, name := range file.Names() {
		p := file.Profiles[name]
		method := p.Auth.Method
		if method == "" {
			method = config.MethodNone
		}
		addr := p.Address
		if addr == "" {
			addr = config.DefaultAddress
		}
		rows = append(rows, profileRow{Name: name, Current: name == current, Address: addr, Auth: method})
	}
	if _, ok := file.Profiles[config.BuiltinLocalName]; !ok && current == config.BuiltinLocalName {
		// What commands use now is always on the list: the built-in
		// profile too, while it is the one in use (as docker context ls
		// lists its default context).
		row := profileRow{Name: config.BuiltinLocalName, Current: true, Address: config.DefaultAddress, Auth: config.MethodNone, Builtin: true}
		i := 0
		for i < len(rows) && rows[i].Name < row.Name {
			i++
		}
		rows = slices.Insert(rows, i, row)
	}
	if opts.Output == OutputJSON || opts.Output == OutputYAML {
		return writeData(opts.IO.Out, opts.Output, rows)
	}
	switch {
	case len(file.Profiles) > 0:
	case current == config.EnvProfileName:
		fmt.Fprintf(opts.IO.ErrOut, "No profiles yet; camctl uses the CAMUNDA_* environment (see `camctl profile show`).\nAdd one with `camctl profile add NAME --address URL`.\n")
	default:
		fmt.Fprintf(opts.IO.ErrOut, "No profiles yet; camctl uses the built-in %q profile (%s, no auth).\nAdd one with `camctl profile add NAME --address URL`.\n", config.BuiltinLocalName, config.DefaultAddress)
	}
	if len(rows) == 0 {
		return nil
	}
	// One Write for the whole view (Out redacts per write); config values
	// are one safe line each, so a tab cannot open a column.
	var buf bytes.Buffer
	tw := tabwriter.NewWriter(&buf, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CURRENT\tNAME\tADDRESS\tAUTH")
	for _, r := range rows {
		mark := ""
		if r.Current {
			mark = "*"
		}
		name := r.Name
		if r.Builtin {
			name += " (built-in)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", mark, name, termsafe.Line(r.Address), termsafe.Line(r.Auth))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err = opts.IO.Out.Write(buf.Bytes())
	return err
}

func newCmdProfileUse(f *Factory, runF func(context.Context, *ProfileOptions) error) *cobra.Command {
	return &cobra.Command{
		Use:               "use NAME",
		Short:             "Make a profile the current one",
		Args:              exactArgs(1, "a profile NAME"),
		ValidArgsFunction: profileArg(f, true),
		RunE:              runProfileCmd(f, runF, runProfileUse),
	}
}

func runProfileUse(ctx context.Context, opts *ProfileOptions) error {
	s, name := opts.Session(), opts.Names[0]
	path, err := s.ConfigPath()
	if err != nil {
		return err
	}
	err = config.Edit(ctx, path, func(doc *config.Document) error {
		if !doc.HasProfile(name) && name != config.BuiltinLocalName {
			return config.UnknownProfileError(name, "", doc.ProfileNames())
		}
		doc.SetCurrentProfile(name)
		return nil
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(opts.IO.ErrOut, "Switched to profile %q.\n", name)
	if env := s.Getenv(config.EnvProfile); env != "" && env != name {
		fmt.Fprintf(opts.IO.ErrOut, "Note: %s=%s is set and takes precedence in this shell.\n", config.EnvProfile, env)
	} else if vars := config.ConnectionVars(s.LookupEnv); env == "" && len(vars) > 0 {
		// The environment profile outvotes the current one (spec §3).
		verb := "are"
		if len(vars) == 1 {
			verb = "is"
		}
		fmt.Fprintf(opts.IO.ErrOut, "Note: %s %s set in this shell, so commands use the CAMUNDA_* environment instead, unless given -p %s.\n", strings.Join(vars, ", "), verb, name)
	}
	return nil
}

func newCmdProfileCurrent(f *Factory, runF func(context.Context, *ProfileOptions) error) *cobra.Command {
	return &cobra.Command{
		Use:   "current",
		Short: "Print the name of the profile camctl would use now",
		Long: `Print the name of the profile camctl would use now, and nothing else:
--profile, else $CAMCTL_PROFILE, else "(environment)" when CAMUNDA_* connection
variables are set (they then outvote the current profile, and a note on
stderr says so), else the current profile of the config file, else "local".`,
		Args: noArgs,
		RunE: runProfileCmd(f, runF, runProfileCurrent),
	}
}

func runProfileCurrent(_ context.Context, opts *ProfileOptions) error {
	r, err := opts.Session().Resolve(nil)
	if err != nil {
		return err
	}
	if opts.Output == OutputJSON || opts.Output == OutputYAML {
		return writeData(opts.IO.Out, opts.Output, map[string]string{"name": r.Name, "selectedBy": r.Selection.String()})
	}
	fmt.Fprintln(opts.IO.Out, r.Name)
	return nil
}

func newCmdProfileRemove(f *Factory, runF func(context.Context, *ProfileOptions) error) *cobra.Command {
	return &cobra.Command{
		Use:               "remove NAME",
		Aliases:           []string{"rm"},
		Short:             "Delete a profile and its stored secrets",
		Args:              exactArgs(1, "a profile NAME"),
		ValidArgsFunction: profileArg(f, false),
		RunE:              runProfileCmd(f, runF, runProfileRemove),
	}
}

func runProfileRemove(ctx context.Context, opts *ProfileOptions) error {
	s, name := opts.Session(), opts.Names[0]
	file, path, err := s.LoadConfig()
	if err != nil {
		return err
	}
	// What the profile says in the file (not what the environment makes
	// of it) names the items and the token to forget.
	var r *config.Resolved
	if _, ok := file.Profiles[name]; ok {
		if r, err = config.Resolve(config.Options{ConfigPath: path, File: file, Profile: name}); err != nil {
			return err
		}
	}
	// Crash-safe order: the profile leaves the config file first, then
	// its items are deleted by id. A crash (or a hung keyring) in between
	// leaves items under an id no profile has: a namesake gets a new id.
	wasCurrent := false
	err = config.Edit(ctx, path, func(doc *config.Document) error {
		if r != nil && doc.ProfileID(name) != r.ID {
			// Changed since it was read (another camctl gave it an id):
			// forget by the id it has now.
			r.ID = doc.ProfileID(name)
		}
		if !doc.RemoveProfile(name) {
			if name == config.BuiltinLocalName {
				return &config.UsageError{Msg: fmt.Sprintf("%q is the built-in profile and is not in the config file; there is nothing to remove", name)}
			}
			return config.UnknownProfileError(name, "", doc.ProfileNames())
		}
		if doc.CurrentProfile() == name {
			doc.SetCurrentProfile("")
			wasCurrent = true
		}
		return nil
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(opts.IO.ErrOut, "Removed profile %q.\n", name)
	if wasCurrent {
		fmt.Fprintf(opts.IO.ErrOut, "It was the current profile; now none is, so camctl falls back to the local profile (select another with `camctl profile use NAME`).\n")
	}
	if r != nil {
		if _, err := forget(ctx, opts.IO, s, r); err != nil {
			return fmt.Errorf("profile %s is removed; what could not be deleted is under an id that no profile has now, so no profile will use it: %w", name, err)
		}
	}
	return nil
}

// warnUnreached says that secrets in an unreachable keyring were not
// touched: silence would claim they are gone, and failing would break
// every headless machine that never had a keyring.
func warnUnreached(io *IOStreams, s *session.Session, unreached error, what string) {
	if unreached == nil || !s.Once("keyring unreached") {
		return
	}
	fmt.Fprintf(io.ErrOut, "Note: the OS keyring could not be reached (%v); secrets stored there, if any, were not %s. Set %s=none where there is no keyring.\n",
		unreached, what, config.EnvKeyring)
}

// forget deletes what is stored for profile r: its secrets (when it has
// a name to store them under) and its cached access token. It says what
// went, and returns whether anything did.
// revokeSignIn revokes a person's sign-in at the IdP, saying what
// happened; a failure is a warning, the local copies go anyway.
func revokeSignIn(ctx context.Context, io *IOStreams, s *session.Session, r *config.Resolved) {
	deps, err := s.Deps(ctx, r, false)
	if err == nil {
		var revoked bool
		revoked, err = auth.RevokeSignIn(ctx, r, deps)
		if revoked {
			fmt.Fprintf(io.ErrOut, "Revoked the sign-in of profile %s at the identity provider.\n", r.Name)
		}
	}
	if err != nil {
		fmt.Fprintf(io.ErrOut, "Warning: profile %s: %v; deleting the local copies anyway.\n", r.Name, err)
	}
}

func forget(ctx context.Context, io *IOStreams, s *session.Session, r *config.Resolved) (bool, error) {
	// Only the stores: a broken TLS setting or a missing CA file must not
	// keep a secret from being deleted.
	secrets, err := s.Secrets(r, false)
	if err != nil {
		return false, err
	}
	var removed []string
	var errs []error
	if r.Person() && r.Storable() {
		// First at the IdP (RFC 7009), while the refresh token is here.
		revokeSignIn(ctx, io, s, r)
	}
	// A person's token cache key and an issuer's token URL are found
	// without the network.
	_, _ = auth.ApplyDiscovery(ctx, r, auth.NewDiscovery(auth.Deps{Tokens: s.TokenCache(secrets, r)}), true)
	if r.Storable() {
		gone, unreached, err := secrets.DeleteProfile(ctx, r.ID, r.Name)
		removed = append(removed, gone...)
		if err != nil {
			errs = append(errs, err)
		}
		warnUnreached(io, s, unreached, "deleted")
	}
	key, err := auth.OIDCKey(r)
	if r.Person() {
		key, err = auth.PersonKey(r)
	}
	if err == nil && r.Method() == config.MethodOIDC {
		cache := s.TokenCache(secrets, r)
		found, err := cache.Delete(ctx, key)
		// A token cached by a camctl from before the API address was part
		// of the key goes too.
		key.API = ""
		old, oldErr := cache.Delete(ctx, key)
		if found || old {
			removed = append(removed, "cached access token")
		}
		if err = errors.Join(err, oldErr); err != nil {
			errs = append(errs, err)
		}
	}
	if argv, err := config.DecodeCommand(r.Value(config.Command)); err == nil && len(argv) > 0 && r.Method() == config.MethodExec {
		// The command's token, cached by its expiry (spec §11).
		found, err := s.TokenCache(secrets, r).Delete(ctx, auth.ExecKey(r, argv))
		if found {
			removed = append(removed, "cached access token")
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	if len(removed) > 0 {
		what := "the stored " + strings.Join(removed, ", ")
		if removed[0] == "cached access token" {
			what = "the " + strings.Join(removed, ", ") // nothing stored, a token cached
		}
		fmt.Fprintf(io.ErrOut, "Deleted %s of profile %s.\n", what, r.Name)
	}
	if err := errors.Join(errs...); err != nil {
		return len(removed) > 0, fmt.Errorf("profile %s: could not delete everything stored for it: %w", r.Name, err)
	}
	return len(removed) > 0, nil
}

func newCmdProfileRename(f *Factory, runF func(context.Context, *ProfileOptions) error) *cobra.Command {
	return &cobra.Command{
		Use:               "rename OLD NEW",
		Short:             "Rename a profile; its stored secrets stay with it",
		Args:              exactArgs(2, "OLD and NEW profile names"),
		ValidArgsFunction: profileArg(f, false),
		RunE:              runProfileCmd(f, runF, runProfileRename),
	}
}

func runProfileRename(ctx context.Context, opts *ProfileOptions) error {
	s, old, new := opts.Session(), opts.Names[0], opts.Names[1]
	path, err := s.ConfigPath()
	if err != nil {
		return err
	}
	// Stored items are keyed by the profile's id, which the rename
	// keeps: nothing in the keyring moves. Items that an older
	// camctl stored under the old name move to an id first, so a
	// crash never leaves them under a name for a namesake.
	if r, err := fileProfile(path, old); err == nil && r.Kind == config.KindFile && r.ID == "" {
		secrets, err := s.Secrets(r, false)
		if err != nil {
			return err
		}
		if err := secrets.MigrateProfile(ctx, r); err != nil {
			return fmt.Errorf("profile %s was not renamed: %w", old, err)
		}
		if r.ID == "" && secrets.Mode == auth.KeyringAuto {
			// Nothing moved; a keyring that could not be asked may
			// hold items under the old name, which stay there.
			warnUnreached(opts.IO, s, secrets.KeyringStatus(ctx), "moved")
		}
	}
	if err := config.Edit(ctx, path, func(doc *config.Document) error {
		if !doc.HasProfile(old) {
			return config.UnknownProfileError(old, "", doc.ProfileNames())
		}
		return doc.RenameProfile(old, new)
	}); err != nil {
		return err
	}
	fmt.Fprintf(opts.IO.ErrOut, "Renamed profile %q to %q.\n", old, new)
	return nil
}
