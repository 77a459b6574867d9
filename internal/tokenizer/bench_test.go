package tokenizer_test

import (
	"bytes"
	"strings"
	"testing"

	"sov.dev/sov/internal/gguf"
	"sov.dev/sov/internal/synth"
	"sov.dev/sov/internal/tokenizer"
)

// The benchmarks and the speed test use synth's vocabularies, so they live
// in an external test package (synth imports tokenizer).

func synthTok(t testing.TB, kv []gguf.KV) *tokenizer.Tokenizer {
	t.Helper()
	var buf bytes.Buffer
	if err := gguf.Write(&buf, 3, kv, nil, 0); err != nil {
		t.Fatal(err)
	}
	f, err := gguf.Parse(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := tokenizer.FromGGUF(f)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// prompt is about 4 KB of mixed English prose, code and numbers.
var prompt = strings.Repeat("The quick brown fox, 12345 times, jumps over the lazy dog's back.\n"+
	"func main() {\n\tfmt.Println(\"héllo, 世界\") // 🦙\n}\n", 35)

func vocabs(t testing.TB) map[string]*tokenizer.Tokenizer {
	m := map[string]*tokenizer.Tokenizer{"spm": synthTok(t, synth.LlamaSPMVocab(32000))}
	for _, st := range synth.BPEStyles() {
		m[st] = synthTok(t, synth.BPEVocab(32000, st))
	}
	return m
}

func BenchmarkEncode(b *testing.B) {
	inputs := map[string]string{
		"prompt4K":   prompt,
		"word64K":    strings.Repeat("a", 64<<10),
		"spaces64K":  strings.Repeat(" ", 64<<10),
		"digits64K":  strings.Repeat("7", 64<<10),
		"special64K": strings.Repeat("<|im_start|>", 64<<10/12),
	}
	for name, tok := range vocabs(b) {
		for in, text := range inputs {
			b.Run(name+"/"+in, func(b *testing.B) {
				b.SetBytes(int64(len(text)))
				for b.Loop() {
					if _, err := tok.Encode(text, tokenizer.EncodeOptions{ParseSpecial: true}); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

func BenchmarkDecode(b *testing.B) {
	for name, tok := range vocabs(b) {
		ids, _ := tok.Encode(prompt, tokenizer.EncodeOptions{})
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(prompt)))
			for b.Loop() {
				tok.Decode(ids)
			}
		})
	}
}

// BenchmarkEncodeAdversarial measures inputs that would expose quadratic
// behaviour (one long word, a long run of spaces); compare ns/byte with
// BenchmarkEncode's ordinary prompt.
func BenchmarkEncodeAdversarial(b *testing.B) {
	inputs := map[string]string{
		"word":   strings.Repeat("abcdefgh", 8<<10),
		"spaces": strings.Repeat(" ", 64<<10),
		"mixed":  strings.Repeat("a \t\n1", 13<<10),
	}
	for name, tok := range vocabs(b) {
		for in, text := range inputs {
			b.Run(name+"/"+in, func(b *testing.B) {
				b.SetBytes(int64(len(text)))
				for b.Loop() {
					if _, err := tok.Encode(text, tokenizer.EncodeOptions{ParseSpecial: true}); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
