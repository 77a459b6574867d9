package gguf

import (
	"bytes"
	"errors"
	"io"
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// allValues has one entry of every scalar type, one array of every element
// type (including empty and nested arrays), and edge values.
func allValues() []KV {
	arr := func(t ValueType, v any) Value { return Value{Type: TypeArray, ArrayType: t, V: v} }
	return []KV{
		{"u8", Value{Type: TypeUint8, V: uint8(200)}},
		{"i8", Value{Type: TypeInt8, V: int8(-100)}},
		{"u16", Value{Type: TypeUint16, V: uint16(60000)}},
		{"i16", Value{Type: TypeInt16, V: int16(-30000)}},
		{"u32", Value{Type: TypeUint32, V: uint32(4_000_000_000)}},
		{"i32", Value{Type: TypeInt32, V: int32(-2_000_000_000)}},
		{"f32", Value{Type: TypeFloat32, V: float32(1e-5)}},
		{"f32.nan", Value{Type: TypeFloat32, V: float32(math.NaN())}},
		{"bool.true", Value{Type: TypeBool, V: true}},
		{"bool.false", Value{Type: TypeBool, V: false}},
		{"str", Value{Type: TypeString, V: "héllo\x00world"}},
		{"str.empty", Value{Type: TypeString, V: ""}},
		{"u64", Value{Type: TypeUint64, V: uint64(math.MaxUint64)}},
		{"i64", Value{Type: TypeInt64, V: int64(math.MinInt64)}},
		{"f64", Value{Type: TypeFloat64, V: math.Inf(-1)}},
		{"a.u8", arr(TypeUint8, []uint8{0, 1, 255})},
		{"a.i8", arr(TypeInt8, []int8{-128, 0, 127})},
		{"a.u16", arr(TypeUint16, []uint16{1, 65535})},
		{"a.i16", arr(TypeInt16, []int16{-32768, 32767})},
		{"a.u32", arr(TypeUint32, []uint32{7, 1 << 31})},
		{"a.i32", arr(TypeInt32, []int32{-1, 2, -3})},
		{"a.f32", arr(TypeFloat32, []float32{0.5, -0.25, float32(math.Inf(1))})},
		{"a.bool", arr(TypeBool, []bool{true, false, true})},
		{"a.str", arr(TypeString, []string{"<s>", "", "▁the"})},
		{"a.u64", arr(TypeUint64, []uint64{math.MaxUint64})},
		{"a.i64", arr(TypeInt64, []int64{math.MinInt64, 5})},
		{"a.f64", arr(TypeFloat64, []float64{math.Pi})},
		{"a.empty", arr(TypeUint32, []uint32{})},
		{"a.nested", arr(TypeArray, []any{
			arr(TypeString, []string{"x", "y"}),
			arr(TypeArray, []any{arr(TypeInt32, []int32{1, 2})}),
			arr(TypeUint8, []uint8{}),
		})},
	}
}

// cmpOpts compare parsed values: NaN equals NaN, empty slices equal.
var cmpOpts = []cmp.Option{cmpopts.EquateNaNs(), cmpopts.EquateEmpty()}

func TestRoundTrip(t *testing.T) {
	tensors := []Tensor{
		{Name: "f32", Dims: []uint64{3, 2}, Type: TypeF32, Data: seqBytes(24, 0)},
		{Name: "q4k", Dims: []uint64{256, 2, 1}, Type: TypeQ4_K, Data: seqBytes(288, 3)},
		{Name: "q8", Dims: []uint64{64}, Type: TypeQ8_0, Data: seqBytes(68, 9)},
		{Name: "empty", Dims: []uint64{0}, Type: TypeF16, Data: nil},
		{Name: "i8.4d", Dims: []uint64{1, 2, 3, 4}, Type: TypeI8, Data: seqBytes(24, 5)},
	}
	for _, tc := range []struct {
		name      string
		version   uint32
		alignment uint64
		wantAlign uint64
	}{
		{"v3 default alignment", 3, 0, 32},
		{"v2 default alignment", 2, 0, 32},
		{"v3 alignment 64", 3, 64, 64},
		{"v3 alignment 1", 3, 1, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			kv := allValues()
			b := encode(t, tc.version, kv, tensors, tc.alignment)
			f, err := parseBytes(b)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if f.Version != tc.version {
				t.Errorf("Version = %d, want %d", f.Version, tc.version)
			}
			if f.Alignment != tc.wantAlign {
				t.Errorf("Alignment = %d, want %d", f.Alignment, tc.wantAlign)
			}
			if f.DataOffset%int64(tc.wantAlign) != 0 {
				t.Errorf("DataOffset %d not aligned to %d", f.DataOffset, tc.wantAlign)
			}
			wantKV := kv
			if tc.wantAlign != DefaultAlignment {
				wantKV = append(wantKV, KV{AlignmentKey, Value{Type: TypeUint32, V: uint32(tc.wantAlign)}})
			}
			if diff := cmp.Diff(wantKV, f.Metadata, cmpOpts...); diff != "" {
				t.Errorf("metadata mismatch (-want +got):\n%s", diff)
			}
			if len(f.Tensors) != len(tensors) {
				t.Fatalf("%d tensors, want %d", len(f.Tensors), len(tensors))
			}
			for i, ti := range f.Tensors {
				want := tensors[i]
				if ti.Name != want.Name || ti.Type != want.Type || !cmp.Equal(ti.Dims, want.Dims) {
					t.Errorf("tensor %d = %s %v %v, want %s %v %v", i, ti.Name, ti.Type, ti.Dims, want.Name, want.Type, want.Dims)
				}
				if ti.Offset%tc.wantAlign != 0 {
					t.Errorf("tensor %q offset %d not aligned", ti.Name, ti.Offset)
				}
				sr, err := f.TensorReader(bytes.NewReader(b), ti)
				if err != nil {
					t.Fatal(err)
				}
				got, _ := io.ReadAll(sr)
				if !bytes.Equal(got, want.Data) {
					t.Errorf("tensor %q data differs", ti.Name)
				}
			}
			// Writing what was parsed gives the same bytes.
			var again bytes.Buffer
			if err := Write(&again, f.Version, f.Metadata, tensors, 0); err != nil {
				t.Fatalf("rewrite: %v", err)
			}
			if !bytes.Equal(again.Bytes(), b) {
				t.Error("rewriting the parsed file changed its bytes")
			}
			for key, want := range map[string]string{"str": "héllo\x00world", "u8": "", "missing": ""} {
				got, ok := f.String(key)
				if got != want || ok != (want != "") {
					t.Errorf("String(%q) = %q, %v; want %q", key, got, ok, want)
				}
			}
		})
	}
}

