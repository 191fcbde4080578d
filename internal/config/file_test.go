package config_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/camctl/camctl/internal/config"
)

// specExample is the example file of spec §3.
const specExample = `current-profile: prod
profiles:
  local:
    address: http://localhost:8080
    auth:
      method: none
  helm:
    address: https://camunda.example.com
    auth:
      method: basic
      username: demo
  prod:
    address: https://bru-2.zeebe.camunda.io/0a1b2c3d-...
    auth:
      method: oidc
      client-id: my-client
      token-url: https://login.cloud.camunda.io/oauth/token
      audience: zeebe.camunda.io
      scope: ""
  keycloak-x509:
    address: https://camunda.internal
    auth:
      method: oidc
      client-id: camctl-ci
      token-url: https://keycloak.internal/auth/realms/camunda-platform/protocol/openid-connect/token
      audience: orchestration-api
    tls:
      ca-file: /etc/pki/internal-ca.pem
      client-cert: ~/.camctl/client.pem     # PEM; or keystore: client.p12 (password in keyring)
      client-key: ~/.camctl/client-key.pem
`

func writeFile(t testing.TB, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLoadMissingFile(t *testing.T) {
	for _, path := range []string{
		filepath.Join(t.TempDir(), "config.yaml"),
		filepath.Join(t.TempDir(), "no", "such", "dir", "config.yaml"),
	} {
		f, err := config.Load(path)
		if err != nil {
			t.Fatalf("Load(%s) = %v, want no error", path, err)
		}
		if f == nil || f.CurrentProfile != "" || len(f.Profiles) != 0 {
			t.Errorf("Load(%s) = %+v, want an empty configuration", path, f)
		}
	}
}

func TestLoadUnreadable(t *testing.T) {
	dir := t.TempDir() // a directory where the file should be
	_, err := config.Load(dir)
	var fe *config.FileError
	if !errors.As(err, &fe) || fe.Path != dir || !strings.Contains(err.Error(), dir) {
		t.Errorf("Load(directory) = %T %v, want *FileError naming %s", err, err, dir)
	}
}

func TestLoadSpecExample(t *testing.T) {
	f, err := config.Load(writeFile(t, specExample))
	if err != nil {
		t.Fatal(err)
	}
	if f.CurrentProfile != "prod" {
		t.Errorf("current-profile = %q", f.CurrentProfile)
	}
	if got, want := f.Names(), []string{"helm", "keycloak-x509", "local", "prod"}; !slices.Equal(got, want) {
		t.Errorf("Names() = %v, want %v", got, want)
	}
	prod := f.Profiles["prod"]
	if prod.Address != "https://bru-2.zeebe.camunda.io/0a1b2c3d-..." || prod.Auth.Method != "oidc" ||
		prod.Auth.ClientID != "my-client" || prod.Auth.Audience != "zeebe.camunda.io" || prod.Auth.Scope != "" ||
		prod.Auth.TokenURL != "https://login.cloud.camunda.io/oauth/token" {
		t.Errorf("prod = %+v", prod)
	}
	kc := f.Profiles["keycloak-x509"]
	if kc.TLS.CAFile != "/etc/pki/internal-ca.pem" || kc.TLS.ClientCert != "~/.camctl/client.pem" || kc.TLS.ClientKey != "~/.camctl/client-key.pem" {
		t.Errorf("keycloak-x509 tls = %+v", kc.TLS)
	}
	if got := kc.Get(config.CAFile); got != "/etc/pki/internal-ca.pem" {
		t.Errorf("Get(tls.ca-file) = %q", got)
	}
	if got := f.Profiles["helm"].Get(config.Username); got != "demo" {
		t.Errorf("helm Get(auth.username) = %q", got)
	}
}

func TestLoadValid(t *testing.T) {
	tests := []struct {
		name    string
		content string
		check   func(t *testing.T, f *config.File)
	}{
		{name: "empty file", content: "",
			check: func(t *testing.T, f *config.File) {
				if len(f.Profiles) != 0 {
					t.Errorf("profiles = %v", f.Profiles)
				}
			}},
		{name: "only a comment", content: "# nothing yet\n",
			check: func(t *testing.T, f *config.File) {}},
		{name: "unknown keys are ignored", content: "editor: vim\nprofiles:\n  p:\n    address: http://x\n    color: red\n    auth:\n      method: basic\n      flavour: x\n",
			check: func(t *testing.T, f *config.File) {
				if p := f.Profiles["p"]; p.Address != "http://x" || p.Auth.Method != "basic" {
					t.Errorf("p = %+v", p)
				}
			}},
		{name: "insecure-skip-verify", content: "profiles:\n  p:\n    tls:\n      insecure-skip-verify: true\n",
			check: func(t *testing.T, f *config.File) {
				if !f.Profiles["p"].TLS.InsecureSkipVerify || f.Profiles["p"].Get(config.InsecureSkipVerify) != "true" {
					t.Errorf("p = %+v", f.Profiles["p"])
				}
			}},
		{name: "profile name that looks like a number", content: "profiles:\n  123:\n    address: http://x\n",
			check: func(t *testing.T, f *config.File) {
				if f.Profiles["123"].Address != "http://x" {
					t.Errorf("profiles = %+v", f.Profiles)
				}
			}},
		{name: "empty profile mapping is a profile", content: "current-profile: staging\nprofiles:\n  staging: {}\n",
			check: func(t *testing.T, f *config.File) {
				if _, ok := f.Profiles["staging"]; !ok {
					t.Errorf("profiles = %v, want staging", f.Names())
				}
			}},
		{name: "null profile is a profile", content: "profiles:\n  staging:\n",
			check: func(t *testing.T, f *config.File) {
				if _, ok := f.Profiles["staging"]; !ok {
					t.Errorf("profiles = %v, want staging", f.Names())
				}
			}},
		{name: "profile with only empty blocks is a profile", content: "profiles:\n  staging:\n    auth: {}\n    tls:\n",
			check: func(t *testing.T, f *config.File) {
				if _, ok := f.Profiles["staging"]; !ok {
					t.Errorf("profiles = %v, want staging", f.Names())
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := config.Load(writeFile(t, tt.content))
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			tt.check(t, f)
		})
	}
}

func TestLoadInvalid(t *testing.T) {
	long := "a" + strings.Repeat("b", 63)
	tests := []struct {
		name     string
		content  string
		wantLine int
		wantFrag string
	}{
		{name: "profiles is a list", content: "profiles: [a]\n", wantLine: 1, wantFrag: "mapping"},
		{name: "profiles is an empty list", content: "current-profile: x\nprofiles: []\n", wantLine: 2, wantFrag: "mapping"},
		{name: "profiles is text", content: "profiles: x\n", wantLine: 1, wantFrag: "mapping"},
		{name: "address is a list (flow)", content: "profiles: {prod: {address: [1]}}\n", wantLine: 1, wantFrag: "expected text, found a list"},
		{name: "address is a list (block)", content: "current-profile: prod\nprofiles:\n  prod:\n    address: [1]\n", wantLine: 4, wantFrag: "expected text, found a list"},
		{name: "address is an empty mapping", content: "profiles:\n  prod:\n    address: {}\n", wantLine: 3, wantFrag: "expected text"},
		{name: "current-profile is an empty mapping", content: "current-profile: {}\n", wantLine: 1, wantFrag: "expected text"},
		{name: "current-profile is a mapping", content: "current-profile: {a: b}\n", wantLine: 1, wantFrag: "expected text, found a mapping"},
		{name: "current-profile is a list", content: "current-profile: [prod]\n", wantLine: 1, wantFrag: "expected text, found a list"},
		{name: "auth is a list", content: "profiles:\n  prod:\n    auth: [x]\n", wantLine: 3, wantFrag: "expected a mapping, found a list"},
		{name: "profile is a number", content: "profiles:\n  prod: 5\n", wantLine: 2, wantFrag: "mapping"},
		{name: "bool is not a bool", content: "profiles:\n  prod:\n    tls:\n      insecure-skip-verify: maybe\n", wantLine: 4, wantFrag: "true or false"},
		{name: "top level is a list", content: "- a\n", wantLine: 1, wantFrag: "mapping"},
		{name: "syntax error: unclosed flow", content: "current-profile: a\nprofiles: [\n", wantLine: 2},
		{name: "syntax error: unterminated string", content: "a: 1\nb: \"x\nc: 2\n", wantLine: 2},
		{name: "syntax error: tab indentation", content: "profiles:\n  prod:\n\taddress: x\n", wantLine: 3},
		{name: "syntax error: bad indentation", content: "profiles:\n  prod:\n    address: x\n  auth: y\n bad: 1\n", wantLine: 5},
		{name: "syntax error: mis-indented key inside a profile", content: "profiles:\n  prod:\n    address: x\n   auth: y\n", wantLine: 4},
		{name: "duplicate profile", content: "profiles:\n  prod:\n    address: x\n  prod:\n    address: y\n", wantLine: 4, wantFrag: "already defined"},
		{name: "upper-case profile name", content: "profiles:\n  good:\n    address: x\n  Prod:\n    address: y\n", wantLine: 4, wantFrag: config.NameRule},
		{name: "dotted profile name", content: "profiles:\n  a.b:\n    address: x\n", wantLine: 2, wantFrag: config.NameRule},
		{name: "profile name with a space", content: "profiles:\n  my prod:\n    address: x\n", wantLine: 2, wantFrag: config.NameRule},
		{name: "profile name with leading dash", content: "profiles:\n  ok:\n  -x:\n    address: x\n", wantLine: 3, wantFrag: config.NameRule},
		{name: "profile name of 64 characters", content: "profiles:\n  " + long + ":\n    address: x\n", wantLine: 2, wantFrag: config.NameRule},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, tt.content)
			f, err := config.Load(path)
			var fe *config.FileError
			if !errors.As(err, &fe) {
				t.Fatalf("Load = %+v, %T %v; want *config.FileError", f, err, err)
			}
			if fe.Path != path {
				t.Errorf("Path = %q, want %q", fe.Path, path)
			}
			if fe.Line != tt.wantLine {
				t.Errorf("Line = %d, want %d (%v)", fe.Line, tt.wantLine, err)
			}
			msg := err.Error()
			if !strings.Contains(msg, path) || !strings.Contains(msg, fmt.Sprintf("line %d:", tt.wantLine)) {
				t.Errorf("Error() = %q, want the path and line %d", msg, tt.wantLine)
			}
			if tt.wantFrag != "" && !strings.Contains(msg, tt.wantFrag) {
				t.Errorf("Error() = %q, want it to contain %q", msg, tt.wantFrag)
			}
			if fe.Unwrap() == nil {
				t.Error("Unwrap() = nil")
			}
		})
	}
}

