// Package gguf reads and writes GGUF model files (versions 2 and 3), the
// container format of ggml and llama.cpp: a header, typed key/value
// metadata, a tensor table, and an aligned data section.
//
// Parse treats its input as hostile: it validates every count, length,
// type, shape and offset against what the file can hold and returns a
// *FormatError naming the field, never panicking and never allocating by an
// unchecked count. It reads only the header, metadata and tensor table,
// not tensor data. Facts and MetadataSummary turn a parsed file into
// JSON-friendly descriptions; Write and WriteStream produce files.
//
// The package knows the layout of tensor data (block and type sizes of
// every ggml type) but must not interpret it: dequantisation and inference
// belong to the engine.
package gguf

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
)

// Magic is the first four bytes of every GGUF file.
const Magic = "GGUF"

// DefaultAlignment is the data alignment when general.alignment is absent.
const DefaultAlignment = 32

// AlignmentKey is the metadata key that overrides DefaultAlignment.
const AlignmentKey = "general.alignment"

// Limits Parse enforces beyond what the file size already bounds.
const (
	MaxKeyLen        = 1 << 16  // bytes in a metadata key
	MaxStringLen     = 64 << 20 // bytes in one string value
	MaxTensorNameLen = 64       // bytes in a tensor name (GGUF spec)
	MaxArrayLen      = 1 << 24  // elements in one array
	MaxArrayDepth    = 8        // nesting of arrays within arrays
	MaxKVs           = 1 << 20  // metadata entries
	MaxTensors       = 1 << 22  // tensor table entries
	MaxAlignment     = 1 << 24  // general.alignment
)

// ErrNotGGUF is wrapped by the error Parse returns when the file does not
// start with the GGUF magic.
var ErrNotGGUF = errors.New("not a GGUF file")

// ErrUnsupportedVersion is wrapped by the error Parse returns for a GGUF
// version other than 2 or 3.
var ErrUnsupportedVersion = errors.New("unsupported GGUF version")

// FormatError reports malformed GGUF content. Offset is the absolute file
// offset of the offending field, or -1 when the problem is not one field
// (two tensors overlapping, say).
type FormatError struct {
	Offset int64
	Reason string
	Err    error // optional cause, for errors.Is
}

func (e *FormatError) Error() string {
	if e.Offset < 0 {
		return "gguf: " + e.Reason
	}
	return fmt.Sprintf("gguf: at offset %d: %s", e.Offset, e.Reason)
}

func (e *FormatError) Unwrap() error { return e.Err }

// File is the parsed header, metadata and tensor table of a GGUF file.
type File struct {
	Version   uint32
	Metadata  []KV         // in file order
	Tensors   []TensorInfo // in file order
	Alignment uint64
	// DataOffset is the absolute file offset of the tensor data section:
	// the end of the tensor table rounded up to Alignment (or, in a file
	// with no tensors that ends before that, the end of the table).
	DataOffset int64
	Size       int64 // file size given to Parse

	index map[string]int // metadata key -> index in Metadata
}

// Get returns the value of a metadata key. It never modifies f, so a File
// may be read from several goroutines.
func (f *File) Get(key string) (Value, bool) {
	// The index Parse builds is a hint: callers may edit Metadata.
	if i, ok := f.index[key]; ok && i < len(f.Metadata) && f.Metadata[i].Key == key {
		return f.Metadata[i].Value, true
	}
	for _, kv := range f.Metadata {
		if kv.Key == key {
			return kv.Value, true
		}
	}
	return Value{}, false
}

// Tensor returns the tensor named name.
func (f *File) Tensor(name string) (TensorInfo, bool) {
	for _, t := range f.Tensors {
		if t.Name == name {
			return t, true
		}
	}
	return TensorInfo{}, false
}

// TensorOffset returns the absolute file offset of t's data.
func (f *File) TensorOffset(t TensorInfo) int64 { return f.DataOffset + int64(t.Offset) }

// TensorReader returns a reader over t's data in r, the file f was parsed
// from.
func (f *File) TensorReader(r io.ReaderAt, t TensorInfo) (*io.SectionReader, error) {
	n, err := t.Bytes()
	if err != nil {
		return nil, err
	}
	return io.NewSectionReader(r, f.TensorOffset(t), int64(n)), nil
}

// Parse reads and validates the header, metadata and tensor table of the
// GGUF file of the given size in r. It does not read tensor data but checks
// that every tensor lies inside the file and that no two overlap.
func Parse(r io.ReaderAt, size int64) (*File, error) {
	if size < 0 {
		return nil, fmt.Errorf("gguf: negative file size %d", size)
	}
	d := &decoder{
		r:    bufio.NewReaderSize(io.NewSectionReader(r, 0, size), 64<<10),
		size: size,
	}
	f := &File{Size: size, Alignment: DefaultAlignment}
	if err := d.header(f); err != nil {
		return nil, err
	}
	return f, nil
}

