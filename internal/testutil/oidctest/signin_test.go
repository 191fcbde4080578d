package oidctest

import (
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/oauth2"
)

// TestSignIn signs a user in through the provider's own pages over HTTP:
// the login form checks the password, the consent page grants, and the
// browser lands on the loopback callback with a code that the public
// client exchanges with its PKCE verifier for a person's tokens.
func TestSignIn(t *testing.T) {
	u := User{Login: "alice", Password: "pw-1", Name: "Alice Example"}
	idp := Start(t, Options{Clients: []Client{{ID: "cli", Public: true}}, Users: []User{u}})
	got := make(chan url.Values, 1)
	cb := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r.URL.Query()
		_, _ = w.Write([]byte("signed in"))
	}))
	defer cb.Close()
	oc := &oauth2.Config{ClientID: "cli", RedirectURL: cb.URL + "/callback", Scopes: []string{"openid", "offline_access"},
		Endpoint: oauth2.Endpoint{AuthURL: idp.Issuer + "/auth", TokenURL: idp.Issuer + "/token", AuthStyle: oauth2.AuthStyleInParams}}
	verifier := oauth2.GenerateVerifier()

	bad, err := SignIn(t.Context(), oc.AuthCodeURL("s1", oauth2.S256ChallengeOption(verifier)), User{Login: "alice", Password: "wrong"}, true)
	if err != nil || bad.Status != http.StatusUnauthorized {
		t.Fatalf("a wrong password: %v, %+v; want the 401 page", err, bad)
	}
	res, err := SignIn(t.Context(), oc.AuthCodeURL("s2", oauth2.S256ChallengeOption(verifier)), u, true)
	if err != nil {
		t.Fatal(err)
	}
	if res.URL.Path != "/callback" || !strings.Contains(res.Body, "signed in") {
		t.Fatalf("ended at %s (%d): %s", res.URL, res.Status, res.Body)
	}
	q := <-got
	if q.Get("state") != "s2" || q.Get("code") == "" {
		t.Fatalf("callback %v", q)
	}
	tok, err := oc.Exchange(t.Context(), q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	if tok.RefreshToken == "" {
		t.Error("no refresh token")
	}
	if err := idp.Verify(tok.AccessToken); err != nil {
		t.Errorf("access token: %v", err)
	}
	if !strings.Contains(string(decodePart(tok.AccessToken)), `"preferred_username":"alice"`) {
		t.Errorf("the access token has no username claim: %s", decodePart(tok.AccessToken))
	}
}

func decodePart(tok string) []byte {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return nil
	}
	b, _ := base64.RawURLEncoding.DecodeString(parts[1])
	return b
}
