package tokenizer

import "unicode/utf8"

// Byte-level BPE (GPT-2 and the models that reuse its scheme): every byte
// of a word is mapped to a printable character, words are built from
// those characters by applying merges in rank order, and decoding maps
// the characters back to bytes.

// byteChars[b] is GPT-2's printable stand-in for byte b: the byte itself
// for the printable ranges '!'…'~', '¡'…'¬' and '®'…'ÿ', and U+0100
// onwards, in byte order, for the other 68.
var byteChars, charBytes = func() ([256]string, map[rune]byte) {
	var chars [256]string
	back := make(map[rune]byte, 256)
	n := 0
	for b := 0; b < 256; b++ {
		r := rune(b)
		if !printableByte(byte(b)) {
			r = rune(256 + n)
			n++
		}
		chars[b] = string(r)
		back[r] = byte(b)
	}
	return chars, back
}()

func printableByte(b byte) bool {
	return '!' <= b && b <= '~' || 0xA1 <= b && b <= 0xAC || 0xAE <= b
}

// ByteOrder returns the 256 bytes in the order GPT-2 numbers their
// tokens: the printable ranges first, then the rest. ByteChar(ByteOrder()[i])
// is the text of token i in a GPT-2-style vocabulary.
func ByteOrder() []byte {
	var out []byte
	for b := 0; b < 256; b++ {
		if printableByte(byte(b)) {
			out = append(out, byte(b))
		}
	}
	for b := 0; b < 256; b++ {
		if !printableByte(byte(b)) {
			out = append(out, byte(b))
		}
	}
	return out
}

// ByteChar returns the character byte-level BPE uses for b ("Ġ" for a
// space, "Ċ" for a newline).
func ByteChar(b byte) string { return byteChars[b] }

// ByteLevel maps every byte of s to its byte-level character, the form in
// which byte-level BPE vocabularies and merges store text.
func ByteLevel(s string) string {
	return string(appendByteLevel(nil, s))
}

func appendByteLevel(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		dst = append(dst, byteChars[s[i]]...)
	}
	return dst
}

// decodeByteLevel maps byte-level characters back to bytes; a character
// outside the mapping is kept as it is.
func decodeByteLevel(s string) string {
	out := make([]byte, 0, len(s))
	for _, r := range s {
		if b, ok := charBytes[r]; ok {
			out = append(out, b)
		} else {
			out = utf8.AppendRune(out, r)
		}
	}
	return string(out)
}

// merge is one entry of the merge table: the rank (position in
// tokenizer.ggml.merges; lower merges first) and the merged token.
type merge struct {
	rank int32
	id   int32
}

func pairKey(l, r int32) uint64 { return uint64(uint32(l))<<32 | uint64(uint32(r)) }

// symbol is a run of bytes in a word being merged, linked to its
// neighbours; n == 0 marks one merged into its left neighbour.
type symbol struct {
	id         int32
	start, n   int32
	prev, next int32
}

type bpeItem struct {
	rank, left, right, size, id int32
}

func (a bpeItem) less(b bpeItem) bool {
	return a.rank < b.rank || a.rank == b.rank && a.left < b.left
}

// bpeSession holds the scratch space of one Encode call.
type bpeSession struct {
	syms   []symbol
	queue  pq[bpeItem]
	mapped []byte
}

func (s *bpeSession) encode(t *Tokenizer, text string, out []int32) []int32 {
	start := 0
	for _, end := range t.split(text) {
		out = s.word(t, text[start:end], out)
		start = end
	}
	return out
}

// word encodes one pre-tokenised word, as llama.cpp's
// llm_tokenizer_bpe_session does: symbols start as single bytes and the
// adjacent pair of lowest rank merges until no pair has a merge.
func (s *bpeSession) word(t *Tokenizer, w string, out []int32) []int32 {
	if w == "" {
		return out
	}
	if t.ignoreMerges {
		s.mapped = appendByteLevel(s.mapped[:0], w)
		if id, ok := t.ids[string(s.mapped)]; ok {
			return append(out, id)
		}
	}
	s.syms = s.syms[:0]
	for i := 0; i < len(w); i++ {
		next := int32(i + 1)
		if i == len(w)-1 {
			next = -1
		}
		s.syms = append(s.syms, symbol{id: t.byteSym[w[i]], start: int32(i), n: 1, prev: int32(i - 1), next: next})
	}
	s.queue = s.queue[:0]
	for i := 1; i < len(s.syms); i++ {
		s.pair(t, int32(i-1), int32(i))
	}
	for len(s.queue) > 0 {
		it := s.queue.pop()
		l, r := &s.syms[it.left], &s.syms[it.right]
		if l.n == 0 || r.n == 0 || l.n+r.n != it.size {
			continue // stale: one side has changed since it was queued
		}
		l.n += r.n
		l.id = it.id
		r.n = 0
		l.next = r.next
		if r.next >= 0 {
			s.syms[r.next].prev = it.left
		}
		s.pair(t, l.prev, it.left)
		s.pair(t, it.left, l.next)
	}
	for i := int32(0); i >= 0; i = s.syms[i].next {
		switch id := s.syms[i].id; {
		case id >= 0:
			out = append(out, id)
		case t.unk >= 0:
			out = append(out, t.unk)
		}
	}
	return out
}

func (s *bpeSession) pair(t *Tokenizer, l, r int32) {
	if l < 0 || r < 0 {
		return
	}
	a, b := &s.syms[l], &s.syms[r]
	m, ok := t.merges[pairKey(a.id, b.id)]
	if !ok {
		return
	}
	s.queue.push(bpeItem{rank: m.rank, left: l, right: r, size: a.n + b.n, id: m.id})
}

// pq is a binary heap ordered by less (smallest first).
type pq[T interface{ less(T) bool }] []T

func (q *pq[T]) push(x T) {
	h := append(*q, x)
	i := len(h) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !h[i].less(h[p]) {
			break
		}
		h[i], h[p] = h[p], h[i]
		i = p
	}
	*q = h
}

func (q *pq[T]) pop() T {
	h := *q
	top := h[0]
	last := len(h) - 1
	h[0] = h[last]
	h = h[:last]
	for i := 0; ; {
		l, m := 2*i+1, i
		if l < len(h) && h[l].less(h[m]) {
			m = l
		}
		if r := l + 1; r < len(h) && h[r].less(h[m]) {
			m = r
		}
		if m == i {
			break
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
	*q = h
	return top
}
