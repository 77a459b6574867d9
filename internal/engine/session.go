package engine

import (
	"context"
	"errors"
	"fmt"
	"math"

	"sov.dev/sov/internal/gguf"
	"sov.dev/sov/internal/quant"
)

// ErrContextFull is wrapped when tokens do not fit in a session's context.
var ErrContextFull = errors.New("context length exceeded")

// MaxBatch is how many prompt tokens are evaluated together: each weight
// row is then read from memory once per batch instead of once per token.
const MaxBatch = 64

// Session is one conversation's state: the KV cache and the tokens in it,
// plus every buffer evaluation needs, allocated once, so that evaluating
// tokens allocates nothing. It is not safe for concurrent use.
type Session struct {
	m      *Model
	pool   *pool
	ctxLen int
	tokens []int32 // the tokens whose keys and values are cached

	kCache, vCache [][]float32 // per layer: ctxLen × HeadsKV × HeadDim

	// Per batch row: the residual stream and intermediate values.
	x, xb, q, k, v, attOut, hb, hb2, tmp matrix
	// Quantised activations of the inputs to matrix products.
	xbAct, attAct, hbAct activations

	scores  [][]float32 // per worker: ctxLen attention weights
	logits  []float32
	logitsM matrix // logits as a one-row matrix
	one     [1]int32
	cos     [][]float32 // per batch row: RoPE rotation
	sin     [][]float32
	invFreq []float64

	mm   matmulJob
	attn attentionJob
	glu  gluJob
	qj   quantJob
}

// gluJob sets hb = silu(hb) ⊙ hb2 for the batch's rows, split over the
// workers by feature.
type gluJob struct {
	s *Session
	n int
}

func (j *gluJob) run(start, end, _ int) {
	s := j.s
	for i := range j.n {
		quant.SwiGLUF32(s.hb.row(i)[start:end], s.hb2.row(i)[start:end])
	}
}

// matrix is rows of equal width in one slice.
type matrix struct {
	data  []float32
	width int
}

func newMatrix(rows, width int) matrix {
	return matrix{data: make([]float32, rows*width), width: width}
}

func (m matrix) row(i int) []float32 { return m.data[i*m.width : (i+1)*m.width] }

// activations caches the rows of a matrix quantised for each activation
// format a weight type needs; invalidate after the matrix changes.
type activations struct {
	src   *matrix
	buf   map[gguf.TensorType][]byte
	valid map[gguf.TensorType]int // rows quantised
}

func newActivations(src *matrix, rows int) activations {
	a := activations{src: src, buf: map[gguf.TensorType][]byte{}, valid: map[gguf.TensorType]int{}}
	for _, vt := range []gguf.TensorType{gguf.TypeF32, gguf.TypeQ8_0, quant.TypeQ8_1, gguf.TypeQ8_K} {
		if src.width%256 == 0 || vt != gguf.TypeQ8_K {
			if src.width%32 == 0 || vt == gguf.TypeF32 {
				a.buf[vt] = make([]byte, rows*quant.ActivationBytes(vt, src.width))
			}
		}
	}
	return a
}

func (a *activations) invalidate() { clear(a.valid) }

// quantJob quantises rows [from+start, from+end) of an activations' source
// into format vt.
type quantJob struct {
	a      *activations
	vt     gguf.TensorType
	from   int
	stride int
}

func (j *quantJob) run(start, end, _ int) {
	buf := j.a.buf[j.vt]
	for r := j.from + start; r < j.from+end; r++ {
		quant.QuantizeActivations(j.vt, j.a.src.row(r), buf[r*j.stride:(r+1)*j.stride])
	}
}

