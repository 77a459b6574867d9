package safetensors

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// raw builds a file from a literal header and dataLen bytes of data.
func raw(header string, dataLen int) []byte {
	b := make([]byte, 8, 8+len(header)+dataLen)
	binary.LittleEndian.PutUint64(b, uint64(len(header)))
	b = append(b, header...)
	for i := range dataLen {
		b = append(b, byte(i))
	}
	return b
}

func parseBytes(b []byte) (*File, error) {
	return Parse(bytes.NewReader(b), int64(len(b)))
}

func TestDTypeSize(t *testing.T) {
	tests := []struct {
		d         DType
		bytes     int
		sizeOK    bool
		bits      int
		bitsKnown bool
	}{
		{F32, 4, true, 32, true},
		{F16, 2, true, 16, true},
		{BF16, 2, true, 16, true},
		{F64, 8, true, 64, true},
		{I64, 8, true, 64, true},
		{U8, 1, true, 8, true},
		{BOOL, 1, true, 8, true},
		{F8E4M3, 1, true, 8, true},
		{C64, 8, true, 64, true},
		{F4, 0, false, 4, true},
		{F6E2M3, 0, false, 6, true},
		{"Q4_K", 0, false, 0, false},
		{"f32", 0, false, 0, false},
		{"", 0, false, 0, false},
	}
	for _, tt := range tests {
		t.Run(string(tt.d), func(t *testing.T) {
			n, ok := tt.d.Size()
			if n != tt.bytes || ok != tt.sizeOK {
				t.Errorf("Size() = %d, %t; want %d, %t", n, ok, tt.bytes, tt.sizeOK)
			}
			b, ok := tt.d.Bits()
			if b != tt.bits || ok != tt.bitsKnown {
				t.Errorf("Bits() = %d, %t; want %d, %t", b, ok, tt.bits, tt.bitsKnown)
			}
			if got := tt.d.Known(); got != tt.bitsKnown {
				t.Errorf("Known() = %t, want %t", got, tt.bitsKnown)
			}
		})
	}
}

