// Package tokenizer turns text into token ids and back for the
// vocabularies that GGUF model files carry: SentencePiece-style models
// (tokenizer.ggml.model "llama": bigram merges by score with byte
// fallback) and byte-level BPE models (tokenizer.ggml.model "gpt2": GPT-2
// byte mapping, ranked merges, and the pre-tokeniser that
// tokenizer.ggml.pre names). It follows llama.cpp's behaviour so that a
// prompt encodes to the ids the model was trained to see, including
// special-token parsing, BOS/EOS insertion and end-of-generation tokens.
//
// The metadata it reads is untrusted: FromGGUF validates every array
// length and id and returns an error rather than panicking, and Encode
// and Decode never panic on any input. The package holds no model
// weights and must not download anything; it knows nothing of chat
// templates, which belong to the engine.
package tokenizer

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// ErrUnsupported is wrapped by the error FromGGUF returns for a
// tokenizer model or pre-tokeniser this package does not implement.
var ErrUnsupported = errors.New("unsupported tokenizer")

// MaxEncodeBytes is the longest text Encode accepts.
const MaxEncodeBytes = 64 << 20

// Token types as tokenizer.ggml.token_type stores them.
const (
	typeNormal      = 1
	typeUnknown     = 2
	typeControl     = 3
	typeUserDefined = 4
	typeUnused      = 5
	typeByte        = 6
)

// attr is a token's attribute set, derived from its type.
type attr uint8

const (
	attrNormal attr = 1 << iota
	attrUnknown
	attrControl
	attrUserDefined
	attrUnused
	attrByte
)

// special reports whether tokens with these attributes are matched as a
// whole in the input text and rendered verbatim.
func (a attr) special() bool { return a&(attrControl|attrUserDefined|attrUnknown) != 0 }

type model int

const (
	modelSPM model = iota
	modelBPE
)

// Tokenizer encodes and decodes text for one vocabulary. It is immutable
// after FromGGUF and safe for concurrent use.
type Tokenizer struct {
	model  model
	pre    string   // tokenizer.ggml.pre as given ("" if absent)
	split  splitter // BPE pre-tokeniser
	tokens []string
	scores []float32
	attrs  []attr
	ids    map[string]int32
	pieces []string // decoded text of each token

	bos, eos, eot, eom, unk, pad int32
	addBOS, addEOS               bool
	addSpacePrefix               bool // SPM: prefix raw text with a space
	ignoreMerges                 bool // BPE: a whole word that is a token wins
	eog                          map[int32]bool

	specials    []int32 // special tokens, longest text first
	specialTrie trie

	byteTok [256]int32 // SPM byte fallback: <0xXX> ids
	byteSym [256]int32 // BPE: id of each byte's mapped character
	merges  map[uint64]merge
}

// EncodeOptions controls Encode.
type EncodeOptions struct {
	// AddSpecial adds BOS at the start when the model asks for it
	// (tokenizer.ggml.add_bos_token, which defaults to true for
	// SentencePiece and Llama-3 vocabularies) and EOS at the end when
	// tokenizer.ggml.add_eos_token is true.
	AddSpecial bool
	// ParseSpecial makes the text of control and unknown tokens (such as
	// "<|im_start|>" or "<s>") encode to those tokens. Without it such
	// text is ordinary text. User-defined tokens are matched either way,
	// as llama.cpp does.
	ParseSpecial bool
}

// Encode returns the token ids of text. Text need not be valid UTF-8:
// invalid bytes are kept and encoded through byte tokens, so Decode
// gives them back. It fails only for text longer than MaxEncodeBytes.
func (t *Tokenizer) Encode(text string, opts EncodeOptions) ([]int32, error) {
	if len(text) > MaxEncodeBytes {
		return nil, fmt.Errorf("tokenizer: text of %d bytes exceeds the limit of %d", len(text), MaxEncodeBytes)
	}
	out := make([]int32, 0, len(text)/3+2)
	if opts.AddSpecial && t.addBOS {
		out = append(out, t.bos)
	}
	frags := t.partition(text, opts.ParseSpecial)
	switch t.model {
	case modelSPM:
		var s spmSession
		prevSpecial := true // the first fragment gets the space prefix too
		for _, f := range frags {
			if f.tok >= 0 {
				out = append(out, f.tok)
				prevSpecial = true
				continue
			}
			out = s.encode(t, f.text, t.addSpacePrefix && prevSpecial, out)
			prevSpecial = false
		}
	case modelBPE:
		var s bpeSession
		for _, f := range frags {
			if f.tok >= 0 {
				out = append(out, f.tok)
				continue
			}
			out = s.encode(t, f.text, out)
		}
	}
	if opts.AddSpecial && t.addEOS {
		out = append(out, t.eos)
	}
	return out, nil
}

