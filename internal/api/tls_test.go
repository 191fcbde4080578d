package api

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"software.sslmate.com/src/go-pkcs12"

	"github.com/camctl/camctl/internal/testutil/pkitest"
)

func TestLoadClientCert(t *testing.T) {
	p := pkitest.New(t, "")
	pass := func(v string) func() (string, error) { return func() (string, error) { return v, nil } }
	never := func() (string, error) {
		t.Error("a passphrase was asked for an unencrypted key")
		return "", nil
	}
	tests := []struct {
		name     string
		cc       ClientCert
		wantKind CertErrorKind
		wantMsg  string
		ok       bool
	}{
		{name: "PEM", cc: ClientCert{CertFile: p.ClientCert, KeyFile: p.ClientKey, Passphrase: never}, ok: true},
		{name: "encrypted PKCS#8 with its passphrase", cc: ClientCert{CertFile: p.ClientCert, KeyFile: p.ClientKeyEncrypted, Passphrase: pass(p.ClientKeyPassphrase)}, ok: true},
		{name: "encrypted PKCS#8, wrong passphrase", cc: ClientCert{CertFile: p.ClientCert, KeyFile: p.ClientKeyEncrypted, Passphrase: pass("wrong")},
			wantKind: CertWrongPassphrase, wantMsg: "the key passphrase is wrong"},
		{name: "encrypted PKCS#8, no passphrase source", cc: ClientCert{CertFile: p.ClientCert, KeyFile: p.ClientKeyEncrypted},
			wantKind: CertWrongPassphrase, wantMsg: "no passphrase"},
		{name: "PKCS#12", cc: ClientCert{Keystore: p.ClientP12, KeystorePassword: pass(p.ClientP12Password)}, ok: true},
		{name: "PKCS#12 whose key password differs from the store password", cc: ClientCert{Keystore: p.ClientP12, KeystorePassword: pass("wrong"), KeystoreKeyPassword: pass(p.ClientP12Password)},
			wantKind: CertWrongPassphrase, wantMsg: "re-export the keystore with one password"},
		{name: "PKCS#12, wrong password", cc: ClientCert{Keystore: p.ClientP12, KeystorePassword: pass("wrong")},
			wantKind: CertWrongPassphrase, wantMsg: "the keystore password is wrong"},
		{name: "PKCS#12 that is a PEM file", cc: ClientCert{Keystore: p.ClientCert, KeystorePassword: pass("x")},
			wantKind: CertPEMKeystore, wantMsg: "a PEM file, not a PKCS#12 keystore"},
		{name: "key of another certificate", cc: ClientCert{CertFile: p.ClientCert, KeyFile: p.WrongKey},
			wantKind: CertMismatch, wantMsg: "does not belong to this certificate"},
		{name: "expired", cc: ClientCert{CertFile: p.ExpiredClientCert, KeyFile: p.ExpiredClientKey},
			wantKind: CertExpired, wantMsg: "expired on"},
		{name: "not yet valid", cc: ClientCert{CertFile: p.NotYetValidClientCert, KeyFile: p.NotYetValidClientKey},
			wantKind: CertNotYetValid, wantMsg: "not valid before"},
		{name: "missing certificate file", cc: ClientCert{CertFile: filepath.Join(p.Dir, "nope.pem"), KeyFile: p.ClientKey},
			wantKind: CertUnreadable, wantMsg: "no such file"},
		{name: "certificate without key", cc: ClientCert{CertFile: p.ClientCert},
			wantKind: CertIncomplete, wantMsg: "the key (--client-key, CAMUNDA_MTLS_KEY_PATH) is missing"},
		{name: "key without certificate", cc: ClientCert{KeyFile: p.ClientKey},
			wantKind: CertIncomplete, wantMsg: "the certificate (--client-cert, CAMUNDA_MTLS_CERT_PATH) is missing"},
		{name: "a certificate as the key", cc: ClientCert{CertFile: p.ClientCert, KeyFile: p.ClientCert},
			wantKind: CertUnreadable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cert, info, err := LoadClientCert(tt.cc, time.Now())
			if tt.ok {
				if err != nil {
					t.Fatalf("LoadClientCert: %v", err)
				}
				if cert == nil || cert.PrivateKey == nil || info.Subject != p.Client.Subject.String() {
					t.Errorf("cert %v, info %+v; want the client certificate with its key", cert, info)
				}
				return
			}
			var ce *CertError
			if !errors.As(err, &ce) || ce.Kind != tt.wantKind {
				t.Fatalf("err = %v, want a CertError of kind %d", err, tt.wantKind)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("err = %q, want it to say %q", err, tt.wantMsg)
			}
			for _, secret := range []string{p.ClientKeyPassphrase, p.ClientP12Password} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("the error shows a secret: %q", err)
				}
			}
		})
	}
}

