package config_test

import (
	"path/filepath"
	"runtime"
	"testing"

	"github.com/camctl/camctl/internal/config"
)

func (e env) getenv(name string) string { return e[name] }

func TestPath(t *testing.T) {
	all := env{"CAMCTL_CONFIG": "/env/camctl.yaml", "XDG_CONFIG_HOME": "/xdg", "HOME": "/home/u"}
	tests := []struct {
		name      string
		flag      string
		env       env
		want      string
		linuxOnly bool
	}{
		{name: "flag beats everything", flag: "/flag/c.yaml", env: all, want: "/flag/c.yaml"},
		{name: "CAMCTL_CONFIG beats XDG", env: all, want: "/env/camctl.yaml"},
		{name: "XDG_CONFIG_HOME beats HOME", env: env{"XDG_CONFIG_HOME": "/xdg", "HOME": "/home/u"},
			want: filepath.Join("/xdg", "camctl", "config.yaml")},
		{name: "empty CAMCTL_CONFIG is ignored", env: env{"CAMCTL_CONFIG": "", "XDG_CONFIG_HOME": "/xdg"},
			want: filepath.Join("/xdg", "camctl", "config.yaml")},
		{name: "HOME/.config on Linux", env: env{"HOME": "/home/u"},
			want: "/home/u/.config/camctl/config.yaml", linuxOnly: true},
		{name: "empty XDG_CONFIG_HOME falls back to HOME", env: env{"XDG_CONFIG_HOME": "", "HOME": "/home/u"},
			want: "/home/u/.config/camctl/config.yaml", linuxOnly: true},
		{name: "relative flag kept as given", flag: "c.yaml", env: all, want: "c.yaml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.linuxOnly && runtime.GOOS != "linux" {
				t.Skip("HOME/.config is the Linux default")
			}
			got, err := config.Path(tt.flag, tt.env.getenv)
			if err != nil || got != tt.want {
				t.Errorf("Path(%q) = %q, %v; want %q", tt.flag, got, err, tt.want)
			}
		})
	}
}

func TestCacheDir(t *testing.T) {
	tests := []struct {
		name      string
		env       env
		want      string
		linuxOnly bool
	}{
		{name: "CAMCTL_CACHE_DIR beats XDG", env: env{"CAMCTL_CACHE_DIR": "/cache", "XDG_CACHE_HOME": "/xdg", "HOME": "/home/u"},
			want: "/cache"},
		{name: "XDG_CACHE_HOME", env: env{"XDG_CACHE_HOME": "/xdg", "HOME": "/home/u"},
			want: filepath.Join("/xdg", "camctl")},
		{name: "empty CAMCTL_CACHE_DIR is ignored", env: env{"CAMCTL_CACHE_DIR": "", "XDG_CACHE_HOME": "/xdg"},
			want: filepath.Join("/xdg", "camctl")},
		{name: "HOME/.cache on Linux from the injected environment", env: env{"HOME": "/home/u"},
			want: "/home/u/.cache/camctl", linuxOnly: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.linuxOnly && runtime.GOOS != "linux" {
				t.Skip("HOME/.cache is the Linux default")
			}
			// The process environment must not matter: only getenv does.
			t.Setenv("HOME", t.TempDir())
			t.Setenv("XDG_CACHE_HOME", "")
			got, err := config.CacheDir(tt.env.getenv)
			if err != nil || got != tt.want {
				t.Errorf("CacheDir() = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestSecretsPath(t *testing.T) {
	got, _ := config.SecretsPath(func(k string) string {
		return map[string]string{"HOME": "/home/u", config.EnvConfig: "/project/camctl.yaml"}[k]
	})
	if want := filepath.Join("/home/u/.config/camctl", "secrets.json"); got != want {
		t.Errorf("SecretsPath = %q, want %q", got, want)
	}
}

// Profiles of different config files never share a keyring entry; the
// default file keeps the plain account names.
func TestSecretNamespace(t *testing.T) {
	env := func(k string) string { return map[string]string{"HOME": "/home/u"}[k] }
	if ns := config.SecretNamespace("/home/u/.config/camctl/config.yaml", env); ns != "" {
		t.Errorf("default config: namespace %q, want none", ns)
	}
	a := config.SecretNamespace("/work/a/camctl.yaml", env)
	b := config.SecretNamespace("/work/b/camctl.yaml", env)
	if a == "" || b == "" || a == b {
		t.Errorf("namespaces %q and %q: want two different, non-empty ones", a, b)
	}
	if again := config.SecretNamespace("/work/a/camctl.yaml", env); again != a {
		t.Errorf("namespace not stable: %q then %q", a, again)
	}
}

func TestExpandHome(t *testing.T) {
	tests := []struct{ path, home, want string }{
		{"~/c.pem", "/home/u", "/home/u/c.pem"},
		{"~/.camctl/client.p12", "/home/u/", "/home/u/.camctl/client.p12"},
		{"~other/c.pem", "/home/u", "~other/c.pem"},
		{"/etc/c.pem", "/home/u", "/etc/c.pem"},
		{"~/c.pem", "", "~/c.pem"},
		{"", "/home/u", ""},
	}
	for _, tt := range tests {
		if got := config.ExpandHome(tt.path, tt.home); got != filepath.FromSlash(tt.want) && got != tt.want {
			t.Errorf("ExpandHome(%q, %q) = %q, want %q", tt.path, tt.home, got, tt.want)
		}
	}
}
