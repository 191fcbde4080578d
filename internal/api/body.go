package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/textproto"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// MaxBufferedBody bounds what camctl keeps in memory of a request body
// that it cannot read twice (stdin): a 401 refresh resends the body
// whole, so it must be kept. Files are read again instead.
const MaxBufferedBody = 32 << 20

// maxFieldFile bounds a file read into one -F field: it becomes part of a
// JSON body held in memory.
const maxFieldFile = 32 << 20

// Sources opens the files and stdin that fields, --input and --form name.
// Stdin can be read once: the first use buffers it (up to
// MaxBufferedBody) and a second use is refused.
type Sources struct {
	Stdin    io.Reader
	stdinFor string
	stdin    []byte
}

// readStdin returns stdin whole, for the one flag that takes it.
func (s *Sources) readStdin(what string) ([]byte, error) {
	if s.stdinFor != "" {
		return nil, fmt.Errorf("%s and %s both read stdin; only one can", s.stdinFor, what)
	}
	s.stdinFor = what
	if s.Stdin == nil {
		return nil, nil
	}
	b, err := io.ReadAll(io.LimitReader(s.Stdin, MaxBufferedBody+1))
	if err != nil {
		return nil, fmt.Errorf("%s: reading stdin: %w", what, err)
	}
	if len(b) > MaxBufferedBody {
		return nil, fmt.Errorf("%s: stdin holds more than %d MiB; camctl keeps a body from stdin in memory to resend it after a token refresh, so pass a file instead (--input FILE, @FILE)", what, MaxBufferedBody>>20)
	}
	s.stdin = b
	return b, nil
}

// readFile reads a file named by @file, bounded.
func readFile(path string, limit int64, what string) ([]byte, error) {
	f, err := os.Open(path) // #nosec G304 -- the user names the file to send
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("%s: reading %s: %w", what, path, err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s: %s is larger than %d MiB", what, path, limit>>20)
	}
	return b, nil
}

// Field is one -f/-F flag.
type Field struct {
	// Raw is the flag's text, key=value.
	Raw string
	// Typed is -F: values are typed and @file is read.
	Typed bool
}

// FieldError is a malformed field; camctl exits with 2.
type FieldError struct{ Msg string }

func (e *FieldError) Error() string { return e.Msg }

// BuildJSON turns fields into a JSON object, keys in the order given:
// "filter[state]=ACTIVE" nests, "tags[]=a" appends to an array,
// "tags[]" alone is an empty array, "items[][name]=x" starts a new
// object in an array when the last one already has the key.
func BuildJSON(fields []Field, src *Sources) ([]byte, error) {
	root := newObject()
	for _, f := range fields {
		key, value, err := fieldValue(f, src)
		if err != nil {
			return nil, err
		}
		path, err := parseKey(key)
		if err != nil {
			return nil, &FieldError{Msg: fmt.Sprintf("field %q: %v", f.Raw, err)}
		}
		if err := root.set(path, value); err != nil {
			return nil, &FieldError{Msg: fmt.Sprintf("field %q: %v", f.Raw, err)}
		}
	}
	var buf bytes.Buffer
	root.encode(&buf)
	return buf.Bytes(), nil
}

// BuildQuery turns fields into query parameters (for GET): the key as
// written, the value as text (a typed JSON value as its JSON text).
func BuildQuery(fields []Field, src *Sources) (url.Values, error) {
	q := url.Values{}
	for _, f := range fields {
		key, value, err := fieldValue(f, src)
		if err != nil {
			return nil, err
		}
		if value == nil {
			return nil, &FieldError{Msg: fmt.Sprintf("field %q has no value: give key=value", f.Raw)}
		}
		var s string
		if json.Unmarshal(value, &s) != nil {
			s = string(value)
		}
		q.Add(key, s)
	}
	return q, nil
}

