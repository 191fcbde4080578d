package cmd

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/camctl/camctl/internal/auth"
	"github.com/camctl/camctl/internal/testutil/fakecamunda"
	"github.com/camctl/camctl/internal/testutil/oidctest"
)

type (
	idpKey       struct{}
	idpVerifyKey struct{}
)

// The test IdP's clients. The secrets are test-only.
var oidcClients = []oidctest.Client{
	{ID: "camctl-ci", Secret: "Cl1ent-S3cret-ci"},
	{ID: "camctl-other", Secret: "Cl1ent-S3cret-other"},
}

// TestScriptsOIDC runs testdata/script-oidc against a real OpenID provider
// (oidc-provider on Node.js) that checks client secrets and signs JWT
// access tokens, and a fake cluster that accepts only tokens it signed for
// audience orchestration-api. Each script gets its own counting proxy in
// front of the provider at $TOKEN_URL.
func TestScriptsOIDC(t *testing.T) {
	idp := oidctest.Start(t, oidctest.Options{Clients: oidcClients})
	testscript.Run(t, withIdP(scriptParams(filepath.Join("..", "testdata", "script-oidc")), idp))
}

// withIdP adds the OpenID provider to script params: a proxy per script
// at $TOKEN_URL, the idp and expire-cached-tokens commands, and `fake
// bearer`, which makes the fake cluster accept only the provider's tokens.
func withIdP(p testscript.Params, idp *oidctest.IdP) testscript.Params {
	setup := p.Setup
	p.Setup = func(env *testscript.Env) error {
		if err := setup(env); err != nil {
			return err
		}
		proxy := oidctest.NewProxy(idp)
		env.Defer(proxy.Close)
		env.Values[idpKey{}] = proxy
		env.Values[idpVerifyKey{}] = idp
		env.Setenv("TOKEN_URL", proxy.TokenURL())
		env.Setenv("CAMCTL_CACHE_DIR", filepath.Join(env.WorkDir, "cache"))
		return nil
	}
	p.Cmds["idp"] = cmdIdP
	p.Cmds["expire-cached-tokens"] = cmdExpireCachedTokens
	return p
}

// idp configures the proxy in front of the OpenID provider:
//
//	idp requests [<=]N                 require N (at most N) token requests so far
//	idp recount                        count token requests from zero again
//	idp fail STATUS [RETRY_AFTER] [N]  answer the next N token requests with STATUS
//	idp hang                           the next token request never gets an answer
//	idp wait-request                   wait until a token request arrives
//	idp storm STATUS [RETRY_AFTER]     answer every token request with STATUS (until idp up)
//	idp storm KIND                     answer every token request with KIND, as in idp reply
//	idp reply KIND [N]                 answer the next N token requests with KIND:
//	                                   reset (TCP RST, no answer), cut (headers, half
//	                                   a token, RST), slow (after 10 s), truncated-json,
//	                                   html, empty (empty 200), no-access-token,
//	                                   no-expiry (an opaque token without expires_in),
//	                                   expired (the provider's JWT with exp an hour ago)
//	idp down / idp up                  drop every connection / serve again (and
//	                                   forget the faults queued for later requests)
//	idp bearer [AUDIENCE]              the fake cluster accepts only this IdP's tokens
//	                                   (for AUDIENCE: then it refuses every token)
func cmdIdP(ts *testscript.TestScript, neg bool, args []string) {
	p := ts.Value(idpKey{}).(*oidctest.Proxy)
	if len(args) == 0 {
		ts.Fatalf("usage: idp requests|fail|down|up ...")
	}
	switch args[0] {
	case "requests":
		atMost := strings.HasPrefix(args[1], "<=")
		want, err := strconv.Atoi(strings.TrimPrefix(args[1], "<="))
		ts.Check(err)
		got := p.TokenRequests()
		if (got == want || atMost && got < want) == neg {
			ts.Fatalf("the IdP got %d token requests, want %s", got, args[1])
		}
	case "recount":
		p.Recount()
	case "fail":
		status, err := strconv.Atoi(args[1])
		ts.Check(err)
		f := oidctest.Fault{Status: status, Body: `{"error":"temporarily_unavailable","error_description":"try later"}`}
		if len(args) > 2 && args[2] != "-" {
			f.RetryAfter = args[2]
		}
		n := 1
		if len(args) > 3 {
			n, err = strconv.Atoi(args[3])
			ts.Check(err)
		}
		for range n {
			p.Fail(f)
		}
	case "storm":
		if f, ok := idpReplies[args[1]]; ok {
			p.Always(&f)
			return
		}
		status, err := strconv.Atoi(args[1])
		ts.Check(err)
		f := oidctest.Fault{Status: status, Body: `{"error":"temporarily_unavailable","error_description":"try later"}`}
		if len(args) > 2 && args[2] != "-" {
			f.RetryAfter = args[2]
		}
		p.Always(&f)
	case "reply":
		f, ok := idpReplies[args[1]]
		if !ok {
			ts.Fatalf("idp reply: unknown kind %q", args[1])
		}
		n := 1
		if len(args) > 2 {
			var err error
			n, err = strconv.Atoi(args[2])
			ts.Check(err)
		}
		for range n {
			p.Fail(f)
		}
	case "hang":
		p.Fail(oidctest.Fault{Hang: true})
	case "wait-request":
		select {
		case <-p.Arrived():
		case <-time.After(10 * time.Second):
			ts.Fatalf("no token request arrived within 10 s")
		}
	case "down":
		p.SetDown(true)
	case "up":
		p.SetDown(false)
		p.Forget()
	case "bearer":
		idp := ts.Value(idpVerifyKey{}).(*oidctest.IdP)
		verify := idp.Verify
		if len(args) > 1 {
			verify = idp.VerifyFor(args[1])
		}
		ts.Value(fakeKey{}).(*fakecamunda.Server).RequireBearer(verify)
	default:
		ts.Fatalf("idp: unknown subcommand %q", args[0])
	}
}

