package cmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/camctl/camctl/internal/api"
	"github.com/camctl/camctl/internal/atomicfile"
	"github.com/camctl/camctl/internal/auth"
	"github.com/camctl/camctl/internal/config"
	"github.com/camctl/camctl/internal/login"
)

// Exit codes (spec §7). `camctl help exit-codes` documents the same table.
const (
	ExitOK          = 0
	ExitError       = 1
	ExitUsage       = 2
	ExitAuth        = 3
	ExitUnreachable = 4
	ExitServer      = 5
	ExitWaitTimeout = 6
)

// FlagError is a bad flag or argument. Run prints it and one line that
// points to --help, never the 40 lines of usage that would bury it.
type FlagError struct {
	Err error
}

func (e *FlagError) Error() string { return e.Err.Error() }
func (e *FlagError) Unwrap() error { return e.Err }

func flagErrorf(format string, args ...any) error {
	return &FlagError{Err: fmt.Errorf(format, args...)}
}

// hintedError adds what to do next to an error.
type hintedError struct {
	err  error
	hint string
}

func (e *hintedError) Error() string { return e.err.Error() }
func (e *hintedError) Unwrap() error { return e.err }

func withHint(err error, format string, args ...any) error {
	return &hintedError{err: err, hint: fmt.Sprintf(format, args...)}
}

// waitTimeoutError is `topology --wait` running out of time.
type waitTimeoutError struct{ msg string }

func (e *waitTimeoutError) Error() string { return e.msg }

// ExitCode maps an error to the exit code of spec §7.
func ExitCode(err error) int {
	if err == nil {
		return ExitOK
	}
	var silent *silentError
	if errors.As(err, &silent) {
		return silent.code
	}
	var (
		flagErr    *FlagError
		usageErr   *config.UsageError
		fileErr    *config.FileError
		addrErr    *api.AddressError
		caErr      *api.CAFileError
		missing    *auth.MissingSecretError
		httpErr    *api.HTTPError
		netErr     *api.NetError
		waitErr    *waitTimeoutError
		unhealthy  *unhealthyError
		tokenErr   *auth.TokenError
		certErr    *api.CertError
		noKeyring  *auth.NoKeyringError
		readErr    *auth.SecretReadError
		unexpected *api.UnexpectedBodyError
		unsafe     *atomicfile.UnsafeError
		bindErr    *auth.BindingError
		inputFile  *atomicfile.InputFileError
		unusable   *auth.UnusableTokenError
		expired    *auth.ExpiredTokenError
		notReady   *notReadyError
		discovery  *auth.DiscoveryError
		signIn     *auth.SignInError
		webLogin   *login.FlowError
		assertErr  *auth.AssertionError
		execErr    *auth.ExecError
	)
	var notFound *execNotFoundError
	if errors.As(err, &notFound) {
		return notFound.exitCode()
	}
	switch {
	case errors.As(err, &notReady):
		return notReady.code
	case errors.As(err, &flagErr), errors.As(err, &usageErr), errors.As(err, &fileErr),
		errors.As(err, &addrErr), errors.As(err, &caErr), errors.As(err, &unsafe), errors.As(err, &inputFile):
		return ExitUsage
	case errors.As(err, &waitErr), errors.As(err, &unhealthy):
		return ExitWaitTimeout
	case errors.As(err, &signIn), errors.As(err, &webLogin):
		return ExitAuth
	case errors.As(err, &discovery):
		switch {
		case discovery.StatusCode == 0:
			return ExitUnreachable
		case discovery.StatusCode >= 500 || discovery.StatusCode == http.StatusTooManyRequests:
			return ExitServer
		}
		// No document there, or not one camctl can use: the issuer is wrong.
		return ExitUsage
	case errors.As(err, &assertErr), errors.As(err, &execErr):
		// No client assertion, or the command that supplies the token
		// failed (spec §11).
		return ExitAuth
	case errors.As(err, &missing), errors.As(err, &readErr), errors.As(err, &bindErr), errors.As(err, &unusable), errors.As(err, &expired):
		return ExitAuth
	case errors.As(err, &certErr):
		if certErr.Kind == api.CertWrongPassphrase {
			return ExitAuth
		}
		return ExitUsage
	case errors.As(err, &tokenErr):
		switch {
		case tokenErr.StatusCode == 0:
			return ExitUnreachable
		case !tokenErr.ExpiredAt.IsZero():
			// No usable token: authentication failed.
			return ExitAuth
		case tokenErr.Rejected(), tokenErr.StatusCode < 300 && tokenErr.Code != "":
			// An OAuth error sent with 200 (RFC 6749 says 400) is a refusal too.
			return ExitAuth
		case tokenErr.StatusCode >= 500 || tokenErr.StatusCode == http.StatusTooManyRequests:
			return ExitServer
		}
		return ExitError
	case errors.As(err, &httpErr):
		switch {
		case httpErr.StatusCode == http.StatusUnauthorized || httpErr.StatusCode == http.StatusForbidden:
			return ExitAuth
		case httpErr.StatusCode >= 500:
			return ExitServer
		}
		return ExitError
	case errors.As(err, &netErr):
		return ExitUnreachable
	case errors.As(err, &noKeyring), errors.As(err, &unexpected):
		return ExitError
	}
	return ExitError
}

