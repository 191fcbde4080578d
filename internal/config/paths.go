package config

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
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
// asked for --insecure-storage (or has no keyring): beside the config
// file, because the profile names it is keyed by belong to that file.
func SecretsPath(configPath string) string {
	return filepath.Join(filepath.Dir(configPath), "secrets.json")
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
