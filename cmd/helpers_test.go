package cmd

import (
	"bytes"
	"context"
	"maps"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/camctl/camctl/internal/auth"
	"github.com/camctl/camctl/internal/build"
	"github.com/camctl/camctl/internal/config"
	"github.com/camctl/camctl/internal/testutil/fakecamunda"
)

func envMap(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := m[k]
		return v, ok
	}
}

// testHarness is a Factory wired to buffers, a private config file, an
// in-memory keyring and no terminal.
type testHarness struct {
	keyring auth.SecretStore
	env     map[string]string
	config  string
}

func testFactory(t *testing.T, env map[string]string) (*Factory, *bytes.Buffer, *bytes.Buffer, *bytes.Buffer) {
	f, _, in, out, errOut := newHarness(t, env)
	return f, in, out, errOut
}

func newHarness(t *testing.T, env map[string]string) (*Factory, *testHarness, *bytes.Buffer, *bytes.Buffer, *bytes.Buffer) {
	t.Helper()
	h := &testHarness{keyring: auth.NewMemoryStore(), env: maps.Clone(env)}
	if h.env == nil {
		h.env = map[string]string{}
	}
	if _, ok := h.env[config.EnvConfig]; !ok {
		h.env[config.EnvConfig] = filepath.Join(t.TempDir(), "config.yaml")
	}
	h.config = h.env[config.EnvConfig]
	f, in, out, errOut := h.factory(t)
	return f, h, in, out, errOut
}

// factory returns a new Factory on the harness's keyring, environment and
// config file: what the next camctl process would start with.
func (h *testHarness) factory(t *testing.T) (*Factory, *bytes.Buffer, *bytes.Buffer, *bytes.Buffer) {
	streams, in, out, errOut := TestIO()
	f := &Factory{
		IO:        streams,
		LookupEnv: envMap(h.env),
		Build:     build.Info{Version: "test"},
		Global:    &GlobalOptions{},
		Secrets: func(path string, _ bool) (*auth.Secrets, error) {
			return &auth.Secrets{Mode: auth.KeyringAuto, Keyring: h.keyring, Namespace: config.SecretNamespace(path, func(k string) string { return h.env[k] }),
				File: auth.NewFileStore(filepath.Join(filepath.Dir(path), "secrets.json")), Redactor: streams.Redactor}, nil
		},
		Prompt: func(context.Context, string) (string, error) {
			t.Fatal("unexpected prompt")
			return "", nil
		},
		PromptSecret: func(context.Context, string) (string, error) {
			t.Fatal("unexpected secret prompt")
			return "", nil
		},
	}
	return f, in, out, errOut
}

type fakeServer struct {
	*httptest.Server
	fake *fakecamunda.Server
}

func newFakeServer(t *testing.T) *fakeServer {
	t.Helper()
	fake := fakecamunda.New()
	srv := httptest.NewServer(fake)
	t.Cleanup(func() {
		fake.Close()
		srv.Close()
	})
	return &fakeServer{Server: srv, fake: fake}
}

// run executes camctl with args and a short per-request timeout.
func run(t *testing.T, f *Factory, args ...string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	return Run(ctx, f, args)
}

// profileID returns the id that the config file at path gives profile
// name (its stored secrets are keyed by it).
func profileID(t *testing.T, path, name string) string {
	t.Helper()
	file, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	id := file.Profiles[name].ID
	if id == "" {
		t.Fatalf("profile %s has no id in %s", name, path)
	}
	return id
}

// itemKey is the keyring key of setting of profile name in the
// harness's config file.
func (h *testHarness) itemKey(t *testing.T, name string, setting config.Key) string {
	t.Helper()
	return config.SecretNamespace(h.config, func(k string) string { return h.env[k] }) + "id/" + profileID(t, h.config, name) + "/" + string(setting)
}
