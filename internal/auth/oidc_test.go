package auth

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/camctl/camctl/internal/api"
)

// seenRequest is what the fake token endpoint received.
type seenRequest struct {
	Method   string
	Path     string
	RawQuery string
	Header   http.Header
	Form     url.Values // parsed from the body, whatever the Content-Type
}

// reply is the fake token endpoint's answer.
type reply struct {
	status      int
	contentType string
	header      map[string]string
	body        string
}

// tokenReply is a successful token response; expiresIn 0 leaves
// expires_in out.
func tokenReply(access string, expiresIn int) reply {
	m := map[string]any{"access_token": access, "token_type": "Bearer"}
	if expiresIn != 0 {
		m["expires_in"] = expiresIn
	}
	b, _ := json.Marshal(m)
	return reply{status: http.StatusOK, contentType: "application/json", body: string(b)}
}

func oauthError(status int, code, desc string) reply {
	b, _ := json.Marshal(map[string]string{"error": code, "error_description": desc})
	return reply{status: status, contentType: "application/json", body: string(b)}
}

// fakeIdP is a hand-written token endpoint that records its requests.
type fakeIdP struct {
	srv   *httptest.Server
	mu    sync.Mutex
	reqs  []seenRequest
	reply func(n int, r seenRequest) reply // n counts requests from 1
}

func newFakeIdP(t *testing.T, fn func(n int, r seenRequest) reply) *fakeIdP {
	t.Helper()
	f := &fakeIdP{reply: fn}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		form, _ := url.ParseQuery(string(body))
		sr := seenRequest{Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery, Header: r.Header.Clone(), Form: form}
		f.mu.Lock()
		f.reqs = append(f.reqs, sr)
		n := len(f.reqs)
		f.mu.Unlock()
		rep := f.reply(n, sr)
		for k, v := range rep.header {
			w.Header().Set(k, v)
		}
		if rep.contentType != "" {
			w.Header().Set("Content-Type", rep.contentType)
		}
		w.WriteHeader(rep.status)
		io.WriteString(w, rep.body)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

// numberedTokens answers every request with a new opaque token
// "tok-<client_id>-<n>", valid for an hour (the client id in Base64url
// when it has characters a token may not have).
func numberedTokens(n int, r seenRequest) reply {
	id := r.Form.Get("client_id")
	if CheckAccessToken(id) != nil {
		id = base64.RawURLEncoding.EncodeToString([]byte(id))
	}
	return tokenReply(fmt.Sprintf("tok-%s-%d", id, n), 3600)
}

func (f *fakeIdP) tokenURL() string { return f.srv.URL + "/oauth/token" }

func (f *fakeIdP) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.reqs)
}

func (f *fakeIdP) requests() []seenRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.reqs)
}

const testSecret = "s3cr3t-Value-42"

func (f *fakeIdP) key() TokenKey {
	return TokenKey{TokenURL: f.tokenURL(), ClientID: "camctl-ci", Audience: "orchestration-api"}
}

// options are OIDCOptions for f with a fixed secret, a 5 s budget, a
// 1 ms backoff and no cache.
func (f *fakeIdP) options(key TokenKey) OIDCOptions {
	return OIDCOptions{
		Key:     key,
		Secret:  func(context.Context) (string, error) { return testSecret, nil },
		HTTP:    f.srv.Client(),
		Budget:  5 * time.Second,
		Now:     time.Now,
		Backoff: func(int) time.Duration { return time.Millisecond },
	}
}

// testClock is real time shifted by an offset the test sets, so that
// the fetch budget (a real deadline computed from Now) stays valid.
type testClock struct {
	mu   sync.Mutex
	base time.Time
	off  time.Duration
}

func newTestClock() *testClock { return &testClock{base: time.Now().Truncate(time.Second)} }

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.base.Add(c.off)
}

func (c *testClock) Set(off time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.off = off
}

func mustToken(t *testing.T, p *OIDC, force bool) *Token {
	t.Helper()
	tok, err := p.Token(t.Context(), force)
	if err != nil {
		t.Fatalf("Token(force=%v): %v", force, err)
	}
	return tok
}

func TestOIDCTokenRequestOnTheWire(t *testing.T) {
	tests := []struct {
		name   string
		key    func(TokenKey) TokenKey
		secret func(context.Context) (string, error)
		want   map[string]string // every form field, exactly
	}{
		{
			name: "audience",
			want: map[string]string{"grant_type": "client_credentials", "client_id": "camctl-ci", "client_secret": testSecret, "audience": "orchestration-api"},
		},
		{
			name: "audience and scope",
			key:  func(k TokenKey) TokenKey { k.Scope = "camunda-api"; return k },
			want: map[string]string{"grant_type": "client_credentials", "client_id": "camctl-ci", "client_secret": testSecret, "audience": "orchestration-api", "scope": "camunda-api"},
		},
		{
			name: "several scopes",
			key:  func(k TokenKey) TokenKey { k.Scope = "read write"; return k },
			want: map[string]string{"grant_type": "client_credentials", "client_id": "camctl-ci", "client_secret": testSecret, "audience": "orchestration-api", "scope": "read write"},
		},
		{
			name: "resource",
			key:  func(k TokenKey) TokenKey { k.Resource = "https://camunda.example/api"; return k },
			want: map[string]string{"grant_type": "client_credentials", "client_id": "camctl-ci", "client_secret": testSecret, "audience": "orchestration-api", "resource": "https://camunda.example/api"},
		},
		{
			name: "scope, resource, no audience (Entra ID)",
			key: func(k TokenKey) TokenKey {
				k.Audience, k.Scope, k.Resource = "", "api://camunda/.default", "api://camunda"
				return k
			},
			want: map[string]string{"grant_type": "client_credentials", "client_id": "camctl-ci", "client_secret": testSecret, "scope": "api://camunda/.default", "resource": "api://camunda"},
		},
		{
			name: "characters that need form encoding",
			key:  func(k TokenKey) TokenKey { k.ClientID = "ci client+1&x=y"; return k },
			secret: func(context.Context) (string, error) {
				return "p&ss=w+rd %", nil
			},
			want: map[string]string{"grant_type": "client_credentials", "client_id": "ci client+1&x=y", "client_secret": "p&ss=w+rd %", "audience": "orchestration-api"},
		},
		{
			name:   "empty secret (client certificate only)",
			secret: func(context.Context) (string, error) { return "", nil },
			want:   map[string]string{"grant_type": "client_credentials", "client_id": "camctl-ci", "audience": "orchestration-api"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			idp := newFakeIdP(t, numberedTokens)
			key := idp.key()
			if tt.key != nil {
				key = tt.key(key)
			}
			o := idp.options(key)
			if tt.secret != nil {
				o.Secret = tt.secret
			}
			mustToken(t, NewOIDC(o), false)

			reqs := idp.requests()
			if len(reqs) != 1 {
				t.Fatalf("%d token requests, want exactly 1 (no auth-style probing)", len(reqs))
			}
			r := reqs[0]
			if r.Method != http.MethodPost || r.Path != "/oauth/token" || r.RawQuery != "" {
				t.Errorf("request %s %s?%s, want POST /oauth/token without a query", r.Method, r.Path, r.RawQuery)
			}
			if got := r.Header.Get("Content-Type"); got != "application/x-www-form-urlencoded" {
				t.Errorf("Content-Type = %q, want application/x-www-form-urlencoded", got)
			}
			if got, ok := r.Header["Authorization"]; ok {
				t.Errorf("Authorization header %q sent, want none (client credentials go in the form)", got)
			}
			got := map[string]string{}
			for k, v := range r.Form {
				if len(v) != 1 {
					t.Errorf("form field %s sent %d times: %q", k, len(v), v)
				}
				got[k] = v[0]
			}
			for k, want := range tt.want {
				if g, ok := got[k]; !ok || g != want {
					t.Errorf("form field %s = %q (present: %v), want %q", k, g, ok, want)
				}
			}
			for k, v := range got {
				if _, ok := tt.want[k]; !ok {
					t.Errorf("unexpected form field %s=%q", k, v)
				}
			}
		})
	}
}

