package cmd

import (
	"bufio"
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/txtar"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/camctl/camctl/internal/config"
)

// secretish matches flag names that suggest a secret value.
var secretish = regexp.MustCompile(`(?i)pass|secret|token|key|cred|pwd|auth|bearer|cert`)

// notSecretFlags are flags whose names match secretish but whose value is
// not a secret, with the reason. Bool flags (--password-stdin and the
// like) need no entry: they take no value.
var notSecretFlags = map[string]string{
	"auth":        "the auth method name: none, basic, oidc or bearer",
	"token-url":   "the token endpoint; a URL with credentials in it is refused",
	"client-key":  "the path of the PEM key file, not the key",
	"client-cert": "the path of the PEM certificate",
	"keystore":    "the path of the PKCS#12 file; its password is a secret with no flag",
	// §11: paths, names and choices; the key passwords have no flag.
	"client-assertion-key":       "the path of the PEM key that signs assertions, not the key",
	"client-assertion-cert":      "the path of its certificate",
	"client-assertion-keystore":  "the path of the PKCS#12 file; its password is a secret with no flag",
	"client-assertion-key-alias": "the alias of the key in the keystore",
	"client-assertion-file":      "the path of the file the CI platform writes the token to",
	"client-assertion-env":       "the name of the variable holding the token, not the token",
	"client-assertion-from":      "the CI platform: github-actions",
	"assertion-alg":              "the signature algorithm",
	"assertion-audience":         "the aud claim of the assertion",
}

// allCommands returns cmd and every command below it, hidden ones too.
func allCommands(cmd *cobra.Command) []*cobra.Command {
	out := []*cobra.Command{cmd}
	for _, c := range cmd.Commands() {
		out = append(out, allCommands(c)...)
	}
	return out
}

// No flag anywhere in the command tree takes a secret as its value: argv
// is visible to every user of the machine (ps, /proc) and lands in shell
// history and CI logs (spec §5).
func TestNoFlagTakesASecret(t *testing.T) {
	f, _, _, _ := testFactory(t, nil)
	root := NewCmdRoot(f)
	root.InitDefaultCompletionCmd()
	root.InitDefaultHelpCmd()
	checked := 0
	for _, c := range allCommands(root) {
		visit := func(fl *pflag.Flag) {
			if !secretish.MatchString(fl.Name) {
				return
			}
			checked++
			if fl.Value.Type() == "bool" {
				return
			}
			if _, ok := notSecretFlags[fl.Name]; !ok {
				t.Errorf("%s --%s (%s) looks like it takes a secret value; secrets come from stdin, the environment or the keyring", c.CommandPath(), fl.Name, fl.Value.Type())
			}
		}
		c.LocalFlags().VisitAll(visit)
		c.InheritedFlags().VisitAll(visit)
	}
	if checked == 0 {
		t.Fatal("no flag matched; the walk found nothing to check")
	}
}

// Secret flags that users might guess are unknown flags (exit 2), and the
// value given is not echoed back in the error.
func TestSecretFlagsRejected(t *testing.T) {
	var guesses []string
	for _, fld := range config.Fields {
		if fld.Secret {
			// auth.client-secret → client-secret, tls.key-passphrase → key-passphrase
			_, name, _ := strings.Cut(string(fld.Key), ".")
			guesses = append(guesses, name)
		}
	}
	guesses = append(guesses, "password", "secret", "token", "passphrase", "client-secret", "keystore-password", "api-token")
	slices.Sort(guesses)
	guesses = slices.Compact(guesses)
	const value = "Fl4g-S3cret-value"
	for _, base := range [][]string{{"login"}, {"profile", "add", "p"}, {"profile", "set", "p"}, {"topology"}, {"token"}} {
		for _, g := range guesses {
			args := append(slices.Clone(base), "--"+g, value)
			t.Run(strings.Join(args[:len(args)-1], " "), func(t *testing.T) {
				f, _, out, errOut := testFactory(t, nil)
				if code := run(t, f, args...); code != ExitUsage {
					t.Fatalf("exit %d, want %d; stderr:\n%s", code, ExitUsage, errOut)
				}
				if !strings.Contains(errOut.String(), "unknown flag: --"+g) {
					t.Errorf("stderr does not reject --%s:\n%s", g, errOut)
				}
				if strings.Contains(errOut.String()+out.String(), value) {
					t.Errorf("the value of --%s is echoed back", g)
				}
			})
		}
	}
}

// testSecretPattern catches the fixed test secrets of the scripts and
// unit tests (Sup3r-S3cret-pw, Cl1ent-S3cret-ci, hunter2, s3cret, ...).
var testSecretPattern = regexp.MustCompile(`(?i)s3cret|hunter2|cl1ent|passw0rd`)

// secretEnv are the variables that carry secrets (config.Fields).
func secretEnv() map[string]bool {
	m := map[string]bool{}
	for _, fld := range config.Fields {
		if fld.Secret {
			for _, e := range fld.Env {
				m[e] = true
			}
		}
	}
	return m
}

