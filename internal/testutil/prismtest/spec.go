package prismtest

import (
	"bytes"
	"fmt"
	"os"

	"go.yaml.in/yaml/v3"
)

// Patches says what Patch changed in the spec, for the test's log and
// for a test that notices when Camunda fixes its spec.
type Patches struct {
	// ObjectOneOf counts the schemas that said "type: object" next to a
	// oneOf with a non-object branch (ProcessInstanceStateFilterProperty:
	// a string or an advanced filter). Prism's validator (ajv) applies
	// both, so it refuses {"state":"ACTIVE"}, which Camunda itself takes
	// and documents; the patch drops the "type: object".
	ObjectOneOf int
	// MultipartArrays counts the multipart file arrays made a single
	// binary (POST /deployments resources): Prism 5.16 reads repeated
	// form parts as one string and refuses any deployment with "must be
	// array" (stoplightio/prism#2654, unmerged). Prism then checks the
	// part's name and that one is there, not how many.
	MultipartArrays int
}

// Patch reads the OpenAPI document at src and writes to dst the copy
// Prism validates against, with Patches' changes and nothing else.
func Patch(src, dst string) (Patches, error) {
	var p Patches
	body, err := os.ReadFile(src)
	if err != nil {
		return p, err
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(body, &doc); err != nil {
		return p, fmt.Errorf("prismtest: parse %s: %w", src, err)
	}
	walk(&doc, &p)
	var out bytes.Buffer
	enc := yaml.NewEncoder(&out)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return p, fmt.Errorf("prismtest: write the patched spec: %w", err)
	}
	return p, os.WriteFile(dst, out.Bytes(), 0o600)
}

// get is the value of key in mapping node n, or nil.
func get(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

func del(n *yaml.Node, key string) {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			n.Content = append(n.Content[:i], n.Content[i+2:]...)
			return
		}
	}
}

func walk(n *yaml.Node, p *Patches) {
	if n.Kind == yaml.MappingNode {
		if t, one := get(n, "type"), get(n, "oneOf"); t != nil && t.Value == "object" && one != nil && one.Kind == yaml.SequenceNode {
			for _, b := range one.Content {
				if bt := get(b, "type"); bt != nil && bt.Value != "object" {
					del(n, "type")
					p.ObjectOneOf++
					break
				}
			}
		}
		if mp := get(get(n, "content"), "multipart/form-data"); mp != nil {
			props := get(get(mp, "schema"), "properties")
			for i := 0; props != nil && i+1 < len(props.Content); i += 2 {
				v := props.Content[i+1]
				if t := get(v, "type"); t != nil && t.Value == "array" {
					if f := get(get(v, "items"), "format"); f != nil && f.Value == "binary" {
						props.Content[i+1] = &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{
							{Kind: yaml.ScalarNode, Value: "type"}, {Kind: yaml.ScalarNode, Value: "string"},
							{Kind: yaml.ScalarNode, Value: "format"}, {Kind: yaml.ScalarNode, Value: "binary"},
						}}
						p.MultipartArrays++
					}
				}
			}
		}
	}
	for _, c := range n.Content {
		walk(c, p)
	}
}
