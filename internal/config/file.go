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

	"github.com/spf13/viper"
	"go.yaml.in/yaml/v3"
)

// File is the content of config.yaml that camctl understands. Keys it
// does not know are ignored when reading and kept when writing.
type File struct {
	CurrentProfile string             `mapstructure:"current-profile" yaml:"current-profile"`
	Profiles       map[string]Profile `mapstructure:"profiles" yaml:"profiles"`
}

// Profile is one named cluster connection.
type Profile struct {
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
}

// TLSConfig applies to every connection of the profile (API and token endpoint).
type TLSConfig struct {
	CAFile             string `mapstructure:"ca-file" yaml:"ca-file"`
	ClientCert         string `mapstructure:"client-cert" yaml:"client-cert"`
	ClientKey          string `mapstructure:"client-key" yaml:"client-key"`
	Keystore           string `mapstructure:"keystore" yaml:"keystore"`
	InsecureSkipVerify bool   `mapstructure:"insecure-skip-verify" yaml:"insecure-skip-verify"`
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
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return &File{}, nil
	}
	if err != nil {
		return nil, &FileError{Path: path, Err: err}
	}
	return parse(path, data)
}

func parse(path string, data []byte) (*File, error) {
	// "::" as the key delimiter: profile names never contain it, so viper
	// cannot split a name into nested keys.
	v := viper.NewWithOptions(viper.KeyDelimiter("::"))
	v.SetConfigType("yaml")
	if err := v.ReadConfig(bytes.NewReader(data)); err != nil {
		return nil, yamlError(path, data, err)
	}
	var f File
	if err := v.Unmarshal(&f); err != nil {
		// mapstructure knows no line numbers; yaml.v3 does.
		return nil, yamlError(path, data, err)
	}
	if err := validateNames(path, data, &f); err != nil {
		return nil, err
	}
	return &f, nil
}

var (
	yamlLineRE  = regexp.MustCompile(`line (\d+): `)
	yamlIntoRE  = regexp.MustCompile(`cannot unmarshal (!!\w+)(?: ` + "`" + `[^` + "`" + `]*` + "`" + `)? into (\S+)`)
	yamlKinds   = map[string]string{"!!seq": "a list", "!!map": "a mapping", "!!str": "text", "!!int": "a number", "!!float": "a number", "!!bool": "true/false", "!!null": "nothing"}
	yamlTargets = map[string]string{"string": "text", "bool": "true or false"}
)

// yamlError turns a parse or decode failure into a FileError with a line
// number. viper's errors carry none for type mismatches, so the file is
// decoded once more with yaml.v3, which reports them — this runs only on
// the error path.
func yamlError(path string, data []byte, err error) error {
	var f File
	if yerr := yaml.Unmarshal(data, &f); yerr != nil {
		err = yerr
	}
	msg := err.Error()
	line := 0
	if m := yamlLineRE.FindStringSubmatchIndex(msg); m != nil {
		line, _ = strconv.Atoi(msg[m[2]:m[3]])
		msg = msg[m[1]:]
		if nl := strings.IndexByte(msg, '\n'); nl >= 0 {
			msg = msg[:nl]
		}
	}
	msg = strings.TrimPrefix(msg, "yaml: ")
	if m := yamlIntoRE.FindStringSubmatch(msg); m != nil {
		want, ok := yamlTargets[m[2]]
		if !ok {
			want = "a mapping"
		}
		found := yamlKinds[m[1]]
		if found == "" {
			found = m[1]
		}
		msg = fmt.Sprintf("expected %s, found %s", want, found)
	}
	return &FileError{Path: path, Line: line, Err: errors.New(msg)}
}

// validateNames reports profile names that camctl would refuse to create,
// with the line they are on. viper has already folded case, so the check
// runs on the YAML document itself.
func validateNames(path string, data []byte, f *File) error {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil || len(doc.Content) == 0 {
		return nil
	}
	profiles := mappingValue(doc.Content[0], "profiles")
	if profiles == nil {
		return nil
	}
	if profiles.Kind != yaml.MappingNode {
		if profiles.Tag == "!!null" {
			return nil
		}
		return &FileError{Path: path, Line: profiles.Line, Err: errors.New("profiles must be a mapping of profile name to settings")}
	}
	for i := 0; i < len(profiles.Content); i += 2 {
		k := profiles.Content[i]
		if err := ValidateName(k.Value); err != nil {
			return &FileError{Path: path, Line: k.Line, Err: err}
		}
		if val := profiles.Content[i+1]; val.Kind != yaml.MappingNode && val.Tag != "!!null" {
			return &FileError{Path: path, Line: val.Line, Err: fmt.Errorf("profile %q must be a mapping of settings", k.Value)}
		}
	}
	return nil
}
