package login

import (
	"context"
	"errors"
	"fmt"
	"time"

	"golang.org/x/oauth2"

	"github.com/camctl/camctl/internal/api"
	"github.com/camctl/camctl/internal/auth"
	"github.com/camctl/camctl/internal/config"
)

// PersonOptions are the flags of a person's sign-in (login --web,
// login --device).
type PersonOptions struct {
	// NoBrowser: only print the URL (--no-browser).
	NoBrowser bool
	// RedirectPort is --redirect-port (0: a free one).
	RedirectPort int
	// Timeout is --login-timeout.
	Timeout time.Duration
	// Notify shows a line on stderr while the sign-in runs.
	Notify func(string)
	// Open opens a URL in the system browser.
	Open func(string) error
}

// DefaultLoginTimeout is how long a sign-in may take (--login-timeout).
const DefaultLoginTimeout = 5 * time.Minute

// runPerson signs a person in (grant authorization-code or device-code):
// the browser or device flow, the token checked against the cluster
// (GET /v2/authentication/me, else /v2/topology), and only then the
// refresh token stored in the keyring, bound to the token endpoint, and
// the access token in the token cache.
func runPerson(ctx context.Context, q *Request, deps auth.Deps, res *Result) (*Result, error) {
	r := q.Profile
	secrets := deps.Secrets
	res.Person = true
	if !r.Storable() {
		return res, &config.UsageError{Msg: "a person's sign-in is kept in a named profile: `camctl login -p NAME --web --issuer URL --client-id ID --address URL`"}
	}
	if !q.InsecureStorage {
		// Before the browser opens: a sign-in that cannot be kept
		// would have to be repeated by every command.
		if err := secrets.KeyringStatus(ctx); err != nil {
			return res, &auth.NoKeyringError{Err: err, Person: true}
		}
	}
	if r.Value(config.ClientID) == "" {
		_, err := auth.OIDCKey(r) // names the flag and variable
		return res, err
	}
	disc := auth.NewDiscovery(deps)
	ep, err := auth.ApplyDiscovery(ctx, r, disc, false)
	if err != nil {
		return res, q.Explain(err)
	}
	if ep == nil {
		return res, &config.UsageError{Msg: fmt.Sprintf("profile %s: signing in as a person needs the identity provider's issuer, where camctl finds its endpoints: add --issuer URL (Keycloak: https://HOST/realms/REALM), or set CAMUNDA_ISSUER_URL", r.Name)}
	}
	grant := r.Grant()
	if grant == config.GrantAuthorizationCode && ep.Authorization == "" || grant == config.GrantDeviceCode && ep.Device == "" {
		// The cached document may predate the IdP enabling the grant.
		if fresh, err := disc.Get(ctx, ep.URL, "", true); err == nil {
			ep = fresh
		}
	}
	po := q.Person
	if po.Timeout <= 0 {
		po.Timeout = DefaultLoginTimeout
	}
	flow := &Flow{
		Endpoints:    ep,
		ClientID:     r.Value(config.ClientID),
		ClientSecret: r.Value(config.ClientSecret),
		Scopes:       DefaultScopes(r.Value(config.Scope)),
		Audience:     r.Value(config.Audience),
		Resource:     r.Value(config.Resource),
		HTTP:         deps.HTTP,
		Notify:       po.Notify,
		RedirectPort: po.RedirectPort,
		Timeout:      po.Timeout,
		Redactor:     q.Redactor,
		Callback:     func(t time.Time) { res.CallbackAt = t },
	}
	if flow.Notify == nil {
		flow.Notify = func(string) {}
	}
	if !po.NoBrowser {
		flow.Open = po.Open
	}
	q.Redactor.Add(flow.ClientSecret)
	var ot *oauth2.Token
	if grant == config.GrantDeviceCode {
		ot, err = flow.Device(ctx)
	} else {
		ot, err = flow.Web(ctx)
	}
	if err != nil {
		return res, q.Explain(fmt.Errorf("login failed, nothing was stored: %w", err))
	}
	obtained := time.Now()
	if res.CallbackAt.IsZero() {
		res.CallbackAt = obtained
	}
	q.Redactor.Add(ot.AccessToken)
	q.Redactor.Add(ot.RefreshToken)
	if idt, ok := ot.Extra("id_token").(string); ok {
		q.Redactor.Add(idt)
	}
	if err := auth.CheckAccessToken(ot.AccessToken); err != nil {
		return res, &auth.UnusableTokenError{TokenURL: ep.Token, ClientID: flow.ClientID, Reason: err}
	}
	token := auth.ConvertToken(ot, obtained)

	// The cluster must accept the person's token before anything is kept.
	provider := auth.NewBearer(ot.AccessToken)
	client, err := q.Session.APIClient(ctx, r, provider)
	if err != nil {
		return res, q.Explain(err)
	}
	done := func(error) {}
	if q.Progress != nil {
		done = q.Progress("Checking " + client.BaseURL().JoinPath("authentication/me").String())
	}
	id, err := client.Me(ctx)
	if errors.Is(err, api.ErrNoIdentity) {
		// A cluster without the endpoint: the topology proves the token.
		res.Topology, _, err = client.Topology(ctx)
	}
	done(err)
	if err != nil {
		return res, q.Explain(fmt.Errorf("login failed, nothing was stored: %w", err))
	}
	res.Identity = id

	// The grant is the profile's from now on: later commands refresh
	// with it, and status reports it.
	if r.Get(config.Grant).Source.Kind != config.FromFile || r.Value(config.Grant) != grant {
		q.Settings[config.Grant] = grant
	}
	id2, err := saveProfile(ctx, r, q.Settings, true)
	if err != nil {
		return res, fmt.Errorf("login failed, nothing was stored: profile %s could not be saved: %w", r.Name, err)
	}
	r.ID = id2
	username := personName(id, token)
	if ot.RefreshToken == "" {
		res.Notes = append(res.Notes, "Note: the identity provider sent no refresh token (allow the offline_access scope, or refresh tokens, for the client); camctl uses the access token until it expires, then you sign in again.")
	} else {
		si := auth.SignIn{RefreshToken: ot.RefreshToken, ExpiresAt: auth.RefreshExpiry(ot, obtained), Grant: grant, Username: username}
		if err := auth.SaveSignIn(ctx, secrets, r, si, q.InsecureStorage); err != nil {
			return res, err
		}
		res.SecretKey = config.RefreshToken
		res.Where = auth.InKeyring
		if q.InsecureStorage {
			res.Where = auth.InFile
		}
		res.SignIn = &si
	}
	if deps.Tokens != nil && !token.ExpiresAt.IsZero() {
		key, err := auth.PersonKey(r)
		if err == nil {
			_, err = deps.Tokens.Put(ctx, key, token)
		}
		if err != nil {
			res.Notes = append(res.Notes, fmt.Sprintf("Warning: the token could not be cached (%v); the next command refreshes it.", err))
		}
	}
	res.Provider, res.Client, res.Token, res.Username = provider, client, token, username
	return res, nil
}

// personName is who signed in: the cluster's word, else the token's.
func personName(id *api.Identity, t *auth.Token) string {
	if id != nil && id.Username != "" {
		return id.Username
	}
	return auth.TokenSubject(t)
}
