package auth

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/camctl/camctl/internal/config"
	"github.com/camctl/camctl/internal/redact"
	"github.com/camctl/camctl/internal/termsafe"
)

// maxExecOutput bounds what camctl reads of an exec command's stdout: a
// token, or a small JSON document.
const maxExecOutput = 1 << 20

// ExecError is an exec auth command that failed, timed out or printed
// no usable token; camctl exits with 3.
type ExecError struct {
	Profile string
	Command string // the program
	// ExitStatus is the command's exit status (-1: it did not exit by
	// itself, or did not start).
	ExitStatus int
	TimedOut   time.Duration
	Err        error
}

func (e *ExecError) Error() string {
	prefix := fmt.Sprintf("profile %s: the auth command %s", e.Profile, e.Command)
	switch {
	case e.TimedOut > 0:
		return fmt.Sprintf("%s did not finish within %s (--timeout): it was stopped", prefix, e.TimedOut)
	case e.ExitStatus > 0:
		return fmt.Sprintf("%s failed with exit status %d (its messages are above)", prefix, e.ExitStatus)
	}
	return fmt.Sprintf("%s %v", prefix, e.Err)
}

func (e *ExecError) Unwrap() error { return e.Err }

// ExecProvider gets its token from a command (auth.method exec, spec
// §11): a bare token, {"access_token", "expires_at"|"expires_in"}, or a
// kubectl ExecCredential. The token is cached by its expiry in the token
// cache, so N camctl commands run the command once.
type ExecProvider struct {
	profile  string
	argv     []string
	key      TokenKey
	cache    *TokenCache
	timeout  time.Duration
	stderr   io.Writer
	redactor *redact.Redactor
	now      func() time.Time

	mu      sync.Mutex
	used    *Token
	fetched bool
}

// NewExecProvider returns the provider of an exec profile.
func NewExecProvider(r *config.Resolved, d Deps) (*ExecProvider, error) {
	argv, err := config.DecodeCommand(r.Value(config.Command))
	if err != nil {
		return nil, &config.UsageError{Msg: fmt.Sprintf("profile %s: %v", r.Name, err)}
	}
	if len(argv) == 0 {
		if r.Kind == config.KindEnv || r.New {
			return nil, &config.UsageError{Msg: fmt.Sprintf("profile %s uses exec auth but has no auth.command: add --exec-command PROGRAM (and --exec-arg ARG for each argument)", r.Name)}
		}
		return nil, &config.UsageError{Msg: fmt.Sprintf("profile %s uses exec auth but has no auth.command: set it with `camctl profile set %s --exec-command PROGRAM --exec-arg ARG ...`", r.Name, r.Name)}
	}
	timeout := d.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	return &ExecProvider{
		profile: r.Name, argv: argv, cache: d.Tokens, timeout: timeout, stderr: d.ExecStderr,
		redactor: redactorOf(d), now: d.now(),
		key: ExecKey(r, argv),
	}, nil
}

// ExecKey is the token cache key of an exec profile: its command and the
// cluster the token is sent to.
func ExecKey(r *config.Resolved, argv []string) TokenKey {
	return TokenKey{TokenURL: "exec:" + config.EncodeCommand(argv), API: apiBase(r)}
}

// Method implements Provider.
func (p *ExecProvider) Method() string { return config.MethodExec }

// Identity implements Provider.
func (p *ExecProvider) Identity() string { return "command " + termsafe.Line(p.argv[0]) }

// Command is the program and its arguments.
func (p *ExecProvider) Command() []string { return append([]string(nil), p.argv...) }

// Authorize implements api.Authorizer.
func (p *ExecProvider) Authorize(ctx context.Context, req *http.Request) error {
	return authorizeBearer(ctx, req, p.Token)
}

// Refresh implements api.Refresher: a 401 to a cached token runs the
// command again, once.
func (p *ExecProvider) Refresh(ctx context.Context) (bool, error) {
	p.mu.Lock()
	fresh := p.fetched
	p.mu.Unlock()
	return refreshOnce(ctx, fresh, p.Token)
}

