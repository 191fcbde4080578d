package config_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/camctl/camctl/internal/config"
)

const testConfigPath = "/cfg/camctl/config.yaml"

// env is a fake environment; a key mapped to "" is set but empty.
type env map[string]string

func (e env) lookup(name string) (string, bool) {
	v, ok := e[name]
	return v, ok
}

// testFile is the configuration the Resolve tests run against.
func testFile() *config.File {
	return &config.File{
		CurrentProfile: "helm",
		Profiles: map[string]config.Profile{
			"helm": {
				Address: "https://camunda.example.com",
				Auth:    config.AuthConfig{Method: "basic", Username: "demo"},
			},
			"prod": {
				Address: "https://bru-2.zeebe.camunda.io/abc",
				Auth: config.AuthConfig{
					Method:   "oidc",
					ClientID: "my-client",
					TokenURL: "https://login.cloud.camunda.io/oauth/token",
					Audience: "zeebe.camunda.io",
					Scope:    "file-scope",
				},
				TLS: config.TLSConfig{CAFile: "/etc/pki/ca.pem", InsecureSkipVerify: true},
			},
			// No address and no method: defaults and inference apply.
			"bare": {Auth: config.AuthConfig{ClientID: "file-client"}},
		},
	}
}

func resolve(t *testing.T, o config.Options) *config.Resolved {
	t.Helper()
	if o.ConfigPath == "" {
		o.ConfigPath = testConfigPath
	}
	r, err := config.Resolve(o)
	if err != nil {
		t.Fatalf("Resolve: unexpected error: %v", err)
	}
	return r
}

func TestResolveLayers(t *testing.T) {
	tests := []struct {
		name    string
		file    *config.File
		profile string
		flags   map[config.Key]string
		env     env
		key     config.Key
		want    string
		wantSrc string
	}{
		// address
		{name: "address from file", key: config.Address,
			want: "https://camunda.example.com", wantSrc: "config file"},
		{name: "address env beats file", env: env{"CAMUNDA_REST_ADDRESS": "http://env:8080"}, key: config.Address,
			want: "http://env:8080", wantSrc: "env CAMUNDA_REST_ADDRESS"},
		{name: "address alias env beats file", env: env{"CAMUNDA_BASE_URL": "http://base:8080"}, key: config.Address,
			want: "http://base:8080", wantSrc: "env CAMUNDA_BASE_URL"},
		{name: "address flag beats env and file", flags: map[config.Key]string{config.Address: "http://flag:8080"},
			env: env{"CAMUNDA_REST_ADDRESS": "http://env:8080"}, key: config.Address,
			want: "http://flag:8080", wantSrc: "flag --address"},
		{name: "address default for built-in profile", file: &config.File{}, key: config.Address,
			want: config.DefaultAddress, wantSrc: "default"},
		{name: "address default when profile has none", profile: "bare", key: config.Address,
			want: config.DefaultAddress, wantSrc: "default"},
		{name: "address empty env ignored", env: env{"CAMUNDA_REST_ADDRESS": ""}, key: config.Address,
			want: "https://camunda.example.com", wantSrc: "config file"},

		// auth.method
		{name: "method from file", key: config.AuthMethod, want: "basic", wantSrc: "config file"},
		{name: "method env beats file", env: env{"CAMUNDA_AUTH_STRATEGY": "OAUTH"}, key: config.AuthMethod,
			want: "oidc", wantSrc: "env CAMUNDA_AUTH_STRATEGY"},
		{name: "method flag beats env", flags: map[config.Key]string{config.AuthMethod: "bearer"},
			env: env{"CAMUNDA_AUTH_STRATEGY": "BASIC"}, key: config.AuthMethod,
			want: "bearer", wantSrc: "flag --auth"},
		{name: "method default is none", file: &config.File{}, key: config.AuthMethod,
			want: "none", wantSrc: "default"},

		// auth.username
		{name: "username from file", key: config.Username, want: "demo", wantSrc: "config file"},
		{name: "username alias env beats file", env: env{"CAMUNDA_USERNAME": "envuser"}, key: config.Username,
			want: "envuser", wantSrc: "env CAMUNDA_USERNAME"},
		{name: "username first env name wins", env: env{"CAMUNDA_USERNAME": "second", "CAMUNDA_BASIC_AUTH_USERNAME": "first"},
			key: config.Username, want: "first", wantSrc: "env CAMUNDA_BASIC_AUTH_USERNAME"},
		{name: "username flag", flags: map[config.Key]string{config.Username: "flaguser"},
			env: env{"CAMUNDA_BASIC_AUTH_USERNAME": "envuser"}, key: config.Username,
			want: "flaguser", wantSrc: "flag --username"},
		{name: "username unset", profile: "prod", key: config.Username, want: "", wantSrc: "default"},

		// auth.token-url
		{name: "token-url from file", profile: "prod", key: config.TokenURL,
			want: "https://login.cloud.camunda.io/oauth/token", wantSrc: "config file"},
		{name: "token-url alias env beats file", profile: "prod",
			env: env{"ZEEBE_AUTHORIZATION_SERVER_URL": "https://kc/token"}, key: config.TokenURL,
			want: "https://kc/token", wantSrc: "env ZEEBE_AUTHORIZATION_SERVER_URL"},
		{name: "token-url first env wins", profile: "prod",
			env: env{"ZEEBE_AUTHORIZATION_SERVER_URL": "z", "CAMUNDA_AUTHORIZATION_SERVER_URL": "c", "CAMUNDA_OAUTH_URL": "o"},
			key: config.TokenURL, want: "o", wantSrc: "env CAMUNDA_OAUTH_URL"},
		{name: "token-url flag", profile: "prod", flags: map[config.Key]string{config.TokenURL: "https://flag/token"},
			env: env{"CAMUNDA_OAUTH_URL": "o"}, key: config.TokenURL,
			want: "https://flag/token", wantSrc: "flag --token-url"},

		// auth.scope
		{name: "scope from file", profile: "prod", key: config.Scope, want: "file-scope", wantSrc: "config file"},
		{name: "scope env beats file", profile: "prod", env: env{"ZEEBE_TOKEN_SCOPE": "zs"}, key: config.Scope,
			want: "zs", wantSrc: "env ZEEBE_TOKEN_SCOPE"},
		{name: "scope flag", profile: "prod", flags: map[config.Key]string{config.Scope: "api://x/.default"},
			env: env{"CAMUNDA_TOKEN_SCOPE": "cs"}, key: config.Scope,
			want: "api://x/.default", wantSrc: "flag --scope"},
		{name: "scope unset", key: config.Scope, want: "", wantSrc: "default"},

		// tls
		{name: "insecure-skip-verify from file", profile: "prod", key: config.InsecureSkipVerify,
			want: "true", wantSrc: "config file"},
		{name: "ca-file alias env", profile: "prod", env: env{"CAMUNDA_CA_CERTIFICATE_PATH": "/env/ca.pem"},
			key: config.CAFile, want: "/env/ca.pem", wantSrc: "env CAMUNDA_CA_CERTIFICATE_PATH"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := tt.file
			if file == nil {
				file = testFile()
			}
			r := resolve(t, config.Options{File: file, Profile: tt.profile, Flags: tt.flags, LookupEnv: tt.env.lookup})
			got := r.Get(tt.key)
			if got.Value != tt.want || got.Source.String() != tt.wantSrc {
				t.Errorf("Get(%s) = %q from %q, want %q from %q", tt.key, got.Value, got.Source, tt.want, tt.wantSrc)
			}
			if r.Value(tt.key) != tt.want {
				t.Errorf("Value(%s) = %q, want %q", tt.key, r.Value(tt.key), tt.want)
			}
		})
	}
}

