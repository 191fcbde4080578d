package config

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// Path returns the configuration file to use and what chose it:
// --config, else $CAMCTL_CONFIG, else $XDG_CONFIG_HOME/camctl/config.yaml,
// else the OS user config dir. On macOS the last one is
// ~/Library/Application Support, the platform's documented place.
func Path(flag string, getenv func(string) string) (string, error) {
	if flag != "" {
		return flag, nil
	}
	if p := getenv(EnvConfig); p != "" {
		return p, nil
	}
	if x := getenv("XDG_CONFIG_HOME"); x != "" {
		return filepath.Join(x, "camctl", "config.yaml"), nil
	}
	dir, err := userConfigDir(getenv)
	if err != nil {
		return "", &UsageError{Msg: fmt.Sprintf("cannot find a place for the config file (%v): pass --config or set %s", err, EnvConfig)}
	}
	return filepath.Join(dir, "camctl", "config.yaml"), nil
}

// SecretsPath is the 0600 file that holds secrets only when the user
// asked for --insecure-storage: in camctl's own config directory, never
// beside a --config file (which may sit in a project's working tree).
func SecretsPath(getenv func(string) string) (string, error) {
	def, err := DefaultPath(getenv)
	if err != nil {
		return "", err
	}
	return filepath.Join(filepath.Dir(def), "secrets.json"), nil
}

// DefaultPath is the config file camctl uses without --config and
// $CAMCTL_CONFIG.
func DefaultPath(getenv func(string) string) (string, error) {
	return Path("", func(k string) string {
		if k == EnvConfig {
			return ""
		}
		return getenv(k)
	})
}

// SecretNamespace keeps the secrets of profiles in different config files
// apart: "" for the default config file, else a name derived from the
// file's absolute path. Two files with a profile "prod" must not share,
// or delete, each other's password.
func SecretNamespace(configPath string, getenv func(string) string) string {
	def, err := DefaultPath(getenv)
	abs, aerr := filepath.Abs(configPath)
	if err == nil && aerr == nil {
		if d, derr := filepath.Abs(def); derr == nil && d == abs {
			return ""
		}
	}
	if aerr != nil {
		abs = configPath
	}
	sum := sha256.Sum256([]byte(abs))
	return "config/" + hex.EncodeToString(sum[:6]) + "/"
}

// CacheDir is where access tokens are cached when the keyring is not
// reachable: $CAMCTL_CACHE_DIR, else the OS user cache dir + /camctl.
func CacheDir(getenv func(string) string) (string, error) {
	if d := getenv(EnvCacheDir); d != "" {
		return d, nil
	}
	if x := getenv("XDG_CACHE_HOME"); x != "" {
		return filepath.Join(x, "camctl"), nil
	}
	d, err := userCacheDir(getenv)
	if err != nil {
		return "", &UsageError{Msg: fmt.Sprintf("cannot find a cache directory (%v): set %s", err, EnvCacheDir)}
	}
	return filepath.Join(d, "camctl"), nil
}

func userCacheDir(getenv func(string) string) (string, error) {
	switch runtime.GOOS {
	case "windows", "darwin", "plan9":
		return os.UserCacheDir()
	}
	if home := getenv("HOME"); home != "" {
		return filepath.Join(home, ".cache"), nil
	}
	return os.UserCacheDir()
}

func userConfigDir(getenv func(string) string) (string, error) {
	switch runtime.GOOS {
	case "windows", "darwin", "plan9":
		return os.UserConfigDir()
	}
	if home := getenv("HOME"); home != "" {
		return filepath.Join(home, ".config"), nil
	}
	return os.UserConfigDir()
}

// ExpandHome expands a leading ~/ in path to home, as the shell would:
// inside a config file, a quoted variable or --flag=~/x it reaches camctl
// unexpanded. Without a home, path is returned as it is.
func ExpandHome(path, home string) string {
	if home == "" || !strings.HasPrefix(path, "~/") {
		return path
	}
	return filepath.Join(home, path[2:])
}
