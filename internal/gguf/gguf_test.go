package gguf

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestParseRejects(t *testing.T) {
	// valid3 is the header of a v3 file with n tensors and k entries.
	hdr := func(n, k uint64) *raw { return new(raw).header(3, n, k) }
	// oneTensor is a whole file holding one tensor entry and data.
	oneTensor := func(name string, dims []uint64, ty TensorType, off uint64, data int) []byte {
		r := hdr(1, 0).tensor(name, dims, ty, off).pad(32).zeros(data)
		return r.b
	}
	tests := []struct {
		name string
		in   []byte
		want string // substring of the error
		is   error  // optional errors.Is target
	}{
		{"empty", nil, "magic: file truncated", io.ErrUnexpectedEOF},
		{"bad magic", []byte("GGML\x03\x00\x00\x00"), "bad magic", ErrNotGGUF},
		{"no version", []byte("GGUF\x03"), "version: file truncated", io.ErrUnexpectedEOF},
		{"version 1", new(raw).header(1, 0, 0).b, "version 1 is not supported", ErrUnsupportedVersion},
		{"version 0", new(raw).header(0, 0, 0).b, "version 0 is not supported", ErrUnsupportedVersion},
		{"version 4", new(raw).header(4, 0, 0).b, "version 4 is not supported", ErrUnsupportedVersion},
		{"big endian", new(raw).header(3<<24, 0, 0).b, "byte-swapped", ErrUnsupportedVersion},
		{"truncated counts", []byte("GGUF\x03\x00\x00\x00\x01\x00"), "tensor count: file truncated", io.ErrUnexpectedEOF},
		{"tensor count over limit", hdr(1<<40, 0).b, "tensor count 1099511627776 exceeds the limit", nil},
		{"kv count over limit", hdr(0, 1<<62).b, "metadata count 4611686018427387904 exceeds the limit", nil},
		{"counts beyond file", hdr(1000, 1000).zeros(100).b, "cannot fit in the 100 bytes left", io.ErrUnexpectedEOF},
		{"key longer than file", hdr(0, 1).u64(1 << 40).zeros(20).b, "metadata key 0: length 1099511627776 exceeds the 20 bytes left", io.ErrUnexpectedEOF},
		{"key over limit", hdr(0, 1).str(strings.Repeat("k", MaxKeyLen+1)).u32(0).u8(0).b, "metadata key 0: length 65537 exceeds the limit", nil},
		{"empty key", hdr(0, 1).str("").u32(uint32(TypeUint8)).u8(1).zeros(10).b, "metadata key 0 is empty", nil},
		{"duplicate key", hdr(0, 2).kvU32("a.b", 1).kvU32("a.b", 2).b, `duplicate metadata key "a.b" (entries 0 and 1)`, nil},
		{"unknown value type", hdr(0, 1).str("k").u32(13).zeros(8).b, `metadata "k": unknown value type 13`, nil},
		{"truncated value", hdr(0, 1).str("k").u32(uint32(TypeUint64)).zeros(4).b, `metadata "k": file truncated (need 8 bytes, 4 left)`, io.ErrUnexpectedEOF},
		{"bad bool", hdr(0, 1).str("k").u32(uint32(TypeBool)).u8(2).b, `metadata "k": invalid bool byte 2`, nil},
		{"string longer than file", hdr(0, 1).str("k").u32(uint32(TypeString)).u64(50).zeros(10).b, `metadata "k": length 50 exceeds the 10 bytes left`, io.ErrUnexpectedEOF},
		{"unknown array type", hdr(0, 1).str("k").u32(uint32(TypeArray)).u32(77).u64(0).b, `metadata "k": unknown array element type 77`, nil},
		{"array longer than file", hdr(0, 1).str("k").u32(uint32(TypeArray)).u32(uint32(TypeUint32)).u64(10).zeros(39).b,
			`metadata "k": 10 elements of type uint32 cannot fit in the 39 bytes left`, io.ErrUnexpectedEOF},
		{"string array longer than file", hdr(0, 1).str("k").u32(uint32(TypeArray)).u32(uint32(TypeString)).u64(1 << 20).zeros(64).b,
			`1048576 elements of type string cannot fit`, io.ErrUnexpectedEOF},
		{"array over limit", hdr(0, 1).str("k").u32(uint32(TypeArray)).u32(uint32(TypeUint8)).u64(MaxArrayLen + 1).b,
			`array length 16777217 exceeds the limit`, nil},
		{"bad bool in array", hdr(0, 1).str("k").u32(uint32(TypeArray)).u32(uint32(TypeBool)).u64(3).u8(1).u8(0).u8(9).b,
			`metadata "k"[2]: invalid bool byte 9`, nil},
		{"bad string in array", hdr(0, 1).str("k").u32(uint32(TypeArray)).u32(uint32(TypeString)).u64(2).str("ok").u64(99).b,
			`metadata "k"[1]: length 99 exceeds`, io.ErrUnexpectedEOF},
		{"nesting too deep", func() []byte {
			r := hdr(0, 1).str("k").u32(uint32(TypeArray))
			for i := 0; i < MaxArrayDepth+1; i++ {
				r.u32(uint32(TypeArray)).u64(1)
			}
			return r.u32(uint32(TypeUint8)).u64(0).b
		}(), "arrays nested deeper than 8", nil},
		{"alignment not uint32", hdr(0, 1).str(AlignmentKey).u32(uint32(TypeUint64)).u64(32).b, "general.alignment must be a uint32, got uint64", nil},
		{"alignment not power of two", hdr(0, 1).kvU32(AlignmentKey, 48).b, "general.alignment = 48: must be a power of two", nil},
		{"alignment zero", hdr(0, 1).kvU32(AlignmentKey, 0).b, "general.alignment = 0: must be a power of two", nil},
		{"alignment huge", hdr(0, 1).kvU32(AlignmentKey, 1<<30).b, "general.alignment = 1073741824: must be a power of two no greater than", nil},
		{"tensor name too long", oneTensor(strings.Repeat("n", 65), []uint64{1}, TypeF32, 0, 32), "tensor 0 name: length 65 exceeds the limit of 64", nil},
		{"empty tensor name", oneTensor("", []uint64{1}, TypeF32, 0, 32), "tensor 0 has an empty name", nil},
		{"zero dims", oneTensor("t", nil, TypeF32, 0, 32), `tensor "t": 0 dimensions, want 1 to 4`, nil},
		{"five dims", oneTensor("t", []uint64{1, 1, 1, 1, 1}, TypeF32, 0, 32), `tensor "t": 5 dimensions, want 1 to 4`, nil},
		{"element overflow", oneTensor("t", []uint64{1 << 32, 1 << 32}, TypeF32, 0, 32), `tensor "t": dimensions [4294967296 4294967296]: element count overflows`, nil},
		{"byte overflow", oneTensor("t", []uint64{1 << 31, 1 << 31}, TypeF32, 0, 32), `tensor "t": dimensions [2147483648 2147483648]: byte size overflows`, nil},
		{"negative dim", oneTensor("t", []uint64{1 << 63}, TypeF32, 0, 32), `tensor "t": dimensions [9223372036854775808]: too large`, nil},
		{"unknown tensor type", oneTensor("t", []uint64{1}, 99, 0, 32), `tensor "t": unknown tensor type 99`, nil},
		{"removed tensor type", oneTensor("t", []uint64{32}, 31, 0, 32), `tensor "t": tensor type 31 (Q4_0_4_4) was removed`, nil},
		{"row not whole blocks", oneTensor("t", []uint64{100, 2}, TypeQ4_K, 0, 512), `tensor "t": first dimension 100 is not a multiple of the Q4_K block size 256`, nil},
		{"unaligned offset", oneTensor("t", []uint64{1}, TypeF32, 4, 64), `tensor "t": data offset 4 is not a multiple of the alignment 32`, nil},
		{"data beyond end", oneTensor("blk.0.attn_q.weight", []uint64{8, 8}, TypeF32, 0, 255), `tensor "blk.0.attn_q.weight": data [96, 352) beyond end of file (size 351)`, nil},
		{"offset beyond end", oneTensor("t", []uint64{1}, TypeF32, 1<<62, 32), `tensor "t": data offset 4611686018427387904 is beyond end of file`, nil},
		{"truncated tensor entry", hdr(1, 0).str("t").u32(4).u64(4).u64(4).u64(4).b, `tensor "t" dimension 3: file truncated`, io.ErrUnexpectedEOF},
		{"duplicate tensor", hdr(2, 0).tensor("t", []uint64{1}, TypeF32, 0).tensor("t", []uint64{1}, TypeF32, 32).pad(32).zeros(64).b,
			`duplicate tensor name "t" (tensors 0 and 1)`, nil},
		{"overlap", hdr(3, 0).
			tensor("a", []uint64{64}, TypeF32, 0).
			tensor("b", []uint64{8}, TypeF32, 256).
			tensor("c", []uint64{8}, TypeF32, 128).
			pad(32).zeros(512).b, `tensors "a" [128, 384) and "c" [256, 288) overlap`, nil},
		{"overlap same offset", hdr(2, 0).
			tensor("a", []uint64{8}, TypeF32, 0).
			tensor("b", []uint64{8}, TypeF32, 0).
			pad(32).zeros(64).b, `overlap`, nil},
		{"data section beyond end", hdr(1, 0).tensor("t", []uint64{0}, TypeF32, 0).b, "data section would start at 64", nil},
		{"data section beyond end with alignment", hdr(1, 1).kvU32(AlignmentKey, 4096).tensor("t", []uint64{0}, TypeF32, 0).pad(32).b,
			"data section would start at 4096", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := parseBytes(tt.in)
			if err == nil {
				t.Fatalf("Parse succeeded (%d tensors), want error containing %q", len(f.Tensors), tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Parse error = %q, want it to contain %q", err, tt.want)
			}
			if !strings.HasPrefix(err.Error(), "gguf: ") {
				t.Errorf("Parse error = %q, want a gguf: prefix", err)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("Parse error = %q, want errors.Is %v", err, tt.is)
			}
		})
	}
}

