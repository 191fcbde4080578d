// Package redact keeps the secrets and tokens of one camctl run out of
// everything it prints (spec §8). Secrets are registered where they are
// obtained (the secret stores, stdin and prompts at login, the token
// endpoint and the token cache); Writer then filters and redacts every
// message on its way to the terminal, so no print site has to remember.
package redact

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/url"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/camctl/camctl/internal/termsafe"
)

// Marker replaces every secret. It is never rewritten itself: Redact is
// idempotent, also for a secret that is part of the marker.
const Marker = "[redacted]"

// MinLen is the length from which a form of a secret is redacted
// wherever it occurs. Shorter forms (a one-character password, the
// Base64 of a three-letter one) are redacted only where they stand as a
// whole value (see wholeValue), so that "x" does not turn every x of a
// message into a marker.
const MinLen = 8

// Redactor is the set of secrets of a run. The zero value and nil are
// ready to use and redact nothing; it is safe for concurrent use (the
// --debug transport logs from the HTTP client's goroutines).
type Redactor struct {
	mu      sync.RWMutex
	secrets map[string]bool
	// public are usernames that are also their password (AddBasic).
	public map[string]bool
	// forms are the encoded forms of all secrets, longest first, so that
	// a longer form containing a shorter one is found as a whole.
	forms []form
}

type form struct {
	text string
	// whole: shorter than MinLen, so redacted only as a whole value.
	whole bool
}

// New returns an empty Redactor.
func New() *Redactor { return &Redactor{} }

