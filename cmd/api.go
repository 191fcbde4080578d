package cmd

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/camctl/camctl/internal/api"
	"github.com/camctl/camctl/internal/apiindex"
	"github.com/camctl/camctl/internal/config"
	"github.com/camctl/camctl/internal/jsonview"
	"github.com/camctl/camctl/internal/session"
	"github.com/camctl/camctl/internal/termsafe"
)

// APIOptions are the inputs of `camctl api`.
type APIOptions struct {
	IO      *IOStreams
	Session func() *session.Session
	Colors  func() ColorScheme
	Timeout time.Duration

	Path      string
	Method    string
	RawFields []string
	Fields    []string
	Input     string
	Form      []string
	Headers   []string
	Paginate  bool
	JQ        string
	Include   bool
	Silent    bool
}

// maxShown bounds what camctl reads of an answer it shows on a terminal
// (a file or a pipe gets it all, streamed): more is not for reading.
const maxShown = 16 << 20

// maxJQ bounds an answer (or a page) that --jq holds: gojq's values take
// some ten times the JSON's size, and spec §8 bounds camctl to 256 MiB.
const maxJQ = 16 << 20

// NewCmdAPI builds `camctl api`.
func NewCmdAPI(f *Factory, runF func(context.Context, *APIOptions) error) *cobra.Command {
	opts := &APIOptions{IO: f.IO, Session: f.newSession, Colors: f.Colors}
	cmd := &cobra.Command{
		Use:   "api PATH",
		Short: "Send an authenticated request to any endpoint of the REST API",
		Long: `Send a request to the selected profile's cluster with its credentials, and
print the answer's body on stdout, unchanged (indented and coloured only on a
terminal, when it is JSON).

PATH is relative to the API base: topology, /topology and /v2/topology are
the same request. An absolute URL is refused, so the profile's credentials
never go to a host it does not name.

Fields build a JSON body (or, for GET, the query string):
  -f key=value     a string
  -F key=value     typed: true, false, null, numbers, JSON objects and arrays;
                   @file reads the value from a file (@- from stdin)
  Nested keys: -f 'filter[state]=ACTIVE'; arrays: -f 'tags[]=a' -f 'tags[]=b'.
  Camunda's keys are strings: pass them with -f, not -F.

With fields, --input or --form the method is POST unless -X says otherwise.
GET and HEAD are retried on 429 and 502-504 like topology; other methods only
when the cluster says it did not process the request (429, or 503
RESOURCE_EXHAUSTED). A 401 to a cached token refreshes it once and resends.

--paginate follows the cursor of a search (POST .../search) until the last
page and prints one document shaped like a single page with every item.

Exit codes: 3 for 401/403, 5 for 5xx after retries, 1 for other 4xx answers;
the problem detail goes to stderr.`,
		Example: `  camctl api /topology
  camctl api /process-definitions/search -f 'filter[processDefinitionId]=order-process'
  camctl api /deployments --form resources=@order.bpmn
  camctl api /process-instances -f processDefinitionId=order-process -F 'variables={"orderId":"A-1"}'
  camctl api /process-instances/search -f 'filter[state]=ACTIVE' --paginate --jq '.items[].processInstanceKey'
  camctl api -X POST /incidents/2251799813685251/resolution
  camctl api /process-definitions/2251799813685249/xml > order.bpmn`,
		Args:        exactArgs(1, "PATH"),
		Annotations: map[string]string{noOutputFormat: "it prints the answer as the server sent it; --jq reshapes JSON"},
		ValidArgsFunction: func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
			if len(args) > 0 {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			candidates, noSpace := apiindex.Complete(toComplete)
			dir := cobra.ShellCompDirectiveNoFileComp
			if noSpace {
				dir |= cobra.ShellCompDirectiveNoSpace
			}
			return candidates, dir
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Path = args[0]
			opts.Timeout = f.Global.Timeout
			if opts.Silent && opts.JQ != "" {
				return flagErrorf("--silent prints no body: it does not go with --jq")
			}
			if opts.Paginate && opts.Include {
				return flagErrorf("--include shows one answer's headers; it does not go with --paginate")
			}
			if opts.Input != "" && len(opts.Form) > 0 {
				return flagErrorf("--input and --form both give the body: use one")
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runAPI(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&opts.Method, "method", "X", "", "HTTP `method` (default GET, or POST with a body)")
	fl.StringArrayVarP(&opts.RawFields, "raw-field", "f", nil, "a string `key=value` of the JSON body (query parameter for GET)")
	fl.StringArrayVarP(&opts.Fields, "field", "F", nil, "a typed `key=value`: true, false, null, numbers, JSON; @file reads a file, @- stdin")
	fl.StringVar(&opts.Input, "input", "", "the request body from a `file` (- for stdin), sent as application/json unless -H sets Content-Type")
	fl.StringArrayVar(&opts.Form, "form", nil, "a multipart/form-data part: `name=value`, name=@file or name=@-;filename=order.bpmn")
	fl.StringArrayVarP(&opts.Headers, "header", "H", nil, "an extra request header `'Name: value'` (not Authorization)")
	fl.BoolVar(&opts.Paginate, "paginate", false, "follow the pages of a search (POST .../search) and print one document with every item")
	fl.StringVarP(&opts.JQ, "jq", "q", "", "filter the JSON answer with a jq `expression` (built in; per page with --paginate)")
	fl.BoolVarP(&opts.Include, "include", "i", false, "print the status line and response headers before the body")
	fl.BoolVar(&opts.Silent, "silent", false, "print no body")
	_ = cmd.RegisterFlagCompletionFunc("method", func(cmd *cobra.Command, args []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
		methods := []string{"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"}
		if len(args) > 0 {
			if m := apiindex.Methods(args[0]); len(m) > 0 {
				methods = m
			}
		}
		return methods, cobra.ShellCompDirectiveNoFileComp
	})
	return cmd
}

// apiRequest is what the flags build.
type apiRequest struct {
	req *api.Request
	// search is the JSON body of a --paginate request.
	search []byte
}

func buildAPIRequest(opts *APIOptions) (*apiRequest, error) {
	path, err := api.APIPath(opts.Path)
	if err != nil {
		return nil, &FlagError{Err: err}
	}
	header, err := parseHeaders(opts.Headers)
	if err != nil {
		return nil, err
	}
	fields := make([]api.Field, 0, len(opts.RawFields)+len(opts.Fields))
	for _, f := range opts.RawFields {
		fields = append(fields, api.Field{Raw: f})
	}
	for _, f := range opts.Fields {
		fields = append(fields, api.Field{Raw: f, Typed: true})
	}
	method := strings.ToUpper(opts.Method)
	hasBody := opts.Input != "" || len(opts.Form) > 0
	if method == "" {
		method = http.MethodGet
		if hasBody || len(fields) > 0 || opts.Paginate {
			method = http.MethodPost
		}
	}
	if !validToken(method) {
		return nil, flagErrorf("-X %q is not an HTTP method", termsafe.Line(opts.Method))
	}
	src := &api.Sources{Stdin: opts.IO.In}
	r := &apiRequest{req: &api.Request{Method: method, Path: path, Header: header}}
	bodyless := method == http.MethodGet || method == http.MethodHead
	if len(fields) > 0 {
		// Fields are the query string when the body is taken or there is none.
		if bodyless || hasBody {
			r.req.Query, err = api.BuildQuery(fields, src)
		} else {
			var b []byte
			if b, err = api.BuildJSON(fields, src); err == nil {
				r.req.Body = api.BytesBody(b, "application/json")
			}
		}
		if err != nil {
			return nil, &FlagError{Err: err}
		}
	}
	if hasBody {
		if r.req.Body, err = rawBody(opts, src); err != nil {
			return nil, &FlagError{Err: err}
		}
	}
	if bodyless && r.req.Body != nil {
		return nil, flagErrorf("%s sends no body: drop --input/--form, or use -X POST", method)
	}
	if header.Get("Content-Type") != "" && r.req.Body != nil {
		r.req.Body.ContentType = "" // the user's header wins
	}
	if opts.Paginate {
		if r.search, err = searchBody(opts, method, path, r.req.Body); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// parseHeaders reads the -H flags. The profile supplies the credentials,
// so Authorization is refused; a value that a header cannot carry is
// refused here, as a usage error, rather than by the HTTP client.
func parseHeaders(flags []string) (http.Header, error) {
	header := http.Header{}
	for _, h := range flags {
		name, value, ok := strings.Cut(h, ":")
		name, value = strings.TrimSpace(name), strings.TrimSpace(value)
		if !ok || !validToken(name) {
			return nil, flagErrorf("-H %q: give 'Name: value' (a name of letters, digits and !#$%%&'*+-.^_`|~)", termsafe.Line(h))
		}
		if strings.IndexFunc(value, func(r rune) bool { return r < ' ' && r != '\t' || r == 0x7f }) >= 0 {
			return nil, flagErrorf("-H %s: the value has a control character or line break", termsafe.Line(name))
		}
		switch http.CanonicalHeaderKey(name) {
		case "Authorization", "Proxy-Authorization":
			return nil, flagErrorf("-H %s: the profile supplies the credentials; for another credential use another profile (camctl profile add NAME --auth bearer, or -p)", http.CanonicalHeaderKey(name))
		}
		header.Add(name, value)
	}
	return header, nil
}

// validToken reports whether s is an RFC 9110 token (a method or a
// header name).
func validToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0 {
			continue
		}
		return false
	}
	return true
}

// rawBody is the body of --input or --form.
func rawBody(opts *APIOptions, src *api.Sources) (*api.Body, error) {
	if opts.Input != "" {
		body, err := api.InputBody(opts.Input, src)
		if err != nil {
			return nil, err
		}
		body.ContentType = "application/json"
		return body, nil
	}
	parts := make([]api.FormPart, 0, len(opts.Form))
	for _, s := range opts.Form {
		p, err := api.ParseFormPart(s)
		if err != nil {
			return nil, err
		}
		parts = append(parts, p)
	}
	return api.FormBody(parts, src)
}

// searchBody checks a --paginate request before anything is sent and
// returns its JSON body.
func searchBody(opts *APIOptions, method, path string, body *api.Body) ([]byte, error) {
	if method != http.MethodPost {
		return nil, flagErrorf("--paginate follows the pages of a search, which is POST .../search; this request is %s", method)
	}
	if len(opts.Form) > 0 {
		return nil, flagErrorf("--paginate takes a JSON search request, not --form")
	}
	op, known, _ := apiindex.Match(method, path)
	search := op.Search
	if !known {
		// A search of a newer server than the index knows.
		p, _, _ := strings.Cut(path, "?")
		search = strings.HasSuffix(p, "/search")
	}
	if !search {
		return nil, flagErrorf("--paginate is for search endpoints (POST .../search); %s is not one", path)
	}
	b := []byte("{}")
	if body != nil {
		rc, err := body.Open()
		if err != nil {
			return nil, &FlagError{Err: err}
		}
		b, err = io.ReadAll(io.LimitReader(rc, api.MaxBufferedBody+1))
		_ = rc.Close()
		if err != nil {
			return nil, fmt.Errorf("--paginate: reading the request body: %w", err)
		}
		if len(b) > api.MaxBufferedBody {
			return nil, flagErrorf("--paginate: the search request is larger than %d MiB", api.MaxBufferedBody>>20)
		}
	}
	if err := api.CheckSearch(b); err != nil {
		return nil, &FlagError{Err: err}
	}
	return b, nil
}

func runAPI(ctx context.Context, opts *APIOptions) error {
	var query *jsonview.Query
	if opts.JQ != "" {
		q, err := jsonview.Compile(opts.JQ)
		if err != nil {
			return &FlagError{Err: err}
		}
		query = q
	}
	ar, err := buildAPIRequest(opts)
	if err != nil {
		return err
	}
	for name, values := range ar.req.Header {
		if api.CredentialHeader(name) {
			for _, v := range values {
				opts.IO.Redactor.Add(v)
			}
		}
	}
	s := opts.Session()
	r, err := s.Resolve(nil)
	if err != nil {
		return err
	}
	if note := apiindex.Note(ar.req.Method, ar.req.Path); note != "" {
		fmt.Fprintln(opts.IO.ErrOut, note)
	}
	conn, err := s.Connect(ctx, r)
	if err != nil {
		return explain(err, r, opts.Timeout.String())
	}
	out := &apiOutput{opts: opts, query: query, tty: opts.IO.IsStdoutTTY()}
	if out.tty {
		out.color = opts.Colors().enabled
	}
	if ar.search != nil {
		err = out.paginate(ctx, conn.Client, ar)
	} else {
		err = out.single(ctx, conn.Client, ar.req)
	}
	if err == nil {
		return nil
	}
	var rc *api.RepeatedCursorError
	if errors.As(err, &rc) {
		fmt.Fprintf(opts.IO.ErrOut, "Warning: %s\n", rc.Error())
		return &silentError{code: ExitError}
	}
	return explainAPI(err, r, ar.req, opts.Timeout.String())
}

// explainAPI is explain for answers to a request the user chose: a
// problem detail from the cluster says what is wrong with the request
// (a 404 of an unknown key, a 400 of a bad body), and a 404 is more
// often a wrong PATH than a wrong address; credentials, network and
// server failures get camctl's usual hints.
func explainAPI(err error, r *config.Resolved, req *api.Request, timeout string) error {
	var herr *api.HTTPError
	if !errors.As(err, &herr) || herr.StatusCode >= 500 || herr.StatusCode == http.StatusUnauthorized || herr.StatusCode == http.StatusForbidden {
		return explain(err, r, timeout)
	}
	err = fmt.Errorf("profile %s: %w", r.Name, err)
	if herr.StatusCode == http.StatusNotFound {
		if _, known, _ := apiindex.Match(req.Method, req.Path); !known || herr.Problem == nil {
			return withHint(err, "Check PATH: `camctl api /<TAB>` completes the endpoints of the REST API. If every path answers 404, check %s.", theSetting(r, config.Address, "address"))
		}
	}
	return err
}

type apiOutput struct {
	opts  *APIOptions
	query *jsonview.Query
	tty   bool
	color bool
}

func (o *apiOutput) style() jsonview.Style { return jsonview.Style{Indent: o.tty, Color: o.color} }

// single sends one request and prints its answer.
func (o *apiOutput) single(ctx context.Context, c *api.Client, req *api.Request) error {
	resp, err := c.Do(ctx, req)
	var herr *api.HTTPError
	if errors.As(err, &herr) && herr.Response != nil && o.opts.Include {
		o.printHead(herr.Response.Proto, herr.Response.Status, herr.Response.Header)
		if werr := o.body(ctx, herr.Response.Header.Get("Content-Type"), io.NopCloser(bytes.NewReader(herr.Response.Body))); werr != nil {
			return werr
		}
	}
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if o.opts.Include {
		o.printHead(resp.Proto, resp.Status, resp.Header)
	}
	if o.opts.Silent {
		_, err := io.Copy(io.Discard, resp.Body)
		return o.readErr(ctx, c, req, err)
	}
	return o.readErr(ctx, c, req, o.body(ctx, resp.Header.Get("Content-Type"), resp.Body))
}

// readErr makes a failure while the body arrived a network error with
// the request named (not a write error to stdout, which is returned as is).
func (o *apiOutput) readErr(ctx context.Context, c *api.Client, req *api.Request, err error) error {
	var re *readError
	if err == nil || !errors.As(err, &re) {
		return err
	}
	if ctx.Err() != nil && !errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return ctx.Err()
	}
	path, _, _ := strings.Cut(req.Path, "?")
	return api.CutOff(req.Method, c.BaseURL().JoinPath(path).Redacted(), fmt.Errorf("reading the answer: %w", re.err))
}

// readError marks a failure to read the answer (not to write stdout).
type readError struct{ err error }

func (e *readError) Error() string { return e.err.Error() }
func (e *readError) Unwrap() error { return e.err }

type trackedReader struct{ r io.Reader }

func (t trackedReader) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	if err != nil && err != io.EOF {
		err = &readError{err}
	}
	return n, err
}

// printHead prints the status line and headers, through the redactor
// and the terminal-safe filter: a server may echo a credential there.
func (o *apiOutput) printHead(proto, status string, h http.Header) {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s\n", termsafe.Line(proto), termsafe.Line(status))
	names := make([]string, 0, len(h))
	for k := range h {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		for _, v := range h[k] {
			fmt.Fprintf(&b, "%s: %s\n", termsafe.Line(k), termsafe.Line(v))
		}
	}
	b.WriteString("\n")
	_, _ = io.WriteString(o.opts.IO.Out, b.String())
}

// body prints an answer's body: unchanged to a file or pipe; on a
// terminal JSON indented (and coloured), text made terminal-safe, and
// binary not at all; through --jq when given.
func (o *apiOutput) body(ctx context.Context, contentType string, rc io.ReadCloser) error {
	defer rc.Close()
	r := trackedReader{rc}
	out := o.opts.IO.DataOut()
	switch {
	case o.query != nil:
		doc, err := readBounded(r, maxJQ, "--jq")
		if err != nil {
			return err
		}
		if len(bytes.TrimSpace(doc)) == 0 {
			return nil
		}
		return o.query.Run(ctx, out, doc, o.style(), o.tty)
	case !o.tty:
		_, err := io.Copy(out, r)
		return err
	case jsonview.IsJSON(contentType) || jsonview.IsText(contentType) || contentType == "":
		doc, err := readBounded(r, maxShown, "an answer shown on a terminal")
		if err != nil {
			return err
		}
		if jsonview.IsJSON(contentType) {
			if json.Valid(doc) {
				return jsonview.Pretty(out, bytes.NewReader(doc), o.style())
			}
			fmt.Fprintln(o.opts.IO.ErrOut, "Note: the answer says it is JSON but is not valid JSON; shown as text.")
		}
		text := termsafe.Text(string(doc))
		if text != "" && !strings.HasSuffix(text, "\n") {
			text += "\n"
		}
		_, err = io.WriteString(out, text)
		return err
	default:
		n, err := io.Copy(io.Discard, r)
		if err != nil {
			return err
		}
		fmt.Fprintf(o.opts.IO.ErrOut, "Note: the answer is %d bytes of %s, not shown on a terminal; redirect it to a file: camctl api %s > FILE\n", n, termsafe.Line(contentType), o.opts.Path)
		return nil
	}
}

func readBounded(r io.Reader, limit int, what string) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, int64(limit)+1))
	if err != nil {
		return nil, err
	}
	if len(b) > limit {
		return nil, fmt.Errorf("the answer is larger than %d MiB, more than camctl holds for %s; redirect it to a file instead (and filter it there)", limit>>20, what)
	}
	return b, nil
}

