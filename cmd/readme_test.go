package cmd

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/txtar"
	"go.yaml.in/yaml/v3"
)

// The README's commands run in testdata/readme (TestREADME) against local
// fakes. These addresses of the README are on the user's own machine, where
// a test cannot take their ports; the scripts use a fake's address there
// instead. Every other address is used verbatim: fakenet answers for it.
var readmeLocalAddresses = strings.NewReplacer(
	"http://localhost:8088", "$COMPOSE_URL",
	"http://localhost:18080", "$KEYCLOAK_URL",
)

// TestREADMECommandsAreTested requires every camctl command in a code block
// of README.md to be run, word for word, by a script in testdata/readme, so
// a README edit that is not tested fails here.
func TestREADMECommandsAreTested(t *testing.T) {
	readme := readmeText(t)
	tested := map[string]bool{}
	files, err := filepath.Glob(filepath.Join("..", "testdata", "readme", "*.txtar"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no scripts in testdata/readme: %v", err)
	}
	for _, f := range files {
		a, err := txtar.ParseFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, words := range scriptCommands(string(a.Comment)) {
			tested[strings.Join(words, "\x00")] = true
		}
	}
	cmds := readmeCommands(readme)
	if len(cmds) < 40 {
		t.Fatalf("found only %d camctl commands in README.md; is the parser broken?", len(cmds))
	}
	t.Logf("%d camctl commands in README.md", len(cmds))
	for _, c := range cmds {
		words := make([]string, len(c.words))
		for i, w := range c.words {
			words[i] = readmeLocalAddresses.Replace(w)
		}
		if !tested[strings.Join(words, "\x00")] {
			t.Errorf("README.md:%d: %q is not run by any script in testdata/readme", c.line, strings.Join(words, " "))
		}
	}
}

// TestREADMEBlocks checks what the README's readers copy besides commands:
// YAML for CI systems must parse, and links within the page must land on a
// heading.
func TestREADMEBlocks(t *testing.T) {
	readme := readmeText(t)
	for _, blk := range codeBlocks(readme) {
		if blk.lang != "yaml" {
			continue
		}
		var v any
		if err := yaml.Unmarshal([]byte(strings.Join(blk.lines, "\n")), &v); err != nil {
			t.Errorf("README.md:%d: YAML block does not parse: %v", blk.start, err)
		}
	}
	anchors := map[string]bool{}
	for _, line := range strings.Split(readme, "\n") {
		if h, ok := strings.CutPrefix(strings.TrimLeft(line, "#"), " "); ok && strings.HasPrefix(line, "#") {
			anchors[githubAnchor(h)] = true
		}
	}
	for _, m := range regexp.MustCompile(`\]\(#([^)]+)\)`).FindAllStringSubmatch(readme, -1) {
		if !anchors[m[1]] {
			t.Errorf("README.md links to #%s, which is no heading", m[1])
		}
	}
}

// readmeText is README.md, which several tests hold to what camctl does.
func readmeText(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// githubAnchor is the id GitHub gives a heading: lower case, spaces to
// hyphens, punctuation other than - and _ dropped.
func githubAnchor(h string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(h)) {
		switch {
		case r == ' ':
			b.WriteByte('-')
		case r == '-' || r == '_' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			b.WriteRune(r)
		}
	}
	return b.String()
}

type codeBlock struct {
	lang  string
	start int // line number of the first line inside the block
	lines []string
}

func codeBlocks(md string) []codeBlock {
	var blocks []codeBlock
	var cur *codeBlock
	for i, line := range strings.Split(md, "\n") {
		trimmed := strings.TrimSpace(line)
		if !strings.HasPrefix(trimmed, "```") {
			if cur != nil {
				cur.lines = append(cur.lines, line)
			}
			continue
		}
		if cur == nil {
			cur = &codeBlock{lang: strings.TrimPrefix(trimmed, "```"), start: i + 2}
			continue
		}
		blocks = append(blocks, *cur)
		cur = nil
	}
	return blocks
}

type readmeCommand struct {
	line  int
	words []string
}

// readmeCommands returns the camctl commands of README.md's sh, console
// and yaml blocks, as the shell would split them into words: anywhere a
// command can start (after a pipe, inside $(...), after VAR=value).
func readmeCommands(md string) []readmeCommand {
	var out []readmeCommand
	for _, blk := range codeBlocks(md) {
		for i := 0; i < len(blk.lines); i++ {
			line, start := blk.lines[i], blk.start+i
			for strings.HasSuffix(line, `\`) && i+1 < len(blk.lines) {
				i++
				line = strings.TrimSuffix(line, `\`) + " " + strings.TrimSpace(blk.lines[i])
			}
			switch blk.lang {
			case "console":
				var ok bool
				if line, ok = strings.CutPrefix(line, "$ "); !ok {
					continue
				}
			case "yaml":
				line = strings.TrimSpace(line)
				line = strings.TrimPrefix(line, "- ")
				line = strings.TrimPrefix(line, "run: ")
			case "sh":
			default:
				continue
			}
			for _, words := range shellCommands(line) {
				for len(words) > 0 && regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*=`).MatchString(words[0]) {
					words = words[1:]
				}
				if len(words) > 0 && words[0] == "camctl" {
					out = append(out, readmeCommand{line: start, words: words})
				}
			}
		}
	}
	return out
}

