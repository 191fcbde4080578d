package auth

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/camctl/camctl/internal/config"
)

// Items that camctl stored under a profile's name before profiles had ids
// are read once, moved to a new id (bound to the origin the config file
// gives the profile) and deleted under the name (spec §5).
func TestMigrateNameKeyedItems(t *testing.T) {
	const legacyConfig = "# my clusters\ncurrent-profile: helm\nprofiles:\n  helm:\n    address: https://Camunda.example.com/\n    auth:\n      method: basic\n      username: demo\n    tls:\n      client-cert: /c.pem\n      client-key: /k.pem\n"
	setup := func(t *testing.T) (*Secrets, string) {
		t.Helper()
		path := filepath.Join(t.TempDir(), "config.yaml")
		if err := os.WriteFile(path, []byte(legacyConfig), 0o600); err != nil {
			t.Fatal(err)
		}
		s := &Secrets{Mode: KeyringAuto, Keyring: NewMemoryStore(), File: NewFileStore(filepath.Join(filepath.Dir(path), "secrets.json"))}
		for key, v := range map[config.Key]string{config.Password: "legacy-pw", config.KeyPassphrase: "legacy-pass"} {
			if err := s.Keyring.Set(t.Context(), s.legacyKey("helm", key), v); err != nil {
				t.Fatal(err)
			}
		}
		return s, path
	}
	resolve := func(t *testing.T, path string, env map[string]string) *config.Resolved {
		t.Helper()
		file, err := config.Load(path)
		if err != nil {
			t.Fatal(err)
		}
		r, err := config.Resolve(config.Options{ConfigPath: path, File: file, Profile: "helm", LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok }})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}

	t.Run("read once, moved, bound to the file's origin", func(t *testing.T) {
		s, path := setup(t)
		r := resolve(t, path, nil)
		v, where, err := s.Resolve(t.Context(), r, config.Password)
		if err != nil || v != "legacy-pw" || where != InKeyring {
			t.Fatalf("Resolve = %q, %q, %v; want the legacy password from the keyring", v, where, err)
		}
		file, err := config.Load(path)
		if err != nil {
			t.Fatal(err)
		}
		id := file.Profiles["helm"].ID
		if id == "" || r.ID != id {
			t.Fatalf("the profile's id is %q in the file and %q in the run, want one new id", id, r.ID)
		}
		raw, _ := os.ReadFile(path)
		if !strings.HasPrefix(string(raw), "# my clusters\n") {
			t.Errorf("the comment was lost:\n%s", raw)
		}
		for key, want := range map[config.Key]string{config.Password: "legacy-pw", config.KeyPassphrase: "legacy-pass"} {
			if _, err := s.Keyring.Get(t.Context(), s.legacyKey("helm", key)); !errors.Is(err, ErrNotFound) {
				t.Errorf("the name-keyed %s is still there (%v)", key, err)
			}
			item, err := s.Keyring.Get(t.Context(), s.key(id, key))
			if err != nil {
				t.Fatalf("%s under the id: %v", key, err)
			}
			got, bound, err := decodeEnvelope(item)
			if err != nil || got != want || len(bound) != 1 || bound[0] != "https://camunda.example.com:443" {
				t.Errorf("%s under the id = %q bound to %v (%v), want %q bound to https://camunda.example.com:443", key, got, bound, err, want)
			}
		}
		// A second run reads the id's item; nothing is left to move.
		if v, _, err := s.Resolve(t.Context(), resolve(t, path, nil), config.Password); err != nil || v != "legacy-pw" {
			t.Errorf("second run: %q, %v", v, err)
		}
	})

	t.Run("an address from the environment does not become the binding", func(t *testing.T) {
		s, path := setup(t)
		r := resolve(t, path, map[string]string{"CAMUNDA_REST_ADDRESS": "https://evil.example.com"})
		_, _, err := s.Resolve(t.Context(), r, config.Password)
		var be *BindingError
		if !errors.As(err, &be) || be.Bound != "https://camunda.example.com:443" || be.Now != "https://evil.example.com:443" {
			t.Fatalf("Resolve with another address: %v, want a BindingError from the file's origin to the variable's", err)
		}
		if !strings.Contains(err.Error(), "env CAMUNDA_REST_ADDRESS") {
			t.Errorf("the error does not say where the address came from: %v", err)
		}
	})

	t.Run("a profile with an id never reads name-keyed items", func(t *testing.T) {
		s, path := setup(t)
		if err := config.Edit(t.Context(), path, func(d *config.Document) error {
			_, err := d.EnsureProfileID("helm", "")
			return err
		}); err != nil {
			t.Fatal(err)
		}
		v, _, err := s.Resolve(t.Context(), resolve(t, path, nil), config.Password)
		if err != nil || v != "" {
			t.Errorf("Resolve = %q, %v; want nothing: the name-keyed item may be a removed namesake's", v, err)
		}
	})

	t.Run("a profile that login is about to create takes nothing", func(t *testing.T) {
		s, path := setup(t)
		if err := s.Keyring.Set(t.Context(), s.legacyKey("fresh", config.Password), "namesake-pw"); err != nil {
			t.Fatal(err)
		}
		file, err := config.Load(path)
		if err != nil {
			t.Fatal(err)
		}
		// As login resolves a profile it creates: in a copy of the file.
		file.Profiles["fresh"] = config.Profile{Address: "https://fresh.example.com", Auth: config.AuthConfig{Method: "basic", Username: "u"}}
		r, err := config.Resolve(config.Options{ConfigPath: path, File: file, Profile: "fresh"})
		if err != nil {
			t.Fatal(err)
		}
		if v, _, err := s.Resolve(t.Context(), r, config.Password); err != nil || v != "" || r.ID != "" {
			t.Errorf("Resolve = %q, %v (id %q); want nothing: the item is a removed namesake's", v, err, r.ID)
		}
	})

	t.Run("nothing stored: the config file is not touched", func(t *testing.T) {
		_, path := setup(t)
		s := &Secrets{Mode: KeyringAuto, Keyring: NewMemoryStore(), File: NewFileStore(filepath.Join(t.TempDir(), "secrets.json"))}
		if v, _, err := s.Resolve(t.Context(), resolve(t, path, nil), config.Password); err != nil || v != "" {
			t.Fatalf("Resolve = %q, %v", v, err)
		}
		if raw, _ := os.ReadFile(path); string(raw) != legacyConfig {
			t.Errorf("the config file changed:\n%s", raw)
		}
	})
}

