// Package apiindex is a stand-in until the generated index is merged.
package apiindex

import "strings"

// Operation is one operation of the REST API.
type Operation struct {
	Method, Path, Summary        string
	Search, EventuallyConsistent bool
}

// Match finds the operation of a request.
func Match(method, path string) (Operation, bool, bool) {
	return Operation{Method: method, Path: path, Search: strings.HasSuffix(strings.SplitN(path, "?", 2)[0], "/search")}, true, true
}

// Note is the line for an unknown path.
func Note(method, path string) string { return "" }

// Complete completes PATH.
func Complete(toComplete string) ([]string, bool) { return nil, false }

// Methods lists the methods of a path.
func Methods(path string) []string { return nil }
