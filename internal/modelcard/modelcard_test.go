package modelcard

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// Cards written for these tests, in the shapes seen on the Hugging Face hub.
const (
	llamaFinetune = `---
license: llama3.1
base_model: meta-llama/Llama-3.1-8B-Instruct
base_model_relation: finetune
language:
- en
- de
pipeline_tag: text-generation
library_name: transformers
tags:
- llama
- facebook
- meta
- trl
- sft
datasets:
- HuggingFaceH4/ultrachat_200k
model-index:
- name: llama-3.1-8b-chat-sft
  results: []
---

# Llama 3.1 8B chat SFT

This model is a fine-tune of Llama 3.1.
`

	qwenQuant = "\ufeff---\r\n" +
		"license: apache-2.0\r\n" +
		"license_link: https://huggingface.co/Qwen/Qwen2.5-7B-Instruct/blob/main/LICENSE\r\n" +
		"language: [en, zh]\r\n" +
		"base_model: Qwen/Qwen2.5-7B-Instruct\r\n" +
		"base_model_relation: quantized\r\n" +
		"pipeline_tag: text-generation\r\n" +
		"tags: [chat, gguf, 4-bit]\r\n" +
		"---\r\n" +
		"# Qwen2.5-7B-Instruct GGUF\r\n"

	mistralAdapter = `---
license: other
license_name: mistral-research
license_link: LICENSE.md
base_model:
  - mistralai/Mistral-7B-v0.3
library_name: peft
tags: trl
inference: false
widget:
  - text: "Hello"
    output:
      text: "Bonjour"
---
`

	mergeCard = `---
base_model:
- NousResearch/Hermes-3-Llama-3.1-8B
- meta-llama/Llama-3.1-8B-Instruct
base_model_relation: merge
license: [llama3.1, apache-2.0]
language:
- no
- 'yes'
- 2024
tags:
- mergekit
- merge
- null
- ""
---
`
)

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Card
	}{
		{"llama fine-tune", llamaFinetune, Card{
			License: "llama3.1", Licenses: []string{"llama3.1"},
			BaseModel:         []string{"meta-llama/Llama-3.1-8B-Instruct"},
			BaseModelRelation: "finetune",
			Datasets:          []string{"HuggingFaceH4/ultrachat_200k"},
			Language:          []string{"en", "de"},
			Tags:              []string{"llama", "facebook", "meta", "trl", "sft"},
			PipelineTag:       "text-generation", LibraryName: "transformers",
		}},
		{"qwen quantized, BOM and CRLF", qwenQuant, Card{
			License: "apache-2.0", Licenses: []string{"apache-2.0"},
			LicenseLink:       "https://huggingface.co/Qwen/Qwen2.5-7B-Instruct/blob/main/LICENSE",
			BaseModel:         []string{"Qwen/Qwen2.5-7B-Instruct"},
			BaseModelRelation: "quantized",
			Language:          []string{"en", "zh"},
			Tags:              []string{"chat", "gguf", "4-bit"},
			PipelineTag:       "text-generation",
		}},
		{"mistral adapter", mistralAdapter, Card{
			License: "other", Licenses: []string{"other"},
			LicenseName: "mistral-research", LicenseLink: "LICENSE.md",
			BaseModel:   []string{"mistralai/Mistral-7B-v0.3"},
			LibraryName: "peft", Tags: []string{"trl"},
		}},
		{"merge with list licence and odd scalars", mergeCard, Card{
			License: "llama3.1", Licenses: []string{"llama3.1", "apache-2.0"},
			BaseModel:         []string{"NousResearch/Hermes-3-Llama-3.1-8B", "meta-llama/Llama-3.1-8B-Instruct"},
			BaseModelRelation: "merge",
			Language:          []string{"no", "yes", "2024"},
			Tags:              []string{"mergekit", "merge"},
		}},
		{"dot-dot-dot closes", "---\nlicense: mit\n...\nbody\n", Card{License: "mit", Licenses: []string{"mit"}}},
		{"null fields", "---\nlicense:\ntags: ~\nbase_model: null\n---\n", Card{}},
		{"numeric scalars as strings", "---\nlicense: 2.0\npipeline_tag: 12\n---\n", Card{License: "2.0", Licenses: []string{"2.0"}, PipelineTag: "12"}},
		{"anchors and aliases", "---\nbase_model: &b org/base\ntags: [*b, x]\n---\n", Card{BaseModel: []string{"org/base"}, Tags: []string{"org/base", "x"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !HasFrontMatter([]byte(tt.in)) {
				t.Errorf("HasFrontMatter = false")
			}
			got, err := Parse([]byte(tt.in))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if got.Raw == nil {
				t.Errorf("Raw is nil")
			}
			if diff := cmp.Diff(tt.want, *got, cmpopts.IgnoreFields(Card{}, "Raw")); diff != "" {
				t.Errorf("Parse mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseRaw(t *testing.T) {
	in := `---
license: mit
count: 3
big: 123456789012345678901234567890
ratio: 0.5
inf: .inf
ok: true
when: 2024-05-01
empty:
custom: !thing value
base: &base {a: 1, b: 2}
derived:
  <<: *base
  b: 3
nested:
  - {x: [1, 2]}
---
`
	got, err := Parse([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"license": "mit",
		"count":   int64(3),
		"big":     1.2345678901234568e+29,
		"ratio":   0.5,
		"inf":     ".inf",
		"ok":      true,
		"when":    "2024-05-01",
		"empty":   nil,
		"custom":  "value",
		"base":    map[string]any{"a": int64(1), "b": int64(2)},
		"derived": map[string]any{"a": int64(1), "b": int64(3)},
		"nested":  []any{map[string]any{"x": []any{int64(1), int64(2)}}},
	}
	if diff := cmp.Diff(want, got.Raw); diff != "" {
		t.Errorf("Raw mismatch (-want +got):\n%s", diff)
	}
}

func TestParseNoFrontMatter(t *testing.T) {
	for _, in := range []string{"", "# Title\n\n---\nlicense: mit\n---\n", "---", " ---\nlicense: mit\n---\n"} {
		t.Run(in, func(t *testing.T) {
			if HasFrontMatter([]byte(in)) {
				t.Errorf("HasFrontMatter = true")
			}
			got, err := Parse([]byte(in))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if diff := cmp.Diff(Card{}, *got); diff != "" {
				t.Errorf("want empty card, got diff:\n%s", diff)
			}
		})
	}
}

func TestParseEmptyFrontMatter(t *testing.T) {
	for _, in := range []string{"---\n---\n", "---\n\n# just a comment\n---\n# Title\n"} {
		got, err := Parse([]byte(in))
		if err != nil {
			t.Fatalf("Parse(%q): %v", in, err)
		}
		if got.Raw == nil || len(got.Raw) != 0 {
			t.Errorf("Parse(%q).Raw = %v, want empty map", in, got.Raw)
		}
	}
}

// billionLaughs builds an alias bomb with levels of ten-fold expansion.
func billionLaughs(levels int) string {
	var b strings.Builder
	b.WriteString("---\na0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n")
	for i := 1; i <= levels; i++ {
		prev := "*a" + string(rune('0'+i-1))
		b.WriteString("a" + string(rune('0'+i)) + ": &a" + string(rune('0'+i)) + " [")
		b.WriteString(strings.TrimSuffix(strings.Repeat(prev+", ", 10), ", "))
		b.WriteString("]\n")
	}
	b.WriteString("---\n")
	return b.String()
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name      string
		in        string
		wantLine  int
		wantField string
		wantText  string
	}{
		{"unclosed", "---\nlicense: mit\n# Title\n", 1, "", "no closing"},
		{"too large", "---\nx: " + strings.Repeat("a", MaxFrontMatter+10) + "\n---\n", 1, "", "larger than"},
		{"syntax", "---\nlicense: mit\ntags: [a, b\nfoo: bar\n---\n", 0, "", "invalid YAML"},
		{"bad indentation", "---\nlicense: mit\n  tags: x\n---\n", 3, "", "invalid YAML"},
		{"not a mapping", "---\n- a\n- b\n---\n", 2, "", "not a mapping"},
		{"scalar document", "---\nhello\n---\n", 2, "", "not a mapping"},
		{"licence as mapping", "---\ntags: [a]\nlicense:\n  name: mit\n---\n", 4, "license", "got a mapping"},
		{"pipeline tag as list", "---\npipeline_tag: [a, b]\n---\n", 2, "pipeline_tag", "expected a string"},
		{"nested list in tags", "---\ntags:\n- a\n- [b, c]\n---\n", 4, "tags", "found a list"},
		{"alias bomb", billionLaughs(6), 0, "", "more than"},
		{"recursive alias", "---\na: &a [x, *a]\n---\n", 0, "", "deeper than"},
		{"deep nesting", "---\na: " + strings.Repeat("[", 100) + strings.Repeat("]", 100) + "\n---\n", 0, "", "deeper than"},
		{"unknown anchor", "---\na: *nope\n---\n", 0, "", "unknown anchor"},
		{"mapping key", "---\n? [a, b]\n: c\n---\n", 2, "", "key is not a scalar"},
		{"bad merge", "---\na:\n  <<: [1]\n---\n", 0, "", "merge"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.in))
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Parse error = %v (%T), want *Error", err, err)
			}
			if !strings.Contains(e.Error(), tt.wantText) {
				t.Errorf("error %q does not contain %q", e.Error(), tt.wantText)
			}
			if tt.wantLine != 0 && e.Line != tt.wantLine {
				t.Errorf("Line = %d, want %d (%v)", e.Line, tt.wantLine, e)
			}
			if e.Field != tt.wantField {
				t.Errorf("Field = %q, want %q", e.Field, tt.wantField)
			}
		})
	}
}

func TestErrorString(t *testing.T) {
	tests := []struct {
		err  Error
		want string
	}{
		{Error{Line: 4, Field: "license", Reason: "expected a string"}, "model card line 4: license: expected a string"},
		{Error{Reason: "invalid YAML: x"}, "model card: invalid YAML: x"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
}
