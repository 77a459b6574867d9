package gguf

import (
	"encoding/json"
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func u32v(x uint32) Value { return Value{Type: TypeUint32, V: x} }
func strv(s string) Value { return Value{Type: TypeString, V: s} }

func TestFileTypeLabel(t *testing.T) {
	// A file declaring general.file_type gets llama.cpp's label whatever its
	// tensors say; an unknown value falls back to inference.
	weights := []TensorInfo{{Name: "w", Dims: []uint64{256, 4}, Type: TypeQ4_K}}
	tests := []struct {
		ft   uint32
		want string
	}{
		{0, "F32"}, {1, "F16"}, {2, "Q4_0"}, {7, "Q8_0"}, {10, "Q2_K"}, {12, "Q3_K_M"},
		{14, "Q4_K_S"}, {15, "Q4_K_M"}, {17, "Q5_K_M"}, {18, "Q6_K"}, {19, "IQ2_XXS"},
		{21, "Q2_K_S"}, {27, "IQ3_M"}, {29, "IQ2_M"}, {30, "IQ4_XS"}, {31, "IQ1_M"},
		{32, "BF16"}, {36, "TQ1_0"}, {37, "TQ2_0"}, {38, "MXFP4_MOE"}, {39, "NVFP4"},
		{40, "Q1_0"}, {41, "Q2_0"},
		{999, "Q4_K"}, // unknown: inferred
	}
	for _, tt := range tests {
		f := &File{Metadata: []KV{{"general.file_type", u32v(tt.ft)}}, Tensors: weights}
		fc := f.Facts()
		if fc.Quantization != tt.want {
			t.Errorf("file_type %d: Quantization = %q, want %q", tt.ft, fc.Quantization, tt.want)
		}
		if fc.FileType == nil || *fc.FileType != tt.ft {
			t.Errorf("file_type %d: FileType = %v", tt.ft, fc.FileType)
		}
	}
	// Any integer type is accepted for general.file_type.
	f := &File{Metadata: []KV{{"general.file_type", Value{Type: TypeInt32, V: int32(15)}}}}
	if got := f.Facts().Quantization; got != "Q4_K_M" {
		t.Errorf("int32 file_type 15: Quantization = %q, want Q4_K_M", got)
	}
}

func TestInferQuantization(t *testing.T) {
	ti := func(ty TensorType, dims ...uint64) TensorInfo { return TensorInfo{Dims: dims, Type: ty} }
	named := func(name string, ty TensorType, dims ...uint64) TensorInfo {
		return TensorInfo{Name: name, Dims: dims, Type: ty}
	}
	tests := []struct {
		name    string
		tensors []TensorInfo
		want    string
	}{
		{"none", nil, ""},
		{"q4_k_m mix", []TensorInfo{
			named("token_embd.weight", TypeQ4_K, 4096, 152000), named("output.weight", TypeQ6_K, 4096, 152000),
			ti(TypeQ4_K, 4096, 4096), ti(TypeQ4_K, 4096, 4096), ti(TypeQ6_K, 4096, 1024),
			ti(TypeF32, 4096), ti(TypeF32, 4096),
		}, "Q4_K"},
		{"only embeddings", []TensorInfo{
			named("token_embd.weight", TypeQ8_0, 64, 100), named("output.weight", TypeQ6_K, 256, 100), ti(TypeF32, 64),
		}, "Q6_K"},
		{"norms do not count", []TensorInfo{ti(TypeF32, 1<<20), ti(TypeQ8_0, 32, 32)}, "Q8_0"},
		{"only 1-d tensors", []TensorInfo{ti(TypeF32, 8), ti(TypeF16, 4)}, "F32"},
		{"by elements, not tensors", []TensorInfo{ti(TypeF16, 8, 8), ti(TypeF16, 8, 8), ti(TypeBF16, 64, 64)}, "BF16"},
		{"tie goes to lower id", []TensorInfo{ti(TypeQ8_0, 32, 2), ti(TypeQ4_0, 32, 2)}, "Q4_0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := InferQuantization(tt.tensors); got != tt.want {
				t.Errorf("InferQuantization = %q, want %q", got, tt.want)
			}
			f := &File{Tensors: tt.tensors}
			fc := f.Facts()
			if fc.Quantization != tt.want || fc.FileType != nil {
				t.Errorf("Facts: Quantization %q, FileType %v; want %q, nil", fc.Quantization, fc.FileType, tt.want)
			}
		})
	}
}

