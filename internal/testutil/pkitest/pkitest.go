// Package pkitest generates a throw-away X.509 PKI for tests: a CA and a
// second, untrusted CA, a server certificate for 127.0.0.1 and localhost,
// and client certificates in the formats camctl reads (PEM with a plain or
// an encrypted PKCS#8 key, PKCS#12), plus broken ones: signed by the
// untrusted CA, expired, not yet valid, and a key that matches no
// certificate; and one that expires within a week. Everything is generated in memory per test (ECDSA P-256,
// a few milliseconds) and written to a directory; no key is committed.
package pkitest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/youmark/pkcs8"
	"software.sslmate.com/src/go-pkcs12"
)

// ClientSubjectDN is the client certificate's subject as an RFC 4514
// string (the form of pkix.Name.String and of RFC 8705's
// tls_client_auth_subject_dn): most specific attribute first.
const ClientSubjectDN = "CN=camctl-x509,OU=Camunda Users,O=camctl tests,C=DE"

// Test-only secrets protecting the encrypted client key and the PKCS#12
// bundle. They differ so that a test notices when one is used for the other.
const (
	ClientKeyPassphrase = "camctl test key passphrase"
	ClientP12Password   = "camctl-test-p12-password"
)

// PKI holds the paths of the generated files (certificates and keys are
// PEM unless noted) and the parsed CA and client certificates.
type PKI struct {
	Dir string

	// CACert signs the server and the valid client certificates.
	CACert string
	// UntrustedCACert signs UntrustedClientCert; nothing trusts it.
	UntrustedCACert string

	// ServerCert (SANs 127.0.0.1, ::1, localhost; chain: leaf only) and
	// its PKCS#8 key ServerKey.
	ServerCert, ServerKey string

	// ClientCert has subject ClientSubjectDN and extended key usage
	// clientAuth. ClientKey is its key as unencrypted PKCS#8 ("PRIVATE
	// KEY"); ClientKeyEncrypted is the same key as encrypted PKCS#8
	// ("ENCRYPTED PRIVATE KEY", PBES2: PBKDF2-HMAC-SHA256, AES-256-CBC)
	// under ClientKeyPassphrase.
	ClientCert, ClientKey, ClientKeyEncrypted, ClientKeyPassphrase string

	// ClientP12 is ClientCert, its key and CACert as a PKCS#12 bundle
	// (go-pkcs12 Modern: PBES2/AES-256-CBC, HMAC-SHA256 MAC) under
	// ClientP12Password.
	ClientP12, ClientP12Password string

	// UntrustedClientCert has the client subject but is signed by the
	// untrusted CA.
	UntrustedClientCert, UntrustedClientKey string
	// ExpiredClientCert (signed by the CA) expired a day ago.
	ExpiredClientCert, ExpiredClientKey string
	// NotYetValidClientCert (signed by the CA) becomes valid in a day.
	NotYetValidClientCert, NotYetValidClientKey string
	// ExpiringClientCert (signed by the CA, the client subject) is valid
	// but expires in 7 days, inside camctl's 14-day warning window. The
	// other valid certificates are valid for a year.
	ExpiringClientCert, ExpiringClientKey string

	// WrongKey is an unencrypted PKCS#8 key that matches no certificate.
	WrongKey string

	// CA and Client are the parsed CACert and ClientCert.
	CA, Client *x509.Certificate

	server tls.Certificate
	client tls.Certificate
	caKey  *ecdsa.PrivateKey
}

