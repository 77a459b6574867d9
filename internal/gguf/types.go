package gguf

import "fmt"

// ValueType is the type tag of a metadata value, as stored in the file.
type ValueType uint32

// The metadata value types of GGUF v2 and v3.
const (
	TypeUint8   ValueType = 0
	TypeInt8    ValueType = 1
	TypeUint16  ValueType = 2
	TypeInt16   ValueType = 3
	TypeUint32  ValueType = 4
	TypeInt32   ValueType = 5
	TypeFloat32 ValueType = 6
	TypeBool    ValueType = 7
	TypeString  ValueType = 8
	TypeArray   ValueType = 9
	TypeUint64  ValueType = 10
	TypeInt64   ValueType = 11
	TypeFloat64 ValueType = 12
)

var valueTypeNames = [...]string{
	TypeUint8:   "uint8",
	TypeInt8:    "int8",
	TypeUint16:  "uint16",
	TypeInt16:   "int16",
	TypeUint32:  "uint32",
	TypeInt32:   "int32",
	TypeFloat32: "float32",
	TypeBool:    "bool",
	TypeString:  "string",
	TypeArray:   "array",
	TypeUint64:  "uint64",
	TypeInt64:   "int64",
	TypeFloat64: "float64",
}

// String returns the lower-case name of t ("uint32", "string", "array"…),
// or "type(N)" for a tag GGUF does not define.
func (t ValueType) String() string {
	if int(t) < len(valueTypeNames) {
		return valueTypeNames[t]
	}
	return fmt.Sprintf("type(%d)", uint32(t))
}

// Valid reports whether t is a value type GGUF defines.
func (t ValueType) Valid() bool { return t <= TypeFloat64 }

// fixedSize is the encoded size of a scalar of type t, or 0 for strings,
// arrays and unknown types.
func (t ValueType) fixedSize() int {
	switch t {
	case TypeUint8, TypeInt8, TypeBool:
		return 1
	case TypeUint16, TypeInt16:
		return 2
	case TypeUint32, TypeInt32, TypeFloat32:
		return 4
	case TypeUint64, TypeInt64, TypeFloat64:
		return 8
	}
	return 0
}

// minSize is the fewest bytes one encoded value of type t can take; it
// bounds element counts against the bytes left in the file.
func (t ValueType) minSize() int {
	switch t {
	case TypeString:
		return 8 // u64 length
	case TypeArray:
		return 12 // u32 element type + u64 count
	}
	return t.fixedSize()
}

// Value is one metadata value. V holds the Go value of the matching type:
// uint8, int8, uint16, int16, uint32, int32, float32, bool, string, uint64,
// int64 or float64. For an array (Type == TypeArray), ArrayType is the
// element type and V is a typed slice ([]uint8 … []float64, []bool,
// []string); an array of arrays is a []any whose elements are Value, each
// itself of Type TypeArray.
type Value struct {
	Type      ValueType
	ArrayType ValueType
	V         any
}

// Len returns the number of elements of an array value, or 0 for a scalar.
func (v Value) Len() int {
	switch s := v.V.(type) {
	case []uint8:
		return len(s)
	case []int8:
		return len(s)
	case []uint16:
		return len(s)
	case []int16:
		return len(s)
	case []uint32:
		return len(s)
	case []int32:
		return len(s)
	case []float32:
		return len(s)
	case []bool:
		return len(s)
	case []string:
		return len(s)
	case []uint64:
		return len(s)
	case []int64:
		return len(s)
	case []float64:
		return len(s)
	case []any:
		return len(s)
	}
	return 0
}

// KV is one metadata key and its value.
type KV struct {
	Key   string
	Value Value
}

// TensorType is a ggml tensor element type id (GGML_TYPE_*).
type TensorType uint32

