package api

import (
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/youmark/pkcs8"
	"software.sslmate.com/src/go-pkcs12"

	"github.com/camctl/camctl/internal/atomicfile"
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
	CertPEMKeystore     // a PEM file given as the PKCS#12 keystore
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

// readSmall reads a certificate, key or keystore file: a regular file of
// at most 1 MiB (real ones are a few KB; /dev/zero must not fill the
// memory, and a named pipe must not hang the run).
func readSmall(path string) ([]byte, error) {
	return atomicfile.ReadInput(path)
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
		missing, path := "the key (--client-key, CAMUNDA_MTLS_KEY_PATH)", c.CertFile
		if c.CertFile == "" {
			missing, path = "the certificate (--client-cert, CAMUNDA_MTLS_CERT_PATH)", c.KeyFile
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

// KeyIsEncrypted reports whether a PEM key file holds an encrypted key
// (and so needs a passphrase).
func KeyIsEncrypted(path string) bool {
	data, err := readSmall(path)
	return err == nil && strings.Contains(string(data), "ENCRYPTED")
}

// ReadCertInfo describes the first certificate of a PEM file without
// touching any key.
func ReadCertInfo(path string) (*CertInfo, error) {
	data, err := readSmall(path)
	if err != nil {
		return nil, &CertError{Kind: CertUnreadable, Path: path, Err: err}
	}
	for rest := data; ; {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			return nil, &CertError{Kind: CertUnreadable, Path: path, Err: errors.New("no PEM certificate found in it")}
		}
		if b.Type == "CERTIFICATE" {
			c, err := x509.ParseCertificate(b.Bytes)
			if err != nil {
				return nil, &CertError{Kind: CertUnreadable, Path: path, Err: err}
			}
			return &CertInfo{Subject: c.Subject.String(), Issuer: c.Issuer.String(), NotBefore: c.NotBefore, NotAfter: c.NotAfter}, nil
		}
	}
}

func loadPEM(c ClientCert) (tls.Certificate, error) {
	certPEM, err := readSmall(c.CertFile)
	if err != nil {
		return tls.Certificate{}, &CertError{Kind: CertUnreadable, Path: c.CertFile, Err: err}
	}
	keyPEM, err := readSmall(c.KeyFile)
	if err != nil {
		return tls.Certificate{}, &CertError{Kind: CertUnreadable, Path: c.KeyFile, Err: err}
	}
	// (11) The key may share its file with certificates: find its block.
	var block *pem.Block
	for rest := keyPEM; ; {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			break
		}
		if strings.HasSuffix(b.Type, "PRIVATE KEY") {
			block = b
			break
		}
	}
	if block == nil {
		return tls.Certificate{}, &CertError{Kind: CertUnreadable, Path: c.KeyFile, Err: errors.New("no PEM private key found in it")}
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
				// pkcs8 says so for any failure after decryption.
				return tls.Certificate{}, &CertError{Kind: CertWrongPassphrase, Path: c.KeyFile, Err: errors.New("the key passphrase is wrong (or the key type is not supported)")}
			}
			return tls.Certificate{}, &CertError{Kind: CertUnreadable, Path: c.KeyFile, Err: err}
		}
		der, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			return tls.Certificate{}, &CertError{Kind: CertUnreadable, Path: c.KeyFile, Err: err}
		}
		keyPEM = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	} else if _, legacy := block.Headers["DEK-Info"]; legacy {
		// RFC 1423 encryption, recognised (as the deprecated
		// x509.IsEncryptedPEMBlock does) only to refuse it with an
		// explanation; camctl never decrypts it.
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
// documents. A keystore without a password opens without asking for one;
// the password is asked for only when the keystore needs it. One password
// protects the whole keystore: a key with a password of its own (a Java
// option) is refused with a way out.
func loadKeystore(c ClientCert) (tls.Certificate, error) {
	data, err := readSmall(c.Keystore)
	if err != nil {
		return tls.Certificate{}, &CertError{Kind: CertUnreadable, Path: c.Keystore, Err: err}
	}
	if looksPEM(data) {
		// pkcs12 would answer with ASN.1 parser text; say what it is.
		return tls.Certificate{}, &CertError{Kind: CertPEMKeystore, Path: c.Keystore, Err: errors.New("a PEM file, not a PKCS#12 keystore")}
	}
	key, leaf, chain, err := pkcs12.DecodeChain(data, "")
	if isWrongPassword(err) && c.KeystorePassword != nil {
		p, perr := c.KeystorePassword()
		if perr != nil {
			return tls.Certificate{}, perr
		}
		key, leaf, chain, err = pkcs12.DecodeChain(data, p)
		if isWrongPassword(err) && c.KeystoreKeyPassword != nil {
			if kp, kerr := c.KeystoreKeyPassword(); kerr == nil && kp != "" && kp != p {
				return tls.Certificate{}, &CertError{Kind: CertWrongPassphrase, Path: c.Keystore, Err: errors.New("the keystore password is wrong, or its key has a password of its own, which camctl does not support: re-export the keystore with one password (keytool -importkeystore -destkeypass = -deststorepass)")}
			}
		}
	}
	switch {
	case isWrongPassword(err):
		return tls.Certificate{}, &CertError{Kind: CertWrongPassphrase, Path: c.Keystore, Err: errors.New("the keystore password is wrong")}
	case err != nil:
		return tls.Certificate{}, &CertError{Kind: CertUnreadable, Path: c.Keystore, Err: fmt.Errorf("not a PKCS#12 keystore (%v); convert a JKS keystore with keytool -importkeystore -deststoretype PKCS12", err)}
	}
	// Keystores converted from JKS can list the CA first: the leaf is the
	// certificate of the key.
	signer, ok := key.(crypto.Signer)
	if !ok {
		return tls.Certificate{}, &CertError{Kind: CertUnreadable, Path: c.Keystore, Err: errors.New("the keystore's key is of an unsupported type")}
	}
	all := append([]*x509.Certificate{leaf}, chain...)
	var mine *x509.Certificate
	for _, cand := range all {
		if pk, ok := cand.PublicKey.(interface{ Equal(crypto.PublicKey) bool }); ok && pk.Equal(signer.Public()) {
			mine = cand
			break
		}
	}
	if mine == nil {
		return tls.Certificate{}, &CertError{Kind: CertMismatch, Path: c.Keystore, Err: errors.New("the keystore's key belongs to none of its certificates")}
	}
	cert := tls.Certificate{PrivateKey: key, Leaf: mine, Certificate: [][]byte{mine.Raw}}
	for _, other := range all {
		if other != mine {
			cert.Certificate = append(cert.Certificate, other.Raw)
		}
	}
	return cert, nil
}

func isWrongPassword(err error) bool {
	return errors.Is(err, pkcs12.ErrIncorrectPassword) || errors.Is(err, pkcs12.ErrDecryption)
}

// looksPEM reports text with a PEM block ("-----BEGIN ..."), which a
// PKCS#12 keystore (binary DER) never starts with.
func looksPEM(data []byte) bool {
	block, _ := pem.Decode(data)
	return block != nil
}
