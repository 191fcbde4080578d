package login

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/camctl/camctl/internal/auth"
	"github.com/camctl/camctl/internal/config"
	"github.com/camctl/camctl/internal/redact"
	"github.com/camctl/camctl/internal/session"
)

type noPrompt struct{ t *testing.T }

func (noPrompt) CanPrompt() bool { return false }
func (p noPrompt) Prompt(context.Context, string) (string, error) {
	p.t.Fatal("unexpected prompt")
	return "", nil
}
func (p noPrompt) PromptSecret(context.Context, string) (string, error) {
	p.t.Fatal("unexpected secret prompt")
	return "", nil
}

// A login that creates a basic-auth profile: the password from stdin is
// checked against the cluster, then the profile is written and the
// password stored, and the result says so.
func TestRunCreatesBasicProfile(t *testing.T) {
	var gotUser, gotPass string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotUser, gotPass, _ = r.BasicAuth()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"brokers":[],"clusterSize":1,"partitionsCount":1,"replicationFactor":1,"gatewayVersion":"8.8.0"}`))
	}))
	defer srv.Close()
	cfg := filepath.Join(t.TempDir(), "config.yaml")
	settings := map[config.Key]string{config.Address: srv.URL, config.AuthMethod: config.MethodBasic, config.Username: "demo"}
	r, err := config.Resolve(config.Options{ConfigPath: cfg, File: &config.File{}, Profile: "helm", Flags: settings, AllowNew: true})
	if err != nil {
		t.Fatal(err)
	}
	red := redact.New()
	keyring := auth.NewMemoryStore()
	secrets := func(string, bool) (*auth.Secrets, error) {
		return &auth.Secrets{Mode: auth.KeyringAuto, Keyring: keyring, File: auth.NewFailingStore(auth.ErrNotFound), Redactor: red}, nil
	}
	var warnings []string
	s := session.New(session.Options{Secrets: secrets, Timeout: 5 * time.Second, Redactor: red, Warn: func(m string) { warnings = append(warnings, m) }})
	res, err := Run(t.Context(), &Request{
		Profile: r, Created: r.New, Settings: settings, PasswordStdin: true,
		ReadStdin: func(context.Context, config.Key) (string, error) { return "s3cret", nil },
		Session:   s, Prompter: noPrompt{t}, Redactor: red, Explain: func(err error) error { return err },
	})
	if err != nil {
		t.Fatal(err)
	}
	if gotUser != "demo" || gotPass != "s3cret" {
		t.Errorf("the cluster got %q:%q", gotUser, gotPass)
	}
	if res.Where != auth.InKeyring || res.SecretKey != config.Password || res.Topology.GatewayVersion != "8.8.0" {
		t.Errorf("result = %+v", res)
	}
	// Shorter than redact.MinLen: redacted where it stands as a value.
	if got := red.Redact(`password "s3cret"`); got != `password "[redacted]"` {
		t.Error("the redactor did not learn the password")
	}
	file, err := config.Load(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if p, ok := file.Profiles["helm"]; !ok || p.ID == "" || p.Auth.Username != "demo" {
		t.Errorf("profile written = %+v (present %v)", p, ok)
	}
	if len(warnings) != 0 {
		t.Errorf("warnings for a loopback profile: %q", warnings)
	}
}
