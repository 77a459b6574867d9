package synth

import (
	"fmt"
	"slices"
	"strings"
	"unicode"

	"sov.dev/sov/internal/gguf"
	"sov.dev/sov/internal/tokenizer"
)

// vocabText is the small English text the synthetic vocabularies are
// built from: its frequent words become SentencePiece pieces, and BPE
// merges are learned on it. It was written for this purpose.
const vocabText = `The old library stood at the end of the street, and the people of the town
came to it every day. In the morning the light fell through the tall windows
onto the long tables, and the first readers sat down with their books and
their notes. A small boy asked the woman at the desk where he could find a
book about the sea. She took him to the back of the room, where the shelves
were full of stories about ships, fish and far islands, and she told him that
he could keep it for two weeks if he wrote his name in the book by the door.

People think that a library is only a place for books, but it is also a place
for work, for rest and for talk. Some of them come to read the paper, some
to write letters, and some just to sit in a warm room when the weather is
cold. The city gave the library new lights last year, and the children now
have their own corner with a green rug, a few soft chairs and a picture of a
big white whale on the wall.

On Saturday there is a story hour. The children sit on the floor and listen
while one of the workers reads aloud. They like the stories about animals
best: the fox who wanted to fly, the bear who could not sleep, and the little
bird that found its way home through the rain. After the story they draw what
they heard, and the pictures go up on the wall for everyone to see.

Numbers matter here too. The library has 12,400 books, 310 maps, 64 chairs and
9 computers. It opens at 8:30 and closes at 6 in the evening, and it is open
on every day of the week except Monday. Last month 2,150 people came through
the door, which was more than in any month before.

Why do people keep coming back? Ask them and they will give you many
different answers. One man said that he likes the quiet. A young woman said
that she learns something new each time she comes. An old teacher said that
the library is the only place in the town where nobody wants to sell you
anything, and that this is worth more than he can say. "It's my second home,"
she added, "and I don't think I'm the only one who feels that way."

When the sun goes down and the last reader leaves, the lights go out one by
one. The books wait on their shelves for the next day, and the town is quiet
again until the morning, when the doors open and the first people come in
from the cold with their questions, their plans and their hopes.
`

// vocabWords returns the letter words of vocabText, most frequent first
// (ties in alphabetical order).
func vocabWords() []string {
	count := map[string]int{}
	for _, w := range strings.FieldsFunc(vocabText, func(r rune) bool { return !unicode.IsLetter(r) }) {
		count[w]++
	}
	words := make([]string, 0, len(count))
	for w := range count {
		words = append(words, w)
	}
	slices.SortFunc(words, func(a, b string) int {
		if count[a] != count[b] {
			return count[b] - count[a]
		}
		return strings.Compare(a, b)
	})
	return words
}

func kvString(k, v string) gguf.KV {
	return gguf.KV{Key: k, Value: gguf.Value{Type: gguf.TypeString, V: v}}
}

func kvUint32(k string, v uint32) gguf.KV {
	return gguf.KV{Key: k, Value: gguf.Value{Type: gguf.TypeUint32, V: v}}
}

func kvBool(k string, v bool) gguf.KV {
	return gguf.KV{Key: k, Value: gguf.Value{Type: gguf.TypeBool, V: v}}
}

func kvStrings(k string, v []string) gguf.KV {
	return gguf.KV{Key: k, Value: gguf.Value{Type: gguf.TypeArray, ArrayType: gguf.TypeString, V: v}}
}

// Token types as tokenizer.ggml.token_type stores them.
const (
	tokNormal  = 1
	tokUnknown = 2
	tokControl = 3
	tokUnused  = 5
	tokByte    = 6
)

// spmFixed is the number of tokens every LlamaSPMVocab has before its
// pieces: <unk>, <s>, </s> and 256 byte tokens.
const spmFixed = 3 + 256

// SPMMinSize is the smallest size LlamaSPMVocab accepts: the fixed
// tokens and "▁", without which a space would decode as "▁".
const SPMMinSize = spmFixed + 1

