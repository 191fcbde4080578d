package api

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/youmark/pkcs8"
	"software.sslmate.com/src/go-pkcs12"
)

// ClientCert names a client certificate: PEM certificate and key files,
// or a PKCS#12 keystore. The secrets come through functions, asked only
// when the files turn out to need them (an unencrypted key needs no
// passphrase, so no keyring read).
type ClientCert struct {
	CertFile, KeyFile string
	Keystore          string
	// Passphrase returns the passphrase of an encrypted PEM key.
	Passphrase func() (string, error)
	// KeystorePassword and KeystoreKeyPassword return the keystore's
	// password and, when the key has its own, the key's.
	KeystorePassword    func() (string, error)
	KeystoreKeyPassword func() (string, error)
}

// IsSet reports whether a client certificate is configured.
func (c ClientCert) IsSet() bool { return c.CertFile != "" || c.KeyFile != "" || c.Keystore != "" }

// CertErrorKind says what is wrong with a client certificate.
type CertErrorKind int

// The kinds of CertError.
const (
	CertUnreadable CertErrorKind = iota // missing, unreadable or not PEM/PKCS#12
	CertIncomplete                      // a certificate without key or the reverse
	CertMismatch                        // the key does not belong to the certificate
	CertExpired
	CertNotYetValid
	CertWrongPassphrase // wrong passphrase or keystore password
)

// CertError is a client certificate camctl cannot use. A wrong passphrase
// is an authentication failure (exit 3); the rest are configuration
// errors (exit 2).
type CertError struct {
	Kind CertErrorKind
	Path string
	Err  error
}

func (e *CertError) Error() string {
	return fmt.Sprintf("client certificate %s: %v", e.Path, e.Err)
}

func (e *CertError) Unwrap() error { return e.Err }

// CertInfo describes a loaded client certificate, for `profile show` and
// the expiry warning. It never holds key material.
type CertInfo struct {
	Subject   string    `json:"subject"`
	Issuer    string    `json:"issuer"`
	NotBefore time.Time `json:"notBefore"`
	NotAfter  time.Time `json:"notAfter"`
}

// ExpiryWarning is how long before its expiry a certificate is warned about.
const ExpiryWarning = 14 * 24 * time.Hour

// LoadClientCert loads and checks the certificate: key and certificate
// belong together, and it is valid at now.
func LoadClientCert(c ClientCert, now time.Time) (*tls.Certificate, *CertInfo, error) {
	var (
		cert tls.Certificate
		err  error
		path string
	)
	switch {
	case c.Keystore != "":
		path = c.Keystore
		cert, err = loadKeystore(c)
	case c.CertFile == "" || c.KeyFile == "":
		missing, path := "--client-key", c.CertFile
		if c.CertFile == "" {
			missing, path = "--client-cert", c.KeyFile
		}
		return nil, nil, &CertError{Kind: CertIncomplete, Path: path, Err: fmt.Errorf("a client certificate needs both a certificate and its key: %s is missing", missing)}
	default:
		path = c.CertFile
		cert, err = loadPEM(c)
	}
	if err != nil {
		return nil, nil, err
	}
	leaf := cert.Leaf
	if leaf == nil {
		if leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
			return nil, nil, &CertError{Kind: CertUnreadable, Path: path, Err: err}
		}
		cert.Leaf = leaf
	}
	info := &CertInfo{Subject: leaf.Subject.String(), Issuer: leaf.Issuer.String(), NotBefore: leaf.NotBefore, NotAfter: leaf.NotAfter}
	switch {
	case now.After(leaf.NotAfter):
		return nil, info, &CertError{Kind: CertExpired, Path: path, Err: fmt.Errorf("expired on %s (subject %s); get a new one from your PKI", leaf.NotAfter.UTC().Format(time.DateOnly), info.Subject)}
	case now.Before(leaf.NotBefore):
		return nil, info, &CertError{Kind: CertNotYetValid, Path: path, Err: fmt.Errorf("not valid before %s (subject %s); check the clock, or wait", leaf.NotBefore.UTC().Format(time.RFC3339), info.Subject)}
	}
	return &cert, info, nil
}