func TestParseErrorOffset(t *testing.T) {
	// The bad bool byte sits right after header (24), key (8+1) and type (4).
	b := new(raw).header(3, 0, 1).str("k").u32(uint32(TypeBool)).u8(2).b
	_, err := parseBytes(b)
	var fe *FormatError
	if !errors.As(err, &fe) {
		t.Fatalf("Parse error = %v, want a *FormatError", err)
	}
	if got, want := fe.Offset, int64(37); got != want {
		t.Errorf("FormatError.Offset = %d, want %d", got, want)
	}
	if got, want := err.Error(), `gguf: at offset 37: metadata "k": invalid bool byte 2 (want 0 or 1)`; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func TestParseAccepts(t *testing.T) {
	tests := []struct {
		name       string
		in         []byte
		dataOffset int64
		tensors    int
	}{
		{"header only", new(raw).header(3, 0, 0).b, 24, 0},
		{"header padded", new(raw).header(3, 0, 0).pad(32).b, 32, 0},
		{"v2", new(raw).header(2, 0, 1).kvU32("k", 1).b, 24 + 8 + 1 + 4 + 4, 0},
		{"zero-element tensor at end", new(raw).header(3, 1, 0).tensor("t", []uint64{0, 4}, TypeQ4_K, 0).pad(32).b, 96, 1},
		{"alignment 1", new(raw).header(3, 1, 1).kvU32(AlignmentKey, 1).tensor("t", []uint64{3}, TypeI8, 5).zeros(8).b, 90, 1},
		{"gap between tensors", new(raw).header(3, 2, 0).
			tensor("a", []uint64{8}, TypeF32, 64).
			tensor("b", []uint64{8}, TypeF32, 0).
			pad(32).zeros(96).b, 96, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := parseBytes(tt.in)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if f.DataOffset != tt.dataOffset {
				t.Errorf("DataOffset = %d, want %d", f.DataOffset, tt.dataOffset)
			}
			if len(f.Tensors) != tt.tensors {
				t.Errorf("%d tensors, want %d", len(f.Tensors), tt.tensors)
			}
		})
	}
}

