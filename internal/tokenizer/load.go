package tokenizer

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"sov.dev/sov/internal/gguf"
)

// Metadata keys FromGGUF reads.
const (
	keyModel          = "tokenizer.ggml.model"
	keyPre            = "tokenizer.ggml.pre"
	keyTokens         = "tokenizer.ggml.tokens"
	keyScores         = "tokenizer.ggml.scores"
	keyTypes          = "tokenizer.ggml.token_type"
	keyMerges         = "tokenizer.ggml.merges"
	keyBOS            = "tokenizer.ggml.bos_token_id"
	keyEOS            = "tokenizer.ggml.eos_token_id"
	keyEOT            = "tokenizer.ggml.eot_token_id"
	keyEOM            = "tokenizer.ggml.eom_token_id"
	keyUNK            = "tokenizer.ggml.unknown_token_id"
	keyPAD            = "tokenizer.ggml.padding_token_id"
	keyAddBOS         = "tokenizer.ggml.add_bos_token"
	keyAddEOS         = "tokenizer.ggml.add_eos_token"
	keyAddSpacePrefix = "tokenizer.ggml.add_space_prefix"
)

// FromGGUF builds the tokenizer that f's tokenizer.ggml.* metadata
// describes.
//
// tokenizer.ggml.model must be "llama" (SentencePiece) or "gpt2"
// (byte-level BPE); anything else fails with an error wrapping
// ErrUnsupported that names it. For "gpt2", tokenizer.ggml.pre picks the
// pre-tokeniser as llama.cpp does: "llama-bpe"/"llama3" and their
// aliases, "qwen2" and aliases, "smollm"/"starcoder" and aliases,
// "gpt-2" and aliases, and "default" (also used when the key is absent,
// as llama.cpp does); any other name fails with ErrUnsupported.
//
// Special ids that are absent default as in llama.cpp (SentencePiece:
// unk 0, bos 1, eos 2; BPE: none); ids out of range are ignored. The
// end-of-generation set and the end-of-turn token are derived from the
// vocabulary text as llama.cpp does. tokenizer.ggml.remove_extra_whitespaces
// is ignored, as llama.cpp ignores it for these models, and so is
// clean_up_tokenization_spaces: Decode never rewrites text.
func FromGGUF(f *gguf.File) (*Tokenizer, error) {
	name, ok := f.String(keyModel)
	if !ok {
		return nil, fmt.Errorf("tokenizer: metadata has no %s string", keyModel)
	}
	t := &Tokenizer{bos: -1, eos: -1, eot: -1, eom: -1, unk: -1, pad: -1}
	switch name {
	case "llama":
		t.model = modelSPM
		t.unk, t.bos, t.eos = 0, 1, 2
		t.addBOS = true
		t.addSpacePrefix = true
	case "gpt2":
		t.model = modelBPE
	default:
		return nil, fmt.Errorf("tokenizer: %s %q: %w (sov supports \"llama\", SentencePiece, and \"gpt2\", byte-level BPE)",
			keyModel, name, ErrUnsupported)
	}
	if err := t.loadTokens(f); err != nil {
		return nil, err
	}
	if t.model == modelBPE {
		pre, _ := f.String(keyPre)
		t.pre = pre
		p, ok := pretokenizers[pre]
		if !ok {
			return nil, fmt.Errorf("tokenizer: %s %q: %w pre-tokenizer (supported: %s)",
				keyPre, pre, ErrUnsupported, strings.Join(supportedPre(), ", "))
		}
		t.split = p.split
		t.ignoreMerges = p.ignoreMerges
		t.addBOS = p.addBOS
		if err := t.loadMerges(f); err != nil {
			return nil, err
		}
	} else {
		t.pre, _ = f.String(keyPre)
		if b, ok := f.Bool(keyAddSpacePrefix); ok {
			t.addSpacePrefix = b
		}
	}

	// Special ids: a key present and in range overrides the default.
	n := len(t.tokens)
	for _, s := range []struct {
		key string
		id  *int32
	}{{keyBOS, &t.bos}, {keyEOS, &t.eos}, {keyEOT, &t.eot}, {keyEOM, &t.eom}, {keyUNK, &t.unk}, {keyPAD, &t.pad}} {
		if *s.id >= int32(n) {
			*s.id = -1
		}
		if v, ok := f.Uint(s.key); ok && v < uint64(n) {
			*s.id = int32(v)
		}
	}
	if b, ok := f.Bool(keyAddBOS); ok {
		t.addBOS = b
	}
	if b, ok := f.Bool(keyAddEOS); ok {
		t.addEOS = b
	}
	if t.addBOS && t.bos < 0 {
		return nil, fmt.Errorf("tokenizer: BOS is to be added (%s) but %s is missing or out of range", keyAddBOS, keyBOS)
	}
	if t.addEOS && t.eos < 0 {
		return nil, fmt.Errorf("tokenizer: EOS is to be added (%s) but %s is missing or out of range", keyAddEOS, keyEOS)
	}

	t.deriveEOG()
	t.buildPieces()
	t.buildSpecials()
	if t.model == modelSPM {
		for b := 0; b < 256; b++ {
			id, ok := t.ids[fmt.Sprintf("<0x%02X>", b)]
			if !ok {
				id, ok = t.ids[string([]byte{byte(b)})]
			}
			if !ok {
				id = -1
			}
			t.byteTok[b] = id
		}
	}
	return t, nil
}