// New generates the PKI into dir (a new t.TempDir() when dir is empty).
// Keys are written with mode 0600, certificates with 0644.
func New(t testing.TB, dir string) *PKI {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	g := &gen{t: t, dir: dir, now: time.Now()}
	p := &PKI{Dir: dir, ClientKeyPassphrase: ClientKeyPassphrase, ClientP12Password: ClientP12Password}

	caKey := g.key()
	ca := g.cert(&x509.Certificate{
		Subject:               pkix.Name{CommonName: "camctl test CA", Organization: []string{"camctl tests"}},
		NotBefore:             g.now.Add(-7 * 24 * time.Hour),
		NotAfter:              g.now.Add(2 * 365 * 24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}, caKey, nil, nil)
	p.CA, p.caKey = ca, caKey
	p.CACert = g.writeCert("ca.crt", ca)

	untrustedKey := g.key()
	untrusted := g.cert(&x509.Certificate{
		Subject:               pkix.Name{CommonName: "camctl untrusted test CA", Organization: []string{"camctl tests"}},
		NotBefore:             g.now.Add(-7 * 24 * time.Hour),
		NotAfter:              g.now.Add(2 * 365 * 24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}, untrustedKey, nil, nil)
	p.UntrustedCACert = g.writeCert("untrusted-ca.crt", untrusted)

	serverKey := g.key()
	server := g.cert(&x509.Certificate{
		Subject:     pkix.Name{CommonName: "127.0.0.1", Organization: []string{"camctl tests"}},
		DNSNames:    []string{"localhost"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}, serverKey, ca, caKey)
	p.ServerCert = g.writeCert("server.crt", server)
	p.ServerKey = g.writeKey("server.key", serverKey)
	p.server = tls.Certificate{Certificate: [][]byte{server.Raw}, PrivateKey: serverKey, Leaf: server}

	clientKey := g.key()
	client := g.cert(clientTemplate(), clientKey, ca, caKey)
	p.Client = client
	p.ClientCert = g.writeCert("client.crt", client)
	p.ClientKey = g.writeKey("client.key", clientKey)
	p.client = tls.Certificate{Certificate: [][]byte{client.Raw}, PrivateKey: clientKey, Leaf: client}

	enc, err := pkcs8.MarshalPrivateKey(clientKey, []byte(ClientKeyPassphrase), &pkcs8.Opts{
		Cipher: pkcs8.AES256CBC,
		KDFOpts: pkcs8.PBKDF2Opts{
			SaltSize:       16,
			IterationCount: 10000,
			HMACHash:       crypto.SHA256,
		},
	})
	if err != nil {
		t.Fatalf("pkitest: encrypt the client key: %v", err)
	}
	p.ClientKeyEncrypted = g.write("client-encrypted.key", 0o600, pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: enc}))

	p12, err := pkcs12.Modern.Encode(clientKey, client, []*x509.Certificate{ca}, ClientP12Password)
	if err != nil {
		t.Fatalf("pkitest: encode the PKCS#12 bundle: %v", err)
	}
	p.ClientP12 = g.write("client.p12", 0o600, p12)

	k := g.key()
	p.UntrustedClientCert = g.writeCert("untrusted-client.crt", g.cert(clientTemplate(), k, untrusted, untrustedKey))
	p.UntrustedClientKey = g.writeKey("untrusted-client.key", k)

	k = g.key()
	tmpl := clientTemplate()
	tmpl.NotBefore, tmpl.NotAfter = g.now.Add(-48*time.Hour), g.now.Add(-24*time.Hour)
	p.ExpiredClientCert = g.writeCert("expired-client.crt", g.cert(tmpl, k, ca, caKey))
	p.ExpiredClientKey = g.writeKey("expired-client.key", k)

	k = g.key()
	tmpl = clientTemplate()
	tmpl.NotBefore, tmpl.NotAfter = g.now.Add(24*time.Hour), g.now.Add(48*time.Hour)
	p.NotYetValidClientCert = g.writeCert("not-yet-valid-client.crt", g.cert(tmpl, k, ca, caKey))
	p.NotYetValidClientKey = g.writeKey("not-yet-valid-client.key", k)

	k = g.key()
	tmpl = clientTemplate()
	tmpl.NotAfter = g.now.Add(7 * 24 * time.Hour)
	p.ExpiringClientCert = g.writeCert("expiring-client.crt", g.cert(tmpl, k, ca, caKey))
	p.ExpiringClientKey = g.writeKey("expiring-client.key", k)

	p.WrongKey = g.writeKey("wrong.key", g.key())
	return p
}

func clientTemplate() *x509.Certificate {
	return &x509.Certificate{
		Subject: pkix.Name{
			CommonName:         "camctl-x509",
			OrganizationalUnit: []string{"Camunda Users"},
			Organization:       []string{"camctl tests"},
			Country:            []string{"DE"},
		},
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
}

// IssueClientCert writes name.crt and name.key (PKCS#8) into Dir: a new
// key and a client certificate (clientAuth, valid for a year) with this
// subject, signed by the CA.
func (p *PKI) IssueClientCert(t testing.TB, name string, subject pkix.Name) (certFile, keyFile string) {
	t.Helper()
	g := &gen{t: t, dir: p.Dir, now: time.Now()}
	k := g.key()
	tmpl := clientTemplate()
	tmpl.Subject = subject
	return g.writeCert(name+".crt", g.cert(tmpl, k, p.CA, p.caKey)), g.writeKey(name+".key", k)
}

// CAPool returns a pool holding only the CA.
func (p *PKI) CAPool() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(p.CA)
	return pool
}

// ServerTLSConfig is a server configuration for httptest.Server.TLS (set it
// before StartTLS): the server certificate, and client certificates
// verified against the CA, required when requireClientCert is set and
// optional (but verified when sent) otherwise.
func (p *PKI) ServerTLSConfig(requireClientCert bool) *tls.Config {
	auth := tls.VerifyClientCertIfGiven
	if requireClientCert {
		auth = tls.RequireAndVerifyClientCert
	}
	return &tls.Config{
		Certificates: []tls.Certificate{p.server},
		ClientCAs:    p.CAPool(),
		ClientAuth:   auth,
		MinVersion:   tls.VersionTLS12,
	}
}

// ClientTLSConfig is a client configuration that trusts the CA and
// presents the client certificate.
func (p *PKI) ClientTLSConfig() *tls.Config {
	return &tls.Config{
		RootCAs:      p.CAPool(),
		Certificates: []tls.Certificate{p.client},
		MinVersion:   tls.VersionTLS12,
	}
}

type gen struct {
	t   testing.TB
	dir string
	now time.Time
}

func (g *gen) key() *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		g.t.Fatalf("pkitest: generate a key: %v", err)
	}
	return k
}

