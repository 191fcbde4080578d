package api

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"syscall"
	"testing"
	"unicode/utf8"

	secrets "github.com/camctl/camctl/internal/redact"
)

func TestExcerpt(t *testing.T) {
	tests := []struct {
		name string
		body string
		max  int
		want string
	}{
		{"empty", "", 160, ""},
		{"plain", "upstream connect error", 160, "upstream connect error"},
		{"whitespace collapsed", "  a\n\n\tb\r\nc  ", 160, "a b c"},
		// Whole escape sequences go, not just their ESC (termsafe).
		{"control characters dropped", "\x1b[31mred\x1b[0m\x00\x07!", 160, "red!"},
		{"invalid UTF-8 dropped", "ok \xff\xfe done", 160, "ok done"},
		{"nginx page", "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n", 160,
			"502 Bad Gateway nginx"},
		{"title not in body is kept first", "<!DOCTYPE html><html><head><title>Sign in</title></head><body><p>Please log in</p></body></html>", 160,
			"Sign in Please log in"},
		{"script and style dropped", "<html><head><style>p{color:red}</style></head><body><script>alert('x')</script><p>Service Unavailable</p></body></html>", 160,
			"Service Unavailable"},
		{"upper-case tags", "<HTML><HEAD><TITLE>Oops</TITLE></HEAD><BODY>Gateway Timeout</BODY></HTML>", 160,
			"Oops Gateway Timeout"},
		{"no truncation at exactly max", strings.Repeat("a", 10), 10, strings.Repeat("a", 10)},
		{"ASCII truncation", strings.Repeat("a", 11), 10, strings.Repeat("a", 10) + "…"},
		// Found by FuzzExcerpt: dropping a control character left a
		// doubled or leading space; bidirectional controls survived.
		{"control character between spaces", "a \x00 b", 160, "a b"},
		// ESC SP h is an escape sequence (ECMA-35: intermediate SP, final
		// h) that a terminal would take as one, so the h goes with it.
		{"control character before a space", "\x1b hello", 160, "ello"},
		{"bidirectional controls dropped", "gnp.\u202eexe\u2066x\u2069", 160, "gnp.exex"},
		{"no space before the ellipsis", "aaaa bbbb", 5, "aaaa…"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Excerpt([]byte(tt.body), tt.max)
			if got != tt.want {
				t.Errorf("Excerpt = %q, want %q", got, tt.want)
			}
			if strings.ContainsAny(got, "<>\n\r\t") {
				t.Errorf("Excerpt %q has tags or line breaks", got)
			}
		})
	}
}

func TestExcerptTruncatesOnRuneBoundary(t *testing.T) {
	tests := []struct {
		name string
		body string
	}{
		{"two-byte runes", strings.Repeat("é", 100)},
		{"three-byte runes", strings.Repeat("€", 100)},
		{"four-byte runes", strings.Repeat("😀", 100)},
		{"mixed", strings.Repeat("aé€😀", 40)},
	}
	for _, tt := range tests {
		for max := 1; max <= 20; max++ {
			t.Run(fmt.Sprintf("%s/%d", tt.name, max), func(t *testing.T) {
				got := Excerpt([]byte(tt.body), max)
				if !utf8.ValidString(got) {
					t.Fatalf("Excerpt(%d) = %q is not valid UTF-8", max, got)
				}
				prefix, ok := strings.CutSuffix(got, "…")
				if !ok {
					t.Fatalf("Excerpt(%d) = %q has no ellipsis", max, got)
				}
				if len(prefix) > max || !strings.HasPrefix(tt.body, prefix) {
					t.Errorf("Excerpt(%d) = %q: prefix of %d bytes is not a prefix of the body within max", max, got, len(prefix))
				}
				if len(prefix) < max-3 {
					t.Errorf("Excerpt(%d) = %q cut more than one rune", max, got)
				}
			})
		}
	}
}

