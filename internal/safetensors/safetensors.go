// Package safetensors reads and writes the safetensors tensor container
// format: an 8-byte little-endian header length, a JSON header naming each
// tensor's dtype, shape and byte range, then one contiguous data buffer.
// It also reads the model.safetensors.index.json file that maps the tensors
// of a sharded model to their shard files.
//
// Every byte it parses is treated as hostile: lengths, offsets and counts are
// checked against what the file can hold before anything is allocated, and
// a malformed file yields a *FormatError naming the tensor and field at
// fault, never a panic. The package only describes tensor bytes; it must not
// interpret or execute them, and it must not open shard files named by an
// index (callers resolve those names inside a directory they control).
package safetensors

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"sort"
	"unicode/utf8"
)

// MaxHeaderSize is the largest JSON header Parse accepts, in bytes. It is the
// limit of the reference implementation (100,000,000 bytes).
const MaxHeaderSize = 100_000_000

// MaxRank is the largest number of dimensions Parse accepts in a shape. The
// reference implementation has no limit; real tensors have a handful of
// dimensions, and the limit keeps a hostile header from expanding into
// hundreds of megabytes of shape slices.
const MaxRank = 64

// prefixSize is the size of the little-endian u64 header length.
const prefixSize = 8

// DType names the element type of a tensor, as spelled in the header.
type DType string

// The dtypes of the reference implementation (safetensors 0.6 and later).
const (
	BOOL       DType = "BOOL"
	F4         DType = "F4" // 4-bit float (MXFP4 E2M1); two elements per byte
	F6E2M3     DType = "F6_E2M3"
	F6E3M2     DType = "F6_E3M2"
	U8         DType = "U8"
	I8         DType = "I8"
	F8E5M2     DType = "F8_E5M2"
	F8E4M3     DType = "F8_E4M3"
	F8E8M0     DType = "F8_E8M0"
	F8E4M3FNUZ DType = "F8_E4M3FNUZ"
	F8E5M2FNUZ DType = "F8_E5M2FNUZ"
	I16        DType = "I16"
	U16        DType = "U16"
	F16        DType = "F16"
	BF16       DType = "BF16"
	I32        DType = "I32"
	U32        DType = "U32"
	F32        DType = "F32"
	C64        DType = "C64" // complex number made of two F32
	F64        DType = "F64"
	I64        DType = "I64"
	U64        DType = "U64"
)

var dtypeBits = map[DType]int{
	BOOL: 8, F4: 4, F6E2M3: 6, F6E3M2: 6,
	U8: 8, I8: 8, F8E5M2: 8, F8E4M3: 8, F8E8M0: 8, F8E4M3FNUZ: 8, F8E5M2FNUZ: 8,
	I16: 16, U16: 16, F16: 16, BF16: 16,
	I32: 32, U32: 32, F32: 32,
	C64: 64, F64: 64, I64: 64, U64: 64,
}

// Bits reports the width of one element in bits. ok is false for a dtype
// the package does not know.
func (d DType) Bits() (bits int, ok bool) {
	b, ok := dtypeBits[d]
	return b, ok
}

// Size reports the width of one element in whole bytes. ok is false for an
// unknown dtype and for the sub-byte dtypes (F4, F6_E2M3, F6_E3M2), whose
// width is only defined in bits: use Bits for those, or DataSize for the
// byte size of a whole tensor.
func (d DType) Size() (bytes int, ok bool) {
	b, ok := dtypeBits[d]
	if !ok || b%8 != 0 {
		return 0, false
	}
	return b / 8, true
}

// Known reports whether d is a dtype the package can size.
func (d DType) Known() bool {
	_, ok := dtypeBits[d]
	return ok
}

// DataSize returns the number of bytes a tensor of dtype d and the given
// shape occupies. It fails for an unknown dtype, when the element count or
// bit count overflows 64 bits (dimensions are multiplied left to right, as
// the reference does), and when sub-byte elements do not fill whole bytes.
func DataSize(d DType, shape []uint64) (uint64, error) {
	width, ok := d.Bits()
	if !ok {
		return 0, fmt.Errorf("unknown dtype %q", string(d))
	}
	n := uint64(1)
	for i, dim := range shape {
		hi, lo := bits.Mul64(n, dim)
		if hi != 0 {
			return 0, fmt.Errorf("shape %v overflows 64 bits at dimension %d", shape, i)
		}
		n = lo
	}
	hi, nbits := bits.Mul64(n, uint64(width))
	if hi != 0 {
		return 0, fmt.Errorf("shape %v of %s overflows 64 bits", shape, d)
	}
	if nbits%8 != 0 {
		return 0, fmt.Errorf("%d elements of %d-bit dtype %s do not fill whole bytes", n, width, d)
	}
	return nbits / 8, nil
}

