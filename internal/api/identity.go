package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
)

// Identity is GET /v2/authentication/me (CamundaUserResult): who the
// cluster says the credentials belong to. Decoding is lenient: fields a
// server leaves out stay empty, unknown ones are ignored.
type Identity struct {
	Username    string   `json:"username"`
	DisplayName string   `json:"displayName"`
	Email       string   `json:"email"`
	Tenants     []Tenant `json:"tenants"`
	Groups      []string `json:"groups"`
	Roles       []string `json:"roles"`
}

// Tenant is one tenant the user may access.
type Tenant struct {
	TenantID string `json:"tenantId"`
	Name     string `json:"name"`
}

// ErrNoIdentity means the cluster has no identity endpoint for these
// credentials (404, or 401/403 on a cluster that accepted them
// elsewhere): login and status then say nothing about the user rather
// than fail.
var ErrNoIdentity = errors.New("the cluster reports no identity for these credentials")

// Me asks the cluster who the credentials belong to. A 404 (a server
// without the endpoint) is ErrNoIdentity; other failures are returned as
// they are, so that a 401 still means rejected credentials.
func (c *Client) Me(ctx context.Context) (*Identity, error) {
	resp, err := c.Get(ctx, "authentication/me")
	var herr *HTTPError
	if errors.As(err, &herr) && herr.StatusCode == http.StatusNotFound {
		return nil, ErrNoIdentity
	}
	if err != nil {
		return nil, err
	}
	var id Identity
	if err := json.Unmarshal(resp.Body, &id); err != nil {
		return nil, fmt.Errorf("GET %s: the answer is not a CamundaUserResult: %w", c.base.JoinPath("authentication/me"), err)
	}
	return &id, nil
}

// Status is GET /v2/status, public on a cluster: true for 204 (at least
// one partition has a healthy leader), false for 503. It proves the
// cluster reachable, never the credentials.
func (c *Client) Status(ctx context.Context) (bool, error) {
	_, err := c.Get(ctx, "status")
	var herr *HTTPError
	if errors.As(err, &herr) && herr.StatusCode == http.StatusServiceUnavailable {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return true, nil
}
