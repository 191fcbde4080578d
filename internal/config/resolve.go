package config

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
)

// SourceKind says which layer supplied a value.
type SourceKind int

// The layers, lowest first.
const (
	FromDefault SourceKind = iota
	FromFile
	FromInferred
	FromEnv
	FromFlag
)

// Source is where a value came from, as shown by `profile show`.
type Source struct {
	Kind SourceKind
	// Name is the flag or variable name, the file path, or for an
	// inferred value the settings it was inferred from.
	Name string
}

func (s Source) String() string {
	switch s.Kind {
	case FromFlag:
		return "flag --" + s.Name
	case FromEnv:
		return "env " + s.Name
	case FromFile:
		return "config file"
	case FromInferred:
		return "inferred from " + s.Name
	default:
		if s.Name != "" {
			return "default (" + s.Name + ")"
		}
		return "default"
	}
}

// Setting is a resolved value and its source.
type Setting struct {
	Value  string
	Source Source
}

// IsSet reports whether the setting has a value.
func (s Setting) IsSet() bool { return s.Value != "" }

// ProfileKind says what kind of profile was selected.
type ProfileKind int

const (
	// KindFile is a profile defined in the config file.
	KindFile ProfileKind = iota
	// KindBuiltin is the built-in `local` profile (C8 Run on localhost:8080, no auth).
	KindBuiltin
	// KindEnv is the implicit profile built from CAMUNDA_* variables
	// when no profile is selected.
	KindEnv
)

// EnvProfileName is how the implicit environment profile is shown. It is
// not a valid profile name, so it can never clash with one.
const EnvProfileName = "(environment)"

// BuiltinLocalName is the built-in profile's name.
const BuiltinLocalName = "local"

// Options are the inputs of Resolve.
type Options struct {
	ConfigPath string
	File       *File
	// Profile is the value of --profile ("" when not given).
	Profile string
	// ProfileFrom names where Profile came from in messages (default "--profile").
	ProfileFrom string
	// Flags holds settings given on the command line (login/profile flags).
	Flags map[Key]string
	// LookupEnv is os.LookupEnv outside tests.
	LookupEnv func(string) (string, bool)
	// AllowNew resolves a profile that --profile or $CAMCTL_PROFILE
	// names and the file does not have as a new, empty one (Resolved.New)
	// instead of failing: login creates it after a successful check.
	AllowNew bool
}

// Resolved is the selected profile with every setting resolved.
type Resolved struct {
	// Name is the profile's name (EnvProfileName for the implicit one).
	Name string
	// ID is the profile's id in the config file: what its stored
	// secrets are keyed by. "" for a profile that has none yet (the
	// built-in one, or one written before profiles had ids).
	ID         string
	Kind       ProfileKind
	Selection  Source
	ConfigPath string
	// EnvVars names the connection variables that are set, for the
	// note that the environment profile outvoted a current profile.
	EnvVars []string
	// Outvoted is the current-profile that the environment profile was
	// selected instead of ("" when it was not).
	Outvoted string
	// New: the profile is not in the config file yet; login creates it
	// once the cluster accepted it. A hint then names the flag to add to
	// that login, not a `profile set` of a profile that does not exist.
	New      bool
	settings map[Key]Setting
}

// Get returns the resolved setting for key.
func (r *Resolved) Get(key Key) Setting { return r.settings[key] }

// Value returns the resolved value for key.
func (r *Resolved) Value(key Key) string { return r.settings[key].Value }

// Method returns the auth method (always one of Methods).
func (r *Resolved) Method() string { return r.settings[AuthMethod].Value }

// Storable reports whether secrets can be stored for this profile (the
// implicit environment profile has no name to store them under).
func (r *Resolved) Storable() bool { return r.Kind != KindEnv }

// connectionKeys are the settings whose variables make up the
// environment profile (spec §3): any one of them set outvotes the
// current profile. TLS paths, audience or scope alone do not: they are
// often exported for every cluster a machine talks to.
//
// The client assertion's sources (a key, a keystore and its passwords, a
// CI platform's token) are credentials like a client secret: set in the
// environment they make the environment profile, instead of handing a
// file profile's identity provider a token meant for another client.
var connectionKeys = []Key{Address, AuthMethod, ClientID, ClientSecret, TokenURL, Issuer, WellKnownURL, Username, Password, Token, ClusterID,
	AssertionKey, AssertionCert, AssertionKeystore, AssertionKeystorePw, AssertionKeyPassword, AssertionFile, AssertionFrom}

