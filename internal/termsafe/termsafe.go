// Package termsafe makes text from outside camctl safe to print on a
// terminal (spec §8): server bodies, headers, status lines, problem
// details, TLS errors and certificate names, JWT claims, config and
// environment values. It is the one filter for all of them.
//
// Forbidden are C0 and C1 control characters except newline and tab,
// whole escape sequences (CSI, OSC, DCS, SOS, PM, APC and two-byte ESC
// sequences, also in their 8-bit C1 form), every Unicode format character
// (category Cf: bidi controls, zero-width characters, the soft hyphen,
// the byte-order mark, tag characters), the line and paragraph separators
// U+2028/U+2029 and invalid UTF-8. Sequences go as a whole: dropping only
// the ESC of "\x1b]0;title\x07" would leave "]0;title" behind, and
// dropping only "\x1b[" of a CSI would leave its parameters.
package termsafe

import (
	"unicode"
	"unicode/utf8"
)

// Forbidden reports whether r may not reach a terminal. Newline and tab
// are allowed: messages have several lines, and tabwriter output has
// none (see Line for single-line fields).
func Forbidden(r rune) bool {
	switch {
	case r == '\n' || r == '\t':
		return false
	case r < 0x20 || (r >= 0x7f && r < 0xa0):
		return true
	case r < 0xad:
		// Fast path: printable ASCII and Latin-1 before the soft hyphen.
		return false
	case r == utf8.RuneError:
		// Only as a decoding error is it forbidden; Text tells the two
		// apart. The character itself is harmless.
		return false
	case r == '\u2028' || r == '\u2029':
		return true
	}
	return unicode.Is(unicode.Cf, r)
}

// Text returns s without forbidden characters and escape sequences. Text
// that has none is returned as it is, without a copy: the common case
// costs one pass over the bytes.
func Text(s string) string {
	i := firstUnsafe(s)
	if i < 0 {
		return s
	}
	out := make([]byte, 0, len(s))
	out = append(out, s[:i]...)
	for i < len(s) {
		c := s[i]
		if c >= 0x20 && c < 0x7f || c == '\n' || c == '\t' {
			out = append(out, c)
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			i++ // invalid UTF-8
		case r == 0x1b:
			i = skipEscape(s, i+1)
		case r == 0x9b: // C1 CSI
			i = skipCSI(s, i+size)
		case r == 0x90 || r == 0x98 || r == 0x9d || r == 0x9e || r == 0x9f: // C1 DCS, SOS, OSC, PM, APC
			i = skipString(s, i+size)
		case Forbidden(r):
			i += size
		default:
			out = append(out, s[i:i+size]...)
			i += size
		}
	}
	return string(out)
}

// Line is Text for one-line fields (a table cell, a header value, a
// version string): newlines and tabs become spaces as well, so a field
// cannot start a line of its own or a tabwriter column.
func Line(s string) string {
	s = Text(s)
	for i := 0; i < len(s); i++ {
		if s[i] == '\n' || s[i] == '\t' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if b[j] == '\n' || b[j] == '\t' {
					b[j] = ' '
				}
			}
			return string(b)
		}
	}
	return s
}

// Safe reports whether s would pass Text unchanged.
func Safe(s string) bool { return firstUnsafe(s) < 0 }

// firstUnsafe is the index of the first byte that Text would not copy
// as it is, or -1.
func firstUnsafe(s string) int {
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c < 0x7f || c == '\n' || c == '\t' {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			return i
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size <= 1 || Forbidden(r) {
			return i
		}
		i += size
	}
	return -1
}

// skipEscape skips what follows an ESC at s[i-1]: a CSI, a string
// sequence, or intermediates and a final byte. An ESC followed by
// anything else goes alone.
func skipEscape(s string, i int) int {
	if i >= len(s) {
		return i
	}
	switch s[i] {
	case '[':
		return skipCSI(s, i+1)
	case ']', 'P', 'X', '^', '_':
		return skipString(s, i+1)
	}
	j := i
	for j < len(s) && s[j] >= 0x20 && s[j] <= 0x2f {
		j++
	}
	if j < len(s) && s[j] >= 0x30 && s[j] <= 0x7e {
		return j + 1
	}
	// Not a sequence: the intermediates are printable text; only the
	// ESC goes.
	return i
}

// skipCSI skips parameter bytes, intermediate bytes and the final byte
// of a control sequence. A byte that fits none ends the sequence without
// being part of it (a terminal would abort there too).
func skipCSI(s string, i int) int {
	for i < len(s) && s[i] >= 0x30 && s[i] <= 0x3f {
		i++
	}
	for i < len(s) && s[i] >= 0x20 && s[i] <= 0x2f {
		i++
	}
	if i < len(s) && s[i] >= 0x40 && s[i] <= 0x7e {
		i++
	}
	return i
}

// skipString skips the payload of an OSC, DCS, SOS, PM or APC up to its
// terminator: BEL, ST (ESC \ or U+009C), CAN or SUB. Another ESC, a
// newline or the end of the text end it too, without being skipped:
// the payload is gone either way, and what follows stays readable. No
// byte is looked at twice, so the filter stays linear.
func skipString(s string, i int) int {
	for i < len(s) {
		switch c := s[i]; {
		case c == 0x07 || c == 0x18 || c == 0x1a:
			return i + 1
		case c == 0x1b:
			if i+1 < len(s) && s[i+1] == '\\' {
				return i + 2
			}
			return i
		case c == '\n':
			return i
		case c == 0xc2 && i+1 < len(s) && s[i+1] == 0x9c:
			return i + 2
		}
		i++
	}
	return i
}

// JSON returns a JSON text with every forbidden character written as a
// \u escape, so that printing a server's JSON cannot drive the terminal
// while the document keeps its exact values (jq reads the same strings).
// In valid JSON such characters can only stand inside strings, where the
// escape means the same character; invalid UTF-8 becomes \ufffd, as
// encoding/json does. Newline and tab outside strings are whitespace.
func JSON(b []byte) []byte {
	i := firstUnsafe(string(b))
	if i < 0 {
		return b
	}
	out := make([]byte, 0, len(b)+16)
	out = append(out, b[:i]...)
	for i < len(b) {
		c := b[i]
		if c >= 0x20 && c < 0x7f || c == '\n' || c == '\t' {
			out = append(out, c)
			i++
			continue
		}
		r, size := utf8.DecodeRune(b[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			out = append(out, `\ufffd`...)
		case Forbidden(r):
			out = appendU(out, r)
		default:
			out = append(out, b[i:i+size]...)
		}
		i += size
	}
	return out
}

const hexDigits = "0123456789abcdef"

// appendU appends r as a JSON \u escape (a surrogate pair above U+FFFF).
func appendU(out []byte, r rune) []byte {
	if r > 0xffff {
		r -= 0x10000
		out = appendU(out, 0xd800+(r>>10))
		return appendU(out, 0xdc00+(r&0x3ff))
	}
	return append(out, '\\', 'u', hexDigits[r>>12&0xf], hexDigits[r>>8&0xf], hexDigits[r>>4&0xf], hexDigits[r&0xf])
}
