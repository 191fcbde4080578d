package fakecamunda

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
)

// route serves an authenticated request by method and path.
func (s *Server) route(w http.ResponseWriter, r *http.Request, topology []byte) {
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/v2/topology":
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(topology)
	case r.Method == http.MethodGet && r.URL.Path == "/v2/authentication/me":
		s.serveMe(w, r)
	default:
		problem(w, http.StatusNotFound, "Not Found", "No endpoint "+r.Method+" "+r.URL.Path, r.URL.Path)
	}
}

// SetDown makes GET /v2/status answer 503 (no partition has a healthy
// leader) instead of 204.
func (s *Server) SetDown(down bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.down = down
}

// SetIdentity makes GET /v2/authentication/me answer with the
// CamundaUserResult that fn returns for a request (already
// authenticated), or 401 when fn reports false. Without it the fake
// derives the user from the request's credentials (see Identity).
func (s *Server) SetIdentity(fn func(r *http.Request) (map[string]any, bool)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.identity = fn
}

func (s *Server) serveStatus(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		problem(w, http.StatusMethodNotAllowed, "Method Not Allowed", "Use GET", r.URL.Path)
		return
	}
	s.mu.Lock()
	down := s.down
	s.mu.Unlock()
	if down {
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) serveMe(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	fn := s.identity
	s.mu.Unlock()
	if fn == nil {
		fn = Identity
	}
	user, ok := fn(r)
	if !ok {
		problem(w, http.StatusUnauthorized, "Unauthorized", "No authenticated user", r.URL.Path)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(user)
}

// Identity is the CamundaUserResult a Camunda 8.8 cluster would report
// for a request's credentials: the Basic user name, or from a bearer JWT
// (already verified by RequireBearer) the username claim
// (preferred_username, else sub) with name and email for a person, and
// the client id (client_id, else azp) for a client-credentials token. A
// request without credentials has no user (false).
func Identity(r *http.Request) (map[string]any, bool) {
	user := map[string]any{
		"username": nil, "displayName": nil, "email": nil,
		"authorizedComponents": []string{"*"},
		"tenants":              []map[string]any{{"tenantId": "<default>", "name": "Default", "description": nil}},
		"groups":               []string{},
		"roles":                []string{},
		"salesPlanType":        "",
		"c8Links":              map[string]string{},
		"canLogout":            false,
	}
	if name, _, ok := r.BasicAuth(); ok {
		user["username"], user["displayName"] = name, name
		user["roles"] = []string{"admin"}
		return user, true
	}
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return nil, false
	}
	claims := jwtClaims(tok)
	str := func(names ...string) string {
		for _, n := range names {
			if v, ok := claims[n].(string); ok && v != "" {
				return v
			}
		}
		return ""
	}
	client := str("client_id", "azp")
	sub := str("sub")
	if person := str("preferred_username", "email"); person != "" || str("name") != "" || sub != "" && sub != client {
		if person == "" {
			person = sub
		}
		user["username"] = person
		if n := str("name"); n != "" {
			user["displayName"] = n
		} else {
			user["displayName"] = person
		}
		if e := str("email"); e != "" {
			user["email"] = e
		}
		user["canLogout"] = true
		return user, true
	}
	if client == "" {
		client = sub
	}
	if client == "" {
		client = "static-token"
	}
	user["username"], user["displayName"] = client, client
	return user, true
}

// jwtClaims decodes a JWT's payload without checking it (the caller's
// verifier did); nil for anything else.
func jwtClaims(tok string) map[string]any {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return nil
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil
	}
	var claims map[string]any
	if json.Unmarshal(b, &claims) != nil {
		return nil
	}
	return claims
}
