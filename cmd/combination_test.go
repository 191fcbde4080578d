package cmd

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/camctl/camctl/internal/api"
	"github.com/camctl/camctl/internal/auth"
)

// Settings that contradict each other are refused (exit 2) by profile
// add, profile set and login, before anything is stored: camctl would
// otherwise keep one of them and silently not use it (found by review).
func TestContradictorySettingsRefused(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"grant on basic", []string{"profile", "add", "x", "--address", "http://127.0.0.1:1", "--auth", "basic", "--username", "u", "--grant", "device-code"}, "--grant device-code is for oidc profiles"},
		{"assertion on basic", []string{"profile", "add", "x", "--address", "http://127.0.0.1:1", "--auth", "basic", "--username", "u", "--client-assertion-file", "/t"}, "--client-assertion-file is a client assertion"},
		{"assertion on a person", []string{"profile", "add", "x", "--address", "http://127.0.0.1:1", "--auth", "oidc", "--client-id", "c", "--issuer", "https://idp.example.com", "--grant", "authorization-code", "--client-assertion-from", "github-actions"}, "a person's sign-in (--grant authorization-code) uses a public client"},
		{"exec command on oidc", []string{"profile", "add", "x", "--address", "http://127.0.0.1:1", "--auth", "oidc", "--client-id", "c", "--token-url", "http://127.0.0.1:2/t", "--exec-command", "az"}, "--exec-command runs a command"},
		{"grant on exec", []string{"profile", "add", "x", "--address", "http://127.0.0.1:1", "--auth", "exec", "--exec-command", "az", "--grant", "device-code"}, "--grant device-code is for oidc profiles"},
		{"device with a client assertion", []string{"login", "-p", "x", "--device", "--address", "http://127.0.0.1:1", "--issuer", "https://idp.example.com", "--client-id", "c", "--client-assertion-file", "/t"}, "uses a public client"},
		{"device with a client secret", []string{"login", "-p", "x", "--device", "--address", "http://127.0.0.1:1", "--issuer", "https://idp.example.com", "--client-id", "c", "--client-secret-stdin"}, "drop --client-secret-stdin"},
		{"browser flags without --web", []string{"login", "-p", "x", "--redirect-port", "8000"}, "go with --web"},
		{"--no-browser with --device", []string{"login", "-p", "x", "--device", "--no-browser"}, "go with --web"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, h, in, _, errOut := newHarness(t, map[string]string{"CAMCTL_KEYRING": "none"})
			in.WriteString("s3cret\n")
			if code := run(t, f, tc.args...); code != ExitUsage || !strings.Contains(errOut.String(), tc.want) {
				t.Errorf("exit %d, stderr:\n%s\nwant exit 2 and %q", code, errOut, tc.want)
			}
			if _, err := os.Stat(h.config); err == nil {
				t.Errorf("the refused command wrote %s", h.config)
			}
		})
	}
	t.Run("profile set checks the profile as it will be", func(t *testing.T) {
		f, h, _, _, errOut := newHarness(t, nil)
		if code := run(t, f, "profile", "add", "p", "--address", "http://127.0.0.1:1", "--auth", "oidc", "--client-id", "c", "--issuer", "https://idp.example.com", "--grant", "device-code"); code != 0 {
			t.Fatalf("profile add: %s", errOut)
		}
		before, _ := os.ReadFile(h.config)
		f, _, _, errOut = h.factory(t)
		if code := run(t, f, "profile", "set", "p", "--client-assertion-file", "/t"); code != ExitUsage || !strings.Contains(errOut.String(), "uses a public client") {
			t.Errorf("profile set: exit %d: %s", code, errOut)
		}
		if after, _ := os.ReadFile(h.config); string(after) != string(before) {
			t.Errorf("the refused set changed the file:\n%s", after)
		}
	})
}

// The exit codes of a discovery document that cannot be had (spec §7):
// an issuer that does not answer is unreachable (4), one that fails is
// the server's failure (5), one without a usable document is a wrong
// setting (2).
func TestDiscoveryExitCodes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		err  *auth.DiscoveryError
		want int
	}{
		{&auth.DiscoveryError{URL: "https://idp.example.com/.well-known/openid-configuration", Net: api.NetRefused}, ExitUnreachable},
		{&auth.DiscoveryError{URL: "https://idp.example.com/.well-known/openid-configuration", StatusCode: 503}, ExitServer},
		{&auth.DiscoveryError{URL: "https://idp.example.com/.well-known/openid-configuration", StatusCode: 429}, ExitServer},
		{&auth.DiscoveryError{URL: "https://idp.example.com/.well-known/openid-configuration", StatusCode: 404}, ExitUsage},
		{&auth.DiscoveryError{URL: "https://idp.example.com/.well-known/openid-configuration", StatusCode: 200, Reason: "names another issuer"}, ExitUsage},
	} {
		if got := ExitCode(fmt.Errorf("profile p: %w", tc.err)); got != tc.want {
			t.Errorf("ExitCode(%v) = %d, want %d", tc.err, got, tc.want)
		}
	}
}
