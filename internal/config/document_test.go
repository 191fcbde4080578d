package config_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/camctl/camctl/internal/config"
)

// editable has comments and unknown keys at every level.
const editable = `# camctl configuration, edited by hand
current-profile: helm # the usual one
editor: vim
profiles:
  # on-prem
  helm:
    address: https://camunda.example.com # ingress
    color: blue
    auth:
      method: basic
      username: demo
      flavour: vanilla # unknown under auth
    tls:
      ca-file: /etc/ca.pem
  prod:
    address: https://bru-2.zeebe.camunda.io/abc
    auth:
      method: oidc
      client-id: my-client
x-extension:
  nested: [1, 2]
`

func parseDoc(t *testing.T, content string) *config.Document {
	t.Helper()
	d, err := config.ParseDocument("/c/config.yaml", []byte(content))
	if err != nil {
		t.Fatalf("ParseDocument: %v", err)
	}
	return d
}

func render(t *testing.T, d *config.Document) string {
	t.Helper()
	b, err := d.Bytes()
	if err != nil {
		t.Fatalf("Bytes: %v", err)
	}
	return string(b)
}

// reload renders d and loads it the way every command does.
func reload(t *testing.T, d *config.Document) *config.File {
	t.Helper()
	f, err := config.Load(writeFile(t, render(t, d)))
	if err != nil {
		t.Fatalf("Load of the edited document: %v\n%s", err, render(t, d))
	}
	return f
}

var survivors = []string{
	"# camctl configuration, edited by hand",
	"# the usual one",
	"editor: vim",
	"# on-prem",
	"# ingress",
	"color: blue",
	"flavour: vanilla",
	"# unknown under auth",
	"x-extension:",
	"nested:",
}

