package config

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
)

// IDKey is the key of a profile's id in the config file.
const IDKey = "id"

// NewProfileID returns a random profile id. Stored secrets are keyed by
// it (spec §5), so a profile that is renamed keeps them and a new profile
// that reuses a removed one's name can never find them.
func NewProfileID() string {
	b := make([]byte, 8)
	// crypto/rand.Read never fails (it crashes the program instead).
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// validID reports whether id may key stored items: letters, digits, '-'
// and '_' only, so it can never spell another key's separators.
func validID(id string) bool {
	if len(id) == 0 || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_':
		default:
			return false
		}
	}
	return true
}

func invalidIDError(profile string) error {
	return fmt.Errorf("the id of profile %q must be letters, digits, '-' and '_' (camctl writes it; remove the line and camctl assigns a new one, after which `camctl login -p %s` is needed)", profile, profile)
}