// explain adds the next step to API and network errors of profile r.
func explain(err error, r *config.Resolved, timeoutFlag string) error {
	var (
		h    *api.HTTPError
		n    *api.NetError
		t    *auth.TokenError
		u    *api.UnexpectedBodyError
		w    *waitTimeoutError
		l    *api.TooLargeError
		x    *auth.ExpiredTokenError
		b    *auth.UnusableTokenError
		disc *auth.DiscoveryError
	)
	if errors.As(err, &h) || errors.As(err, &n) || errors.As(err, &t) || errors.As(err, &u) || errors.As(err, &w) || errors.As(err, &l) || errors.As(err, &x) || errors.As(err, &b) {
		// These name the URL; the profile completes the picture.
		err = fmt.Errorf("profile %s: %w", r.Name, err)
	}
	var httpErr *api.HTTPError
	var netErr *api.NetError
	var tokenErr *auth.TokenError
	name := r.Name
	sel := showProfileArg(r)
	var certErr *api.CertError
	var readErr *auth.SecretReadError
	switch {
	case errors.As(err, &x):
		if v := secretFromEnv(r); v != "" {
			return withHint(err, "Get a new token from your identity provider and put it in %s.", v)
		}
		return withHint(err, "Get a new token from your identity provider and store it with `camctl login%s --token-stdin`, or give it in CAMUNDA_OAUTH_TOKEN for one run.", sel)
	case errors.As(err, &b) && b.TokenURL == "":
		if v := secretFromEnv(r); v != "" {
			return withHint(err, "Check the token in %s: a bearer token is letters, digits and -._~+/ only, with \"=\" at the end at most.", v)
		}
		return withHint(err, "Store a usable token with `camctl login%s --token-stdin`: a bearer token is letters, digits and -._~+/ only, with \"=\" at the end at most.", sel)
	case errors.As(err, &b):
		return withHint(err, "Its answer cannot be sent as an HTTP header. Check that the token URL of profile %s is the identity provider's token endpoint, and report the answer to its operator.", name)
	case errors.As(err, &readErr) && errors.Is(err, auth.ErrUnavailable):
		return withHint(err, "Unlock the OS keyring and try again, or give the secret in its CAMUNDA_* environment variable for this run.")
	case errors.As(err, &l):
		return withHint(err, "Check %s: it is the Orchestration Cluster REST address, e.g. http://localhost:8080.", theSetting(r, config.Address, "address"))
	case errors.As(err, &disc) && disc.StatusCode == 0:
		return withHint(err, "Check %s and that the identity provider is up.", theSetting(r, config.Issuer, "issuer"))
	case errors.As(err, &certErr):
		return explainCert(err, certErr, r)
	case errors.As(err, &tokenErr):
		return explainToken(err, tokenErr, r, sel)
	case errors.As(err, &httpErr):
		switch {
		case httpErr.StatusCode == http.StatusUnauthorized && r.Method() == config.MethodOIDC:
			// The identity provider accepted the client secret (wherever
			// it came from) when it issued the token; the cluster refused
			// the token.
			return withHint(err, "%s", audienceHint(r))
		case httpErr.StatusCode == http.StatusUnauthorized && httpErr.Problem == nil && strings.Contains(httpErr.ContentType, "html"):
			return withHint(err, "The answer is an HTML page, not Camunda's problem detail: an ingress or proxy in front of the cluster rejected the request. Check its authentication settings, and that the address of profile %s is the REST API.", name)
		case httpErr.StatusCode == http.StatusUnauthorized && r.Method() == config.MethodNone && r.Kind == config.KindEnv:
			return withHint(err, "The cluster requires authentication, but the CAMUNDA_* variables configure none: set CAMUNDA_BASIC_AUTH_USERNAME and CAMUNDA_BASIC_AUTH_PASSWORD, or CAMUNDA_CLIENT_ID, CAMUNDA_CLIENT_SECRET and CAMUNDA_OAUTH_URL.")
		case httpErr.StatusCode == http.StatusUnauthorized && r.Method() == config.MethodNone && credentialsInEnv(r) != "":
			// CI variables under a profile named with -p or CAMCTL_PROFILE
			// (without one the environment is the profile, spec §3):
			// they override single fields, and the profile's method wins
			// over what the variables imply.
			return withHint(err, "The cluster requires authentication, and %s is set, but profile %s uses auth none (%s), which wins over what the variables imply. Set CAMUNDA_AUTH_STRATEGY (OAUTH, BASIC or BEARER) to use them.", credentialsInEnv(r), name, r.Get(config.AuthMethod).Source)
		case httpErr.StatusCode == http.StatusUnauthorized && r.Method() == config.MethodNone:
			return withHint(err, "The cluster requires authentication, but profile %s uses none. Set it up with `camctl login%s --auth basic --username NAME` (or --auth oidc).", name, sel)
		case httpErr.StatusCode == http.StatusUnauthorized && secretFromEnv(r) != "":
			return withHint(err, "The cluster rejected the credentials of profile %s; the %s comes from the environment variable %s, which wins over anything stored: correct or unset it.", name, auth.SecretName(methodSecret(r.Method())), secretFromEnv(r))
		case httpErr.StatusCode == http.StatusUnauthorized && r.Kind == config.KindEnv:
			return withHint(err, "The cluster rejected the credentials from the environment (%s auth). Check the CAMUNDA_* variables.", r.Method())
		case httpErr.StatusCode == http.StatusUnauthorized:
			return withHint(err, "The cluster rejected the credentials of profile %s (%s auth). Run `camctl login%s` to store new ones.", name, r.Method(), sel)
		case httpErr.StatusCode == http.StatusForbidden:
			return withHint(err, "Profile %s is authenticated but not authorized for this request; ask a cluster admin for the permission.", name)
		case httpErr.StatusCode == http.StatusNotFound:
			return withHint(err, "There is no REST API v2 at this address. Check %s: it is the Orchestration Cluster REST address, e.g. http://localhost:8080.", theSetting(r, config.Address, "address"))
		case plainHTTPToTLS(httpErr):
			return schemeHint(err, r, true)
		case httpErr.StatusCode >= 500:
			return withHint(err, "The cluster failed to answer. Try again later, or look at the gateway's logs.")
		}
	case errors.As(err, &netErr):
		switch netErr.Kind {
		case api.NetRefused:
			return withHint(err, "Is the cluster running at %s? Check %s.", r.Value(config.Address), theSetting(r, config.Address, "address"))
		case api.NetDNS:
			return withHint(err, "Check the host name in %s.", settingIn(r, config.Address, "address"))
		case api.NetPlainHTTP:
			return schemeHint(err, r, false)
		case api.NetOther:
			return closedHint(err, r)
		case api.NetTimeout:
			return withHint(err, "The server did not answer within %s. Check the network path, or raise --timeout.", timeoutFlag)
		case api.NetCutOff:
			return withHint(err, "The answer is incomplete: the connection broke while it arrived (a proxy or load balancer in between, or a restarting gateway). Try again; if it keeps happening, check what sits between camctl and %s.", r.Value(config.Address))
		case api.NetUnknownAuthority:
			return withHint(err, "If the server uses a private CA, trust it: %s.", setCA(r))
		case api.NetTLS:
			return withHint(err, "Check that the address uses the right scheme (http:// or https://) and that the certificate matches the host.")
		case api.NetClientCertRequired:
			return withHint(err, "%s", certRefusedHint(r, "the server"))
		}
	}
	return err
}

