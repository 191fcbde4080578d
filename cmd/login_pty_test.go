//go:build linux

package cmd

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"

	"github.com/camctl/camctl/internal/testutil/fakecamunda"
	"github.com/camctl/camctl/internal/testutil/pkitest"
)

// ptySession runs camctl in a pseudo-terminal, as a user at a terminal
// would, and collects everything it writes there.
type ptySession struct {
	t    *testing.T
	cmd  *exec.Cmd
	ptmx *os.File
	mu   sync.Mutex
	out  bytes.Buffer
	more chan struct{}
	done chan struct{}
}

func startPTY(t *testing.T, env []string, args ...string) *ptySession {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append([]string{"CAMCTL_TEST_MAIN=1", "GORACE=atexit_sleep_ms=0", "PATH=" + os.Getenv("PATH"), "DBUS_SESSION_BUS_ADDRESS=", "XDG_RUNTIME_DIR=" + t.TempDir()}, env...)
	ptmx, err := pty.Start(cmd)
	if err != nil {
		t.Fatalf("start camctl in a pty: %v", err)
	}
	s := &ptySession{t: t, cmd: cmd, ptmx: ptmx, more: make(chan struct{}, 1), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		buf := make([]byte, 1024)
		for {
			n, err := ptmx.Read(buf)
			if n > 0 {
				s.mu.Lock()
				s.out.Write(buf[:n])
				s.mu.Unlock()
				select {
				case s.more <- struct{}{}:
				default:
				}
			}
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		ptmx.Close()
	})
	return s
}

func (s *ptySession) output() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.out.String()
}

// expect waits until the terminal shows text.
func (s *ptySession) expect(text string) {
	s.t.Helper()
	deadline := time.After(10 * time.Second)
	for !strings.Contains(s.output(), text) {
		select {
		case <-s.more:
		case <-s.done:
			if !strings.Contains(s.output(), text) {
				s.t.Fatalf("camctl ended without showing %q; terminal:\n%s", text, s.output())
			}
		case <-deadline:
			s.t.Fatalf("timed out waiting for %q; terminal:\n%s", text, s.output())
		}
	}
}

func (s *ptySession) send(text string) {
	s.t.Helper()
	if _, err := io.WriteString(s.ptmx, text); err != nil {
		s.t.Fatal(err)
	}
}

// wait returns camctl's exit code and checks that it left the terminal
// echoing again.
func (s *ptySession) wait() int {
	s.t.Helper()
	err := s.cmd.Wait()
	// Let the reader drain what camctl wrote before it exited.
	select {
	case <-s.done:
	case <-time.After(2 * time.Second):
	}
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		s.t.Fatal(err)
	}
	termios, err := unix.IoctlGetTermios(int(s.ptmx.Fd()), unix.TCGETS)
	if err != nil {
		s.t.Fatalf("read terminal state: %v", err)
	}
	if termios.Lflag&unix.ECHO == 0 {
		s.t.Errorf("camctl left the terminal without echo")
	}
	return code
}

// basicProfileConfig writes a config with a basic profile "helm" at the
// default place under a fresh XDG_CONFIG_HOME, returned as env too.
func basicProfileConfig(t *testing.T, url string) (configPath string, env []string) {
	t.Helper()
	home := t.TempDir()
	dir := filepath.Join(home, "camctl")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	configPath = filepath.Join(dir, "config.yaml")
	env = []string{"XDG_CONFIG_HOME=" + home, "HOME=" + home, "CAMCTL_CONFIG=" + configPath, "CAMCTL_KEYRING=none"}
	cfg := "current-profile: helm\nprofiles:\n  helm:\n    address: " + url + "\n    auth:\n      method: basic\n      username: demo\n"
	if err := os.WriteFile(configPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return configPath, env
}

// Ctrl-C at the hidden password prompt: camctl stops at once, restores the
// terminal, stores nothing and exits with 1.
func TestLoginCtrlCAtPasswordPrompt(t *testing.T) {
	srv := newFakeServer(t)
	srv.fake.RequireBasic("demo", "s3cret")
	cfg, env := basicProfileConfig(t, srv.URL)
	before, _ := os.ReadFile(cfg)

	s := startPTY(t, env, "login", "--insecure-storage")
	s.expect("Password for demo at " + srv.URL + ": ")
	s.send("half-typed")
	s.send("\x03")
	if code := s.wait(); code != ExitError {
		t.Errorf("exit code %d, want %d; terminal:\n%s", code, ExitError, s.output())
	}
	if !strings.Contains(s.output(), "Interrupted: login cancelled, nothing was stored.") {
		t.Errorf("no cancellation message; terminal:\n%s", s.output())
	}
	if strings.Contains(s.output(), "half-typed") {
		t.Errorf("the hidden input was echoed")
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(cfg), "secrets.json")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a secret was stored after Ctrl-C (stat: %v)", err)
	}
	after, _ := os.ReadFile(cfg)
	if !bytes.Equal(before, after) {
		t.Errorf("config changed after Ctrl-C:\n%s", after)
	}
	if srv.fake.Requests() != 0 {
		t.Errorf("camctl contacted the cluster after Ctrl-C")
	}
}

