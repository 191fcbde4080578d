package config_test

import (
	"slices"
	"sort"
	"testing"

	"github.com/camctl/camctl/internal/config"
)

// specEnv is the table of spec §4 (environment variables) for profile
// settings, in the spec's order: the first name wins, aliases after it.
var specEnv = map[config.Key][]string{
	config.Address:             {"CAMUNDA_REST_ADDRESS", "ZEEBE_REST_ADDRESS", "CAMUNDA_BASE_URL"},
	config.AuthMethod:          {"CAMUNDA_AUTH_STRATEGY"},
	config.ClientID:            {"CAMUNDA_CLIENT_ID", "ZEEBE_CLIENT_ID"},
	config.ClientSecret:        {"CAMUNDA_CLIENT_SECRET", "ZEEBE_CLIENT_SECRET"},
	config.TokenURL:            {"CAMUNDA_OAUTH_URL", "CAMUNDA_AUTHORIZATION_SERVER_URL", "ZEEBE_AUTHORIZATION_SERVER_URL"},
	config.Audience:            {"CAMUNDA_TOKEN_AUDIENCE", "ZEEBE_TOKEN_AUDIENCE"},
	config.Scope:               {"CAMUNDA_TOKEN_SCOPE", "CAMUNDA_OAUTH_SCOPE", "ZEEBE_TOKEN_SCOPE"},
	config.Resource:            {"CAMUNDA_TOKEN_RESOURCE"},
	config.Username:            {"CAMUNDA_BASIC_AUTH_USERNAME", "CAMUNDA_USERNAME"},
	config.Password:            {"CAMUNDA_BASIC_AUTH_PASSWORD", "CAMUNDA_PASSWORD"},
	config.Token:               {"CAMUNDA_OAUTH_TOKEN"},
	config.ClientCert:          {"CAMUNDA_MTLS_CERT_PATH"},
	config.ClientKey:           {"CAMUNDA_MTLS_KEY_PATH"},
	config.CAFile:              {"CAMUNDA_MTLS_CA_PATH", "CAMUNDA_CA_CERTIFICATE_PATH"},
	config.KeyPassphrase:       {"CAMUNDA_MTLS_KEY_PASSPHRASE"},
	config.Keystore:            {"CAMUNDA_SSL_CLIENT_KEYSTORE_PATH"},
	config.KeystorePassword:    {"CAMUNDA_SSL_CLIENT_KEYSTORE_SECRET"},
	config.KeystoreKeyPassword: {"CAMUNDA_SSL_CLIENT_KEYSTORE_KEY_SECRET"},
	config.ClusterID:           {"CAMUNDA_CLUSTER_ID"},
	config.Region:              {"CAMUNDA_CLUSTER_REGION"},
	config.Issuer:              {"CAMUNDA_ISSUER_URL"},
	config.WellKnownURL:        {"CAMUNDA_WELL_KNOWN_CONFIGURATION_URL"},
	// §4's client assertion row and §11.
	config.AssertionKeystore:    {"CAMUNDA_CLIENT_ASSERTION_KEYSTORE_PATH", "ZEEBE_CLIENT_ASSERTION_KEYSTORE_PATH"},
	config.AssertionKeystorePw:  {"CAMUNDA_CLIENT_ASSERTION_KEYSTORE_PASSWORD", "ZEEBE_CLIENT_ASSERTION_KEYSTORE_PASSWORD"},
	config.AssertionKeyAlias:    {"CAMUNDA_CLIENT_ASSERTION_KEYSTORE_KEY_ALIAS", "ZEEBE_CLIENT_ASSERTION_KEYSTORE_KEY_ALIAS"},
	config.AssertionKeyPassword: {"CAMUNDA_CLIENT_ASSERTION_KEYSTORE_KEY_PASSWORD", "ZEEBE_CLIENT_ASSERTION_KEYSTORE_KEY_PASSWORD"},
	config.AssertionKey:         {"CAMCTL_CLIENT_ASSERTION_KEY_PATH"},
	config.AssertionCert:        {"CAMCTL_CLIENT_ASSERTION_CERT_PATH"},
	config.AssertionFile:        {"CAMCTL_CLIENT_ASSERTION_FILE"},
	config.AssertionFrom:        {"CAMCTL_CLIENT_ASSERTION_FROM"},
	config.AssertionAudience:    {"CAMCTL_ASSERTION_AUDIENCE"},
}

