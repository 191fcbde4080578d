//go:build unix

package cmd

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gofrs/flock"

	"github.com/camctl/camctl/internal/auth"
	"github.com/camctl/camctl/internal/config"
	"github.com/camctl/camctl/internal/testutil/oidctest"
)

// sandbox is one user's camctl state: a config file and a token cache
// directory (no keyring: CAMCTL_KEYRING=none), shared by the camctl
// processes a test starts.
type sandbox struct {
	t      *testing.T
	config string // the config file
	cache  string // CAMCTL_CACHE_DIR
	env    []string
}

func newSandbox(t *testing.T) *sandbox {
	t.Helper()
	dir := t.TempDir()
	s := &sandbox{t: t, config: filepath.Join(dir, "config", "config.yaml"), cache: filepath.Join(dir, "cache")}
	s.env = []string{
		// TestMain turns this test binary into camctl.
		"CAMCTL_TEST_MAIN=1",
		// Under -race every child would otherwise sleep 1 s at exit.
		"GORACE=atexit_sleep_ms=0",
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + filepath.Join(dir, "home"),
		// No session bus: the keyring must not be looked for.
		"DBUS_SESSION_BUS_ADDRESS=",
		"XDG_RUNTIME_DIR=" + filepath.Join(dir, "run"),
		"CAMCTL_CONFIG=" + s.config,
		"CAMCTL_CACHE_DIR=" + s.cache,
		"CAMCTL_KEYRING=none",
	}
	return s
}

// command prepares camctl ARGS with the sandbox's environment plus env.
func (s *sandbox) command(env []string, args ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(slices.Clone(s.env), env...)
	return cmd
}

// procResult is a finished camctl process.
type procResult struct {
	args           []string
	code           int
	killed         bool
	stdout, stderr string
	took           time.Duration
}

func (r procResult) String() string {
	return fmt.Sprintf("camctl %s: exit %d after %v\nstderr: %s", strings.Join(r.args, " "), r.code, r.took.Round(time.Millisecond), r.stderr)
}

// proc is a started camctl process.
type proc struct {
	t           *testing.T
	cmd         *exec.Cmd
	out, errOut bytes.Buffer
	started     time.Time
}

// start starts camctl ARGS.
func (s *sandbox) start(env []string, args ...string) *proc {
	s.t.Helper()
	p := &proc{t: s.t, cmd: s.command(env, args...)}
	p.cmd.Stdout, p.cmd.Stderr = &p.out, &p.errOut
	p.started = time.Now()
	if err := p.cmd.Start(); err != nil {
		s.t.Fatalf("start camctl %s: %v", strings.Join(args, " "), err)
	}
	return p
}

// wait collects the process.
func (p *proc) wait() procResult {
	p.t.Helper()
	err := p.cmd.Wait()
	r := procResult{args: p.cmd.Args[1:], took: time.Since(p.started), stdout: p.out.String(), stderr: p.errOut.String()}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
		r.killed = r.code == -1
	case err != nil:
		p.t.Fatalf("camctl %s: %v", strings.Join(r.args, " "), err)
	}
	return r
}

// camctl runs camctl ARGS to the end.
func (s *sandbox) camctl(env []string, args ...string) procResult {
	s.t.Helper()
	return s.start(env, args...).wait()
}

// tempFiles lists what atomic writes left in dir and below: temporary
// files that never became the real one.
func tempFiles(t *testing.T, dir string) []string {
	t.Helper()
	var found []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		if strings.Contains(d.Name(), ".tmp-") {
			found = append(found, path)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("list %s: %v", dir, err)
	}
	return found
}

func checkMode(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != want {
		t.Errorf("%s has mode %#o, want %#o", path, got, want)
	}
}

func writeConfig(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func names(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s%02d", prefix, i+1)
	}
	return out
}

