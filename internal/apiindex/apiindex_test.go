package apiindex

import (
	"os"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// The index against the spec, read here as plain YAML maps (not through the
// generator's types): every operation is there once, with its summary and
// x-eventually-consistent, every search endpoint is marked Search, and
// nothing else is.
func TestIndexHasEveryOperationOfTheSpec(t *testing.T) {
	src, err := os.ReadFile("../../testdata/openapi/rest-api.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Servers []struct{ URL string }
		Paths   map[string]map[string]any
	}
	if err := yaml.Unmarshal(src, &doc); err != nil {
		t.Fatal(err)
	}
	for _, s := range doc.Servers {
		if !strings.HasSuffix(s.URL, BasePath) || BasePath != "/v2" {
			t.Errorf("server URL %q, BasePath %q: the spec's paths are relative to /v2", s.URL, BasePath)
		}
	}
	type key struct{ method, path string }
	spec := map[key]map[string]any{}
	var searches []key
	for path, item := range doc.Paths {
		for m, v := range item {
			switch m {
			case "get", "put", "post", "delete", "patch", "head", "options", "trace":
			default:
				continue
			}
			k := key{strings.ToUpper(m), path}
			spec[k], _ = v.(map[string]any)
			if m == "post" && strings.HasSuffix(path, "/search") {
				searches = append(searches, k)
			}
		}
	}
	ops := Operations()
	if len(ops) != len(spec) || len(spec) < 140 {
		t.Errorf("the index has %d operations, the spec %d (the 8.8 spec has 146)", len(ops), len(spec))
	}
	if len(searches) < 30 {
		t.Errorf("the spec has %d POST .../search operations; expected about 35: is this the 8.8 spec?", len(searches))
	}
	seen := map[key]bool{}
	for _, op := range ops {
		k := key{op.Method, op.Path}
		raw, ok := spec[k]
		switch {
		case !ok:
			t.Errorf("%s %s is in the index, not in the spec", op.Method, op.Path)
			continue
		case seen[k]:
			t.Errorf("%s %s is twice in the index", op.Method, op.Path)
		}
		seen[k] = true
		summary, _ := raw["summary"].(string)
		if op.Summary == "" || op.Summary != strings.TrimSuffix(strings.Join(strings.Fields(summary), " "), ".") {
			t.Errorf("%s %s: summary %q, the spec's %q", op.Method, op.Path, op.Summary, summary)
		}
		ec, _ := raw["x-eventually-consistent"].(bool)
		if op.EventuallyConsistent != ec {
			t.Errorf("%s %s: EventuallyConsistent %v, the spec's x-eventually-consistent %v", op.Method, op.Path, op.EventuallyConsistent, raw["x-eventually-consistent"])
		}
		if want := slices.Contains(searches, k); op.Search != want {
			t.Errorf("%s %s: Search %v, want %v (every 8.8 POST .../search takes a page)", op.Method, op.Path, op.Search, want)
		}
	}
}

func TestOperationsOrderAndCopy(t *testing.T) {
	ops := Operations()
	rank := func(m string) int { return slices.Index([]string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"}, m) }
	for i := 1; i < len(ops); i++ {
		a, b := ops[i-1], ops[i]
		if a.Path > b.Path || a.Path == b.Path && rank(a.Method) >= rank(b.Method) {
			t.Errorf("not sorted by path, then method: %s %s before %s %s", a.Method, a.Path, b.Method, b.Path)
		}
	}
	ops[0].Path = "/changed"
	if Operations()[0].Path == "/changed" {
		t.Error("changing the slice Operations returned changed the index")
	}
}

func TestMatch(t *testing.T) {
	tests := []struct {
		name, method, path       string
		wantPath                 string // the template; "" when no path matches
		wantMethod               string // "" when the method is not known
		pathKnown, methodKnown   bool
		wantSearch, wantEventual bool
	}{
		{"literal", "GET", "/topology", "/topology", "GET", true, true, false, false},
		{"no leading slash", "GET", "topology", "/topology", "GET", true, true, false, false},
		{"base path", "GET", "/v2/topology", "/topology", "GET", true, true, false, false},
		{"base path, no leading slash", "GET", "v2/topology", "/topology", "GET", true, true, false, false},
		{"query string", "GET", "/v2/topology?pretty=1", "/topology", "GET", true, true, false, false},
		{"fragment", "GET", "topology#x", "/topology", "GET", true, true, false, false},
		{"empty method is GET", "", "/topology", "/topology", "GET", true, true, false, false},
		{"parameter", "GET", "/process-instances/2251799813685249", "/process-instances/{processInstanceKey}", "GET", true, true, false, true},
		{"literal beats parameter", "POST", "/process-instances/search", "/process-instances/search", "POST", true, true, true, true},
		{"literal beats parameter, no slash", "POST", "process-instances/search", "/process-instances/search", "POST", true, true, true, true},
		{"two parameters", "DELETE", "/tenants/acme/users/demo", "/tenants/{tenantId}/users/{username}", "DELETE", true, true, false, false},
		{"literal inside parameters", "POST", "/tenants/acme/users/search", "/tenants/{tenantId}/users/search", "POST", true, true, true, true},
		{"parameter below a literal", "POST", "/element-instances/ad-hoc-activities/123/activation", "/element-instances/ad-hoc-activities/{adHocSubProcessInstanceKey}/activation", "POST", true, true, false, false},
		{"parameter then literal", "GET", "/process-instances/123/call-hierarchy", "/process-instances/{processInstanceKey}/call-hierarchy", "GET", true, true, false, true},
		{"a parameter holding a percent-encoded slash", "GET", "/users/jo%2Fdoe", "/users/{username}", "GET", true, true, false, true},
		// The router picks among the templates with the method: GET
		// /users/search is GET /users/{username} (username "search").
		{"method decides between literal and parameter", "GET", "/users/search", "/users/{username}", "GET", true, true, false, true},
		{"HEAD is GET without the body", "HEAD", "/process-instances/1", "/process-instances/{processInstanceKey}", "HEAD", true, true, false, true},
		{"HEAD without GET", "HEAD", "/process-instances/1/cancellation", "/process-instances/{processInstanceKey}/cancellation", "", true, false, false, false},
		{"HEAD reaches the GET below a literal", "HEAD", "/process-instances/search", "/process-instances/{processInstanceKey}", "HEAD", true, true, false, true},
		{"unknown method", "DELETE", "/topology", "/topology", "", true, false, false, false},
		{"unknown method names the most specific template", "PATCH", "/process-instances/search", "/process-instances/search", "", true, false, false, false},
		{"methods are case-sensitive", "get", "/topology", "/topology", "", true, false, false, false},
		{"trailing slash", "GET", "/topology/", "", "", false, false, false, false},
		{"trailing slash after a parameter", "GET", "/process-instances/123/", "", "", false, false, false, false},
		{"empty parameter", "GET", "/process-instances//call-hierarchy", "", "", false, false, false, false},
		{"unknown path", "GET", "/foo", "", "", false, false, false, false},
		{"too long", "GET", "/topology/extra", "", "", false, false, false, false},
		{"base path twice", "GET", "/v2/v2/topology", "", "", false, false, false, false},
		{"base path alone", "GET", "/v2", "", "", false, false, false, false},
		{"root", "GET", "/", "", "", false, false, false, false},
		{"empty", "GET", "", "", "", false, false, false, false},
		{"case-sensitive path", "GET", "/Topology", "", "", false, false, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			op, pathKnown, methodKnown := Match(tt.method, tt.path)
			if op.Path != tt.wantPath || op.Method != tt.wantMethod || pathKnown != tt.pathKnown || methodKnown != tt.methodKnown ||
				op.Search != tt.wantSearch || op.EventuallyConsistent != tt.wantEventual {
				t.Errorf("Match(%q, %q) = %+v, %v, %v; want path %q method %q, %v, %v, Search %v, EventuallyConsistent %v",
					tt.method, tt.path, op, pathKnown, methodKnown, tt.wantPath, tt.wantMethod, tt.pathKnown, tt.methodKnown, tt.wantSearch, tt.wantEventual)
			}
			if methodKnown && op.Summary == "" {
				t.Errorf("Match(%q, %q): no summary", tt.method, tt.path)
			}
		})
	}
}

func TestNote(t *testing.T) {
	tests := []struct{ method, path, want string }{
		{"GET", "/topology", ""},
		{"GET", "v2/topology?x=1", ""},
		{"POST", "/process-instances/search", ""},
		{"GET", "/process-instances/2251799813685249", ""},
		{"", "/license", ""},
		{"POST", "/foo", "Note: POST /foo is not in the Camunda 8.8 REST API this camctl knows; sending it anyway."},
		{"GET", "/v2/foo/bar?baz=1", "Note: GET /foo/bar is not in the Camunda 8.8 REST API this camctl knows; sending it anyway."},
		{"GET", "/v2/v2/topology", "Note: GET /v2/topology is not in the Camunda 8.8 REST API this camctl knows; sending it anyway."},
		{"DELETE", "topology", "Note: DELETE /topology is not in the Camunda 8.8 REST API this camctl knows (/topology has GET); sending it anyway."},
		{"PATCH", "/users/demo", "Note: PATCH /users/demo is not in the Camunda 8.8 REST API this camctl knows (/users/{username} has GET, PUT, DELETE); sending it anyway."},
		{"get", "/topology", "Note: get /topology is not in the Camunda 8.8 REST API this camctl knows (/topology has GET); sending it anyway."},
		{"GET", "/topology/", "Note: GET /topology/ is not in the Camunda 8.8 REST API this camctl knows (GET /topology is, without the trailing slash); sending it anyway."},
		{"POST", "/process-instances/search//", "Note: POST /process-instances/search// is not in the Camunda 8.8 REST API this camctl knows (POST /process-instances/search is, without the trailing slash); sending it anyway."},
		{"DELETE", "/topology/", "Note: DELETE /topology/ is not in the Camunda 8.8 REST API this camctl knows; sending it anyway."},
		{"GET", "/v2/v2/topology/", "Note: GET /v2/topology/ is not in the Camunda 8.8 REST API this camctl knows; sending it anyway."},
		{"HEAD", "/topology", ""},
		{"HEAD", "/users/search", "Note: /users/search takes POST in the Camunda 8.8 REST API; HEAD /users/search is HEAD /users/{username}."},
		{"OPTIONS", "/topology", "Note: OPTIONS /topology is not in the Camunda 8.8 REST API this camctl knows (/topology has GET); sending it anyway."},
		// camctl api's default method is GET: a search without a body
		// reaches the parameter template (the server reads "search" as a key).
		{"GET", "/process-instances/search", "Note: /process-instances/search takes POST in the Camunda 8.8 REST API; GET /process-instances/search is GET /process-instances/{processInstanceKey}."},
		{"GET", "users/search", "Note: /users/search takes POST in the Camunda 8.8 REST API; GET /users/search is GET /users/{username}."},
		{"GET", "/a\nb", `Note: GET "/a\nb" is not in the Camunda 8.8 REST API this camctl knows; sending it anyway.`},
	}
	for _, tt := range tests {
		got := Note(tt.method, tt.path)
		if got != tt.want {
			t.Errorf("Note(%q, %q)\n got %q\nwant %q", tt.method, tt.path, got, tt.want)
		}
		if strings.Contains(got, "\n") {
			t.Errorf("Note(%q, %q) is more than one line", tt.method, tt.path)
		}
	}
}

func TestMethods(t *testing.T) {
	tests := []struct {
		path string
		want []string
	}{
		{"/topology", []string{"GET"}},
		{"v2/users/demo", []string{"GET", "PUT", "DELETE"}},
		{"/users/{username}", []string{"GET", "PUT", "DELETE"}},
		{"/users/search", []string{"POST"}}, // the literal template, not /users/{username}
		{"/process-instances", []string{"POST"}},
		{"/process-instances/1?x", []string{"GET"}},
		{"/foo", nil},
		{"/topology/", nil},
		{"", nil},
	}
	for _, tt := range tests {
		if got := Methods(tt.path); !slices.Equal(got, tt.want) {
			t.Errorf("Methods(%q) = %q, want %q", tt.path, got, tt.want)
		}
	}
}

func TestComplete(t *testing.T) {
	tests := []struct {
		toComplete string
		want       []string
		noSpace    bool
	}{
		{"/proc", []string{
			"/process-definitions/\t5 operations: search {processDefinitionKey}",
			"/process-instances\tPOST Create process instance",
			"/process-instances/\t13 operations: cancellation incident-resolution migration modification search {processInstanceKey}",
		}, true},
		// The user's spelling is kept: bash offers only candidates that
		// begin with the word typed.
		{"proc", []string{
			"process-definitions/\t5 operations: search {processDefinitionKey}",
			"process-instances\tPOST Create process instance",
			"process-instances/\t13 operations: cancellation incident-resolution migration modification search {processInstanceKey}",
		}, true},
		{"/v2/proc", []string{
			"/v2/process-definitions/\t5 operations: search {processDefinitionKey}",
			"/v2/process-instances\tPOST Create process instance",
			"/v2/process-instances/\t13 operations: cancellation incident-resolution migration modification search {processInstanceKey}",
		}, true},
		{"/process-instances/", []string{
			"/process-instances/cancellation\tPOST Create a batch operation to cancel process instances",
			"/process-instances/incident-resolution\tPOST Create a batch operation to resolve incidents of process instances",
			"/process-instances/migration\tPOST Create a batch operation to migrate process instances",
			"/process-instances/modification\tPOST Create a batch operation to modify process instances",
			"/process-instances/search\tPOST Search process instances",
			"/process-instances/{processInstanceKey}\tGET Get process instance",
			"/process-instances/{processInstanceKey}/\t7 operations: call-hierarchy cancellation incidents migration modification sequence-flows statistics",
		}, true},
		{"/process-instances/s", []string{"/process-instances/search\tPOST Search process instances"}, false},
		// A value typed in place of the parameter stands for it.
		{"/process-instances/2251799813685249", []string{
			"/process-instances/2251799813685249\tGET Get process instance",
			"/process-instances/2251799813685249/\t7 operations: call-hierarchy cancellation incidents migration modification sequence-flows statistics",
		}, true},
		{"/process-instances/2251799813685249/", []string{
			"/process-instances/2251799813685249/call-hierarchy\tGET Get call hierarchy for process instance",
			"/process-instances/2251799813685249/cancellation\tPOST Cancel process instance",
			"/process-instances/2251799813685249/incidents/search\tPOST Search for incidents associated with a process instance",
			"/process-instances/2251799813685249/migration\tPOST Migrate process instance",
			"/process-instances/2251799813685249/modification\tPOST Modify process instance",
			"/process-instances/2251799813685249/sequence-flows\tGET Get process instance sequence flows",
			"/process-instances/2251799813685249/statistics/element-instances\tGET Get process instance statistics",
		}, false},
		{"/process-instances/{processInstanceKey}/c", []string{
			"/process-instances/{processInstanceKey}/call-hierarchy\tGET Get call hierarchy for process instance",
			"/process-instances/{processInstanceKey}/cancellation\tPOST Cancel process instance",
		}, false},
		{"/process-instances/{", []string{
			"/process-instances/{processInstanceKey}\tGET Get process instance",
			"/process-instances/{processInstanceKey}/\t7 operations: call-hierarchy cancellation incidents migration modification sequence-flows statistics",
		}, true},
		{"/users/", []string{
			"/users/search\tPOST Search users",
			"/users/{username}\tGET Get user; PUT Update user; DELETE Delete user",
		}, false},
		// An endpoint with one literal path below it: both, whole.
		{"/clo", []string{"/clock\tPUT Pin internal clock (alpha)", "/clock/reset\tPOST Reset internal clock (alpha)"}, false},
		{"/auth", []string{
			"/authentication/me\tGET Get current user",
			"/authorizations\tPOST Create authorization",
			"/authorizations/\t4 operations: search {authorizationKey}",
		}, true},
		{"/top", []string{"/topology\tGET Get cluster topology"}, false},
		{"/v", []string{"/v2/\tthe same paths, after the base path /v2", "/variables/\t2 operations: search {variableKey}"}, true},
		{"v2", []string{"v2/\tthe same paths, after the base path /v2"}, true},
		// Literal segments win, as on the server: nothing continues a
		// literal that ends there.
		{"/process-instances/search/", nil, false},
		{"/process-instances/cancellation/", nil, false},
		{"/process-instances//", nil, false},
		{"/topology?", nil, false},
		{"/nothing", nil, false},
		{"https://", nil, false},
	}
	for _, tt := range tests {
		got, noSpace := Complete(tt.toComplete)
		if !slices.Equal(got, tt.want) || noSpace != tt.noSpace {
			t.Errorf("Complete(%q) = noSpace %v\n  %s\nwant noSpace %v\n  %s", tt.toComplete, noSpace, strings.Join(got, "\n  "), tt.noSpace, strings.Join(tt.want, "\n  "))
		}
		for _, c := range got {
			if !strings.HasPrefix(c, tt.toComplete) || strings.Count(c, "\t") != 1 {
				t.Errorf("Complete(%q): candidate %q does not begin with the word or is not value<TAB>description", tt.toComplete, c)
			}
		}
	}
}

// An empty PATH gets one candidate per top-level name (and the endpoints
// among them), each with a description, not the 120 paths.
func TestCompleteEmpty(t *testing.T) {
	got, noSpace := Complete("")
	if !noSpace || len(got) < 30 || len(got) > 50 {
		t.Fatalf("Complete(\"\") = %d candidates, noSpace %v; want 30 to 50, noSpace", len(got), noSpace)
	}
	for _, want := range []string{
		"/topology\tGET Get cluster topology",
		"/process-instances/\t13 operations: cancellation incident-resolution migration modification search {processInstanceKey}",
		"/authentication/me\tGET Get current user",
	} {
		if !slices.Contains(got, want) {
			t.Errorf("Complete(\"\") lacks %q", want)
		}
	}
	if slash, _ := Complete("/"); !slices.Equal(got, slash) {
		t.Error(`Complete("") and Complete("/") differ`)
	}
	// Every operation is reachable by completing segment after segment.
	reached := map[string]bool{}
	var walk func(word string, depth int)
	walk = func(word string, depth int) {
		cands, _ := Complete(word)
		for _, c := range cands {
			v, _, _ := strings.Cut(c, "\t")
			if strings.HasSuffix(v, "/") && depth < 8 {
				walk(v, depth+1)
			} else if !strings.HasSuffix(v, "/") {
				reached[v] = true
			}
		}
	}
	walk("", 0)
	for _, op := range Operations() {
		if !reached[op.Path] {
			t.Errorf("%s is not reached by completion from an empty PATH", op.Path)
		}
	}
}
