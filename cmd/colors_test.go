package cmd

import "testing"

// Colour only on a terminal, never with NO_COLOR (set and not empty) or --no-color.
func TestColors(t *testing.T) {
	tests := []struct {
		name    string
		tty     bool
		noColor string
		flag    bool
		want    bool
	}{
		{"terminal", true, "", false, true},
		{"pipe", false, "", false, false},
		{"NO_COLOR", true, "1", false, false},
		{"NO_COLOR empty counts as unset", true, "", false, true},
		{"--no-color", true, "", true, false},
	}
	for _, tt := range tests {
		env := map[string]string{}
		if tt.noColor != "" {
			env["NO_COLOR"] = tt.noColor
		}
		f, _, _, _ := testFactory(t, env)
		f.IO.SetTTY(false, tt.tty, false)
		f.Global.NoColor = tt.flag
		if got := f.Colors().enabled; got != tt.want {
			t.Errorf("%s: colour %v, want %v", tt.name, got, tt.want)
		}
	}
}