func TestOIDCProvider(t *testing.T) {
	idp := newFakeIdP(t, numberedTokens)
	p := NewOIDC(idp.options(idp.key()))
	if got := p.Method(); got != "oidc" {
		t.Errorf("Method() = %q, want oidc", got)
	}
	if got := p.Identity(); got != "client camctl-ci" {
		t.Errorf("Identity() = %q, want \"client camctl-ci\"", got)
	}
	req := httptest.NewRequest(http.MethodGet, "http://camunda.example/v2/topology", nil)
	if err := p.Authorize(t.Context(), req); err != nil {
		t.Fatalf("Authorize: %v", err)
	}
	if got, want := req.Header.Get("Authorization"), "Bearer tok-camctl-ci-1"; got != want {
		t.Errorf("Authorization = %q, want %q", got, want)
	}
	// A second API request reuses the token.
	req2 := httptest.NewRequest(http.MethodGet, "http://camunda.example/v2/topology", nil)
	if err := p.Authorize(t.Context(), req2); err != nil {
		t.Fatal(err)
	}
	if got := req2.Header.Get("Authorization"); got != "Bearer tok-camctl-ci-1" || idp.count() != 1 {
		t.Errorf("second Authorize sent %q after %d token requests; want the same token, 1 request", got, idp.count())
	}
}

func TestOIDCExpiry(t *testing.T) {
	clock := newTestClock()
	exp := clock.base.Add(10 * time.Minute)
	tests := []struct {
		name      string
		reply     func() reply
		want      func(before, after time.Time) (lo, hi time.Time) // ExpiresAt range; zero: no expiry
		wantType  string
		wantCache bool
	}{
		{
			name:      "JWT exp wins over a shorter expires_in",
			reply:     func() reply { return tokenReply(makeJWT(t, map[string]any{"sub": "c", "exp": exp.Unix()}), 60) },
			want:      func(_, _ time.Time) (time.Time, time.Time) { return exp, exp },
			wantType:  "Bearer",
			wantCache: true,
		},
		{
			name: "JWT exp wins over a longer expires_in (IdP handed out a partly used token)",
			reply: func() reply {
				return tokenReply(makeJWT(t, map[string]any{"sub": "c", "exp": exp.Unix()}), 86400)
			},
			want:      func(_, _ time.Time) (time.Time, time.Time) { return exp, exp },
			wantType:  "Bearer",
			wantCache: true,
		},
		{
			name:      "JWT exp without expires_in",
			reply:     func() reply { return tokenReply(makeJWT(t, map[string]any{"exp": exp.Unix()}), 0) },
			want:      func(_, _ time.Time) (time.Time, time.Time) { return exp, exp },
			wantType:  "Bearer",
			wantCache: true,
		},
		{
			name: "JWT exp with a fraction",
			reply: func() reply {
				return tokenReply(rawJWT(`{"alg":"RS256"}`, fmt.Sprintf(`{"exp":%d.25}`, exp.Unix())), 60)
			},
			want:      func(_, _ time.Time) (time.Time, time.Time) { e := exp.Add(250 * time.Millisecond); return e, e },
			wantType:  "Bearer",
			wantCache: true,
		},
		{
			name:  "opaque token: expires_in",
			reply: func() reply { return tokenReply("2YotnFZFEjr1zCsicMWpAA", 300) },
			want: func(before, after time.Time) (time.Time, time.Time) {
				return before.Add(300 * time.Second), after.Add(300 * time.Second)
			},
			wantType:  "Bearer",
			wantCache: true,
		},
		{
			name:  "JWT without exp: expires_in",
			reply: func() reply { return tokenReply(makeJWT(t, map[string]any{"sub": "c"}), 300) },
			want: func(before, after time.Time) (time.Time, time.Time) {
				return before.Add(300 * time.Second), after.Add(300 * time.Second)
			},
			wantType:  "Bearer",
			wantCache: true,
		},
		{
			name:  "JWT exp as a string: expires_in",
			reply: func() reply { return tokenReply(makeJWT(t, map[string]any{"exp": fmt.Sprint(exp.Unix())}), 300) },
			want: func(before, after time.Time) (time.Time, time.Time) {
				return before.Add(300 * time.Second), after.Add(300 * time.Second)
			},
			wantType:  "Bearer",
			wantCache: true,
		},
		{
			name:  "JWT exp in milliseconds: expires_in",
			reply: func() reply { return tokenReply(makeJWT(t, map[string]any{"exp": exp.UnixMilli()}), 300) },
			want: func(before, after time.Time) (time.Time, time.Time) {
				return before.Add(300 * time.Second), after.Add(300 * time.Second)
			},
			wantType:  "Bearer",
			wantCache: true,
		},
		{
			name: "lower-case token_type is normalised",
			reply: func() reply {
				return reply{status: 200, contentType: "application/json", body: `{"access_token":"opaque","token_type":"bearer","expires_in":300}`}
			},
			want: func(before, after time.Time) (time.Time, time.Time) {
				return before.Add(300 * time.Second), after.Add(300 * time.Second)
			},
			wantType:  "Bearer",
			wantCache: true,
		},
		{
			name: "missing token_type means Bearer",
			reply: func() reply {
				return reply{status: 200, contentType: "application/json", body: `{"access_token":"opaque","expires_in":300}`}
			},
			want: func(before, after time.Time) (time.Time, time.Time) {
				return before.Add(300 * time.Second), after.Add(300 * time.Second)
			},
			wantType:  "Bearer",
			wantCache: true,
		},
		{
			name:      "opaque token without expires_in: used, not cached",
			reply:     func() reply { return tokenReply("2YotnFZFEjr1zCsicMWpAA", 0) },
			wantType:  "Bearer",
			wantCache: false,
		},
		{
			name:      "JWT without exp nor expires_in: used, not cached",
			reply:     func() reply { return tokenReply(makeJWT(t, map[string]any{"sub": "c"}), 0) },
			wantType:  "Bearer",
			wantCache: false,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			idp := newFakeIdP(t, func(int, seenRequest) reply { return tt.reply() })
			cache := NewTokenCache(KeyringNone, nil, t.TempDir())
			o := idp.options(idp.key())
			o.Cache = cache
			o.Now = clock.Now

			before := time.Now()
			tok := mustToken(t, NewOIDC(o), false)
			after := time.Now()

			if tok.TokenType != tt.wantType {
				t.Errorf("TokenType = %q, want %q", tok.TokenType, tt.wantType)
			}
			if !tok.ObtainedAt.Equal(clock.base) {
				t.Errorf("ObtainedAt = %v, want %v (OIDCOptions.Now)", tok.ObtainedAt, clock.base)
			}
			if tt.want == nil {
				if !tok.ExpiresAt.IsZero() {
					t.Errorf("ExpiresAt = %v, want none", tok.ExpiresAt)
				}
			} else if lo, hi := tt.want(before, after); tok.ExpiresAt.Before(lo) || tok.ExpiresAt.After(hi) {
				t.Errorf("ExpiresAt = %v, want %v (up to %v)", tok.ExpiresAt, lo, hi.Sub(lo))
			}

			cached, _, err := cache.Get(t.Context(), o.Key)
			if err != nil {
				t.Fatal(err)
			}
			if (cached != nil) != tt.wantCache {
				t.Fatalf("cached token %+v, want cached: %v", cached, tt.wantCache)
			}
			if cached != nil && (cached.AccessToken != tok.AccessToken || !cached.ExpiresAt.Equal(tok.ExpiresAt)) {
				t.Errorf("cached %+v, want %+v", cached, tok)
			}

			// A second camctl run on the same cache.
			tok2 := mustToken(t, NewOIDC(o), false)
			wantReqs := 1
			if !tt.wantCache {
				wantReqs = 2
			}
			if idp.count() != wantReqs {
				t.Errorf("%d token requests after two runs, want %d", idp.count(), wantReqs)
			}
			if tok2.AccessToken != tok.AccessToken {
				t.Errorf("second run got %q, want %q", tok2.AccessToken, tok.AccessToken)
			}
		})
	}
}

