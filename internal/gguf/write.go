package gguf

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
)

// Tensor is a tensor to write, with all its data in memory. len(Data) must
// equal the Bytes of its TensorInfo.
type Tensor struct {
	Name string
	Dims []uint64
	Type TensorType
	Data []byte
}

// StreamTensor is a tensor to write whose data comes from a reader; exactly
// the tensor's Bytes are read from Data.
type StreamTensor struct {
	Name string
	Dims []uint64
	Type TensorType
	Data io.Reader
}

// Write writes a GGUF file of the given version (2 or 3) holding kv and
// tensors, in order. See WriteStream for the alignment rules.
func Write(w io.Writer, version uint32, kv []KV, tensors []Tensor, alignment uint64) error {
	st := make([]StreamTensor, len(tensors))
	for i, t := range tensors {
		info := TensorInfo{Name: t.Name, Dims: t.Dims, Type: t.Type}
		n, err := info.Bytes()
		if err != nil {
			return fmt.Errorf("gguf: write: %w", err)
		}
		if uint64(len(t.Data)) != n {
			return fmt.Errorf("gguf: write: tensor %q: %d bytes of data, want %d for %s %v", t.Name, len(t.Data), n, t.Type, t.Dims)
		}
		st[i] = StreamTensor{Name: t.Name, Dims: t.Dims, Type: t.Type, Data: bytes.NewReader(t.Data)}
	}
	return WriteStream(w, version, kv, st, alignment)
}

