package quant

import (
	"bytes"
	"encoding/binary"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"testing"

	"sov.dev/sov/internal/gguf"
)

// s32Types are the 32-element block weight types, whose kernels take Q8_0
// or Q8_1 activations.
var s32Types = []gguf.TensorType{gguf.TypeQ8_0, gguf.TypeQ4_0, gguf.TypeQ5_0, gguf.TypeQ4_1, gguf.TypeQ5_1}

// s32Sizes returns the bytes per block of weights of type t and of their
// activations.
func s32Sizes(t gguf.TensorType) (xs, ys int) {
	return int(t.TypeSize()), ActivationBytes(VecDotType(t), 32)
}

// s32Halves sets the fp16 fields of every block (stride bytes, fields at
// offs) to values drawn by h.
func s32Halves(b []byte, stride int, offs []int, h func(field int) uint16) {
	for blk := 0; blk+stride <= len(b); blk += stride {
		for f, off := range offs {
			binary.LittleEndian.PutUint16(b[blk+off:], h(f))
		}
	}
}

// s32Act returns nb activation blocks for weights of type t: quants from q,
// scale fields (d, and s for Q8_1) from h.
func s32Act(t gguf.TensorType, nb int, q func() int8, h func(field int) uint16) []byte {
	_, ys := s32Sizes(t)
	b := make([]byte, nb*ys)
	for blk := 0; blk < nb; blk++ {
		for j := 0; j < 32; j++ {
			b[blk*ys+ys-32+j] = byte(q())
		}
	}
	s32Halves(b, ys, []int{0, 2}[:(ys-32)/2], h) // d; d and s for Q8_1
	return b
}

// s32Row returns nb weight blocks of type t: random bytes (quants and
// Q5 high bits) overwritten with fill where fill ≥ 0, scale fields from h.
func s32Row(r *rand.Rand, t gguf.TensorType, nb, fill int, h func(field int) uint16) []byte {
	xs, _ := s32Sizes(t)
	b := make([]byte, nb*xs)
	for i := range b {
		b[i] = byte(r.Uint32())
		if fill >= 0 {
			b[i] = byte(fill)
		}
	}
	s32Halves(b, xs, halfFields[t], h)
	return b
}

// s32Norm is Σ over blocks of |dx·dy|·Σ|qx·qy| + |mx·sy|: the magnitude of
// every term a kernel adds, to bound the rounding of reordered sums.
func s32Norm(t gguf.TensorType, row, act []byte, nb int) float64 {
	xs, ys := s32Sizes(t)
	unit := append([]byte(nil), row[:nb*xs]...)
	s32Halves(unit, xs, halfFields[t], func(f int) uint16 { return []uint16{0x3c00, 0}[f] })
	w := mustDequantize(t, unit, 32*nb) // the integer quants
	var norm float64
	for blk := 0; blk < nb; blk++ {
		x, y := row[blk*xs:], act[blk*ys:]
		var s float64
		for j := 0; j < 32; j++ {
			s += math.Abs(float64(w[32*blk+j]) * float64(int8(y[ys-32+j])))
		}
		norm += math.Abs(float64(half(x)*half(y))) * s
		if ys == 36 {
			norm += math.Abs(float64(half(x[2:]) * half(y[2:])))
		}
	}
	return norm
}

// s32Close reports whether two sums of the same nb-block terms, added in
// different orders in float32, agree: both non-finite (an infinite scale
// against a zero lane gives NaN where the portable order gives ∞), or
// within the rounding of (nb+16) additions of terms of total size norm.
func s32Close(got, want float32, norm float64, nb int) bool {
	g, w := float64(got), float64(want)
	if math.IsNaN(w) || math.IsInf(w, 0) {
		return math.IsNaN(g) || math.IsInf(g, 0)
	}
	return math.Abs(g-w) <= float64(nb+16)*0x1p-23*norm
}

type s32Case struct {
	name  string
	nb    int
	exact bool // scales 0 and ±1, sums below 2^24: the result is exact
	fill  int  // weight bytes all fill (quants at their extremes), or -1
	scale func(r *rand.Rand, field int) uint16
	q     func(r *rand.Rand) int8 // activation quants
}

