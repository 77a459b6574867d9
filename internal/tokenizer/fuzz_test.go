package tokenizer

import (
	"bytes"
	"strings"
	"testing"
	"unicode/utf8"

	"sov.dev/sov/internal/gguf"
)

func fuzzTokenizers(f *testing.F) map[string]*Tokenizer {
	toks := map[string]*Tokenizer{
		"spm": mustLoad(f, spmKV([]piece{{"▁", -1, 0}, {"▁t", -2, 0}, {"▁th", -3, 0}, {"▁the", -1, 0},
			{"e", -4, 0}, {"<|im_start|>", 0, typeControl}, {"<ud>", 0, typeUserDefined}})),
	}
	for _, pre := range []string{"llama-bpe", "qwen2", "smollm", "gpt-2", "default"} {
		toks[pre] = mustLoad(f, bpeKV(pre, testMerges,
			[]piece{{"<|im_start|>", 0, typeControl}, {"<|im_end|>", 0, typeControl}, {"<ud>", 0, typeUserDefined}},
			kvBool("tokenizer.ggml.add_bos_token", false)))
	}
	return toks
}

// FuzzEncode checks that Encode never fails or panics on text of any
// bytes, that every id is in range, that Decode gives the text back, and
// that streaming the ids agrees with their pieces.
func FuzzEncode(f *testing.F) {
	for _, s := range roundTripStrings {
		f.Add(s, false)
		f.Add(s, true)
	}
	toks := fuzzTokenizers(f)
	f.Fuzz(func(t *testing.T, s string, parseSpecial bool) {
		for name, tok := range toks {
			ids, err := tok.Encode(s, EncodeOptions{ParseSpecial: parseSpecial})
			if err != nil {
				t.Fatalf("%s: Encode: %v", name, err)
			}
			for _, id := range ids {
				if id < 0 || int(id) >= tok.VocabSize() {
					t.Fatalf("%s: id %d out of range", name, id)
				}
			}
			if name == "spm" && strings.Contains(s, spaceMark) {
				continue // SentencePiece reads "▁" as a space
			}
			if got := tok.Decode(ids); got != s {
				t.Fatalf("%s: Decode(Encode(%q)) = %q (ids %v)", name, s, got, ids)
			}
			var raw strings.Builder
			for _, id := range ids {
				raw.WriteString(tok.Piece(id))
			}
			d := tok.NewDecoder()
			var streamed strings.Builder
			for _, id := range ids {
				out := d.Add(id)
				if !utf8.ValidString(out) {
					t.Fatalf("%s: Add returned invalid UTF-8 %q", name, out)
				}
				streamed.WriteString(out)
			}
			streamed.WriteString(d.Flush())
			if utf8.ValidString(raw.String()) && streamed.String() != raw.String() {
				t.Fatalf("%s: streamed %q, pieces %q", name, streamed.String(), raw.String())
			}
		}
	})
}

// FuzzFromGGUF checks that FromGGUF, and the tokenizer it builds, cope
// with any metadata a GGUF file can carry.
func FuzzFromGGUF(f *testing.F) {
	for _, kv := range [][]gguf.KV{
		spmKV([]piece{{"▁", -1, 0}, {"▁a", -1, 0}, {"<ud>", 0, typeUserDefined}}),
		bpeKV("llama-bpe", testMerges[:4], []piece{{"<|eot_id|>", 0, typeControl}}, kvU32("tokenizer.ggml.bos_token_id", 3)),
		bpeKV("qwen2", testMerges[:3], []piece{{"<|im_end|>", 0, typeControl}}),
	} {
		var buf bytes.Buffer
		if err := gguf.Write(&buf, 3, kv, nil, 0); err != nil {
			f.Fatal(err)
		}
		f.Add(buf.Bytes())
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		gf, err := gguf.Parse(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return
		}
		tok, err := FromGGUF(gf)
		if err != nil {
			return
		}
		for _, s := range []string{"Hello world <|eot_id|> <ud> 123 日本 \xff", ""} {
			ids, err := tok.Encode(s, EncodeOptions{AddSpecial: true, ParseSpecial: true})
			if err != nil {
				t.Fatal(err)
			}
			for _, id := range ids {
				if id < 0 || int(id) >= tok.VocabSize() {
					t.Fatalf("id %d out of range", id)
				}
			}
			_ = tok.Decode(ids)
			d := tok.NewDecoder()
			for _, id := range ids {
				d.Add(id)
			}
			d.Flush()
		}
		for id := int32(-1); id <= int32(tok.VocabSize()); id++ {
			tok.Piece(id)
			tok.IsEOG(id)
		}
	})
}