// decoder reads little-endian fields sequentially, tracking the offset and
// refusing to read past size.
type decoder struct {
	r    *bufio.Reader
	off  int64
	size int64
	buf  [8]byte
}

func (d *decoder) left() int64 { return d.size - d.off }

func (d *decoder) errorf(off int64, format string, args ...any) error {
	return &FormatError{Offset: off, Reason: fmt.Sprintf(format, args...)}
}

// need fails unless n more bytes remain; what names the field.
func (d *decoder) need(n int64, what string) error {
	if n > d.left() {
		return &FormatError{
			Offset: d.off,
			Reason: fmt.Sprintf("%s: file truncated (need %d bytes, %d left)", what, n, d.left()),
			Err:    io.ErrUnexpectedEOF,
		}
	}
	return nil
}

func (d *decoder) read(p []byte, what string) error {
	if err := d.need(int64(len(p)), what); err != nil {
		return err
	}
	if _, err := io.ReadFull(d.r, p); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			// The ReaderAt is shorter than the size we were given.
			return &FormatError{Offset: d.off, Reason: what + ": unexpected end of data", Err: io.ErrUnexpectedEOF}
		}
		return fmt.Errorf("gguf: reading %s at offset %d: %w", what, d.off, err)
	}
	d.off += int64(len(p))
	return nil
}

func (d *decoder) u8(what string) (uint8, error) {
	err := d.read(d.buf[:1], what)
	return d.buf[0], err
}

func (d *decoder) u16(what string) (uint16, error) {
	err := d.read(d.buf[:2], what)
	return binary.LittleEndian.Uint16(d.buf[:2]), err
}

func (d *decoder) u32(what string) (uint32, error) {
	err := d.read(d.buf[:4], what)
	return binary.LittleEndian.Uint32(d.buf[:4]), err
}

func (d *decoder) u64(what string) (uint64, error) {
	err := d.read(d.buf[:8], what)
	return binary.LittleEndian.Uint64(d.buf[:8]), err
}

// str reads a u64-length-prefixed string of at most limit bytes.
func (d *decoder) str(what string, limit int64) (string, error) {
	start := d.off
	n, err := d.u64(what + " length")
	if err != nil {
		return "", err
	}
	if n > uint64(d.left()) {
		return "", &FormatError{
			Offset: start,
			Reason: fmt.Sprintf("%s: length %d exceeds the %d bytes left in the file", what, n, d.left()),
			Err:    io.ErrUnexpectedEOF,
		}
	}
	if n > uint64(limit) {
		return "", d.errorf(start, "%s: length %d exceeds the limit of %d bytes", what, n, limit)
	}
	b := make([]byte, n)
	if err := d.read(b, what); err != nil {
		return "", err
	}
	return string(b), nil
}

// minKVSize and minTensorInfoSize are the fewest bytes one metadata entry
// and one tensor table entry can take: they bound the header counts.
const (
	minKVSize         = 8 + 1 + 4 + 1         // key length, 1-byte key, type, 1-byte value
	minTensorInfoSize = 8 + 1 + 4 + 8 + 4 + 8 // name length, 1-byte name, n_dims, one dim, type, offset
)

