package api

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/camctl/camctl/internal/testutil/fakecamunda"
)

func TestMeAndStatus(t *testing.T) {
	fake := fakecamunda.New()
	fake.RequireBasic("demo", "demo-pass")
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	c, err := New(Options{Address: srv.URL, Auth: basicAuth{"demo", "demo-pass"}, Retries: -1})
	if err != nil {
		t.Fatal(err)
	}
	id, err := c.Me(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if id.Username != "demo" || len(id.Tenants) != 1 || id.Tenants[0].TenantID != "<default>" || len(id.Roles) != 1 {
		t.Errorf("identity = %+v", id)
	}
	up, err := c.Status(context.Background())
	if err != nil || !up {
		t.Errorf("Status = %v, %v; want up", up, err)
	}
	fake.SetDown(true)
	if up, err := c.Status(context.Background()); err != nil || up {
		t.Errorf("Status of a down cluster = %v, %v; want down, no error", up, err)
	}

	fake.SetIdentity(func(*http.Request) (map[string]any, bool) { return nil, false })
	var herr *HTTPError
	if _, err := c.Me(context.Background()); !errors.As(err, &herr) || herr.StatusCode != 401 {
		t.Errorf("Me without a user = %v; want the 401", err)
	}
}

func TestMeWithoutEndpoint(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(srv.Close)
	c, err := New(Options{Address: srv.URL, Retries: -1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Me(context.Background()); !errors.Is(err, ErrNoIdentity) {
		t.Errorf("Me on a server without the endpoint = %v; want ErrNoIdentity", err)
	}
}

type basicAuth struct{ user, password string }

func (b basicAuth) Authorize(_ context.Context, req *http.Request) error {
	req.SetBasicAuth(b.user, b.password)
	return nil
}
