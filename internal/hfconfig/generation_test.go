package hfconfig

import (
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const (
	llamaGeneration = `{
  "bos_token_id": 128000,
  "do_sample": true,
  "eos_token_id": [128001, 128008, 128009],
  "temperature": 0.6,
  "top_p": 0.9,
  "transformers_version": "4.42.3"
}`

	qwenGeneration = `{
  "bos_token_id": 151643,
  "pad_token_id": 151643,
  "do_sample": true,
  "eos_token_id": [151645, 151643],
  "repetition_penalty": 1.05,
  "temperature": 0.7,
  "top_p": 0.8,
  "top_k": 20,
  "transformers_version": "4.37.0"
}`

	fromModelGeneration = `{"_from_model_config": true, "bos_token_id": 1, "eos_token_id": 2,
  "max_length": 4096, "max_new_tokens": 512, "num_beams": 1, "top_k": 0, "min_p": 0.05,
  "transformers_version": "4.31.0.dev0"}`
)

func ptr[T any](v T) *T { return &v }

func TestParseGenerationConfig(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want GenerationConfig
	}{
		{"llama 3.1", llamaGeneration, GenerationConfig{
			BosTokenID: []int64{128000}, EosTokenID: []int64{128001, 128008, 128009},
			DoSample: ptr(true), Temperature: ptr(0.6), TopP: ptr(0.9), TransformersVersion: "4.42.3",
		}},
		{"qwen2.5", qwenGeneration, GenerationConfig{
			BosTokenID: []int64{151643}, PadTokenID: []int64{151643}, EosTokenID: []int64{151645, 151643},
			DoSample: ptr(true), RepetitionPenalty: ptr(1.05), Temperature: ptr(0.7), TopP: ptr(0.8),
			TopK: ptr(int64(20)), TransformersVersion: "4.37.0",
		}},
		{"from model config", fromModelGeneration, GenerationConfig{
			FromModelConfig: true, BosTokenID: []int64{1}, EosTokenID: []int64{2}, MaxLength: 4096,
			MaxNewTokens: 512, NumBeams: 1, TopK: ptr(int64(0)), MinP: ptr(0.05), TransformersVersion: "4.31.0.dev0",
		}},
		{"temperature zero is kept", `{"temperature": 0, "do_sample": false}`, GenerationConfig{
			Temperature: ptr(0.0), DoSample: ptr(false),
		}},
		{"nulls", `{"pad_token_id": null, "temperature": null, "top_k": null}`, GenerationConfig{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseGenerationConfig([]byte(tt.in))
			if err != nil {
				t.Fatalf("ParseGenerationConfig: %v", err)
			}
			if diff := cmp.Diff(tt.want, *got); diff != "" {
				t.Errorf("mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseGenerationConfigErrors(t *testing.T) {
	tests := []struct {
		name      string
		in        string
		wantField string
		wantText  string
	}{
		{"eos string in list", `{"eos_token_id": [2, "a"]}`, "eos_token_id[1]", `got string "a"`},
		{"eos object", `{"eos_token_id": {"id": 2}}`, "eos_token_id", "want an integer or an array of integers"},
		{"temperature string", `{"temperature": "0.7"}`, "temperature", "want a number"},
		{"top_k fraction", `{"top_k": 20.5}`, "top_k", "want an integer"},
		{"do_sample number", `{"do_sample": 1}`, "do_sample", "want true or false"},
		{"from model string", `{"_from_model_config": "yes"}`, "_from_model_config", "want true or false"},
		{"version number", `{"transformers_version": 4.4}`, "transformers_version", "want a string"},
		{"not an object", `"x"`, "", "want a JSON object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseGenerationConfig([]byte(tt.in))
			checkError(t, err, tt.wantField, -1, tt.wantText)
		})
	}
}

const (
	llama3TokenizerConfig = `{
  "added_tokens_decoder": {
    "128000": {"content": "<|begin_of_text|>", "lstrip": false, "normalized": false, "rstrip": false, "single_word": false, "special": true},
    "128001": {"content": "<|end_of_text|>", "lstrip": false, "normalized": false, "rstrip": false, "single_word": false, "special": true},
    "128009": {"content": "<|eot_id|>", "lstrip": false, "normalized": false, "rstrip": false, "single_word": false, "special": true}
  },
  "bos_token": "<|begin_of_text|>",
  "chat_template": "{{- bos_token }}{% for message in messages %}{{ message['content'] }}{% endfor %}",
  "clean_up_tokenization_spaces": true,
  "eos_token": "<|eot_id|>",
  "model_input_names": ["input_ids", "attention_mask"],
  "model_max_length": 131072,
  "tokenizer_class": "PreTrainedTokenizerFast"
}`

	mistralTokenizerConfig = `{
  "add_bos_token": true,
  "add_eos_token": false,
  "bos_token": {"__type": "AddedToken", "content": "<s>", "lstrip": false, "normalized": false, "rstrip": false, "single_word": false},
  "eos_token": {"__type": "AddedToken", "content": "</s>", "lstrip": false, "normalized": false, "rstrip": false, "single_word": false},
  "unk_token": {"__type": "AddedToken", "content": "<unk>", "lstrip": false, "normalized": false, "rstrip": false, "single_word": false},
  "pad_token": null,
  "legacy": false,
  "model_max_length": 1000000000000000019884624838656,
  "sp_model_kwargs": {},
  "tokenizer_class": "LlamaTokenizer"
}`

	namedTemplatesConfig = `{
  "chat_template": [
    {"name": "default", "template": "{{ messages }}"},
    {"name": "tool_use", "template": "{{ tools }}"}
  ],
  "tokenizer_class": "CohereTokenizer"
}`
)

func TestParseTokenizerConfig(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want TokenizerConfig
	}{
		{"llama 3", llama3TokenizerConfig, TokenizerConfig{
			TokenizerClass: "PreTrainedTokenizerFast", HasChatTemplate: true,
			ChatTemplate: "{{- bos_token }}{% for message in messages %}{{ message['content'] }}{% endfor %}",
			BosToken:     "<|begin_of_text|>", EosToken: "<|eot_id|>", ModelMaxLength: 131072, AddedTokens: 3,
		}},
		{"mistral added-token objects", mistralTokenizerConfig, TokenizerConfig{
			TokenizerClass: "LlamaTokenizer", BosToken: "<s>", EosToken: "</s>", UnkToken: "<unk>",
			ModelMaxLength: math.MaxInt64, AddBosToken: ptr(true), AddEosToken: ptr(false),
		}},
		{"named templates", namedTemplatesConfig, TokenizerConfig{
			TokenizerClass: "CohereTokenizer", HasChatTemplate: true, ChatTemplate: "{{ messages }}",
			ChatTemplateNames: []string{"default", "tool_use"},
		}},
		{"empty template", `{"chat_template": ""}`, TokenizerConfig{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseTokenizerConfig([]byte(tt.in))
			if err != nil {
				t.Fatalf("ParseTokenizerConfig: %v", err)
			}
			if diff := cmp.Diff(tt.want, *got); diff != "" {
				t.Errorf("mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseTokenizerConfigErrors(t *testing.T) {
	tests := []struct {
		name      string
		in        string
		wantField string
		wantText  string
	}{
		{"bos number", `{"bos_token": 5}`, "bos_token", "want a string or a token object"},
		{"bos content number", `{"bos_token": {"content": 5}}`, "bos_token.content", "want a string"},
		{"template number", `{"chat_template": 5}`, "chat_template", "list of named templates"},
		{"template entry string", `{"chat_template": ["x"]}`, "chat_template[0]", "want an object"},
		{"template name number", `{"chat_template": [{"name": 1, "template": "x"}]}`, "chat_template[0].name", "want a string"},
		{"added tokens list", `{"added_tokens_decoder": []}`, "added_tokens_decoder", "want an object"},
		{"max length fraction", `{"model_max_length": 2048.5}`, "model_max_length", "want an integer"},
		{"add_bos string", `{"add_bos_token": "true"}`, "add_bos_token", "want true or false"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseTokenizerConfig([]byte(tt.in))
			checkError(t, err, tt.wantField, -1, tt.wantText)
		})
	}
}