// The refresh margin as a user sees it: a 300 s token is reused for
// 269 s, replaced at 271 s; a 60 s token is reused for 53 s, replaced at 55 s.
func TestOIDCRefreshMargin(t *testing.T) {
	tests := []struct {
		lifetime   time.Duration
		fresh      time.Duration
		stale      time.Duration
		viaExpires bool // lifetime from expires_in instead of the JWT exp
	}{
		{300 * time.Second, 269 * time.Second, 271 * time.Second, false},
		{60 * time.Second, 53 * time.Second, 55 * time.Second, false},
		{3600 * time.Second, 3569 * time.Second, 3571 * time.Second, false},
		// expires_in is counted by the oauth2 package from the wall clock
		// when the answer arrives, up to 1 s after the (truncated) test
		// clock: the instants leave that much slack.
		{300 * time.Second, 268 * time.Second, 272 * time.Second, true},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%v expires_in=%v", tt.lifetime, tt.viaExpires), func(t *testing.T) {
			clock := newTestClock()
			idp := newFakeIdP(t, func(n int, _ seenRequest) reply {
				issued := clock.Now()
				if tt.viaExpires {
					return tokenReply(fmt.Sprintf("opaque-%d", n), int(tt.lifetime/time.Second))
				}
				return tokenReply(makeJWT(t, map[string]any{"n": n, "exp": issued.Add(tt.lifetime).Unix()}), 0)
			})
			o := idp.options(idp.key())
			o.Cache = NewTokenCache(KeyringNone, nil, t.TempDir())
			o.Now = clock.Now
			p := NewOIDC(o)
			first := mustToken(t, p, false)

			clock.Set(tt.fresh)
			if got := mustToken(t, p, false); got.AccessToken != first.AccessToken || idp.count() != 1 {
				t.Errorf("at %v: token %q after %d requests; want the first token, 1 request", tt.fresh, got.AccessToken, idp.count())
			}
			if got := mustToken(t, NewOIDC(o), false); got.AccessToken != first.AccessToken || idp.count() != 1 {
				t.Errorf("at %v, new run: token %q after %d requests; want the cached token, 1 request", tt.fresh, got.AccessToken, idp.count())
			}

			clock.Set(tt.stale)
			got := mustToken(t, NewOIDC(o), false)
			if got.AccessToken == first.AccessToken || idp.count() != 2 {
				t.Errorf("at %v, new run: token %q after %d requests; want a new token, 2 requests", tt.stale, got.AccessToken, idp.count())
			}
			if again := mustToken(t, p, false); again.AccessToken != got.AccessToken || idp.count() != 2 {
				t.Errorf("at %v, first instance: token %q after %d requests; want the new cached token %q, 2 requests",
					tt.stale, again.AccessToken, idp.count(), got.AccessToken)
			}
		})
	}
}

func TestOIDCCachedTokenNeedsNoSecret(t *testing.T) {
	idp := newFakeIdP(t, numberedTokens)
	o := idp.options(idp.key())
	o.Cache = NewTokenCache(KeyringAuto, NewMemoryStore(), t.TempDir())
	first := mustToken(t, NewOIDC(o), false)

	var secretCalls atomic.Int32
	o.Secret = func(context.Context) (string, error) {
		secretCalls.Add(1)
		return "", errors.New("the keyring would have been asked")
	}
	got := mustToken(t, NewOIDC(o), false)
	if got.AccessToken != first.AccessToken || idp.count() != 1 {
		t.Errorf("second run: %q after %d requests, want the cached %q and 1 request", got.AccessToken, idp.count(), first.AccessToken)
	}
	if n := secretCalls.Load(); n != 0 {
		t.Errorf("the client secret was read %d times with a cached token, want 0", n)
	}
}

func TestOIDCMissingSecret(t *testing.T) {
	errNoSecret := errors.New("no client secret for profile ci")
	for _, withCache := range []bool{false, true} {
		t.Run(fmt.Sprintf("cache=%v", withCache), func(t *testing.T) {
			idp := newFakeIdP(t, numberedTokens)
			o := idp.options(idp.key())
			o.Secret = func(context.Context) (string, error) { return "", errNoSecret }
			if withCache {
				o.Cache = NewTokenCache(KeyringNone, nil, t.TempDir())
			}
			tok, err := NewOIDC(o).Token(t.Context(), false)
			if !errors.Is(err, errNoSecret) {
				t.Fatalf("Token = %+v, %v; want the secret's error", tok, err)
			}
			if n := idp.count(); n != 0 {
				t.Errorf("%d token requests without a secret, want 0", n)
			}
		})
	}
}

