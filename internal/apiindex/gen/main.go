// Command gen writes index_gen.go of package apiindex: the operations of the
// Orchestration Cluster REST API (method, path template, one-line summary,
// whether it is a paginable search, whether it is eventually consistent),
// read from the OpenAPI spec in testdata/openapi. It runs from
// `go generate ./internal/apiindex`; TestIndexIsCurrent fails when the
// committed file is not what it would write.
//
// It refuses a spec it cannot index faithfully (servers with different base
// paths, per-path servers, a parameter that is only part of a segment, a
// $ref'd path item) instead of writing a wrong index: the new parts of a later
// spec must then be handled here first.
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"go/format"
	"os"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

func main() {
	spec := flag.String("spec", "../../testdata/openapi/rest-api.yaml", "the OpenAPI spec (YAML)")
	out := flag.String("o", "index_gen.go", "the Go file to write")
	flag.Parse()
	if err := run(*spec, *out); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func run(specPath, outPath string) error {
	src, err := os.ReadFile(specPath) // #nosec G304 -- a path given by the developer running go generate
	if err != nil {
		return fmt.Errorf("reading the spec: %w", err)
	}
	code, err := generate(src)
	if err != nil {
		return fmt.Errorf("%s: %w", specPath, err)
	}
	if err := os.WriteFile(outPath, code, 0o644); err != nil { // #nosec G306 -- a source file of the repository
		return fmt.Errorf("writing the index: %w", err)
	}
	return nil
}

// The parts of an OpenAPI 3.0 document the index needs; yaml ignores the rest.
type document struct {
	OpenAPI string `yaml:"openapi"`
	Info    struct {
		Title   string `yaml:"title"`
		Version string `yaml:"version"`
	} `yaml:"info"`
	Servers    []server                        `yaml:"servers"`
	Paths      map[string]map[string]yaml.Node `yaml:"paths"`
	Components struct {
		Schemas       map[string]*schema      `yaml:"schemas"`
		RequestBodies map[string]*requestBody `yaml:"requestBodies"`
	} `yaml:"components"`
}

type server struct {
	URL string `yaml:"url"`
}

type operation struct {
	Summary              string       `yaml:"summary"`
	OperationID          string       `yaml:"operationId"`
	EventuallyConsistent bool         `yaml:"x-eventually-consistent"`
	RequestBody          *requestBody `yaml:"requestBody"`
	Servers              []server     `yaml:"servers"`
}

type requestBody struct {
	Ref     string `yaml:"$ref"`
	Content map[string]struct {
		Schema *schema `yaml:"schema"`
	} `yaml:"content"`
}

type schema struct {
	Ref        string               `yaml:"$ref"`
	Properties map[string]yaml.Node `yaml:"properties"`
	AllOf      []*schema            `yaml:"allOf"`
	OneOf      []*schema            `yaml:"oneOf"`
	AnyOf      []*schema            `yaml:"anyOf"`
}

// methodOrder is the order of an operation's methods in the index (and so
// in Methods and in completion): the usual reading order, not the alphabet.
func methodOrder() []string {
	return []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"}
}

type entry struct {
	method, path, summary        string
	search, eventuallyConsistent bool
}

// generate returns the gofmt'ed source of index_gen.go for the spec src.
func generate(src []byte) ([]byte, error) {
	var doc document
	if err := yaml.Unmarshal(src, &doc); err != nil {
		return nil, fmt.Errorf("parsing the spec: %w", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		return nil, fmt.Errorf("openapi %q: only OpenAPI 3 specs are supported", doc.OpenAPI)
	}
	base, err := basePath(doc.Servers)
	if err != nil {
		return nil, err
	}
	if len(doc.Paths) == 0 {
		return nil, errors.New("the spec has no paths")
	}
	var entries []entry
	for path, item := range doc.Paths {
		if err := checkTemplate(path); err != nil {
			return nil, err
		}
		for key, node := range item {
			method := strings.ToUpper(key)
			switch {
			case key == "$ref":
				return nil, fmt.Errorf("path %s: a $ref'd path item is not supported", path)
			case key == "servers":
				return nil, fmt.Errorf("path %s: its own servers are not supported (every path must be relative to %s)", path, base)
			case !slices.Contains(methodOrder(), method) || key != strings.ToLower(key):
				continue // parameters, summary, description, x-...
			}
			var op operation
			if err := node.Decode(&op); err != nil {
				return nil, fmt.Errorf("%s %s: %w", method, path, err)
			}
			if len(op.Servers) > 0 {
				return nil, fmt.Errorf("%s %s: its own servers are not supported (every path must be relative to %s)", method, path, base)
			}
			search := false
			if method == "POST" && strings.HasSuffix(path, "/search") {
				if search, err = hasPage(&doc, op.RequestBody); err != nil {
					return nil, fmt.Errorf("%s %s: %w", method, path, err)
				}
			}
			summary := op.Summary
			if summary == "" {
				summary = op.OperationID
			}
			entries = append(entries, entry{method, path, oneLine(summary), search, op.EventuallyConsistent})
		}
	}
	if len(entries) == 0 {
		return nil, errors.New("the spec has no operations")
	}
	order := methodOrder()
	slices.SortFunc(entries, func(a, b entry) int {
		if c := strings.Compare(a.path, b.path); c != 0 {
			return c
		}
		return slices.Index(order, a.method) - slices.Index(order, b.method)
	})

	var b bytes.Buffer
	b.WriteString("// Code generated by \"go run ./gen\" from the OpenAPI spec; DO NOT EDIT.\n\n")
	b.WriteString("package apiindex\n\n")
	fmt.Fprintf(&b, "// BasePath is the path of the spec's server URL: every path of the API is\n// relative to it.\nconst BasePath = %q\n\n", base)
	fmt.Fprintf(&b, "// operations returns the %d operations of %q\n// (OpenAPI %s, info.version %q), sorted by path, then method.\n", len(entries), doc.Info.Title, doc.OpenAPI, doc.Info.Version)
	b.WriteString("// Columns: Method, Path, Summary, Search, EventuallyConsistent.\n// A function, not a variable: no package state to change.\n")
	b.WriteString("func operations() []Operation {\n\treturn []Operation{\n")
	for _, e := range entries {
		fmt.Fprintf(&b, "\t\t{%q, %q, %q, %t, %t},\n", e.method, e.path, e.summary, e.search, e.eventuallyConsistent)
	}
	b.WriteString("\t}\n}\n")
	code, err := format.Source(b.Bytes())
	if err != nil {
		return nil, fmt.Errorf("formatting the index: %w", err)
	}
	return code, nil
}

// basePath returns the path part of the servers' URLs ("/v2" for
// "{schema}://{host}:{port}/v2"), which every path of the spec is relative to.
func basePath(servers []server) (string, error) {
	if len(servers) == 0 {
		return "", errors.New("the spec names no server URL, so the base path of its paths is unknown")
	}
	base := ""
	for i, s := range servers {
		p := s.URL
		if _, rest, ok := strings.Cut(p, "://"); ok {
			p = ""
			if j := strings.IndexByte(rest, '/'); j >= 0 {
				p = rest[j:]
			}
		}
		p = strings.TrimSuffix(p, "/")
		if strings.ContainsAny(p, "{}?#") {
			return "", fmt.Errorf("server URL %q: a variable, query or fragment in its path is not supported", s.URL)
		}
		if i > 0 && p != base {
			return "", fmt.Errorf("server URLs %q and %q have different paths; the index supports one base path", servers[0].URL, s.URL)
		}
		base = p
	}
	return base, nil
}

// checkTemplate refuses the path templates Match could not match one
// segment per parameter.
func checkTemplate(path string) error {
	if !strings.HasPrefix(path, "/") || path == "/" || strings.HasSuffix(path, "/") || strings.Contains(path, "//") {
		return fmt.Errorf("path %q: not of the form /segment/segment", path)
	}
	for seg := range strings.SplitSeq(path[1:], "/") {
		if !strings.ContainsAny(seg, "{}") {
			continue
		}
		if len(seg) < 3 || seg[0] != '{' || seg[len(seg)-1] != '}' || strings.ContainsAny(seg[1:len(seg)-1], "{}") {
			return fmt.Errorf("path %q: segment %q: a parameter must be a whole segment", path, seg)
		}
	}
	return nil
}

// hasPage reports whether the JSON request body has a top-level "page"
// property (through $refs and allOf/oneOf/anyOf): what makes a search
// paginable (spec §9, --paginate).
func hasPage(doc *document, rb *requestBody) (bool, error) {
	for seen := 0; rb != nil && rb.Ref != ""; seen++ {
		name, ok := strings.CutPrefix(rb.Ref, "#/components/requestBodies/")
		if !ok || seen > 10 {
			return false, fmt.Errorf("request body $ref %q: only local, non-circular references are supported", rb.Ref)
		}
		if rb = doc.Components.RequestBodies[name]; rb == nil {
			return false, fmt.Errorf("request body $ref %q: not in the spec", name)
		}
	}
	if rb == nil {
		return false, nil
	}
	media, ok := rb.Content["application/json"]
	if !ok || media.Schema == nil {
		return false, nil
	}
	return schemaHas(doc, media.Schema, "page", map[string]bool{})
}

func schemaHas(doc *document, s *schema, prop string, seen map[string]bool) (bool, error) {
	if s == nil {
		return false, nil
	}
	if s.Ref != "" {
		name, ok := strings.CutPrefix(s.Ref, "#/components/schemas/")
		if !ok {
			return false, fmt.Errorf("schema $ref %q: only local references are supported", s.Ref)
		}
		if seen[name] {
			return false, nil // a cycle adds no property
		}
		seen[name] = true
		target, ok := doc.Components.Schemas[name]
		if !ok {
			return false, fmt.Errorf("schema $ref %q: not in the spec", name)
		}
		return schemaHas(doc, target, prop, seen)
	}
	if _, ok := s.Properties[prop]; ok {
		return true, nil
	}
	for _, sub := range slices.Concat(s.AllOf, s.OneOf, s.AnyOf) {
		if ok, err := schemaHas(doc, sub, prop, seen); ok || err != nil {
			return ok, err
		}
	}
	return false, nil
}

// oneLine makes a summary one line of single spaces, without a final full
// stop: it is a completion description and part of one-line notes.
func oneLine(s string) string {
	return strings.TrimSuffix(strings.Join(strings.Fields(s), " "), ".")
}
