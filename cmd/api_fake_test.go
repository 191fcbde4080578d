package cmd

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/camctl/camctl/internal/testutil/fakecamunda"
)

// searchDoc is a merged --paginate document.
type searchDoc struct {
	Items []fakecamunda.ProcessInstance `json:"items"`
	Page  map[string]any                `json:"page"`
}

func fakeWithItems(t *testing.T, n int) (*fakecamunda.Server, string) {
	t.Helper()
	fake := fakecamunda.New()
	fake.SetItems(n)
	srv := httptest.NewServer(fake)
	t.Cleanup(func() { fake.Close(); srv.Close() })
	return fake, srv.URL
}

func TestAPIPaginateAgainstTheFake(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		setup func(*fakecamunda.Server)
		args  []string
		want  int // items; indexes 0..want-1 (every instance) unless active
		// active: only ACTIVE instances (3 in 4).
		active bool
	}{
		{"empty last page", nil, []string{"-F", "page[limit]=20"}, 250, false},
		{"null cursor on the last page", func(s *fakecamunda.Server) { s.SetLastPage(fakecamunda.LastPageNullCursor) }, []string{"-F", "page[limit]=20"}, 250, false},
		{"no cursor on the last page", func(s *fakecamunda.Server) { s.SetLastPage(fakecamunda.LastPageNoCursor) }, []string{"-F", "page[limit]=20"}, 250, false},
		{"capped totalItems is no stop rule", func(s *fakecamunda.Server) { s.CapTotal(50) }, []string{"-F", "page[limit]=30"}, 250, false},
		{"server's default page size", nil, nil, 250, false},
		{"filter and sort kept on every page", nil, []string{"-f", "filter[state]=ACTIVE", "-f", "sort[][field]=startDate", "-F", "page[limit]=25"}, 188, true},
		{"offset form", nil, []string{"-F", "page[from]=0", "-F", "page[limit]=40"}, 250, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake, url := fakeWithItems(t, 250)
			if tc.setup != nil {
				tc.setup(fake)
			}
			f, _, out, errOut := testFactory(t, map[string]string{"CAMUNDA_REST_ADDRESS": url})
			args := append([]string{"api", "/process-instances/search", "--paginate"}, tc.args...)
			if code := run(t, f, args...); code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			if errOut.Len() != 0 {
				t.Errorf("stderr: %s", errOut)
			}
			var doc searchDoc
			if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
				t.Fatalf("stdout is not one JSON document: %v", err)
			}
			if len(doc.Items) != tc.want {
				t.Fatalf("%d items, want %d", len(doc.Items), tc.want)
			}
			next := 0
			for j, it := range doc.Items {
				for tc.active && fakecamunda.Instance(next).State != "ACTIVE" {
					next++
				}
				if want := fakecamunda.Instance(next); it != want {
					t.Fatalf("item %d = %+v; want %+v (order, duplicates)", j, it, want)
				}
				next++
			}
			if doc.Page == nil {
				t.Errorf("the merged document has no page member")
			}
			searches := fake.Searches()
			for i, s := range searches[1:] {
				if string(s.Filter) != string(searches[0].Filter) || string(s.Sort) != string(searches[0].Sort) {
					t.Errorf("page %d: filter %s sort %s; the first had %s %s", i+2, s.Filter, s.Sort, searches[0].Filter, searches[0].Sort)
				}
			}
		})
	}
}

func TestAPIPaginateRepeatedCursor(t *testing.T) {
	t.Parallel()
	fake, url := fakeWithItems(t, 100)
	fake.RepeatCursor(true)
	f, _, out, errOut := testFactory(t, map[string]string{"CAMUNDA_REST_ADDRESS": url})
	code := run(t, f, "api", "/process-instances/search", "--paginate", "-F", "page[limit]=10")
	if code != ExitError {
		t.Fatalf("exit %d, want 1; stderr: %s", code, errOut)
	}
	if !strings.HasPrefix(errOut.String(), "Warning: the server repeated the cursor") || strings.Count(errOut.String(), "\n") != 1 {
		t.Errorf("stderr = %q; want one warning line", errOut)
	}
	var doc searchDoc
	if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
		t.Fatalf("what was gathered is not one JSON document: %v\n%s", err, out)
	}
	if len(doc.Items) == 0 || len(fake.Searches()) > 5 {
		t.Errorf("%d items after %d requests: want the pages before the repeat, and a quick stop", len(doc.Items), len(fake.Searches()))
	}
	seen := map[string]bool{}
	for _, it := range doc.Items {
		if seen[it.ProcessInstanceKey] {
			t.Errorf("item %s printed twice", it.ProcessInstanceKey)
		}
		seen[it.ProcessInstanceKey] = true
	}
}

