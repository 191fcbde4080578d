package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/camctl/camctl/internal/termsafe"
)

// secretMark in a fuzzed address stands for a password.
const secretMark = "SECRET"

// unprintable is what must not reach a terminal from a server or a
// config: what termsafe forbids (control characters and escape
// sequences, bidi and zero-width characters), and line breaks.
func unprintable(r rune) bool {
	return r == '\n' || r == '\t' || termsafe.Forbidden(r)
}

func assertPrintable(t *testing.T, what, s string) {
	t.Helper()
	if !utf8.ValidString(s) {
		t.Fatalf("%s is not valid UTF-8: %q", what, s)
	}
	if i := strings.IndexFunc(s, unprintable); i >= 0 {
		t.Fatalf("%s has unprintable %q at %d: %q", what, []rune(s[i:])[0], i, s)
	}
}

// FuzzNormalizeAddress: SaaS, Self-Managed and C8 Run addresses as users
// type them. Properties: a normalised address is an http(s) URL with a
// host, no credentials, query or fragment, its path ends in /v2, it
// survives printing and parsing, and normalising it again (with or
// without its /v2) changes nothing. An address with user:password@ is
// refused, and neither the error nor any result shows the password,
// whatever characters it has.
func FuzzNormalizeAddress(f *testing.F) {
	for _, s := range []string{
		"http://localhost:8080", "http://localhost:8080/v2/", " http://localhost:8088 ",
		"https://bru-2.zeebe.camunda.io/0a1b2c3d-4e5f-4a1b-8c2d-3e4f5a6b7c8d",
		"https://bru-2.zeebe.camunda.io/0a1b2c3d-4e5f/v2",
		"https://camunda.example.com/orchestration/", "HTTPS://Camunda.Example.com:443//",
		"http://[::1]:8080", "http://127.0.0.1:8080/v2//", "localhost:8080", "camunda.example.com",
		"grpcs://0a1b.bru-2.zeebe.camunda.io:443", "ftp://x", "https://camunda.example.com/?x=1#f",
		"https://demo:SECRET@camunda.example.com", "https://SECRET@camunda.example.com/v2",
		"http://demo:SECRET@localhost:8080/v2", "https://demo:p#SECRET@camunda.example.com",
		"https://demo:12/SECRET@camunda.example.com", "http://demo:1?SECRET@h", "https://a%2Fb/v2", "https://h/a%2Fb",
		"https://h/%zz", "http://h:99999", "http://h/v2/v2", "http://h/V2", "",
	} {
		f.Add(s, "Pa55w0rd-x")
		f.Add(s, "p/a?s#s@w:0rd")
	}
	f.Fuzz(func(t *testing.T, addr, password string) {
		if len(password) < 6 || !utf8.ValidString(password) || strings.ContainsFunc(password, unicode.IsSpace) || strings.Contains(password, secretMark) {
			password = "Pa55w0rd-x"
		}
		in := strings.ReplaceAll(addr, secretMark, password)
		u, err := NormalizeAddress(in)
		if err != nil {
			var ae *AddressError
			if !errors.As(err, &ae) {
				t.Fatalf("NormalizeAddress(%q) = %T %v, want *AddressError", in, err, err)
			}
			// Only a mark before an '@' is a password; elsewhere it is
			// just text the user typed.
			isPassword := strings.Contains(addr, secretMark) && strings.LastIndex(addr, "@") > strings.Index(addr, secretMark)
			if isPassword && strings.Contains(err.Error(), password) {
				// The same address with only the userinfo's marks changed:
				// a mark after the '@' is the host the user typed.
				at := strings.LastIndex(addr, "@")
				changed := strings.ReplaceAll(addr[:at], secretMark, strings.Repeat("Q", len(password))) + strings.ReplaceAll(addr[at:], secretMark, password)
				_, other := NormalizeAddress(changed)
				if other == nil || !strings.Contains(other.Error(), password) {
					t.Fatalf("the error shows the password %q: %v", password, err)
				}
			}
			return
		}
		s := u.String()
		if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
			t.Fatalf("NormalizeAddress(%q) = %q: not a plain http(s) URL with a host", in, s)
		}
		if !strings.HasSuffix(u.Path, "/v2") || !strings.HasSuffix(s, "/v2") {
			t.Fatalf("NormalizeAddress(%q) = %q, want a path ending in /v2", in, s)
		}
		// As above: a mark with no '@' after it is the host or path the
		// user typed, not a password (found by the fuzzer: "http://SECRET").
		isPassword := strings.Contains(addr, secretMark) && strings.LastIndex(addr, "@") > strings.Index(addr, secretMark)
		if isPassword && strings.Contains(s, password) {
			t.Fatalf("NormalizeAddress(%q) = %q: the password is in the URL camctl shows", in, s)
		}
		back, err := url.Parse(s)
		if err != nil || back.String() != s || back.Host != u.Host || back.Path != u.Path {
			t.Fatalf("NormalizeAddress(%q) = %q does not parse back (%v): %+v", in, s, err, back)
		}
		agains := []string{s, s + "/"}
		if base := strings.TrimSuffix(s, "/v2"); !strings.HasSuffix(base, "/v2") {
			agains = append(agains, base)
		}
		for _, again := range agains {
			v, err := NormalizeAddress(again)
			if err != nil || v.String() != s {
				t.Fatalf("NormalizeAddress(%q) = %v, %v; want %q as for %q", again, v, err, s, in)
			}
		}
	})
}