// specAllEnv is every name in the spec §4 table that maps to a profile
// setting, written out flat so that a name added to or dropped from
// either side shows up as a difference.
var specAllEnv = []string{
	"CAMUNDA_REST_ADDRESS", "ZEEBE_REST_ADDRESS", "CAMUNDA_BASE_URL",
	"CAMUNDA_AUTH_STRATEGY",
	"CAMUNDA_CLIENT_ID", "ZEEBE_CLIENT_ID", "CAMUNDA_CLIENT_SECRET", "ZEEBE_CLIENT_SECRET",
	"CAMUNDA_OAUTH_URL", "CAMUNDA_AUTHORIZATION_SERVER_URL", "ZEEBE_AUTHORIZATION_SERVER_URL",
	"CAMUNDA_TOKEN_AUDIENCE", "ZEEBE_TOKEN_AUDIENCE",
	"CAMUNDA_TOKEN_SCOPE", "CAMUNDA_OAUTH_SCOPE", "ZEEBE_TOKEN_SCOPE",
	"CAMUNDA_TOKEN_RESOURCE",
	"CAMUNDA_BASIC_AUTH_USERNAME", "CAMUNDA_USERNAME", "CAMUNDA_BASIC_AUTH_PASSWORD", "CAMUNDA_PASSWORD",
	"CAMUNDA_OAUTH_TOKEN",
	"CAMUNDA_MTLS_CERT_PATH", "CAMUNDA_MTLS_KEY_PATH", "CAMUNDA_MTLS_CA_PATH", "CAMUNDA_MTLS_KEY_PASSPHRASE",
	"CAMUNDA_CA_CERTIFICATE_PATH",
	"CAMUNDA_SSL_CLIENT_KEYSTORE_PATH", "CAMUNDA_SSL_CLIENT_KEYSTORE_SECRET", "CAMUNDA_SSL_CLIENT_KEYSTORE_KEY_SECRET",
	"CAMUNDA_CLUSTER_ID", "CAMUNDA_CLUSTER_REGION",
	"CAMUNDA_ISSUER_URL", "CAMUNDA_WELL_KNOWN_CONFIGURATION_URL",
	"CAMUNDA_CLIENT_ASSERTION_KEYSTORE_PATH", "CAMUNDA_CLIENT_ASSERTION_KEYSTORE_PASSWORD",
	"CAMUNDA_CLIENT_ASSERTION_KEYSTORE_KEY_ALIAS", "CAMUNDA_CLIENT_ASSERTION_KEYSTORE_KEY_PASSWORD",
	"ZEEBE_CLIENT_ASSERTION_KEYSTORE_PATH", "ZEEBE_CLIENT_ASSERTION_KEYSTORE_PASSWORD",
	"ZEEBE_CLIENT_ASSERTION_KEYSTORE_KEY_ALIAS", "ZEEBE_CLIENT_ASSERTION_KEYSTORE_KEY_PASSWORD",
	"CAMCTL_CLIENT_ASSERTION_KEY_PATH", "CAMCTL_CLIENT_ASSERTION_CERT_PATH", "CAMCTL_CLIENT_ASSERTION_FILE",
	"CAMCTL_CLIENT_ASSERTION_FROM", "CAMCTL_ASSERTION_AUDIENCE",
}

// specCamctlEnv is the "camctl itself" row of spec §4.
var specCamctlEnv = []string{"CAMCTL_PROFILE", "CAMCTL_CONFIG", "CAMCTL_CACHE_DIR", "CAMCTL_KEYRING", "NO_COLOR"}

func TestFieldsEnvMatchesSpec(t *testing.T) {
	var got []string
	seen := map[string]config.Key{}
	for _, f := range config.Fields {
		for _, n := range f.Env {
			if k, dup := seen[n]; dup {
				t.Errorf("%s is the variable of both %s and %s", n, k, f.Key)
			}
			seen[n] = f.Key
			got = append(got, n)
		}
	}
	want := slices.Clone(specAllEnv)
	sort.Strings(got)
	sort.Strings(want)
	if !slices.Equal(got, want) {
		for _, n := range got {
			if !slices.Contains(want, n) {
				t.Errorf("config.Fields reads %s, which spec §4 does not list", n)
			}
		}
		for _, n := range want {
			if !slices.Contains(got, n) {
				t.Errorf("spec §4 lists %s, which config.Fields does not read", n)
			}
		}
	}

	// Per setting, in order (first name wins).
	for key, names := range specEnv {
		f, ok := config.FieldFor(key)
		if !ok {
			t.Errorf("spec §4 setting %s has no field", key)
			continue
		}
		if !slices.Equal(f.Env, names) {
			t.Errorf("%s reads %v, spec §4 says %v (in this order)", key, f.Env, names)
		}
	}
	for _, f := range config.Fields {
		if _, ok := specEnv[f.Key]; !ok && len(f.Env) > 0 {
			t.Errorf("%s reads %v, which spec §4 does not list for it", f.Key, f.Env)
		}
	}
}

func TestCamctlEnvMatchesSpec(t *testing.T) {
	got := []string{config.EnvProfile, config.EnvConfig, config.EnvCacheDir, config.EnvKeyring, config.EnvNoColor}
	if !slices.Equal(got, specCamctlEnv) {
		t.Errorf("camctl's own variables = %v, spec §4 says %v", got, specCamctlEnv)
	}
	for _, f := range config.Fields {
		for _, n := range f.Env {
			if slices.Contains(specCamctlEnv, n) {
				t.Errorf("%s is both a camctl variable and the variable of %s", n, f.Key)
			}
		}
	}
}

func TestFieldsInvariants(t *testing.T) {
	for _, f := range config.Fields {
		if f.Secret && f.Flag != "" {
			t.Errorf("secret %s has flag --%s; secrets are never accepted as flag values", f.Key, f.Flag)
		}
		got, ok := config.FieldFor(f.Key)
		if !ok || got.Key != f.Key {
			t.Errorf("FieldFor(%s) = %+v, %v", f.Key, got, ok)
		}
	}
	if _, ok := config.FieldFor("auth.nope"); ok {
		t.Error("FieldFor(auth.nope) found a field")
	}
	for _, m := range config.Methods {
		if got, ok := config.ParseMethod(m); !ok || got != m {
			t.Errorf("ValidMethod(%q) = %q, %v", m, got, ok)
		}
	}
	if _, ok := config.ParseMethod("oauth2"); ok {
		t.Error("ValidMethod(oauth2) accepted")
	}
}