func (d *decoder) header(f *File) error {
	var magic [4]byte
	if err := d.read(magic[:], "magic"); err != nil {
		return err
	}
	if string(magic[:]) != Magic {
		return &FormatError{Offset: 0, Reason: fmt.Sprintf("bad magic %q, want %q", magic[:], Magic), Err: ErrNotGGUF}
	}
	vOff := d.off
	v, err := d.u32("version")
	if err != nil {
		return err
	}
	switch {
	case v == 2 || v == 3:
	case v == 1:
		return &FormatError{Offset: vOff, Reason: "GGUF version 1 is not supported (only 2 and 3); convert the file with a current llama.cpp", Err: ErrUnsupportedVersion}
	case v != 0 && v&0xFFFF == 0:
		return &FormatError{Offset: vOff, Reason: fmt.Sprintf("version %#x looks byte-swapped: big-endian GGUF files are not supported", v), Err: ErrUnsupportedVersion}
	default:
		return &FormatError{Offset: vOff, Reason: fmt.Sprintf("GGUF version %d is not supported (only 2 and 3)", v), Err: ErrUnsupportedVersion}
	}
	f.Version = v

	tcOff := d.off
	nTensors, err := d.u64("tensor count")
	if err != nil {
		return err
	}
	kcOff := d.off
	nKV, err := d.u64("metadata count")
	if err != nil {
		return err
	}
	left := uint64(d.left())
	if nTensors > MaxTensors {
		return d.errorf(tcOff, "tensor count %d exceeds the limit of %d", nTensors, MaxTensors)
	}
	if nKV > MaxKVs {
		return d.errorf(kcOff, "metadata count %d exceeds the limit of %d", nKV, MaxKVs)
	}
	if nTensors*minTensorInfoSize+nKV*minKVSize > left {
		return &FormatError{
			Offset: tcOff,
			Reason: fmt.Sprintf("%d tensors and %d metadata entries cannot fit in the %d bytes left in the file", nTensors, nKV, left),
			Err:    io.ErrUnexpectedEOF,
		}
	}

	if err := d.metadata(f, int(nKV)); err != nil {
		return err
	}
	if err := d.tensorTable(f, int(nTensors)); err != nil {
		return err
	}

	// The data section starts at the next multiple of the alignment.
	infosEnd := d.off
	dataOff := alignUp(uint64(infosEnd), f.Alignment)
	if dataOff > uint64(f.Size) {
		if len(f.Tensors) > 0 {
			return d.errorf(infosEnd, "data section would start at %d (tensor table end %d aligned to %d), beyond end of file (size %d)",
				dataOff, infosEnd, f.Alignment, f.Size)
		}
		dataOff = uint64(infosEnd) // a metadata-only file need not be padded
	}
	f.DataOffset = int64(dataOff)
	return checkLayout(f)
}

func (d *decoder) metadata(f *File, n int) error {
	f.Metadata = make([]KV, 0, min(n, 1024))
	f.index = make(map[string]int, min(n, 1024))
	for i := 0; i < n; i++ {
		kOff := d.off
		key, err := d.str(fmt.Sprintf("metadata key %d", i), MaxKeyLen)
		if err != nil {
			return err
		}
		if key == "" {
			return d.errorf(kOff, "metadata key %d is empty", i)
		}
		if j, dup := f.index[key]; dup {
			return d.errorf(kOff, "duplicate metadata key %q (entries %d and %d)", key, j, i)
		}
		what := fmt.Sprintf("metadata %q", key)
		tOff := d.off
		t, err := d.u32(what + " type")
		if err != nil {
			return err
		}
		v, err := d.value(what, tOff, ValueType(t), 0)
		if err != nil {
			return err
		}
		f.index[key] = len(f.Metadata)
		f.Metadata = append(f.Metadata, KV{Key: key, Value: v})
		if key == AlignmentKey {
			a, ok := v.V.(uint32)
			if v.Type != TypeUint32 || !ok {
				return d.errorf(kOff, "%s must be a uint32, got %s", AlignmentKey, v.Type)
			}
			if a == 0 || a&(a-1) != 0 || a > MaxAlignment {
				return d.errorf(kOff, "%s = %d: must be a power of two no greater than %d", AlignmentKey, a, MaxAlignment)
			}
			f.Alignment = uint64(a)
		}
	}
	return nil
}

// value decodes one value of type t; tOff is the offset of its type tag.
func (d *decoder) value(what string, tOff int64, t ValueType, depth int) (Value, error) {
	if !t.Valid() {
		return Value{}, d.errorf(tOff, "%s: unknown value type %d", what, uint32(t))
	}
	if t == TypeArray {
		return d.array(what, depth)
	}
	v := Value{Type: t}
	var err error
	switch t {
	case TypeUint8:
		v.V, err = d.u8(what)
	case TypeInt8:
		var x uint8
		x, err = d.u8(what)
		v.V = int8(x)
	case TypeUint16:
		v.V, err = d.u16(what)
	case TypeInt16:
		var x uint16
		x, err = d.u16(what)
		v.V = int16(x)
	case TypeUint32:
		v.V, err = d.u32(what)
	case TypeInt32:
		var x uint32
		x, err = d.u32(what)
		v.V = int32(x)
	case TypeFloat32:
		var x uint32
		x, err = d.u32(what)
		v.V = math.Float32frombits(x)
	case TypeBool:
		off := d.off
		var x uint8
		x, err = d.u8(what)
		if err == nil && x > 1 {
			return Value{}, d.errorf(off, "%s: invalid bool byte %d (want 0 or 1)", what, x)
		}
		v.V = x == 1
	case TypeString:
		v.V, err = d.str(what, MaxStringLen)
	case TypeUint64:
		v.V, err = d.u64(what)
	case TypeInt64:
		var x uint64
		x, err = d.u64(what)
		v.V = int64(x)
	case TypeFloat64:
		var x uint64
		x, err = d.u64(what)
		v.V = math.Float64frombits(x)
	}
	if err != nil {
		return Value{}, err
	}
	return v, nil
}

