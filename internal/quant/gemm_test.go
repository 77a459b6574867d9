package quant

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"sov.dev/sov/internal/gguf"
)

// gemmTypes are the weight types with tiled kernels somewhere.
var gemmTypes = []gguf.TensorType{gguf.TypeQ8_0, gguf.TypeQ4_0, gguf.TypeQ5_0, gguf.TypeQ4_K, gguf.TypeQ6_K}

// portableKernel is the Go row kernel for t, whatever runs by default.
func portableKernel(t gguf.TensorType) vecDotFunc {
	if impls := kernelImpls[t]; len(impls) > 0 {
		return impls[0].fn
	}
	return vecDots[t]
}

// gemmCandidates lists the matrix kernels to test for t: the loop over the
// row kernel in use (only where activations avoid −128, which the signed
// row kernels do not take) and every registered tiled kernel.
func gemmCandidates(t gguf.TensorType, loop bool) []gemmImpl {
	var c []gemmImpl
	if loop {
		c = append(c, gemmImpl{"loop/" + KernelName(t), gemmLoop(Kernel(t))})
	}
	return append(c, gemmImpls[t]...)
}

// blockSizes returns the elements and weight bytes of one block of t.
func blockSizes(t gguf.TensorType) (elems, bytes int) {
	switch t {
	case gguf.TypeQ4_K, gguf.TypeQ5_K, gguf.TypeQ6_K:
		return 256, int(t.TypeSize())
	}
	return 32, int(t.TypeSize())
}

// gemmNorm bounds the magnitude of the terms a kernel adds for one (row,
// token) pair: Σ|w_i·a_i| over the dequantised weights and activations,
// with the weights' block offsets (mins) counted as separate terms.
func gemmNorm(t gguf.TensorType, row, act []byte, cols int) float64 {
	vt := VecDotType(t)
	w := mustDequantize(t, row, cols)
	var a []float32
	if vt == gguf.TypeQ8_0 || vt == gguf.TypeQ8_K {
		a = mustDequantize(vt, act[:ActivationBytes(vt, cols)], cols)
	}
	var norm float64
	for i := range w {
		norm += math.Abs(float64(w[i]) * float64(a[i]))
	}
	if t == gguf.TypeQ4_K || t == gguf.TypeQ5_K {
		// d·sc·q and dmin·m enter separately: add Σ|dmin·m·a| twice over.
		_, bs := blockSizes(t)
		for blk := 0; blk < cols/256; blk++ {
			dmin := math.Abs(float64(half(row[blk*bs+2:])))
			for i := 256 * blk; i < 256*blk+256; i++ {
				norm += 2 * 63 * dmin * math.Abs(float64(a[i]))
			}
		}
	}
	return norm
}

// gemmClose reports whether got and want agree up to reordered float32
// sums of nb block terms of total magnitude norm; non-finite values only
// need to be non-finite on both sides.
func gemmClose(got, want float32, norm float64, nb int) bool {
	g, w := float64(got), float64(want)
	if (norm > 0x1p100 || math.IsNaN(norm)) && !math.IsNaN(w) {
		return true // terms near or past the float32 range: the order decides whether a sum overflows
	}
	if math.IsNaN(w) || math.IsInf(w, 0) {
		return math.IsNaN(g) || math.IsInf(g, 0)
	}
	return math.Abs(g-w) <= float64(nb+16)*0x1p-23*norm
}

// gemmActs returns n activation vectors of cols elements for weights of
// type t, stride bytes apart: quantised Gaussians, or with raw, quant
// bytes from q and unit scales (Q8_0) so that integer extremes are reached.
func gemmActs(r *rand.Rand, t gguf.TensorType, n, cols, stride int, raw func() int8) []byte {
	vt := VecDotType(t)
	ab := ActivationBytes(vt, cols)
	act := make([]byte, (n-1)*stride+ab)
	for b := 0; b < n; b++ {
		dst := act[b*stride : b*stride+ab]
		QuantizeActivations(vt, gaussian(r, cols, 1+float64(b%3)), dst)
		if raw == nil {
			continue
		}
		switch vt {
		case gguf.TypeQ8_0:
			for blk := 0; blk < cols/32; blk++ {
				binary.LittleEndian.PutUint16(dst[34*blk:], []uint16{0x3c00, 0xbc00, 0x3800, 0}[r.IntN(4)])
				for j := 0; j < 32; j++ {
					dst[34*blk+2+j] = byte(raw())
				}
			}
		case gguf.TypeQ8_K:
			for blk := 0; blk < cols/256; blk++ {
				y := dst[292*blk:]
				var bsums [16]int
				for j := 0; j < 256; j++ {
					q := raw()
					if q == -128 {
						q = -127 // Q8_K sums are int16 and quants stay in [−127, 127]
					}
					y[4+j] = byte(q)
					bsums[j/16] += int(q)
				}
				for j, s := range bsums {
					binary.LittleEndian.PutUint16(y[260+2*j:], uint16(int16(s)))
				}
			}
		}
	}
	return act
}