func TestWriteLayout(t *testing.T) {
	// One key, one tensor: every byte is where the spec puts it.
	b := encode(t, 3, []KV{{"k", Value{Type: TypeUint8, V: uint8(9)}}},
		[]Tensor{{Name: "t", Dims: []uint64{2}, Type: TypeF16, Data: []byte{1, 2, 3, 4}}}, 0)
	want := new(raw).header(3, 1, 1).str("k").u32(uint32(TypeUint8)).u8(9).
		tensor("t", []uint64{2}, TypeF16, 0).pad(32).bytes([]byte{1, 2, 3, 4}).pad(32).b
	if diff := cmp.Diff(want, b); diff != "" {
		t.Errorf("Write bytes mismatch (-want +got):\n%s", diff)
	}
}

type shortStream struct{ n int }

func (s *shortStream) Read(p []byte) (int, error) {
	if s.n == 0 {
		return 0, io.EOF
	}
	k := min(len(p), s.n)
	s.n -= k
	return k, nil
}

func TestWriteRejects(t *testing.T) {
	okT := []Tensor{{Name: "t", Dims: []uint64{1}, Type: TypeF32, Data: make([]byte, 4)}}
	u32 := func(k string, v uint32) KV { return KV{k, Value{Type: TypeUint32, V: v}} }
	tests := []struct {
		name      string
		version   uint32
		kv        []KV
		tensors   []Tensor
		alignment uint64
		want      string
	}{
		{"version 1", 1, nil, nil, 0, "version 1"},
		{"empty key", 3, []KV{u32("", 1)}, nil, 0, "empty metadata key"},
		{"duplicate key", 3, []KV{u32("a", 1), u32("a", 2)}, nil, 0, `duplicate metadata key "a"`},
		{"type mismatch", 3, []KV{{"a", Value{Type: TypeUint32, V: int32(1)}}}, nil, 0, "Go type int32 does not match type uint32"},
		{"nil value", 3, []KV{{"a", Value{Type: TypeString}}}, nil, 0, "Go type <nil> does not match type string"},
		{"unknown type", 3, []KV{{"a", Value{Type: 42, V: uint8(1)}}}, nil, 0, "unknown value type 42"},
		{"array mismatch", 3, []KV{{"a", Value{Type: TypeArray, ArrayType: TypeString, V: []int32{1}}}}, nil, 0, "does not match element type string"},
		{"nested not Value", 3, []KV{{"a", Value{Type: TypeArray, ArrayType: TypeArray, V: []any{[]int32{1}}}}}, nil, 0, "element 0 of an array of arrays"},
		{"alignment not uint32", 3, []KV{{AlignmentKey, Value{Type: TypeUint64, V: uint64(32)}}}, nil, 0, "must be a uint32"},
		{"alignment contradiction", 3, []KV{u32(AlignmentKey, 64)}, nil, 32, "contradicts"},
		{"alignment not power of two", 3, nil, nil, 24, "power of two"},
		{"data too short", 3, nil, []Tensor{{Name: "t", Dims: []uint64{2}, Type: TypeF32, Data: make([]byte, 4)}}, 0, "4 bytes of data, want 8"},
		{"bad shape", 3, nil, []Tensor{{Name: "t", Dims: []uint64{10}, Type: TypeQ8_0, Data: nil}}, 0, "not a multiple of the Q8_0 block size 32"},
		{"unknown tensor type", 3, nil, []Tensor{{Name: "t", Dims: []uint64{1}, Type: 31}}, 0, "unsupported tensor type 31 (Q4_0_4_4)"},
		{"duplicate tensor", 3, nil, append(okT, okT...), 0, `duplicate tensor name "t"`},
		{"long name", 3, nil, []Tensor{{Name: strings.Repeat("x", 65), Dims: []uint64{1}, Type: TypeF32, Data: make([]byte, 4)}}, 0, "must be 1 to 64 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			err := Write(&buf, tt.version, tt.kv, tt.tensors, tt.alignment)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Write error = %v, want one containing %q", err, tt.want)
			}
			if buf.Len() != 0 {
				t.Errorf("Write wrote %d bytes before failing validation", buf.Len())
			}
		})
	}
}

func TestWriteStreamShortReader(t *testing.T) {
	err := WriteStream(io.Discard, 3, nil, []StreamTensor{
		{Name: "t", Dims: []uint64{4}, Type: TypeF32, Data: &shortStream{n: 10}},
	}, 0)
	if err == nil || !strings.Contains(err.Error(), `tensor "t": data reader gave 10 bytes, want 16`) {
		t.Errorf("WriteStream error = %v, want a short-data error", err)
	}
}

type failWriter struct{}

var errFull = errors.New("disk full")

func (failWriter) Write([]byte) (int, error) { return 0, errFull }

func TestWriteStreamWriterError(t *testing.T) {
	err := Write(failWriter{}, 3, allValues(), []Tensor{{Name: "t", Dims: []uint64{1 << 16}, Type: TypeI8, Data: make([]byte, 1<<16)}}, 0)
	if !errors.Is(err, errFull) {
		t.Errorf("Write error = %v, want it to wrap %v", err, errFull)
	}
}
