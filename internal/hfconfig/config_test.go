package hfconfig

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Config files written for these tests in the shapes real models publish.
const (
	llamaConfig = `{
  "architectures": ["LlamaForCausalLM"],
  "attention_bias": false,
  "bos_token_id": 128000,
  "eos_token_id": [128001, 128008, 128009],
  "hidden_act": "silu",
  "hidden_size": 4096,
  "initializer_range": 0.02,
  "intermediate_size": 14336,
  "max_position_embeddings": 131072,
  "model_type": "llama",
  "num_attention_heads": 32,
  "num_hidden_layers": 32,
  "num_key_value_heads": 8,
  "rms_norm_eps": 1e-05,
  "rope_scaling": {"factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
    "original_max_position_embeddings": 8192, "rope_type": "llama3"},
  "rope_theta": 500000.0,
  "tie_word_embeddings": false,
  "torch_dtype": "bfloat16",
  "transformers_version": "4.43.0.dev0",
  "use_cache": true,
  "vocab_size": 128256
}`

	qwenAWQConfig = `{
  "architectures": ["Qwen2ForCausalLM"],
  "model_type": "qwen2",
  "hidden_size": 3584,
  "intermediate_size": 18944,
  "num_attention_heads": 28,
  "num_hidden_layers": 28,
  "num_key_value_heads": 4,
  "max_position_embeddings": 32768,
  "rope_theta": 1000000.0,
  "sliding_window": null,
  "tie_word_embeddings": false,
  "torch_dtype": "float16",
  "vocab_size": 152064,
  "quantization_config": {"bits": 4, "group_size": 128, "modules_to_not_convert": null,
    "quant_method": "awq", "version": "gemm", "zero_point": true}
}`

	gemma3Config = `{
  "architectures": ["Gemma3ForConditionalGeneration"],
  "model_type": "gemma3",
  "boi_token_index": 255999,
  "text_config": {
    "model_type": "gemma3_text",
    "hidden_size": 2560,
    "intermediate_size": 10240,
    "num_attention_heads": 8,
    "num_hidden_layers": 34,
    "num_key_value_heads": 4,
    "rope_theta": 1000000.0,
    "sliding_window": 1024,
    "vocab_size": 262208
  },
  "torch_dtype": "bfloat16",
  "vision_config": {"hidden_size": 1152, "num_hidden_layers": 27, "model_type": "siglip_vision_model"}
}`

	gpt2Config = `{
  "architectures": ["GPT2LMHeadModel"],
  "model_type": "gpt2",
  "n_ctx": 1024,
  "n_embd": 768,
  "n_head": 12,
  "n_inner": null,
  "n_layer": 12,
  "n_positions": 1024,
  "vocab_size": 50257
}`

	newStyleConfig = `{
  "architectures": "MistralForCausalLM",
  "model_type": "mistral",
  "dtype": "bfloat16",
  "hidden_size": 4096.0,
  "rope_parameters": {"rope_theta": 1000000.0, "rope_type": "default"},
  "tie_word_embeddings": true
}`
)

func boolPtr(b bool) *bool { return &b }

