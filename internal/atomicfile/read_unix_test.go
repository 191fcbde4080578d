//go:build unix

package atomicfile_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/camctl/camctl/internal/atomicfile"
)

// TestReadInputRefuses: every kind of file that is not a small regular
// file is refused at once, with what it is, and never read without bound
// or waited on.
func TestReadInputRefuses(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(dir, "big.yaml")
	if err := os.WriteFile(big, make([]byte, 2<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		path, want string
	}{
		{fifo, "a named pipe"},
		{"/dev/zero", "a device"},
		{dir, "a directory"},
		{big, "larger than 1 MiB (2097152 bytes)"},
	}
	for _, tt := range tests {
		start := time.Now()
		_, err := atomicfile.ReadInput(tt.path)
		if _, ok := errors.AsType[*atomicfile.InputFileError](err); !ok || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ReadInput(%s) = %v, want an InputFileError saying %q", tt.path, err, tt.want)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("ReadInput(%s) took %s", tt.path, d)
		}
	}
}

func TestReadInputReadsSmallFiles(t *testing.T) {
	dir := t.TempDir()
	exact := filepath.Join(dir, "exact")
	if err := os.WriteFile(exact, make([]byte, atomicfile.MaxInputFile), 0o600); err != nil {
		t.Fatal(err)
	}
	if b, err := atomicfile.ReadInput(exact); err != nil || len(b) != atomicfile.MaxInputFile {
		t.Fatalf("ReadInput(1 MiB) = %d bytes, %v", len(b), err)
	}
	if _, err := atomicfile.ReadInput(filepath.Join(dir, "none")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing file: %v, want ErrNotExist", err)
	}
}
