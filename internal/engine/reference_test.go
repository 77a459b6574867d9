package engine

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"testing"

	"sov.dev/sov/internal/gguf"
	"sov.dev/sov/internal/quant"
	"sov.dev/sov/internal/synth"
)

// synthModel writes a synthetic model and loads it from memory.
func synthModel(t testing.TB, arch, preset, ftype string, seed uint64) *Model {
	t.Helper()
	p, err := synth.FindPreset(arch, preset)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := synth.WriteModel(&buf, synth.ModelSpec{Preset: p, FileType: ftype, Seed: seed}); err != nil {
		t.Fatal(err)
	}
	m, err := FromBytes(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// refModel is a straightforward float64 implementation of the same forward
// pass, written from the architecture's definition and sharing no code with
// the engine but the dequantisation of the weights. It recomputes every
// position from scratch (no cache), so comparing with the engine at several
// positions also checks the KV cache.
type refModel struct {
	c       Config
	tensors map[string][]float64
	types   map[string]gguf.TensorType
}

func newRef(t *testing.T, m *Model) *refModel {
	t.Helper()
	return &refModel{c: m.Config, tensors: map[string][]float64{}, types: map[string]gguf.TensorType{}}
}

func (r *refModel) load(t *testing.T, raw []byte, f *gguf.File) {
	t.Helper()
	for _, ti := range f.Tensors {
		n := ti.Elements()
		size, _ := ti.Bytes()
		off := f.TensorOffset(ti)
		out := make([]float32, n)
		if err := quant.Dequantize(ti.Type, raw[off:off+int64(size)], out); err != nil {
			t.Fatalf("%s: %v", ti.Name, err)
		}
		v := make([]float64, n)
		for i, x := range out {
			v[i] = float64(x)
		}
		r.tensors[ti.Name] = v
		r.types[ti.Name] = ti.Type
	}
}

// mv multiplies weight tensor name with x the way ggml's scheme does: the
// activations are first rounded through the 8-bit format the weight type
// is multiplied with (quant.VecDotType); then everything is float64.
func (r *refModel) mv(name string, x []float64, rows int) []float64 {
	vt := quant.VecDotType(r.types[name])
	if vt != gguf.TypeF32 {
		x32 := make([]float32, len(x))
		for i, v := range x {
			x32[i] = float32(v)
		}
		act := make([]byte, quant.ActivationBytes(vt, len(x)))
		quant.QuantizeActivations(vt, x32, act)
		x = dequantActivations(vt, act, len(x))
	}
	return refMatvec(r.tensors[name], x, rows)
}

// dequantActivations expands 8-bit activation blocks to float64 (Q8_0 and
// Q8_1 carry an f16 scale first, Q8_K a float32 scale).
func dequantActivations(vt gguf.TensorType, act []byte, n int) []float64 {
	out := make([]float64, n)
	switch vt {
	case gguf.TypeQ8_0, quant.TypeQ8_1:
		stride, off := 34, 2
		if vt == quant.TypeQ8_1 {
			stride, off = 36, 4
		}
		for b := 0; b < n/32; b++ {
			d := float64(quant.F16ToF32(uint16(act[b*stride]) | uint16(act[b*stride+1])<<8))
			for j := 0; j < 32; j++ {
				out[32*b+j] = d * float64(int8(act[b*stride+off+j]))
			}
		}
	case gguf.TypeQ8_K:
		for b := 0; b < n/256; b++ {
			blk := act[b*292:]
			d := float64(math.Float32frombits(uint32(blk[0]) | uint32(blk[1])<<8 | uint32(blk[2])<<16 | uint32(blk[3])<<24))
			for j := 0; j < 256; j++ {
				out[256*b+j] = d * float64(int8(blk[4+j]))
			}
		}
	}
	return out
}

// matvec: W has rows of length cols (ggml dims [cols, rows]).
func refMatvec(w []float64, x []float64, rows int) []float64 {
	cols := len(x)
	out := make([]float64, rows)
	for r := 0; r < rows; r++ {
		var s float64
		for c := 0; c < cols; c++ {
			s += w[r*cols+c] * x[c]
		}
		out[r] = s
	}
	return out
}

func refRMSNorm(x, w []float64, eps float64) []float64 {
	var ss float64
	for _, v := range x {
		ss += v * v
	}
	s := 1 / math.Sqrt(ss/float64(len(x))+eps)
	out := make([]float64, len(x))
	for i := range x {
		out[i] = x[i] * s * w[i]
	}
	return out
}

func (r *refModel) rope(v []float64, pos int, factors []float64) {
	c := r.c
	half := c.RopeDim / 2
	for i := 0; i < half; i++ {
		freq := math.Pow(c.RopeBase, -2*float64(i)/float64(c.RopeDim))
		if factors != nil {
			freq /= factors[i]
		}
		theta := float64(pos) / c.RopeScale * freq
		cos, sin := math.Cos(theta), math.Sin(theta)
		var a, b int
		if c.Arch == "llama" {
			a, b = 2*i, 2*i+1
		} else {
			a, b = i, i+half
		}
		va, vb := v[a], v[b]
		v[a] = va*cos - vb*sin
		v[b] = va*sin + vb*cos
	}
}

// logits returns the logits after each token of tokens.
func (r *refModel) logits(tokens []int32) [][]float64 {
	c := r.c
	T := r.tensors
	eps := float64(c.NormEps)
	hd := c.HeadDim
	type kv struct{ k, v [][]float64 } // per layer, per position
	cache := make([]kv, c.Layers)
	var out [][]float64
	emb := T["token_embd.weight"]
	outName := "output.weight"
	if T[outName] == nil {
		outName = "token_embd.weight"
	}
	factors := T["rope_freqs.weight"]
	for pos, tok := range tokens {
		x := append([]float64(nil), emb[int(tok)*c.Embd:(int(tok)+1)*c.Embd]...)
		for l := 0; l < c.Layers; l++ {
			p := fmt.Sprintf("blk.%d.", l)
			h := refRMSNorm(x, T[p+"attn_norm.weight"], eps)
			q := r.mv(p+"attn_q.weight", h, c.Heads*hd)
			k := r.mv(p+"attn_k.weight", h, c.HeadsKV*hd)
			v := r.mv(p+"attn_v.weight", h, c.HeadsKV*hd)
			if b := T[p+"attn_q.bias"]; b != nil {
				for i := range q {
					q[i] += b[i]
				}
				for i := range k {
					k[i] += T[p+"attn_k.bias"][i]
				}
				for i := range v {
					v[i] += T[p+"attn_v.bias"][i]
				}
			}
			for hh := 0; hh < c.Heads; hh++ {
				seg := q[hh*hd : (hh+1)*hd]
				if w := T[p+"attn_q_norm.weight"]; w != nil {
					copy(seg, refRMSNorm(seg, w, eps))
				}
				r.rope(seg, pos, factors)
			}
			for hh := 0; hh < c.HeadsKV; hh++ {
				seg := k[hh*hd : (hh+1)*hd]
				if w := T[p+"attn_k_norm.weight"]; w != nil {
					copy(seg, refRMSNorm(seg, w, eps))
				}
				r.rope(seg, pos, factors)
			}
			cache[l].k = append(cache[l].k, k)
			cache[l].v = append(cache[l].v, v)
			att := make([]float64, c.Heads*hd)
			for hh := 0; hh < c.Heads; hh++ {
				g := hh / (c.Heads / c.HeadsKV)
				scores := make([]float64, pos+1)
				maxS := math.Inf(-1)
				for t := 0; t <= pos; t++ {
					var s float64
					for i := 0; i < hd; i++ {
						s += q[hh*hd+i] * cache[l].k[t][g*hd+i]
					}
					scores[t] = s / math.Sqrt(float64(hd))
					maxS = math.Max(maxS, scores[t])
				}
				var sum float64
				for t := range scores {
					scores[t] = math.Exp(scores[t] - maxS)
					sum += scores[t]
				}
				for t := range scores {
					for i := 0; i < hd; i++ {
						att[hh*hd+i] += scores[t] / sum * cache[l].v[t][g*hd+i]
					}
				}
			}
			o := r.mv(p+"attn_output.weight", att, c.Embd)
			for i := range x {
				x[i] += o[i]
			}
			h = refRMSNorm(x, T[p+"ffn_norm.weight"], eps)
			g := r.mv(p+"ffn_gate.weight", h, c.FF)
			u := r.mv(p+"ffn_up.weight", h, c.FF)
			for i := range g {
				g[i] = g[i] / (1 + math.Exp(-g[i])) * u[i]
			}
			d := r.mv(p+"ffn_down.weight", g, c.Embd)
			for i := range x {
				x[i] += d[i]
			}
		}
		h := refRMSNorm(x, T["output_norm.weight"], eps)
		out = append(out, r.mv(outName, h, c.Vocab))
	}
	return out
}

// TestLogitsMatchReference compares the engine's logits with the float64
// reference at every position of a short sequence, for each architecture
// and every weight type. The tolerance is relative to the largest logit.
// With float weights the engine computes in float32 and agrees with float64
// to a few parts in 10^4. With quantised weights both round activations to
// 8 bits, but an activation that lands next to a rounding boundary can
// round the other way after float32 and float64 disagree in its last bit;
// each such flip moves the logits by up to about 1%, so the tolerance is
// wider there (a wrong block layout or formula is off by far more).
func TestLogitsMatchReference(t *testing.T) {
	for _, arch := range Architectures {
		for _, ftype := range []string{"F32", "F16", "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q6_K", "Q5_K_M", "Q4_K_M"} {
			t.Run(arch+"/"+ftype, func(t *testing.T) {
				p, err := synth.FindPreset(arch, "tiny")
				if err != nil {
					t.Fatal(err)
				}
				var buf bytes.Buffer
				if err := synth.WriteModel(&buf, synth.ModelSpec{Preset: p, FileType: ftype, Seed: 7}); err != nil {
					t.Fatal(err)
				}
				raw := buf.Bytes()
				m, err := FromBytes(raw)
				if err != nil {
					t.Fatal(err)
				}
				ref := newRef(t, m)
				ref.load(t, raw, m.File)
				tol := 2e-3
				if ftype != "F32" && ftype != "F16" {
					tol = 3e-2
				}
				tokens := []int32{1, 17, 42, 3, 99, 5, 250, 8}
				want := ref.logits(tokens)

				s, err := m.NewSession(SessionOptions{ContextLen: 32, Threads: 2})
				if err != nil {
					t.Fatal(err)
				}
				defer s.Close()
				for pos, tok := range tokens {
					got, err := s.Eval(tok)
					if err != nil {
						t.Fatal(err)
					}
					var maxAbs, maxDiff float64
					for i := range got {
						maxAbs = math.Max(maxAbs, math.Abs(want[pos][i]))
						maxDiff = math.Max(maxDiff, math.Abs(float64(got[i])-want[pos][i]))
					}
					if testing.Verbose() {
						t.Logf("position %d: max diff %g, max logit %g", pos, maxDiff, maxAbs)
					}
					if maxAbs == 0 || math.IsNaN(maxDiff) || maxDiff > tol*maxAbs {
						t.Fatalf("position %d: max |engine − reference| = %g, max |logit| = %g (tolerance %g relative)", pos, maxDiff, maxAbs, tol)
					}
				}
			})
		}
	}
}

func TestGreedyIndependentOfThreads(t *testing.T) {
	m := synthModel(t, "qwen2", "tiny", "Q4_K_M", 3)
	var first []int32
	for _, threads := range []int{1, 2, 3, 4, 7} {
		s, err := m.NewSession(SessionOptions{ContextLen: 64, Threads: threads})
		if err != nil {
			t.Fatal(err)
		}
		logits, err := s.Prefill(context.Background(), []int32{1, 2, 3, 4, 5})
		if err != nil {
			t.Fatal(err)
		}
		var got []int32
		for range 20 {
			best := int32(0)
			for i, l := range logits {
				if l > logits[best] {
					best = int32(i)
				}
			}
			got = append(got, best)
			if logits, err = s.Eval(best); err != nil {
				t.Fatal(err)
			}
		}
		s.Close()
		if first == nil {
			first = got
			continue
		}
		for i := range got {
			if got[i] != first[i] {
				t.Fatalf("threads=%d: tokens %v, threads=1: %v", threads, got, first)
			}
		}
	}
}