func TestResolveFileSourceNamesPath(t *testing.T) {
	r := resolve(t, config.Options{File: testFile(), ConfigPath: "/some/where/config.yaml"})
	src := r.Get(config.Address).Source
	if src.Kind != config.FromFile || src.Name != "/some/where/config.yaml" {
		t.Errorf("address source = %+v, want FromFile with the config path", src)
	}
	if r.ConfigPath != "/some/where/config.yaml" {
		t.Errorf("ConfigPath = %q", r.ConfigPath)
	}
}

// TestResolveAliasOrder checks, for every setting with several variable
// names, that the first non-empty one in the documented order wins and
// that empty values are skipped.
func TestResolveAliasOrder(t *testing.T) {
	tests := []struct {
		name    string
		key     config.Key
		env     env
		want    string
		wantSrc string
	}{
		{"address all three", config.Address,
			env{"CAMUNDA_REST_ADDRESS": "http://a", "ZEEBE_REST_ADDRESS": "http://b", "CAMUNDA_BASE_URL": "http://c"},
			"http://a", "env CAMUNDA_REST_ADDRESS"},
		{"address zeebe beats base url", config.Address,
			env{"ZEEBE_REST_ADDRESS": "http://b", "CAMUNDA_BASE_URL": "http://c"},
			"http://b", "env ZEEBE_REST_ADDRESS"},
		{"address empty first is ignored", config.Address,
			env{"CAMUNDA_REST_ADDRESS": "", "ZEEBE_REST_ADDRESS": "http://b", "CAMUNDA_BASE_URL": "http://c"},
			"http://b", "env ZEEBE_REST_ADDRESS"},
		{"address only base url", config.Address,
			env{"CAMUNDA_REST_ADDRESS": "", "ZEEBE_REST_ADDRESS": "", "CAMUNDA_BASE_URL": "http://c"},
			"http://c", "env CAMUNDA_BASE_URL"},
		{"address all empty means default", config.Address,
			env{"CAMUNDA_REST_ADDRESS": "", "ZEEBE_REST_ADDRESS": "", "CAMUNDA_BASE_URL": ""},
			config.DefaultAddress, "default"},
		{"scope all three", config.Scope,
			env{"CAMUNDA_TOKEN_SCOPE": "a", "CAMUNDA_OAUTH_SCOPE": "b", "ZEEBE_TOKEN_SCOPE": "c"},
			"a", "env CAMUNDA_TOKEN_SCOPE"},
		{"scope oauth beats zeebe", config.Scope,
			env{"CAMUNDA_OAUTH_SCOPE": "b", "ZEEBE_TOKEN_SCOPE": "c"},
			"b", "env CAMUNDA_OAUTH_SCOPE"},
		{"scope empty first two", config.Scope,
			env{"CAMUNDA_TOKEN_SCOPE": "", "CAMUNDA_OAUTH_SCOPE": "", "ZEEBE_TOKEN_SCOPE": "c"},
			"c", "env ZEEBE_TOKEN_SCOPE"},
		{"scope all empty", config.Scope,
			env{"CAMUNDA_TOKEN_SCOPE": "", "CAMUNDA_OAUTH_SCOPE": "", "ZEEBE_TOKEN_SCOPE": ""},
			"", "default"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := resolve(t, config.Options{LookupEnv: tt.env.lookup})
			got := r.Get(tt.key)
			if got.Value != tt.want || got.Source.String() != tt.wantSrc {
				t.Errorf("Get(%s) = %q from %q, want %q from %q", tt.key, got.Value, got.Source, tt.want, tt.wantSrc)
			}
		})
	}

	// The same rule for every field with aliases: names[:i] empty,
	// names[i:] set, names[i] wins.
	for _, f := range config.Fields {
		if len(f.Env) < 2 || f.Key == config.AuthMethod {
			continue
		}
		for i := range f.Env {
			t.Run(string(f.Key)+"/"+f.Env[i], func(t *testing.T) {
				e := env{}
				for j, n := range f.Env {
					if j < i {
						e[n] = ""
					} else {
						e[n] = "value-of-" + n
					}
				}
				got := resolve(t, config.Options{LookupEnv: e.lookup}).Get(f.Key)
				if got.Value != "value-of-"+f.Env[i] || got.Source.String() != "env "+f.Env[i] {
					t.Errorf("Get(%s) = %q from %q, want value of %s", f.Key, got.Value, got.Source, f.Env[i])
				}
			})
		}
	}
}

