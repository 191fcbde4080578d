package auth

import (
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"

	"github.com/camctl/camctl/internal/api"
	"github.com/camctl/camctl/internal/config"
)

// Origin returns scheme://host:port of a URL, lower case and with the
// port always written (443 for https, 80 for http), so that
// https://Camunda.example.com and https://camunda.example.com:443/v2 are
// one origin.
func Origin(raw string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("%q is not a URL with a scheme and a host", raw)
	}
	scheme := strings.ToLower(u.Scheme)
	port := u.Port()
	if port == "" {
		switch scheme {
		case "https":
			port = "443"
		case "http":
			port = "80"
		default:
			return "", fmt.Errorf("the scheme %q is not http or https", u.Scheme)
		}
	}
	return scheme + "://" + net.JoinHostPort(strings.ToLower(u.Hostname()), port), nil
}

// apiOrigin is the origin of r's REST address.
func apiOrigin(r *config.Resolved) (string, error) {
	u, err := api.NormalizeAddress(r.Value(config.Address))
	if err != nil {
		return "", err
	}
	return Origin(u.String())
}

// apiBase is r's normalised REST base URL, or the address as configured
// when it does not normalise (the request then fails on its own).
func apiBase(r *config.Resolved) string {
	if u, err := api.NormalizeAddress(r.Value(config.Address)); err == nil {
		return u.String()
	}
	return r.Value(config.Address)
}

// bindingTarget is one place a stored secret may go: the setting that
// names it and its origin.
type bindingTarget struct {
	setting config.Key // config.Address or config.TokenURL
	origin  string
}

// bindingTargets are the origins a secret of r may be sent to (spec §5):
// a Basic password or static token goes to the API, a client secret to
// the token endpoint and (through the tokens it obtains) the API. A key passphrase or keystore password unlocks the
// client certificate, which authenticates the profile to every server it
// talks to: the API, and for oidc the token endpoint too.
func bindingTargets(r *config.Resolved, key config.Key) ([]bindingTarget, error) {
	var settings []config.Key
	switch key {
	case config.Password, config.Token:
		settings = []config.Key{config.Address}
	case config.ClientSecret, config.RefreshToken:
		// The token endpoint checks the secret, but the tokens it buys go
		// to the API: bound to the token endpoint alone, a changed address
		// would receive a fresh token that it could replay at the real
		// cluster. login verified both.
		settings = []config.Key{config.TokenURL, config.Address}
	default:
		settings = []config.Key{config.Address}
		if r.Method() == config.MethodOIDC && r.Value(config.TokenURL) != "" {
			settings = append(settings, config.TokenURL)
		}
	}
	var out []bindingTarget
	for _, k := range settings {
		var o string
		var err error
		if k == config.Address {
			o, err = apiOrigin(r)
		} else {
			o, err = Origin(r.Value(k))
		}
		if err != nil {
			return nil, fmt.Errorf("profile %s: %s: %w", r.Name, k, err)
		}
		out = append(out, bindingTarget{setting: k, origin: o})
	}
	return out, nil
}

// BoundOrigins are the origins a secret stored now for r is bound to.
func BoundOrigins(r *config.Resolved, key config.Key) ([]string, error) {
	ts, err := bindingTargets(r, key)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.origin
	}
	return out, nil
}

// BindingError is a stored secret that this run would send somewhere
// other than where login verified it. Nothing is sent; camctl exits 3.
type BindingError struct {
	Profile string
	What    string // "password", ...
	// Bound is where the secret was verified; Now where it would go, and
	// Setting and Source say which setting points there and where that
	// value came from.
	Bound, Now string
	Setting    config.Key
	Source     config.Source
}

func (e *BindingError) Error() string {
	what := "address"
	if e.Setting == config.TokenURL {
		what = "token URL"
	}
	return fmt.Sprintf("profile %s: the stored %s is bound to %s, where `camctl login` verified it, but the %s now points to %s (from %s); nothing was sent. Run `camctl login -p %s` to verify it there and bind it to the new %s.",
		e.Profile, e.What, e.Bound, what, e.Now, e.Source, e.Profile, what)
}

// checkBinding refuses a stored secret whose origins are not those r
// would send it to.
func checkBinding(r *config.Resolved, key config.Key, bound []string) error {
	ts, err := bindingTargets(r, key)
	if err != nil {
		return err
	}
	for i, t := range ts {
		if i < len(bound) && bound[i] == t.origin {
			continue
		}
		was := strings.Join(bound, ", ")
		if i < len(bound) {
			was = bound[i]
		}
		if was == "" {
			was = "nowhere (no origin recorded)"
		}
		return &BindingError{Profile: r.Name, What: SecretName(key), Bound: was, Now: t.origin, Setting: t.setting, Source: r.Get(t.setting).Source}
	}
	if len(bound) != len(ts) {
		// Bound to more places than this profile sends it to (a keystore
		// password of a profile that no longer uses oidc): verified for
		// another set-up.
		return &BindingError{Profile: r.Name, What: SecretName(key), Bound: strings.Join(bound, ", "), Now: ts[0].origin, Setting: ts[0].setting, Source: r.Get(ts[0].setting).Source}
	}
	return nil
}

// envelope is how a secret is stored: with the origins it is bound to.
// One item holds both, so a read is one keyring round trip (more only
// for values over MaxItemSize, which chunking splits as before).
type envelope struct {
	// Format is 1; a bare value (the legacy format) has none.
	Format int      `json:"camctl"`
	Bound  []string `json:"bound"`
	Value  string   `json:"value"`
}

func encodeEnvelope(value string, bound []string) (string, error) {
	b, err := json.Marshal(envelope{Format: 1, Bound: bound, Value: value})
	if err != nil {
		return "", fmt.Errorf("encode the stored secret: %w", err)
	}
	return string(b), nil
}

// decodeEnvelope reads an item stored under a profile id. Anything else
// than an envelope is refused: a bare value there was not written by
// camctl, and has no origin it may be sent to.
func decodeEnvelope(raw string) (value string, bound []string, err error) {
	var e envelope
	if err := json.Unmarshal([]byte(raw), &e); err != nil || e.Format != 1 || e.Value == "" || len(e.Bound) == 0 || slices.Contains(e.Bound, "") {
		// The JSON error is not shown: it may quote the secret.
		return "", nil, fmt.Errorf("%w: the stored item is not a camctl secret with its origin", ErrCorrupt)
	}
	return e.Value, e.Bound, nil
}
