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

// CheckCombination refuses settings that contradict each other, whatever
// their sources: a grant or a client assertion on a profile that is not
// oidc, a client assertion on a person's sign-in (a public client has
// none), an exec command on a profile that does not run it. value
// returns a setting's value ("" when unset). Without this, camctl would
// keep such a setting and silently not use it.
func CheckCombination(value func(Key) string) error {
	method := value(AuthMethod)
	grant := value(Grant)
	var assertion Key
	for _, k := range []Key{AssertionKey, AssertionKeystore, AssertionFile, AssertionEnv, AssertionFrom} {
		if value(k) != "" {
			assertion = k
			break
		}
	}
	flag := func(k Key) string {
		if k == Command {
			return "--exec-command"
		}
		if f, ok := FieldFor(k); ok && f.Flag != "" {
			return "--" + f.Flag
		}
		return string(k)
	}
	// An unset method is inferred from the other settings (an assertion
	// or a client id make oidc): only an explicit one can contradict.
	known := method != ""
	switch {
	case known && grant != "" && method != MethodOIDC:
		return &UsageError{Msg: fmt.Sprintf("%s %s is for oidc profiles, not %s auth: use --auth oidc, or drop --grant", flag(Grant), grant, method)}
	case known && assertion != "" && method != MethodOIDC:
		return &UsageError{Msg: fmt.Sprintf("%s is a client assertion, which authenticates an oidc client, not %s auth: use --auth oidc, or drop it", flag(assertion), method)}
	case assertion != "" && (grant == GrantAuthorizationCode || grant == GrantDeviceCode):
		return &UsageError{Msg: fmt.Sprintf("%s is a client assertion, for the client-credentials grant; a person's sign-in (--grant %s) uses a public client without one: drop one of them", flag(assertion), grant)}
	case known && value(Command) != "" && method != MethodExec:
		return &UsageError{Msg: fmt.Sprintf("%s runs a command for a token, which is --auth exec, not %s auth: use --auth exec, or drop it", flag(Command), method)}
	}
	return nil
}
