package status

import (
	"context"
	"slices"
	"testing"

	"github.com/camctl/camctl/internal/auth"
	"github.com/camctl/camctl/internal/config"
)

// The credential description of every method and state: what `status`
// shows and prints in "credential".
func TestDescribeCredential(t *testing.T) {
	const api, idp = "https://camunda.example.com", "https://idp.example.com/token"
	profiles := map[string]config.Profile{
		"open":   {ID: "0000000000000001", Address: api, Auth: config.AuthConfig{Method: "none"}},
		"helm":   {ID: "0000000000000002", Address: api, Auth: config.AuthConfig{Method: "basic", Username: "demo"}},
		"kc":     {ID: "0000000000000003", Address: api, Auth: config.AuthConfig{Method: "oidc", ClientID: "c", TokenURL: idp}},
		"x509":   {ID: "0000000000000004", Address: api, Auth: config.AuthConfig{Method: "oidc", ClientID: "c", TokenURL: idp}, TLS: config.TLSConfig{ClientCert: "/certs/c.pem", ClientKey: "/certs/k.pem"}},
		"static": {ID: "0000000000000005", Address: api, Auth: config.AuthConfig{Method: "bearer"}},
		"moved":  {ID: "0000000000000006", Address: "https://elsewhere.example.com", Auth: config.AuthConfig{Method: "basic", Username: "demo"}},
	}
	file := &config.File{Profiles: profiles}
	resolve := func(t *testing.T, name string, env map[string]string) *config.Resolved {
		t.Helper()
		r, err := config.Resolve(config.Options{ConfigPath: "/c.yaml", File: file, Profile: name, LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok }})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	ctx := context.Background()
	secrets := &auth.Secrets{Mode: auth.KeyringAuto, Keyring: auth.NewMemoryStore(), File: auth.NewMemoryStore()}
	store := func(name string, key config.Key, insecure bool) {
		t.Helper()
		if _, err := secrets.Save(ctx, resolve(t, name, nil), key, "s3cret-value", insecure); err != nil {
			t.Fatal(err)
		}
	}
	store("helm", config.Password, false)
	store("kc", config.ClientSecret, true)
	// Stored while moved pointed at api, then moved elsewhere.
	movedAtAPI := profiles["moved"]
	movedAtAPI.Address = api
	profiles["moved"] = movedAtAPI
	store("moved", config.Password, false)
	movedAtAPI.Address = "https://elsewhere.example.com"
	profiles["moved"] = movedAtAPI

	tests := []struct {
		name    string
		env     map[string]string
		stored  bool
		where   string // "" for nil
		bound   []string
		kind    string
		refused bool
	}{
		{name: "open"},
		{name: "helm", stored: true, where: "keyring", bound: []string{"https://camunda.example.com:443"}, kind: "password"},
		{name: "helm", env: map[string]string{"CAMUNDA_BASIC_AUTH_PASSWORD": "x"}, stored: true, where: "env", kind: "password"},
		{name: "kc", stored: true, where: "file", bound: []string{"https://idp.example.com:443", "https://camunda.example.com:443"}, kind: "client secret"},
		{name: "x509", stored: true, where: "certificate", kind: "client certificate"},
		{name: "static", kind: "bearer token"},
		{name: "moved", stored: true, where: "keyring", bound: []string{"https://camunda.example.com:443"}, kind: "password", refused: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DescribeCredential(ctx, secrets, resolve(t, tt.name, tt.env))
			where := ""
			if c.Where != nil {
				where = *c.Where
			}
			if c.Stored != tt.stored || where != tt.where || !slices.Equal(c.BoundTo, tt.bound) || c.Kind != tt.kind || (c.Refused != nil) != tt.refused {
				t.Errorf("got stored=%v where=%q bound=%v kind=%q refused=%v; want %v %q %v %q %v",
					c.Stored, where, c.BoundTo, c.Kind, c.Refused != nil, tt.stored, tt.where, tt.bound, tt.kind, tt.refused)
			}
			if c.Needed != (tt.kind != "") {
				t.Errorf("needed = %v", c.Needed)
			}
		})
	}

	// An unreachable keyring is "unknown", never "not stored".
	down := &auth.Secrets{Mode: auth.KeyringAuto, Keyring: auth.NewFailingStore(nil), File: auth.NewMemoryStore()}
	c := DescribeCredential(ctx, down, resolve(t, "helm", nil))
	if c.Stored || c.Problem == "" {
		t.Errorf("with the keyring unreachable: %+v; want a problem, not a verdict", c)
	}
}
