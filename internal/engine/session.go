package engine

import (
	"context"
	"errors"
	"fmt"
	"math"
)

// ErrContextFull is wrapped when tokens do not fit in a session's context.
var ErrContextFull = errors.New("context length exceeded")

// Session is one conversation's state: the KV cache and the tokens in it,
// plus scratch buffers, so that evaluating a token allocates nothing. It is
// not safe for concurrent use.
type Session struct {
	m      *Model
	pool   *pool
	ctxLen int
	tokens []int32 // the tokens whose keys and values are cached

	kCache, vCache [][]float32 // per layer: ctxLen × HeadsKV × HeadDim

	// scratch
	x, xb, xb2, q, k, v, att, hb, hb2, logits []float32
	ropeCos, ropeSin                          []float32
	invFreq                                   []float64
}

// SessionOptions configure NewSession.
type SessionOptions struct {
	// ContextLen is the number of tokens the session can hold (0: the
	// model's trained context, capped at 4096).
	ContextLen int
	// Threads is the number of worker goroutines (0: 1).
	Threads int
}

// NewSession allocates a KV cache for up to opts.ContextLen tokens.
func (m *Model) NewSession(opts SessionOptions) (*Session, error) {
	n := opts.ContextLen
	if n == 0 {
		n = min(m.ContextLen, 4096)
	}
	if n < 1 {
		return nil, fmt.Errorf("context length %d is too small", n)
	}
	if n > m.ContextLen {
		return nil, fmt.Errorf("context length %d exceeds the model's %d", n, m.ContextLen)
	}
	c := m.Config
	kv := c.HeadsKV * c.HeadDim
	s := &Session{
		m:       m,
		pool:    newPool(opts.Threads),
		ctxLen:  n,
		kCache:  make([][]float32, c.Layers),
		vCache:  make([][]float32, c.Layers),
		x:       make([]float32, c.Embd),
		xb:      make([]float32, max(c.Embd, c.Heads*c.HeadDim)),
		xb2:     make([]float32, c.Embd),
		q:       make([]float32, c.Heads*c.HeadDim),
		k:       make([]float32, kv),
		v:       make([]float32, kv),
		att:     make([]float32, c.Heads*n),
		hb:      make([]float32, c.FF),
		hb2:     make([]float32, c.FF),
		logits:  make([]float32, c.Vocab),
		ropeCos: make([]float32, c.RopeDim/2),
		ropeSin: make([]float32, c.RopeDim/2),
		invFreq: make([]float64, c.RopeDim/2),
	}
	for l := range c.Layers {
		s.kCache[l] = make([]float32, n*kv)
		s.vCache[l] = make([]float32, n*kv)
	}
	for i := range s.invFreq {
		f := math.Pow(c.RopeBase, -2*float64(i)/float64(c.RopeDim))
		if m.RopeFactors != nil {
			f /= float64(m.RopeFactors[i])
		}
		s.invFreq[i] = f
	}
	return s, nil
}

// Close stops the session's workers.
func (s *Session) Close() { s.pool.close() }

// ContextLen is the number of tokens the session can hold.
func (s *Session) ContextLen() int { return s.ctxLen }

// Tokens returns the tokens currently in the cache.
func (s *Session) Tokens() []int32 { return s.tokens }

// Reset empties the cache.
func (s *Session) Reset() { s.tokens = s.tokens[:0] }

// Prefill makes the cache hold exactly tokens and returns the logits after
// the last one. Tokens already in the cache as a common prefix are not
// evaluated again (the last token always is, for its logits). The returned
// slice is reused by the next call.
func (s *Session) Prefill(ctx context.Context, tokens []int32) ([]float32, error) {
	if len(tokens) == 0 {
		return nil, errors.New("no tokens to evaluate")
	}
	if len(tokens) > s.ctxLen {
		return nil, fmt.Errorf("%w: %d tokens do not fit in a context of %d", ErrContextFull, len(tokens), s.ctxLen)
	}
	keep := 0
	for keep < len(s.tokens) && keep < len(tokens) && s.tokens[keep] == tokens[keep] {
		keep++
	}
	if keep == len(tokens) {
		keep--
	}
	s.tokens = s.tokens[:keep]
	var logits []float32
	for _, t := range tokens[keep:] {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		var err error
		if logits, err = s.Eval(t); err != nil {
			return nil, err
		}
	}
	return logits, nil
}