func TestHTTPErrorText(t *testing.T) {
	const u = "https://c.example.com/v2/topology"
	tests := []struct {
		name string
		err  *HTTPError
		want string
	}{
		{"problem with title equal to status text",
			&HTTPError{Method: "GET", URL: u, StatusCode: 401, Problem: &Problem{Title: "Unauthorized", Detail: "expired"}},
			"GET " + u + ": 401 Unauthorized: expired"},
		{"problem with own title",
			&HTTPError{Method: "GET", URL: u, StatusCode: 403, Problem: &Problem{Title: "FORBIDDEN", Detail: "no READ"}},
			"GET " + u + ": 403 Forbidden: FORBIDDEN: no READ"},
		{"problem with title only",
			&HTTPError{Method: "GET", URL: u, StatusCode: 409, Problem: &Problem{Title: "CONFLICT"}},
			"GET " + u + ": 409 Conflict: CONFLICT"},
		{"excerpt with content type",
			&HTTPError{Method: "GET", URL: u, StatusCode: 502, ContentType: "text/html", Excerpt: "502 Bad Gateway nginx"},
			"GET " + u + `: 502 Bad Gateway (text/html body: "502 Bad Gateway nginx")`},
		{"excerpt without content type",
			&HTTPError{Method: "GET", URL: u, StatusCode: 503, Excerpt: "down"},
			"GET " + u + `: 503 Service Unavailable (no content type body: "down")`},
		{"nothing",
			&HTTPError{Method: "GET", URL: u, StatusCode: 504},
			"GET " + u + ": 504 Gateway Timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.err.Error(); got != tt.want {
				t.Errorf("Error() = %q\n want %q", got, tt.want)
			}
		})
	}
}

func TestNewHTTPErrorMediaType(t *testing.T) {
	resp := &http.Response{StatusCode: 401, Header: http.Header{"Content-Type": {"Application/Problem+JSON ; charset=UTF-8"}}}
	e := newHTTPError("GET", "u", resp, []byte(`{"title":"T","detail":"D"}`), nil)
	if e.ContentType != "application/problem+json" || e.Problem == nil || e.Problem.Detail != "D" {
		t.Errorf("HTTPError = %+v", e)
	}
}

// timeoutErr is a net.Error that timed out.
type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

func TestClassify(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want NetKind
	}{
		{"dns", &net.DNSError{Err: "no such host", Name: "nope.invalid", IsNotFound: true}, NetDNS},
		{"refused", &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}, NetRefused},
		{"deadline", fmt.Errorf("wrapped: %w", context.DeadlineExceeded), NetTimeout},
		{"net timeout", &net.OpError{Op: "read", Net: "tcp", Err: timeoutErr{}}, NetTimeout},
		{"unknown authority", &tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}, NetUnknownAuthority},
		{"hostname mismatch", &tls.CertificateVerificationError{Err: x509.HostnameError{Host: "x", Certificate: &x509.Certificate{}}}, NetTLS},
		{"expired", x509.CertificateInvalidError{Reason: x509.Expired, Cert: &x509.Certificate{}}, NetTLS},
		{"not TLS", tls.RecordHeaderError{Msg: "first record does not look like a TLS handshake"}, NetTLS},
		{"tls alert text", errors.New("remote error: tls: handshake failure"), NetTLS},
		{"other", errors.New("EOF"), NetOther},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Classify(tt.err); got != tt.want {
				t.Errorf("Classify(%v) = %d, want %d", tt.err, got, tt.want)
			}
		})
	}
}

