package config

import "fmt"

// NameRule is the profile-name rule as shown to users.
const NameRule = "^[a-z0-9][a-z0-9_-]{0,62}$"

// ValidateName reports whether name may be used as a profile name.
// Lower case and no dots: viper folds keys to lower case, names appear
// in dotted setting paths (profiles.NAME.address), and the keyring's
// items of profiles created before ids are keyed by name.
func ValidateName(name string) error {
	if !validName(name) {
		return &UsageError{Msg: fmt.Sprintf("invalid profile name %q: a profile name must match %s (lower-case letters, digits, '-' and '_', at most 63 characters, starting with a letter or digit)", name, NameRule)}
	}
	return nil
}

// validName implements NameRule (a loop, not a regexp: it runs on every
// invocation with --profile).
func validName(name string) bool {
	if len(name) == 0 || len(name) > 63 {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case (c == '-' || c == '_') && i > 0:
		default:
			return false
		}
	}
	return true
}