// TensorInfo describes one tensor in a safetensors file. Begin and End are
// byte offsets into the data buffer, which starts right after the header.
type TensorInfo struct {
	Name  string
	DType DType
	Shape []uint64
	Begin uint64
	End   uint64
}

// Elements returns the number of elements, the product of the shape (1 for
// a scalar). It is exact for any TensorInfo that Parse returned; for others
// it saturates at the largest uint64 on overflow.
func (t TensorInfo) Elements() uint64 {
	n := uint64(1)
	for _, dim := range t.Shape {
		hi, lo := bits.Mul64(n, dim)
		if hi != 0 {
			return ^uint64(0)
		}
		n = lo
	}
	return n
}

// File is the validated header of a safetensors file.
type File struct {
	// HeaderSize is the length of the JSON header (including padding),
	// not counting the 8-byte length prefix.
	HeaderSize uint64
	// Tensors holds every tensor, sorted by Begin (then End, then Name).
	Tensors []TensorInfo
	// Metadata is the free-form "__metadata__" map, nil when absent.
	Metadata map[string]string
	// Size is the size of the whole file in bytes.
	Size int64
}

// DataOffset returns the file offset at which the data buffer starts; a
// tensor's bytes are at DataOffset()+Begin up to DataOffset()+End.
func (f *File) DataOffset() int64 { return prefixSize + int64(f.HeaderSize) }

// Tensor returns the tensor with the given name.
func (f *File) Tensor(name string) (TensorInfo, bool) {
	for _, t := range f.Tensors {
		if t.Name == name {
			return t, true
		}
	}
	return TensorInfo{}, false
}

// FormatError reports a malformed safetensors file or index.
type FormatError struct {
	// Offset is the byte offset, in the file (or index), at or just after
	// the problem; for a tensor's layout it is where its header entry is.
	Offset int64
	// Tensor names the tensor at fault, "" when the problem is not
	// about one tensor.
	Tensor string
	// Reason says what is wrong, in words fit to show a user.
	Reason string
	// Err is the underlying cause, if any (a JSON syntax error, say).
	Err error
}

func (e *FormatError) Error() string {
	var b bytes.Buffer
	b.WriteString("safetensors: ")
	if e.Tensor != "" {
		fmt.Fprintf(&b, "tensor %q: ", e.Tensor)
	}
	b.WriteString(e.Reason)
	if e.Err != nil {
		fmt.Fprintf(&b, ": %v", e.Err)
	}
	fmt.Fprintf(&b, " (at byte %d)", e.Offset)
	return b.String()
}

func (e *FormatError) Unwrap() error { return e.Err }

// Parse reads and validates the header of the safetensors file r of the
// given size. It reads only the length prefix and the header, never the
// tensor data. Besides JSON syntax it checks everything the reference
// implementation checks, and a little more:
//
//   - the file holds the 8-byte prefix and the header it announces, and
//     the header is at most MaxHeaderSize bytes;
//   - the header is valid UTF-8 holding exactly one JSON object (trailing
//     spaces allowed), with no key repeated at any level;
//   - each tensor entry has a known "dtype", a "shape" of at most MaxRank
//     unsigned integers, and "data_offsets" of exactly two unsigned integers
//     with begin <= end <= the data buffer's size; numbers are parsed as
//     exact integers, never through float64;
//   - end-begin equals the byte size of the shape and dtype, which must not
//     overflow and, for sub-byte dtypes, must fill whole bytes;
//   - the tensors cover the data buffer exactly: no overlap, no gap, no
//     unused trailing bytes;
//   - "__metadata__", if present and not null, maps strings to strings.
//
// Unknown fields inside a tensor entry are skipped, as the reference does
// (its deserializer ignores them); they must still be well-formed JSON
// nested at most 64 levels deep.
//
// Malformed input yields a *FormatError; a read failure is returned wrapped.
func Parse(r io.ReaderAt, size int64) (*File, error) {
	if size < prefixSize {
		return nil, &FormatError{Offset: 0, Reason: fmt.Sprintf("file is %d bytes, too short for the 8-byte header length", size)}
	}
	var prefix [prefixSize]byte
	if err := readFull(r, prefix[:], 0); err != nil {
		return nil, fmt.Errorf("safetensors: reading header length: %w", err)
	}
	n := binary.LittleEndian.Uint64(prefix[:])
	if n > MaxHeaderSize {
		return nil, &FormatError{Offset: 0, Reason: fmt.Sprintf("header length %d exceeds the %d-byte limit", n, MaxHeaderSize)}
	}
	if n > uint64(size-prefixSize) {
		return nil, &FormatError{Offset: 0, Reason: fmt.Sprintf("header length %d exceeds the %d bytes left in the file", n, size-prefixSize)}
	}
	hdr := make([]byte, n)
	if err := readFull(r, hdr, prefixSize); err != nil {
		return nil, fmt.Errorf("safetensors: reading %d-byte header: %w", n, err)
	}
	if !utf8.Valid(hdr) {
		off := 0
		for off < len(hdr) {
			r, w := utf8.DecodeRune(hdr[off:])
			if r == utf8.RuneError && w <= 1 {
				break
			}
			off += w
		}
		return nil, &FormatError{Offset: prefixSize + int64(off), Reason: "header is not valid UTF-8"}
	}
	h, err := parseHeader(hdr)
	if err != nil {
		return nil, err
	}
	dataLen := uint64(size) - prefixSize - n
	if err := validateLayout(h.tensors, h.offsets, prefixSize+int64(n), dataLen); err != nil {
		return nil, err
	}
	return &File{HeaderSize: n, Tensors: h.tensors, Metadata: h.metadata, Size: size}, nil
}