func TestDocumentEdits(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(d *config.Document) error
		check func(t *testing.T, d *config.Document, f *config.File)
		// lost are survivors that this edit may remove.
		lost []string
	}{
		{name: "no change",
			edit: func(d *config.Document) error { return nil },
			check: func(t *testing.T, d *config.Document, f *config.File) {
				if f.CurrentProfile != "helm" || f.Profiles["helm"].Auth.Username != "demo" {
					t.Errorf("file = %+v", f)
				}
			}},
		{name: "add profile",
			edit: func(d *config.Document) error {
				if err := d.AddProfile("dev"); err != nil {
					return err
				}
				return d.Set("dev", config.Address, "http://localhost:8088")
			},
			check: func(t *testing.T, d *config.Document, f *config.File) {
				if got := d.ProfileNames(); !slices.Equal(got, []string{"helm", "prod", "dev"}) {
					t.Errorf("ProfileNames = %v", got)
				}
				if f.Profiles["dev"].Address != "http://localhost:8088" {
					t.Errorf("dev = %+v", f.Profiles["dev"])
				}
			}},
		{name: "set nested keys creates the blocks",
			edit: func(d *config.Document) error {
				for k, v := range map[config.Key]string{
					config.AuthMethod: "oidc", config.TokenURL: "https://login/token", config.Audience: "zeebe.camunda.io",
					config.Scope: "api://x/.default #1", config.InsecureSkipVerify: "true", config.ClientKey: "/k.pem",
				} {
					if err := d.Set("prod", k, v); err != nil {
						return err
					}
				}
				return nil
			},
			check: func(t *testing.T, d *config.Document, f *config.File) {
				p := f.Profiles["prod"]
				if p.Auth.TokenURL != "https://login/token" || p.Auth.Audience != "zeebe.camunda.io" ||
					p.Auth.Scope != "api://x/.default #1" || !p.TLS.InsecureSkipVerify || p.TLS.ClientKey != "/k.pem" {
					t.Errorf("prod = %+v", p)
				}
			}},
		{name: "set replaces a value and keeps its comment",
			edit: func(d *config.Document) error {
				return d.Set("helm", config.Address, "https://new.example.com")
			},
			check: func(t *testing.T, d *config.Document, f *config.File) {
				if f.Profiles["helm"].Address != "https://new.example.com" {
					t.Errorf("helm = %+v", f.Profiles["helm"])
				}
				if out := render(t, d); !strings.Contains(out, "address: https://new.example.com # ingress") {
					t.Errorf("comment lost:\n%s", out)
				}
			}},
		{name: "values that need quoting stay text",
			edit: func(d *config.Document) error {
				if err := d.Set("prod", config.Scope, "true"); err != nil {
					return err
				}
				return d.Set("prod", config.Audience, "123")
			},
			check: func(t *testing.T, d *config.Document, f *config.File) {
				if p := f.Profiles["prod"]; p.Auth.Scope != "true" || p.Auth.Audience != "123" {
					t.Errorf("prod auth = %+v", p.Auth)
				}
				if out := render(t, d); !strings.Contains(out, `scope: "true"`) {
					t.Errorf("scope not quoted:\n%s", out)
				}
			}},
		{name: "set empty removes a key",
			edit: func(d *config.Document) error {
				return d.Set("helm", config.Username, "")
			},
			check: func(t *testing.T, d *config.Document, f *config.File) {
				if f.Profiles["helm"].Auth.Username != "" || strings.Contains(render(t, d), "username") {
					t.Errorf("username still there:\n%s", render(t, d))
				}
				if f.Profiles["helm"].Auth.Method != "basic" {
					t.Errorf("method lost: %+v", f.Profiles["helm"].Auth)
				}
			}},
		{name: "set empty on a missing block creates nothing",
			edit: func(d *config.Document) error {
				return d.Set("prod", config.CAFile, "")
			},
			check: func(t *testing.T, d *config.Document, f *config.File) {
				if n := strings.Count(render(t, d), "tls:"); n != 1 {
					t.Errorf("%d tls blocks, want only helm's:\n%s", n, render(t, d))
				}
			}},
		{name: "remove profile",
			edit: func(d *config.Document) error {
				if !d.RemoveProfile("prod") {
					return errors.New("RemoveProfile(prod) = false")
				}
				if d.RemoveProfile("prod") {
					return errors.New("second RemoveProfile(prod) = true")
				}
				return nil
			},
			check: func(t *testing.T, d *config.Document, f *config.File) {
				if d.HasProfile("prod") || !slices.Equal(f.Names(), []string{"helm"}) {
					t.Errorf("profiles = %v", f.Names())
				}
				if f.CurrentProfile != "helm" {
					t.Errorf("current-profile = %q", f.CurrentProfile)
				}
			}},
		{name: "rename current profile keeps position and updates current-profile",
			edit: func(d *config.Document) error { return d.RenameProfile("helm", "onprem") },
			check: func(t *testing.T, d *config.Document, f *config.File) {
				if got := d.ProfileNames(); !slices.Equal(got, []string{"onprem", "prod"}) {
					t.Errorf("ProfileNames = %v, want onprem first", got)
				}
				if d.CurrentProfile() != "onprem" || f.CurrentProfile != "onprem" {
					t.Errorf("current-profile = %q", f.CurrentProfile)
				}
				if f.Profiles["onprem"].Auth.Username != "demo" || d.HasProfile("helm") {
					t.Errorf("profiles = %+v", f.Profiles)
				}
			}},
		{name: "rename another profile leaves current-profile",
			edit: func(d *config.Document) error { return d.RenameProfile("prod", "saas") },
			check: func(t *testing.T, d *config.Document, f *config.File) {
				if got := d.ProfileNames(); !slices.Equal(got, []string{"helm", "saas"}) {
					t.Errorf("ProfileNames = %v", got)
				}
				if f.CurrentProfile != "helm" || f.Profiles["saas"].Auth.ClientID != "my-client" {
					t.Errorf("file = %+v", f)
				}
			}},
		{name: "use another profile",
			edit: func(d *config.Document) error { d.SetCurrentProfile("prod"); return nil },
			check: func(t *testing.T, d *config.Document, f *config.File) {
				if d.CurrentProfile() != "prod" || f.CurrentProfile != "prod" {
					t.Errorf("current-profile = %q", f.CurrentProfile)
				}
				if out := render(t, d); !strings.Contains(out, "current-profile: prod # the usual one") {
					t.Errorf("comment on current-profile lost:\n%s", out)
				}
			}},
		{name: "clear current profile",
			// The line comment goes with its key.
			lost: []string{"# the usual one"},
			edit: func(d *config.Document) error { d.SetCurrentProfile(""); return nil },
			check: func(t *testing.T, d *config.Document, f *config.File) {
				if d.CurrentProfile() != "" || f.CurrentProfile != "" || strings.Contains(render(t, d), "current-profile") {
					t.Errorf("current-profile still set:\n%s", render(t, d))
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := parseDoc(t, editable)
			if err := tt.edit(d); err != nil {
				t.Fatal(err)
			}
			f := reload(t, d)
			tt.check(t, d, f)
			out := render(t, d)
			for _, s := range survivors {
				if slices.Contains(tt.lost, s) {
					continue
				}
				if !strings.Contains(out, s) {
					t.Errorf("%q lost by the edit:\n%s", s, out)
				}
			}
		})
	}
}