// acts returns the first n rows of a in format vt, quantising the rows not
// yet quantised, split over the workers.
func (s *Session) acts(a *activations, vt gguf.TensorType, n int) ([]byte, int) {
	stride := quant.ActivationBytes(vt, a.src.width)
	if v := a.valid[vt]; v < n {
		s.qj = quantJob{a: a, vt: vt, from: v, stride: stride}
		s.pool.run(n-v, 1, &s.qj)
		a.valid[vt] = n
	}
	return a.buf[vt], stride
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
	qd := c.Heads * c.HeadDim
	threads := max(opts.Threads, 1)
	s := &Session{
		m:       m,
		pool:    newPool(threads),
		ctxLen:  n,
		kCache:  make([][]float32, c.Layers),
		vCache:  make([][]float32, c.Layers),
		x:       newMatrix(MaxBatch, c.Embd),
		xb:      newMatrix(MaxBatch, c.Embd),
		q:       newMatrix(MaxBatch, qd),
		k:       newMatrix(MaxBatch, kv),
		v:       newMatrix(MaxBatch, kv),
		attOut:  newMatrix(MaxBatch, qd),
		hb:      newMatrix(MaxBatch, c.FF),
		hb2:     newMatrix(MaxBatch, c.FF),
		tmp:     newMatrix(MaxBatch, c.Embd),
		logits:  make([]float32, c.Vocab),
		invFreq: make([]float64, c.RopeDim/2),
	}
	s.xbAct = newActivations(&s.xb, MaxBatch)
	s.attAct = newActivations(&s.attOut, MaxBatch)
	s.hbAct = newActivations(&s.hb, MaxBatch)
	for range threads {
		s.scores = append(s.scores, make([]float32, n))
	}
	for range MaxBatch {
		s.cos = append(s.cos, make([]float32, c.RopeDim/2))
		s.sin = append(s.sin, make([]float32, c.RopeDim/2))
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
	s.attn.s = s
	s.glu.s = s
	s.logitsM = matrix{data: s.logits, width: c.Vocab}
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
// evaluated again (the last token always is, for its logits); the rest are
// evaluated in batches. The returned slice is reused by the next call.
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
	rest := tokens[keep:]
	for len(rest) > 0 {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		n := min(len(rest), MaxBatch)
		if err := s.evalBatch(rest[:n], n == len(rest)); err != nil {
			return nil, err
		}
		rest = rest[n:]
	}
	return s.logits, nil
}

// Eval appends one token to the cache and returns the logits for the next
// token. The returned slice is reused by the next call.
func (s *Session) Eval(token int32) ([]float32, error) {
	s.one[0] = token
	if err := s.evalBatch(s.one[:], true); err != nil {
		return nil, err
	}
	return s.logits, nil
}

// evalBatch appends tokens (at most MaxBatch) to the cache; with logits it
// also computes the logits after the last one.
func (s *Session) evalBatch(tokens []int32, logits bool) error {
	m := s.m
	c := m.Config
	n := len(tokens)
	base := len(s.tokens)
	if base+n > s.ctxLen {
		return fmt.Errorf("%w: the context of %d tokens is full", ErrContextFull, s.ctxLen)
	}
	for i, t := range tokens {
		if t < 0 || int(t) >= c.Vocab {
			return fmt.Errorf("token id %d is outside the vocabulary of %d", t, c.Vocab)
		}
		dequantizeRow(m.embd, int(t), s.x.row(i))
		s.ropeTables(i, base+i)
	}
	kvDim := c.HeadsKV * c.HeadDim
	for li := range m.layers {
		l := &m.layers[li]
		for i := range n {
			rmsnorm(s.xb.row(i), s.x.row(i), l.attnNorm, c.NormEps)
		}
		s.xbAct.invalidate()
		s.matmul(&s.xbAct, n, mm{&s.q, l.q}, mm{&s.k, l.k}, mm{&s.v, l.v})
		for i := range n {
			q, k, v := s.q.row(i), s.k.row(i), s.v.row(i)
			if l.qBias != nil {
				add(q, l.qBias)
				add(k, l.kBias)
				add(v, l.vBias)
			}
			for h := 0; h < c.Heads; h++ {
				seg := q[h*c.HeadDim : (h+1)*c.HeadDim]
				if l.qNorm != nil {
					rmsnormInPlace(seg, l.qNorm, c.NormEps)
				}
				s.rope(seg, i)
			}
			for h := 0; h < c.HeadsKV; h++ {
				seg := k[h*c.HeadDim : (h+1)*c.HeadDim]
				if l.kNorm != nil {
					rmsnormInPlace(seg, l.kNorm, c.NormEps)
				}
				s.rope(seg, i)
			}
			copy(s.kCache[li][(base+i)*kvDim:], k)
			copy(s.vCache[li][(base+i)*kvDim:], v)
		}
		s.attn.layer, s.attn.base, s.attn.n = li, base, n
		s.pool.runBalanced(n*c.Heads, 1, &s.attn) // later rows attend to more positions
		s.attAct.invalidate()
		s.matmul(&s.attAct, n, mm{&s.tmp, l.o})
		for i := range n {
			add(s.x.row(i), s.tmp.row(i))
			rmsnorm(s.xb.row(i), s.x.row(i), l.ffnNorm, c.NormEps)
		}
		s.xbAct.invalidate()
		s.matmul(&s.xbAct, n, mm{&s.hb, l.gate}, mm{&s.hb2, l.up})
		s.glu.n = n
		s.pool.run(c.FF, 64, &s.glu)
		s.hbAct.invalidate()
		s.matmul(&s.hbAct, n, mm{&s.tmp, l.down})
		for i := range n {
			add(s.x.row(i), s.tmp.row(i))
		}
	}
	s.tokens = append(s.tokens, tokens...)
	if logits {
		last := n - 1
		rmsnorm(s.xb.row(0), s.x.row(last), m.outputNorm, c.NormEps)
		s.xbAct.invalidate()
		s.matmul(&s.xbAct, 1, mm{&s.logitsM, m.output})
	}
	return nil
}

// ropeTables computes the rotation of batch row i, at position pos.
func (s *Session) ropeTables(i, pos int) {
	p := float64(pos) / s.m.RopeScale
	for j, f := range s.invFreq {
		sin, cos := math.Sincos(p * f)
		s.cos[i][j], s.sin[i][j] = float32(cos), float32(sin)
	}
}

// rope rotates one head's vector of batch row i in place.
func (s *Session) rope(v []float32, i int) {
	half := s.m.RopeDim / 2
	cs, sn := s.cos[i], s.sin[i]
	if s.m.ropeLayout == ropeNeoX {
		for j := 0; j < half; j++ {
			a, b := v[j], v[j+half]
			v[j] = a*cs[j] - b*sn[j]
			v[j+half] = a*sn[j] + b*cs[j]
		}
		return
	}
	for j := 0; j < half; j++ {
		a, b := v[2*j], v[2*j+1]
		v[2*j] = a*cs[j] - b*sn[j]
		v[2*j+1] = a*sn[j] + b*cs[j]
	}
}

// attentionJob computes, for each (batch row, head) pair in its range, the
// head's causal attention over the cache into attOut.
type attentionJob struct {
	s              *Session
	layer, base, n int
}

func (j *attentionJob) run(start, end, w int) {
	s := j.s
	c := s.m.Config
	kvDim := c.HeadsKV * c.HeadDim
	group := c.Heads / c.HeadsKV
	scale := float32(1 / math.Sqrt(float64(c.HeadDim)))
	kc, vc := s.kCache[j.layer], s.vCache[j.layer]
	for item := start; item < end; item++ {
		i, h := item/c.Heads, item%c.Heads
		pos := j.base + i
		q := s.q.row(i)[h*c.HeadDim : (h+1)*c.HeadDim]
		kvOff := (h / group) * c.HeadDim
		att := s.scores[w][:pos+1]
		quant.DotRowsF32(q, kc[kvOff:], kvDim, pos+1, att)
		quant.ScaleF32(att, scale)
		softmaxInPlace(att)
		out := s.attOut.row(i)[h*c.HeadDim : (h+1)*c.HeadDim]
		clear(out)
		quant.AxpyRowsF32(out, att, vc[kvOff:], kvDim, pos+1)
	}
}

// matmulJob computes out[b][r] = W[r]·in[b] for every batch row b and the
// rows in its range of up to three matrices that share an input (q, k and
// v; gate and up), their rows numbered one after another, so that one
// dispatch to the workers serves them all.
type matmulJob struct {
	parts [3]mmPart
	np    int // parts in use
	n     int // batch rows
}

// mmPart is one matrix of a matmulJob.
type mmPart struct {
	out    *matrix
	w      *Tensor
	act    []byte
	stride int
	first  int // the part's first row in the job's numbering
	gemm   quant.GemmFunc
}

// mm names one product of Session.matmul: out = w·in.
type mm struct {
	out *matrix
	w   *Tensor
}

// rowBlock aligns the workers' row ranges.
const rowBlock = 16

func (j *matmulJob) run(start, end, _ int) {
	for i := range j.np {
		p := &j.parts[i]
		lo, hi := max(start, p.first)-p.first, min(end, p.first+p.w.Rows)-p.first
		if lo >= hi {
			continue
		}
		w := p.w
		if w.packed != nil {
			if j.n > 1 {
				w.packed.Gemm(lo, hi, p.act, p.stride, j.n, p.out.data[lo:], p.out.width)
			} else {
				w.packed.MatVec(lo, hi, p.act[:p.stride], p.out.data[lo:hi])
			}
			continue
		}
		data := w.Data[lo*w.RowBytes : hi*w.RowBytes]
		if j.n > 1 {
			// Several tokens: a tiled kernel keeps rows and tokens in registers.
			p.gemm(data, w.RowBytes, hi-lo, p.act, p.stride, j.n, p.out.data[lo:], p.out.width, w.Cols)
			continue
		}
		w.rows(data, w.RowBytes, hi-lo, p.act[:p.stride], w.Cols, p.out.data[lo:hi])
	}
}

// matmul sets the first n rows of each product's out to its W times the
// first n rows of in, splitting the rows of all of them over the workers
// in one dispatch. It takes at most three products.
func (s *Session) matmul(in *activations, n int, mats ...mm) {
	j := &s.mm
	j.np, j.n = len(mats), n
	rows := 0
	for i, m := range mats {
		act, stride := s.acts(in, quant.VecDotType(m.w.Type), n)
		p := mmPart{out: m.out, w: m.w, act: act, stride: stride, first: rows}
		if n > 1 {
			p.gemm = quant.Gemm(m.w.Type)
		}
		j.parts[i] = p
		rows += m.w.Rows
	}
	if n == 1 {
		// Any row may go to any worker; a batch keeps fixed parts, as a
		// tiled kernel packs the activations once per call.
		s.pool.runBalanced(rows, rowBlock, j)
	} else {
		s.pool.run(rows, rowBlock, j)
	}
	clear(j.parts[:])
}