func TestAPIPaginateJQPerPage(t *testing.T) {
	t.Parallel()
	_, url := fakeWithItems(t, 250)
	f, _, out, errOut := testFactory(t, map[string]string{"CAMUNDA_REST_ADDRESS": url})
	if code := run(t, f, "api", "/process-instances/search", "--paginate", "-F", "page[limit]=100", "--jq", ".items[].processInstanceKey"); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	sc := bufio.NewScanner(out)
	i := 0
	for sc.Scan() {
		if want := fakecamunda.Instance(i).ProcessInstanceKey; sc.Text() != want {
			t.Fatalf("line %d = %q; want %q (raw strings, in order)", i+1, sc.Text(), want)
		}
		i++
	}
	if i != 250 {
		t.Errorf("%d lines, want 250", i)
	}
}

// Requests that may change state are retried only when the cluster says
// it did not process them; the 401 of a stale token is answered once
// with the whole body again.
func TestAPIRetriesAgainstTheFake(t *testing.T) {
	t.Parallel()
	create := []string{"api", "/process-instances", "-f", "processDefinitionId=process-1", "-F", `variables={"orderId":"A-1"}`}
	for _, tc := range []struct {
		name     string
		script   []fakecamunda.Reply
		args     []string
		code     int
		requests int
	}{
		{"POST after backpressure 503", []fakecamunda.Reply{fakecamunda.Unavailable}, create, 0, 2},
		{"POST after 429", []fakecamunda.Reply{fakecamunda.TooManyRequests}, create, 0, 2},
		{"POST not after 500", []fakecamunda.Reply{fakecamunda.Internal}, create, ExitServer, 1},
		{"POST not after a dropped connection", []fakecamunda.Reply{{Drop: true}}, create, ExitUnreachable, 1},
		{"GET after 503", []fakecamunda.Reply{fakecamunda.Unavailable, fakecamunda.Unavailable}, []string{"api", "/process-instances/2251799813685249"}, 0, 3},
		{"GET not after a dropped connection", []fakecamunda.Reply{{Drop: true}}, []string{"api", "/process-instances/2251799813685249"}, ExitUnreachable, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake, url := fakeWithItems(t, 10)
			fake.Script(tc.script...)
			f, _, out, errOut := testFactory(t, map[string]string{"CAMUNDA_REST_ADDRESS": url})
			code := run(t, f, tc.args...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d; stderr: %s", code, tc.code, errOut)
			}
			log := fake.Log()
			if len(log) != tc.requests {
				t.Fatalf("%d requests, want %d", len(log), tc.requests)
			}
			for _, r := range log {
				if r.Method == "POST" && !strings.Contains(string(r.Body), `"variables":{"orderId":"A-1"}`) {
					t.Errorf("attempt without the whole body: %s", r.Body)
				}
			}
			if tc.code == 0 && out.Len() == 0 {
				t.Errorf("no answer printed")
			}
			if tc.code != 0 && out.Len() != 0 {
				t.Errorf("stdout = %q on failure; want nothing", out)
			}
		})
	}
}

