package api

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"regexp"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/camctl/camctl/internal/termsafe"
)

// Problem is an RFC 9457 problem detail, the error body of the Camunda
// REST API. Unknown members are ignored.
type Problem struct {
	Type     string `json:"type"`
	Title    string `json:"title"`
	Status   int    `json:"status"`
	Detail   string `json:"detail"`
	Instance string `json:"instance"`
}

// HTTPError is an answer with a status code of 400 or more.
type HTTPError struct {
	Method      string
	URL         string
	StatusCode  int
	ContentType string
	// Problem is set when the body was a problem detail.
	Problem *Problem
	// Excerpt is a short, single-line excerpt of any other body, such as
	// an ingress's HTML error page.
	Excerpt string
	// Response is the answer itself, for `camctl api --include` (set by
	// Client.Do only).
	Response *ErrorResponse
}

func (e *HTTPError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s: %d %s", e.Method, e.URL, e.StatusCode, http.StatusText(e.StatusCode))
	switch {
	case e.Problem != nil:
		// One line each, and bounded: a server may put a stack trace in
		// the detail.
		if t := oneLine(e.Problem.Title, 200); t != "" && t != http.StatusText(e.StatusCode) {
			fmt.Fprintf(&b, ": %s", t)
		}
		if d := oneLine(e.Problem.Detail, 1000); d != "" {
			fmt.Fprintf(&b, ": %s", d)
		}
	case e.Excerpt != "":
		ct := e.ContentType
		if ct == "" {
			ct = "no content type"
		}
		fmt.Fprintf(&b, " (%s body: %q)", ct, e.Excerpt)
	}
	return b.String()
}

// newHTTPError builds the error for a non-2xx answer from its body.
// redact (nil: none) takes the run's secrets out of the server's text
// before it is shortened: a server that echoes a credential could
// otherwise place it where the cut leaves a piece of it, which no
// redactor at print time would recognise.
func newHTTPError(method, url string, resp *http.Response, body []byte, redact func(string) string) *HTTPError {
	e := &HTTPError{Method: method, URL: url, StatusCode: resp.StatusCode, ContentType: mediaType(resp.Header.Get("Content-Type"))}
	if strings.Contains(e.ContentType, "json") {
		var p Problem
		if err := json.Unmarshal(body, &p); err == nil && (p.Title != "" || p.Detail != "") {
			p.Title, p.Detail = redactText(p.Title, redact), redactText(p.Detail, redact)
			e.Problem = &p
			return e
		}
	}
	e.Excerpt = RedactedExcerpt(body, 160, redact)
	return e
}

// redactText is s terminal-safe, then redacted: the order of the
// stderr writer, so a zero-width character cannot hide a secret.
func redactText(s string, redact func(string) string) string {
	s = termsafe.Text(s)
	if redact != nil {
		// The server's text is a value of its own: a short secret that
		// is all of it (a body of just "000000") is redacted as one,
		// though a message that starts with a word is not (found by
		// FuzzTokenResponse).
		s = strings.TrimPrefix(redact("\n"+s), "\n")
	}
	return s
}

// mediaType is the Content-Type without parameters. Errors print it, so
// it is made printable and short: it comes from the server.
func mediaType(ct string) string {
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	return oneLine(strings.ToLower(ct), 80)
}

// Compiled on first use: only error paths need them, and every
// camctl run would pay for compiling them at start-up.
var (
	htmlTitleRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`(?is)<title[^>]*>(.*?)</title>`) })
	htmlDropRE  = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`(?is)<(script|style|head)[^>]*>.*?</(script|style|head)>`)
	})
	htmlTagRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`(?s)<[^>]*>`) })
	spaceRE   = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`\s+`) })
)

// Excerpt returns a one-line, printable excerpt of at most max bytes of a
// body. For HTML it prefers the page title and visible text, which is what
// a user needs to recognise an ingress or proxy page.
func Excerpt(body []byte, max int) string { return RedactedExcerpt(body, max, nil) }

