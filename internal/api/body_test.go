package api

import (
	"encoding/json"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestBuildJSON(t *testing.T) {
	dir := t.TempDir()
	vars := filepath.Join(dir, "vars.json")
	if err := os.WriteFile(vars, []byte("{\"orderId\": \"A-1\", \"total\": 42.5}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	text := filepath.Join(dir, "note.txt")
	if err := os.WriteFile(text, []byte("two\nlines\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	raw := func(s ...string) []Field {
		var f []Field
		for _, x := range s {
			f = append(f, Field{Raw: x})
		}
		return f
	}
	typed := func(s ...string) []Field {
		var f []Field
		for _, x := range s {
			f = append(f, Field{Raw: x, Typed: true})
		}
		return f
	}
	for _, tc := range []struct {
		name   string
		fields []Field
		stdin  string
		want   string
		err    string
	}{
		{"strings stay strings", raw("a=1", "b=true", "c={}"), "", `{"a":"1","b":"true","c":"{}"}`, ""},
		{"order kept", raw("z=1", "a=2"), "", `{"z":"1","a":"2"}`, ""},
		{"typed", typed("n=42", "f=-1.5e3", "t=true", "no=false", "null=null", "s=hello", "big=2251799813685249"), "", `{"n":42,"f":-1.5e3,"t":true,"no":false,"null":null,"s":"hello","big":2251799813685249}`, ""},
		{"not JSON numbers stay strings", typed("hex=0x10", "inf=Inf", "plus=+1", "us=1_000", "lead=01"), "", `{"hex":"0x10","inf":"Inf","plus":"+1","us":"1_000","lead":"01"}`, ""},
		{"JSON objects and arrays", typed(`v={"a": [1, 2]}`, `l=[true]`, `bad={nope`), "", `{"v":{"a":[1,2]},"l":[true],"bad":"{nope"}`, ""},
		{"nested keys", raw("filter[state]=ACTIVE", "filter[processDefinitionId]=order", "page[limit]=50"), "", `{"filter":{"state":"ACTIVE","processDefinitionId":"order"},"page":{"limit":"50"}}`, ""},
		{"typed nested", typed("page[limit]=50", "filter[x][y]=true"), "", `{"page":{"limit":50},"filter":{"x":{"y":true}}}`, ""},
		{"arrays", raw("tags[]=a", "tags[]=b"), "", `{"tags":["a","b"]}`, ""},
		{"empty array", raw("tags[]"), "", `{"tags":[]}`, ""},
		{"array of objects", raw("sort[][field]=startDate", "sort[][order]=DESC", "sort[][field]=state"), "", `{"sort":[{"field":"startDate","order":"DESC"},{"field":"state"}]}`, ""},
		{"value with =", raw("q=a=b"), "", `{"q":"a=b"}`, ""},
		{"@file typed", typed("variables=@" + vars), "", `{"variables":{"orderId":"A-1","total":42.5}}`, ""},
		{"@file text kept whole", typed("note=@" + text), "", `{"note":"two\nlines\n"}`, ""},
		{"@- stdin", typed("variables=@-"), `{"x": 1}`, `{"variables":{"x":1}}`, ""},
		{"-f has no @", raw("at=@" + vars), "", `{"at":"@` + vars + `"}`, ""},
		{"no value", raw("a"), "", "", `has no value`},
		{"no key", raw("=x"), "", "", `has no key`},
		{"twice", raw("a=1", "a=2"), "", "", `given twice`},
		{"object and value", raw("a=1", "a[b]=2"), "", "", `used both`},
		{"unclosed bracket", raw("a[b=1"), "", "", `without ']'`},
		{"missing file", typed("v=@" + filepath.Join(dir, "nope.json")), "", "", "no such file"},
		{"stdin twice", typed("a=@-", "b=@-"), "{}", "", "both read stdin"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := BuildJSON(tc.fields, &Sources{Stdin: strings.NewReader(tc.stdin)})
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("BuildJSON = %s, %v; want an error with %q", got, err, tc.err)
				}
				return
			}
			if err != nil || string(got) != tc.want {
				t.Fatalf("BuildJSON = %s, %v\nwant %s", got, err, tc.want)
			}
		})
	}
}

func TestBuildQuery(t *testing.T) {
	q, err := BuildQuery([]Field{{Raw: "startTime=2026-01-01T00:00:00Z"}, {Raw: "n=5", Typed: true}, {Raw: "v={\"a\":1}", Typed: true}}, &Sources{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := q.Encode(), "n=5&startTime=2026-01-01T00%3A00%3A00Z&v=%7B%22a%22%3A1%7D"; got != want {
		t.Errorf("query = %s; want %s", got, want)
	}
}

func TestStdinLimit(t *testing.T) {
	big := strings.NewReader(strings.Repeat("x", MaxBufferedBody+1))
	_, err := InputBody("-", &Sources{Stdin: big})
	if err == nil || !strings.Contains(err.Error(), "pass a file instead") {
		t.Fatalf("InputBody of a too large stdin = %v; want the limit named with the way out", err)
	}
}

func TestInputBodyRereadsTheFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "body.json")
	if err := os.WriteFile(path, []byte(`{"a":1}`), 0o600); err != nil {
		t.Fatal(err)
	}
	b, err := InputBody(path, &Sources{})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		rc, err := b.Open()
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(rc)
		rc.Close()
		if string(got) != `{"a":1}` || b.ContentLength != 7 {
			t.Fatalf("attempt body = %q (length %d)", got, b.ContentLength)
		}
	}
	// A file that changes between attempts is not sent half old, half new.
	if err := os.WriteFile(path, []byte(`{"a":12}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Open(); err == nil || !strings.Contains(err.Error(), "changed") {
		t.Errorf("Open after the file changed = %v; want a refusal", err)
	}
}

func TestFormBody(t *testing.T) {
	dir := t.TempDir()
	bpmn := filepath.Join(dir, "order.bpmn")
	if err := os.WriteFile(bpmn, []byte(`<definitions id="d"/>`), 0o600); err != nil {
		t.Fatal(err)
	}
	form := filepath.Join(dir, "review.form")
	if err := os.WriteFile(form, []byte(`{"components":[]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	var parts []FormPart
	for _, s := range []string{"resources=@" + bpmn, "resources=@" + form, "tenantId=<default>", "resources=@-"} {
		p, err := ParseFormPart(s)
		if err != nil {
			t.Fatal(err)
		}
		parts = append(parts, p)
	}
	body, err := FormBody(parts, &Sources{Stdin: strings.NewReader("<dmn/>")})
	if err != nil {
		t.Fatal(err)
	}
	for attempt := range 2 { // replayable: a 401 resends it whole
		rc, err := body.Open()
		if err != nil {
			t.Fatal(err)
		}
		_, params, err := mime.ParseMediaType(body.ContentType)
		if err != nil {
			t.Fatal(err)
		}
		mr := multipart.NewReader(rc, params["boundary"])
		var got []string
		for {
			p, err := mr.NextPart()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(p)
			got = append(got, p.FormName()+"|"+p.FileName()+"|"+p.Header.Get("Content-Type")+"|"+string(b))
		}
		rc.Close()
		want := []string{
			`resources|order.bpmn|application/xml|<definitions id="d"/>`,
			`resources|review.form|application/json|{"components":[]}`,
			`tenantId|||<default>`,
			`resources|stdin|application/octet-stream|<dmn/>`,
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Fatalf("attempt %d parts:\n%s\nwant\n%s", attempt, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}
	if _, err := ParseFormPart("novalue"); err == nil {
		t.Error("ParseFormPart without = succeeded")
	}
	if _, err := FormBody([]FormPart{{Name: "resources", File: filepath.Join(dir, "missing.bpmn")}}, &Sources{}); err == nil || !strings.Contains(err.Error(), "missing.bpmn") {
		t.Errorf("FormBody with a missing file = %v; want it named", err)
	}
}

// FuzzBuildJSON: any fields either build a JSON object or fail with a
// FieldError; never invalid JSON, never a panic.
func FuzzBuildJSON(f *testing.F) {
	for _, s := range []string{"a=1", "a[b][c]=x", "t[]=1", "s[][k]=v", "v={\"x\":[1]}", "a[=1", "a]=1", "[]=x", "a[][]=1"} {
		f.Add(s, "b[]=2", true)
	}
	f.Fuzz(func(t *testing.T, one, two string, typed bool) {
		if strings.Contains(one+two, "@") {
			return // files are not fuzzed
		}
		out, err := BuildJSON([]Field{{Raw: one, Typed: typed}, {Raw: two}}, &Sources{})
		if err != nil {
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("BuildJSON(%q, %q) failed with %T: %v", one, two, err, err)
			}
			return
		}
		if !json.Valid(out) || out[0] != '{' {
			t.Fatalf("BuildJSON(%q, %q) = %s: not a JSON object", one, two, out)
		}
	})
}
