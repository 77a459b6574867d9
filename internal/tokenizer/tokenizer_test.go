package tokenizer

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"sov.dev/sov/internal/gguf"
)

// spmVocab is a hand-made SentencePiece vocabulary: <unk>, <s>, </s>,
// the 256 byte tokens (ids 3–258), then pieces with scores.
type piece struct {
	text  string
	score float32
	typ   int32
}

func spmKV(pieces []piece, extra ...gguf.KV) []gguf.KV {
	toks := []string{"<unk>", "<s>", "</s>"}
	scores := []float32{0, 0, 0}
	types := []int32{typeUnknown, typeControl, typeControl}
	for b := 0; b < 256; b++ {
		toks = append(toks, fmt.Sprintf("<0x%02X>", b))
		scores = append(scores, 0)
		types = append(types, typeByte)
	}
	for _, p := range pieces {
		toks = append(toks, p.text)
		scores = append(scores, p.score)
		typ := p.typ
		if typ == 0 {
			typ = typeNormal
		}
		types = append(types, typ)
	}
	kv := []gguf.KV{
		kvStr("tokenizer.ggml.model", "llama"),
		kvStrs("tokenizer.ggml.tokens", toks),
		kvF32s("tokenizer.ggml.scores", scores),
		kvI32s("tokenizer.ggml.token_type", types),
	}
	return append(kv, extra...)
}

func TestSPMEncode(t *testing.T) {
	pieces := []piece{
		{"▁", -10, 0},   // 259
		{"a", -5, 0},    // 260
		{"b", -5, 0},    // 261
		{"c", -5, 0},    // 262
		{"ab", -1, 0},   // 263
		{"bc", -0.5, 0}, // 264: beats "ab", so "abc" splits a|bc
		{"▁a", -2, 0},   // 265
		{"abc", -3, 0},  // 266
		{"x", -5, 0},    // 267
		{"y", -5, 0},    // 268
		{"xy", -1, 0},   // 269
		{"yx", -1, 0},   // 270: ties with "xy"; the left pair wins
		{"<ud>", 0, typeUserDefined},
	}
	tok := mustLoad(t, spmKV(pieces))
	id := func(s string) int32 {
		v, ok := tok.TokenID(s)
		if !ok {
			t.Fatalf("no token %q", s)
		}
		return v
	}
	byteTok := func(b byte) int32 { return 3 + int32(b) }
	tests := []struct {
		in   string
		opts EncodeOptions
		want []int32
	}{
		// "▁abc": bigrams ▁a (-2), ab (-1), bc (-0.5). bc merges first,
		// then ▁a; "▁abc" is no token, so the result is ▁a|bc.
		{"abc", EncodeOptions{}, []int32{id("▁a"), id("bc")}},
		// "▁xyx": xy and yx tie; the leftmost merges, leaving x.
		{"xyx", EncodeOptions{}, []int32{id("▁"), id("xy"), id("x")}},
		// Spaces become ▁; "▁b" is no token.
		{"a b", EncodeOptions{}, []int32{id("▁a"), id("▁"), id("b")}},
		// Characters outside the vocabulary fall back to bytes.
		{"é", EncodeOptions{}, []int32{id("▁"), byteTok(0xC3), byteTok(0xA9)}},
		{"a\n", EncodeOptions{}, []int32{id("▁a"), byteTok('\n')}},
		// Invalid UTF-8 survives as byte tokens.
		{"a\xff", EncodeOptions{}, []int32{id("▁a"), byteTok(0xFF)}},
		{"abc", EncodeOptions{AddSpecial: true}, []int32{1, id("▁a"), id("bc")}},
		// Control tokens only with ParseSpecial; the text after a special
		// token gets the space prefix again.
		{"a</s>b", EncodeOptions{ParseSpecial: true}, []int32{id("▁a"), 2, id("▁"), id("b")}},
		{"</s>", EncodeOptions{}, []int32{id("▁"), byteTok('<'), byteTok('/'), byteTok('s'), byteTok('>')}},
		// User-defined tokens are matched either way.
		{"a<ud>b", EncodeOptions{}, []int32{id("▁a"), id("<ud>"), id("▁"), id("b")}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%q/%+v", tt.in, tt.opts), func(t *testing.T) {
			got, err := tok.Encode(tt.in, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Encode (-want +got):\n%s", diff)
			}
			dec := tok.Decode(got)
			want := tt.in
			if tt.opts.AddSpecial {
				want = "<s>" + want
			}
			if dec != want {
				t.Errorf("Decode = %q, want %q", dec, want)
			}
		})
	}
}