// WriteStream writes a GGUF file of the given version (2 or 3) holding kv
// and tensors, in order, with each tensor's data read from its reader.
//
// Alignment 0 means the value of a general.alignment key in kv, or
// DefaultAlignment without one. A non-default alignment not in kv is added
// as a general.alignment entry after the others; one that contradicts kv
// is an error. Tensor data is laid out in order, each tensor starting at a
// multiple of the alignment, and the file is padded with zeros to a
// multiple of the alignment after the tensor table and after each tensor.
// WriteStream checks what Parse would reject (duplicate keys or names, bad
// shapes, values whose Go type does not match their Type) before writing
// anything.
func WriteStream(w io.Writer, version uint32, kv []KV, tensors []StreamTensor, alignment uint64) error {
	if version != 2 && version != 3 {
		return fmt.Errorf("gguf: write: version %d: %w (want 2 or 3)", version, ErrUnsupportedVersion)
	}
	kv, alignment, err := resolveAlignment(kv, alignment)
	if err != nil {
		return err
	}
	keys := make(map[string]bool, len(kv))
	for _, e := range kv {
		if e.Key == "" {
			return errors.New("gguf: write: empty metadata key")
		}
		if len(e.Key) > MaxKeyLen {
			return fmt.Errorf("gguf: write: metadata key %.40q…: longer than %d bytes", e.Key, MaxKeyLen)
		}
		if keys[e.Key] {
			return fmt.Errorf("gguf: write: duplicate metadata key %q", e.Key)
		}
		keys[e.Key] = true
		if err := checkValue(e.Value, 0); err != nil {
			return fmt.Errorf("gguf: write: metadata %q: %w", e.Key, err)
		}
	}
	infos := make([]TensorInfo, len(tensors))
	sizes := make([]uint64, len(tensors))
	names := make(map[string]bool, len(tensors))
	var off uint64
	for i, t := range tensors {
		if t.Name == "" || len(t.Name) > MaxTensorNameLen {
			return fmt.Errorf("gguf: write: tensor %d: name %q must be 1 to %d bytes", i, t.Name, MaxTensorNameLen)
		}
		if names[t.Name] {
			return fmt.Errorf("gguf: write: duplicate tensor name %q", t.Name)
		}
		names[t.Name] = true
		if t.Data == nil {
			return fmt.Errorf("gguf: write: tensor %q: no data reader", t.Name)
		}
		infos[i] = TensorInfo{Name: t.Name, Dims: t.Dims, Type: t.Type, Offset: off}
		n, err := infos[i].Bytes()
		if err != nil {
			return fmt.Errorf("gguf: write: %w", err)
		}
		sizes[i] = n
		next := alignUp(off+n, alignment)
		if next < off || next > math.MaxInt64 {
			return fmt.Errorf("gguf: write: tensor %q: data section too large", t.Name)
		}
		off = next
	}

	bw := bufio.NewWriterSize(w, 64<<10)
	e := &encoder{w: bw}
	e.raw([]byte(Magic))
	e.u32(version)
	e.u64(uint64(len(tensors)))
	e.u64(uint64(len(kv)))
	for _, kv := range kv {
		e.str(kv.Key)
		e.u32(uint32(kv.Value.Type))
		e.value(kv.Value)
	}
	for _, t := range infos {
		e.str(t.Name)
		e.u32(uint32(len(t.Dims)))
		for _, d := range t.Dims {
			e.u64(d)
		}
		e.u32(uint32(t.Type))
		e.u64(t.Offset)
	}
	e.pad(alignment)
	if e.err != nil {
		return fmt.Errorf("gguf: write: %w", e.err)
	}
	for i, t := range tensors {
		n, err := io.CopyN(bw, t.Data, int64(sizes[i]))
		if err != nil {
			if errors.Is(err, io.EOF) {
				return fmt.Errorf("gguf: write: tensor %q: data reader gave %d bytes, want %d", t.Name, n, sizes[i])
			}
			return fmt.Errorf("gguf: write: tensor %q: %w", t.Name, err)
		}
		e.n += n
		e.pad(alignment)
		if e.err != nil {
			return fmt.Errorf("gguf: write: %w", e.err)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("gguf: write: %w", err)
	}
	return nil
}

func resolveAlignment(kv []KV, alignment uint64) ([]KV, uint64, error) {
	var inKV *Value
	for i := range kv {
		if kv[i].Key == AlignmentKey {
			inKV = &kv[i].Value
			break
		}
	}
	if inKV != nil {
		a, ok := inKV.V.(uint32)
		if inKV.Type != TypeUint32 || !ok {
			return nil, 0, fmt.Errorf("gguf: write: %s must be a uint32 value", AlignmentKey)
		}
		if alignment == 0 {
			alignment = uint64(a)
		} else if alignment != uint64(a) {
			return nil, 0, fmt.Errorf("gguf: write: alignment %d contradicts %s = %d", alignment, AlignmentKey, a)
		}
	}
	if alignment == 0 {
		alignment = DefaultAlignment
	}
	if alignment&(alignment-1) != 0 || alignment > MaxAlignment {
		return nil, 0, fmt.Errorf("gguf: write: alignment %d: must be a power of two no greater than %d", alignment, MaxAlignment)
	}
	if inKV == nil && alignment != DefaultAlignment {
		kv = append(kv[:len(kv):len(kv)], KV{Key: AlignmentKey, Value: Value{Type: TypeUint32, V: uint32(alignment)}})
	}
	return kv, alignment, nil
}

// checkValue reports whether v's Go value matches its declared type.
func checkValue(v Value, depth int) error {
	if !v.Type.Valid() {
		return fmt.Errorf("unknown value type %d", uint32(v.Type))
	}
	if v.Type != TypeArray {
		if !scalarMatches(v.Type, v.V) {
			return fmt.Errorf("value of Go type %T does not match type %s", v.V, v.Type)
		}
		if s, ok := v.V.(string); ok && len(s) > MaxStringLen {
			return fmt.Errorf("string longer than %d bytes", MaxStringLen)
		}
		return nil
	}
	if depth >= MaxArrayDepth {
		return fmt.Errorf("arrays nested deeper than %d", MaxArrayDepth)
	}
	if !v.ArrayType.Valid() {
		return fmt.Errorf("unknown array element type %d", uint32(v.ArrayType))
	}
	if !sliceMatches(v.ArrayType, v.V) {
		return fmt.Errorf("array value of Go type %T does not match element type %s", v.V, v.ArrayType)
	}
	if v.Len() > MaxArrayLen {
		return fmt.Errorf("array longer than %d elements", MaxArrayLen)
	}
	switch s := v.V.(type) {
	case []any:
		for i, x := range s {
			inner, ok := x.(Value)
			if !ok || inner.Type != TypeArray {
				return fmt.Errorf("element %d of an array of arrays is %T, want an array Value", i, x)
			}
			if err := checkValue(inner, depth+1); err != nil {
				return fmt.Errorf("element %d: %w", i, err)
			}
		}
	case []string:
		for i, x := range s {
			if len(x) > MaxStringLen {
				return fmt.Errorf("element %d: string longer than %d bytes", i, MaxStringLen)
			}
		}
	}
	return nil
}

func scalarMatches(t ValueType, v any) bool {
	switch v.(type) {
	case uint8:
		return t == TypeUint8
	case int8:
		return t == TypeInt8
	case uint16:
		return t == TypeUint16
	case int16:
		return t == TypeInt16
	case uint32:
		return t == TypeUint32
	case int32:
		return t == TypeInt32
	case float32:
		return t == TypeFloat32
	case bool:
		return t == TypeBool
	case string:
		return t == TypeString
	case uint64:
		return t == TypeUint64
	case int64:
		return t == TypeInt64
	case float64:
		return t == TypeFloat64
	}
	return false
}

func sliceMatches(t ValueType, v any) bool {
	switch v.(type) {
	case []uint8:
		return t == TypeUint8
	case []int8:
		return t == TypeInt8
	case []uint16:
		return t == TypeUint16
	case []int16:
		return t == TypeInt16
	case []uint32:
		return t == TypeUint32
	case []int32:
		return t == TypeInt32
	case []float32:
		return t == TypeFloat32
	case []bool:
		return t == TypeBool
	case []string:
		return t == TypeString
	case []uint64:
		return t == TypeUint64
	case []int64:
		return t == TypeInt64
	case []float64:
		return t == TypeFloat64
	case []any:
		return t == TypeArray
	}
	return false
}

// encoder writes little-endian fields, remembering the first error and the
// number of bytes written.
type encoder struct {
	w   io.Writer
	n   int64
	err error
	buf [8]byte
}

func (e *encoder) raw(p []byte) {
	if e.err != nil {
		return
	}
	n, err := e.w.Write(p)
	e.n += int64(n)
	e.err = err
}

func (e *encoder) u8(x uint8) { e.buf[0] = x; e.raw(e.buf[:1]) }

func (e *encoder) u16(x uint16) {
	binary.LittleEndian.PutUint16(e.buf[:2], x)
	e.raw(e.buf[:2])
}

func (e *encoder) u32(x uint32) {
	binary.LittleEndian.PutUint32(e.buf[:4], x)
	e.raw(e.buf[:4])
}

func (e *encoder) u64(x uint64) {
	binary.LittleEndian.PutUint64(e.buf[:8], x)
	e.raw(e.buf[:8])
}

func (e *encoder) str(s string) {
	e.u64(uint64(len(s)))
	if e.err == nil {
		n, err := io.WriteString(e.w, s)
		e.n += int64(n)
		e.err = err
	}
}

var zeros [4096]byte

func (e *encoder) pad(alignment uint64) {
	for p := int64(alignUp(uint64(e.n), alignment)) - e.n; p > 0 && e.err == nil; {
		k := min(p, int64(len(zeros)))
		e.raw(zeros[:k])
		p -= k
	}
}

// value writes the body of v (not its type tag). v has passed checkValue.
func (e *encoder) value(v Value) {
	switch x := v.V.(type) {
	case uint8:
		e.u8(x)
	case int8:
		e.u8(uint8(x))
	case uint16:
		e.u16(x)
	case int16:
		e.u16(uint16(x))
	case uint32:
		e.u32(x)
	case int32:
		e.u32(uint32(x))
	case float32:
		e.u32(math.Float32bits(x))
	case bool:
		if x {
			e.u8(1)
		} else {
			e.u8(0)
		}
	case string:
		e.str(x)
	case uint64:
		e.u64(x)
	case int64:
		e.u64(uint64(x))
	case float64:
		e.u64(math.Float64bits(x))
	default:
		e.array(v)
	}
}

func (e *encoder) array(v Value) {
	e.u32(uint32(v.ArrayType))
	e.u64(uint64(v.Len()))
	switch s := v.V.(type) {
	case []uint8:
		e.raw(s)
	case []int8:
		for _, x := range s {
			e.u8(uint8(x))
		}
	case []uint16:
		for _, x := range s {
			e.u16(x)
		}
	case []int16:
		for _, x := range s {
			e.u16(uint16(x))
		}
	case []uint32:
		for _, x := range s {
			e.u32(x)
		}
	case []int32:
		for _, x := range s {
			e.u32(uint32(x))
		}
	case []float32:
		for _, x := range s {
			e.u32(math.Float32bits(x))
		}
	case []bool:
		for _, x := range s {
			if x {
				e.u8(1)
			} else {
				e.u8(0)
			}
		}
	case []string:
		for _, x := range s {
			e.str(x)
		}
	case []uint64:
		for _, x := range s {
			e.u64(x)
		}
	case []int64:
		for _, x := range s {
			e.u64(uint64(x))
		}
	case []float64:
		for _, x := range s {
			e.u64(math.Float64bits(x))
		}
	case []any:
		for _, x := range s {
			e.array(x.(Value))
		}
	}
}