// problemSeeds are error answers that camctl meets: Camunda problem
// details, ingress and proxy pages, and bodies that lie about their type.
var problemSeeds = []struct {
	status      int
	contentType string
	body        string
}{
	{401, "application/problem+json", `{"type":"about:blank","title":"Unauthorized","status":401,"detail":"Expected a valid token","instance":"/v2/topology"}`},
	{403, "application/problem+json", `{"type":"about:blank","title":"FORBIDDEN","status":403,"detail":"Unauthorized to perform operation 'READ' on resource 'CLUSTER'","instance":"/v2/topology"}`},
	{400, "application/problem+json", `{"type":"about:blank","title":"INVALID_ARGUMENT","status":400,"detail":"Command 'CREATE' rejected with code 'INVALID_ARGUMENT':\nExpected at least one of [processDefinitionKey, bpmnProcessId]","instance":"/v2/process-instances"}`},
	{500, "application/problem+json", `{"type":"about:blank","title":"java.lang.NullPointerException","status":500,"detail":"Cannot invoke \"String.length()\" because \"s\" is null\n\tat io.camunda.X.y(X.java:42)\n\tat io.camunda.X.z(X.java:7)","instance":"/v2/topology"}`},
	{503, "application/problem+json", `{"title":"\u001b[2J\u001b]0;pwned\u0007Service Unavailable","detail":"\u202egnp.exe"}`},
	{400, "application/json", `{"title":"","detail":""}`},
	{404, "application/json", `{"timestamp":"2026-01-01T00:00:00.000+00:00","status":404,"error":"Not Found","path":"/v2/topology"}`},
	{502, "text/html", "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"},
	{401, "text/html", "<html>\r\n<head><title>401 Authorization Required</title></head>\r\n<body>\r\n<center><h1>401 Authorization Required</h1></center>\r\n<hr><center>nginx/1.25.3</center>\r\n</body>\r\n</html>\r\n"},
	{503, "text/html; charset=utf-8", "<!DOCTYPE html><html><head><style>body{font:x}</style><script>var a='<title>x</title>'</script><title>Application is not available</title></head><body><h1>Application is not available</h1><p>The application is currently not serving requests at this endpoint.</p></body></html>"},
	{504, "text/plain", "upstream request timeout"},
	{503, "text/plain", "no healthy upstream"},
	{429, "", ""},
	{500, "application/json", "\xff\xfe{\"title\":\"x\"}"},
	{502, "text/html", "<title>" + strings.Repeat("é", 200) + "</title>"},
	{500, "application/problem+json", `{"title":"` + strings.Repeat("Internal ", 400) + `"}`},
}

// FuzzNewHTTPError: whatever a server or proxy answers, the error is one
// printable line of bounded length (no escape sequence from the body
// reaches the terminal, no page floods the CI log); a problem detail is
// used exactly when the body is JSON with a title or detail, and anything
// else gives a short excerpt.
func FuzzNewHTTPError(f *testing.F) {
	for _, s := range problemSeeds {
		f.Add(s.status, s.contentType, []byte(s.body))
	}
	const method, url = "GET", "https://camunda.example.com/v2/topology"
	f.Fuzz(func(t *testing.T, status int, contentType string, body []byte) {
		if status < 400 || status > 599 {
			status = 500
		}
		resp := &http.Response{StatusCode: status, Header: http.Header{"Content-Type": {contentType}}}
		e := newHTTPError(method, url, resp, body, nil)
		msg := e.Error()
		assertPrintable(t, "the error", msg)
		if max := len(method) + len(url) + 1400; len(msg) > max {
			t.Fatalf("the error is %d bytes long, want at most %d: %.200q...", len(msg), max, msg)
		}
		if !strings.HasPrefix(msg, method+" "+url+": ") {
			t.Fatalf("the error %q does not start with the request", msg)
		}
		var p Problem
		isProblem := strings.Contains(e.ContentType, "json") && json.Unmarshal(body, &p) == nil && (p.Title != "" || p.Detail != "")
		if (e.Problem != nil) != isProblem {
			t.Fatalf("Problem = %+v for content type %q and body %q", e.Problem, contentType, body)
		}
		if e.Problem == nil {
			assertPrintable(t, "the excerpt", e.Excerpt)
			if len(e.Excerpt) > 160+len("…") {
				t.Fatalf("the excerpt is %d bytes long: %q", len(e.Excerpt), e.Excerpt)
			}
		}
	})
}