// fieldValue splits a field and types its value; a nil value is a key
// without "=" (an empty array for "key[]").
func fieldValue(f Field, src *Sources) (string, json.RawMessage, error) {
	key, val, ok := strings.Cut(f.Raw, "=")
	if key == "" {
		return "", nil, &FieldError{Msg: fmt.Sprintf("field %q has no key: give key=value", f.Raw)}
	}
	if !ok {
		if strings.HasSuffix(key, "[]") {
			return key, nil, nil
		}
		return "", nil, &FieldError{Msg: fmt.Sprintf("field %q has no value: give key=value (key[] alone for an empty array)", f.Raw)}
	}
	if !f.Typed {
		b, _ := json.Marshal(val)
		return key, b, nil
	}
	if rest, isFile := strings.CutPrefix(val, "@"); isFile {
		var b []byte
		var err error
		if rest == "-" {
			b, err = src.readStdin("-F " + key + "=@-")
		} else {
			b, err = readFile(rest, maxFieldFile, "-F "+key)
			if errors.Is(err, os.ErrNotExist) {
				err = fmt.Errorf("%w (for a value that starts with @, use -f %s=...)", err, key)
			}
		}
		if err != nil {
			return "", nil, err
		}
		if v, ok := typed(strings.TrimSpace(string(b))); ok {
			return key, v, nil
		}
		s, _ := json.Marshal(string(b))
		return key, s, nil
	}
	if v, ok := typed(val); ok {
		return key, v, nil
	}
	b, _ := json.Marshal(val)
	return key, b, nil
}

// typed is the JSON value of s when it is true, false, null, a number,
// or an object or array that parses.
func typed(s string) (json.RawMessage, bool) {
	switch s {
	case "true", "false", "null":
		return json.RawMessage(s), true
	}
	if s == "" {
		return nil, false
	}
	if s[0] == '{' || s[0] == '[' {
		if json.Valid([]byte(s)) {
			var buf bytes.Buffer
			if json.Compact(&buf, []byte(s)) == nil {
				return buf.Bytes(), true
			}
		}
		return nil, false
	}
	if isJSONNumber(s) {
		return json.RawMessage(s), true
	}
	return nil, false
}

func isJSONNumber(s string) bool {
	if _, err := strconv.ParseFloat(s, 64); err != nil && !errors.Is(err, strconv.ErrRange) {
		return false
	}
	// ParseFloat takes "0x1p3", "Inf", "1_000" and "+1"; JSON does not.
	var n json.Number
	return json.Unmarshal([]byte(s), &n) == nil
}

// keyPart is one step of a field key: a member name, or "" for "[]".
type keyPart struct {
	name   string
	append bool
}

// parseKey splits "a[b][][c]" into its parts.
func parseKey(key string) ([]keyPart, error) {
	name, rest, nested := strings.Cut(key, "[")
	if name == "" {
		return nil, errors.New("the key starts with '['")
	}
	parts := []keyPart{{name: name}}
	if !nested {
		return parts, nil
	}
	rest = "[" + rest
	for rest != "" {
		if rest[0] != '[' {
			return nil, fmt.Errorf("unexpected %q after ']'", rest)
		}
		end := strings.IndexByte(rest, ']')
		if end < 0 {
			return nil, errors.New("a '[' without ']'")
		}
		inner := rest[1:end]
		if strings.ContainsAny(inner, "[") {
			return nil, errors.New("a '[' inside brackets")
		}
		parts = append(parts, keyPart{name: inner, append: inner == ""})
		rest = rest[end+1:]
	}
	return parts, nil
}

// node is a JSON value under construction that keeps its keys in order.
type node struct {
	keys  []string
	obj   map[string]*node
	arr   []*node
	isArr bool
	leaf  json.RawMessage
}

func newObject() *node { return &node{obj: map[string]*node{}} }

func (n *node) isObj() bool { return n.obj != nil }

func (n *node) set(path []keyPart, value json.RawMessage) error {
	p := path[0]
	last := len(path) == 1
	if p.append {
		if !n.isArr {
			return errors.New("mixes an array ([]) with other values at the same key")
		}
		if last {
			if value != nil {
				n.arr = append(n.arr, &node{leaf: value})
			}
			return nil
		}
		// items[][name]=x: fill the last object, or start a new one
		// when it has the key already (the next element begins).
		var elem *node
		if k := len(n.arr); k > 0 && n.arr[k-1].isObj() && !n.arr[k-1].has(path[1:]) {
			elem = n.arr[k-1]
		} else {
			elem = newObject()
			n.arr = append(n.arr, elem)
		}
		return elem.setChild(path[1:], value)
	}
	if !n.isObj() {
		return fmt.Errorf("%q is set as a value and as an object", p.name)
	}
	return n.setMember(p.name, path[1:], value)
}

func (n *node) setChild(path []keyPart, value json.RawMessage) error {
	if path[0].append {
		return errors.New("[][] is not supported")
	}
	return n.setMember(path[0].name, path[1:], value)
}