func TestResolveProfileSelection(t *testing.T) {
	noCurrent := testFile()
	noCurrent.CurrentProfile = ""
	withLocal := testFile()
	withLocal.Profiles["local"] = config.Profile{Address: "http://localhost:9999"}

	tests := []struct {
		name        string
		file        *config.File
		noFile      bool
		profile     string
		env         env
		wantName    string
		wantKind    config.ProfileKind
		wantSelKind config.SourceKind
		wantSelName string
		wantSel     string
		wantAddress string
		// The note's facts: which current profile was outvoted, by what.
		wantOutvoted string
		wantVars     []string
	}{
		{name: "--profile beats everything", profile: "prod",
			env:      env{"CAMCTL_PROFILE": "bare", "CAMUNDA_CLIENT_ID": "x"},
			wantName: "prod", wantKind: config.KindFile, wantSelKind: config.FromFlag, wantSelName: "profile",
			wantSel: "flag --profile", wantAddress: "https://bru-2.zeebe.camunda.io/abc"},
		{name: "CAMCTL_PROFILE beats current-profile",
			env:      env{"CAMCTL_PROFILE": "prod"},
			wantName: "prod", wantKind: config.KindFile, wantSelKind: config.FromEnv, wantSelName: "CAMCTL_PROFILE",
			wantSel: "env CAMCTL_PROFILE", wantAddress: "https://bru-2.zeebe.camunda.io/abc"},
		{name: "empty CAMCTL_PROFILE is ignored",
			env:      env{"CAMCTL_PROFILE": ""},
			wantName: "helm", wantKind: config.KindFile, wantSelKind: config.FromFile, wantSelName: "current-profile",
			wantSel: "config file", wantAddress: "https://camunda.example.com"},
		// Spec §3: the environment as a whole outvotes an implicit
		// current profile; its fields are not mixed into the profile.
		{name: "the environment profile beats current-profile",
			env:      env{"CAMUNDA_REST_ADDRESS": "http://env:8080", "CAMUNDA_CLIENT_ID": "x"},
			wantName: config.EnvProfileName, wantKind: config.KindEnv, wantSelKind: config.FromEnv,
			wantSelName: "CAMUNDA_* variables", wantSel: "env CAMUNDA_* variables", wantAddress: "http://env:8080",
			wantOutvoted: "helm", wantVars: []string{"CAMUNDA_REST_ADDRESS", "CAMUNDA_CLIENT_ID"}},
		{name: "a secret variable alone beats current-profile",
			env:      env{"CAMUNDA_CLIENT_SECRET": "s"},
			wantName: config.EnvProfileName, wantKind: config.KindEnv, wantSelKind: config.FromEnv,
			wantSelName: "CAMUNDA_* variables", wantSel: "env CAMUNDA_* variables", wantAddress: config.DefaultAddress,
			wantOutvoted: "helm", wantVars: []string{"CAMUNDA_CLIENT_SECRET"}},
		// A CI platform's token or a signing key in the environment is a
		// credential: it must not go to the current profile's IdP.
		{name: "a client assertion variable alone beats current-profile",
			env:      env{"CAMCTL_CLIENT_ASSERTION_FILE": "/var/run/token"},
			wantName: config.EnvProfileName, wantKind: config.KindEnv, wantSelKind: config.FromEnv,
			wantSelName: "CAMUNDA_* variables", wantSel: "env CAMUNDA_* variables", wantAddress: config.DefaultAddress,
			wantOutvoted: "helm", wantVars: []string{"CAMCTL_CLIENT_ASSERTION_FILE"}},
		{name: "a Java assertion keystore variable alone beats current-profile",
			env:      env{"ZEEBE_CLIENT_ASSERTION_KEYSTORE_PATH": "/ks.p12"},
			wantName: config.EnvProfileName, wantKind: config.KindEnv, wantSelKind: config.FromEnv,
			wantSelName: "CAMUNDA_* variables", wantSel: "env CAMUNDA_* variables", wantAddress: config.DefaultAddress,
			wantOutvoted: "helm", wantVars: []string{"ZEEBE_CLIENT_ASSERTION_KEYSTORE_PATH"}},
		{name: "with CAMCTL_PROFILE the environment overrides single fields",
			env:      env{"CAMCTL_PROFILE": "helm", "CAMUNDA_REST_ADDRESS": "http://env:8080"},
			wantName: "helm", wantKind: config.KindFile, wantSelKind: config.FromEnv, wantSelName: "CAMCTL_PROFILE",
			wantSel: "env CAMCTL_PROFILE", wantAddress: "http://env:8080"},
		{name: "with --profile the environment overrides single fields", profile: "helm",
			env:      env{"CAMUNDA_REST_ADDRESS": "http://env:8080"},
			wantName: "helm", wantKind: config.KindFile, wantSelKind: config.FromFlag, wantSelName: "profile",
			wantSel: "flag --profile", wantAddress: "http://env:8080"},
		{name: "a TLS or token variable alone does not outvote current-profile",
			env:      env{"CAMUNDA_CA_CERTIFICATE_PATH": "/ca.pem", "CAMUNDA_TOKEN_AUDIENCE": "a"},
			wantName: "helm", wantKind: config.KindFile, wantSelKind: config.FromFile, wantSelName: "current-profile",
			wantSel: "config file", wantAddress: "https://camunda.example.com"},
		{name: "implicit environment profile", file: noCurrent,
			env:      env{"CAMUNDA_REST_ADDRESS": "http://env:8080"},
			wantName: config.EnvProfileName, wantKind: config.KindEnv, wantSelKind: config.FromEnv,
			wantSelName: "CAMUNDA_* variables", wantSel: "env CAMUNDA_* variables", wantAddress: "http://env:8080"},
		{name: "implicit environment profile from an alias", file: &config.File{},
			env:      env{"ZEEBE_CLIENT_ID": "x"},
			wantName: config.EnvProfileName, wantKind: config.KindEnv, wantSelKind: config.FromEnv,
			wantSelName: "CAMUNDA_* variables", wantSel: "env CAMUNDA_* variables", wantAddress: config.DefaultAddress},
		{name: "empty CAMUNDA_* values make no environment profile", file: noCurrent,
			env:      env{"CAMUNDA_REST_ADDRESS": "", "CAMUNDA_CLIENT_ID": ""},
			wantName: "local", wantKind: config.KindBuiltin, wantSelKind: config.FromDefault,
			wantSel: "default", wantAddress: config.DefaultAddress},
		{name: "camctl's own variables make no environment profile", file: noCurrent,
			env:      env{"CAMCTL_KEYRING": "none", "CAMCTL_CACHE_DIR": "/tmp/x", "NO_COLOR": "1", "HOME": "/home/u"},
			wantName: "local", wantKind: config.KindBuiltin, wantSelKind: config.FromDefault,
			wantSel: "default", wantAddress: config.DefaultAddress},
		{name: "built-in local with no file", noFile: true,
			wantName: "local", wantKind: config.KindBuiltin, wantSelKind: config.FromDefault,
			wantSel: "default", wantAddress: config.DefaultAddress},
		{name: "--profile local without a local profile is the built-in", profile: "local",
			wantName: "local", wantKind: config.KindBuiltin, wantSelKind: config.FromFlag, wantSelName: "profile",
			wantSel: "flag --profile", wantAddress: config.DefaultAddress},
		{name: "a local profile in the file overrides the built-in", file: withLocal, profile: "local",
			wantName: "local", wantKind: config.KindFile, wantSelKind: config.FromFlag, wantSelName: "profile",
			wantSel: "flag --profile", wantAddress: "http://localhost:9999"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := tt.file
			if file == nil && !tt.noFile {
				file = testFile()
			}
			r := resolve(t, config.Options{File: file, Profile: tt.profile, LookupEnv: tt.env.lookup})
			if r.Name != tt.wantName || r.Kind != tt.wantKind {
				t.Errorf("profile = %q kind %d, want %q kind %d", r.Name, r.Kind, tt.wantName, tt.wantKind)
			}
			if r.Selection.Kind != tt.wantSelKind || r.Selection.Name != tt.wantSelName || r.Selection.String() != tt.wantSel {
				t.Errorf("Selection = %+v (%q), want kind %d name %q (%q)", r.Selection, r.Selection, tt.wantSelKind, tt.wantSelName, tt.wantSel)
			}
			if got := r.Value(config.Address); got != tt.wantAddress {
				t.Errorf("address = %q, want %q", got, tt.wantAddress)
			}
			if want := tt.wantKind != config.KindEnv; r.Storable() != want {
				t.Errorf("Storable() = %v, want %v", r.Storable(), want)
			}
			if r.Outvoted != tt.wantOutvoted || !slices.Equal(r.EnvVars, tt.wantVars) && tt.wantVars != nil {
				t.Errorf("Outvoted %q by %v, want %q by %v", r.Outvoted, r.EnvVars, tt.wantOutvoted, tt.wantVars)
			}
		})
	}
}

