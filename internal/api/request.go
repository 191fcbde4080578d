package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// Request is one call of `camctl api`: any method and path of the REST
// API, with a body that can be sent again.
type Request struct {
	Method string
	// Path is relative to the API base (see APIPath), with an optional
	// query string.
	Path string
	// Query is added to the query string of Path.
	Query url.Values
	// Header holds extra request headers; Authorization is never taken
	// from here (the profile supplies it).
	Header http.Header
	// Body, when set, is opened again for every attempt, so a request
	// refused with 401 can be resent whole after the credentials are
	// refreshed. Its ContentType applies unless Header sets one.
	Body *Body
}

// StreamResponse is a successful answer whose body the caller reads
// (and closes): `camctl api` copies it to stdout, unchanged and unbounded.
type StreamResponse struct {
	Status     string
	StatusCode int
	Proto      string
	Header     http.Header
	Body       io.ReadCloser
}

// APIPath turns what a user gives as PATH into a path relative to the
// API base: "topology", "/topology" and "/v2/topology" are the same.
// An absolute URL is refused (credentials must never go to a host the
// profile does not name), and so is a path that climbs out of the base.
func APIPath(p string) (string, error) {
	if p == "" {
		return "", errors.New("PATH is empty: give an endpoint such as /topology or /process-instances/search")
	}
	if u, err := url.Parse(p); err == nil && (u.Scheme != "" || u.Host != "") || strings.HasPrefix(p, "//") || strings.HasPrefix(p, `\\`) {
		return "", fmt.Errorf("%q is an absolute URL; camctl api takes a path relative to the profile's API base (such as /topology), so that the profile's credentials never go to another host", p)
	}
	if strings.IndexFunc(p, func(r rune) bool { return r <= ' ' || r == 0x7f }) >= 0 {
		return "", fmt.Errorf("PATH %q contains white space or control characters; percent-encode them", p)
	}
	path, query, hasQuery := strings.Cut(p, "?")
	if _, err := url.ParseQuery(query); hasQuery && err != nil {
		return "", fmt.Errorf("PATH %q: its query string: %w", p, err)
	}
	path = strings.TrimLeft(path, "/")
	if path == "v2" {
		path = ""
	}
	path = strings.TrimPrefix(path, "v2/")
	if err := staysUnder(path); err != nil {
		return "", fmt.Errorf("PATH %q %w; camctl api stays under the API base (/v2)", p, err)
	}
	path = "/" + path
	if hasQuery {
		path += "?" + query
	}
	return path, nil
}

// staysUnder checks that a path cannot climb out of the API base, as a
// server or a proxy in between would read it: segments are decoded
// ("%2e%2e" is ".."), split at "/" and "\\" again (an encoded slash), and a
// path parameter (";jsessionid=...", as Tomcat and Spring take "..;")
// does not make ".." another name.
func staysUnder(path string) error {
	decoded, err := url.PathUnescape(path)
	if err != nil {
		return fmt.Errorf("is not a valid URL path: %w", err)
	}
	for _, seg := range strings.FieldsFunc(decoded, func(r rune) bool { return r == '/' || r == '\\' }) {
		name, _, _ := strings.Cut(seg, ";")
		if name == ".." || name == "." {
			return fmt.Errorf("has a %q segment", seg)
		}
	}
	return nil
}

// backpressure reports whether a non-2xx answer says the request was not
// processed: 429, or 503 whose problem title is RESOURCE_EXHAUSTED
// (Camunda's backpressure). Only then may a request that can change
// state be sent again.
func backpressure(status int, problem *Problem) bool {
	if status == http.StatusTooManyRequests {
		return true
	}
	return status == http.StatusServiceUnavailable && problem != nil && strings.EqualFold(strings.TrimSpace(problem.Title), "RESOURCE_EXHAUSTED")
}

// idempotent methods are retried like topology: after 429, 502, 503, 504.
func idempotent(method string) bool {
	return method == http.MethodGet || method == http.MethodHead
}