// gemmWeights returns rows weight rows of t, stride bytes apart: random
// bytes with scales from randomRow, or with fill ≥ 0, every quant byte set
// to fill.
func gemmWeights(r *rand.Rand, t gguf.TensorType, rows, cols, stride int, edges bool, fill int) []byte {
	_, bs := blockSizes(t)
	rb := cols / 32 * bs
	if t == gguf.TypeQ4_K || t == gguf.TypeQ6_K || t == gguf.TypeQ5_K {
		rb = cols / 256 * bs
	}
	w := make([]byte, (rows-1)*stride+rb)
	for i := 0; i < rows; i++ {
		row := randomRow(r, t, cols, edges)
		if fill >= 0 && t == gguf.TypeQ8_0 {
			for blk := 0; blk < cols/32; blk++ {
				for j := 2; j < 34; j++ {
					row[34*blk+j] = byte(fill)
				}
			}
		}
		copy(w[i*stride:], row)
	}
	return w
}

type gemmCase struct {
	name             string
	rows, n, cols    int
	edges            bool        // edge-valued scales (0, subnormal, max, ∞, NaN)
	fill             int         // Q8_0 weight quant bytes all fill, or −1
	raw              func() int8 // raw activation quants, or nil for quantised Gaussians
	padW, padA, padO int         // extra bytes / elements between rows, tokens, outputs
}

func gemmCases(t gguf.TensorType, r *rand.Rand) []gemmCase {
	bk, _ := blockSizes(t)
	any8 := func() int8 { return int8(r.Uint32()) }
	neg := func() int8 { return -128 }
	pos := func() int8 { return 127 }
	var cs []gemmCase
	for _, rows := range []int{1, 2, 3, 4, 5, 7, 11} {
		for _, n := range []int{1, 3, 16, 17, 31, 64, 65} {
			cs = append(cs, gemmCase{name: fmt.Sprintf("r%d/n%d/c%d", rows, n, bk), rows: rows, n: n, cols: bk, fill: -1})
		}
	}
	cs = append(cs,
		gemmCase{name: "many-blocks", rows: 10, n: 40, cols: 14 * 256, fill: -1, padW: 6, padA: 10, padO: 3},
		gemmCase{name: "edges", rows: 7, n: 33, cols: 8 * bk, edges: true, fill: -1},
		gemmCase{name: "raw-quants", rows: 5, n: 20, cols: 4 * bk, fill: -1, raw: any8},
		gemmCase{name: "min×min", rows: 4, n: 18, cols: 8 * bk, fill: 0x80, raw: neg},
		gemmCase{name: "min×max", rows: 4, n: 18, cols: 8 * bk, fill: 0x80, raw: pos},
		gemmCase{name: "max×min", rows: 4, n: 18, cols: 8 * bk, fill: 0x7f, raw: neg},
		gemmCase{name: "big", rows: 67, n: 64, cols: 896, fill: -1},
	)
	return cs
}

