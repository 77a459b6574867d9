package quant

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"testing"

	"sov.dev/sov/internal/gguf"
)

// sfTypes are the float weight types, whose kernels take float32
// activations.
var sfTypes = []gguf.TensorType{gguf.TypeF32, gguf.TypeF16, gguf.TypeBF16}

// sfLengths cover every tail: below, at and just past each vector step
// (8, 16) and unroll (32, 64).
var sfLengths = []int{0, 1, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100, 127, 128, 4096, 4099}

// sfRow encodes w as n elements of type t.
func sfRow(t gguf.TensorType, w []float32) []byte {
	es := int(t.TypeSize())
	b := make([]byte, es*len(w))
	for i, v := range w {
		switch t {
		case gguf.TypeF32:
			binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
		case gguf.TypeF16:
			binary.LittleEndian.PutUint16(b[2*i:], F32ToF16(v))
		case gguf.TypeBF16:
			binary.LittleEndian.PutUint16(b[2*i:], uint16(math.Float32bits(v)>>16))
		}
	}
	return b
}

// sfAct encodes x as float32 activations.
func sfAct(x []float32) []byte { return sfRow(gguf.TypeF32, x) }

// sfNorm is Σ|w_i·x_i| over the decoded weights.
func sfNorm(t gguf.TensorType, row []byte, x []float32) float64 {
	w := mustDequantize(t, row, len(x))
	var norm float64
	for i := range w {
		norm += math.Abs(float64(w[i]) * float64(x[i]))
	}
	return norm
}

// sfClose reports whether two float32 sums of n terms of total magnitude
// norm, added in different orders, agree: both non-finite, or within the
// rounding of n+8 additions.
func sfClose(got, want float32, norm float64, n int) bool {
	g, w := float64(got), float64(want)
	if math.IsNaN(w) || math.IsInf(w, 0) {
		return math.IsNaN(g) || math.IsInf(g, 0)
	}
	return math.Abs(g-w) <= float64(n+8)*0x1p-24*norm
}

type sfCase struct {
	name  string
	exact bool // small integers: every sum is exact, so all orders agree bit for bit
	gen   func(r *rand.Rand, i int) float32
}

var sfCases = []sfCase{
	{name: "integers", exact: true, gen: func(r *rand.Rand, _ int) float32 { return float32(r.IntN(15) - 7) }},
	{name: "gaussian", gen: func(r *rand.Rand, _ int) float32 { return float32(r.NormFloat64()) }},
	{name: "wide", gen: func(r *rand.Rand, _ int) float32 {
		return float32(r.NormFloat64() * math.Ldexp(1, r.IntN(40)-20))
	}},
	{name: "specials", gen: func(r *rand.Rand, i int) float32 {
		if i%37 == 5 {
			return []float32{float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()), 0}[r.IntN(4)]
		}
		return float32(r.NormFloat64())
	}},
}

// TestSIMDFloatMatchesPortable runs every registered implementation of the
// F32, F16 and BF16 kernels against the portable one (kernelImpls[t][0]).
func TestSIMDFloatMatchesPortable(t *testing.T) {
	for _, wt := range sfTypes {
		impls := kernelImpls[wt]
		if len(impls) < 2 {
			t.Logf("%s: no SIMD kernel on this CPU", wt)
			continue
		}
		for _, impl := range impls[1:] {
			for ci, c := range sfCases {
				t.Run(fmt.Sprintf("%s/%s/%s", wt, impl.name, c.name), func(t *testing.T) {
					r := newRand(uint64(300*int(wt) + ci))
					for _, n := range sfLengths {
						w, x := make([]float32, n), make([]float32, n)
						for i := range w {
							w[i], x[i] = c.gen(r, i), c.gen(r, i+1)
						}
						row, act := sfRow(wt, w), sfAct(x)
						want := impls[0].fn(row, act, n)
						got := impl.fn(row, act, n)
						if c.exact {
							if got != want {
								t.Fatalf("n=%d: got %v, want exactly %v", n, got, want)
							}
							continue
						}
						if norm := sfNorm(wt, row, x); !sfClose(got, want, norm, n) {
							t.Fatalf("n=%d: got %v, want %v (terms total %g)", n, got, want, norm)
						}
					}
				})
			}
			t.Run(fmt.Sprintf("%s/%s/short", wt, impl.name), func(t *testing.T) {
				es := int(wt.TypeSize())
				row, act := make([]byte, 40*es), make([]byte, 40*4)
				for _, c := range []struct{ row, act []byte }{{row[: 40*es-1 : 40*es-1], act}, {row, act[:159:159]}} {
					func() {
						defer func() {
							if recover() == nil {
								t.Errorf("%d weight and %d activation bytes for 40 elements: no panic", len(c.row), len(c.act))
							}
						}()
						impl.fn(c.row, c.act, 40)
					}()
				}
			})
		}
	}
}