func TestNetErrorText(t *testing.T) {
	inner := errors.New("inner")
	tests := []struct {
		kind NetKind
		frag string
	}{
		{NetDNS, "cannot resolve the host name"},
		{NetRefused, "connection refused"},
		{NetTimeout, "timed out"},
		{NetTLS, "TLS handshake failed"},
		{NetUnknownAuthority, "the server's certificate is signed by an unknown authority"},
		{NetOther, "request failed"},
	}
	for _, tt := range tests {
		e := &NetError{Method: "GET", URL: "http://x/v2/topology", Kind: tt.kind, Err: inner}
		want := "GET http://x/v2/topology: " + tt.frag
		// "connection refused" would only repeat itself with the cause.
		wantCause := tt.kind != NetRefused
		if !strings.HasPrefix(e.Error(), want) || strings.HasSuffix(e.Error(), ": inner") != wantCause {
			t.Errorf("kind %d: Error() = %q, want %q...: inner", tt.kind, e.Error(), want)
		}
		if !errors.Is(e, inner) {
			t.Errorf("kind %d: errors.Is(inner) = false", tt.kind)
		}
	}
}

// TestProblemDetailOneBoundedLine: found by FuzzNewHTTPError. A detail
// with line breaks (a stack trace) is one line, and a huge one is cut.
func TestProblemDetailOneBoundedLine(t *testing.T) {
	resp := &http.Response{StatusCode: 500, Header: http.Header{"Content-Type": {"application/problem+json"}}}
	tests := []struct {
		name, body, want string
		maxLen           int
	}{
		{"stack trace", `{"title":"java.lang.NullPointerException","detail":"boom\n\tat io.camunda.X.y(X.java:42)"}`,
			"GET https://h/v2/topology: 500 Internal Server Error: java.lang.NullPointerException: boom at io.camunda.X.y(X.java:42)", 0},
		{"huge detail", `{"title":"x","detail":"` + strings.Repeat("detail ", 1000) + `"}`, "", 1300},
	}
	// Found by FuzzNewHTTPError: the content type came through raw.
	bell := &http.Response{StatusCode: 502, Header: http.Header{"Content-Type": {"text/\aplain\x1b[2J"}}}
	if got, want := newHTTPError("GET", "https://h/v2/topology", bell, []byte("x"), nil).Error(), `GET https://h/v2/topology: 502 Bad Gateway (text/plain body: "x")`; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := newHTTPError("GET", "https://h/v2/topology", resp, []byte(tt.body), nil).Error()
			if tt.want != "" && got != tt.want {
				t.Errorf("Error() = %q, want %q", got, tt.want)
			}
			if tt.maxLen > 0 && (len(got) > tt.maxLen || !strings.HasSuffix(got, "…")) {
				t.Errorf("Error() is %d bytes, want at most %d ending in an ellipsis", len(got), tt.maxLen)
			}
		})
	}
}

// A server that echoes a credential where the excerpt is cut leaves no
// piece of it: secrets go before the cut (and after the filter, so a
// zero-width character in the echo does not hide it).
func TestHTTPErrorRedactsBeforeTheCut(t *testing.T) {
	const secret = "Sup3r-S3cret-pw-0123456789"
	r := secrets.New()
	r.Add(secret)
	hidden := secret[:5] + "\u200b" + secret[5:]
	for _, body := range []string{
		strings.Repeat("x", 150) + " " + secret + " tail",
		strings.Repeat("y", 150) + " " + hidden,
	} {
		resp := &http.Response{StatusCode: 500, Header: http.Header{"Content-Type": {"text/plain"}}}
		msg := newHTTPError("GET", "u", resp, []byte(body), r.Redact).Error()
		if strings.Contains(msg, secret[:6]) || strings.Contains(msg, secret[len(secret)-6:]) {
			t.Errorf("a piece of the secret survives: %q", msg)
		}
		problem := &http.Response{StatusCode: 401, Header: http.Header{"Content-Type": {"application/problem+json"}}}
		msg = newHTTPError("GET", "u", problem, []byte(`{"title":"Unauthorized","detail":"`+strings.Repeat("z", 990)+hidden+`"}`), r.Redact).Error()
		if strings.Contains(msg, secret[:6]) {
			t.Errorf("a piece of the secret survives in the problem detail: %q", msg)
		}
	}
}