// ConnectionVars returns the connection variables that are set, in the
// order of Fields.
func ConnectionVars(lookup func(string) (string, bool)) []string {
	env := func(name string) string {
		if lookup == nil {
			return ""
		}
		v, _ := lookup(name)
		return v
	}
	var names []string
	for _, k := range connectionKeys {
		f, _ := FieldFor(k)
		if name, v := firstEnv(f.Env, env); v != "" {
			names = append(names, name)
		}
	}
	return names
}

// getenv is o.LookupEnv's value of name ("" when unset or without one).
func (o Options) getenv(name string) string {
	if o.LookupEnv == nil {
		return ""
	}
	v, _ := o.LookupEnv(name)
	return v
}

// Select is the first half of Resolve: which profile is selected, and
// why (spec §3), without resolving its settings. Its Kind is KindEnv for
// the environment profile, else KindFile (Resolve tells the built-in
// profile and unknown ones apart).
func Select(o Options) *Resolved {
	if o.File == nil {
		o.File = &File{}
	}
	env := o.getenv
	r := &Resolved{ConfigPath: o.ConfigPath, settings: map[Key]Setting{}}
	switch vars := ConnectionVars(o.LookupEnv); {
	case o.Profile != "":
		r.Name, r.Selection = o.Profile, Source{Kind: FromFlag, Name: "profile"}
	case env(EnvProfile) != "":
		r.Name, r.Selection = env(EnvProfile), Source{Kind: FromEnv, Name: EnvProfile}
	case len(vars) > 0:
		r.Name, r.Kind, r.Selection = EnvProfileName, KindEnv, Source{Kind: FromEnv, Name: "CAMUNDA_* variables"}
		r.EnvVars, r.Outvoted = vars, o.File.CurrentProfile
	case o.File.CurrentProfile != "":
		r.Name, r.Selection = o.File.CurrentProfile, Source{Kind: FromFile, Name: "current-profile"}
	default:
		// "local" from the file if the user saved one, else built in.
		r.Name, r.Selection = BuiltinLocalName, Source{Kind: FromDefault}
	}
	return r
}

// Resolve selects the profile — --profile, else $CAMCTL_PROFILE, else
// the environment profile when any connection variable is set, else
// current-profile, else the built-in local profile (spec §3) — and
// resolves each of its settings separately from, highest first, flag,
// environment, profile and default. The environment as a whole wins over
// an implicit current profile: taking single fields of it would send
// that profile's stored secret to the environment's address.
func Resolve(o Options) (*Resolved, error) {
	if o.File == nil {
		o.File = &File{}
	}
	env := o.getenv
	r := Select(o)
	var profile Profile
	if r.Kind == KindFile {
		p, ok := o.File.Profiles[r.Name]
		switch {
		case ok:
			profile = p
			r.ID = p.ID
		case o.AllowNew && (r.Selection.Kind == FromFlag || r.Selection.Kind == FromEnv):
			// Before the built-in case: `login -p local --address URL`
			// makes local a profile of the file.
			r.New = true
		case r.Name == BuiltinLocalName:
			r.Kind = KindBuiltin
		default:
			return nil, unknownProfile(r, o)
		}
	}

	for _, f := range Fields {
		s := Setting{}
		if v, ok := o.Flags[f.Key]; ok {
			s = Setting{Value: v, Source: Source{Kind: FromFlag, Name: f.Flag}}
		} else if name, v := firstEnv(f.Env, env); v != "" {
			s = Setting{Value: v, Source: Source{Kind: FromEnv, Name: name}}
		} else if v := profile.Get(f.Key); v != "" {
			s = Setting{Value: v, Source: Source{Kind: FromFile, Name: o.ConfigPath}}
		}
		r.settings[f.Key] = s
	}
	// Paths may start with ~/ (as in the spec's example); the shell does
	// not expand it inside a config file or a quoted variable.
	for _, k := range []Key{CAFile, ClientCert, ClientKey, Keystore, AssertionKey, AssertionCert, AssertionKeystore, AssertionFile} {
		if s, ok := r.settings[k]; ok {
			s.Value = ExpandHome(s.Value, env("HOME"))
			r.settings[k] = s
		}
	}
	if !r.settings[Address].IsSet() {
		r.settings[Address] = Setting{Value: DefaultAddress, Source: Source{Kind: FromDefault}}
		// A SaaS cluster is fully named by its region and id (what the
		// Console credentials download sets).
		if region, id := r.settings[Region], r.settings[ClusterID]; region.IsSet() && id.IsSet() {
			r.settings[Address] = Setting{Value: SaaSAddress(region.Value, id.Value), Source: Source{Kind: FromInferred, Name: region.Source.Name + " + " + id.Source.Name}}
		}
	}
	r.saasDefaults()
	for _, k := range []Key{Address, TokenURL} {
		if s := r.settings[k]; hasUserinfo(s.Value) {
			return nil, &UsageError{Msg: fmt.Sprintf("profile %s: the %s (from %s) contains credentials; remove them (camctl shows URLs, and credentials belong in the keyring: `camctl login` stores them)", r.Name, k, s.Source)}
		}
	}
	if err := r.resolveMethod(); err != nil {
		return nil, err
	}
	if err := r.resolveGrant(); err != nil {
		return nil, err
	}
	return r, nil
}

