package scan

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"unicode/utf8"

	"sov.dev/sov/internal/safetensors"
)

// stMaxDepth bounds the nesting of JSON values skipped in a header.
const stMaxDepth = 64

// stTensor is one tensor entry as the header states it.
type stTensor struct {
	name       string
	dtype      string
	shape      []uint64
	begin, end uint64
	off        int64 // file offset of the entry's key
	// unsized marks an entry whose dtype or shape is missing or invalid
	// (already reported): its range still counts for the layout.
	unsized bool
}

// checkSafetensors checks a safetensors file's structure and records what
// is wrong. Unlike safetensors.Parse, which stops at the first problem,
// it reports every problem it can, each under its own rule:
//
//	safetensors.header-too-large  header length over 100 MB
//	safetensors.truncated         header or data cut short
//	safetensors.malformed         not UTF-8 or not JSON
//	safetensors.not-object        the header is not a JSON object
//	safetensors.trailing-data     bytes other than spaces after the object
//	safetensors.duplicate-key     a key repeated (loaders disagree on which wins)
//	safetensors.metadata-type     __metadata__ not a map of strings
//	safetensors.tensor-entry      a tensor entry without a valid dtype, shape or data_offsets
//	safetensors.out-of-range      data_offsets outside the data buffer (dangerous)
//	safetensors.size-mismatch     byte range does not match dtype × shape
//	safetensors.overlap           two tensors share bytes
//	safetensors.gap               bytes no tensor claims: room for a hidden payload
//	safetensors.invalid           anything else safetensors.Parse rejects
func checkSafetensors(ra io.ReaderAt, size int64, res *FileResult) error {
	s := newFindingSink(res)
	defer s.flush()
	if size < 8 {
		s.addf("safetensors.truncated", Suspicious, "offset 0", "file is %d bytes, too short for the 8-byte header length", size)
		return nil
	}
	var prefix [8]byte
	if err := readAtExact(ra, prefix[:], 0); err != nil {
		return err
	}
	n := binary.LittleEndian.Uint64(prefix[:])
	if n > safetensors.MaxHeaderSize {
		s.addf("safetensors.header-too-large", Suspicious, "offset 0",
			"header length %d exceeds the %d-byte limit", n, safetensors.MaxHeaderSize)
		return nil
	}
	if n > uint64(size-8) {
		s.addf("safetensors.truncated", Suspicious, "offset 0",
			"header length %d exceeds the %d bytes left in the file", n, size-8)
		return nil
	}
	hdr := make([]byte, n)
	if err := readAtExact(ra, hdr, 8); err != nil {
		return err
	}
	tensors := stHeader(hdr, s)
	if tensors != nil {
		stLayout(tensors, uint64(size)-8-n, 8+int64(n), s)
	}
	if s.total() == 0 {
		if _, err := safetensors.Parse(ra, size); err != nil {
			var fe *safetensors.FormatError
			if !errors.As(err, &fe) {
				return err
			}
			s.addf("safetensors.invalid", Suspicious, fmt.Sprintf("offset %d", fe.Offset), "%v", err)
		}
	}
	return nil
}

// stHeader walks the JSON header, recording syntax and typing problems,
// and returns the tensor entries it could read (nil when the header is
// not a JSON object at all).
func stHeader(hdr []byte, s *findingSink) []stTensor {
	if !utf8.Valid(hdr) {
		s.addf("safetensors.malformed", Suspicious, "offset 8", "header is not valid UTF-8")
		return nil
	}
	w := &stWalker{dec: json.NewDecoder(bytes.NewReader(hdr)), s: s}
	w.dec.UseNumber()
	tok, err := w.dec.Token()
	if err != nil {
		w.syntax(err)
		return nil
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		s.addf("safetensors.not-object", Suspicious, "offset 8", "header is not a JSON object (starts with %s)", describeJSON(tok))
		return nil
	}
	tensors := []stTensor{}
	seen := map[string]bool{}
	for w.dec.More() {
		keyOff := w.offset()
		key, ok := w.key()
		if !ok {
			return tensors
		}
		if seen[key] {
			s.addf("safetensors.duplicate-key", Suspicious, key,
				"key %q appears more than once in the header: loaders disagree on which entry wins", key)
		}
		seen[key] = true
		if key == "__metadata__" {
			if !w.metadata() {
				return tensors
			}
			continue
		}
		t, ok := w.tensor(key, keyOff)
		if !ok {
			return tensors
		}
		if t != nil {
			tensors = append(tensors, *t)
		}
	}
	if _, err := w.dec.Token(); err != nil { // the closing brace
		w.syntax(err)
		return tensors
	}
	rest := hdr[w.dec.InputOffset():]
	if i := bytes.IndexFunc(rest, func(r rune) bool { return r != ' ' && r != '\t' && r != '\n' && r != '\r' }); i >= 0 {
		s.addf("safetensors.trailing-data", Suspicious, fmt.Sprintf("offset %d", 8+w.dec.InputOffset()+int64(i)),
			"%d bytes other than padding follow the header's JSON object", len(rest)-i)
	}
	return tensors
}