func TestSPMNoSpacePrefix(t *testing.T) {
	tok := mustLoad(t, spmKV([]piece{{"▁", -1, 0}, {"a", -1, 0}, {"▁a", -1, 0}},
		kvBool("tokenizer.ggml.add_space_prefix", false)))
	got, err := tok.Encode("a a", EncodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := []int32{260, 261}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Encode (-want +got):\n%s", diff)
	}
	if s := tok.Decode(got); s != "a a" {
		t.Errorf("Decode = %q", s)
	}
}

// bpeVocab builds a byte-level vocabulary: the 256 byte characters in
// GPT-2 order, one token per merge result, then extra tokens of the given
// types.
func bpeKV(pre string, merges [][2]string, specials []piece, extra ...gguf.KV) []gguf.KV {
	var toks []string
	var types []int32
	for _, b := range ByteOrder() {
		toks = append(toks, ByteChar(b))
		types = append(types, typeNormal)
	}
	var ml []string
	for _, m := range merges {
		l, r := ByteLevel(m[0]), ByteLevel(m[1])
		ml = append(ml, l+" "+r)
		toks = append(toks, l+r)
		types = append(types, typeNormal)
	}
	for _, p := range specials {
		toks = append(toks, p.text)
		types = append(types, p.typ)
	}
	kv := []gguf.KV{
		kvStr("tokenizer.ggml.model", "gpt2"),
		kvStr("tokenizer.ggml.pre", pre),
		kvStrs("tokenizer.ggml.tokens", toks),
		kvI32s("tokenizer.ggml.token_type", types),
		kvStrs("tokenizer.ggml.merges", ml),
	}
	return append(kv, extra...)
}

var testMerges = [][2]string{
	{" ", "t"},   // rank 0
	{"h", "e"},   // 1
	{" t", "he"}, // 2
	{"i", "n"},   // 3
	{" t", "h"},  // 4: never used for " the", "he" is ranked earlier
	{"zq", "z"},  // 5: "zq" is no token, so this merge is dropped
	{"1", "2"},   // 6
	{"12", "3"},  // 7
}

