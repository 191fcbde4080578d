package config_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/camctl/camctl/internal/config"
)

// bigConfigs are files of about 1 MiB with some 40,000 keys (n = 1; a
// quarter of that for n = 4), shaped the ways that made parsing quadratic
// in yaml.v3 (one mapping with many keys): many profiles, one profile
// with many unknown keys, many unknown top-level keys.
func bigConfigs(n int) map[string]string {
	var profiles, keys, top strings.Builder
	profiles.WriteString("profiles:\n")
	for i := range 20000 / n {
		fmt.Fprintf(&profiles, "  p%d:\n    address: http://h%d:8080\n", i, i)
	}
	keys.WriteString("profiles:\n  dev:\n    address: http://x:8080\n")
	for i := range 40000 / n {
		fmt.Fprintf(&keys, "    k%d: v%d\n", i, i)
	}
	for i := range 40000 / n {
		fmt.Fprintf(&top, "key%d: value%d\n", i, i)
	}
	return map[string]string{"20k profiles": profiles.String(), "40k keys in a profile": keys.String(), "40k top-level keys": top.String()}
}

// fastestLoad is the best of three loads of path: the least disturbed by
// whatever else the machine is doing.
func fastestLoad(t *testing.T, path string, wantErr bool) time.Duration {
	t.Helper()
	best := time.Duration(1<<63 - 1)
	for range 3 {
		start := time.Now()
		_, err := config.Load(path)
		d := time.Since(start)
		if _, isFileErr := errors.AsType[*config.FileError](err); wantErr != isFileErr || (!wantErr && err != nil) {
			t.Fatalf("Load: %v (want a FileError: %v)", err, wantErr)
		}
		best = min(best, d)
	}
	return best
}

// TestLoadIsLinear: a config file at the size limit loads in well under
// a second, and four times the keys cost about four times the time, not
// sixteen (quadratic parsing took 7-26 s for these files). Wall-clock
// bounds on a shared CI machine are noisy, so the absolute bound is
// generous and the ratio is what proves linearity.
func TestLoadIsLinear(t *testing.T) {
	limit := time.Second
	if raceEnabled {
		limit *= 10
	}
	quarter := bigConfigs(4)
	for name, content := range bigConfigs(1) {
		t.Run(name, func(t *testing.T) {
			if len(content) > 1<<20 {
				t.Fatalf("test file is %d bytes, over the limit", len(content))
			}
			full := fastestLoad(t, writeFile(t, content), false)
			small := fastestLoad(t, writeFile(t, quarter[name]), false)
			t.Logf("%d bytes: %s; a quarter of it: %s", len(content), full, small)
			if full > limit {
				t.Errorf("Load of %d bytes took %s, want under %s", len(content), full, limit)
			}
			if small > 0 && full > 10*small+20*time.Millisecond {
				t.Errorf("four times the keys took %.1f times as long (%s vs %s): not linear", float64(full)/float64(small), full, small)
			}
			// A syntax error at the very end must not cost a parse per line.
			if d := fastestLoad(t, writeFile(t, content+"bad: [\n"), true); d > 2*limit {
				t.Errorf("Load of a broken %d-byte file took %s", len(content), d)
			}
		})
	}
}

