package synth

import (
	"bytes"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sov.dev/sov/internal/gguf"
	"sov.dev/sov/internal/tokenizer"
)

// vocabTok writes kv into a GGUF file, parses it back and builds its
// tokenizer, so the metadata is checked by the writer, the reader and the
// tokenizer alike.
func vocabTok(t *testing.T, kv []gguf.KV) *tokenizer.Tokenizer {
	t.Helper()
	var buf bytes.Buffer
	if err := gguf.Write(&buf, 3, kv, nil, 0); err != nil {
		t.Fatalf("gguf.Write: %v", err)
	}
	f, err := gguf.Parse(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatalf("gguf.Parse: %v", err)
	}
	tok, err := tokenizer.FromGGUF(f)
	if err != nil {
		t.Fatalf("tokenizer.FromGGUF: %v", err)
	}
	return tok
}

func kvGet(kv []gguf.KV, key string) (gguf.Value, bool) {
	for _, e := range kv {
		if e.Key == key {
			return e.Value, true
		}
	}
	return gguf.Value{}, false
}

var vocabSamples = []string{
	"The children came to the library every day.",
	"  spaces,\ttabs and\nnew lines\n\n",
	"Numbers: 12,400 and 3.14159 and 2025.",
	"Ünïcödé, 日本語, emoji 🦙 and combining e\u0301.",
	"<|im_start|>user\nhi<|im_end|> <s>[INST] x [/INST]</s>",
	vocabText,
}

type vocabCase struct {
	name string
	kv   func(size int) []gguf.KV
	min  int
}

func vocabCases() []vocabCase {
	cs := []vocabCase{{"spm", LlamaSPMVocab, SPMMinSize}}
	for _, st := range BPEStyles() {
		cs = append(cs, vocabCase{st, func(size int) []gguf.KV { return BPEVocab(size, st) }, 256 + len(bpeStyles[st].specials)})
	}
	return cs
}

func TestVocabSizes(t *testing.T) {
	for _, c := range vocabCases() {
		for _, size := range []int{c.min, 300, 1000, 4096, 32000} {
			kv := c.kv(size)
			tok := vocabTok(t, kv)
			if tok.VocabSize() != size {
				t.Errorf("%s(%d): %d tokens", c.name, size, tok.VocabSize())
			}
			for _, key := range []string{"tokenizer.ggml.scores", "tokenizer.ggml.token_type"} {
				if v, ok := kvGet(kv, key); ok && v.Len() != size {
					t.Errorf("%s(%d): %s has %d entries", c.name, size, key, v.Len())
				}
			}
		}
	}
}

func TestVocabDeterministic(t *testing.T) {
	for _, c := range vocabCases() {
		a, b := c.kv(2000), c.kv(2000)
		if diff := cmp.Diff(a, b); diff != "" {
			t.Errorf("%s: two calls differ:\n%s", c.name, diff)
		}
	}
}

func TestVocabRoundTrip(t *testing.T) {
	for _, c := range vocabCases() {
		for _, size := range []int{c.min, 1000, 32000} {
			tok := vocabTok(t, c.kv(size))
			for _, s := range vocabSamples {
				for _, ps := range []bool{false, true} {
					ids, err := tok.Encode(s, tokenizer.EncodeOptions{ParseSpecial: ps})
					if err != nil {
						t.Fatal(err)
					}
					if got := tok.Decode(ids); got != s {
						t.Errorf("%s(%d) ParseSpecial %v: Decode(Encode(%.40q)) = %.40q", c.name, size, ps, s, got)
					}
				}
			}
		}
	}
}

// With room for them, common words of the text become single tokens, and
// the whole text compresses well.
func TestVocabCommonWords(t *testing.T) {
	for _, c := range vocabCases() {
		tok := vocabTok(t, c.kv(4096))
		for _, w := range []string{" the", " library", " people", " and"} {
			in := w
			if c.name == "spm" {
				in = strings.TrimPrefix(w, " ") // the space prefix supplies it
			}
			ids, err := tok.Encode(in, tokenizer.EncodeOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if len(ids) != 1 {
				t.Errorf("%s: %q encodes to %d tokens %v, want 1", c.name, in, len(ids), ids)
			}
		}
		ids, _ := tok.Encode(vocabText, tokenizer.EncodeOptions{})
		if ratio := float64(len(vocabText)) / float64(len(ids)); ratio < 2.5 {
			t.Errorf("%s: %.2f bytes per token on the training text, want at least 2.5", c.name, ratio)
		}
	}
}

func TestVocabSpecials(t *testing.T) {
	tests := []struct {
		name     string
		kv       []gguf.KV
		bos, eos string
		addBOS   bool
		eog      []string
		pre      string
	}{
		{"spm", LlamaSPMVocab(1000), "<s>", "</s>", true, []string{"</s>"}, "default"},
		{"llama3", BPEVocab(1000, "llama3"), "<|begin_of_text|>", "<|eot_id|>", true, []string{"<|eot_id|>", "<|end_of_text|>"}, "llama-bpe"},
		{"qwen2", BPEVocab(1000, "qwen2"), "<|endoftext|>", "<|im_end|>", false, []string{"<|im_end|>", "<|endoftext|>"}, "qwen2"},
		{"smollm", BPEVocab(1000, "smollm"), "<|im_start|>", "<|im_end|>", false, []string{"<|im_end|>", "<|endoftext|>"}, "smollm"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok := vocabTok(t, tt.kv)
			if got := tok.Token(tok.BOS()); got != tt.bos {
				t.Errorf("BOS = %q, want %q", got, tt.bos)
			}
			if got := tok.Token(tok.EOS()); got != tt.eos {
				t.Errorf("EOS = %q, want %q", got, tt.eos)
			}
			if tok.AddBOS() != tt.addBOS {
				t.Errorf("AddBOS = %v, want %v", tok.AddBOS(), tt.addBOS)
			}
			if tok.Pre() != tt.pre {
				t.Errorf("Pre = %q, want %q", tok.Pre(), tt.pre)
			}
			for _, s := range tt.eog {
				id, ok := tok.TokenID(s)
				if !ok || !tok.IsEOG(id) || !tok.IsSpecial(id) {
					t.Errorf("%s: present %v, IsEOG %v, IsSpecial %v; want all true", s, ok, tok.IsEOG(id), tok.IsSpecial(id))
				}
			}
			if tt.name != "spm" {
				// The special tokens are the last ids.
				last := tok.Token(int32(tok.VocabSize() - 1))
				if !strings.HasPrefix(last, "<|") {
					t.Errorf("last token %q is not a special token", last)
				}
			}
			tmpl, ok := kvGet(tt.kv, "tokenizer.chat_template")
			if s, _ := tmpl.V.(string); !ok || !strings.Contains(s, "messages") {
				t.Errorf("chat template missing or odd: %q", s)
			}
		})
	}
}

func TestVocabTooSmall(t *testing.T) {
	for _, f := range []func(){
		func() { LlamaSPMVocab(SPMMinSize - 1) },
		func() { BPEVocab(258, "llama3") },
		func() { BPEVocab(1000, "gpt-5") },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Error("no panic")
				}
			}()
			f()
		}()
	}
}
