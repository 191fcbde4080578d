package oidctest

import (
	"context"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// SignInResult is where a sign-in over HTTP ended.
type SignInResult struct {
	// URL and Status are of the last page; Body is its text.
	URL    *url.URL
	Status int
	Body   string
}

var (
	formRE  = regexp.MustCompile(`(?is)<form\b([^>]*)>(.*?)</form>`)
	attrRE  = regexp.MustCompile(`(?is)\b(action|method|name|value|type|id)\s*=\s*"([^"]*)"`)
	inputRE = regexp.MustCompile(`(?is)<(input|button)\b([^>]*)>`)
)

// SignIn goes through the provider's pages over HTTP as a person in a
// browser would (they need no JavaScript): it loads start (an
// authorization URL, or a device flow's verification_uri_complete),
// signs in as u on the login form, confirms a device code, and answers
// the consent with allow (or deny), following redirects: at the end of a
// browser sign-in, to camctl's loopback callback, whose page it returns.
// It submits at most 8 forms.
func SignIn(ctx context.Context, start string, u User, allow bool) (*SignInResult, error) {
	return SignInVia(ctx, nil, start, u, allow)
}

// SignInVia is SignIn with the browser's connections made by rt (a
// proxy, a CA to trust); nil is Go's default transport.
func SignInVia(ctx context.Context, rt http.RoundTripper, start string, u User, allow bool) (*SignInResult, error) {
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar, Timeout: 10 * time.Second, Transport: rt}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, start, nil)
	if err != nil {
		return nil, err
	}
	consented := false
	for range 8 {
		resp, err := hc.Do(req)
		if err != nil {
			return nil, err
		}
		b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		if err != nil {
			return nil, err
		}
		res := &SignInResult{URL: resp.Request.URL, Status: resp.StatusCode, Body: string(b)}
		if resp.Request.URL.Path == "/callback" {
			return res, nil // camctl's listener
		}
		m := formRE.FindStringSubmatch(res.Body)
		if m == nil || consented {
			// A page without a form, or the one after the consent (the
			// device flow's "done" or "aborted"): the end.
			return res, nil
		}
		attrs := attributes(m[1])
		form := url.Values{}
		submitted := false
		for _, in := range inputRE.FindAllStringSubmatch(m[2], -1) {
			a := attributes(in[2])
			switch {
			case a["name"] == "":
			case strings.EqualFold(in[1], "button"):
				if a["name"] == "decision" && (a["value"] == "allow") == allow && !submitted {
					form.Set("decision", a["value"])
					submitted, consented = true, true
				}
			case a["name"] == "login":
				form.Set("login", u.Login)
			case a["name"] == "password":
				form.Set("password", u.Password)
			default:
				form.Set(a["name"], a["value"])
			}
		}
		action, err := resp.Request.URL.Parse(attrs["action"])
		if err != nil {
			return nil, fmt.Errorf("form action %q: %w", attrs["action"], err)
		}
		if !strings.EqualFold(attrs["method"], "post") {
			return nil, errors.New("oidctest: a form that is not posted: " + attrs["method"])
		}
		req, err = http.NewRequestWithContext(ctx, http.MethodPost, action.String(), strings.NewReader(form.Encode()))
		if err != nil {
			return nil, err
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	return nil, errors.New("oidctest: the sign-in did not end within 8 forms")
}

func attributes(s string) map[string]string {
	out := map[string]string{}
	for _, m := range attrRE.FindAllStringSubmatch(s, -1) {
		out[strings.ToLower(m[1])] = html.UnescapeString(m[2])
	}
	return out
}