// A keystore without a password opens without asking for one.
func TestLoadPasswordlessKeystore(t *testing.T) {
	p := pkitest.New(t, "")
	pair, err := tls.LoadX509KeyPair(p.ClientCert, p.ClientKey)
	if err != nil {
		t.Fatal(err)
	}
	data, err := pkcs12.Passwordless.Encode(pair.PrivateKey, p.Client, []*x509.Certificate{p.CA}, "")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "nopass.p12")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	cert, _, err := LoadClientCert(ClientCert{Keystore: path, KeystorePassword: func() (string, error) {
		t.Error("a password was asked for a keystore that has none")
		return "", nil
	}}, time.Now())
	if err != nil || cert.Leaf.Subject.String() != pkitest.ClientSubjectDN {
		t.Fatalf("LoadClientCert = %v, %v; want the client certificate", cert, err)
	}
}

// A file with the certificate and then its key (a common bundle) serves
// as both.
func TestLoadCombinedPEM(t *testing.T) {
	p := pkitest.New(t, "")
	certPEM, _ := os.ReadFile(p.ClientCert)
	keyPEM, _ := os.ReadFile(p.ClientKeyEncrypted)
	path := filepath.Join(t.TempDir(), "bundle.pem")
	if err := os.WriteFile(path, append(certPEM, keyPEM...), 0o600); err != nil {
		t.Fatal(err)
	}
	asked := false
	_, _, err := LoadClientCert(ClientCert{CertFile: path, KeyFile: path, Passphrase: func() (string, error) {
		asked = true
		return p.ClientKeyPassphrase, nil
	}}, time.Now())
	if err != nil || !asked {
		t.Fatalf("LoadClientCert = %v (passphrase asked: %v); want the certificate, with the passphrase asked", err, asked)
	}
}

// --ca-file adds to the system roots; --ca-only trusts the file alone.
func TestCAFileAddsToSystemRoots(t *testing.T) {
	p := pkitest.New(t, "")
	system, err := x509.SystemCertPool()
	if err != nil || system == nil {
		t.Fatalf("no system roots to compare with: %v", err)
	}
	only := x509.NewCertPool()
	pemData, _ := os.ReadFile(p.CACert)
	only.AppendCertsFromPEM(pemData)
	with := system.Clone()
	with.AppendCertsFromPEM(pemData)
	for _, tt := range []struct {
		caOnly bool
		want   *x509.CertPool
	}{{false, with}, {true, only}} {
		hc, err := NewHTTPClient(TLSOptions{CAFile: p.CACert, CAOnly: tt.caOnly}, time.Second, nil)
		if err != nil {
			t.Fatal(err)
		}
		got := hc.Transport.(*http.Transport).TLSClientConfig.RootCAs
		if !got.Equal(tt.want) {
			t.Errorf("CAOnly=%v: the trusted roots are not the expected set", tt.caOnly)
		}
	}
}

// Legacy RFC 1423 PEM encryption (openssl's old "Proc-Type: 4,ENCRYPTED")
// is refused with the conversion command, never decrypted: it is
// unauthenticated and open to padding-oracle attacks.
func TestLoadLegacyEncryptedPEM(t *testing.T) {
	p := pkitest.New(t, "")
	keyPEM, err := os.ReadFile(p.ClientKey)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(keyPEM)
	block.Headers = map[string]string{"Proc-Type": "4,ENCRYPTED", "DEK-Info": "AES-256-CBC,000102030405060708090A0B0C0D0E0F"}
	path := filepath.Join(t.TempDir(), "legacy.pem")
	if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	_, _, err = LoadClientCert(ClientCert{CertFile: p.ClientCert, KeyFile: path, Passphrase: func() (string, error) {
		t.Error("a passphrase was asked for a legacy-encrypted key")
		return "", nil
	}}, time.Now())
	if err == nil || !strings.Contains(err.Error(), "legacy PEM encryption") || !strings.Contains(err.Error(), "openssl pkcs8 -topk8") {
		t.Fatalf("err = %v, want the legacy encryption refused with the fix", err)
	}
}