// array decodes an array body (element type, count, elements).
func (d *decoder) array(what string, depth int) (Value, error) {
	start := d.off
	if depth >= MaxArrayDepth {
		return Value{}, d.errorf(start, "%s: arrays nested deeper than %d", what, MaxArrayDepth)
	}
	et, err := d.u32(what + " array element type")
	if err != nil {
		return Value{}, err
	}
	elem := ValueType(et)
	if !elem.Valid() {
		return Value{}, d.errorf(start, "%s: unknown array element type %d", what, et)
	}
	cOff := d.off
	n, err := d.u64(what + " array length")
	if err != nil {
		return Value{}, err
	}
	if n > MaxArrayLen {
		return Value{}, d.errorf(cOff, "%s: array length %d exceeds the limit of %d", what, n, MaxArrayLen)
	}
	if min := uint64(elem.minSize()); n*min > uint64(d.left()) {
		return Value{}, &FormatError{
			Offset: cOff,
			Reason: fmt.Sprintf("%s: %d elements of type %s cannot fit in the %d bytes left in the file", what, n, elem, d.left()),
			Err:    io.ErrUnexpectedEOF,
		}
	}
	count := int(n)
	v := Value{Type: TypeArray, ArrayType: elem}
	switch elem {
	case TypeString:
		s := make([]string, 0, min(count, 4096))
		for i := 0; i < count; i++ {
			x, err := d.str(fmt.Sprintf("%s[%d]", what, i), MaxStringLen)
			if err != nil {
				return Value{}, err
			}
			s = append(s, x)
		}
		v.V = s
	case TypeArray:
		s := make([]any, 0, min(count, 1024))
		for i := 0; i < count; i++ {
			x, err := d.array(fmt.Sprintf("%s[%d]", what, i), depth+1)
			if err != nil {
				return Value{}, err
			}
			s = append(s, x)
		}
		v.V = s
	case TypeBool:
		b, err := d.fixed(what, count, 1)
		if err != nil {
			return Value{}, err
		}
		s := make([]bool, count)
		for i, x := range b {
			if x > 1 {
				return Value{}, d.errorf(d.off-int64(count)+int64(i), "%s[%d]: invalid bool byte %d (want 0 or 1)", what, i, x)
			}
			s[i] = x == 1
		}
		v.V = s
	default:
		b, err := d.fixed(what, count, elem.fixedSize())
		if err != nil {
			return Value{}, err
		}
		v.V = decodeSlice(elem, b)
	}
	return v, nil
}

// fixed reads count elements of size bytes each. The caller has already
// checked that they fit in the file; the buffer still grows in chunks so
// that a lying ReaderAt cannot make it allocate the whole claim up front.
func (d *decoder) fixed(what string, count, size int) ([]byte, error) {
	total := count * size
	const chunk = 1 << 20
	b := make([]byte, 0, min(total, chunk))
	for len(b) < total {
		n := min(total-len(b), chunk)
		b = slices.Grow(b, n)[:len(b)+n]
		if err := d.read(b[len(b)-n:], what); err != nil {
			return nil, err
		}
	}
	return b, nil
}

func decodeSlice(t ValueType, b []byte) any {
	le := binary.LittleEndian
	switch t {
	case TypeUint8:
		return b
	case TypeInt8:
		s := make([]int8, len(b))
		for i, x := range b {
			s[i] = int8(x)
		}
		return s
	case TypeUint16:
		s := make([]uint16, len(b)/2)
		for i := range s {
			s[i] = le.Uint16(b[2*i:])
		}
		return s
	case TypeInt16:
		s := make([]int16, len(b)/2)
		for i := range s {
			s[i] = int16(le.Uint16(b[2*i:]))
		}
		return s
	case TypeUint32:
		s := make([]uint32, len(b)/4)
		for i := range s {
			s[i] = le.Uint32(b[4*i:])
		}
		return s
	case TypeInt32:
		s := make([]int32, len(b)/4)
		for i := range s {
			s[i] = int32(le.Uint32(b[4*i:]))
		}
		return s
	case TypeFloat32:
		s := make([]float32, len(b)/4)
		for i := range s {
			s[i] = math.Float32frombits(le.Uint32(b[4*i:]))
		}
		return s
	case TypeUint64:
		s := make([]uint64, len(b)/8)
		for i := range s {
			s[i] = le.Uint64(b[8*i:])
		}
		return s
	case TypeInt64:
		s := make([]int64, len(b)/8)
		for i := range s {
			s[i] = int64(le.Uint64(b[8*i:]))
		}
		return s
	case TypeFloat64:
		s := make([]float64, len(b)/8)
		for i := range s {
			s[i] = math.Float64frombits(le.Uint64(b[8*i:]))
		}
		return s
	}
	return nil // unreachable: callers pass only fixed-size types
}