// loadTokens reads tokens, scores and token types.
func (t *Tokenizer) loadTokens(f *gguf.File) error {
	v, ok := f.Get(keyTokens)
	if !ok {
		return fmt.Errorf("tokenizer: metadata has no %s", keyTokens)
	}
	toks, ok := v.V.([]string)
	if !ok {
		return fmt.Errorf("tokenizer: %s is %s, want an array of strings", keyTokens, describe(v))
	}
	n := len(toks)
	if n == 0 {
		return fmt.Errorf("tokenizer: %s is empty", keyTokens)
	}
	if n > 1<<31-1 {
		return fmt.Errorf("tokenizer: %s has %d entries, too many", keyTokens, n)
	}
	t.scores = make([]float32, n)
	if v, ok := f.Get(keyScores); ok {
		switch s := v.V.(type) {
		case []float32:
			if len(s) < n {
				return fmt.Errorf("tokenizer: %s has %d entries for %d tokens", keyScores, len(s), n)
			}
			copy(t.scores, s)
		case []int32:
			if len(s) < n {
				return fmt.Errorf("tokenizer: %s has %d entries for %d tokens", keyScores, len(s), n)
			}
			for i := range t.scores {
				t.scores[i] = float32(s[i])
			}
		default:
			return fmt.Errorf("tokenizer: %s is %s, want an array of float32", keyScores, describe(v))
		}
	}
	t.attrs = make([]attr, n)
	for i := range t.attrs {
		t.attrs[i] = attrNormal
	}
	if v, ok := f.Get(keyTypes); ok {
		types, ok := v.V.([]int32)
		if !ok {
			return fmt.Errorf("tokenizer: %s is %s, want an array of int32", keyTypes, describe(v))
		}
		if len(types) < n {
			return fmt.Errorf("tokenizer: %s has %d entries for %d tokens", keyTypes, len(types), n)
		}
		for i := range t.attrs {
			switch types[i] {
			case typeNormal:
				t.attrs[i] = attrNormal
			case typeUnknown:
				t.attrs[i] = attrUnknown
			case typeControl:
				t.attrs[i] = attrControl
			case typeUserDefined:
				t.attrs[i] = attrUserDefined
			case typeUnused:
				t.attrs[i] = attrUnused
			case typeByte:
				t.attrs[i] = attrByte
			default:
				t.attrs[i] = 0 // undefined: decodes to nothing
			}
		}
	}
	t.tokens = make([]string, n)
	t.ids = make(map[string]int32, n)
	for i, s := range toks {
		if s == "" {
			s = "[EMPTY_" + strconv.Itoa(i) + "]" // as llama.cpp names them
		}
		if j, dup := t.ids[s]; dup {
			return fmt.Errorf("tokenizer: %s: token %q appears at ids %d and %d", keyTokens, s, j, i)
		}
		t.ids[s] = int32(i)
		t.tokens[i] = s
	}
	return nil
}

// loadMerges reads the BPE merge list. A merge whose parts or result are
// not tokens cannot take part in encoding (the merged symbol would have
// no id) and is dropped.
func (t *Tokenizer) loadMerges(f *gguf.File) error {
	v, ok := f.Get(keyMerges)
	if !ok {
		return fmt.Errorf("tokenizer: a \"gpt2\" vocabulary needs %s, which is missing", keyMerges)
	}
	list, ok := v.V.([]string)
	if !ok {
		return fmt.Errorf("tokenizer: %s is %s, want an array of strings", keyMerges, describe(v))
	}
	t.merges = make(map[uint64]merge, len(list))
	for rank, m := range list {
		// The separator is the first space after the first byte, so a
		// left part may itself be a space (as llama.cpp splits them).
		i := -1
		if len(m) > 1 {
			i = strings.IndexByte(m[1:], ' ')
		}
		if i < 0 {
			continue
		}
		left, right := m[:i+1], m[i+2:]
		l, ok1 := t.ids[left]
		r, ok2 := t.ids[right]
		res, ok3 := t.ids[left+right]
		if !ok1 || !ok2 || !ok3 {
			continue
		}
		k := pairKey(l, r)
		if _, dup := t.merges[k]; !dup {
			t.merges[k] = merge{rank: int32(rank), id: res}
		}
	}
	for b := 0; b < 256; b++ {
		id, ok := t.ids[byteChars[b]]
		if !ok {
			id = -1
		}
		t.byteSym[b] = id
	}
	return nil
}

