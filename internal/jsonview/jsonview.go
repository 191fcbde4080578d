// Package jsonview shows JSON from the REST API: indented and coloured
// for a terminal, and filtered through jq expressions (gojq, built in).
// On a terminal every string is made safe (termsafe): a server's text
// cannot move the cursor or hide characters, whatever it contains.
package jsonview

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/camctl/camctl/internal/termsafe"
)

// Colours as jq paints them (jq 1.7's defaults): keys blue and bold,
// strings green, numbers and booleans plain, null grey.
const (
	colorKey    = "\x1b[34;1m"
	colorString = "\x1b[32m"
	colorNull   = "\x1b[90m"
	colorReset  = "\x1b[0m"
)

// Style says how to print JSON.
type Style struct {
	// Indent prints one member or element a line, two spaces deep;
	// without it the output is compact.
	Indent bool
	// Color paints keys and values (only on a terminal).
	Color bool
}

// Pretty copies the JSON values in r to w, indented and coloured as
// style says, one value after the other. It reads token by token, so a
// body of any size is shown in bounded memory.
func Pretty(w io.Writer, r io.Reader, style Style) error {
	bw := bufio.NewWriterSize(w, 32<<10)
	p := &printer{w: bw, style: style}
	dec := json.NewDecoder(r)
	dec.UseNumber()
	for {
		err := p.value(dec, 0)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			_ = bw.Flush()
			return err
		}
		p.byte('\n')
	}
	return bw.Flush()
}

type printer struct {
	w     *bufio.Writer
	style Style
}

// str and byte write to the buffer, whose error is sticky: Pretty's
// final Flush reports it.
func (p *printer) str(s string) { _, _ = p.w.WriteString(s) }
func (p *printer) byte(c byte)  { _ = p.w.WriteByte(c) }

func (p *printer) paint(color, s string) {
	if p.style.Color {
		p.str(color)
		p.str(s)
		p.str(colorReset)
		return
	}
	p.str(s)
}

func (p *printer) newline(depth int) {
	if !p.style.Indent {
		return
	}
	p.byte('\n')
	for range depth {
		p.str("  ")
	}
}

// value prints the next value of dec.
func (p *printer) value(dec *json.Decoder, depth int) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	return p.token(dec, tok, depth)
}

func (p *printer) token(dec *json.Decoder, tok json.Token, depth int) error {
	switch t := tok.(type) {
	case json.Delim:
		open, close := byte('{'), byte('}')
		if t == '[' {
			open, close = '[', ']'
		}
		p.byte(open)
		n := 0
		for dec.More() {
			if n > 0 {
				p.byte(',')
			}
			n++
			p.newline(depth + 1)
			if open == '{' {
				kt, err := dec.Token()
				if err != nil {
					return err
				}
				key, _ := kt.(string)
				p.paint(colorKey, quote(key))
				p.byte(':')
				if p.style.Indent {
					p.byte(' ')
				}
			}
			if err := p.value(dec, depth+1); err != nil {
				return unexpected(err)
			}
		}
		if _, err := dec.Token(); err != nil { // the closing delimiter
			return unexpected(err)
		}
		if n > 0 {
			p.newline(depth)
		}
		p.byte(close)
	case string:
		p.paint(colorString, quote(t))
	case json.Number:
		p.str(t.String())
	case bool:
		if t {
			p.str("true")
		} else {
			p.str("false")
		}
	case nil:
		p.paint(colorNull, "null")
	default:
		return fmt.Errorf("unexpected JSON token %v", tok)
	}
	return nil
}

// unexpected turns an EOF inside a value into the error it is.
func unexpected(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// quote is s as a JSON string that is safe on a terminal: besides what
// JSON escapes, C1 controls, escape sequences' introducers, bidi and
// zero-width characters become \u escapes (still the same string to a
// JSON reader).
func quote(s string) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	return string(termsafe.JSON(bytes.TrimRight(buf.Bytes(), "\n")))
}

// IsJSON reports whether a Content-Type is JSON (application/json,
// application/problem+json, any +json).
func IsJSON(contentType string) bool {
	ct, _, _ := strings.Cut(strings.ToLower(contentType), ";")
	ct = strings.TrimSpace(ct)
	return ct == "application/json" || strings.HasSuffix(ct, "+json")
}

// IsText reports whether a Content-Type is text a terminal can show
// (text/*, XML, JSON).
func IsText(contentType string) bool {
	ct, _, _ := strings.Cut(strings.ToLower(contentType), ";")
	ct = strings.TrimSpace(ct)
	return strings.HasPrefix(ct, "text/") || IsJSON(ct) || ct == "application/xml" || strings.HasSuffix(ct, "+xml")
}
