package quant

import (
	"encoding/binary"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"testing"

	"sov.dev/sov/internal/gguf"
)

// kTypes are the K-quant weight types, whose kernels take Q8_K activations.
var kTypes = []gguf.TensorType{gguf.TypeQ4_K, gguf.TypeQ5_K, gguf.TypeQ6_K}

// simdkAct returns n activations in Q8_K: random int8 quants in [lo, hi],
// the scale d, and block sums consistent with the quants (as quantQ8_K
// writes them, which the kernels rely on).
func simdkAct(r *rand.Rand, n int, d float32, lo, hi int) []byte {
	b := make([]byte, ActivationBytes(gguf.TypeQ8_K, n))
	for blk := 0; blk < n/256; blk++ {
		y := b[292*blk : 292*blk+292]
		binary.LittleEndian.PutUint32(y, math.Float32bits(d))
		for i := 0; i < 256; i++ {
			y[4+i] = byte(int8(lo + r.IntN(hi-lo+1)))
		}
		simdkBsums(y)
	}
	return b
}

// simdkBsums recomputes the sixteen block sums of a Q8_K block.
func simdkBsums(y []byte) {
	for g := 0; g < 16; g++ {
		s := 0
		for _, q := range y[4+16*g : 20+16*g] {
			s += int(int8(q))
		}
		binary.LittleEndian.PutUint16(y[260+2*g:], uint16(int16(s)))
	}
}

// simdkSetHalves sets every fp16 scale field of a K-quant row to h.
func simdkSetHalves(t gguf.TensorType, row []byte, h uint16) {
	ts := int(t.TypeSize())
	for blk := 0; blk < len(row)/ts; blk++ {
		for _, off := range halfFields[t] {
			binary.LittleEndian.PutUint16(row[blk*ts+off:], h)
		}
	}
}

// simdkNorm bounds the magnitude of every float term a kernel adds up:
// Σ|a_i·x_i| + Σ|b_i·x_i|, where a is the row dequantised with its mins
// scale dmin set to zero, b with its scale d set to zero, and x the
// dequantised activations. (Q6_K has no mins: Σ|w_i·x_i|.)
func simdkNorm(t gguf.TensorType, row, act []byte, n int) float64 {
	x := mustDequantize(gguf.TypeQ8_K, act, n)
	fields := halfFields[t]
	var norm float64
	for _, zero := range fields {
		r := row
		if len(fields) > 1 {
			r = append([]byte(nil), row...)
			ts := int(t.TypeSize())
			for blk := 0; blk < len(r)/ts; blk++ {
				binary.LittleEndian.PutUint16(r[blk*ts+zero:], 0)
			}
		}
		w := mustDequantize(t, r, n)
		for i := range w {
			norm += math.Abs(float64(w[i]) * float64(x[i]))
		}
	}
	return norm
}

type simdkCase struct {
	name  string
	n     int
	exact bool                         // every partial sum is an integer below 2^24
	row   func(*rand.Rand, int) []byte // nil: random bytes with moderate scales
	act   func(*rand.Rand, int) []byte // nil: quantised gaussian activations
}