func TestOIDCCacheKeySeparation(t *testing.T) {
	tests := []struct {
		name  string
		other func(TokenKey) TokenKey
	}{
		{"client id", func(k TokenKey) TokenKey { k.ClientID = "camctl-other"; return k }},
		{"audience", func(k TokenKey) TokenKey { k.Audience = "operate-api"; return k }},
		{"no audience", func(k TokenKey) TokenKey { k.Audience = ""; return k }},
		{"scope", func(k TokenKey) TokenKey { k.Scope = "admin"; return k }},
		{"resource", func(k TokenKey) TokenKey { k.Resource = "https://other.example"; return k }},
		{"token URL", func(k TokenKey) TokenKey { k.TokenURL += "/other"; return k }},
	}
	for _, tt := range tests {
		for _, mode := range []KeyringMode{KeyringAuto, KeyringNone} {
			t.Run(tt.name+"/"+string(mode), func(t *testing.T) {
				// Tokens name the request that got them, so a token
				// given to the wrong key is recognisable.
				idp := newFakeIdP(t, func(n int, r seenRequest) reply {
					return tokenReply(fmt.Sprintf("tok-%d-%s-%s-%s-%s", n, r.Path, r.Form.Get("client_id"), r.Form.Get("audience"), r.Form.Get("scope")), 3600)
				})
				dir := t.TempDir()
				keyring := NewMemoryStore()
				newCache := func() *TokenCache { return NewTokenCache(mode, keyring, dir) }
				mine := idp.key()
				theirs := tt.other(mine)

				o := idp.options(mine)
				o.Cache = newCache()
				tokMine := mustToken(t, NewOIDC(o), false)

				o2 := idp.options(theirs)
				o2.Cache = newCache()
				tokTheirs := mustToken(t, NewOIDC(o2), false)
				if idp.count() != 2 || tokTheirs.AccessToken == tokMine.AccessToken {
					t.Fatalf("other %s got %q after %d requests; want its own token (2 requests), not %q",
						tt.name, tokTheirs.AccessToken, idp.count(), tokMine.AccessToken)
				}
				if r := idp.requests()[1]; r.Form.Get("client_id") != theirs.ClientID {
					t.Errorf("second request for client %q, want %q", r.Form.Get("client_id"), theirs.ClientID)
				}

				// Each key keeps its own token.
				o.Cache, o2.Cache = newCache(), newCache()
				if got := mustToken(t, NewOIDC(o), false); got.AccessToken != tokMine.AccessToken {
					t.Errorf("first key now gets %q, want its cached %q", got.AccessToken, tokMine.AccessToken)
				}
				if got := mustToken(t, NewOIDC(o2), false); got.AccessToken != tokTheirs.AccessToken {
					t.Errorf("other key now gets %q, want its cached %q", got.AccessToken, tokTheirs.AccessToken)
				}
				if idp.count() != 2 {
					t.Errorf("%d token requests, want 2", idp.count())
				}
			})
		}
	}
}

func TestOIDCCacheSharedWithMode(t *testing.T) {
	tests := []struct {
		name      string
		mode      KeyringMode
		keyring   func() SecretStore
		wantWhere string
		wantErr   bool
	}{
		{"keyring", KeyringAuto, NewMemoryStore, InKeyring, false},
		{"keyring none", KeyringNone, NewMemoryStore, InFile, false},
		{"auto, keyring unavailable", KeyringAuto, func() SecretStore { return NewFailingStore(ErrUnavailable) }, InFile, false},
		{"system, keyring unavailable", KeyringSystem, func() SecretStore { return NewFailingStore(ErrUnavailable) }, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			idp := newFakeIdP(t, numberedTokens)
			dir := t.TempDir()
			kr := tt.keyring()
			o := idp.options(idp.key())
			o.Cache = NewTokenCache(tt.mode, kr, dir)
			tok, err := NewOIDC(o).Token(t.Context(), false)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("Token = %+v, nil; want an error (keyring required but unavailable)", tok)
				}
				if !errors.Is(err, ErrUnavailable) {
					t.Errorf("error %v does not wrap ErrUnavailable", err)
				}
				if _, err := os.Stat(filepath.Join(dir, "tokens.json")); err == nil {
					t.Errorf("mode system wrote the token to tokens.json")
				}
				return
			}
			if err != nil {
				t.Fatalf("Token: %v", err)
			}
			_, where, err := o.Cache.Get(t.Context(), o.Key)
			if err != nil || where != tt.wantWhere {
				t.Errorf("token cached in %q (%v), want %q", where, err, tt.wantWhere)
			}
			// The next run finds it there.
			o.Cache = NewTokenCache(tt.mode, kr, dir)
			if got := mustToken(t, NewOIDC(o), false); got.AccessToken != tok.AccessToken || idp.count() != 1 {
				t.Errorf("second run: %q after %d requests, want %q from the cache", got.AccessToken, idp.count(), tok.AccessToken)
			}
		})
	}
}

// A damaged cache entry is as good as none: a new token is fetched and
// replaces it.
func TestOIDCDamagedCacheEntry(t *testing.T) {
	for _, mode := range []KeyringMode{KeyringAuto, KeyringNone} {
		t.Run(string(mode), func(t *testing.T) {
			idp := newFakeIdP(t, numberedTokens)
			kr := NewMemoryStore()
			o := idp.options(idp.key())
			o.Cache = NewTokenCache(mode, kr, t.TempDir())
			store := o.Cache.File
			if mode == KeyringAuto {
				store = kr
			}
			if err := store.Set(t.Context(), tokenStoreKey(o.Key), `{"access_token":"half`); err != nil {
				t.Fatal(err)
			}
			tok := mustToken(t, NewOIDC(o), false)
			if idp.count() != 1 || tok.AccessToken != "tok-camctl-ci-1" {
				t.Fatalf("got %q after %d requests, want a new token", tok.AccessToken, idp.count())
			}
			if got := mustToken(t, NewOIDC(o), false); got.AccessToken != tok.AccessToken || idp.count() != 1 {
				t.Errorf("next run: %q after %d requests; the damaged entry was not replaced", got.AccessToken, idp.count())
			}
		})
	}
}

// tokens.json is only a cache: when it is damaged as a whole (a full
// disk, a hand edit), a token fetched successfully must still be used.
func TestOIDCCorruptTokenFile(t *testing.T) {
	idp := newFakeIdP(t, numberedTokens)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "tokens.json"), []byte("{\"token/abc\": \"tru"), 0o600); err != nil {
		t.Fatal(err)
	}
	o := idp.options(idp.key())
	o.Cache = NewTokenCache(KeyringNone, nil, dir)
	tok, err := NewOIDC(o).Token(t.Context(), false)
	if err != nil {
		t.Fatalf("Token with a corrupt token cache file: %v; want the fetched token", err)
	}
	if tok.AccessToken != "tok-camctl-ci-1" || idp.count() != 1 {
		t.Errorf("got %q after %d requests, want tok-camctl-ci-1 after 1", tok.AccessToken, idp.count())
	}
}