// hasUserinfo reports an address with user[:password]@ in it. Any '@'
// after the scheme counts: a password pasted unescaped may hold '/', '?'
// or '#', and url.Parse then sees no user at all — the file would keep
// the password, and camctl would show it with the address.
func hasUserinfo(addr string) bool {
	s := strings.TrimSpace(addr)
	if u, err := url.Parse(s); err == nil && u.User != nil {
		return true
	}
	if i := strings.Index(s, "://"); i >= 0 && !strings.Contains(s[:i], "@") {
		s = s[i+3:]
	}
	return strings.Contains(s, "@")
}

func (r *Resolved) resolveMethod() error {
	s := r.settings[AuthMethod]
	if s.IsSet() {
		m, ok := ParseMethod(s.Value)
		if !ok {
			return &UsageError{Msg: fmt.Sprintf("profile %s: auth method %q (from %s) is not one of %s (environment: NONE, BASIC, OAUTH, BEARER)",
				r.Name, s.Value, s.Source, strings.Join(Methods, ", "))}
		}
		s.Value = m
		r.settings[AuthMethod] = s
		return nil
	}
	// Like Camunda's SDKs: with no method configured, the credentials
	// that are present decide it.
	has := func(k Key) bool { return r.settings[k].IsSet() }
	from := func(keys ...Key) Source {
		names := make([]string, 0, len(keys))
		for _, k := range keys {
			src := r.settings[k].Source
			switch src.Kind {
			case FromEnv:
				names = append(names, src.Name)
			case FromFlag:
				names = append(names, "--"+src.Name)
			default:
				names = append(names, string(k))
			}
		}
		return Source{Kind: FromInferred, Name: strings.Join(names, " + ")}
	}
	switch {
	case has(ClientID) && has(ClientSecret):
		r.settings[AuthMethod] = Setting{Value: MethodOIDC, Source: from(ClientID, ClientSecret)}
	case has(ClientID) && has(ClientCert):
		r.settings[AuthMethod] = Setting{Value: MethodOIDC, Source: from(ClientID, ClientCert)}
	case has(ClientID) && has(Keystore):
		r.settings[AuthMethod] = Setting{Value: MethodOIDC, Source: from(ClientID, Keystore)}
	case has(ClientID) && has(AssertionKey):
		r.settings[AuthMethod] = Setting{Value: MethodOIDC, Source: from(ClientID, AssertionKey)}
	case has(ClientID) && has(AssertionKeystore):
		r.settings[AuthMethod] = Setting{Value: MethodOIDC, Source: from(ClientID, AssertionKeystore)}
	case has(ClientID) && has(AssertionFile):
		r.settings[AuthMethod] = Setting{Value: MethodOIDC, Source: from(ClientID, AssertionFile)}
	case has(ClientID) && has(AssertionFrom):
		r.settings[AuthMethod] = Setting{Value: MethodOIDC, Source: from(ClientID, AssertionFrom)}
	case has(ClientID) && has(AssertionEnv):
		r.settings[AuthMethod] = Setting{Value: MethodOIDC, Source: from(ClientID, AssertionEnv)}
	case has(ClientID) && has(Issuer):
		// A client id and an identity provider: oidc, whose missing
		// credential is then named, rather than no auth and a bare 401.
		r.settings[AuthMethod] = Setting{Value: MethodOIDC, Source: from(ClientID, Issuer)}
	case has(ClientID) && has(WellKnownURL):
		r.settings[AuthMethod] = Setting{Value: MethodOIDC, Source: from(ClientID, WellKnownURL)}
	case has(ClientID) && has(TokenURL):
		r.settings[AuthMethod] = Setting{Value: MethodOIDC, Source: from(ClientID, TokenURL)}
	case has(Command):
		r.settings[AuthMethod] = Setting{Value: MethodExec, Source: from(Command)}
	case has(Username) && has(Password):
		r.settings[AuthMethod] = Setting{Value: MethodBasic, Source: from(Username, Password)}
	case has(Token):
		r.settings[AuthMethod] = Setting{Value: MethodBearer, Source: from(Token)}
	default:
		r.settings[AuthMethod] = Setting{Value: MethodNone, Source: Source{Kind: FromDefault}}
	}
	return nil
}

