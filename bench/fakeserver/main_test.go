package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/camctl/camctl/internal/testutil/fakecamunda"
)

func newOAuthServer(t *testing.T, ttl time.Duration) (*server, *httptest.Server) {
	t.Helper()
	fake := fakecamunda.New()
	s := &server{api: fake, idp: fakecamunda.NewIssuer(ttl)}
	s.idp.AddClient("cid", "s3cret")
	fake.RequireBearer(s.idp.Verify)
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return s, ts
}

func postToken(t *testing.T, ts *httptest.Server, form url.Values) (int, map[string]any) {
	t.Helper()
	resp, err := http.PostForm(ts.URL+"/oauth/token", form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, body
}

func getTopology(t *testing.T, ts *httptest.Server, token string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, ts.URL+"/v2/topology", nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func stats(t *testing.T, ts *httptest.Server) map[string]int {
	t.Helper()
	resp, err := http.Get(ts.URL + "/_stats")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]int
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Fatal(err)
	}
	return m
}

func creds(id, secret string) url.Values {
	return url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {secret},
		"audience": {"orchestration-api"}}
}

func TestOAuthFlow(t *testing.T) {
	_, ts := newOAuthServer(t, 5*time.Minute)

	if got := getTopology(t, ts, ""); got != http.StatusUnauthorized {
		t.Fatalf("no token: status %d, want 401", got)
	}
	status, body := postToken(t, ts, creds("cid", "wrong"))
	if status != http.StatusUnauthorized || body["error"] != "invalid_client" {
		t.Fatalf("wrong secret: %d %v, want 401 invalid_client", status, body)
	}
	status, body = postToken(t, ts, creds("cid", "s3cret"))
	if status != http.StatusOK || body["token_type"] != "Bearer" || body["expires_in"] != float64(300) {
		t.Fatalf("token: %d %v", status, body)
	}
	tok, _ := body["access_token"].(string)
	if strings.Count(tok, ".") != 2 {
		t.Fatalf("token %q is not JWT-shaped", tok)
	}
	if got := getTopology(t, ts, tok); got != http.StatusOK {
		t.Fatalf("issued token: status %d, want 200", got)
	}
	if got := getTopology(t, ts, tok[:len(tok)-2]+"AA"); got != http.StatusUnauthorized {
		t.Fatalf("tampered token: status %d, want 401", got)
	}
	want := map[string]int{"token_requests": 2, "tokens_issued": 1, "api_requests": 3, "api_unauthorized": 2}
	got := stats(t, ts)
	for k, v := range want {
		if got[k] != v {
			t.Errorf("_stats %s = %d, want %d (%v)", k, got[k], v, got)
		}
	}
}

func TestOAuthBasicClientAuthAndGrantType(t *testing.T) {
	_, ts := newOAuthServer(t, time.Minute)
	req, _ := http.NewRequest(http.MethodPost, ts.URL+"/oauth/token",
		strings.NewReader("grant_type=client_credentials"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("cid", "s3cret")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("client_secret_basic: status %d", resp.StatusCode)
	}
	form := creds("cid", "s3cret")
	form.Set("grant_type", "password")
	if status, body := postToken(t, ts, form); status != http.StatusBadRequest || body["error"] != "unsupported_grant_type" {
		t.Fatalf("password grant: %d %v", status, body)
	}
}

func TestExpiredTokenRejected(t *testing.T) {
	s, ts := newOAuthServer(t, time.Minute)
	s.idp.SetTTL(-time.Second) // issue a token that expired already
	status, body := postToken(t, ts, creds("cid", "s3cret"))
	tok, _ := body["access_token"].(string)
	if status != http.StatusOK || tok == "" {
		t.Fatalf("token: %d %v", status, body)
	}
	if got := getTopology(t, ts, tok); got != http.StatusUnauthorized {
		t.Fatalf("expired token: status %d, want 401", got)
	}
}
