package auth

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/camctl/camctl/internal/api"
	"github.com/camctl/camctl/internal/config"
)

// RevokeSignIn revokes the stored refresh token of profile r at its
// identity provider (RFC 7009), when the discovery document names a
// revocation endpoint. It reports whether the IdP confirmed it. An error
// is for a warning: logout deletes the local copies in any case.
func RevokeSignIn(ctx context.Context, r *config.Resolved, d Deps) (bool, error) {
	if !r.Person() || !r.Storable() {
		return false, nil
	}
	st, err := d.Secrets.Lookup(ctx, r, config.RefreshToken)
	if err != nil || st.Where == "" {
		return false, nil
	}
	si, err := decodeSignIn(st.Value)
	if err != nil {
		return false, nil
	}
	d.Secrets.Redactor.Add(si.RefreshToken)
	ep, err := ApplyDiscovery(ctx, r, NewDiscovery(d), false)
	if err != nil {
		return false, fmt.Errorf("the refresh token was not revoked at the identity provider: %w", err)
	}
	if ep == nil || ep.Revocation == "" {
		return false, nil
	}
	// The refresh token goes only where it is bound (spec §5).
	o, err := Origin(ep.Revocation)
	tokenOrigin, _ := Origin(r.Value(config.TokenURL))
	if err != nil || o != tokenOrigin || !slices.Contains(st.Bound, o) {
		return false, fmt.Errorf("the refresh token was not revoked: the revocation endpoint %s is not at the origin it is bound to (%s)", ep.Revocation, strings.Join(st.Bound, ", "))
	}
	form := url.Values{"token": {si.RefreshToken}, "token_type_hint": {"refresh_token"}, "client_id": {r.Value(config.ClientID)}}
	if cs := r.Value(config.ClientSecret); cs != "" {
		form.Set("client_secret", cs)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ep.Revocation, strings.NewReader(form.Encode()))
	if err != nil {
		return false, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	hc := d.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return false, fmt.Errorf("the refresh token was not revoked at %s: %w", ep.Revocation, netCause(err))
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		return false, fmt.Errorf("the refresh token was not revoked: %s answered %d %s (%s)", ep.Revocation, resp.StatusCode,
			http.StatusText(resp.StatusCode), api.RedactedExcerpt(body, 120, d.Secrets.Redactor.Redact))
	}
	return true, nil
}