func TestResolveBuiltinLocal(t *testing.T) {
	r := resolve(t, config.Options{})
	if r.Name != config.BuiltinLocalName || r.Kind != config.KindBuiltin {
		t.Fatalf("got %q kind %d", r.Name, r.Kind)
	}
	if r.Value(config.Address) != "http://localhost:8080" || r.Method() != "none" {
		t.Errorf("built-in local = %s auth %s, want http://localhost:8080 auth none", r.Value(config.Address), r.Method())
	}
}

func TestResolveUnknownProfile(t *testing.T) {
	badCurrent := testFile()
	badCurrent.CurrentProfile = "gone"
	tests := []struct {
		name     string
		file     *config.File
		profile  string
		env      env
		wantFrag []string
	}{
		{name: "from --profile", file: testFile(), profile: "nope",
			wantFrag: []string{`"nope"`, "--profile", "known profiles: bare, helm, prod", "camctl profile add nope"}},
		{name: "from CAMCTL_PROFILE", file: testFile(), env: env{"CAMCTL_PROFILE": "nope"},
			wantFrag: []string{`"nope"`, "$CAMCTL_PROFILE", "known profiles: bare, helm, prod"}},
		{name: "from current-profile", file: badCurrent,
			wantFrag: []string{`"gone"`, "current-profile in " + testConfigPath}},
		{name: "no profiles at all", file: &config.File{}, profile: "nope",
			wantFrag: []string{`"nope"`, "--profile", "no profiles are defined yet"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := config.Resolve(config.Options{ConfigPath: testConfigPath, File: tt.file, Profile: tt.profile, LookupEnv: tt.env.lookup})
			var ue *config.UsageError
			if !errors.As(err, &ue) {
				t.Fatalf("err = %T %v, want *config.UsageError", err, err)
			}
			for _, frag := range tt.wantFrag {
				if !strings.Contains(err.Error(), frag) {
					t.Errorf("error %q does not contain %q", err, frag)
				}
			}
		})
	}
}

