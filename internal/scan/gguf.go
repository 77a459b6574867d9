package scan

import (
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"sov.dev/sov/internal/gguf"
)

// Limits beyond gguf.Parse's own: generous for real files (the largest
// have a few hundred metadata entries, a few thousand tensors and
// vocabularies of a few hundred thousand tokens), far below what a hostile
// file could make a loader allocate.
const (
	ggufMaxKVs       = 4096
	ggufMaxTensors   = 65536
	ggufMaxString    = 16 << 20 // one metadata string
	ggufMaxArray     = 4 << 20  // elements in one array
	ggufMaxArrayItem = 64 << 10 // one string inside an array
)

// chatTemplateKey is the GGUF key of the default chat template; named
// templates live under chatTemplateKey + "." + name.
const chatTemplateKey = "tokenizer.chat_template"

// checkGGUF validates a GGUF file with gguf.Parse (every tensor inside
// the file, no overlaps, bounded counts and lengths), adds tighter limits
// and a check for unclaimed bytes between tensors, and analyses the chat
// templates it carries. Rules:
//
//	gguf.tensor-out-of-bounds  tensor data outside the file (dangerous)
//	gguf.tensor-overlap        two tensors share bytes
//	gguf.malformed             anything else gguf.Parse rejects
//	gguf.limits                counts and lengths far beyond real files
//	gguf.gap                   bytes between or after tensors beyond alignment padding
//	gguf.template-type         a chat template key that is not a string
//	template.*                 see CheckTemplate
func checkGGUF(ra io.ReaderAt, size int64, res *FileResult) error {
	s := newFindingSink(res)
	defer s.flush()
	f, err := gguf.Parse(ra, size)
	if err != nil {
		var fe *gguf.FormatError
		if !errors.As(err, &fe) {
			return err
		}
		rule, sev := "gguf.malformed", Suspicious
		switch {
		case strings.Contains(fe.Reason, "beyond end of file"):
			rule, sev = "gguf.tensor-out-of-bounds", Dangerous
		case strings.Contains(fe.Reason, "overlap"):
			rule = "gguf.tensor-overlap"
		}
		loc := ""
		if fe.Offset >= 0 {
			loc = fmt.Sprintf("offset %d", fe.Offset)
		}
		s.addf(rule, sev, loc, "%s", strings.TrimPrefix(fe.Error(), "gguf: "))
		return nil
	}
	if n := len(f.Metadata); n > ggufMaxKVs {
		s.addf("gguf.limits", Suspicious, "", "%d metadata entries (limit %d)", n, ggufMaxKVs)
	}
	if n := len(f.Tensors); n > ggufMaxTensors {
		s.addf("gguf.limits", Suspicious, "", "%d tensors (limit %d)", n, ggufMaxTensors)
	}
	for _, kv := range f.Metadata {
		ggufValueLimits(kv.Key, kv.Value, s)
	}
	ggufGaps(f, s)
	for _, kv := range f.Metadata {
		if kv.Key != chatTemplateKey && !strings.HasPrefix(kv.Key, chatTemplateKey+".") {
			continue
		}
		src, ok := kv.Value.V.(string)
		if kv.Value.Type != gguf.TypeString || !ok {
			// tokenizer.chat_templates (plural) lists names; the
			// templates themselves are strings.
			s.addf("gguf.template-type", Suspicious, kv.Key, "%s is a %s, not a string", kv.Key, kv.Value.Type)
			continue
		}
		for _, fd := range CheckTemplate(kv.Key, src) {
			s.add(fd)
		}
	}
	return nil
}

// ggufValueLimits applies the scanner's length limits to one value.
func ggufValueLimits(key string, v gguf.Value, s *findingSink) {
	switch x := v.V.(type) {
	case string:
		if len(x) > ggufMaxString {
			s.addf("gguf.limits", Suspicious, key, "string of %d bytes (limit %d)", len(x), ggufMaxString)
		}
	case []string:
		if len(x) > ggufMaxArray {
			s.addf("gguf.limits", Suspicious, key, "array of %d strings (limit %d)", len(x), ggufMaxArray)
		}
		for i, e := range x {
			if len(e) > ggufMaxArrayItem {
				s.addf("gguf.limits", Suspicious, fmt.Sprintf("%s[%d]", key, i), "array string of %d bytes (limit %d)", len(e), ggufMaxArrayItem)
				break
			}
		}
	case []any:
		if len(x) > ggufMaxArray {
			s.addf("gguf.limits", Suspicious, key, "array of %d arrays (limit %d)", len(x), ggufMaxArray)
		}
		for i, e := range x {
			if ev, ok := e.(gguf.Value); ok {
				ggufValueLimits(fmt.Sprintf("%s[%d]", key, i), ev, s)
			}
		}
	default:
		if n := v.Len(); n > ggufMaxArray {
			s.addf("gguf.limits", Suspicious, key, "array of %d elements (limit %d)", n, ggufMaxArray)
		}
	}
}

// ggufGaps reports bytes in the data section that no tensor claims and
// that alignment padding does not explain.
func ggufGaps(f *gguf.File, s *findingSink) {
	type span struct{ start, end uint64 }
	spans := make([]span, 0, len(f.Tensors))
	for _, t := range f.Tensors {
		n, err := t.Bytes()
		if err != nil { // Parse checked this; be safe anyway
			continue
		}
		spans = append(spans, span{t.Offset, t.Offset + n})
	}
	sort.Slice(spans, func(a, b int) bool { return spans[a].start < spans[b].start })
	align := f.Alignment
	if align == 0 {
		align = gguf.DefaultAlignment
	}
	var pos uint64
	for _, sp := range spans {
		if sp.start > pos && sp.start-pos >= align {
			s.addf("gguf.gap", Suspicious, fmt.Sprintf("offset %d", uint64(f.DataOffset)+pos),
				"%d bytes between tensors belong to no tensor (more than alignment padding): room for a hidden payload", sp.start-pos)
		}
		pos = max(pos, sp.end)
	}
	if f.Size <= f.DataOffset {
		return
	}
	dataLen := uint64(f.Size - f.DataOffset)
	if len(spans) > 0 && dataLen > pos && dataLen-pos >= align {
		s.addf("gguf.gap", Suspicious, fmt.Sprintf("offset %d", uint64(f.DataOffset)+pos),
			"%d bytes after the last tensor belong to no tensor: room for a hidden payload", dataLen-pos)
	}
	if len(spans) == 0 && dataLen >= align {
		s.addf("gguf.gap", Suspicious, fmt.Sprintf("offset %d", f.DataOffset),
			"%d bytes after the metadata of a file without tensors: room for a hidden payload", dataLen)
	}
}