func TestAPIDeployAndFetchXML(t *testing.T) {
	t.Parallel()
	fake, url := fakeWithItems(t, 10)
	dir := t.TempDir()
	bpmn := dir + "/order-process.bpmn"
	if err := os.WriteFile(bpmn, []byte(fakecamunda.BPMN("order-process")), 0o600); err != nil {
		t.Fatal(err)
	}
	f, _, out, errOut := testFactory(t, map[string]string{"CAMUNDA_REST_ADDRESS": url})
	if code := run(t, f, "api", "/deployments", "--form", "resources=@"+bpmn, "--jq", ".deployments[0].processDefinition.processDefinitionKey"); code != 0 {
		t.Fatalf("deploy: exit %d: %s", code, errOut)
	}
	key := strings.TrimSpace(out.String())
	d := fake.Deployments()
	if len(d) != 1 || len(d[0].Resources) != 1 || d[0].Resources[0].FileName != "order-process.bpmn" {
		t.Fatalf("deployments = %+v", d)
	}
	f, _, out, errOut = testFactory(t, map[string]string{"CAMUNDA_REST_ADDRESS": url})
	if code := run(t, f, "api", fmt.Sprintf("/process-definitions/%s/xml", key)); code != 0 {
		t.Fatalf("xml: exit %d: %s", code, errOut)
	}
	if out.String() != fakecamunda.BPMN("order-process") {
		t.Errorf("XML = %q; want the deployed file unchanged", out)
	}
}

// A search that fails on a later page leaves a document that no JSON
// reader takes for complete, and the error names the page.
func TestAPIPaginateFailsMidway(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		reply fakecamunda.Reply
		code  int
		want  string
	}{
		{"5xx", fakecamunda.Internal, ExitServer, "page 2 of the search: POST"},
		{"dropped connection", fakecamunda.Reply{Drop: true}, ExitUnreachable, "page 2 of the search: POST"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake, url := fakeWithItems(t, 50)
			fake.Script(fakecamunda.Reply{}, tc.reply)
			f, _, out, errOut := testFactory(t, map[string]string{"CAMUNDA_REST_ADDRESS": url})
			code := run(t, f, "api", "/process-instances/search", "--paginate", "-F", "page[limit]=10")
			if code != tc.code || !strings.Contains(errOut.String(), tc.want) {
				t.Fatalf("exit %d, stderr %q; want exit %d and %q", code, errOut, tc.code, tc.want)
			}
			if !strings.HasPrefix(out.String(), `{"items":[`) || json.Valid(out.Bytes()) {
				t.Errorf("stdout = %.200q...; want the items so far in a document left open", out)
			}
		})
	}
}

func TestAPIPaginateJQSkipsTheLastEmptyPage(t *testing.T) {
	t.Parallel()
	_, url := fakeWithItems(t, 250)
	f, _, out, errOut := testFactory(t, map[string]string{"CAMUNDA_REST_ADDRESS": url})
	if code := run(t, f, "api", "/process-instances/search", "--paginate", "-F", "page[limit]=100", "--jq", ".items | length"); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if out.String() != "100\n100\n50\n" {
		t.Errorf("stdout = %q; want one line per page with items", out)
	}
}

// A header that carries a credential (an API gateway's key) is kept out
// of --debug and every message, like the profile's secrets.
func TestAPISecretHeaderNotLogged(t *testing.T) {
	t.Parallel()
	const key = "gw-Kq2-vB7nM4xZ9"
	srv, seen := echoServer(t)
	f, _, _, errOut := testFactory(t, map[string]string{"CAMUNDA_REST_ADDRESS": srv.URL})
	if code := run(t, f, "--debug", "api", "/topology", "-H", "X-Api-Key: "+key, "-H", "X-Trace: visible-1"); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if strings.Contains(errOut.String(), key) || !strings.Contains(errOut.String(), "X-Trace: visible-1") {
		t.Errorf("--debug log:\n%s\nwant the key redacted and X-Trace shown", errOut)
	}
	if len(seen()) != 1 {
		t.Fatalf("no request")
	}
}

// An answer cut off mid-body is a broken connection (exit 4) with the
// hint for it, like topology's, not "the server closed the connection".
func TestAPICutOffAnswer(t *testing.T) {
	t.Parallel()
	fake, url := fakeWithItems(t, 10)
	fake.Script(fakecamunda.Reply{Cut: true})
	f, _, _, errOut := testFactory(t, map[string]string{"CAMUNDA_REST_ADDRESS": url})
	if code := run(t, f, "api", "/topology"); code != ExitUnreachable || !strings.Contains(errOut.String(), "the answer was cut off") || !strings.Contains(errOut.String(), "The answer is incomplete") {
		t.Errorf("exit %d, stderr:\n%s\nwant exit 4, the answer cut off, and its hint", code, errOut)
	}
}
