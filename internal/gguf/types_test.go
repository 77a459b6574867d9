package gguf

import (
	"strings"
	"testing"
)

func TestTensorTypeTable(t *testing.T) {
	// Sizes derived from the block structs in ggml-common.h (half = 2 bytes,
	// QK_K = 256), written as the structs' fields so that a slip in the
	// table above shows here.
	const half, qk = 2, 256
	tests := []struct {
		t         TensorType
		name      string
		block     uint64
		typeBytes uint64
	}{
		{TypeF32, "F32", 1, 4},
		{TypeF16, "F16", 1, half},
		{TypeBF16, "BF16", 1, 2},
		{TypeF64, "F64", 1, 8},
		{TypeI8, "I8", 1, 1},
		{TypeI16, "I16", 1, 2},
		{TypeI32, "I32", 1, 4},
		{TypeI64, "I64", 1, 8},
		{TypeQ4_0, "Q4_0", 32, half + 32/2},
		{TypeQ4_1, "Q4_1", 32, 2*half + 32/2},
		{TypeQ5_0, "Q5_0", 32, half + 4 + 32/2},
		{TypeQ5_1, "Q5_1", 32, 2*half + 4 + 32/2},
		{TypeQ8_0, "Q8_0", 32, half + 32},
		{TypeQ8_1, "Q8_1", 32, 2*half + 32},
		{TypeQ2_K, "Q2_K", qk, qk/16 + qk/4 + 2*half},
		{TypeQ3_K, "Q3_K", qk, qk/8 + qk/4 + 12 + half},
		{TypeQ4_K, "Q4_K", qk, 2*half + 12 + qk/2},
		{TypeQ5_K, "Q5_K", qk, 2*half + 12 + qk/8 + qk/2},
		{TypeQ6_K, "Q6_K", qk, qk/2 + qk/4 + qk/16 + half},
		{TypeQ8_K, "Q8_K", qk, 4 + qk + qk/16*2},
		{TypeIQ2_XXS, "IQ2_XXS", qk, half + qk/8*2},
		{TypeIQ2_XS, "IQ2_XS", qk, half + qk/8*2 + qk/32},
		{TypeIQ2_S, "IQ2_S", qk, half + qk/4 + qk/32 + qk/32},
		{TypeIQ3_XXS, "IQ3_XXS", qk, half + 3*qk/8},
		{TypeIQ3_S, "IQ3_S", qk, half + qk/4 + qk/32 + qk/8 + qk/64},
		{TypeIQ1_S, "IQ1_S", qk, half + qk/8 + qk/32*2},
		{TypeIQ1_M, "IQ1_M", qk, qk/8 + qk/16 + qk/32},
		{TypeIQ4_NL, "IQ4_NL", 32, half + 32/2},
		{TypeIQ4_XS, "IQ4_XS", qk, half + 2 + qk/64 + qk/2},
		{TypeTQ1_0, "TQ1_0", qk, (qk-4*qk/64)/5 + qk/64 + half},
		{TypeTQ2_0, "TQ2_0", qk, qk/4 + half},
		{TypeMXFP4, "MXFP4", 32, 1 + 32/2},
		{TypeNVFP4, "NVFP4", 64, 64/16 + 64/2},
		{TypeQ1_0, "Q1_0", 128, half + 128/8},
		{TypeQ2_0, "Q2_0", 64, half + 64/4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.t.String(); got != tt.name {
				t.Errorf("String() = %q, want %q", got, tt.name)
			}
			if got := tt.t.BlockSize(); got != tt.block {
				t.Errorf("BlockSize() = %d, want %d", got, tt.block)
			}
			if got := tt.t.TypeSize(); got != tt.typeBytes {
				t.Errorf("TypeSize() = %d, want %d", got, tt.typeBytes)
			}
			if !tt.t.Known() {
				t.Error("Known() = false")
			}
		})
	}
	if got, want := len(TensorTypes()), len(tests); got != want {
		t.Errorf("TensorTypes() lists %d types, the table above %d", got, want)
	}
	for _, id := range []TensorType{4, 5, 31, 32, 33, 36, 37, 38, 43, 1000} {
		if id.Known() || id.BlockSize() != 0 || id.TypeSize() != 0 {
			t.Errorf("type %d: Known %v, sizes %d/%d; want unknown with zero sizes", id, id.Known(), id.BlockSize(), id.TypeSize())
		}
	}
	if got := TensorType(1000).String(); got != "type(1000)" {
		t.Errorf("TensorType(1000).String() = %q", got)
	}
}

func TestValueTypeString(t *testing.T) {
	want := []string{"uint8", "int8", "uint16", "int16", "uint32", "int32", "float32", "bool", "string", "array", "uint64", "int64", "float64"}
	for i, w := range want {
		if got := ValueType(i).String(); got != w {
			t.Errorf("ValueType(%d).String() = %q, want %q", i, got, w)
		}
	}
	if got := ValueType(13).String(); got != "type(13)" {
		t.Errorf("ValueType(13).String() = %q", got)
	}
}

func TestTensorBytes(t *testing.T) {
	tests := []struct {
		ti      TensorInfo
		want    uint64
		wantErr string
	}{
		{TensorInfo{Name: "a", Dims: []uint64{4096, 4096}, Type: TypeQ4_K}, 4096 * 4096 / 256 * 144, ""},
		{TensorInfo{Name: "b", Dims: []uint64{64, 3}, Type: TypeQ8_0}, 2 * 3 * 34, ""},
		{TensorInfo{Name: "c", Dims: []uint64{0, 5}, Type: TypeQ8_0}, 0, ""},
		{TensorInfo{Name: "d", Dims: []uint64{7}, Type: TypeF16}, 14, ""},
		{TensorInfo{Name: "e", Dims: nil, Type: TypeF16}, 0, "0 dimensions"},
		{TensorInfo{Name: "f", Dims: []uint64{33}, Type: TypeQ8_0}, 0, "not a multiple"},
		{TensorInfo{Name: "g", Dims: []uint64{1}, Type: 99}, 0, "unsupported tensor type 99"},
		{TensorInfo{Name: "h", Dims: []uint64{1 << 40, 1 << 30}, Type: TypeF32}, 0, "overflows"},
	}
	for _, tt := range tests {
		t.Run(tt.ti.Name, func(t *testing.T) {
			got, err := tt.ti.Bytes()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Bytes() error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("Bytes() = %d, %v; want %d", got, err, tt.want)
			}
		})
	}
}