// saasDefaults fills in the token URL and audience of a SaaS address
// when nothing else sets them: they are the same for every SaaS cluster.
func (r *Resolved) saasDefaults() {
	u, err := url.Parse(r.settings[Address].Value)
	if err != nil || !strings.HasSuffix(strings.ToLower(u.Hostname()), ".zeebe.camunda.io") {
		return
	}
	saas := Source{Kind: FromDefault, Name: "SaaS"}
	if !r.settings[TokenURL].IsSet() {
		r.settings[TokenURL] = Setting{Value: SaaSTokenURL, Source: saas}
	}
	if !r.settings[Audience].IsSet() {
		r.settings[Audience] = Setting{Value: SaaSAudience, Source: saas}
	}
}

// SaaSAddress is the REST address of a Camunda SaaS cluster.
func SaaSAddress(region, clusterID string) string {
	return "https://" + region + ".zeebe.camunda.io/" + clusterID
}

// ParseMethod accepts a method as written in the file or on the command
// line (none, basic, oidc, bearer) or as Camunda's SDKs spell it in
// CAMUNDA_AUTH_STRATEGY (NONE, BASIC, OAUTH, BEARER).
func ParseMethod(v string) (string, bool) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "none":
		return MethodNone, true
	case "basic":
		return MethodBasic, true
	case "oidc", "oauth":
		return MethodOIDC, true
	case "bearer":
		return MethodBearer, true
	case "exec":
		return MethodExec, true
	}
	return "", false
}

func firstEnv(names []string, env func(string) string) (string, string) {
	for _, n := range names {
		if v := env(n); v != "" {
			return n, v
		}
	}
	return "", ""
}

// EnvDefinesConnection reports whether CAMUNDA_* (or ZEEBE_*) variables
// are set that make up the implicit environment profile.
func EnvDefinesConnection(lookup func(string) (string, bool)) bool {
	return len(ConnectionVars(lookup)) > 0
}

func unknownProfile(r *Resolved, o Options) error {
	var where string
	switch r.Selection.Kind {
	case FromFlag:
		where = "--profile"
		if o.ProfileFrom != "" {
			where = o.ProfileFrom
		}
	case FromEnv:
		where = "$" + EnvProfile
	default:
		where = "current-profile in " + o.ConfigPath
	}
	return UnknownProfileError(r.Name, where, o.File.Names())
}

// UnknownProfileError says that name is not a profile, where the name
// came from ("" when it was an argument), and which profiles exist.
func UnknownProfileError(name, where string, known []string) error {
	known = slices.Sorted(slices.Values(known))
	hint := "no profiles are defined yet"
	if len(known) > 0 {
		hint = "known profiles: " + strings.Join(known, ", ")
	}
	from := ""
	if where != "" {
		from = " (from " + where + ")"
	}
	if near := closestName(name, known); near != "" {
		return &UsageError{Msg: fmt.Sprintf("unknown profile %q%s; did you mean %s? (%s)", name, from, near, hint)}
	}
	return &UsageError{Msg: fmt.Sprintf("unknown profile %q%s; %s. Create it with `camctl profile add %s --address URL`",
		name, from, hint, name)}
}

// closestName is the known name within half of name's length in edit
// distance (at least one edit, and never all of it: a swap of two letters
// costs two), the nearest and then the first in order, or "" when none is
// that close. known is sorted.
func closestName(name string, known []string) string {
	best, bestDist := "", -1
	for _, k := range known {
		d := levenshtein(strings.ToLower(name), strings.ToLower(k))
		if bestDist < 0 || d < bestDist {
			best, bestDist = k, d
		}
	}
	if bestDist < 0 || bestDist >= len(name) || bestDist > max(1, len(name)/2) {
		return ""
	}
	return best
}

// WithoutConnectionEnv is lookup without the connection variables of
// spec §3 (every name of every connection setting, aliases included):
// what a named profile resolves with when the environment is a profile
// of its own beside it (`status --all`), so that the variables neither
// override its fields nor send its stored secret to their address.
func WithoutConnectionEnv(lookup func(string) (string, bool)) func(string) (string, bool) {
	hidden := map[string]bool{}
	for _, k := range connectionKeys {
		f, _ := FieldFor(k)
		for _, name := range f.Env {
			hidden[name] = true
		}
	}
	return func(name string) (string, bool) {
		if hidden[name] || lookup == nil {
			return "", false
		}
		return lookup(name)
	}
}
