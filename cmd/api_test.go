package cmd

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// echoed is what the echo server saw of a request.
type echoed struct {
	Method      string            `json:"method"`
	Path        string            `json:"path"`
	Query       string            `json:"query"`
	ContentType string            `json:"contentType"`
	Accept      string            `json:"accept"`
	Auth        string            `json:"auth"`
	Header      map[string]string `json:"header"`
	Body        string            `json:"body"`
	Parts       []string          `json:"parts"`
}

// echoServer answers every request with what it saw, except the paths
// of answers: /xml (BPMN), /binary, /problem404, /html502, /fail500.
func echoServer(t *testing.T) (*httptest.Server, func() []echoed) {
	t.Helper()
	var mu sync.Mutex
	var seen []echoed
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e := echoed{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, ContentType: r.Header.Get("Content-Type"),
			Accept: r.Header.Get("Accept"), Auth: r.Header.Get("Authorization"), Header: map[string]string{"X-Trace": r.Header.Get("X-Trace")}}
		if mt, params, err := mime.ParseMediaType(e.ContentType); err == nil && mt == "multipart/form-data" {
			mr := multipart.NewReader(r.Body, params["boundary"])
			for {
				p, err := mr.NextPart()
				if err != nil {
					break
				}
				b, _ := io.ReadAll(p)
				e.Parts = append(e.Parts, fmt.Sprintf("%s|%s|%s|%s", p.FormName(), p.FileName(), p.Header.Get("Content-Type"), b))
			}
		} else {
			b, _ := io.ReadAll(r.Body)
			e.Body = string(b)
		}
		mu.Lock()
		seen = append(seen, e)
		mu.Unlock()
		switch r.URL.Path {
		case "/v2/xml":
			w.Header().Set("Content-Type", "text/xml")
			fmt.Fprint(w, `<?xml version="1.0"?><bpmn:definitions id="d">`+"\x1b[2J"+`</bpmn:definitions>`)
		case "/v2/binary":
			w.Header().Set("Content-Type", "application/octet-stream")
			_, _ = w.Write([]byte{0, 1, 2, 0x1b, '[', '2', 'J', 0xff})
		case "/v2/problem404":
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(404)
			fmt.Fprint(w, `{"type":"about:blank","title":"NOT_FOUND","status":404,"detail":"Process instance with key '42' not found"}`)
		case "/v2/html502":
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(502)
			fmt.Fprint(w, `<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>`)
		case "/v2/fail500":
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(500)
			fmt.Fprint(w, `{"title":"INTERNAL","status":500,"detail":"boom"}`)
		case "/v2/denied":
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(403)
			fmt.Fprint(w, `{"title":"FORBIDDEN","status":403,"detail":"no permission"}`)
		case "/v2/unauthorized":
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(401)
			fmt.Fprint(w, `{"title":"UNAUTHORIZED","status":401,"detail":"who are you"}`)
		case "/v2/empty":
			w.WriteHeader(204)
		case "/v2/badjson":
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"a":1} trailing garbage`)
		case "/v2/proces-instances/123":
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(404)
			fmt.Fprint(w, `{"timestamp":"2026-12-02T00:00:00Z","status":404,"error":"Not Found","path":"/v2/proces-instances/123"}`)
		case "/v2/process-instances/42":
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(404)
			fmt.Fprint(w, `{"title":"NOT_FOUND","status":404,"detail":"Process instance with key '42' not found"}`)
		default:
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("X-Echo", "yes")
			_ = json.NewEncoder(w).Encode(e)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, func() []echoed {
		mu.Lock()
		defer mu.Unlock()
		return append([]echoed(nil), seen...)
	}
}

func TestAPIRequests(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	vars := write("vars.json", `{"orderId": "A-1"}`)
	bpmn := write("order.bpmn", `<definitions/>`)
	input := write("body.json", `{"processDefinitionId":"order"}`)
	for _, tc := range []struct {
		name  string
		args  []string
		stdin string
		want  echoed
	}{
		{"path forms: bare", []string{"topology"}, "", echoed{Method: "GET", Path: "/v2/topology"}},
		{"path forms: /v2", []string{"/v2/topology"}, "", echoed{Method: "GET", Path: "/v2/topology"}},
		{"fields make a POST with JSON", []string{"/process-instances", "-f", "processDefinitionId=order", "-F", "variables=@" + vars},
			"", echoed{Method: "POST", Path: "/v2/process-instances", ContentType: "application/json", Body: `{"processDefinitionId":"order","variables":{"orderId":"A-1"}}`}},
		{"GET fields are the query", []string{"-X", "GET", "/system/usage-metrics", "-f", "startTime=2026-01-01T00:00:00Z", "-f", "endTime=2026-02-01T00:00:00Z"},
			"", echoed{Method: "GET", Path: "/v2/system/usage-metrics", Query: "endTime=2026-02-01T00%3A00%3A00Z&startTime=2026-01-01T00%3A00%3A00Z"}},
		{"-X without a body", []string{"-X", "post", "/incidents/7/resolution"}, "", echoed{Method: "POST", Path: "/v2/incidents/7/resolution"}},
		{"--input file", []string{"/process-instances", "--input", input}, "", echoed{Method: "POST", Path: "/v2/process-instances", ContentType: "application/json", Body: `{"processDefinitionId":"order"}`}},
		{"--input stdin", []string{"/process-instances", "--input", "-"}, `{"a":1}`, echoed{Method: "POST", Path: "/v2/process-instances", ContentType: "application/json", Body: `{"a":1}`}},
		{"-H Content-Type wins", []string{"/x", "--input", input, "-H", "Content-Type: application/vnd.camunda+json"}, "", echoed{Method: "POST", Path: "/v2/x", ContentType: "application/vnd.camunda+json", Body: `{"processDefinitionId":"order"}`}},
		{"--input with fields: fields are the query", []string{"/x", "--input", input, "-f", "a=1"}, "", echoed{Method: "POST", Path: "/v2/x", Query: "a=1", ContentType: "application/json", Body: `{"processDefinitionId":"order"}`}},
		{"--form multipart", []string{"/deployments", "--form", "resources=@" + bpmn, "--form", "tenantId=<default>"}, "",
			echoed{Method: "POST", Path: "/v2/deployments", Parts: []string{"resources|order.bpmn|application/xml|<definitions/>", "tenantId|||<default>"}}},
		{"extra header", []string{"/topology", "-H", "X-Trace: 1"}, "", echoed{Method: "GET", Path: "/v2/topology", Header: map[string]string{"X-Trace": "1"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, seen := echoServer(t)
			f, in, out, errOut := testFactory(t, map[string]string{"CAMUNDA_REST_ADDRESS": srv.URL})
			in.WriteString(tc.stdin)
			if code := run(t, f, append([]string{"api"}, tc.args...)...); code != 0 {
				t.Fatalf("exit %d; stderr:\n%s", code, errOut)
			}
			got := seen()
			if len(got) != 1 {
				t.Fatalf("%d requests; want 1", len(got))
			}
			g := got[0]
			if tc.want.Header == nil {
				tc.want.Header = map[string]string{"X-Trace": ""}
			}
			if g.Accept != "*/*" {
				t.Errorf("Accept = %q; want */*", g.Accept)
			}
			g.Accept, g.Auth = "", ""
			if strings.HasPrefix(g.ContentType, "multipart/form-data; boundary=") {
				g.ContentType = ""
			}
			gb, _ := json.Marshal(g)
			wb, _ := json.Marshal(tc.want)
			if string(gb) != string(wb) {
				t.Errorf("request\n got %s\nwant %s", gb, wb)
			}
			// Not a terminal: the body exactly as the server sent it.
			var back echoed
			if err := json.Unmarshal(out.Bytes(), &back); err != nil || !strings.HasSuffix(out.String(), "}\n") {
				t.Errorf("stdout is not the server's body unchanged: %q", out)
			}
		})
	}
}

func TestAPIRefusals(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	arrayFile := filepath.Join(dir, "array.json")
	if err := os.WriteFile(arrayFile, []byte("[1]"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"absolute URL", []string{"https://evil.example/v2/topology"}, ExitUsage, "absolute URL"},
		{"scheme-relative URL", []string{"//evil.example/v2/topology"}, ExitUsage, "absolute URL"},
		{"climbing out of /v2", []string{"/../actuator/health"}, ExitUsage, `".." segment`},
		{"Authorization header", []string{"/topology", "-H", "Authorization: Bearer x"}, ExitUsage, "the profile supplies the credentials"},
		{"authorization header in lower case", []string{"/topology", "-H", "authorization: Basic eA=="}, ExitUsage, "the profile supplies the credentials"},
		{"malformed header", []string{"/topology", "-H", "NoColon"}, ExitUsage, "give 'Name: value'"},
		{"field without value", []string{"/x", "-f", "novalue"}, ExitUsage, "has no value"},
		{"GET with --input", []string{"-X", "GET", "/x", "--input", "-"}, ExitUsage, "GET sends no body"},
		{"--input and --form", []string{"/x", "--input", "-", "--form", "a=b"}, ExitUsage, "use one"},
		{"missing --input file", []string{"/x", "--input", filepath.Join(dir, "nope.json")}, ExitUsage, "nope.json"},
		{"--paginate on GET", []string{"/topology", "--paginate"}, ExitUsage, "POST .../search"},
		{"--paginate on a non-search POST", []string{"-X", "POST", "/process-instances", "--paginate"}, ExitUsage, "not one"},
		{"--paginate with --include", []string{"/process-instances/search", "--paginate", "-i"}, ExitUsage, "--include"},
		{"bad jq", []string{"/topology", "--jq", ".["}, ExitUsage, "--jq"},
		{"--silent with --jq", []string{"/topology", "--silent", "--jq", "."}, ExitUsage, "--silent"},
		{"no PATH", []string{}, ExitUsage, "PATH"},
		{"control character in a header", []string{"/topology", "-H", "X-Bad: a\x01b"}, ExitUsage, "control character"},
		{"header name with a bracket", []string{"/topology", "-H", "Bad(Name): v"}, ExitUsage, "give 'Name: value'"},
		{"method with a space", []string{"-X", "GE T", "/topology"}, ExitUsage, "is not an HTTP method"},
		{"bad query string", []string{"topology?%zz"}, ExitUsage, "query string"},
		{"encoded ..", []string{"/%2e%2e/topology"}, ExitUsage, `".."`},
		{"--paginate with a JSON array", []string{"/process-instances/search", "--paginate", "--input", arrayFile}, ExitUsage, "needs a JSON object"},
		{"--paginate with --form", []string{"/process-instances/search", "--paginate", "--form", "a=b"}, ExitUsage, "not --form"},
		{"--paginate with a page that is no object", []string{"/process-instances/search", "--paginate", "-f", "page=10"}, ExitUsage, "page must be an object"},
		{"--paginate with a page.from that is no number", []string{"/process-instances/search", "--paginate", "-f", "page[from]=x"}, ExitUsage, "page.from must be a number"},
		{"--paginate with page[before]", []string{"/process-instances/search", "--paginate", "-f", "page[before]=abc"}, ExitUsage, "drop page.before"},
		{"-F @ of a missing file", []string{"/x", "-F", "email=@example.com"}, ExitUsage, "use -f email=..."},
		{"--form ;filename= with a path", []string{"/deployments", "--form", "resources=@-;filename=../x.bpmn"}, ExitUsage, "plain file name"},
		{"-o json", []string{"/topology", "-o", "json"}, ExitUsage, "-o json does not apply to camctl api: it prints the answer as the server sent it; --jq reshapes JSON"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, seen := echoServer(t)
			f, _, out, errOut := testFactory(t, map[string]string{"CAMUNDA_REST_ADDRESS": srv.URL})
			code := run(t, f, append([]string{"api"}, tc.args...)...)
			if code != tc.code || !strings.Contains(errOut.String(), tc.want) {
				t.Errorf("exit %d, stderr:\n%s\nwant exit %d and %q", code, errOut, tc.code, tc.want)
			}
			if out.Len() != 0 || len(seen()) != 0 {
				t.Errorf("a refused request printed %q and sent %d requests", out, len(seen()))
			}
		})
	}
}

func TestAPIAnswers(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name       string
		args       []string
		tty        bool
		code       int
		stdout     string // exact, or with a leading "~" a substring
		stderr     string
		stdoutNone bool
	}{
		{"XML unchanged to a file", []string{"/xml"}, false, 0, `<?xml version="1.0"?><bpmn:definitions id="d">` + "\x1b[2J" + `</bpmn:definitions>`, "", false},
		{"XML made safe on a terminal", []string{"/xml"}, true, 0, `<?xml version="1.0"?><bpmn:definitions id="d"></bpmn:definitions>` + "\n", "", false},
		{"binary unchanged to a file", []string{"/binary"}, false, 0, string([]byte{0, 1, 2, 0x1b, '[', '2', 'J', 0xff}), "", false},
		{"binary not shown on a terminal", []string{"/binary"}, true, 0, "", "not shown on a terminal", true},
		{"204", []string{"-X", "POST", "/empty"}, false, 0, "", "", true},
		{"pretty on a terminal", []string{"/topology"}, true, 0, "~{\n  \"method\": \"GET\",\n  \"path\": \"/v2/topology\",", "", false},
		{"--silent", []string{"/topology", "--silent"}, false, 0, "", "", true},
		{"--silent --include: headers only", []string{"/topology", "--silent", "-i"}, false, 0, "~HTTP/1.1 200 OK\n", "", false},
		{"invalid JSON on a terminal is shown as text", []string{"/badjson"}, true, 0, "{\"a\":1} trailing garbage\n", "not valid JSON", false},
		{"404 of an unknown path: check PATH", []string{"/proces-instances/123"}, false, ExitError, "", "Check PATH", true},
		{"404 problem of a known path: no hint", []string{"/process-instances/42"}, false, ExitError, "", "profile (environment): GET", true},
		{"--include", []string{"/topology", "-i"}, false, 0, "~HTTP/1.1 200 OK\nContent-Length: ", "", false},
		{"--include shows the echo header", []string{"/topology", "-i"}, false, 0, "~X-Echo: yes\n\n{\"method\"", "", false},
		{"--jq raw strings", []string{"/topology", "--jq", ".method, .path, {m: .method}"}, false, 0, "GET\n/v2/topology\n{\"m\":\"GET\"}\n", "", false},
		{"--jq on a terminal", []string{"/topology", "-q", "{m: .method}"}, true, 0, "{\n  \"m\": \"GET\"\n}\n", "", false},
		{"404 problem: exit 1, problem on stderr", []string{"/problem404"}, false, ExitError, "", "Process instance with key '42' not found", true},
		{"404 with --include prints the answer", []string{"/problem404", "-i"}, false, ExitError, "~HTTP/1.1 404 Not Found\n", "NOT_FOUND", false},
		{"401: exit 3", []string{"/unauthorized"}, false, ExitAuth, "", "who are you", true},
		{"403: exit 3", []string{"/denied"}, false, ExitAuth, "", "no permission", true},
		{"500: exit 5", []string{"-X", "POST", "/fail500"}, false, ExitServer, "", "boom", true},
		{"502 HTML page: exit 5 with an excerpt", []string{"/html502"}, false, ExitServer, "", "502 Bad Gateway", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, _ := echoServer(t)
			f, _, out, errOut := testFactory(t, map[string]string{"CAMUNDA_REST_ADDRESS": srv.URL, "NO_COLOR": "1"})
			if tc.tty {
				f.IO.SetTTY(false, true, false)
			}
			args := append([]string{"api", "--timeout", "5s"}, tc.args...)
			code := run(t, f, args...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d; stderr:\n%s", code, tc.code, errOut)
			}
			switch {
			case tc.stdoutNone:
				if out.Len() != 0 {
					t.Errorf("stdout = %q; want nothing", out)
				}
			case strings.HasPrefix(tc.stdout, "~"):
				if !strings.Contains(out.String(), tc.stdout[1:]) {
					t.Errorf("stdout = %q; want it to contain %q", out, tc.stdout[1:])
				}
			case out.String() != tc.stdout:
				t.Errorf("stdout = %q; want %q", out, tc.stdout)
			}
			if tc.stderr != "" && !strings.Contains(errOut.String(), tc.stderr) {
				t.Errorf("stderr = %q; want %q", errOut, tc.stderr)
			}
		})
	}
}

// A server that echoes the credential in a header, the status line and
// a problem detail: --include and the error go through the redactor;
// only the body that was asked for is printed as it came.
func TestAPIEchoedCredentials(t *testing.T) {
	t.Parallel()
	const password = "Zq4-rT8yU2iO6pA1"
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte("demo:"+password))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Echo-Auth", r.Header.Get("Authorization"))
		w.Header().Set("X-Echo-Evil", "\u202eowned\u200b"+password)
		if r.URL.Path == "/v2/fail" {
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(400)
			fmt.Fprintf(w, `{"title":"INVALID_ARGUMENT","status":400,"detail":"bad password %s in %s"}`, password, r.Header.Get("Authorization"))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"you":%q}`, password)
	}))
	t.Cleanup(srv.Close)
	env := map[string]string{"CAMUNDA_REST_ADDRESS": srv.URL, "CAMUNDA_AUTH_STRATEGY": "BASIC",
		"CAMUNDA_BASIC_AUTH_USERNAME": "demo", "CAMUNDA_BASIC_AUTH_PASSWORD": password}
	for _, args := range [][]string{{"api", "-i", "/topology"}, {"api", "-i", "/fail"}, {"api", "/fail"}, {"api", "--debug", "-i", "/topology"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			f, _, out, errOut := testFactory(t, env)
			run(t, f, args...)
			head, body, _ := strings.Cut(out.String(), "\n\n")
			if args[len(args)-1] == "/topology" {
				if body != `{"you":"`+password+`"}` {
					t.Errorf("the body asked for was changed: %q (stdout %q, stderr %q)", body, out, errOut)
				}
			} else {
				head = out.String() // an error body is not the data asked for... but -i prints it: check the head only
				head, _, _ = strings.Cut(head, "\n\n")
			}
			for name, text := range map[string]string{"headers": head, "stderr": errOut.String()} {
				for _, secret := range []string{password, basic, strings.TrimPrefix(basic, "Basic ")} {
					if strings.Contains(text, secret) {
						t.Errorf("%s leak %q:\n%s", name, secret, text)
					}
				}
				if strings.ContainsAny(text, "\x1b\x07\u202e\u200b") {
					t.Errorf("%s carry terminal controls: %q", name, text)
				}
			}
		})
	}
}

