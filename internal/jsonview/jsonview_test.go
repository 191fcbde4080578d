package jsonview

import (
	"bytes"
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/camctl/camctl/internal/termsafe"
)

func TestPretty(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
		style          Style
	}{
		{"indent keeps order and numbers", `{"z":1,"a":[true,null,2251799813685249123,1.50e3],"e":{},"l":[]}`,
			"{\n  \"z\": 1,\n  \"a\": [\n    true,\n    null,\n    2251799813685249123,\n    1.50e3\n  ],\n  \"e\": {},\n  \"l\": []\n}\n", Style{Indent: true}},
		{"compact", `{ "a" : [ 1 , 2 ] }`, "{\"a\":[1,2]}\n", Style{}},
		{"colour", `{"k":"v","n":null,"b":false,"i":1}`,
			"{\n  \x1b[34;1m\"k\"\x1b[0m: \x1b[32m\"v\"\x1b[0m,\n  \x1b[34;1m\"n\"\x1b[0m: \x1b[90mnull\x1b[0m,\n  \x1b[34;1m\"b\"\x1b[0m: false,\n  \x1b[34;1m\"i\"\x1b[0m: 1\n}\n", Style{Indent: true, Color: true}},
		{"several values", "1 [2]\n{\"a\":3}", "1\n[2]\n{\"a\":3}\n", Style{}},
		{"no HTML escaping", `{"t":"<default> & co"}`, "{\"t\":\"<default> & co\"}\n", Style{}},
		{"terminal controls become escapes", "{\"\\u001b[2Jkey\":\"a\\u001b]0;x\\u0007b\u202ec\u200bd\u0085e\"}",
			`{"\u001b[2Jkey":"a\u001b]0;x\u0007b\u202ec\u200bd\u0085e"}` + "\n", Style{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			if err := Pretty(&out, strings.NewReader(tc.in), tc.style); err != nil {
				t.Fatal(err)
			}
			if out.String() != tc.want {
				t.Errorf("Pretty =\n%q\nwant\n%q", out.String(), tc.want)
			}
		})
	}
	for _, bad := range []string{`{"a":`, `{"a" 1}`, `[1,`, `nul`} {
		var out bytes.Buffer
		if err := Pretty(&out, strings.NewReader(bad), Style{Indent: true}); err == nil {
			t.Errorf("Pretty(%q) succeeded: %q", bad, out.String())
		}
	}
}

// FuzzPretty: whatever the server sends, what Pretty prints is the same
// JSON and safe on a terminal.
func FuzzPretty(f *testing.F) {
	for _, s := range []string{`{"a":[1,"x\u001b[2J",null]}`, `"\u202e"`, `[{"k":{"k":[]}}]`, `1e999`, `"\xff"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		if !json.Valid([]byte(in)) {
			return
		}
		for _, style := range []Style{{}, {Indent: true}} {
			var out bytes.Buffer
			if err := Pretty(&out, strings.NewReader(in), style); err != nil {
				t.Fatalf("Pretty(%q): %v", in, err)
			}
			if !termsafe.Safe(strings.ReplaceAll(out.String(), "\n", " ")) {
				t.Fatalf("Pretty(%q) = %q: not terminal-safe", in, out.String())
			}
			var a, b any
			dec := json.NewDecoder(strings.NewReader(in))
			dec.UseNumber()
			_ = dec.Decode(&a)
			dec = json.NewDecoder(&out)
			dec.UseNumber()
			if err := dec.Decode(&b); err != nil {
				t.Fatalf("Pretty(%q) = %q: not JSON: %v", in, out.String(), err)
			}
			if !reflect.DeepEqual(a, b) && strings.ToValidUTF8(in, "\ufffd") == in {
				t.Fatalf("Pretty(%q) = %q: a different value", in, out.String())
			}
		}
	})
}

func TestQuery(t *testing.T) {
	doc := []byte(`{"items":[{"k":"2251799813685249","n":2251799813685249123,"s":"ACTIVE"},{"k":"b\u001b[2J","n":1,"s":"DONE"}]}`)
	for _, tc := range []struct {
		name, expr string
		style      Style
		safe       bool
		want       string
	}{
		{"raw strings", ".items[].k", Style{}, false, "2251799813685249\nb\x1b[2J\n"},
		{"raw strings made safe on a terminal", ".items[].k", Style{}, true, "2251799813685249\nb\n"},
		{"numbers keep their digits", ".items[0].n", Style{}, false, "2251799813685249123\n"},
		{"compact JSON off a terminal", ".items[0] | {s, k}", Style{}, false, "{\"k\":\"2251799813685249\",\"s\":\"ACTIVE\"}\n"},
		{"indented on a terminal", "{s: .items[0].s}", Style{Indent: true}, true, "{\n  \"s\": \"ACTIVE\"\n}\n"},
		{"@tsv", `.items[] | [.k, .s] | @tsv`, Style{}, false, "2251799813685249\tACTIVE\nb\x1b[2J\tDONE\n"},
		{"no results", ".items[] | select(.s == \"NONE\")", Style{}, false, ""},
		{"the environment is empty", "$ENV | length, (env | length)", Style{}, false, "0\n0\n"},
		{"halt ends quietly", ".items[0].s, halt, .items[1].s", Style{}, false, "ACTIVE\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q, err := Compile(tc.expr)
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			if err := q.Run(context.Background(), &out, doc, tc.style, tc.safe); err != nil {
				t.Fatal(err)
			}
			if out.String() != tc.want {
				t.Errorf("Run(%s) = %q; want %q", tc.expr, out.String(), tc.want)
			}
		})
	}
	if _, err := Compile(".["); err == nil {
		t.Error("Compile(.[) succeeded")
	}
	q, _ := Compile(".items | error(\"boom\")")
	if err := q.Run(context.Background(), &bytes.Buffer{}, doc, Style{}, false); err == nil || !strings.Contains(err.Error(), "boom") {
		t.Errorf("a failing expression = %v; want its error", err)
	}
	q, _ = Compile(".")
	if err := q.Run(context.Background(), &bytes.Buffer{}, []byte("<html>"), Style{}, false); err == nil || !strings.Contains(err.Error(), "needs a JSON answer") {
		t.Errorf("jq on HTML = %v; want a clear error", err)
	}
}
