// Package login is the flow of `camctl login` as a function: a request
// in (the resolved profile, the login flags, how to ask and how to read
// stdin), a result out. It gets the secret the profile's method needs,
// checks it against the cluster with GET /v2/topology, and only then
// stores it (spec §8). cmd/login.go keeps the flags and the printing.
package login

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/camctl/camctl/internal/api"
	"github.com/camctl/camctl/internal/auth"
	"github.com/camctl/camctl/internal/config"
	"github.com/camctl/camctl/internal/redact"
	"github.com/camctl/camctl/internal/session"
)

// Prompter asks the person at the terminal.
type Prompter interface {
	// CanPrompt says whether anyone can answer.
	CanPrompt() bool
	Prompt(ctx context.Context, label string) (string, error)
	PromptSecret(ctx context.Context, label string) (string, error)
}

// Request is one login.
type Request struct {
	// Profile is the selected profile with the login flags applied;
	// Created says the login creates it.
	Profile *config.Resolved
	Created bool
	// Settings are the profile flags, written into the profile once the
	// cluster accepted the credentials (login adds the username it asked for).
	Settings map[config.Key]string
	// Imported are secrets from --from-env-file (or --from-env).
	Imported map[config.Key]string
	// The --*-stdin flags, and ReadStdin that reads the secret from stdin.
	PasswordStdin, ClientSecretStdin, TokenStdin bool
	ReadStdin                                    func(ctx context.Context, key config.Key) (string, error)
	InsecureStorage                              bool
	// Person are the options of a person's sign-in (the profile's grant
	// is authorization-code or device-code).
	Person PersonOptions

	Session  *session.Session
	Prompter Prompter
	// Redactor learns every secret the login obtains.
	Redactor *redact.Redactor
	// Explain adds to an error of the connection what the user can do.
	Explain func(error) error
	// Progress, if set, shows that the cluster is being checked: it is
	// called with a label before, and what it returns with the outcome.
	Progress func(label string) func(error)
}

// Result is what a login did, for cmd to print.
type Result struct {
	Provider auth.Provider
	Client   *api.Client
	Topology *api.Topology
	// Token is the access token the cluster accepted, when its expiry is known.
	Token *auth.Token
	// SecretKey is the secret stored, Where where (auth.InKeyring,
	// auth.InFile; "" when nothing was).
	SecretKey config.Key
	Where     string
	// StoredPassphrase says a certificate passphrase was stored.
	StoredPassphrase bool
	// Notes are lines to show, in order, before the result (also when
	// the login failed after some were made).
	Notes []string
	// Person: a person signed in (login --web or --device); Identity is
	// what the cluster says about them (nil when it has no
	// /v2/authentication/me, then Topology is set), Username who it is,
	// SignIn the stored sign-in (nil when the IdP sent no refresh token),
	// CallbackAt when the IdP's answer arrived.
	Person     bool
	Identity   *api.Identity
	Username   string
	SignIn     *auth.SignIn
	CallbackAt time.Time
}

