package config

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/camctl/camctl/internal/atomicfile"
	"go.yaml.in/yaml/v3"
)

// File is the content of config.yaml that camctl understands. Keys it
// does not know are ignored when reading and kept when writing.
type File struct {
	CurrentProfile string             `mapstructure:"current-profile" yaml:"current-profile"`
	Profiles       map[string]Profile `mapstructure:"profiles" yaml:"profiles"`
	// Warnings name the keys inside profiles that camctl does not know,
	// each with the file, the line and the closest known key (spec §3),
	// in file order.
	Warnings []string `mapstructure:"-" yaml:"-"`
}

// Profile is one named cluster connection.
type Profile struct {
	// ID is the profile's stable id (see NewProfileID); "" for a profile
	// that camctl has not yet had to store anything for.
	ID      string     `mapstructure:"id" yaml:"id"`
	Address string     `mapstructure:"address" yaml:"address"`
	Auth    AuthConfig `mapstructure:"auth" yaml:"auth"`
	TLS     TLSConfig  `mapstructure:"tls" yaml:"tls"`
}

// AuthConfig is a profile's auth block. It never holds a secret.
type AuthConfig struct {
	Method   string `mapstructure:"method" yaml:"method"`
	Username string `mapstructure:"username" yaml:"username"`
	ClientID string `mapstructure:"client-id" yaml:"client-id"`
	TokenURL string `mapstructure:"token-url" yaml:"token-url"`
	Audience string `mapstructure:"audience" yaml:"audience"`
	Scope    string `mapstructure:"scope" yaml:"scope"`
	Resource string `mapstructure:"resource" yaml:"resource"`
	Issuer   string `mapstructure:"issuer" yaml:"issuer"`
	Grant    string `mapstructure:"grant" yaml:"grant"`

	AssertionKey      string   `mapstructure:"client-assertion-key" yaml:"client-assertion-key"`
	AssertionCert     string   `mapstructure:"client-assertion-cert" yaml:"client-assertion-cert"`
	AssertionKeystore string   `mapstructure:"client-assertion-keystore" yaml:"client-assertion-keystore"`
	AssertionKeyAlias string   `mapstructure:"client-assertion-key-alias" yaml:"client-assertion-key-alias"`
	AssertionAlg      string   `mapstructure:"assertion-alg" yaml:"assertion-alg"`
	AssertionAudience string   `mapstructure:"assertion-audience" yaml:"assertion-audience"`
	AssertionFile     string   `mapstructure:"client-assertion-file" yaml:"client-assertion-file"`
	AssertionEnv      string   `mapstructure:"client-assertion-env" yaml:"client-assertion-env"`
	AssertionFrom     string   `mapstructure:"client-assertion-from" yaml:"client-assertion-from"`
	Command           []string `mapstructure:"command" yaml:"command"`
}

// TLSConfig applies to every connection of the profile (API and token endpoint).
type TLSConfig struct {
	CAFile             string `mapstructure:"ca-file" yaml:"ca-file"`
	ClientCert         string `mapstructure:"client-cert" yaml:"client-cert"`
	ClientKey          string `mapstructure:"client-key" yaml:"client-key"`
	Keystore           string `mapstructure:"keystore" yaml:"keystore"`
	InsecureSkipVerify bool   `mapstructure:"insecure-skip-verify" yaml:"insecure-skip-verify"`
	CAOnly             bool   `mapstructure:"ca-only" yaml:"ca-only"`
}

// Get returns the profile's value for key ("" when unset or not a file setting).
func (p Profile) Get(key Key) string {
	switch key {
	case Address:
		return p.Address
	case AuthMethod:
		return p.Auth.Method
	case Username:
		return p.Auth.Username
	case ClientID:
		return p.Auth.ClientID
	case TokenURL:
		return p.Auth.TokenURL
	case Audience:
		return p.Auth.Audience
	case Scope:
		return p.Auth.Scope
	case Resource:
		return p.Auth.Resource
	case Issuer:
		return p.Auth.Issuer
	case Grant:
		return p.Auth.Grant
	case AssertionKey:
		return p.Auth.AssertionKey
	case AssertionCert:
		return p.Auth.AssertionCert
	case AssertionKeystore:
		return p.Auth.AssertionKeystore
	case AssertionKeyAlias:
		return p.Auth.AssertionKeyAlias
	case AssertionAlg:
		return p.Auth.AssertionAlg
	case AssertionAudience:
		return p.Auth.AssertionAudience
	case AssertionFile:
		return p.Auth.AssertionFile
	case AssertionEnv:
		return p.Auth.AssertionEnv
	case AssertionFrom:
		return p.Auth.AssertionFrom
	case Command:
		if len(p.Auth.Command) > 0 {
			return EncodeCommand(p.Auth.Command)
		}
	case CAFile:
		return p.TLS.CAFile
	case ClientCert:
		return p.TLS.ClientCert
	case ClientKey:
		return p.TLS.ClientKey
	case Keystore:
		return p.TLS.Keystore
	case InsecureSkipVerify:
		if p.TLS.InsecureSkipVerify {
			return "true"
		}
	case CAOnly:
		if p.TLS.CAOnly {
			return "true"
		}
	}
	return ""
}

