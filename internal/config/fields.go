// Package config finds, reads and edits camctl's configuration file and
// resolves every setting of the selected profile from, highest first:
// command-line flag, environment variable, profile, built-in default —
// remembering where each value came from so that `profile show` can say.
//
// The file is parsed as a YAML node tree and checked in one linear pass
// (parse.go); viper then reads the settings camctl knows from that
// pruned tree, and only from it: it is never given environment variables
// or flags and never writes. Its known traps therefore cannot bite:
// WriteConfig would persist env and flag values (a secret from
// CAMUNDA_CLIENT_SECRET would land in config.yaml), Unmarshal ignores
// AutomaticEnv, it cannot tell which of several alias variables supplied
// a value, and decoding a whole file through it is quadratic in its keys.
// Environment lookup is the explicit table below; writes edit the YAML
// document itself, which keeps unknown keys and comments.
package config

// Key names a profile setting by its path in the config file.
type Key string

// The settings of a profile. Secrets never appear in the file; they come
// from the environment or the secret store.
const (
	Address             Key = "address"
	AuthMethod          Key = "auth.method"
	Username            Key = "auth.username"
	Password            Key = "auth.password" // #nosec G101 -- the name of a setting, not its value
	ClientID            Key = "auth.client-id"
	ClientSecret        Key = "auth.client-secret" // #nosec G101 -- the name of a setting, not its value
	TokenURL            Key = "auth.token-url"     // #nosec G101 -- the name of a setting, not its value
	Audience            Key = "auth.audience"
	Scope               Key = "auth.scope"
	Resource            Key = "auth.resource"
	Token               Key = "auth.token" // #nosec G101 -- the name of a setting, not its value
	CAFile              Key = "tls.ca-file"
	ClientCert          Key = "tls.client-cert"
	ClientKey           Key = "tls.client-key"
	KeyPassphrase       Key = "tls.key-passphrase" // #nosec G101 -- the name of a setting, not its value
	Keystore            Key = "tls.keystore"
	KeystorePassword    Key = "tls.keystore-password"     // #nosec G101 -- the name of a setting, not its value
	KeystoreKeyPassword Key = "tls.keystore-key-password" // #nosec G101 -- the name of a setting, not its value
	InsecureSkipVerify  Key = "tls.insecure-skip-verify"
	CAOnly              Key = "tls.ca-only"
	// Issuer, Grant, WellKnownURL and RefreshToken are a person's
	// sign-in (spec §10).
	Issuer       Key = "auth.issuer"
	Grant        Key = "auth.grant"
	WellKnownURL Key = "auth.well-known-url"
	RefreshToken Key = "auth.refresh-token" // #nosec G101 -- the name of a setting, not its value
	ClusterID    Key = "saas.cluster-id"
	Region       Key = "saas.region"

	// Client assertions and command-supplied tokens (spec §11).
	AssertionKey         Key = "auth.client-assertion-key"
	AssertionCert        Key = "auth.client-assertion-cert"
	AssertionKeystore    Key = "auth.client-assertion-keystore"
	AssertionKeyAlias    Key = "auth.client-assertion-key-alias"
	AssertionKeystorePw  Key = "auth.client-assertion-keystore-password" // #nosec G101 -- the name of a setting, not its value
	AssertionKeyPassword Key = "auth.client-assertion-key-password"      // #nosec G101 -- the name of a setting, not its value
	AssertionAlg         Key = "auth.assertion-alg"
	AssertionAudience    Key = "auth.assertion-audience"
	AssertionFile        Key = "auth.client-assertion-file"
	AssertionEnv         Key = "auth.client-assertion-env"
	AssertionFrom        Key = "auth.client-assertion-from"
	// Command is a list (program and arguments); Resolved holds it as a
	// JSON array of strings.
	Command Key = "auth.command"
)

// Field describes one setting: how it is spelt in the file, on the command
// line and in the environment. The environment names are those of
// Camunda's own SDKs and Console credential downloads, first one wins.
type Field struct {
	Key Key
	// Flag is the `profile add`/`profile set`/`login` flag; empty for
	// secrets, which are never accepted as flag values.
	Flag string
	Env  []string
	// Secret values live in the secret store or the environment only.
	Secret bool
	// EnvOnly settings are read from the environment but not stored in
	// profiles (the SaaS cluster coordinates are turned into an address).
	EnvOnly bool
	Bool    bool
	Help    string
}

