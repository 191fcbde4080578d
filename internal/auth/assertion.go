package auth

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1" // #nosec G505 -- x5t is defined as the SHA-1 thumbprint (RFC 7515 §4.1.7); it identifies, it does not protect
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/youmark/pkcs8"
	"software.sslmate.com/src/go-pkcs12"

	"github.com/camctl/camctl/internal/atomicfile"
	"github.com/camctl/camctl/internal/config"
	"github.com/camctl/camctl/internal/redact"
)

// AssertionType is the client_assertion_type of RFC 7523 §2.2.
const AssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// assertionLifetime is how long a signed assertion is valid: spec §11
// wants at most 5 minutes, and it is made for one token request.
const assertionLifetime = 5 * time.Minute

// Assertion sources (auth.client-assertion-from and friends).
const (
	FromGitHubActions = "github-actions"
	// GitHubDefaultAudience is what Entra ID's federated credentials
	// expect a GitHub Actions token to be issued for.
	GitHubDefaultAudience = "api://AzureADTokenExchange"
)

// AssertionError is a client assertion that could not be made or found:
// a missing variable or file, an expired token, an unreadable key, a CI
// platform endpoint that failed. Nothing is sent; camctl exits with 3.
type AssertionError struct {
	Profile string
	// Source says where the assertion was to come from ("file /x",
	// "variable CI_JOB_JWT", "GitHub Actions", "key /k.pem").
	Source string
	Err    error
}

func (e *AssertionError) Error() string {
	return fmt.Sprintf("profile %s: no client assertion from %s: %v", e.Profile, e.Source, e.Err)
}

func (e *AssertionError) Unwrap() error { return e.Err }

// HasAssertion reports whether r authenticates its client with a client
// assertion (a key that signs one, or a token from elsewhere) rather than
// a secret.
func HasAssertion(r *config.Resolved) bool {
	for _, k := range []config.Key{config.AssertionKey, config.AssertionKeystore, config.AssertionFile, config.AssertionEnv, config.AssertionFrom} {
		if r.Get(k).IsSet() {
			return true
		}
	}
	return false
}

// AssertionFunc makes the client_assertion of one token request to
// tokenURL: the token endpoint in use, which is a signed assertion's
// default aud (also when discovery found it).
type AssertionFunc func(ctx context.Context, tokenURL string) (string, error)