func TestDataSize(t *testing.T) {
	tests := []struct {
		name    string
		d       DType
		shape   []uint64
		want    uint64
		wantErr string
	}{
		{"scalar", F32, nil, 4, ""},
		{"matrix", BF16, []uint64{3, 5}, 30, ""},
		{"zero dim", F64, []uint64{7, 0, 9}, 0, ""},
		{"f4 pairs", F4, []uint64{2, 3}, 3, ""},
		{"f6 four", F6E3M2, []uint64{4}, 3, ""},
		{"f4 odd", F4, []uint64{3}, 0, "whole bytes"},
		{"unknown", "X9", []uint64{1}, 0, "unknown dtype"},
		{"elements overflow", U8, []uint64{1 << 40, 1 << 40}, 0, "overflows"},
		{"overflow before zero", U8, []uint64{1 << 40, 1 << 40, 0}, 0, "overflows"},
		{"bits overflow", F64, []uint64{1 << 62}, 0, "overflows"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DataSize(tt.d, tt.shape)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("DataSize() error = %v, want it to mention %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("DataSize() error = %v", err)
			}
			if got != tt.want {
				t.Errorf("DataSize() = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestParseValid(t *testing.T) {
	tests := []struct {
		name    string
		header  string
		dataLen int
		want    []TensorInfo
		meta    map[string]string
	}{
		{
			name:    "reference example",
			header:  `{"test":{"dtype":"I32","shape":[2,2],"data_offsets":[0,16]}}`,
			dataLen: 16,
			want:    []TensorInfo{{Name: "test", DType: I32, Shape: []uint64{2, 2}, Begin: 0, End: 16}},
		},
		{
			name:    "empty",
			header:  `{}`,
			dataLen: 0,
		},
		{
			name:    "space padding and surrounding whitespace",
			header:  "\n {\"a\":{\"dtype\":\"U8\",\"shape\":[3],\"data_offsets\":[0,3]}}      ",
			dataLen: 3,
			want:    []TensorInfo{{Name: "a", DType: U8, Shape: []uint64{3}, Begin: 0, End: 3}},
		},
		{
			name: "out of order entries are sorted by offset",
			header: `{"b":{"dtype":"F16","shape":[2],"data_offsets":[4,8]},` +
				`"a":{"dtype":"F32","shape":[],"data_offsets":[0,4]}}`,
			dataLen: 8,
			want: []TensorInfo{
				{Name: "a", DType: F32, Shape: []uint64{}, Begin: 0, End: 4},
				{Name: "b", DType: F16, Shape: []uint64{2}, Begin: 4, End: 8},
			},
		},
		{
			name: "zero-size tensors",
			header: `{"z":{"dtype":"F32","shape":[0,4],"data_offsets":[2,2]},` +
				`"a":{"dtype":"I8","shape":[2],"data_offsets":[0,2]},` +
				`"e":{"dtype":"F32","shape":[4,0],"data_offsets":[0,0]}}`,
			dataLen: 2,
			want: []TensorInfo{
				{Name: "e", DType: F32, Shape: []uint64{4, 0}, Begin: 0, End: 0},
				{Name: "a", DType: I8, Shape: []uint64{2}, Begin: 0, End: 2},
				{Name: "z", DType: F32, Shape: []uint64{0, 4}, Begin: 2, End: 2},
			},
		},
		{
			name:    "metadata and unknown tensor field",
			header:  `{"__metadata__":{"format":"pt","note":"x\u00e9"},"w":{"dtype":"F4","shape":[4],"data_offsets":[0,2],"extra":{"k":[1,{"n":null}]}}}`,
			dataLen: 2,
			want:    []TensorInfo{{Name: "w", DType: F4, Shape: []uint64{4}, Begin: 0, End: 2}},
			meta:    map[string]string{"format": "pt", "note": "xé"},
		},
		{
			name:    "null metadata",
			header:  `{"__metadata__":null,"w":{"shape":[1],"data_offsets":[0,8],"dtype":"U64"}}`,
			dataLen: 8,
			want:    []TensorInfo{{Name: "w", DType: U64, Shape: []uint64{1}, Begin: 0, End: 8}},
		},
		{
			name:    "escaped tensor name",
			header:  `{"a\"b\\c\u0001":{"dtype":"BOOL","shape":[1],"data_offsets":[0,1]}}`,
			dataLen: 1,
			want:    []TensorInfo{{Name: "a\"b\\c\x01", DType: BOOL, Shape: []uint64{1}, Begin: 0, End: 1}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := raw(tt.header, tt.dataLen)
			f, err := parseBytes(b)
			if err != nil {
				t.Fatalf("Parse() error = %v", err)
			}
			if diff := cmp.Diff(tt.want, f.Tensors, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Tensors mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.meta, f.Metadata, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Metadata mismatch (-want +got):\n%s", diff)
			}
			if got, want := f.HeaderSize, uint64(len(tt.header)); got != want {
				t.Errorf("HeaderSize = %d, want %d", got, want)
			}
			if got, want := f.Size, int64(len(b)); got != want {
				t.Errorf("Size = %d, want %d", got, want)
			}
			if got, want := f.DataOffset(), int64(8+len(tt.header)); got != want {
				t.Errorf("DataOffset() = %d, want %d", got, want)
			}
		})
	}
}

// withLength builds a file whose length prefix is n, whatever follows.
func withLength(n uint64, rest string) []byte {
	b := make([]byte, 8)
	binary.LittleEndian.PutUint64(b, n)
	return append(b, rest...)
}

func TestParseHostile(t *testing.T) {
	const ok = `"dtype":"U8","shape":[4],"data_offsets":[0,4]`
	deep := `{"w":{` + ok + `,"x":` + strings.Repeat("[", 70) + strings.Repeat("]", 70) + `}}`
	tests := []struct {
		name    string
		file    []byte
		wantErr []string // all must appear in the error
	}{
		{"empty file", nil, []string{"0 bytes", "too short"}},
		{"shorter than prefix", []byte{1, 0, 0}, []string{"3 bytes", "too short"}},
		{"header past end of file", withLength(100, "{}"), []string{"header length 100", "2 bytes left"}},
		{"header over the cap", withLength(MaxHeaderSize+1, "{}"), []string{"100000001", "limit"}},
		{"huge header length", withLength(1<<63, ""), []string{"limit"}},
		{"invalid UTF-8", raw("{\"a\xff\":{}}", 0), []string{"UTF-8", "byte 11"}},
		{"not an object", raw(`[1,2]`, 0), []string{"header must start with", `"["`}},
		{"not JSON", raw(`{"a":`, 0), []string{"malformed JSON"}},
		{"empty header", raw(``, 0), []string{"malformed JSON"}},
		{"trailing garbage", raw(`{} x`, 0), []string{"after the header object"}},
		{"second object", raw(`{}{}`, 0), []string{"after the header object"}},
		{"NUL padding", raw("{}\x00\x00", 0), []string{"after the header object"}},
		{"duplicate tensor", raw(`{"w":{`+ok+`},"w":{`+ok+`}}`, 4), []string{`tensor "w"`, "more than once"}},
		{"duplicate field", raw(`{"w":{"dtype":"U8","dtype":"I8","shape":[4],"data_offsets":[0,4]}}`, 4), []string{`tensor "w"`, `field "dtype" appears more than once`}},
		{"duplicate metadata key", raw(`{"__metadata__":{"a":"1","a":"2"}}`, 0), []string{`__metadata__ key "a" appears more than once`}},
		{"duplicate metadata", raw(`{"__metadata__":{},"__metadata__":{}}`, 0), []string{"__metadata__ appears more than once"}},
		{"unknown dtype", raw(`{"w":{"dtype":"Q4_0","shape":[4],"data_offsets":[0,4]}}`, 4), []string{`tensor "w"`, `unknown dtype "Q4_0"`}},
		{"dtype not string", raw(`{"w":{"dtype":4,"shape":[4],"data_offsets":[0,4]}}`, 4), []string{"dtype must be a string"}},
		{"tensor not object", raw(`{"w":[1]}`, 0), []string{`tensor "w"`, "tensor entry must start with"}},
		{"missing dtype", raw(`{"w":{"shape":[4],"data_offsets":[0,4]}}`, 4), []string{`missing field "dtype"`}},
		{"missing shape", raw(`{"w":{"dtype":"U8","data_offsets":[0,4]}}`, 4), []string{`missing field "shape"`}},
		{"missing offsets", raw(`{"w":{"dtype":"U8","shape":[4]}}`, 4), []string{`missing field "data_offsets"`}},
		{"shape overflow", raw(`{"w":{"dtype":"U8","shape":[4294967296,4294967296],"data_offsets":[0,4]}}`, 4), []string{`tensor "w"`, "overflows"}},
		{"shape negative", raw(`{"w":{"dtype":"U8","shape":[-4],"data_offsets":[0,4]}}`, 4), []string{"shape dimension must be an unsigned integer", "-4"}},
		{"shape float", raw(`{"w":{"dtype":"U8","shape":[4.0],"data_offsets":[0,4]}}`, 4), []string{"unsigned integer", "4.0"}},
		{"shape exponent", raw(`{"w":{"dtype":"U8","shape":[4e0],"data_offsets":[0,4]}}`, 4), []string{"unsigned integer", "4e0"}},
		{"shape too big for 64 bits", raw(`{"w":{"dtype":"U8","shape":[18446744073709551616],"data_offsets":[0,4]}}`, 4), []string{"does not fit in 64 bits"}},
		{"shape string", raw(`{"w":{"dtype":"U8","shape":["4"],"data_offsets":[0,4]}}`, 4), []string{"unsigned integer", `string "4"`}},
		{"shape not array", raw(`{"w":{"dtype":"U8","shape":4,"data_offsets":[0,4]}}`, 4), []string{"shape must start with"}},
		{"rank too high", raw(`{"w":{"dtype":"U8","shape":[`+strings.Repeat("1,", MaxRank)+`4],"data_offsets":[0,4]}}`, 4), []string{"more than 64 dimensions"}},
		{"offsets one number", raw(`{"w":{"dtype":"U8","shape":[4],"data_offsets":[4]}}`, 4), []string{"exactly two integers, found 1"}},
		{"offsets three numbers", raw(`{"w":{"dtype":"U8","shape":[4],"data_offsets":[0,4,8]}}`, 4), []string{"exactly two integers, found more"}},
		{"offsets not numbers", raw(`{"w":{"dtype":"U8","shape":[4],"data_offsets":["0","4"]}}`, 4), []string{"data_offsets entry must be an unsigned integer"}},
		{"offsets object", raw(`{"w":{"dtype":"U8","shape":[4],"data_offsets":{"b":0}}}`, 4), []string{"data_offsets must start with"}},
		{"begin after end", raw(`{"w":{"dtype":"U8","shape":[4],"data_offsets":[4,0]}}`, 4), []string{`tensor "w"`, "begin 4 is after end 0"}},
		{"end beyond file", raw(`{"w":{"dtype":"U8","shape":[4],"data_offsets":[0,4]}}`, 3), []string{`tensor "w"`, "end 4 is beyond the 3-byte data buffer"}},
		{"end far beyond file", raw(`{"w":{"dtype":"U8","shape":[4],"data_offsets":[18446744073709551611,18446744073709551615]}}`, 4), []string{"beyond"}},
		{"size mismatch", raw(`{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}`, 4), []string{`tensor "w"`, "span 4 bytes", "needs 8"}},
		{"sub-byte misaligned", raw(`{"w":{"dtype":"F4","shape":[3],"data_offsets":[0,2]}}`, 2), []string{`tensor "w"`, "whole bytes"}},
		{"overlap", raw(`{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"b":{"dtype":"U8","shape":[4],"data_offsets":[2,6]}}`, 6), []string{`tensor "b"`, `overlaps tensor "a"`}},
		{"same range twice", raw(`{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"b":{"dtype":"I8","shape":[4],"data_offsets":[0,4]}}`, 4), []string{`tensor "b"`, `overlaps tensor "a"`}},
		{"gap", raw(`{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"b":{"dtype":"U8","shape":[2],"data_offsets":[4,6]}}`, 6), []string{`tensor "b"`, `gap of 2 unused bytes after tensor "a"`}},
		{"leading gap", raw(`{"a":{"dtype":"U8","shape":[2],"data_offsets":[2,4]}}`, 4), []string{`tensor "a"`, "2 unused bytes at the start"}},
		{"trailing data", raw(`{"w":{`+ok+`}}`, 9), []string{"5 unused bytes after the last tensor"}},
		{"data without tensors", raw(`{}`, 1), []string{"1 unused bytes"}},
		{"metadata value number", raw(`{"__metadata__":{"n":1}}`, 0), []string{`__metadata__ value for "n" must be a string`, "number 1"}},
		{"metadata value object", raw(`{"__metadata__":{"n":{}}}`, 0), []string{`__metadata__ value for "n" must be a string`}},
		{"metadata not object", raw(`{"__metadata__":"pt"}`, 0), []string{"__metadata__ must be an object of strings"}},
		{"unknown field too deep", raw(deep, 4), []string{`unknown field "x"`, "nested more than 64 levels"}},
		{"unknown field malformed", raw(`{"w":{`+ok+`,"x":[1,}}`, 4), []string{"malformed JSON"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := parseBytes(tt.file)
			if err == nil {
				t.Fatalf("Parse() = %+v, want error", f)
			}
			t.Log(err)
			var fe *FormatError
			if !errors.As(err, &fe) {
				t.Errorf("Parse() error %v (%T) is not a *FormatError", err, err)
			}
			for _, want := range tt.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("Parse() error = %q, want it to mention %q", err, want)
				}
			}
		})
	}
}

// failingReader fails every read, to check I/O errors are wrapped.
type failingReader struct{ err error }

func (r failingReader) ReadAt([]byte, int64) (int, error) { return 0, r.err }

func TestParseReadError(t *testing.T) {
	boom := errors.New("disk on fire")
	_, err := Parse(failingReader{boom}, 100)
	if !errors.Is(err, boom) {
		t.Errorf("Parse() error = %v, want it to wrap %v", err, boom)
	}
}

func TestFormatErrorOffsets(t *testing.T) {
	// The error for a tensor's layout points just before its key in the header.
	header := `{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"b":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}}`
	_, err := parseBytes(raw(header, 2))
	var fe *FormatError
	if !errors.As(err, &fe) {
		t.Fatalf("Parse() error = %v, want *FormatError", err)
	}
	if got, want := fe.Offset, int64(8+strings.Index(header, `,"b"`)); got != want {
		t.Errorf("Offset = %d, want %d", got, want)
	}
	if fe.Tensor != "b" {
		t.Errorf("Tensor = %q, want %q", fe.Tensor, "b")
	}
}

func TestRoundTrip(t *testing.T) {
	f32 := make([]byte, 4*6)
	for i := range f32 {
		f32[i] = byte(i * 7)
	}
	tensors := []Tensor{
		{Name: "model.embed.weight", DType: F32, Shape: []uint64{2, 3}, Data: f32},
		{Name: "model.norm.weight", DType: BF16, Shape: []uint64{3}, Data: []byte{1, 2, 3, 4, 5, 6}},
		{Name: "scale", DType: F64, Shape: []uint64{}, Data: []byte{0, 0, 0, 0, 0, 0, 0xf0, 0x3f}},
		{Name: "mask<&>", DType: BOOL, Shape: []uint64{2}, Data: []byte{1, 0}},
		{Name: "packed", DType: F4, Shape: []uint64{2, 2}, Data: []byte{0x12, 0x34}},
		{Name: "empty", DType: I32, Shape: []uint64{0}, Data: nil},
	}
	meta := map[string]string{"format": "pt", "license": "apache-2.0", "quote": `a "b" <c>`}
	var buf bytes.Buffer
	if err := Write(&buf, tensors, meta); err != nil {
		t.Fatalf("Write() error = %v", err)
	}
	b := buf.Bytes()
	f, err := parseBytes(b)
	if err != nil {
		t.Fatalf("Parse() error = %v", err)
	}
	if f.HeaderSize%8 != 0 {
		t.Errorf("HeaderSize = %d, want a multiple of 8", f.HeaderSize)
	}
	if diff := cmp.Diff(meta, f.Metadata); diff != "" {
		t.Errorf("Metadata mismatch (-want +got):\n%s", diff)
	}
	if got, want := len(f.Tensors), len(tensors); got != want {
		t.Fatalf("got %d tensors, want %d", got, want)
	}
	for _, want := range tensors {
		got, ok := f.Tensor(want.Name)
		if !ok {
			t.Errorf("tensor %q missing", want.Name)
			continue
		}
		if got.DType != want.DType {
			t.Errorf("tensor %q dtype = %s, want %s", want.Name, got.DType, want.DType)
		}
		if diff := cmp.Diff(want.Shape, got.Shape, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("tensor %q shape mismatch (-want +got):\n%s", want.Name, diff)
		}
		data := b[f.DataOffset()+int64(got.Begin) : f.DataOffset()+int64(got.End)]
		if !bytes.Equal(data, want.Data) {
			t.Errorf("tensor %q data = %x, want %x", want.Name, data, want.Data)
		}
	}
	for i := 1; i < len(f.Tensors); i++ {
		if f.Tensors[i-1].Begin > f.Tensors[i].Begin {
			t.Errorf("Tensors not sorted by Begin: %q at %d before %q at %d",
				f.Tensors[i-1].Name, f.Tensors[i-1].Begin, f.Tensors[i].Name, f.Tensors[i].Begin)
		}
	}

	wantFacts := Facts{
		TensorCount:    6,
		ParameterCount: 6 + 3 + 1 + 2 + 4 + 0,
		DTypes:         map[string]uint64{"F32": 6, "BF16": 3, "F64": 1, "BOOL": 2, "F4": 4, "I32": 0},
		Metadata:       meta,
	}
	if diff := cmp.Diff(wantFacts, f.Facts()); diff != "" {
		t.Errorf("Facts() mismatch (-want +got):\n%s", diff)
	}
}

func TestWriteEmpty(t *testing.T) {
	var buf bytes.Buffer
	if err := Write(&buf, nil, nil); err != nil {
		t.Fatalf("Write() error = %v", err)
	}
	// The same 16 bytes the reference writes for an empty file.
	want := append([]byte{8, 0, 0, 0, 0, 0, 0, 0}, "{}      "...)
	if !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("Write() = %q, want %q", buf.Bytes(), want)
	}
	f, err := parseBytes(buf.Bytes())
	if err != nil {
		t.Fatalf("Parse() error = %v", err)
	}
	if diff := cmp.Diff(Facts{DTypes: map[string]uint64{}}, f.Facts()); diff != "" {
		t.Errorf("Facts() mismatch (-want +got):\n%s", diff)
	}
}

func TestWriteErrors(t *testing.T) {
	tests := []struct {
		name    string
		tensors []Tensor
		meta    map[string]string
		wantErr string
	}{
		{"short data", []Tensor{{Name: "w", DType: F32, Shape: []uint64{2}, Data: make([]byte, 7)}}, nil, `tensor "w": has 7 data bytes`},
		{"unknown dtype", []Tensor{{Name: "w", DType: "F128", Shape: []uint64{1}, Data: make([]byte, 16)}}, nil, `unknown dtype "F128"`},
		{"duplicate name", []Tensor{{Name: "w", DType: U8, Data: []byte{1}}, {Name: "w", DType: U8, Data: []byte{1}}}, nil, "more than once"},
		{"reserved name", []Tensor{{Name: "__metadata__", DType: U8, Data: []byte{1}}}, nil, "reserved"},
		{"invalid UTF-8 name", []Tensor{{Name: "w\xff", DType: U8, Data: []byte{1}}}, nil, "not valid UTF-8"},
		{"invalid UTF-8 metadata", nil, map[string]string{"k": "\xfe"}, "not valid UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Write(&bytes.Buffer{}, tt.tensors, tt.meta)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Write() error = %v, want it to mention %q", err, tt.wantErr)
			}
		})
	}
}

