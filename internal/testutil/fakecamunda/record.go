package fakecamunda

import (
	"bytes"
	"io"
	"net/http"
)

// BodyCap is how much of each request body the fake records (the
// handlers still read all of it).
const BodyCap = 1 << 20

// logCap is how many requests Log keeps at most (the newest).
const logCap = 100_000

// Request is one request as it arrived, for assertions. It has no
// Authorization header (AuthSchemes has its scheme): a test's records
// never hold a credential.
type Request struct {
	Method      string
	Path        string
	Query       string
	ContentType string
	Accept      string
	// Body is the first BodyCap bytes of the body; Truncated says
	// whether there was more.
	Body      []byte
	Truncated bool
}

// record reads up to BodyCap bytes of r's body for the log and puts
// them back in front of the rest, so handlers see the whole body.
func record(r *http.Request) Request {
	rec := Request{
		Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery,
		ContentType: r.Header.Get("Content-Type"), Accept: r.Header.Get("Accept"),
	}
	if r.Body == nil || r.Body == http.NoBody {
		return rec
	}
	head, err := io.ReadAll(io.LimitReader(r.Body, BodyCap+1))
	if len(head) > BodyCap {
		rec.Truncated = true
		head = head[:BodyCap]
	}
	rec.Body = bytes.Clone(head)
	rest := io.Reader(r.Body)
	if err != nil {
		rest = errReader{err}
	}
	r.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(head), rest), r.Body}
	return rec
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// Log returns every request since New (or the last ResetLog), in order
// of arrival.
func (s *Server) Log() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.log...)
}

// ResetLog forgets the recorded requests and searches (a benchmark's
// warm-up, a test's second walk).
func (s *Server) ResetLog() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.log, s.api.searches = nil, nil
}

// drop closes the connection under r without writing an answer.
func drop(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		// HTTP/2: no hijacking; aborting the handler resets the stream.
		panic(http.ErrAbortHandler)
	}
	_ = conn.Close()
}
