//go:build linux

package cmd

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/camctl/camctl/internal/testutil/fakecamunda"
)

// TestAPIPaginate100kItems: --paginate over 100,000 items streams them
// into one document, in order and each once, in bounded memory (issue
// 12: peak RSS under 64 MiB; only logged under the race detector, which
// multiplies memory use).
func TestAPIPaginate100kItems(t *testing.T) {
	t.Parallel()
	const n = 100_000
	_, url := fakeWithItems(t, n)
	s := newSandbox(t)
	r, rss := peakRSS(t, s, []string{"CAMUNDA_REST_ADDRESS=" + url}, "api", "/process-instances/search", "--paginate", "-F", "page[limit]=1000")
	if r.code != 0 {
		t.Fatalf("%v", r)
	}
	t.Logf("%d items, %d MB of JSON in %s (%.0f items/s), peak RSS %d MiB", n, len(r.stdout)>>20, r.took.Round(time.Millisecond), n/r.took.Seconds(), rss>>20)
	if rss > 64<<20 && !raceEnabled {
		t.Errorf("peak RSS %d MiB, over 64 MiB", rss>>20)
	}
	// Stream the document back: items in key order, none twice.
	dec := json.NewDecoder(strings.NewReader(r.stdout))
	expect := func(want json.Delim) {
		tok, err := dec.Token()
		if err != nil || tok != want {
			t.Fatalf("want %v, got %v %v", want, tok, err)
		}
	}
	expect('{')
	if tok, _ := dec.Token(); tok != "items" {
		t.Fatalf("first member %v; want items", tok)
	}
	expect('[')
	i := 0
	for dec.More() {
		var it fakecamunda.ProcessInstance
		if err := dec.Decode(&it); err != nil {
			t.Fatal(err)
		}
		if it.ProcessInstanceKey != fakecamunda.Instance(i).ProcessInstanceKey {
			t.Fatalf("item %d has key %s; want %s", i, it.ProcessInstanceKey, fakecamunda.Instance(i).ProcessInstanceKey)
		}
		i++
	}
	if i != n {
		t.Fatalf("%d items, want %d", i, n)
	}
	expect(']')
	if tok, err := dec.Token(); err != nil || tok != "page" {
		t.Fatalf("after the items %v %v; want the page member, as a single page has it", tok, err)
	}
	var page map[string]any
	if err := dec.Decode(&page); err != nil || page["endCursor"] == nil {
		t.Errorf("page member %v, %v; want the last cursor in it", page, err)
	}
}

// TestHTTPLogIsRedacted: net/http logs the first bytes of an unsolicited
// answer through the standard logger; a server that echoes the token
// there must not make camctl print it (found by review).
func TestHTTPLogIsRedacted(t *testing.T) {
	t.Parallel()
	const token = "tok-Vq8-zN3xB6mL1pR5"
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func(c net.Conn) {
				defer c.Close()
				buf := make([]byte, 4096)
				_, _ = c.Read(buf)
				// One answer, then bytes nobody asked for, on the same connection.
				fmt.Fprintf(c, "HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}Bearer %s leaked\r\n", token)
				// Hold the connection a moment, as a server that is still writing would.
				time.Sleep(200 * time.Millisecond)
			}(c)
		}
	}()
	s := newSandbox(t)
	r := s.camctl([]string{"CAMUNDA_REST_ADDRESS=http://" + ln.Addr().String(), "CAMUNDA_OAUTH_TOKEN=" + token}, "api", "/topology")
	if r.code != ExitAuth {
		t.Errorf("%v; want exit 3", r)
	}
	if strings.Contains(r.stderr+r.stdout, token) || strings.Contains(r.stderr, token[4:12]) {
		t.Errorf("the token leaked:\nstdout %q\nstderr %q", r.stdout, r.stderr)
	}
}

// TestAPIJQMemoryIsBounded: gojq holds an answer as Go values, some ten
// times its size; camctl gives --jq at most 16 MiB, so that it stays
// under the 256 MiB of spec §8 (a 57 MB answer took 539 MB before).
func TestAPIJQMemoryIsBounded(t *testing.T) {
	t.Parallel()
	item := `{"processInstanceKey":"2251799813685249","state":"ACTIVE","tags":["a","b"],"n":1.5},`
	var b strings.Builder
	b.WriteString(`{"items":[`)
	for b.Len() < 15<<20 {
		b.WriteString(item)
	}
	b.WriteString(`{}]}`)
	body := []byte(b.String())
	big := append([]byte(`{"items":[`+strings.Repeat(item, (20<<20)/len(item))), `{}]}`...)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path == "/v2/big" {
			_, _ = w.Write(big)
			return
		}
		_, _ = w.Write(body)
	}))
	t.Cleanup(srv.Close)
	s := newSandbox(t)
	env := []string{"CAMUNDA_REST_ADDRESS=" + srv.URL}
	r, rss := peakRSS(t, s, env, "api", "/x", "--jq", ".items | length")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "1") {
		t.Fatalf("%v\nstdout %q", r, r.stdout)
	}
	t.Logf("--jq over %d MiB: peak RSS %d MiB", len(body)>>20, rss>>20)
	if rss > 256<<20 && !raceEnabled {
		t.Errorf("peak RSS %d MiB, over 256 MiB", rss>>20)
	}
	r = s.camctl(env, "api", "/big", "--jq", ".items | length")
	if r.code != ExitError || !strings.Contains(r.stderr, "larger than 16 MiB") || r.stdout != "" {
		t.Errorf("--jq over 20 MiB: %v; want exit 1 and the limit named", r)
	}
}

// peakRSS starts camctl ARGS in s and returns the result and the
// process's own peak RSS in bytes (see writePeakRSS).
func peakRSS(t *testing.T, s *sandbox, env []string, args ...string) (procResult, int64) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "peak-rss")
	r := s.camctl(append(env, "CAMCTL_TEST_PEAK_RSS="+file), args...)
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("camctl %v reported no peak RSS: %v", args, err)
	}
	var kb int64
	if _, err := fmt.Sscanf(string(b), "%d kB", &kb); err != nil {
		t.Fatalf("peak RSS %q: %v", b, err)
	}
	return r, kb << 10
}