// LlamaSPMVocab returns tokenizer metadata for a SentencePiece-style
// vocabulary of exactly size tokens, as Llama and Llama-2 models carry:
// tokenizer.ggml.model "llama"; tokens <unk> (type unknown), <s> and </s>
// (control), <0x00>…<0xFF> (byte), then normal pieces with descending
// scores — "▁", the printable ASCII characters, and "▁"-prefixed words of
// a built-in English text with all their prefixes, so that common words
// become single pieces — then unused pieces "<unused_N>" to fill the
// size. BOS is 1, EOS 2, unknown 0, add_bos_token is true, and the chat
// template is in Llama-2's [INST] format. It panics if size is smaller
// than SPMMinSize; a size too small for all the pieces keeps the first
// ones.
func LlamaSPMVocab(size int) []gguf.KV {
	if size < SPMMinSize {
		panic(fmt.Sprintf("synth: LlamaSPMVocab(%d): size must be at least %d", size, SPMMinSize))
	}
	tokens := make([]string, 0, size)
	scores := make([]float32, 0, size)
	types := make([]int32, 0, size)
	add := func(tok string, score float32, typ int32) {
		tokens = append(tokens, tok)
		scores = append(scores, score)
		types = append(types, typ)
	}
	add("<unk>", 0, tokUnknown)
	add("<s>", 0, tokControl)
	add("</s>", 0, tokControl)
	for b := 0; b < 256; b++ {
		add(fmt.Sprintf("<0x%02X>", b), 0, tokByte)
	}

	// Pieces, most useful first: characters, then each word's prefixes in
	// increasing length, so that any cut keeps every prefix of a piece.
	var pieces []string
	seen := map[string]bool{}
	push := func(p string) {
		if !seen[p] {
			seen[p] = true
			pieces = append(pieces, p)
		}
	}
	push("▁")
	for c := byte('!'); c <= '~'; c++ {
		push(string(c))
	}
	for _, w := range vocabWords() {
		for i := range w {
			if i > 0 {
				push("▁" + w[:i])
			}
		}
		push("▁" + w)
	}
	for i, p := range pieces {
		if len(tokens) == size {
			break
		}
		add(p, -float32(i), tokNormal)
	}
	for i := 0; len(tokens) < size; i++ {
		add(fmt.Sprintf("<unused_%d>", i), -1e9, tokUnused)
	}

	return []gguf.KV{
		kvString("tokenizer.ggml.model", "llama"),
		kvString("tokenizer.ggml.pre", "default"),
		kvStrings("tokenizer.ggml.tokens", tokens),
		{Key: "tokenizer.ggml.scores", Value: gguf.Value{Type: gguf.TypeArray, ArrayType: gguf.TypeFloat32, V: scores}},
		{Key: "tokenizer.ggml.token_type", Value: gguf.Value{Type: gguf.TypeArray, ArrayType: gguf.TypeInt32, V: types}},
		kvUint32("tokenizer.ggml.bos_token_id", 1),
		kvUint32("tokenizer.ggml.eos_token_id", 2),
		kvUint32("tokenizer.ggml.unknown_token_id", 0),
		kvBool("tokenizer.ggml.add_bos_token", true),
		kvBool("tokenizer.ggml.add_eos_token", false),
		kvString("tokenizer.chat_template", llama2Template),
	}
}

// llama2Template renders Llama-2 chat: each user turn in [INST] … [/INST]
// after BOS, the system prompt (if the first message is one) inside the
// first user turn between <<SYS>> markers, each assistant turn followed by
// EOS. Llama-2 has no default system prompt.
const llama2Template = `{%- if messages and messages[0]['role'] == 'system' -%}
{%- set system = messages[0]['content'] | trim -%}
{%- set turns = messages[1:] -%}
{%- else -%}
{%- set system = '' -%}
{%- set turns = messages -%}
{%- endif -%}
{%- for message in turns -%}
{%- if message['role'] == 'user' -%}
{%- set text = message['content'] | trim -%}
{%- if loop.first and system -%}
{%- set text = '<<SYS>>\n' + system + '\n<</SYS>>\n\n' + text -%}
{%- endif -%}
{{- bos_token + '[INST] ' + text + ' [/INST]' -}}
{%- elif message['role'] == 'assistant' -%}
{{- ' ' + message['content'] | trim + ' ' + eos_token -}}
{%- endif -%}
{%- endfor -%}`

// bpeStyle describes one family of byte-level BPE vocabularies.
type bpeStyle struct {
	pre      string
	specials []string // control tokens, in order, at the end of the vocabulary
	bos, eos string
	eot      string
	unk, pad string // "" for none
	addBOS   bool
	template string
}

