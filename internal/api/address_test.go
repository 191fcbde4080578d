package api

import (
	"errors"
	"net/url"
	"strings"
	"testing"
)

func TestNormalizeAddress(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		want     string
		wantFrag string // for errors
		secret   string // must not appear in the error
	}{
		{name: "adds /v2", in: "http://localhost:8080", want: "http://localhost:8080/v2"},
		{name: "keeps /v2", in: "http://localhost:8080/v2", want: "http://localhost:8080/v2"},
		{name: "trailing slash", in: "http://localhost:8080/", want: "http://localhost:8080/v2"},
		{name: "trailing slashes after /v2", in: "http://localhost:8080/v2//", want: "http://localhost:8080/v2"},
		{name: "many trailing slashes", in: "https://camunda.example.com///", want: "https://camunda.example.com/v2"},
		{name: "surrounding space", in: "  http://localhost:8088 \n", want: "http://localhost:8088/v2"},
		{name: "SaaS cluster path", in: "https://bru-2.zeebe.camunda.io/abc", want: "https://bru-2.zeebe.camunda.io/abc/v2"},
		{name: "SaaS cluster path with /v2/", in: "https://bru-2.zeebe.camunda.io/abc/v2/", want: "https://bru-2.zeebe.camunda.io/abc/v2"},
		{name: "ingress sub-path", in: "https://example.com/orchestration", want: "https://example.com/orchestration/v2"},
		{name: "path ending in v2 but not a segment", in: "https://example.com/apiv2", want: "https://example.com/apiv2/v2"},
		{name: "upper-case scheme", in: "HTTP://localhost:8080", want: "http://localhost:8080/v2"},
		{name: "mixed-case https", in: "HttPs://example.com", want: "https://example.com/v2"},
		{name: "IPv6", in: "http://[::1]:8080", want: "http://[::1]:8080/v2"},

		{name: "empty", in: "", wantFrag: "empty"},
		{name: "blank", in: "   ", wantFrag: "empty"},
		{name: "missing scheme", in: "localhost:8080", wantFrag: "scheme and a host"},
		{name: "missing scheme, host only", in: "camunda.example.com", wantFrag: "scheme and a host"},
		{name: "missing host", in: "http://", wantFrag: "scheme and a host"},
		{name: "ftp", in: "ftp://example.com", wantFrag: `"ftp" is not http or https`},
		{name: "grpc", in: "grpc://localhost:26500", wantFrag: "not http or https"},
		{name: "user and password", in: "https://demo:s3cr3tPW@example.com", wantFrag: "credentials", secret: "s3cr3tPW"},
		{name: "user only", in: "https://demo@example.com", wantFrag: "credentials"},
		{name: "query", in: "http://localhost:8080?tenant=a", wantFrag: "query"},
		{name: "fragment", in: "http://localhost:8080/#x", wantFrag: "fragment"},
		{name: "password with a wrong scheme", in: "ftp://demo:s3cr3tPW@example.com", wantFrag: "ftp", secret: "s3cr3tPW"},
		{name: "password in an unparsable address", in: "http://demo:s3cr3tPW%zz@example.com", secret: "s3cr3tPW"},
		{name: "password with no host", in: "http://demo:s3cr3tPW@", secret: "s3cr3tPW"},
		// Found by FuzzNormalizeAddress: unescaped '#', '/' or '?' in a
		// password hid it from url.Parse and from the redaction; with a
		// numeric start ("12/...") the address even passed, password and all.
		{name: "password with #", in: "https://demo:p#s3cr3tPW@example.com", wantFrag: "credentials", secret: "s3cr3tPW"},
		{name: "password with / after a port-like start", in: "https://demo:12/s3cr3tPW@example.com", wantFrag: "credentials", secret: "s3cr3tPW"},
		{name: "password with ?", in: "http://demo:1?s3cr3tPW@localhost:8080", wantFrag: "credentials", secret: "s3cr3tPW"},
		{name: "password before a misplaced ://", in: "demo:s3cr3tPW@://example.com", wantFrag: "credentials", secret: "s3cr3tPW"},
		{name: "password with @ and :", in: "https://demo:s3cr3tPW@x:y@example.com", wantFrag: "credentials", secret: "s3cr3tPW"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := NormalizeAddress(tt.in)
			if tt.want != "" {
				if err != nil || u.String() != tt.want {
					t.Fatalf("NormalizeAddress(%q) = %v, %v; want %s", tt.in, u, err, tt.want)
				}
				// Normalising twice changes nothing.
				again, err := NormalizeAddress(u.String())
				if err != nil || again.String() != tt.want {
					t.Errorf("second NormalizeAddress = %v, %v", again, err)
				}
				return
			}
			var ae *AddressError
			if !errors.As(err, &ae) {
				t.Fatalf("NormalizeAddress(%q) = %v, %T %v; want *AddressError", tt.in, u, err, err)
			}
			if !strings.Contains(err.Error(), tt.wantFrag) {
				t.Errorf("error %q does not contain %q", err, tt.wantFrag)
			}
			if tt.secret != "" && strings.Contains(err.Error(), tt.secret) {
				t.Errorf("error %q echoes the password", err)
			}
		})
	}
}

func TestIsLoopback(t *testing.T) {
	tests := []struct {
		url  string
		want bool
	}{
		{"http://localhost:8080", true},
		{"http://LOCALHOST", true},
		// *.localhost is resolved and proxied like any name (spec §8).
		{"http://api.localhost:8080", false},
		{"http://localhost.:8080", false},
		{"http://127.0.0.1:8080", true},
		{"http://127.1.2.3", true},
		{"http://[::1]:8080", true},
		{"http://[::ffff:127.0.0.1]", true},
		{"http://example.com", false},
		{"http://localhost.example.com", false},
		{"http://notlocalhost", false},
		{"http://10.0.0.1", false},
		{"http://192.168.1.10:8080", false},
		{"http://0.0.0.0:8080", false},
		{"http://[::]:8080", false},
		{"http://[fe80::1]", false},
		{"http://128.0.0.1", false},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			u, err := url.Parse(tt.url)
			if err != nil {
				t.Fatal(err)
			}
			if got := IsLoopback(u); got != tt.want {
				t.Errorf("IsLoopback(%s) = %v, want %v", tt.url, got, tt.want)
			}
		})
	}
}
