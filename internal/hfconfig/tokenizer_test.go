package hfconfig

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"
)

const (
	bpeTokenizer = `{
  "version": "1.0",
  "truncation": null,
  "padding": null,
  "added_tokens": [
    {"id": 128000, "content": "<|begin_of_text|>", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true},
    {"id": 128001, "content": "<|end_of_text|>", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true}
  ],
  "normalizer": null,
  "pre_tokenizer": {
    "type": "Sequence",
    "pretokenizers": [
      {"type": "Split", "pattern": {"Regex": "(?i:'s|'t)|\\p{L}+"}, "behavior": "Isolated", "invert": false},
      {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": false}
    ]
  },
  "post_processor": {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": false, "use_regex": true},
  "decoder": {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true},
  "model": {
    "type": "BPE",
    "dropout": null,
    "unk_token": null,
    "continuing_subword_prefix": null,
    "end_of_word_suffix": null,
    "fuse_unk": false,
    "byte_fallback": false,
    "ignore_merges": true,
    "vocab": {"!": 0, "\"": 1, "#": 2, "Ġt": 3, "he": 4},
    "merges": [["Ġ", "t"], ["h", "e"]]
  }
}`

	unigramTokenizer = `{
  "version": "1.0",
  "added_tokens": [{"id": 0, "content": "<pad>", "special": true}],
  "pre_tokenizer": {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": true},
  "model": {"type": "Unigram", "unk_id": 2, "vocab": [["<pad>", 0.0], ["</s>", 0.0], ["<unk>", 0.0], ["▁", -2.0], ["s", -3.5]], "byte_fallback": false}
}`

	wordPieceTokenizer = `{
  "added_tokens": [{"id": 0, "content": "[PAD]"}, {"id": 100, "content": "[UNK]"}, {"id": 101, "content": "[CLS]"}],
  "normalizer": {"type": "BertNormalizer", "clean_text": true, "lowercase": true},
  "pre_tokenizer": {"type": "BertPreTokenizer"},
  "model": {"unk_token": "[UNK]", "continuing_subword_prefix": "##", "max_input_chars_per_word": 100,
    "vocab": {"[PAD]": 0, "[UNK]": 100, "the": 1996, "##s": 2015}}
}`
)