// Do sends req and returns the answer for the caller to stream. A non-2xx
// answer is an *HTTPError (with Response set, for --include). GET and
// HEAD are retried like topology; other methods only when the server
// says it did not process them (backpressure), never after a 500 or a
// connection that broke mid-request. A 401 to refreshable credentials
// refreshes them once and resends the whole request.
func (c *Client) Do(ctx context.Context, req *Request) (*StreamResponse, error) {
	method := strings.ToUpper(req.Method)
	if method == "" {
		method = http.MethodGet
	}
	path, query, _ := strings.Cut(req.Path, "?")
	// #nosec G125 -- APIPath refused absolute URLs and ".." segments: the path stays under the profile's API base.
	u := c.base.JoinPath(path)
	q, err := url.ParseQuery(query)
	if err != nil {
		return nil, fmt.Errorf("PATH %q: its query string: %w", req.Path, err)
	}
	for k, vs := range req.Query {
		q[k] = append(q[k], vs...)
	}
	u.RawQuery = q.Encode()
	if query != "" && len(req.Query) == 0 {
		u.RawQuery = query // as the user wrote it: order and encoding kept
	}

	refreshed := false
	for retried := 0; ; {
		resp, err := c.send(ctx, method, u, req)
		if err != nil {
			return nil, err
		}
		if resp.StatusCode < 300 {
			return resp, nil
		}
		body, rerr := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		_ = resp.Body.Close()
		if rerr != nil && len(body) == 0 {
			if ctx.Err() != nil && !errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return nil, ctx.Err()
			}
			hr := &http.Response{StatusCode: resp.StatusCode, ContentLength: -1}
			return nil, bodyError(method, u, hr, body, rerr)
		}
		raw := &http.Response{Status: resp.Status, StatusCode: resp.StatusCode, Proto: resp.Proto, Header: resp.Header}
		herr := newHTTPError(method, u.Redacted(), raw, body, c.opts.Redact)
		herr.Response = &ErrorResponse{Status: resp.Status, Proto: resp.Proto, Header: resp.Header, Body: body}
		if resp.StatusCode == http.StatusUnauthorized && !refreshed {
			if r, ok := c.opts.Auth.(Refresher); ok {
				refreshed = true
				ok, err := r.Refresh(ctx)
				if err != nil {
					return nil, err
				}
				if ok {
					continue
				}
			}
		}
		again := retryable(resp.StatusCode)
		if !idempotent(method) {
			again = backpressure(resp.StatusCode, herr.Problem)
		}
		if retried >= c.retries || !again {
			return nil, herr
		}
		retried++
		if ok, err := c.pause(ctx, retried, resp.Header); err != nil {
			return nil, err
		} else if !ok {
			return nil, herr
		}
	}
}

// send makes one attempt. The answer's body is the caller's to close.
func (c *Client) send(ctx context.Context, method string, u *url.URL, r *Request) (*StreamResponse, error) {
	var body io.ReadCloser
	if r.Body != nil {
		b, err := r.Body.Open()
		if err != nil {
			return nil, err
		}
		body = b
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		if body != nil {
			_ = body.Close()
		}
		return nil, err
	}
	if body != nil {
		req.ContentLength = r.Body.ContentLength
		if r.Body.ContentLength == 0 {
			_ = body.Close()
			req.Body = http.NoBody
		}
		if r.Body.ContentType != "" {
			req.Header.Set("Content-Type", r.Body.ContentType)
		}
	}
	// Any media type: XML and binary endpoints must work.
	req.Header.Set("Accept", "*/*")
	if c.opts.UserAgent != "" {
		req.Header.Set("User-Agent", c.opts.UserAgent)
	}
	for k, vs := range r.Header {
		if http.CanonicalHeaderKey(k) == "Authorization" {
			continue
		}
		req.Header.Del(k)
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	if c.opts.Auth != nil {
		if err := c.opts.Auth.Authorize(ctx, req); err != nil {
			if body != nil {
				_ = body.Close()
			}
			return nil, err
		}
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, requestError(ctx, method, u, err)
	}
	return &StreamResponse{Status: resp.Status, StatusCode: resp.StatusCode, Proto: resp.Proto, Header: resp.Header, Body: resp.Body}, nil
}

// ErrorResponse is what a non-2xx answer sent, for --include.
type ErrorResponse struct {
	Status, Proto string
	Header        http.Header
	// Body is at most maxErrorBody bytes of the answer.
	Body []byte
}

// bodyReadError marks a failure to read the request body from its
// source (a file, stdin): the user's side, not the network's.
type bodyReadError struct{ err error }

func (e *bodyReadError) Error() string { return e.err.Error() }
func (e *bodyReadError) Unwrap() error { return e.err }

// SourceReader wraps a body source so that a read failure is reported
// as the source's, not as a network error.
func SourceReader(r io.ReadCloser) io.ReadCloser { return &sourceReader{r} }

type sourceReader struct{ io.ReadCloser }

func (s *sourceReader) Read(p []byte) (int, error) {
	n, err := s.ReadCloser.Read(p)
	if err != nil && err != io.EOF {
		err = &bodyReadError{err}
	}
	return n, err
}
