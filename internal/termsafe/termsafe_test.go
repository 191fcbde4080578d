package termsafe

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestText(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"plain", "gateway 8.8.0", "gateway 8.8.0"},
		{"lines and tabs kept", "a\n\tb", "a\n\tb"},
		{"non-ASCII kept", "Grüße, 東京 ✓", "Grüße, 東京 ✓"},
		{"SGR as a whole", "\x1b[31mred\x1b[0m", "red"},
		{"CSI with intermediates", "a\x1b[1 qb", "ab"},
		{"CSI private parameters", "a\x1b[?1049hb", "ab"},
		{"cursor movement", "x\x1b[2J\x1b[Hy", "xy"},
		{"OSC title, BEL", "\x1b]0;pwned\x07ok", "ok"},
		{"OSC 8 hyperlink, ST", "\x1b]8;;http://evil\x1b\\link\x1b]8;;\x1b\\", "link"},
		{"OSC 52 clipboard", "\x1b]52;c;ZWNobyBwd25lZA==\x07ok", "ok"},
		{"DCS", "a\x1bPq#0;2;0;0;0\x1b\\b", "ab"},
		{"unterminated OSC ends at the line", "\x1b]0;title\nnext", "\nnext"},
		{"OSC ended by another ESC", "\x1b]0;x\x1b[31mred", "red"},
		{"two-byte ESC", "a\x1bcb", "ab"},
		{"nF escape", "a\x1b(Bb", "ab"},
		{"lone ESC at the end", "a\x1b", "a"},
		{"C0", "a\x00b\x07c\x08d\rx", "abcdx"},
		{"DEL", "a\x7fb", "ab"},
		{"C1 CSI U+009B", "a\u009b31mb", "ab"},
		{"C1 OSC U+009D", "a\u009d0;t\u009cb", "ab"},
		{"C1 NEL", "a\u0085b", "ab"},
		{"raw C1 byte (invalid UTF-8)", "a\x9b31mb", "a31mb"},
		{"RLO", "file\u202Etxt.exe", "filetxt.exe"},
		{"bidi isolates", "a\u2066b\u2069c", "abc"},
		{"LRM RLM ALM", "a\u200eb\u200fc\u061cd", "abcd"},
		{"zero-width", "pa\u200bss\u200cw\u200dor\u2060d\ufeff", "password"},
		{"soft hyphen", "se\u00adcret", "secret"},
		{"line separator", "a\u2028b\u2029c", "abc"},
		{"tag characters", "a\U000E0041b", "ab"},
		{"invalid UTF-8", "ok \xff\xfe done", "ok  done"},
		{"U+FFFD itself is text", "a\ufffdb", "a\ufffdb"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Text(tt.in); got != tt.want {
				t.Errorf("Text(%q) = %q, want %q", tt.in, got, tt.want)
			}
			if !Safe(Text(tt.in)) {
				t.Errorf("Text(%q) is not Safe", tt.in)
			}
		})
	}
}

func TestLine(t *testing.T) {
	if got, want := Line("zeebe-0\n\tEVIL\x1b[2J"), "zeebe-0  EVIL"; got != want {
		t.Errorf("Line = %q, want %q", got, want)
	}
}

func TestJSON(t *testing.T) {
	tests := []struct{ in, want string }{
		{`{"a":"b"}`, `{"a":"b"}`},
		{"{\n\t\"a\": \"b\"\n}", "{\n\t\"a\": \"b\"\n}"},
		{`{"v":"8.8` + "\u202e" + `"}`, `{"v":"8.8\u202e"}`},
		{`{"v":"` + "\u009b" + `31m"}`, `{"v":"\u009b31m"}`},
		{`{"v":"` + "\u00ad\u200b" + `"}`, `{"v":"\u00ad\u200b"}`},
		{`{"v":"` + "\U000E0041" + `"}`, `{"v":"\udb40\udc41"}`},
		{"{\"v\":\"\xff\"}", `{"v":"\ufffd"}`},
	}
	for _, tt := range tests {
		if got := string(JSON([]byte(tt.in))); got != tt.want {
			t.Errorf("JSON(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// forbiddenIn returns the first character of s that must not reach a
// terminal, checked independently of Text's own scanner.
func forbiddenIn(s string) (rune, bool) {
	for i, r := range s {
		if r == utf8.RuneError {
			if _, size := utf8.DecodeRuneInString(s[i:]); size <= 1 {
				return r, true
			}
		}
		if Forbidden(r) {
			return r, true
		}
	}
	return 0, false
}

func FuzzSafeText(f *testing.F) {
	for _, s := range []string{
		"", "plain text", "a\n\tb", "\x1b[31mred\x1b[0m", "\x1b]0;t\x07", "\x1b]8;;u\x1b\\l", "\x1bPq\x1b\\",
		"\u009b31m", "\u009d0;t\u009c", "\u202e\u2066\u200b\u00ad\ufeff", "\xff\xfe", "\x1b", "\x1b[", "\x1b]",
		"Grüße 東京", "se\u00adcr\u200bet",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := Text(s)
		if r, bad := forbiddenIn(got); bad {
			t.Fatalf("Text(%q) = %q keeps %U", s, got, r)
		}
		if strings.ContainsRune(got, 0x1b) {
			t.Fatalf("Text(%q) = %q keeps an ESC", s, got)
		}
		if again := Text(got); again != got {
			t.Fatalf("not idempotent: Text(%q) = %q, Text of that = %q", s, got, again)
		}
		if _, bad := forbiddenIn(s); !bad && got != s {
			t.Fatalf("Text changed safe text %q to %q", s, got)
		}
		if Safe(s) != (got == s) {
			t.Fatalf("Safe(%q) = %v, but Text gives %q", s, Safe(s), got)
		}
		if l := Line(s); strings.ContainsAny(l, "\n\t") {
			t.Fatalf("Line(%q) = %q has a line break or tab", s, l)
		}
		if j := JSON([]byte(s)); func() bool { _, bad := forbiddenIn(string(j)); return bad }() {
			t.Fatalf("JSON(%q) = %q keeps a forbidden character", s, j)
		}
	})
}

// A typical topology render: the filter's cost on warm `topology`.
func BenchmarkTextTopology(b *testing.B) {
	var sb strings.Builder
	sb.WriteString("Address:            https://camunda.example.com/v2\nProfile:            prod\nGateway version:    8.8.0\n")
	sb.WriteString("Cluster size:       3\nPartitions:         3\nReplication factor: 3\nHealth:             OK: all 3 partitions have a healthy leader\n\n")
	sb.WriteString("BROKER  ADDRESS                                           VERSION  PARTITIONS\n")
	for i := range 3 {
		sb.WriteString("" + string(rune('0'+i)) + "       camunda-zeebe-0.camunda-zeebe.camunda.svc:26501  8.8.0    1 leader, 2 follower, 3 follower\n")
	}
	s := sb.String()
	b.SetBytes(int64(len(s)))
	for b.Loop() {
		_ = Text(s)
	}
}