func simdkCases(t gguf.TensorType) []simdkCase {
	ones := func(r *rand.Rand, n int) []byte {
		row := randomRow(r, t, n, false)
		simdkSetHalves(t, row, 0x3c00) // 1.0
		return row
	}
	return []simdkCase{
		{name: "one-block", n: 256},
		{name: "two-blocks", n: 512},
		{name: "4096", n: 4096},
		{name: "37-blocks", n: 37 * 256},
		{name: "edge-scales", n: 4096, row: func(r *rand.Rand, n int) []byte { return randomRow(r, t, n, true) }},
		{name: "zero-scales", n: 1024, row: func(r *rand.Rand, n int) []byte {
			row := randomRow(r, t, n, false)
			simdkSetHalves(t, row, 0)
			return row
		}},
		{name: "zero-quants", n: 1024, row: func(r *rand.Rand, n int) []byte {
			row := make([]byte, n/256*int(t.TypeSize()))
			simdkSetHalves(t, row, 0x3c00)
			return row
		}},
		{name: "max-magnitude", n: 2048, row: func(r *rand.Rand, n int) []byte {
			row := make([]byte, n/256*int(t.TypeSize()))
			for i := range row {
				row[i] = 0xff
			}
			simdkSetHalves(t, row, 0x3c00)
			if t == gguf.TypeQ6_K { // scales -128 and 127
				for blk := 0; blk < n/256; blk++ {
					for j := 0; j < 16; j++ {
						row[210*blk+192+j] = byte(0x7f + j%2)
					}
				}
			}
			return row
		}, act: func(r *rand.Rand, n int) []byte {
			act := simdkAct(r, n, 1, -128, -128)
			for i := 0; i < n/256; i++ { // a few 127s among the -128s
				for j := 0; j < 256; j += 7 {
					act[292*i+4+j] = 127
				}
				simdkBsums(act[292*i : 292*i+292])
			}
			return act
		}},
		{name: "full-range-act", n: 4096, act: func(r *rand.Rand, n int) []byte { return simdkAct(r, n, 0.01, -128, 127) }},
		{name: "exact-one-block", n: 256, exact: true, row: ones,
			act: func(r *rand.Rand, n int) []byte { return simdkAct(r, n, 1, -32, 31) }},
		{name: "exact-16-blocks", n: 4096, exact: true, row: ones,
			act: func(r *rand.Rand, n int) []byte { return simdkAct(r, n, 1, -32, 31) }},
	}
}

// TestSIMDKMatchesPortable runs every registered implementation of the
// K-quant kernels against the portable one (kernelImpls[t][0]).
func TestSIMDKMatchesPortable(t *testing.T) {
	for _, wt := range kTypes {
		impls := kernelImpls[wt]
		if len(impls) < 2 {
			t.Logf("%s: no SIMD kernel on this CPU", wt)
			continue
		}
		for _, impl := range impls[1:] {
			for ci, c := range simdkCases(wt) {
				t.Run(fmt.Sprintf("%s/%s/%s", wt, impl.name, c.name), func(t *testing.T) {
					r := newRand(uint64(100*int(wt) + ci))
					for rep := 0; rep < 20; rep++ {
						var row, act []byte
						if c.row != nil {
							row = c.row(r, c.n)
						} else {
							row = randomRow(r, wt, c.n, false)
						}
						if c.act != nil {
							act = c.act(r, c.n)
						} else {
							act = make([]byte, ActivationBytes(gguf.TypeQ8_K, c.n))
							QuantizeActivations(gguf.TypeQ8_K, gaussian(r, c.n, 1), act)
						}
						want := impls[0].fn(row, act, c.n)
						got := impl.fn(row, act, c.n)
						if c.exact {
							if got != want {
								t.Fatalf("rep %d: got %v, want exactly %v", rep, got, want)
							}
							continue
						}
						if !simdkClose(got, want, simdkNorm(wt, row, act, c.n)) {
							t.Fatalf("rep %d: got %v, want %v (term magnitude %g)", rep, got, want, simdkNorm(wt, row, act, c.n))
						}
					}
				})
			}
		}
	}
}

// simdkClose reports whether two sums of the same terms, added in a
// different order in float32, agree: equal, both non-finite (NaN and ∞ may
// swap places when infinities meet zeros in another order), or within a
// few float32 roundings of the terms' total magnitude norm.
func simdkClose(got, want float32, norm float64) bool {
	g, w := float64(got), float64(want)
	if got == want || (math.IsNaN(g) || math.IsInf(g, 0)) && (math.IsNaN(w) || math.IsInf(w, 0)) {
		return true
	}
	if math.IsInf(norm, 0) || math.IsNaN(norm) {
		return false
	}
	return math.Abs(g-w) <= 1e-6*norm+1e-30
}

var simdkRows = flag.Int("simdk.rows", 16384, "rows of the `matrix` in BenchmarkVecDotK; "+
	"raise it where the last-level cache holds 16384 rows (131072 is about 300 MB of Q4_K)")

