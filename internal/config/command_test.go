package config_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/camctl/camctl/internal/config"
)

// auth.command is a list in the file (program and arguments, no shell),
// written as one and read back the same, arguments with spaces intact.
func TestCommandRoundTrip(t *testing.T) {
	argv := []string{"az", "account", "get-access-token", "--resource", "api://x y", "-o", "tsv"}
	doc, err := config.ParseDocument("config.yaml", []byte("profiles:\n  az:\n    address: https://camunda.example.com\n"))
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Set("az", config.Command, config.EncodeCommand(argv)); err != nil {
		t.Fatal(err)
	}
	if err := doc.Set("az", config.AuthMethod, config.MethodExec); err != nil {
		t.Fatal(err)
	}
	b, err := doc.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "command: [az, account, get-access-token, --resource, 'api://x y', -o, tsv]") {
		t.Errorf("written as:\n%s", b)
	}
	path := writeFile(t, string(b))
	f, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	r, err := config.Resolve(config.Options{ConfigPath: path, File: f, Profile: "az"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := config.DecodeCommand(r.Value(config.Command))
	if err != nil || !slices.Equal(got, argv) || r.Method() != config.MethodExec {
		t.Errorf("read back %q (%v), method %s", got, err, r.Method())
	}
	// "" removes it.
	if err := doc.Set("az", config.Command, ""); err != nil {
		t.Fatal(err)
	}
	if b, _ := doc.Bytes(); strings.Contains(string(b), "command") {
		t.Errorf("not removed:\n%s", b)
	}
}

func TestDecodeCommand(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []string
		err  bool
	}{
		{"", nil, false},
		{"vault", []string{"vault"}, false},
		{`["vault","read"]`, []string{"vault", "read"}, false},
		{`[]`, nil, true},
		{`[""]`, nil, true},
		{`["a",1]`, nil, true},
	} {
		got, err := config.DecodeCommand(c.in)
		if (err != nil) != c.err || !slices.Equal(got, c.want) {
			t.Errorf("DecodeCommand(%q) = %q, %v", c.in, got, err)
		}
	}
}
