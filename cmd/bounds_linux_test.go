//go:build linux

package cmd

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// emptyBrokersBody is the hostile topology of issue 10: as many empty
// brokers as the 4 MiB body cap admits (some 1.4 million).
func emptyBrokersBody() []byte {
	var b bytes.Buffer
	b.WriteString(`{"clusterSize":1,"partitionsCount":1,"replicationFactor":1,"gatewayVersion":"8.8.0","brokers":[`)
	for b.Len() < 4<<20-16 {
		b.WriteString(`{},`)
	}
	b.WriteString(`{}]}`)
	return b.Bytes()
}

// serve answers GET /v2/topology with body.
func serve(t *testing.T, body []byte) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestRenderMemoryIsBounded: spec §8 — no answer makes camctl use more
// than 256 MiB. Before the fix the text view of this body took 600 MB
// and -o yaml 2.5 GB. The peak RSS of the child process is the measure
// (only logged under the race detector, which multiplies memory use).
func TestRenderMemoryIsBounded(t *testing.T) {
	body := emptyBrokersBody()
	srv := serve(t, body)
	s := newSandbox(t)
	for _, format := range []string{OutputText, OutputJSON, OutputYAML} {
		t.Run(format, func(t *testing.T) {
			r, rss := peakRSS(t, s, []string{"CAMUNDA_REST_ADDRESS=" + srv.URL}, "topology", "-o", format)
			if r.code != 0 {
				t.Fatalf("%v", r)
			}
			t.Logf("-o %s: peak RSS %d MiB, %s, %d bytes out", format, rss>>20, r.took.Round(time.Millisecond), len(r.stdout))
			if rss > 256<<20 && !raceEnabled {
				t.Errorf("-o %s: peak RSS %d MiB, over 256 MiB", format, rss>>20)
			}
			if format == OutputText && !strings.Contains(r.stdout, "more brokers") {
				t.Errorf("text view does not say that brokers were left out:\n%.2000s", r.stdout)
			}
		})
	}
}

// TestSignalEndsRun: spec §8 — SIGTERM or Ctrl-C ends any command within
// a second, also one stuck on a body that never ends, one busy rendering
// a large answer and one whose output nobody reads (neither of the last
// two watches the context).
func TestSignalEndsRun(t *testing.T) {
	// A body that stalls after its first bytes, until the test ends.
	received := make(chan struct{}, 1)
	release := make(chan struct{})
	stalled := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte(`{"brokers":[`))
		w.(http.Flusher).Flush()
		received <- struct{}{}
		<-release
	}))
	t.Cleanup(func() { close(release); stalled.Close() })

	// A body that takes seconds to render as YAML: hundreds of thousands
	// of strings that need yaml.v3's own quoting.
	var big bytes.Buffer
	big.WriteString(`{"brokers":[],"x":[`)
	for big.Len() < 4<<20-16 {
		big.WriteString(`"1.0",`)
	}
	big.WriteString(`"1.0"]}`)
	slow := serve(t, big.Bytes())

	s := newSandbox(t)
	tests := []struct {
		name string
		srv  *httptest.Server
		sig  syscall.Signal
		args []string
		// ready waits until the run is where the test wants it.
		ready func(t *testing.T, stdout io.Reader)
		// drain: keep reading stdout after ready (else the run is
		// blocked writing it).
		drain bool
	}{
		{"SIGTERM during a stalled body", stalled, syscall.SIGTERM, []string{"topology", "--timeout", "1m"}, waitFor(received), true},
		{"SIGINT during a stalled body", stalled, syscall.SIGINT, []string{"topology", "--timeout", "1m"}, waitFor(received), true},
		{"SIGTERM during a long render", slow, syscall.SIGTERM, []string{"topology", "-o", "yaml"}, firstByte, true},
		{"SIGINT while nobody reads the output", slow, syscall.SIGINT, []string{"topology", "-o", "yaml"}, firstByte, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := s.command([]string{"CAMUNDA_REST_ADDRESS=" + tt.srv.URL}, tt.args...)
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = cmd.Process.Kill() })
			tt.ready(t, stdout)
			if tt.drain {
				go func() { _, _ = io.Copy(io.Discard, stdout) }()
			}
			signalled := time.Now()
			if err := cmd.Process.Signal(tt.sig); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case <-done:
				took := time.Since(signalled)
				code := cmd.ProcessState.ExitCode()
				t.Logf("gone %s after the signal, exit %d", took.Round(time.Millisecond), code)
				if took > time.Second {
					t.Errorf("took %s after the signal, want at most 1s", took)
				}
				if code != ExitError || !strings.Contains(stderr.String(), "Interrupted") {
					t.Errorf("exit %d, stderr %q; want exit %d and an Interrupted message", code, stderr.String(), ExitError)
				}
			case <-time.After(10 * time.Second):
				_ = cmd.Process.Kill()
				t.Fatalf("still running 10s after the signal; stderr: %s", stderr.String())
			}
		})
	}
}

