package cmd

import (
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"syscall"

	"github.com/camctl/camctl/internal/api"
	"github.com/camctl/camctl/internal/config"
)

// Hints name what the user can act on: the variable a value came from,
// the flag to add to the login that creates a profile, or the
// `camctl profile set` of a profile that exists. The environment profile
// "(environment)" never appears as a command argument: it is not a name
// a shell accepts, and there is nothing to set it with but variables.

// settingIn names where the value of key came from, to complete "Check
// the host name in ...": the variable, the flag of this login, or the
// setting (what, e.g. "address") of the profile with how to see it.
func settingIn(r *config.Resolved, key config.Key, what string) string {
	s := r.Get(key)
	f, _ := config.FieldFor(key)
	switch {
	case s.Source.Kind == config.FromEnv:
		return s.Source.Name
	case s.Source.Kind == config.FromFlag:
		return "--" + f.Flag
	case r.Kind == config.KindEnv && len(f.Env) > 0:
		return f.Env[0]
	}
	return fmt.Sprintf("the %s of profile %s (`camctl profile show%s`)", what, r.Name, showArg(r))
}

// theSetting is settingIn as the object of "Check ...": "the token URL in
// CAMUNDA_OAUTH_URL", "the address of profile helm (...)".
func theSetting(r *config.Resolved, key config.Key, what string) string {
	in := settingIn(r, key, what)
	if strings.HasPrefix(in, "the ") {
		return in
	}
	return "the " + what + " in " + in
}

// setSetting is how to give key the value v (a placeholder such as
// CA.pem, or the corrected value): the variable to set, the flag to use
// in this login, or the `camctl profile set` command.
func setSetting(r *config.Resolved, key config.Key, v string) string {
	s := r.Get(key)
	f, _ := config.FieldFor(key)
	switch {
	case s.Source.Kind == config.FromEnv:
		return fmt.Sprintf("set %s=%s", s.Source.Name, v)
	case r.Kind == config.KindEnv && len(f.Env) > 0:
		return fmt.Sprintf("set %s=%s", f.Env[0], v)
	case s.Source.Kind == config.FromFlag || r.New:
		return fmt.Sprintf("use --%s %s in this camctl login", f.Flag, v)
	}
	return fmt.Sprintf("`camctl profile set %s --%s %s`", r.Name, f.Flag, v)
}

// setCA is how to trust a private CA for r.
func setCA(r *config.Resolved) string {
	if r.Get(config.CAFile).Source.Kind == config.FromEnv || r.Kind == config.KindEnv {
		return setSetting(r, config.CAFile, "CA.pem")
	}
	if r.New {
		return "add --ca-file CA.pem to this camctl login (or set CAMUNDA_CA_CERTIFICATE_PATH)"
	}
	return fmt.Sprintf("`camctl profile set %s --ca-file CA.pem` (or set CAMUNDA_CA_CERTIFICATE_PATH)", r.Name)
}

// setClientCert is how to give r a client certificate.
func setClientCert(r *config.Resolved) string {
	switch {
	case r.Kind == config.KindEnv:
		return "set CAMUNDA_MTLS_CERT_PATH and CAMUNDA_MTLS_KEY_PATH (or CAMUNDA_SSL_CLIENT_KEYSTORE_PATH)"
	case r.New:
		return "add --client-cert CERT.pem --client-key KEY.pem (or --keystore FILE.p12) to this camctl login"
	}
	return fmt.Sprintf("`camctl profile set %s --client-cert CERT.pem --client-key KEY.pem` (or --keystore FILE.p12)", r.Name)
}

// otherScheme is address with http:// and https:// swapped ("" when it
// has neither).
func otherScheme(address string) string {
	u, err := url.Parse(address)
	if err != nil {
		return ""
	}
	switch strings.ToLower(u.Scheme) {
	case "https":
		u.Scheme = "http"
	case "http":
		u.Scheme = "https"
	default:
		return ""
	}
	return u.String()
}