func TestFacts(t *testing.T) {
	arr := func(t ValueType, v any) Value { return Value{Type: TypeArray, ArrayType: t, V: v} }
	f := &File{
		Version: 3,
		Metadata: []KV{
			{"general.architecture", strv("qwen2")},
			{"general.name", strv("Tiny")},
			{"general.license", strv("apache-2.0")},
			{"general.base_model.count", u32v(1)},
			{"general.base_model.0.name", strv("Parent")},
			{"general.tags", arr(TypeString, []string{"a", "b"})},
			{"general.bad_float", Value{Type: TypeFloat32, V: float32(math.NaN())}},
			{"qwen2.context_length", Value{Type: TypeUint64, V: uint64(32768)}},
			{"qwen2.embedding_length", u32v(896)},
			{"qwen2.block_count", u32v(24)},
			{"qwen2.feed_forward_length", arr(TypeInt32, []int32{4864, 9000, 100})},
			{"qwen2.attention.head_count", u32v(14)},
			{"qwen2.vocab_size", u32v(151936)},
			{"tokenizer.ggml.tokens", arr(TypeString, []string{"x"})},
			{"tokenizer.ggml.model", strv("gpt2")},
			{"tokenizer.ggml.pre", strv("qwen2")},
			{"tokenizer.chat_template.tool_use", strv("{{ x }}")},
		},
		Tensors: []TensorInfo{
			{Name: "a", Dims: []uint64{896, 10}, Type: TypeQ8_0},
			{Name: "b", Dims: []uint64{896}, Type: TypeF32},
		},
	}
	want := Facts{
		Version:           3,
		Architecture:      "qwen2",
		ParameterCount:    896*10 + 896,
		TensorCount:       2,
		TensorTypes:       map[string]int{"Q8_0": 1, "F32": 1},
		Quantization:      "Q8_0",
		ContextLength:     32768,
		EmbeddingLength:   896,
		BlockCount:        24,
		FeedForwardLength: 9000, // largest per-layer value
		HeadCount:         14,
		HeadCountKV:       14, // defaults to head_count
		VocabSize:         151936,
		TokenizerModel:    "gpt2",
		TokenizerPre:      "qwen2",
		HasChatTemplate:   true,
		General: map[string]any{
			"architecture":      "qwen2",
			"name":              "Tiny",
			"license":           "apache-2.0",
			"base_model.count":  uint32(1),
			"base_model.0.name": "Parent",
			"tags":              []any{"a", "b"},
			"bad_float":         "NaN",
		},
	}
	got := f.Facts()
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Facts (-want +got):\n%s", diff)
	}
	if _, err := json.Marshal(got); err != nil {
		t.Errorf("json.Marshal(Facts): %v", err)
	}

	// Without vocab_size the token list counts; an empty template does not.
	f2 := &File{Metadata: []KV{
		{"general.architecture", strv("llama")},
		{"tokenizer.ggml.tokens", arr(TypeString, []string{"a", "b", "c"})},
		{"tokenizer.chat_template", strv("")},
		{"llama.attention.head_count", u32v(8)},
		{"llama.attention.head_count_kv", u32v(2)},
	}}
	fc := f2.Facts()
	if fc.VocabSize != 3 || fc.HasChatTemplate || fc.HeadCountKV != 2 {
		t.Errorf("Facts: vocab %d, chat template %v, head_count_kv %d; want 3, false, 2", fc.VocabSize, fc.HasChatTemplate, fc.HeadCountKV)
	}
}

func TestFactsJSONNames(t *testing.T) {
	ft := uint32(15)
	b, err := json.Marshal(Facts{FileType: &ft, TokenizerModel: "llama"})
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	want := []string{
		"architecture", "block_count", "context_length", "embedding_length", "feed_forward_length",
		"file_type", "has_chat_template", "head_count", "head_count_kv", "parameter_count",
		"quantization", "tensor_count", "tensor_types", "tokenizer_model", "version", "vocab_size",
	}
	if diff := cmp.Diff(want, keys, cmpSortStrings); diff != "" {
		t.Errorf("JSON keys (-want +got):\n%s", diff)
	}
}

