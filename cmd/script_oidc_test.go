package cmd

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/camctl/camctl/internal/auth"
	"github.com/camctl/camctl/internal/fakecamunda"
	"github.com/camctl/camctl/internal/oidctest"
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
		env.Values[idpVerifyKey{}] = idp.Verify
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
//	idp requests N                     require N token requests so far
//	idp fail STATUS [RETRY_AFTER] [N]  answer the next N token requests with STATUS
//	idp hang                           the next token request never gets an answer
//	idp wait-request                   wait until a token request arrives
//	idp down / idp up                  drop every connection / serve again
//	idp bearer                         the fake cluster accepts only this IdP's tokens
func cmdIdP(ts *testscript.TestScript, neg bool, args []string) {
	p := ts.Value(idpKey{}).(*oidctest.Proxy)
	if len(args) == 0 {
		ts.Fatalf("usage: idp requests|fail|down|up ...")
	}
	switch args[0] {
	case "requests":
		want, err := strconv.Atoi(args[1])
		ts.Check(err)
		if got := p.TokenRequests(); (got == want) == neg {
			ts.Fatalf("the IdP got %d token requests, want %d", got, want)
		}
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
	case "bearer":
		ts.Value(fakeKey{}).(*fakecamunda.Server).RequireBearer(ts.Value(idpVerifyKey{}).(func(string) error))
	default:
		ts.Fatalf("idp: unknown subcommand %q", args[0])
	}
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
