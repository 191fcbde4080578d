package auth

import (
	"context"
	"fmt"
	"strings"

	"github.com/camctl/camctl/internal/config"
)

// Handover is the environment `camctl exec` gives its child (spec §11):
// the profile in the variables Camunda's SDKs and c8ctl read.
type Handover struct {
	// Set are the variables to set, Unset the connection variables of
	// camctl's own environment that the child must not see besides them
	// (a stale CAMUNDA_CLIENT_SECRET next to a handed-over token).
	Set   map[string]string
	Unset []string
	// Secret names the variables of Set that hold secrets.
	Secret []string
}

// tokenSource is a provider that fetches tokens.
type tokenSource interface {
	Token(ctx context.Context, force bool) (*Token, error)
}

// HandOver works out the child's variables for r and its provider p.
// Secrets come from the environment or the keyring, where the provider
// found them. With noSecrets only the address, CAMUNDA_AUTH_STRATEGY=
// BEARER and a fresh access token go over. A method whose credential no
// SDK can reproduce (a PEM assertion key, a federated token, exec, a
// static token) goes over as BEARER with a fresh token too.
func HandOver(ctx context.Context, r *config.Resolved, d Deps, p Provider, noSecrets bool) (*Handover, error) {
	h, err := handOver(ctx, r, d, p, noSecrets)
	if err != nil {
		return nil, err
	}
	h.addSpring()
	return h, nil
}

// springNames are the Spring Boot starter's names (camunda.client.*, as
// relaxed binding reads them from the environment) of the SDK variables.
var springNames = []struct {
	sdk, spring string
}{
	{"CAMUNDA_REST_ADDRESS", "CAMUNDA_CLIENT_RESTADDRESS"},
	{"CAMUNDA_CLIENT_ID", "CAMUNDA_CLIENT_AUTH_CLIENTID"},
	{"CAMUNDA_CLIENT_SECRET", "CAMUNDA_CLIENT_AUTH_CLIENTSECRET"},
	{"CAMUNDA_OAUTH_URL", "CAMUNDA_CLIENT_AUTH_TOKENURL"},
	{"CAMUNDA_TOKEN_AUDIENCE", "CAMUNDA_CLIENT_AUTH_AUDIENCE"},
	{"CAMUNDA_TOKEN_SCOPE", "CAMUNDA_CLIENT_AUTH_SCOPE"},
	{"CAMUNDA_TOKEN_RESOURCE", "CAMUNDA_CLIENT_AUTH_RESOURCE"},
	{"CAMUNDA_BASIC_AUTH_USERNAME", "CAMUNDA_CLIENT_AUTH_USERNAME"},
	{"CAMUNDA_BASIC_AUTH_PASSWORD", "CAMUNDA_CLIENT_AUTH_PASSWORD"},
	{"CAMUNDA_CA_CERTIFICATE_PATH", "CAMUNDA_CLIENT_CACERTIFICATEPATH"},
	{"CAMUNDA_SSL_CLIENT_KEYSTORE_PATH", "CAMUNDA_CLIENT_AUTH_KEYSTOREPATH"},
	{"CAMUNDA_SSL_CLIENT_KEYSTORE_SECRET", "CAMUNDA_CLIENT_AUTH_KEYSTOREPASSWORD"},
	{"CAMUNDA_CLIENT_ASSERTION_KEYSTORE_PATH", "CAMUNDA_CLIENT_AUTH_CLIENTASSERTION_KEYSTOREPATH"},
	{"CAMUNDA_CLIENT_ASSERTION_KEYSTORE_PASSWORD", "CAMUNDA_CLIENT_AUTH_CLIENTASSERTION_KEYSTOREPASSWORD"},
	{"CAMUNDA_CLIENT_ASSERTION_KEYSTORE_KEY_ALIAS", "CAMUNDA_CLIENT_AUTH_CLIENTASSERTION_KEYALIAS"},
	{"CAMUNDA_CLIENT_ASSERTION_KEYSTORE_KEY_PASSWORD", "CAMUNDA_CLIENT_AUTH_CLIENTASSERTION_KEYPASSWORD"},
}

