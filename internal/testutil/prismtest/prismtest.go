// Package prismtest runs Stoplight Prism (@stoplight/prism-cli, pinned by
// testdata/prism/package-lock.json, installed by npm on demand like the
// test identity provider) as a validating mock of Camunda's OpenAPI spec
// (testdata/openapi/rest-api.yaml) on 127.0.0.1, behind a small proxy
// that records Prism's verdict on every request. It is how the tests
// know camctl's requests are right for a real cluster without one.
//
// What Prism 5.16 does (found by running it; see the package's tests):
//
//   - A request that breaks the spec gets the operation's own 400
//     answer (its example body, which says nothing about the request)
//     with the violations in the sl-violations response header, a JSON
//     array of {location, severity, code, message}; those whose location
//     starts with "request" are the request's. Only when the operation
//     defines no 400 does Prism answer 422, a problem of type
//     https://stoplight.io/prism/errors#UNPROCESSABLE_ENTITY listing the
//     violations in "validation" (location without "request") and no
//     header. Prism's own answers to
//     valid requests carry response violations too (its examples break
//     the spec's key patterns): they are not the request's fault.
//   - --errors is unusable here: it turns those response violations
//     into 500s for valid requests.
//   - Security: only operations that declare it (GET
//     /authentication/me, BearerAuth) demand an Authorization header
//     (401, "Invalid security scheme used"; any Bearer value passes).
//     The spec has no global security, so other requests need none.
//   - Valid requests get the first 2xx response's example (static
//     mode): deterministic, but not data (a search's page has no
//     endCursor, keys are "string"). A request header `Prefer: code=404`
//     picks another response.
//   - Prism routes without the servers' /v2 base path: the proxy strips
//     it, so a client uses Prism's URL as it would a cluster's address.
//   - A wrong Accept is a 406 problem, an unknown path 404 and an
//     unknown method 405, with https://stoplight.io/prism/errors# types
//     and no sl-violations: the proxy records those as refusals too.
//
// Prism validates a patched copy of the spec (Patch): two of its quirks
// would refuse requests a real cluster accepts.
package prismtest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/camctl/camctl/internal/testutil/npmcache"
	"github.com/camctl/camctl/internal/testutil/testneed"
)

func needNode() testneed.Need {
	return testneed.Need{What: "Node.js 20+", Install: "apt-get install nodejs npm", For: "the Prism mock of the Camunda REST API"}
}

func needPackages() testneed.Need {
	return testneed.Need{
		What:    "the npm packages of testdata/prism",
		Install: "network access to the npm registry once, or npm ci --prefix testdata/prism",
		For:     "the Prism mock of the Camunda REST API",
	}
}

func root() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..")
}

// SpecPath is the Camunda 8.8 OpenAPI document in the repository.
func SpecPath() string { return filepath.Join(root(), "testdata", "openapi", "rest-api.yaml") }

func packages(src string) npmcache.Packages {
	return npmcache.Packages{Src: src, Name: "prism", Probe: "@stoplight/prism-cli", Node: needNode(), Missing: needPackages()}
}

// prepare finds Node.js and Prism's script, installing its packages into
// the test cache first if needed, or ends t (testneed).
func prepare(t testing.TB, src, cache string) (node, script string) {
	t.Helper()
	node = testneed.Programs(t, needNode(), "node")[0]
	out, err := exec.Command(node, "--version").Output()
	if err != nil {
		testneed.Missing(t, needNode(), fmt.Sprintf("%s --version: %v", node, err))
	}
	var major int
	if _, err := fmt.Sscanf(string(out), "v%d.", &major); err != nil || major < 20 {
		testneed.Missing(t, needNode(), "found "+strings.TrimSpace(string(out)))
	}
	dir, _ := npmcache.Install(t, packages(src), cache)
	return node, filepath.Join(dir, "node_modules", "@stoplight", "prism-cli", "dist", "index.js")
}

// Require ends t as Start would when Prism cannot run here (testneed),
// installing it if needed: a test that starts Prism in subtests calls
// it first, to skip once.
func Require(t testing.TB) {
	t.Helper()
	prepare(t, filepath.Join(root(), "testdata", "prism"), testneed.CacheDir())
}

// Violation is one thing Prism found wrong, as its sl-violations header
// says it.
type Violation struct {
	Location []string `json:"location"`
	Severity string   `json:"severity"`
	Code     any      `json:"code"`
	Message  string   `json:"message"`
}