// Add registers a secret in its raw, Base64 (standard and URL-safe,
// padded and not, and as it appears inside a longer Base64 text at any
// offset), URL-encoded (the styles of percentForms, upper and lower hex,
// also of its Base64), HTML-escaped and JSON-escaped forms. Empty secrets
// are ignored.
func (r *Redactor) Add(secret string) {
	if r == nil || secret == "" {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.secrets[secret] {
		return
	}
	if r.secrets == nil {
		r.secrets = map[string]bool{}
	}
	r.secrets[secret] = true
	r.rebuild()
}

// AddBasic registers a Basic password and the user:password composite
// whose Base64 the Authorization header carries. A password equal to the
// username (Camunda's demo/demo) is no secret from anyone who reads the
// username, which the config file holds in plain text and messages show:
// only the composite is redacted then, so "Logged in as demo" stays.
func (r *Redactor) AddBasic(user, password string) {
	if r == nil || password == "" {
		return
	}
	r.Add(user + ":" + password)
	if password != user {
		r.Add(password)
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.public == nil {
		r.public = map[string]bool{}
	}
	r.public[user] = true
	r.rebuild()
}

// rebuild computes forms from secrets; r.mu is held.
func (r *Redactor) rebuild() {
	r.forms = r.forms[:0:0]
	have := map[string]bool{}
	for secret := range r.secrets {
		if r.public[secret] {
			continue
		}
		for _, text := range Forms(secret) {
			if !have[text] {
				have[text] = true
				r.forms = append(r.forms, form{text: text, whole: len(text) < MinLen})
			}
		}
	}
	slices.SortFunc(r.forms, func(a, b form) int {
		if len(a.text) != len(b.text) {
			return len(b.text) - len(a.text)
		}
		return strings.Compare(a.text, b.text)
	})
}

// Forms returns the forms of secret that Add registers.
func Forms(secret string) []string {
	var out []string
	add := func(s string) {
		if s != "" && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	add(secret)
	// A secret with characters the filter drops reaches the redactor
	// without them (Writer filters first).
	add(termsafe.Text(secret))
	b := []byte(secret)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
		add(enc.EncodeToString(b))
	}
	// Inside a longer Base64 text (a Basic header of any user, a JWT
	// claim, a blob) the secret starts at one of three offsets of a
	// 3-byte group: encode it behind 0, 1 or 2 filler bytes and keep the
	// characters that depend on the secret alone.
	for k := range 3 {
		padded := append(make([]byte, k), b...)
		start, end := (8*k+5)/6, 8*(k+len(b))/6
		for _, enc := range []*base64.Encoding{base64.RawStdEncoding, base64.RawURLEncoding} {
			if s := enc.EncodeToString(padded); end-start >= MinLen && end <= len(s) {
				add(s[start:end])
			}
		}
	}
	// Percent-encoded as the different URL encoders write it, of the
	// secret and of its Base64 (whose '+', '/' and '=' an encoder escapes:
	// a Basic header echoed into a Location or a query string).
	for _, base := range []string{secret, base64.StdEncoding.EncodeToString(b), base64.RawStdEncoding.EncodeToString(b)} {
		for _, esc := range percentForms(base) {
			add(esc)
			add(lowerHex(esc))
		}
	}
	add(html.EscapeString(secret))
	add(strings.ReplaceAll(html.EscapeString(secret), "&#34;", "&quot;"))
	for _, j := range jsonForms(secret) {
		add(j)
	}
	return out
}

// jsonForms are the ways a JSON encoder may write secret inside a string:
// Go's (HTML-safe and not), with "\/" (PHP and others), and with every
// non-ASCII character as a \u escape.
func jsonForms(secret string) []string {
	var out []string
	for _, html := range []bool{true, false} {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(html)
		if err := enc.Encode(secret); err != nil {
			continue
		}
		s := strings.TrimSuffix(buf.String(), "\n")
		s = s[1 : len(s)-1]
		out = append(out, s, strings.ReplaceAll(s, "/", `\/`))
	}
	for _, base := range []string{out[0], out[2]} {
		var ascii strings.Builder
		for _, c := range base {
			if c < utf8.RuneSelf {
				ascii.WriteRune(c)
				continue
			}
			for _, u := range utf16Units(c) {
				fmt.Fprintf(&ascii, `\u%04x`, u)
			}
		}
		out = append(out, ascii.String(), strings.ReplaceAll(ascii.String(), "/", `\/`))
	}
	return out
}

func utf16Units(r rune) []rune {
	if r > 0xffff {
		r -= 0x10000
		return []rune{0xd800 + r>>10, 0xdc00 + r&0x3ff}
	}
	return []rune{r}
}

// percentForms are s percent-encoded the ways URL encoders do: Go's
// query (space as '+') and path escaping, RFC 3986's strict form (only
// unreserved characters kept), JavaScript's encodeURIComponent (also
// !*'() kept) and Python's quote (also '/' kept).
func percentForms(s string) []string {
	const unreserved = "-._~"
	return []string{
		url.QueryEscape(s),
		url.PathEscape(s),
		percentEncode(s, unreserved),
		percentEncode(s, unreserved+"!*'()"),
		percentEncode(s, unreserved+"/"),
	}
}

// percentEncode escapes every byte of s but letters, digits and keep.
func percentEncode(s, keep string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte(keep, c) >= 0 {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}

// lowerHex writes the %XX escapes of s in lower case, as some servers do.
func lowerHex(s string) string {
	b := []byte(s)
	for i := 0; i+2 < len(b); i++ {
		if b[i] == '%' {
			b[i+1], b[i+2] = lowerASCII(b[i+1]), lowerASCII(b[i+2])
			i += 2
		}
	}
	return string(b)
}

func lowerASCII(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// Redact replaces every registered secret in s, in any of its forms,
// with Marker. Overlapping matches become one marker, so no part of
// either secret survives; a match that reaches into a marker already
// there merges with it, and one inside a marker is left alone.
func (r *Redactor) Redact(s string) string {
	if r == nil || s == "" {
		return s
	}
	r.mu.RLock()
	forms := r.forms
	r.mu.RUnlock()
	if len(forms) == 0 {
		return s
	}
	// Replacing can make a new match only where a marker now touches the
	// text (a short secret that is a whole value once its neighbour is a
	// marker, or a secret that reaches into one); every round after the
	// first works on such edges only, so a few rounds always suffice.
	for range 16 {
		next, changed := redactOnce(forms, s)
		if !changed {
			return s
		}
		s = next
	}
	return s
}

type span struct{ start, end int }

func redactOnce(forms []form, s string) (string, bool) {
	var matches []span
	for _, f := range forms {
		for off := 0; off < len(s); {
			j := strings.Index(s[off:], f.text)
			if j < 0 {
				break
			}
			a := off + j
			b := a + len(f.text)
			if !f.whole || wholeValue(s, a, b) {
				matches = append(matches, span{a, b})
			}
			off = a + 1
		}
	}
	if len(matches) == 0 {
		return s, false
	}
	var markers []span
	for off := 0; ; {
		j := strings.Index(s[off:], Marker)
		if j < 0 {
			break
		}
		markers = append(markers, span{off + j, off + j + len(Marker)})
		off += j + len(Marker)
	}
	var spans []span
	for _, m := range matches {
		inside := false
		for _, mk := range markers {
			if m.start >= mk.start && m.end <= mk.end {
				inside = true
				break
			}
			if m.start < mk.end && mk.start < m.end {
				spans = append(spans, mk) // reaches into the marker: merge
			}
		}
		if !inside {
			spans = append(spans, m)
		}
	}
	if len(spans) == 0 {
		return s, false
	}
	slices.SortFunc(spans, func(a, b span) int {
		if a.start != b.start {
			return a.start - b.start
		}
		return b.end - a.end
	})
	var out strings.Builder
	out.Grow(len(s))
	last := 0
	for i := 0; i < len(spans); {
		cur := spans[i]
		for i++; i < len(spans) && spans[i].start < cur.end; i++ {
			cur.end = max(cur.end, spans[i].end)
		}
		out.WriteString(s[last:cur.start])
		out.WriteString(Marker)
		last = cur.end
	}
	out.WriteString(s[last:])
	res := out.String()
	return res, res != s
}

// wholeValue reports whether s[a:b] stands as a value of its own: a
// quoted string, a parameter or field value (after '=' or ':'), an
// element between brackets, commas or an address's '/' and '@' — not a
// word of prose. A short password that is an ordinary word ("Error")
// would otherwise turn every such word of a message into a marker, and
// a reader would learn the password from where the markers are.
func wholeValue(s string, a, b int) bool {
	return valueStart(s, a) && valueEnd(s, b)
}

func valueStart(s string, a int) bool {
	if a == 0 {
		return false
	}
	if strings.HasSuffix(s[:a], Marker) {
		return true
	}
	i := a
	for i > 0 && (s[i-1] == ' ' || s[i-1] == '\t') {
		i--
	}
	if i == 0 {
		return false
	}
	if i < a { // after spaces: only those of "key: value" or "key = value"
		return s[i-1] == ':' || s[i-1] == '='
	}
	return strings.IndexByte("\"'`=:<>([{,;&/@\n", s[a-1]) >= 0
}

func valueEnd(s string, b int) bool {
	if b == len(s) || strings.HasPrefix(s[b:], Marker) {
		return true
	}
	switch c := s[b]; {
	case c == ':' || c == '.':
		// "value: ..." ends a value; "Error: ..." at a message's start
		// is not reached, valueStart refuses it.
		return b+1 == len(s) || s[b+1] == ' ' || s[b+1] == '\n'
	default:
		return strings.IndexByte("\"'` \t\r\n<>)]},;&@/", c) >= 0
	}
}

// Writer filters (termsafe.Text) and then redacts everything written to
// it, in that order, so that a zero-width character or a soft hyphen
// inside a secret cannot hide it from the redactor. Each Write is handled
// on its own: camctl writes whole messages (one Fprintf per message, one
// Write per rendered view), so a secret is never split across writes.
// It is safe for concurrent use, and writes do not interleave.
type Writer struct {
	mu   sync.Mutex
	w    io.Writer
	r    *Redactor
	keep []string
}

// NewWriter returns a Writer to w that redacts with r.
func NewWriter(w io.Writer, r *Redactor) *Writer { return &Writer{w: w, r: r} }

// Keep lets these exact escape sequences through (camctl's own colour
// codes, when colour is on); nil keeps none. Text from outside camctl is
// filtered before camctl paints it, so it cannot bring these in.
func (w *Writer) Keep(seqs []string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.keep = seqs
}

// Write implements io.Writer. It reports len(p) when the cleaned text was
// written, since callers count what they gave.
func (w *Writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	s := string(p)
	s = w.r.Redact(w.filter(s))
	if len(w.keep) > 0 {
		// A short secret next to a kept sequence could have taken a piece
		// of it: filter once more, so no stray ESC is left.
		s = w.filter(s)
	}
	if _, err := io.WriteString(w.w, s); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (w *Writer) filter(s string) string {
	if len(w.keep) == 0 || !strings.Contains(s, "\x1b") {
		return termsafe.Text(s)
	}
	var out strings.Builder
	start := 0
	for i := 0; i < len(s); i++ {
		if s[i] != 0x1b {
			continue
		}
		for _, k := range w.keep {
			if strings.HasPrefix(s[i:], k) {
				out.WriteString(termsafe.Text(s[start:i]))
				out.WriteString(k)
				i += len(k) - 1
				start = i + 1
				break
			}
		}
	}
	out.WriteString(termsafe.Text(s[start:]))
	return out.String()
}