// 20 camctl processes started at once with an empty cache make one
// token request between them.
func TestOIDCConcurrentRunsShareOneRequest(t *testing.T) {
	const runs = 20
	idp := newFakeIdP(t, func(n int, r seenRequest) reply {
		// Widen the window in which the others would race to the
		// endpoint; the assertions hold whatever the timing.
		time.Sleep(20 * time.Millisecond)
		return numberedTokens(n, r)
	})
	dir := t.TempDir()
	start := make(chan struct{})
	var wg sync.WaitGroup
	tokens := make([]string, runs)
	errs := make([]error, runs)
	for i := range runs {
		// Each "process" has its own provider and cache value.
		o := idp.options(idp.key())
		o.Budget = 10 * time.Second
		o.Cache = NewTokenCache(KeyringNone, nil, dir)
		p := NewOIDC(o)
		wg.Go(func() {
			<-start
			tok, err := p.Token(t.Context(), false)
			errs[i] = err
			if err == nil {
				tokens[i] = tok.AccessToken
			}
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("run %d: %v", i, err)
		}
	}
	if n := idp.count(); n != 1 {
		t.Errorf("%d token requests from %d concurrent runs, want 1", n, runs)
	}
	for i, tok := range tokens {
		if tok != tokens[0] {
			t.Errorf("run %d got %q, run 0 got %q; want the same token", i, tok, tokens[0])
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "locks", idp.key().ID()+".lock")); err != nil {
		t.Errorf("lock file: %v", err)
	}
}

func TestOIDCRefresh(t *testing.T) {
	setup := func(t *testing.T) (*fakeIdP, func() *OIDC) {
		idp := newFakeIdP(t, numberedTokens)
		dir := t.TempDir()
		kr := NewMemoryStore()
		return idp, func() *OIDC {
			o := idp.options(idp.key())
			o.Cache = NewTokenCache(KeyringAuto, kr, dir)
			return NewOIDC(o)
		}
	}
	authz := func(t *testing.T, p *OIDC) string {
		t.Helper()
		req := httptest.NewRequest(http.MethodGet, "http://camunda.example/v2/topology", nil)
		if err := p.Authorize(t.Context(), req); err != nil {
			t.Fatalf("Authorize: %v", err)
		}
		return strings.TrimPrefix(req.Header.Get("Authorization"), "Bearer ")
	}

	t.Run("after a 401 a new token is fetched and sent", func(t *testing.T) {
		idp, newRun := setup(t)
		authz(t, newRun()) // an earlier run caches a token
		p := newRun()
		first := authz(t, p)
		if ok, err := p.Refresh(t.Context()); err != nil || !ok {
			t.Fatalf("Refresh = %v, %v; want a refresh", ok, err)
		}
		if idp.count() != 2 {
			t.Fatalf("%d token requests, want 2", idp.count())
		}
		second := authz(t, p)
		if second == first {
			t.Errorf("after Refresh the rejected token %q is still sent", first)
		}
		if idp.count() != 2 {
			t.Errorf("%d token requests after using the new token, want 2", idp.count())
		}
		// The next run gets the new token from the cache.
		if got := authz(t, newRun()); got != second || idp.count() != 2 {
			t.Errorf("next run sends %q after %d requests, want the refreshed %q from the cache", got, idp.count(), second)
		}
	})

	t.Run("a token another run already replaced is used without a request", func(t *testing.T) {
		idp, newRun := setup(t)
		first := authz(t, newRun()) // an earlier run caches a token
		a, b := newRun(), newRun()
		if got := authz(t, a); got != first {
			t.Fatalf("first run sends %q, want the cached %q", got, first)
		}
		if got := authz(t, b); got != first || idp.count() != 1 {
			t.Fatalf("second run sends %q after %d requests, want %q and 1", got, idp.count(), first)
		}
		// Both are refused with 401; a refreshes first.
		if _, err := a.Refresh(t.Context()); err != nil {
			t.Fatal(err)
		}
		replaced := authz(t, a)
		if _, err := b.Refresh(t.Context()); err != nil {
			t.Fatal(err)
		}
		if got := authz(t, b); got != replaced {
			t.Errorf("after Refresh the second run sends %q, want %q (the one the first run fetched)", got, replaced)
		}
		if idp.count() != 2 {
			t.Errorf("%d token requests, want 2", idp.count())
		}
	})

	t.Run("a token fetched in this run is not fetched again after a 401", func(t *testing.T) {
		idp, newRun := setup(t)
		p := newRun()
		authz(t, p)
		ok, err := p.Refresh(t.Context())
		if err != nil || ok {
			t.Errorf("Refresh = %v, %v; want no refresh (a new token would be refused the same way)", ok, err)
		}
		if idp.count() != 1 {
			t.Errorf("%d token requests, want 1", idp.count())
		}
	})

	t.Run("force in a fresh run always fetches", func(t *testing.T) {
		idp, newRun := setup(t)
		cached := authz(t, newRun())
		tok := mustToken(t, newRun(), true)
		if tok.AccessToken == cached || idp.count() != 2 {
			t.Errorf("Token(force) in a new run = %q after %d requests; want a new token, 2 requests", tok.AccessToken, idp.count())
		}
		// The forced token replaced the cached one.
		if got := authz(t, newRun()); got != tok.AccessToken || idp.count() != 2 {
			t.Errorf("next run sends %q after %d requests, want %q from the cache", got, idp.count(), tok.AccessToken)
		}
	})

	t.Run("force twice fetches twice", func(t *testing.T) {
		idp, newRun := setup(t)
		p := newRun()
		a := mustToken(t, p, true)
		b := mustToken(t, p, true)
		if a.AccessToken == b.AccessToken || idp.count() != 2 {
			t.Errorf("two forced tokens %q, %q after %d requests; want two different, 2 requests", a.AccessToken, b.AccessToken, idp.count())
		}
	})
}

func TestOIDCRetryPolicy(t *testing.T) {
	always := func(r reply) func(int) reply { return func(int) reply { return r } }
	seq := func(rs ...reply) func(int) reply {
		return func(n int) reply { return rs[min(n, len(rs))-1] }
	}
	unavailable := reply{status: 503, contentType: "text/plain", body: "upstream connect error"}

	tests := []struct {
		name         string
		replies      func(n int) reply
		budget       time.Duration
		backoff      time.Duration
		wantToken    bool
		wantRequests int // -1: more than one
		wantStatus   int
		wantRejected bool
		wantCode     string
		wantDesc     string
		wantBackoffs []int // attempts Backoff was called with; nil: not checked
		minElapsed   time.Duration
		maxElapsed   time.Duration // 0: not checked
	}{
		{
			name:         "400 invalid_client",
			replies:      always(oauthError(400, "invalid_client", "Invalid client or Invalid client credentials")),
			wantRequests: 1, wantStatus: 400, wantRejected: true,
			wantCode: "invalid_client", wantDesc: "Invalid client or Invalid client credentials",
			wantBackoffs: []int{},
		},
		{
			name:         "401 invalid_client",
			replies:      always(oauthError(401, "invalid_client", "client authentication failed")),
			wantRequests: 1, wantStatus: 401, wantRejected: true,
			wantCode: "invalid_client", wantDesc: "client authentication failed",
			wantBackoffs: []int{},
		},
		{
			name:         "400 unauthorized_client",
			replies:      always(oauthError(400, "unauthorized_client", "grant type not allowed")),
			wantRequests: 1, wantStatus: 400, wantRejected: true,
			wantCode: "unauthorized_client", wantDesc: "grant type not allowed",
			wantBackoffs: []int{},
		},
		{
			name:         "403 HTML from a proxy",
			replies:      always(reply{status: 403, contentType: "text/html", body: "<html><title>Forbidden</title></html>"}),
			wantRequests: 1, wantStatus: 403, wantRejected: true,
			wantBackoffs: []int{},
		},
		{
			name:         "429 with Retry-After: 1, then 200",
			replies:      seq(reply{status: 429, header: map[string]string{"Retry-After": "1"}, contentType: "text/plain", body: "slow down"}, tokenReply("tok-ok", 300)),
			budget:       5 * time.Second,
			backoff:      time.Millisecond,
			wantToken:    true,
			wantRequests: 2,
			wantBackoffs: []int{}, // Retry-After was honoured instead
			minElapsed:   time.Second,
		},
		{
			name:         "429 with Retry-After beyond the budget gives up at once",
			replies:      always(reply{status: 429, header: map[string]string{"Retry-After": "60"}, contentType: "text/plain", body: "slow down"}),
			budget:       2 * time.Second,
			wantRequests: 1, wantStatus: 429, wantRejected: false,
			wantBackoffs: []int{},
			maxElapsed:   time.Second,
		},
		{
			name:         "503 twice, then 200",
			replies:      seq(unavailable, unavailable, tokenReply("tok-ok", 300)),
			wantToken:    true,
			wantRequests: 3,
			wantBackoffs: []int{1, 2},
		},
		{
			name:         "500 with an OAuth error, then 200",
			replies:      seq(oauthError(500, "server_error", "database down"), tokenReply("tok-ok", 300)),
			wantToken:    true,
			wantRequests: 2,
			wantBackoffs: []int{1},
		},
		{
			name:         "503 forever within a 300ms budget",
			replies:      always(unavailable),
			budget:       300 * time.Millisecond,
			backoff:      100 * time.Millisecond,
			wantRequests: -1, wantStatus: 503, wantRejected: false,
			maxElapsed: 300*time.Millisecond + 300*time.Millisecond, // scheduling slack
		},
		{
			name:         "200 with an HTML page is not retried",
			replies:      always(reply{status: 200, contentType: "text/html", body: "<!DOCTYPE html><html><head><title>Keycloak</title></head><body>Sign in</body></html>"}),
			wantRequests: 1, wantStatus: 200, wantRejected: false,
			wantBackoffs: []int{},
		},
		{
			name:         "200 JSON without access_token is not retried",
			replies:      always(reply{status: 200, contentType: "application/json", body: `{"token_type":"Bearer","expires_in":300}`}),
			wantRequests: 1, wantStatus: 200, wantRejected: false,
			wantBackoffs: []int{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			idp := newFakeIdP(t, func(n int, _ seenRequest) reply { return tt.replies(n) })
			o := idp.options(idp.key())
			if tt.budget != 0 {
				o.Budget = tt.budget
			}
			var mu sync.Mutex
			backoffs := []int{}
			o.Backoff = func(attempt int) time.Duration {
				mu.Lock()
				defer mu.Unlock()
				backoffs = append(backoffs, attempt)
				if tt.backoff != 0 {
					return tt.backoff
				}
				return time.Millisecond
			}
			o.Cache = NewTokenCache(KeyringNone, nil, t.TempDir())

			start := time.Now()
			tok, err := NewOIDC(o).Token(t.Context(), false)
			elapsed := time.Since(start)

			switch n := idp.count(); {
			case tt.wantRequests == -1 && n < 2:
				t.Errorf("%d token requests, want retries", n)
			case tt.wantRequests != -1 && n != tt.wantRequests:
				t.Errorf("%d token requests, want %d", n, tt.wantRequests)
			}
			mu.Lock()
			if tt.wantBackoffs != nil && !slices.Equal(backoffs, tt.wantBackoffs) {
				t.Errorf("Backoff called with attempts %v, want %v", backoffs, tt.wantBackoffs)
			}
			mu.Unlock()
			if elapsed < tt.minElapsed {
				t.Errorf("took %v, want at least %v", elapsed, tt.minElapsed)
			}
			if tt.maxElapsed != 0 && elapsed > tt.maxElapsed {
				t.Errorf("took %v, want at most %v", elapsed, tt.maxElapsed)
			}

			if tt.wantToken {
				if err != nil {
					t.Fatalf("Token: %v", err)
				}
				if tok.AccessToken != "tok-ok" {
					t.Errorf("token %q, want tok-ok", tok.AccessToken)
				}
				return
			}
			var te *TokenError
			if !errors.As(err, &te) {
				t.Fatalf("Token = %+v, %v (%T); want a *TokenError", tok, err, err)
			}
			if te.StatusCode != tt.wantStatus || te.Rejected() != tt.wantRejected {
				t.Errorf("StatusCode %d, Rejected %v; want %d, %v", te.StatusCode, te.Rejected(), tt.wantStatus, tt.wantRejected)
			}
			if te.Code != tt.wantCode || te.Description != tt.wantDesc {
				t.Errorf("Code %q, Description %q; want %q, %q", te.Code, te.Description, tt.wantCode, tt.wantDesc)
			}
			if te.TokenURL != o.Key.TokenURL || te.ClientID != o.Key.ClientID {
				t.Errorf("TokenURL %q, ClientID %q; want %q, %q", te.TokenURL, te.ClientID, o.Key.TokenURL, o.Key.ClientID)
			}
			msg := err.Error()
			for _, want := range []string{o.Key.TokenURL, "client " + o.Key.ClientID, fmt.Sprint(tt.wantStatus), tt.wantCode, tt.wantDesc} {
				if !strings.Contains(msg, want) {
					t.Errorf("error %q does not name %q", msg, want)
				}
			}
			if tt.wantRejected && tt.wantCode != "" && !strings.Contains(msg, "rejected") {
				t.Errorf("error %q does not say the request was rejected", msg)
			}
			if strings.Contains(msg, testSecret) || strings.Contains(fmt.Sprintf("%+v", te), testSecret) {
				t.Errorf("error %q reveals the client secret", msg)
			}
			if c, _, _ := o.Cache.Get(t.Context(), o.Key); c != nil {
				t.Errorf("a failed request cached %+v", c)
			}
		})
	}
}

func TestOIDCConnectionRefused(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	tokenURL := srv.URL + "/oauth/token"
	client := srv.Client()
	srv.Close()

	var backoffs atomic.Int32
	p := NewOIDC(OIDCOptions{
		Key:    TokenKey{TokenURL: tokenURL, ClientID: "camctl-ci", Audience: "orchestration-api"},
		Secret: func(context.Context) (string, error) { return testSecret, nil },
		HTTP:   client,
		Budget: 300 * time.Millisecond,
		Cache:  NewTokenCache(KeyringNone, nil, t.TempDir()),
		// A third of the budget: the last attempt starts well before the
		// deadline, so it ends with its own error, not the deadline's.
		Backoff: func(int) time.Duration {
			backoffs.Add(1)
			return 100 * time.Millisecond
		},
	})
	start := time.Now()
	_, err := p.Token(t.Context(), false)
	elapsed := time.Since(start)
	var te *TokenError
	if !errors.As(err, &te) {
		t.Fatalf("Token: %v (%T), want a *TokenError", err, err)
	}
	if te.StatusCode != 0 || te.Rejected() {
		t.Errorf("StatusCode %d, Rejected %v; want 0 (no answer), false", te.StatusCode, te.Rejected())
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("error %v does not wrap ECONNREFUSED", err)
	}
	msg := err.Error()
	if !strings.Contains(msg, tokenURL) || !strings.Contains(msg, "camctl-ci") || strings.Contains(msg, testSecret) {
		t.Errorf("error %q: want the token URL and client id, never the secret", msg)
	}
	if backoffs.Load() == 0 {
		t.Errorf("connection errors were not retried")
	}
	if elapsed > 300*time.Millisecond+300*time.Millisecond {
		t.Errorf("took %v with a 300ms budget", elapsed)
	}
}

func TestOIDCCancelDuringBackoff(t *testing.T) {
	idp := newFakeIdP(t, func(int, seenRequest) reply { return reply{status: 503, body: "busy"} })
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	o := idp.options(idp.key())
	o.Budget = 30 * time.Second
	o.Cache = NewTokenCache(KeyringNone, nil, t.TempDir())
	o.Backoff = func(int) time.Duration {
		cancel() // the user presses Ctrl-C while camctl waits to retry
		return 10 * time.Second
	}
	start := time.Now()
	_, err := NewOIDC(o).Token(ctx, false)
	if elapsed := time.Since(start); elapsed > 2*time.Second {
		t.Errorf("returned after %v, want promptly", elapsed)
	}
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Token: %v, want context.Canceled", err)
	}
	if n := idp.count(); n != 1 {
		t.Errorf("%d token requests, want 1", n)
	}
	// The lock was released: the next run is not blocked by this one.
	lockCtx, lockCancel := context.WithTimeout(t.Context(), time.Second)
	defer lockCancel()
	unlock, err := o.Cache.Lock(lockCtx, o.Key)
	if err != nil {
		t.Fatalf("the token lock is still held after a cancelled request: %v", err)
	}
	unlock()
}

