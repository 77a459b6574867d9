package tokenizer

import "unicode/utf8"

// SentencePiece-style encoding as llama.cpp's llm_tokenizer_spm does it:
// spaces become "▁", the text starts as one symbol per character, and the
// adjacent pair whose concatenation is the highest-scoring token merges
// until no pair forms a token. A symbol left that is not a token is
// written as its bytes, <0xXX>.

type spmItem struct {
	score             float32
	left, right, size int32
	id                int32
}

// less orders the queue: highest score first, then leftmost.
func (a spmItem) less(b spmItem) bool {
	return a.score > b.score || a.score == b.score && a.left < b.left
}

// spmSession holds the scratch space of one Encode call.
type spmSession struct {
	buf   []byte
	syms  []symbol
	queue pq[spmItem]
}

const spaceMark = "▁" // U+2581, SentencePiece's stand-in for a space

// encode appends the tokens of text, preceded by a space if prefix.
func (s *spmSession) encode(t *Tokenizer, text string, prefix bool, out []int32) []int32 {
	s.buf = s.buf[:0]
	if prefix {
		s.buf = append(s.buf, spaceMark...)
	}
	for i := 0; i < len(text); i++ {
		if text[i] == ' ' {
			s.buf = append(s.buf, spaceMark...)
		} else {
			s.buf = append(s.buf, text[i])
		}
	}
	if len(s.buf) == 0 {
		return out
	}
	s.syms = s.syms[:0]
	for i := 0; i < len(s.buf); {
		_, w := utf8.DecodeRune(s.buf[i:]) // an invalid byte is a symbol of its own
		s.syms = append(s.syms, symbol{id: -1, start: int32(i), n: int32(w), prev: int32(len(s.syms) - 1), next: int32(len(s.syms) + 1)})
		i += w
	}
	s.syms[len(s.syms)-1].next = -1

	s.queue = s.queue[:0]
	for i := 1; i < len(s.syms); i++ {
		s.pair(t, int32(i-1), int32(i))
	}
	for len(s.queue) > 0 {
		it := s.queue.pop()
		l, r := &s.syms[it.left], &s.syms[it.right]
		if l.n == 0 || r.n == 0 || l.n+r.n != it.size {
			continue
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
		sym := &s.syms[i]
		id := sym.id
		if id < 0 {
			if x, ok := t.ids[string(s.buf[sym.start:sym.start+sym.n])]; ok {
				id = x
			}
		}
		if id >= 0 {
			out = append(out, id)
			continue
		}
		for _, b := range s.buf[sym.start : sym.start+sym.n] {
			switch {
			case t.byteTok[b] >= 0:
				out = append(out, t.byteTok[b])
			case t.unk >= 0:
				out = append(out, t.unk)
			}
		}
	}
	return out
}

// pair queues the merge of symbols l and r if their text is a token.
func (s *spmSession) pair(t *Tokenizer, l, r int32) {
	if l < 0 || r < 0 {
		return
	}
	a, b := &s.syms[l], &s.syms[r]
	id, ok := t.ids[string(s.buf[a.start:b.start+b.n])]
	if !ok {
		return
	}
	s.queue.push(spmItem{score: t.scores[id], left: l, right: r, size: a.n + b.n, id: id})
}