// stWalker reads a header token by token.
type stWalker struct {
	dec *json.Decoder
	s   *findingSink
}

func (w *stWalker) offset() int64 { return 8 + w.dec.InputOffset() }

// syntax records a JSON syntax error.
func (w *stWalker) syntax(err error) {
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	w.s.addf("safetensors.malformed", Suspicious, fmt.Sprintf("offset %d", w.offset()), "header JSON: %v", err)
}

// key reads an object key; false after recording a syntax error.
func (w *stWalker) key() (string, bool) {
	tok, err := w.dec.Token()
	if err != nil {
		w.syntax(err)
		return "", false
	}
	k, ok := tok.(string)
	if !ok {
		w.syntax(fmt.Errorf("expected a key, found %s", describeJSON(tok)))
		return "", false
	}
	return k, true
}

// metadata reads the __metadata__ value: null or an object of strings.
func (w *stWalker) metadata() bool {
	tok, err := w.dec.Token()
	if err != nil {
		w.syntax(err)
		return false
	}
	if tok == nil {
		return true
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		w.s.addf("safetensors.metadata-type", Suspicious, "__metadata__", "__metadata__ must be an object of strings, found %s", describeJSON(tok))
		return w.skipRest(tok, 0)
	}
	seen := map[string]bool{}
	for w.dec.More() {
		k, ok := w.key()
		if !ok {
			return false
		}
		if seen[k] {
			w.s.addf("safetensors.duplicate-key", Suspicious, "__metadata__."+k, "metadata key %q appears more than once", k)
		}
		seen[k] = true
		tok, err := w.dec.Token()
		if err != nil {
			w.syntax(err)
			return false
		}
		if _, ok := tok.(string); !ok {
			w.s.addf("safetensors.metadata-type", Suspicious, "__metadata__."+k, "metadata value %q is %s, not a string", k, describeJSON(tok))
			if !w.skipRest(tok, 0) {
				return false
			}
		}
	}
	_, err = w.dec.Token()
	if err != nil {
		w.syntax(err)
		return false
	}
	return true
}

// tensor reads one tensor entry. It returns nil (and true) for an entry
// too broken to lay out, after recording why.
func (w *stWalker) tensor(name string, keyOff int64) (*stTensor, bool) {
	tok, err := w.dec.Token()
	if err != nil {
		w.syntax(err)
		return nil, false
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		w.s.addf("safetensors.tensor-entry", Suspicious, name, "tensor entry is %s, not an object", describeJSON(tok))
		return nil, w.skipRest(tok, 0)
	}
	t := stTensor{name: name, off: keyOff}
	var haveDType, haveShape, haveOffsets, bad, badOffsets bool
	seen := map[string]bool{}
	for w.dec.More() {
		k, ok := w.key()
		if !ok {
			return nil, false
		}
		if seen[k] {
			w.s.addf("safetensors.duplicate-key", Suspicious, name+"."+k, "field %q of tensor %q appears more than once", k, name)
		}
		seen[k] = true
		tok, err := w.dec.Token()
		if err != nil {
			w.syntax(err)
			return nil, false
		}
		switch k {
		case "dtype":
			str, ok := tok.(string)
			if !ok {
				w.s.addf("safetensors.tensor-entry", Suspicious, name, "dtype is %s, not a string", describeJSON(tok))
				bad = true
				if !w.skipRest(tok, 0) {
					return nil, false
				}
				continue
			}
			t.dtype, haveDType = str, true
		case "shape", "data_offsets":
			nums, ok, cont := w.uintArray(tok, name, k)
			if !cont {
				return nil, false
			}
			if !ok {
				if k == "shape" {
					bad = true
				} else {
					badOffsets = true
				}
				continue
			}
			if k == "shape" {
				t.shape, haveShape = nums, true
				continue
			}
			if len(nums) != 2 {
				w.s.addf("safetensors.tensor-entry", Suspicious, name, "data_offsets has %d numbers, want 2", len(nums))
				badOffsets = true
				continue
			}
			t.begin, t.end, haveOffsets = nums[0], nums[1], true
		default:
			if !w.skipRest(tok, 0) {
				return nil, false
			}
		}
	}
	if _, err := w.dec.Token(); err != nil {
		w.syntax(err)
		return nil, false
	}
	if badOffsets {
		return nil, true
	}
	if !bad && (!haveDType || !haveShape || !haveOffsets) {
		var missing []string
		for _, m := range []struct {
			have bool
			name string
		}{{haveDType, "dtype"}, {haveShape, "shape"}, {haveOffsets, "data_offsets"}} {
			if !m.have {
				missing = append(missing, m.name)
			}
		}
		w.s.addf("safetensors.tensor-entry", Suspicious, name, "tensor entry lacks %v", missing)
		if !haveOffsets {
			return nil, true
		}
	}
	t.unsized = bad || !haveDType || !haveShape
	return &t, true
}

