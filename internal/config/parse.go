package config

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode"

	"github.com/spf13/viper"
	"go.yaml.in/yaml/v3"
)

// parse reads config.yaml in time linear in its size. yaml.v3 checks
// every mapping for duplicate keys by comparing each key with every other
// one, so decoding a file of 40,000 keys took seconds (and viper, which
// decodes the whole file the same way, doubled it). The file is therefore
// parsed once into a node tree, which is linear; check walks that tree
// with a map for duplicates; and only the settings camctl knows, a handful
// of keys per profile, are decoded, one profile at a time.
func parse(path string, data []byte) (*File, error) {
	lines := yamlLines(data)
	f, err := parseNodes(path, data, lines)
	if fe, ok := errors.AsType[*FileError](err); ok && fe.Line > 0 {
		fe.Line = lines(fe.Line)
	}
	return f, err
}

// yamlLines maps yaml.v3's line numbers to the file's: yaml.v3 counts a
// lone carriage return as a line break too, an editor and the error's
// reader do not.
func yamlLines(data []byte) func(int) int {
	lone := false
	for i, c := range data {
		if c == '\r' && (i+1 == len(data) || data[i+1] != '\n') {
			lone = true
			break
		}
	}
	if !lone {
		return func(l int) int { return l }
	}
	ours := []int{0, 1} // ours[yaml line] = file line
	line := 1
	for i, c := range data {
		switch {
		case c == '\n':
			line++
			ours = append(ours, line)
		case c == '\r' && (i+1 == len(data) || data[i+1] != '\n'):
			ours = append(ours, line)
		}
	}
	return func(l int) int {
		if l < len(ours) {
			return ours[l]
		}
		return line
	}
}

func parseNodes(path string, data []byte, lines func(int) int) (*File, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, syntaxError(path, data, err)
	}
	f := &File{}
	if len(doc.Content) == 0 {
		return f, nil
	}
	c := &checker{path: path, open: map[*yaml.Node]bool{}}
	if err := c.node(&doc, ""); err != nil {
		return nil, err
	}
	root := doc.Content[0]
	if isNull(root) {
		return f, nil
	}
	if root.Kind != yaml.MappingNode {
		return nil, &FileError{Path: path, Line: root.Line, Err: fmt.Errorf("expected a mapping, found %s", kindName(root))}
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], deref(root.Content[i+1])
		switch k.Value {
		case "current-profile":
			if err := decodeText(path, v, &f.CurrentProfile); err != nil {
				return nil, err
			}
		case "profiles":
			if err := f.decodeProfiles(path, v, lines); err != nil {
				return nil, err
			}
		}
	}
	return f, nil
}

func (f *File) decodeProfiles(path string, profiles *yaml.Node, lines func(int) int) error {
	if isNull(profiles) {
		return nil
	}
	if profiles.Kind != yaml.MappingNode {
		return &FileError{Path: path, Line: profiles.Line, Err: fmt.Errorf("expected a mapping, found %s", kindName(profiles))}
	}
	// Each profile's known settings, pruned and decoded one profile at a
	// time (linear), go to viper as one tree; viper then fills File.
	tree := make(map[string]any, len(profiles.Content)/2)
	known := make([]*yaml.Node, 0, len(profiles.Content)/2) // in file order
	ids := map[string]string{}
	for i := 0; i+1 < len(profiles.Content); i += 2 {
		k, v := profiles.Content[i], deref(profiles.Content[i+1])
		name := k.Value
		if err := ValidateName(name); err != nil {
			return &FileError{Path: path, Line: k.Line, Err: err}
		}
		settings := map[string]any{}
		if !isNull(v) {
			if v.Kind != yaml.MappingNode {
				return &FileError{Path: path, Line: v.Line, Err: fmt.Errorf("expected a mapping, found %s", kindName(v))}
			}
			pr := &pruner{path: path, lines: lines, done: map[*yaml.Node]*yaml.Node{}}
			kn, err := pr.prune(v, profileSchema(), "profiles."+name, true)
			if err != nil {
				return err
			}
			f.Warnings = append(f.Warnings, pr.warnings...)
			if err := kn.Decode(&settings); err != nil {
				return decodeError(path, v.Line, err)
			}
			known = append(known, kn)
			if id := mappingValue(v, IDKey); id != nil {
				if id.Kind != yaml.ScalarNode || !validID(id.Value) {
					return &FileError{Path: path, Line: id.Line, Err: invalidIDError(name)}
				}
				// Two profiles with one id (a block copied with its id)
				// would share, and delete, each other's stored secrets.
				if other, dup := ids[id.Value]; dup {
					return &FileError{Path: path, Line: id.Line, Err: fmt.Errorf("profiles %q and %q have the same id; remove the id line of %q (camctl assigns a new one; then run `camctl login -p %s`)", other, name, name, name)}
				}
				ids[id.Value] = name
			}
			if a := mappingValue(v, "address"); a != nil && hasUserinfo(a.Value) {
				return &FileError{Path: path, Line: a.Line, Err: fmt.Errorf("the address of profile %q contains credentials; remove them and store the password with `camctl login`", name)}
			}
			if u := mappingValue(mappingValue(v, "auth"), "token-url"); u != nil && hasUserinfo(u.Value) {
				return &FileError{Path: path, Line: u.Line, Err: fmt.Errorf("the token URL of profile %q contains credentials; remove them and store the secret with `camctl login`", name)}
			}
		}
		tree[name] = settings
	}
	return f.readProfiles(path, tree, known)
}