// scriptSecrets returns the secrets a script hands to camctl: values of
// secret variables set with `env`, and the content of files fed to a
// --*-stdin flag.
func scriptSecrets(ar *txtar.Archive) []string {
	files := map[string]string{}
	for _, f := range ar.Files {
		files[f.Name] = strings.TrimSpace(string(f.Data))
	}
	senv := secretEnv()
	var out []string
	stdin := ""
	sc := bufio.NewScanner(bytes.NewReader(ar.Comment))
	for sc.Scan() {
		words := strings.Fields(sc.Text())
		if len(words) == 0 {
			continue
		}
		switch {
		case words[0] == "env":
			for _, kv := range words[1:] {
				if k, v, ok := strings.Cut(kv, "="); ok && senv[k] && len(v) >= 6 {
					out = append(out, v)
				}
			}
		case words[0] == "stdin" && len(words) == 2:
			stdin = words[1]
		case strings.Contains(sc.Text(), "-stdin") && stdin != "":
			if v := files[stdin]; len(v) >= 6 {
				out = append(out, v)
			}
		}
	}
	return out
}

// camctlCommand reports whether a script line runs camctl.
func camctlCommand(words []string) (isCmd, isCamctl bool) {
	for len(words) > 0 && (strings.HasPrefix(words[0], "[") || words[0] == "!" || words[0] == "?") {
		words = words[1:]
	}
	if len(words) < 2 {
		return false, false
	}
	switch words[0] {
	case "exec":
		words = words[1:]
	case "exits":
		words = words[2:]
	default:
		return false, false
	}
	if len(words) == 0 {
		return true, false
	}
	switch words[0] {
	case "camctl":
		return true, true
	case "sh", "bash":
		// exec sh -c 'for ...; do camctl ...; done'
		return true, strings.Contains(strings.Join(words[1:], " "), "camctl ")
	}
	// Another program, e.g. `secret-tool lookup service camctl ...`.
	return true, false
}

// No expected output anywhere in the tests contains a test secret: the
// golden files, and the positive stdout/stderr/cmp assertions of every
// script that follow a camctl command. (Assertions after other programs,
// such as `secret-tool lookup` reading the keyring, may show secrets;
// `camctl token` prints tokens, which are made up at run time and never
// in a script.) If a golden file or expectation holds a secret, camctl
// printed it.
func TestNoSecretsInExpectedOutput(t *testing.T) {
	root := filepath.Join("..", "testdata")
	scripts, goldens := 0, 0
	derived := map[string]bool{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if d.Name() == "node_modules" {
				return filepath.SkipDir
			}
			return nil
		}
		rel, _ := filepath.Rel(root, path)
		switch {
		case strings.HasPrefix(rel, "golden"+string(filepath.Separator)):
			goldens++
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			if m := testSecretPattern.Find(b); m != nil {
				t.Errorf("%s contains the test secret %q", rel, m)
			}
		case strings.HasSuffix(path, ".txtar"):
			scripts++
			ar, err := txtar.ParseFile(path)
			if err != nil {
				return err
			}
			secrets := scriptSecrets(ar)
			for _, s := range secrets {
				derived[s] = true
			}
			checkScript(t, rel, ar, secrets)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if scripts < 10 || goldens < 5 {
		t.Fatalf("found %d scripts and %d golden files; is testdata where it was?", scripts, goldens)
	}
	// The scan must see the secrets the scripts really use.
	for _, want := range []string{"Sup3r-S3cret-pw", "Cl1ent-S3cret-ci", "Env-Sup3r-S3cret"} {
		if !derived[want] {
			t.Errorf("the script scan did not find the test secret %q", want)
		}
	}
}

func checkScript(t *testing.T, name string, ar *txtar.Archive, secrets []string) {
	t.Helper()
	leaks := func(s string) string {
		for _, sec := range secrets {
			if strings.Contains(s, sec) {
				return sec
			}
		}
		return testSecretPattern.FindString(s)
	}
	files := map[string][]byte{}
	for _, f := range ar.Files {
		files[f.Name] = f.Data
	}
	lastIsCamctl := false
	sc := bufio.NewScanner(bytes.NewReader(ar.Comment))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		words := strings.Fields(line)
		if len(words) == 0 || strings.HasPrefix(line, "#") {
			continue
		}
		if isCmd, isCamctl := camctlCommand(words); isCmd {
			lastIsCamctl = isCamctl
			continue
		}
		if !lastIsCamctl {
			continue
		}
		switch {
		case words[0] == "stdout" || words[0] == "stderr":
			if s := leaks(strings.Join(words[1:], " ")); s != "" {
				t.Errorf("%s:%d expects camctl to print the secret %q: %s", name, n, s, line)
			}
		case words[0] == "cmp" && len(words) == 3 && (words[1] == "stdout" || words[1] == "stderr"):
			if s := leaks(string(files[words[2]])); s != "" {
				t.Errorf("%s:%d compares camctl's %s with %s, which holds the secret %q", name, n, words[1], words[2], s)
			}
		}
	}
}
