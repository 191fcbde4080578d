package config

import "fmt"

// UsageError is a problem with what the user asked for or configured
// (unknown profile, bad value, missing setting). camctl exits with 2.
type UsageError struct {
	Msg string
}

func (e *UsageError) Error() string { return e.Msg }

// FileError is an invalid configuration file. It names the file and, when
// known, the line, so the user can go straight to it. camctl exits with 2.
type FileError struct {
	Path string
	Line int
	Err  error
}

func (e *FileError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("invalid config file %s, line %d: %v", e.Path, e.Line, e.Err)
	}
	return fmt.Sprintf("invalid config file %s: %v", e.Path, e.Err)
}

func (e *FileError) Unwrap() error { return e.Err }
