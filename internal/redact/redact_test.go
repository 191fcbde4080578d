package redact

import (
	"bytes"
	"strings"
	"sync"
	"testing"

	"github.com/camctl/camctl/internal/termsafe"
)

func TestRedact(t *testing.T) {
	r := New()
	r.Add("Sup3r-S3cret-pw")
	r.AddBasic("demo", "pw")
	r.Add("x") // a one-character secret
	r.Add("p&ss=w+rd %/é")
	tests := []struct{ name, in, want string }{
		{"raw", "password Sup3r-S3cret-pw rejected", "password [redacted] rejected"},
		{"twice", "Sup3r-S3cret-pwSup3r-S3cret-pw", "[redacted][redacted]"},
		{"Basic header of the composite", "Authorization: Basic ZGVtbzpwdw==", "Authorization: Basic [redacted]"},
		{"Base64 of the secret", "U3VwM3ItUzNjcmV0LXB3", "[redacted]"},
		{"inside a longer Base64 text", "Basic YWRtaW46U3VwM3ItUzNjcmV0LXB3", "Basic YWRtaW46[redacted]"},
		{"query-escaped", "client_secret=p%26ss%3Dw%2Brd+%25%2F%C3%A9&y=1", "client_secret=[redacted]&y=1"},
		{"query-escaped, lower hex", "client_secret=p%26ss%3dw%2brd+%25%2f%c3%a9&y=1", "client_secret=[redacted]&y=1"},
		{"encodeURIComponent style", "secret=p%26ss%3Dw%2Brd%20%25%2F%C3%A9", "secret=[redacted]"},
		{"Python quote style, '/' kept", "secret=p%26ss%3Dw%2Brd%20%25/%C3%A9", "secret=[redacted]"},
		{"Basic header percent-encoded", "Location: /x?a=Basic%20ZGVtbzpwdw%3D%3D", "Location: /x?a=Basic%20[redacted]"},
		{"HTML-escaped", "<p>p&amp;ss=w+rd %/é</p>", "<p>[redacted]</p>"},
		{"JSON-escaped", `{"secret":"p\u0026ss=w+rd %/é"}`, `{"secret":"[redacted]"}`},
		{"JSON with \\/ and \\u", `{"secret":"p&ss=w+rd %\/\u00e9"}`, `{"secret":"[redacted]"}`},
		{"short secret as a whole value", `password "x" is wrong: x`, `password "[redacted]" is wrong: [redacted]`},
		{"short secret inside words stays", "expired max exit", "expired max exit"},
		{"short password as a field value", "user=demo&password=pw; rejected", "user=demo&password=[redacted]; rejected"},
		{"short password after a colon", "password: pw", "password: [redacted]"},
		{"short composite in an address", "http://demo:pw@host rejected", "http://[redacted]@host rejected"},
		// A password that is an ordinary word must not mark every such
		// word of a message: the markers would give it away.
		{"short secret as a word of prose stays", "user demo, password pw rejected", "user demo, password pw rejected"},
		{"short secret starting a message stays", "x: profile h: x y", "x: profile h: [redacted] y"},
		// The bug this replaces: "[red[red[redacted]cted]cted]".
		{"marker never rewritten", `[redacted] "x"`, `[redacted] "[redacted]"`},
		{"nothing to do", "gateway 8.8.0, 3 brokers", "gateway 8.8.0, 3 brokers"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := r.Redact(tt.in)
			if got != tt.want {
				t.Errorf("Redact(%q) = %q, want %q", tt.in, got, tt.want)
			}
			if again := r.Redact(got); again != got {
				t.Errorf("not idempotent: %q, then %q", got, again)
			}
		})
	}
}

// A secret that is part of the marker, or that overlaps another secret,
// leaves neither a piece of itself nor a rewritten marker behind.
func TestRedactOverlaps(t *testing.T) {
	r := New()
	r.Add("redacted")
	r.Add("abcdefgh12")
	r.Add("12345678ij")
	for _, in := range []string{"redacted [redacted]", "abcdefgh12345678ij", "d]xyzxyzabcdefgh12"} {
		got := r.Redact(in)
		for _, s := range []string{"abcdefgh12", "12345678ij"} {
			if strings.Contains(got, s) {
				t.Errorf("Redact(%q) = %q keeps %q", in, got, s)
			}
		}
		if r.Redact(got) != got {
			t.Errorf("Redact(%q) = %q is not a fixed point", in, got)
		}
	}
}