func BenchmarkLoad(b *testing.B) {
	for name, content := range bigConfigs(1) {
		b.Run(strings.ReplaceAll(name, " ", "-"), func(b *testing.B) {
			path := writeFile(b, content)
			b.SetBytes(int64(len(content)))
			for b.Loop() {
				if _, err := config.Load(path); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func TestLoadOversized(t *testing.T) {
	_, err := config.Load(writeFile(t, strings.Repeat("# padding\n", 210000)))
	if _, ok := errors.AsType[*config.FileError](err); !ok || !strings.Contains(err.Error(), "larger than 1 MiB") {
		t.Fatalf("Load(2 MiB) = %v, want a FileError saying it is larger than 1 MiB", err)
	}
}

// TestLoadRefusesSecrets: spec §3 — a secret-looking key anywhere in
// the file is a configuration error with file and line, and the value is
// never repeated.
func TestLoadRefusesSecrets(t *testing.T) {
	const secret = "hunter2Pa55w0rd"
	tests := []struct {
		content string
		line    int
		key     string
	}{
		{"profiles:\n  helm:\n    auth:\n      method: basic\n      password: " + secret + "\n", 5, "profiles.helm.auth.password"},
		{"profiles:\n  prod:\n    auth:\n      client-secret: " + secret + "\n", 4, "profiles.prod.auth.client-secret"},
		{"profiles:\n  prod:\n    token: " + secret + "\n", 3, "profiles.prod.token"},
		{"profiles:\n  prod:\n    extra:\n      secret: " + secret + "\n", 4, "profiles.prod.extra.secret"},
		{"profiles:\n  prod:\n    tls:\n      keystore-password: " + secret + "\n", 4, "profiles.prod.tls.keystore-password"},
		{"token: " + secret + "\n", 1, "token"},
		// The spellings of SDKs and other tools (found by review).
		{"profiles:\n  prod:\n    auth:\n      clientSecret: " + secret + "\n", 4, "profiles.prod.auth.clientSecret"},
		{"profiles:\n  prod:\n    clientsecret: " + secret + "\n", 3, "profiles.prod.clientsecret"},
		{"profiles:\n  prod:\n    accessToken: " + secret + "\n", 3, "profiles.prod.accessToken"},
		{"profiles:\n  prod:\n    apiKey: " + secret + "\n", 3, "profiles.prod.apiKey"},
		{"profiles:\n  prod:\n    api-key: " + secret + "\n", 3, "profiles.prod.api-key"},
		{"profiles:\n  prod:\n    secretKey: " + secret + "\n", 3, "profiles.prod.secretKey"},
		{"profiles:\n  prod:\n    pwd: " + secret + "\n", 3, "profiles.prod.pwd"},
		{"profiles:\n  prod:\n    pass: " + secret + "\n", 3, "profiles.prod.pass"},
	}
	for _, tt := range tests {
		path := writeFile(t, tt.content)
		_, err := config.Load(path)
		fe, ok := errors.AsType[*config.FileError](err)
		if !ok || fe.Line != tt.line || !strings.Contains(err.Error(), tt.key+": a secret does not belong in the config file") || !strings.Contains(err.Error(), path) {
			t.Errorf("Load(%q) = %v, want a FileError at line %d about %s", tt.content, err, tt.line, tt.key)
			continue
		}
		if strings.Contains(err.Error(), secret[:5]) {
			t.Errorf("error %q repeats the value", err)
		}
	}
	// Settings whose names merely contain the words are fine.
	if _, err := config.Load(writeFile(t, "profiles:\n  prod:\n    auth:\n      token-url: https://kc/token\n    tls:\n      client-key: k.pem\n      keystore: k.p12\n    compass: x\n")); err != nil {
		t.Errorf("token-url, client-key, keystore, compass: %v", err)
	}
	// Profile names are names, whatever words they hold; their settings
	// are still checked.
	if _, err := config.Load(writeFile(t, "current: ci-token\nprofiles:\n  ci-token:\n    address: http://a\n  nosecret:\n    address: http://b\n")); err != nil {
		t.Errorf("profiles named ci-token and nosecret: %v", err)
	}
	if _, err := config.Load(writeFile(t, "profiles:\n  ci-token:\n    token: "+secret+"\n")); err == nil {
		t.Errorf("a token inside a profile named ci-token was accepted")
	}
}

// TestLoadWarnsUnknownKeys: spec §3 — a key inside a profile that camctl
// does not know is reported with the closest known key.
func TestLoadWarnsUnknownKeys(t *testing.T) {
	path := writeFile(t, "editor: vim\nprofiles:\n  dev:\n    adress: http://x\n    id: abc\n    color: red\n    method: basic\n    auth:\n      metod: basic\n      client-id: x\n    tls:\n      ca-fle: /x\n    x-mine:\n      anything: 1\n")
	f, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		path + ", line 4: profiles.dev.adress: unknown setting; did you mean address?",
		path + ", line 6: profiles.dev.color: unknown setting",
		path + ", line 7: profiles.dev.method: unknown setting; did you mean auth.method?",
		path + ", line 9: profiles.dev.auth.metod: unknown setting; did you mean method?",
		path + ", line 12: profiles.dev.tls.ca-fle: unknown setting; did you mean ca-file?",
		path + ", line 13: profiles.dev.x-mine: unknown setting",
	}
	if !slices.Equal(f.Warnings, want) {
		t.Errorf("Warnings =\n%s\nwant\n%s", strings.Join(f.Warnings, "\n"), strings.Join(want, "\n"))
	}
}
