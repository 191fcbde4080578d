package cmd

import (
	"errors"
	"net/http"
	"testing"

	"github.com/camctl/camctl/internal/api"
	"github.com/camctl/camctl/internal/auth"
	"github.com/camctl/camctl/internal/config"
)

// What topology --wait keeps waiting through, and what ends it at once.
func TestWaitTransient(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"connection refused", &api.NetError{Kind: api.NetRefused}, true},
		{"host not resolvable yet", &api.NetError{Kind: api.NetDNS}, true},
		{"timeout", &api.NetError{Kind: api.NetTimeout}, true},
		{"unknown CA", &api.NetError{Kind: api.NetUnknownAuthority}, false},
		{"503 backpressure", &api.HTTPError{StatusCode: http.StatusServiceUnavailable}, true},
		{"429", &api.HTTPError{StatusCode: http.StatusTooManyRequests}, true},
		{"401", &api.HTTPError{StatusCode: http.StatusUnauthorized}, false},
		{"403", &api.HTTPError{StatusCode: http.StatusForbidden}, false},
		{"404", &api.HTTPError{StatusCode: http.StatusNotFound}, false},
		{"IdP unreachable", &auth.TokenError{Net: api.NetRefused}, true},
		{"IdP certificate unknown", &auth.TokenError{Net: api.NetUnknownAuthority}, false},
		{"IdP 503", &auth.TokenError{StatusCode: 503}, true},
		{"IdP 429", &auth.TokenError{StatusCode: 429}, true},
		{"IdP rejects the client", &auth.TokenError{StatusCode: 401, Code: "invalid_client"}, false},
		{"missing secret", &auth.MissingSecretError{}, false},
		{"usage", &config.UsageError{}, false},
		{"anything else", errors.New("boom"), false},
	}
	for _, tt := range tests {
		if got := transient(tt.err); got != tt.want {
			t.Errorf("%s: transient = %v, want %v", tt.name, got, tt.want)
		}
	}
}