// TestConcurrentProfileAndTokenRuns starts 50 camctl processes at once
// against one config file and one token cache: profile add, set, use,
// remove and rename on disjoint names (so the outcome is known whatever
// the order), and token for two clients, one with no cached token and one
// with an expired one. Every change must survive (spec §3: the file is
// edited under a lock), the file must stay valid, 0600 and alone, and the
// token processes must make one token request per client (spec §5).
func TestConcurrentProfileAndTokenRuns(t *testing.T) {
	idp := oidctest.Start(t, oidctest.Options{Clients: oidcClients})
	proxy := oidctest.NewProxy(idp)
	t.Cleanup(proxy.Close)
	s := newSandbox(t)

	adds, sets, uses, removes, renames := names("add", 15), names("set", 8), names("use", 5), names("rm", 7), names("mv", 5)
	// The starting file: every profile the processes change, and two OIDC
	// profiles for the token processes. base is current and stays.
	var seed strings.Builder
	seed.WriteString("# written by hand; camctl keeps this comment\ncurrent-profile: base\nprofiles:\n  base:\n    address: http://127.0.0.1:1\n")
	for _, n := range slices.Concat(sets, uses, removes, renames) {
		fmt.Fprintf(&seed, "  %s:\n    address: http://127.0.0.1:2/%s\n", n, n)
	}
	for _, c := range oidcClients {
		fmt.Fprintf(&seed, "  %s:\n    address: http://127.0.0.1:3\n    auth:\n      method: oidc\n      client-id: %s\n      token-url: %s\n      audience: orchestration-api\n",
			c.ID, c.ID, proxy.TokenURL())
	}
	writeConfig(t, s.config, seed.String())
	// The second client's cached token has expired: its processes must
	// replace it, once.
	expired := time.Now().Add(-time.Minute)
	otherKey := auth.TokenKey{TokenURL: proxy.TokenURL(), ClientID: oidcClients[1].ID, Audience: "orchestration-api", API: "http://127.0.0.1:3/v2"}
	if _, err := auth.NewTokenCache(auth.KeyringNone, nil, s.cache).Put(t.Context(), otherKey,
		&auth.Token{AccessToken: "expired-token", TokenType: "Bearer", ObtainedAt: expired.Add(-5 * time.Minute), ExpiresAt: expired}); err != nil {
		t.Fatal(err)
	}

	type job struct {
		env  []string
		args []string
	}
	var jobs []job
	for i, n := range adds {
		jobs = append(jobs, job{args: []string{"profile", "add", n, "--address", fmt.Sprintf("http://127.0.0.1:4/%d", i)}})
	}
	for _, n := range sets {
		jobs = append(jobs, job{args: []string{"profile", "set", n, "--address", "http://127.0.0.1:5/" + n, "--username", "user-" + n}})
	}
	for _, n := range uses {
		jobs = append(jobs, job{args: []string{"profile", "use", n}})
	}
	for _, n := range removes {
		jobs = append(jobs, job{args: []string{"profile", "remove", n}})
	}
	for _, n := range renames {
		jobs = append(jobs, job{args: []string{"profile", "rename", n, "re" + n}})
	}
	for i := range 10 {
		c := oidcClients[i%len(oidcClients)]
		jobs = append(jobs, job{env: []string{"CAMUNDA_CLIENT_SECRET=" + c.Secret}, args: []string{"-p", c.ID, "token"}})
	}
	if len(jobs) != 50 {
		t.Fatalf("%d jobs, want 50", len(jobs))
	}
	// Interleave the kinds so that they start mixed, not in blocks.
	rand.Shuffle(len(jobs), func(i, j int) { jobs[i], jobs[j] = jobs[j], jobs[i] })

	procs := make([]*proc, len(jobs))
	t0 := time.Now()
	for i, j := range jobs {
		procs[i] = s.start(j.env, j.args...)
	}
	tokens := map[string]map[string]bool{} // client id -> tokens printed
	var slowest time.Duration
	for i, p := range procs {
		r := p.wait()
		slowest = max(slowest, r.took)
		// Every operation is valid whatever the order, so all succeed.
		if r.code != 0 {
			t.Errorf("%v", r)
			continue
		}
		if j := jobs[i]; j.args[len(j.args)-1] == "token" {
			tok := strings.TrimSpace(r.stdout)
			if err := idp.Verify(tok); err != nil {
				t.Errorf("%s: the printed token is not valid: %v", r.args, err)
			}
			if tokens[j.args[1]] == nil {
				tokens[j.args[1]] = map[string]bool{}
			}
			tokens[j.args[1]][tok] = true
		}
	}
	t.Logf("50 processes in %v (slowest %v), %d token requests", time.Since(t0).Round(time.Millisecond), slowest.Round(time.Millisecond), proxy.TokenRequests())

	// One token request per cache key, and every process of a client got
	// the same token.
	if got, want := proxy.TokenRequests(), len(oidcClients); got > want {
		t.Errorf("%d token requests, want at most %d (one per cache key)", got, want)
	}
	for id, toks := range tokens {
		if len(toks) != 1 {
			t.Errorf("client %s: the processes printed %d different tokens, want 1", id, len(toks))
		}
	}

	// The file is valid, for camctl's reader and for a camctl process.
	file, err := config.Load(s.config)
	if err != nil {
		t.Fatalf("the config file after the runs: %v", err)
	}
	if r := s.camctl(nil, "profile", "list", "-o", "json"); r.code != 0 {
		t.Errorf("%v", r)
	}
	want := map[string]string{"base": "http://127.0.0.1:1"}
	for i, n := range adds {
		want[n] = fmt.Sprintf("http://127.0.0.1:4/%d", i)
	}
	for _, n := range sets {
		want[n] = "http://127.0.0.1:5/" + n
	}
	for _, n := range uses {
		want[n] = "http://127.0.0.1:2/" + n
	}
	for _, n := range renames {
		want["re"+n] = "http://127.0.0.1:2/" + n
	}
	for _, c := range oidcClients {
		want[c.ID] = "http://127.0.0.1:3"
	}
	for n, addr := range want {
		p, ok := file.Profiles[n]
		switch {
		case !ok:
			t.Errorf("profile %s is missing", n)
		case p.Address != addr:
			t.Errorf("profile %s: address %q, want %q", n, p.Address, addr)
		}
	}
	for _, n := range sets {
		if got := file.Profiles[n].Auth.Username; got != "user-"+n {
			t.Errorf("profile %s: username %q, want the one set", n, got)
		}
	}
	for n := range file.Profiles {
		if _, ok := want[n]; !ok {
			t.Errorf("profile %s should not be there (removed or renamed)", n)
		}
	}
	// The last `use` wins; base was current, and adds never take over.
	if !slices.Contains(uses, file.CurrentProfile) {
		t.Errorf("current-profile is %q, want one of %v", file.CurrentProfile, uses)
	}
	if raw, _ := os.ReadFile(s.config); !bytes.HasPrefix(raw, []byte("# written by hand; camctl keeps this comment\n")) {
		t.Errorf("the head comment was lost:\n%s", raw)
	}
	checkMode(t, s.config, 0o600)
	checkMode(t, filepath.Join(s.cache, "tokens.json"), 0o600)
	if tmp := slices.Concat(tempFiles(t, filepath.Dir(s.config)), tempFiles(t, s.cache)); len(tmp) > 0 {
		t.Errorf("temporary files left behind: %v", tmp)
	}
	entries, err := os.ReadDir(filepath.Dir(s.config))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if n := e.Name(); n != "config.yaml" && n != "config.yaml.lock" {
			t.Errorf("unexpected file beside the config: %s", n)
		}
	}
	// The cache holds the token the processes printed, for both keys.
	cache := auth.NewTokenCache(auth.KeyringNone, nil, s.cache)
	for _, c := range oidcClients {
		k := auth.TokenKey{TokenURL: proxy.TokenURL(), ClientID: c.ID, Audience: "orchestration-api", API: "http://127.0.0.1:3/v2"}
		tok, _, err := cache.Get(t.Context(), k)
		if err != nil || tok == nil || !tokens[c.ID][tok.AccessToken] {
			t.Errorf("cached token of %s: %v, %v; want the one the processes printed", c.ID, tok, err)
		}
	}
}

