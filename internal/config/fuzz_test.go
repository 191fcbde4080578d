package config

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/camctl/camctl/internal/testutil/leakcheck"
)

// secretMark in a fuzz input stands for a secret: the fuzzer varies the
// secret separately, so that the messages can be checked for it.
const secretMark = "SECRET"

// plausibleSecret reports whether s can stand for a password in the
// checks: long enough not to occur in message text by chance, one line,
// and not itself containing the mark.
func plausibleSecret(s string) bool {
	if len(s) < 6 || len(s) > 64 || !utf8.ValidString(s) || strings.Contains(s, secretMark) {
		return false
	}
	return !strings.ContainsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) })
}

// assertPrintableLine fails when msg would spill over lines or drive the
// terminal.
func assertPrintableLine(t *testing.T, what, msg string) {
	t.Helper()
	if i := strings.IndexFunc(msg, unicode.IsControl); i >= 0 {
		t.Fatalf("%s contains control character %q at %d: %q", what, msg[i:i+1], i, msg)
	}
}

// configSeeds are real-world config files and broken variants of them;
// SECRET marks where a user might (wrongly) have put a password.
var configSeeds = []string{
	"",
	"current-profile: local\n",
	"current-profile: prod\nprofiles:\n  local:\n    address: http://localhost:8080\n    auth:\n      method: none\n  helm:\n    address: https://camunda.example.com\n    auth:\n      method: basic\n      username: demo\n",
	"profiles:\n  prod:\n    address: https://bru-2.zeebe.camunda.io/0a1b2c3d-4e5f\n    auth:\n      method: oidc\n      client-id: my-client\n      token-url: https://login.cloud.camunda.io/oauth/token\n      audience: zeebe.camunda.io\n      scope: \"\"\n",
	"profiles:\n  kc:\n    address: https://camunda.internal\n    auth:\n      method: oidc\n      client-id: camctl-ci\n      token-url: https://keycloak.internal/auth/realms/camunda-platform/protocol/openid-connect/token\n      audience: orchestration-api\n    tls:\n      ca-file: /etc/pki/internal-ca.pem\n      client-cert: ~/.camctl/client.pem # PEM\n      client-key: ~/.camctl/client-key.pem\n      insecure-skip-verify: false\n",
	"profiles:\n  entra:\n    address: https://camunda.corp.example\n    auth:\n      method: oidc\n      client-id: 3f2a6c1e-0000-4000-8000-000000000000\n      token-url: https://login.microsoftonline.com/tenant/oauth2/v2.0/token\n      scope: api://3f2a6c1e-0000-4000-8000-000000000000/.default\n",
	"x-unknown: {kept: true}\nprofiles:\n  local: {}\n",
	"profiles:\n  helm:\n    address: https://camunda.example.com\n    auth:\n      method: basic\n      username: demo\n      password: SECRET\n",
	"profiles:\n  helm:\n    auth:\n      password: *SECRET\n",
	"profiles:\n  helm:\n    auth:\n      password: !SECRET\n",
	"profiles:\n  helm:\n    auth: !SECRET\n",
	"profiles:\n  helm:\n    auth: \"`SECRET`\"\n",
	"profiles:\n  helm:\n    auth:\n      password: !!int SECRET\n",
	"profiles:\n  helm:\n    auth:\n      password: \"SECRET\n",
	"profiles:\n  helm:\n    auth:\n      password: [SECRET\n",
	"profiles:\n  helm:\n    tls:\n      insecure-skip-verify: SECRET\n",
	"profiles:\n  helm:\n    address: https://demo:SECRET@camunda.example.com\n",
	"profiles:\n  helm:\n    address: https://demo:p#SECRET@camunda.example.com\n",
	"profiles:\n  helm:\n    auth:\n      token-url: https://id:SECRET@keycloak.example.com/token\n",
	"current-profile: SECRET\n",
	"current-profile: {SECRET: 1}\n",
	"profiles:\n  prod:\n    address: x\n  prod:\n    address: y\n",
	"profiles:\n  Prod:\n    address: y\n",
	"profiles: [a]\n",
	"- a\n",
	"profiles:\n  prod:\n\taddress: x\n",
	"a: &x [*x]\n",
	"---\n# camctl\ncurrent-profile: local\n",
	"---\n",
	"profiles:\n  prod:\n    address: x\n   auth: y\n",
}

