package cmd

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/camctl/camctl/internal/config"
)

// execRunF runs one command built by newCmd with args, as gh's
// TestNewCmdToken does: the flag rules run, runF receives the options
// (and does nothing), and a refused combination returns its error.
func execRunF(t *testing.T, cmd *cobra.Command, args []string) error {
	t.Helper()
	cmd.SetArgs(args)
	cmd.SetIn(strings.NewReader(""))
	cmd.SetOut(io.Discard)
	cmd.SetErr(io.Discard)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	_, err := cmd.ExecuteContextC(ctx)
	return err
}

func checkFlagErr(t *testing.T, err error, wantErr string) bool {
	t.Helper()
	if wantErr == "" {
		if err != nil {
			t.Fatalf("err = %v, want none", err)
		}
		return true
	}
	var fe *FlagError
	if !errors.As(err, &fe) || !strings.Contains(err.Error(), wantErr) {
		t.Fatalf("err = %T %v, want a *FlagError containing %q", err, err, wantErr)
	}
	return false
}

func TestNewCmdTopology(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		output  string
		want    TopologyOptions
		wantErr string
	}{
		{name: "plain", want: TopologyOptions{WaitTimeout: 5 * time.Minute, Output: ""}},
		{name: "wait", args: []string{"--wait", "--wait-timeout", "2m"}, want: TopologyOptions{Wait: true, WaitTimeout: 2 * time.Minute}},
		{name: "check json", args: []string{"--check"}, output: OutputJSON, want: TopologyOptions{Check: true, WaitTimeout: 5 * time.Minute, Output: OutputJSON}},
		{name: "wait-timeout alone", args: []string{"--wait-timeout", "2m"}, wantErr: "--wait-timeout goes with --wait"},
		{name: "zero wait-timeout", args: []string{"--wait", "--wait-timeout", "0s"}, wantErr: "it must be positive"},
		{name: "argument", args: []string{"extra"}, wantErr: "takes no arguments"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, _, _, _ := testFactory(t, nil)
			f.Global.Output, f.Global.Timeout = tt.output, 7*time.Second
			var got *TopologyOptions
			err := execRunF(t, NewCmdTopology(f, func(_ context.Context, o *TopologyOptions) error { got = o; return nil }), tt.args)
			if !checkFlagErr(t, err, tt.wantErr) {
				return
			}
			if got.Wait != tt.want.Wait || got.WaitTimeout != tt.want.WaitTimeout || got.Check != tt.want.Check || got.Output != tt.want.Output {
				t.Errorf("options = %+v, want %+v", *got, tt.want)
			}
			if got.Timeout != 7*time.Second || got.IO != f.IO || got.Session == nil || got.PollInterval != time.Second {
				t.Errorf("options lack the run's dependencies: %+v", *got)
			}
		})
	}
}

func TestNewCmdToken(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		output  string
		want    TokenOptions
		wantErr string
	}{
		{name: "plain", want: TokenOptions{}},
		{name: "refresh header", args: []string{"--refresh", "--header"}, want: TokenOptions{Refresh: true, Header: true}},
		{name: "decode", args: []string{"--decode"}, want: TokenOptions{Decode: true}},
		{name: "yaml", output: OutputYAML, want: TokenOptions{Output: OutputYAML}},
		{name: "header and decode", args: []string{"--header", "--decode"}, wantErr: "cannot be combined"},
		{name: "decode and json", args: []string{"--decode"}, output: OutputJSON, wantErr: "cannot be combined"},
		{name: "argument", args: []string{"extra"}, wantErr: "takes no arguments"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, _, _, _ := testFactory(t, nil)
			f.Global.Output = tt.output
			var got *TokenOptions
			err := execRunF(t, NewCmdToken(f, func(_ context.Context, o *TokenOptions) error { got = o; return nil }), tt.args)
			if !checkFlagErr(t, err, tt.wantErr) {
				return
			}
			if got.Refresh != tt.want.Refresh || got.Header != tt.want.Header || got.Decode != tt.want.Decode || got.Output != tt.want.Output {
				t.Errorf("options = %+v, want %+v", *got, tt.want)
			}
		})
	}
}