// BenchmarkVecDotK measures every implementation of the K-quant kernels
// in GB/s of weight bytes: one 4096-wide row (in cache, the kernel's
// compute speed) and a 16384×4096 matrix times one vector (bigger than
// most caches, so memory bandwidth bounds it), on one goroutine and on two
// that split the rows.
func BenchmarkVecDotK(b *testing.B) {
	rows, cols := *simdkRows, 4096
	for _, wt := range kTypes {
		impls := kernelImpls[wt]
		if len(impls) == 0 {
			impls = []kernelImpl{{name: "go", fn: vecDots[wt]}}
		}
		r := newRand(7)
		rowBytes := cols / 256 * int(wt.TypeSize())
		act := make([]byte, ActivationBytes(gguf.TypeQ8_K, cols))
		QuantizeActivations(gguf.TypeQ8_K, gaussian(r, cols, 1), act)
		var matrix []byte
		for _, impl := range impls {
			b.Run(fmt.Sprintf("%s/%s/row%d", wt, impl.name, cols), func(b *testing.B) {
				row := randomRow(r, wt, cols, false)
				b.SetBytes(int64(rowBytes))
				var s float32
				for b.Loop() {
					s += impl.fn(row, act, cols)
				}
				simdkSink = s
			})
			for _, threads := range []int{1, 2} {
				b.Run(fmt.Sprintf("%s/%s/matrix%dx%d/threads=%d", wt, impl.name, rows, cols, threads), func(b *testing.B) {
					if matrix == nil {
						matrix = randomRow(r, wt, rows*cols, false)
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

var simdkSink float32

// TestSIMDKLengths checks the kernels' slice handling: no blocks gives 0,
// and a row or activations one byte short panic (as an index out of range
// does in the portable kernels) instead of reading past the slice.
func TestSIMDKLengths(t *testing.T) {
	for _, wt := range kTypes {
		for _, impl := range kernelImpls[wt] {
			t.Run(wt.String()+"/"+impl.name, func(t *testing.T) {
				if got := impl.fn(nil, nil, 0); got != 0 {
					t.Errorf("no blocks: got %v, want 0", got)
				}
				r := newRand(3)
				row := randomRow(r, wt, 512, false)
				act := simdkAct(r, 512, 1, -128, 127)
				for _, c := range []struct {
					name     string
					row, act []byte
				}{
					{"short row", row[: len(row)-1 : len(row)-1], act},
					{"short activations", row, act[: len(act)-1 : len(act)-1]},
				} {
					func() {
						defer func() {
							if recover() == nil {
								t.Errorf("%s: no panic", c.name)
							}
						}()
						impl.fn(c.row, c.act, 512)
					}()
				}
			})
		}
	}
}

// FuzzVecDotK runs every K-quant kernel on arbitrary weight bytes and
// activations (with block sums made consistent, as QuantizeActivations
// writes them) and compares each with the portable kernel.
func FuzzVecDotK(f *testing.F) {
	r := newRand(11)
	for i, wt := range kTypes {
		for _, nb := range []int{1, 3} {
			row := randomRow(r, wt, 256*nb, i%2 == 0)
			act := make([]byte, ActivationBytes(gguf.TypeQ8_K, 256*nb))
			QuantizeActivations(gguf.TypeQ8_K, gaussian(r, 256*nb, 1), act)
			f.Add(append(row, act...), uint8(i))
		}
	}
	f.Fuzz(func(t *testing.T, data []byte, which uint8) {
		wt := kTypes[int(which)%len(kTypes)]
		ts := int(wt.TypeSize())
		nb := len(data) / (ts + 292)
		n := 256 * nb
		row := data[:ts*nb]
		act := append([]byte(nil), data[ts*nb:(ts+292)*nb]...)
		for i := 0; i < nb; i++ {
			simdkBsums(act[292*i : 292*i+292])
		}
		impls := kernelImpls[wt]
		if len(impls) == 0 {
			impls = []kernelImpl{{name: "go", fn: vecDots[wt]}}
		}
		want := impls[0].fn(row, act, n)
		norm := simdkNorm(wt, row, act, n)
		for _, impl := range impls[1:] {
			got := impl.fn(row, act, n)
			if !(norm <= 1e30) {
				// Terms near float32 overflow (or ∞·0 in the bound
				// itself) may overflow in one order of addition only.
				continue
			}
			if !simdkClose(got, want, norm) {
				t.Fatalf("%s %s, %d blocks: got %v, want %v (term magnitude %g)", wt, impl.name, nb, got, want, norm)
			}
		}
	})
}