// setMember sets member name of object n to value (rest empty) or
// descends into it.
func (n *node) setMember(name string, rest []keyPart, value json.RawMessage) error {
	child, ok := n.obj[name]
	if len(rest) == 0 {
		if ok {
			return fmt.Errorf("%q is given twice", name)
		}
		if value == nil {
			return fmt.Errorf("%q has no value", name)
		}
		n.add(name, &node{leaf: value})
		return nil
	}
	if !ok {
		if rest[0].append {
			child = &node{isArr: true}
		} else {
			child = newObject()
		}
		n.add(name, child)
	}
	if rest[0].append && !child.isArr || !rest[0].append && !child.isObj() {
		return fmt.Errorf("%q is used both as an array and as an object or value", name)
	}
	return child.set(rest, value)
}

func (n *node) add(name string, child *node) {
	n.keys = append(n.keys, name)
	n.obj[name] = child
}

// has reports whether the object already holds the key path.
func (n *node) has(path []keyPart) bool {
	c, ok := n.obj[path[0].name]
	if !ok {
		return false
	}
	if len(path) == 1 || !c.isObj() {
		return true
	}
	return c.has(path[1:])
}

func (n *node) encode(buf *bytes.Buffer) {
	switch {
	case n.leaf != nil:
		buf.Write(n.leaf)
	case n.isArr:
		buf.WriteByte('[')
		for i, e := range n.arr {
			if i > 0 {
				buf.WriteByte(',')
			}
			e.encode(buf)
		}
		buf.WriteByte(']')
	default:
		buf.WriteByte('{')
		for i, k := range n.keys {
			if i > 0 {
				buf.WriteByte(',')
			}
			kb, _ := json.Marshal(k)
			buf.Write(kb)
			buf.WriteByte(':')
			n.obj[k].encode(buf)
		}
		buf.WriteByte('}')
	}
}

// Body is a request body that can be opened once per attempt.
type Body struct {
	Open          func() (io.ReadCloser, error)
	ContentLength int64
	ContentType   string
}

// BytesBody is a body held in memory.
func BytesBody(b []byte, contentType string) *Body {
	return &Body{
		Open:          func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil },
		ContentLength: int64(len(b)),
		ContentType:   contentType,
	}
}

// InputBody is --input: a file read again for every attempt (a regular
// file), or stdin ("-") and other streams buffered up to MaxBufferedBody.
func InputBody(path string, src *Sources) (*Body, error) {
	if path == "-" {
		b, err := src.readStdin("--input -")
		if err != nil {
			return nil, err
		}
		return BytesBody(b, ""), nil
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("--input: %w", err)
	}
	if fi.IsDir() {
		return nil, fmt.Errorf("--input: %s is a directory", path)
	}
	if !fi.Mode().IsRegular() {
		b, err := readFile(path, MaxBufferedBody, "--input")
		if err != nil {
			return nil, err
		}
		return BytesBody(b, ""), nil
	}
	size := fi.Size()
	return &Body{
		Open: func() (io.ReadCloser, error) {
			f, err := os.Open(path) // #nosec G304 -- the user names the file to send
			if err != nil {
				return nil, fmt.Errorf("--input: %w", err)
			}
			if fi, err := f.Stat(); err != nil || fi.Size() != size {
				_ = f.Close()
				return nil, fmt.Errorf("--input: %s changed while camctl was sending it", path)
			}
			return SourceReader(f), nil
		},
		ContentLength: size,
	}, nil
}

// FormPart is one --form flag.
type FormPart struct {
	Name string
	// Value is the text of a text part; File the path of a file part.
	Value, File string
	// Filename is the file name the part carries (default: File's base
	// name); Camunda tells BPMN, DMN and forms apart by its extension.
	Filename string
	// data is a file part read ahead: stdin, or a pipe that cannot be
	// read twice.
	data []byte
}