// paginate follows a search's pages and prints them as one document
// (or each page through --jq).
func (o *apiOutput) paginate(ctx context.Context, c *api.Client, ar *apiRequest) error {
	out := o.opts.IO.DataOut()
	if o.opts.Silent {
		return c.Paginate(ctx, ar.req, ar.search, func(*api.Page) error { return nil })
	}
	if o.query != nil {
		return c.PaginateBounded(ctx, ar.req, ar.search, maxJQ, func(p *api.Page) error {
			return o.query.Run(ctx, out, p.Raw, o.style(), o.tty)
		})
	}
	var pw *io.PipeWriter
	done := make(chan error, 1)
	w := out
	if o.tty {
		// The merged document streams through the indenting printer.
		var pr *io.PipeReader
		pr, pw = io.Pipe()
		go func() {
			err := jsonview.Pretty(out, pr, o.style())
			_ = pr.CloseWithError(err)
			done <- err
		}()
		w = pw
	}
	m := api.NewMerger(w)
	err := c.Paginate(ctx, ar.req, ar.search, m.Add)
	// A document is closed only when it is complete, or when the server
	// repeated itself (what came before is whole): one cut off by an
	// error stays open, so that no JSON reader takes it for all items.
	var rc *api.RepeatedCursorError
	if err == nil || errors.As(err, &rc) {
		if cerr := m.Close(); err == nil {
			err = cerr
		}
	}
	if pw != nil {
		_ = pw.Close()
		if perr := <-done; err == nil {
			err = perr
		}
	}
	return err
}

// silentError ends a run whose message was printed already.
type silentError struct{ code int }

func (e *silentError) Error() string { return "" }