// Decode returns the text of ids, the inverse of Encode: every token
// renders as its Piece (control, user-defined and unknown tokens as their
// text, such as "<s>" or "<|im_end|>"; unused tokens as nothing), and for
// a SentencePiece vocabulary that adds a space prefix, the one leading
// space of the first text token at the start and after each special
// token is dropped, because Encode put it there. So
// Decode(Encode(s, opts)) == s whenever opts.AddSpecial is false, except
// where a SentencePiece input holds "▁" (U+2581, which SentencePiece uses
// for space). Ids out of range are skipped. To render generated tokens,
// whose leading space is meaningful, use a StreamDecoder.
func (t *Tokenizer) Decode(ids []int32) string {
	var b strings.Builder
	strip := t.model == modelSPM && t.addSpacePrefix
	prevSpecial := true
	for _, id := range ids {
		if id < 0 || int(id) >= len(t.tokens) {
			continue
		}
		p := t.pieces[id]
		if t.attrs[id].special() {
			prevSpecial = true
			b.WriteString(p)
			continue
		}
		if strip && prevSpecial {
			p = strings.TrimPrefix(p, " ")
		}
		prevSpecial = false
		b.WriteString(p)
	}
	return b.String()
}

// Piece returns the text token id stands for: the bytes of a normal token
// (with SentencePiece's "▁" turned back into a space, or byte-level BPE's
// characters turned back into bytes), the single byte of a byte token
// such as <0x0A>, the text of a control, user-defined or unknown token,
// and "" for an unused token or an id out of range. A piece need not be
// valid UTF-8 on its own.
func (t *Tokenizer) Piece(id int32) string {
	if id < 0 || int(id) >= len(t.pieces) {
		return ""
	}
	return t.pieces[id]
}

// Token returns the vocabulary entry of id as stored in the file (with
// "▁" or byte-level characters), or "" for an id out of range.
func (t *Tokenizer) Token(id int32) string {
	if id < 0 || int(id) >= len(t.tokens) {
		return ""
	}
	return t.tokens[id]
}

// TokenID returns the id of the vocabulary entry text, as stored.
func (t *Tokenizer) TokenID(text string) (int32, bool) {
	id, ok := t.ids[text]
	return id, ok
}

// IsSpecial reports whether id is a control, user-defined or unknown
// token: one that Decode renders as its text and Encode matches whole.
func (t *Tokenizer) IsSpecial(id int32) bool {
	return id >= 0 && int(id) < len(t.attrs) && t.attrs[id].special()
}

// BOS returns the beginning-of-sequence token, or -1 if there is none.
func (t *Tokenizer) BOS() int32 { return t.bos }

// EOS returns the end-of-sequence token, or -1 if there is none.
func (t *Tokenizer) EOS() int32 { return t.eos }

// EOT returns the end-of-turn token (tokenizer.ggml.eot_token_id, or one
// recognised by its text such as <|eot_id|> or <|im_end|>), or -1.
func (t *Tokenizer) EOT() int32 { return t.eot }

// AddBOS reports whether Encode with AddSpecial adds BOS.
func (t *Tokenizer) AddBOS() bool { return t.addBOS }

// IsEOG reports whether generation should stop at id: EOS, EOT, EOM, and
// the tokens llama.cpp recognises by their text (<|eot_id|>, <|im_end|>,
// <|endoftext|>, <end_of_turn>, <|end_of_text|>, </s> and others).
func (t *Tokenizer) IsEOG(id int32) bool { return t.eog[id] }

