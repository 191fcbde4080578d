// Package apiindex holds the operations of the Orchestration Cluster REST
// API, from its OpenAPI spec (testdata/openapi/rest-api.yaml, Camunda 8.8),
// built into the binary. `camctl api` (spec §9) completes PATH and -X from
// it, and notes in one line a path or method the spec does not know, which
// it sends anyway: the index helps, it never refuses.
//
// index_gen.go is generated from the spec by ./gen: after changing the spec
// run `go generate ./internal/apiindex` (a test fails until then).
package apiindex

//go:generate go run ./gen

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode"
)

// API names the API this index describes, in notes. It changes with the
// spec in testdata/openapi (whose info.version, "0.1", does not say).
const API = "Camunda 8.8 REST API"

// Operation is one operation of the API.
type Operation struct {
	Method  string // GET, POST, PUT, PATCH, DELETE (upper case)
	Path    string // the template, relative to BasePath: /process-instances/{processInstanceKey}
	Summary string // the spec's summary, one line, no final full stop
	// Search: POST .../search whose request has a page: it pages with
	// page.after/endCursor (--paginate).
	Search bool
	// EventuallyConsistent: the spec's x-eventually-consistent, a read that
	// may not yet show what was just written.
	EventuallyConsistent bool
}

// Operations returns the operations of the API, sorted by path, then by
// method in the order GET, HEAD, POST, PUT, PATCH, DELETE. The slice is the
// caller's.
func Operations() []Operation { return operations() }

// Match finds the operation for a concrete request path relative to the API
// base: "/process-instances/2251799813685249", "process-instances/search",
// "/v2/topology" (with or without the leading slash or BasePath; a query
// string or fragment is ignored). An empty method is GET, as in net/http;
// HEAD is known wherever GET is; methods are case-sensitive, as in HTTP.
//
// A {param} of a template matches one non-empty segment. Where several
// templates match, it decides as the server's router (Spring MVC) does: among
// the templates that have the method, the most specific wins, a literal
// segment beating a parameter from the left (/process-instances/search beats
// /process-instances/{processInstanceKey}). So GET /users/search is GET
// /users/{username}: only POST /users/search exists (Note says so).
//
// A trailing slash makes another path: Spring 6 no longer matches
// /topology/ to /topology, so neither does Match (Note suggests the path
// without it).
//
// pathKnown reports whether some template matches the path; then op.Path is
// the most specific one even when methodKnown is false (op.Method is then
// empty).
func Match(method, path string) (op Operation, pathKnown, methodKnown bool) {
	if method == "" {
		method = "GET"
	}
	matched, hit := find(method, segments(relative(path)))
	switch {
	case hit >= 0:
		return operation(matched[hit], method), true, true
	case len(matched) > 0:
		return Operation{Path: matched[0].path}, true, false
	}
	return Operation{}, false, false
}

// find returns the templates that match segs, most specific first, and the
// index of the first that serves the method (-1 if none does).
func find(method string, segs []string) (matched []template, hit int) {
	matched = matching(segs)
	for i, t := range matched {
		if slices.ContainsFunc(t.ops, func(op Operation) bool { return serves(op, method) }) {
			return matched, i
		}
	}
	return matched, -1
}

// serves reports whether op answers method. HEAD is the GET operation
// without the body (RFC 9110 §9.3.2; Spring MVC answers it for every GET
// mapping), so it gets no note.
func serves(op Operation, method string) bool {
	return op.Method == method || method == "HEAD" && op.Method == "GET"
}

// operation returns the template's operation that serves method, as method.
func operation(t template, method string) Operation {
	i := slices.IndexFunc(t.ops, func(op Operation) bool { return op.Method == method })
	if i < 0 {
		i = slices.IndexFunc(t.ops, func(op Operation) bool { return serves(op, method) })
	}
	op := t.ops[i]
	op.Method = method
	return op
}