// withoutIDs replaces the random profile ids of a config file by "ID".
func withoutIDs(b []byte) []byte {
	return []byte(profileIDLine.ReplaceAllString(string(b), "${1}id: ID"))
}

// killDelays spreads n kill delays over [0, typical): one random moment
// in each of n equal slots, so every phase of a run (start-up, reading,
// the lock, writing, the rename, exiting) gets kills, not one lucky
// timing.
func killDelays(rng *rand.Rand, n int, typical time.Duration) []time.Duration {
	d := make([]time.Duration, n)
	slot := typical / time.Duration(n)
	for i := range d {
		d[i] = time.Duration(i)*slot + time.Duration(rng.Int64N(int64(slot)))
	}
	rng.Shuffle(n, func(i, j int) { d[i], d[j] = d[j], d[i] })
	return d
}

// typicalRun is the median duration of n runs of camctl ARGS.
func typicalRun(t *testing.T, n int, runOnce func(i int) procResult) time.Duration {
	t.Helper()
	var took []time.Duration
	for i := range n {
		r := runOnce(i)
		if r.code != 0 {
			t.Fatalf("%v", r)
		}
		took = append(took, r.took)
	}
	slices.Sort(took)
	return took[n/2]
}

// awaitWrite polls until a write to path shows: a temporary file beside
// it, or a change to the file itself (which only a writer that is not
// atomic would make before it is done). It gives up after limit.
func awaitWrite(path string, limit time.Duration) bool {
	dir, prefix := filepath.Dir(path), "."+filepath.Base(path)+".tmp-"
	fi0, err := os.Stat(path)
	if err != nil {
		return false
	}
	for deadline := time.Now().Add(limit); time.Now().Before(deadline); {
		if entries, err := os.ReadDir(dir); err == nil {
			for _, e := range entries {
				if strings.HasPrefix(e.Name(), prefix) {
					return true
				}
			}
		}
		if fi, err := os.Stat(path); err != nil || fi.Size() != fi0.Size() || !fi.ModTime().Equal(fi0.ModTime()) {
			return true
		}
		// Poll often: the window is short, and the child needs the CPU.
		time.Sleep(50 * time.Microsecond)
	}
	return false
}

