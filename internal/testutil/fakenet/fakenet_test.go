package fakenet

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/camctl/camctl/internal/testutil/pkitest"
)

// client goes through the proxy and trusts its CA, as camctl does with the
// variables of Env.
func client(t *testing.T, n *Net, cert ...tls.Certificate) *http.Client {
	t.Helper()
	pem, err := os.ReadFile(n.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(pem)
	proxy, _ := url.Parse(n.URL)
	return &http.Client{Transport: &http.Transport{
		Proxy:           http.ProxyURL(proxy),
		TLSClientConfig: &tls.Config{RootCAs: roots, Certificates: cert, MinVersion: tls.VersionTLS12},
	}}
}

func TestNet(t *testing.T) {
	pki := pkitest.New(t, "")
	n := New(t, pki)
	hello := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, r.Host+r.URL.Path)
	})
	n.Handle("camunda.example.com", hello)
	n.HandleMTLS("camunda.internal", hello)

	get := func(c *http.Client, u string) (string, error) {
		resp, err := c.Get(u)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			return "", &url.Error{Op: "Get", URL: u, Err: io.ErrUnexpectedEOF}
		}
		return string(b), nil
	}

	// A registered host answers over https (with a certificate for its
	// name) and over plain http.
	for _, u := range []string{"https://camunda.example.com/v2/topology", "http://camunda.example.com/v2/topology"} {
		if got, err := get(client(t, n), u); err != nil || got != "camunda.example.com/v2/topology" {
			t.Errorf("GET %s = %q, %v", u, got, err)
		}
	}
	// Any other host gets nothing: the proxy never connects out.
	for _, u := range []string{"https://example.org/", "http://example.org/"} {
		if got, err := get(client(t, n), u); err == nil {
			t.Errorf("GET %s = %q, want a failure", u, got)
		}
	}
	// An mTLS host refuses a client without a certificate and serves
	// one with a certificate of the test CA.
	if _, err := get(client(t, n), "https://camunda.internal/v2"); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("mTLS host without a client certificate: %v, want a TLS refusal", err)
	}
	cert, err := tls.LoadX509KeyPair(pki.ClientCert, pki.ClientKey)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := get(client(t, n, cert), "https://camunda.internal/v2"); err != nil || got != "camunda.internal/v2" {
		t.Errorf("mTLS host with a client certificate = %q, %v", got, err)
	}
}
