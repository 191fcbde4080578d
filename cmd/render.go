package cmd

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"

	"go.yaml.in/yaml/v3"
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
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
}

// writeJSONAsYAML renders a JSON document as block-style YAML, keeping the
// order of keys, every field and the exact number literals: JSON is YAML,
// so the parsed node tree only needs its flow style removed.
func writeJSONAsYAML(w io.Writer, raw []byte) error {
	var doc yaml.Node
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		return fmt.Errorf("convert to YAML: %w", err)
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
		return fmt.Errorf("convert to YAML: %w", err)
	}
	if err := enc.Close(); err != nil {
		return err
	}
	_, err := w.Write(buf.Bytes())
	return err
}

// writeJSONBody prints a JSON body indented, byte-for-byte otherwise.
func writeJSONBody(w io.Writer, raw []byte) error {
	var buf bytes.Buffer
	if err := json.Indent(&buf, bytes.TrimSpace(raw), "", "  "); err != nil {
		return fmt.Errorf("the answer is not valid JSON: %w", err)
	}
	buf.WriteByte('\n')
	_, err := w.Write(buf.Bytes())
	return err
}