// certRefusedHint is the next step when a TLS peer wants a client
// certificate or refused the one given.
func certRefusedHint(r *config.Resolved, who string) string {
	switch {
	case auth.HasClientCert(r):
		return fmt.Sprintf("The certificate of profile %s was refused by %s: check that %s trusts its issuer and that it is still valid (`camctl profile show%s`).", r.Name, who, who, showArg(r))
	}
	return fmt.Sprintf("%s requires a client certificate: %s.", who, setClientCert(r))
}

func showArg(r *config.Resolved) string {
	if r.Kind == config.KindEnv {
		return ""
	}
	return " " + r.Name
}

// explainCert gives the next step for a client certificate camctl cannot
// use, naming what supplied the faulty part.
func explainCert(err error, ce *api.CertError, r *config.Resolved) error {
	fix := func(key config.Key) string {
		s := r.Get(key)
		f, _ := config.FieldFor(key)
		switch {
		case s.Source.Kind == config.FromEnv:
			return "correct or unset " + s.Source.Name
		case r.Kind == config.KindEnv:
			return "correct or unset " + f.Env[0]
		case s.Source.Kind == config.FromFlag || r.New:
			return fmt.Sprintf("correct --%s in this camctl login", f.Flag)
		}
		return fmt.Sprintf("`camctl profile set %s --%s FILE`", r.Name, f.Flag)
	}
	keyFile := config.ClientKey
	if r.Get(config.Keystore).IsSet() {
		keyFile = config.Keystore
	}
	switch ce.Kind {
	case api.CertWrongPassphrase:
		secret := config.KeyPassphrase
		if r.Get(config.Keystore).IsSet() {
			secret = config.KeystorePassword
		}
		f, _ := config.FieldFor(secret)
		if s := r.Get(secret); s.IsSet() {
			return withHint(err, "The %s comes from %s: correct or unset it.", auth.SecretName(secret), s.Source.Name)
		}
		if r.Storable() {
			return withHint(err, "Run `camctl login -p %s` on a terminal to enter and store the right %s, or set %s.", r.Name, auth.SecretName(secret), f.Env[0])
		}
		return withHint(err, "Set %s.", f.Env[0])
	case api.CertPEMKeystore:
		return withHint(err, "%s", pemKeystoreHint(r))
	case api.CertMismatch:
		return withHint(err, "Give the key that belongs to the certificate: %s.", fix(keyFile))
	case api.CertExpired, api.CertNotYetValid:
		return withHint(err, "Get a current certificate and point the profile at it: %s.", fix(config.ClientCert))
	case api.CertIncomplete:
		if r.Kind == config.KindEnv || r.Get(config.ClientCert).Source.Kind == config.FromEnv || r.Get(config.ClientKey).Source.Kind == config.FromEnv {
			return withHint(err, "Set both CAMUNDA_MTLS_CERT_PATH and CAMUNDA_MTLS_KEY_PATH.")
		}
		if r.New {
			return withHint(err, "Give both --client-cert CERT.pem and --client-key KEY.pem to this camctl login.")
		}
		return withHint(err, "Set both: `camctl profile set %s --client-cert CERT.pem --client-key KEY.pem`.", r.Name)
	default:
		return withHint(err, "Check the path and the file: %s.", fix(keyFile))
	}
}

