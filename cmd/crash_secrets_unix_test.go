//go:build unix

package cmd

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/camctl/camctl/internal/auth"
	"github.com/camctl/camctl/internal/build"
	"github.com/camctl/camctl/internal/config"
	"github.com/camctl/camctl/internal/session"
)

// The SIGKILL tests of spec §5: a crash at any point of a first login,
// a rename or a remove leaves no secret that a profile which was not
// logged in could pick up, and the next command leaves no plaintext
// temporary copy of secrets.json behind. The processes store secrets in
// the plain-text file (CAMCTL_KEYRING=none, --insecure-storage), whose
// atomic writes leave such temporary files when killed.

const crashKills = 100

const crashPassword = "Crash-S3cret-pw"

// secretsFile is where the sandbox's camctl keeps --insecure-storage
// secrets (camctl's own config directory under HOME).
func (s *sandbox) secretsFile() string {
	return filepath.Join(s.home(), ".config", "camctl", "secrets.json")
}

func (s *sandbox) home() string {
	for _, kv := range s.env {
		if v, ok := strings.CutPrefix(kv, "HOME="); ok {
			return v
		}
	}
	s.t.Fatal("no HOME in the sandbox")
	return ""
}

// inProcess runs camctl ARGS in this process with the sandbox's
// environment: the quick "next command" after a kill.
func (s *sandbox) inProcess(stdin string, args ...string) (int, string, string) {
	s.t.Helper()
	env := map[string]string{}
	for _, kv := range s.env {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	streams, in, out, errOut := TestIO()
	in.WriteString(stdin)
	f := &Factory{IO: streams, LookupEnv: envMap(env), Build: build.Info{Version: "test"}, Global: &GlobalOptions{},
		Prompt: func(context.Context, string) (string, error) {
			s.t.Fatal("unexpected prompt")
			return "", nil
		},
		PromptSecret: func(context.Context, string) (string, error) {
			s.t.Fatal("unexpected secret prompt")
			return "", nil
		},
	}
	f.Secrets = session.CachedSecrets(f.systemSecrets)
	return run(s.t, f, args...), out.String(), errOut.String()
}

// mustInProcess is inProcess for a command that has to succeed.
func (s *sandbox) mustInProcess(stdin string, args ...string) string {
	s.t.Helper()
	code, out, errOut := s.inProcess(stdin, args...)
	if code != 0 {
		s.t.Fatalf("camctl %s: exit %d: %s", strings.Join(args, " "), code, errOut)
	}
	return out
}

// reachable reports whether profile name finds its stored password: the
// Authorization header `token --header` prints needs nothing else, and
// it sends nothing anywhere.
func (s *sandbox) reachable(name string) bool {
	s.t.Helper()
	code, out, errOut := s.inProcess("", "-p", name, "token", "--header")
	switch {
	case code == 0 && strings.HasPrefix(out, "Authorization: Basic "):
		return true
	case code == ExitAuth && strings.Contains(errOut, "no password for profile "+name):
		return false
	}
	s.t.Fatalf("token --header -p %s: exit %d: %s%s", name, code, out, errOut)
	return false
}

// storedKeys lists the keys of the items in secrets.json.
func (s *sandbox) storedKeys() []string {
	s.t.Helper()
	data, err := os.ReadFile(s.secretsFile())
	if err != nil {
		return nil
	}
	var m map[string]string
	if err := json.Unmarshal(data, &m); err != nil {
		s.t.Fatalf("secrets.json is damaged: %v", err)
	}
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	return keys
}

// crashRun kills camctl ARGS (with stdin) after delay (never, for a
// negative delay) and reports whether it had finished by then.
func (s *sandbox) crashRun(delay time.Duration, stdin string, args ...string) procResult {
	s.t.Helper()
	p := &proc{t: s.t, cmd: s.command(nil, args...)}
	p.cmd.Stdin = strings.NewReader(stdin)
	p.cmd.Stdout, p.cmd.Stderr = &p.out, &p.errOut
	p.started = time.Now()
	if err := p.cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	if delay >= 0 {
		time.Sleep(delay) // the random kill moment is the point of the test
		_ = p.cmd.Process.Kill()
	}
	return p.wait()
}

// crashSetup is a sandbox with an API that accepts demo/crashPassword.
func crashSetup(t *testing.T) (*sandbox, *fakeServer) {
	t.Helper()
	srv := newFakeServer(t)
	srv.fake.RequireBasic("demo", crashPassword)
	s := newSandbox(t)
	writeConfig(t, s.config, "profiles: {}\n")
	return s, srv
}

func crashRNG(t *testing.T) *rand.Rand {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	return rand.New(rand.NewPCG(seed, seed))
}

// TestKillDuringFirstLogin kills a first `login --insecure-storage`
// (which creates the profile) at moments spread over a whole run. The
// profile is written with its id before its secret, so: a killed login
// leaves either no profile (and then a namesake created afterwards finds
// nothing), or the profile, logged in or not. The next command (logout)
// removes any temporary copy of secrets.json.
func TestKillDuringFirstLogin(t *testing.T) {
	s, srv := crashSetup(t)
	rng := crashRNG(t)
	login := func(name string) []string {
		return []string{"login", "-p", name, "--address", srv.URL, "--username", "demo", "--password-stdin", "--insecure-storage"}
	}
	typical := typicalRun(t, 5, func(i int) procResult {
		return s.crashRun(-1, crashPassword+"\n", login(fmt.Sprintf("warm%d", i))...)
	})
	t.Logf("typical first login: %v", typical)
	delays := killDelays(rng, crashKills, typical+typical/2)
	outcomes := map[string]int{}
	t0 := time.Now()
	for i, d := range delays {
		// Each kill on the same small state, so that every run takes about
		// the typical time; the name is new all the same (a first login).
		writeConfig(t, s.config, "profiles: {}\n")
		name := fmt.Sprintf("p%03d", i)
		r := s.crashRun(d, crashPassword+"\n", login(name)...)
		if !r.killed && r.code != 0 {
			t.Fatalf("iteration %d: %v", i, r)
		}
		if len(tempFiles(t, filepath.Dir(s.secretsFile()))) > 0 {
			outcomes["temporary secrets file left by the kill"]++
		}
		file, err := config.Load(s.config)
		if err != nil {
			t.Fatalf("iteration %d: the config after the kill: %v", i, err)
		}
		_, exists := file.Profiles[name]
		switch {
		case !exists:
			outcomes["killed before the profile was written"]++
			// A namesake that was never logged in must find nothing.
			s.mustInProcess("", "profile", "add", name, "--address", srv.URL, "--username", "demo")
			if s.reachable(name) {
				t.Fatalf("iteration %d (kill after %v): a new profile %s finds a password it was never given", i, d, name)
			}
		case s.reachable(name):
			outcomes["logged in"]++
		default:
			outcomes["profile written, secret not yet"]++
		}
		// The next command on the secrets: logout.
		s.mustInProcess("", "logout", "-p", name)
		if s.reachable(name) {
			t.Fatalf("iteration %d: profile %s still finds a password after logout", i, name)
		}
		if tmp := tempFiles(t, filepath.Dir(s.secretsFile())); len(tmp) > 0 {
			t.Fatalf("iteration %d: plaintext temporary files after the next command: %v", i, tmp)
		}
		for _, k := range s.storedKeys() {
			if strings.Contains(k, "/profile/") {
				t.Fatalf("iteration %d: an item keyed by a profile name: %s", i, k)
			}
		}
	}
	t.Logf("%d kills of a first login (0..%v) in %v: %v", crashKills, typical+typical/2, time.Since(t0).Round(time.Millisecond), outcomes)
}

// legacyProfile writes a profile as camctl wrote it before ids: no id in
// the config file, and its password in secrets.json under its name.
func (s *sandbox) legacyProfile(name, address string) {
	s.t.Helper()
	writeConfig(s.t, s.config, fmt.Sprintf("current-profile: %s\nprofiles:\n  %s:\n    address: %s\n    auth:\n      method: basic\n      username: demo\n", name, name, address))
	ns := config.SecretNamespace(s.config, func(string) string { return "" })
	if err := os.MkdirAll(filepath.Dir(s.secretsFile()), 0o700); err != nil {
		s.t.Fatal(err)
	}
	_ = os.Remove(s.secretsFile())
	if err := auth.NewFileStore(s.secretsFile()).Set(s.t.Context(), ns+"profile/"+name+"/auth.password", crashPassword); err != nil {
		s.t.Fatal(err)
	}
}

// freshProfile writes a profile with an id and logs it in.
func (s *sandbox) freshProfile(name, address string) {
	s.t.Helper()
	writeConfig(s.t, s.config, "profiles: {}\n")
	_ = os.Remove(s.secretsFile())
	s.mustInProcess(crashPassword+"\n", "login", "-p", name, "--address", address, "--username", "demo", "--password-stdin", "--insecure-storage")
}

// TestKillDuringRename kills `profile rename` at random moments, of a
// profile with an id (nothing in the store moves) and of one from before
// ids (its items move to an id first). Whichever name the profile has
// after the kill still finds its password; the other name, given to a
// new profile, finds nothing.
func TestKillDuringRename(t *testing.T) {
	s, srv := crashSetup(t)
	rng := crashRNG(t)
	typical := typicalRun(t, 5, func(i int) procResult {
		s.legacyProfile("old", srv.URL)
		return s.crashRun(-1, "", "profile", "rename", "old", "new")
	})
	t.Logf("typical rename (with the move to an id): %v", typical)
	delays := killDelays(rng, crashKills, typical+typical/2)
	outcomes := map[string]int{}
	t0 := time.Now()
	for i, d := range delays {
		kind := "legacy"
		if i%2 == 0 {
			kind = "with id"
			s.freshProfile("old", srv.URL)
		} else {
			s.legacyProfile("old", srv.URL)
		}
		r := s.crashRun(d, "", "profile", "rename", "old", "new")
		if !r.killed && r.code != 0 {
			t.Fatalf("iteration %d: %v", i, r)
		}
		file, err := config.Load(s.config)
		if err != nil {
			t.Fatalf("iteration %d: the config after the kill: %v", i, err)
		}
		_, hasOld := file.Profiles["old"]
		_, hasNew := file.Profiles["new"]
		if hasOld == hasNew {
			t.Fatalf("iteration %d: old %v, new %v: want exactly one", i, hasOld, hasNew)
		}
		now, gone := "new", "old"
		if hasOld {
			now, gone = "old", "new"
		}
		outcomes[kind+": "+now]++
		if !s.reachable(now) {
			t.Fatalf("iteration %d (%s, kill after %v): profile %s lost its password", i, kind, d, now)
		}
		s.mustInProcess("", "profile", "add", gone, "--address", srv.URL, "--username", "demo")
		if s.reachable(gone) {
			t.Fatalf("iteration %d (%s, kill after %v): a new profile %s finds the renamed profile's password", i, kind, d, gone)
		}
		// The next command on the secrets.
		s.mustInProcess("", "profile", "remove", gone)
		if tmp := tempFiles(t, filepath.Dir(s.secretsFile())); len(tmp) > 0 {
			t.Fatalf("iteration %d: plaintext temporary files after the next command: %v", i, tmp)
		}
	}
	t.Logf("%d kills of a rename (0..%v) in %v: %v", crashKills, typical+typical/2, time.Since(t0).Round(time.Millisecond), outcomes)
}

// TestKillDuringRemove kills `profile remove` at random moments. The
// profile leaves the config file before its items are deleted, so: while
// it is in the file it still finds its password; once it is gone, a
// namesake finds nothing, whatever the kill left in the store. The next
// command (logout of the namesake) removes temporary copies.
func TestKillDuringRemove(t *testing.T) {
	s, srv := crashSetup(t)
	rng := crashRNG(t)
	typical := typicalRun(t, 5, func(i int) procResult {
		s.freshProfile("rm", srv.URL)
		return s.crashRun(-1, "", "profile", "remove", "rm")
	})
	t.Logf("typical remove: %v", typical)
	delays := killDelays(rng, crashKills, typical+typical/2)
	outcomes := map[string]int{}
	t0 := time.Now()
	for i, d := range delays {
		kind := "legacy"
		if i%2 == 0 {
			kind = "with id"
			s.freshProfile("rm", srv.URL)
		} else {
			s.legacyProfile("rm", srv.URL)
		}
		r := s.crashRun(d, "", "profile", "remove", "rm")
		if !r.killed && r.code != 0 {
			t.Fatalf("iteration %d: %v", i, r)
		}
		file, err := config.Load(s.config)
		if err != nil {
			t.Fatalf("iteration %d: the config after the kill: %v", i, err)
		}
		if _, ok := file.Profiles["rm"]; ok {
			outcomes[kind+": killed before the profile left the file"]++
			if !s.reachable("rm") {
				t.Fatalf("iteration %d (%s, kill after %v): the profile is still there but lost its password", i, kind, d)
			}
			continue
		}
		outcomes[kind+": profile removed"]++
		s.mustInProcess("", "profile", "add", "rm", "--address", srv.URL, "--username", "demo")
		if s.reachable("rm") {
			t.Fatalf("iteration %d (%s, kill after %v): a namesake of the removed profile finds its password", i, kind, d)
		}
		s.mustInProcess("", "logout", "-p", "rm")
		if tmp := tempFiles(t, filepath.Dir(s.secretsFile())); len(tmp) > 0 {
			t.Fatalf("iteration %d: plaintext temporary files after the next command: %v", i, tmp)
		}
	}
	t.Logf("%d kills of a remove (0..%v) in %v: %v", crashKills, typical+typical/2, time.Since(t0).Round(time.Millisecond), outcomes)
}