func TestResolveAuthStrategy(t *testing.T) {
	tests := []struct {
		value string
		want  string
	}{
		{"NONE", "none"},
		{"BASIC", "basic"},
		{"OAUTH", "oidc"},
		{"BEARER", "bearer"},
		{"none", "none"},
		{"Basic", "basic"},
		{"oAuth", "oidc"},
		{"bearer", "bearer"},
		{"oidc", "oidc"},
		{" BASIC ", "basic"},
	}
	for _, tt := range tests {
		t.Run(tt.value, func(t *testing.T) {
			// Credentials for another method must not override the explicit one.
			e := env{"CAMUNDA_AUTH_STRATEGY": tt.value, "CAMUNDA_CLIENT_ID": "id", "CAMUNDA_CLIENT_SECRET": "s"}
			r := resolve(t, config.Options{LookupEnv: e.lookup})
			got := r.Get(config.AuthMethod)
			if got.Value != tt.want || got.Source.String() != "env CAMUNDA_AUTH_STRATEGY" || r.Method() != tt.want {
				t.Errorf("method = %q from %q, want %q from env CAMUNDA_AUTH_STRATEGY", got.Value, got.Source, tt.want)
			}
		})
	}

	invalid := []struct {
		name     string
		opts     config.Options
		wantFrag []string
	}{
		{name: "env", opts: config.Options{LookupEnv: env{"CAMUNDA_AUTH_STRATEGY": "KERBEROS"}.lookup},
			wantFrag: []string{"KERBEROS", "CAMUNDA_AUTH_STRATEGY", "none, basic, oidc, bearer"}},
		{name: "flag", opts: config.Options{Flags: map[config.Key]string{config.AuthMethod: "magic"}},
			wantFrag: []string{"magic", "--auth"}},
		{name: "file", opts: config.Options{File: &config.File{CurrentProfile: "p", Profiles: map[string]config.Profile{"p": {Auth: config.AuthConfig{Method: "ldap"}}}}},
			wantFrag: []string{"ldap", "config file", "profile p"}},
	}
	for _, tt := range invalid {
		t.Run("invalid from "+tt.name, func(t *testing.T) {
			tt.opts.ConfigPath = testConfigPath
			_, err := config.Resolve(tt.opts)
			var ue *config.UsageError
			if !errors.As(err, &ue) {
				t.Fatalf("err = %T %v, want *config.UsageError", err, err)
			}
			for _, frag := range tt.wantFrag {
				if !strings.Contains(err.Error(), frag) {
					t.Errorf("error %q does not name %q", err, frag)
				}
			}
		})
	}
}