// lockHeld reports whether another process holds the flock(2) lock at
// path right now. The tests use it only to report where their kills
// landed.
func lockHeld(t *testing.T, path string) bool {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		return false
	}
	fl := flock.New(path)
	ok, err := fl.TryLock()
	if err != nil {
		t.Fatalf("probe %s: %v", path, err)
	}
	if ok {
		_ = fl.Unlock()
	}
	return !ok
}

// promptly bounds how long the run after a kill may take. A process
// that finds the lock held waits up to 10 s for the config lock (then
// fails) and up to --timeout + 5 s for the token lock (then fetches
// without it); the runs after a kill use --timeout 20s, so a lock that
// outlived its killed holder shows as a run of 10 s or more. A healthy
// run takes well under a second, but -race on 2 CPUs shared with other
// work has been seen to take several.
const promptly = 8 * time.Second

// TestKillDuringConfigWrite kills `camctl profile add/set` at moments
// spread over a whole run. After each kill the config file must be
// byte-for-byte the file before or the file after the change (never
// truncated, empty or mixed), and the next camctl run that takes the
// lock must succeed at once: the kernel releases a dead process's lock.
func TestKillDuringConfigWrite(t *testing.T) {
	// 30 kills at random moments, then 10 at the moment the write shows:
	// random moments seldom hit the few microseconds in which a
	// non-atomic writer would leave a half-written file.
	const random, atWrite = 30, 10
	const iterations = random + atWrite
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, seed))
	s := newSandbox(t)
	// A large file (a few hundred profiles, with comments) makes reading,
	// rewriting and syncing it a good part of a run, so that many kills
	// land while the lock is held and the file is being replaced.
	var seedFile strings.Builder
	seedFile.WriteString("# my clusters\ncurrent-profile: base\nprofiles:\n  base:\n    address: http://127.0.0.1:1\n")
	for i := range 120 {
		fmt.Fprintf(&seedFile, "  # cluster %d of the fleet\n  fleet-%03d:\n    address: https://c%03d.example.com\n    auth:\n      method: basic\n      username: demo\n", i, i, i)
	}
	writeConfig(t, s.config, seedFile.String())

	// The command of iteration i: adds and sets alternate.
	args := func(i int) []string {
		if i%2 == 0 {
			return []string{"profile", "add", fmt.Sprintf("k%02d", i), "--address", fmt.Sprintf("http://127.0.0.1:2/%d", i)}
		}
		return []string{"profile", "set", "base", "--address", fmt.Sprintf("http://127.0.0.1:3/%d", i)}
	}
	typical := typicalRun(t, 5, func(i int) procResult {
		return s.camctl(nil, "profile", "set", "base", "--address", fmt.Sprintf("http://127.0.0.1:9/%d", i))
	})
	t.Logf("typical profile set: %v", typical)
	delays := killDelays(rng, random, typical)
	// What a writer killed mid-write by an earlier run left: camctl must
	// never read it as the config, and the next write removes it.
	writeConfig(t, filepath.Join(filepath.Dir(s.config), ".config.yaml.tmp-4242"), "current-profile: base\nprofiles:\n  ba")

	outcomes := map[string]int{}
	for i := range iterations {
		before, err := os.ReadFile(s.config)
		if err != nil {
			t.Fatal(err)
		}
		// The file the change makes, by the same command run to the end
		// in this process on a copy.
		ref := filepath.Join(t.TempDir(), "config.yaml")
		writeConfig(t, ref, string(before))
		f, _, _, errOut := testFactory(t, map[string]string{config.EnvConfig: ref})
		if code := run(t, f, args(i)...); code != 0 {
			t.Fatalf("reference run %v: exit %d: %s", args(i), code, errOut)
		}
		after, err := os.ReadFile(ref)
		if err != nil {
			t.Fatal(err)
		}

		p := s.start(nil, args(i)...)
		when := "at the write"
		if i < random {
			when = fmt.Sprintf("after %v", delays[i])
			time.Sleep(delays[i]) // the random kill moment is the point of the test
			if lockHeld(t, s.config+".lock") {
				outcomes["lock held at the kill"]++
			}
		} else if !awaitWrite(s.config, 10*typical+promptly) {
			outcomes["no write seen before the kill"]++
		}
		_ = p.cmd.Process.Kill()
		r := p.wait()

		got, err := os.ReadFile(s.config)
		if err != nil {
			t.Fatalf("iteration %d (kill %s): read the config: %v", i, when, err)
		}
		// A profile add gives the new profile a random id: the reference
		// run's differs, and is not what is being compared.
		got, after = withoutIDs(got), withoutIDs(after)
		switch {
		case r.code == 0 && bytes.Equal(got, after):
			outcomes["finished before the kill"]++
		case r.killed && bytes.Equal(got, after):
			outcomes["killed after the rename"]++
		case r.killed && bytes.Equal(got, withoutIDs(before)):
			outcomes["killed before the rename"]++
		default:
			t.Fatalf("iteration %d (kill %s): %v\nthe config is neither the old nor the new file:\n%s\n--- old:\n%s\n--- new:\n%s", i, when, r, got, before, after)
		}
		if _, err := config.Load(s.config); err != nil {
			t.Fatalf("iteration %d: camctl cannot read the config: %v", i, err)
		}
		if tmp := tempFiles(t, filepath.Dir(s.config)); len(tmp) > 0 {
			outcomes["temporary file present after the kill"]++
		}

		// The next run takes the lock the killed one may have held.
		next := s.camctl(nil, "profile", "use", "base")
		if next.code != 0 || next.took > promptly {
			t.Fatalf("iteration %d: the run after the kill: %v (want exit 0 within %v)", i, next, promptly)
		}
		if tmp := tempFiles(t, filepath.Dir(s.config)); len(tmp) > 0 {
			t.Errorf("iteration %d: temporary files remain after the next write: %v", i, tmp)
		}
	}
	t.Logf("%d kills at random (0..%v) and %d at the write: %v", random, typical, atWrite, outcomes)
	checkMode(t, s.config, 0o600)
}