func explainToken(err error, te *auth.TokenError, r *config.Resolved, sel string) error {
	switch {
	case te.StatusCode == 0 && te.Net == api.NetUnknownAuthority:
		return withHint(err, "The identity provider's certificate is signed by an unknown authority; trust its CA: %s.", setCA(r))
	case te.StatusCode == 0 && te.Net == api.NetPlainHTTP:
		return withHint(err, "The identity provider speaks plain HTTP, not TLS: check %s (http:// instead of https://).", theSetting(r, config.TokenURL, "token URL"))
	case te.StatusCode == 0 && te.Net == api.NetClientCertRequired:
		return withHint(err, "%s", certRefusedHint(r, "the identity provider"))
	case te.StatusCode == 0 && te.Net == api.NetTLS:
		return withHint(err, "The TLS handshake with the identity provider failed; check that the token URL uses the right scheme and host.")
	case te.StatusCode == 0:
		return withHint(err, "Check %s and that the identity provider is up; the request gave up within --timeout.", theSetting(r, config.TokenURL, "token URL"))
	case (te.Code == "invalid_client" || te.StatusCode == http.StatusUnauthorized) && auth.HasAssertion(r):
		return withHint(err, "%s", assertionRefusedHint(r))
	case (te.Code == "invalid_client" || te.StatusCode == http.StatusUnauthorized) && auth.HasClientCert(r) && secretFromEnv(r) == "" && r.Get(config.ClientSecret).Source.Kind != config.FromEnv:
		return withHint(err, "The identity provider rejected client %s with its certificate. Check that the certificate's subject DN is the one registered for the client (Keycloak: client authenticator \"X509 Certificate\", \"Subject DN\"), and that the IdP trusts its issuer.", r.Value(config.ClientID))
	case te.Code == "invalid_client" || te.StatusCode == http.StatusUnauthorized:
		if v := secretFromEnv(r); v != "" {
			return withHint(err, "The identity provider rejected the client id or the secret from %s; correct or unset it.", v)
		}
		return withHint(err, "Check the client id, and store the right secret with `camctl login%s`.", sel)
	case te.Code == "unauthorized_client":
		return withHint(err, "The client may not use the client-credentials grant; enable it (\"service account\") for client %s at the identity provider.", r.Value(config.ClientID))
	case te.Code == "invalid_scope" || te.Code == "invalid_target":
		return withHint(err, "Check the scope, resource and audience of profile %s (Entra ID wants --scope <api>/.default).", r.Name)
	case !te.ExpiredAt.IsZero():
		return withHint(err, "camctl does not send a token it knows to be expired. Check this machine's clock (and the identity provider's: its tokens carry its time); `camctl token` fails the same way until they agree.")
	case te.StatusCode == http.StatusOK:
		return withHint(err, "The token URL did not answer with a token; check that it is the token endpoint (for Keycloak: .../realms/<realm>/protocol/openid-connect/token).")
	case (te.StatusCode == http.StatusNotFound || te.StatusCode == http.StatusMethodNotAllowed) && looksLikeIssuer(te.TokenURL):
		// A realm URL is a frequent mistake for the token endpoint.
		return withHint(err, "%s looks like an issuer (a Keycloak realm), not a token endpoint: give it as the issuer instead, `--issuer %s` (or CAMUNDA_ISSUER_URL), and camctl finds the token endpoint in its discovery document.", te.TokenURL, te.TokenURL)
	case te.StatusCode == http.StatusNotFound:
		return withHint(err, "Check %s.", theSetting(r, config.TokenURL, "token URL"))
	case te.StatusCode >= 500 || te.StatusCode == http.StatusTooManyRequests:
		return withHint(err, "The identity provider kept failing within --timeout; try again later.")
	}
	return err
}

