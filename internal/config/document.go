package config

import (
	"bytes"
	"context"
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/camctl/camctl/internal/atomicfile"
)

// Document is config.yaml as a YAML node tree. Commands change it through
// the methods below, which touch only the keys they are about, so unknown
// keys, comments and ordering survive a rewrite.
type Document struct {
	doc  *yaml.Node // the document, with the file's head and foot comments
	root *yaml.Node // its top-level mapping
}

// ParseDocument parses data (which may be empty).
func ParseDocument(path string, data []byte) (*Document, error) {
	if len(bytes.TrimSpace(data)) > 0 {
		// Validate with the same rules as Load, so an edit never starts
		// from (or writes back) a file that Load would refuse.
		if _, err := parse(path, data); err != nil {
			return nil, err
		}
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, syntaxError(path, data, err)
	}
	// A file of only "---" (or "~") is as empty as a file of comments:
	// Load accepts it, so editing must too.
	if len(doc.Content) == 0 || doc.Content[0].Kind == yaml.ScalarNode && doc.Content[0].ShortTag() == "!!null" {
		root := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		doc = yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{root}, HeadComment: doc.HeadComment, FootComment: doc.FootComment}
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, &FileError{Path: path, Line: root.Line, Err: fmt.Errorf("the top level must be a mapping")}
	}
	return &Document{doc: &doc, root: root}, nil
}

// Bytes renders the document.
func (d *Document) Bytes() ([]byte, error) {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(d.doc); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// CurrentProfile returns current-profile ("" when unset).
func (d *Document) CurrentProfile() string {
	if n := mappingValue(d.root, "current-profile"); n != nil && n.Kind == yaml.ScalarNode {
		return n.Value
	}
	return ""
}

// SetCurrentProfile sets current-profile; "" removes the key.
func (d *Document) SetCurrentProfile(name string) {
	if name == "" {
		deleteKey(d.root, "current-profile")
		return
	}
	setScalar(d.root, "current-profile", name, "!!str")
}

// HasProfile reports whether profiles.<name> exists.
func (d *Document) HasProfile(name string) bool {
	return d.profile(name) != nil
}

// ProfileNames returns the names in file order.
func (d *Document) ProfileNames() []string {
	profiles := mappingValue(d.root, "profiles")
	if profiles == nil || profiles.Kind != yaml.MappingNode {
		return nil
	}
	var names []string
	for i := 0; i < len(profiles.Content); i += 2 {
		names = append(names, profiles.Content[i].Value)
	}
	return names
}

// AddProfile creates an empty profile; it fails if name exists.
func (d *Document) AddProfile(name string) error {
	if err := ValidateName(name); err != nil {
		return err
	}
	if d.HasProfile(name) {
		return &UsageError{Msg: fmt.Sprintf("profile %q already exists: change it with `camctl profile set %s`", name, name)}
	}
	profiles := d.profiles(true)
	// Every new profile gets a new id, so a namesake of a removed
	// profile never reaches the secrets stored for it.
	profiles.Content = append(profiles.Content,
		&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: name},
		&yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Content: idNodes(NewProfileID())})
	return nil
}

func idNodes(id string) []*yaml.Node {
	return []*yaml.Node{
		{Kind: yaml.ScalarNode, Tag: "!!str", Value: IDKey},
		{Kind: yaml.ScalarNode, Tag: "!!str", Value: id},
	}
}

// ProfileID returns the id of profile name ("" when it has none or does
// not exist).
func (d *Document) ProfileID(name string) string {
	if n := mappingValue(d.profile(name), IDKey); n != nil && n.Kind == yaml.ScalarNode {
		return n.Value
	}
	return ""
}

// EnsureProfileID returns the id of profile name, giving it id (or, when
// id is "", a new one) first if it has none. The id goes first in the
// profile, where a reader sees that it belongs to camctl.
func (d *Document) EnsureProfileID(name, id string) (string, error) {
	p := d.profile(name)
	if p == nil {
		return "", &UsageError{Msg: fmt.Sprintf("profile %q does not exist", name)}
	}
	if have := d.ProfileID(name); have != "" {
		return have, nil
	}
	if id == "" {
		id = NewProfileID()
	}
	deleteKey(p, IDKey) // a non-scalar id, which validation already refused
	p.Content = append(idNodes(id), p.Content...)
	return id, nil
}

// CreateProfile adds profile name with settings (in the order of
// Fields), filling in the address and the auth method when they are not
// given, and, with mayBecomeCurrent, makes it current when no profile is.
// It fails if name exists, and reports whether the profile became current.
func (d *Document) CreateProfile(name string, settings map[Key]string, mayBecomeCurrent bool) (becameCurrent bool, err error) {
	wasNone := mayBecomeCurrent && d.CurrentProfile() == ""
	if err := d.AddProfile(name); err != nil {
		return false, err
	}
	if settings[Address] == "" {
		settings[Address] = DefaultAddress
	}
	if settings[AuthMethod] == "" {
		settings[AuthMethod] = MethodForNewProfile(settings, nil)
	}
	for _, f := range Fields {
		if v, ok := settings[f.Key]; ok {
			if err := d.Set(name, f.Key, v); err != nil {
				return false, err
			}
		}
	}
	if wasNone {
		d.SetCurrentProfile(name)
	}
	return wasNone, nil
}

// MethodForNewProfile picks the auth method of a profile being created
// from what it is given, before any secret exists: a client id means
// oidc, a user name basic, a static token bearer. (At run time Resolve
// wants the credentials themselves, as Camunda's SDKs do.)
func MethodForNewProfile(settings, secrets map[Key]string) string {
	switch {
	case settings[ClientID] != "":
		return MethodOIDC
	case settings[Command] != "":
		return MethodExec
	case settings[Username] != "":
		return MethodBasic
	case secrets[Token] != "":
		return MethodBearer
	}
	return MethodNone
}