// Run logs in as q asks.
func Run(ctx context.Context, q *Request) (*Result, error) {
	res := &Result{}
	r, created := q.Profile, q.Created
	deps, err := q.Session.Deps(ctx, r, q.Prompter.CanPrompt())
	if err != nil {
		return res, q.Explain(err)
	}
	// Before the first byte leaves (spec §8), the token request included,
	// and before the user types a secret that plain http:// would expose.
	q.Session.Warn(r)
	if r.Method() == config.MethodOIDC && r.Person() {
		return runPerson(ctx, q, deps, res)
	}
	secrets := deps.Secrets
	certOnly := r.Method() == config.MethodOIDC && auth.HasClientCert(r) && !q.ClientSecretStdin &&
		!r.Get(config.ClientSecret).IsSet() && q.Imported[config.ClientSecret] == ""
	// A client assertion authenticates the client instead of a secret
	// (spec §11); an exec command has nothing to store.
	assertionOnly := r.Method() == config.MethodOIDC && auth.HasAssertion(r)
	certOnly = certOnly || assertionOnly
	if r.Method() != config.MethodNone && r.Method() != config.MethodExec && !q.InsecureStorage && !certOnly {
		// Find out before asking for a secret that could not be kept.
		if err := secrets.KeyringStatus(ctx); err != nil {
			return res, &auth.NoKeyringError{Err: err}
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
		user, err := q.username(ctx)
		if err != nil {
			return res, err
		}
		pw, err := q.secret(ctx, q.PasswordStdin, config.Password,
			fmt.Sprintf("Password for %s at %s: ", user, r.Value(config.Address)))
		if err != nil {
			return res, err
		}
		// The Authorization header carries user:password in Base64.
		q.Redactor.AddBasic(user, pw)
		provider, secretKey, secret = auth.NewBasic(user, pw), config.Password, pw
		if r.Get(config.Username).Source.Kind != config.FromFlag && !r.Get(config.Username).IsSet() {
			q.Settings[config.Username] = user
		}
	case config.MethodOIDC:
		// An issuer's token endpoint comes from its discovery document.
		if _, err := auth.ApplyDiscovery(ctx, r, auth.NewDiscovery(deps), false); err != nil {
			return res, q.Explain(fmt.Errorf("login failed, nothing was stored: %w", err))
		}
		key, err := auth.OIDCKey(r)
		if err != nil {
			return res, err
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
			if cs, err = q.secret(ctx, q.ClientSecretStdin, config.ClientSecret,
				fmt.Sprintf("Client secret of %s at %s: ", key.ClientID, key.TokenURL)); err != nil {
				return res, err
			}
		}
		// No cache yet: the token is stored only once the cluster accepts it.
		oidcOpts := auth.OIDCOptions{
			Key:      key,
			Secret:   func(context.Context) (string, error) { return cs, nil },
			HTTP:     deps.HTTP,
			Budget:   deps.Timeout,
			Redactor: q.Redactor,
		}
		if assertionOnly {
			a, err := auth.AssertionFor(ctx, r, deps)
			if err != nil {
				return res, q.Explain(fmt.Errorf("login failed, nothing was stored: %w", err))
			}
			oidcOpts.Secret, oidcOpts.Assertion, cs = nil, a, ""
		}
		oidc := auth.NewOIDC(oidcOpts)
		if token, err = oidc.Token(ctx, true); err != nil {
			return res, q.Explain(fmt.Errorf("login failed, nothing was stored: %w", err))
		}
		provider = oidc
		if cs != "" {
			secretKey, secret = config.ClientSecret, cs
		}
	case config.MethodExec:
		if provider, err = auth.NewProvider(ctx, r, deps); err != nil {
			return res, q.Explain(err)
		}
	case config.MethodBearer:
		tok, err := q.secret(ctx, q.TokenStdin, config.Token, "Bearer token: ")
		if err != nil {
			return res, err
		}
		provider, secretKey, secret = auth.NewBearer(tok), config.Token, tok
		if j, err := auth.DecodeJWT(tok); err == nil {
			if exp, ok := j.Time("exp"); ok {
				token = &auth.Token{AccessToken: tok, ExpiresAt: exp}
			}
		}
	}

	client, err := q.Session.APIClient(ctx, r, provider)
	if err != nil {
		return res, q.Explain(err)
	}
	done := func(error) {}
	if q.Progress != nil {
		done = q.Progress("Checking " + client.BaseURL().JoinPath("topology").String())
	}
	topo, _, err := client.Topology(ctx)
	done(err)
	if err != nil {
		return res, q.Explain(fmt.Errorf("login failed, nothing was stored: %w", err))
	}

	// Passphrases of the client certificate, asked for now or given in
	// the environment, are kept like the other secrets.
	type certSecret struct {
		key   config.Key
		value string
	}
	var passphrases []certSecret
	for _, k := range []config.Key{config.KeyPassphrase, config.KeystorePassword, config.AssertionKeystorePw, config.AssertionKeyPassword} {
		v, asked := q.Session.GivenCertSecret(k)
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
			return res, fmt.Errorf("login failed, nothing was stored: %w", err)
		}
	}
	if needID || len(q.Settings) > 0 || created {
		id, err := saveProfile(ctx, r, q.Settings, needID)
		if err != nil {
			return res, fmt.Errorf("login failed, nothing was stored: profile %s could not be saved: %w", r.Name, err)
		}
		r.ID = id
	}

	if secretKey != "" {
		if res.Where, err = secrets.Save(ctx, r, secretKey, secret, q.InsecureStorage); err != nil {
			return res, err
		}
	}
	for _, p := range passphrases {
		k, v := p.key, p.value
		w, err := secrets.Save(ctx, r, k, v, q.InsecureStorage)
		var noKeyring *auth.NoKeyringError
		if errors.As(err, &noKeyring) {
			// The cluster accepted the certificate; not being able to
			// keep its passphrase must not undo that.
			fld, _ := config.FieldFor(k)
			res.Notes = append(res.Notes, fmt.Sprintf("Note: the %s is not stored (no OS keyring: %v); set %s, or log in with --insecure-storage.", auth.SecretName(k), noKeyring.Err, fld.Env[0]))
			continue
		}
		if err != nil {
			return res, err
		}
		res.Notes = append(res.Notes, fmt.Sprintf("The %s is stored %s.", auth.SecretName(k), map[string]string{auth.InKeyring: "in the OS keyring", auth.InFile: "in a plain-text 0600 file (--insecure-storage)"}[w]))
		res.StoredPassphrase = true
	}
	if oidc, ok := provider.(*auth.OIDC); ok {
		// The token the cluster accepted (a 401 may have replaced the
		// first one), and only one whose expiry is known.
		token = oidc.Current()
	}
	if token != nil && r.Method() == config.MethodOIDC && !token.ExpiresAt.IsZero() && deps.Tokens != nil {
		key, _ := auth.OIDCKey(r)
		if _, err := deps.Tokens.Put(ctx, key, token); err != nil {
			res.Notes = append(res.Notes, fmt.Sprintf("Warning: the token could not be cached (%v); the next command fetches a new one.", err))
		}
	}
	res.Provider, res.Client, res.Topology, res.SecretKey = provider, client, topo, secretKey
	if token != nil && !token.ExpiresAt.IsZero() {
		res.Token = token
	}
	return res, nil
}

