package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/camctl/camctl/internal/api"
	"github.com/camctl/camctl/internal/config"
	"github.com/camctl/camctl/internal/termsafe"
)

// SignIn is a person's sign-in as camctl stores it: the refresh token
// with what is known about it. It is stored as one secret (the value of
// the auth.refresh-token envelope, bound to the token endpoint and the
// API like a client secret), so a rotation replaces all of it at once.
type SignIn struct {
	RefreshToken string `json:"refresh_token"`
	// ExpiresAt is when the refresh token expires, when the IdP said
	// (refresh_expires_in, or a JWT refresh token's exp); zero: unknown.
	ExpiresAt time.Time `json:"expires_at,omitzero"`
	Grant     string    `json:"grant"`
	// Username is who signed in (the ID or access token's
	// preferred_username, else sub), for messages.
	Username string `json:"username,omitempty"`
}

// SignInError means a person's sign-in cannot give a token without the
// person: never signed in, expired, or revoked. No browser is opened
// from a command other than login; camctl exits 3 naming it.
type SignInError struct {
	Profile string
	// Reason is what happened ("is not signed in", "has expired", ...).
	Reason string
	// Detail is the IdP's answer, if it gave one.
	Detail string
	Err    error
}

func (e *SignInError) Error() string {
	msg := fmt.Sprintf("profile %s %s", e.Profile, e.Reason)
	if e.Detail != "" {
		msg += " (" + e.Detail + ")"
	}
	return msg + fmt.Sprintf(": sign in again with `camctl login -p %s`", e.Profile)
}

func (e *SignInError) Unwrap() error { return e.Err }

// NewPerson returns the provider of a person's sign-in (grant
// authorization-code or device-code): access tokens from the cache while
// fresh, else one refresh with the stored refresh token, under the token
// lock, storing the rotated refresh token before the new access token is
// cached. It never opens a browser.
func NewPerson(ctx context.Context, r *config.Resolved, d Deps, key TokenKey) (*OIDC, error) {
	if !r.Storable() || r.ID == "" && r.Kind != config.KindFile {
		return nil, &SignInError{Profile: r.Name, Reason: "is not signed in (a person's sign-in is kept in a named profile)"}
	}
	oc := &oauth2.Config{ClientID: key.ClientID, Endpoint: oauth2.Endpoint{TokenURL: key.TokenURL, AuthStyle: oauth2.AuthStyleInParams}}
	var p *OIDC
	obtain := func(ctx context.Context) (*oauth2.Token, error) {
		// Read under the token lock (OIDC.Token holds it): a process that
		// waited finds what the winner stored, never the rotated-out one.
		st, err := d.Secrets.Lookup(ctx, r, config.RefreshToken)
		if passedOver(err) || err == nil && st.Where == "" {
			return nil, &stopError{&SignInError{Profile: r.Name, Reason: "is not signed in", Err: err}}
		}
		if err != nil {
			return nil, &stopError{err}
		}
		if err := CheckBinding(r, config.RefreshToken, st); err != nil {
			return nil, &stopError{err}
		}
		si, err := decodeSignIn(st.Value)
		if err != nil {
			return nil, &stopError{&SignInError{Profile: r.Name, Reason: "has a damaged stored sign-in", Err: err}}
		}
		d.Secrets.Redactor.Add(si.RefreshToken)
		if !si.ExpiresAt.IsZero() && !p.opts.Now().Before(si.ExpiresAt) {
			return nil, &stopError{&SignInError{Profile: r.Name, Reason: "has expired: its refresh token expired at " + si.ExpiresAt.Local().Format(time.RFC3339)}}
		}
		if cs, _, err := d.Secrets.Resolve(ctx, r, config.ClientSecret); err == nil && cs != "" {
			// A confidential client of a person's sign-in.
			oc.ClientSecret = cs
		}
		oc.Endpoint.TokenURL = p.cc.TokenURL // moved by rediscover, if at all
		ot, err := oc.TokenSource(ctx, &oauth2.Token{RefreshToken: si.RefreshToken}).Token()
		if err != nil && sentMaybe(err) {
			// The request may have reached the IdP, which then spent the
			// refresh token (rotation): asking again with it could make
			// the IdP revoke the whole sign-in as a replay. No retry.
			return nil, &stopError{&TokenError{TokenURL: p.opts.Key.TokenURL, ClientID: key.ClientID, Net: api.Classify(err), Err: netCause(err)}}
		}
		if err != nil {
			var re *oauth2.RetrieveError
			if errors.As(err, &re) && re.ErrorCode == "invalid_grant" {
				return nil, &stopError{&SignInError{Profile: r.Name, Reason: "has a sign-in that expired or was revoked at the identity provider",
					Detail: termsafe.Line(p.redact(strings.TrimSpace("invalid_grant: " + re.ErrorDescription))), Err: err}}
			}
			return nil, err
		}
		p.opts.Redactor.Add(ot.RefreshToken)
		if ot.RefreshToken != "" && ot.RefreshToken != si.RefreshToken {
			// Rotated: the old one is spent. The new one replaces it in
			// one write (a keyring item or an atomic file), so a crash
			// leaves the one or the other, never neither.
			next := SignIn{RefreshToken: ot.RefreshToken, Grant: si.Grant, Username: si.Username, ExpiresAt: RefreshExpiry(ot, p.opts.Now())}
			if err := SaveSignIn(ctx, d.Secrets, r, next, st.Where == InFile); err != nil {
				return nil, &stopError{fmt.Errorf("store the rotated refresh token of profile %s: %w", r.Name, err)}
			}
		}
		return ot, nil
	}
	p = NewOIDC(OIDCOptions{
		Key:      key,
		HTTP:     d.HTTP,
		Budget:   d.Timeout,
		Cache:    d.Tokens,
		Redactor: d.Secrets.Redactor,
		Obtain:   obtain,
	})
	return p, nil
}