// Set changes one setting of an existing profile; "" removes it. Secrets
// are refused here so that no code path can write one into the file.
func (d *Document) Set(name string, key Key, value string) error {
	f, ok := FieldFor(key)
	if !ok || f.Secret || f.EnvOnly {
		return fmt.Errorf("%s cannot be stored in the config file", key)
	}
	p := d.profile(name)
	if p == nil {
		return &UsageError{Msg: fmt.Sprintf("profile %q does not exist", name)}
	}
	path := strings.Split(string(key), ".")
	parent := p
	for _, part := range path[:len(path)-1] {
		child := mappingValue(parent, part)
		if child == nil || child.Kind != yaml.MappingNode {
			if value == "" {
				return nil
			}
			child = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
			setNode(parent, part, child)
		}
		parent = child
	}
	last := path[len(path)-1]
	if value == "" {
		deleteKey(parent, last)
		// Drop blocks left empty ("tls: {}"), up to the profile itself.
		for i := len(path) - 2; i >= 0; i-- {
			block := p
			for _, part := range path[:i] {
				block = mappingValue(block, part)
			}
			if child := mappingValue(block, path[i]); child != nil && len(child.Content) == 0 {
				deleteKey(block, path[i])
			}
		}
		return nil
	}
	if key == Command {
		n, err := commandNode(value)
		if err != nil {
			return &UsageError{Msg: err.Error()}
		}
		setNode(parent, last, n)
		return nil
	}
	tag := "!!str"
	if f.Bool {
		tag = "!!bool"
	}
	setScalar(parent, last, value, tag)
	return nil
}

// RemoveProfile deletes profiles.<name>; it reports whether it existed.
func (d *Document) RemoveProfile(name string) bool {
	profiles := d.profiles(false)
	if profiles == nil {
		return false
	}
	return deleteKey(profiles, name)
}

// RenameProfile renames in place, keeping the profile's position.
func (d *Document) RenameProfile(old, new string) error {
	if err := ValidateName(new); err != nil {
		return err
	}
	profiles := d.profiles(false)
	if profiles == nil || mappingValue(profiles, old) == nil {
		return &UsageError{Msg: fmt.Sprintf("profile %q does not exist", old)}
	}
	if mappingValue(profiles, new) != nil {
		return &UsageError{Msg: fmt.Sprintf("profile %q already exists", new)}
	}
	for i := 0; i < len(profiles.Content); i += 2 {
		if profiles.Content[i].Value == old {
			profiles.Content[i].Value = new
		}
	}
	if d.CurrentProfile() == old {
		d.SetCurrentProfile(new)
	}
	return nil
}

func (d *Document) profiles(create bool) *yaml.Node {
	profiles := mappingValue(d.root, "profiles")
	if profiles != nil && profiles.Kind == yaml.MappingNode {
		return profiles
	}
	if !create {
		return nil
	}
	profiles = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	setNode(d.root, "profiles", profiles)
	return profiles
}

func (d *Document) profile(name string) *yaml.Node {
	profiles := d.profiles(false)
	if profiles == nil {
		return nil
	}
	p := mappingValue(profiles, name)
	if p == nil {
		return nil
	}
	if p.Kind != yaml.MappingNode {
		// "name:" with nothing after it; make it an empty mapping to edit.
		*p = yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: p.Line}
	}
	return p
}

func mappingValue(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

func setNode(m *yaml.Node, key string, value *yaml.Node) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			m.Content[i+1] = value
			return
		}
	}
	m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key}, value)
}

func setScalar(m *yaml.Node, key, value, tag string) {
	if n := mappingValue(m, key); n != nil && n.Kind == yaml.ScalarNode {
		// Keep the node (and its comments); reset the style so a value
		// that needs quoting gets it.
		n.Value, n.Tag, n.Style = value, tag, 0
		return
	}
	setNode(m, key, &yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: value})
}

// deleteKey removes key from mapping m. A comment above the key belongs
// to the reader, not the key (it is often the file's header), so it moves
// to the next key, or below the mapping when the key was the last.
func deleteKey(m *yaml.Node, key string) bool {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value != key {
			continue
		}
		if c := m.Content[i].HeadComment; c != "" {
			if i+2 < len(m.Content) {
				next := m.Content[i+2]
				next.HeadComment = strings.TrimSpace(c + "\n" + next.HeadComment)
			} else {
				m.FootComment = strings.TrimSpace(m.FootComment + "\n" + c)
			}
		}
		m.Content = append(m.Content[:i], m.Content[i+2:]...)
		return true
	}
	return false
}

// Edit applies fn to the configuration file at path under an exclusive
// lock and writes the result atomically with mode 0600. The file is read
// inside the lock, so concurrent camctl processes never lose each other's
// changes.
func Edit(ctx context.Context, path string, fn func(*Document) error) error {
	return atomicfile.Update(ctx, path, atomicfile.Shared, func(current []byte) ([]byte, error) {
		doc, err := ParseDocument(path, current)
		if err != nil {
			return nil, err
		}
		if err := fn(doc); err != nil {
			return nil, err
		}
		return doc.Bytes()
	})
}

// SetAll sets each of settings in profile name, in the order of Fields,
// so that files look alike.
func (d *Document) SetAll(name string, settings map[Key]string) error {
	for _, f := range Fields {
		v, ok := settings[f.Key]
		if !ok {
			continue
		}
		if err := d.Set(name, f.Key, v); err != nil {
			return err
		}
	}
	return nil
}
