package auth

import (
	"context"
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"strings"

	"software.sslmate.com/src/go-pkcs12"

	"github.com/camctl/camctl/internal/atomicfile"
	"github.com/camctl/camctl/internal/config"
)

// Kinds of client authentication (ClientAuth.Kind).
const (
	ClientAuthNone        = "none"
	ClientAuthBasic       = "basic"
	ClientAuthSecret      = "secret"
	ClientAuthCertificate = "certificate"
	ClientAuthKeyJWT      = "private_key_jwt"
	ClientAuthFederated   = "federated"
	ClientAuthExec        = "exec"
	ClientAuthBearer      = "bearer"
	// ClientAuthPerson: a public client signs a person in (authorization
	// code or device code) and keeps a refresh token; it has no secret.
	ClientAuthPerson = "person"
)

// ClientAuth says how a profile's client proves itself, for `profile
// show` and `camctl status`. It never holds a secret.
type ClientAuth struct {
	// Kind is one of the ClientAuth* constants.
	Kind string `json:"kind"`
	// KeyFile is the key or keystore that signs assertions
	// (private_key_jwt); Certificate the certificate file, if any.
	KeyFile     string `json:"keyFile,omitempty"`
	Certificate string `json:"certificate,omitempty"`
	// Thumbprint is the RFC 7638 thumbprint of the signing key: the kid
	// of the assertions, what the IdP's registration must list.
	Thumbprint string `json:"thumbprint,omitempty"`
	// Alg is the assertion's signature algorithm.
	Alg string `json:"alg,omitempty"`
	// Audience is the assertion's aud when it is not the token URL.
	Audience string `json:"audience,omitempty"`
	// Source is where a federated assertion comes from: "file PATH",
	// "variable NAME" or "github-actions".
	Source string `json:"source,omitempty"`
	// Command is the exec command (program and arguments).
	Command []string `json:"command,omitempty"`
	// Problem says why the key could not be read for its thumbprint.
	Problem string `json:"problem,omitempty"`
}

// String is the one-line form: "private_key_jwt (key /k.pem, kid abc...)".
func (c ClientAuth) String() string {
	var parts []string
	switch c.Kind {
	case ClientAuthKeyJWT:
		parts = append(parts, "key "+c.KeyFile)
		if c.Certificate != "" {
			parts = append(parts, "certificate "+c.Certificate)
		}
		if c.Alg != "" {
			parts = append(parts, c.Alg)
		}
		if c.Thumbprint != "" {
			parts = append(parts, "kid "+c.Thumbprint)
		}
	case ClientAuthCertificate:
		parts = append(parts, c.Certificate)
	case ClientAuthFederated:
		parts = append(parts, "from "+c.Source)
	case ClientAuthExec:
		parts = append(parts, "command "+strings.Join(c.Command, " "))
	case ClientAuthPerson:
		parts = append(parts, "public client, "+c.Source+" grant, refresh token")
	}
	if c.Audience != "" {
		parts = append(parts, "aud "+c.Audience)
	}
	if c.Problem != "" {
		parts = append(parts, c.Problem)
	}
	if len(parts) == 0 {
		return c.Kind
	}
	return c.Kind + " (" + strings.Join(parts, ", ") + ")"
}

// DescribeClientAuth says how r's client authenticates. It reads the
// public part of a signing key (or its certificate) for the thumbprint,
// never asks for a password and never contacts anything; a keystore is
// opened only with a password from the environment.
func DescribeClientAuth(r *config.Resolved) ClientAuth {
	return DescribeClientAuthWith(context.Background(), r, nil)
}