// Note returns "" for a method and path of the API, else one short line for
// stderr: the request is not in the API (and is sent anyway), naming the
// methods the path has when only the method is unknown, or the path without
// its trailing slash when that is known. One known request gets a note too:
// one that reaches a parameter only because a more specific template lacks
// its method (GET /process-instances/search is GET
// /process-instances/{processInstanceKey} with the key "search": the search
// takes POST), almost always a forgotten -X POST or body.
func Note(method, path string) string {
	if method == "" {
		method = "GET"
	}
	rel := relative(path)
	shown := rel
	if strings.ContainsFunc(rel, unicode.IsControl) {
		shown = strconv.Quote(rel) // the note stays one line
	}
	matched, hit := find(method, segments(rel))
	switch {
	case hit == 0:
		return ""
	case hit > 0:
		return fmt.Sprintf("Note: %s takes %s in the %s; %s %s is %s %s.",
			matched[0].path, strings.Join(matched[0].methods(), ", "), API, method, shown, method, matched[hit].path)
	case len(matched) > 0:
		return fmt.Sprintf("Note: %s %s is not in the %s this camctl knows (%s has %s); sending it anyway.",
			method, shown, API, matched[0].path, strings.Join(matched[0].methods(), ", "))
	}
	if trimmed := strings.TrimRight(rel, "/"); trimmed != rel && trimmed != "" {
		if _, hit := find(method, segments(trimmed)); hit >= 0 {
			return fmt.Sprintf("Note: %s %s is not in the %s this camctl knows (%s %s is, without the trailing slash); sending it anyway.",
				method, shown, API, method, trimmed)
		}
	}
	return fmt.Sprintf("Note: %s %s is not in the %s this camctl knows; sending it anyway.", method, shown, API)
}

// Methods returns the methods of the template that a path matches (the most
// specific one, as Match), in the order of Operations: for -X completion.
// It returns nil for a path the API does not have.
func Methods(path string) []string {
	matched := matching(segments(relative(path)))
	if len(matched) == 0 {
		return nil
	}
	return matched[0].methods()
}

// Complete returns completion candidates for PATH, cobra style ("value\t
// description"), that begin with toComplete, in its spelling (with or
// without the leading slash or BasePath).
//
// It completes one segment at a time, as a shell completes file names:
// "/process-instances/" is a directory of 14 operations, so the list at
// each TAB stays short (about 40 at the top instead of 120 paths) and
// bash/zsh insert the common prefix. A segment that is an endpoint and has
// more below it is offered both ways ("/process-instances", to send, and
// "/process-instances/", to go on); a directory with a single path below
// it and nothing to type in that path is offered whole ("/authentication/me",
// "/clock/reset"), saving a TAB. Parameters are shown as the template names
// them ("/process-instances/{processInstanceKey}"); once the user has typed
// a value in their place ("/process-instances/2251799813685249"), that value
// stands for the parameter and what follows the template is offered after
// it. (Where a parameter is the only way on, as after "/resources/", the
// shell inserts its name, which the user then types over: completion cannot
// show a candidate without making it insertable.) A literal segment that
// matches hides the parameters beside it, as on the server, so
// "/process-instances/search/" offers nothing. noSpace is true when a
// candidate ends with "/": the shell must not add a space after it
// (cobra.ShellCompDirectiveNoSpace); a path that is complete gets one.
//
// Endpoint descriptions are the methods and summaries
// ("GET Get user; PUT Update user; DELETE Delete user"), directory
// descriptions count the operations below and name the next segments.
func Complete(toComplete string) (candidates []string, noSpace bool) {
	if strings.ContainsAny(toComplete, "?#") {
		return nil, false // a query string is the user's
	}
	lead, rest := "/", toComplete
	if toComplete != "" && !strings.HasPrefix(toComplete, "/") {
		lead = ""
	}
	rest = strings.TrimPrefix(rest, "/")
	var out []string
	if base := strings.TrimPrefix(BasePath, "/"); base != "" {
		if after, ok := strings.CutPrefix(rest, base+"/"); ok {
			lead, rest = lead+base+"/", after
		} else if rest != "" && strings.HasPrefix(base, rest) {
			out = append(out, lead+base+"/\tthe same paths, after the base path "+BasePath)
		}
	}
	parts := strings.Split(rest, "/")
	done, partial := parts[:len(parts)-1], parts[len(parts)-1]

	// The templates that continue the complete segments, a literal segment
	// that matches excluding the parameters beside it (as in Match).
	ts := templates()
	for i, seg := range done {
		var literal, param []template
		for _, t := range ts {
			switch {
			case len(t.segs) <= i:
			case t.segs[i] == seg:
				literal = append(literal, t)
			case isParam(t.segs[i]) && seg != "":
				param = append(param, t)
			}
		}
		ts = literal
		if len(literal) == 0 {
			ts = param
		}
	}
	k := len(done)
	ts = slices.DeleteFunc(ts, func(t template) bool { return len(t.segs) <= k })

	// The next segment: what the templates name there, or the value the
	// user is typing in place of a parameter when no literal fits it.
	typingValue := partial != "" && !strings.HasPrefix(partial, "{") &&
		!slices.ContainsFunc(ts, func(t template) bool { return !isParam(t.segs[k]) && strings.HasPrefix(t.segs[k], partial) })
	type node struct {
		ops      []Operation // of the template that ends here
		below    []template  // the templates further down
		children []string    // their next segments
	}
	nodes := map[string]*node{}
	for _, t := range ts {
		seg := t.segs[k]
		switch {
		case typingValue && isParam(seg):
			seg = partial
		case !strings.HasPrefix(seg, partial):
			continue
		}
		n := nodes[seg]
		if n == nil {
			n = &node{}
			nodes[seg] = n
		}
		if len(t.segs) == k+1 {
			n.ops = append(n.ops, t.ops...)
			continue
		}
		n.below = append(n.below, t)
		if next := t.segs[k+1]; !slices.Contains(n.children, next) {
			n.children = append(n.children, next)
		}
	}
	prefix := lead
	if k > 0 {
		prefix += strings.Join(done, "/") + "/"
	}
	for seg, n := range nodes {
		if len(n.ops) > 0 {
			out = append(out, prefix+seg+"\t"+describe(n.ops))
		}
		switch {
		case len(n.below) == 1 && !slices.ContainsFunc(n.below[0].segs[k+1:], isParam):
			// One path below, nothing to type in it: offer it whole
			// (/authentication/me), not a directory to open first.
			t := n.below[0]
			out = append(out, prefix+seg+"/"+strings.Join(t.segs[k+1:], "/")+"\t"+describe(t.ops))
		case len(n.below) > 0:
			ops := 0
			for _, t := range n.below {
				ops += len(t.ops)
			}
			out = append(out, fmt.Sprintf("%s%s/\t%s: %s", prefix, seg, plural(ops, "operation"), strings.Join(n.children, " ")))
		}
	}
	slices.Sort(out)
	noSpace = slices.ContainsFunc(out, func(c string) bool { v, _, _ := strings.Cut(c, "\t"); return strings.HasSuffix(v, "/") })
	return out, noSpace
}

