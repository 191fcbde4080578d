//go:build linux

package cmd

import (
	"encoding/json"
	"strings"
	"syscall"
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
	p := s.start([]string{"CAMUNDA_REST_ADDRESS=" + url}, "api", "/process-instances/search", "--paginate", "-F", "page[limit]=1000")
	r := p.wait()
	if r.code != 0 {
		t.Fatalf("%v", r)
	}
	ru, ok := p.cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		t.Fatal("no rusage")
	}
	rss := ru.Maxrss << 10
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
