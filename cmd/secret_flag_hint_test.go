package cmd

import (
	"errors"
	"strings"
	"testing"
)

func TestSecretFlagHint(t *testing.T) {
	tests := []struct{ err, want string }{
		{"unknown flag: --password", "--password-stdin"},
		{"unknown flag: --client-secret=abc", "--client-secret-stdin"},
		{"unknown flag: --token", "--token-stdin"},
		{"unknown flag: --key-passphrase", "CAMUNDA_MTLS_KEY_PASSPHRASE"},
		{"unknown flag: --keystore-password", "CAMUNDA_SSL_CLIENT_KEYSTORE_SECRET"},
		// Typos and stdin flags a command does not take are no secrets.
		{"unknown flag: --token-urll", ""},
		{"unknown flag: --password-stdin", ""},
		{"unknown shorthand flag: 'x' in -x", ""},
	}
	for _, tt := range tests {
		got := secretFlagHint(errors.New(tt.err))
		if (tt.want == "") != (got == "") || !strings.Contains(got, tt.want) {
			t.Errorf("secretFlagHint(%q) = %q, want one naming %q", tt.err, got, tt.want)
		}
	}
}