// hangingIdP answers the requests listed in answer and leaves every
// other one hanging until the client gives up.
func hangingIdP(t *testing.T, answer map[int]reply) (*httptest.Server, *atomic.Int32) {
	var n atomic.Int32
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Reading the body lets the server notice the client hanging up.
		io.Copy(io.Discard, r.Body)
		rep, ok := answer[int(n.Add(1))]
		if !ok {
			select {
			case <-r.Context().Done():
			case <-release:
			}
			return
		}
		w.Header().Set("Content-Type", rep.contentType)
		w.WriteHeader(rep.status)
		io.WriteString(w, rep.body)
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) }) // runs first: Close waits for handlers
	return srv, &n
}

func hangingOptions(t *testing.T, srv *httptest.Server) OIDCOptions {
	return OIDCOptions{
		Key:     TokenKey{TokenURL: srv.URL + "/oauth/token", ClientID: "camctl-ci", Audience: "orchestration-api"},
		Secret:  func(context.Context) (string, error) { return testSecret, nil },
		HTTP:    srv.Client(),
		Budget:  200 * time.Millisecond,
		Cache:   NewTokenCache(KeyringNone, nil, t.TempDir()),
		Backoff: func(int) time.Duration { return time.Millisecond },
	}
}

// A token endpoint that never answers costs the --timeout budget, not more.
func TestOIDCHungEndpointWithinBudget(t *testing.T) {
	srv, n := hangingIdP(t, nil)
	start := time.Now()
	_, err := NewOIDC(hangingOptions(t, srv)).Token(t.Context(), false)
	if elapsed := time.Since(start); elapsed > 200*time.Millisecond+300*time.Millisecond {
		t.Errorf("took %v with a 200ms budget", elapsed)
	}
	var te *TokenError
	if !errors.As(err, &te) || te.StatusCode != 0 || te.Rejected() {
		t.Fatalf("Token: %v; want a *TokenError without status (no answer)", err)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error %v does not wrap context.DeadlineExceeded", err)
	}
	if n.Load() != 1 {
		t.Errorf("%d token requests, want 1", n.Load())
	}
}