// TestDocumentKeepsFileComments: comments that belong to the file rather
// than to one key survive edits.
func TestDocumentKeepsFileComments(t *testing.T) {
	tests := []struct {
		name    string
		content string
		edit    func(d *config.Document)
		want    []string
	}{
		{name: "header attached to a kept key",
			content: "# header\ncurrent-profile: x\nprofiles:\n  x:\n    address: a\n",
			edit:    func(d *config.Document) { d.SetCurrentProfile("x") },
			want:    []string{"# header"}},
		{name: "header attached to the removed first key",
			content: "# header\ncurrent-profile: x\nprofiles:\n  x:\n    address: a\n",
			edit:    func(d *config.Document) { d.SetCurrentProfile("") },
			want:    []string{"# header"}},
		{name: "header separated by a blank line, no-op edit",
			content: "# header\n\ncurrent-profile: x\nprofiles:\n  x:\n    address: a\n",
			edit:    func(d *config.Document) {},
			want:    []string{"# header"}},
		{name: "comment at the end of the file, no-op edit",
			content: "profiles:\n  x:\n    address: a\n\n# footer\n",
			edit:    func(d *config.Document) {},
			want:    []string{"# footer"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := parseDoc(t, tt.content)
			tt.edit(d)
			out := render(t, d)
			for _, s := range tt.want {
				if !strings.Contains(out, s) {
					t.Errorf("%q lost:\n%s", s, out)
				}
			}
		})
	}
}

func TestDocumentErrors(t *testing.T) {
	tests := []struct {
		name     string
		edit     func(d *config.Document) error
		wantFrag string
	}{
		{"add existing", func(d *config.Document) error { return d.AddProfile("helm") }, "already exists"},
		{"set on missing profile", func(d *config.Document) error { return d.Set("nope", config.Address, "http://x") }, "does not exist"},
		{"rename missing", func(d *config.Document) error { return d.RenameProfile("nope", "new") }, "does not exist"},
		{"rename onto existing", func(d *config.Document) error { return d.RenameProfile("helm", "prod") }, "already exists"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := parseDoc(t, editable)
			before := render(t, d)
			err := tt.edit(d)
			var ue *config.UsageError
			if !errors.As(err, &ue) || !strings.Contains(err.Error(), tt.wantFrag) {
				t.Errorf("err = %T %v, want *UsageError containing %q", err, err, tt.wantFrag)
			}
			if after := render(t, d); after != before {
				t.Errorf("a failed edit changed the document:\n%s", after)
			}
		})
	}
}