// AssertionFor returns the function that makes r's client assertions,
// or nil when r has none. A signing key is loaded on the first call, once
// (its password may be asked for then); every call signs a new
// assertion, or re-reads the file, the variable or the CI platform's
// endpoint. The function is not safe for concurrent use: the OIDC
// provider calls it under its lock.
func AssertionFor(ctx context.Context, r *config.Resolved, d Deps) (AssertionFunc, error) {
	if !HasAssertion(r) {
		return nil, nil
	}
	var set []string
	for _, k := range []config.Key{config.AssertionKey, config.AssertionKeystore, config.AssertionFile, config.AssertionEnv, config.AssertionFrom} {
		if r.Get(k).IsSet() {
			set = append(set, fmt.Sprintf("%s (from %s)", k, r.Get(k).Source))
		}
	}
	if len(set) > 1 {
		return nil, &config.UsageError{Msg: fmt.Sprintf("profile %s: choose one source of client assertions, not %s", r.Name, strings.Join(set, " and "))}
	}
	red := redactorOf(d)
	now := d.now()
	clientID := r.Value(config.ClientID)
	switch {
	case r.Get(config.AssertionKey).IsSet() || r.Get(config.AssertionKeystore).IsSet():
		if err := checkAlgSetting(r); err != nil {
			return nil, err
		}
		// The key is loaded when the first assertion is made: a run with
		// a cached token reads neither the key nor its password.
		var s *signer
		return func(ctx context.Context, tokenURL string) (string, error) {
			aud := r.Value(config.AssertionAudience)
			if aud == "" {
				aud = tokenURL
			}
			if s == nil {
				loaded, err := loadSigner(ctx, r, d)
				if err != nil {
					return "", err
				}
				s = loaded
			}
			a, err := s.sign(clientID, aud, now())
			if err != nil {
				return "", &AssertionError{Profile: r.Name, Source: s.source, Err: err}
			}
			return a, nil
		}, nil
	case r.Get(config.AssertionFile).IsSet():
		path := r.Value(config.AssertionFile)
		src := "file " + path
		return func(context.Context, string) (string, error) {
			b, err := atomicfile.ReadInput(path)
			if err != nil {
				return "", &AssertionError{Profile: r.Name, Source: src, Err: fmt.Errorf("cannot read it: %w", err)}
			}
			a := strings.TrimSpace(string(b))
			red.Add(a)
			return checkAssertion(r.Name, src, a, now())
		}, nil
	case r.Get(config.AssertionEnv).IsSet():
		name := r.Value(config.AssertionEnv)
		src := "variable " + name
		return func(context.Context, string) (string, error) {
			v, ok := d.lookupEnv(name)
			if !ok || strings.TrimSpace(v) == "" {
				return "", &AssertionError{Profile: r.Name, Source: src, Err: fmt.Errorf("%s is not set (GitLab: declare it under id_tokens: in the job)", name)}
			}
			a := strings.TrimSpace(v)
			red.Add(a)
			return checkAssertion(r.Name, src, a, now())
		}, nil
	default:
		from := r.Value(config.AssertionFrom)
		if from != FromGitHubActions {
			return nil, &config.UsageError{Msg: fmt.Sprintf("profile %s: client-assertion-from %q (from %s) is not known: use %s", r.Name, from, r.Get(config.AssertionFrom).Source, FromGitHubActions)}
		}
		aud := r.Value(config.AssertionAudience)
		if aud == "" {
			aud = GitHubDefaultAudience
		}
		gh := &githubActions{profile: r.Name, audience: aud, lookupEnv: d.lookupEnv, timeout: d.Timeout, redactor: red}
		return func(ctx context.Context, _ string) (string, error) {
			a, err := gh.token(ctx)
			if err != nil {
				return "", err
			}
			return checkAssertion(r.Name, "GitHub Actions", a, now())
		}, nil
	}
}

// checkAssertion refuses an assertion that is not a JWT or whose exp has
// passed: the IdP would refuse it with a message that does not say why.
func checkAssertion(profile, src, a string, now time.Time) (string, error) {
	if a == "" {
		return "", &AssertionError{Profile: profile, Source: src, Err: errors.New("it is empty")}
	}
	if err := CheckAccessToken(a); err != nil {
		return "", &AssertionError{Profile: profile, Source: src, Err: fmt.Errorf("it is not a usable token: %v", err)}
	}
	j, err := DecodeJWT(a)
	if err != nil {
		return "", &AssertionError{Profile: profile, Source: src, Err: errors.New("it is not a JWT")}
	}
	if exp, ok := j.Time("exp"); ok && !now.Before(exp) {
		return "", &AssertionError{Profile: profile, Source: src, Err: fmt.Errorf("it expired at %s (%s ago); the platform must issue a new one",
			exp.UTC().Format(time.RFC3339), now.Sub(exp).Round(time.Second))}
	}
	return a, nil
}

// signer signs client assertions with one key.
type signer struct {
	source    string // "key /path" or "keystore /path"
	key       crypto.Signer
	alg       jose.SignatureAlgorithm
	kid       string
	x5t, x5tS string // only with a certificate
}

