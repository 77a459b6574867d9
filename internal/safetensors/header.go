package safetensors

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// metadataKey is the reserved header key holding free-form metadata.
const metadataKey = "__metadata__"

// maxSkipDepth bounds the nesting of values skipped as unknown fields.
const maxSkipDepth = 64

// header is the decoded JSON header before layout validation.
type header struct {
	tensors  []TensorInfo
	offsets  []int64 // file offset of each tensor's key, parallel to tensors
	metadata map[string]string
}

// tokenizer walks a JSON document token by token, so that repeated keys can
// be caught (encoding/json's Unmarshal silently keeps the last) and numbers
// are kept as exact decimal text. base is added to reported offsets.
type tokenizer struct {
	dec  *json.Decoder
	base int64
}

func newTokenizer(b []byte, base int64) *tokenizer {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	return &tokenizer{dec: dec, base: base}
}

// offset returns the file offset just after the last token read.
func (t *tokenizer) offset() int64 { return t.base + t.dec.InputOffset() }

func (t *tokenizer) errorf(tensor string, err error, format string, args ...any) *FormatError {
	return &FormatError{Offset: t.offset(), Tensor: tensor, Reason: fmt.Sprintf(format, args...), Err: err}
}

// token reads the next token; what names the thing expected, for errors.
func (t *tokenizer) token(tensor, what string) (json.Token, error) {
	tok, err := t.dec.Token()
	if err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, t.errorf(tensor, err, "malformed JSON reading %s", what)
	}
	return tok, nil
}

// delim reads a token that must be the delimiter want.
func (t *tokenizer) delim(tensor, what string, want json.Delim) error {
	tok, err := t.token(tensor, what)
	if err != nil {
		return err
	}
	if d, ok := tok.(json.Delim); !ok || d != want {
		return t.errorf(tensor, nil, "%s must start with %q, found %s", what, string(want), describe(tok))
	}
	return nil
}

// key reads an object key (the caller has checked More).
func (t *tokenizer) key(tensor, what string) (string, error) {
	tok, err := t.token(tensor, what)
	if err != nil {
		return "", err
	}
	k, ok := tok.(string)
	if !ok {
		return "", t.errorf(tensor, nil, "%s: expected a key, found %s", what, describe(tok))
	}
	return k, nil
}

// unsigned reads an exact unsigned integer.
func (t *tokenizer) unsigned(tensor, what string) (uint64, error) {
	tok, err := t.token(tensor, what)
	if err != nil {
		return 0, err
	}
	num, ok := tok.(json.Number)
	if !ok {
		return 0, t.errorf(tensor, nil, "%s must be an unsigned integer, found %s", what, describe(tok))
	}
	v, err := strconv.ParseUint(string(num), 10, 64)
	if err != nil {
		var ne *strconv.NumError
		if errors.As(err, &ne) && errors.Is(ne.Err, strconv.ErrRange) {
			return 0, t.errorf(tensor, nil, "%s %s does not fit in 64 bits", what, num)
		}
		return 0, t.errorf(tensor, nil, "%s must be an unsigned integer, found %s", what, num)
	}
	return v, nil
}

// skip reads and discards one complete value.
func (t *tokenizer) skip(tensor, what string) error {
	depth := 0
	for {
		tok, err := t.token(tensor, what)
		if err != nil {
			return err
		}
		if d, ok := tok.(json.Delim); ok {
			switch d {
			case '{', '[':
				depth++
				if depth > maxSkipDepth {
					return t.errorf(tensor, nil, "%s is nested more than %d levels deep", what, maxSkipDepth)
				}
			default:
				depth--
			}
		}
		if depth == 0 {
			return nil
		}
	}
}

// end checks that nothing but whitespace follows the document.
func (t *tokenizer) end(what string) error {
	tok, err := t.dec.Token()
	if errors.Is(err, io.EOF) {
		return nil
	}
	if err != nil {
		return t.errorf("", err, "malformed data after the %s", what)
	}
	return t.errorf("", nil, "unexpected %s after the %s", describe(tok), what)
}

// describe names a token for an error message.
func describe(tok json.Token) string {
	switch v := tok.(type) {
	case json.Delim:
		return fmt.Sprintf("%q", string(v))
	case string:
		if len(v) > 40 {
			v = v[:40] + "…"
		}
		return fmt.Sprintf("string %q", v)
	case json.Number:
		return "number " + string(v)
	case bool:
		return fmt.Sprintf("%t", v)
	case nil:
		return "null"
	}
	return fmt.Sprintf("%v", tok)
}