func TestParseConfig(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Config
	}{
		{"llama 3.1", llamaConfig, Config{
			Architectures: []string{"LlamaForCausalLM"}, ModelType: "llama",
			HiddenSize: 4096, NumHiddenLayers: 32, NumAttentionHeads: 32, NumKeyValueHeads: 8,
			IntermediateSize: 14336, VocabSize: 128256, MaxPositionEmbeddings: 131072,
			TorchDtype: "bfloat16", RopeTheta: 500000, TieWordEmbeddings: boolPtr(false),
		}},
		{"qwen2.5 awq", qwenAWQConfig, Config{
			Architectures: []string{"Qwen2ForCausalLM"}, ModelType: "qwen2",
			HiddenSize: 3584, NumHiddenLayers: 28, NumAttentionHeads: 28, NumKeyValueHeads: 4,
			IntermediateSize: 18944, VocabSize: 152064, MaxPositionEmbeddings: 32768,
			TorchDtype: "float16", RopeTheta: 1e6, TieWordEmbeddings: boolPtr(false),
			Quantization: map[string]any{"bits": 4.0, "group_size": 128.0, "modules_to_not_convert": nil,
				"quant_method": "awq", "version": "gemm", "zero_point": true},
		}},
		{"gemma 3 text_config", gemma3Config, Config{
			Architectures: []string{"Gemma3ForConditionalGeneration"}, ModelType: "gemma3",
			HiddenSize: 2560, NumHiddenLayers: 34, NumAttentionHeads: 8, NumKeyValueHeads: 4,
			IntermediateSize: 10240, VocabSize: 262208, TorchDtype: "bfloat16", RopeTheta: 1e6,
		}},
		{"gpt-2 aliases", gpt2Config, Config{
			Architectures: []string{"GPT2LMHeadModel"}, ModelType: "gpt2",
			HiddenSize: 768, NumHiddenLayers: 12, NumAttentionHeads: 12, VocabSize: 50257,
			MaxPositionEmbeddings: 1024,
		}},
		{"new-style dtype and rope_parameters", newStyleConfig, Config{
			Architectures: []string{"MistralForCausalLM"}, ModelType: "mistral", TorchDtype: "bfloat16",
			HiddenSize: 4096, RopeTheta: 1e6, TieWordEmbeddings: boolPtr(true),
		}},
		{"empty object", `{}`, Config{}},
		{"nulls", `{"architectures": null, "hidden_size": null, "torch_dtype": null, "text_config": null}`, Config{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseConfig([]byte(tt.in))
			if err != nil {
				t.Fatalf("ParseConfig: %v", err)
			}
			if diff := cmp.Diff(tt.want, *got); diff != "" {
				t.Errorf("mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// checkError checks that err is an *Error with the given field (or offset,
// when wantOffset >= 0) and text.
func checkError(t *testing.T, err error, wantField string, wantOffset int64, wantText string) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error = %v (%T), want *Error", err, err)
	}
	if e.Field != wantField {
		t.Errorf("Field = %q, want %q (%v)", e.Field, wantField, e)
	}
	if wantOffset >= 0 && e.Offset != wantOffset {
		t.Errorf("Offset = %d, want %d (%v)", e.Offset, wantOffset, e)
	}
	if !strings.Contains(e.Error(), wantText) {
		t.Errorf("error %q does not contain %q", e.Error(), wantText)
	}
}

func TestParseConfigErrors(t *testing.T) {
	tests := []struct {
		name       string
		in         string
		wantField  string
		wantOffset int64
		wantText   string
	}{
		{"string size", `{"hidden_size": "4096"}`, "hidden_size", -1, `want an integer, got string "4096"`},
		{"fractional size", `{"text_config": {"hidden_size": 1.5}}`, "text_config.hidden_size", -1, "got number 1.5"},
		{"size too big", `{"vocab_size": 1e30}`, "vocab_size", -1, "want an integer"},
		{"architectures number", `{"architectures": 5}`, "architectures", -1, "want a string or an array of strings"},
		{"architectures mixed", `{"architectures": ["A", 1]}`, "architectures", -1, "array of strings"},
		{"model_type list", `{"model_type": ["llama"]}`, "model_type", -1, "want a string, got array"},
		{"tie as string", `{"tie_word_embeddings": "false"}`, "tie_word_embeddings", -1, "want true or false"},
		{"quantization list", `{"quantization_config": []}`, "quantization_config", -1, "want an object"},
		{"text_config string", `{"text_config": "x"}`, "text_config", -1, "want an object"},
		{"rope_theta string", `{"rope_parameters": {"rope_theta": "1e6"}}`, "rope_parameters.rope_theta", -1, "want a number"},
		{"dtype number", `{"dtype": 16}`, "dtype", -1, "want a string"},
		{"syntax", `{"a": 1,}`, "", 9, "invalid JSON"},
		{"truncated", `{"a": 1`, "", -1, "invalid JSON"},
		{"array", `[1, 2]`, "", -1, "want a JSON object"},
		{"null", `null`, "", -1, "want a JSON object"},
		{"empty", ``, "", -1, "want a JSON object"},
		{"too deep", `{"a": ` + strings.Repeat("[", 200) + strings.Repeat("]", 200) + `}`, "", 133, "nests deeper"},
		{"too big", `{"a": "` + strings.Repeat("x", MaxConfigSize) + `"}`, "", -1, "more than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseConfig([]byte(tt.in))
			checkError(t, err, tt.wantField, tt.wantOffset, tt.wantText)
		})
	}
}

func TestInteger(t *testing.T) {
	tests := []struct {
		in     string
		clamp  bool
		want   int64
		wantOK bool
	}{
		{"42", false, 42, true},
		{"-7", false, -7, true},
		{"4096.0", false, 4096, true},
		{"1e3", false, 1000, true},
		{"1.5", false, 0, false},
		{`"1"`, false, 0, false},
		{"9223372036854775807", false, math.MaxInt64, true},
		{"9223372036854775808", false, math.MaxInt64, false},
		{"1000000000000000019884624838656", true, math.MaxInt64, true},
		{"-1e30", true, math.MinInt64, true},
		{"1e400", true, math.MaxInt64, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, ok := integer([]byte(tt.in), tt.clamp)
			if ok != tt.wantOK || ok && got != tt.want {
				t.Errorf("integer(%s, %v) = %d, %v; want %d, %v", tt.in, tt.clamp, got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestErrorString(t *testing.T) {
	tests := []struct {
		err  Error
		want string
	}{
		{Error{Field: "hidden_size", Offset: -1, Reason: "want an integer"}, "hidden_size: want an integer"},
		{Error{Offset: 12, Reason: "invalid JSON"}, "at byte 12: invalid JSON"},
		{Error{Offset: -1, Reason: "want a JSON object"}, "want a JSON object"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
}