// sign returns a new assertion: iss = sub = the client id, aud, iat, nbf,
// exp and a random jti (RFC 7523 §3), so that no two are alike.
func (s *signer) sign(clientID, aud string, now time.Time) (string, error) {
	opts := (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", s.kid)
	if s.x5t != "" {
		opts = opts.WithHeader("x5t", s.x5t).WithHeader("x5t#S256", s.x5tS)
	}
	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: s.alg, Key: s.key}, opts)
	if err != nil {
		return "", fmt.Errorf("cannot sign with it: %w", err)
	}
	jti := make([]byte, 16)
	if _, err := rand.Read(jti); err != nil {
		return "", err
	}
	claims, err := json.Marshal(map[string]any{
		"iss": clientID, "sub": clientID, "aud": aud,
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(assertionLifetime).Unix(),
		"jti": base64.RawURLEncoding.EncodeToString(jti),
	})
	if err != nil {
		return "", err
	}
	jws, err := sig.Sign(claims)
	if err != nil {
		return "", fmt.Errorf("cannot sign with it: %w", err)
	}
	return jws.CompactSerialize()
}

// loadSigner reads the profile's assertion key (PEM, or PKCS#12) and
// works out alg, kid and the certificate thumbprints.
func loadSigner(ctx context.Context, r *config.Resolved, d Deps) (*signer, error) {
	var (
		key  crypto.Signer
		cert *x509.Certificate
		s    = &signer{}
		err  error
	)
	if path := r.Value(config.AssertionKeystore); path != "" {
		s.source = "keystore " + path
		key, cert, err = loadAssertionKeystore(ctx, r, d, path)
	} else {
		path := r.Value(config.AssertionKey)
		s.source = "key " + path
		key, err = loadAssertionPEMKey(ctx, r, d, path)
		if err == nil && r.Value(config.AssertionCert) != "" {
			cert, err = loadAssertionCert(r.Value(config.AssertionCert), key)
			if err != nil {
				s.source = "certificate " + r.Value(config.AssertionCert)
			}
		}
	}
	if err != nil {
		var ue *config.UsageError
		var me *MissingSecretError
		var be *BindingError
		if errors.As(err, &ue) || errors.As(err, &me) || errors.As(err, &be) || errors.Is(err, context.Canceled) {
			return nil, err
		}
		return nil, &AssertionError{Profile: r.Name, Source: s.source, Err: err}
	}
	s.key = key
	if s.alg, err = assertionAlg(key.Public(), r.Value(config.AssertionAlg)); err != nil {
		return nil, &config.UsageError{Msg: fmt.Sprintf("profile %s: assertion-alg (from %s): %v", r.Name, r.Get(config.AssertionAlg).Source, err)}
	}
	if s.kid, err = Thumbprint(key.Public()); err != nil {
		return nil, &AssertionError{Profile: r.Name, Source: s.source, Err: err}
	}
	if cert != nil {
		// #nosec G401 -- see the import: x5t is SHA-1 by definition.
		h1 := sha1.Sum(cert.Raw)
		h2 := sha256.Sum256(cert.Raw)
		s.x5t = base64.RawURLEncoding.EncodeToString(h1[:])
		s.x5tS = base64.RawURLEncoding.EncodeToString(h2[:])
	}
	return s, nil
}

// checkAlgSetting refuses an assertion-alg that no key signs with.
func checkAlgSetting(r *config.Resolved) error {
	switch v := strings.ToUpper(strings.TrimSpace(r.Value(config.AssertionAlg))); v {
	case "", "RS256", "PS256", "ES256", "ES384":
		return nil
	default:
		return &config.UsageError{Msg: fmt.Sprintf("profile %s: assertion-alg %q (from %s) is not RS256, PS256 (RSA keys), ES256 or ES384 (EC keys)", r.Name, v, r.Get(config.AssertionAlg).Source)}
	}
}