// readFull reads exactly len(buf) bytes at off, accepting io.EOF when the
// buffer was filled (io.ReaderAt allows that at the end of the input).
func readFull(r io.ReaderAt, buf []byte, off int64) error {
	n, err := r.ReadAt(buf, off)
	if n == len(buf) {
		return nil
	}
	if err == nil || errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return err
}

// validateLayout checks each tensor's byte range against its dtype and shape
// and that the ranges tile [0, dataLen) exactly. It sorts tensors (and the
// parallel offsets slice, the file offsets of the header entries used in
// errors; nil means unknown) by Begin, End, Name. dataStart is the file
// offset of the data buffer, used in errors.
func validateLayout(tensors []TensorInfo, offsets []int64, dataStart int64, dataLen uint64) error {
	off := func(i int) int64 {
		if offsets == nil {
			return -1
		}
		return offsets[i]
	}
	for i, t := range tensors {
		if t.Begin > t.End {
			return &FormatError{Offset: off(i), Tensor: t.Name, Reason: fmt.Sprintf("data_offsets begin %d is after end %d", t.Begin, t.End)}
		}
		if t.End > dataLen {
			return &FormatError{Offset: off(i), Tensor: t.Name, Reason: fmt.Sprintf("data_offsets end %d is beyond the %d-byte data buffer", t.End, dataLen)}
		}
		want, err := DataSize(t.DType, t.Shape)
		if err != nil {
			return &FormatError{Offset: off(i), Tensor: t.Name, Reason: "invalid shape", Err: err}
		}
		if got := t.End - t.Begin; got != want {
			return &FormatError{Offset: off(i), Tensor: t.Name, Reason: fmt.Sprintf("data_offsets span %d bytes but %s shape %v needs %d", got, t.DType, t.Shape, want)}
		}
	}
	idx := make([]int, len(tensors))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool {
		ta, tb := &tensors[idx[a]], &tensors[idx[b]]
		if ta.Begin != tb.Begin {
			return ta.Begin < tb.Begin
		}
		if ta.End != tb.End {
			return ta.End < tb.End
		}
		return ta.Name < tb.Name
	})
	sorted := make([]TensorInfo, len(tensors))
	var sortedOff []int64
	if offsets != nil {
		sortedOff = make([]int64, len(offsets))
	}
	for i, j := range idx {
		sorted[i] = tensors[j]
		if offsets != nil {
			sortedOff[i] = offsets[j]
		}
	}
	copy(tensors, sorted)
	if offsets != nil {
		copy(offsets, sortedOff)
	}
	var pos uint64
	prev := ""
	for i, t := range tensors {
		switch {
		case t.Begin < pos:
			return &FormatError{Offset: off(i), Tensor: t.Name, Reason: fmt.Sprintf("data [%d, %d) overlaps tensor %q, which ends at %d", t.Begin, t.End, prev, pos)}
		case t.Begin > pos && i == 0:
			return &FormatError{Offset: off(i), Tensor: t.Name, Reason: fmt.Sprintf("first tensor starts at %d, leaving %d unused bytes at the start of the data buffer", t.Begin, t.Begin)}
		case t.Begin > pos:
			return &FormatError{Offset: off(i), Tensor: t.Name, Reason: fmt.Sprintf("gap of %d unused bytes after tensor %q (data starts at %d, previous ends at %d)", t.Begin-pos, prev, t.Begin, pos)}
		}
		pos = t.End
		prev = t.Name
	}
	if pos != dataLen {
		return &FormatError{Offset: dataStart + int64(pos), Reason: fmt.Sprintf("%d unused bytes after the last tensor: tensors cover %d of the %d-byte data buffer", dataLen-pos, pos, dataLen)}
	}
	return nil
}