// addSpring adds the Spring Boot starter's names for what h sets: a
// Spring worker reads camunda.client.auth.client-id, not
// CAMUNDA_CLIENT_ID. Its auth method has no bearer: a token-only hand-over
// leaves the method to the worker's own configuration.
func (h *Handover) addSpring() {
	secret := map[string]bool{}
	for _, n := range h.Secret {
		secret[n] = true
	}
	for _, m := range springNames {
		h.Unset = append(h.Unset, m.spring)
		if v, ok := h.Set[m.sdk]; ok {
			h.Set[m.spring] = v
			if secret[m.sdk] {
				h.Secret = append(h.Secret, m.spring)
			}
		}
	}
	h.Unset = append(h.Unset, "CAMUNDA_CLIENT_AUTH_METHOD", "CAMUNDA_CLIENT_MODE")
	if m, ok := map[string]string{"NONE": "none", "BASIC": "basic", "OAUTH": "oidc"}[h.Set["CAMUNDA_AUTH_STRATEGY"]]; ok {
		h.Set["CAMUNDA_CLIENT_AUTH_METHOD"] = m
	}
}

func handOver(ctx context.Context, r *config.Resolved, d Deps, p Provider, noSecrets bool) (*Handover, error) {
	h := &Handover{Set: map[string]string{}}
	for _, f := range config.Fields {
		h.Unset = append(h.Unset, f.Env...)
	}
	h.Unset = append(h.Unset, "CAMUNDA_AUTHORIZATION_SERVER_URL", "CAMUNDA_OAUTH_SCOPE", "ACTIONS_ID_TOKEN_REQUEST_TOKEN")
	addr := strings.TrimSuffix(strings.TrimSuffix(apiBase(r), "/"), "/v2")
	// Java appends /v2 itself, the TypeScript SDK when it is missing:
	// the address without it works for both.
	h.Set["CAMUNDA_REST_ADDRESS"] = addr
	h.Set["ZEEBE_REST_ADDRESS"] = addr
	secret := func(name, value string) {
		h.Set[name] = value
		h.Secret = append(h.Secret, name)
	}
	token := func() error {
		ts, ok := p.(tokenSource)
		if !ok {
			if b, ok := p.(*bearerProvider); ok {
				if err := checkStatic(b.token, b.now()); err != nil {
					return err
				}
				secret("CAMUNDA_OAUTH_TOKEN", b.token)
				return nil
			}
			return &config.UsageError{Msg: fmt.Sprintf("profile %s uses %s auth, which has no token to hand over", r.Name, r.Method())}
		}
		t, err := ts.Token(ctx, false)
		if err != nil {
			return err
		}
		secret("CAMUNDA_OAUTH_TOKEN", t.AccessToken)
		return nil
	}
	// The CA bundle is no secret, and without it the child cannot reach a
	// cluster behind a private CA: handed over in every case.
	if v := r.Value(config.CAFile); v != "" {
		h.Set["CAMUNDA_CA_CERTIFICATE_PATH"] = v
		h.Set["CAMUNDA_MTLS_CA_PATH"] = v
	}
	if noSecrets {
		if r.Method() == config.MethodNone {
			h.Set["CAMUNDA_AUTH_STRATEGY"] = "NONE"
			return h, nil
		}
		h.Set["CAMUNDA_AUTH_STRATEGY"] = "BEARER"
		return h, token()
	}
	// The client certificate's files (not its passphrase) for a child
	// that talks to an API behind mutual TLS with a handed-over token.
	clientCertPaths := func() {
		for k, n := range map[config.Key]string{config.ClientCert: "CAMUNDA_MTLS_CERT_PATH", config.ClientKey: "CAMUNDA_MTLS_KEY_PATH", config.Keystore: "CAMUNDA_SSL_CLIENT_KEYSTORE_PATH"} {
			if v := r.Value(k); v != "" {
				h.Set[n] = v
			}
		}
	}
	get := func(key config.Key) (string, error) {
		v, _, err := d.Secrets.Resolve(ctx, r, key)
		return v, err
	}
	switch r.Method() {
	case config.MethodNone:
		h.Set["CAMUNDA_AUTH_STRATEGY"] = "NONE"
		return h, nil
	case config.MethodBasic:
		b, ok := p.(*basicProvider)
		if !ok {
			return nil, fmt.Errorf("profile %s: basic provider expected", r.Name)
		}
		h.Set["CAMUNDA_AUTH_STRATEGY"] = "BASIC"
		h.Set["CAMUNDA_BASIC_AUTH_USERNAME"] = b.username
		secret("CAMUNDA_BASIC_AUTH_PASSWORD", b.password)
		return h, nil
	case config.MethodOIDC:
		// A client the SDKs can authenticate themselves: secret, client
		// certificate, or a PKCS#12 assertion keystore (Java).
		// A person's sign-in (a public client: the SDKs have no grant for
		// it), a token endpoint known only by discovery, and an assertion
		// the Java client would sign otherwise (another alg or audience)
		// are handed over as a fresh token instead.
		keystoreOnly := r.Get(config.AssertionKeystore).IsSet() && !r.Get(config.AssertionKey).IsSet() &&
			r.Value(config.AssertionAlg) == "" && r.Value(config.AssertionAudience) == ""
		sdkCan := !r.Person() && r.Value(config.TokenURL) != "" && (!HasAssertion(r) || keystoreOnly)
		if !sdkCan {
			h.Set["CAMUNDA_AUTH_STRATEGY"] = "BEARER"
			clientCertPaths()
			return h, token()
		}
		h.Set["CAMUNDA_AUTH_STRATEGY"] = "OAUTH"
		h.Set["CAMUNDA_CLIENT_ID"] = r.Value(config.ClientID)
		h.Set["CAMUNDA_OAUTH_URL"] = r.Value(config.TokenURL)
		// The Java client reads this name for the token endpoint.
		h.Set["CAMUNDA_AUTHORIZATION_SERVER_URL"] = r.Value(config.TokenURL)
		for k, names := range map[config.Key][]string{
			config.Audience: {"CAMUNDA_TOKEN_AUDIENCE"},
			config.Scope:    {"CAMUNDA_TOKEN_SCOPE", "CAMUNDA_OAUTH_SCOPE"},
			config.Resource: {"CAMUNDA_TOKEN_RESOURCE"},
		} {
			if v := r.Value(k); v != "" {
				for _, n := range names {
					h.Set[n] = v
				}
			}
		}
		if ks := r.Value(config.AssertionKeystore); ks != "" {
			h.Set["CAMUNDA_CLIENT_ASSERTION_KEYSTORE_PATH"] = ks
			if a := r.Value(config.AssertionKeyAlias); a != "" {
				h.Set["CAMUNDA_CLIENT_ASSERTION_KEYSTORE_KEY_ALIAS"] = a
			}
			for k, n := range map[config.Key]string{config.AssertionKeystorePw: "CAMUNDA_CLIENT_ASSERTION_KEYSTORE_PASSWORD", config.AssertionKeyPassword: "CAMUNDA_CLIENT_ASSERTION_KEYSTORE_KEY_PASSWORD"} {
				v, err := get(k)
				if err != nil {
					return nil, err
				}
				if v != "" {
					secret(n, v)
				}
			}
		} else {
			cs, err := get(config.ClientSecret)
			if err != nil {
				return nil, err
			}
			if cs != "" {
				secret("CAMUNDA_CLIENT_SECRET", cs)
			}
		}
		clientCertPaths()
		for k, n := range map[config.Key]string{config.KeyPassphrase: "CAMUNDA_MTLS_KEY_PASSPHRASE", config.KeystorePassword: "CAMUNDA_SSL_CLIENT_KEYSTORE_SECRET"} {
			if (k == config.KeyPassphrase && r.Value(config.ClientKey) == "") || (k == config.KeystorePassword && r.Value(config.Keystore) == "") {
				continue
			}
			v, err := get(k)
			if err != nil {
				return nil, err
			}
			if v != "" {
				secret(n, v)
			}
		}
		// A fresh token as well, for tools that take one (c8ctl, curl).
		return h, token()
	default: // bearer, exec
		h.Set["CAMUNDA_AUTH_STRATEGY"] = "BEARER"
		clientCertPaths()
		return h, token()
	}
}
