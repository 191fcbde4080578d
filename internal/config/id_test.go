package config_test

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/camctl/camctl/internal/config"
)

// Profile ids (spec §5): every new profile gets a new one, a rename keeps
// it, a namesake of a removed profile gets another, and EnsureProfileID
// adds one without disturbing comments and unknown keys.
func TestProfileIDs(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.yaml")
	const start = "# mine\nprofiles:\n  # the old one\n  legacy:\n    address: https://a.example.com # where A lives\n    x-team: blue\n"
	if err := os.WriteFile(path, []byte(start), 0o600); err != nil {
		t.Fatal(err)
	}
	edit := func(fn func(d *config.Document) error) {
		t.Helper()
		if err := config.Edit(t.Context(), path, fn); err != nil {
			t.Fatal(err)
		}
	}
	load := func() *config.File {
		t.Helper()
		f, err := config.Load(path)
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	hex16 := regexp.MustCompile(`^[0-9a-f]{16}$`)

	edit(func(d *config.Document) error {
		_, err := d.CreateProfile("helm", map[config.Key]string{config.Address: "https://h.example.com"}, false)
		return err
	})
	first := load().Profiles["helm"].ID
	if !hex16.MatchString(first) {
		t.Fatalf("a new profile's id = %q, want 16 hex digits", first)
	}
	if load().Profiles["legacy"].ID != "" {
		t.Errorf("creating a profile gave another one an id")
	}

	edit(func(d *config.Document) error { return d.RenameProfile("helm", "prod") })
	if got := load().Profiles["prod"].ID; got != first {
		t.Errorf("after rename the id is %q, want %q", got, first)
	}

	edit(func(d *config.Document) error {
		d.RemoveProfile("prod")
		return d.AddProfile("prod")
	})
	if got := load().Profiles["prod"].ID; got == first || !hex16.MatchString(got) {
		t.Errorf("a namesake of the removed profile has id %q, want a new one (not %q)", got, first)
	}

	var id string
	edit(func(d *config.Document) (err error) {
		id, err = d.EnsureProfileID("legacy", "")
		return err
	})
	again := ""
	edit(func(d *config.Document) (err error) {
		again, err = d.EnsureProfileID("legacy", "other")
		return err
	})
	if !hex16.MatchString(id) || again != id || load().Profiles["legacy"].ID != id {
		t.Errorf("EnsureProfileID gave %q, then %q; the file has %q", id, again, load().Profiles["legacy"].ID)
	}
	raw, _ := os.ReadFile(path)
	for _, keep := range []string{"# mine\n", "# the old one\n", "# where A lives", "x-team: blue", "  legacy:\n    id: " + id + "\n"} {
		if !strings.Contains(string(raw), keep) {
			t.Errorf("the file lost %q:\n%s", keep, raw)
		}
	}
}

// Two profiles with one id would share, and delete, each other's secrets;
// an id that could spell another key's separators is refused too.
func TestProfileIDErrors(t *testing.T) {
	tests := []struct {
		name, content, want string
		line                int
	}{
		{"duplicate", "profiles:\n  a:\n    id: 0123456789abcdef\n  b:\n    id: 0123456789abcdef\n", `profiles "a" and "b" have the same id`, 5},
		{"separator", "profiles:\n  a:\n    id: ab/cd\n", `the id of profile "a" must be letters, digits`, 3},
		{"chunk marker", "profiles:\n  a:\n    id: 'ab#1'\n", `the id of profile "a"`, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "config.yaml")
			if err := os.WriteFile(path, []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := config.Load(path)
			var fe *config.FileError
			if !errors.As(err, &fe) || fe.Line != tt.line || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Load = %v, want a FileError on line %d saying %q", err, tt.line, tt.want)
			}
		})
	}
}
