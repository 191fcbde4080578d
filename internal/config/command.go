package config

import (
	"encoding/json"
	"errors"
	"strings"

	"go.yaml.in/yaml/v3"
)

// EncodeCommand is how a resolved auth.command is held: a JSON array of
// strings, so that arguments with spaces survive (the command runs
// without a shell).
func EncodeCommand(argv []string) string {
	b, _ := json.Marshal(argv)
	return string(b)
}

// DecodeCommand reads a resolved auth.command: the JSON array of
// EncodeCommand (or a lone program name, as a YAML scalar gives it).
func DecodeCommand(v string) ([]string, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return nil, nil
	}
	if !strings.HasPrefix(v, "[") {
		return []string{v}, nil
	}
	var argv []string
	if err := json.Unmarshal([]byte(v), &argv); err != nil {
		return nil, errors.New(`auth.command must be a list of strings (in a variable: a JSON array such as ["az","account","get-access-token"])`)
	}
	if len(argv) == 0 || strings.TrimSpace(argv[0]) == "" {
		return nil, errors.New("auth.command names no program")
	}
	return argv, nil
}

// commandNode is the YAML list of an encoded command.
func commandNode(value string) (*yaml.Node, error) {
	argv, err := DecodeCommand(value)
	if err != nil {
		return nil, err
	}
	n := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Style: yaml.FlowStyle}
	for _, a := range argv {
		n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: a})
	}
	return n, nil
}