// A stored item under an id that is not an envelope with an origin (not
// written by camctl) is never sent: it has no origin it may go to.
func TestBareValueUnderAnIDIsRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte("profiles:\n  helm:\n    id: 0123456789abcdef\n    address: https://camunda.example.com\n    auth:\n      method: basic\n      username: demo\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := &Secrets{Mode: KeyringAuto, Keyring: NewMemoryStore(), File: NewFileStore(filepath.Join(t.TempDir(), "secrets.json"))}
	if err := s.Keyring.Set(t.Context(), s.key("0123456789abcdef", config.Password), "bare-password"); err != nil {
		t.Fatal(err)
	}
	file, _ := config.Load(path)
	r, err := config.Resolve(config.Options{ConfigPath: path, File: file, Profile: "helm"})
	if err != nil {
		t.Fatal(err)
	}
	v, _, err := s.Resolve(t.Context(), r, config.Password)
	if v != "" || !errors.Is(err, ErrCorrupt) || strings.Contains(err.Error(), "bare-password") {
		t.Errorf("Resolve = %q, %v; want ErrCorrupt without the value", v, err)
	}
}

func TestOrigin(t *testing.T) {
	tests := []struct{ in, want string }{
		{"https://Camunda.Example.com", "https://camunda.example.com:443"},
		{"https://camunda.example.com:443/v2", "https://camunda.example.com:443"},
		{"HTTP://localhost:8080/x/", "http://localhost:8080"},
		{"http://127.0.0.1", "http://127.0.0.1:80"},
		{"https://[::1]:8443/token", "https://[::1]:8443"},
	}
	for _, tt := range tests {
		if got, err := Origin(tt.in); err != nil || got != tt.want {
			t.Errorf("Origin(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"", "camunda.example.com", "ftp://x"} {
		if got, err := Origin(bad); err == nil {
			t.Errorf("Origin(%q) = %q, want an error", bad, got)
		}
	}
}

// A stored secret with its origin is still one value to the store: one
// over MaxItemSize (a large static JWT) is split and read back whole, on
// the memory store that refuses items over the limit as Windows does.
func TestSaveLargeBoundSecret(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte("profiles:\n  big:\n    id: 0123456789abcdef\n    address: https://camunda.example.com\n    auth:\n      method: bearer\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	file, _ := config.Load(path)
	r, err := config.Resolve(config.Options{ConfigPath: path, File: file, Profile: "big"})
	if err != nil {
		t.Fatal(err)
	}
	s := &Secrets{Mode: KeyringAuto, Keyring: NewMemoryStore(), File: NewFileStore(filepath.Join(t.TempDir(), "secrets.json"))}
	token := strings.Repeat("eyJhbGciOi.", 1000) // 11 kB, with characters JSON escapes none of
	token += `"\quoted"`
	if where, err := s.Save(t.Context(), r, config.Token, token, false); err != nil || where != InKeyring {
		t.Fatalf("Save = %q, %v", where, err)
	}
	got, _, err := s.Resolve(t.Context(), r, config.Token)
	if err != nil || got != token {
		t.Errorf("Resolve = %d bytes, %v; want the %d-byte token back", len(got), err, len(token))
	}
}
