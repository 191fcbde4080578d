package leakcheck

import "testing"

func TestLeaked(t *testing.T) {
	tests := []struct{ msg, fixed, secret, want string }{
		{"unknown anchor 'Pa55word' referenced", "", "*Pa55word!", "Pa55wo"},
		{"bad value 'Pa55w…'", "", "Pa55word", ""},
		{"invalid_client for client_secret", "invalid_client for client_secret", "client_secret", ""},
		{"nothing here", "", "hunter2hunter2", ""},
	}
	for _, tt := range tests {
		if got := Leaked(tt.msg, tt.fixed, tt.secret); got != tt.want {
			t.Errorf("Leaked(%q, %q, %q) = %q, want %q", tt.msg, tt.fixed, tt.secret, got, tt.want)
		}
	}
	if o := Other("pässwörd"); o != "QQQQQQQQ" {
		t.Errorf("Other = %q", o)
	}
}
