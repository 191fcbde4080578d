package login

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"html"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"

	"github.com/camctl/camctl/internal/auth"
	"github.com/camctl/camctl/internal/config"
	"github.com/camctl/camctl/internal/redact"
	"github.com/camctl/camctl/internal/termsafe"
)

// Flow is a person's sign-in at an OpenID provider: in a browser
// (authorization code with PKCE, Web) or on another device (RFC 8628,
// Device). It returns the IdP's tokens; Run verifies and stores them.
type Flow struct {
	Endpoints *auth.Endpoints
	ClientID  string
	// ClientSecret is sent when set (a confidential client); a public
	// client, the usual registration for a CLI, has none.
	ClientSecret string
	// Scopes are sent as given (DefaultScopes adds openid offline_access).
	Scopes             []string
	Audience, Resource string
	// HTTP talks to the token endpoint (the profile's TLS, --timeout).
	HTTP *http.Client
	// Notify shows a line to the person (stderr).
	Notify func(string)
	// Open opens a URL in a browser; nil with --no-browser.
	Open func(url string) error
	// RedirectPort is --redirect-port (0: any free port).
	RedirectPort int
	// Timeout is --login-timeout: how long the person has.
	Timeout  time.Duration
	Redactor *redact.Redactor
	// Callback, if set, is told when the callback with the code arrived
	// (for the time from callback to "signed in").
	Callback func(time.Time)
	// Now is replaced by tests.
	Now func() time.Time
}

// DefaultScopes are the scopes of a person's sign-in: openid (an ID
// token, whose nonce camctl checks) and offline_access (a refresh token),
// then the profile's --scope.
func DefaultScopes(profileScope string) []string {
	scopes := []string{"openid", "offline_access"}
	for _, s := range strings.Fields(profileScope) {
		if !slices.Contains(scopes, s) {
			scopes = append(scopes, s)
		}
	}
	return scopes
}

// FlowError is a sign-in that did not happen: refused, cancelled at the
// IdP, expired, or timed out. camctl exits 3.
type FlowError struct {
	What string
	// Code and Description are the IdP's OAuth error, if it sent one.
	Code, Description string
	Err               error
}

func (e *FlowError) Error() string {
	msg := "sign-in failed: " + e.What
	if e.Code != "" {
		msg += ": " + termsafe.Line(e.Code)
		if d := termsafe.Line(e.Description); d != "" {
			msg += ": " + d
		}
	}
	return msg
}

func (e *FlowError) Unwrap() error { return e.Err }

func (f *Flow) now() time.Time {
	if f.Now == nil {
		return time.Now()
	}
	return f.Now()
}

func (f *Flow) config(redirect string) *oauth2.Config {
	return &oauth2.Config{
		ClientID:     f.ClientID,
		ClientSecret: f.ClientSecret,
		Endpoint: oauth2.Endpoint{
			AuthURL:       f.Endpoints.Authorization,
			TokenURL:      f.Endpoints.Token,
			DeviceAuthURL: f.Endpoints.Device,
			AuthStyle:     oauth2.AuthStyleInParams,
		},
		RedirectURL: redirect,
		Scopes:      f.Scopes,
	}
}

// extra are the audience (Auth0, Camunda) and resource (RFC 8707)
// parameters of the authorization and device requests, when configured.
func (f *Flow) extra() []oauth2.AuthCodeOption {
	var o []oauth2.AuthCodeOption
	if f.Audience != "" {
		o = append(o, oauth2.SetAuthURLParam("audience", f.Audience))
	}
	if f.Resource != "" {
		o = append(o, oauth2.SetAuthURLParam("resource", f.Resource))
	}
	return o
}

func random() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails (crypto/rand panics instead)
	return base64.RawURLEncoding.EncodeToString(b)
}

// CallbackPath is the loopback redirect's path (RFC 8252 §7.3): always
// the same, so that it can be registered at the IdP.
const CallbackPath = "/callback"