// When the budget runs out while a retry is in flight, the user should
// learn what the endpoint last answered (503: exit 5, "the IdP is
// failing"), not only that time ran out, which reads as an unreachable
// endpoint (StatusCode 0: exit 4).
func TestOIDCBudgetEndsDuringRetryReportsLastAnswer(t *testing.T) {
	srv, n := hangingIdP(t, map[int]reply{1: {status: 503, contentType: "text/plain", body: "busy"}})
	_, err := NewOIDC(hangingOptions(t, srv)).Token(t.Context(), false)
	var te *TokenError
	if !errors.As(err, &te) {
		t.Fatalf("Token: %v; want a *TokenError", err)
	}
	if n.Load() != 2 {
		t.Errorf("%d token requests, want 2 (the 503, then the retry cut off by the budget)", n.Load())
	}
	if te.StatusCode != 503 || te.Rejected() {
		t.Errorf("StatusCode %d, Rejected %v; want 503, false (%v)", te.StatusCode, te.Rejected(), err)
	}
	if !strings.Contains(err.Error(), "503") {
		t.Errorf("error %q does not mention the 503", err)
	}
}

// A certificate the client cannot verify does not go away by asking
// again: no retry, and the kind of failure is kept for the hint.
func TestOIDCCertificateErrorsAreNotRetried(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Error("the handshake should have failed")
	}))
	t.Cleanup(srv.Close)
	backoffs := 0
	p := NewOIDC(OIDCOptions{
		Key:     TokenKey{TokenURL: srv.URL + "/token", ClientID: "c"},
		Secret:  func(context.Context) (string, error) { return "s", nil },
		HTTP:    &http.Client{Timeout: 2 * time.Second},
		Budget:  5 * time.Second,
		Backoff: func(int) time.Duration { backoffs++; return 0 },
	})
	_, err := p.Token(t.Context(), false)
	var te *TokenError
	if !errors.As(err, &te) || te.StatusCode != 0 || te.Net != api.NetUnknownAuthority {
		t.Fatalf("err = %v, want a TokenError for an unknown certificate authority", err)
	}
	if backoffs != 0 {
		t.Errorf("retried %d times, want none", backoffs)
	}
}

// Answers that break off are network failures (retried within the
// budget, then StatusCode 0: exit 4), not an endpoint that answered
// something other than a token (exit 1, "check the token URL"); oauth2
// reports a failed body read only as text.
func TestOIDCAnswerCutOff(t *testing.T) {
	const body = `{"access_token":"tok-ok","token_type":"Bearer","expires_in":300}`
	tests := []struct {
		name    string
		handler func(release <-chan struct{}) http.HandlerFunc
		wantNet api.NetKind
		wantMsg string
	}{
		{
			name: "connection closed after half the body",
			handler: func(<-chan struct{}) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("Content-Type", "application/json")
					w.Header().Set("Content-Length", fmt.Sprint(len(body)))
					io.WriteString(w, body[:len(body)/2])
					// Returning with fewer bytes than announced makes the
					// server close the connection.
				}
			},
			wantNet: api.NetOther,
			wantMsg: "the answer was cut off (the connection closed before all of it arrived): unexpected EOF",
		},
		{
			name: "headers, then nothing until the timeout",
			handler: func(release <-chan struct{}) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("Content-Type", "application/json")
					w.Header().Set("Content-Length", fmt.Sprint(len(body)))
					w.WriteHeader(http.StatusOK)
					w.(http.Flusher).Flush()
					select {
					case <-r.Context().Done():
					case <-release:
					}
				}
			},
			wantNet: api.NetTimeout,
			wantMsg: "the answer was cut off",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var n atomic.Int32
			release := make(chan struct{})
			h := tt.handler(release)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				n.Add(1)
				io.Copy(io.Discard, r.Body)
				h(w, r)
			}))
			t.Cleanup(srv.Close)
			t.Cleanup(func() { close(release) }) // runs first: Close waits for handlers
			o := hangingOptions(t, srv)
			o.HTTP = &http.Client{Timeout: 150 * time.Millisecond}
			o.Budget = 400 * time.Millisecond
			o.Backoff = func(int) time.Duration { return 10 * time.Millisecond }
			start := time.Now()
			_, err := NewOIDC(o).Token(t.Context(), false)
			if elapsed := time.Since(start); elapsed > 400*time.Millisecond+500*time.Millisecond {
				t.Errorf("took %v with a 400ms budget", elapsed)
			}
			var te *TokenError
			if !errors.As(err, &te) || te.StatusCode != 0 || te.Net != tt.wantNet {
				t.Fatalf("Token: %v (%+v); want a TokenError without status, kind %v", err, te, tt.wantNet)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error %q does not say %q", err, tt.wantMsg)
			}
			if n.Load() < 2 {
				t.Errorf("%d token requests, want retries", n.Load())
			}
		})
	}
}