func TestResolveMethodInference(t *testing.T) {
	fileClientOnly := &config.File{CurrentProfile: "p", Profiles: map[string]config.Profile{
		"p": {Auth: config.AuthConfig{ClientID: "file-client"}},
	}}
	fileBasic := &config.File{CurrentProfile: "p", Profiles: map[string]config.Profile{
		"p": {Auth: config.AuthConfig{Method: "basic", Username: "demo"}},
	}}
	fileNone := &config.File{CurrentProfile: "p", Profiles: map[string]config.Profile{
		"p": {Auth: config.AuthConfig{Method: "none"}},
	}}
	tests := []struct {
		name    string
		file    *config.File
		flags   map[config.Key]string
		env     env
		want    string
		wantSrc string
	}{
		{name: "client id + secret", env: env{"CAMUNDA_CLIENT_ID": "id", "CAMUNDA_CLIENT_SECRET": "s"},
			want: "oidc", wantSrc: "inferred from CAMUNDA_CLIENT_ID + CAMUNDA_CLIENT_SECRET"},
		{name: "zeebe client id + secret", env: env{"ZEEBE_CLIENT_ID": "id", "ZEEBE_CLIENT_SECRET": "s"},
			want: "oidc", wantSrc: "inferred from ZEEBE_CLIENT_ID + ZEEBE_CLIENT_SECRET"},
		{name: "client id + client cert", env: env{"CAMUNDA_CLIENT_ID": "id", "CAMUNDA_MTLS_CERT_PATH": "/c.pem"},
			want: "oidc", wantSrc: "inferred from CAMUNDA_CLIENT_ID + CAMUNDA_MTLS_CERT_PATH"},
		{name: "client id + keystore", env: env{"CAMUNDA_CLIENT_ID": "id", "CAMUNDA_SSL_CLIENT_KEYSTORE_PATH": "/k.p12"},
			want: "oidc", wantSrc: "inferred from CAMUNDA_CLIENT_ID + CAMUNDA_SSL_CLIENT_KEYSTORE_PATH"},
		// A client id and an IdP without the secret: oidc (and then the
		// missing secret is named), not none and a bare 401.
		{name: "client id + issuer", env: env{"CAMUNDA_CLIENT_ID": "id", "CAMUNDA_ISSUER_URL": "https://idp.example.com/realms/r"},
			want: "oidc", wantSrc: "inferred from CAMUNDA_CLIENT_ID + CAMUNDA_ISSUER_URL"},
		{name: "client id + token URL", env: env{"CAMUNDA_CLIENT_ID": "id", "CAMUNDA_OAUTH_URL": "https://idp.example.com/token"},
			want: "oidc", wantSrc: "inferred from CAMUNDA_CLIENT_ID + CAMUNDA_OAUTH_URL"},
		{name: "username + password", env: env{"CAMUNDA_BASIC_AUTH_USERNAME": "u", "CAMUNDA_BASIC_AUTH_PASSWORD": "p"},
			want: "basic", wantSrc: "inferred from CAMUNDA_BASIC_AUTH_USERNAME + CAMUNDA_BASIC_AUTH_PASSWORD"},
		{name: "username + password aliases", env: env{"CAMUNDA_USERNAME": "u", "CAMUNDA_PASSWORD": "p"},
			want: "basic", wantSrc: "inferred from CAMUNDA_USERNAME + CAMUNDA_PASSWORD"},
		{name: "token", env: env{"CAMUNDA_OAUTH_TOKEN": "t"},
			want: "bearer", wantSrc: "inferred from CAMUNDA_OAUTH_TOKEN"},
		{name: "nothing", env: env{},
			want: "none", wantSrc: "default"},
		{name: "client id alone", env: env{"CAMUNDA_CLIENT_ID": "id"},
			want: "none", wantSrc: "default"},
		{name: "client secret alone", env: env{"CAMUNDA_CLIENT_SECRET": "s"},
			want: "none", wantSrc: "default"},
		{name: "username alone", env: env{"CAMUNDA_USERNAME": "u"},
			want: "none", wantSrc: "default"},
		{name: "empty secret does not count", env: env{"CAMUNDA_CLIENT_ID": "id", "CAMUNDA_CLIENT_SECRET": ""},
			want: "none", wantSrc: "default"},
		{name: "oidc credentials win over basic ones",
			env:  env{"CAMUNDA_CLIENT_ID": "id", "CAMUNDA_CLIENT_SECRET": "s", "CAMUNDA_USERNAME": "u", "CAMUNDA_PASSWORD": "p"},
			want: "oidc", wantSrc: "inferred from CAMUNDA_CLIENT_ID + CAMUNDA_CLIENT_SECRET"},
		{name: "client id from the file, secret from env", file: fileClientOnly,
			env:  env{"CAMUNDA_CLIENT_SECRET": "s"},
			want: "oidc", wantSrc: "inferred from auth.client-id + CAMUNDA_CLIENT_SECRET"},
		{name: "client id from a flag, secret from env",
			flags: map[config.Key]string{config.ClientID: "flag-client"}, env: env{"CAMUNDA_CLIENT_SECRET": "s"},
			want: "oidc", wantSrc: "inferred from --client-id + CAMUNDA_CLIENT_SECRET"},
		{name: "explicit file method is not overridden by env credentials", file: fileBasic,
			env:  env{"CAMUNDA_CLIENT_ID": "id", "CAMUNDA_CLIENT_SECRET": "s"},
			want: "basic", wantSrc: "config file"},
		{name: "explicit file method none is not overridden", file: fileNone,
			env:  env{"CAMUNDA_OAUTH_TOKEN": "t"},
			want: "none", wantSrc: "config file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// A file profile is named, as with -p: only then does the
			// environment override its fields one by one.
			profile := ""
			if tt.file != nil {
				profile = tt.file.CurrentProfile
			}
			r := resolve(t, config.Options{File: tt.file, Profile: profile, Flags: tt.flags, LookupEnv: tt.env.lookup})
			got := r.Get(config.AuthMethod)
			if got.Value != tt.want || got.Source.String() != tt.wantSrc {
				t.Errorf("method = %q from %q, want %q from %q", got.Value, got.Source, tt.want, tt.wantSrc)
			}
			if got.Source.String() != "default" && got.Source.String() != "config file" && got.Source.Kind != config.FromInferred {
				t.Errorf("source kind = %d, want FromInferred", got.Source.Kind)
			}
		})
	}
}