func waitFor(ch <-chan struct{}) func(*testing.T, io.Reader) {
	return func(t *testing.T, _ io.Reader) {
		select {
		case <-ch:
		case <-time.After(30 * time.Second):
			t.Fatal("the request never arrived")
		}
	}
}

// firstByte waits for the first byte of output: rendering has begun.
func firstByte(t *testing.T, stdout io.Reader) {
	if _, err := io.ReadFull(stdout, make([]byte, 1)); err != nil {
		t.Fatalf("no output: %v", err)
	}
}

// TestInputFilesAreBounded: spec §3/§8 — the config file, a Console env
// file and every certificate, key and CA file must be a regular file of
// at most 1 MiB. A named pipe used to block forever and /dev/zero to
// fill 4 GB; now each is refused at once with exit 2 and what it is.
func TestInputFilesAreBounded(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(dir, "big.yaml")
	if err := os.WriteFile(big, bytes.Repeat([]byte("# padding\n"), 210000), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := newFakeServer(t)
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"config FIFO", nil, []string{"--config", fifo, "topology"}, "it is a named pipe"},
		{"config /dev/zero", nil, []string{"--config", "/dev/zero", "profile", "list"}, "it is a device"},
		{"config of 2 MiB", nil, []string{"--config", big, "topology"}, "larger than 1 MiB"},
		{"config directory", nil, []string{"--config", dir, "topology"}, "it is a directory"},
		{"edit a FIFO config", nil, []string{"--config", fifo, "profile", "add", "x"}, "it is a named pipe"},
		{"CA file /dev/zero", map[string]string{"CAMUNDA_REST_ADDRESS": srv.URL, "CAMUNDA_CA_CERTIFICATE_PATH": "/dev/zero"}, []string{"topology"}, "CA file /dev/zero: it is a device"},
		{"CA file FIFO", map[string]string{"CAMUNDA_REST_ADDRESS": srv.URL, "CAMUNDA_CA_CERTIFICATE_PATH": fifo}, []string{"topology"}, "it is a named pipe"},
		{"client cert FIFO", map[string]string{"CAMUNDA_REST_ADDRESS": srv.URL, "CAMUNDA_MTLS_CERT_PATH": fifo, "CAMUNDA_MTLS_KEY_PATH": fifo}, []string{"topology"}, "it is a named pipe"},
		{"env file /dev/zero", nil, []string{"profile", "add", "x", "--from-env-file", "/dev/zero"}, "--from-env-file /dev/zero: it is a device"},
		{"env file FIFO", nil, []string{"profile", "add", "x", "--from-env-file", fifo}, "it is a named pipe"},
		{"--ca-file /dev/zero at profile add", nil, []string{"profile", "add", "x", "--ca-file", "/dev/zero"}, "--ca-file /dev/zero: it is a device"},
		{"--client-cert FIFO at login", nil, []string{"login", "-p", "x", "--client-cert", fifo}, "it is a named pipe"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, _, _, errOut := testFactory(t, tt.env)
			start := time.Now()
			code := run(t, f, tt.args...)
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("took %s", d)
			}
			if code != ExitUsage || !strings.Contains(errOut.String(), tt.want) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, errOut, ExitUsage, tt.want)
			}
		})
	}
}
