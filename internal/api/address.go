package api

import (
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
)

// NormalizeAddress turns a configured address into the base URL of the v2
// REST API: scheme and host are required, trailing slashes are dropped and
// "/v2" is appended when missing, as Camunda's SDKs do. A SaaS address
// keeps its cluster id path: https://bru-2.zeebe.camunda.io/<id>/v2.
func NormalizeAddress(addr string) (*url.URL, error) {
	s := strings.TrimSpace(addr)
	// Every error shows the address without user:password, whatever else
	// is wrong with it.
	shown := redactUserinfo(s)
	if s == "" {
		return nil, &AddressError{Address: addr, Reason: "it is empty"}
	}
	// Checked before parsing: a password with '/', '?' or '#' in it makes
	// url.Parse see a path, query or fragment holding an '@', and the
	// address would pass with the password in it. No Camunda address has
	// an '@' of its own.
	if _, rest := splitScheme(s); strings.Contains(rest, "@") {
		return nil, &AddressError{Address: shown, Reason: "credentials do not belong in the address; use --username and `camctl login`"}
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" || u.Host == "" || u.Opaque != "" {
		return nil, &AddressError{Address: shown, Reason: "it needs a scheme and a host, for example http://localhost:8080 or https://camunda.example.com"}
	}
	u.Scheme = strings.ToLower(u.Scheme)
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, &AddressError{Address: shown, Reason: fmt.Sprintf("the scheme %q is not http or https", u.Scheme)}
	}
	if u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
		return nil, &AddressError{Address: shown, Reason: "it must not have a query or fragment"}
	}
	if err := CheckPort(u); err != nil {
		return nil, &AddressError{Address: shown, Reason: err.Error()}
	}
	// "http://h//v2" and "http://h/" are the same cluster: repeated
	// slashes are collapsed, so normalising is idempotent (FuzzNormalizeAddress).
	path := u.Path
	for strings.Contains(path, "//") {
		path = strings.ReplaceAll(path, "//", "/")
	}
	path = strings.TrimRight(path, "/")
	if !strings.HasSuffix(path, "/v2") {
		path += "/v2"
	}
	u.Path, u.RawPath = path, ""
	return u, nil
}

// redactUserinfo replaces the user:password part of a URL-like string,
// even one url.Parse rejects: everything up to the last '@', because an
// unescaped password may hold the '/', '?' or '#' that would otherwise
// end the authority.
func redactUserinfo(s string) string {
	scheme, rest := splitScheme(s)
	if at := strings.LastIndex(rest, "@"); at >= 0 {
		return scheme + "xxxxx@" + rest[at+1:]
	}
	return s
}

// splitScheme splits "https://rest" into "https://" and "rest". Only a
// real scheme counts: in "pw@://" the "://" comes after the password.
func splitScheme(s string) (scheme, rest string) {
	i := strings.Index(s, "://")
	if i <= 0 || strings.ContainsFunc(s[:i], func(r rune) bool {
		return !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '+' || r == '-' || r == '.')
	}) {
		return "", s
	}
	return s[:i+3], s[i+3:]
}

// AddressError is a malformed address; camctl exits with 2.
type AddressError struct {
	Address string
	Reason  string
}

func (e *AddressError) Error() string {
	return fmt.Sprintf("invalid address %q: %s", e.Address, e.Reason)
}

// IsLoopback reports whether u points at this machine, where plain HTTP
// does not expose credentials to the network: 127.0.0.0/8, ::1 and the
// name localhost itself (spec §8). Other *.localhost names are remote: Go
// resolves them through DNS and sends them to a proxy like any name.
func IsLoopback(u *url.URL) bool {
	host := u.Hostname()
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// CheckPort refuses a port outside 1-65535 ("http://h:99999" parses, and
// would fail later with a confusing dial error, or reach port 0) and an
// empty one ("http://h:").
func CheckPort(u *url.URL) error {
	if !strings.Contains(u.Host, ":") || strings.HasSuffix(u.Host, "]") {
		return nil
	}
	p := u.Port()
	n, err := strconv.Atoi(p)
	if err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("the port %q is not a number from 1 to 65535", p)
	}
	return nil
}