// template is a path of the API with its operations.
type template struct {
	path string
	segs []string
	ops  []Operation
}

func (t template) methods() []string {
	m := make([]string, len(t.ops))
	for i, op := range t.ops {
		m[i] = op.Method
	}
	return m
}

// templates groups the operations by path, in the order of Operations.
func templates() []template {
	var ts []template
	for _, op := range operations() {
		if n := len(ts); n > 0 && ts[n-1].path == op.Path {
			ts[n-1].ops = append(ts[n-1].ops, op)
			continue
		}
		ts = append(ts, template{path: op.Path, segs: segments(op.Path), ops: []Operation{op}})
	}
	return ts
}

// matching returns the templates that match the segments of a path, most
// specific first: comparing from the left, a literal segment before a
// parameter.
func matching(segs []string) []template {
	var out []template
	for _, t := range templates() {
		if len(t.segs) == len(segs) && matches(t.segs, segs) {
			out = append(out, t)
		}
	}
	slices.SortStableFunc(out, func(a, b template) int {
		for i := range a.segs {
			if pa, pb := isParam(a.segs[i]), isParam(b.segs[i]); pa != pb {
				if pa {
					return 1
				}
				return -1
			}
		}
		return 0
	})
	return out
}

func matches(tsegs, segs []string) bool {
	for i, t := range tsegs {
		if isParam(t) {
			if segs[i] == "" {
				return false
			}
		} else if t != segs[i] {
			return false
		}
	}
	return true
}

func isParam(seg string) bool { return strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}") }

// relative returns a request path relative to the API base with one leading
// slash: "topology", "/topology", "/v2/topology" and "v2/topology?x=1" are
// all "/topology". A trailing slash stays (see Match).
func relative(path string) string {
	if i := strings.IndexAny(path, "?#"); i >= 0 {
		path = path[:i]
	}
	path = strings.TrimPrefix(path, "/")
	if base := strings.TrimPrefix(BasePath, "/"); base != "" {
		if path == base {
			path = ""
		} else if after, ok := strings.CutPrefix(path, base+"/"); ok {
			path = after
		}
	}
	return "/" + path
}

// segments splits a path that begins with "/"; "/" is one empty segment,
// which no template has.
func segments(path string) []string { return strings.Split(strings.TrimPrefix(path, "/"), "/") }

func describe(ops []Operation) string {
	parts := make([]string, len(ops))
	for i, op := range ops {
		parts[i] = op.Method + " " + op.Summary
	}
	return strings.Join(parts, "; ")
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return strconv.Itoa(n) + " " + word + "s"
}
