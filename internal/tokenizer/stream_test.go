package tokenizer

import (
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"
)

// streamAll feeds ids to a fresh decoder and checks that every string it
// returns is valid UTF-8 on its own.
func streamAll(t *testing.T, tok *Tokenizer, ids []int32) string {
	t.Helper()
	d := tok.NewDecoder()
	var b strings.Builder
	for _, id := range ids {
		s := d.Add(id)
		if !utf8.ValidString(s) {
			t.Fatalf("Add(%d) returned invalid UTF-8 %q", id, s)
		}
		b.WriteString(s)
	}
	s := d.Flush()
	if !utf8.ValidString(s) {
		t.Fatalf("Flush returned invalid UTF-8 %q", s)
	}
	b.WriteString(s)
	return b.String()
}

// Random split points: whatever the chunking of a valid UTF-8 text into
// pieces, the stream never emits part of a character and loses nothing.
func TestStreamRandomSplits(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := []rune("aZ 9\n\té߷€日本🦙🚀\u0301\U0010FFFF")
	for iter := 0; iter < 2000; iter++ {
		var sb strings.Builder
		for n := rng.IntN(20); n > 0; n-- {
			sb.WriteRune(alphabet[rng.IntN(len(alphabet))])
		}
		text := sb.String()
		// Cut at random byte offsets.
		var pieces []string
		for rest := text; rest != ""; {
			k := 1 + rng.IntN(min(len(rest), 6))
			pieces = append(pieces, rest[:k])
			rest = rest[k:]
		}
		tok := &Tokenizer{pieces: pieces}
		ids := make([]int32, len(pieces))
		for i := range ids {
			ids[i] = int32(i)
		}
		if got := streamAll(t, tok, ids); got != text {
			t.Fatalf("pieces %q streamed to %q, want %q", pieces, got, text)
		}
	}
}

func TestStreamInvalid(t *testing.T) {
	tests := []struct {
		pieces []string
		want   string
	}{
		{[]string{"a\xff", "b"}, "a\uFFFDb"},
		{[]string{"\xe4\xbd", "x"}, "\uFFFDx"},         // a sequence that is never completed
		{[]string{"\xe4", "\xbd", "\xa0"}, "你"},        // one completed over three pieces
		{[]string{"ok", "\xf0\x9f"}, "ok\uFFFD"},       // left incomplete at Flush
		{[]string{"\x80\x80\x80\x80"}, "\uFFFD"},       // stray continuation bytes
		{[]string{"\xed\xa0", "\x80"}, "\uFFFD\uFFFD"}, // a surrogate can never be valid
	}
	for _, tt := range tests {
		tok := &Tokenizer{pieces: tt.pieces}
		ids := make([]int32, len(tt.pieces))
		for i := range ids {
			ids[i] = int32(i)
		}
		if got := streamAll(t, tok, ids); got != tt.want {
			t.Errorf("pieces %q streamed to %q, want %q", tt.pieces, got, tt.want)
		}
	}
}

// Through real vocabularies: byte fallback (SentencePiece) and byte
// tokens (BPE with no merges) split every multi-byte character.
func TestStreamVocab(t *testing.T) {
	toks := map[string]*Tokenizer{
		"spm": mustLoad(t, spmKV(nil)),
		"bpe": mustLoad(t, bpeKV("llama-bpe", nil, nil, kvBool("tokenizer.ggml.add_bos_token", false))),
	}
	for name, tok := range toks {
		for _, s := range roundTripStrings {
			if !utf8.ValidString(s) {
				continue
			}
			ids, err := tok.Encode(s, EncodeOptions{})
			if err != nil {
				t.Fatal(err)
			}
			var raw strings.Builder
			for _, id := range ids {
				raw.WriteString(tok.Piece(id))
			}
			if got := streamAll(t, tok, ids); got != raw.String() {
				t.Errorf("%s: %q streamed to %q, want %q", name, s, got, raw.String())
			}
		}
	}
}

func TestValidPrefixLen(t *testing.T) {
	tests := []struct {
		in   string
		want int
	}{
		{"", 0}, {"abc", 3}, {"a\xe4", 1}, {"a\xe4\xbd", 1}, {"a\xe4\xbd\xa0", 4},
		{"\xf0\x9f\xa6", 0}, {"\xf0\x9f\xa6\x99", 4}, {"a\xff", 2}, {"a\x80", 2},
		{"\xed\xa0", 2}, // invalid at once: nothing to wait for
	}
	for _, tt := range tests {
		if got := validPrefixLen([]byte(tt.in)); got != tt.want {
			t.Errorf("validPrefixLen(%q) = %d, want %d", tt.in, got, tt.want)
		}
	}
}