// shellCommands splits one line of POSIX shell into its simple commands,
// including those of command substitutions, as lists of words with quotes
// removed. Redirections and comments are dropped. It knows enough shell for
// a README, not all of it.
func shellCommands(line string) [][]string {
	var cmds [][]string
	var words []string
	var word strings.Builder
	inWord, redirect := false, false
	endWord := func() {
		if inWord {
			if !redirect {
				words = append(words, word.String())
			}
			redirect = false
		}
		word.Reset()
		inWord = false
	}
	endCmd := func() {
		endWord()
		if len(words) > 0 {
			cmds = append(cmds, words)
		}
		words = nil
	}
	// substitution reads $( ... ) or <( ... ) starting at i and returns the
	// index after its closing parenthesis.
	substitution := func(i int) int {
		depth, j := 0, i+1
		for ; j < len(line); j++ {
			switch line[j] {
			case '(':
				depth++
			case ')':
				depth--
				if depth == 0 {
					cmds = append(cmds, shellCommands(line[i+2:j])...)
					word.WriteString("$(...)")
					inWord = true
					return j + 1
				}
			case '\'':
				if k := strings.IndexByte(line[j+1:], '\''); k >= 0 {
					j += k + 1
				}
			}
		}
		return j
	}
	for i := 0; i < len(line); {
		c := line[i]
		switch {
		case c == '\'':
			end := strings.IndexByte(line[i+1:], '\'')
			if end < 0 {
				end = len(line) - i - 1
			}
			word.WriteString(line[i+1 : i+1+end])
			inWord = true
			i += end + 2
		case c == '"':
			inWord = true
			i++
			for i < len(line) && line[i] != '"' {
				switch {
				case line[i] == '\\' && i+1 < len(line):
					word.WriteByte(line[i+1])
					i += 2
				case strings.HasPrefix(line[i:], "$("):
					i = substitution(i)
				default:
					word.WriteByte(line[i])
					i++
				}
			}
			i++
		case strings.HasPrefix(line[i:], "$("), strings.HasPrefix(line[i:], "<("):
			i = substitution(i)
		case c == '\\' && i+1 < len(line):
			word.WriteByte(line[i+1])
			inWord = true
			i += 2
		case c == ' ' || c == '\t':
			endWord()
			i++
		case c == '#' && !inWord:
			endCmd()
			return cmds
		case c == '|' || c == ';' || c == '&':
			endCmd()
			i++
		case c == '>' || c == '<':
			// A redirection: the operator and its target are no words of
			// the command (2> too: drop the fd digit already read).
			if inWord && word.String() == "2" {
				word.Reset()
				inWord = false
			}
			endWord()
			redirect, inWord = true, false
			for i < len(line) && (line[i] == '>' || line[i] == '<') {
				i++
			}
			for i < len(line) && line[i] == ' ' {
				i++
			}
		default:
			word.WriteByte(c)
			inWord = true
			i++
		}
	}
	endCmd()
	return cmds
}

