package auth

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/camctl/camctl/internal/testutil/leakcheck"

	"github.com/camctl/camctl/internal/termsafe"
)

// secretMark in a fuzzed body stands for the client secret, and encMark
// for it form-encoded, as an endpoint that echoes the request has it.
const (
	secretMark = "SECRET"
	encMark    = "ENC_SECRET"
)

// tokenResponseSeeds are answers of real token endpoints: Keycloak,
// Microsoft Entra ID, Camunda SaaS, and what proxies put in front of them.
func tokenResponseSeeds() []struct {
	status      int
	contentType string
	body        string
} {
	jwt := rawJWT(`{"alg":"RS256","typ":"JWT","kid":"Fq3x"}`, `{"exp":4102448400,"iat":4102444800,"iss":"https://keycloak.internal/auth/realms/camunda-platform","aud":"orchestration-api","sub":"0f5d","azp":"camctl-ci","scope":"profile email","clientId":"camctl-ci"}`)
	entra := rawJWT(`{"typ":"JWT","alg":"RS256","x5t":"abc","kid":"abc"}`, `{"aud":"api://3f2a6c1e","iss":"https://sts.windows.net/tenant/","iat":4102444800,"nbf":4102444800,"exp":4102448700,"appid":"3f2a6c1e","roles":["orchestration"],"ver":"1.0"}`)
	return []struct {
		status      int
		contentType string
		body        string
	}{
		{200, "application/json", `{"access_token":"` + jwt + `","expires_in":300,"refresh_expires_in":0,"token_type":"Bearer","not-before-policy":0,"scope":"profile email"}`},
		{200, "application/json; charset=utf-8", `{"token_type":"Bearer","expires_in":3599,"ext_expires_in":3599,"access_token":"` + entra + `"}`},
		{200, "application/json", `{"access_token":"` + jwt + `","scope":"Zeebe Tasklist Operate","expires_in":86400,"token_type":"Bearer"}`},
		{200, "application/json", `{"access_token":"2YotnFZFEjr1zCsicMWpAA","token_type":"bearer","expires_in":"3600"}`},
		{200, "application/json", `{"access_token":"opaque","token_type":"Bearer","expires_in":-60}`},
		{200, "application/json", `{"access_token":"` + rawJWT(`{"alg":"none"}`, `{"exp":1000000000}`) + `","expires_in":300}`},
		{200, "application/json", `{"access_token":"` + rawJWT(`{"alg":"none"}`, `{"exp":1000000000}`) + `"}`},
		{200, "text/plain", "access_token=abc&token_type=bearer&expires_in=99999999999"},
		{200, "application/x-www-form-urlencoded", "access_token=abc&token_type=mac&expires_in=-5"},
		{200, "application/json", `{"error":"invalid_request","error_description":"Missing form parameter: grant_type"}`},
		{200, "text/html", "<!DOCTYPE html><html><head><title>Sign in</title></head><body>Login</body></html>"},
		{401, "application/json", `{"error":"unauthorized_client","error_description":"Invalid client or Invalid client credentials"}`},
		{400, "application/json", `{"error":"invalid_client","error_description":"Invalid client secret SECRET"}`},
		{401, "application/json; charset=utf-8", `{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '3f2a6c1e'.\r\nTrace ID: 0c1d\r\nCorrelation ID: 9e8f\r\nTimestamp: 2026-01-01 00:00:00Z","error_codes":[7000215],"timestamp":"2026-01-01 00:00:00Z","trace_id":"0c1d","correlation_id":"9e8f","error_uri":"https://login.microsoftonline.com/error?code=7000215"}`},
		{401, "application/json", `{"error":"access_denied","error_description":"Unauthorized"}`},
		{400, "text/html", "<html><body><h1>400 Bad Request</h1><pre>client_id=camctl-ci&client_secret=ENC_SECRET&grant_type=client_credentials</pre></body></html>"},
		{400, "text/plain", strings.Repeat("x", 110) + "client_secret=SECRET"},
		{403, "text/plain", "error=access_denied&error_description=\x1b]8;;http://evil\x07click\x1b]8;;\x07"},
		{429, "application/json", `{"error":"slow_down"}`},
		{502, "text/html", "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"},
		{503, "", ""},
		{401, "application/json", `{"error":"invalid_client","error_description":"` + strings.Repeat("very long ", 300) + `"}`},
	}
}