// VocabSize returns the number of tokens.
func (t *Tokenizer) VocabSize() int { return len(t.tokens) }

// Model returns "llama" or "gpt2", the tokenizer.ggml.model it was built
// from.
func (t *Tokenizer) Model() string {
	if t.model == modelBPE {
		return "gpt2"
	}
	return "llama"
}

// Pre returns the tokenizer.ggml.pre value, "" if the file had none.
func (t *Tokenizer) Pre() string { return t.pre }

// fragment is a run of raw text or one special token (tok >= 0).
type fragment struct {
	tok  int32
	text string
}

// partition splits text around special tokens the way llama.cpp's
// tokenizer_st_partition does: each special token, longest first, is cut
// out of every raw fragment wherever it occurs. Control and unknown
// tokens take part only if parseSpecial.
func (t *Tokenizer) partition(text string, parseSpecial bool) []fragment {
	if text == "" {
		return nil
	}
	frags := []fragment{{tok: -1, text: text}}
	if len(t.specials) == 0 {
		return frags
	}
	// Find which special tokens occur at all, in one pass.
	found := t.specialTrie.occurring(text)
	if len(found) == 0 {
		return frags
	}
	for _, id := range t.specials {
		if !found[id] {
			continue
		}
		if !parseSpecial && t.attrs[id]&(attrControl|attrUnknown) != 0 {
			continue
		}
		tok := t.tokens[id]
		next := make([]fragment, 0, len(frags)+2)
		for _, f := range frags {
			if f.tok >= 0 {
				next = append(next, f)
				continue
			}
			s := f.text
			for {
				i := strings.Index(s, tok)
				if i < 0 {
					break
				}
				if i > 0 {
					next = append(next, fragment{tok: -1, text: s[:i]})
				}
				next = append(next, fragment{tok: id})
				s = s[i+len(tok):]
			}
			if s != "" {
				next = append(next, fragment{tok: -1, text: s})
			}
		}
		frags = next
	}
	return frags
}

// trie finds which of a set of strings occur in a text.
type trie struct {
	nodes []trieNode
}

type trieNode struct {
	next map[byte]int32
	id   int32 // token ending here, or -1
}

func (tr *trie) insert(s string, id int32) {
	if len(tr.nodes) == 0 {
		tr.nodes = append(tr.nodes, trieNode{id: -1})
	}
	n := int32(0)
	for i := 0; i < len(s); i++ {
		c := s[i]
		nx, ok := tr.nodes[n].next[c]
		if !ok {
			if tr.nodes[n].next == nil {
				tr.nodes[n].next = make(map[byte]int32, 1)
			}
			nx = int32(len(tr.nodes))
			tr.nodes[n].next[c] = nx
			tr.nodes = append(tr.nodes, trieNode{id: -1})
		}
		n = nx
	}
	tr.nodes[n].id = id
}

// occurring returns the set of inserted strings found anywhere in text.
func (tr *trie) occurring(text string) map[int32]bool {
	if len(tr.nodes) == 0 {
		return nil
	}
	var found map[int32]bool
	root := tr.nodes[0].next
	for i := 0; i < len(text); i++ {
		n, ok := root[text[i]]
		for j := i + 1; ok; j++ {
			if id := tr.nodes[n].id; id >= 0 {
				if found == nil {
					found = make(map[int32]bool)
				}
				found[id] = true
			}
			if j >= len(text) {
				break
			}
			n, ok = tr.nodes[n].next[text[j]]
		}
	}
	return found
}

// validPrefixLen returns the length of the longest prefix of b that does
// not end inside a multi-byte UTF-8 sequence that more bytes could still
// complete.
func validPrefixLen(b []byte) int {
	// Look back over at most three bytes for the start of the last rune.
	for i := len(b) - 1; i >= 0 && i >= len(b)-utf8.UTFMax+1; i-- {
		if utf8.RuneStart(b[i]) {
			if !utf8.FullRune(b[i:]) {
				return i
			}
			break
		}
	}
	return len(b)
}
