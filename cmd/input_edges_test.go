package cmd

import (
	"os"
	"strings"
	"testing"

	"github.com/camctl/camctl/internal/config"
)

// TestStdinFlagValueIsNotEchoed: spec §8 — a value given to a --*-stdin
// flag, or an argument after it, is most likely the secret: refused with
// exit 2, never repeated.
func TestStdinFlagValueIsNotEchoed(t *testing.T) {
	const secret = "hunter2-Pa55w0rd"
	for _, args := range [][]string{
		{"login", "--password-stdin=" + secret},
		{"login", "--client-secret-stdin=" + secret},
		{"login", "--token-stdin=" + secret},
		{"login", "--token-stdin=false"},
		{"login", "--password-stdin", secret},
	} {
		f, _, out, errOut := testFactory(t, nil)
		if code := run(t, f, args...); code != ExitUsage {
			t.Errorf("%v: exit %d, want %d", args[1], code, ExitUsage)
		}
		if strings.Contains(out.String()+errOut.String(), secret) {
			t.Errorf("%v: the value was echoed:\n%s", args[1], errOut)
		}
		if !strings.Contains(errOut.String(), "not shown") {
			t.Errorf("%v: stderr = %q, want it to say the value is not shown", args[1], errOut)
		}
	}
}

// TestStdinSecretTooLong: spec §8 — a secret on stdin of more than 64 KiB
// is refused, not cut and stored (150,000 bytes used to be cut at 64 KiB
// and reported as a success).
func TestStdinSecretTooLong(t *testing.T) {
	srv := newFakeServer(t)
	for _, tt := range []struct {
		size int
		want int
	}{
		{150000, ExitUsage},
		{maxStdinSecret + 1, ExitUsage},
		{maxStdinSecret, ExitOK},
	} {
		f, in, _, errOut := testFactory(t, nil)
		in.WriteString(strings.Repeat("t", tt.size) + "\n")
		code := run(t, f, "login", "-p", "big", "--address", srv.URL, "--token-stdin")
		if code != tt.want {
			t.Errorf("%d bytes: exit %d, want %d; stderr: %s", tt.size, code, tt.want, errOut)
		}
		if tt.want == ExitUsage && !strings.Contains(errOut.String(), "longer than 64 KiB") {
			t.Errorf("%d bytes: stderr = %q", tt.size, errOut)
		}
	}
}

// TestPortsOutOfRange: an address or token URL with a port outside
// 1-65535 is a usage error that names the setting.
func TestPortsOutOfRange(t *testing.T) {
	tests := []struct {
		env  map[string]string
		args []string
		want string
	}{
		{map[string]string{"CAMUNDA_REST_ADDRESS": "http://h:99999"}, []string{"topology"}, "address (from env CAMUNDA_REST_ADDRESS)"},
		{map[string]string{"CAMUNDA_REST_ADDRESS": "http://h:0"}, []string{"topology"}, `the port "0" is not a number from 1 to 65535`},
		{nil, []string{"profile", "add", "x", "--address", "http://h:65536"}, "--address"},
		{nil, []string{"profile", "add", "x", "--client-id", "c", "--token-url", "http://kc:99999/token"}, "--token-url"},
		{map[string]string{"CAMUNDA_REST_ADDRESS": "http://h:8080", "CAMUNDA_CLIENT_ID": "c", "CAMUNDA_CLIENT_SECRET": "s3cret-value", "CAMUNDA_OAUTH_URL": "http://kc:0/token"}, []string{"topology"}, "auth.token-url, from env CAMUNDA_OAUTH_URL"},
	}
	for _, tt := range tests {
		f, _, _, errOut := testFactory(t, tt.env)
		if code := run(t, f, tt.args...); code != ExitUsage {
			t.Errorf("%v %v: exit %d, want %d; stderr: %s", tt.env, tt.args, code, ExitUsage, errOut)
		}
		if !strings.Contains(errOut.String(), tt.want) {
			t.Errorf("%v %v: stderr = %q, want %q", tt.env, tt.args, errOut, tt.want)
		}
	}
}

// TestConfigKeys: spec §3 — a secret-looking key is a configuration error
// (exit 2, file and line, no value); an unknown key inside a profile is a
// warning, once per run, with the closest known key.
func TestConfigKeys(t *testing.T) {
	srv := newFakeServer(t)
	write := func(t *testing.T, content string) map[string]string {
		f, _, _, _ := testFactory(t, nil)
		path, _ := f.ConfigPath()
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return map[string]string{config.EnvConfig: path}
	}
	t.Run("secret", func(t *testing.T) {
		env := write(t, "current-profile: helm\nprofiles:\n  helm:\n    address: "+srv.URL+"\n    auth:\n      method: basic\n      username: demo\n      password: Sup3r-S3cret-pw\n")
		f, _, out, errOut := testFactory(t, env)
		if code := run(t, f, "topology"); code != ExitUsage {
			t.Errorf("exit %d, want %d", code, ExitUsage)
		}
		want := env[config.EnvConfig] + ", line 8: profiles.helm.auth.password: a secret does not belong in the config file"
		if !strings.Contains(errOut.String(), want) || strings.Contains(out.String()+errOut.String(), "Sup3r") {
			t.Errorf("stderr = %q, want %q and no value", errOut, want)
		}
	})
	t.Run("unknown", func(t *testing.T) {
		env := write(t, "current-profile: dev\nprofiles:\n  dev:\n    adress: http://other.example\n    address: "+srv.URL+"\n")
		f, _, _, errOut := testFactory(t, env)
		// profile list and show read the file more than once.
		if code := run(t, f, "profile", "show"); code != ExitOK {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		want := "Warning: " + env[config.EnvConfig] + ", line 4: profiles.dev.adress: unknown setting; did you mean address?\n"
		if n := strings.Count(errOut.String(), want); n != 1 {
			t.Errorf("stderr has the warning %d times, want once:\n%s", n, errOut)
		}
	})
}