// DescribeClientAuthWith is DescribeClientAuth that may also open a
// keystore with the password stored for r in secrets (nil: none); it
// still asks for nothing.
func DescribeClientAuthWith(ctx context.Context, r *config.Resolved, secrets *Secrets) ClientAuth {
	switch r.Method() {
	case config.MethodNone:
		return ClientAuth{Kind: ClientAuthNone}
	case config.MethodBasic:
		return ClientAuth{Kind: ClientAuthBasic}
	case config.MethodBearer:
		return ClientAuth{Kind: ClientAuthBearer}
	case config.MethodExec:
		argv, _ := config.DecodeCommand(r.Value(config.Command))
		return ClientAuth{Kind: ClientAuthExec, Command: argv}
	}
	if r.Person() {
		return ClientAuth{Kind: ClientAuthPerson, Source: r.Grant()}
	}
	aud := r.Value(config.AssertionAudience)
	switch {
	case r.Get(config.AssertionKey).IsSet() || r.Get(config.AssertionKeystore).IsSet():
		c := ClientAuth{Kind: ClientAuthKeyJWT, Audience: aud}
		var pub crypto.PublicKey
		var err error
		if ks := r.Value(config.AssertionKeystore); ks != "" {
			c.KeyFile = ks
			pw := r.Value(config.AssertionKeystorePw)
			if pw == "" && secrets != nil {
				pw, _, _ = secrets.Resolve(ctx, r, config.AssertionKeystorePw)
			}
			pub, err = keystorePublicKey(ks, pw)
		} else {
			c.KeyFile, c.Certificate = r.Value(config.AssertionKey), r.Value(config.AssertionCert)
			pub, err = pemPublicKey(c.KeyFile, c.Certificate)
		}
		if err != nil {
			c.Problem = err.Error()
			return c
		}
		if c.Thumbprint, err = Thumbprint(pub); err != nil {
			c.Problem = err.Error()
		}
		if alg, err := assertionAlg(pub, r.Value(config.AssertionAlg)); err == nil {
			c.Alg = string(alg)
		} else {
			c.Problem = err.Error()
		}
		return c
	case r.Get(config.AssertionFile).IsSet():
		return ClientAuth{Kind: ClientAuthFederated, Source: "file " + r.Value(config.AssertionFile)}
	case r.Get(config.AssertionEnv).IsSet():
		return ClientAuth{Kind: ClientAuthFederated, Source: "variable " + r.Value(config.AssertionEnv)}
	case r.Get(config.AssertionFrom).IsSet():
		if aud == "" && r.Value(config.AssertionFrom) == FromGitHubActions {
			aud = GitHubDefaultAudience
		}
		return ClientAuth{Kind: ClientAuthFederated, Source: r.Value(config.AssertionFrom), Audience: aud}
	case HasClientCert(r) && !r.Get(config.ClientSecret).IsSet():
		// A secret may be stored besides; the certificate authenticates
		// either way (spec §1).
		c := ClientAuth{Kind: ClientAuthCertificate, Certificate: r.Value(config.ClientCert)}
		if c.Certificate == "" {
			c.Certificate = r.Value(config.Keystore)
		}
		return c
	}
	return ClientAuth{Kind: ClientAuthSecret}
}

// pemPublicKey is the public key of the signing key: of the key itself
// (the kid of the assertions is its thumbprint), or, when the key is
// encrypted and no password is at hand, of the certificate beside it.
func pemPublicKey(keyFile, certFile string) (crypto.PublicKey, error) {
	key, err := loadAssertionPEMKey(context.Background(), nil, Deps{KeySecret: noPassword}, keyFile)
	if err == nil {
		return key.Public(), nil
	}
	if certFile == "" || !errors.Is(err, errNoPassword) {
		return nil, err
	}
	data, rerr := atomicfile.ReadInput(certFile)
	if rerr != nil {
		return nil, rerr
	}
	if b, _ := pem.Decode(data); b != nil && b.Type == "CERTIFICATE" {
		c, perr := x509.ParseCertificate(b.Bytes)
		if perr != nil {
			return nil, perr
		}
		return c.PublicKey, nil
	}
	return nil, err
}

var errNoPassword = errors.New("the key is encrypted: its thumbprint is known once it is unlocked (camctl token)")

func noPassword(_ context.Context, _ config.Key, _ string) (string, error) {
	return "", errNoPassword
}

func keystorePublicKey(path, password string) (crypto.PublicKey, error) {
	data, err := atomicfile.ReadInput(path)
	if err != nil {
		return nil, err
	}
	key, cert, _, err := pkcs12.DecodeChain(data, password)
	if err != nil {
		if isWrongP12Password(err) {
			return nil, errors.New("the keystore is locked: its thumbprint is known once it is unlocked (camctl token)")
		}
		return nil, err
	}
	// The key's own public half: in a keystore converted from JKS the
	// first certificate can be the CA's, not the key's.
	if signer, ok := key.(crypto.Signer); ok {
		return signer.Public(), nil
	}
	return cert.PublicKey, nil
}
