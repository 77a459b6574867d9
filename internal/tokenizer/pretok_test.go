package tokenizer

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func words(p preTokenizer, text string) []string {
	var out []string
	start := 0
	for _, end := range p.split(text) {
		out = append(out, text[start:end])
		start = end
	}
	return out
}

// The expected splits follow the regular expressions of each
// pre-tokeniser, worked through by hand (leftmost alternative first).
func TestPreTokenizers(t *testing.T) {
	tests := []struct {
		pre  string
		in   string
		want []string
	}{
		{"llama-bpe", "", nil},
		{"llama-bpe", "Hello world", []string{"Hello", " world"}},
		{"llama-bpe", "  hello", []string{" ", " hello"}},
		{"llama-bpe", "x   ", []string{"x", "   "}},
		{"llama-bpe", "a  \tb", []string{"a", "  ", "\tb"}},
		{"llama-bpe", "1234567", []string{"123", "456", "7"}},
		{"llama-bpe", "3.14", []string{"3", ".", "14"}},
		{"llama-bpe", "I'm I'M you're", []string{"I", "'m", " I", "'M", " you", "'re"}},
		{"llama-bpe", "'hello", []string{"'hello"}},
		{"llama-bpe", "(abc) def", []string{"(abc", ")", " def"}},
		{"llama-bpe", "hello!!\n\nworld", []string{"hello", "!!\n\n", "world"}},
		{"llama-bpe", "a \n\n b", []string{"a", " \n\n", " b"}},
		{"llama-bpe", "a\n  \n  b", []string{"a", "\n  \n", " ", " b"}},
		{"llama-bpe", " !?", []string{" !?"}},
		{"llama-bpe", "x\r\ny", []string{"x", "\r\n", "y"}},
		{"llama-bpe", "\tfoo", []string{"\tfoo"}},
		{"llama-bpe", "a1b", []string{"a", "1", "b"}},
		{"llama-bpe", "日本語 テキスト", []string{"日本語", " テキスト"}},
		{"llama-bpe", "e\u0301", []string{"e", "\u0301"}}, // a combining mark is not \p{L}
		{"llama-bpe", "🦙🦙 ok", []string{"🦙🦙", " ok"}},
		{"llama-bpe", "a\xffb", []string{"a", "\xffb"}}, // an invalid byte counts as a symbol
		{"llama-bpe", "x \xff", []string{"x", " \xff"}},
		{"qwen2", "1234 ab", []string{"1", "2", "3", "4", " ab"}},
		{"qwen2", "I'm", []string{"I", "'m"}},
		{"gpt-2", "Hello world", []string{"Hello", " world"}},
		{"gpt-2", "I'M", []string{"I", "'", "M"}}, // case-sensitive contractions
		{"gpt-2", "I'm", []string{"I", "'m"}},
		{"gpt-2", " 12345", []string{" 12345"}},
		{"gpt-2", "a  b", []string{"a", " ", " b"}},
		{"gpt-2", "hello\n\nworld", []string{"hello", "\n", "\n", "world"}},
		{"gpt-2", "(abc)", []string{"(", "abc", ")"}},
		{"gpt-2", "x   ", []string{"x", "   "}},
		{"gpt-2", " !?", []string{" !?"}},
		{"smollm", "abc 123", []string{"abc", " ", "1", "2", "3"}},
		{"smollm", "x1y", []string{"x", "1", "y"}},
		{"smollm", "Hi  there", []string{"Hi", " ", " there"}},
		{"default", "hello, world 12345", []string{"hello", ",", " world", " ", "123", "45"}},
		{"default", "a+b=c", []string{"a", "+", "b", "=", "c"}},
		{"default", "x1234567", []string{"x", "123", "456", "7"}},
	}
	for _, tt := range tests {
		t.Run(tt.pre+"/"+tt.in, func(t *testing.T) {
			p, ok := pretokenizers[tt.pre]
			if !ok {
				t.Fatalf("no pre-tokenizer %q", tt.pre)
			}
			got := words(p, tt.in)
			if diff := cmp.Diff(tt.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("split %q (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

// Every pre-tokeniser must cover its input exactly, in order, with
// non-empty pieces.
func TestPreTokenizersCover(t *testing.T) {
	for name, p := range pretokenizers {
		for _, s := range roundTripStrings {
			ws := words(p, s)
			if got := strings.Join(ws, ""); got != s {
				t.Errorf("%s: pieces of %q join to %q", name, s, got)
			}
			for _, w := range ws {
				if w == "" {
					t.Errorf("%s: empty piece in %q", name, s)
				}
			}
		}
	}
}

func TestPreAliases(t *testing.T) {
	// A few names llama.cpp maps to the same expressions.
	same := [][]string{
		{"llama-bpe", "llama3", "falcon3", "pixtral"},
		{"qwen2", "deepseek-r1-qwen", "stablelm2"},
		{"smollm", "starcoder", "refact"},
		{"gpt-2", "phi-2", "olmo"},
	}
	probe := "I'm 12345 a  b\n\n(x)"
	for _, group := range same {
		want := words(pretokenizers[group[0]], probe)
		for _, n := range group[1:] {
			p, ok := pretokenizers[n]
			if !ok {
				t.Errorf("pre-tokenizer %q missing", n)
				continue
			}
			if diff := cmp.Diff(want, words(p, probe)); diff != "" {
				t.Errorf("%s differs from %s (-want +got):\n%s", n, group[0], diff)
			}
		}
	}
}