// FuzzExcerpt: an excerpt is valid UTF-8, printable, one line without
// doubled or surrounding spaces, at most max bytes plus the ellipsis, and
// an excerpt of an excerpt that was not cut is the same excerpt.
func FuzzExcerpt(f *testing.F) {
	for _, s := range problemSeeds {
		f.Add([]byte(s.body), 160)
	}
	f.Add([]byte("a \x00 b\u200b\u2066c\u2069"), 120)
	f.Add([]byte(strings.Repeat("€", 100)), 10)
	f.Fuzz(func(t *testing.T, body []byte, max int) {
		if max < 1 || max > 4096 {
			max = 160
		}
		x := Excerpt(body, max)
		assertPrintable(t, "the excerpt", x)
		if len(x) > max+len("…") {
			t.Fatalf("Excerpt(max %d) is %d bytes: %q", max, len(x), x)
		}
		if x != strings.TrimSpace(x) || strings.Contains(x, "  ") {
			t.Fatalf("Excerpt = %q: surrounding or doubled spaces", x)
		}
		if !strings.HasSuffix(x, "…") {
			if again := Excerpt([]byte(x), max); again != x {
				t.Fatalf("Excerpt(%q) = %q, not idempotent", x, again)
			}
		}
	})
}

// FuzzTopology decodes GET /v2/topology answers. Properties: what decodes
// survives encoding and decoding again, and the health evaluation lists
// every partition once, sorted, including 1..partitionsCount, calls the
// cluster healthy exactly when none is without a healthy leader, and
// stays bounded whatever partitionsCount a broken server sends.
func FuzzTopology(f *testing.F) {
	for _, s := range []string{
		topology810,
		`{"brokers":[{"nodeId":0,"host":"localhost","port":26501,"partitions":[{"partitionId":1,"role":"leader","health":"healthy"}],"version":"8.6.0"}],"clusterSize":1,"partitionsCount":1,"replicationFactor":1,"gatewayVersion":"8.6.0"}`,
		`{"brokers":[],"clusterSize":3,"partitionsCount":3,"replicationFactor":3,"gatewayVersion":"8.8.0","lastCompletedChangeId":-1}`,
		`{"brokers":null,"partitionsCount":0,"lastCompletedChangeId":null}`,
		`{"partitionsCount":2000000000}`,
		`{"partitionsCount":-5,"brokers":[{"partitions":[{"partitionId":-1,"role":"leader","health":"healthy"}]}]}`,
		`{"lastCompletedChangeId":{"a" : [1, 2]}}`,
		`{"lastCompletedChangeId":1e400}`,
		`{"gatewayVersion":"\u001b[31m8.8.0"}`,
		`<html><body>Sign in</body></html>`,
		`[]`, `null`, `{}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var top Topology
		if err := json.Unmarshal(body, &top); err != nil {
			return
		}
		out, err := json.Marshal(top)
		if err != nil {
			t.Fatalf("Marshal(%+v): %v", top, err)
		}
		var again Topology
		if err := json.Unmarshal(out, &again); err != nil || !reflect.DeepEqual(top, again) {
			t.Fatalf("round trip of %s: %v\n%+v\n%+v", out, err, top, again)
		}
		h := top.Health()
		reported := 0
		for _, b := range top.Brokers {
			reported += len(b.Partitions)
		}
		if len(h.Partitions) > maxPartitions+reported {
			t.Fatalf("%d partitions from partitionsCount %d and %d reported", len(h.Partitions), top.PartitionsCount, reported)
		}
		if !slices.IsSorted(h.Partitions) || len(slices.Compact(slices.Clone(h.Partitions))) != len(h.Partitions) {
			t.Fatalf("Partitions %v not sorted and unique", h.Partitions)
		}
		for i := 1; i <= min(top.PartitionsCount, maxPartitions); i++ {
			if _, ok := slices.BinarySearch(h.Partitions, i); !ok {
				t.Fatalf("partition %d of %d missing from %v", i, top.PartitionsCount, h.Partitions)
			}
		}
		unled := h.Unled()
		if h.Healthy() != (len(h.Partitions) > 0 && len(unled) == 0) {
			t.Fatalf("Healthy() = %v with partitions %v and unled %v", h.Healthy(), h.Partitions, unled)
		}
		for _, p := range unled {
			if _, ok := slices.BinarySearch(h.Partitions, p); !ok || h.Led[p] {
				t.Fatalf("unled partition %d is not a known, unled partition", p)
			}
		}
	})
}