func TestEncodeHeaderRejectsBadLayout(t *testing.T) {
	tests := []struct {
		name    string
		tensors []TensorInfo
		wantErr string
	}{
		{"gap", []TensorInfo{{Name: "a", DType: U8, Shape: []uint64{1}, Begin: 0, End: 1}, {Name: "b", DType: U8, Shape: []uint64{1}, Begin: 2, End: 3}}, "gap"},
		{"overlap", []TensorInfo{{Name: "a", DType: U8, Shape: []uint64{2}, Begin: 0, End: 2}, {Name: "b", DType: U8, Shape: []uint64{2}, Begin: 1, End: 3}}, "overlaps"},
		{"wrong size", []TensorInfo{{Name: "a", DType: F16, Shape: []uint64{2}, Begin: 0, End: 2}}, "needs 4"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := EncodeHeader(tt.tensors, nil)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("EncodeHeader() error = %v, want it to mention %q", err, tt.wantErr)
			}
		})
	}
}

func TestEncodeHeaderKeepsOrderAndPads(t *testing.T) {
	// Listed out of offset order: the header keeps the given order.
	tensors := []TensorInfo{
		{Name: "b", DType: U8, Shape: []uint64{2}, Begin: 3, End: 5},
		{Name: "a", DType: U8, Shape: []uint64{3}, Begin: 0, End: 3},
	}
	hdr, err := EncodeHeader(tensors, map[string]string{"z": "1", "a": "2"})
	if err != nil {
		t.Fatalf("EncodeHeader() error = %v", err)
	}
	if len(hdr)%8 != 0 {
		t.Errorf("len = %d, want a multiple of 8", len(hdr))
	}
	n := binary.LittleEndian.Uint64(hdr)
	if n != uint64(len(hdr)-8) {
		t.Errorf("length prefix = %d, want %d", n, len(hdr)-8)
	}
	want := `{"__metadata__":{"a":"2","z":"1"},"b":{"dtype":"U8","shape":[2],"data_offsets":[3,5]},"a":{"dtype":"U8","shape":[3],"data_offsets":[0,3]}}`
	if got := strings.TrimRight(string(hdr[8:]), " "); got != want {
		t.Errorf("header =\n%s\nwant\n%s", got, want)
	}
	if tensors[0].Name != "b" {
		t.Errorf("EncodeHeader reordered its argument")
	}
}

func ExampleWrite() {
	var buf bytes.Buffer
	err := Write(&buf, []Tensor{{Name: "w", DType: U8, Shape: []uint64{2}, Data: []byte{1, 2}}}, map[string]string{"format": "pt"})
	if err != nil {
		panic(err)
	}
	f, err := Parse(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		panic(err)
	}
	fmt.Println(f.Tensors[0].Name, f.Tensors[0].DType, f.Tensors[0].Shape, f.Facts().ParameterCount)
	// Output: w U8 [2] 2
}
