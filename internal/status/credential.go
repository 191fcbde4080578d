package status

import (
	"context"
	"errors"
	"os"
	"time"

	"github.com/camctl/camctl/internal/auth"
	"github.com/camctl/camctl/internal/config"
)

// Credential says whether the credential of a profile is there and
// where, never what it is.
type Credential struct {
	// Stored: the credential is there (in the keyring, the file store,
	// the environment, or a client certificate the profile names).
	Stored bool `json:"stored"`
	// Where is "keyring", "file" (the --insecure-storage file), "env",
	// "certificate", or the client-authentication kind of a client
	// without a stored secret (private_key_jwt, federated, exec); nil
	// when the credential is not there.
	Where *string `json:"where"`
	// BoundTo are the origins a stored secret was verified against and
	// is sent to (spec §5); nil when it is not bound (env, none).
	BoundTo []string `json:"bound_to"`

	// What follows is for the human view and not (yet) part of the JSON
	// contract of spec §12. Kind is what authenticates the profile
	// ("password", "client secret", "client certificate", "bearer
	// token"; "" for auth none): the place for the client-authentication
	// kinds of §10 and §11 (refresh token, private_key_jwt, exec).
	Kind string `json:"-"`
	// Needed is false when the profile needs no secret: auth none.
	Needed bool `json:"-"`
	// Variable names the environment variable of Where "env", and Path
	// the certificate file of Where "certificate".
	Variable string `json:"-"`
	Path     string `json:"-"`
	// Refused is set when this run would not send the stored secret: the
	// profile now points elsewhere than it is bound to.
	Refused *auth.BindingError `json:"-"`
	// Problem says why the stores could not be asked ("" when they could).
	Problem string `json:"-"`
	// SignIn is a person's sign-in (a refresh token): who, and until
	// when (zero: unknown). Nil for client credentials and the other
	// methods.
	SignIn *SignIn `json:"-"`
	// ClientAuth is how a client without a stored secret proves itself
	// (a signed assertion, a federated token, a command).
	ClientAuth *auth.ClientAuth `json:"-"`
}

// SignIn is what is known locally of a person's sign-in.
type SignIn struct {
	Username  string
	ExpiresAt time.Time
}

// Secret is what camctl knows of one secret setting of a profile: the
// one lookup that `profile show` and `status` share.
type Secret struct {
	Key config.Key
	// Status is "stored", "env", "missing" or "unknown" (store unreachable).
	Status string
	// Where is auth.InKeyring or auth.InFile for "stored", the variable
	// name for "env".
	Where  string
	Detail string
	// Optional is set for a client secret that an oidc profile with a
	// client certificate may do without (tls_client_auth).
	Optional bool
	// Bound are the origins a stored secret is bound to (spec §5).
	Bound []string
	// Refused says that this run would not send the stored secret, and
	// why.
	Refused *auth.BindingError
}

// LookupSecret finds secret key of r without handing it out: in the
// environment (already in r), else in the stores, with the origins it is
// bound to and whether r would send it there.
func LookupSecret(ctx context.Context, secrets *auth.Secrets, r *config.Resolved, key config.Key) Secret {
	s := Secret{Key: key, Optional: key == config.ClientSecret && auth.HasClientCert(r)}
	if set := r.Get(key); set.IsSet() {
		s.Status, s.Where = "env", set.Source.Name
		return s
	}
	if !r.Storable() {
		s.Status = "missing"
		return s
	}
	st, err := secrets.Lookup(ctx, r, key)
	switch {
	case err != nil && errors.Is(err, auth.ErrUnavailable):
		s.Status, s.Detail = "unknown", "the OS keyring could not be asked: "+err.Error()
	case err != nil:
		s.Status, s.Detail = "unknown", err.Error()
	case st.Where == "":
		s.Status = "missing"
	default:
		s.Status, s.Where, s.Bound = "stored", st.Where, st.Bound
		var be *auth.BindingError
		if errors.As(auth.CheckBinding(r, key, st), &be) {
			s.Refused = be
		}
	}
	return s
}

// CredentialKey is the secret setting r's auth method sends ("" for
// none).
func CredentialKey(r *config.Resolved) config.Key {
	switch r.Method() {
	case config.MethodBasic:
		return config.Password
	case config.MethodOIDC:
		if r.Person() {
			// A public client: the person's refresh token is the credential.
			return config.RefreshToken
		}
		return config.ClientSecret
	case config.MethodBearer:
		return config.Token
	}
	return ""
}

// DescribeCredential says whether r's credential is there, where, and
// where it is bound to. It reads the stores (never the network) and
// never prompts. Methods and grants that authenticate otherwise (a
// refresh token, a signed client assertion, a command) get their case
// here.
func DescribeCredential(ctx context.Context, secrets *auth.Secrets, r *config.Resolved) Credential {
	if r.Method() == config.MethodExec || r.Method() == config.MethodOIDC && !r.Person() && auth.HasAssertion(r) {
		// No stored secret: a command, a key or the CI platform's token
		// proves who the client is (spec §11); the token step tells
		// whether it works.
		ca := auth.DescribeClientAuthWith(ctx, r, secrets)
		c := Credential{Kind: ca.String(), Needed: true, Stored: true, Where: ptr(ca.Kind), ClientAuth: &ca}
		// A key, keystore or token file that is not there is no
		// credential (a variable or a CI platform is known only when
		// asked: the token step tells).
		for _, k := range []config.Key{config.AssertionKey, config.AssertionKeystore, config.AssertionFile} {
			if path := r.Value(k); path != "" {
				if _, err := os.Stat(path); err != nil {
					c.Stored, c.Problem = false, err.Error()
				}
			}
		}
		return c
	}
	key := CredentialKey(r)
	if key == "" {
		return Credential{}
	}
	c := Credential{Kind: auth.SecretName(key), Needed: true}
	s := LookupSecret(ctx, secrets, r, key)
	if s.Optional && s.Status != "env" && s.Status != "stored" {
		// The client certificate authenticates the client on its own.
		c.Kind, c.Stored, c.Path = "client certificate", true, certPath(r)
		c.Where = ptr("certificate")
		return c
	}
	switch s.Status {
	case "env":
		c.Stored, c.Where, c.Variable = true, ptr("env"), s.Where
	case "stored":
		c.Stored, c.Where, c.BoundTo, c.Refused = true, ptr(s.Where), s.Bound, s.Refused
		if key == config.RefreshToken {
			if si, err := auth.LocalSignIn(ctx, r, secrets); err == nil && si.Stored {
				c.SignIn = &SignIn{Username: si.Username, ExpiresAt: si.ExpiresAt}
			}
		}
	case "unknown":
		c.Problem = s.Detail
	}
	return c
}

func certPath(r *config.Resolved) string {
	if v := r.Value(config.Keystore); v != "" {
		return v
	}
	return r.Value(config.ClientCert)
}

func ptr[T any](v T) *T { return &v }
