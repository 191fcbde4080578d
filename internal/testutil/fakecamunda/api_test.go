package fakecamunda

import (
	"bytes"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"strings"
	"testing"
)

func post(t *testing.T, url, body string) (int, []byte) {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

type page struct {
	Items []map[string]any `json:"items"`
	Page  map[string]any   `json:"page"`
}

// walk follows endCursor from a first request until a page is empty or
// has no cursor, as camctl api --paginate must, and returns the keys.
func walk(t *testing.T, url, field, first string, maxPages int) (keys []string, pages []page) {
	t.Helper()
	var req map[string]any
	if err := json.Unmarshal([]byte(first), &req); err != nil {
		t.Fatal(err)
	}
	for range maxPages {
		body, _ := json.Marshal(req)
		status, b := post(t, url, string(body))
		if status != http.StatusOK {
			t.Fatalf("status %d: %s", status, b)
		}
		var p page
		if err := json.Unmarshal(b, &p); err != nil {
			t.Fatalf("%v: %s", err, b)
		}
		pages = append(pages, p)
		for _, it := range p.Items {
			keys = append(keys, it[field].(string))
		}
		cur, _ := p.Page["endCursor"].(string)
		if len(p.Items) == 0 || cur == "" {
			return keys, pages
		}
		pg, _ := req["page"].(map[string]any)
		if pg == nil {
			pg = map[string]any{}
		}
		pg["after"] = cur
		req["page"] = pg
	}
	t.Fatalf("more than %d pages", maxPages)
	return nil, nil
}

func TestSearchCursorsWalkEveryItemOnce(t *testing.T) {
	for _, tc := range []struct {
		name string
		mode LastPage
		// pages is how many requests the walk makes for 250 items at 100.
		pages int
	}{
		{"empty last page", LastPageEmpty, 4},
		{"null cursor", LastPageNullCursor, 3},
		{"no cursor", LastPageNoCursor, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := New()
			f.SetItems(250)
			f.SetLastPage(tc.mode)
			srv := httptest.NewServer(f)
			defer srv.Close()
			keys, pages := walk(t, srv.URL+"/v2/process-instances/search", "processInstanceKey",
				`{"sort":[{"field":"startDate","order":"ASC"}]}`, 10)
			if len(pages) != tc.pages {
				t.Errorf("%d pages, want %d", len(pages), tc.pages)
			}
			if len(keys) != 250 {
				t.Fatalf("%d items, want 250", len(keys))
			}
			for i, k := range keys {
				if want := key(InstanceKeyBase, i); k != want {
					t.Fatalf("item %d is %s, want %s", i, k, want)
				}
			}
			last := pages[len(pages)-1].Page
			_, has := last["endCursor"]
			if tc.mode == LastPageNoCursor && has || tc.mode != LastPageNoCursor && (!has || last["endCursor"] != nil) {
				t.Errorf("last page's page = %v", last)
			}
			if got := pages[0].Page["totalItems"]; got != 250.0 {
				t.Errorf("totalItems %v, want 250", got)
			}
			searches := f.Searches()
			for i, s := range searches {
				if string(s.Sort) != `[{"field":"startDate","order":"ASC"}]` {
					t.Errorf("search %d: sort %s not recorded", i, s.Sort)
				}
				if (i > 0) != (s.Page.After != nil) {
					t.Errorf("search %d: after %v", i, s.Page.After)
				}
			}
		})
	}
}

func TestSearchStateFilterOffsetAndLimits(t *testing.T) {
	f := New()
	f.SetItems(1000)
	srv := httptest.NewServer(f)
	defer srv.Close()
	url := srv.URL + "/v2/process-instances/search"
	counts := map[string]int{}
	for _, st := range []string{"ACTIVE", "COMPLETED"} {
		keys, _ := walk(t, url, "processInstanceKey", `{"filter":{"state":"`+st+`"},"page":{"limit":97}}`, 20)
		counts[st] = len(keys)
		for _, s := range f.Searches() {
			if string(s.Filter) != `{"state":"`+st+`"}` {
				t.Fatalf("filter not kept: %s", s.Filter)
			}
		}
		f.ResetLog()
	}
	if counts["ACTIVE"] != 750 || counts["COMPLETED"] != 250 {
		t.Errorf("ACTIVE %d, COMPLETED %d: want 750 and 250", counts["ACTIVE"], counts["COMPLETED"])
	}
	_, b := post(t, url, `{"filter":{"state":{"$eq":"COMPLETED"}},"page":{"from":10,"limit":2}}`)
	var p page
	_ = json.Unmarshal(b, &p)
	if len(p.Items) != 2 || p.Items[0]["processInstanceKey"] != key(InstanceKeyBase, 43) || p.Items[0]["state"] != "COMPLETED" {
		t.Errorf("from 10 of COMPLETED: %s", b)
	}
	_, b = post(t, url, `{}`)
	_ = json.Unmarshal(b, &p)
	if len(p.Items) != DefaultLimit {
		t.Errorf("no limit: %d items, want %d", len(p.Items), DefaultLimit)
	}
	for _, body := range []string{
		`{"page":{"limit":10001}}`, `{"page":{"limit":0}}`, `{"page":{"limit":"x"}}`,
		`{"page":{"from":1,"after":"WzFd"}}`, `{"page":{"after":"bm9wZQ=="}}`,
	} {
		if status, b := post(t, url, body); status != http.StatusBadRequest || !strings.Contains(string(b), "INVALID_ARGUMENT") {
			t.Errorf("%s: %d %s, want 400 INVALID_ARGUMENT", body, status, b)
		}
	}
}