// readProfiles hands the known settings to viper, which decodes them into
// f.Profiles. viper sees only this pruned tree, never the file, the
// environment or flags, and never writes: its WriteConfig would persist
// environment values such as a password. "::" as the key delimiter keeps
// it from splitting anything on dots.
func (f *File) readProfiles(path string, tree map[string]any, known []*yaml.Node) error {
	v := viper.NewWithOptions(viper.KeyDelimiter("::"))
	if err := v.MergeConfigMap(map[string]any{"profiles": tree}); err != nil {
		return &FileError{Path: path, Err: err}
	}
	// UnmarshalKey decodes the one subtree; Unmarshal would first list
	// and look up every single setting of every profile.
	var profiles map[string]Profile
	if err := v.UnmarshalKey("profiles", &profiles); err != nil {
		// mapstructure knows no line numbers; yaml.v3 finds the setting.
		for _, kn := range known {
			var p Profile
			if derr := kn.Decode(&p); derr != nil {
				return decodeError(path, kn.Line, derr)
			}
		}
		return &FileError{Path: path, Err: err}
	}
	f.Profiles = profiles
	if f.Profiles == nil {
		f.Profiles = make(map[string]Profile, len(tree))
	}
	// viper drops settings-free profiles (`name: {}`); they still exist.
	for name := range tree {
		if _, ok := f.Profiles[name]; !ok {
			f.Profiles[name] = Profile{}
		}
	}
	return nil
}

// schema is the keys camctl knows at one level of a profile; a nil
// value is a setting, anything else a block of settings.
type schema map[string]schema

// profileSchema is what a profile may hold, from Fields: every setting
// that is stored in the file, and the profile's id.
var profileSchema = sync.OnceValue(func() schema {
	s := schema{"id": nil}
	for _, f := range Fields {
		if f.Secret || f.EnvOnly {
			continue
		}
		parts := strings.Split(string(f.Key), ".")
		level := s
		for _, p := range parts[:len(parts)-1] {
			if level[p] == nil {
				level[p] = schema{}
			}
			level = level[p]
		}
		level[parts[len(parts)-1]] = nil
	}
	return s
})

// pruner copies a profile's node tree with only the keys of a schema, so
// that decoding it costs what those few keys cost, whatever else the
// profile holds. Merge keys (<<) are kept, with their mappings pruned too.
type pruner struct {
	path     string
	lines    func(int) int             // yaml.v3's line numbers to the file's
	done     map[*yaml.Node]*yaml.Node // pruned copies of anchored mappings
	warnings []string
}

func (p *pruner) prune(m *yaml.Node, s schema, where string, report bool) (*yaml.Node, error) {
	if c, ok := p.done[m]; ok {
		return c, nil
	}
	out := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: m.Line, Column: m.Column}
	p.done[m] = out
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		if isMerge(k) {
			merged, err := p.merge(v, s)
			if err != nil {
				return nil, err
			}
			out.Content = append(out.Content, k, merged)
			continue
		}
		sub, known := s[k.Value]
		if !known {
			if report {
				p.warnings = append(p.warnings, fmt.Sprintf("%s, line %d: %s", p.path, p.lines(k.Line), unknownKey(where, k.Value, s)))
			}
			continue
		}
		if sub == nil {
			// A setting: text (or true/false), never a mapping, which
			// yaml.v3 would decode into a string as "".
			if d := deref(v); d.Kind == yaml.MappingNode {
				return nil, &FileError{Path: p.path, Line: d.Line, Err: errors.New("expected text, found a mapping")}
			}
			out.Content = append(out.Content, k, v)
			continue
		}
		d := deref(v)
		if d.Kind == yaml.MappingNode {
			c, err := p.prune(d, sub, where+"."+k.Value, report && d == v)
			if err != nil {
				return nil, err
			}
			v = c
		}
		out.Content = append(out.Content, k, v)
	}
	return out, nil
}