func TestBPEEncode(t *testing.T) {
	specials := []piece{
		{"<|begin_of_text|>", 0, typeControl},
		{"<|eot_id|>", 0, typeControl},
		{"<tool>", 0, typeUserDefined},
	}
	for _, pre := range []string{"gpt-2", "llama-bpe"} {
		kv := bpeKV(pre, testMerges, specials,
			kvU32("tokenizer.ggml.bos_token_id", 256+uint32(len(testMerges))))
		tok := mustLoad(t, kv)
		id := func(s string) int32 {
			v, ok := tok.TokenID(ByteLevel(s))
			if !ok {
				v, ok = tok.TokenID(s)
			}
			if !ok {
				t.Fatalf("no token %q", s)
			}
			return v
		}
		bos := id("<|begin_of_text|>")
		tests := []struct {
			in   string
			opts EncodeOptions
			want []int32
		}{
			// "the": t|he (no "t he" merge); " then": Ġt, he, then Ġthe, n.
			{"the then", EncodeOptions{}, []int32{id("t"), id("he"), id(" the"), id("n")}},
			{"in", EncodeOptions{}, []int32{id("in")}},
			// Bytes of a multi-byte character stay separate tokens.
			{"é", EncodeOptions{}, []int32{id("\xc3"), id("\xa9")}},
			{"<|eot_id|>", EncodeOptions{ParseSpecial: true}, []int32{id("<|eot_id|>")}},
			{"x<tool>y", EncodeOptions{}, []int32{id("x"), id("<tool>"), id("y")}},
		}
		if pre == "llama-bpe" {
			// Llama-3 adds BOS by default and splits digits in threes.
			tests = append(tests,
				struct {
					in   string
					opts EncodeOptions
					want []int32
				}{"1234", EncodeOptions{AddSpecial: true}, []int32{bos, id("123"), id("4")}})
		} else {
			tests = append(tests,
				struct {
					in   string
					opts EncodeOptions
					want []int32
				}{"1234", EncodeOptions{AddSpecial: true}, []int32{id("123"), id("4")}})
		}
		for _, tt := range tests {
			t.Run(fmt.Sprintf("%s/%q/%+v", pre, tt.in, tt.opts), func(t *testing.T) {
				got, err := tok.Encode(tt.in, tt.opts)
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Errorf("Encode (-want +got):\n%s", diff)
				}
				want := tt.in
				if tt.opts.AddSpecial && tok.AddBOS() {
					want = "<|begin_of_text|>" + want
				}
				if dec := tok.Decode(got); dec != want {
					t.Errorf("Decode = %q, want %q", dec, want)
				}
			})
		}
	}
}

// With ParseSpecial off, special-token text is ordinary text.
func TestBPEParseSpecialOff(t *testing.T) {
	tok := mustLoad(t, bpeKV("qwen2", testMerges, []piece{{"<|im_start|>", 0, typeControl}}))
	on, err := tok.Encode("<|im_start|>", EncodeOptions{ParseSpecial: true})
	if err != nil {
		t.Fatal(err)
	}
	off, err := tok.Encode("<|im_start|>", EncodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	imStart, _ := tok.TokenID("<|im_start|>")
	if diff := cmp.Diff([]int32{imStart}, on); diff != "" {
		t.Errorf("ParseSpecial on (-want +got):\n%s", diff)
	}
	if len(off) < 2 || tok.Decode(off) != "<|im_start|>" {
		t.Errorf("ParseSpecial off gave %v (%q), want several text tokens", off, tok.Decode(off))
	}
	for _, id := range off {
		if id == imStart {
			t.Errorf("ParseSpecial off produced the control token")
		}
	}
}

// Overlapping special tokens: the longer is cut out first.
func TestSpecialLongestFirst(t *testing.T) {
	tok := mustLoad(t, bpeKV("gpt-2", nil, []piece{
		{"<a>", 0, typeControl},
		{"<a><b>", 0, typeControl},
		{"<b>", 0, typeControl},
	}))
	got, err := tok.Encode("<a><b><a>", EncodeOptions{ParseSpecial: true})
	if err != nil {
		t.Fatal(err)
	}
	ab, _ := tok.TokenID("<a><b>")
	a, _ := tok.TokenID("<a>")
	if diff := cmp.Diff([]int32{ab, a}, got); diff != "" {
		t.Errorf("Encode (-want +got):\n%s", diff)
	}
}

func TestIgnoreMerges(t *testing.T) {
	// "abc" is a token but no merge reaches it: Llama-3 (ignore_merges)
	// takes the word whole, GPT-2 does not.
	kv := func(pre string) []gguf.KV {
		kv := bpeKV(pre, nil, []piece{{"abc", 0, typeNormal}})
		return append(kv, kvBool("tokenizer.ggml.add_bos_token", false))
	}
	for _, tt := range []struct {
		pre  string
		want int
	}{{"llama-bpe", 1}, {"gpt-2", 3}} {
		tok := mustLoad(t, kv(tt.pre))
		got, err := tok.Encode("abc", EncodeOptions{AddSpecial: true})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != tt.want {
			t.Errorf("%s: Encode(abc) = %v, want %d tokens", tt.pre, got, tt.want)
		}
	}
}

func TestEOG(t *testing.T) {
	tests := []struct {
		name     string
		specials []string
		extra    []gguf.KV
		eog      []string
		notEOG   []string
		eot      string
	}{
		{
			name:     "llama3",
			specials: []string{"<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|eot_id|>", "<|eom_id|>"},
			eog:      []string{"<|end_of_text|>", "<|eot_id|>", "<|eom_id|>"},
			notEOG:   []string{"<|begin_of_text|>", "<|start_header_id|>"},
			eot:      "<|eot_id|>",
		},
		{
			name:     "chatml",
			specials: []string{"<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|fim_pad|>"},
			eog:      []string{"<|endoftext|>", "<|im_end|>", "<|fim_pad|>"},
			notEOG:   []string{"<|im_start|>"},
			eot:      "<|im_end|>",
		},
		{
			name:     "gpt-oss",
			specials: []string{"<|start|>", "<|end|>", "<|return|>", "<|call|>"},
			eog:      []string{"<|return|>", "<|call|>"},
			notEOG:   []string{"<|end|>", "<|start|>"},
			eot:      "<|end|>",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ps []piece
			for _, s := range tt.specials {
				ps = append(ps, piece{s, 0, typeControl})
			}
			tok := mustLoad(t, bpeKV("gpt-2", nil, ps, tt.extra...))
			for _, s := range tt.eog {
				if id, _ := tok.TokenID(s); !tok.IsEOG(id) {
					t.Errorf("IsEOG(%s) = false, want true", s)
				}
			}
			for _, s := range tt.notEOG {
				if id, _ := tok.TokenID(s); tok.IsEOG(id) {
					t.Errorf("IsEOG(%s) = true, want false", s)
				}
			}
			if got := tok.Token(tok.EOT()); got != tt.eot {
				t.Errorf("EOT = %q, want %q", got, tt.eot)
			}
		})
	}
}