// TestGemmMatchesRowKernel runs every matrix kernel for each type against
// the portable row kernel, pair by pair, on shapes with remainders in rows
// and tokens.
func TestGemmMatchesRowKernel(t *testing.T) {
	for _, wt := range gemmTypes {
		r := newRand(uint64(wt) + 1)
		ref := portableKernel(wt)
		for _, c := range gemmCases(wt, r) {
			if c.cols%256 != 0 && (wt == gguf.TypeQ4_K || wt == gguf.TypeQ6_K) {
				continue
			}
			_, bs := blockSizes(wt)
			bk, _ := blockSizes(wt)
			rowBytes := c.cols/bk*bs + c.padW
			actStride := ActivationBytes(VecDotType(wt), c.cols) + c.padA
			outStride := c.rows + c.padO
			w := gemmWeights(r, wt, c.rows, c.cols, rowBytes, c.edges, c.fill)
			act := gemmActs(r, wt, c.n, c.cols, actStride, c.raw)
			nb := c.cols / bk
			want := make([]float32, c.n*outStride)
			norm := make([]float64, c.n*outStride)
			for i := 0; i < c.rows; i++ {
				for b := 0; b < c.n; b++ {
					row, a := w[i*rowBytes:i*rowBytes+c.cols/bk*bs], act[b*actStride:]
					want[b*outStride+i] = ref(row, a, c.cols)
					norm[b*outStride+i] = gemmNorm(wt, row, a, c.cols)
				}
			}
			for _, impl := range gemmCandidates(wt, c.raw == nil) {
				t.Run(fmt.Sprintf("%s/%s/%s", wt, impl.name, c.name), func(t *testing.T) {
					got := make([]float32, len(want))
					const sentinel = float32(-12345.5)
					for i := range got {
						got[i] = sentinel
					}
					impl.fn(w, rowBytes, c.rows, act, actStride, c.n, got, outStride, c.cols)
					bad := 0
					for b := 0; b < c.n; b++ {
						for i := 0; i < outStride; i++ {
							k := b*outStride + i
							if i >= c.rows {
								if got[k] != sentinel {
									t.Errorf("token %d: wrote padding element %d", b, i)
								}
								continue
							}
							if !gemmClose(got[k], want[k], norm[k], nb) {
								if bad++; bad <= 5 {
									t.Errorf("row %d token %d: got %v, want %v (norm %g)", i, b, got[k], want[k], norm[k])
								}
							}
						}
					}
				})
			}
		}
	}
}

// TestGemmExact checks that results with unit scales, whose sums are
// exact in float32, equal the row kernel's exactly.
func TestGemmExact(t *testing.T) {
	const wt = gguf.TypeQ8_0
	r := newRand(99)
	rows, n, cols := 7, 37, 32*12
	w := gemmWeights(r, wt, rows, cols, cols/32*34, false, -1)
	for blk := 0; blk < rows*cols/32; blk++ {
		binary.LittleEndian.PutUint16(w[34*blk:], []uint16{0x3c00, 0xbc00, 0, 0x4000}[r.IntN(4)])
	}
	act := gemmActs(r, wt, n, cols, cols/32*34, func() int8 { return int8(r.Uint32()) })
	ref := portableKernel(wt)
	for _, impl := range gemmCandidates(wt, false) {
		t.Run(impl.name, func(t *testing.T) {
			got := make([]float32, n*rows)
			impl.fn(w, cols/32*34, rows, act, cols/32*34, n, got, rows, cols)
			for i := 0; i < rows; i++ {
				for b := 0; b < n; b++ {
					want := ref(w[i*cols/32*34:], act[b*cols/32*34:], cols)
					if got[b*rows+i] != want {
						t.Errorf("row %d token %d: got %v, want %v", i, b, got[b*rows+i], want)
					}
				}
			}
		})
	}
}

// TestGemmShortSlices checks that the tiled kernels panic, not read past a
// slice, when a slice is one element short.
func TestGemmShortSlices(t *testing.T) {
	for _, wt := range gemmTypes {
		bk, bs := blockSizes(wt)
		rows, n, cols := 4, 5, 2*bk
		if wt == gguf.TypeQ4_K || wt == gguf.TypeQ6_K {
			cols = 256
		}
		rowBytes := cols / bk * bs
		actStride := ActivationBytes(VecDotType(wt), cols)
		for _, impl := range gemmImpls[wt] {
			for _, cut := range []string{"weights", "activations", "outputs"} {
				t.Run(fmt.Sprintf("%s/%s/%s", wt, impl.name, cut), func(t *testing.T) {
					w := make([]byte, rows*rowBytes)
					act := make([]byte, n*actStride)
					out := make([]float32, n*rows)
					switch cut {
					case "weights":
						w = w[:len(w)-1]
					case "activations":
						act = act[:len(act)-1]
					case "outputs":
						out = out[:len(out)-1]
					}
					defer func() {
						if recover() == nil {
							t.Errorf("no panic")
						}
					}()
					impl.fn(w, rowBytes, rows, act, actStride, n, out, rows, cols)
				})
			}
		}
	}
}

