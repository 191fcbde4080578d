package login

import (
	"context"
	"errors"
	"fmt"
	"time"

	"golang.org/x/oauth2"

	"github.com/camctl/camctl/internal/config"
	"github.com/camctl/camctl/internal/termsafe"
)

// Device signs the person in with the device authorization grant (RFC
// 8628): it shows the verification URI and the user code, then polls
// the token endpoint at the IdP's interval (slower after slow_down)
// until the person approved, refused (access_denied) or the code expired
// (expired_token), or --login-timeout passed.
func (f *Flow) Device(ctx context.Context) (*oauth2.Token, error) {
	if f.Endpoints.Device == "" {
		return nil, &config.UsageError{Msg: "the identity provider's discovery document names no device_authorization_endpoint: enable the device authorization grant for the client (Keycloak: \"OAuth 2.0 Device Authorization Grant\"), or sign in with camctl login --web"}
	}
	oc := f.config("")
	ctx = context.WithValue(ctx, oauth2.HTTPClient, f.HTTP)
	da, err := oc.DeviceAuth(ctx, f.extra()...)
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) {
			return nil, &FlowError{What: "the identity provider refused the device authorization request", Code: re.ErrorCode, Description: re.ErrorDescription}
		}
		return nil, fmt.Errorf("device authorization request to %s: %w", f.Endpoints.Device, err)
	}
	f.Redactor.Add(da.DeviceCode)
	if da.UserCode == "" || da.VerificationURI == "" {
		return nil, &FlowError{What: "the identity provider's device authorization answer has no user code or verification URI"}
	}
	// What the IdP sent is outside text, shown on the terminal.
	f.Notify(fmt.Sprintf("To sign in, open %s in a browser on any device and enter the code %s",
		termsafe.Line(da.VerificationURI), termsafe.Line(da.UserCode)))
	if da.VerificationURIComplete != "" {
		f.Notify("  (or open " + termsafe.Line(da.VerificationURIComplete) + ", which has the code in it)")
	}
	limit := f.Timeout
	if !da.Expiry.IsZero() {
		limit = min(limit, time.Until(da.Expiry))
	}
	f.Notify(fmt.Sprintf("Waiting for the sign-in (at most %s; Ctrl-C to cancel)...", limit.Round(time.Second)))
	pctx, cancel := context.WithTimeout(ctx, f.Timeout)
	defer cancel()
	tok, err := oc.DeviceAccessToken(pctx, da)
	switch {
	case err == nil:
		return tok, nil
	case ctx.Err() != nil:
		return nil, ctx.Err() // Ctrl-C
	case errors.Is(err, context.DeadlineExceeded):
		if !da.Expiry.IsZero() && !time.Now().Before(da.Expiry) {
			return nil, &FlowError{What: "the code expired before the sign-in was approved", Code: "expired_token"}
		}
		return nil, &FlowError{What: fmt.Sprintf("no sign-in within %s (--login-timeout)", f.Timeout)}
	}
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		switch re.ErrorCode {
		case "access_denied":
			return nil, &FlowError{What: "the sign-in was refused", Code: re.ErrorCode, Description: re.ErrorDescription}
		case "expired_token":
			return nil, &FlowError{What: "the code expired before the sign-in was approved", Code: re.ErrorCode, Description: re.ErrorDescription}
		}
		return nil, &FlowError{What: "the identity provider refused the token request", Code: re.ErrorCode, Description: re.ErrorDescription}
	}
	return nil, fmt.Errorf("poll %s for the sign-in: %w", f.Endpoints.Token, err)
}
