package config_test

import (
	"maps"
	"strings"
	"testing"

	"github.com/camctl/camctl/internal/config"
)

func TestParseEnvFile(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    map[string]string
		wantErr string
	}{
		{name: "Console download", in: "export ZEEBE_CLIENT_ID='id'\nexport ZEEBE_CLIENT_SECRET='s3cr#t'\n", want: map[string]string{"ZEEBE_CLIENT_ID": "id", "ZEEBE_CLIENT_SECRET": "s3cr#t"}},
		{name: "double quotes with escapes", in: `K="a \"b\" c\\"`, want: map[string]string{"K": `a "b" c\`}},
		{name: "plain with comment, CRLF", in: "# x\r\nK=v # note\r\nE=\r\n", want: map[string]string{"K": "v", "E": ""}},
		// Found while writing FuzzParseEnvFile's seeds: Notepad's byte
		// order mark, and export followed by a tab.
		{name: "byte order mark", in: "\ufeffexport K='v'\n", want: map[string]string{"K": "v"}},
		{name: "export and a tab", in: "export\tK=v\n", want: map[string]string{"K": "v"}},
		{name: "a key named export", in: "export=v\n", want: map[string]string{"export": "v"}},
		// Found by FuzzParseEnvFile: a carriage return inside a key.
		{name: "carriage return in a key", in: "A\rB=v\n", wantErr: "line 1: expected KEY=value"},
		{name: "export of a comment", in: "export #=v\n", wantErr: "line 1: expected KEY=value"},
		{name: "no equals sign", in: "K v-secret\n", wantErr: "line 1: expected KEY=value"},
		{name: "space in the key", in: "\nMY K=v-secret\n", wantErr: "line 2: expected KEY=value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := config.ParseEnvFile(strings.NewReader(tt.in))
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("ParseEnvFile = %q, %v; want error %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil || !maps.Equal(got, tt.want) {
				t.Fatalf("ParseEnvFile = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}