// Current is the token this process last used (nil before the first).
func (p *ExecProvider) Current() *Token {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.used
}

// Token returns the cached token while it is fresh, else runs the
// command. Concurrent camctl processes run it once between them (the
// cache's lock), as they make one token request.
func (p *ExecProvider) Token(ctx context.Context, force bool) (*Token, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !force && p.used != nil && (p.used.ExpiresAt.IsZero() || p.used.FreshAt(p.now())) {
		return p.used, nil
	}
	usable := func(t *Token) bool {
		// With force only a token another process got after the one
		// this process was refused will do; with none used yet, none.
		return t.FreshAt(p.now()) && (!force || (p.used != nil && t.AccessToken != p.used.AccessToken))
	}
	if c := p.cache; c != nil {
		if t, _, err := c.Get(ctx, p.key); err == nil && usable(t) {
			p.redactor.Add(t.AccessToken)
			p.used, p.fetched = t, false
			return t, nil
		}
		lockCtx, cancel := context.WithTimeout(ctx, p.timeout+5*time.Second)
		unlock, err := c.Lock(lockCtx, p.key)
		cancel()
		if err == nil {
			defer unlock()
		} else if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if t, _, err := c.Get(ctx, p.key); err == nil && usable(t) {
			p.redactor.Add(t.AccessToken)
			p.used, p.fetched = t, false
			return t, nil
		}
	}
	t, err := p.run(ctx)
	if err != nil {
		return nil, err
	}
	if p.cache != nil && !t.ExpiresAt.IsZero() {
		// Not being able to cache costs a run of the command next time.
		_, _ = p.cache.Put(ctx, p.key, t)
	}
	p.used, p.fetched = t, true
	return t, nil
}

// run runs the command without a shell, its stderr passed through, and
// reads the token from its stdout.
func (p *ExecProvider) run(ctx context.Context) (*Token, error) {
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	// #nosec G204 -- running the user's configured command is the point; no shell is involved.
	cmd := exec.CommandContext(ctx, p.argv[0], p.argv[1:]...)
	var out limitedBuffer
	out.max = maxExecOutput
	cmd.Stdout = &out
	if p.stderr != nil {
		cmd.Stderr = p.stderr
	}
	// A child that leaves a grandchild holding the pipes must not keep
	// camctl waiting past the timeout.
	cmd.WaitDelay = 250 * time.Millisecond
	obtained := p.now()
	err := cmd.Run()
	fail := &ExecError{Profile: p.profile, Command: termsafe.Line(p.argv[0]), ExitStatus: -1}
	if err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			fail.TimedOut = p.timeout
			return nil, fail
		}
		var ee *exec.ExitError
		if errors.As(err, &ee) && ee.ExitCode() > 0 {
			fail.ExitStatus = ee.ExitCode()
			fail.Err = err
			return nil, fail
		}
		if errors.Is(err, context.Canceled) {
			return nil, ctx.Err()
		}
		fail.Err = fmt.Errorf("could not be run: %v", err)
		return nil, fail
	}
	if out.over {
		fail.Err = fmt.Errorf("printed more than %d bytes; it should print a token", maxExecOutput)
		return nil, fail
	}
	t, err := parseExecOutput(out.Bytes(), obtained)
	if t != nil {
		p.redactor.Add(t.AccessToken)
	}
	if err != nil {
		fail.ExitStatus = 0
		fail.Err = err
		return nil, fail
	}
	if !t.ExpiresAt.IsZero() && !t.ExpiresAt.After(obtained) {
		fail.Err = fmt.Errorf("printed a token that expired at %s", t.ExpiresAt.UTC().Format(time.RFC3339))
		return nil, fail
	}
	return t, nil
}