var (
	s32Unit = func(r *rand.Rand, f int) uint16 { // 0, ±1 (d); small integers (m, s)
		if f == 0 {
			return []uint16{0x3c00, 0xbc00, 0x3c00, 0, 0x8000}[r.IntN(5)]
		}
		return F32ToF16(float32(r.IntN(17) - 8))
	}
	s32Moderate = func(r *rand.Rand, f int) uint16 { return uint16(0x1c00+r.IntN(0x1000)) | uint16(r.IntN(2))<<15 }
	s32Finite   = func(r *rand.Rand, f int) uint16 { // any finite half, edges often
		if r.IntN(4) == 0 {
			return []uint16{0, 0x8000, 0x0001, 0x03ff, 0x0400, 0x7bff, 0xfbff}[r.IntN(7)]
		}
		return uint16(r.Uint32()) & 0xfbff
	}
	s32Any = func(r *rand.Rand, f int) uint16 { return edgeHalves[r.IntN(len(edgeHalves))] }

	s32Full  = func(r *rand.Rand) int8 { return int8(r.IntN(255) - 127) }
	s32Ends  = func(r *rand.Rand) int8 { return []int8{-127, 127}[r.IntN(2)] }
	s32Neg   = func(r *rand.Rand) int8 { return -127 }
	s32Small = func(r *rand.Rand) int8 { return int8(r.IntN(7) - 3) }
)

func s32Cases() []s32Case {
	return []s32Case{
		{name: "exact-1", nb: 1, exact: true, fill: -1, scale: s32Unit, q: s32Full},
		{name: "exact-5", nb: 5, exact: true, fill: -1, scale: s32Unit, q: s32Full},
		{name: "exact-32", nb: 32, exact: true, fill: -1, scale: s32Unit, q: s32Full},
		{name: "exact-min-quants", nb: 8, exact: true, fill: 0x00, scale: s32Unit, q: s32Neg},
		{name: "exact-min-q8", nb: 8, exact: true, fill: 0x80, scale: s32Unit, q: s32Ends},
		{name: "exact-max-quants", nb: 8, exact: true, fill: 0xff, scale: s32Unit, q: s32Ends},
		{name: "exact-max-q8", nb: 8, exact: true, fill: 0x7f, scale: s32Unit, q: s32Neg},
		{name: "moderate-1", nb: 1, fill: -1, scale: s32Moderate, q: s32Full},
		{name: "moderate-3", nb: 3, fill: -1, scale: s32Moderate, q: s32Full},
		{name: "moderate-4096", nb: 128, fill: -1, scale: s32Moderate, q: s32Full},
		{name: "moderate-7000", nb: 219, fill: -1, scale: s32Moderate, q: s32Small},
		{name: "finite-scales", nb: 37, fill: -1, scale: s32Finite, q: s32Full},
		{name: "zero-quants", nb: 9, fill: 0x88, scale: s32Moderate, q: s32Full},
		{name: "any-scales", nb: 16, fill: -1, scale: s32Any, q: s32Full},
	}
}

// TestSIMD32MatchesPortable runs every registered implementation of the
// 32-element block kernels against the portable one (kernelImpls[t][0]):
// bit for bit where every sum is an exact float32, within float32
// rounding of the reordered sum elsewhere.
func TestSIMD32MatchesPortable(t *testing.T) {
	for _, wt := range s32Types {
		impls := kernelImpls[wt]
		if len(impls) < 2 {
			t.Logf("%s: no SIMD kernel on this CPU", wt)
			continue
		}
		for _, impl := range impls[1:] {
			for ci, c := range s32Cases() {
				t.Run(fmt.Sprintf("%s/%s/%s", wt, impl.name, c.name), func(t *testing.T) {
					r := newRand(uint64(1000*int(wt) + ci))
					for rep := 0; rep < 30; rep++ {
						h := func(f int) uint16 { return c.scale(r, f) }
						row := s32Row(r, wt, c.nb, c.fill, h)
						act := s32Act(wt, c.nb, func() int8 { return c.q(r) }, h)
						n := 32 * c.nb
						want := impls[0].fn(row, act, n)
						got := impl.fn(row, act, n)
						if c.exact {
							if got != want {
								t.Fatalf("rep %d: got %v, want exactly %v", rep, got, want)
							}
							continue
						}
						if norm := s32Norm(wt, row, act, c.nb); !s32Close(got, want, norm, c.nb) {
							t.Fatalf("rep %d: got %v, want %v (terms total %g)", rep, got, want, norm)
						}
					}
				})
			}
		}
	}
}

