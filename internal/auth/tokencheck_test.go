package auth

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestCheckAccessToken(t *testing.T) {
	tests := []struct {
		name, tok string
		ok        bool
	}{
		{"JWT", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.c2ln", true},
		{"opaque with every allowed character", "aZ09-._~+/==", true},
		{"64 KiB", strings.Repeat("a", MaxAccessToken), true},
		{"empty", "", false},
		{"CR LF (a header injection)", "abc\r\nX-Injected: 1", false},
		{"ESC", "abc\x1b[2J", false},
		{"space", "abc def", false},
		{"non-ASCII", "abcé", false},
		{"padding in the middle", "ab=cd", false},
		{"64 KiB and one", strings.Repeat("a", MaxAccessToken+1), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckAccessToken(tt.tok)
			if (err == nil) != tt.ok {
				t.Fatalf("CheckAccessToken = %v, want ok=%v", err, tt.ok)
			}
			if err != nil && len(tt.tok) > 3 && strings.Contains(err.Error(), tt.tok[:4]) {
				t.Errorf("the reason quotes the token: %v", err)
			}
		})
	}
}

func jwtWithExp(exp time.Time) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"none"}`)) + "." + enc([]byte(fmt.Sprintf(`{"sub":"u","exp":%d}`, exp.Unix()))) + ".c2ln"
}

// An expired static JWT is not sent; an unusable one neither.
func TestBearerRefusesExpiredOrUnusableToken(t *testing.T) {
	now := time.Now()
	for _, tt := range []struct {
		name, tok string
		want      any
	}{
		{"expired", jwtWithExp(now.Add(-time.Hour)), &ExpiredTokenError{}},
		{"CR LF", "tok\r\nX: 1", &UnusableTokenError{}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, "http://x.invalid/", nil)
			err := NewBearer(tt.tok).Authorize(context.Background(), req)
			switch tt.want.(type) {
			case *ExpiredTokenError:
				var e *ExpiredTokenError
				if !errors.As(err, &e) || !strings.Contains(err.Error(), "expired at") {
					t.Fatalf("Authorize = %v, want an ExpiredTokenError", err)
				}
			case *UnusableTokenError:
				var e *UnusableTokenError
				if !errors.As(err, &e) {
					t.Fatalf("Authorize = %v, want an UnusableTokenError", err)
				}
			}
			if h := req.Header.Get("Authorization"); h != "" {
				t.Errorf("Authorization %q was set", h)
			}
		})
	}
	req, _ := http.NewRequest(http.MethodGet, "http://x.invalid/", nil)
	if err := NewBearer(jwtWithExp(now.Add(time.Hour))).Authorize(context.Background(), req); err != nil || req.Header.Get("Authorization") == "" {
		t.Errorf("a valid JWT: Authorize = %v", err)
	}
}

// A cached entry with a token that could not be sent (written by an
// older build, or by someone else) reads as no token.
func TestTokenCacheDiscardsUnusableToken(t *testing.T) {
	ctx := context.Background()
	store := NewMemoryStore()
	c := &TokenCache{Mode: KeyringAuto, Keyring: store}
	k := TokenKey{TokenURL: "https://idp/token", ClientID: "ci"}
	now := time.Now()
	if err := store.Set(ctx, tokenStoreKey(k), fmt.Sprintf(`{"access_token":"abc\r\nX: 1","token_type":"Bearer","expires_at":%q,"obtained_at":%q}`,
		now.Add(time.Hour).Format(time.RFC3339), now.Format(time.RFC3339))); err != nil {
		t.Fatal(err)
	}
	if tok, _, err := c.Get(ctx, k); err != nil || tok != nil {
		t.Errorf("Get = %+v, %v; want no token", tok, err)
	}
}

// expires_in of 30,000 years, or a JWT exp in 2100: trusted for 24 h.
func TestTokenLifetimeCapped(t *testing.T) {
	for _, body := range []string{
		`{"access_token":"opaque","expires_in":1000000000000}`,
		`{"access_token":"` + jwtWithExp(time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)) + `","expires_in":300}`,
	} {
		tok, err := fetchFrom(t, http.StatusOK, "application/json", body, "s3cr3t-V4lue~x")
		if err != nil {
			t.Fatal(err)
		}
		if d := tok.ExpiresAt.Sub(tok.ObtainedAt); d != MaxTokenTrust {
			t.Errorf("%s: trusted for %v, want %v", body, d, MaxTokenTrust)
		}
	}
}

// A token endpoint's unusable token is refused at once: exit 3 material,
// no retry, and the message says why without quoting it.
func TestUnusableFetchedToken(t *testing.T) {
	for _, tok := range []string{"abc\\r\\nX-Injected: 1", "abc\\u001b[2J", strings.Repeat("A", 100<<10)} {
		_, err := fetchFrom(t, http.StatusOK, "application/json", `{"access_token":"`+tok+`","expires_in":3600}`, "s3cr3t-V4lue~x")
		var ue *UnusableTokenError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), "the identity provider returned an unusable access token") {
			t.Errorf("fetch = %v, want an UnusableTokenError", err)
		}
	}
}
