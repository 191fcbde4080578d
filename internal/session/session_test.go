package session

import (
	"strings"
	"testing"

	"github.com/camctl/camctl/internal/auth"
	"github.com/camctl/camctl/internal/config"
	"github.com/camctl/camctl/internal/redact"
)

// Warnings are data handed to Options.Warn, each said once per run.
func TestWarnOncePerProfile(t *testing.T) {
	var got []string
	s := New(Options{Redactor: redact.New(), Warn: func(m string) { got = append(got, m) }})
	r, err := config.Resolve(config.Options{File: &config.File{Profiles: map[string]config.Profile{
		"p": {Address: "http://camunda.example.com", Auth: config.AuthConfig{Method: config.MethodBasic}, TLS: config.TLSConfig{InsecureSkipVerify: true}},
	}}, Profile: "p"})
	if err != nil {
		t.Fatal(err)
	}
	s.Warn(r)
	s.Warn(r)
	if len(got) != 2 || !strings.Contains(got[0], "skips TLS certificate verification") || !strings.Contains(got[1], "over plain http:// to camunda.example.com") {
		t.Errorf("warnings = %q", got)
	}
}

// The stores of a config file and mode are built once per wrapper.
func TestCachedSecrets(t *testing.T) {
	n := 0
	get := CachedSecrets(func(string, bool) (*auth.Secrets, error) { n++; return &auth.Secrets{}, nil })
	a, _ := get("c", false)
	b, _ := get("c", false)
	c, _ := get("c", true)
	if a != b || a == c || n != 2 {
		t.Errorf("built %d times; same for the same key: %v; same across modes: %v", n, a == b, a == c)
	}
}