// ParseFormPart reads "name=value", "name=@file" or, as curl writes it,
// "name=@file;filename=order.bpmn" (for stdin and pipes, which have no
// name of their own).
func ParseFormPart(s string) (FormPart, error) {
	name, val, ok := strings.Cut(s, "=")
	if !ok || name == "" {
		return FormPart{}, &FieldError{Msg: fmt.Sprintf("--form %q: give name=value or name=@file", s)}
	}
	file, isFile := strings.CutPrefix(val, "@")
	if !isFile {
		return FormPart{Name: name, Value: val}, nil
	}
	p := FormPart{Name: name, File: file}
	if f, fn, ok := strings.Cut(file, ";filename="); ok {
		p.File, p.Filename = f, fn
		if fn == "" || strings.ContainsAny(fn, "/\\") {
			return FormPart{}, &FieldError{Msg: fmt.Sprintf("--form %q: ;filename= needs a plain file name such as order.bpmn", s)}
		}
	}
	if p.File == "" {
		return FormPart{}, &FieldError{Msg: fmt.Sprintf("--form %q: @ needs a file name (@- for stdin)", s)}
	}
	return p, nil
}

// filename is the name a file part carries.
func (p FormPart) filename() string {
	switch {
	case p.Filename != "":
		return p.Filename
	case p.File == "-":
		return "stdin"
	}
	return filepath.Base(p.File)
}

// FormBody is a multipart/form-data body (deployments, documents). File
// parts carry their file names and a content type by extension; files
// are read again for every attempt, stdin is buffered.
func FormBody(parts []FormPart, src *Sources) (*Body, error) {
	boundary := multipart.NewWriter(io.Discard).Boundary()
	parts = slices.Clone(parts)
	buffered := 0
	for i, p := range parts {
		if p.File == "" {
			continue
		}
		if p.File == "-" {
			b, err := src.readStdin("--form " + p.Name + "=@-")
			if err != nil {
				return nil, err
			}
			parts[i].data = b
			continue
		}
		fi, err := os.Stat(p.File)
		if err != nil {
			return nil, fmt.Errorf("--form %s: %w", p.Name, err)
		}
		if fi.IsDir() {
			return nil, fmt.Errorf("--form %s: %s is a directory", p.Name, p.File)
		}
		if !fi.Mode().IsRegular() {
			// A pipe (<(...), a FIFO) gives its bytes once: keep them to
			// send them again after a token refresh.
			b, err := readFile(p.File, int64(MaxBufferedBody-buffered), "--form "+p.Name)
			if err != nil {
				return nil, err
			}
			buffered += len(b)
			parts[i].data = b
		}
	}
	open := func() (io.ReadCloser, error) {
		pr, pw := io.Pipe()
		go func() {
			pw.CloseWithError(writeForm(pw, boundary, parts))
		}()
		return SourceReader(pr), nil
	}
	return &Body{Open: open, ContentLength: -1, ContentType: "multipart/form-data; boundary=" + boundary}, nil
}

var quoteEscaper = strings.NewReplacer("\\", "\\\\", `"`, "\\\"", "\r", "%0D", "\n", "%0A")

func writeForm(w io.Writer, boundary string, parts []FormPart) error {
	mw := multipart.NewWriter(w)
	if err := mw.SetBoundary(boundary); err != nil {
		return err
	}
	for _, p := range parts {
		if p.File == "" {
			if err := mw.WriteField(p.Name, p.Value); err != nil {
				return err
			}
			continue
		}
		filename := p.filename()
		h := textproto.MIMEHeader{}
		// Quoted as browsers and Go's CreateFormFile write it: some
		// servers read only the quoted form.
		h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="%s"; filename="%s"`, quoteEscaper.Replace(p.Name), quoteEscaper.Replace(filename)))
		h.Set("Content-Type", ContentTypeOf(filename))
		pw, err := mw.CreatePart(h)
		if err != nil {
			return err
		}
		if p.data != nil || p.File == "-" {
			if _, err := pw.Write(p.data); err != nil {
				return err
			}
			continue
		}
		f, err := os.Open(p.File) // #nosec G304 -- the user names the file to send
		if err != nil {
			return fmt.Errorf("--form %s: %w", p.Name, err)
		}
		_, err = io.Copy(pw, f)
		_ = f.Close()
		if err != nil {
			return fmt.Errorf("--form %s: reading %s: %w", p.Name, p.File, err)
		}
	}
	return mw.Close()
}

// ContentTypeOf is the content type of a file part by its extension:
// Camunda's resources first (BPMN, DMN and forms), then the system's table.
func ContentTypeOf(name string) string {
	switch ext := strings.ToLower(filepath.Ext(name)); ext {
	case ".bpmn", ".dmn", ".xml":
		return "application/xml"
	case ".form", ".json", ".rpa":
		return "application/json"
	default:
		if t := mime.TypeByExtension(ext); t != "" {
			return t
		}
	}
	return "application/octet-stream"
}