// looksLikeIssuer reports a token URL that is more likely an issuer: a
// Keycloak realm (…/realms/NAME) or any URL whose path does not end in
// a token endpoint's last segment.
func looksLikeIssuer(tokenURL string) bool {
	u, err := url.Parse(tokenURL)
	if err != nil {
		return false
	}
	p := strings.TrimRight(u.Path, "/")
	if i := strings.LastIndex(p, "/realms/"); i >= 0 && !strings.Contains(p[i+len("/realms/"):], "/") {
		return true
	}
	last := p[strings.LastIndex(p, "/")+1:]
	return !strings.Contains(strings.ToLower(last), "token")
}

// methodSecret is the secret setting an auth method sends.
func methodSecret(method string) config.Key {
	switch method {
	case config.MethodBasic:
		return config.Password
	case config.MethodOIDC:
		return config.ClientSecret
	case config.MethodBearer:
		return config.Token
	}
	return ""
}

// secretFromEnv names the variable the method's secret came from, if any.
func secretFromEnv(r *config.Resolved) string {
	key := methodSecret(r.Method())
	if key == "" {
		return ""
	}
	if s := r.Get(key); s.IsSet() && s.Source.Kind == config.FromEnv {
		return s.Source.Name
	}
	return ""
}

// printError writes err (and its hint) to w.
func printError(w io.Writer, err error) {
	if errors.Is(err, context.Canceled) {
		msg := strings.TrimSuffix(strings.TrimSuffix(err.Error(), context.Canceled.Error()), ": ")
		if msg == "" {
			msg = "cancelled"
		}
		fmt.Fprintf(w, "Interrupted: %s.\n", msg)
		return
	}
	var silent *silentError
	if errors.As(err, &silent) {
		return // said already
	}
	msg := strings.TrimRight(err.Error(), "\n")
	fmt.Fprintf(w, "Error: %s\n", msg)
	var h *hintedError
	if errors.As(err, &h) && h.hint != "" {
		fmt.Fprintln(w, h.hint)
	}
}