func loadPEM(c ClientCert) (tls.Certificate, error) {
	certPEM, err := os.ReadFile(c.CertFile)
	if err != nil {
		return tls.Certificate{}, &CertError{Kind: CertUnreadable, Path: c.CertFile, Err: err}
	}
	keyPEM, err := os.ReadFile(c.KeyFile)
	if err != nil {
		return tls.Certificate{}, &CertError{Kind: CertUnreadable, Path: c.KeyFile, Err: err}
	}
	block, _ := pem.Decode(keyPEM)
	if block == nil {
		return tls.Certificate{}, &CertError{Kind: CertUnreadable, Path: c.KeyFile, Err: errors.New("no PEM key found in it")}
	}
	if block.Type == "ENCRYPTED PRIVATE KEY" {
		if c.Passphrase == nil {
			return tls.Certificate{}, &CertError{Kind: CertWrongPassphrase, Path: c.KeyFile, Err: errors.New("the key is encrypted and no passphrase is configured")}
		}
		pass, err := c.Passphrase()
		if err != nil {
			return tls.Certificate{}, err
		}
		key, err := pkcs8.ParsePKCS8PrivateKey(block.Bytes, []byte(pass))
		if err != nil {
			if strings.Contains(err.Error(), "incorrect password") {
				return tls.Certificate{}, &CertError{Kind: CertWrongPassphrase, Path: c.KeyFile, Err: errors.New("the key passphrase is wrong")}
			}
			return tls.Certificate{}, &CertError{Kind: CertUnreadable, Path: c.KeyFile, Err: err}
		}
		der, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			return tls.Certificate{}, &CertError{Kind: CertUnreadable, Path: c.KeyFile, Err: err}
		}
		keyPEM = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	} else if x509.IsEncryptedPEMBlock(block) { //nolint:staticcheck // recognised only to explain it
		return tls.Certificate{}, &CertError{Kind: CertUnreadable, Path: c.KeyFile, Err: errors.New("legacy PEM encryption (Proc-Type: 4,ENCRYPTED) is insecure and not supported; convert it: openssl pkcs8 -topk8 -in OLD -out NEW")}
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		kind := CertUnreadable
		if strings.Contains(err.Error(), "does not match") {
			kind = CertMismatch
			err = fmt.Errorf("the key %s does not belong to this certificate", c.KeyFile)
		}
		return tls.Certificate{}, &CertError{Kind: kind, Path: c.CertFile, Err: err}
	}
	return cert, nil
}

// loadKeystore reads a PKCS#12 keystore, the format the Java client
// documents. Keystores whose key has a password of its own (a Java
// option) are tried with the key password too.
func loadKeystore(c ClientCert) (tls.Certificate, error) {
	data, err := os.ReadFile(c.Keystore)
	if err != nil {
		return tls.Certificate{}, &CertError{Kind: CertUnreadable, Path: c.Keystore, Err: err}
	}
	var passwords []string
	for _, get := range []func() (string, error){c.KeystorePassword, c.KeystoreKeyPassword} {
		if get == nil {
			continue
		}
		p, err := get()
		if err != nil {
			return tls.Certificate{}, err
		}
		if p != "" || len(passwords) == 0 {
			passwords = append(passwords, p)
		}
	}
	if len(passwords) == 0 {
		passwords = []string{""}
	}
	var lastErr error
	for _, p := range passwords {
		key, leaf, chain, err := pkcs12.DecodeChain(data, p)
		if err == nil {
			cert := tls.Certificate{PrivateKey: key, Leaf: leaf, Certificate: [][]byte{leaf.Raw}}
			for _, ca := range chain {
				cert.Certificate = append(cert.Certificate, ca.Raw)
			}
			return cert, nil
		}
		lastErr = err
	}
	if errors.Is(lastErr, pkcs12.ErrIncorrectPassword) || errors.Is(lastErr, pkcs12.ErrDecryption) {
		return tls.Certificate{}, &CertError{Kind: CertWrongPassphrase, Path: c.Keystore, Err: errors.New("the keystore password is wrong")}
	}
	return tls.Certificate{}, &CertError{Kind: CertUnreadable, Path: c.Keystore, Err: fmt.Errorf("not a PKCS#12 keystore (%v); convert a JKS keystore with keytool -importkeystore -deststoretype PKCS12", lastErr)}
}