// demo/demo: the password is the username, which is no secret.
func TestAddBasicPasswordIsUsername(t *testing.T) {
	r := New()
	r.Add("demo") // as the secret store hands it out
	r.AddBasic("demo", "demo")
	for in, want := range map[string]string{
		"Logged in as demo (basic auth)":    "Logged in as demo (basic auth)",
		"Authorization: Basic ZGVtbzpkZW1v": "Authorization: Basic [redacted]",
	} {
		if got := r.Redact(in); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestNilRedactor(t *testing.T) {
	var r *Redactor
	r.Add("secret")
	if got := r.Redact("secret"); got != "secret" {
		t.Errorf("nil Redactor changed the text: %q", got)
	}
}

// The writer filters before it redacts: a zero-width character or a
// soft hyphen inside a secret does not hide it.
func TestWriterFiltersThenRedacts(t *testing.T) {
	r := New()
	r.Add("hunter2hunter2")
	var buf bytes.Buffer
	w := NewWriter(&buf, r)
	for _, in := range []string{"x hunter2\u200bhunter2 y\n", "x hun\u00adter2hunter2 y\n", "x \x1b[31mhunter2hunter2\x1b[0m y\n"} {
		buf.Reset()
		n, err := w.Write([]byte(in))
		if err != nil || n != len(in) {
			t.Fatalf("Write = %d, %v", n, err)
		}
		if got := buf.String(); got != "x [redacted] y\n" {
			t.Errorf("Write(%q) wrote %q", in, got)
		}
	}
}

func TestWriterKeep(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf, New())
	w.Keep([]string{"\x1b[32m", "\x1b[0m"})
	w.Write([]byte("\x1b[32mOK\x1b[0m \x1b[31mno\x1b]0;t\x07"))
	if got, want := buf.String(), "\x1b[32mOK\x1b[0m no"; got != want {
		t.Errorf("wrote %q, want %q", got, want)
	}
}

func TestConcurrent(t *testing.T) {
	r := New()
	var buf bytes.Buffer
	w := NewWriter(&buf, r)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			r.Add(strings.Repeat(string(rune('a'+i)), 10))
			w.Write([]byte("line\n"))
		})
	}
	wg.Wait()
	if got := strings.Count(buf.String(), "line\n"); got != 8 {
		t.Errorf("%d whole lines, want 8", got)
	}
}

func FuzzRedact(f *testing.F) {
	f.Add("password Sup3r-S3cret-pw rejected", "Sup3r-S3cret-pw", "x")
	f.Add("Authorization: Basic ZGVtbzpwdw==", "demo:pw", "pw")
	f.Add("[redacted] redacted", "redacted", "[red")
	f.Add("a\u200bb", "abcdefgh", "a")
	f.Add(`{"s":"p\u0026ss"}`, "p&ss=w+rd %", "")
	f.Fuzz(func(t *testing.T, text, secret, short string) {
		r := New()
		r.Add(secret)
		r.Add(short)
		got := r.Redact(text)
		if again := r.Redact(got); again != got {
			t.Fatalf("not idempotent: Redact(%q) = %q, then %q", text, got, again)
		}
		if leaked := leak(got, secret); leaked != "" {
			t.Fatalf("Redact(%q) = %q keeps the form %q of %q", text, got, leaked, secret)
		}
		clean := true
		for _, s := range []string{secret, short} {
			for _, form := range Forms(s) {
				if strings.Contains(text, form) {
					clean = false
				}
			}
		}
		if clean && !strings.Contains(text, Marker) && got != text {
			t.Fatalf("Redact changed text without secrets: %q to %q", text, got)
		}
		// Through the writer: nothing forbidden, no secret.
		var buf bytes.Buffer
		NewWriter(&buf, r).Write([]byte(text))
		out := buf.String()
		if !termsafe.Safe(out) {
			t.Fatalf("the writer wrote unsafe %q for %q", out, text)
		}
		if leaked := leak(out, secret); leaked != "" {
			t.Fatalf("the writer wrote %q for %q, with the form %q of %q", out, text, leaked, secret)
		}
	})
}

// leak returns a form of secret (8+ characters) that s holds outside its
// markers: a secret that is part of the marker is no leak.
func leak(s, secret string) string {
	if len(secret) < MinLen {
		return ""
	}
	for _, piece := range strings.Split(s, Marker) {
		for _, form := range Forms(secret) {
			if len(form) >= MinLen && strings.Contains(piece, form) {
				return form
			}
		}
	}
	return ""
}

// The writer on a typical stderr message and a topology render, with
// the secrets of an oidc run registered (client secret and token).
func BenchmarkWriter(b *testing.B) {
	r := New()
	r.Add("Cl1ent-S3cret-ci-0123456789")
	r.Add("eyJhbGciOiJSUzI1NiJ9." + strings.Repeat("eyJzdWIiOiJjYW1jdGwifQ", 40) + ".c2lnbmF0dXJl")
	var sb strings.Builder
	sb.WriteString("Address:            https://camunda.example.com/v2\nProfile:            prod\nGateway version:    8.8.0\n")
	sb.WriteString("Cluster size:       3\nPartitions:         3\nReplication factor: 3\nHealth:             OK: all 3 partitions have a healthy leader\n\n")
	sb.WriteString("BROKER  ADDRESS                                           VERSION  PARTITIONS\n")
	for i := range 3 {
		sb.WriteString(string(rune('0'+i)) + "       camunda-zeebe-0.camunda-zeebe.camunda.svc:26501  8.8.0    1 leader, 2 follower, 3 follower\n")
	}
	msg := []byte(sb.String())
	w := NewWriter(&bytes.Buffer{}, r)
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		w.w.(*bytes.Buffer).Reset()
		w.Write(msg)
	}
}