// TestDocumentRefusesSecrets: no code path may put a secret in the file.
func TestDocumentRefusesSecrets(t *testing.T) {
	var refused []config.Key
	for _, f := range config.Fields {
		if f.Secret || f.EnvOnly {
			refused = append(refused, f.Key)
		}
	}
	refused = append(refused, "auth.nope", "password")
	for _, must := range []config.Key{config.Password, config.ClientSecret, config.Token, config.KeyPassphrase, config.KeystorePassword, config.KeystoreKeyPassword} {
		if !slices.Contains(refused, must) {
			t.Errorf("%s is not marked secret in config.Fields", must)
		}
	}
	for _, key := range refused {
		t.Run(string(key), func(t *testing.T) {
			d := parseDoc(t, editable)
			before := render(t, d)
			if err := d.Set("helm", key, "hunter2"); err == nil {
				t.Fatalf("Set(%s) accepted", key)
			}
			after := render(t, d)
			if after != before || strings.Contains(after, "hunter2") {
				t.Errorf("Set(%s) changed the document:\n%s", key, after)
			}
		})
	}
}

func TestDocumentEmptyAndNull(t *testing.T) {
	tests := []struct {
		name    string
		content string
	}{
		{"empty", ""},
		{"whitespace", "\n\n"},
		{"null profiles", "profiles:\n"},
		{"null profile", "profiles:\n  dev:\n"},
		// Found by FuzzParse: Load read these as empty, editing refused them.
		{"document start only", "---\n"},
		{"null document", "~\n"},
		{"empty tag", "!\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := parseDoc(t, tt.content)
			if !d.HasProfile("dev") {
				if err := d.AddProfile("dev"); err != nil {
					t.Fatal(err)
				}
			}
			if err := d.Set("dev", config.Address, "http://localhost:8088"); err != nil {
				t.Fatal(err)
			}
			if err := d.Set("dev", config.Username, "demo"); err != nil {
				t.Fatal(err)
			}
			d.SetCurrentProfile("dev")
			f := reload(t, d)
			if f.CurrentProfile != "dev" || f.Profiles["dev"].Address != "http://localhost:8088" || f.Profiles["dev"].Auth.Username != "demo" {
				t.Errorf("file = %+v\n%s", f, render(t, d))
			}
		})
	}
}

// TestDocumentAddedProfileLoads: a profile added with no settings yet
// (AddProfile writes `name: {}`) must be visible to Load, or `profile
// use` and `topology` disagree about whether it exists.
func TestDocumentAddedProfileLoads(t *testing.T) {
	d := parseDoc(t, "")
	if err := d.AddProfile("dev"); err != nil {
		t.Fatal(err)
	}
	d.SetCurrentProfile("dev")
	f := reload(t, d)
	if _, ok := f.Profiles["dev"]; !ok {
		t.Fatalf("Load lost profile dev:\n%s", render(t, d))
	}
	if _, err := config.Resolve(config.Options{File: f}); err != nil {
		t.Errorf("Resolve of the added profile: %v", err)
	}
}

func TestParseDocumentInvalid(t *testing.T) {
	tests := []struct {
		name     string
		content  string
		wantLine int
	}{
		{"syntax", "profiles:\n  prod:\n\taddress: x\n", 3},
		{"type", "profiles:\n  prod:\n    address: [1]\n", 3},
		{"name", "profiles:\n  Prod:\n    address: x\n", 2},
		{"top level scalar", "hello\n", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := config.ParseDocument("/c/config.yaml", []byte(tt.content))
			var fe *config.FileError
			if !errors.As(err, &fe) || fe.Line != tt.wantLine || fe.Path != "/c/config.yaml" {
				t.Errorf("err = %T %v, want *FileError at line %d", err, err, tt.wantLine)
			}
		})
	}
}

func TestEditWritesFileAndDirModes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "new", "camctl")
	path := filepath.Join(dir, "config.yaml")
	err := config.Edit(context.Background(), path, func(d *config.Document) error {
		if err := d.AddProfile("dev"); err != nil {
			return err
		}
		d.SetCurrentProfile("dev")
		return d.Set("dev", config.Address, "http://localhost:8088")
	})
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("file mode = %v, want 0600", fi.Mode().Perm())
	}
	di, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if di.Mode().Perm() != 0o700 {
		t.Errorf("dir mode = %v, want 0700", di.Mode().Perm())
	}
	f, err := config.Load(path)
	if err != nil || f.CurrentProfile != "dev" || f.Profiles["dev"].Address != "http://localhost:8088" {
		t.Errorf("Load = %+v, %v", f, err)
	}
	assertNoTempFiles(t, dir)
}