// merge prunes the value of a merge key: a mapping, an alias of one, or
// a list of those. It stays an alias, so that yaml.v3's limit on
// excessive aliasing still applies when the copy is decoded.
func (p *pruner) merge(v *yaml.Node, s schema) (*yaml.Node, error) {
	switch v.Kind {
	case yaml.AliasNode:
		if v.Alias.Kind != yaml.MappingNode {
			return v, nil
		}
		c, err := p.prune(v.Alias, s, "", false)
		if err != nil {
			return nil, err
		}
		return &yaml.Node{Kind: yaml.AliasNode, Value: v.Value, Alias: c, Line: v.Line, Column: v.Column}, nil
	case yaml.MappingNode:
		return p.prune(v, s, "", false)
	case yaml.SequenceNode:
		out := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Line: v.Line, Column: v.Column}
		for _, e := range v.Content {
			c, err := p.merge(e, s)
			if err != nil {
				return nil, err
			}
			out.Content = append(out.Content, c)
		}
		return out, nil
	}
	return v, nil
}

// unknownKey is the warning about key at where: spec §3 wants the
// closest known key named, as git does for a mistyped command.
func unknownKey(where, key string, s schema) string {
	shown := key
	if strings.ContainsFunc(key, func(r rune) bool { return !unicode.IsPrint(r) }) {
		shown = strconv.Quote(key)
	}
	msg := where + "." + shown + ": unknown setting"
	best, bestDist := "", -1
	for known := range s {
		d := levenshtein(strings.ToLower(key), known)
		if bestDist < 0 || d < bestDist || d == bestDist && known < best {
			best, bestDist = known, d
		}
	}
	// A suggestion further away than half the key is noise ("color" is
	// not a misspelt "tls").
	if bestDist >= 0 && bestDist <= max(1, (len(key)+1)/3) {
		return msg + "; did you mean " + best + "?"
	}
	// A setting of a block written at the profile level ("method:").
	for block, sub := range s {
		if _, ok := sub[key]; ok && sub != nil {
			return msg + "; did you mean " + block + "." + key + "?"
		}
	}
	return msg
}

