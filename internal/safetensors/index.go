package safetensors

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// IndexFileName is the conventional name of a sharded model's index.
const IndexFileName = "model.safetensors.index.json"

// MaxIndexSize is the largest index file ParseIndex accepts, in bytes.
// Indexes of the largest public models are a few megabytes.
const MaxIndexSize = 64 << 20

// maxShardNameLen bounds a shard file name, as most file systems do.
const maxShardNameLen = 255

// Index is a sharded model's model.safetensors.index.json: which shard file
// holds each tensor. Metadata holds numbers as json.Number.
type Index struct {
	Metadata  map[string]any    `json:"metadata"`
	WeightMap map[string]string `json:"weight_map"`
}

// ParseIndex decodes and validates an index file. The weight map must be
// non-empty, no key may repeat (at the top level or in the weight map), and
// every shard name must be a plain file name: no directory part, no "." or
// "..", no backslash, no control characters. Other top-level keys are
// ignored. Malformed input yields a *FormatError whose Offset is into b.
func ParseIndex(b []byte) (*Index, error) {
	if len(b) > MaxIndexSize {
		return nil, &FormatError{Offset: 0, Reason: fmt.Sprintf("index is %d bytes, over the %d-byte limit", len(b), MaxIndexSize)}
	}
	if !utf8.Valid(b) {
		return nil, &FormatError{Offset: 0, Reason: "index is not valid UTF-8"}
	}
	t := newTokenizer(b, 0)
	if err := t.delim("", "index", '{'); err != nil {
		return nil, err
	}
	ix := &Index{}
	seen := make(map[string]struct{})
	for t.dec.More() {
		at := t.offset()
		key, err := t.key("", "index")
		if err != nil {
			return nil, err
		}
		if _, dup := seen[key]; dup {
			return nil, &FormatError{Offset: at, Reason: fmt.Sprintf("index key %q appears more than once", key)}
		}
		seen[key] = struct{}{}
		switch key {
		case "metadata":
			var m map[string]any
			if err := t.dec.Decode(&m); err != nil {
				return nil, t.errorf("", err, "index metadata must be an object")
			}
			ix.Metadata = m
		case "weight_map":
			wm, err := parseWeightMap(t)
			if err != nil {
				return nil, err
			}
			ix.WeightMap = wm
		default:
			if err := t.skip("", fmt.Sprintf("index key %q", key)); err != nil {
				return nil, err
			}
		}
	}
	if err := t.delim("", "end of index", '}'); err != nil {
		return nil, err
	}
	if err := t.end("index object"); err != nil {
		return nil, err
	}
	if len(ix.WeightMap) == 0 {
		return nil, &FormatError{Offset: 0, Reason: "index has no weight_map entries"}
	}
	return ix, nil
}

func parseWeightMap(t *tokenizer) (map[string]string, error) {
	if err := t.delim("", "weight_map", '{'); err != nil {
		return nil, err
	}
	wm := make(map[string]string)
	for t.dec.More() {
		at := t.offset()
		name, err := t.key("", "weight_map")
		if err != nil {
			return nil, err
		}
		if _, dup := wm[name]; dup {
			return nil, &FormatError{Offset: at, Tensor: name, Reason: "weight_map lists the tensor more than once"}
		}
		tok, err := t.token(name, "weight_map")
		if err != nil {
			return nil, err
		}
		shard, ok := tok.(string)
		if !ok {
			return nil, t.errorf(name, nil, "weight_map value must be a shard file name, found %s", describe(tok))
		}
		if err := checkShardName(shard); err != nil {
			return nil, t.errorf(name, nil, "shard name %q: %s", shard, err)
		}
		wm[name] = shard
	}
	if err := t.delim("", "end of weight_map", '}'); err != nil {
		return nil, err
	}
	return wm, nil
}

// checkShardName reports why name is not a plain file name, or nil.
func checkShardName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("empty")
	case name == "." || name == "..":
		return fmt.Errorf("not a file name")
	case len(name) > maxShardNameLen:
		return fmt.Errorf("longer than %d bytes", maxShardNameLen)
	case strings.ContainsRune(name, '/'):
		return fmt.Errorf("has a directory part")
	case strings.ContainsRune(name, '\\'):
		return fmt.Errorf("has a backslash")
	case len(name) >= 2 && name[1] == ':':
		return fmt.Errorf("has a drive letter")
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("has a control character")
		}
	}
	return nil
}

// Shards returns the distinct shard file names, sorted.
func (ix *Index) Shards() []string {
	var out []string
	for _, s := range ix.WeightMap {
		out = append(out, s)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// TotalSize returns metadata.total_size, the summed byte size of all
// tensors, when present as an unsigned integer.
func (ix *Index) TotalSize() (uint64, bool) {
	v, ok := ix.Metadata["total_size"]
	if !ok {
		return 0, false
	}
	num, ok := v.(json.Number)
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseUint(string(num), 10, 64)
	return n, err == nil
}