// Names returns the profile names in the file, sorted.
func (f *File) Names() []string {
	names := make([]string, 0, len(f.Profiles))
	for n := range f.Profiles {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Load reads the configuration file at path. A missing file is an empty
// configuration, not an error.
func Load(path string) (*File, error) {
	// The user chooses the config file (--config, CAMCTL_CONFIG); a
	// named pipe, a device or a huge file is refused, not waited on or
	// read without bound.
	data, err := atomicfile.ReadInput(path)
	if errors.Is(err, os.ErrNotExist) {
		return &File{}, nil
	}
	if err != nil {
		return nil, &FileError{Path: path, Err: err}
	}
	// The file says where credentials are sent: one that another user
	// could have written is refused, as ssh refuses such a config.
	if err := atomicfile.CheckShared(path); err != nil {
		return nil, &FileError{Path: path, Err: err}
	}
	return parse(path, data)
}

var (
	// Compiled on first use: only error paths need them.
	yamlLineRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`line (\d+): `) })
	yamlIntoRE = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`cannot unmarshal (\S+) into (\S+)`)
	})
	// Patterns of yaml.v3 messages that quote the document; the quoted
	// part goes, because it may be a password someone put in the file.
	yamlQuotedRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(" ?`.*`") })
	yamlAnchorRE = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^(unknown )?anchor '.*' (referenced|value contains itself)$`)
	})
	yamlDecodeRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^cannot decode (\S+) as a (\S+)$`) })
	yamlKinds    = map[string]string{"!!seq": "a list", "!!map": "a mapping", "!!str": "text", "!!int": "a number", "!!float": "a number", "!!bool": "true/false", "!!null": "nothing"}
	yamlTargets  = map[string]string{"string": "text", "bool": "true or false"}
)

// syntaxError turns a failure to parse the file into a FileError with
// the line of the mistake. The message never quotes the file's values.
func syntaxError(path string, data []byte, err error) error {
	line, msg := splitYAMLError(err.Error())
	if l := firstFailingLine(data, line, msg); l > 0 {
		line = l
	}
	if n := bytes.Count(data, []byte("\n")) + 1; line > n {
		// yaml.v3's count of lone carriage returns, or "end of stream"
		// after the last line: the error is on the last line.
		line = n
	}
	return &FileError{Path: path, Line: line, Err: errors.New(withoutValues(msg))}
}

// withoutValues rewrites a yaml.v3 message in the user's terms and drops
// what it quotes from the document. yaml.v3 quotes values (shortened, but
// a password's first characters are still a leak), anchors and tags: an
// unquoted password starting with *, & or ! is read as one of those.
func withoutValues(msg string) string {
	msg = strings.TrimPrefix(msg, "While parsing config: ")
	msg = strings.TrimPrefix(msg, "yaml: ")
	msg = yamlQuotedRE().ReplaceAllString(msg, "")
	if m := yamlAnchorRE().FindStringSubmatch(msg); m != nil {
		if m[2] == "referenced" {
			return "an alias (*name) refers to no anchor; quote a value that starts with *"
		}
		return "an anchor's value contains itself"
	}
	if m := yamlDecodeRE().FindStringSubmatch(msg); m != nil {
		want, ok := yamlKinds[m[2]]
		if !ok {
			return "a value does not match its tag"
		}
		return fmt.Sprintf("a value tagged %s is not %s", m[2], want)
	}
	if strings.HasPrefix(msg, "invalid map key") {
		return "invalid map key: a key must be text"
	}
	if m := yamlIntoRE().FindStringSubmatch(msg); m != nil {
		want, ok := yamlTargets[m[2]]
		if !ok {
			want = "a mapping"
		}
		found, ok := yamlKinds[m[1]]
		if !ok {
			// A tag of the user's own, such as an unquoted "!secret".
			found = "a tagged value (quote a value that starts with !)"
		}
		return fmt.Sprintf("expected %s, found %s", want, found)
	}
	return msg
}

// splitYAMLError separates "yaml: line N: message" into N and message
// (the first message only, for a multi-error type error).
func splitYAMLError(s string) (int, string) {
	line := 0
	if m := yamlLineRE().FindStringSubmatchIndex(s); m != nil {
		line, _ = strconv.Atoi(s[m[2]:m[3]])
		s = s[m[1]:]
	}
	if nl := strings.IndexByte(s, '\n'); nl >= 0 {
		s = s[:nl]
	}
	return line, strings.TrimPrefix(s, "yaml: ")
}

// firstFailingLine finds where a syntax error really is. yaml.v3 reports
// the line where the enclosing block starts ("line 2: did not find
// expected key" for a mis-indented key on line 5); the first prefix of the
// file that fails with the same message ends on the offending line, which
// is never before the reported one. Each try parses the whole prefix, so
// the search stops after a budget of parsed bytes (a few times the
// largest config file): past it, the reported line stands. It returns 0
// when no prefix reproduces the error.
func firstFailingLine(data []byte, reported int, msg string) int {
	const budget = 4 * atomicfile.MaxInputFile
	lines := bytes.SplitAfter(data, []byte("\n"))
	// yaml.v3 counts a lone carriage return as a line break, and lines
	// here end at \n only: then its line numbers are no lower bound.
	start := reported
	if bytes.IndexByte(data, '\r') >= 0 {
		start = 1
	}
	size, spent := 0, 0
	for i, l := range lines {
		size += len(l)
		if i+1 < start {
			continue
		}
		if spent += size; spent > budget {
			return 0
		}
		var n yaml.Node
		if err := yaml.Unmarshal(data[:size], &n); err != nil {
			if _, m := splitYAMLError(err.Error()); m == msg {
				return i + 1
			}
		}
	}
	return 0
}
