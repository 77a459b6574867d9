// Package modelcard reads the metadata of a Hugging Face model card: the
// YAML front matter at the top of a model's README.md (licence, base model,
// datasets, languages, tags, …).
//
// The input is untrusted: the front matter is size-capped, alias expansion
// and nesting are bounded, and every error names the line (and field) at
// fault. This package only reads metadata; it does not render or interpret
// the Markdown body, and it does not judge licences (that is for callers).
package modelcard

import (
	"bytes"
	"fmt"
	"math"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// MaxFrontMatter is the largest front matter Parse accepts, in bytes.
const MaxFrontMatter = 1 << 20

// Bounds on the YAML value tree, counted after alias expansion.
const (
	maxValues = 200_000
	maxDepth  = 64
)

// Card is the metadata of a model card. Fields hold what the card says,
// unvalidated; scalars given where strings are expected are kept as their
// literal text (e.g. `language: no` is "no", `base_model: 1.0` is "1.0").
type Card struct {
	// License is the licence identifier (e.g. "apache-2.0", "llama3.1",
	// "other"). When the card lists several, License is the first and
	// Licenses holds them all.
	License     string   `json:"license,omitempty"`
	Licenses    []string `json:"licenses,omitempty"`
	LicenseName string   `json:"license_name,omitempty"`
	LicenseLink string   `json:"license_link,omitempty"`
	// BaseModel lists the models this one derives from (a string or a list
	// in the YAML).
	BaseModel []string `json:"base_model,omitempty"`
	// BaseModelRelation is how: "adapter", "merge", "quantized" or
	// "finetune" (kept as written).
	BaseModelRelation string   `json:"base_model_relation,omitempty"`
	Datasets          []string `json:"datasets,omitempty"`
	Language          []string `json:"language,omitempty"`
	Tags              []string `json:"tags,omitempty"`
	PipelineTag       string   `json:"pipeline_tag,omitempty"`
	LibraryName       string   `json:"library_name,omitempty"`
	// Raw is the whole front matter as JSON-compatible values: maps with
	// string keys, []any, string, int64, float64, bool and nil. Integers
	// too big for int64 become float64; YAML timestamps, binary, custom tags
	// and infinite or NaN floats are kept as their literal text.
	Raw map[string]any `json:"-"`
}

// Error is a problem with a model card's front matter.
type Error struct {
	Line   int    // 1-based line in the README; 0 if unknown
	Field  string // top-level key at fault; "" if none
	Reason string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("model card")
	if e.Line > 0 {
		fmt.Fprintf(&b, " line %d", e.Line)
	}
	if e.Field != "" {
		fmt.Fprintf(&b, ": %s", e.Field)
	}
	b.WriteString(": ")
	b.WriteString(e.Reason)
	return b.String()
}

// HasFrontMatter reports whether b starts with a complete front matter
// block: a "---" line, then a closing "---" (or "...") line.
func HasFrontMatter(b []byte) bool {
	_, ok, err := split(b)
	return ok && err == nil
}

// Parse reads the front matter of a model card (a README.md).
//
// A README without front matter is not an error: Parse returns an empty
// Card (with a nil Raw) and a nil error; use HasFrontMatter to tell the two
// apart. An empty front matter gives an empty Card with an empty Raw.
// Malformed YAML, a front matter that is not a mapping, one over
// MaxFrontMatter bytes or without a closing line, excessive aliasing or
// nesting, and fields of the wrong shape (a mapping where a string or list
// is expected) are errors of type *Error.
func Parse(b []byte) (*Card, error) {
	fm, ok, err := split(b)
	if err != nil {
		return nil, err
	}
	if !ok {
		return &Card{}, nil
	}
	root, err := parseYAML(fm)
	if err != nil {
		return nil, err
	}
	card := &Card{Raw: map[string]any{}}
	if root == nil {
		return card, nil
	}
	if root.Kind != yaml.MappingNode {
		return nil, &Error{Line: fileLine(root), Reason: "front matter is not a mapping of keys to values"}
	}
	c := &converter{budget: maxValues}
	raw, err := c.value(root, 0)
	if err != nil {
		return nil, err
	}
	card.Raw = raw.(map[string]any)
	if err := card.fill(root); err != nil {
		return nil, err
	}
	return card, nil
}

// frontMatterFirstLine is the README line on which front matter YAML starts
// (line 1 is the opening "---").
const frontMatterFirstLine = 2

// split returns the YAML between the opening and closing lines of the front
// matter. ok is false when b does not start with a "---" line.
func split(b []byte) (fm []byte, ok bool, err error) {
	b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
	first, rest, found := bytes.Cut(b, []byte("\n"))
	if !found || string(bytes.TrimRight(first, " \t\r")) != "---" {
		return nil, false, nil
	}
	start := len(b) - len(rest)
	for off := start; off < len(b); {
		if off-start > MaxFrontMatter {
			return nil, true, &Error{Line: 1, Reason: fmt.Sprintf("front matter is larger than %d bytes", MaxFrontMatter)}
		}
		end := bytes.IndexByte(b[off:], '\n')
		if end < 0 {
			end = len(b) - off
		}
		switch string(bytes.TrimRight(b[off:off+end], " \t\r")) {
		case "---", "...":
			return b[start:off], true, nil
		}
		off += end + 1
	}
	return nil, true, &Error{Line: 1, Reason: "front matter has no closing --- line"}
}

// parseYAML parses one YAML document into its node tree, returning the root
// value node, or nil for an empty document.
func parseYAML(fm []byte) (root *yaml.Node, err error) {
	defer func() {
		// The YAML library turns its own failures into errors; this guards
		// against any it does not.
		if r := recover(); r != nil {
			err = &Error{Reason: fmt.Sprintf("invalid YAML: %v", r)}
		}
	}()
	var doc yaml.Node
	if err := yaml.Unmarshal(fm, &doc); err != nil {
		return nil, yamlError(err)
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return nil, nil
	}
	if doc.Kind != yaml.DocumentNode {
		return &doc, nil
	}
	root = doc.Content[0]
	if root.Kind == yaml.ScalarNode && root.ShortTag() == "!!null" {
		return nil, nil
	}
	return root, nil
}

// yamlError turns an error from the YAML library ("yaml: line 3: did not
// find expected key") into an *Error with the README line number.
func yamlError(err error) error {
	msg := err.Error()
	rest, ok := strings.CutPrefix(msg, "yaml: line ")
	if ok {
		num, reason, found := strings.Cut(rest, ": ")
		if n, convErr := strconv.Atoi(num); found && convErr == nil && n > 0 {
			return &Error{Line: n + frontMatterFirstLine - 1, Reason: "invalid YAML: " + reason}
		}
	}
	return &Error{Reason: "invalid YAML: " + strings.TrimPrefix(msg, "yaml: ")}
}

// fileLine returns the README line of a node.
func fileLine(n *yaml.Node) int {
	if n.Line <= 0 {
		return 0
	}
	return n.Line + frontMatterFirstLine - 1
}

// converter turns YAML nodes into JSON-compatible values within a budget.
type converter struct {
	budget int
}

// value converts n, following aliases.
func (c *converter) value(n *yaml.Node, depth int) (any, error) {
	c.budget--
	if c.budget < 0 {
		return nil, &Error{Line: fileLine(n), Reason: fmt.Sprintf("front matter has more than %d values (after alias expansion)", maxValues)}
	}
	if depth > maxDepth {
		return nil, &Error{Line: fileLine(n), Reason: fmt.Sprintf("front matter nests deeper than %d levels", maxDepth)}
	}
	switch n.Kind {
	case yaml.AliasNode:
		if n.Alias == nil {
			return nil, &Error{Line: fileLine(n), Reason: "alias to an unknown anchor"}
		}
		return c.value(n.Alias, depth+1)
	case yaml.ScalarNode:
		return scalar(n), nil
	case yaml.SequenceNode:
		out := make([]any, 0, len(n.Content))
		for _, e := range n.Content {
			v, err := c.value(e, depth+1)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	case yaml.MappingNode:
		out := make(map[string]any, len(n.Content)/2)
		if err := c.mapping(n, out, depth); err != nil {
			return nil, err
		}
		return out, nil
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil, nil
		}
		return c.value(n.Content[0], depth+1)
	}
	return nil, &Error{Line: fileLine(n), Reason: "unexpected YAML node"}
}

// mapping adds the entries of mapping node n to out. Entries of "<<" merge
// keys are added after the mapping's own and never override them.
func (c *converter) mapping(n *yaml.Node, out map[string]any, depth int) error {
	var merges []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := resolve(n.Content[i]), n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			return &Error{Line: fileLine(k), Reason: "mapping key is not a scalar"}
		}
		if k.ShortTag() == "!!merge" {
			merges = append(merges, v)
			continue
		}
		val, err := c.value(v, depth+1)
		if err != nil {
			return err
		}
		out[k.Value] = val
	}
	for _, m := range merges {
		m = resolve(m)
		srcs := []*yaml.Node{m}
		if m.Kind == yaml.SequenceNode {
			srcs = m.Content
		}
		for _, src := range srcs {
			src = resolve(src)
			if src.Kind != yaml.MappingNode {
				return &Error{Line: fileLine(src), Reason: "merge (<<) value is not a mapping"}
			}
			c.budget--
			if c.budget < 0 || depth > maxDepth {
				return &Error{Line: fileLine(src), Reason: "front matter too complex (merge keys)"}
			}
			merged := map[string]any{}
			if err := c.mapping(src, merged, depth+1); err != nil {
				return err
			}
			for k, v := range merged {
				if _, ok := out[k]; !ok {
					out[k] = v
				}
			}
		}
	}
	return nil
}

