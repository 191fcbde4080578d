package config_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/camctl/camctl/internal/config"
)

func TestValidateName(t *testing.T) {
	tests := []struct {
		name  string
		valid bool
	}{
		{"prod", true},
		{"a", true},
		{"0", true},
		{"9lives", true},
		{"my-prod_2", true},
		{"local", true},
		{"a-", true},
		{"a_", true},
		{"a" + strings.Repeat("b", 62), true},  // 63 characters
		{"a" + strings.Repeat("b", 63), false}, // 64 characters
		{"", false},
		{"Prod", false},
		{"PROD", false},
		{"prod.eu", false},
		{".prod", false},
		{"-prod", false},
		{"_prod", false},
		{"my prod", false},
		{" prod", false},
		{"prod ", false},
		{"prod\n", false},
		{"prod/eu", false},
		{"prod:eu", false},
		{"prød", false},
		{"пrod", false},
		{"prod\u00a0", false},
		{"ｐｒｏｄ", false}, // full-width letters
		{config.EnvProfileName, false},
		// Names key secrets in the keyring ("profile/<name>/<setting>",
		// parts "<key>#<n>"): nothing that could reach another entry.
		{"../prod", false},
		{"..", false},
		{"a/b", false},
		{`prod\eu`, false},
		{"prod#1", false},
		{"prod%2fe", false},
		{"prod\x00", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := config.ValidateName(tt.name)
			if tt.valid {
				if err != nil {
					t.Errorf("ValidateName(%q) = %v, want nil", tt.name, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("ValidateName(%q) = nil, want an error", tt.name)
			}
			var ue *config.UsageError
			if !errors.As(err, &ue) {
				t.Errorf("error is %T, want *config.UsageError", err)
			}
			if !strings.Contains(err.Error(), config.NameRule) || !strings.Contains(err.Error(), "^[a-z0-9][a-z0-9_-]{0,62}$") {
				t.Errorf("error %q does not state the rule", err)
			}
		})
	}
}