func TestSearchModes(t *testing.T) {
	f := New()
	f.SetItems(25_000)
	f.CapTotal(10_000)
	srv := httptest.NewServer(f)
	defer srv.Close()
	keys, pages := walk(t, srv.URL+"/v2/incidents/search", "incidentKey", `{"page":{"limit":5000}}`, 10)
	if len(keys) != 25_000 || keys[24_999] != key(IncidentKeyBase, 24_999) {
		t.Errorf("%d incidents, want all 25000 past the capped total", len(keys))
	}
	if pg := pages[0].Page; pg["totalItems"] != 10_000.0 || pg["hasMoreTotalItems"] != true {
		t.Errorf("capped page = %v", pg)
	}

	f.RepeatCursor(true)
	_, b := post(t, srv.URL+"/v2/process-definitions/search", `{"page":{"limit":3}}`)
	var p1, p2 page
	_ = json.Unmarshal(b, &p1)
	_, b = post(t, srv.URL+"/v2/process-definitions/search", `{"page":{"limit":3,"after":"`+p1.Page["endCursor"].(string)+`"}}`)
	_ = json.Unmarshal(b, &p2)
	if p2.Page["endCursor"] != p1.Page["endCursor"] || p2.Items[0]["processDefinitionKey"] != key(DefinitionKeyBase, 3) {
		t.Errorf("repeat mode: page 2 = %s, page 1's cursor %v", b, p1.Page["endCursor"])
	}
}

// 100,000 items are made as they are written: a page of 10,000 needs
// no data set in memory.
func TestSearchLargeSetIsLazy(t *testing.T) {
	f := New()
	f.SetItems(100_000)
	srv := httptest.NewServer(f)
	defer srv.Close()
	_, b := post(t, srv.URL+"/v2/process-instances/search", `{"page":{"from":99990,"limit":10000}}`)
	var p page
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatal(err)
	}
	if len(p.Items) != 10 || p.Items[9]["processInstanceKey"] != key(InstanceKeyBase, 99_999) {
		t.Errorf("the last 10 of 100,000: %d items", len(p.Items))
	}
}

func multipartBody(t *testing.T, parts ...[3]string) (string, *bytes.Buffer) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, p := range parts {
		if p[1] == "" {
			_ = mw.WriteField(p[0], p[2])
			continue
		}
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", `form-data; name="`+p[0]+`"; filename="`+p[1]+`"`)
		h.Set("Content-Type", "application/octet-stream")
		w, err := mw.CreatePart(h)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.WriteString(w, p[2])
	}
	_ = mw.Close()
	return mw.FormDataContentType(), &buf
}