func TestEditExistingFileBecomes0600(t *testing.T) {
	path := writeFile(t, editable)
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := config.Edit(context.Background(), path, func(d *config.Document) error { d.SetCurrentProfile("prod"); return nil }); err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(path)
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("file mode = %v, want 0600", fi.Mode().Perm())
	}
	data, _ := os.ReadFile(path)
	for _, s := range survivors {
		if !strings.Contains(string(data), s) {
			t.Errorf("%q lost:\n%s", s, data)
		}
	}
}

func TestEditDoesNotModifyOnFailure(t *testing.T) {
	fnErr := errors.New("fn failed")
	tests := []struct {
		name    string
		content string
		fn      func(d *config.Document) error
		wantErr func(err error) bool
	}{
		{name: "invalid file", content: "profiles:\n  prod:\n    address: [1]\n",
			fn: func(d *config.Document) error { d.SetCurrentProfile("prod"); return nil },
			wantErr: func(err error) bool {
				var fe *config.FileError
				return errors.As(err, &fe) && fe.Line == 3
			}},
		{name: "invalid profile name in file", content: "profiles:\n  Prod:\n    address: x\n",
			fn: func(d *config.Document) error { return d.AddProfile("dev") },
			wantErr: func(err error) bool {
				var fe *config.FileError
				return errors.As(err, &fe) && fe.Line == 2
			}},
		{name: "fn fails", content: editable,
			fn:      func(d *config.Document) error { d.SetCurrentProfile("prod"); return fnErr },
			wantErr: func(err error) bool { return errors.Is(err, fnErr) }},
		{name: "usage error from an edit", content: editable,
			fn: func(d *config.Document) error { return d.AddProfile("helm") },
			wantErr: func(err error) bool {
				var ue *config.UsageError
				return errors.As(err, &ue)
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, tt.content)
			before, _ := os.Stat(path)
			err := config.Edit(context.Background(), path, tt.fn)
			if err == nil || !tt.wantErr(err) {
				t.Fatalf("Edit = %T %v", err, err)
			}
			data, _ := os.ReadFile(path)
			if string(data) != tt.content {
				t.Errorf("file changed:\n%s", data)
			}
			after, _ := os.Stat(path)
			if !os.SameFile(before, after) || !after.ModTime().Equal(before.ModTime()) {
				t.Error("file was replaced")
			}
			assertNoTempFiles(t, filepath.Dir(path))
		})
	}
}

// TestEditConcurrent: 20 goroutines each add a profile to the same file
// and none is lost.
func TestEditConcurrent(t *testing.T) {
	const n = 20
	path := filepath.Join(t.TempDir(), "camctl", "config.yaml")
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			name := fmt.Sprintf("p%02d", i)
			errs <- config.Edit(context.Background(), path, func(d *config.Document) error {
				if err := d.AddProfile(name); err != nil {
					return err
				}
				return d.Set(name, config.Address, "http://"+name+":8080")
			})
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("Edit: %v", err)
		}
	}
	f, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := len(f.Profiles); got != n {
		t.Errorf("%d profiles after %d concurrent adds: %v", got, n, f.Names())
	}
	for i := range n {
		name := fmt.Sprintf("p%02d", i)
		if f.Profiles[name].Address != "http://"+name+":8080" {
			t.Errorf("profile %s = %+v", name, f.Profiles[name])
		}
	}
	assertNoTempFiles(t, filepath.Dir(path))
}

// assertNoTempFiles checks that only the file itself and its lock are left.
func assertNoTempFiles(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp") {
			t.Errorf("temporary file left behind: %s", e.Name())
		}
	}
}
