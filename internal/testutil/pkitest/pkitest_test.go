package pkitest

import (
	"crypto/ecdsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/youmark/pkcs8"
	"software.sslmate.com/src/go-pkcs12"
)

func TestFilesLoad(t *testing.T) {
	p := New(t, "")
	for _, pair := range [][2]string{
		{p.ServerCert, p.ServerKey},
		{p.ClientCert, p.ClientKey},
		{p.UntrustedClientCert, p.UntrustedClientKey},
		{p.ExpiredClientCert, p.ExpiredClientKey},
		{p.NotYetValidClientCert, p.NotYetValidClientKey},
		{p.ExpiringClientCert, p.ExpiringClientKey},
	} {
		if _, err := tls.LoadX509KeyPair(pair[0], pair[1]); err != nil {
			t.Errorf("%s + %s: %v", pair[0], pair[1], err)
		}
	}
	if _, err := tls.LoadX509KeyPair(p.ClientCert, p.WrongKey); err == nil || !strings.Contains(err.Error(), "does not match") {
		t.Errorf("client cert + wrong key: %v, want a mismatch", err)
	}
	for path, mode := range map[string]os.FileMode{p.ClientKey: 0o600, p.ClientKeyEncrypted: 0o600, p.ClientP12: 0o600, p.CACert: 0o644} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != mode {
			t.Errorf("%s: mode %v, want %v", path, fi.Mode().Perm(), mode)
		}
	}
}

func TestCertificates(t *testing.T) {
	p := New(t, t.TempDir())
	if got := p.Client.Subject.String(); got != ClientSubjectDN {
		t.Errorf("client subject %q, want %q", got, ClientSubjectDN)
	}
	if len(p.Client.ExtKeyUsage) != 1 || p.Client.ExtKeyUsage[0] != x509.ExtKeyUsageClientAuth {
		t.Errorf("client ext key usage %v", p.Client.ExtKeyUsage)
	}
	roots := p.CAPool()
	verify := func(path string, at time.Time) error {
		_, err := readCert(t, path).Verify(x509.VerifyOptions{Roots: roots, CurrentTime: at, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
		return err
	}
	now := time.Now()
	if err := verify(p.ClientCert, now); err != nil {
		t.Errorf("client: %v", err)
	}
	if err := verify(p.ExpiringClientCert, now); err != nil {
		t.Errorf("expiring client: %v", err)
	}
	if c := readCert(t, p.ExpiringClientCert); time.Until(c.NotAfter) > 14*24*time.Hour {
		t.Errorf("expiring client expires %v", c.NotAfter)
	}
	if err := verify(p.UntrustedClientCert, now); err == nil {
		t.Error("the untrusted client certificate verifies against the CA")
	}
	if err := verify(p.ExpiredClientCert, now); err == nil || !strings.Contains(err.Error(), "expired") {
		t.Errorf("expired client: %v", err)
	}
	if err := verify(p.NotYetValidClientCert, now); err == nil || !strings.Contains(err.Error(), "not yet valid") {
		t.Errorf("not-yet-valid client: %v", err)
	}
	for _, path := range []string{p.UntrustedClientCert, p.ExpiredClientCert, p.NotYetValidClientCert} {
		if got := readCert(t, path).Subject.String(); got != ClientSubjectDN {
			t.Errorf("%s: subject %q", path, got)
		}
	}
	if _, err := readCert(t, p.ServerCert).Verify(x509.VerifyOptions{Roots: roots, DNSName: "127.0.0.1"}); err != nil {
		t.Errorf("server for 127.0.0.1: %v", err)
	}
	if _, err := readCert(t, p.ServerCert).Verify(x509.VerifyOptions{Roots: roots, DNSName: "localhost"}); err != nil {
		t.Errorf("server for localhost: %v", err)
	}
	if !readCert(t, p.CACert).Equal(p.CA) || !readCert(t, p.ClientCert).Equal(p.Client) {
		t.Error("CA or Client differ from the files")
	}
}

func TestEncryptedKey(t *testing.T) {
	p := New(t, "")
	b, err := os.ReadFile(p.ClientKeyEncrypted)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(b)
	if block == nil || block.Type != "ENCRYPTED PRIVATE KEY" {
		t.Fatalf("not an ENCRYPTED PRIVATE KEY PEM block: %.40q", b)
	}
	key, err := pkcs8.ParsePKCS8PrivateKey(block.Bytes, []byte(p.ClientKeyPassphrase))
	if err != nil {
		t.Fatalf("decrypt with the passphrase: %v", err)
	}
	if !key.(*ecdsa.PrivateKey).PublicKey.Equal(p.Client.PublicKey) {
		t.Error("the encrypted key does not belong to the client certificate")
	}
	if _, err := pkcs8.ParsePKCS8PrivateKey(block.Bytes, []byte("wrong passphrase")); err == nil {
		t.Error("decrypted with a wrong passphrase")
	}
	if _, err := tls.LoadX509KeyPair(p.ClientCert, p.ClientKeyEncrypted); err == nil {
		t.Error("tls.LoadX509KeyPair read the encrypted key")
	}
}

func TestPKCS12(t *testing.T) {
	p := New(t, "")
	b, err := os.ReadFile(p.ClientP12)
	if err != nil {
		t.Fatal(err)
	}
	key, cert, cas, err := pkcs12.DecodeChain(b, p.ClientP12Password)
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	if !cert.Equal(p.Client) {
		t.Errorf("certificate %s, want the client's", cert.Subject)
	}
	if !key.(*ecdsa.PrivateKey).PublicKey.Equal(p.Client.PublicKey) {
		t.Error("the key does not belong to the client certificate")
	}
	if len(cas) != 1 || !cas[0].Equal(p.CA) {
		t.Errorf("chain %d certificates, want the CA", len(cas))
	}
	if _, _, _, err := pkcs12.DecodeChain(b, "wrong password"); err == nil {
		t.Error("decoded with a wrong password")
	}
	if _, _, _, err := pkcs12.DecodeChain(b, p.ClientKeyPassphrase); err == nil {
		t.Error("decoded with the key passphrase")
	}
}

func TestTLSConfigs(t *testing.T) {
	p := New(t, "")
	for _, require := range []bool{false, true} {
		srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if len(r.TLS.PeerCertificates) > 0 {
				_, _ = io.WriteString(w, r.TLS.PeerCertificates[0].Subject.String())
			}
		}))
		srv.Config.ErrorLog = log.New(io.Discard, "", 0) // expected handshake failures
		srv.TLS = p.ServerTLSConfig(require)
		srv.StartTLS()
		get := func(cfg *tls.Config) (string, error) {
			c := &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}}
			defer c.CloseIdleConnections()
			resp, err := c.Get(srv.URL)
			if err != nil {
				return "", err
			}
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			return string(b), err
		}
		if got, err := get(p.ClientTLSConfig()); err != nil || got != ClientSubjectDN {
			t.Errorf("require=%v, with the client certificate: %q %v", require, got, err)
		}
		_, err := get(&tls.Config{RootCAs: p.CAPool()})
		if require && err == nil {
			t.Error("require=true: no error without a client certificate")
		}
		if !require && err != nil {
			t.Errorf("require=false, without a client certificate: %v", err)
		}
		srv.Close()
	}
}

func readCert(t *testing.T, path string) *x509.Certificate {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(b)
	if block == nil {
		t.Fatalf("%s: no PEM", path)
	}
	c, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