// RedactedExcerpt is Excerpt with the secrets that redact (nil: none)
// knows taken out after the filter and before the cut.
func RedactedExcerpt(body []byte, max int, redact func(string) string) string {
	// Control characters go before anything looks at the text: dropped
	// later, "<bo\x12dy" would turn into a tag (found by FuzzExcerpt).
	s := spaceRE().ReplaceAllString(redactText(string(body), redact), " ")
	if looksHTML(s) {
		text := ""
		if m := htmlTitleRE().FindStringSubmatch(s); m != nil {
			text = m[1]
		}
		visible := htmlTagRE().ReplaceAllString(htmlDropRE().ReplaceAllString(s, " "), " ")
		visible = strings.TrimSpace(spaceRE().ReplaceAllString(visible, " "))
		if text == "" || !strings.Contains(visible, strings.TrimSpace(text)) {
			text = strings.TrimSpace(text + " " + visible)
		} else {
			text = visible
		}
		// A real page's text has &lt; and &gt; for these; literal ones
		// are tag debris, which would make the excerpt look like HTML
		// again (found by FuzzExcerpt: "<title><title0</title>>").
		s = strings.NewReplacer("<", "", ">", "").Replace(text)
	}
	return oneLine(s, max)
}

// oneLine makes s one terminal-safe line of at most max bytes (plus an
// ellipsis when cut): line breaks and runs of spaces become one space,
// what termsafe.Text drops goes. Dropping comes before collapsing
// spaces, so that "a \x00 b" does not become "a  b".
func oneLine(s string, max int) string {
	s = strings.TrimSpace(spaceRE().ReplaceAllString(termsafe.Text(s), " "))
	if len(s) > max {
		cut := max
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = strings.TrimRight(s[:cut], " ") + "…"
	}
	return s
}

func looksHTML(s string) bool {
	head := strings.ToLower(strings.TrimSpace(s))
	if len(head) > 512 {
		head = head[:512]
	}
	return strings.HasPrefix(head, "<!doctype html") || strings.Contains(head, "<html") || strings.Contains(head, "<body") || strings.Contains(head, "<title")
}

// NetKind classifies why a server could not be reached.
type NetKind int

// The kinds of NetError.
const (
	NetOther NetKind = iota
	NetDNS
	NetRefused
	NetTimeout
	NetTLS
	NetUnknownAuthority
	// NetClientCertRequired: the server wants a client certificate that
	// was not given (or that it does not accept).
	NetClientCertRequired
	// NetCutOff: the answer broke off after its headers (the connection
	// closed or was reset before the whole body arrived).
	NetCutOff
	// NetPlainHTTP: an https:// request got a plain-HTTP answer.
	NetPlainHTTP
)

// NetError means the server could not be reached or the connection
// failed before an HTTP answer arrived; camctl exits with 4.
type NetError struct {
	Method string
	URL    string
	Kind   NetKind
	Err    error
}

func (e *NetError) Error() string {
	what := map[NetKind]string{
		NetDNS:                "cannot resolve the host name",
		NetRefused:            "connection refused",
		NetTimeout:            "timed out",
		NetTLS:                "TLS handshake failed",
		NetUnknownAuthority:   "the server's certificate is signed by an unknown authority",
		NetClientCertRequired: "the server requires a client certificate, or refused the one given",
		NetCutOff:             "the answer was cut off",
		NetPlainHTTP:          "the server answered in plain HTTP, not TLS",
	}[e.Kind]
	if what == "" {
		what = "request failed"
	}
	if e.Kind == NetRefused {
		// The cause says "connection refused" once more; nothing to add.
		return fmt.Sprintf("%s %s: %s", e.Method, e.URL, what)
	}
	return fmt.Sprintf("%s %s: %s: %v", e.Method, e.URL, what, e.Err)
}

func (e *NetError) Unwrap() error { return e.Err }

// Classify says why a request got no HTTP answer.
func Classify(err error) NetKind {
	var dnsErr *net.DNSError
	var unknownAuth x509.UnknownAuthorityError
	var certInvalid x509.CertificateInvalidError
	var hostErr x509.HostnameError
	var recordErr tls.RecordHeaderError
	var certVerify *tls.CertificateVerificationError
	var netErr net.Error
	switch {
	case errors.As(err, &unknownAuth):
		return NetUnknownAuthority
	case strings.Contains(err.Error(), "server gave HTTP response to HTTPS client"):
		// net/http's text, from a tls.RecordHeaderError it does not wrap.
		return NetPlainHTTP
	case strings.Contains(err.Error(), "tls: certificate required"), strings.Contains(err.Error(), "tls: bad certificate"),
		strings.Contains(err.Error(), "tls: unknown certificate authority"), strings.Contains(err.Error(), "tls: expired certificate"):
		return NetClientCertRequired
	case errors.As(err, &certVerify), errors.As(err, &certInvalid), errors.As(err, &hostErr), errors.As(err, &recordErr):
		return NetTLS
	case errors.As(err, &dnsErr):
		return NetDNS
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		return NetTimeout
	case isRefused(err):
		return NetRefused
	case strings.Contains(err.Error(), "tls:"):
		return NetTLS
	}
	return NetOther
}