func TestFromGGUFErrors(t *testing.T) {
	good := bpeKV("gpt-2", testMerges, nil)
	replace := func(kv []gguf.KV, key string, v gguf.Value) []gguf.KV {
		out := append([]gguf.KV(nil), kv...)
		for i := range out {
			if out[i].Key == key {
				out[i].Value = v
				return out
			}
		}
		return append(out, gguf.KV{Key: key, Value: v})
	}
	drop := func(kv []gguf.KV, key string) []gguf.KV {
		var out []gguf.KV
		for _, e := range kv {
			if e.Key != key {
				out = append(out, e)
			}
		}
		return out
	}
	str := func(s string) gguf.Value { return gguf.Value{Type: gguf.TypeString, V: s} }
	tests := []struct {
		name        string
		kv          []gguf.KV
		want        string
		unsupported bool
	}{
		{"no model", drop(good, "tokenizer.ggml.model"), "tokenizer.ggml.model", false},
		{"bert", replace(good, "tokenizer.ggml.model", str("bert")), `"bert"`, true},
		{"unknown pre", replace(good, "tokenizer.ggml.pre", str("klingon")), `"klingon"`, true},
		{"no tokens", drop(good, "tokenizer.ggml.tokens"), "tokenizer.ggml.tokens", false},
		{"tokens not strings", replace(good, "tokenizer.ggml.tokens", gguf.Value{Type: gguf.TypeArray, ArrayType: gguf.TypeInt32, V: []int32{1}}), "array of int32", false},
		{"empty tokens", replace(good, "tokenizer.ggml.tokens", gguf.Value{Type: gguf.TypeArray, ArrayType: gguf.TypeString, V: []string{}}), "empty", false},
		{"duplicate token", replace(good, "tokenizer.ggml.tokens", gguf.Value{Type: gguf.TypeArray, ArrayType: gguf.TypeString, V: []string{"a", "b", "a"}}), `"a" appears at ids 0 and 2`, false},
		{"short types", replace(good, "tokenizer.ggml.token_type", gguf.Value{Type: gguf.TypeArray, ArrayType: gguf.TypeInt32, V: []int32{1}}), "token_type has 1 entries", false},
		{"short scores", append(good, kvF32s("tokenizer.ggml.scores", []float32{1})), "scores has 1 entries", false},
		{"no merges", drop(good, "tokenizer.ggml.merges"), "merges", false},
		{"bos needed", append(good, kvBool("tokenizer.ggml.add_bos_token", true)), "bos_token_id", false},
		{"bos out of range", append(good, kvBool("tokenizer.ggml.add_bos_token", true), kvU32("tokenizer.ggml.bos_token_id", 1<<20)), "bos_token_id", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := FromGGUF(&gguf.File{Metadata: tt.kv})
			if err == nil {
				t.Fatal("FromGGUF succeeded, want an error")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not mention %q", err, tt.want)
			}
			if got := errors.Is(err, ErrUnsupported); got != tt.unsupported {
				t.Errorf("errors.Is(err, ErrUnsupported) = %v, want %v", got, tt.unsupported)
			}
		})
	}
}

