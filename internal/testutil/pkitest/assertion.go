package pkitest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"math/big"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/youmark/pkcs8"
	"software.sslmate.com/src/go-pkcs12"
)

// AssertionKeys are keys that sign client assertions (private_key_jwt),
// in the forms camctl reads, with certificates from the test CA.
type AssertionKeys struct {
	// RSAKey is an RSA-2048 key as PKCS#8 PEM, RSAKeyPKCS1 the same key
	// as "RSA PRIVATE KEY", RSAKeyEncrypted the same key as encrypted
	// PKCS#8 under ClientKeyPassphrase; RSACert its certificate.
	RSAKey, RSAKeyPKCS1, RSAKeyEncrypted, RSACert string
	// ECKey is a P-256 key as "EC PRIVATE KEY" PEM; ECCert its certificate.
	ECKey, ECCert string
	// P12AES (PBES2/AES-256, HMAC-SHA256) and P12Legacy (3DES and RC2,
	// SHA-1: what older keytool and openssl write) hold the RSA key and
	// certificate under ClientP12Password.
	P12AES, P12Legacy string
	// RSA, EC are the public keys; RSAX509 and ECX509 the certificates.
	RSA, EC         crypto.PublicKey
	RSAX509, ECX509 *x509.Certificate
}

// AssertionKeys generates the assertion keys into the PKI's directory.
func (p *PKI) AssertionKeys(t testing.TB) *AssertionKeys {
	t.Helper()
	g := &gen{t: t, dir: p.Dir, now: time.Now()}
	a := &AssertionKeys{}
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ek, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	a.RSA, a.EC = rk.Public(), ek.Public()
	tmpl := func(cn string) *x509.Certificate {
		return &x509.Certificate{Subject: pkix.Name{CommonName: cn, Organization: []string{"camctl tests"}}, KeyUsage: x509.KeyUsageDigitalSignature}
	}
	a.RSAX509 = g.certFor(tmpl("camctl-assertion-rsa"), rk.Public(), p.CA, p.caKey)
	a.ECX509 = g.certFor(tmpl("camctl-assertion-ec"), ek.Public(), p.CA, p.caKey)
	a.RSACert = g.writeCert("assertion-rsa.crt", a.RSAX509)
	a.ECCert = g.writeCert("assertion-ec.crt", a.ECX509)
	der, err := x509.MarshalPKCS8PrivateKey(rk)
	if err != nil {
		t.Fatal(err)
	}
	a.RSAKey = g.write("assertion-rsa.key", 0o600, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	a.RSAKeyPKCS1 = g.write("assertion-rsa-pkcs1.key", 0o600, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rk)}))
	enc, err := pkcs8.MarshalPrivateKey(rk, []byte(ClientKeyPassphrase), &pkcs8.Opts{
		Cipher: pkcs8.AES256CBC, KDFOpts: pkcs8.PBKDF2Opts{SaltSize: 16, IterationCount: 10000, HMACHash: crypto.SHA256},
	})
	if err != nil {
		t.Fatal(err)
	}
	a.RSAKeyEncrypted = g.write("assertion-rsa-enc.key", 0o600, pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: enc}))
	ecDER, err := x509.MarshalECPrivateKey(ek)
	if err != nil {
		t.Fatal(err)
	}
	a.ECKey = g.write("assertion-ec.key", 0o600, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: ecDER}))
	for _, v := range []struct {
		enc  *pkcs12.Encoder
		dst  *string
		name string
	}{{pkcs12.Modern2023, &a.P12AES, "assertion-aes.p12"}, {pkcs12.LegacyDES, &a.P12Legacy, "assertion-legacy.p12"}} {
		data, err := encodeWithAlias(v.enc, rk, a.RSAX509, p.CA)
		if err != nil {
			t.Fatal(err)
		}
		*v.dst = g.write(v.name, 0o600, data)
	}
	return a
}

// encodeWithAlias writes the keystore. go-pkcs12 names no bags, so its
// keystores have no alias (camctl then takes the first key, as the Java
// client does).
func encodeWithAlias(enc *pkcs12.Encoder, key crypto.PrivateKey, cert, ca *x509.Certificate) ([]byte, error) {
	return enc.Encode(key, cert, []*x509.Certificate{ca}, ClientP12Password)
}

// JWKS returns the public keys for an IdP's client registration, each
// named by its RFC 7638 thumbprint (the kid camctl sends).
func (a *AssertionKeys) JWKS(t testing.TB) []jose.JSONWebKey {
	t.Helper()
	var out []jose.JSONWebKey
	for _, k := range []struct {
		pub  crypto.PublicKey
		cert *x509.Certificate
	}{{a.RSA, a.RSAX509}, {a.EC, a.ECX509}} {
		tp, err := (&jose.JSONWebKey{Key: k.pub}).Thumbprint(crypto.SHA256)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, jose.JSONWebKey{Key: k.pub, KeyID: base64.RawURLEncoding.EncodeToString(tp), Use: "sig"})
	}
	return out
}

// certFor is cert for a public key of any type.
func (g *gen) certFor(tmpl *x509.Certificate, pub crypto.PublicKey, parent *x509.Certificate, parentKey *ecdsa.PrivateKey) *x509.Certificate {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		g.t.Fatal(err)
	}
	tmpl.SerialNumber = serial
	tmpl.NotBefore, tmpl.NotAfter = g.now.Add(-time.Hour), g.now.Add(365*24*time.Hour)
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, parentKey)
	if err != nil {
		g.t.Fatalf("pkitest: create certificate %s: %v", tmpl.Subject, err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		g.t.Fatal(err)
	}
	return c
}