// sfGuard fills a buffer with n values from gen between guard values, and
// returns the whole buffer and the n-element window.
func sfGuard(n int, gen func(i int) float32) (buf, win []float32) {
	buf = make([]float32, n+16)
	for i := range buf {
		buf[i] = 12345
	}
	win = buf[8 : 8+n : 8+n]
	for i := range win {
		win[i] = gen(i)
	}
	return buf, win
}

// sfGuardsIntact reports whether the 8 values either side of the window
// are untouched.
func sfGuardsIntact(buf []float32) bool {
	for _, v := range append(buf[:8:8], buf[len(buf)-8:]...) {
		if v != 12345 {
			return false
		}
	}
	return true
}

// TestFloatOps runs every implementation of DotF32, AxpyF32 and ScaleF32
// against the portable one: DotF32 exactly on small integers and within
// reordering rounding elsewhere; AxpyF32 within one rounding of a·x + dst
// per element (one may fuse, one not); ScaleF32 bit for bit. None may
// write outside its slice.
func TestFloatOps(t *testing.T) {
	ref := floatOpImpls[0]
	for _, impl := range floatOpImpls {
		for ci, c := range sfCases {
			t.Run(impl.name+"/"+c.name, func(t *testing.T) {
				r := newRand(uint64(500 + ci))
				for _, n := range sfLengths {
					_, a := sfGuard(n, func(i int) float32 { return c.gen(r, i) })
					_, b := sfGuard(n, func(i int) float32 { return c.gen(r, i+1) })
					s := c.gen(r, 3)

					want, got := ref.dot(a, b), impl.dot(a, b)
					var norm float64
					for i := range a {
						norm += math.Abs(float64(a[i]) * float64(b[i]))
					}
					if c.exact && got != want || !c.exact && !sfClose(got, want, norm, n) {
						t.Fatalf("dot n=%d: got %v, want %v (terms total %g)", n, got, want, norm)
					}

					wantBuf, wantAxpy := sfGuard(n, func(i int) float32 { return a[i] })
					gotBuf, gotAxpy := sfGuard(n, func(i int) float32 { return a[i] })
					ref.axpy(wantAxpy, s, b)
					impl.axpy(gotAxpy, s, b)
					if !sfGuardsIntact(gotBuf) || !sfGuardsIntact(wantBuf) {
						t.Fatalf("axpy n=%d wrote outside its slice", n)
					}
					for i := range gotAxpy {
						g, w := float64(gotAxpy[i]), float64(wantAxpy[i])
						tol := 0x1p-23 * (math.Abs(float64(s)*float64(b[i])) + math.Abs(float64(a[i])))
						if g != w && !(math.IsNaN(g) && math.IsNaN(w)) && !(math.Abs(g-w) <= tol) {
							t.Fatalf("axpy n=%d element %d: got %v, want %v", n, i, g, w)
						}
					}

					wantBuf, wantScale := sfGuard(n, func(i int) float32 { return a[i] })
					gotBuf, gotScale := sfGuard(n, func(i int) float32 { return a[i] })
					ref.scale(wantScale, s)
					impl.scale(gotScale, s)
					if !sfGuardsIntact(gotBuf) {
						t.Fatalf("scale n=%d wrote outside its slice", n)
					}
					for i := range gotScale {
						if math.Float32bits(gotScale[i]) != math.Float32bits(wantScale[i]) &&
							!(math.IsNaN(float64(gotScale[i])) && math.IsNaN(float64(wantScale[i]))) {
							t.Fatalf("scale n=%d element %d: got %v, want %v", n, i, gotScale[i], wantScale[i])
						}
					}
				}
			})
		}
	}
}