// TestSIMD32Lengths checks the edges of the slice contract: no blocks
// gives 0, a partial block past n is ignored, and slices shorter than n
// needs panic rather than being read past.
func TestSIMD32Lengths(t *testing.T) {
	for _, wt := range s32Types {
		for _, impl := range kernelImpls[wt] {
			t.Run(wt.String()+"/"+impl.name, func(t *testing.T) {
				r := newRand(5)
				row := s32Row(r, wt, 3, -1, func(f int) uint16 { return s32Moderate(r, f) })
				act := s32Act(wt, 3, func() int8 { return s32Full(r) }, func(f int) uint16 { return s32Moderate(r, f) })
				if got := impl.fn(nil, nil, 0); got != 0 {
					t.Errorf("n=0: got %v, want 0", got)
				}
				if got, want := impl.fn(row, act, 95), kernelImpls[wt][0].fn(row, act, 64); got != want && !s32Close(got, want, s32Norm(wt, row, act, 2), 2) {
					t.Errorf("n=95: got %v, want the two-block sum %v", got, want)
				}
				xs, ys := s32Sizes(wt)
				for _, c := range []struct{ row, act []byte }{{row[: 3*xs-1 : 3*xs-1], act}, {row, act[: 3*ys-1 : 3*ys-1]}} {
					func() {
						defer func() {
							if recover() == nil {
								t.Errorf("%d weight and %d activation bytes for 3 blocks: no panic", len(c.row), len(c.act))
							}
						}()
						impl.fn(c.row, c.act, 96)
					}()
				}
			})
		}
	}
}

// FuzzVecDot32 feeds arbitrary weight and activation bytes to every
// implementation of the 32-element block kernels: none may panic, and all
// must agree with the portable kernel. Activation quants of -128 are
// lifted to -127 (a precondition: the activation quantiser gives -128
// only for non-finite inputs).
func FuzzVecDot32(f *testing.F) {
	r := newRand(11)
	for i, wt := range s32Types {
		xs, ys := s32Sizes(wt)
		for _, nb := range []int{1, 5} {
			h := func(f int) uint16 { return s32Finite(r, f) }
			data := append(s32Row(r, wt, nb, -1, h), s32Act(wt, nb, func() int8 { return s32Full(r) }, h)...)
			f.Add(data, uint8(i))
		}
		f.Add(bytes.Repeat([]byte{0xff}, 4*(xs+ys)), uint8(i))
	}
	f.Fuzz(func(t *testing.T, data []byte, which uint8) {
		wt := s32Types[int(which)%len(s32Types)]
		xs, ys := s32Sizes(wt)
		nb := len(data) / (xs + ys)
		row := data[:nb*xs]
		act := append([]byte(nil), data[nb*xs:nb*(xs+ys)]...)
		for blk := 0; blk < nb; blk++ {
			for j := blk*ys + ys - 32; j < (blk+1)*ys; j++ {
				if act[j] == 0x80 {
					act[j] = 0x81
				}
			}
		}
		impls := kernelImpls[wt]
		if len(impls) == 0 {
			impls = []kernelImpl{{name: "go", fn: vecDots[wt]}}
		}
		want := impls[0].fn(row, act, 32*nb)
		norm := s32Norm(wt, row, act, nb)
		for _, impl := range impls[1:] {
			if got := impl.fn(row, act, 32*nb); !s32Close(got, want, norm, nb) {
				t.Fatalf("%s %s, %d blocks: got %v, want %v (terms total %g)", wt, impl.name, nb, got, want, norm)
			}
		}
	})
}