func TestAPICompletion(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		want []string
		not  []string
	}{
		{[]string{"__complete", "api", "/proc"}, []string{"/process-definitions/\t", "/process-instances\t", "/process-instances/\t", ":6"}, []string{"/topology"}},
		{[]string{"__complete", "api", "/process-instances/"}, []string{"/process-instances/search\t", "/process-instances/{processInstanceKey}\tGET Get process instance"}, nil},
		{[]string{"__complete", "api", "/topology", "-X", ""}, []string{"GET\n", ":4"}, []string{"POST"}},
		{[]string{"__complete", "api", "-X", ""}, []string{"GET\n", "POST\n", "DELETE\n"}, nil},
	} {
		t.Run(strings.Join(tc.args[2:], " "), func(t *testing.T) {
			f, _, out, errOut := testFactory(t, nil)
			if code := run(t, f, tc.args...); code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			for _, w := range tc.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("completion lacks %q:\n%s", w, out)
				}
			}
			for _, n := range tc.not {
				if strings.Contains(out.String(), n) {
					t.Errorf("completion offers %q:\n%s", n, out)
				}
			}
		})
	}
}

func TestAPIUnknownPathIsSentWithANote(t *testing.T) {
	t.Parallel()
	srv, seen := echoServer(t)
	f, _, out, errOut := testFactory(t, map[string]string{"CAMUNDA_REST_ADDRESS": srv.URL})
	if code := run(t, f, "api", "-X", "POST", "/no-such-endpoint", "-f", "a=b"); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if got := errOut.String(); strings.Count(got, "\n") != 1 || !strings.HasPrefix(got, "Note: POST /no-such-endpoint is not in the Camunda 8.8 REST API") {
		t.Errorf("stderr = %q; want one note line", got)
	}
	if len(seen()) != 1 || out.Len() == 0 {
		t.Errorf("the request was not sent or its answer not printed")
	}
	// A known endpoint gets no note.
	f, _, _, errOut = testFactory(t, map[string]string{"CAMUNDA_REST_ADDRESS": srv.URL})
	if code := run(t, f, "api", "/topology"); code != 0 || errOut.Len() != 0 {
		t.Errorf("GET /topology: exit %d, stderr %q; want 0 and nothing", code, errOut)
	}
}