func (v Violation) String() string {
	return fmt.Sprintf("%s: %s (%v)", strings.Join(v.Location, "."), v.Message, v.Code)
}

// Exchange is one request through the proxy and Prism's verdict.
type Exchange struct {
	Method, Path, Query string
	Status              int
	// Request are the violations of the request (Prism's refusal when
	// not empty); Response those of Prism's own answer (ignored).
	Request, Response []Violation
}

// Refused reports whether Prism found the request against the spec.
func (e Exchange) Refused() bool { return len(e.Request) > 0 }

func (e Exchange) String() string {
	s := fmt.Sprintf("%s %s", e.Method, e.Path)
	if e.Query != "" {
		s += "?" + e.Query
	}
	s += fmt.Sprintf(" → %d", e.Status)
	for _, v := range e.Request {
		s += "\n    " + v.String()
	}
	return s
}

// Prism is a running Prism behind the recording proxy.
type Prism struct {
	// URL is the proxy's root: a cluster address (requests under /v2).
	URL string
	// Backend is Prism's own address (paths without /v2).
	Backend string
	// Patches are the changes made to the spec Prism validates.
	Patches Patches
	// Started is how long Prism took to listen.
	Started time.Duration

	mu        sync.Mutex
	exchanges []Exchange
	checked   int
}

// Start runs Prism on the repository's spec until t ends, or ends t
// (testneed) when Node.js or Prism's packages are missing.
func Start(t testing.TB) *Prism {
	t.Helper()
	node, script := prepare(t, filepath.Join(root(), "testdata", "prism"), testneed.CacheDir())
	return start(t, node, script, SpecPath())
}

func start(t testing.TB, node, script, spec string) *Prism {
	t.Helper()
	patched := filepath.Join(t.TempDir(), "rest-api.yaml")
	patches, err := Patch(spec, patched)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	// -p 0: Prism takes a free port and names it in its "listening" line.
	cmd := exec.CommandContext(ctx, node, script, "mock", "-h", "127.0.0.1", "-p", "0", patched)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	began := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatalf("prismtest: start Prism: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
	})
	listening := make(chan string, 1)
	var tailMu sync.Mutex
	var tail []string // Prism's last lines, for a failure message
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			if _, u, ok := strings.Cut(line, "Prism is listening on "); ok {
				listening <- strings.TrimSpace(u)
			}
			tailMu.Lock()
			if tail = append(tail, line); len(tail) > 20 {
				tail = tail[1:]
			}
			tailMu.Unlock()
		}
		close(listening)
	}()
	lines := func() string {
		tailMu.Lock()
		defer tailMu.Unlock()
		return strings.Join(tail, "\n")
	}
	var backend string
	select {
	case u, ok := <-listening:
		if !ok {
			t.Fatalf("prismtest: Prism ended before it listened:\n%s", lines())
		}
		backend = u
	case <-time.After(60 * time.Second):
		t.Fatalf("prismtest: Prism did not listen within 60 s:\n%s", lines())
	}
	// The line comes once the socket listens; one request proves it serves.
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get(backend + "/topology")
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("prismtest: Prism at %s does not answer: %v\n%s", backend, err, lines())
		}
		time.Sleep(20 * time.Millisecond)
	}
	p := &Prism{Backend: backend, Patches: patches, Started: time.Since(began)}
	target, _ := url.Parse(backend)
	proxy := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(target)
			r.Out.URL.Path = strings.TrimPrefix(r.In.URL.Path, "/v2")
			r.Out.URL.RawPath = ""
			r.Out.Host = target.Host
		},
		ModifyResponse: func(resp *http.Response) error {
			p.record(resp)
			return nil
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			// Prism died or cut the connection: the request proved nothing.
			p.add(Exchange{Method: r.Method, Path: "/v2" + r.URL.Path, Query: r.URL.RawQuery, Status: http.StatusBadGateway,
				Request: []Violation{{Location: []string{"request"}, Severity: "Error", Code: "proxy", Message: "Prism did not answer: " + err.Error()}}})
			http.Error(w, "prismtest: Prism did not answer", http.StatusBadGateway)
		},
	}
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/v2" && !strings.HasPrefix(r.URL.Path, "/v2/") {
				p.add(Exchange{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Status: http.StatusNotFound,
					Request: []Violation{{Location: []string{"request", "path"}, Severity: "Error", Code: "base", Message: "not under the API base /v2"}}})
				http.Error(w, "prismtest: the REST API is under /v2", http.StatusNotFound)
				return
			}
			proxy.ServeHTTP(w, r)
		}),
		ReadHeaderTimeout: 10 * time.Second,
	}
	ln, err := listen()
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	p.URL = "http://" + ln.Addr().String()
	t.Logf("prismtest: Prism %s (proxy %s) up in %v; spec patches %+v", backend, p.URL, p.Started.Round(time.Millisecond), patches)
	return p
}