// The interactive happy path: the password typed at the hidden prompt is
// verified, stored, never echoed, and then used by topology.
func TestLoginHiddenPrompt(t *testing.T) {
	srv := newFakeServer(t)
	srv.fake.RequireBasic("demo", "s3cret")
	cfg, env := basicProfileConfig(t, srv.URL)

	s := startPTY(t, env, "login", "--insecure-storage")
	s.expect("Password for demo at " + srv.URL + ": ")
	s.send("s3cret\r")
	// On a terminal, login shows that it checks the cluster.
	s.expect("Checking " + srv.URL + "/v2/topology ... ok\r\nLogged in to")
	if code := s.wait(); code != 0 {
		t.Fatalf("exit code %d; terminal:\n%s", code, s.output())
	}
	if strings.Contains(s.output(), "s3cret") {
		t.Errorf("the password was echoed:\n%s", s.output())
	}
	f, _, out, errOut := testFactory(t, map[string]string{"CAMCTL_CONFIG": cfg, "CAMCTL_KEYRING": "none", "XDG_CONFIG_HOME": filepath.Dir(filepath.Dir(cfg))})
	f.Secrets = f.systemSecrets
	if code := run(t, f, "topology", "-o", "json"); code != 0 {
		t.Fatalf("topology after login: exit %d: %s", code, errOut)
	}
	if !strings.Contains(out.String(), `"gatewayVersion"`) {
		t.Errorf("unexpected topology output: %s", out)
	}
}

// Ctrl-C while the cluster does not answer aborts the verification and stores nothing.
func TestLoginInterruptedDuringVerification(t *testing.T) {
	srv := newFakeServer(t)
	srv.fake.RequireBasic("demo", "s3cret")
	srv.fake.Script(fakecamunda.Reply{Hang: true})
	cfg, env := basicProfileConfig(t, srv.URL)

	// -p: without it the variable would make up the environment profile.
	s := startPTY(t, append(env, "CAMUNDA_BASIC_AUTH_PASSWORD=s3cret"), "login", "-p", "helm", "--insecure-storage")
	select {
	case <-srv.fake.Arrived():
	case <-time.After(10 * time.Second):
		t.Fatalf("camctl never reached the cluster; terminal:\n%s", s.output())
	}
	s.expect("Checking " + srv.URL + "/v2/topology ... ")
	s.send("\x03")
	if code := s.wait(); code != ExitError {
		t.Errorf("exit code %d, want %d; terminal:\n%s", code, ExitError, s.output())
	}
	// The same words as Ctrl-C at the prompt (TestLoginCtrlCAtPasswordPrompt).
	// (The terminal echoes ^C after the label.)
	if !strings.Contains(s.output(), "interrupted\r\nInterrupted: login cancelled, nothing was stored.\r\n") {
		t.Errorf("no progress line or cancellation message; terminal:\n%q", s.output())
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(cfg), "secrets.json")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a secret was stored after an interrupted login")
	}
}

// login on a terminal asks for the passphrase of an encrypted client key
// (hidden, like the password), checks both against an mTLS cluster, and
// stores both; the next command needs neither.
func TestLoginAsksKeyPassphrase(t *testing.T) {
	pki := pkitest.New(t, "")
	fake := fakecamunda.New()
	fake.RequireBasic("demo", "s3cret")
	srv := httptest.NewUnstartedServer(fake)
	srv.TLS = pki.ServerTLSConfig(true)
	srv.StartTLS()
	t.Cleanup(func() { fake.Close(); srv.Close() })

	cfg, env := basicProfileConfig(t, srv.URL)
	more := fmt.Sprintf("    tls:\n      ca-file: %s\n      client-cert: %s\n      client-key: %s\n", pki.CACert, pki.ClientCert, pki.ClientKeyEncrypted)
	f, err := os.OpenFile(cfg, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprint(f, more)
	f.Close()

	s := startPTY(t, env, "login", "--insecure-storage")
	s.expect("Passphrase of the client key " + pki.ClientKeyEncrypted + ": ")
	s.send(pki.ClientKeyPassphrase + "\r")
	s.expect("Password for demo at " + srv.URL + ": ")
	s.send("s3cret\r")
	s.expect("The key passphrase is stored")
	if code := s.wait(); code != 0 {
		t.Fatalf("exit code %d; terminal:\n%s", code, s.output())
	}
	if strings.Contains(s.output(), pki.ClientKeyPassphrase) {
		t.Errorf("the passphrase was echoed:\n%s", s.output())
	}

	h, _, out, errOut := testFactory(t, map[string]string{"CAMCTL_CONFIG": cfg, "CAMCTL_KEYRING": "none", "XDG_CONFIG_HOME": filepath.Dir(filepath.Dir(cfg))})
	h.Secrets = h.systemSecrets
	if code := run(t, h, "topology", "-o", "json"); code != 0 {
		t.Fatalf("topology after login: exit %d: %s", code, errOut)
	}
	if !strings.Contains(out.String(), `"gatewayVersion"`) {
		t.Errorf("unexpected topology output: %s", out)
	}
}