// Web signs the person in with the authorization code grant and PKCE
// (S256), state and nonce, through a loopback listener on 127.0.0.1
// that accepts exactly one valid callback.
func (f *Flow) Web(ctx context.Context) (*oauth2.Token, error) {
	if f.Endpoints.Authorization == "" {
		return nil, &config.UsageError{Msg: "the identity provider's discovery document names no authorization_endpoint, so camctl cannot sign you in with a browser; try camctl login --device"}
	}
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(f.RedirectPort)))
	if err != nil {
		if f.RedirectPort != 0 {
			return nil, &config.UsageError{Msg: fmt.Sprintf("--redirect-port %d: cannot listen on 127.0.0.1:%d (%v); free the port or register another one", f.RedirectPort, f.RedirectPort, err)}
		}
		return nil, fmt.Errorf("listen on 127.0.0.1 for the sign-in's redirect: %w", err)
	}
	redirect := fmt.Sprintf("http://127.0.0.1:%d%s", ln.Addr().(*net.TCPAddr).Port, CallbackPath)
	oc := f.config(redirect)
	verifier, state, nonce := oauth2.GenerateVerifier(), random(), random()
	f.Redactor.Add(verifier)
	opts := append([]oauth2.AuthCodeOption{oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("nonce", nonce)}, f.extra()...)
	authURL := oc.AuthCodeURL(state, opts...)

	type result struct {
		tok *oauth2.Token
		err error
	}
	done := make(chan result, 1)
	var mu sync.Mutex
	finished := false
	exchangeCtx := context.WithValue(ctx, oauth2.HTTPClient, f.HTTP)
	srv := &http.Server{
		ReadHeaderTimeout: 10 * time.Second,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != CallbackPath {
				page(w, http.StatusNotFound, "Not found", "This is camctl's sign-in listener; nothing is here.")
				return
			}
			q := r.URL.Query()
			mu.Lock()
			if finished {
				mu.Unlock()
				page(w, http.StatusConflict, "Sign-in already finished", "camctl has finished this sign-in already. You can close this tab.")
				return
			}
			if q.Get("state") != state {
				// Not the answer to camctl's request (another tab, an old
				// link, or a page trying to plant its own code): refused,
				// and the listener keeps waiting for the real one.
				mu.Unlock()
				page(w, http.StatusBadRequest, "Sign-in link not recognised", "This is not the answer to the sign-in camctl started (its state does not match). Go back to the terminal; camctl is still waiting.")
				return
			}
			if e := q.Get("error"); e != "" {
				finished = true
				mu.Unlock()
				page(w, http.StatusOK, "Sign-in failed", "The identity provider said: "+e+" "+q.Get("error_description")+". Go back to the terminal.")
				done <- result{err: &FlowError{What: "the identity provider refused the sign-in", Code: e, Description: q.Get("error_description")}}
				return
			}
			code := q.Get("code")
			if code == "" {
				mu.Unlock()
				page(w, http.StatusBadRequest, "No code", "The answer carries no authorization code. Go back to the terminal; camctl is still waiting.")
				return
			}
			finished = true
			mu.Unlock()
			f.Redactor.Add(code)
			if f.Callback != nil {
				f.Callback(f.now())
			}
			tok, err := oc.Exchange(exchangeCtx, code, oauth2.VerifierOption(verifier))
			if err == nil {
				err = f.checkIDToken(tok, nonce)
			}
			if err != nil {
				page(w, http.StatusOK, "Sign-in failed", "camctl could not complete the sign-in. Go back to the terminal for the reason.")
			} else {
				page(w, http.StatusOK, "Signed in", "camctl is signed in. You can close this tab and go back to the terminal.")
			}
			done <- result{tok, err}
		}),
	}
	go func() { _ = srv.Serve(ln) }()
	defer func() {
		// Let the last page reach the browser, then stop.
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()

	f.Notify("Open this URL in a browser to sign in:")
	f.Notify("  " + authURL)
	if f.Open != nil {
		if err := f.Open(authURL); err != nil {
			f.Notify(fmt.Sprintf("Could not open a browser (%v); open the URL above yourself.", err))
		}
	}
	f.Notify(fmt.Sprintf("Waiting for the sign-in in the browser (at most %s; Ctrl-C to cancel)...", f.Timeout))
	timer := time.NewTimer(f.Timeout)
	defer timer.Stop()
	select {
	case res := <-done:
		if res.err != nil {
			return nil, tokenFlowError(res.err)
		}
		return res.tok, nil
	case <-timer.C:
		return nil, &FlowError{What: fmt.Sprintf("no sign-in arrived within %s (--login-timeout)", f.Timeout)}
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// tokenFlowError names a failed code exchange or device poll as the
// sign-in's failure, keeping the IdP's OAuth error.
func tokenFlowError(err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		return &FlowError{What: "the identity provider refused the token request", Code: re.ErrorCode, Description: re.ErrorDescription, Err: errors.New(re.ErrorCode)}
	}
	return err
}

// checkIDToken checks the ID token of a browser sign-in: its nonce is the
// one camctl sent (an injected code would bring another), and it is for
// this client from this issuer. The signature is not checked: the token
// came straight from the token endpoint over the connection camctl
// opened (OpenID Connect Core §3.1.3.7).
func (f *Flow) checkIDToken(tok *oauth2.Token, nonce string) error {
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		if slices.Contains(f.Scopes, "openid") {
			return &FlowError{What: "the identity provider sent no ID token, so the sign-in cannot be checked (its nonce)"}
		}
		return nil
	}
	j, err := auth.DecodeJWT(raw)
	if err != nil {
		return &FlowError{What: "the ID token is not a JWT", Err: err}
	}
	if n, _ := j.Claims["nonce"].(string); n != nonce {
		return &FlowError{What: "the ID token's nonce is not the one camctl sent: the answer belongs to another sign-in"}
	}
	if iss, _ := j.Claims["iss"].(string); f.Endpoints.Issuer != "" && strings.TrimRight(iss, "/") != strings.TrimRight(f.Endpoints.Issuer, "/") {
		return &FlowError{What: fmt.Sprintf("the ID token is from issuer %q, not %q", termsafe.Line(iss), f.Endpoints.Issuer)}
	}
	switch aud := j.Claims["aud"].(type) {
	case string:
		if aud != f.ClientID {
			return &FlowError{What: "the ID token is for another client"}
		}
	case []any:
		if !slices.Contains(aud, any(f.ClientID)) {
			return &FlowError{What: "the ID token is for another client"}
		}
	}
	return nil
}

// page writes the small page the browser shows after the redirect.
func page(w http.ResponseWriter, status int, title, text string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	// The page shows no more than it must (no code, no token), and
	// nothing it says can run: the IdP's error text is escaped.
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	w.Header().Set("Referrer-Policy", "no-referrer")
	w.WriteHeader(status)
	fmt.Fprintf(w, `<!DOCTYPE html><html><head><meta charset="utf-8"><title>camctl: %s</title>
<style>body{font-family:sans-serif;margin:4em auto;max-width:32em}</style></head>
<body><h1>%s</h1><p id="message">%s</p></body></html>
`, html.EscapeString(title), html.EscapeString(title), html.EscapeString(text))
}