// A token that expired before it arrived is not sent, not cached, and
// not fetched again: the endpoint would hand out the same.
func TestOIDCTokenExpiredOnArrival(t *testing.T) {
	clock := newTestClock()
	idp := newFakeIdP(t, func(int, seenRequest) reply {
		return tokenReply(makeJWT(t, map[string]any{"sub": "c", "exp": clock.base.Add(-time.Hour).Unix()}), 300)
	})
	o := idp.options(idp.key())
	o.Now = clock.Now
	o.Cache = NewTokenCache(KeyringNone, nil, t.TempDir())
	_, err := NewOIDC(o).Token(t.Context(), false)
	var te *TokenError
	if !errors.As(err, &te) || te.ExpiredAt.IsZero() || te.StatusCode != http.StatusOK || te.Rejected() {
		t.Fatalf("Token: %v; want a TokenError for an expired token", err)
	}
	if want := "answered 200 OK with a token that had expired already: it expired at " + clock.base.Add(-time.Hour).UTC().Format(time.RFC3339) + ", 1h0m0s before it arrived"; !strings.Contains(err.Error(), want) {
		t.Errorf("error %q, want %q", err, want)
	}
	if idp.count() != 1 {
		t.Errorf("%d token requests, want 1", idp.count())
	}
	if c, _, _ := o.Cache.Get(t.Context(), o.Key); c != nil {
		t.Errorf("cached %+v", c)
	}
}

// TestTokenExpiryNotInThePast: an expires_in that has passed when the
// token arrives is no expiry (found by FuzzTokenResponse): with it, every
// request of a long run (topology --wait) fetched a new token. (A JWT exp
// that has passed is refused: TestOIDCTokenExpiredOnArrival.)
func TestTokenExpiryNotInThePast(t *testing.T) {
	soon := time.Now().Add(2 * time.Hour).Unix()
	future := rawJWT(`{"alg":"none"}`, fmt.Sprintf(`{"exp":%d}`, soon))
	tests := []struct {
		name        string
		contentType string
		body        string
		want        time.Duration // from ObtainedAt; 0: no expiry; -1: the JWT's exp
	}{
		{"JWT exp ahead wins", "application/json", `{"access_token":"` + future + `","expires_in":300}`, -1},
		{"negative expires_in", "application/json", `{"access_token":"opaque","expires_in":-60}`, 0},
		{"negative expires_in (form)", "text/plain", "access_token=opaque&expires_in=-5", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, err := fetchFrom(t, http.StatusOK, tt.contentType, tt.body, "s3cr3t-V4lue~x")
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case tt.want == -1:
				if !tok.ExpiresAt.Equal(time.Unix(soon, 0)) {
					t.Errorf("ExpiresAt = %v, want the JWT's exp", tok.ExpiresAt)
				}
			case tt.want == 0:
				if !tok.ExpiresAt.IsZero() {
					t.Errorf("ExpiresAt = %v, want none (obtained %v)", tok.ExpiresAt, tok.ObtainedAt)
				}
			default:
				if d := tok.ExpiresAt.Sub(tok.ObtainedAt); d < tt.want || d > tt.want+5*time.Second {
					t.Errorf("ExpiresAt = ObtainedAt + %v, want %v", d, tt.want)
				}
			}
		})
	}
}

// TestTokenErrorTextHardening: cases FuzzTokenResponse found.
func TestTokenErrorTextHardening(t *testing.T) {
	const secret = "a+b/c=d&s3cr3t"
	tests := []struct {
		name        string
		status      int
		contentType string
		body        string
		want        string
		notWant     []string
	}{
		{"OAuth error with 200 names the error", 200, "application/json", `{"error":"invalid_request","error_description":"Missing form parameter: grant_type"}`,
			"answered 200 OK with an error: invalid_request: Missing form parameter: grant_type", []string{"()"}},
		{"OAuth error with 201 names its status", 201, "application/json", `{"error":"invalid_request"}`,
			"answered 201 Created with an error: invalid_request", nil},
		{"echoed form-encoded secret", 400, "text/html", "<html><body><pre>client_id=camctl-ci&client_secret=" + url.QueryEscape(secret) + "</pre></body></html>",
			"client_secret=[redacted]", []string{url.QueryEscape(secret)[:6]}},
		{"secret cut by the excerpt", 400, "text/plain", strings.Repeat("x", 100) + "client_secret=" + secret,
			"400 Bad Request", []string{secret[:6]}},
		{"multi-line description", 401, "application/json", `{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided.\r\nTrace ID: 0c1d"}`,
			"invalid_client: AADSTS7000215: Invalid client secret provided. Trace ID: 0c1d", nil},
		{"huge description", 401, "application/json", `{"error":"invalid_client","error_description":"` + strings.Repeat("long ", 2000) + `"}`,
			"invalid_client: long long", []string{strings.Repeat("long ", 100)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := fetchFrom(t, tt.status, tt.contentType, tt.body, secret)
			if err == nil {
				t.Fatal("fetch succeeded")
			}
			msg := err.Error()
			if !strings.Contains(msg, tt.want) {
				t.Errorf("Error() = %q, want %q", msg, tt.want)
			}
			for _, n := range tt.notWant {
				if strings.Contains(msg, n) {
					t.Errorf("Error() = %q contains %q", msg, n)
				}
			}
		})
	}
}

// A token endpoint that echoes the client secret back (in error_description
// or an HTML page) cannot make camctl print it: the error redacts it.
func TestOIDCErrorRedactsEchoedSecret(t *testing.T) {
	for _, r := range []reply{
		{status: 400, contentType: "application/json", body: `{"error":"invalid_client","error_description":"bad secret ` + testSecret + `"}`},
		{status: 403, contentType: "text/html", body: "<html>client_secret=" + testSecret + " refused</html>"},
	} {
		idp := newFakeIdP(t, func(int, seenRequest) reply { return r })
		_, err := NewOIDC(idp.options(idp.key())).Token(t.Context(), false)
		if err == nil {
			t.Fatal("Token succeeded")
		}
		if strings.Contains(err.Error(), testSecret) {
			t.Errorf("the error shows the client secret: %v", err)
		}
		if !strings.Contains(err.Error(), "[redacted]") {
			t.Errorf("the error does not show the redacted echo: %v", err)
		}
	}
}