// schemeHint is the next step when the address's scheme does not match
// the server: tls says whether the server speaks TLS.
func schemeHint(err error, r *config.Resolved, tls bool) error {
	addr := r.Value(config.Address)
	fixed := otherScheme(addr)
	if fixed == "" {
		return err
	}
	if tls {
		return withHint(err, "The server speaks TLS, but the address uses http://: use https:// (%s).", setSetting(r, config.Address, fixed))
	}
	return withHint(err, "The server speaks plain HTTP, not TLS: use http:// instead of https:// (%s).", setSetting(r, config.Address, fixed))
}

// plainHTTPToTLS reports an answer of a TLS server to a plain-HTTP
// request: Go's net/http and nginx answer it with 400 and say so.
func plainHTTPToTLS(h *api.HTTPError) bool {
	if h.StatusCode != 400 || h.Problem != nil {
		return false
	}
	x := strings.ToLower(h.Excerpt)
	return strings.Contains(x, "http request to an https server") || strings.Contains(x, "plain http request was sent to https port")
}

// pemKeystoreHint is the next step for a PEM file given as the keystore:
// PEM goes to the certificate and key settings.
func pemKeystoreHint(r *config.Resolved) string {
	const what = "A PEM certificate and its key are given separately"
	src := r.Get(config.Keystore).Source
	switch {
	case src.Kind == config.FromEnv || r.Kind == config.KindEnv:
		return fmt.Sprintf("%s: set CAMUNDA_MTLS_CERT_PATH and CAMUNDA_MTLS_KEY_PATH instead of %s.", what, settingIn(r, config.Keystore, "keystore"))
	case src.Kind == config.FromFlag || r.New:
		return fmt.Sprintf("%s: use --client-cert CERT.pem --client-key KEY.pem in this camctl login instead of --keystore.", what)
	}
	return fmt.Sprintf("%s: `camctl profile set %s --keystore '' --client-cert CERT.pem --client-key KEY.pem`.", what, r.Name)
}

// audienceHint is the next step when the cluster refused a token the
// identity provider had just issued: most often the wrong audience.
func audienceHint(r *config.Resolved) string {
	if r.Person() {
		// A person's token: its audience comes from the client's
		// registration (a mapper) more often than from --audience.
		return fmt.Sprintf("The cluster rejected the token the identity provider issued to you through client %s. Check that it carries the audience the cluster expects (Self-Managed 8.8: usually orchestration-api; Keycloak: an \"Audience\" mapper on the client; Auth0, Okta: --audience), that the cluster's username claim names you (`camctl%s token --decode` shows the token), and that your user may access this cluster.",
			r.Value(config.ClientID), showProfileArg(r))
	}
	aud := "none is set"
	if v := r.Value(config.Audience); v != "" {
		aud = fmt.Sprintf("%q", v)
	}
	return fmt.Sprintf("The cluster rejected a token that %s had just issued to client %s. Check that the audience (%s) is the one the cluster expects (SaaS: zeebe.camunda.io; Self-Managed 8.8: usually orchestration-api) and that the client may access this cluster. To change the audience: %s.",
		r.Value(config.TokenURL), r.Value(config.ClientID), aud, setSetting(r, config.Audience, "AUDIENCE"))
}

// closedHint is the next step when an http:// server closed the
// connection without answering: what TLS servers other than Go's and
// nginx's do with a plain-HTTP request.
func closedHint(err error, r *config.Resolved) error {
	// net/http reports a close before it has written the request as
	// "server closed idle connection" (an unexported error), after it as
	// EOF or a reset.
	if !errors.Is(err, io.EOF) && !errors.Is(err, syscall.ECONNRESET) && !strings.Contains(err.Error(), "server closed idle connection") {
		return err
	}
	addr := r.Value(config.Address)
	if !strings.HasPrefix(strings.ToLower(addr), "http://") {
		return err
	}
	return withHint(err, "The server closed the connection without an answer. If it speaks TLS, use https:// (%s).", setSetting(r, config.Address, otherScheme(addr)))
}

// showProfileArg is " -p NAME" for a profile of the file, "" for the
// environment profile.
func showProfileArg(r *config.Resolved) string {
	if r.Kind == config.KindEnv {
		return ""
	}
	return " -p " + r.Name
}