var bpeStyles = map[string]bpeStyle{
	"llama3": {
		pre:      "llama-bpe",
		specials: []string{"<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"},
		// Llama-3 instruct models end a turn, and generation, with <|eot_id|>.
		bos: "<|begin_of_text|>", eos: "<|eot_id|>", eot: "<|eot_id|>",
		addBOS:   true,
		template: llama3Template,
	},
	"qwen2": {
		pre:      "qwen2",
		specials: []string{"<|endoftext|>", "<|im_start|>", "<|im_end|>"},
		bos:      "<|endoftext|>", eos: "<|im_end|>", eot: "<|im_end|>", pad: "<|endoftext|>",
		template: chatMLTemplate("You are a helpful assistant."),
	},
	"smollm": {
		pre:      "smollm",
		specials: []string{"<|endoftext|>", "<|im_start|>", "<|im_end|>"},
		bos:      "<|im_start|>", eos: "<|im_end|>", eot: "<|im_end|>", unk: "<|endoftext|>", pad: "<|im_end|>",
		template: chatMLTemplate("You are a helpful AI assistant named SmolLM, trained by Hugging Face"),
	},
}

// BPEStyles returns the styles BPEVocab accepts.
func BPEStyles() []string { return []string{"llama3", "qwen2", "smollm"} }

// BPEVocab returns tokenizer metadata for a byte-level BPE vocabulary of
// exactly size tokens in the style of a model family: tokenizer.ggml.model
// "gpt2" and tokenizer.ggml.pre "llama-bpe" (style "llama3"), "qwen2" or
// "smollm". Tokens 0–255 are the bytes in GPT-2's byte→unicode order,
// then one token per merge, the merges learned (deterministically) from a
// built-in English text split by that family's pre-tokeniser so that its
// common words become single tokens; then unused tokens "<|unused_N|>" to
// fill the size; then the family's special tokens as control tokens, last:
// llama3 <|begin_of_text|> <|end_of_text|> <|start_header_id|>
// <|end_header_id|> <|eot_id|>; qwen2 and smollm <|endoftext|>
// <|im_start|> <|im_end|>. BOS, EOS and end-of-turn are set as the
// family's instruct models set them (llama3: <|begin_of_text|>,
// <|eot_id|>, <|eot_id|> with add_bos_token true; qwen2: <|endoftext|>,
// <|im_end|>, <|im_end|>; smollm: <|im_start|>, <|im_end|>, <|im_end|>),
// and the chat template is the family's: Llama-3 header blocks with no
// default system prompt, or ChatML with the family's default system
// prompt when the conversation has none. It panics for an unknown style
// or a size too small for the byte and special tokens.
func BPEVocab(size int, style string) []gguf.KV {
	st, ok := bpeStyles[style]
	if !ok {
		panic(fmt.Sprintf("synth: BPEVocab: unknown style %q (want one of %s)", style, strings.Join(BPEStyles(), ", ")))
	}
	fixed := 256 + len(st.specials)
	if size < fixed {
		panic(fmt.Sprintf("synth: BPEVocab(%d, %q): size must be at least %d", size, style, fixed))
	}
	tokens := make([]string, 0, size)
	for _, b := range tokenizer.ByteOrder() {
		tokens = append(tokens, tokenizer.ByteChar(b))
	}
	learned, merges := learnMerges(st.pre, size-fixed)
	tokens = append(tokens, learned...)
	types := make([]int32, len(tokens), size)
	for i := range types {
		types[i] = tokNormal
	}
	for i := 0; len(tokens) < size-len(st.specials); i++ {
		tokens = append(tokens, fmt.Sprintf("<|unused_%d|>", i))
		types = append(types, tokUnused)
	}
	id := map[string]uint32{}
	for _, s := range st.specials {
		id[s] = uint32(len(tokens))
		tokens = append(tokens, s)
		types = append(types, tokControl)
	}

	kv := []gguf.KV{
		kvString("tokenizer.ggml.model", "gpt2"),
		kvString("tokenizer.ggml.pre", st.pre),
		kvStrings("tokenizer.ggml.tokens", tokens),
		{Key: "tokenizer.ggml.token_type", Value: gguf.Value{Type: gguf.TypeArray, ArrayType: gguf.TypeInt32, V: types}},
		kvStrings("tokenizer.ggml.merges", merges),
		kvUint32("tokenizer.ggml.bos_token_id", id[st.bos]),
		kvUint32("tokenizer.ggml.eos_token_id", id[st.eos]),
		kvUint32("tokenizer.ggml.eot_token_id", id[st.eot]),
	}
	if st.unk != "" {
		kv = append(kv, kvUint32("tokenizer.ggml.unknown_token_id", id[st.unk]))
	}
	if st.pad != "" {
		kv = append(kv, kvUint32("tokenizer.ggml.padding_token_id", id[st.pad]))
	}
	return append(kv,
		kvBool("tokenizer.ggml.add_bos_token", st.addBOS),
		kvBool("tokenizer.ggml.add_eos_token", false),
		kvString("tokenizer.chat_template", st.template),
	)
}

