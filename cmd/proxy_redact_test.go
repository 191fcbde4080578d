package cmd

import (
	"strings"
	"testing"

	"github.com/camctl/camctl/internal/redact"
)

// A proxy that echoes Proxy-Authorization (in an error page) must not
// get its credentials printed: Go's transport sends them from the
// proxy variables, so camctl registers them itself.
func TestProxyCredentialsAreRedacted(t *testing.T) {
	env := map[string]string{
		"HTTPS_PROXY": "http://puser:ProxyPassw0rd@proxy.example:3128",
		"http_proxy":  "http://other:Sh0rt@proxy.example:3128",
		"NO_PROXY":    "localhost",
	}
	r := redact.New()
	addProxyCredentials(r, func(k string) string { return env[k] })
	page := "502 from proxy: Proxy-Authorization: Basic cHVzZXI6UHJveHlQYXNzdzByZA== (puser:ProxyPassw0rd); user puser, password=Sh0rt"
	got := r.Redact(page)
	for _, leak := range []string{"ProxyPassw0rd", "cHVzZXI6UHJveHlQYXNzdzByZA", "Sh0rt"} {
		if strings.Contains(got, leak) {
			t.Errorf("Redact kept %q: %s", leak, got)
		}
	}
	if !strings.Contains(got, "user puser,") {
		t.Errorf("the proxy user name is no secret, but it went: %s", got)
	}
}