// parseHeader decodes the JSON header hdr, which starts at file offset 8.
func parseHeader(hdr []byte) (*header, error) {
	t := newTokenizer(hdr, prefixSize)
	if err := t.delim("", "header", '{'); err != nil {
		return nil, err
	}
	h := &header{}
	seen := make(map[string]struct{})
	for t.dec.More() {
		at := t.offset()
		name, err := t.key("", "header")
		if err != nil {
			return nil, err
		}
		if _, dup := seen[name]; dup {
			if name == metadataKey {
				return nil, &FormatError{Offset: at, Reason: metadataKey + " appears more than once in the header"}
			}
			return nil, &FormatError{Offset: at, Tensor: name, Reason: "tensor appears more than once in the header"}
		}
		seen[name] = struct{}{}
		if name == metadataKey {
			m, err := parseMetadata(t)
			if err != nil {
				return nil, err
			}
			h.metadata = m
			continue
		}
		info, err := parseTensor(t, name)
		if err != nil {
			return nil, err
		}
		h.tensors = append(h.tensors, info)
		h.offsets = append(h.offsets, at)
	}
	if err := t.delim("", "end of header", '}'); err != nil {
		return nil, err
	}
	if err := t.end("header object"); err != nil {
		return nil, err
	}
	return h, nil
}

// parseMetadata decodes the "__metadata__" value: null or a string map.
func parseMetadata(t *tokenizer) (map[string]string, error) {
	tok, err := t.token("", metadataKey)
	if err != nil {
		return nil, err
	}
	if tok == nil {
		return nil, nil
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, t.errorf("", nil, "%s must be an object of strings, found %s", metadataKey, describe(tok))
	}
	m := make(map[string]string)
	for t.dec.More() {
		k, err := t.key("", metadataKey)
		if err != nil {
			return nil, err
		}
		if _, dup := m[k]; dup {
			return nil, t.errorf("", nil, "%s key %q appears more than once", metadataKey, k)
		}
		tok, err := t.token("", metadataKey)
		if err != nil {
			return nil, err
		}
		v, ok := tok.(string)
		if !ok {
			return nil, t.errorf("", nil, "%s value for %q must be a string, found %s", metadataKey, k, describe(tok))
		}
		m[k] = v
	}
	if err := t.delim("", "end of "+metadataKey, '}'); err != nil {
		return nil, err
	}
	return m, nil
}

// parseTensor decodes one tensor entry.
func parseTensor(t *tokenizer, name string) (TensorInfo, error) {
	info := TensorInfo{Name: name}
	if err := t.delim(name, "tensor entry", '{'); err != nil {
		return info, err
	}
	var haveDType, haveShape, haveOffsets bool
	seen := make(map[string]struct{}, 3)
	for t.dec.More() {
		field, err := t.key(name, "tensor entry")
		if err != nil {
			return info, err
		}
		if _, dup := seen[field]; dup {
			return info, t.errorf(name, nil, "field %q appears more than once", field)
		}
		seen[field] = struct{}{}
		switch field {
		case "dtype":
			tok, err := t.token(name, "dtype")
			if err != nil {
				return info, err
			}
			s, ok := tok.(string)
			if !ok {
				return info, t.errorf(name, nil, "dtype must be a string, found %s", describe(tok))
			}
			if !DType(s).Known() {
				return info, t.errorf(name, nil, "unknown dtype %q", s)
			}
			info.DType = DType(s)
			haveDType = true
		case "shape":
			if err := t.delim(name, "shape", '['); err != nil {
				return info, err
			}
			info.Shape = []uint64{}
			for t.dec.More() {
				if len(info.Shape) == MaxRank {
					return info, t.errorf(name, nil, "shape has more than %d dimensions", MaxRank)
				}
				d, err := t.unsigned(name, "shape dimension")
				if err != nil {
					return info, err
				}
				info.Shape = append(info.Shape, d)
			}
			if err := t.delim(name, "end of shape", ']'); err != nil {
				return info, err
			}
			haveShape = true
		case "data_offsets":
			if err := t.delim(name, "data_offsets", '['); err != nil {
				return info, err
			}
			var offs [2]uint64
			for i := range offs {
				if !t.dec.More() {
					return info, t.errorf(name, nil, "data_offsets must hold exactly two integers, found %d", i)
				}
				if offs[i], err = t.unsigned(name, "data_offsets entry"); err != nil {
					return info, err
				}
			}
			if t.dec.More() {
				return info, t.errorf(name, nil, "data_offsets must hold exactly two integers, found more")
			}
			if err := t.delim(name, "end of data_offsets", ']'); err != nil {
				return info, err
			}
			info.Begin, info.End = offs[0], offs[1]
			haveOffsets = true
		default:
			if err := t.skip(name, fmt.Sprintf("unknown field %q", field)); err != nil {
				return info, err
			}
		}
	}
	if err := t.delim(name, "end of tensor entry", '}'); err != nil {
		return info, err
	}
	switch {
	case !haveDType:
		return info, t.errorf(name, nil, "missing field \"dtype\"")
	case !haveShape:
		return info, t.errorf(name, nil, "missing field \"shape\"")
	case !haveOffsets:
		return info, t.errorf(name, nil, "missing field \"data_offsets\"")
	}
	return info, nil
}
