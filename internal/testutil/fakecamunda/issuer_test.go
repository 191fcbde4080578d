package fakecamunda

import (
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestIssuer(t *testing.T) {
	i := NewIssuer(time.Minute)
	i.AddClient("camctl", "s3cret")
	i.AddCertClient("camctl-x509", "CN=camctl-x509,O=tests")

	post := func(form url.Values, peer *x509.Certificate) (int, map[string]any) {
		r := httptest.NewRequest(http.MethodPost, "/auth/realms/camunda-platform/protocol/openid-connect/token", strings.NewReader(form.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if peer != nil {
			r.TLS = &tls.ConnectionState{PeerCertificates: []*x509.Certificate{peer}}
		}
		w := httptest.NewRecorder()
		i.ServeHTTP(w, r)
		var body map[string]any
		_ = json.Unmarshal(w.Body.Bytes(), &body)
		return w.Code, body
	}
	grant := func(kv ...string) url.Values {
		v := url.Values{"grant_type": {"client_credentials"}}
		for n := 0; n < len(kv); n += 2 {
			v.Set(kv[n], kv[n+1])
		}
		return v
	}
	cert := &x509.Certificate{Subject: pkix.Name{CommonName: "camctl-x509", Organization: []string{"tests"}}}
	other := &x509.Certificate{Subject: pkix.Name{CommonName: "someone-else"}}

	tests := []struct {
		name   string
		form   url.Values
		peer   *x509.Certificate
		status int
		aud    string
	}{
		{"secret", grant("client_id", "camctl", "client_secret", "s3cret", "audience", "orchestration-api"), nil, 200, "orchestration-api"},
		{"scope as audience (Entra ID)", grant("client_id", "camctl", "client_secret", "s3cret", "scope", "api://x/.default"), nil, 200, "api://x/.default"},
		{"wrong secret", grant("client_id", "camctl", "client_secret", "nope"), nil, 401, ""},
		{"unknown client", grant("client_id", "who", "client_secret", "s3cret"), nil, 401, ""},
		{"certificate", grant("client_id", "camctl-x509", "audience", "a"), cert, 200, "a"},
		{"certificate of someone else", grant("client_id", "camctl-x509"), other, 401, ""},
		{"certificate client without one", grant("client_id", "camctl-x509"), nil, 401, ""},
		{"other grant", url.Values{"grant_type": {"password"}}, nil, 400, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := post(tt.form, tt.peer)
			if status != tt.status {
				t.Fatalf("status %d, want %d: %v", status, tt.status, body)
			}
			if status != 200 {
				return
			}
			tok, _ := body["access_token"].(string)
			if err := i.Verify(tok); err != nil {
				t.Fatalf("Verify of an issued token: %v", err)
			}
			if !strings.Contains(decodeClaims(t, tok), `"aud":"`+tt.aud+`"`) {
				t.Errorf("claims %s lack aud %q", decodeClaims(t, tok), tt.aud)
			}
			if err := i.Verify(tok[:len(tok)-2] + "xx"); err == nil {
				t.Error("Verify accepted a token with a changed signature")
			}
		})
	}
	if err := NewIssuer(time.Minute).Verify(mustToken(t, i)); err == nil {
		t.Error("another issuer's token verified")
	}
	i.SetTTL(-time.Second)
	if err := i.Verify(mustToken(t, i)); err == nil {
		t.Error("an expired token verified")
	}
	if i.Requests() < len(tests) || i.Issued() == 0 {
		t.Errorf("Requests %d, Issued %d", i.Requests(), i.Issued())
	}
}

func mustToken(t *testing.T, i *Issuer) string {
	t.Helper()
	tok, _ := i.issue("https://idp", "camctl", "a")
	return tok
}

func decodeClaims(t *testing.T, tok string) string {
	t.Helper()
	parts := strings.Split(tok, ".")
	b, err := b64.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