// idpReplies are the answers of `idp reply KIND`.
var idpReplies = map[string]oidctest.Fault{
	"reset": {Reset: true},
	"cut":   {Cut: true, Body: `{"access_token":"eyJhbGciOiJSUzI1NiJ9.eyJleHAiOjQxMDI0NDQ4MDB9.c2ln","token_type":"Bearer","expires_in":300}`},
	// Longer than any --timeout a script uses; the proxy gives up when
	// camctl does.
	"slow":            {Delay: 10 * time.Second},
	"truncated-json":  {Status: 200, Body: `{"access_token":"eyJhbGciOiJSUzI1NiJ9.eyJle`},
	"html":            {Status: 200, ContentType: "text/html", Body: "<!DOCTYPE html><html><head><title>Sign in to Keycloak</title></head><body><form>Username Password</form></body></html>"},
	"empty":           {Status: 200},
	"no-access-token": {Status: 200, Body: `{"token_type":"Bearer","expires_in":300}`},
	"no-expiry": {Rewrite: func(m map[string]any) {
		m["access_token"] = "opaque-" + strconv.FormatInt(time.Now().UnixNano(), 36)
		delete(m, "expires_in")
	}},
	"expired": {Rewrite: func(m map[string]any) {
		// The provider cannot be told to issue an expired token, so its
		// token's exp is moved an hour back. That breaks the signature,
		// but the cluster refuses the token either way, as it refuses an
		// expired one; what matters is what camctl makes of the exp.
		tok, _ := m["access_token"].(string)
		m["access_token"] = withClaim(tok, "exp", time.Now().Add(-time.Hour).Unix())
	}},
}

// withClaim returns the JWT tok with one claim replaced (and its
// signature no longer valid).
func withClaim(tok, claim string, value any) string {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return tok
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return tok
	}
	var claims map[string]any
	if json.Unmarshal(payload, &claims) != nil {
		return tok
	}
	claims[claim] = value
	payload, _ = json.Marshal(claims)
	parts[1] = base64.RawURLEncoding.EncodeToString(payload)
	return strings.Join(parts, ".")
}

// expire-cached-tokens makes every token in the file cache of
// $CAMCTL_CACHE_DIR expire, as if its lifetime had passed.
func cmdExpireCachedTokens(ts *testscript.TestScript, neg bool, args []string) {
	path := filepath.Join(ts.Getenv("CAMCTL_CACHE_DIR"), "tokens.json")
	b, err := os.ReadFile(path)
	ts.Check(err)
	var entries map[string]string
	ts.Check(json.Unmarshal(b, &entries))
	for k, v := range entries {
		var tok auth.Token
		ts.Check(json.Unmarshal([]byte(v), &tok))
		tok.ExpiresAt = time.Now().Add(-time.Minute)
		nb, err := json.Marshal(tok)
		ts.Check(err)
		entries[k] = string(nb)
	}
	b, err = json.Marshal(entries)
	ts.Check(err)
	ts.Check(os.WriteFile(path, b, 0o600))
}
