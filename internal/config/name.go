package config

import (
	"fmt"
	"regexp"
)

// Lower case and no dots: viper folds keys to lower case and splits them
// on dots, and the same names key secrets in the keyring.
var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

// NameRule is the profile-name rule as shown to users.
const NameRule = "^[a-z0-9][a-z0-9_-]{0,62}$"

// ValidateName reports whether name may be used as a profile name.
func ValidateName(name string) error {
	if !nameRE.MatchString(name) {
		return &UsageError{Msg: fmt.Sprintf("invalid profile name %q: a profile name must match %s (lower-case letters, digits, '-' and '_', at most 63 characters, starting with a letter or digit)", name, NameRule)}
	}
	return nil
}