// levenshtein is the edit distance of a and b (bytes: keys are ASCII).
func levenshtein(a, b string) int {
	if len(a) > 64 {
		// Nothing camctl knows is that long; do not spend time on it.
		return len(a)
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// checker walks the whole document once and finds what decoding the
// file would have found, in linear time: duplicate keys, keys that are
// not text, values that do not match their explicit tag, anchors that
// contain themselves, malformed merges; and secret-looking keys, which
// spec §3 makes a configuration error.
type checker struct {
	path string
	open map[*yaml.Node]bool // the nodes being walked: an alias to one is a cycle
}

func (c *checker) fail(line int, msg string) error {
	return &FileError{Path: c.path, Line: line, Err: errors.New(msg)}
}

func (c *checker) node(n *yaml.Node, where string) error {
	switch n.Kind {
	case yaml.AliasNode:
		if c.open[n.Alias] {
			return c.fail(n.Line, "an anchor's value contains itself")
		}
		return nil
	case yaml.ScalarNode:
		if n.Style&yaml.TaggedStyle == 0 {
			return nil
		}
		// Only an explicit tag (!!int) can make a scalar fail to decode.
		if err := n.Decode(new(any)); err != nil {
			return decodeError(c.path, n.Line, err)
		}
		return nil
	}
	c.open[n] = true
	defer delete(c.open, n)
	if n.Kind != yaml.MappingNode {
		for _, child := range n.Content {
			if err := c.node(child, where); err != nil {
				return err
			}
		}
		return nil
	}
	seen := make(map[string]int, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if d := deref(k); d.Kind == yaml.MappingNode || d.Kind == yaml.SequenceNode {
			return c.fail(k.Line, "invalid map key: a key must be text")
		}
		if k.Kind == yaml.ScalarNode {
			if line, dup := seen[k.Value]; dup {
				return c.fail(k.Line, fmt.Sprintf("mapping key %q already defined at line %d", k.Value, line))
			}
			seen[k.Value] = k.Line
		}
		if err := c.node(k, where); err != nil {
			return err
		}
		if isMerge(k) {
			if !mergeable(v) {
				return c.fail(v.Line, "map merge requires map or sequence of maps as the value")
			}
		}
		key := where + "." + k.Value
		if where == "" {
			key = k.Value
		}
		if err := c.node(v, key); err != nil {
			return err
		}
		// The keys under profiles are names ("ci-token" is a profile,
		// not a token); below them they are settings again.
		if k.Kind == yaml.ScalarNode && where != "profiles" && secretLooking(k.Value) {
			return c.fail(k.Line, fmt.Sprintf("%s: a secret does not belong in the config file; remove it and store it with `camctl login` (or pass it in the environment)", key))
		}
	}
	return nil
}

// secretLooking reports whether a key names a secret: password,
// client-secret, token, secret, passphrase, and their compounds however
// they are spelt (keystore-password, access_token, clientSecret,
// accesstoken, apiKey, secretKey, pwd), but not token-url or client-key.
func secretLooking(key string) bool {
	words := keyWords(key)
	if len(words) == 0 {
		return false
	}
	last := words[len(words)-1]
	switch last {
	case "password", "passphrase", "secret", "token", "passwd", "pwd", "pass", "apikey":
		return true
	case "key":
		return slices.Contains(words, "secret") || slices.Contains(words, "api")
	}
	joined := strings.Join(words, "")
	for _, w := range []string{"password", "passphrase", "secret", "token", "passwd", "apikey"} {
		if strings.HasSuffix(joined, w) {
			return true
		}
	}
	return false
}

// keyWords splits a key into lower-case words at '-', '_', '.', spaces
// and camelCase humps: "clientSecret" and "client_secret" are alike.
func keyWords(key string) []string {
	var words []string
	var cur []rune
	flush := func() {
		if len(cur) > 0 {
			words = append(words, strings.ToLower(string(cur)))
			cur = cur[:0]
		}
	}
	prevLower := false
	for _, r := range key {
		switch {
		case r == '-' || r == '_' || r == '.' || unicode.IsSpace(r):
			flush()
			prevLower = false
			continue
		case unicode.IsUpper(r) && prevLower:
			flush()
		}
		cur = append(cur, r)
		prevLower = unicode.IsLower(r) || unicode.IsDigit(r)
	}
	flush()
	return words
}

func mergeable(v *yaml.Node) bool {
	switch d := deref(v); d.Kind {
	case yaml.MappingNode:
		return true
	case yaml.SequenceNode:
		for _, e := range d.Content {
			if deref(e).Kind != yaml.MappingNode {
				return false
			}
		}
		return true
	}
	return false
}

// isMerge is yaml.v3's test for a merge key.
func isMerge(k *yaml.Node) bool {
	return k.Kind == yaml.ScalarNode && k.Value == "<<" && (k.Tag == "" || k.Tag == "!" || k.Tag == "!!merge" || k.Tag == "tag:yaml.org,2002:merge")
}

// deref follows an alias to its anchored node.
func deref(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if k, ok := yamlKinds[n.ShortTag()]; ok && n.Style&yaml.TaggedStyle == 0 {
			return k
		}
		return "a tagged value (quote a value that starts with !)"
	}
	return "something else"
}

func decodeText(path string, n *yaml.Node, out *string) error {
	if n.Kind == yaml.MappingNode {
		return &FileError{Path: path, Line: n.Line, Err: errors.New("expected text, found a mapping")}
	}
	if err := n.Decode(out); err != nil {
		return decodeError(path, n.Line, err)
	}
	return nil
}

// decodeError turns an error of Node.Decode into a FileError in the
// user's terms, at the line yaml.v3 names (or line, when it names none),
// without the values it quotes.
func decodeError(path string, line int, err error) error {
	l, msg := splitYAMLError(err.Error())
	if l > 0 {
		line = l
	}
	return &FileError{Path: path, Line: line, Err: errors.New(withoutValues(msg))}
}