// credentialsInEnv names a credential variable that is set, if any.
func credentialsInEnv(r *config.Resolved) string {
	for _, k := range []config.Key{config.ClientID, config.Username, config.Token} {
		if src := r.Get(k).Source; src.Kind == config.FromEnv {
			return src.Name
		}
	}
	return ""
}

// assertionRefusedHint says what to check when the identity provider
// refuses a client assertion (spec §11): which key or token it got.
func assertionRefusedHint(r *config.Resolved) string {
	ca := auth.DescribeClientAuth(r)
	switch ca.Kind {
	case auth.ClientAuthKeyJWT:
		msg := fmt.Sprintf("The identity provider rejected the signed client assertion of client %s. Check that the client is registered for private_key_jwt with this key", r.Value(config.ClientID))
		if ca.Thumbprint != "" {
			msg += fmt.Sprintf(" (kid %s)", ca.Thumbprint)
		}
		msg += ", and that it accepts the assertion's audience (the token URL by default; --assertion-audience sets another, such as the issuer)."
		if ca.Alg == "RS256" {
			msg += " Entra ID may want --assertion-alg PS256."
		}
		return msg
	default:
		return fmt.Sprintf("The identity provider rejected the token from %s as the client assertion of client %s. Check the client's federated credential: its issuer, subject and audience must be the token's (its iss, sub and aud claims).", ca.Source, r.Value(config.ClientID))
	}
}