// Thumbprint is the RFC 7638 SHA-256 thumbprint of a public key,
// base64url: the kid of camctl's assertions, and what an IdP's JWKS
// names the key by.
func Thumbprint(pub crypto.PublicKey) (string, error) {
	tp, err := (&jose.JSONWebKey{Key: pub}).Thumbprint(crypto.SHA256)
	if err != nil {
		return "", fmt.Errorf("thumbprint of the key: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(tp), nil
}

// assertionAlg is the JWS algorithm for key: RS256 (or PS256 on request)
// for RSA, ES256/ES384 for EC P-256/P-384, as the curve dictates.
func assertionAlg(pub crypto.PublicKey, want string) (jose.SignatureAlgorithm, error) {
	want = strings.ToUpper(strings.TrimSpace(want))
	switch k := pub.(type) {
	case *rsa.PublicKey:
		switch want {
		case "", "RS256":
			return jose.RS256, nil
		case "PS256":
			return jose.PS256, nil
		}
		return "", fmt.Errorf("%q does not go with an RSA key: use RS256 or PS256", want)
	case *ecdsa.PublicKey:
		var alg jose.SignatureAlgorithm
		switch k.Curve {
		case elliptic.P256():
			alg = jose.ES256
		case elliptic.P384():
			alg = jose.ES384
		default:
			return "", errors.New("the EC key's curve is not P-256 or P-384")
		}
		if want != "" && want != string(alg) {
			return "", fmt.Errorf("%q does not go with this EC key: it signs %s", want, alg)
		}
		return alg, nil
	}
	return "", errors.New("the key is neither RSA nor EC")
}

// keySecret is a password of the assertion key: from the environment or
// the keyring, or asked for at login (Deps.KeySecret).
func keySecret(ctx context.Context, r *config.Resolved, d Deps, key config.Key, label string) (string, error) {
	if d.KeySecret != nil {
		return d.KeySecret(ctx, key, label)
	}
	if d.Secrets == nil {
		return r.Value(key), nil
	}
	v, _, err := d.Secrets.Resolve(ctx, r, key)
	return v, err
}

func loadAssertionPEMKey(ctx context.Context, r *config.Resolved, d Deps, path string) (crypto.Signer, error) {
	data, err := atomicfile.ReadInput(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read it: %w", err)
	}
	var block *pem.Block
	for rest := data; ; {
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
		return nil, errors.New("no PEM private key found in it")
	}
	if _, legacy := block.Headers["DEK-Info"]; legacy {
		return nil, errors.New("legacy PEM encryption (Proc-Type: 4,ENCRYPTED) is not supported; convert it: openssl pkcs8 -topk8 -in OLD -out NEW")
	}
	var k any
	switch block.Type {
	case "ENCRYPTED PRIVATE KEY":
		pw, err := keySecret(ctx, r, d, config.AssertionKeyPassword, "Passphrase of the client assertion key "+path+": ")
		if err != nil {
			return nil, err
		}
		if pw == "" {
			f, _ := config.FieldFor(config.AssertionKeyPassword)
			return nil, &MissingSecretError{Profile: r.Name, What: "passphrase of the client assertion key", Env: f.Env[0], EnvOnly: !r.Storable()}
		}
		redactorOf(d).Add(pw)
		if k, err = pkcs8.ParsePKCS8PrivateKey(block.Bytes, []byte(pw)); err != nil {
			return nil, errors.New("the passphrase is wrong (or the key type is not supported)")
		}
	case "RSA PRIVATE KEY":
		k, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		k, err = x509.ParseECPrivateKey(block.Bytes)
	default:
		k, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	}
	if err != nil {
		return nil, fmt.Errorf("not a private key camctl can read: %v", err)
	}
	signer, ok := k.(crypto.Signer)
	if !ok {
		return nil, errors.New("the key is of an unsupported type")
	}
	return signer, nil
}

func loadAssertionCert(path string, key crypto.Signer) (*x509.Certificate, error) {
	data, err := atomicfile.ReadInput(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read it: %w", err)
	}
	for rest := data; ; {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("not a certificate: %v", err)
		}
		if pk, ok := c.PublicKey.(interface{ Equal(crypto.PublicKey) bool }); ok && pk.Equal(key.Public()) {
			return c, nil
		}
	}
	return nil, errors.New("no certificate in it belongs to the client assertion key")
}

// loadAssertionKeystore reads a PKCS#12 keystore as the Java client does:
// the store password from CAMUNDA_CLIENT_ASSERTION_KEYSTORE_PASSWORD (or
// the keyring), the key password defaulting to it, the key named by the
// alias or else the first one.
func loadAssertionKeystore(ctx context.Context, r *config.Resolved, d Deps, path string) (crypto.Signer, *x509.Certificate, error) {
	data, err := atomicfile.ReadInput(path)
	if err != nil {
		return nil, nil, fmt.Errorf("cannot read it: %w", err)
	}
	if b, _ := pem.Decode(data); b != nil {
		return nil, nil, errors.New("a PEM file, not a PKCS#12 keystore: use --client-assertion-key (and --client-assertion-cert) for PEM")
	}
	if alias := r.Value(config.AssertionKeyAlias); alias != "" {
		names, err := keystoreKeyAliases(data)
		if err != nil {
			return nil, nil, err
		}
		if len(names) > 0 && !containsFold(names, alias) {
			return nil, nil, fmt.Errorf("it has no key with alias %q (it has %s)", alias, strings.Join(names, ", "))
		}
	}
	key, leaf, chain, err := pkcs12.DecodeChain(data, "")
	if isWrongP12Password(err) {
		pw, perr := keySecret(ctx, r, d, config.AssertionKeystorePw, "Password of the client assertion keystore "+path+": ")
		if perr != nil {
			return nil, nil, perr
		}
		if pw == "" {
			f, _ := config.FieldFor(config.AssertionKeystorePw)
			return nil, nil, &MissingSecretError{Profile: r.Name, What: "password of the client assertion keystore", Env: f.Env[0], EnvOnly: !r.Storable()}
		}
		redactorOf(d).Add(pw)
		key, leaf, chain, err = pkcs12.DecodeChain(data, pw)
		if isWrongP12Password(err) {
			kp, _, _ := resolveQuiet(ctx, r, d, config.AssertionKeyPassword)
			if kp != "" && kp != pw {
				return nil, nil, errors.New("the keystore password is wrong, or its key has a password of its own, which camctl does not support: re-export the keystore with one password (keytool -importkeystore -destkeypass = -deststorepass)")
			}
			return nil, nil, errors.New("the keystore password is wrong")
		}
	}
	if err != nil && strings.Contains(err.Error(), "exactly one key bag") {
		return nil, nil, errors.New("it holds more than one key, and camctl reads keystores with one: export the key you need into a keystore of its own (keytool -importkeystore -srcalias ALIAS -destkeystore one.p12 -deststoretype PKCS12)")
	}
	if err != nil {
		return nil, nil, fmt.Errorf("not a PKCS#12 keystore (%v); convert a JKS keystore with keytool -importkeystore -deststoretype PKCS12", err)
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, nil, errors.New("the keystore's key is of an unsupported type")
	}
	for _, c := range append([]*x509.Certificate{leaf}, chain...) {
		if pk, ok := c.PublicKey.(interface{ Equal(crypto.PublicKey) bool }); ok && pk.Equal(signer.Public()) {
			return signer, c, nil
		}
	}
	return signer, nil, nil
}

func resolveQuiet(ctx context.Context, r *config.Resolved, d Deps, key config.Key) (string, string, error) {
	if d.Secrets == nil {
		return r.Value(key), "", nil
	}
	return d.Secrets.Resolve(ctx, r, key)
}

func isWrongP12Password(err error) bool {
	return errors.Is(err, pkcs12.ErrIncorrectPassword) || errors.Is(err, pkcs12.ErrDecryption)
}

func containsFold(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}

func redactorOf(d Deps) *redact.Redactor {
	if d.Secrets != nil && d.Secrets.Redactor != nil {
		return d.Secrets.Redactor
	}
	if d.Redactor != nil {
		return d.Redactor
	}
	return redact.New()
}

func (d Deps) now() func() time.Time {
	if d.Now != nil {
		return d.Now
	}
	return time.Now
}

func (d Deps) lookupEnv(name string) (string, bool) {
	if d.LookupEnv == nil {
		return "", false
	}
	return d.LookupEnv(name)
}
