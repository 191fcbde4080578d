package cmd

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/camctl/camctl/internal/termsafe"
)

// treeYAML is the earlier writeJSONAsYAML, through a yaml.v3 node tree:
// the oracle for the streaming one, which must write the same bytes.
func treeYAML(raw []byte) (string, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		return "", err
	}
	var unflow func(n *yaml.Node)
	unflow = func(n *yaml.Node) {
		n.Style = 0
		for _, c := range n.Content {
			unflow(c)
		}
	}
	unflow(&doc)
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return "", err
	}
	err := enc.Close()
	return buf.String(), err
}

var yamlSamples = []string{
	`{}`, `[]`, `5`, `"text"`, `null`, `{"a":{}}`, `{"a":[]}`, `[{}]`, `[[]]`,
	`{"brokers":[{"nodeId":0,"host":"a b","partitions":[{"partitionId":1},{}],"x":[]},{},[1,[2,3],{"a":"multi\nline\nstring"}]],"n":1.50e3,"s":"123","t":true,"nul":null,"e":{},"k:y":"- x","":"#"}`,
	`{"brokers":[{"nodeId":0,"host":"camunda-zeebe-0.camunda-zeebe","port":26501,"partitions":[{"partitionId":1,"role":"leader","health":"healthy"}],"version":"8.8.0"}],"clusterSize":1,"partitionsCount":1,"replicationFactor":1,"gatewayVersion":"8.8.0","lastCompletedChangeId":"-1"}`,
	`["multi\nline", "trailing\n", " lead", "yes", "No", "~", "1e3", "0x10", "-", "a: b", "a #b", "@x", "%x", "é", "\u202e", "\u0007bell", "tab\there", "long ` + strings.Repeat("word ", 30) + `"]`,
	`{"multi\nkey": 1, "key with: colon": 2, "- dash": 3, "?q": 4, "ok": {"nested": ["x", {"deep": "multi\nline"}]}}`,
	`[[["a", ["b\nc"]]]]`,
}

func TestWriteJSONAsYAMLMatchesTree(t *testing.T) {
	words := []string{"a", "leader", "8.8.0", "true", "x y", "multi\nline", "", " ", "null", "-1", "é", "#", "k: v", "[x]", "{}", "\"q\"", "'s'", "0.5"}
	rng := rand.New(rand.NewPCG(1, 2))
	var gen func(depth int) string
	gen = func(depth int) string {
		switch n := rng.IntN(6); {
		case depth > 3 || n < 2:
			w := words[rng.IntN(len(words))]
			if rng.IntN(3) == 0 {
				return fmt.Sprint(rng.IntN(1000))
			}
			return fmt.Sprintf("%q", w)
		case n < 4:
			var parts []string
			for range rng.IntN(4) {
				parts = append(parts, gen(depth+1))
			}
			return "[" + strings.Join(parts, ",") + "]"
		default:
			var parts []string
			for i := range rng.IntN(4) {
				parts = append(parts, fmt.Sprintf("%q:%s", words[rng.IntN(len(words))]+fmt.Sprint(i), gen(depth+1)))
			}
			return "{" + strings.Join(parts, ",") + "}"
		}
	}
	samples := append([]string(nil), yamlSamples...)
	for range 300 {
		samples = append(samples, gen(0))
	}
	for _, s := range samples {
		want, err := treeYAML([]byte(s))
		if err != nil {
			t.Fatalf("oracle on %s: %v", s, err)
		}
		var got bytes.Buffer
		if err := writeJSONAsYAML(&got, []byte(s)); err != nil {
			t.Errorf("writeJSONAsYAML(%s): %v", s, err)
			continue
		}
		var decoded any
		_ = json.Unmarshal([]byte(s), &decoded)
		if holdsUnsafeText(decoded) {
			// Characters that could drive a terminal are written as
			// escapes in a double-quoted scalar (yaml.v3 writes bidi and
			// zero-width ones raw); the document must read the same and
			// be terminal-safe.
			if !termsafe.Safe(got.String()) {
				t.Errorf("writeJSONAsYAML(%s) = %q: not terminal-safe", s, got.String())
			}
			var a, b any
			if err := yaml.Unmarshal(got.Bytes(), &a); err != nil {
				t.Errorf("writeJSONAsYAML(%s) is not YAML: %v", s, err)
			}
			_ = yaml.Unmarshal([]byte(want), &b)
			if !reflect.DeepEqual(a, b) {
				t.Errorf("writeJSONAsYAML(%s) =\n%s\nreads differently from\n%s", s, got.String(), want)
			}
			continue
		}
		if strings.Contains(s, `\n`) && strings.Contains(want, "? ") {
			// A multi-line key is written double-quoted rather than as
			// yaml.v3's "? |-" block; the document must read the same.
			var a, b any
			if err := yaml.Unmarshal(got.Bytes(), &a); err != nil {
				t.Errorf("writeJSONAsYAML(%s) is not YAML: %v", s, err)
			}
			_ = yaml.Unmarshal([]byte(want), &b)
			if !reflect.DeepEqual(a, b) {
				t.Errorf("writeJSONAsYAML(%s) =\n%s\nreads differently from\n%s", s, got.String(), want)
			}
			continue
		}
		if got.String() != want {
			t.Errorf("writeJSONAsYAML(%s) =\n%s\nwant\n%s", s, got.String(), want)
		}
	}
}

// holdsUnsafeText reports whether a decoded JSON value has a key or
// string that is not terminal-safe.
func holdsUnsafeText(v any) bool {
	switch v := v.(type) {
	case string:
		return !termsafe.Safe(v)
	case []any:
		for _, e := range v {
			if holdsUnsafeText(e) {
				return true
			}
		}
	case map[string]any:
		for k, e := range v {
			if !termsafe.Safe(k) || holdsUnsafeText(e) {
				return true
			}
		}
	}
	return false
}

// countingWriter counts Write calls and those that end inside a line.
type countingWriter struct{ writes, cut int }

func (c *countingWriter) Write(p []byte) (int, error) {
	c.writes++
	if len(p) > 0 && p[len(p)-1] != '\n' {
		c.cut++
	}
	return len(p), nil
}

// -o yaml reaches Out in whole lines, however large: Out filters and
// redacts per Write, so a split inside a line could cut a secret or a
// UTF-8 character. It still streams (a signal can end a long render).
func TestWriteJSONAsYAMLWritesWholeLines(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"brokers":[`)
	for i := range 20000 {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `{"host":"broker-é-%d","nodeId":%d}`, i, i)
	}
	b.WriteString(`]}`)
	var w countingWriter
	if err := writeJSONAsYAML(&w, []byte(b.String())); err != nil {
		t.Fatal(err)
	}
	if w.cut != 0 || w.writes < 2 {
		t.Errorf("%d writes, %d of them ending inside a line; want several, none cut", w.writes, w.cut)
	}
}
