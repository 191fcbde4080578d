package cmd

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
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
// order of keys, every field and the exact number literals. It streams:
// a node tree of the document costs some 200 bytes per value, and a body
// of 4 MiB can hold well over a million values (2.5 GB for a topology of
// empty brokers), while spec §8 bounds camctl to 256 MiB. The layout is
// yaml.v3's block style with an indent of 2, which yaml.v3 itself still
// writes for every scalar that is not plain text.
func writeJSONAsYAML(w io.Writer, raw []byte) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	// Streamed in pieces that end at a line break: Out filters and
	// redacts per Write, and a piece boundary inside a line could split a
	// secret, or a UTF-8 character the filter would then drop.
	lw := &lineWriter{w: w}
	bw := bufio.NewWriterSize(lw, 64<<10)
	e := &yamlEmitter{dec: dec, w: bw}
	tok, err := dec.Token()
	if err != nil {
		return fmt.Errorf("convert to YAML: %w", err)
	}
	if err := e.value(tok, 0, "", ""); err != nil {
		return fmt.Errorf("convert to YAML: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("convert to YAML: more than one JSON value")
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	return lw.flush()
}

// lineWriter passes on only whole lines, keeping a partial last line
// until more of it arrives (or flush).
type lineWriter struct {
	w    io.Writer
	rest []byte
}

func (l *lineWriter) Write(p []byte) (int, error) {
	data := append(l.rest, p...)
	i := bytes.LastIndexByte(data, '\n')
	if i < 0 {
		l.rest = data
		return len(p), nil
	}
	if _, err := l.w.Write(data[:i+1]); err != nil {
		return 0, err
	}
	l.rest = append(l.rest[:0:0], data[i+1:]...)
	return len(p), nil
}

func (l *lineWriter) flush() error {
	if len(l.rest) == 0 {
		return nil
	}
	_, err := l.w.Write(l.rest)
	l.rest = nil
	return err
}

// yamlEmitter writes YAML while it reads JSON tokens.
type yamlEmitter struct {
	dec *json.Decoder
	w   *bufio.Writer
}

// put writes s; a bufio.Writer keeps its first error, which the final
// Flush reports.
func (e *yamlEmitter) put(s string) { _, _ = e.w.WriteString(s) }

// value writes the value that starts with tok. first is written before
// its first line (after a "- " or nothing), lead before a scalar on the
// line of a key (" "), and indent is the column of nested lines.
func (e *yamlEmitter) value(tok json.Token, indent int, first, lead string) error {
	d, isDelim := tok.(json.Delim)
	if !isDelim {
		// A block scalar's lines go 2 deeper than its key, or its "- ".
		col := indent
		if lead == "" && indent >= 2 {
			col = indent - 2
		}
		text, err := scalarYAML(tok, col)
		if err != nil {
			return err
		}
		e.put(lead + text + "\n")
		return nil
	}
	empty := !e.dec.More()
	switch {
	case d == '{' && empty:
		e.put(lead + "{}\n")
		_, err := e.dec.Token()
		return err
	case d == '[' && empty:
		e.put(lead + "[]\n")
		_, err := e.dec.Token()
		return err
	case first == "" && lead != "":
		// A container as the value of a key: on the next lines.
		e.put("\n")
		indent += 2
		first = strings.Repeat(" ", indent)
	}
	pad := strings.Repeat(" ", indent)
	for n := 0; e.dec.More(); n++ {
		prefix := pad
		if n == 0 {
			prefix = first
		}
		tok, err := e.dec.Token()
		if err != nil {
			return err
		}
		if d == '[' {
			e.put(prefix + "- ")
			if err := e.value(tok, indent+2, "", ""); err != nil {
				return err
			}
			continue
		}
		key, ok := tok.(string)
		if !ok {
			return fmt.Errorf("a key that is not text: %v", tok)
		}
		k, err := keyYAML(key)
		if err != nil {
			return err
		}
		e.put(prefix + k + ":")
		if tok, err = e.dec.Token(); err != nil {
			return err
		}
		if err := e.value(tok, indent, "", " "); err != nil {
			return err
		}
	}
	_, err := e.dec.Token() // the closing ] or }
	return err
}

// scalarYAML is the text of a JSON scalar as a YAML value whose nested
// lines (a block scalar's) start at column indent+2, as yaml.v3 writes
// it. Numbers, true, false and null are written as they are.
func scalarYAML(tok json.Token, indent int) (string, error) {
	switch v := tok.(type) {
	case nil:
		return "null", nil
	case bool:
		return strconv.FormatBool(v), nil
	case json.Number:
		return v.String(), nil
	case string:
		if plainYAML(v) {
			return v, nil
		}
		if !termsafe.Safe(v) {
			return escapedYAML(v)
		}
		out, err := yamlEntry(&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: v})
		if err != nil {
			return "", err
		}
		// yaml.v3 wrote "k: text"; nested lines are indented for a key at
		// column 0 and move with the key.
		out = strings.TrimPrefix(out, "k: ")
		out = strings.TrimSuffix(out, "\n")
		return strings.ReplaceAll(out, "\n", "\n"+strings.Repeat(" ", indent)), nil
	}
	return "", fmt.Errorf("unexpected JSON token %v", tok)
}

