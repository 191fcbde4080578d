// Package fakecamunda is a fake Orchestration Cluster REST API for tests
// and benchmarks: GET /v2/topology behind no auth or HTTP Basic, with
// scripted failures (problem details, HTML error pages, hangs, 5xx), and
// (search.go, api.go) search endpoints over a synthetic data set,
// deployments, process definitions' XML, process instances and incidents.
// It only ever listens on loopback.
package fakecamunda

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
)

// DefaultTopology is a healthy three-broker cluster as Camunda 8.8
// reports it.
//
//go:embed topology.json
var DefaultTopology []byte

// Reply is one scripted answer.
type Reply struct {
	Status      int
	ContentType string
	Body        string
	RetryAfter  string
	Location    string
	// Hang blocks until the client gives up.
	Hang bool
	// Cut announces the whole body (Content-Length), sends half of it
	// and closes the connection.
	Cut bool
	// Stall sends the status and headers, announcing the body, and then
	// nothing until the client gives up: a slow-loris answer.
	Stall bool
	// Size, when positive, makes the body that many bytes: Body, then
	// spaces (valid JSON padding, so only the size is at fault).
	Size int
	// Drop closes the connection without an answer once the request
	// has arrived: the connection broke mid-request, and the client
	// cannot know whether the server acted on it.
	Drop bool
}

// Server is the fake. Its zero value is not usable; call New.
type Server struct {
	mu       sync.Mutex
	topology []byte
	user     string
	password string
	bearer   func(token string) error
	script   []Reply
	requests int
	authSeen []string
	sent     int64
	release  chan struct{}
	arrived  chan struct{}
	api      apiState
	log      []Request
	// down makes GET /v2/status answer 503; identity overrides the
	// answer of GET /v2/authentication/me (see SetIdentity).
	down     bool
	identity func(r *http.Request) (map[string]any, bool)
}

// New returns a fake that serves DefaultTopology without auth.
func New() *Server {
	return &Server{topology: DefaultTopology, release: make(chan struct{}), arrived: make(chan struct{}, 1), api: newAPIState()}
}

// RequireBasic makes /v2/* demand HTTP Basic with these credentials.
func (s *Server) RequireBasic(user, password string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.user, s.password = user, password
}

// RequireBearer makes /v2/* demand a bearer token that verify accepts
// (in the OIDC tests: signed by the test IdP, for the right audience).
func (s *Server) RequireBearer(verify func(token string) error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.bearer = verify
}

// SetTopology replaces the topology body.
func (s *Server) SetTopology(body []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.topology = body
}

// Script queues answers for the next requests, before normal service resumes.
func (s *Server) Script(replies ...Reply) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.script = append(s.script, replies...)
}

// Requests returns how many API requests arrived.
func (s *Server) Requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests
}

// AuthSchemes returns the scheme of each request's Authorization header
// ("" for none), never the credentials.
func (s *Server) AuthSchemes() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.authSeen...)
}

// Sent returns how many body bytes scripted answers wrote successfully
// (into the connection's buffers, at least) before the client hung up.
func (s *Server) Sent() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sent
}

// Arrived signals that at least one request arrived since the last receive.
func (s *Server) Arrived() <-chan struct{} { return s.arrived }