func TestNewCmdLogout(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantAll bool
		wantErr string
	}{
		{name: "selected", wantAll: false},
		{name: "all", args: []string{"--all"}, wantAll: true},
		{name: "argument", args: []string{"helm"}, wantErr: "takes no arguments"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, _, _, _ := testFactory(t, nil)
			var got *LogoutOptions
			err := execRunF(t, NewCmdLogout(f, func(_ context.Context, o *LogoutOptions) error { got = o; return nil }), tt.args)
			if !checkFlagErr(t, err, tt.wantErr) {
				return
			}
			if got.All != tt.wantAll {
				t.Errorf("All = %v, want %v", got.All, tt.wantAll)
			}
		})
	}
}

func TestNewCmdLogin(t *testing.T) {
	tests := []struct {
		name         string
		args         []string
		wantSettings map[config.Key]string
		wantStdin    string
		wantErr      string
	}{
		{name: "nothing", wantSettings: map[config.Key]string{}},
		{name: "new profile", args: []string{"--address", "https://c.example.com", "--auth", "basic", "--username", "demo", "--password-stdin"},
			wantSettings: map[config.Key]string{config.Address: "https://c.example.com", config.AuthMethod: "basic", config.Username: "demo"}, wantStdin: "password"},
		{name: "client secret", args: []string{"--client-secret-stdin", "--insecure-storage"}, wantSettings: map[config.Key]string{}, wantStdin: "client-secret"},
		{name: "token", args: []string{"--token-stdin"}, wantSettings: map[config.Key]string{}, wantStdin: "token"},
		{name: "argument", args: []string{"hunter2"}, wantErr: "not shown: it may be a secret"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, _, _, _ := testFactory(t, nil)
			var got *LoginOptions
			err := execRunF(t, NewCmdLogin(f, func(_ context.Context, o *LoginOptions) error { got = o; return nil }), tt.args)
			if !checkFlagErr(t, err, tt.wantErr) {
				return
			}
			if len(got.Settings) != len(tt.wantSettings) {
				t.Errorf("Settings = %v, want %v", got.Settings, tt.wantSettings)
			}
			for k, v := range tt.wantSettings {
				if got.Settings[k] != v {
					t.Errorf("Settings[%s] = %q, want %q", k, got.Settings[k], v)
				}
			}
			stdin := map[string]bool{"password": got.PasswordStdin, "client-secret": got.ClientSecretStdin, "token": got.TokenStdin}
			for name, set := range stdin {
				if set != (name == tt.wantStdin) {
					t.Errorf("--%s-stdin = %v", name, set)
				}
			}
			if tt.name == "client secret" && !got.InsecureStorage {
				t.Error("--insecure-storage not set")
			}
		})
	}
}

func TestNewCmdProfileEdit(t *testing.T) {
	tests := []struct {
		name         string
		set          bool
		args         []string
		wantName     string
		wantSettings map[config.Key]string
		wantInsecure bool
		wantErr      string
	}{
		{name: "add", args: []string{"helm", "--address", "https://c.example.com", "--auth", "none"}, wantName: "helm",
			wantSettings: map[config.Key]string{config.Address: "https://c.example.com", config.AuthMethod: "none"}},
		{name: "set insecure", set: true, args: []string{"helm", "--scope", "api", "--insecure-storage"}, wantName: "helm",
			wantSettings: map[config.Key]string{config.Scope: "api"}, wantInsecure: true},
		{name: "no name", args: []string{"--address", "https://c.example.com"}, wantErr: "needs a profile NAME"},
		{name: "two names", set: true, args: []string{"a", "b"}, wantErr: "needs a profile NAME"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, _, _, _ := testFactory(t, nil)
			var got *ProfileEditOptions
			runF := func(_ context.Context, o *ProfileEditOptions) error { got = o; return nil }
			cmd := newCmdProfileAdd(f, runF)
			if tt.set {
				cmd = newCmdProfileSet(f, runF)
			}
			if !checkFlagErr(t, execRunF(t, cmd, tt.args), tt.wantErr) {
				return
			}
			if got.Name != tt.wantName || got.Insecure != tt.wantInsecure || len(got.Settings) != len(tt.wantSettings) {
				t.Errorf("options = %+v", *got)
			}
			for k, v := range tt.wantSettings {
				if got.Settings[k] != v {
					t.Errorf("Settings[%s] = %q, want %q", k, got.Settings[k], v)
				}
			}
		})
	}
}