// scriptCommands returns the camctl invocations of a testscript script
// (exec camctl ..., ! exec camctl ..., exits N camctl ...), split into
// words by testscript's rules: single quotes only, ” for a quote inside.
func scriptCommands(script string) [][]string {
	var out [][]string
	for _, line := range strings.Split(script, "\n") {
		words := scriptWords(line)
		for len(words) > 0 && (words[0] == "!" || words[0] == "?" || strings.HasPrefix(words[0], "[")) {
			words = words[1:]
		}
		switch {
		case len(words) > 1 && words[0] == "exec":
			words = words[1:]
		case len(words) > 2 && words[0] == "exits":
			words = words[2:]
		default:
			continue
		}
		if n := len(words); words[n-1] == "&" {
			words = words[:n-1] // run in the background: the same command
		}
		if words[0] == "camctl" {
			out = append(out, words)
		}
	}
	return out
}

func scriptWords(line string) []string {
	var words []string
	var w strings.Builder
	inWord, quoted := false, false
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case quoted && c == '\'' && i+1 < len(line) && line[i+1] == '\'':
			w.WriteByte('\'')
			i++
		case c == '\'':
			quoted, inWord = !quoted, true
		case !quoted && c == '#' && !inWord:
			return words
		case !quoted && (c == ' ' || c == '\t'):
			if inWord {
				words = append(words, w.String())
			}
			w.Reset()
			inWord = false
		default:
			w.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		words = append(words, w.String())
	}
	return words
}

func TestShellCommands(t *testing.T) {
	tests := []struct {
		line string
		want [][]string
	}{
		{`camctl topology`, [][]string{{"camctl", "topology"}}},
		{`camctl -p x topology   # a comment`, [][]string{{"camctl", "-p", "x", "topology"}}},
		{`printf '%s\n' "$PASSWORD" | camctl login -p helm --password-stdin`,
			[][]string{{"printf", `%s\n`, "$PASSWORD"}, {"camctl", "login", "-p", "helm", "--password-stdin"}}},
		{`curl -H "Authorization: Bearer $(camctl -p saas token)" "https://h/$ID/v2"`,
			[][]string{{"camctl", "-p", "saas", "token"}, {"curl", "-H", "Authorization: Bearer $(...)", "https://h/$ID/v2"}}},
		{`camctl topology -o json > topology.json`, [][]string{{"camctl", "topology", "-o", "json"}}},
		{`camctl completion zsh > "${fpath[1]}/_camctl"`, [][]string{{"camctl", "completion", "zsh"}}},
		{`CAMUNDA_BASIC_AUTH_PASSWORD=... camctl login -p helm`, [][]string{{"CAMUNDA_BASIC_AUTH_PASSWORD=...", "camctl", "login", "-p", "helm"}}},
		{`camctl login --scope "$API/.default" --client-cert "" && echo ok`,
			[][]string{{"camctl", "login", "--scope", "$API/.default", "--client-cert", ""}, {"echo", "ok"}}},
		{`camctl x 2>/dev/null`, [][]string{{"camctl", "x"}}},
		{`source <(camctl completion bash)          # in ~/.bashrc`, [][]string{{"camctl", "completion", "bash"}, {"source", "$(...)"}}},
	}
	for _, tt := range tests {
		if got := shellCommands(tt.line); !slices.EqualFunc(got, tt.want, slices.Equal) {
			t.Errorf("shellCommands(%q)\n got %q\nwant %q", tt.line, got, tt.want)
		}
	}
}

func TestScriptCommands(t *testing.T) {
	got := scriptCommands(`# comment
exec camctl topology
! exec camctl login -p 'a b' --scope ''
exits 3 camctl token
env X=1
exec sh -c 'camctl no'
`)
	want := [][]string{{"camctl", "topology"}, {"camctl", "login", "-p", "a b", "--scope", ""}, {"camctl", "token"}}
	if !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("got %q, want %q", got, want)
	}
}