// TestQuantizeQ8_0ActMatches checks the Q8_0 activation quantiser in use
// against quantQ8_0 block by block: the same bytes for every input,
// non-finite and subnormal ones included.
func TestQuantizeQ8_0ActMatches(t *testing.T) {
	r := newRand(21)
	block := func(gen func(j int) float32) []float32 {
		x := make([]float32, 32)
		for j := range x {
			x[j] = gen(j)
		}
		return x
	}
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	ties := []float32{0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 126.5, -126.5, 0.49999997, -0.49999997, 1.4999999, 3.5000002, 0, -0.0}
	cases := []struct {
		name   string
		blocks int
		gen    func(blk, j int) float32
	}{
		{"gaussian", 128, func(_, _ int) float32 { return float32(r.NormFloat64()) }},
		{"scales", 512, func(blk, _ int) float32 {
			// one scale per block over the whole float32 range, subnormals included
			return float32(r.NormFloat64()) * float32(math.Ldexp(1, blk%300-150))
		}},
		{"bits", 512, func(_, _ int) float32 { return math.Float32frombits(r.Uint32()) }},
		{"ties", 16, func(blk, j int) float32 {
			if j == 0 { // amax 127: d = 1, id = 1, so the ties reach the rounding as they are
				return 127
			}
			return ties[(blk+j)%len(ties)]
		}},
		{"zeros", 2, func(blk, _ int) float32 { return []float32{0, float32(math.Copysign(0, -1))}[blk] }},
		{"nan", 4, func(blk, j int) float32 {
			if j == blk*7 {
				return nan
			}
			return float32(j - 16)
		}},
		{"all-nan", 1, func(_, _ int) float32 { return nan }},
		{"inf", 4, func(blk, j int) float32 {
			if j == 3 {
				return []float32{inf, -inf, inf, nan}[blk]
			}
			return float32(j)
		}},
		{"huge", 4, func(blk, j int) float32 {
			return []float32{math.MaxFloat32, -math.MaxFloat32, 65504 * 127, 65520 * 127}[blk] / float32(j+1)
		}},
		{"tiny", 4, func(blk, j int) float32 {
			return math.Float32frombits(uint32([]int{1, 100, 1 << 20, 1 << 23}[blk] * (j + 1)))
		}},
		{"f16-edges", 64, func(blk, j int) float32 {
			// amax/127 near the half range's ends: subnormal, rounding up to
			// the smallest normal, and the overflow boundary.
			d := []float32{0x1p-24, 0x1p-25, 0x1.ffcp-15, 0x1.ffep-15, 65504, 65519, 65520}[blk%7]
			d = math.Nextafter32(d, float32(blk%3-1))
			if j == blk%32 {
				return -d * 127
			}
			return d * float32(j)
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var x []float32
			for blk := 0; blk < c.blocks; blk++ {
				x = append(x, block(func(j int) float32 { return c.gen(blk, j) })...)
			}
			for _, n := range []int{0, 32, 40, len(x)} {
				xn := x[:min(n, len(x))]
				want := bytes.Repeat([]byte{0xa5}, 34*(len(xn)/32)+7)
				got := bytes.Clone(want)
				for i := 0; i < len(xn)/32; i++ {
					quantQ8_0(xn[32*i:32*i+32], want[34*i:34*i+34])
				}
				quantizeQ8_0Act(xn, got[:len(got)-7])
				if !bytes.Equal(got, want) {
					for i := range got {
						if got[i] != want[i] {
							blk := i / 34
							t.Fatalf("n=%d: byte %d (block %d) = %#x, want %#x; block input %v", n, i, blk, got[i], want[i], xn[32*blk:min(32*blk+32, len(xn))])
						}
					}
				}
			}
		})
	}
}