func TestParseTokenizer(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Tokenizer
	}{
		{"byte-level BPE", bpeTokenizer, Tokenizer{Model: "BPE", VocabSize: 5, Merges: 2, AddedTokens: 2,
			PreTokenizer: "Sequence(Split, ByteLevel)"}},
		{"unigram", unigramTokenizer, Tokenizer{Model: "Unigram", VocabSize: 5, AddedTokens: 1, PreTokenizer: "Metaspace"}},
		{"wordpiece without type", wordPieceTokenizer, Tokenizer{Model: "WordPiece", VocabSize: 4, AddedTokens: 3,
			PreTokenizer: "BertPreTokenizer"}},
		{"bpe without type", `{"model": {"vocab": {"a": 0}, "merges": ["a b"]}}`, Tokenizer{Model: "BPE", VocabSize: 1, Merges: 1}},
		{"unigram without type", `{"model": {"vocab": [["a", -1]]}}`, Tokenizer{Model: "Unigram", VocabSize: 1}},
		{"wordlevel without type", `{"model": {"vocab": {"a": 0}, "unk_token": "a"}}`, Tokenizer{Model: "WordLevel", VocabSize: 1}},
		{"nulls", `{"added_tokens": null, "pre_tokenizer": null, "model": null}`, Tokenizer{}},
		{"escaped keys", `{"mod\u0065l": {"type": "B\u0050E", "vocab": {"\ud83d\ude00": 0, "\"": 1}}}`, Tokenizer{Model: "BPE", VocabSize: 2}},
		{"pre_tokenizer type with pair", `{"pre_tokenizer": {"type": "X\ud83d\ude00"}}`, Tokenizer{PreTokenizer: "X😀"}},
		{"empty", ` {} `, Tokenizer{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// OneByteReader makes the decoder refill at every byte.
			got, err := ParseTokenizer(iotest.OneByteReader(strings.NewReader(tt.in)))
			if err != nil {
				t.Fatalf("ParseTokenizer: %v", err)
			}
			if diff := cmp.Diff(tt.want, *got); diff != "" {
				t.Errorf("mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// bigTokenizer streams a BPE tokenizer.json with n vocabulary entries and n
// merges without building it in memory.
func bigTokenizer(n int) io.Reader {
	pr, pipe := io.Pipe()
	go func() {
		pw := bufio.NewWriterSize(pipe, 64<<10)
		fmt.Fprint(pw, `{"added_tokens": [], "model": {"type": "BPE", "vocab": {`)
		for i := range n {
			if i > 0 {
				fmt.Fprint(pw, ",")
			}
			fmt.Fprintf(pw, `"tok%d": %d`, i, i)
		}
		fmt.Fprint(pw, `}, "merges": [`)
		for i := range n {
			if i > 0 {
				fmt.Fprint(pw, ",")
			}
			fmt.Fprintf(pw, `["t%d", "k%d"]`, i, i)
		}
		fmt.Fprint(pw, `]}}`)
		pipe.CloseWithError(pw.Flush())
	}()
	return pr
}

func TestParseTokenizerLarge(t *testing.T) {
	got, err := ParseTokenizer(bigTokenizer(150_000))
	if err != nil {
		t.Fatal(err)
	}
	want := Tokenizer{Model: "BPE", VocabSize: 150_000, Merges: 150_000}
	if diff := cmp.Diff(want, *got); diff != "" {
		t.Errorf("mismatch (-want +got):\n%s", diff)
	}
}

func TestParseTokenizerTooLarge(t *testing.T) {
	_, err := parseTokenizer(bigTokenizer(1000), 4096)
	checkError(t, err, "", -1, "more than the 4096 bytes allowed")
}

func TestParseTokenizerErrors(t *testing.T) {
	tests := []struct {
		name      string
		in        string
		wantField string
		wantText  string
	}{
		{"array", `[]`, "", "want a JSON object"},
		{"string", `"x"`, "", "want a JSON object"},
		{"empty input", ``, "", "unexpected end"},
		{"truncated", `{"model": {"vocab": {"a": 1`, "", "unexpected end"},
		{"truncated before type", `{"model": {"type": `, "", "unexpected end"},
		{"bad number", `{"a": 01}`, "", "invalid JSON"},
		{"bad number 2", `{"a": -}`, "", "malformed number"},
		{"bad exponent", `{"a": 1e}`, "", "malformed number"},
		{"bad literal", `{"a": tru}`, "", "bad literal"},
		{"bad escape", `{"a": "\x"}`, "", "bad escape"},
		{"bad unicode escape", `{"a": "\u12G4"}`, "", `bad \u escape`},
		{"control in string", "{\"a\": \"x\ny\"}", "", "control character"},
		{"missing colon", `{"a" 1}`, "", "want ':'"},
		{"missing comma", `{"a": 1 "b": 2}`, "", "want ',' or '}'"},
		{"array missing comma", `{"a": [1 2]}`, "", "want ',' or ']'"},
		{"key not string", `{1: 2}`, "", "want an object key"},
		{"syntax", `{"model": {"vocab": {"a" 1}}}`, "", "invalid JSON"},
		{"trailing data", `{} {}`, "", "data after"},
		{"model string", `{"model": "BPE"}`, "model", "want an object"},
		{"type number", `{"model": {"type": 1}}`, "model.type", "want a string, got number"},
		{"vocab string", `{"model": {"vocab": "a"}}`, "model.vocab", "want an array or object"},
		{"added tokens number", `{"added_tokens": 3}`, "added_tokens", "want an array or object"},
		{"pre_tokenizer list", `{"pre_tokenizer": []}`, "pre_tokenizer", "want an object"},
		{"pretokenizers object", `{"pre_tokenizer": {"type": "Sequence", "pretokenizers": {}}}`, "pre_tokenizer.pretokenizers", "want an array"},
		{"member type", `{"pre_tokenizer": {"pretokenizers": [{"type": false}]}}`, "pre_tokenizer.pretokenizers[0].type", "want a string, got boolean"},
		{"too deep", `{"x": ` + strings.Repeat("[", 300) + strings.Repeat("]", 300) + `}`, "", "nests deeper"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseTokenizer(strings.NewReader(tt.in))
			checkError(t, err, tt.wantField, -1, tt.wantText)
		})
	}
}

func TestParseTokenizerReaderError(t *testing.T) {
	boom := errors.New("disk on fire")
	r := io.MultiReader(strings.NewReader(`{"model": {"vocab": {`), iotest.ErrReader(boom))
	_, err := ParseTokenizer(r)
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want it to wrap %v", err, boom)
	}
	var e *Error
	if errors.As(err, &e) {
		t.Errorf("reader failure reported as content error %v", e)
	}
}

func BenchmarkParseTokenizer(b *testing.B) {
	data, err := io.ReadAll(bigTokenizer(150_000))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := ParseTokenizer(bytes.NewReader(data)); err != nil {
			b.Fatal(err)
		}
	}
}
