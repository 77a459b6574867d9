package tokenizer

import (
	"fmt"
	"slices"
	"unicode"
	"unicode/utf8"
)

// A BPE vocabulary first splits text into words with a regular
// expression, then merges bytes within each word. The expressions these
// models use need look-ahead (\s+(?!\S)), which Go's regexp lacks, so
// each is a hand-written scanner that reproduces the expression's
// leftmost-first matching. As in llama.cpp, an expression splits text
// into its matches and the runs between them, and a list of expressions
// applies each in turn to the pieces the previous one made.

// splitter turns text into word boundaries.
type splitter func(text string) []int

type preTokenizer struct {
	split        splitter
	ignoreMerges bool // a word that is itself a token is not merged
	addBOS       bool // default for tokenizer.ggml.add_bos_token
}

// pretokenizers maps tokenizer.ggml.pre to a pre-tokeniser, following
// llama.cpp's table (src/llama-vocab.cpp).
var pretokenizers = func() map[string]preTokenizer {
	m := map[string]preTokenizer{}
	set := func(p preTokenizer, names ...string) {
		for _, n := range names {
			m[n] = p
		}
	}
	// (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|
	//  ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
	llama3 := stages(llama3Stage(3))
	set(preTokenizer{split: llama3, ignoreMerges: true, addBOS: true},
		"llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2", "jina-v5-nano")
	set(preTokenizer{split: llama3}, "dbrx", "smaug-bpe", "glm4", "chatglm-bpe")
	// The same with \p{N} for single digits.
	set(preTokenizer{split: stages(llama3Stage(1))},
		"qwen2", "deepseek-r1-qwen", "kormo", "f2llmv2", "megrez", "stablelm2", "hunyuan", "solar-open")
	// 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
	set(preTokenizer{split: stages(gpt2Stage)},
		"gpt-2", "phi-2", "jina-es", "jina-de", "gigachat", "jina-v2-es", "jina-v2-de", "a.x-4.0", "mellum",
		"modern-bert", "jina-v1-en", "jina-v2-code", "roberta-bpe", "mpt", "olmo", "jais", "trillion",
		"granite-docling", "exaone4")
	// \p{N} (every digit alone), then the GPT-2 expression.
	set(preTokenizer{split: stages(eachNumberStage, gpt2Stage)},
		"smollm", "starcoder", "refact", "command-r", "codeshell", "exaone", "minerva-7b", "mellum2")
	// llama.cpp's default: [\p{P}\$\+<=>\^~\|]+, the GPT-2 expression,
	// \p{N}+, [0-9][0-9][0-9].
	set(preTokenizer{split: stages(punctRunStage, gpt2Stage, numberRunStage, asciiDigitTripleStage)},
		"default", "")
	return m
}()

// PreTokenize splits text into the words that the byte-level BPE
// pre-tokeniser named pre (a tokenizer.ggml.pre value such as
// "llama-bpe", "qwen2" or "smollm") produces, before merges apply.
func PreTokenize(pre, text string) ([]string, error) {
	p, ok := pretokenizers[pre]
	if !ok {
		return nil, fmt.Errorf("tokenizer: pre-tokenizer %q: %w", pre, ErrUnsupported)
	}
	var out []string
	start := 0
	for _, end := range p.split(text) {
		out = append(out, text[start:end])
		start = end
	}
	return out, nil
}