var cmpSortStrings = cmp.Transformer("sort", func(in []string) []string {
	out := append([]string(nil), in...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
})

func TestMetadataSummary(t *testing.T) {
	arr := func(t ValueType, v any) Value { return Value{Type: TypeArray, ArrayType: t, V: v} }
	f := &File{Metadata: []KV{
		{"s", strv("x")},
		{"n", u32v(7)},
		{"inf", Value{Type: TypeFloat64, V: math.Inf(1)}},
		{"bytes", arr(TypeUint8, []uint8{1, 2})},
		{"long", arr(TypeString, []string{"a", "b", "c", "d"})},
		{"floats", arr(TypeFloat32, []float32{0.5, float32(math.Inf(-1))})},
		{"nested", arr(TypeArray, []any{arr(TypeInt8, []int8{-1}), arr(TypeUint16, []uint16{1, 2, 3, 4, 5})})},
	}}
	want := map[string]any{
		"s":      "x",
		"n":      uint32(7),
		"inf":    "+Inf",
		"bytes":  []any{uint8(1), uint8(2)},
		"long":   map[string]any{"type": "array", "element_type": "string", "length": 4},
		"floats": []any{float32(0.5), "-Inf"},
		"nested": []any{[]any{int8(-1)}, map[string]any{"type": "array", "element_type": "uint16", "length": 5}},
	}
	if diff := cmp.Diff(want, f.MetadataSummary(3)); diff != "" {
		t.Errorf("MetadataSummary(3) (-want +got):\n%s", diff)
	}
	all := f.MetadataSummary(-1)
	if got := all["long"]; !cmp.Equal(got, []any{"a", "b", "c", "d"}) {
		t.Errorf("MetadataSummary(-1)[long] = %v, want the whole array", got)
	}
	b, err := json.Marshal(all)
	if err != nil {
		t.Fatalf("json.Marshal: %v", err)
	}
	var back map[string]any
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if got := back["bytes"]; !cmp.Equal(got, []any{1.0, 2.0}) {
		t.Errorf("uint8 array in JSON = %v, want numbers (not base64)", got)
	}
}

func TestAccessors(t *testing.T) {
	f := &File{Metadata: []KV{
		{"neg", Value{Type: TypeInt32, V: int32(-4)}},
		{"i8", Value{Type: TypeInt8, V: int8(5)}},
		{"big", Value{Type: TypeUint64, V: uint64(math.MaxUint64)}},
		{"f", Value{Type: TypeFloat32, V: float32(0.5)}},
		{"b", Value{Type: TypeBool, V: true}},
		{"s", strv("x")},
	}}
	if _, ok := f.Uint("neg"); ok {
		t.Error("Uint(neg) succeeded for a negative value")
	}
	if got, ok := f.Int("neg"); !ok || got != -4 {
		t.Errorf("Int(neg) = %d, %v", got, ok)
	}
	if got, ok := f.Uint("i8"); !ok || got != 5 {
		t.Errorf("Uint(i8) = %d, %v", got, ok)
	}
	if _, ok := f.Int("big"); ok {
		t.Error("Int(big) succeeded for a value over MaxInt64")
	}
	if got, ok := f.Uint("big"); !ok || got != math.MaxUint64 {
		t.Errorf("Uint(big) = %d, %v", got, ok)
	}
	if got, ok := f.Float("f"); !ok || got != 0.5 {
		t.Errorf("Float(f) = %v, %v", got, ok)
	}
	if _, ok := f.Float("s"); ok {
		t.Error("Float(s) succeeded for a string")
	}
	if got, ok := f.Bool("b"); !ok || !got {
		t.Errorf("Bool(b) = %v, %v", got, ok)
	}
	if _, ok := f.Uint("s"); ok {
		t.Error("Uint(s) succeeded for a string")
	}
	if _, ok := f.Strings("s"); ok {
		t.Error("Strings(s) succeeded for a scalar")
	}
	if _, ok := f.Get("missing"); ok {
		t.Error("Get(missing) succeeded")
	}
}