// uintArray reads an array of unsigned integers whose first token is
// tok. ok is false (after recording why) when it is not one; cont is
// false after a syntax error.
func (w *stWalker) uintArray(tok json.Token, tensor, field string) (nums []uint64, ok, cont bool) {
	if d, isDelim := tok.(json.Delim); !isDelim || d != '[' {
		w.s.addf("safetensors.tensor-entry", Suspicious, tensor, "%s is %s, not an array", field, describeJSON(tok))
		return nil, false, w.skipRest(tok, 0)
	}
	ok = true
	for w.dec.More() {
		tok, err := w.dec.Token()
		if err != nil {
			w.syntax(err)
			return nil, false, false
		}
		num, isNum := tok.(json.Number)
		v, perr := strconv.ParseUint(string(num), 10, 64)
		if !isNum || perr != nil {
			if ok {
				w.s.addf("safetensors.tensor-entry", Suspicious, tensor, "%s holds %s, not an unsigned 64-bit integer", field, describeJSON(tok))
			}
			ok = false
			if !w.skipRest(tok, 0) {
				return nil, false, false
			}
			continue
		}
		if ok && len(nums) >= safetensors.MaxRank && field == "shape" {
			w.s.addf("safetensors.tensor-entry", Suspicious, tensor, "shape has more than %d dimensions", safetensors.MaxRank)
			ok = false
		}
		if ok {
			nums = append(nums, v)
		}
	}
	if _, err := w.dec.Token(); err != nil {
		w.syntax(err)
		return nil, false, false
	}
	return nums, ok, true
}

// skipRest skips the rest of a value whose first token was tok; false
// after a syntax error or when nesting exceeds stMaxDepth.
func (w *stWalker) skipRest(tok json.Token, depth int) bool {
	d, ok := tok.(json.Delim)
	if !ok || d == '}' || d == ']' {
		return true
	}
	if depth >= stMaxDepth {
		w.syntax(fmt.Errorf("values nested more than %d levels deep", stMaxDepth))
		return false
	}
	for w.dec.More() {
		if d == '{' {
			if _, ok := w.key(); !ok {
				return false
			}
		}
		t, err := w.dec.Token()
		if err != nil {
			w.syntax(err)
			return false
		}
		if !w.skipRest(t, depth+1) {
			return false
		}
	}
	if _, err := w.dec.Token(); err != nil {
		w.syntax(err)
		return false
	}
	return true
}

// stLayout checks each tensor's byte range against its dtype, shape and
// the data buffer, then that the ranges tile the buffer.
func stLayout(tensors []stTensor, dataLen uint64, dataStart int64, s *findingSink) {
	type span struct {
		begin, end uint64
		name       string
	}
	spans := make([]span, 0, len(tensors))
	for _, t := range tensors {
		if t.begin > t.end || t.end > dataLen {
			s.addf("safetensors.out-of-range", Dangerous, t.name,
				"data_offsets [%d, %d) lie outside the %d-byte data buffer: a loader that trusts them reads memory it should not", t.begin, t.end, dataLen)
			continue
		}
		spans = append(spans, span{t.begin, t.end, t.name})
		if t.unsized {
			continue
		}
		dt := safetensors.DType(t.dtype)
		if !dt.Known() {
			s.addf("safetensors.tensor-entry", Suspicious, t.name, "unknown dtype %q", t.dtype)
			continue
		}
		want, err := safetensors.DataSize(dt, t.shape)
		if err != nil {
			s.addf("safetensors.size-mismatch", Suspicious, t.name, "shape %v of %s: %v", t.shape, t.dtype, err)
			continue
		}
		if got := t.end - t.begin; got != want {
			s.addf("safetensors.size-mismatch", Suspicious, t.name,
				"data_offsets span %d bytes but %s %v needs %d", got, t.dtype, t.shape, want)
		}
	}
	sort.Slice(spans, func(a, b int) bool {
		if spans[a].begin != spans[b].begin {
			return spans[a].begin < spans[b].begin
		}
		return spans[a].end < spans[b].end
	})
	var pos uint64
	prev := ""
	for _, sp := range spans {
		switch {
		case sp.begin < pos:
			s.addf("safetensors.overlap", Suspicious, sp.name,
				"data [%d, %d) overlaps tensor %q, which ends at %d", sp.begin, sp.end, prev, pos)
		case sp.begin > pos:
			s.addf("safetensors.gap", Suspicious, fmt.Sprintf("offset %d", dataStart+int64(pos)),
				"%d bytes at data offset %d belong to no tensor: room for a hidden payload", sp.begin-pos, pos)
		}
		if sp.end > pos {
			pos, prev = sp.end, sp.name
		}
	}
	if pos < dataLen {
		s.addf("safetensors.gap", Suspicious, fmt.Sprintf("offset %d", dataStart+int64(pos)),
			"%d bytes after the last tensor belong to no tensor: room for a hidden payload", dataLen-pos)
	}
}

// describeJSON names a JSON token for messages.
func describeJSON(tok json.Token) string {
	switch v := tok.(type) {
	case nil:
		return "null"
	case json.Delim:
		switch v {
		case '{':
			return "an object"
		case '[':
			return "an array"
		}
		return fmt.Sprintf("%q", string(v))
	case string:
		return "a string"
	case json.Number:
		return "the number " + string(v)
	case bool:
		return "a boolean"
	}
	return fmt.Sprintf("%T", tok)
}
