package api

import (
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/camctl/camctl/internal/termsafe"
)

// debugTransport logs requests and answers for --debug. It never logs
// bodies (a token endpoint's request carries the client secret, its answer
// the token) and redacts every header that can carry a credential.
type debugTransport struct {
	next http.RoundTripper
	mu   sync.Mutex
	w    io.Writer
}

// Credential headers, and whether the value starts with a scheme worth
// showing ("Basic", "Bearer") so the log tells which kind was sent.
var redactedHeaders = map[string]bool{
	"Authorization":       true,
	"Proxy-Authorization": true,
	"Cookie":              false,
	"Set-Cookie":          false,
}

func (d *debugTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	start := time.Now()
	d.log("> %s %s", req.Method, req.URL.Redacted())
	d.logHeaders(">", req.Header)
	resp, err := d.next.RoundTrip(req)
	if err != nil {
		d.log("< error after %s: %v", time.Since(start).Round(time.Millisecond), err)
		return nil, err
	}
	// The status line and header values come from the server: one
	// terminal-safe line each (the writer redacts echoed credentials).
	d.log("< %s (%s)", termsafe.Line(resp.Status), time.Since(start).Round(time.Millisecond))
	d.logHeaders("<", resp.Header)
	return resp, nil
}

func (d *debugTransport) logHeaders(dir string, h http.Header) {
	names := make([]string, 0, len(h))
	for k := range h {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		v := strings.Join(h[k], ", ")
		if keepScheme, ok := redactedHeaders[http.CanonicalHeaderKey(k)]; ok {
			v = redact(v, keepScheme)
		}
		d.log("%s %s: %s", dir, termsafe.Line(k), termsafe.Line(v))
	}
}

func redact(v string, keepScheme bool) string {
	if scheme, _, ok := strings.Cut(v, " "); ok && keepScheme {
		return scheme + " [redacted]"
	}
	return "[redacted]"
}

func (d *debugTransport) log(format string, args ...any) {
	d.mu.Lock()
	defer d.mu.Unlock()
	fmt.Fprintf(d.w, "debug: "+format+"\n", args...)
}
