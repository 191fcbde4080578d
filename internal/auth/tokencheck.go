package auth

import (
	"fmt"
	"time"
)

// MaxAccessToken is the longest access token camctl sends or caches
// (spec §5). Real ones are a few KiB; a bigger one is a broken or hostile
// endpoint, and it would be sent with every request.
const MaxAccessToken = 64 << 10

// MaxTokenTrust is how long after it was obtained a token is trusted at
// most, whatever expires_in said: a token endpoint that claims a lifetime
// of 70 years must not pin a token in the cache that long.
const MaxTokenTrust = 24 * time.Hour

// CheckAccessToken reports why tok cannot be sent as a bearer token, or
// nil: it must be RFC 6750 b64token characters (letters, digits,
// "-._~+/", then only "=") and at most MaxAccessToken bytes. A token with
// CR, LF or ESC in it would break every request, or inject a header into
// `curl -H "$(camctl token --header)"`. The reason never quotes the token.
func CheckAccessToken(tok string) error {
	switch {
	case tok == "":
		return fmt.Errorf("it is empty")
	case len(tok) > MaxAccessToken:
		return fmt.Errorf("it is %d bytes long, more than the %d bytes camctl accepts", len(tok), MaxAccessToken)
	}
	padding := false
	for i := 0; i < len(tok); i++ {
		c := tok[i]
		switch {
		case c == '=':
			padding = true
		case padding:
			return fmt.Errorf("character %d follows the \"=\" padding, which can only end it", i+1)
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '-', c == '.', c == '_', c == '~', c == '+', c == '/':
		default:
			return fmt.Errorf("character %d (%s) is not allowed in a bearer token (RFC 6750)", i+1, describeByte(c))
		}
	}
	return nil
}

// describeByte names a byte without printing it raw.
func describeByte(c byte) string {
	switch c {
	case '\r':
		return "a carriage return"
	case '\n':
		return "a line feed"
	case 0x1b:
		return "an escape"
	case ' ':
		return "a space"
	}
	if c < 0x20 || c >= 0x7f {
		return fmt.Sprintf("byte 0x%02x", c)
	}
	return fmt.Sprintf("%q", c)
}

// UnusableTokenError is an access token that fails CheckAccessToken:
// nothing was cached or sent, and camctl exits with 3.
type UnusableTokenError struct {
	// TokenURL and ClientID name the endpoint that issued it; both are
	// empty for a static bearer token.
	TokenURL, ClientID string
	Reason             error
}

func (e *UnusableTokenError) Error() string {
	if e.TokenURL == "" {
		return fmt.Sprintf("the bearer token is unusable, so it was not sent: %v", e.Reason)
	}
	return fmt.Sprintf("token request to %s for client %s: the identity provider returned an unusable access token: %v; nothing was cached or sent", e.TokenURL, e.ClientID, e.Reason)
}

func (e *UnusableTokenError) Unwrap() error { return e.Reason }

// ExpiredTokenError is a static bearer token (a JWT) whose exp claim has
// passed: it is not sent, nor printed by `camctl token`, and camctl
// exits with 3.
type ExpiredTokenError struct {
	ExpiredAt, Now time.Time
}

func (e *ExpiredTokenError) Error() string {
	return fmt.Sprintf("the bearer token expired at %s (%s ago), so it was not sent",
		e.ExpiredAt.UTC().Format(time.RFC3339), e.Now.Sub(e.ExpiredAt).Round(time.Second))
}

// checkStatic refuses a static bearer token that is unusable or, being a
// JWT, has expired by now.
func checkStatic(tok string, now time.Time) error {
	if err := CheckAccessToken(tok); err != nil {
		return &UnusableTokenError{Reason: err}
	}
	if j, err := DecodeJWT(tok); err == nil {
		if exp, ok := j.Time("exp"); ok && !now.Before(exp) {
			return &ExpiredTokenError{ExpiredAt: exp, Now: now}
		}
	}
	return nil
}