// username is the profile's user name, or asked for on a terminal.
func (q *Request) username(ctx context.Context) (string, error) {
	r := q.Profile
	if u := r.Value(config.Username); u != "" {
		return u, nil
	}
	if !q.Prompter.CanPrompt() {
		return "", &config.UsageError{Msg: fmt.Sprintf("profile %s uses basic auth but has no username: pass --username NAME or set CAMUNDA_BASIC_AUTH_USERNAME", r.Name)}
	}
	u, err := q.Prompter.Prompt(ctx, fmt.Sprintf("Username for %s: ", r.Value(config.Address)))
	if err != nil {
		return "", session.Cancelled(err)
	}
	if u = strings.TrimSpace(u); u == "" {
		return "", &config.UsageError{Msg: "no username given"}
	}
	return u, nil
}

// secret gets the secret from, in order: --*-stdin, the environment,
// the imported ones, a hidden prompt on a terminal. This is where login
// obtains it, so the redactor learns it here.
func (q *Request) secret(ctx context.Context, fromStdin bool, key config.Key, label string) (secret string, err error) {
	r := q.Profile
	defer func() { q.Redactor.Add(secret) }()
	fld, _ := config.FieldFor(key)
	if fromStdin {
		return q.ReadStdin(ctx, key)
	}
	if s := r.Get(key); s.IsSet() {
		return s.Value, nil
	}
	if v := q.Imported[key]; v != "" {
		return v, nil
	}
	if !q.Prompter.CanPrompt() {
		flag := map[config.Key]string{config.Password: "--password-stdin", config.ClientSecret: "--client-secret-stdin", config.Token: "--token-stdin"}[key]
		return "", &auth.MissingSecretError{Profile: r.Name, What: auth.SecretName(key), Flag: flag, Env: fld.Env[0], InLogin: true}
	}
	s, err := q.Prompter.PromptSecret(ctx, label)
	if err != nil {
		return "", session.Cancelled(err)
	}
	if s == "" {
		return "", &config.UsageError{Msg: "no " + auth.SecretName(key) + " given"}
	}
	return s, nil
}

// saveProfile writes the login flags into the profile, creating it (and
// making it current when it is the first) if needed, and with needID
// gives it an id if it has none. It returns the profile's id.
func saveProfile(ctx context.Context, r *config.Resolved, settings map[config.Key]string, needID bool) (string, error) {
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
		} else if err := doc.SetAll(r.Name, settings); err != nil {
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
