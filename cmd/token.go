package cmd

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/camctl/camctl/internal/auth"
	"github.com/camctl/camctl/internal/config"
	"github.com/camctl/camctl/internal/session"
)

// TokenOptions are the inputs of `camctl token`.
type TokenOptions struct {
	IO *IOStreams
	// Session is the connection state of the run.
	Session func() *session.Session
	// Output is -o; Timeout is --timeout, named in error hints.
	Output  string
	Timeout time.Duration

	Refresh bool
	Header  bool
	Decode  bool
}

// NewCmdToken builds `camctl token`.
func NewCmdToken(f *Factory, runF func(context.Context, *TokenOptions) error) *cobra.Command {
	opts := &TokenOptions{IO: f.IO, Session: f.newSession}
	cmd := &cobra.Command{
		Use:   "token",
		Short: "Print an access token for the selected profile",
		Long: `Print a valid access token and a newline on stdout, nothing else, so that
scripts can use it:

  curl -H "Authorization: Bearer $(camctl token)" "$CAMUNDA_REST_ADDRESS/v2/topology"
  curl -H "$(camctl token --header)" ...

The cached token is used while it has more than the refresh margin (30 s, or
10 % of its lifetime if smaller) left; otherwise a new one is fetched.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			n := 0
			for _, b := range []bool{opts.Header, opts.Decode, f.Global.Output == OutputJSON || f.Global.Output == OutputYAML} {
				if b {
					n++
				}
			}
			if n > 1 {
				return flagErrorf("--header, --decode and -o json|yaml cannot be combined")
			}
			opts.Output, opts.Timeout = f.Global.Output, f.Global.Timeout
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runToken(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.Refresh, "refresh", false, "fetch a new token even if the cached one is still valid")
	cmd.Flags().BoolVar(&opts.Header, "header", false, "print a complete Authorization header line (also for basic auth)")
	cmd.Flags().BoolVar(&opts.Decode, "decode", false, "print the JWT header and claims as JSON, with the expiry in human form (no signature check)")
	return cmd
}

// tokenSource is implemented by providers that fetch tokens (oidc).
type tokenSource interface {
	Token(ctx context.Context, force bool) (*auth.Token, error)
}

func runToken(ctx context.Context, opts *TokenOptions) error {
	s := opts.Session()
	r, err := s.Resolve(nil)
	if err != nil {
		return err
	}
	if r.Method() == config.MethodNone {
		return &config.UsageError{Msg: fmt.Sprintf("profile %s uses no authentication, so there is no token", r.Name)}
	}
	if opts.Refresh && r.Method() != config.MethodOIDC && r.Method() != config.MethodExec {
		return &config.UsageError{Msg: fmt.Sprintf("--refresh fetches a new token from the token endpoint; profile %s uses %s auth, which has none", r.Name, r.Method())}
	}
	p, err := s.Provider(ctx, r)
	if err != nil {
		return explain(err, r, opts.Timeout.String())
	}
	// Token-fetching providers are asked once (one cache read on a warm
	// run); any other provider fills in a request, which is the one way
	// to get its header without knowing how the method builds it.
	var tok *auth.Token
	var header string
	if src, ok := p.(tokenSource); ok {
		if tok, err = src.Token(ctx, opts.Refresh); err != nil {
			return explain(err, r, opts.Timeout.String())
		}
		header = "Bearer " + tok.AccessToken
	} else {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://camctl.invalid/", nil)
		if err := p.Authorize(ctx, req); err != nil {
			return explain(err, r, opts.Timeout.String())
		}
		header = req.Header.Get("Authorization")
	}
	// The token and header are data that must be exact: they go to
	// DataOut, past the redactor. Every token got here checked: oidc
	// tokens when fetched or read from the cache, static ones by
	// Authorize (auth.CheckAccessToken), so none can inject a header.
	if opts.Header {
		fmt.Fprintf(opts.IO.DataOut(), "Authorization: %s\n", header)
		return nil
	}
	if tok == nil {
		scheme, value, _ := strings.Cut(header, " ")
		if !strings.EqualFold(scheme, "Bearer") {
			return &config.UsageError{Msg: fmt.Sprintf("profile %s uses %s auth, which has no token; `camctl token --header` prints its Authorization header", r.Name, r.Method())}
		}
		tok = &auth.Token{AccessToken: value, TokenType: "Bearer"}
		if j, err := auth.DecodeJWT(value); err == nil {
			tok.ExpiresAt, _ = j.Time("exp")
		}
	}

	switch {
	case opts.Decode:
		return printDecoded(opts.IO, tok)
	case opts.Output == OutputJSON || opts.Output == OutputYAML:
		out := struct {
			AccessToken string  `json:"access_token"`
			TokenType   string  `json:"token_type"`
			ExpiresAt   *string `json:"expires_at"`
		}{AccessToken: tok.AccessToken, TokenType: tok.TokenType}
		if !tok.ExpiresAt.IsZero() {
			s := tok.ExpiresAt.UTC().Format(time.RFC3339)
			out.ExpiresAt = &s
		}
		return writeData(opts.IO.DataOut(), opts.Output, out)
	}
	fmt.Fprintln(opts.IO.DataOut(), tok.AccessToken)
	return nil
}

func printDecoded(io *IOStreams, tok *auth.Token) error {
	j, err := auth.DecodeJWT(tok.AccessToken)
	if err != nil {
		return fmt.Errorf("cannot decode the token: %w (it is an opaque token; only the identity provider can read it)", err)
	}
	// snake_case like -o json (and like the claims themselves).
	out := struct {
		Header    map[string]any `json:"header"`
		Claims    map[string]any `json:"claims"`
		ExpiresAt string         `json:"expires_at,omitempty"`
		ExpiresIn string         `json:"expires_in,omitempty"`
	}{Header: j.Header, Claims: j.Claims}
	if exp, ok := j.Time("exp"); ok {
		out.ExpiresAt = exp.UTC().Format(time.RFC3339)
		if d := time.Until(exp).Round(time.Second); d > 0 {
			out.ExpiresIn = d.String()
		} else {
			out.ExpiresIn = "expired " + (-d).String() + " ago"
		}
	}
	// The claims are outside text, not the token: they go through the
	// redactor and filter like any output (a hostile token endpoint can
	// put the client secret in a claim).
	return writeData(io.Out, OutputJSON, out)
}
