package modelinfo

import (
	"bytes"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"sov.dev/sov/internal/filetype"
	"sov.dev/sov/internal/gguf"
	"sov.dev/sov/internal/manifest"
	"sov.dev/sov/internal/safetensors"
	"sov.dev/sov/internal/synth"
)

func describe(t *testing.T, path string, b []byte) File {
	t.Helper()
	f, err := Describe(bytes.NewReader(b), int64(len(b)), path)
	if err != nil {
		t.Fatalf("Describe(%s): %v", path, err)
	}
	return f
}

func tinyGGUF(t *testing.T, extra ...gguf.KV) []byte {
	t.Helper()
	spec := synth.TinyLlamaGGUF(1)
	for _, kv := range extra {
		replaced := false
		for i := range spec.Metadata {
			if spec.Metadata[i].Key == kv.Key {
				spec.Metadata[i], replaced = kv, true
			}
		}
		if !replaced {
			spec.Metadata = append(spec.Metadata, kv)
		}
	}
	var buf bytes.Buffer
	if err := synth.WriteGGUF(&buf, spec); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func safetensorsBytes(t *testing.T, tensors ...synth.STensorSpec) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := synth.WriteSafetensors(&buf, synth.SafetensorsSpec{Seed: 1, Tensors: tensors}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestDescribeGGUF(t *testing.T) {
	b := tinyGGUF(t, gguf.KV{Key: "general.license", Value: gguf.Value{Type: gguf.TypeString, V: "llama3.2"}},
		gguf.KV{Key: "general.base_model.count", Value: gguf.Value{Type: gguf.TypeUint32, V: uint32(1)}},
		gguf.KV{Key: "general.base_model.0.name", Value: gguf.Value{Type: gguf.TypeString, V: "Llama 3.2 1B"}},
		gguf.KV{Key: "general.base_model.0.repo_url", Value: gguf.Value{Type: gguf.TypeString, V: "https://huggingface.co/meta-llama/Llama-3.2-1B"}},
	)
	f := describe(t, "weights.bin", b)
	if f.Kind != filetype.KindGGUF || f.MediaType != manifest.MediaTypeWeight || f.GGUF == nil {
		t.Fatalf("Describe = kind %s media %s gguf %v", f.Kind, f.MediaType, f.GGUF != nil)
	}
	if len(f.GGUF.Tensors) != f.GGUF.TensorCount || f.GGUF.Metadata["general.architecture"] != "llama" {
		t.Errorf("tensor table %d rows for %d tensors; metadata architecture %v", len(f.GGUF.Tensors), f.GGUF.TensorCount, f.GGUF.Metadata["general.architecture"])
	}
	// Vocabularies are summarised, not copied.
	if tok, ok := f.GGUF.Metadata["tokenizer.ggml.tokens"].(map[string]any); !ok || tok["length"] == nil {
		t.Errorf("tokenizer.ggml.tokens = %T %v, want a summary", f.GGUF.Metadata["tokenizer.ggml.tokens"], f.GGUF.Metadata["tokenizer.ggml.tokens"])
	}
	s := Summarize([]File{f})
	if s.Format != "gguf" || s.Architecture != "llama" || s.ParameterCount != f.GGUF.ParameterCount || !s.HasChatTemplate {
		t.Errorf("summary = %+v", s)
	}
	if diff := cmp.Diff([]string{"llama3.2"}, s.Licenses); diff != "" {
		t.Errorf("licenses (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"https://huggingface.co/meta-llama/Llama-3.2-1B"}, s.BaseModels); diff != "" {
		t.Errorf("base models (-want +got):\n%s", diff)
	}
	cfg := s.ModelPackConfig()
	if cfg.Config.Format != "gguf" || cfg.Config.Architecture != "llama" || cfg.Config.ParamSize == "" {
		t.Errorf("ModelPack config = %+v", cfg.Config)
	}
}

func TestDescribeRejectsCorruptWeights(t *testing.T) {
	good := tinyGGUF(t)
	st := safetensorsBytes(t, synth.STensorSpec{Name: "w", DType: safetensors.F32, Shape: []uint64{4}})
	for name, b := range map[string][]byte{
		"truncated gguf":        good[:len(good)/2],
		"truncated safetensors": st[:len(st)-1],
		"bad index":             []byte(`{"metadata":{},"weight_map":{"a":"/etc/passwd"}}`),
	} {
		if _, err := Describe(bytes.NewReader(b), int64(len(b)), "x"); err == nil {
			t.Errorf("%s: Describe succeeded", name)
		}
	}
}

func TestSummarizeShardedSafetensors(t *testing.T) {
	shard1 := safetensorsBytes(t, synth.STensorSpec{Name: "a", DType: safetensors.BF16, Shape: []uint64{8, 8}})
	shard2 := safetensorsBytes(t, synth.STensorSpec{Name: "b", DType: safetensors.BF16, Shape: []uint64{8, 4}},
		synth.STensorSpec{Name: "norm", DType: safetensors.F32, Shape: []uint64{4}})
	index := []byte(`{"metadata":{"total_size":208},"weight_map":{"a":"model-1.safetensors","b":"model-2.safetensors","norm":"model-2.safetensors","c":"model-3.safetensors"}}`)
	files := []File{
		describe(t, "model-1.safetensors", shard1),
		describe(t, "model-2.safetensors", shard2),
		describe(t, "model.safetensors.index.json", index),
		describe(t, "config.json", []byte(`{"model_type":"qwen2","architectures":["Qwen2ForCausalLM"],"max_position_embeddings":32768,"num_attention_heads":14,"num_key_value_heads":2}`)),
		describe(t, "README.md", []byte("---\nlicense: other\nlicense_name: qwen-research\nbase_model: [Qwen/Qwen2.5-0.5B]\n---\n")),
		describe(t, "generation_config.json", []byte(`{"eos_token_id": [1, 2]}`)),
	}
	s := Summarize(files)
	want := Summary{
		Format: "safetensors", Architecture: "qwen2", ParameterCount: 64 + 32 + 4, Precision: "bf16",
		ContextLength: 32768, HeadCount: 14, HeadCountKV: 2,
		Licenses: []string{"qwen-research"}, BaseModels: []string{"Qwen/Qwen2.5-0.5B"},
	}
	if s.Format != want.Format || s.Architecture != want.Architecture || s.ParameterCount != want.ParameterCount ||
		s.Precision != want.Precision || s.ContextLength != want.ContextLength || s.HeadCountKV != want.HeadCountKV {
		t.Errorf("summary = %+v, want %+v", s, want)
	}
	if diff := cmp.Diff(want.Licenses, s.Licenses); diff != "" {
		t.Errorf("licenses (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want.BaseModels, s.BaseModels); diff != "" {
		t.Errorf("base models (-want +got):\n%s", diff)
	}
	warned := strings.Join(s.Warnings, "\n")
	if !strings.Contains(warned, "model-3.safetensors is not part of the model") || !strings.Contains(warned, "lists 4 tensors, the shards hold 3") {
		t.Errorf("warnings = %q", warned)
	}
}

func TestAuxiliaryFileProblemsAreWarnings(t *testing.T) {
	f := describe(t, "README.md", []byte("---\nlicense: [unclosed\n---\n"))
	if f.Kind != filetype.KindModelCard || f.Warning == "" {
		t.Errorf("malformed card: kind %s warning %q", f.Kind, f.Warning)
	}
	s := Summarize([]File{f})
	if len(s.Warnings) != 1 || !strings.HasPrefix(s.Warnings[0], "README.md: ") {
		t.Errorf("warnings = %q", s.Warnings)
	}
}

func TestPrecision(t *testing.T) {
	tests := []struct {
		in   map[string]uint64
		want string
	}{
		{map[string]uint64{"BF16": 100}, "bf16"},
		{map[string]uint64{"F16": 95, "F32": 5}, "fp16"},
		{map[string]uint64{"F16": 50, "F32": 50}, "mixed"},
		{map[string]uint64{"I8": 10}, "i8"},
		{nil, ""},
	}
	for _, tt := range tests {
		if got := precision(tt.in); got != tt.want {
			t.Errorf("precision(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestParamSize(t *testing.T) {
	for n, want := range map[uint64]string{0: "", 999: "999", 135_000_000: "135.0m", 1_235_814_400: "1.2b", 7e12: "7.0t"} {
		if got := paramSize(n); got != want {
			t.Errorf("paramSize(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestMediaTypes(t *testing.T) {
	for k, want := range map[filetype.Kind]string{
		filetype.KindSafetensors:      manifest.MediaTypeWeight,
		filetype.KindPickle:           manifest.MediaTypeWeight,
		filetype.KindBinary:           manifest.MediaTypeWeight,
		filetype.KindHFTokenizer:      manifest.MediaTypeWeightConfig,
		filetype.KindSafetensorsIndex: manifest.MediaTypeWeightConfig,
		filetype.KindJSON:             manifest.MediaTypeWeightConfig,
		filetype.KindLicense:          manifest.MediaTypeDoc,
		filetype.KindPython:           manifest.MediaTypeCode,
	} {
		if got := MediaType(k); got != want {
			t.Errorf("MediaType(%s) = %s, want %s", k, got, want)
		}
	}
}
