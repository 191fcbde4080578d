package config

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"unicode"
)

// SaaS endpoints (Camunda 8.8 and earlier cluster addresses).
const (
	SaaSTokenURL = "https://login.cloud.camunda.io/oauth/token" // #nosec G101 -- a public endpoint, not a credential
	SaaSAudience = "zeebe.camunda.io"
)

// SaaSSettings are the settings `--region R --cluster-id C` stand for.
func SaaSSettings(region, clusterID string) map[Key]string {
	return map[Key]string{
		Address:    SaaSAddress(region, clusterID),
		TokenURL:   SaaSTokenURL,
		Audience:   SaaSAudience,
		AuthMethod: MethodOIDC,
	}
}

// ParseEnvFile reads a Camunda Console credentials download or any .env
// file: `export KEY='value'`, `KEY="value"` or `KEY=value` lines; blank
// lines and # comments are skipped. It never evaluates anything.
func ParseEnvFile(r io.Reader) (map[string]string, error) {
	out := map[string]string{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		text := sc.Text()
		if n == 1 {
			// Windows editors start a UTF-8 file with a byte order mark.
			text = strings.TrimPrefix(text, "\ufeff")
		}
		line := strings.TrimSpace(text)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if rest, ok := strings.CutPrefix(line, "export"); ok && rest != "" && unicode.IsSpace(rune(rest[0])) {
			line = strings.TrimSpace(rest)
		}
		key, value, ok := strings.Cut(line, "=")
		key = strings.TrimSpace(key)
		// A key starting with # would be a comment once written back.
		if !ok || key == "" || key[0] == '#' || strings.ContainsFunc(key, badKeyRune) {
			return nil, fmt.Errorf("line %d: expected KEY=value", n)
		}
		value = strings.TrimSpace(value)
		if len(value) >= 2 && (value[0] == '\'' || value[0] == '"') && value[len(value)-1] == value[0] {
			value = value[1 : len(value)-1]
			if value != "" && line[len(line)-1] == '"' {
				value = strings.ReplaceAll(strings.ReplaceAll(value, `\"`, `"`), `\\`, `\`)
			}
		} else if i := strings.Index(value, " #"); i >= 0 {
			value = strings.TrimSpace(value[:i])
		}
		out[key] = value
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// badKeyRune is what no variable name holds: quotes, spaces, and control
// characters (a lone carriage return from an old Mac file included).
func badKeyRune(r rune) bool {
	return r == '\'' || r == '"' || unicode.IsSpace(r) || unicode.IsControl(r)
}

// Imported is what a set of CAMUNDA_*/ZEEBE_* variables says about a
// profile: settings for the file, and secrets for the secret store.
type Imported struct {
	Settings map[Key]string
	Secrets  map[Key]string
	// From names the variable each value came from, for the message.
	From map[Key]string
}

// Import maps variables onto profile settings with the same table (and
// alias order) that resolution uses. The SaaS coordinates become the SaaS
// address, token URL and audience where the variables do not name them;
// the method is inferred as at run time when CAMUNDA_AUTH_STRATEGY is
// absent.
func Import(lookup func(string) (string, bool)) (*Imported, error) {
	env := func(n string) string { v, _ := lookup(n); return v }
	im := &Imported{Settings: map[Key]string{}, Secrets: map[Key]string{}, From: map[Key]string{}}
	for _, f := range Fields {
		name, v := firstEnv(f.Env, env)
		if v == "" {
			continue
		}
		im.From[f.Key] = name
		switch {
		case f.Secret:
			im.Secrets[f.Key] = v
		case f.EnvOnly:
		default:
			im.Settings[f.Key] = v
		}
	}
	if m, ok := im.Settings[AuthMethod]; ok {
		pm, valid := ParseMethod(m)
		if !valid {
			return nil, &UsageError{Msg: fmt.Sprintf("%s=%q is not one of NONE, BASIC, OAUTH, BEARER", im.From[AuthMethod], m)}
		}
		im.Settings[AuthMethod] = pm
	}
	if region, id := env("CAMUNDA_CLUSTER_REGION"), env("CAMUNDA_CLUSTER_ID"); region != "" && id != "" {
		for k, v := range SaaSSettings(region, id) {
			if _, ok := im.Settings[k]; !ok {
				im.Settings[k] = v
				im.From[k] = "CAMUNDA_CLUSTER_REGION + CAMUNDA_CLUSTER_ID"
			}
		}
	}
	if _, ok := im.Settings[AuthMethod]; !ok {
		if m := MethodForNewProfile(im.Settings, im.Secrets); m != MethodNone {
			im.Settings[AuthMethod] = m
		}
	}
	for _, k := range []Key{Address, TokenURL} {
		if v, ok := im.Settings[k]; ok && hasUserinfo(v) {
			return nil, &UsageError{Msg: fmt.Sprintf("%s contains credentials; remove them", im.From[k])}
		}
	}
	return im, nil
}