func (d *decoder) tensorTable(f *File, n int) error {
	f.Tensors = make([]TensorInfo, 0, min(n, 4096))
	seen := make(map[string]int, min(n, 4096))
	for i := 0; i < n; i++ {
		nOff := d.off
		name, err := d.str(fmt.Sprintf("tensor %d name", i), MaxTensorNameLen)
		if err != nil {
			return err
		}
		if name == "" {
			return d.errorf(nOff, "tensor %d has an empty name", i)
		}
		if j, dup := seen[name]; dup {
			return d.errorf(nOff, "duplicate tensor name %q (tensors %d and %d)", name, j, i)
		}
		seen[name] = i
		what := fmt.Sprintf("tensor %q", name)

		dOff := d.off
		nd, err := d.u32(what + " dimension count")
		if err != nil {
			return err
		}
		if nd == 0 || nd > MaxDims {
			return d.errorf(dOff, "%s: %d dimensions, want 1 to %d", what, nd, MaxDims)
		}
		t := TensorInfo{Name: name, Dims: make([]uint64, nd)}
		for j := range t.Dims {
			if t.Dims[j], err = d.u64(fmt.Sprintf("%s dimension %d", what, j)); err != nil {
				return err
			}
		}
		tyOff := d.off
		ty, err := d.u32(what + " type")
		if err != nil {
			return err
		}
		t.Type = TensorType(ty)
		if !t.Type.Known() {
			if t.Type.traits().name != "" {
				return d.errorf(tyOff, "%s: tensor type %d (%s) was removed from ggml and is not supported", what, ty, t.Type)
			}
			return d.errorf(tyOff, "%s: unknown tensor type %d", what, ty)
		}
		if _, err := t.Bytes(); err != nil {
			// Bytes names the tensor; report where its shape is.
			return &FormatError{Offset: dOff, Reason: err.Error()}
		}
		oOff := d.off
		if t.Offset, err = d.u64(what + " offset"); err != nil {
			return err
		}
		if t.Offset%f.Alignment != 0 {
			return d.errorf(oOff, "%s: data offset %d is not a multiple of the alignment %d", what, t.Offset, f.Alignment)
		}
		f.Tensors = append(f.Tensors, t)
	}
	return nil
}

// checkLayout checks that every tensor's data lies inside the file and that
// no two tensors share bytes.
func checkLayout(f *File) error {
	type span struct {
		start, end uint64 // absolute, half-open
		i          int
	}
	spans := make([]span, 0, len(f.Tensors))
	size := uint64(f.Size)
	base := uint64(f.DataOffset)
	for i, t := range f.Tensors {
		n, _ := t.Bytes() // validated in tensorTable
		if t.Offset > size-base {
			return &FormatError{Offset: -1, Reason: fmt.Sprintf("tensor %q: data offset %d is beyond end of file (data section starts at %d, size %d)",
				t.Name, t.Offset, base, size)}
		}
		start := base + t.Offset
		if n > size-start {
			return &FormatError{Offset: -1, Reason: fmt.Sprintf("tensor %q: data [%d, %d) beyond end of file (size %d)",
				t.Name, start, start+n, size)}
		}
		if n > 0 {
			spans = append(spans, span{start, start + n, i})
		}
	}
	sort.Slice(spans, func(a, b int) bool { return spans[a].start < spans[b].start })
	// Sorted by start, some pair overlaps exactly when some span starts
	// before the furthest end seen so far.
	for k, far := 1, 0; k < len(spans); k++ {
		p, c := spans[far], spans[k]
		if c.start < p.end {
			return &FormatError{Offset: -1, Reason: fmt.Sprintf("tensors %q [%d, %d) and %q [%d, %d) overlap",
				f.Tensors[p.i].Name, p.start, p.end, f.Tensors[c.i].Name, c.start, c.end)}
		}
		if c.end > p.end {
			far = k
		}
	}
	return nil
}

// alignUp rounds o up to a multiple of a (a power of two), saturating.
func alignUp(o, a uint64) uint64 {
	r := o + (a-o%a)%a
	if r < o {
		return math.MaxUint64
	}
	return r
}