// TestResolveEveryEnvName sets each variable of config.Fields on its own
// and checks that it supplies its key.
func TestResolveEveryEnvName(t *testing.T) {
	n := 0
	for _, f := range config.Fields {
		for _, name := range f.Env {
			n++
			t.Run(name, func(t *testing.T) {
				value, want := "value-of-"+name, "value-of-"+name
				if f.Key == config.AuthMethod {
					value, want = "BEARER", "bearer"
				}
				r := resolve(t, config.Options{LookupEnv: env{name: value}.lookup})
				got := r.Get(f.Key)
				if got.Value != want || got.Source.String() != "env "+name {
					t.Errorf("%s=%q: Get(%s) = %q from %q, want %q from env %s", name, value, f.Key, got.Value, got.Source, want, name)
				}
				// Only connection variables make up the environment
				// profile (spec §3); others apply to the built-in one.
				wantKind := config.KindBuiltin
				if slices.Contains(config.ConnectionVars(env{name: value}.lookup), name) {
					wantKind = config.KindEnv
				}
				if r.Kind != wantKind {
					t.Errorf("%s alone: profile kind = %d, want %d", name, r.Kind, wantKind)
				}
			})
		}
	}
	if n == 0 {
		t.Fatal("config.Fields has no environment variables")
	}
}

