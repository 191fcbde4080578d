package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/fixture_gen.go.golden")

// The committed index is what the generator writes from the committed spec:
// a spec change without `go generate` (or a hand edit of index_gen.go) fails
// here, in the ordinary `go test ./...`.
func TestIndexIsCurrent(t *testing.T) {
	spec, err := os.ReadFile("../../../testdata/openapi/rest-api.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want, err := generate(spec)
	if err != nil {
		t.Fatalf("generating from testdata/openapi/rest-api.yaml: %v", err)
	}
	got, err := os.ReadFile("../index_gen.go")
	if err != nil {
		t.Fatalf("%v: run go generate ./internal/apiindex", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("internal/apiindex/index_gen.go is not what testdata/openapi/rest-api.yaml gives (first difference: %s): run go generate ./internal/apiindex",
			firstDiff(got, want))
	}
}

// The fixture has one of each case the generator decides: a search with a
// page through allOf and $refs (also a $ref'd request body), a search path
// without a page, a page on a path that is not a search, a GET on a search
// path, a self-referring schema, path-level parameters (not an operation), a
// summary over two lines with a full stop, a missing summary (operationId
// instead), a missing x-eventually-consistent (false), methods sorted GET
// before PATCH before DELETE, two server URLs with the same path, one with a
// trailing slash.
func TestGenerateFixture(t *testing.T) {
	spec, err := os.ReadFile("../testdata/fixture.yaml")
	if err != nil {
		t.Fatal(err)
	}
	got, err := generate(spec)
	if err != nil {
		t.Fatal(err)
	}
	golden := "../testdata/fixture_gen.go.golden"
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("generated index differs from %s (first difference: %s); go test ./internal/apiindex/gen -update rewrites it", golden, firstDiff(got, want))
	}
	if !strings.HasPrefix(string(got), "// Code generated ") || !strings.Contains(strings.SplitN(string(got), "\n", 2)[0], " DO NOT EDIT.") {
		t.Errorf("the first line is not a Go 'Code generated ... DO NOT EDIT.' header:\n%s", strings.SplitN(string(got), "\n", 2)[0])
	}
}

// `go run ./gen` writes the file it is told to, and a missing spec is an
// error naming it (what `go generate` prints).
func TestRun(t *testing.T) {
	out := filepath.Join(t.TempDir(), "index_gen.go")
	if err := run("../testdata/fixture.yaml", out); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(got), `{"POST", "/things/search", "Search things", true, true},`) {
		t.Errorf("written index lacks POST /things/search:\n%s", got)
	}
	err = run("no-such-spec.yaml", out)
	if err == nil || !strings.Contains(err.Error(), "no-such-spec.yaml") {
		t.Errorf("run with a missing spec: %v, want an error naming the file", err)
	}
}

// A spec the index could not describe faithfully stops the generator with
// what is wrong, instead of writing a wrong index.
func TestGenerateRefuses(t *testing.T) {
	const ok = "openapi: 3.0.3\nservers: [{url: 'http://localhost/v2'}]\n"
	tests := []struct{ name, spec, want string }{
		{"not YAML", "openapi: [", "parsing the spec"},
		{"Swagger 2", "swagger: '2.0'\npaths: {/a: {get: {}}}\n", `openapi "": only OpenAPI 3`},
		{"no server", "openapi: 3.0.3\npaths: {/a: {get: {}}}\n", "names no server URL"},
		{"two base paths", "openapi: 3.0.3\nservers: [{url: 'http://a/v2'}, {url: 'http://b/v1'}]\npaths: {/a: {get: {}}}\n", "have different paths"},
		{"variable in the base path", "openapi: 3.0.3\nservers: [{url: 'http://a/{version}'}]\npaths: {/a: {get: {}}}\n", "a variable, query or fragment"},
		{"no paths", ok, "no paths"},
		{"no operations", ok + "paths: {/a: {parameters: []}}\n", "no operations"},
		{"part of a segment", ok + "paths: {'/a/x-{id}': {get: {}}}\n", `segment "x-{id}": a parameter must be a whole segment`},
		{"two parameters in a segment", ok + "paths: {'/a/{x}{y}': {get: {}}}\n", "a parameter must be a whole segment"},
		{"trailing slash", ok + "paths: {/a/: {get: {}}}\n", "not of the form"},
		{"relative path", ok + "paths: {a: {get: {}}}\n", "not of the form"},
		{"path-level servers", ok + "paths: {/a: {servers: [{url: 'http://x'}], get: {}}}\n", "its own servers are not supported"},
		{"operation servers", ok + "paths: {/a: {get: {servers: [{url: 'http://x'}]}}}\n", "its own servers are not supported"},
		{"$ref path item", ok + "paths: {/a: {$ref: 'other.yaml#/a'}}\n", "a $ref'd path item is not supported"},
		{"remote schema", ok + "paths: {/a/search: {post: {requestBody: {content: {application/json: {schema: {$ref: 'other.yaml#/S'}}}}}}}\n", "only local references"},
		{"missing schema", ok + "paths: {/a/search: {post: {requestBody: {content: {application/json: {schema: {$ref: '#/components/schemas/Nope'}}}}}}}\n", `"Nope": not in the spec`},
		{"missing request body", ok + "paths: {/a/search: {post: {requestBody: {$ref: '#/components/requestBodies/Nope'}}}}\n", `"Nope": not in the spec`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, err := generate([]byte(tt.spec))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("generate: %v (output %d bytes), want an error with %q", err, len(code), tt.want)
			}
		})
	}
}

func firstDiff(got, want []byte) string {
	g, w := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
	for i := 0; i < len(g) || i < len(w); i++ {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			return fmt.Sprintf("line %d: have %q, want %q", i+1, gl, wl)
		}
	}
	return "none"
}
