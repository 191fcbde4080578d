package cmd

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/camctl/camctl/internal/termsafe"
)

// writeData prints v as one JSON or YAML document.
func writeData(w io.Writer, format string, v any) error {
	switch format {
	case OutputYAML:
		// Through JSON, so field names and omitempty match -o json.
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		return writeJSONAsYAML(w, b)
	default:
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetIndent("", "  ")
		if err := enc.Encode(v); err != nil {
			return err
		}
		// encoding/json writes bidi, zero-width and C1 characters raw.
		_, err := w.Write(termsafe.JSON(buf.Bytes()))
		return err
	}
}

// writeJSONAsYAML renders a JSON document as block-style YAML, keeping the
// order of keys, every field and the exact number literals: JSON is YAML,
// so the parsed node tree only needs its flow style removed.
func writeJSONAsYAML(w io.Writer, raw []byte) error {
	var doc yaml.Node
	// yaml.v3 refuses C1 and other characters JSON strings may hold raw;
	// as escapes (JSON strings are YAML double-quoted scalars) it reads
	// them as the same characters.
	if err := yaml.Unmarshal([]byte(yamlEscape(string(raw))), &doc); err != nil {
		return fmt.Errorf("convert to YAML: %w", err)
	}
	var unflow func(n *yaml.Node)
	unflow = func(n *yaml.Node) {
		n.Style = 0
		if n.Kind == yaml.ScalarNode && !termsafe.Safe(n.Value) {
			// yaml.v3 writes bidi and zero-width characters raw even
			// in quotes; in double quotes yamlEscape can write them as
			// escapes, which mean the same character.
			n.Style = yaml.DoubleQuotedStyle
		}
		for _, c := range n.Content {
			unflow(c)
		}
	}
	unflow(&doc)
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return fmt.Errorf("convert to YAML: %w", err)
	}
	if err := enc.Close(); err != nil {
		return err
	}
	_, err := io.WriteString(w, yamlEscape(buf.String()))
	return err
}

// yamlEscape writes every forbidden character of a YAML document made
// by writeJSONAsYAML (or of the JSON it reads) as a YAML escape. Only
// double-quoted scalars can hold them there (see unflow; in JSON, only
// strings), and in those an escape is the same character.
func yamlEscape(s string) string {
	if termsafe.Safe(s) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case termsafe.Forbidden(r) && r > 0xffff:
			fmt.Fprintf(&b, `\U%08X`, r)
		case termsafe.Forbidden(r):
			fmt.Fprintf(&b, `\u%04X`, r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// writeJSONBody prints a JSON body indented, byte-for-byte otherwise.
func writeJSONBody(w io.Writer, raw []byte) error {
	var buf bytes.Buffer
	if err := json.Indent(&buf, bytes.TrimSpace(raw), "", "  "); err != nil {
		return fmt.Errorf("the answer is not valid JSON: %w", err)
	}
	buf.WriteByte('\n')
	// Byte-for-byte but for the characters that could drive the
	// terminal, which become \u escapes of themselves.
	_, err := w.Write(termsafe.JSON(buf.Bytes()))
	return err
}