// cert signs tmpl with parentKey (self-signed when parent is nil). The
// validity defaults to an hour ago until a year from now.
func (g *gen) cert(tmpl *x509.Certificate, key *ecdsa.PrivateKey, parent *x509.Certificate, parentKey *ecdsa.PrivateKey) *x509.Certificate {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		g.t.Fatal(err)
	}
	tmpl.SerialNumber = serial
	if tmpl.NotBefore.IsZero() {
		tmpl.NotBefore = g.now.Add(-time.Hour)
	}
	if tmpl.NotAfter.IsZero() {
		tmpl.NotAfter = g.now.Add(365 * 24 * time.Hour)
	}
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, key.Public(), parentKey)
	if err != nil {
		g.t.Fatalf("pkitest: create certificate %s: %v", tmpl.Subject, err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		g.t.Fatal(err)
	}
	return c
}

func (g *gen) writeCert(name string, c *x509.Certificate) string {
	return g.write(name, 0o644, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}))
}

func (g *gen) writeKey(name string, k *ecdsa.PrivateKey) string {
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		g.t.Fatal(err)
	}
	return g.write(name, 0o600, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}

func (g *gen) write(name string, mode os.FileMode, data []byte) string {
	path := filepath.Join(g.dir, name)
	if err := os.WriteFile(path, data, mode); err != nil {
		g.t.Fatalf("pkitest: %v", err)
	}
	return path
}

// IssueServerCert returns a certificate for the DNS name host, signed by
// the CA, for servers that stand in for real hosts (see fakenet).
func (p *PKI) IssueServerCert(t testing.TB, host string) tls.Certificate {
	t.Helper()
	return p.IssueServerCertNames(t, host)
}

// IssueServerCertNames returns a certificate for these DNS names, signed
// by the CA. x509 takes any ASCII in a dNSName, so a hostile server can
// have names with escape sequences (hostile.EvilDNSName) that a client's
// hostname error would print.
func (p *PKI) IssueServerCertNames(t testing.TB, names ...string) tls.Certificate {
	t.Helper()
	g := &gen{t: t, dir: p.Dir, now: time.Now()}
	key := g.key()
	c := g.cert(&x509.Certificate{
		Subject:     pkix.Name{CommonName: names[0], Organization: []string{"camctl tests"}},
		DNSNames:    names,
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}, key, p.CA, p.caKey)
	return tls.Certificate{Certificate: [][]byte{c.Raw}, PrivateKey: key, Leaf: c}
}

// WriteCA writes a fresh self-signed CA certificate (PEM) to path, for
// tests that need a CA bundle to point a flag at but no chain under it.
func WriteCA(path string) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "camctl test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return err
	}
	return os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
}
