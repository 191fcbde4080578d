package oidctest_test

import (
	"crypto/tls"
	"crypto/x509/pkix"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/camctl/camctl/internal/testutil/oidctest"
	"github.com/camctl/camctl/internal/testutil/pkitest"
)

// tokenRequest asks for a client-credentials token with form (plus
// grant_type), the client ID and secret in HTTP Basic when basic is set.
func tokenRequest(t *testing.T, c *http.Client, tokenURL string, form url.Values, basic ...string) (int, map[string]any) {
	t.Helper()
	form.Set("grant_type", "client_credentials")
	req, err := http.NewRequest(http.MethodPost, tokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if len(basic) == 2 {
		req.SetBasicAuth(basic[0], basic[1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("token request: %v", err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("token response (HTTP %d): %v", resp.StatusCode, err)
	}
	return resp.StatusCode, body
}

func httpsClient(t *testing.T, cfg *tls.Config) *http.Client {
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}}
	t.Cleanup(c.CloseIdleConnections)
	return c
}

// clientCert loads a certificate and key for tls.Config.Certificates.
func clientCert(t *testing.T, certFile, keyFile string) tls.Certificate {
	t.Helper()
	c, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestMutualTLS(t *testing.T) {
	pki := pkitest.New(t, "")
	oddSubject := pkix.Name{
		CommonName:   `Müller, Hans+1 "x" #2`,
		Organization: []string{"camctl tests", "second; O"}, // one RDN with two values
		Country:      []string{"DE"},
	}
	oddCert, oddKey := pki.IssueClientCert(t, "odd", oddSubject)
	idp := oidctest.Start(t, oidctest.Options{
		TLS: &oidctest.TLSOptions{CertFile: pki.ServerCert, KeyFile: pki.ServerKey, CAFile: pki.CACert},
		Clients: []oidctest.Client{
			{ID: "camctl-x509", TLSSubjectDN: pkitest.ClientSubjectDN},
			{ID: "camctl-x509-spaces", TLSSubjectDN: "CN=camctl-x509, OU=Camunda Users, o=camctl tests, C=DE"},
			{ID: "camctl-x509-reversed", TLSSubjectDN: "C=DE,O=camctl tests,OU=Camunda Users,CN=camctl-x509"},
			{ID: "camctl-x509-other", TLSSubjectDN: "CN=someone-else,OU=Camunda Users,O=camctl tests,C=DE"},
			{ID: "camctl-x509-odd", TLSSubjectDN: oddSubject.String()},
			{ID: "camctl-secret", Secret: "Cl1ent-S3cret-tls"},
		},
	})
	if !strings.HasPrefix(idp.Issuer, "https://127.0.0.1:") {
		t.Fatalf("issuer %s", idp.Issuer)
	}
	tokenURL := idp.TokenURL()
	withCert := httpsClient(t, pki.ClientTLSConfig())
	noCert := httpsClient(t, &tls.Config{RootCAs: pki.CAPool()})
	certClient := func(certFile, keyFile string) *http.Client {
		return httpsClient(t, &tls.Config{RootCAs: pki.CAPool(), Certificates: []tls.Certificate{clientCert(t, certFile, keyFile)}})
	}
	// forced sends the certificate even when its issuer is not among the
	// CAs the server asks for (Go's Certificates would send none).
	forced := func(certFile, keyFile string) *http.Client {
		c := clientCert(t, certFile, keyFile)
		return httpsClient(t, &tls.Config{RootCAs: pki.CAPool(), GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &c, nil }})
	}

	requests := 0
	ok := func(t *testing.T, c *http.Client, form url.Values, basic ...string) {
		t.Helper()
		requests++
		status, body := tokenRequest(t, c, tokenURL, form, basic...)
		if status != http.StatusOK {
			t.Fatalf("HTTP %d %v", status, body)
		}
		if err := idp.Verify(body["access_token"].(string)); err != nil {
			t.Errorf("token: %v", err)
		}
	}
	fails := func(t *testing.T, c *http.Client, form url.Values, wantStatus int, wantError, wantDetail string, basic ...string) {
		t.Helper()
		before := len(idp.Stats().Errors)
		requests++
		status, body := tokenRequest(t, c, tokenURL, form, basic...)
		if status != wantStatus || body["error"] != wantError {
			t.Errorf("HTTP %d %v, want %d %s", status, body, wantStatus, wantError)
		}
		errs := idp.Stats().Errors
		if len(errs) != before+1 || !strings.Contains(errs[before], wantDetail) {
			t.Errorf("the provider's errors %q, want a new one with %q", errs[before:], wantDetail)
		}
	}
	id := func(id string) url.Values { return url.Values{"client_id": {id}} }

	t.Run("certificate", func(t *testing.T) { ok(t, withCert, id("camctl-x509")) })
	t.Run("certificate from PEM files", func(t *testing.T) { ok(t, certClient(pki.ClientCert, pki.ClientKey), id("camctl-x509")) })
	t.Run("DN with spaces and a lower-case type", func(t *testing.T) { ok(t, withCert, id("camctl-x509-spaces")) })
	t.Run("DN with escapes and a multi-valued RDN", func(t *testing.T) {
		ok(t, certClient(oddCert, oddKey), id("camctl-x509-odd"))
		fails(t, withCert, id("camctl-x509-odd"), 401, "invalid_client", "certificate subject value does not match")
	})
	t.Run("DN in certificate order", func(t *testing.T) {
		fails(t, withCert, id("camctl-x509-reversed"), 401, "invalid_client", "certificate subject value does not match")
	})
	t.Run("other DN", func(t *testing.T) {
		fails(t, withCert, id("camctl-x509-other"), 401, "invalid_client", "certificate subject value does not match")
	})
	t.Run("no certificate", func(t *testing.T) {
		fails(t, noCert, id("camctl-x509"), 401, "invalid_client", "client certificate was not provided")
	})
	t.Run("untrusted CA, Go does not send it", func(t *testing.T) {
		fails(t, certClient(pki.UntrustedClientCert, pki.UntrustedClientKey), id("camctl-x509"), 401, "invalid_client", "client certificate was not provided")
	})
	t.Run("untrusted CA", func(t *testing.T) {
		fails(t, forced(pki.UntrustedClientCert, pki.UntrustedClientKey), id("camctl-x509"), 401, "invalid_client", "client certificate was not verified")
	})
	t.Run("expired", func(t *testing.T) {
		fails(t, certClient(pki.ExpiredClientCert, pki.ExpiredClientKey), id("camctl-x509"), 401, "invalid_client", "client certificate was not verified")
	})
	t.Run("not yet valid", func(t *testing.T) {
		fails(t, certClient(pki.NotYetValidClientCert, pki.NotYetValidClientKey), id("camctl-x509"), 401, "invalid_client", "client certificate was not verified")
	})
	t.Run("certificate and a secret", func(t *testing.T) {
		fails(t, withCert, url.Values{"client_id": {"camctl-x509"}, "client_secret": {"x"}}, 401, "invalid_client", "does not match the registered client authentication method")
	})
	t.Run("secret client", func(t *testing.T) {
		ok(t, noCert, url.Values{"client_id": {"camctl-secret"}, "client_secret": {"Cl1ent-S3cret-tls"}})
		ok(t, noCert, url.Values{}, "camctl-secret", "Cl1ent-S3cret-tls")
		ok(t, withCert, url.Values{"client_id": {"camctl-secret"}, "client_secret": {"Cl1ent-S3cret-tls"}})
		fails(t, noCert, url.Values{"client_id": {"camctl-secret"}, "client_secret": {"wrong"}}, 401, "invalid_client", "invalid secret provided")
		fails(t, withCert, id("camctl-secret"), 401, "invalid_client", "does not match the registered client authentication method")
	})
	t.Run("counts", func(t *testing.T) {
		s := idp.Stats()
		if s.Token != requests || idp.TokenRequests() != requests {
			t.Errorf("the provider counted %d token requests, want %d", s.Token, requests)
		}
		if s.Clients["camctl-x509"] != 8 || s.Clients["camctl-secret"] != 5 {
			t.Errorf("per client: %v", s.Clients)
		}
	})
}

// The plain-HTTP provider counts too, also behind the proxy.
func TestPlainCounts(t *testing.T) {
	idp := oidctest.Start(t, oidctest.Options{Clients: []oidctest.Client{{ID: "plain", Secret: "S3cret-plain"}}})
	if !strings.HasPrefix(idp.Issuer, "http://127.0.0.1:") {
		t.Fatalf("issuer %s", idp.Issuer)
	}
	proxy := oidctest.NewProxy(idp)
	defer proxy.Close()
	form := url.Values{"client_id": {"plain"}, "client_secret": {"S3cret-plain"}}
	status, body := tokenRequest(t, http.DefaultClient, idp.TokenURL(), form)
	if status != http.StatusOK {
		t.Fatalf("HTTP %d %v", status, body)
	}
	if err := idp.Verify(body["access_token"].(string)); err != nil {
		t.Error(err)
	}
	status, body = tokenRequest(t, http.DefaultClient, proxy.TokenURL(), form)
	if status != http.StatusOK {
		t.Fatalf("through the proxy: HTTP %d %v", status, body)
	}
	if got := idp.TokenRequests(); got != 2 {
		t.Errorf("provider counted %d, want 2", got)
	}
	if got := proxy.TokenRequests(); got != 1 {
		t.Errorf("proxy counted %d, want 1", got)
	}
}