// FuzzTokenResponse feeds token-endpoint answers through oauth2's parsing
// and camctl's own (classification, error text, expiry). Properties:
// a token has a usable expiry (none, or one after it was obtained, and
// the JWT's exp when that is usable); a failure is a TokenError whose text
// is one printable line of bounded length, names the OAuth error code,
// never repeats the client secret (also not form-encoded, nor its first
// characters from a shortened excerpt), and is a rejection exactly for
// 4xx other than 429.
func FuzzTokenResponse(f *testing.F) {
	for _, s := range tokenResponseSeeds() {
		f.Add(s.status, s.contentType, s.body, "s3cr3t-V4lue~x")
		f.Add(s.status, s.contentType, s.body, "a+b/c=d&e%f")
	}
	f.Fuzz(func(t *testing.T, status int, contentType, body, secret string) {
		if status < 100 || status > 599 {
			status = 200
		}
		if !plausibleSecret(secret) {
			secret = "s3cr3t-V4lue~x"
		}
		tok, err := fetchFrom(t, status, contentType, body, secret)
		if err == nil {
			checkToken(t, tok)
			return
		}
		var unusable *UnusableTokenError
		if errors.As(err, &unusable) {
			// A token that cannot be a header value (spec §5): refused
			// before it is cached or sent; its message must still be safe.
			if msg := err.Error(); strings.IndexFunc(msg, unprintable) >= 0 || strings.Contains(msg, secret) {
				t.Fatalf("the unusable-token error is unsafe: %q", msg)
			}
			return
		}
		var te *TokenError
		if !errors.As(err, &te) {
			t.Fatalf("fetch = %T %v, want a *TokenError or *UnusableTokenError", err, err)
		}
		msg := err.Error()
		if i := strings.IndexFunc(msg, unprintable); i >= 0 {
			t.Fatalf("the error has unprintable %q at %d: %q", msg[i:i+4], i, msg)
		}
		if max := 600 + len(te.TokenURL) + len(te.ClientID); len(msg) > max {
			t.Fatalf("the error is %d bytes long, want at most %d: %.200q...", len(msg), max, msg)
		}
		if te.Code != "" && !strings.Contains(msg, ": "+te.Code) {
			t.Fatalf("the error does not name the OAuth error %q: %q", te.Code, msg)
		}
		if strings.Contains(msg, "()") {
			t.Fatalf("the error has an empty excerpt: %q", msg)
		}
		// oauth2 keeps no status for a 2xx answer that is not a token:
		// camctl reports it as 200 without naming the code.
		if status != te.StatusCode && te.StatusCode != 0 && !(status/100 == 2 && te.StatusCode == 200 && te.Code == "") {
			t.Fatalf("StatusCode = %d, the endpoint answered %d", te.StatusCode, status)
		}
		rejected := status >= 400 && status < 500 && status != http.StatusTooManyRequests
		if te.Rejected() != rejected {
			t.Fatalf("Rejected() = %v for status %d", te.Rejected(), status)
		}
		if strings.Contains(body, secretMark) {
			_, other := fetchFrom(t, status, contentType, body, leakcheck.Other(secret))
			fixed := ""
			if other != nil {
				fixed = other.Error()
			}
			for _, s := range []string{secret, url.QueryEscape(secret)} {
				if w := leakcheck.Leaked(msg, fixed, s); w != "" {
					t.Fatalf("the error repeats %q of the secret %q: %q", w, s, msg)
				}
			}
		}
	})
}

// fetchFrom makes one token request that the endpoint answers with
// status, contentType and body (marks replaced by the secret).
func fetchFrom(t *testing.T, status int, contentType, body, secret string) (*Token, error) {
	body = strings.ReplaceAll(body, encMark, url.QueryEscape(secret))
	body = strings.ReplaceAll(body, secretMark, secret)
	calls := 0
	rt := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		calls++
		h := http.Header{}
		if contentType != "" {
			h.Set("Content-Type", contentType)
		}
		return &http.Response{StatusCode: status, Header: h, Body: io.NopCloser(strings.NewReader(body)), Request: r}, nil
	})
	p := NewOIDC(OIDCOptions{
		Key:    TokenKey{TokenURL: "https://login.example.com/oauth/token", ClientID: "camctl-ci", Audience: "orchestration-api"},
		Secret: func(context.Context) (string, error) { return secret, nil },
		HTTP:   &http.Client{Transport: rt},
		Budget: time.Minute,
		// Every retry would wait past the budget: one request per input.
		Backoff: func(int) time.Duration { return time.Hour },
	})
	tok, err := p.fetch(context.Background())
	if calls != 1 {
		t.Fatalf("%d token requests, want 1", calls)
	}
	return tok, err
}

func checkToken(t *testing.T, tok *Token) {
	t.Helper()
	if tok.AccessToken == "" {
		t.Fatal("a token without access_token")
	}
	if strings.EqualFold(tok.TokenType, "bearer") && tok.TokenType != "Bearer" {
		t.Fatalf("TokenType = %q, want Bearer", tok.TokenType)
	}
	if tok.ExpiresAt.IsZero() {
		return
	}
	// An expiry at or before the moment of fetching would make every
	// request of the process fetch a new token.
	if !tok.ExpiresAt.After(tok.ObtainedAt) {
		t.Fatalf("ExpiresAt %v is not after ObtainedAt %v", tok.ExpiresAt, tok.ObtainedAt)
	}
	if j, err := DecodeJWT(tok.AccessToken); err == nil {
		if exp, ok := j.Time("exp"); ok && exp.After(tok.ObtainedAt) && !tok.ExpiresAt.Equal(exp) && !tok.ExpiresAt.Equal(tok.ObtainedAt.Add(MaxTokenTrust)) {
			t.Fatalf("ExpiresAt = %v, the JWT says exp %v (capped at 24 h after %v)", tok.ExpiresAt, exp, tok.ObtainedAt)
		}
	}
	// Never trusted past 24 h, whatever the endpoint said (spec §5).
	if tok.ExpiresAt.After(tok.ObtainedAt.Add(MaxTokenTrust)) {
		t.Fatalf("ExpiresAt %v is more than 24 h after ObtainedAt %v", tok.ExpiresAt, tok.ObtainedAt)
	}
	if err := CheckAccessToken(tok.AccessToken); err != nil {
		t.Fatalf("an unusable token was accepted: %v", err)
	}
}

// unprintable is what must not reach a terminal from a server: what
// termsafe forbids (control characters and escape sequences, bidi and
// zero-width characters), and line breaks.
func unprintable(r rune) bool {
	return r == '\n' || r == '\t' || termsafe.Forbidden(r)
}

func plausibleSecret(s string) bool {
	if len(s) < 6 || len(s) > 64 || !utf8.ValidString(s) || strings.Contains(s, secretMark) {
		return false
	}
	return !strings.ContainsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) })
}