// FuzzParse feeds config.yaml contents to the loader. Properties: a
// failure is a FileError naming the file and a line within it, with a
// printable one-line message that never repeats a value from the file
// (a password someone put there must not end up in a CI log); what loads
// can be edited (ParseDocument agrees) and survives a rewrite unchanged.
func FuzzParse(f *testing.F) {
	for _, s := range configSeeds {
		f.Add(s, "hunter2Pa55w0rd")
		f.Add(s, "p/a#s?s*w&o!r@d")
	}
	const path = "/fuzz/config.yaml"
	f.Fuzz(func(t *testing.T, data, secret string) {
		if !plausibleSecret(secret) {
			secret = "hunter2-Pa55!"
		}
		doc := strings.ReplaceAll(data, secretMark, secret)
		file, err := parse(path, []byte(doc))
		_, docErr := ParseDocument(path, []byte(doc))
		if err != nil {
			var fe *FileError
			if !errors.As(err, &fe) {
				t.Fatalf("parse = %T %v, want a *FileError", err, err)
			}
			if fe.Path != path {
				t.Fatalf("FileError.Path = %q, want %q", fe.Path, path)
			}
			if lines := strings.Count(doc, "\n") + 1; fe.Line < 0 || fe.Line > lines {
				t.Fatalf("FileError.Line = %d, the file has %d lines (%v)", fe.Line, lines, err)
			}
			msg := err.Error()
			assertPrintableLine(t, "the error", msg)
			if strings.Contains(data, secretMark) && !echoesName(fe) {
				fixed := ""
				if _, other := parse(path, []byte(strings.ReplaceAll(data, secretMark, leakcheck.Other(secret)))); other != nil {
					fixed = other.Error()
				}
				if w := leakcheck.Leaked(msg, fixed, secret); w != "" {
					t.Fatalf("the error repeats %q of the secret %q from the file: %v", w, secret, err)
				}
			}
			if docErr == nil && strings.TrimSpace(doc) != "" {
				t.Fatalf("parse refused the file (%v), ParseDocument accepted it", err)
			}
			return
		}
		if docErr != nil {
			// What loads must be editable, else `profile set` cannot
			// repair a file that `topology` happily reads.
			t.Fatalf("parse accepted the file, ParseDocument refused it: %v", docErr)
		}
		for _, n := range file.Names() {
			if ValidateName(n) != nil {
				t.Fatalf("loaded profile name %q breaks the name rule", n)
			}
		}
		d, _ := ParseDocument(path, []byte(doc))
		out, err := d.Bytes()
		if err != nil {
			t.Fatalf("Bytes: %v", err)
		}
		again, err := parse(path, out)
		if err != nil {
			t.Fatalf("the rewritten file does not load: %v\n%s", err, out)
		}
		if !reflect.DeepEqual(normalised(file), normalised(again)) {
			t.Fatalf("a rewrite changed the settings:\nbefore %+v\nafter  %+v\n%s", file, again, out)
		}
	})
}

// echoesName reports the errors whose job is to quote a mapping key the
// user wrote (a bad or duplicate profile name): keys are names, not values.
func echoesName(fe *FileError) bool {
	m := fe.Err.Error()
	return strings.Contains(m, NameRule) || strings.Contains(m, "already defined")
}

// normalised treats a nil and an empty profile map alike.
func normalised(f *File) File {
	c := *f
	if len(c.Profiles) == 0 {
		c.Profiles = nil
	}
	// A rewrite moves lines, so the warnings' line numbers change.
	c.Warnings = nil
	return c
}