// keyYAML is a key's text. A key that yaml.v3 would not write on one
// line (a multi-line one) is written double-quoted, JSON style, which
// YAML reads the same.
func keyYAML(key string) (string, error) {
	if plainYAML(key) {
		return key, nil
	}
	if !termsafe.Safe(key) {
		return escapedYAML(key)
	}
	k := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key}
	doc := &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{k, {Kind: yaml.ScalarNode, Tag: "!!null", Value: "null"}}}
	var buf bytes.Buffer
	if err := yaml.NewEncoder(&buf).Encode(doc); err != nil {
		return "", err
	}
	if text, ok := strings.CutSuffix(buf.String(), ": null\n"); ok && !strings.Contains(text, "\n") && !strings.HasPrefix(text, "? ") {
		return text, nil
	}
	b, err := json.Marshal(key)
	return string(b), err
}

// yamlEntry is how yaml.v3 writes the mapping {k: v}.
func yamlEntry(v *yaml.Node) (string, error) {
	doc := &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{{Kind: yaml.ScalarNode, Tag: "!!str", Value: "k"}, v}}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return "", err
	}
	if err := enc.Close(); err != nil {
		return "", err
	}
	return buf.String(), nil
}

// plainYAML reports whether yaml.v3 writes s as it is: letters, digits
// and a few marks, starting with a letter, and not a word YAML reads as
// something other than text. Everything else goes through yaml.v3 (the
// fast path only saves time: host names, versions and roles are plain).
func plainYAML(s string) bool {
	if s == "" || len(s) > 64 || !(s[0] >= 'a' && s[0] <= 'z' || s[0] >= 'A' && s[0] <= 'Z') {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == '/') {
			return false
		}
	}
	switch strings.ToLower(s) {
	case "y", "n", "yes", "no", "on", "off", "true", "false", "null":
		return false
	}
	return true
}

// yamlEscape writes every forbidden character of a double-quoted scalar
// as a YAML escape, which in such a scalar means the same character.
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

// escapedYAML writes text that holds characters which could drive a
// terminal (spec §8) as a double-quoted scalar with those characters as
// escapes: YAML reads "\u202E" as the character itself, so the data stays
// exact while the output is safe. yaml.v3 would write bidi and zero-width
// characters raw, even in quotes. A JSON string is a valid YAML
// double-quoted scalar; it escapes C0 controls, the rest is done here.
func escapedYAML(s string) (string, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		return "", err
	}
	return yamlEscape(strings.TrimSuffix(buf.String(), "\n")), nil
}