func TestDeploymentAndXML(t *testing.T) {
	f := New()
	f.SetItems(20)
	srv := httptest.NewServer(f)
	defer srv.Close()
	ct, body := multipartBody(t, [3]string{"resources", "order.bpmn", BPMN("order-process")}, [3]string{"tenantId", "", "t1"},
		[3]string{"resources", "form.form", `{"id":"f"}`})
	resp, err := http.Post(srv.URL+"/v2/deployments", ct, body)
	if err != nil {
		t.Fatal(err)
	}
	var out struct {
		TenantID, DeploymentKey string
		Deployments             []struct {
			ProcessDefinition *struct {
				ProcessDefinitionID, ResourceName, ProcessDefinitionKey string
				ProcessDefinitionVersion                                int
			}
			Resource *struct{ ResourceName string }
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != 200 {
		t.Fatalf("%d %v", resp.StatusCode, err)
	}
	resp.Body.Close()
	pd := out.Deployments[0].ProcessDefinition
	if out.TenantID != "t1" || len(out.Deployments) != 2 || pd == nil || pd.ProcessDefinitionID != "order-process" ||
		pd.ResourceName != "order.bpmn" || pd.ProcessDefinitionVersion != 1 || out.Deployments[1].Resource == nil {
		t.Fatalf("deployment result %+v", out)
	}
	d := f.Deployments()
	if len(d) != 1 || len(d[0].Resources) != 2 || d[0].Resources[0].FileName != "order.bpmn" || d[0].Resources[0].ContentType != "application/octet-stream" {
		t.Errorf("recorded %+v", d)
	}

	resp, err = http.Get(srv.URL + "/v2/process-definitions/" + pd.ProcessDefinitionKey + "/xml")
	if err != nil {
		t.Fatal(err)
	}
	x, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.Header.Get("Content-Type") != "text/xml" || string(x) != BPMN("order-process") {
		t.Errorf("deployed XML: %s %s", resp.Header.Get("Content-Type"), x)
	}
	resp, _ = http.Get(srv.URL + "/v2/process-definitions/" + key(DefinitionKeyBase, 13) + "/xml")
	x, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if bpmnProcessID(x) != "process-3" {
		t.Errorf("synthetic XML: %s", x)
	}
	resp, _ = http.Get(srv.URL + "/v2/process-definitions/1/xml")
	resp.Body.Close()
	if resp.StatusCode != 404 || resp.Header.Get("Content-Type") != "application/problem+json" {
		t.Errorf("unknown key: %d", resp.StatusCode)
	}

	if status, b := post(t, srv.URL+"/v2/deployments", `{}`); status != 400 || !strings.Contains(string(b), "multipart/form-data") {
		t.Errorf("JSON deployment: %d %s", status, b)
	}

	status, b := post(t, srv.URL+"/v2/process-instances", `{"processDefinitionId":"order-process","variables":{"n":1}}`)
	var created map[string]any
	_ = json.Unmarshal(b, &created)
	if status != 200 || created["processDefinitionKey"] != pd.ProcessDefinitionKey || created["variables"].(map[string]any)["n"] != 1.0 {
		t.Fatalf("create: %d %s", status, b)
	}
	resp, _ = http.Get(srv.URL + "/v2/process-instances/" + created["processInstanceKey"].(string))
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(b), `"state":"ACTIVE"`) {
		t.Errorf("get created: %d %s", resp.StatusCode, b)
	}
	if status, _ := post(t, srv.URL+"/v2/process-instances", `{"processDefinitionId":"nope"}`); status != 404 {
		t.Errorf("unknown process: %d", status)
	}
	if status, _ := post(t, srv.URL+"/v2/incidents/"+key(IncidentKeyBase, 2)+"/resolution", ``); status != 204 {
		t.Errorf("resolve: %d", status)
	}
	if r := f.Resolved(); len(r) != 1 || r[0] != key(IncidentKeyBase, 2) {
		t.Errorf("resolved %v", r)
	}
}

// Scripted answers and auth apply to the new routes as to topology: a
// POST answered 401 once, then served, with both bodies recorded.
func TestScriptAuthAndLogOnPost(t *testing.T) {
	f := New()
	f.SetItems(5)
	f.RequireBasic("u", "p")
	f.Script(Unauthorized, Reply{Drop: true})
	srv := httptest.NewServer(f)
	defer srv.Close()
	send := func() (*http.Response, error) {
		req, _ := http.NewRequest("POST", srv.URL+"/v2/process-instances/search?x=1", strings.NewReader(`{"page":{"limit":2}}`))
		req.Header.Set("Content-Type", "application/json")
		req.SetBasicAuth("u", "p")
		return http.DefaultClient.Do(req)
	}
	resp, err := send()
	if err != nil || resp.StatusCode != 401 {
		t.Fatalf("scripted 401: %v %v", resp, err)
	}
	resp.Body.Close()
	if _, err := send(); err == nil {
		t.Fatal("dropped connection: no error")
	}
	resp, err = send()
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("served: %v %v", resp, err)
	}
	resp.Body.Close()
	log := f.Log()
	if len(log) != 3 {
		t.Fatalf("%d requests logged", len(log))
	}
	for _, r := range log {
		if r.Method != "POST" || r.Path != "/v2/process-instances/search" || r.Query != "x=1" ||
			r.ContentType != "application/json" || string(r.Body) != `{"page":{"limit":2}}` {
			t.Errorf("logged %+v", r)
		}
	}
	req, _ := http.NewRequest("POST", srv.URL+"/v2/process-instances/search", strings.NewReader(`{}`))
	req.Header.Set("Content-Type", "application/json")
	resp, _ = http.DefaultClient.Do(req)
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Errorf("no credentials: %d", resp.StatusCode)
	}

	// A scripted body stands in for the endpoint's own, behind auth.
	f.Script(Reply{Body: `{"items":[],"page":{"totalItems":0}}`}, TooManyRequests)
	resp, _ = send()
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(b) != `{"items":[],"page":{"totalItems":0}}` {
		t.Errorf("scripted body: %d %s", resp.StatusCode, b)
	}
	resp, _ = send()
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 429 || !strings.Contains(string(b), `"title":"RESOURCE_EXHAUSTED"`) {
		t.Errorf("scripted 429: %d %s", resp.StatusCode, b)
	}
}
