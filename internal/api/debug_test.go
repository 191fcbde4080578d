package api

import (
	"bytes"
	"context"
	"encoding/base64"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// syncBuffer is a bytes.Buffer safe for the transport's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// headerAuth sets arbitrary request headers.
type headerAuth map[string]string

func (h headerAuth) Authorize(ctx context.Context, req *http.Request) error {
	for k, v := range h {
		req.Header.Set(k, v)
	}
	return nil
}

func TestDebugLog(t *testing.T) {
	const password = "s3cr3t-Pa55"
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte("demo:"+password))
	tests := []struct {
		name      string
		reqHeader map[string]string
		setCookie string
		want      []string
		secrets   []string
	}{
		{name: "basic auth",
			reqHeader: map[string]string{"Authorization": basic},
			want:      []string{"Authorization: Basic [redacted]"},
			secrets:   []string{password, strings.TrimPrefix(basic, "Basic ")}},
		{name: "bearer token",
			reqHeader: map[string]string{"Authorization": "Bearer eyJhbGciOi.payload.sig"},
			want:      []string{"Authorization: Bearer [redacted]"},
			secrets:   []string{"eyJhbGciOi", "payload.sig"}},
		{name: "proxy authorization",
			reqHeader: map[string]string{"Proxy-Authorization": "Basic cHJveHk6cHc="},
			want:      []string{"Proxy-Authorization: Basic [redacted]"},
			secrets:   []string{"cHJveHk6cHc="}},
		{name: "single cookie",
			reqHeader: map[string]string{"Cookie": "SESSION=abc123secret"},
			want:      []string{"Cookie: [redacted]"},
			secrets:   []string{"abc123secret"}},
		{name: "several cookies",
			reqHeader: map[string]string{"Cookie": "SESSION=abc123secret; theme=dark"},
			want:      []string{"Cookie: [redacted]"},
			secrets:   []string{"abc123secret"}},
		{name: "set-cookie with attributes",
			setCookie: "SESSION=srvsecret42; Path=/; HttpOnly",
			want:      []string{"Set-Cookie: [redacted]"},
			secrets:   []string{"srvsecret42"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t, false, func(w http.ResponseWriter, r *http.Request) {
				if tt.setCookie != "" {
					w.Header().Set("Set-Cookie", tt.setCookie)
				}
				ok200(w, r)
			})
			var log syncBuffer
			c := newTestClient(t, s.URL, func(o *Options) {
				o.Debug = &log
				o.Auth = headerAuth(tt.reqHeader)
			})
			if _, err := c.Get(context.Background(), "topology"); err != nil {
				t.Fatal(err)
			}
			out := log.String()
			want := append([]string{
				"debug: > GET " + s.URL + "/v2/topology",
				"debug: > User-Agent: camctl-test/1.2.3",
				"debug: < 200 OK",
				"debug: < Content-Type: application/json",
			}, tt.want...)
			for _, w := range want {
				if !strings.Contains(out, w) {
					t.Errorf("log lacks %q:\n%s", w, out)
				}
			}
			for _, sec := range tt.secrets {
				if strings.Contains(out, sec) {
					t.Errorf("log contains the secret %q:\n%s", sec, out)
				}
			}
		})
	}
}

func TestDebugLogError(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	var log syncBuffer
	c := newTestClient(t, "http://"+addr, func(o *Options) {
		o.Debug = &log
		o.Auth = headerAuth{"Authorization": "Bearer tok-SECRET"}
	})
	if _, err := c.Get(context.Background(), "topology"); err == nil {
		t.Fatal("Get succeeded")
	}
	out := log.String()
	if !strings.Contains(out, "debug: > GET http://"+addr+"/v2/topology") || !strings.Contains(out, "debug: < error after") {
		t.Errorf("log = %q", out)
	}
	if strings.Contains(out, "tok-SECRET") {
		t.Errorf("log contains the token: %q", out)
	}
}

func TestRedact(t *testing.T) {
	tests := []struct {
		in         string
		keepScheme bool
		want       string
	}{
		{"Basic ZGVtbzpkZW1v", true, "Basic [redacted]"},
		{"Bearer abc", true, "Bearer [redacted]"},
		{"opaque", true, "[redacted]"},
		{"", true, "[redacted]"},
		{"SESSION=abc123secret; theme=dark", false, "[redacted]"},
	}
	for _, tt := range tests {
		if got := redact(tt.in, tt.keepScheme); got != tt.want {
			t.Errorf("redact(%q, %v) = %q, want %q", tt.in, tt.keepScheme, got, tt.want)
		}
	}
}