// Fields lists every setting in display order.
var Fields = []Field{
	{Key: Address, Flag: "address", Env: []string{"CAMUNDA_REST_ADDRESS", "ZEEBE_REST_ADDRESS", "CAMUNDA_BASE_URL"},
		Help: "REST API address of the cluster (/v2 is added when missing)"},
	{Key: AuthMethod, Flag: "auth", Env: []string{"CAMUNDA_AUTH_STRATEGY"},
		Help: "auth method: none, basic, oidc, bearer or exec"},
	{Key: Username, Flag: "username", Env: []string{"CAMUNDA_BASIC_AUTH_USERNAME", "CAMUNDA_USERNAME"},
		Help: "user name for basic auth"},
	{Key: Password, Secret: true, Env: []string{"CAMUNDA_BASIC_AUTH_PASSWORD", "CAMUNDA_PASSWORD"},
		Help: "password for basic auth"},
	{Key: ClientID, Flag: "client-id", Env: []string{"CAMUNDA_CLIENT_ID", "ZEEBE_CLIENT_ID"},
		Help: "OAuth client id"},
	{Key: ClientSecret, Secret: true, Env: []string{"CAMUNDA_CLIENT_SECRET", "ZEEBE_CLIENT_SECRET"},
		Help: "OAuth client secret"},
	{Key: TokenURL, Flag: "token-url", Env: []string{"CAMUNDA_OAUTH_URL", "CAMUNDA_AUTHORIZATION_SERVER_URL", "ZEEBE_AUTHORIZATION_SERVER_URL"},
		Help: "OAuth token endpoint"},
	{Key: Audience, Flag: "audience", Env: []string{"CAMUNDA_TOKEN_AUDIENCE", "ZEEBE_TOKEN_AUDIENCE"},
		Help: "audience sent with the token request"},
	{Key: Scope, Flag: "scope", Env: []string{"CAMUNDA_TOKEN_SCOPE", "CAMUNDA_OAUTH_SCOPE", "ZEEBE_TOKEN_SCOPE"},
		Help: "scope sent with the token request (Entra ID: <api>/.default)"},
	{Key: Resource, Flag: "resource", Env: []string{"CAMUNDA_TOKEN_RESOURCE"},
		Help: "RFC 8707 resource sent with the token request"},
	{Key: Issuer, Flag: "issuer", Env: []string{"CAMUNDA_ISSUER_URL"},
		Help: "OIDC issuer: the token and login endpoints come from its /.well-known/openid-configuration"},
	{Key: WellKnownURL, EnvOnly: true, Env: []string{"CAMUNDA_WELL_KNOWN_CONFIGURATION_URL"},
		Help: "full URL of the OIDC discovery document (instead of the issuer's)"},
	{Key: Grant, Flag: "grant",
		Help: "how an oidc profile gets tokens: client-credentials (default), authorization-code (login --web) or device-code (login --device)"},
	{Key: RefreshToken, Secret: true,
		Help: "refresh token of a person's sign-in (stored by camctl login --web or --device)"},
	{Key: Token, Secret: true, Env: []string{"CAMUNDA_OAUTH_TOKEN"},
		Help: "static bearer token"},
	{Key: CAFile, Flag: "ca-file", Env: []string{"CAMUNDA_MTLS_CA_PATH", "CAMUNDA_CA_CERTIFICATE_PATH"},
		Help: "PEM bundle of extra CAs to trust (added to the system roots)"},
	{Key: CAOnly, Flag: "ca-only", Bool: true,
		Help: "trust only the CAs of --ca-file, not the system roots"},
	{Key: ClientCert, Flag: "client-cert", Env: []string{"CAMUNDA_MTLS_CERT_PATH"},
		Help: "PEM client certificate"},
	{Key: ClientKey, Flag: "client-key", Env: []string{"CAMUNDA_MTLS_KEY_PATH"},
		Help: "PEM private key of the client certificate"},
	{Key: KeyPassphrase, Secret: true, Env: []string{"CAMUNDA_MTLS_KEY_PASSPHRASE"},
		Help: "passphrase of an encrypted client key"},
	{Key: Keystore, Flag: "keystore", Env: []string{"CAMUNDA_SSL_CLIENT_KEYSTORE_PATH"},
		Help: "PKCS#12 keystore with the client certificate and key"},
	{Key: KeystorePassword, Secret: true, Env: []string{"CAMUNDA_SSL_CLIENT_KEYSTORE_SECRET"},
		Help: "keystore password"},
	{Key: KeystoreKeyPassword, Secret: true, Env: []string{"CAMUNDA_SSL_CLIENT_KEYSTORE_KEY_SECRET"},
		Help: "password of the key inside the keystore; only used to explain that a key password different from the keystore's is not supported"},
	{Key: InsecureSkipVerify, Flag: "insecure-skip-verify", Bool: true,
		Help: "do not verify the server's TLS certificate (warns on every run)"},
	{Key: ClusterID, EnvOnly: true, Env: []string{"CAMUNDA_CLUSTER_ID"},
		Help: "SaaS cluster id"},
	{Key: Region, EnvOnly: true, Env: []string{"CAMUNDA_CLUSTER_REGION"},
		Help: "SaaS region"},
	{Key: AssertionKey, Flag: "client-assertion-key", Env: []string{"CAMCTL_CLIENT_ASSERTION_KEY_PATH"},
		Help: "PEM private key that signs client assertions (private_key_jwt) instead of a client secret"},
	{Key: AssertionCert, Flag: "client-assertion-cert", Env: []string{"CAMCTL_CLIENT_ASSERTION_CERT_PATH"},
		Help: "PEM certificate of --client-assertion-key (adds x5t and x5t#S256 to the assertion)"},
	{Key: AssertionKeystore, Flag: "client-assertion-keystore", Env: []string{"CAMUNDA_CLIENT_ASSERTION_KEYSTORE_PATH", "ZEEBE_CLIENT_ASSERTION_KEYSTORE_PATH"},
		Help: "PKCS#12 keystore with the key (and certificate) that signs client assertions"},
	{Key: AssertionKeyAlias, Flag: "client-assertion-key-alias", Env: []string{"CAMUNDA_CLIENT_ASSERTION_KEYSTORE_KEY_ALIAS", "ZEEBE_CLIENT_ASSERTION_KEYSTORE_KEY_ALIAS"},
		Help: "alias of the key in --client-assertion-keystore (default: its first key)"},
	{Key: AssertionKeystorePw, Secret: true, Env: []string{"CAMUNDA_CLIENT_ASSERTION_KEYSTORE_PASSWORD", "ZEEBE_CLIENT_ASSERTION_KEYSTORE_PASSWORD"},
		Help: "password of the client assertion keystore"},
	{Key: AssertionKeyPassword, Secret: true, Env: []string{"CAMUNDA_CLIENT_ASSERTION_KEYSTORE_KEY_PASSWORD", "ZEEBE_CLIENT_ASSERTION_KEYSTORE_KEY_PASSWORD"},
		Help: "password of the client assertion key (keystore: default the keystore's; PEM: the passphrase of an encrypted key)"},
	{Key: AssertionAlg, Flag: "assertion-alg",
		Help: "signature algorithm of client assertions: RS256 (default for RSA keys), PS256, ES256 (EC keys)"},
	{Key: AssertionAudience, Flag: "assertion-audience", Env: []string{"CAMCTL_ASSERTION_AUDIENCE"},
		Help: "aud of the client assertion (default: the token URL; GitHub Actions: api://AzureADTokenExchange)"},
	{Key: AssertionFile, Flag: "client-assertion-file", Env: []string{"CAMCTL_CLIENT_ASSERTION_FILE"},
		Help: "file holding a client assertion, re-read before every token request (Kubernetes projected token, AZURE_FEDERATED_TOKEN_FILE)"},
	{Key: AssertionEnv, Flag: "client-assertion-env",
		Help: "name of a variable holding a client assertion (GitLab id_tokens:)"},
	{Key: AssertionFrom, Flag: "client-assertion-from", Env: []string{"CAMCTL_CLIENT_ASSERTION_FROM"},
		Help: "CI platform that issues the client assertion: github-actions"},
	{Key: Command,
		Help: "exec auth: the command that prints a token, as a list (--exec-command PROGRAM, --exec-arg ARG...)"},
}

// FieldFor returns the description of key.
func FieldFor(key Key) (Field, bool) {
	for _, f := range Fields {
		if f.Key == key {
			return f, true
		}
	}
	return Field{}, false
}

// Variables camctl reads for itself rather than for a profile setting.
const (
	EnvProfile  = "CAMCTL_PROFILE"
	EnvConfig   = "CAMCTL_CONFIG"
	EnvCacheDir = "CAMCTL_CACHE_DIR"
	EnvKeyring  = "CAMCTL_KEYRING"
	EnvNoColor  = "NO_COLOR"
)

// Auth methods, as written in the file and on the command line.
const (
	MethodNone   = "none"
	MethodBasic  = "basic"
	MethodOIDC   = "oidc"
	MethodBearer = "bearer"
	MethodExec   = "exec"
)

// Methods lists the valid values of auth.method.
var Methods = []string{MethodNone, MethodBasic, MethodOIDC, MethodBearer, MethodExec}

// DefaultAddress is where Camunda 8 Run serves the REST API.
const DefaultAddress = "http://localhost:8080"
