package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/camctl/camctl/internal/api"
	"github.com/camctl/camctl/internal/redact"
)

// githubActions asks GitHub Actions for the job's OIDC token, as
// actions/core's getIDToken does: GET $ACTIONS_ID_TOKEN_REQUEST_URL with
// audience= added to its query, bearer $ACTIONS_ID_TOKEN_REQUEST_TOKEN,
// answer {"value": "<JWT>"}. A new token for every token request: it is
// never kept, so never past its exp.
type githubActions struct {
	profile   string
	audience  string
	lookupEnv func(string) (string, bool)
	timeout   time.Duration
	redactor  *redact.Redactor
}

const (
	envGitHubURL   = "ACTIONS_ID_TOKEN_REQUEST_URL"
	envGitHubToken = "ACTIONS_ID_TOKEN_REQUEST_TOKEN" // #nosec G101 -- the name of a variable
)

func (g *githubActions) fail(err error) error {
	return &AssertionError{Profile: g.profile, Source: "GitHub Actions", Err: err}
}

func (g *githubActions) token(ctx context.Context) (string, error) {
	raw, _ := g.lookupEnv(envGitHubURL)
	reqToken, _ := g.lookupEnv(envGitHubToken)
	var missing []string
	if strings.TrimSpace(raw) == "" {
		missing = append(missing, envGitHubURL)
	}
	if strings.TrimSpace(reqToken) == "" {
		missing = append(missing, envGitHubToken)
	}
	if len(missing) > 0 {
		return "", g.fail(fmt.Errorf("%s not set: GitHub sets them only for a job with `permissions: id-token: write`", strings.Join(missing, " and ")))
	}
	g.redactor.Add(reqToken)
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return "", g.fail(fmt.Errorf("%s is not an http(s) URL", envGitHubURL))
	}
	if u.Scheme == "http" && !api.IsLoopback(u) {
		// The request token is a credential: never in plain text over a
		// network (GitHub's endpoint is https; a test's may be loopback).
		return "", g.fail(fmt.Errorf("%s is plain http:// to %s; the request token goes only over https (or to loopback)", envGitHubURL, u.Host))
	}
	q := u.Query()
	q.Set("audience", g.audience)
	u.RawQuery = q.Encode()
	timeout := g.timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	// The environment's proxy and the system roots, like every client of
	// camctl's; no profile TLS settings (the platform is not the IdP).
	hc, err := api.NewHTTPClient(api.TLSOptions{}, timeout, nil)
	if err != nil {
		return "", g.fail(err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return "", g.fail(err)
	}
	req.Header.Set("Authorization", "Bearer "+reqToken)
	req.Header.Set("Accept", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		if ctx.Err() != nil && errors.Is(ctx.Err(), context.Canceled) {
			return "", ctx.Err()
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return "", g.fail(fmt.Errorf("its token endpoint %s://%s is unreachable: %v", u.Scheme, u.Host, err))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 256<<10))
	if err != nil {
		return "", g.fail(fmt.Errorf("its token endpoint %s://%s broke off its answer: %v", u.Scheme, u.Host, err))
	}
	if resp.StatusCode != http.StatusOK {
		return "", g.fail(fmt.Errorf("its token endpoint %s://%s answered %s", u.Scheme, u.Host, resp.Status))
	}
	var ans struct {
		Value string `json:"value"`
	}
	if err := json.Unmarshal(body, &ans); err != nil || ans.Value == "" {
		return "", g.fail(fmt.Errorf("its token endpoint %s://%s answered without a token", u.Scheme, u.Host))
	}
	g.redactor.Add(ans.Value)
	return ans.Value, nil
}