// Round trips through hand-made vocabularies of both families, with
// special-token parsing on and off.
func TestRoundTrip(t *testing.T) {
	spm := mustLoad(t, spmKV([]piece{{"▁", -1, 0}, {"▁t", -2, 0}, {"he", -3, 0}, {"▁the", -1, 0}, {"<|im_start|>", 0, typeControl}}))
	toks := map[string]*Tokenizer{"spm": spm}
	for _, pre := range []string{"llama-bpe", "qwen2", "smollm", "gpt-2", "default"} {
		toks[pre] = mustLoad(t, bpeKV(pre, testMerges, []piece{{"<|im_start|>", 0, typeControl}, {"<s>", 0, typeUserDefined}},
			kvBool("tokenizer.ggml.add_bos_token", false)))
	}
	for name, tok := range toks {
		for _, s := range roundTripStrings {
			for _, ps := range []bool{false, true} {
				ids, err := tok.Encode(s, EncodeOptions{ParseSpecial: ps})
				if err != nil {
					t.Fatal(err)
				}
				if got := tok.Decode(ids); got != s {
					t.Errorf("%s ParseSpecial %v: Decode(Encode(%q)) = %q", name, ps, s, got)
				}
			}
		}
	}
}

func TestPiece(t *testing.T) {
	tok := mustLoad(t, spmKV([]piece{{"▁hi", -1, 0}, {"<unused0>", 0, typeUnused}}))
	tests := []struct {
		id   int32
		want string
	}{
		{-1, ""}, {0, "<unk>"}, {1, "<s>"}, {3 + 'A', "A"}, {3 + 0xE4, "\xe4"},
		{259, " hi"}, {260, ""}, {261, ""},
	}
	for _, tt := range tests {
		if got := tok.Piece(tt.id); got != tt.want {
			t.Errorf("Piece(%d) = %q, want %q", tt.id, got, tt.want)
		}
	}
	bpe := mustLoad(t, bpeKV("gpt-2", testMerges, nil))
	if id, _ := bpe.TokenID("Ġthe"); bpe.Piece(id) != " the" {
		t.Errorf("Piece(Ġthe) = %q, want \" the\"", bpe.Piece(id))
	}
	if got := bpe.Decode([]int32{-5, 1 << 30}); got != "" {
		t.Errorf("Decode of out-of-range ids = %q, want empty", got)
	}
}

func TestEncodeTooLong(t *testing.T) {
	tok := mustLoad(t, spmKV(nil))
	if _, err := tok.Encode(strings.Repeat("a", MaxEncodeBytes+1), EncodeOptions{}); err == nil {
		t.Error("Encode of an over-long text succeeded")
	}
	got, err := tok.Encode("", EncodeOptions{})
	if err != nil || len(got) != 0 {
		t.Errorf("Encode(\"\") = %v, %v; want no tokens", got, err)
	}
	if diff := cmp.Diff([]int32(nil), got, cmpopts.EquateEmpty()); diff != "" {
		t.Error(diff)
	}
}
