package cmd

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"os"
	"sync/atomic"
	"time"

	"github.com/camctl/camctl/internal/auth"
	"github.com/camctl/camctl/internal/build"
	"github.com/camctl/camctl/internal/config"
	"github.com/camctl/camctl/internal/redact"
	"github.com/camctl/camctl/internal/session"
)

// Factory carries the dependencies of commands, as gh's cmdutil.Factory
// does. Everything that touches the disk, the keyring or the network is a
// function, so nothing runs until a command asks for it and tests can
// replace it. What one run loads and says once lives in its session
// (newSession), not here.
type Factory struct {
	IO        *IOStreams
	LookupEnv func(string) (string, bool)
	Build     build.Info
	Global    *GlobalOptions

	// Secrets builds the secret stores for the config file at path.
	// Interactive callers get a long keyring timeout, so a user can
	// answer an unlock prompt.
	Secrets func(configPath string, interactive bool) (*auth.Secrets, error)
	// PromptSecret and Prompt ask the user; tests replace them.
	PromptSecret func(ctx context.Context, label string) (string, error)
	Prompt       func(ctx context.Context, label string) (string, error)
	// Environ is the whole environment, the base of a child's (camctl
	// exec); nil: os.Environ.
	Environ func() []string

	// forwarding is set while camctl exec's child gets the signals.
	forwarding atomic.Bool
}

func (f *Factory) environ() []string {
	if f.Environ != nil {
		return f.Environ()
	}
	return os.Environ()
}

func (f *Factory) setForwarding(on bool) { f.forwarding.Store(on) }

// Forwarding reports whether a child of camctl exec gets the signals.
func (f *Factory) Forwarding() bool { return f.forwarding.Load() }

// GlobalOptions are the flags every command has.
type GlobalOptions struct {
	Profile    string
	ConfigPath string
	Output     string
	Timeout    time.Duration
	Debug      bool
	NoColor    bool
}

// NewFactory returns the factory of a real run.
func NewFactory() *Factory {
	io := SystemIO()
	f := &Factory{
		IO:           io,
		LookupEnv:    os.LookupEnv,
		Build:        build.Get(),
		Global:       &GlobalOptions{},
		PromptSecret: io.PromptSecret,
		Prompt:       io.Prompt,
	}
	f.Secrets = session.CachedSecrets(f.systemSecrets)
	addProxyCredentials(io.Redactor, f.Getenv)
	return f
}

// addProxyCredentials registers the credentials of the proxy variables
// that Go's transport reads: it sends them to the proxy in
// Proxy-Authorization, and a proxy's error page may echo them.
func addProxyCredentials(r *redact.Redactor, getenv func(string) string) {
	for _, name := range []string{"HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"} {
		u, err := url.Parse(getenv(name))
		if err != nil || u.User == nil {
			continue
		}
		if pw, ok := u.User.Password(); ok {
			r.AddBasic(u.User.Username(), pw)
		}
	}
}

// systemSecrets builds the real secret stores from f's environment.
func (f *Factory) systemSecrets(configPath string, interactive bool) (*auth.Secrets, error) {
	return session.SystemSecrets(f.Getenv, f.IO.Redactor, configPath, interactive)
}

// Getenv returns an environment variable ("" when unset).
func (f *Factory) Getenv(name string) string {
	v, _ := f.LookupEnv(name)
	return v
}

// ConfigPath is the configuration file in effect.
func (f *Factory) ConfigPath() (string, error) {
	return config.Path(f.Global.ConfigPath, f.Getenv)
}

// newSession returns the connection state of one run, on f's
// dependencies; its warnings go to stderr.
func (f *Factory) newSession() *session.Session {
	var debug io.Writer
	if f.Global.Debug {
		debug = f.IO.ErrOut
	}
	return session.New(session.Options{
		ConfigFlag:   f.Global.ConfigPath,
		ProfileFlag:  f.Global.Profile,
		LookupEnv:    f.LookupEnv,
		Secrets:      f.Secrets,
		PromptSecret: f.PromptSecret,
		CanPrompt:    f.IO.CanPrompt(),
		Timeout:      f.Global.Timeout,
		Debug:        debug,
		UserAgent:    "camctl/" + f.Build.Version,
		Redactor:     f.IO.Redactor,
		Warn:         func(msg string) { fmt.Fprintln(f.IO.ErrOut, msg) },
		ExecStderr:   f.IO.ErrOut,
	})
}
