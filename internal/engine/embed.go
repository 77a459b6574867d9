package engine

import (
	"context"
	"errors"
	"fmt"
	"math"
)

// Embed returns an embedding of tokens: the model's final hidden state
// (after the output norm) at every position, averaged (mean pooling) and
// scaled to unit length. The session is reset first and holds tokens
// afterwards; they are evaluated in batches of MaxBatch, without computing
// logits. Only the result is allocated. The vector has Config.Embd
// elements; an all-zero state (which cannot be normalised) gives a zero
// vector.
func (s *Session) Embed(ctx context.Context, tokens []int32) ([]float32, error) {
	if len(tokens) == 0 {
		return nil, errors.New("no tokens to embed")
	}
	if len(tokens) > s.ctxLen {
		return nil, fmt.Errorf("%w: %d tokens do not fit in a context of %d", ErrContextFull, len(tokens), s.ctxLen)
	}
	m := s.m
	eps := m.Config.NormEps
	s.Reset()
	out := make([]float32, m.Config.Embd)
	rest := tokens
	for len(rest) > 0 {
		if err := ctx.Err(); err != nil {
			s.Reset()
			return nil, err
		}
		n := min(len(rest), MaxBatch)
		if err := s.evalBatch(rest[:n], false); err != nil {
			s.Reset()
			return nil, err
		}
		h := s.xb.row(0)
		for i := range n {
			rmsnorm(h, s.x.row(i), m.outputNorm, eps)
			add(out, h)
		}
		// xb was written outside evalBatch: drop its quantised copies.
		s.xbAct.invalidate()
		rest = rest[n:]
	}
	// Averaging does not change the direction, so only the final L2 norm
	// matters; dividing by the count first keeps the sums' scale sane.
	inv := 1 / float64(len(tokens))
	var ss float64
	for i, v := range out {
		x := float64(v) * inv
		out[i] = float32(x)
		ss += x * x
	}
	if ss == 0 || math.IsNaN(ss) || math.IsInf(ss, 0) {
		if ss == 0 {
			return out, nil
		}
		return nil, fmt.Errorf("the hidden state is not finite (%v)", ss)
	}
	scale := 1 / math.Sqrt(ss)
	for i, v := range out {
		out[i] = float32(float64(v) * scale)
	}
	return out, nil
}