// TestKillDuringTokenRefresh kills `camctl token --refresh` at moments
// spread over a whole run while the IdP answers slowly, so that many kills
// land while the process holds the token lock and waits for the IdP, or
// writes tokens.json. After each kill the token cache must be readable
// and the next `camctl token` must get a valid token at once: neither a
// stale lock nor a damaged cache may get in its way.
func TestKillDuringTokenRefresh(t *testing.T) {
	const iterations = 30
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, seed))
	idp := oidctest.Start(t, oidctest.Options{Clients: oidcClients})
	proxy := oidctest.NewProxy(idp)
	t.Cleanup(proxy.Close)
	// Slow enough that the lock is held for a good part of a run.
	proxy.SetDelay(300 * time.Millisecond)
	s := newSandbox(t)
	c := oidcClients[0]
	env := []string{
		"CAMUNDA_REST_ADDRESS=http://127.0.0.1:1", "CAMUNDA_CLIENT_ID=" + c.ID, "CAMUNDA_CLIENT_SECRET=" + c.Secret,
		"CAMUNDA_OAUTH_URL=" + proxy.TokenURL(), "CAMUNDA_TOKEN_AUDIENCE=orchestration-api",
	}
	key := auth.TokenKey{TokenURL: proxy.TokenURL(), ClientID: c.ID, Audience: "orchestration-api", API: "http://127.0.0.1:1/v2"}
	tokensFile := filepath.Join(s.cache, "tokens.json")

	typical := typicalRun(t, 5, func(int) procResult { return s.camctl(env, "token", "--refresh", "--timeout", "10s") })
	t.Logf("typical token --refresh: %v", typical)
	delays := killDelays(rng, iterations, typical)

	outcomes := map[string]int{}
	for i := range iterations {
		before, _ := os.ReadFile(tokensFile)
		p := s.start(env, "token", "--refresh", "--timeout", "10s")
		time.Sleep(delays[i]) // the random kill moment is the point of the test
		if lockHeld(t, filepath.Join(s.cache, "locks", key.ID()+".lock")) {
			outcomes["token lock held at the kill"]++
		}
		_ = p.cmd.Process.Kill()
		r := p.wait()
		if !r.killed && r.code != 0 {
			t.Fatalf("iteration %d: %v", i, r)
		}

		// tokens.json is a JSON object of strings, old or new.
		got, err := os.ReadFile(tokensFile)
		if err != nil {
			t.Fatalf("iteration %d (kill after %v): %v", i, delays[i], err)
		}
		var entries map[string]string
		if err := json.Unmarshal(got, &entries); err != nil {
			t.Fatalf("iteration %d (kill after %v): tokens.json is damaged: %v\n%q", i, delays[i], err, got)
		}
		cached, _, err := auth.NewTokenCache(auth.KeyringNone, nil, s.cache).Get(context.Background(), key)
		if err != nil || cached == nil {
			t.Fatalf("iteration %d: cached token: %v, %v", i, cached, err)
		}
		switch {
		case !r.killed:
			outcomes["finished before the kill"]++
		case bytes.Equal(got, before):
			outcomes["killed before the cache write"]++
		default:
			outcomes["killed after the cache write"]++
		}
		if tmp := tempFiles(t, s.cache); len(tmp) > 0 {
			outcomes["temporary file present after the kill"]++
		}

		// The next run needs no new token, or gets the lock at once.
		next := s.camctl(env, "token", "--timeout", "20s")
		if next.code != 0 || next.took > promptly {
			t.Fatalf("iteration %d: the run after the kill: %v (want exit 0 within %v)", i, next, promptly)
		}
		if err := idp.Verify(strings.TrimSpace(next.stdout)); err != nil {
			t.Fatalf("iteration %d: the token after the kill is not valid: %v", i, err)
		}
		// A forced refresh takes the lock for sure.
		next = s.camctl(env, "token", "--refresh", "--timeout", "20s")
		if next.code != 0 || next.took > promptly {
			t.Fatalf("iteration %d: the forced refresh after the kill: %v (want exit 0 within %v)", i, next, promptly)
		}
		if tmp := tempFiles(t, s.cache); len(tmp) > 0 {
			t.Errorf("iteration %d: temporary files remain after the next write: %v", i, tmp)
		}
	}
	t.Logf("%d kills, delays 0..%v, %d token requests: %v", iterations, typical, proxy.TokenRequests(), outcomes)
	checkMode(t, tokensFile, 0o600)
}