// Close releases hanging requests.
func (s *Server) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	select {
	case <-s.release:
	default:
		close(s.release)
	}
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec := record(r)
	s.mu.Lock()
	s.requests++
	if len(s.log) >= logCap {
		// A long benchmark must not grow the fake without bound: keep
		// the newer half.
		s.log = append(s.log[:0], s.log[len(s.log)/2:]...)
	}
	s.log = append(s.log, rec)
	scheme := ""
	if h := r.Header.Get("Authorization"); h != "" {
		scheme = h
		for i, c := range h {
			if c == ' ' {
				scheme = h[:i]
				break
			}
		}
	}
	s.authSeen = append(s.authSeen, scheme)
	var reply *Reply
	if len(s.script) > 0 {
		reply = &s.script[0]
		s.script = s.script[1:]
	}
	user, password, topology, bearer := s.user, s.password, s.topology, s.bearer
	s.mu.Unlock()
	override := false
	select {
	case s.arrived <- struct{}{}:
	default:
	}

	if reply != nil {
		if reply.Drop {
			drop(w, r)
			return
		}
		if reply.Hang {
			select {
			case <-r.Context().Done():
			case <-s.release:
			}
			return
		}
		if reply.Cut || reply.Stall || reply.Size > 0 {
			s.serveBroken(w, r, reply)
			return
		}
		if reply.Status != 0 && reply.Status != http.StatusOK {
			if reply.RetryAfter != "" {
				w.Header().Set("Retry-After", reply.RetryAfter)
			}
			if reply.Location != "" {
				w.Header().Set("Location", reply.Location)
			}
			if reply.ContentType != "" {
				w.Header().Set("Content-Type", reply.ContentType)
			}
			w.WriteHeader(reply.Status)
			fmt.Fprint(w, reply.Body)
			return
		}
		if reply.ContentType != "" {
			w.Header().Set("Content-Type", reply.ContentType)
			fmt.Fprint(w, reply.Body)
			return
		}
		if reply.Body != "" {
			// The body of whichever endpoint r is for, once auth passes.
			topology = []byte(reply.Body)
			override = true
		}
	}

	if r.URL.Path == "/v2/status" {
		s.serveStatus(w, r) // public, as on a real cluster
		return
	}
	if user != "" {
		u, p, ok := r.BasicAuth()
		if !ok || u != user || p != password {
			w.Header().Set("WWW-Authenticate", `Basic realm="camunda"`)
			problem(w, http.StatusUnauthorized, "Unauthorized", "Invalid credentials", r.URL.Path)
			return
		}
	}
	if bearer != nil {
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="camunda"`)
			problem(w, http.StatusUnauthorized, "Unauthorized", "No bearer token", r.URL.Path)
			return
		}
		if err := bearer(tok); err != nil {
			w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
			problem(w, http.StatusUnauthorized, "Unauthorized", "Invalid token", r.URL.Path)
			return
		}
	}
	if override && r.URL.Path != "/v2/topology" {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(topology)
		return
	}
	if s.serveAPI(w, r) {
		return
	}
	s.route(w, r, topology)
}

// serveBroken sends the answers that are broken below the HTTP status:
// cut off, stalled, or far too large.
func (s *Server) serveBroken(w http.ResponseWriter, r *http.Request, reply *Reply) {
	status := reply.Status
	if status == 0 {
		status = http.StatusOK
	}
	ct := reply.ContentType
	if ct == "" {
		ct = "application/json"
	}
	body := []byte(reply.Body)
	if len(body) == 0 {
		s.mu.Lock()
		body = s.topology
		s.mu.Unlock()
	}
	size := len(body)
	if reply.Size > size {
		size = reply.Size
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Content-Length", strconv.Itoa(size))
	if reply.RetryAfter != "" {
		w.Header().Set("Retry-After", reply.RetryAfter)
	}
	w.WriteHeader(status)
	switch {
	case reply.Stall:
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
		case <-s.release:
		}
	case reply.Cut:
		// Returning with fewer bytes than announced closes the connection.
		s.write(w, body[:len(body)/2])
	default:
		if !s.write(w, body) {
			return
		}
		pad := bytes.Repeat([]byte(" "), 64<<10)
		for left := size - len(body); left > 0; left -= len(pad) {
			if !s.write(w, pad[:min(left, len(pad))]) {
				return
			}
		}
	}
}

// write writes b and counts what went out; false once the client is gone.
func (s *Server) write(w http.ResponseWriter, b []byte) bool {
	n, err := w.Write(b)
	s.mu.Lock()
	s.sent += int64(n)
	s.mu.Unlock()
	return err == nil
}

func problem(w http.ResponseWriter, status int, title, detail, instance string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"type": "about:blank", "title": title, "status": status, "detail": detail, "instance": instance,
	})
}

// Common scripted answers.
var (
	HTML401 = Reply{Status: http.StatusUnauthorized, ContentType: "text/html",
		Body: "<html><head><title>401 Authorization Required</title></head><body><center><h1>401 Authorization Required</h1></center><hr><center>nginx</center></body></html>\n"}
	Unavailable = Reply{Status: http.StatusServiceUnavailable, ContentType: "application/problem+json",
		Body: `{"type":"about:blank","title":"RESOURCE_EXHAUSTED","status":503,"detail":"Expected to handle REST API request, but request could not be processed due to backpressure","instance":"/v2/topology"}`}
	Forbidden = Reply{Status: http.StatusForbidden, ContentType: "application/problem+json",
		Body: `{"type":"about:blank","title":"Forbidden","status":403,"detail":"Insufficient permissions to perform operation","instance":"/v2/topology"}`}
	Unauthorized = Reply{Status: http.StatusUnauthorized, ContentType: "application/problem+json",
		Body: `{"type":"about:blank","title":"Unauthorized","status":401,"detail":"Token revoked","instance":"/v2/topology"}`}
	Internal = Reply{Status: http.StatusInternalServerError, ContentType: "application/problem+json",
		Body: `{"type":"about:blank","title":"Internal Server Error","status":500,"detail":"Unexpected error occurred during the request processing","instance":"/v2/topology"}`}
)
