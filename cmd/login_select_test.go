package cmd

import (
	"strings"
	"testing"
)

// Login names where an unknown profile's name came from, as every other
// command does: `CAMCTL_PROFILE=nosuch camctl login` once said
// "(from --profile)".
func TestLoginUnknownProfileSource(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"env", map[string]string{"CAMCTL_PROFILE": "nosuch"}, []string{"login"}, `unknown profile "nosuch" (from $CAMCTL_PROFILE)`},
		{"flag", nil, []string{"login", "-p", "nosuch"}, `unknown profile "nosuch" (from --profile)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, _, _, errOut := testFactory(t, tt.env)
			if code := run(t, f, tt.args...); code != ExitUsage {
				t.Fatalf("exit %d, want %d; stderr:\n%s", code, ExitUsage, errOut)
			}
			if !strings.Contains(errOut.String(), tt.want) {
				t.Errorf("stderr does not say %q:\n%s", tt.want, errOut)
			}
		})
	}
}