// record reads Prism's verdict off its answer.
func (p *Prism) record(resp *http.Response) {
	r := resp.Request
	path := r.URL.Path
	e := Exchange{Method: r.Method, Path: "/v2" + path, Query: r.URL.RawQuery, Status: resp.StatusCode}
	if h := resp.Header.Get("sl-violations"); h != "" {
		var vs []Violation
		if err := json.Unmarshal([]byte(h), &vs); err != nil {
			vs = []Violation{{Location: []string{"request"}, Severity: "Error", Code: "prismtest", Message: "unreadable sl-violations header: " + h}}
		}
		for _, v := range vs {
			if len(v.Location) > 0 && v.Location[0] == "request" {
				e.Request = append(e.Request, v)
			} else {
				e.Response = append(e.Response, v)
			}
		}
	}
	if len(e.Request) == 0 {
		e.Request = prismError(resp)
	}
	p.add(e)
}

// prismError is Prism's own refusal (406, 404, 405, 422: a problem of a
// stoplight.io type; a 422 lists the violations in "validation"), read
// without consuming the body.
func prismError(resp *http.Response) []Violation {
	if !strings.Contains(resp.Header.Get("Content-Type"), "problem+json") || resp.ContentLength > 1<<20 {
		return nil
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if err != nil {
		return nil
	}
	var pd struct {
		Type, Title, Detail string
		// Validation lists a 422's violations, located without "request".
		Validation []Violation
	}
	if json.Unmarshal(body, &pd) != nil {
		return nil
	}
	kind, ok := strings.CutPrefix(pd.Type, "https://stoplight.io/prism/errors#")
	if !ok {
		return nil
	}
	var vs []Violation
	for _, v := range pd.Validation {
		v.Location = append([]string{"request"}, v.Location...)
		vs = append(vs, v)
	}
	if len(vs) == 0 {
		vs = []Violation{{Location: []string{"request"}, Severity: "Error", Code: kind, Message: pd.Title + ": " + pd.Detail}}
	}
	return vs
}

func (p *Prism) add(e Exchange) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.exchanges = append(p.exchanges, e)
}

// Exchanges returns every request through the proxy so far.
func (p *Prism) Exchanges() []Exchange {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Exchange(nil), p.exchanges...)
}

// Refusals returns the requests since the last Accepted or AssertAccepted
// that Prism refused, marking them seen.
func (p *Prism) Refusals() (refused []Exchange, seen int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	news := p.exchanges[p.checked:]
	p.checked = len(p.exchanges)
	for _, e := range news {
		if e.Refused() {
			refused = append(refused, e)
		}
	}
	return refused, len(news)
}

// ErrNoRequest is Accepted's error when no request reached Prism.
var ErrNoRequest = errors.New("no request reached Prism")

// Accepted returns nil when every request since the last check reached
// Prism and passed its validation, else an error listing each refused
// request and its violations, one per line.
func (p *Prism) Accepted() error {
	refused, seen := p.Refusals()
	if seen == 0 {
		return ErrNoRequest
	}
	if len(refused) == 0 {
		return nil
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Prism refused %d of %d requests (against testdata/openapi/rest-api.yaml):", len(refused), seen)
	for _, e := range refused {
		b.WriteString("\n  " + e.String())
	}
	return errors.New(b.String())
}

// AssertAccepted fails t unless every request since the last check
// reached Prism and passed its validation.
func (p *Prism) AssertAccepted(t testing.TB) {
	t.Helper()
	if err := p.Accepted(); err != nil {
		t.Error(err)
	}
}

func listen() (net.Listener, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("prismtest: the proxy's listener: %w", err)
	}
	return ln, nil
}