// learnMerges runs BPE training on vocabText split by the pre-tokeniser
// pre, adding at most budget tokens: it repeatedly merges the most
// frequent adjacent pair (ties broken by the pair's text) until no pair
// occurs twice. It returns the new tokens and the merges, both in
// byte-level form.
func learnMerges(pre string, budget int) (tokens, merges []string) {
	ws, err := tokenizer.PreTokenize(pre, vocabText)
	if err != nil {
		panic("synth: " + err.Error()) // the styles name only known pre-tokenisers
	}
	freq := map[string]int{}
	for _, w := range ws {
		freq[w]++
	}
	type word struct {
		syms []string
		n    int
	}
	words := make([]word, 0, len(freq))
	for w, n := range freq {
		syms := make([]string, len(w))
		for i := 0; i < len(w); i++ {
			syms[i] = tokenizer.ByteChar(w[i])
		}
		words = append(words, word{syms, n})
	}
	// Map order is random; sort so that training is deterministic.
	slices.SortFunc(words, func(a, b word) int {
		return strings.Compare(strings.Join(a.syms, ""), strings.Join(b.syms, ""))
	})

	have := map[string]bool{}
	for b := 0; b < 256; b++ {
		have[tokenizer.ByteChar(byte(b))] = true
	}
	type pair struct{ l, r string }
	for len(tokens) < budget {
		counts := map[pair]int{}
		for _, w := range words {
			for i := 1; i < len(w.syms); i++ {
				counts[pair{w.syms[i-1], w.syms[i]}] += w.n
			}
		}
		var best pair
		bestN := 1
		for p, n := range counts {
			if n > bestN || n == bestN && n > 1 && (p.l < best.l || p.l == best.l && p.r < best.r) {
				best, bestN = p, n
			}
		}
		if bestN < 2 {
			break
		}
		merged := best.l + best.r
		merges = append(merges, best.l+" "+best.r)
		if !have[merged] {
			have[merged] = true
			tokens = append(tokens, merged)
		}
		for wi := range words {
			s := words[wi].syms
			out := s[:0]
			for i := 0; i < len(s); i++ {
				if i+1 < len(s) && s[i] == best.l && s[i+1] == best.r {
					out = append(out, merged)
					i++
					continue
				}
				out = append(out, s[i])
			}
			words[wi].syms = out
		}
	}
	return tokens, merges
}

// llama3Template renders Llama-3 chat: BOS, then each message as a
// header block ending in <|eot_id|>, and an open assistant header when a
// generation prompt is wanted. There is no default system prompt.
const llama3Template = `{{- bos_token -}}
{%- for message in messages -%}
{{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n' + message['content'] | trim + '<|eot_id|>' -}}
{%- endfor -%}
{%- if add_generation_prompt -%}
{{- '<|start_header_id|>assistant<|end_header_id|>\n\n' -}}
{%- endif -%}`

// chatMLTemplate renders ChatML, adding a system message with the given
// default text when the conversation does not start with one.
func chatMLTemplate(defaultSystem string) string {
	return `{%- if not messages or messages[0]['role'] != 'system' -%}
{{- '<|im_start|>system\n` + defaultSystem + `<|im_end|>\n' -}}
{%- endif -%}
{%- for message in messages -%}
{{- '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>\n' -}}
{%- endfor -%}
{%- if add_generation_prompt -%}
{{- '<|im_start|>assistant\n' -}}
{%- endif -%}`
}