// FuzzQuantizeQ8_0Act checks the Q8_0 activation quantiser in use against
// quantQ8_0 on arbitrary float32 bit patterns.
func FuzzQuantizeQ8_0Act(f *testing.F) {
	for _, x := range [][]float32{
		{1, -2, 3.5, 127, -0.5},
		{float32(math.NaN()), float32(math.Inf(1)), 0x1p-149, -0x1p-140, 65520 * 127},
	} {
		b := make([]byte, 4*64)
		for i := 0; i < 64; i++ {
			binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x[i%len(x)]*float32(i+1)))
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		x := make([]float32, len(data)/4)
		for i := range x {
			x[i] = math.Float32frombits(binary.LittleEndian.Uint32(data[4*i:]))
		}
		nb := len(x) / 32
		want, got := make([]byte, 34*nb), make([]byte, 34*nb)
		for i := 0; i < nb; i++ {
			quantQ8_0(x[32*i:32*i+32], want[34*i:34*i+34])
		}
		quantizeQ8_0Act(x, got)
		if !bytes.Equal(got, want) {
			t.Fatalf("input %v:\ngot  %x\nwant %x", x, got, want)
		}
	})
}

var s32Sink float32

var s32Rows = flag.Int("s32.rows", 16384, "rows of the `matrix` in BenchmarkVecDot32 and BenchmarkVecDotFloat; "+
	"raise it where the last-level cache holds the matrix (131072 rows of Q8_0 are 570 MB)")

// BenchmarkVecDot32 measures every implementation of the 32-element block
// kernels in GB/s of weight bytes: one 4096-wide row (in cache: the
// kernel's compute speed) and a 16384×4096 matrix times one vector (larger
// than the cache, so memory bandwidth bounds it), on one goroutine and on
// two that split the rows.
func BenchmarkVecDot32(b *testing.B) {
	rows, cols := *s32Rows, 4096
	for _, wt := range s32Types {
		impls := kernelImpls[wt]
		if len(impls) == 0 {
			impls = []kernelImpl{{name: "go", fn: vecDots[wt]}}
		}
		r := newRand(7)
		xs, _ := s32Sizes(wt)
		rowBytes := cols / 32 * xs
		vt := VecDotType(wt)
		act := make([]byte, ActivationBytes(vt, cols))
		QuantizeActivations(vt, gaussian(r, cols, 1), act)
		h := func(f int) uint16 { return s32Moderate(r, f) }
		var matrix []byte
		for _, impl := range impls {
			b.Run(fmt.Sprintf("%s/%s/row%d", wt, impl.name, cols), func(b *testing.B) {
				row := s32Row(r, wt, cols/32, -1, h)
				b.SetBytes(int64(rowBytes))
				var s float32
				for b.Loop() {
					s += impl.fn(row, act, cols)
				}
				s32Sink = s
			})
			for _, threads := range []int{1, 2} {
				b.Run(fmt.Sprintf("%s/%s/matrix%dx%d/threads=%d", wt, impl.name, rows, cols, threads), func(b *testing.B) {
					if matrix == nil {
						matrix = s32Row(r, wt, rows*cols/32, -1, h)
					}
					out := make([]float32, rows)
					b.SetBytes(int64(len(matrix)))
					per := rows / threads
					for b.Loop() {
						var wg sync.WaitGroup
						for th := 0; th < threads; th++ {
							wg.Go(func() {
								for i := th * per; i < (th+1)*per; i++ {
									out[i] = impl.fn(matrix[i*rowBytes:(i+1)*rowBytes], act, cols)
								}
							})
						}
						wg.Wait()
					}
				})
			}
		}
	}
}

// BenchmarkQuantizeQ8_0Act compares the Q8_0 activation quantiser in use
// with the portable block loop on a 4096-wide vector (MB/s of float32
// input).
func BenchmarkQuantizeQ8_0Act(b *testing.B) {
	x := gaussian(newRand(10), 4096, 1)
	dst := make([]byte, ActivationBytes(gguf.TypeQ8_0, len(x)))
	for _, impl := range []struct {
		name string
		fn   func(x []float32, dst []byte)
	}{
		{"go", func(x []float32, dst []byte) {
			for i := 0; i < len(x)/32; i++ {
				quantQ8_0(x[32*i:32*i+32], dst[34*i:34*i+34])
			}
		}},
		{"in-use", quantizeQ8_0Act},
	} {
		b.Run(impl.name, func(b *testing.B) {
			b.SetBytes(int64(4 * len(x)))
			for b.Loop() {
				impl.fn(x, dst)
			}
		})
	}
}