// TestResolveFlagForEveryFlagField checks every field with a flag takes it.
func TestResolveFlagForEveryFlagField(t *testing.T) {
	for _, f := range config.Fields {
		if f.Flag == "" {
			continue
		}
		t.Run(f.Flag, func(t *testing.T) {
			value, want := "flag-value", "flag-value"
			switch {
			case f.Key == config.AuthMethod:
				value, want = "basic", "basic"
			case f.Key == config.Grant:
				value, want = "device-code", "device-code"
			case f.Bool:
				value, want = "true", "true"
			}
			e := env{}
			for _, n := range f.Env {
				e[n] = "env-value"
			}
			got := resolve(t, config.Options{File: testFile(), Profile: "prod", Flags: map[config.Key]string{f.Key: value}, LookupEnv: e.lookup}).Get(f.Key)
			if got.Value != want || got.Source.String() != "flag --"+f.Flag {
				t.Errorf("Get(%s) = %q from %q, want %q from flag --%s", f.Key, got.Value, got.Source, want, f.Flag)
			}
		})
	}
}

// TestResolveSaaSCoordinates: config.Fields says the SaaS cluster
// coordinates from the environment "are turned into an address"; with
// no address configured, CAMUNDA_CLUSTER_REGION + CAMUNDA_CLUSTER_ID must
// give https://{region}.zeebe.camunda.io/{clusterId} (spec §1), and an
// explicit address still wins.
func TestResolveSaaSCoordinates(t *testing.T) {
	saas := env{"CAMUNDA_CLUSTER_ID": "0a1b2c3d", "CAMUNDA_CLUSTER_REGION": "bru-2"}
	tests := []struct {
		name string
		env  env
		want string
	}{
		{name: "coordinates only", env: saas, want: "https://bru-2.zeebe.camunda.io/0a1b2c3d"},
		{name: "explicit address wins",
			env:  env{"CAMUNDA_CLUSTER_ID": "0a1b2c3d", "CAMUNDA_CLUSTER_REGION": "bru-2", "ZEEBE_REST_ADDRESS": "https://bru-2.zeebe.camunda.io/other"},
			want: "https://bru-2.zeebe.camunda.io/other"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := resolve(t, config.Options{LookupEnv: tt.env.lookup})
			if got := r.Value(config.Address); got != tt.want {
				t.Errorf("address = %q from %q, want %q", got, r.Get(config.Address).Source, tt.want)
			}
			if r.Value(config.ClusterID) != "0a1b2c3d" || r.Value(config.Region) != "bru-2" {
				t.Errorf("cluster id / region = %q / %q", r.Value(config.ClusterID), r.Value(config.Region))
			}
		})
	}
}

func TestUnknownProfileDidYouMean(t *testing.T) {
	for _, tc := range []struct {
		name  string
		known []string
		want  string
	}{
		{"hlem", []string{"helm", "saas"}, `unknown profile "hlem" (from --profile); did you mean helm? (known profiles: helm, saas)`},
		{"Helm", []string{"helm"}, `did you mean helm?`},
		{"prod", []string{"helm", "saas"}, "known profiles: helm, saas. Create it with `camctl profile add prod --address URL`"},
		{"x", []string{"y"}, "known profiles: y. Create it"}, // one edit is the whole name: no suggestion
		{"staging", []string{"stagign", "stage"}, "did you mean stagign?"},
	} {
		err := config.UnknownProfileError(tc.name, "--profile", tc.known)
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s among %v: %q, want it to contain %q", tc.name, tc.known, err, tc.want)
		}
	}
}

// AllowNew makes a profile named by --profile or $CAMCTL_PROFILE that
// the file lacks a new, empty one; the current-profile and the built-in
// local profile are not affected.
func TestResolveAllowNew(t *testing.T) {
	badCurrent := testFile()
	badCurrent.CurrentProfile = "gone"
	tests := []struct {
		name     string
		file     *config.File
		profile  string
		env      env
		wantNew  bool
		wantKind config.ProfileKind
		wantErr  string
	}{
		{name: "--profile", file: testFile(), profile: "fresh", wantNew: true, wantKind: config.KindFile},
		{name: "CAMCTL_PROFILE", file: testFile(), env: env{"CAMCTL_PROFILE": "fresh"}, wantNew: true, wantKind: config.KindFile},
		{name: "existing", file: testFile(), profile: "helm", wantKind: config.KindFile},
		{name: "explicit local", file: &config.File{}, profile: config.BuiltinLocalName, wantNew: true, wantKind: config.KindFile},
		{name: "default local", file: &config.File{}, wantKind: config.KindBuiltin},
		{name: "current-profile", file: badCurrent, wantErr: "current-profile in " + testConfigPath},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := config.Resolve(config.Options{ConfigPath: testConfigPath, File: tt.file, Profile: tt.profile, LookupEnv: tt.env.lookup, AllowNew: true})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if r.New != tt.wantNew || r.Kind != tt.wantKind {
				t.Errorf("New, Kind = %v, %v; want %v, %v", r.New, r.Kind, tt.wantNew, tt.wantKind)
			}
		})
	}
}
