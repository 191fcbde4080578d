package auth_test

import (
	"net/http/httptest"
	"testing"
	"time"

	"github.com/camctl/camctl/internal/auth"
	"github.com/camctl/camctl/internal/config"
	"github.com/camctl/camctl/internal/testutil/fakecamunda"
	"github.com/camctl/camctl/internal/testutil/pkitest"
)

// BenchmarkTokenRequest compares what one camctl run spends on getting a
// token with a client secret to one with a signed client assertion
// (RSA-2048 RS256, RSA PS256, EC P-256 ES256), against a local token
// endpoint: each iteration builds the provider (reading the key file, as
// every run does) and makes one token request. The difference is the
// cost of loading the key and signing the assertion (spec §11), with the
// endpoint's verification of it on the other side.
func BenchmarkTokenRequest(b *testing.B) {
	pki := pkitest.New(b, "")
	keys := pki.AssertionKeys(b)
	issuer := fakecamunda.NewIssuer(10 * time.Minute)
	issuer.AddClient("secret-client", "S3cret-bench")
	issuer.AddKeyClient("signed-client", keys.JWKS(b), false)
	srv := httptest.NewServer(issuer)
	b.Cleanup(srv.Close)
	cases := []struct {
		name string
		env  map[string]string
		// flags are profile settings without a variable.
		flags map[config.Key]string
	}{
		{"secret", map[string]string{"CAMUNDA_CLIENT_ID": "secret-client", "CAMUNDA_CLIENT_SECRET": "S3cret-bench"}, nil},
		{"assertion RS256", map[string]string{"CAMUNDA_CLIENT_ID": "signed-client", "CAMCTL_CLIENT_ASSERTION_KEY_PATH": keys.RSAKey}, nil},
		{"assertion PS256", map[string]string{"CAMUNDA_CLIENT_ID": "signed-client", "CAMCTL_CLIENT_ASSERTION_KEY_PATH": keys.RSAKey}, map[config.Key]string{config.AssertionAlg: "PS256"}},
		{"assertion ES256", map[string]string{"CAMUNDA_CLIENT_ID": "signed-client", "CAMCTL_CLIENT_ASSERTION_KEY_PATH": keys.ECKey}, nil},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			env := map[string]string{"CAMUNDA_REST_ADDRESS": "http://127.0.0.1:1", "CAMUNDA_OAUTH_URL": srv.URL + "/token"}
			for k, v := range c.env {
				env[k] = v
			}
			r, err := config.Resolve(config.Options{LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok }, Flags: c.flags})
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				p, err := auth.NewProvider(b.Context(), r, depsFor(env))
				if err != nil {
					b.Fatal(err)
				}
				if _, err := p.(tokenSource).Token(b.Context(), true); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
