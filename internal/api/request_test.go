package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestAPIPath(t *testing.T) {
	for _, tc := range []struct{ in, want, err string }{
		{"topology", "/topology", ""},
		{"/topology", "/topology", ""},
		{"/v2/topology", "/topology", ""},
		{"v2/topology", "/topology", ""},
		{"/v2", "/", ""},
		{"/process-instances/search?x=1", "/process-instances/search?x=1", ""},
		{"/v2x/topology", "/v2x/topology", ""},
		{"https://evil.example/v2/topology", "", "absolute URL"},
		{"http://localhost:8080/v2/topology", "", "absolute URL"},
		{"//evil.example/v2/topology", "", "absolute URL"},
		{"/../actuator/health", "", `".." segment`},
		{"/a/./b", "", `"." segment`},
		{"", "", "PATH is empty"},
		{"/topo logy", "", "white space"},
		{"/topo\x7flogy", "", "control characters"},
		{"/%2e%2e/topology", "", `"..`},
		{"/%2E%2E/topology", "", `"..`},
		{"/a%2f..%2fb", "", `"..`},
		{"/..;/actuator", "", `"..;"`},
		{`/..\actuator`, "", `".."`},
		{`\\evil.example\x`, "", "absolute URL"},
		{"/topology?%zz", "", "query string"},
		{"/a%zz", "", "not a valid URL path"},
		{"/process-instances/search?x=%20", "/process-instances/search?x=%20", ""},
		{"/a..b/c.d", "/a..b/c.d", ""},
	} {
		got, err := APIPath(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("APIPath(%q) = %q, %v; want an error with %q", tc.in, got, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("APIPath(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

// recorder answers from a list of statuses (the last one repeats) and
// records each request's method, path, query and body.
type recorder struct {
	mu       sync.Mutex
	statuses []int
	titles   []string
	got      []string
	headers  []http.Header
}

func (rec *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rec.mu.Lock()
	i := len(rec.got)
	rec.got = append(rec.got, fmt.Sprintf("%s %s?%s %s", r.Method, r.URL.Path, r.URL.RawQuery, body))
	rec.headers = append(rec.headers, r.Header.Clone())
	status := rec.statuses[min(i, len(rec.statuses)-1)]
	title := ""
	if len(rec.titles) > 0 {
		title = rec.titles[min(i, len(rec.titles)-1)]
	}
	rec.mu.Unlock()
	if status >= 300 {
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(status)
		fmt.Fprintf(w, `{"title":%q,"status":%d,"detail":"attempt %d"}`, title, status, i+1)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"attempt":%d}`, i+1)
}

func (rec *recorder) requests() []string {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return append([]string(nil), rec.got...)
}

type countingRefresher struct {
	mu       sync.Mutex
	token    string
	refreshs int
}

func (c *countingRefresher) Authorize(_ context.Context, r *http.Request) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	r.Header.Set("Authorization", "Bearer "+c.token)
	return nil
}

func (c *countingRefresher) Refresh(context.Context) (bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.refreshs++
	c.token = fmt.Sprintf("fresh-%d", c.refreshs)
	return true, nil
}

func newDoClient(t *testing.T, h http.Handler, auth Authorizer) *Client {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	c, err := New(Options{Address: srv.URL, Auth: auth, Retries: 2, Backoff: func(int) time.Duration { return time.Millisecond }})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestDoRetriesByMethod(t *testing.T) {
	for _, tc := range []struct {
		name     string
		method   string
		statuses []int
		titles   []string
		attempts int
		status   int // 0: success
	}{
		{"GET after 503", "GET", []int{503, 503, 200}, nil, 3, 0},
		{"GET after 502 and 504", "GET", []int{502, 504, 200}, nil, 3, 0},
		{"GET gives up after the retries", "GET", []int{503}, nil, 3, 503},
		{"GET not after 500", "GET", []int{500, 200}, nil, 1, 500},
		{"POST after 429", "POST", []int{429, 200}, nil, 2, 0},
		{"POST after 503 RESOURCE_EXHAUSTED", "POST", []int{503, 200}, []string{"RESOURCE_EXHAUSTED"}, 2, 0},
		{"POST not after a plain 503", "POST", []int{503, 200}, []string{"Service Unavailable"}, 1, 503},
		{"POST not after 502", "POST", []int{502, 200}, nil, 1, 502},
		{"POST not after 500", "POST", []int{500, 200}, []string{"RESOURCE_EXHAUSTED"}, 1, 500},
		{"DELETE not after 504", "DELETE", []int{504, 200}, nil, 1, 504},
		{"PATCH after 429", "PATCH", []int{429, 429, 429}, nil, 3, 429},
		{"no retry after 404", "GET", []int{404, 200}, nil, 1, 404},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recorder{statuses: tc.statuses, titles: tc.titles}
			c := newDoClient(t, rec, nil)
			req := &Request{Method: tc.method, Path: "/jobs/activation"}
			if tc.method != "GET" {
				req.Body = BytesBody([]byte(`{"type":"x"}`), "application/json")
			}
			resp, err := c.Do(context.Background(), req)
			var herr *HTTPError
			switch {
			case tc.status == 0 && err != nil:
				t.Fatalf("Do = %v; want success", err)
			case tc.status != 0 && (!errors.As(err, &herr) || herr.StatusCode != tc.status):
				t.Fatalf("Do = %v; want the %d", err, tc.status)
			}
			if resp != nil {
				resp.Body.Close()
			}
			got := rec.requests()
			if len(got) != tc.attempts {
				t.Fatalf("%d attempts, want %d: %q", len(got), tc.attempts, got)
			}
			for _, g := range got {
				if tc.method != "GET" && !strings.HasSuffix(g, ` {"type":"x"}`) {
					t.Errorf("attempt %q did not carry the whole body", g)
				}
			}
		})
	}
}

func TestDoNeverResendsAfterABrokenConnection(t *testing.T) {
	var mu sync.Mutex
	n := 0
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		n++
		mu.Unlock()
		_, _ = io.ReadAll(r.Body)
		conn, _, _ := w.(http.Hijacker).Hijack()
		conn.Close() // the request arrived; the answer never does
	})
	c := newDoClient(t, h, nil)
	_, err := c.Do(context.Background(), &Request{Method: "POST", Path: "/process-instances", Body: BytesBody([]byte(`{}`), "application/json")})
	var ne *NetError
	if !errors.As(err, &ne) {
		t.Fatalf("Do = %v; want a network error", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if n != 1 {
		t.Errorf("the POST arrived %d times; a broken connection must not resend it", n)
	}
}

func TestDoRefreshesOnceAndReplaysTheBody(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "vars.json")
	if err := os.WriteFile(file, []byte(`{"variables":{"a":1}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	fromFile, err := InputBody(file, &Sources{})
	if err != nil {
		t.Fatal(err)
	}
	fromStdin, err := InputBody("-", &Sources{Stdin: strings.NewReader(`{"variables":{"a":1}}`)})
	if err != nil {
		t.Fatal(err)
	}
	form, err := FormBody([]FormPart{{Name: "resources", File: file}}, &Sources{})
	if err != nil {
		t.Fatal(err)
	}
	for name, body := range map[string]*Body{"file": fromFile, "stdin": fromStdin, "multipart": form} {
		t.Run(name, func(t *testing.T) {
			var bodies []string
			var mu sync.Mutex
			h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				b, _ := io.ReadAll(r.Body)
				mu.Lock()
				bodies = append(bodies, string(b))
				mu.Unlock()
				if r.Header.Get("Authorization") != "Bearer fresh-1" {
					w.WriteHeader(http.StatusUnauthorized)
					return
				}
				w.WriteHeader(http.StatusOK)
			})
			auth := &countingRefresher{token: "stale"}
			c := newDoClient(t, h, auth)
			resp, err := c.Do(context.Background(), &Request{Method: "POST", Path: "/process-instances", Body: body})
			if err != nil {
				t.Fatalf("Do = %v; want success after one refresh", err)
			}
			resp.Body.Close()
			mu.Lock()
			defer mu.Unlock()
			if len(bodies) != 2 || bodies[0] != bodies[1] || !strings.Contains(bodies[1], `{"variables":{"a":1}}`) {
				t.Errorf("bodies sent: %q; want the same whole body twice", bodies)
			}
			if auth.refreshs != 1 {
				t.Errorf("%d refreshes; want 1", auth.refreshs)
			}
		})
	}
	t.Run("a second 401 is the answer", func(t *testing.T) {
		rec := &recorder{statuses: []int{401}}
		auth := &countingRefresher{token: "stale"}
		c := newDoClient(t, rec, auth)
		_, err := c.Do(context.Background(), &Request{Method: "POST", Path: "/x", Body: BytesBody([]byte("{}"), "application/json")})
		var herr *HTTPError
		if !errors.As(err, &herr) || herr.StatusCode != 401 || len(rec.requests()) != 2 || auth.refreshs != 1 {
			t.Errorf("Do = %v after %d requests, %d refreshes; want the 401 after 2 requests and 1 refresh", err, len(rec.requests()), auth.refreshs)
		}
	})
}

func TestDoHeadersAndQuery(t *testing.T) {
	rec := &recorder{statuses: []int{200}}
	c := newDoClient(t, rec, &countingRefresher{token: "profile-token"})
	h := http.Header{}
	h.Set("Accept", "text/xml")
	h.Set("Authorization", "Bearer smuggled")
	h.Set("X-Trace", "1")
	resp, err := c.Do(context.Background(), &Request{Method: "GET", Path: "/usage?a=1", Query: map[string][]string{"b": {"2"}}, Header: h})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	got := rec.requests()[0]
	if got != "GET /v2/usage?a=1&b=2 " {
		t.Errorf("request = %q", got)
	}
	hdr := rec.headers[0]
	if hdr.Get("Accept") != "text/xml" || hdr.Get("X-Trace") != "1" || hdr.Get("Authorization") != "Bearer profile-token" {
		t.Errorf("headers = %v; want the user's Accept and X-Trace, the profile's Authorization", hdr)
	}
	// Accept is */* unless the user says otherwise.
	resp, err = c.Do(context.Background(), &Request{Method: "GET", Path: "/topology"})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if a := rec.headers[1].Get("Accept"); a != "*/*" {
		t.Errorf("default Accept = %q; want */*", a)
	}
}

// searchServer pages over n items with cursors "c<offset>"; repeatAt, if
// positive, makes the page at that offset send the previous cursor again.
func searchServer(t *testing.T, n, limit, repeatAt int, nullLast bool, bodies *[]string) *Client {
	var mu sync.Mutex
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		mu.Lock()
		*bodies = append(*bodies, string(raw))
		mu.Unlock()
		var req struct {
			Page struct {
				Limit int    `json:"limit"`
				After string `json:"after"`
				From  *int   `json:"from"`
			} `json:"page"`
		}
		if err := json.Unmarshal(raw, &req); err != nil {
			w.WriteHeader(400)
			return
		}
		size := limit
		if req.Page.Limit > 0 {
			size = req.Page.Limit
		}
		start := 0
		if req.Page.From != nil && repeatAt >= 0 {
			start = *req.Page.From
		} else if req.Page.After != "" && repeatAt != -2 {
			fmt.Sscanf(req.Page.After, "c%d", &start)
		}
		end := min(start+size, n)
		var items []string
		for i := start; i < end; i++ {
			items = append(items, fmt.Sprintf(`{"key":"%d"}`, i))
		}
		cursor := fmt.Sprintf(`"c%d"`, end)
		if repeatAt > 0 && start >= repeatAt || repeatAt == -2 {
			cursor = fmt.Sprintf(`"c%d"`, start)
		}
		if end >= n && nullLast {
			cursor = "null"
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"items":[%s],"page":{"totalItems":%d,"startCursor":"c%d","endCursor":%s},"extra":true}`, strings.Join(items, ","), min(n, 10), start, cursor)
	})
	return newDoClient(t, h, nil)
}

func TestPaginate(t *testing.T) {
	for _, tc := range []struct {
		name      string
		n, limit  int
		body      string
		repeatAt  int
		nullLast  bool
		wantItems int
		wantReqs  int
		wantErr   bool
	}{
		{"cursor to an empty page", 25, 10, `{"filter":{"state":"ACTIVE"},"sort":[{"field":"startDate"}],"page":{"limit":10}}`, 0, false, 25, 4, false},
		{"null cursor ends it", 25, 10, `{"page":{"limit":10}}`, 0, true, 25, 3, false},
		{"totalItems capped is no stop rule", 25, 5, `{}`, 0, false, 25, 6, false},
		{"offset form", 25, 10, `{"page":{"from":0,"limit":10}}`, 0, false, 25, 4, false},
		{"repeated cursor", 50, 10, `{"page":{"limit":10}}`, 20, false, 30, 3, true},
		{"no items at all", 0, 10, `{}`, 0, false, 0, 1, false},
		{"offset ignored by the server", 25, 10, `{"page":{"from":0,"limit":10}}`, -1, false, 10, 2, true},
		{"cursor ignored by the server", 25, 10, `{"page":{"limit":10}}`, -2, false, 10, 2, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var bodies []string
			c := searchServer(t, tc.n, tc.limit, tc.repeatAt, tc.nullLast, &bodies)
			var out bytes.Buffer
			m := NewMerger(&out)
			err := c.Paginate(context.Background(), &Request{Method: "POST", Path: "/process-instances/search"}, []byte(tc.body), m.Add)
			if cerr := m.Close(); cerr != nil {
				t.Fatal(cerr)
			}
			var rc *RepeatedCursorError
			if tc.wantErr != errors.As(err, &rc) || !tc.wantErr && err != nil {
				t.Fatalf("Paginate = %v; want repeated-cursor error: %v", err, tc.wantErr)
			}
			if len(bodies) != tc.wantReqs {
				t.Errorf("%d requests, want %d: %q", len(bodies), tc.wantReqs, bodies)
			}
			var doc struct {
				Items []struct{ Key string } `json:"items"`
				Page  map[string]any         `json:"page"`
				Extra bool                   `json:"extra"`
			}
			if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
				t.Fatalf("merged output is not one JSON document: %v\n%s", err, out.String())
			}
			if len(doc.Items) != tc.wantItems {
				t.Fatalf("%d items, want %d", len(doc.Items), tc.wantItems)
			}
			for i, it := range doc.Items {
				if it.Key != fmt.Sprint(i) {
					t.Fatalf("item %d is %q: out of order or duplicated", i, it.Key)
				}
			}
			if !doc.Extra {
				t.Errorf("the first page's other members were lost: %s", out.String())
			}
			// Filter and sort of the first request go with every page.
			var first map[string]json.RawMessage
			_ = json.Unmarshal([]byte(tc.body), &first)
			for _, b := range bodies[1:] {
				var next map[string]json.RawMessage
				_ = json.Unmarshal([]byte(b), &next)
				for _, k := range []string{"filter", "sort"} {
					if string(first[k]) != string(next[k]) {
						t.Errorf("page request %s lost %s of the first %s", b, k, tc.body)
					}
				}
			}
		})
	}
}

func TestPaginateRefusesNonObjects(t *testing.T) {
	var bodies []string
	c := searchServer(t, 1, 1, 0, false, &bodies)
	for _, body := range []string{`[]`, `"x"`, `{"page":"x"}`, `{"page":{"from":"a"}}`} {
		err := c.Paginate(context.Background(), &Request{Method: "POST", Path: "/x/search"}, []byte(body), func(*Page) error { return nil })
		var ns *NotSearchError
		if !errors.As(err, &ns) {
			t.Errorf("Paginate(%s) = %v; want a NotSearchError", body, err)
		}
	}
	if len(bodies) != 0 {
		t.Errorf("requests were sent for invalid search bodies: %q", bodies)
	}
}

// A credential in an extra header (`camctl api -H 'X-Api-Key: ...'`)
// never follows a redirect to another origin, like Authorization; other
// headers do, as Go sends them.
func TestDoRedirectDropsCredentialHeaders(t *testing.T) {
	var seen http.Header
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = r.Header.Clone()
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(target.Close)
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL+"/v2/moved", http.StatusTemporaryRedirect)
	}))
	t.Cleanup(origin.Close)
	c, err := New(Options{Address: origin.URL, Retries: -1})
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{}
	h.Set("X-Api-Key", "gw-key-1")
	h.Set("Cookie", "session=s1")
	h.Set("X-Trace", "t1")
	resp, err := c.Do(context.Background(), &Request{Method: "GET", Path: "/topology", Header: h})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if seen == nil {
		t.Fatal("the redirect was not followed")
	}
	if seen.Get("X-Api-Key") != "" || seen.Get("Cookie") != "" || seen.Get("X-Trace") != "t1" {
		t.Errorf("headers at the other origin: %v; want no X-Api-Key or Cookie, X-Trace kept", seen)
	}
}