func supportedPre() []string {
	var names []string
	for n := range pretokenizers {
		if n != "" {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	return names
}

// Character classes, as llama.cpp's unicode tables define them. An
// invalid UTF-8 byte counts as U+FFFD would: a symbol.
const (
	clsLetter = 1 << iota
	clsNumber
	clsSpace
)

type cpt struct {
	r   rune  // utf8.RuneError for an invalid byte
	off int32 // byte offset in the text
	cls uint8
}

func classify(r rune) uint8 {
	switch {
	case r < utf8.RuneSelf:
		switch {
		case 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z':
			return clsLetter
		case '0' <= r && r <= '9':
			return clsNumber
		case r == ' ' || '\t' <= r && r <= '\r':
			return clsSpace
		}
		return 0
	case unicode.IsLetter(r):
		return clsLetter
	case unicode.IsNumber(r):
		return clsNumber
	case unicode.IsSpace(r):
		return clsSpace
	}
	return 0
}

// stage refines one piece [lo, hi) of cps (indices into cps), calling
// emit with the end of each sub-piece in order.
type stage func(cps []cpt, lo, hi int, emit func(end int))

// stages builds a splitter that applies each stage to every piece the
// previous stages produced. Boundaries are byte offsets.
func stages(ss ...stage) splitter {
	return func(text string) []int {
		cps := make([]cpt, 0, len(text))
		for i := 0; i < len(text); {
			r, w := utf8.DecodeRuneInString(text[i:])
			c := classify(r)
			if r == utf8.RuneError && w == 1 {
				c = 0
			}
			cps = append(cps, cpt{r: r, off: int32(i), cls: c})
			i += w
		}
		ends := []int{len(cps)}
		var next []int
		for _, s := range ss {
			next = next[:0]
			lo := 0
			for _, hi := range ends {
				last := lo
				s(cps, lo, hi, func(end int) {
					if end > last {
						next = append(next, end)
						last = end
					}
				})
				if last < hi {
					next = append(next, hi)
				}
				lo = hi
			}
			ends, next = next, ends
		}
		out := make([]int, len(ends))
		for i, e := range ends {
			if e == len(cps) {
				out[i] = len(text)
			} else {
				out[i] = int(cps[e].off)
			}
		}
		return out
	}
}

// at returns the code point at i if lo <= i < hi, else one that matches
// nothing (r == -1, no class).
func at(cps []cpt, lo, hi, i int) cpt {
	if i >= lo && i < hi {
		return cps[i]
	}
	return cpt{r: -1}
}

func isCRLF(r rune) bool { return r == '\r' || r == '\n' }

// lowerASCII folds A–Z to a–z; the contractions only involve ASCII.
func lowerASCII(r rune) rune {
	if 'A' <= r && r <= 'Z' {
		return r + 'a' - 'A'
	}
	return r
}

// contraction returns the length of a contraction ('s 't 're 've 'm 'll
// 'd) at i, or 0; fold makes it case-insensitive.
func contraction(cps []cpt, lo, hi, i int, fold bool) int {
	if at(cps, lo, hi, i).r != '\'' {
		return 0
	}
	low := func(r rune) rune {
		if fold {
			return lowerASCII(r)
		}
		return r
	}
	c1 := low(at(cps, lo, hi, i+1).r)
	switch c1 {
	case 's', 't', 'm', 'd':
		return 2
	}
	c2 := low(at(cps, lo, hi, i+2).r)
	if c1 == 'r' && c2 == 'e' || c1 == 'v' && c2 == 'e' || c1 == 'l' && c2 == 'l' {
		return 3
	}
	return 0
}

// gpt2Stage: 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
func gpt2Stage(cps []cpt, lo, hi int, emit func(int)) {
	for pos := lo; pos < hi; {
		c := cps[pos]
		if n := contraction(cps, lo, hi, pos, false); n > 0 {
			pos += n
			emit(pos)
			continue
		}
		// An optional leading space, then a run of one class.
		start := pos
		if c.r == ' ' {
			start = pos + 1
		}
		if start < hi {
			k := cps[start].cls
			if k == clsLetter || k == clsNumber || k == 0 {
				end := start
				for end < hi && cps[end].cls == k {
					end++
				}
				pos = end
				emit(pos)
				continue
			}
		}
		pos = whitespace(cps, lo, hi, pos, emit)
	}
}

// whitespace matches \s+(?!\S)|\s+ at pos (or one other character if
// there is no whitespace there) and returns the new position.
func whitespace(cps []cpt, lo, hi, pos int, emit func(int)) int {
	n := 0
	for pos+n < hi && cps[pos+n].cls == clsSpace {
		n++
	}
	switch {
	case n > 1 && pos+n < hi:
		// Leave the last space to lead the next word.
		pos += n - 1
	case n > 0:
		pos += n
	default:
		pos++
	}
	emit(pos)
	return pos
}

// llama3Stage returns the Llama-3 expression with \p{N}{1,maxDigits}:
// (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|
//
//	?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
func llama3Stage(maxDigits int) stage {
	return func(cps []cpt, lo, hi int, emit func(int)) {
		for pos := lo; pos < hi; {
			c := cps[pos]
			if n := contraction(cps, lo, hi, pos, true); n > 0 {
				pos += n
				emit(pos)
				continue
			}
			// [^\r\n\p{L}\p{N}]?\p{L}+
			if !isCRLF(c.r) && c.cls != clsNumber {
				if c.cls == clsLetter || at(cps, lo, hi, pos+1).cls == clsLetter {
					pos++
					for pos < hi && cps[pos].cls == clsLetter {
						pos++
					}
					emit(pos)
					continue
				}
			}
			// \p{N}{1,maxDigits}
			if c.cls == clsNumber {
				n := 0
				for pos < hi && cps[pos].cls == clsNumber {
					pos++
					n++
					if n == maxDigits {
						emit(pos)
						n = 0
					}
				}
				emit(pos)
				continue
			}
			// ' '?[^\s\p{L}\p{N}]+[\r\n]*
			start := pos
			if c.r == ' ' {
				start = pos + 1
			}
			if start < hi && cps[start].cls == 0 {
				pos = start
				for pos < hi && cps[pos].cls == 0 {
					pos++
				}
				for pos < hi && isCRLF(cps[pos].r) {
					pos++
				}
				emit(pos)
				continue
			}
			// \s*[\r\n]+: the whitespace run up to its last \r or \n.
			n, lastNL := 0, -1
			for pos+n < hi && cps[pos+n].cls == clsSpace {
				if isCRLF(cps[pos+n].r) {
					lastNL = pos + n
				}
				n++
			}
			if lastNL >= 0 {
				pos = lastNL + 1
				emit(pos)
				continue
			}
			pos = whitespace(cps, lo, hi, pos, emit)
		}
	}
}

// eachNumberStage: \p{N}, every number character a piece of its own.
func eachNumberStage(cps []cpt, lo, hi int, emit func(int)) {
	for pos := lo; pos < hi; pos++ {
		if cps[pos].cls == clsNumber {
			emit(pos)
			emit(pos + 1)
		}
	}
}

// punctRunStage: [\p{P}\$\+<=>\^~\|]+
func punctRunStage(cps []cpt, lo, hi int, emit func(int)) {
	isP := func(r rune) bool {
		switch r {
		case '$', '+', '<', '=', '>', '^', '~', '|':
			return true
		}
		return r >= 0 && unicode.IsPunct(r)
	}
	for pos := lo; pos < hi; {
		if !isP(cps[pos].r) {
			pos++
			continue
		}
		emit(pos)
		for pos < hi && isP(cps[pos].r) {
			pos++
		}
		emit(pos)
	}
}

// numberRunStage: \p{N}+
func numberRunStage(cps []cpt, lo, hi int, emit func(int)) {
	for pos := lo; pos < hi; {
		if cps[pos].cls != clsNumber {
			pos++
			continue
		}
		emit(pos)
		for pos < hi && cps[pos].cls == clsNumber {
			pos++
		}
		emit(pos)
	}
}

// asciiDigitTripleStage: [0-9][0-9][0-9]
func asciiDigitTripleStage(cps []cpt, lo, hi int, emit func(int)) {
	isD := func(i int) bool { return i < hi && '0' <= cps[i].r && cps[i].r <= '9' }
	for pos := lo; pos < hi; {
		if isD(pos) && isD(pos+1) && isD(pos+2) {
			emit(pos)
			pos += 3
			emit(pos)
			continue
		}
		pos++
	}
}