// The ggml tensor types. Ids 4, 5, 31–33 and 36–38 belonged to types ggml
// has removed; they have a name but no size, so Parse rejects them.
const (
	TypeF32     TensorType = 0
	TypeF16     TensorType = 1
	TypeQ4_0    TensorType = 2
	TypeQ4_1    TensorType = 3
	TypeQ5_0    TensorType = 6
	TypeQ5_1    TensorType = 7
	TypeQ8_0    TensorType = 8
	TypeQ8_1    TensorType = 9
	TypeQ2_K    TensorType = 10
	TypeQ3_K    TensorType = 11
	TypeQ4_K    TensorType = 12
	TypeQ5_K    TensorType = 13
	TypeQ6_K    TensorType = 14
	TypeQ8_K    TensorType = 15
	TypeIQ2_XXS TensorType = 16
	TypeIQ2_XS  TensorType = 17
	TypeIQ3_XXS TensorType = 18
	TypeIQ1_S   TensorType = 19
	TypeIQ4_NL  TensorType = 20
	TypeIQ3_S   TensorType = 21
	TypeIQ2_S   TensorType = 22
	TypeIQ4_XS  TensorType = 23
	TypeI8      TensorType = 24
	TypeI16     TensorType = 25
	TypeI32     TensorType = 26
	TypeI64     TensorType = 27
	TypeF64     TensorType = 28
	TypeIQ1_M   TensorType = 29
	TypeBF16    TensorType = 30
	TypeTQ1_0   TensorType = 34
	TypeTQ2_0   TensorType = 35
	TypeMXFP4   TensorType = 39
	TypeNVFP4   TensorType = 40
	TypeQ1_0    TensorType = 41
	TypeQ2_0    TensorType = 42
)

// typeTraits is one row of ggml's type table: elements per block and bytes
// per block. A zero block size marks a removed type.
type typeTraits struct {
	name      string
	blockSize uint64
	typeSize  uint64
}

// tensorTypes follows ggml's type_traits table (ggml/src/ggml.c) and the
// block structs of ggml-common.h, where QK_K = 256.
var tensorTypes = [...]typeTraits{
	TypeF32:     {"F32", 1, 4},
	TypeF16:     {"F16", 1, 2},
	TypeQ4_0:    {"Q4_0", 32, 18},
	TypeQ4_1:    {"Q4_1", 32, 20},
	4:           {"Q4_2", 0, 0},
	5:           {"Q4_3", 0, 0},
	TypeQ5_0:    {"Q5_0", 32, 22},
	TypeQ5_1:    {"Q5_1", 32, 24},
	TypeQ8_0:    {"Q8_0", 32, 34},
	TypeQ8_1:    {"Q8_1", 32, 36},
	TypeQ2_K:    {"Q2_K", 256, 84},
	TypeQ3_K:    {"Q3_K", 256, 110},
	TypeQ4_K:    {"Q4_K", 256, 144},
	TypeQ5_K:    {"Q5_K", 256, 176},
	TypeQ6_K:    {"Q6_K", 256, 210},
	TypeQ8_K:    {"Q8_K", 256, 292},
	TypeIQ2_XXS: {"IQ2_XXS", 256, 66},
	TypeIQ2_XS:  {"IQ2_XS", 256, 74},
	TypeIQ3_XXS: {"IQ3_XXS", 256, 98},
	TypeIQ1_S:   {"IQ1_S", 256, 50},
	TypeIQ4_NL:  {"IQ4_NL", 32, 18},
	TypeIQ3_S:   {"IQ3_S", 256, 110},
	TypeIQ2_S:   {"IQ2_S", 256, 82},
	TypeIQ4_XS:  {"IQ4_XS", 256, 136},
	TypeI8:      {"I8", 1, 1},
	TypeI16:     {"I16", 1, 2},
	TypeI32:     {"I32", 1, 4},
	TypeI64:     {"I64", 1, 8},
	TypeF64:     {"F64", 1, 8},
	TypeIQ1_M:   {"IQ1_M", 256, 56},
	TypeBF16:    {"BF16", 1, 2},
	31:          {"Q4_0_4_4", 0, 0},
	32:          {"Q4_0_4_8", 0, 0},
	33:          {"Q4_0_8_8", 0, 0},
	TypeTQ1_0:   {"TQ1_0", 256, 54},
	TypeTQ2_0:   {"TQ2_0", 256, 66},
	36:          {"IQ4_NL_4_4", 0, 0},
	37:          {"IQ4_NL_4_8", 0, 0},
	38:          {"IQ4_NL_8_8", 0, 0},
	TypeMXFP4:   {"MXFP4", 32, 17},
	TypeNVFP4:   {"NVFP4", 64, 36},
	TypeQ1_0:    {"Q1_0", 128, 18},
	TypeQ2_0:    {"Q2_0", 64, 18},
}