// maxAliasHops bounds alias-to-alias chains in resolve.
const maxAliasHops = 64

// resolve follows an alias to the node it names.
func resolve(n *yaml.Node) *yaml.Node {
	for range maxAliasHops {
		if n.Kind != yaml.AliasNode || n.Alias == nil {
			return n
		}
		n = n.Alias
	}
	return n
}

// scalar converts a scalar node to a JSON-compatible value.
func scalar(n *yaml.Node) any {
	switch n.ShortTag() {
	case "!!null":
		return nil
	case "!!bool":
		var v bool
		if n.Decode(&v) == nil {
			return v
		}
	case "!!int":
		var v int64
		if n.Decode(&v) == nil {
			return v
		}
	case "!!float":
		var v float64
		if n.Decode(&v) == nil && !math.IsInf(v, 0) && !math.IsNaN(v) {
			return v
		}
	}
	return n.Value
}

// fill sets the typed fields of c from the top-level mapping root.
func (c *Card) fill(root *yaml.Node) error {
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := resolve(root.Content[i]), resolve(root.Content[i+1])
		var err error
		switch k.Value {
		case "license":
			c.Licenses, err = stringList(k.Value, v)
			if len(c.Licenses) > 0 {
				c.License = c.Licenses[0]
			}
		case "license_name":
			c.LicenseName, err = stringValue(k.Value, v)
		case "license_link":
			c.LicenseLink, err = stringValue(k.Value, v)
		case "base_model":
			c.BaseModel, err = stringList(k.Value, v)
		case "base_model_relation":
			c.BaseModelRelation, err = stringValue(k.Value, v)
		case "datasets":
			c.Datasets, err = stringList(k.Value, v)
		case "language":
			c.Language, err = stringList(k.Value, v)
		case "tags":
			c.Tags, err = stringList(k.Value, v)
		case "pipeline_tag":
			c.PipelineTag, err = stringValue(k.Value, v)
		case "library_name":
			c.LibraryName, err = stringValue(k.Value, v)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// stringValue reads a field that must be a single scalar.
func stringValue(field string, n *yaml.Node) (string, error) {
	if n.Kind != yaml.ScalarNode {
		return "", &Error{Line: fileLine(n), Field: field, Reason: "expected a string, got " + kindName(n)}
	}
	if n.ShortTag() == "!!null" {
		return "", nil
	}
	return strings.TrimSpace(n.Value), nil
}

// stringList reads a field that may be a scalar or a list of scalars. Null
// and empty entries are dropped.
func stringList(field string, n *yaml.Node) ([]string, error) {
	switch n.Kind {
	case yaml.ScalarNode:
		s, err := stringValue(field, n)
		if s == "" || err != nil {
			return nil, err
		}
		return []string{s}, nil
	case yaml.SequenceNode:
		var out []string
		for _, e := range n.Content {
			e = resolve(e)
			if e.Kind != yaml.ScalarNode {
				return nil, &Error{Line: fileLine(e), Field: field, Reason: "expected a list of strings, found " + kindName(e) + " in it"}
			}
			if s, _ := stringValue(field, e); s != "" {
				out = append(out, s)
			}
		}
		return out, nil
	}
	return nil, &Error{Line: fileLine(n), Field: field, Reason: "expected a string or a list of strings, got " + kindName(n)}
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return "a scalar"
	case yaml.AliasNode:
		return "an alias"
	}
	return "nothing"
}