// TestLoadInvalidDoesNotQuoteValues: a password someone put in the file
// (or typed unquoted where it reads as YAML syntax) must not reach the
// error, which ends up in CI logs. Found by FuzzParse; yaml.v3 quotes
// values, anchors and tags, shortened but still with their start.
func TestLoadInvalidDoesNotQuoteValues(t *testing.T) {
	const secret = "hunter2Pa55w0rd"
	tests := []struct {
		name     string
		content  string
		wantLine int
		wantFrag string
	}{
		{"unquoted password starting with *", "profiles:\n  helm:\n    auth:\n      password: *" + secret + "\n", 4, "quote a value that starts with *"},
		{"unquoted password starting with ! where a mapping belongs", "profiles:\n  helm:\n    auth: !" + secret + "\n", 3, "expected a mapping, found a tagged value"},
		{"text with backticks where a mapping belongs", "profiles:\n  helm:\n    auth: \"`" + secret + "`\"\n", 3, "expected a mapping, found text"},
		{"value tagged as a number", "profiles:\n  helm:\n    auth:\n      password: !!int " + secret + "\n", 4, "a value tagged !!int is not a number"},
		// Found by FuzzNormalizeAddress: url.Parse reads no user when the
		// password holds '#', '/' or '?', so the file was accepted.
		{"address with a password holding #", "profiles:\n  helm:\n    address: https://demo:p#" + secret + "@camunda.example.com\n", 3, "contains credentials"},
		{"token URL with a password holding /", "profiles:\n  helm:\n    auth:\n      token-url: https://id:12/" + secret + "@kc.example.com/token\n", 4, "contains credentials"},
		{"address with a password but no scheme", "profiles:\n  helm:\n    address: demo:" + secret + "@camunda.example.com\n", 3, "contains credentials"},
		{"self-referencing anchor", "a: &" + secret + " [*" + secret + "]\n", 1, "contains itself"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := config.Load(writeFile(t, tt.content))
			var fe *config.FileError
			if !errors.As(err, &fe) {
				t.Fatalf("Load = %T %v; want *config.FileError", err, err)
			}
			msg := err.Error()
			if strings.Contains(msg, secret[:6]) {
				t.Errorf("Error() = %q quotes the value", msg)
			}
			if fe.Line != tt.wantLine || !strings.Contains(msg, tt.wantFrag) {
				t.Errorf("Error() = %q, want line %d and %q", msg, tt.wantLine, tt.wantFrag)
			}
		})
	}
}

func TestFileErrorText(t *testing.T) {
	inner := errors.New("boom")
	tests := []struct {
		err  *config.FileError
		want string
	}{
		{&config.FileError{Path: "/c.yaml", Line: 3, Err: inner}, "invalid config file /c.yaml, line 3: boom"},
		{&config.FileError{Path: "/c.yaml", Err: inner}, "invalid config file /c.yaml: boom"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
		if !errors.Is(tt.err, inner) {
			t.Error("errors.Is(FileError, inner) = false")
		}
	}
}