// parseExecOutput reads a bare token, {"access_token", "expires_at" |
// "expires_in"} or a kubectl ExecCredential.
func parseExecOutput(b []byte, obtained time.Time) (*Token, error) {
	s := strings.TrimSpace(string(b))
	if s == "" {
		return nil, errors.New("printed nothing; it should print a token")
	}
	t := &Token{TokenType: "Bearer", ObtainedAt: obtained.UTC()}
	if strings.HasPrefix(s, "{") {
		var doc struct {
			Kind        string          `json:"kind"`
			AccessToken string          `json:"access_token"`
			ExpiresAt   json.RawMessage `json:"expires_at"`
			ExpiresIn   json.Number     `json:"expires_in"`
			Status      struct {
				Token               string `json:"token"`
				ExpirationTimestamp string `json:"expirationTimestamp"`
			} `json:"status"`
		}
		dec := json.NewDecoder(strings.NewReader(s))
		dec.UseNumber()
		if err := dec.Decode(&doc); err != nil {
			return nil, errors.New("printed JSON camctl cannot read: want {\"access_token\": ..., \"expires_in\": ...} or a kubectl ExecCredential")
		}
		switch {
		case doc.Kind == "ExecCredential":
			t.AccessToken = doc.Status.Token
			if doc.Status.ExpirationTimestamp != "" {
				exp, err := time.Parse(time.RFC3339, doc.Status.ExpirationTimestamp)
				if err != nil {
					return nil, errors.New("printed an ExecCredential whose status.expirationTimestamp is not RFC 3339")
				}
				t.ExpiresAt = exp.UTC()
			}
		default:
			t.AccessToken = doc.AccessToken
			if len(doc.ExpiresAt) > 0 && string(doc.ExpiresAt) != "null" {
				exp, err := parseExpiresAt(doc.ExpiresAt)
				if err != nil {
					return nil, err
				}
				t.ExpiresAt = exp
			} else if doc.ExpiresIn != "" {
				n, err := doc.ExpiresIn.Int64()
				if err != nil || n <= 0 {
					return nil, errors.New("printed an expires_in that is not a positive number of seconds")
				}
				t.ExpiresAt = obtained.Add(time.Duration(n) * time.Second).UTC()
			}
		}
		if t.AccessToken == "" {
			return nil, errors.New("printed JSON without a token (access_token, or status.token of an ExecCredential)")
		}
	} else {
		if strings.ContainsAny(s, "\r\n") {
			return nil, errors.New("printed more than one line; it should print only the token")
		}
		t.AccessToken = s
	}
	if err := CheckAccessToken(t.AccessToken); err != nil {
		return nil, fmt.Errorf("printed an unusable token: %v", err)
	}
	if t.ExpiresAt.IsZero() {
		// A JWT says when it expires even when the command does not.
		if j, err := DecodeJWT(t.AccessToken); err == nil {
			if exp, ok := j.Time("exp"); ok {
				t.ExpiresAt = exp
			}
		}
	}
	return t.capped(), nil
}

// parseExpiresAt reads expires_at as RFC 3339 text (az prints
// "expires_on" as a number and "expiresOn" as local time; the JSON camctl
// documents is RFC 3339 or Unix seconds).
func parseExpiresAt(raw json.RawMessage) (time.Time, error) {
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			return time.Time{}, errors.New("printed an expires_at that is not RFC 3339 time (2006-01-02T15:04:05Z) or Unix seconds")
		}
		return t.UTC(), nil
	}
	var n json.Number
	if err := json.Unmarshal(raw, &n); err == nil {
		if sec, err := n.Int64(); err == nil && sec > 0 {
			return time.Unix(sec, 0).UTC(), nil
		}
	}
	return time.Time{}, errors.New("printed an expires_at that is not RFC 3339 time or Unix seconds")
}

// limitedBuffer keeps at most max bytes and remembers that there were more.
type limitedBuffer struct {
	bytes.Buffer
	max  int
	over bool
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if room := b.max - b.Len(); len(p) > room {
		b.over = true
		if room > 0 {
			b.Buffer.Write(p[:room])
		}
		return len(p), nil
	}
	return b.Buffer.Write(p)
}