func describe(v gguf.Value) string {
	if v.Type == gguf.TypeArray {
		return "an array of " + v.ArrayType.String()
	}
	return "a " + v.Type.String()
}

// eogTexts are the token texts llama.cpp treats as ending generation.
var eogTexts = []string{
	"<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<|flush|>", "<|calls|>",
	"<end_of_turn>", "<|endoftext|>", "</s>", "<|eom_id|>", "<EOT>", "_<EOT>", "[EOT]", "[EOS]",
	"<|end_of_text|>", "<end_of_utterance>", "<eos>", "<turn|>", "<|tool_response>",
	"<｜end▁of▁sentence｜>", "[e~[",
}

// eotTexts are the texts llama.cpp recognises as the end-of-turn token
// when tokenizer.ggml.eot_token_id is absent, in order of preference.
var eotTexts = []string{
	"<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|end_of_text|>",
	"<EOT>", "_<EOT>", "[EOT]", "<｜end▁of▁sentence｜>", "<end_of_utterance>",
}

// fimEOGTexts are fill-in-the-middle pad, repo and file-separator tokens,
// which llama.cpp also treats as ending generation.
var fimEOGTexts = []string{
	"<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]",
	"<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>",
	"<|file_sep|>",
}

// deriveEOG builds the end-of-generation set the way llama.cpp does:
// recognised texts (marked control if they were not), EOS, EOT and EOM,
// with its two workarounds for vocabularies where <|end|> or </s> must
// not stop generation.
func (t *Tokenizer) deriveEOG() {
	t.eog = make(map[int32]bool)
	markControl := func(id int32) {
		if t.attrs[id]&attrControl == 0 {
			t.attrs[id] |= attrControl
		}
	}
	if t.eot < 0 {
		for _, s := range eotTexts {
			if id, ok := t.ids[s]; ok {
				t.eot = id
				markControl(id)
				break
			}
		}
	}
	if t.eom < 0 {
		if id, ok := t.ids["<|eom_id|>"]; ok {
			t.eom = id
			markControl(id)
		}
	}
	for _, list := range [][]string{fimEOGTexts, eogTexts} {
		for _, s := range list {
			if id, ok := t.ids[s]; ok {
				t.eog[id] = true
				markControl(id)
			}
		}
	}
	for _, id := range []int32{t.eos, t.eot, t.eom} {
		if id >= 0 {
			t.eog[id] = true
		}
	}
	has := func(s string) (int32, bool) {
		id, ok := t.ids[s]
		return id, ok && t.eog[id]
	}
	// gpt-oss and solar-open: <|end|> ends a message, not generation.
	_, ret := has("<|return|>")
	_, call := has("<|call|>")
	_, calls := has("<|calls|>")
	_, flush := has("<|flush|>")
	if end, ok := has("<|end|>"); ok && (ret && (call || calls) || (call || calls) && flush) {
		delete(t.eog, end)
		t.attrs[end] = attrUserDefined
	}
	// gemma4 and paddleocr: </s> is ordinary text there.
	if s, ok := has("</s>"); ok {
		if _, tr := has("<|tool_response>"); tr {
			delete(t.eog, s)
			t.attrs[s] = attrNormal
		}
	}
}

// buildPieces decodes every token's text once.
func (t *Tokenizer) buildPieces() {
	t.pieces = make([]string, len(t.tokens))
	for id, s := range t.tokens {
		a := t.attrs[id]
		switch {
		case a.special():
			t.pieces[id] = s
		case a&attrNormal != 0:
			if t.model == modelSPM {
				t.pieces[id] = strings.ReplaceAll(s, "▁", " ")
			} else {
				t.pieces[id] = decodeByteLevel(s)
			}
		case a&attrByte != 0:
			if b, ok := parseByteToken(s); ok {
				t.pieces[id] = string([]byte{b})
			} else {
				t.pieces[id] = s
			}
		default:
			t.pieces[id] = "" // unused or undefined
		}
	}
}

// parseByteToken parses "<0xXX>".
func parseByteToken(s string) (byte, bool) {
	if len(s) != 6 || !strings.HasPrefix(s, "<0x") || s[5] != '>' {
		return 0, false
	}
	v, err := strconv.ParseUint(s[3:5], 16, 8)
	if err != nil {
		return 0, false
	}
	return byte(v), true
}

// buildSpecials lists the tokens matched whole in input text, longest
// first (ties by id), and indexes them for a one-pass search.
func (t *Tokenizer) buildSpecials() {
	for id, a := range t.attrs {
		if a.special() {
			t.specials = append(t.specials, int32(id))
		}
	}
	slices.SortStableFunc(t.specials, func(a, b int32) int {
		return len(t.tokens[b]) - len(t.tokens[a])
	})
	for _, id := range t.specials {
		t.specialTrie.insert(t.tokens[id], id)
	}
}