// Eval appends one token to the cache and returns the logits for the next
// token. The returned slice is reused by the next call.
func (s *Session) Eval(token int32) ([]float32, error) {
	m := s.m
	c := m.Config
	pos := len(s.tokens)
	if pos >= s.ctxLen {
		return nil, fmt.Errorf("%w: the context of %d tokens is full", ErrContextFull, s.ctxLen)
	}
	if token < 0 || int(token) >= c.Vocab {
		return nil, fmt.Errorf("token id %d is outside the vocabulary of %d", token, c.Vocab)
	}
	s.embed(token)
	s.ropeTables(pos)
	kvDim := c.HeadsKV * c.HeadDim
	for li := range m.layers {
		l := &m.layers[li]
		rmsnorm(s.xb[:c.Embd], s.x, l.attnNorm, c.NormEps)
		s.matvec(s.q, l.q, s.xb[:c.Embd])
		s.matvec(s.k, l.k, s.xb[:c.Embd])
		s.matvec(s.v, l.v, s.xb[:c.Embd])
		if l.qBias != nil {
			add(s.q, l.qBias)
			add(s.k, l.kBias)
			add(s.v, l.vBias)
		}
		if l.qNorm != nil {
			for h := 0; h < c.Heads; h++ {
				rmsnormInPlace(s.q[h*c.HeadDim:(h+1)*c.HeadDim], l.qNorm, c.NormEps)
			}
			for h := 0; h < c.HeadsKV; h++ {
				rmsnormInPlace(s.k[h*c.HeadDim:(h+1)*c.HeadDim], l.kNorm, c.NormEps)
			}
		}
		for h := 0; h < c.Heads; h++ {
			s.rope(s.q[h*c.HeadDim : (h+1)*c.HeadDim])
		}
		for h := 0; h < c.HeadsKV; h++ {
			s.rope(s.k[h*c.HeadDim : (h+1)*c.HeadDim])
		}
		copy(s.kCache[li][pos*kvDim:], s.k)
		copy(s.vCache[li][pos*kvDim:], s.v)
		s.attention(li, pos)
		s.matvec(s.xb2, l.o, s.xb[:c.Heads*c.HeadDim])
		add(s.x, s.xb2)

		rmsnorm(s.xb[:c.Embd], s.x, l.ffnNorm, c.NormEps)
		s.matvec(s.hb, l.gate, s.xb[:c.Embd])
		s.matvec(s.hb2, l.up, s.xb[:c.Embd])
		for i, g := range s.hb {
			s.hb[i] = silu(g) * s.hb2[i]
		}
		s.matvec(s.xb2, l.down, s.hb)
		add(s.x, s.xb2)
	}
	rmsnorm(s.xb[:c.Embd], s.x, m.outputNorm, c.NormEps)
	s.matvec(s.logits, m.output, s.xb[:c.Embd])
	s.tokens = append(s.tokens, token)
	return s.logits, nil
}

// embed loads token's embedding row into x.
func (s *Session) embed(token int32) {
	dequantizeRow(s.m.embd, int(token), s.x)
}

// ropeTables computes the rotation for position pos.
func (s *Session) ropeTables(pos int) {
	p := float64(pos) / s.m.RopeScale
	for i, f := range s.invFreq {
		sin, cos := math.Sincos(p * f)
		s.ropeCos[i], s.ropeSin[i] = float32(cos), float32(sin)
	}
}

// rope rotates one head's vector in place.
func (s *Session) rope(v []float32) {
	half := s.m.RopeDim / 2
	if s.m.ropeLayout == ropeNeoX {
		for i := 0; i < half; i++ {
			a, b := v[i], v[i+half]
			cos, sin := s.ropeCos[i], s.ropeSin[i]
			v[i] = a*cos - b*sin
			v[i+half] = a*sin + b*cos
		}
		return
	}
	for i := 0; i < half; i++ {
		a, b := v[2*i], v[2*i+1]
		cos, sin := s.ropeCos[i], s.ropeSin[i]
		v[2*i] = a*cos - b*sin
		v[2*i+1] = a*sin + b*cos
	}
}

// attention computes every head's attention over positions 0..pos into xb.
func (s *Session) attention(layer, pos int) {
	c := s.m.Config
	kvDim := c.HeadsKV * c.HeadDim
	group := c.Heads / c.HeadsKV
	scale := float32(1 / math.Sqrt(float64(c.HeadDim)))
	kc, vc := s.kCache[layer], s.vCache[layer]
	s.pool.run(c.Heads, 1, func(start, end int) {
		for h := start; h < end; h++ {
			q := s.q[h*c.HeadDim : (h+1)*c.HeadDim]
			kvOff := (h / group) * c.HeadDim
			att := s.att[h*s.ctxLen : h*s.ctxLen+pos+1]
			for t := 0; t <= pos; t++ {
				att[t] = dot(q, kc[t*kvDim+kvOff:t*kvDim+kvOff+c.HeadDim]) * scale
			}
			softmaxInPlace(att)
			out := s.xb[h*c.HeadDim : (h+1)*c.HeadDim]
			clear(out)
			for t := 0; t <= pos; t++ {
				axpy(out, att[t], vc[t*kvDim+kvOff:t*kvDim+kvOff+c.HeadDim])
			}
		}
	})
}

// matvec sets out = W·x, splitting W's rows over the workers.
func (s *Session) matvec(out []float32, w *Tensor, x []float32) {
	s.pool.run(w.Rows, 16, func(start, end int) {
		matvecRows(out, w, x, start, end)
	})
}