// sentMaybe reports a failed request without an answer that may still
// have reached the server: anything but a refused connection or an
// unknown host (and an answer cut off is one it sent).
func sentMaybe(err error) bool {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		return false // an answer: the usual rules
	}
	if !isNetErr(err) {
		return strings.Contains(err.Error(), "cannot fetch token") // a body cut off
	}
	switch api.Classify(err) {
	case api.NetRefused, api.NetDNS, api.NetTLS, api.NetUnknownAuthority, api.NetClientCertRequired, api.NetPlainHTTP:
		return false
	}
	return true
}

// PersonKey is the token cache key of a person's sign-in: a person's
// token is never shared with another profile (another person) that uses
// the same client of the same cluster.
func PersonKey(r *config.Resolved) (TokenKey, error) {
	k, err := OIDCKey(r)
	if err != nil {
		return k, err
	}
	k.Subject = "profile:" + r.ID
	return k, nil
}

// RefreshExpiry is when the refresh token of ot expires, if the IdP says:
// Keycloak's refresh_expires_in (0 there means an offline token that
// does not expire), else the exp of a JWT refresh token.
func RefreshExpiry(ot *oauth2.Token, now time.Time) time.Time {
	switch v := ot.Extra("refresh_expires_in").(type) {
	case float64:
		if v > 0 {
			return now.Add(time.Duration(v) * time.Second).UTC()
		}
		return time.Time{}
	case json.Number:
		if f, err := v.Float64(); err == nil && f > 0 {
			return now.Add(time.Duration(f) * time.Second).UTC()
		}
	}
	if j, err := DecodeJWT(ot.RefreshToken); err == nil {
		if exp, ok := j.Time("exp"); ok {
			return exp
		}
	}
	return time.Time{}
}

func decodeSignIn(v string) (SignIn, error) {
	var si SignIn
	if err := json.Unmarshal([]byte(v), &si); err != nil || si.RefreshToken == "" {
		return SignIn{}, fmt.Errorf("%w: the stored sign-in is not camctl's", ErrCorrupt)
	}
	return si, nil
}