func (t TensorType) traits() typeTraits {
	if int(t) < len(tensorTypes) {
		return tensorTypes[t]
	}
	return typeTraits{}
}

// String returns ggml's name for t in upper case ("F32", "Q4_K", "IQ2_XXS"),
// or "type(N)" for an id ggml has never defined.
func (t TensorType) String() string {
	if n := t.traits().name; n != "" {
		return n
	}
	return fmt.Sprintf("type(%d)", uint32(t))
}

// BlockSize returns the number of elements in one block of t, or 0 if t is
// unknown or removed.
func (t TensorType) BlockSize() uint64 { return t.traits().blockSize }

// TypeSize returns the number of bytes in one block of t, or 0 if t is
// unknown or removed.
func (t TensorType) TypeSize() uint64 { return t.traits().typeSize }

// Known reports whether t is a type whose size is known, that is, one a
// current GGUF file may hold.
func (t TensorType) Known() bool { return t.BlockSize() != 0 }

// Quantized reports whether t stores elements in blocks of more than one.
func (t TensorType) Quantized() bool { return t.BlockSize() > 1 }

// TensorTypes returns every known tensor type in id order.
func TensorTypes() []TensorType {
	var ts []TensorType
	for i := range tensorTypes {
		if t := TensorType(i); t.Known() {
			ts = append(ts, t)
		}
	}
	return ts
}

// MaxDims is the most dimensions a tensor may have (GGML_MAX_DIMS).
const MaxDims = 4

// TensorInfo describes one tensor as the file's tensor table lists it.
type TensorInfo struct {
	Name string
	// Dims lists the extent of each dimension, innermost (contiguous) first:
	// a weight of shape [rows, cols] in row-major terms is Dims {cols, rows}.
	Dims []uint64
	Type TensorType
	// Offset is relative to the start of the data section (File.DataOffset).
	Offset uint64
}

// Elements returns the number of elements, the product of Dims. It is only
// meaningful for a TensorInfo that passed Parse (or Bytes without error);
// otherwise it may have wrapped around.
func (t TensorInfo) Elements() uint64 {
	n := uint64(1)
	for _, d := range t.Dims {
		n *= d
	}
	return n
}

// Bytes returns the size of the tensor's data. It fails if the type is
// unknown, if Dims[0] is not a multiple of the type's block size, or if the
// size does not fit in an int64.
func (t TensorInfo) Bytes() (uint64, error) {
	bs, ts := t.Type.BlockSize(), t.Type.TypeSize()
	if bs == 0 {
		return 0, fmt.Errorf("tensor %q: unsupported tensor type %d (%s)", t.Name, uint32(t.Type), t.Type)
	}
	if len(t.Dims) == 0 || len(t.Dims) > MaxDims {
		return 0, fmt.Errorf("tensor %q: %d dimensions, want 1 to %d", t.Name, len(t.Dims), MaxDims)
	}
	const limit = uint64(1<<63 - 1)
	n := uint64(1)
	for _, d := range t.Dims {
		if d > limit {
			return 0, fmt.Errorf("tensor %q: dimensions %v: too large", t.Name, t.Dims)
		}
		if d != 0 && n > limit/d {
			return 0, fmt.Errorf("tensor %q: dimensions %v: element count overflows", t.Name, t.Dims)
		}
		n *= d
	}
	if t.Dims[0]%bs != 0 {
		return 0, fmt.Errorf("tensor %q: first dimension %d is not a multiple of the %s block size %d",
			t.Name, t.Dims[0], t.Type, bs)
	}
	blocks := n / bs
	if blocks > limit/ts {
		return 0, fmt.Errorf("tensor %q: dimensions %v: byte size overflows", t.Name, t.Dims)
	}
	return blocks * ts, nil
}
