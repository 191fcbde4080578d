package cmd

import (
	"path/filepath"
	"testing"
)

// One set of secret stores per config file and mode for the whole run:
// a keyring that timed out once is not waited on again for each secret.
func TestSecretsBuiltOncePerRun(t *testing.T) {
	f := NewFactory()
	f.LookupEnv = envMap(map[string]string{"HOME": t.TempDir(), "CAMCTL_KEYRING": "none"})
	cfg := filepath.Join(t.TempDir(), "config.yaml")
	a, err := f.Secrets(cfg, false)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := f.Secrets(cfg, false)
	if a != b {
		t.Error("a second lookup built new secret stores")
	}
	if c, _ := f.Secrets(cfg, true); c == a {
		t.Error("interactive runs must get the stores with the long keyring timeout")
	}
}