// envSeeds are Console credential downloads (old and new cluster
// endpoints), hand-written .env files and broken lines.
var envSeeds = []string{
	"export ZEEBE_ADDRESS='0a1b2c3d-4e5f.bru-2.zeebe.camunda.io:443'\nexport ZEEBE_CLIENT_ID='Zx1~client'\nexport ZEEBE_CLIENT_SECRET='SECRET'\nexport ZEEBE_AUTHORIZATION_SERVER_URL='https://login.cloud.camunda.io/oauth/token'\nexport ZEEBE_TOKEN_AUDIENCE='zeebe.camunda.io'\nexport CAMUNDA_CLUSTER_ID='0a1b2c3d-4e5f'\nexport CAMUNDA_CLUSTER_REGION='bru-2'\nexport CAMUNDA_CREDENTIALS_SCOPES='Zeebe'\nexport CAMUNDA_OAUTH_URL='https://login.cloud.camunda.io/oauth/token'\n",
	"export ZEEBE_GRPC_ADDRESS='grpcs://0a1b2c3d-4e5f.bru-2.zeebe.camunda.io:443'\nexport ZEEBE_REST_ADDRESS='https://bru-2.zeebe.camunda.io/0a1b2c3d-4e5f'\nexport ZEEBE_CLIENT_ID='Zx1~client'\nexport ZEEBE_CLIENT_SECRET='SECRET'\nexport ZEEBE_TOKEN_AUDIENCE='zeebe.camunda.io'\nexport CAMUNDA_CLUSTER_ID='0a1b2c3d-4e5f'\nexport CAMUNDA_CLUSTER_REGION='bru-2'\nexport CAMUNDA_CREDENTIALS_SCOPES='Zeebe'\nexport CAMUNDA_OAUTH_URL='https://login.cloud.camunda.io/oauth/token'\n",
	"# local C8 Run\r\nCAMUNDA_REST_ADDRESS=http://localhost:8080\r\nCAMUNDA_AUTH_STRATEGY=BASIC\r\nCAMUNDA_BASIC_AUTH_USERNAME=demo\r\nCAMUNDA_BASIC_AUTH_PASSWORD=SECRET\r\n",
	"CAMUNDA_CLIENT_SECRET=\"SECRET\"\nCAMUNDA_TOKEN_SCOPE=\"a \\\"b\\\" c\\\\\"\n",
	"CAMUNDA_CLIENT_SECRET=SECRET # from the vault\n",
	"\ufeffexport CAMUNDA_CLIENT_ID='bom'\n",
	"export\tCAMUNDA_CLIENT_ID=tab\n",
	"CAMUNDA_CLIENT_SECRET SECRET\n",
	"export CAMUNDA_CLIENT_SECRET\n",
	"=SECRET\n",
	"MY KEY=SECRET\n",
	"'KEY'=SECRET\n",
	"KEY='SECRET\n",
	"KEY=\"\"\nK2=''\nK3=\n",
}

// FuzzParseEnvFile feeds credentials files to ParseEnvFile. Properties:
// errors are printable and never repeat a value (the file holds client
// secrets); keys are well-formed; and any result written back in the
// three styles the parser accepts reads back the same (so a value is
// taken literally, whatever quotes or backslashes it holds).
func FuzzParseEnvFile(f *testing.F) {
	for _, s := range envSeeds {
		f.Add(s, "s3cr3t-V4lue~")
		f.Add(s, `a'b"c\d#e f`)
	}
	f.Fuzz(func(t *testing.T, data, secret string) {
		if !plausibleSecret(secret) {
			secret = "s3cr3t-V4lue~"
		}
		vars, err := ParseEnvFile(strings.NewReader(strings.ReplaceAll(data, secretMark, secret)))
		if err != nil {
			msg := err.Error()
			assertPrintableLine(t, "the error", msg)
			if w := leakcheck.Leaked(msg, "", secret); strings.Contains(data, secretMark) && w != "" {
				t.Fatalf("the error repeats %q of the secret %q: %v", w, secret, err)
			}
			return
		}
		for k := range vars {
			if k == "" || strings.ContainsAny(k, "'\"=") || strings.ContainsFunc(k, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) {
				t.Fatalf("key %q is not a variable name", k)
			}
		}
		for _, style := range []string{"single", "double", "plain"} {
			text, ok := renderEnv(vars, style)
			if !ok {
				continue
			}
			back, err := ParseEnvFile(strings.NewReader(text))
			if err != nil {
				t.Fatalf("%s-quoted rendering does not parse: %v\n%s", style, err, text)
			}
			if !reflect.DeepEqual(back, vars) {
				t.Fatalf("%s-quoted rendering reads back differently:\nwant %q\ngot  %q\n%s", style, vars, back, text)
			}
		}
	})
}

// renderEnv writes vars in one style, as the Console (single), a careful
// user (double, with \" and \\) or a quick one (plain) would. ok is false
// when a value cannot be written in that style.
func renderEnv(vars map[string]string, style string) (string, bool) {
	keys := make([]string, 0, len(vars))
	for k := range vars {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	for _, k := range keys {
		v := vars[k]
		switch style {
		case "single":
			if strings.Contains(v, "'") {
				return "", false
			}
			fmt.Fprintf(&b, "export %s='%s'\n", k, v)
		case "double":
			fmt.Fprintf(&b, "%s=\"%s\"\n", k, strings.ReplaceAll(strings.ReplaceAll(v, `\`, `\\`), `"`, `\"`))
		case "plain":
			if v != strings.TrimSpace(v) || strings.Contains(v, " #") || strings.HasPrefix(v, "'") || strings.HasPrefix(v, `"`) {
				return "", false
			}
			fmt.Fprintf(&b, "%s=%s\n", k, v)
		}
	}
	return b.String(), true
}