var gemmSink float32

// BenchmarkGemm measures the matrix kernels of each type on the shapes of
// a small model's projections (64 tokens, one goroutine) in GOPS
// (2·rows·n·cols operations a call), next to the loop over the row kernel.
func BenchmarkGemm(b *testing.B) {
	shapes := [][2]int{{896, 896}, {4864, 896}, {896, 4864}, {2048, 2048}}
	const n = 64
	for _, wt := range gemmTypes {
		bk, bs := blockSizes(wt)
		impls := gemmCandidates(wt, true)
		if len(impls) < 2 {
			continue // no tiled kernel on this CPU
		}
		for _, sh := range shapes {
			rows, cols := sh[0], sh[1]
			if cols%bk != 0 {
				continue
			}
			r := newRand(5)
			rowBytes := cols / bk * bs
			actStride := ActivationBytes(VecDotType(wt), cols)
			w := gemmWeights(r, wt, rows, cols, rowBytes, false, -1)
			act := gemmActs(r, wt, n, cols, actStride, nil)
			out := make([]float32, n*rows)
			for _, impl := range impls {
				b.Run(fmt.Sprintf("%s/%s/%dx%d", wt, impl.name, rows, cols), func(b *testing.B) {
					start := time.Now()
					for b.Loop() {
						impl.fn(w, rowBytes, rows, act, actStride, n, out, rows, cols)
					}
					b.ReportMetric(2*float64(rows)*n*float64(cols)*float64(b.N)/time.Since(start).Seconds()/1e9, "GOPS")
					gemmSink = out[0]
				})
			}
		}
	}
}

// FuzzGemm fills weights and activations of a small shape with the fuzzed
// bytes (cycled) and checks every tiled kernel against the portable row
// kernel. Q8_K bsums are rewritten to match their quants, as
// QuantizeActivations makes them: the tiled kernels sum the quants. Only
// the tiled kernels run: the others fall back to the row kernels in use for
// few tokens, and those do not take activations of −128.
func FuzzGemm(f *testing.F) {
	r := newRand(11)
	for i := range gemmTypes {
		f.Add(uint8(i), uint8(3), uint8(17), randomRow(r, gguf.TypeQ8_0, 256, true))
	}
	f.Fuzz(func(t *testing.T, which, rows8, n8 uint8, data []byte) {
		if len(data) == 0 {
			return
		}
		wt := gemmTypes[int(which)%len(gemmTypes)]
		impls := gemmImpls[wt]
		if len(impls) == 0 {
			return
		}
		rows, n := 1+int(rows8)%13, 1+int(n8)%40
		bk, bs := blockSizes(wt)
		cols := bk * (1 + int(which)/len(gemmTypes)%2)
		rowBytes := cols / bk * bs
		vt := VecDotType(wt)
		actStride := ActivationBytes(vt, cols)
		k := 0
		fill := func(b []byte) {
			for i := range b {
				b[i] = data[k%len(data)]
				k++
			}
		}
		w := make([]byte, rows*rowBytes)
		act := make([]byte, n*actStride)
		fill(w)
		fill(act)
		if vt == gguf.TypeQ8_K {
			for blk := 0; blk < len(act)/292; blk++ {
				y := act[292*blk:]
				for g := 0; g < 16; g++ {
					s := 0
					for _, q := range y[4+16*g : 20+16*g] {
						s += int(int8(q))
					}
					binary.LittleEndian.PutUint16(y[260+2*g:], uint16(int16(s)))
				}
			}
		}
		ref := portableKernel(wt)
		for _, impl := range impls {
			if !strings.HasSuffix(impl.name, "-tiled") {
				continue
			}
			got := make([]float32, n*rows)
			impl.fn(w, rowBytes, rows, act, actStride, n, got, rows, cols)
			for i := 0; i < rows; i++ {
				for b := 0; b < n; b++ {
					row, a := w[i*rowBytes:(i+1)*rowBytes], act[b*actStride:]
					want := ref(row, a, cols)
					if norm := gemmNorm(wt, row, a, cols); !gemmClose(got[b*rows+i], want, norm, cols/32) {
						t.Fatalf("%s %s: row %d token %d: got %v, want %v (norm %g)", wt, impl.name, i, b, got[b*rows+i], want, norm)
					}
				}
			}
		}
	})
}
