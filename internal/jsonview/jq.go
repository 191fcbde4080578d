package jsonview

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/itchyny/gojq"

	"github.com/camctl/camctl/internal/termsafe"
)

// Query is a compiled jq expression.
type Query struct {
	code *gojq.Code
	expr string
}

// QueryError is an expression that does not parse or compile; camctl
// exits with 2.
type QueryError struct {
	Expr string
	Err  error
}

func (e *QueryError) Error() string { return fmt.Sprintf("--jq %q: %v", e.Expr, e.Err) }
func (e *QueryError) Unwrap() error { return e.Err }

// Compile parses a jq expression. $ENV and env are empty: an expression
// must not read camctl's environment (it may hold secrets) into output.
func Compile(expr string) (*Query, error) {
	q, err := gojq.Parse(expr)
	if err != nil {
		return nil, &QueryError{Expr: expr, Err: err}
	}
	code, err := gojq.Compile(q, gojq.WithEnvironLoader(func() []string { return nil }))
	if err != nil {
		return nil, &QueryError{Expr: expr, Err: err}
	}
	return &Query{code: code, expr: expr}, nil
}

// Run applies the query to one JSON document and writes each result on
// its own line: strings raw, as jq -r does, everything else as JSON
// (indented and coloured as style says). On a terminal (style.Color or
// safe) raw strings are made terminal-safe.
func (q *Query) Run(ctx context.Context, w io.Writer, doc []byte, style Style, safe bool) error {
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return fmt.Errorf("--jq needs a JSON answer: %w", err)
	}
	iter := q.code.RunWithContext(ctx, v)
	for {
		out, ok := iter.Next()
		if !ok {
			return nil
		}
		if err, isErr := out.(error); isErr {
			var halt *gojq.HaltError
			if errors.As(err, &halt) && halt.Value() == nil {
				return nil
			}
			return fmt.Errorf("--jq %q: %w", q.expr, err)
		}
		if s, isStr := out.(string); isStr {
			if safe {
				s = termsafe.Text(s)
			}
			if _, err := io.WriteString(w, s+"\n"); err != nil {
				return err
			}
			continue
		}
		b, err := gojq.Marshal(out)
		if err != nil {
			return fmt.Errorf("--jq %q: %w", q.expr, err)
		}
		if style.Indent || style.Color || safe {
			if err := Pretty(w, bytes.NewReader(b), style); err != nil {
				return err
			}
			continue
		}
		if _, err := w.Write(append(b, '\n')); err != nil {
			return err
		}
	}
}
