package config

import (
	"fmt"
	"strings"
)

// Grants: how an oidc profile gets its tokens (auth.grant, spec §10).
const (
	// GrantClientCredentials is a machine's: a client secret, a
	// certificate or a signed assertion (the default).
	GrantClientCredentials = "client-credentials"
	// GrantAuthorizationCode is a person's browser sign-in (login --web).
	GrantAuthorizationCode = "authorization-code"
	// GrantDeviceCode is a person's sign-in on another device (login --device).
	GrantDeviceCode = "device-code"
)

// Grants lists the valid values of auth.grant.
var Grants = []string{GrantClientCredentials, GrantAuthorizationCode, GrantDeviceCode}

// Grant returns the profile's grant: always one of Grants for an oidc
// profile ("" for other methods).
func (r *Resolved) Grant() string {
	if r.Method() != MethodOIDC {
		return ""
	}
	if g := r.settings[Grant].Value; g != "" {
		return g
	}
	return GrantClientCredentials
}

// Person reports whether the profile signs a person in (a browser or
// device sign-in with a refresh token) rather than a client.
func (r *Resolved) Person() bool {
	g := r.Grant()
	return g == GrantAuthorizationCode || g == GrantDeviceCode
}

// resolveGrant checks auth.grant; the spellings of OAuth's grant_type
// values (client_credentials, authorization_code, ...) are accepted too.
func (r *Resolved) resolveGrant() error {
	s := r.settings[Grant]
	if !s.IsSet() {
		return nil
	}
	v := strings.ReplaceAll(strings.ToLower(strings.TrimSpace(s.Value)), "_", "-")
	switch v {
	case GrantClientCredentials, GrantAuthorizationCode, GrantDeviceCode:
	case "urn:ietf:params:oauth:grant-type:device-code", "device":
		v = GrantDeviceCode
	default:
		return &UsageError{Msg: fmt.Sprintf("profile %s: grant %q (from %s) is not one of %s",
			r.Name, s.Value, s.Source, strings.Join(Grants, ", "))}
	}
	s.Value = v
	r.settings[Grant] = s
	return nil
}

// SetInferred sets key to value as found by camctl itself (OIDC
// discovery finds the token endpoint of an issuer), unless the user set
// it: what the user set always wins.
func (r *Resolved) SetInferred(key Key, value, from string) {
	if r.settings[key].IsSet() || value == "" {
		return
	}
	r.settings[key] = Setting{Value: value, Source: Source{Kind: FromInferred, Name: from}}
}
