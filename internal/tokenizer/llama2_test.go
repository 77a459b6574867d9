package tokenizer

import (
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"sov.dev/sov/internal/gguf"
)

// llama2Vocab is a GGUF file carrying the real 32,000-piece Llama-2
// SentencePiece vocabulary (with random weights).
const llama2Vocab = "/work/shared/corpus/models/llama-2-tiny-random.gguf"

func loadLlama2(t testing.TB) *Tokenizer {
	t.Helper()
	fh, err := os.Open(llama2Vocab)
	if os.IsNotExist(err) {
		t.Skipf("corpus file %s not present", llama2Vocab)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	st, err := fh.Stat()
	if err != nil {
		t.Fatal(err)
	}
	f, err := gguf.Parse(fh, st.Size())
	if err != nil {
		t.Fatal(err)
	}
	tok, err := FromGGUF(f)
	if err != nil {
		t.Fatalf("FromGGUF: %v", err)
	}
	return tok
}

// The expected ids are Llama-2's well-known tokenisations (the same ones
// llama.cpp's tokenizer tests list for its llama-spm vocabulary). Each
// can be checked against the vocabulary: "▁Hello" is 15043, "▁world"
// 3186, "▁" 29871, "▁▁" 259, "▁▁▁" 1678, "▁▁▁▁" 268, and byte
// tokens are 3 + the byte (so "\n" is 13 and 🦙, F0 9F A6 99, is 243
// 162 169 156).
func TestLlama2Known(t *testing.T) {
	tok := loadLlama2(t)
	checks := []struct {
		id   int32
		text string
	}{
		{15043, "▁Hello"}, {3186, "▁world"}, {29871, "▁"}, {259, "▁▁"}, {1678, "▁▁▁"},
		{268, "▁▁▁▁"}, {13, "<0x0A>"}, {12, "<0x09>"}, {243, "<0xF0>"}, {2787, "▁World"},
		{29991, "!"}, {29892, ","}, {445, "▁this"}, {338, "▁is"}, {29889, "."}, {8223, "cpp"},
	}
	for _, c := range checks {
		if got := tok.Token(c.id); got != c.text {
			t.Errorf("Token(%d) = %q, want %q", c.id, got, c.text)
		}
	}

	tests := []struct {
		in   string
		want []int32
	}{
		{"", nil},
		{" ", []int32{259}},
		{"  ", []int32{1678}},
		{"   ", []int32{268}},
		{"\t", []int32{29871, 12}},
		{"\n", []int32{29871, 13}},
		{"\n\n", []int32{29871, 13, 13}},
		{"\t\n", []int32{29871, 12, 13}},
		{"Hello world", []int32{15043, 3186}},
		{" Hello world", []int32{29871, 15043, 3186}},
		{"Hello World", []int32{15043, 2787}},
		{" Hello World!", []int32{29871, 15043, 2787, 29991}},
		{"Hello, world!", []int32{15043, 29892, 3186, 29991}},
		{" this is 🦙.cpp", []int32{29871, 445, 338, 29871, 243, 162, 169, 156, 29889, 8223}},
		{"w048 7tuijk dsdfhu", []int32{281, 29900, 29946, 29947, 29871, 29955, 9161, 13535, 18031, 2176, 6905}},
		{"нещо на Български", []int32{1538, 4851, 665, 1386, 29713, 1305}},
		{"Führer", []int32{383, 4000, 261}},
		{"ied 4 ½ months", []int32{474, 287, 29871, 29946, 29871, 30226, 7378}},
		{"  Hello", []int32{259, 15043}},
		{"    Hello\n    Hello", []int32{268, 15043, 13, 1678, 15043}},
		{" (", []int32{29871, 313}},
		{"\n =", []int32{29871, 13, 353}},
		{"' era", []int32{525, 3152}},
		{"333", []int32{29871, 29941, 29941, 29941}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := tok.Encode(tt.in, EncodeOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Encode(%q) (-want +got):\n%s", tt.in, diff)
			}
			if back := tok.Decode(got); back != tt.in {
				t.Errorf("Decode(Encode(%q)) = %q", tt.in, back)
			}
		})
	}
}

func TestLlama2Special(t *testing.T) {
	tok := loadLlama2(t)
	if tok.BOS() != 1 || tok.EOS() != 2 || tok.VocabSize() != 32000 || !tok.AddBOS() {
		t.Errorf("BOS %d EOS %d size %d addBOS %v; want 1 2 32000 true", tok.BOS(), tok.EOS(), tok.VocabSize(), tok.AddBOS())
	}
	if !tok.IsEOG(2) || tok.IsEOG(1) || tok.IsEOG(15043) {
		t.Errorf("IsEOG(2, 1, 15043) = %v %v %v, want true false false", tok.IsEOG(2), tok.IsEOG(1), tok.IsEOG(15043))
	}
	tests := []struct {
		name string
		in   string
		opts EncodeOptions
		want []int32
	}{
		{"bos", "Hello world", EncodeOptions{AddSpecial: true}, []int32{1, 15043, 3186}},
		{"bos empty", "", EncodeOptions{AddSpecial: true}, []int32{1}},
		// Without ParseSpecial "<s>" is text: "▁<", "s", ">".
		{"text", "<s>Hi", EncodeOptions{}, []int32{529, 29879, 29958, 18567}},
		// With it, <s> is BOS and the text after it gets a space prefix.
		{"parsed", "<s>Hi</s>", EncodeOptions{ParseSpecial: true}, []int32{1, 6324, 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tok.Encode(tt.in, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Encode(%q, %+v) (-want +got):\n%s", tt.in, tt.opts, diff)
			}
		})
	}
}

func TestLlama2RoundTrip(t *testing.T) {
	tok := loadLlama2(t)
	for _, s := range roundTripStrings {
		if strings.Contains(s, spaceMark) {
			continue
		}
		for _, ps := range []bool{false, true} {
			ids, err := tok.Encode(s, EncodeOptions{ParseSpecial: ps})
			if err != nil {
				t.Fatal(err)
			}
			if got := tok.Decode(ids); got != s {
				t.Errorf("ParseSpecial %v: Decode(Encode(%q)) = %q (ids %v)", ps, s, got, ids)
			}
		}
	}
}