// SaveSignIn stores a person's sign-in of profile r (which has an id),
// bound to r's token endpoint and API; insecure keeps it in the
// plain-text file (--insecure-storage).
func SaveSignIn(ctx context.Context, s *Secrets, r *config.Resolved, si SignIn, insecure bool) error {
	s.Redactor.Add(si.RefreshToken)
	// #nosec G117 -- serialising the refresh token is the point: it goes to the keyring or the 0600 file.
	b, err := json.Marshal(si)
	if err != nil {
		return err
	}
	_, err = s.Save(ctx, r, config.RefreshToken, string(b), insecure)
	return err
}

// SignInState is what is known locally about the credentials of profile
// r, without any network request: its grant and, for a person's
// sign-in, whether one is stored, where, and until when it lasts (the
// refresh token's expiry; zero when the IdP did not say). For `camctl
// status`.
type SignInState struct {
	Grant string
	// Person: the profile signs a person in (authorization-code or
	// device-code); the fields below are about that sign-in.
	Person bool
	// Stored says a refresh token is stored, Where where (InKeyring, InFile).
	Stored bool
	Where  string
	// Bound are the origins the refresh token is bound to.
	Bound []string
	// ExpiresAt is when the sign-in ends (zero: unknown).
	ExpiresAt time.Time
	// Username is who signed in, as recorded at login ("" if unknown).
	Username string
}

// LocalSignIn returns the SignInState of r. An unreachable keyring is
// not an error: nothing is known to be stored.
func LocalSignIn(ctx context.Context, r *config.Resolved, s *Secrets) (SignInState, error) {
	st := SignInState{Grant: r.Grant(), Person: r.Person()}
	if !st.Person || !r.Storable() {
		return st, nil
	}
	stored, err := s.Lookup(ctx, r, config.RefreshToken)
	if passedOver(err) {
		return st, nil
	}
	if err != nil || stored.Where == "" {
		return st, err
	}
	st.Stored, st.Where, st.Bound = true, stored.Where, stored.Bound
	if si, err := decodeSignIn(stored.Value); err == nil {
		s.Redactor.Add(si.RefreshToken)
		st.ExpiresAt, st.Username = si.ExpiresAt, si.Username
	}
	return st, nil
}

// personIdentity is who a person's token says signed in.
func personIdentity(t *Token) string {
	if t == nil {
		return "a person"
	}
	if j, err := DecodeJWT(t.AccessToken); err == nil {
		for _, c := range []string{"preferred_username", "email", "upn", "sub"} {
			if v, ok := j.Claims[c].(string); ok && v != "" {
				return termsafe.Line(v)
			}
		}
	}
	return "a person"
}

// ConvertToken is the Token of a token endpoint's answer obtained at
// obtained, with its expiry taken as the providers take it (the JWT's
// exp, else expires_in; capped at MaxTokenTrust).
func ConvertToken(ot *oauth2.Token, obtained time.Time) *Token {
	return (&OIDC{}).convert(ot, obtained)
}

// TokenSubject is who a token says it belongs to: its
// preferred_username, email, upn or sub claim ("" when it says nothing).
func TokenSubject(t *Token) string {
	if s := personIdentity(t); s != "a person" {
		return s
	}
	return ""
}

// LocalTokenKey is the token cache key of oidc profile r found without a
// network request: the token URL from the cached discovery document when
// the profile names an issuer (r gets it as an inferred setting), and a
// person's own key for a person's sign-in. For profile show and status.
func LocalTokenKey(r *config.Resolved, cache *TokenCache) (TokenKey, error) {
	_, _ = ApplyDiscovery(context.Background(), r, NewDiscovery(Deps{Tokens: cache}), true)
	if r.Person() {
		return PersonKey(r)
	}
	return OIDCKey(r)
}
