package safetensors

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"unicode/utf8"
)

// Tensor is a tensor to write: its bytes are the little-endian, row-major
// elements, exactly DataSize(DType, Shape) of them.
type Tensor struct {
	Name  string
	DType DType
	Shape []uint64
	Data  []byte
}

// Write writes a safetensors file holding tensors, in the order given, and
// the optional metadata. Tensor data is laid out back to back in that order;
// give the widest dtypes first if readers should find every tensor aligned
// to its element size (the header is padded to a multiple of 8 bytes).
func Write(w io.Writer, tensors []Tensor, metadata map[string]string) error {
	infos := make([]TensorInfo, len(tensors))
	var pos uint64
	for i, t := range tensors {
		size, err := DataSize(t.DType, t.Shape)
		if err != nil {
			return fmt.Errorf("safetensors: tensor %q: %w", t.Name, err)
		}
		if uint64(len(t.Data)) != size {
			return fmt.Errorf("safetensors: tensor %q: has %d data bytes, %s shape %v needs %d", t.Name, len(t.Data), t.DType, t.Shape, size)
		}
		infos[i] = TensorInfo{Name: t.Name, DType: t.DType, Shape: t.Shape, Begin: pos, End: pos + size}
		pos += size
	}
	hdr, err := EncodeHeader(infos, metadata)
	if err != nil {
		return err
	}
	if _, err := w.Write(hdr); err != nil {
		return fmt.Errorf("safetensors: writing header: %w", err)
	}
	for _, t := range tensors {
		if _, err := w.Write(t.Data); err != nil {
			return fmt.Errorf("safetensors: writing tensor %q: %w", t.Name, err)
		}
	}
	return nil
}

// EncodeHeader returns the start of a safetensors file: the 8-byte header
// length followed by the JSON header, padded with spaces to a multiple of 8
// bytes. The tensors' data must follow it, ordered by Begin. It lets a
// writer stream tensor data it never holds in memory whole.
//
// The tensors must be well formed as Parse defines it: known dtypes, byte
// ranges matching the shapes and tiling the data buffer from 0 without gaps
// or overlaps, names unique, valid UTF-8 and not "__metadata__". The header
// lists them in the order given, after the metadata (keys sorted).
func EncodeHeader(tensors []TensorInfo, metadata map[string]string) ([]byte, error) {
	seen := make(map[string]struct{}, len(tensors))
	var dataLen uint64
	for _, t := range tensors {
		if t.Name == metadataKey {
			return nil, fmt.Errorf("safetensors: tensor name %q is reserved for metadata", t.Name)
		}
		if !utf8.ValidString(t.Name) {
			return nil, fmt.Errorf("safetensors: tensor name %q is not valid UTF-8", t.Name)
		}
		if _, dup := seen[t.Name]; dup {
			return nil, fmt.Errorf("safetensors: tensor %q appears more than once", t.Name)
		}
		seen[t.Name] = struct{}{}
		dataLen = max(dataLen, t.End)
	}
	for k, v := range metadata {
		if !utf8.ValidString(k) || !utf8.ValidString(v) {
			return nil, fmt.Errorf("safetensors: metadata entry %q is not valid UTF-8", k)
		}
	}
	check := slices.Clone(tensors)
	if err := validateLayout(check, nil, 0, dataLen); err != nil {
		return nil, err
	}

	var b bytes.Buffer
	b.Write(make([]byte, prefixSize)) // length, filled in below
	b.WriteByte('{')
	first := true
	sep := func() {
		if !first {
			b.WriteByte(',')
		}
		first = false
	}
	if len(metadata) > 0 {
		sep()
		appendString(&b, metadataKey)
		b.WriteString(":{")
		keys := make([]string, 0, len(metadata))
		for k := range metadata {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for i, k := range keys {
			if i > 0 {
				b.WriteByte(',')
			}
			appendString(&b, k)
			b.WriteByte(':')
			appendString(&b, metadata[k])
		}
		b.WriteByte('}')
	}
	var num []byte
	for _, t := range tensors {
		sep()
		appendString(&b, t.Name)
		b.WriteString(`:{"dtype":`)
		appendString(&b, string(t.DType))
		b.WriteString(`,"shape":[`)
		for i, d := range t.Shape {
			if i > 0 {
				b.WriteByte(',')
			}
			num = strconv.AppendUint(num[:0], d, 10)
			b.Write(num)
		}
		b.WriteString(`],"data_offsets":[`)
		num = strconv.AppendUint(num[:0], t.Begin, 10)
		b.Write(num)
		b.WriteByte(',')
		num = strconv.AppendUint(num[:0], t.End, 10)
		b.Write(num)
		b.WriteString("]}")
	}
	b.WriteByte('}')
	for b.Len()%8 != 0 {
		b.WriteByte(' ')
	}
	out := b.Bytes()
	n := uint64(len(out) - prefixSize)
	if n > MaxHeaderSize {
		return nil, fmt.Errorf("safetensors: header of %d bytes exceeds the %d-byte limit", n, MaxHeaderSize)
	}
	binary.LittleEndian.PutUint64(out, n)
	return out, nil
}

// appendString writes s as a JSON string without HTML escaping.
func appendString(b *bytes.Buffer, s string) {
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)       // cannot fail for a string
	b.Truncate(b.Len() - 1) // drop Encode's newline
}
