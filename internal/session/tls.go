package session

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/camctl/camctl/internal/api"
	"github.com/camctl/camctl/internal/auth"
	"github.com/camctl/camctl/internal/config"
)

// tlsOptions are r's TLS settings with its client certificate, loaded
// once per run. The certificate goes to every connection of the profile:
// the API and the token endpoint.
func (s *Session) tlsOptions(ctx context.Context, r *config.Resolved, interactive bool) (api.TLSOptions, error) {
	o := api.TLSOptions{
		CAFile:             r.Value(config.CAFile),
		InsecureSkipVerify: r.Value(config.InsecureSkipVerify) == "true",
		CAOnly:             r.Value(config.CAOnly) == "true",
	}
	if o.CAOnly && o.CAFile == "" {
		return o, &config.UsageError{Msg: fmt.Sprintf("profile %s: ca-only is set but there is no ca-file to trust instead of the system roots", r.Name)}
	}
	lc, err := s.clientCert(ctx, r, interactive)
	if err != nil {
		return o, err
	}
	if lc != nil {
		o.Certificate = lc.cert
	}
	return o, nil
}

// ClientCert returns what r's client certificate says about itself (nil
// when r has none), loading it if this run has not.
func (s *Session) ClientCert(ctx context.Context, r *config.Resolved) (*api.CertInfo, error) {
	lc, err := s.clientCert(ctx, r, false)
	if lc == nil {
		return nil, err
	}
	return lc.info, err
}

func (s *Session) clientCert(ctx context.Context, r *config.Resolved, interactive bool) (*loadedCert, error) {
	cc := api.ClientCert{
		CertFile: r.Value(config.ClientCert),
		KeyFile:  r.Value(config.ClientKey),
		Keystore: r.Value(config.Keystore),
	}
	if !cc.IsSet() {
		return nil, nil
	}
	if lc := s.loaded(r.Name); lc != nil {
		return lc, lc.err
	}
	cc.Passphrase = s.certSecret(ctx, r, config.KeyPassphrase, interactive, "Passphrase of the client key "+cc.KeyFile+": ")
	cc.KeystorePassword = s.certSecret(ctx, r, config.KeystorePassword, interactive, "Password of the keystore "+cc.Keystore+": ")
	cc.KeystoreKeyPassword = func() (string, error) {
		v, _, err := s.secretsOrNil(r, interactive).Resolve(ctx, r, config.KeystoreKeyPassword)
		return v, err
	}
	cert, info, err := api.LoadClientCert(cc, time.Now())
	if err != nil {
		err = fmt.Errorf("profile %s: %w", r.Name, err)
	}
	lc := &loadedCert{cert: cert, info: info, err: err}
	s.mu.Lock()
	s.certs[r.Name] = lc
	s.mu.Unlock()
	return lc, err
}

// loaded is r's client certificate if this run loaded it (nil if not).
func (s *Session) loaded(profile string) *loadedCert {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.certs[profile]
}

// certSecret returns the function that supplies a certificate secret:
// given in this run, from the environment, stored, or (at login on a
// terminal) asked for. It runs only if the file is encrypted.
func (s *Session) certSecret(ctx context.Context, r *config.Resolved, key config.Key, interactive bool, label string) func() (string, error) {
	return func() (string, error) {
		if v, ok := s.GivenCertSecret(key); ok {
			return v, nil
		}
		v, _, err := s.secretsOrNil(r, interactive).Resolve(ctx, r, key)
		var bound *auth.BindingError
		if s.InLogin && errors.As(err, &bound) {
			// Bound to where the profile pointed before: login verifies
			// it anew, so it must be given again.
			v, err = "", nil
		}
		if err != nil || v != "" {
			return v, err
		}
		if interactive && s.o.CanPrompt {
			v, err := s.o.PromptSecret(ctx, label)
			if err != nil {
				return "", Cancelled(err)
			}
			s.o.Redactor.Add(v)
			s.mu.Lock()
			s.certSecrets[key] = v
			s.mu.Unlock()
			return v, nil
		}
		fld, _ := config.FieldFor(key)
		return "", &auth.MissingSecretError{Profile: r.Name, What: auth.SecretName(key), Env: fld.Env[0], EnvOnly: !r.Storable(), InLogin: interactive}
	}
}

// GivenCertSecret returns the certificate secret key that was asked for
// in this run, if it was.
func (s *Session) GivenCertSecret(key config.Key) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.certSecrets[key]
	return v, ok
}

// Cancelled marks err, when it is a cancellation, as ending a login that
// stored nothing.
func Cancelled(err error) error {
	if errors.Is(err, context.Canceled) {
		// One message for Ctrl-C at a prompt and during the check.
		return fmt.Errorf("login cancelled, nothing was stored: %w", context.Canceled)
	}
	return err
}
