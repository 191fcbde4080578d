//go:build unix

package login

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestSystemOpener starts $BROWSER with the URL as one argument (no
// shell: the & and spaces of a URL stay in it) and does not wait for it.
func TestSystemOpener(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "args")
	script := filepath.Join(dir, "browser")
	if err := os.WriteFile(script, []byte("#!/bin/sh\nprintf '%s\\n' \"$#\" \"$1\" > "+out+".tmp && mv "+out+".tmp "+out+"\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	const u = "https://idp/auth?a=1&b=$(id) c"
	open := SystemOpener(func(k string) string {
		if k == "BROWSER" {
			return script
		}
		return ""
	})
	if err := open(u); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if b, err := os.ReadFile(out); err == nil {
			if got, want := string(b), "1\n"+u+"\n"; got != want {
				t.Fatalf("the browser got %q, want %q", got, want)
			}
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("the browser was not started")
}

func TestSystemOpenerMissing(t *testing.T) {
	open := SystemOpener(func(k string) string {
		if k == "BROWSER" {
			return "/nonexistent/browser"
		}
		return ""
	})
	if err := open("https://idp/auth"); err == nil {
		t.Fatal("a missing browser opener is not reported")
	}
}