// shortReader claims more bytes than it has, like a file truncated after
// its size was taken.
type shortReader struct{ b []byte }

func (r shortReader) ReadAt(p []byte, off int64) (int, error) {
	if off >= int64(len(r.b)) {
		return 0, io.EOF
	}
	n := copy(p, r.b[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

type failingReader struct{}

var errDisk = errors.New("disk on fire")

func (failingReader) ReadAt([]byte, int64) (int, error) { return 0, errDisk }

func TestParseReaderProblems(t *testing.T) {
	b := sampleFile(t, 3)
	if _, err := Parse(shortReader{b[:40]}, int64(len(b))); err == nil || !strings.Contains(err.Error(), "unexpected end of data") {
		t.Errorf("Parse of a short reader: error = %v, want unexpected end of data", err)
	}
	if _, err := Parse(failingReader{}, 100); !errors.Is(err, errDisk) {
		t.Errorf("Parse of a failing reader: error = %v, want it to wrap %v", err, errDisk)
	}
	if _, err := Parse(bytes.NewReader(b), -1); err == nil {
		t.Error("Parse with a negative size succeeded")
	}
}

func TestParseTruncations(t *testing.T) {
	// Every prefix of a valid file that cuts into the header or a tensor's
	// data is rejected; the padding after the last tensor is optional.
	b := sampleFile(t, 3)
	f, err := parseBytes(b)
	if err != nil {
		t.Fatalf("Parse of the whole file: %v", err)
	}
	var dataEnd int
	for _, ti := range f.Tensors {
		n, _ := ti.Bytes()
		dataEnd = max(dataEnd, int(f.TensorOffset(ti))+int(n))
	}
	if dataEnd >= len(b) {
		t.Fatalf("sample file has no final padding (data ends at %d, size %d)", dataEnd, len(b))
	}
	for n := 0; n <= len(b); n++ {
		_, err := parseBytes(b[:n])
		if n < dataEnd && err == nil {
			t.Errorf("Parse of the first %d of %d bytes succeeded", n, len(b))
		}
		if n >= dataEnd && err != nil {
			t.Errorf("Parse of the first %d of %d bytes: %v", n, len(b), err)
		}
	}
}

func TestTensorReader(t *testing.T) {
	b := sampleFile(t, 3)
	f, err := parseBytes(b)
	if err != nil {
		t.Fatal(err)
	}
	ti, ok := f.Tensor("output_norm.weight")
	if !ok {
		t.Fatal(`Tensor("output_norm.weight") not found`)
	}
	sr, err := f.TensorReader(bytes.NewReader(b), ti)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(sr)
	if err != nil {
		t.Fatal(err)
	}
	if want := seqBytes(16, 7); !bytes.Equal(got, want) {
		t.Errorf("tensor data = %v, want %v", got, want)
	}
	if _, ok := f.Tensor("missing"); ok {
		t.Error(`Tensor("missing") found`)
	}
}