// TestFloatOpsLengths checks that the exported helpers refuse slices of
// different lengths.
func TestFloatOpsLengths(t *testing.T) {
	a, b := make([]float32, 9), make([]float32, 8)
	for name, f := range map[string]func(){
		"DotF32":  func() { DotF32(a, b) },
		"AxpyF32": func() { AxpyF32(a, 1, b) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s with lengths 9 and 8: no panic", name)
				}
			}()
			f()
		}()
	}
	if got := DotF32(nil, nil); got != 0 {
		t.Errorf("DotF32(nil, nil) = %v, want 0", got)
	}
}

var sfSink float32

// BenchmarkVecDotFloat measures every implementation of the float weight
// kernels in GB/s of weight bytes, as BenchmarkVecDot32 does.
func BenchmarkVecDotFloat(b *testing.B) {
	rows, cols := *s32Rows, 4096
	for _, wt := range sfTypes {
		impls := kernelImpls[wt]
		if len(impls) == 0 {
			impls = []kernelImpl{{name: "go", fn: vecDots[wt]}}
		}
		r := newRand(8)
		rowBytes := cols * int(wt.TypeSize())
		act := sfAct(gaussian(r, cols, 1))
		var matrix []byte
		for _, impl := range impls {
			b.Run(fmt.Sprintf("%s/%s/row%d", wt, impl.name, cols), func(b *testing.B) {
				row := sfRow(wt, gaussian(r, cols, 1))
				b.SetBytes(int64(rowBytes))
				var s float32
				for b.Loop() {
					s += impl.fn(row, act, cols)
				}
				sfSink = s
			})
			for _, threads := range []int{1, 2} {
				b.Run(fmt.Sprintf("%s/%s/matrix%dx%d/threads=%d", wt, impl.name, rows, cols, threads), func(b *testing.B) {
					if matrix == nil {
						matrix = make([]byte, rows*rowBytes)
						for i := 0; i < rows; i++ {
							copy(matrix[i*rowBytes:], sfRow(wt, gaussian(r, cols, 1)))
						}
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

// BenchmarkFloatOps measures every implementation of the float32 helpers
// on an attention head (128) and a hidden state (4096), in GB/s of input
// read.
func BenchmarkFloatOps(b *testing.B) {
	r := newRand(9)
	for _, impl := range floatOpImpls {
		for _, n := range []int{128, 4096} {
			x, y := gaussian(r, n, 1), gaussian(r, n, 1)
			b.Run(fmt.Sprintf("dot/%s/n=%d", impl.name, n), func(b *testing.B) {
				b.SetBytes(int64(8 * n))
				var s float32
				for b.Loop() {
					s += impl.dot(x, y)
				}
				sfSink = s
			})
			b.Run(fmt.Sprintf("axpy/%s/n=%d", impl.name, n), func(b *testing.B) {
				b.SetBytes(int64(8 * n))
				for b.Loop() {
					impl.axpy(y, 1e-9, x)
				}
			})
			b.Run(fmt.Sprintf("scale/%s/n=%d", impl.name, n), func(b *testing.B) {
				b.SetBytes(int64(4 * n))
				for b.Loop() {
					impl.scale(y, 1)
				}
			})
		}
	}
}