func TestNewCmdProfileNames(t *testing.T) {
	tests := []struct {
		name      string
		newCmd    func(*Factory, func(context.Context, *ProfileOptions) error) *cobra.Command
		args      []string
		wantNames []string
		wantErr   string
	}{
		{name: "use", newCmd: newCmdProfileUse, args: []string{"helm"}, wantNames: []string{"helm"}},
		{name: "use none", newCmd: newCmdProfileUse, wantErr: "needs a profile NAME"},
		{name: "remove", newCmd: newCmdProfileRemove, args: []string{"helm"}, wantNames: []string{"helm"}},
		{name: "rename", newCmd: newCmdProfileRename, args: []string{"a", "b"}, wantNames: []string{"a", "b"}},
		{name: "rename one", newCmd: newCmdProfileRename, args: []string{"a"}, wantErr: "needs OLD and NEW profile names"},
		{name: "list", newCmd: newCmdProfileList},
		{name: "list argument", newCmd: newCmdProfileList, args: []string{"x"}, wantErr: "takes no arguments"},
		{name: "current", newCmd: newCmdProfileCurrent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, _, _, _ := testFactory(t, nil)
			f.Global.Profile, f.Global.Output = "flagged", OutputJSON
			var got *ProfileOptions
			err := execRunF(t, tt.newCmd(f, func(_ context.Context, o *ProfileOptions) error { got = o; return nil }), tt.args)
			if !checkFlagErr(t, err, tt.wantErr) {
				return
			}
			if strings.Join(got.Names, " ") != strings.Join(tt.wantNames, " ") || got.ProfileFlag != "flagged" || got.Output != OutputJSON {
				t.Errorf("options = %+v", *got)
			}
		})
	}
	// A name that could not be a profile is refused before runF.
	f, _, _, _ := testFactory(t, nil)
	err := execRunF(t, newCmdProfileUse(f, func(context.Context, *ProfileOptions) error { t.Error("runF ran"); return nil }), []string{"../x"})
	if err == nil {
		t.Error("an invalid name was accepted")
	}
}

func TestNewCmdProfileShow(t *testing.T) {
	tests := []struct {
		name       string
		flag       string
		args       []string
		wantName   string
		wantByFlag bool
		wantErr    string
	}{
		{name: "selected", wantName: ""},
		{name: "by flag", flag: "helm", wantName: "helm", wantByFlag: true},
		{name: "argument", flag: "helm", args: []string{"prod"}, wantName: "prod"},
		{name: "two", args: []string{"a", "b"}, wantErr: "takes at most one profile NAME"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, _, _, _ := testFactory(t, nil)
			f.Global.Profile = tt.flag
			var got *ProfileShowOptions
			err := execRunF(t, newCmdProfileShow(f, func(_ context.Context, o *ProfileShowOptions) error { got = o; return nil }), tt.args)
			if !checkFlagErr(t, err, tt.wantErr) {
				return
			}
			if got.Name != tt.wantName || got.ByFlag != tt.wantByFlag {
				t.Errorf("Name, ByFlag = %q, %v; want %q, %v", got.Name, got.ByFlag, tt.wantName, tt.wantByFlag)
			}
		})
	}
}
