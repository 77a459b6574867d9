package quant

import (
	"fmt"
	"math"
	"testing"
)

// ulps is the distance between two float32s in units in the last place,
// counting across zero; NaN against NaN is 0 and against anything else
// is huge.
func ulps(a, b float32) int64 {
	an, bn := a != a, b != b
	if an || bn {
		if an && bn {
			return 0
		}
		return math.MaxInt64
	}
	key := func(f float32) int64 {
		u := int64(math.Float32bits(f))
		if u&(1<<31) != 0 {
			return -(u &^ (1 << 31))
		}
		return u
	}
	d := key(a) - key(b)
	if d < 0 {
		d = -d
	}
	return d
}

// expInputs covers the range of e^x: both cut-offs and each side of them,
// the subnormal results, the range-reduction boundaries and specials.
func expInputs() []float32 {
	in := []float32{0, float32(math.Copysign(0, -1)), 1, -1, 0.5, -0.5,
		expHi, expLo, math.Nextafter32(expHi, 0), math.Nextafter32(expHi, 100),
		math.Nextafter32(expLo, 0), math.Nextafter32(expLo, -200),
		88, 87.3, -87.3, -87.4, -88, -100, -103, -103.8, -150, -1e30, 1e30,
		float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()),
		float32(math.Ln2) / 2, -float32(math.Ln2) / 2, 1e-30, -1e-30}
	r := newRand(77)
	for range 4000 {
		in = append(in, float32(r.Float64()*200-105))
	}
	for range 1000 {
		in = append(in, float32(r.NormFloat64()))
	}
	return in
}

// TestExpF32 checks ExpF32 against math.Exp: within 3 ulp (a sweep of
// every 200th float32 in range finds 3 at worst), exact specials.
func TestExpF32(t *testing.T) {
	for _, x := range expInputs() {
		got := ExpF32(x)
		want64 := math.Exp(float64(x))
		switch {
		case x != x:
			if got == got {
				t.Errorf("ExpF32(NaN) = %v", got)
			}
		case x > expHi:
			if !math.IsInf(float64(got), 1) {
				t.Errorf("ExpF32(%v) = %v, want +Inf", x, got)
			}
		case x < expLo:
			if got != 0 {
				t.Errorf("ExpF32(%v) = %v, want 0", x, got)
			}
		default:
			if d := ulps(got, float32(want64)); d > 3 {
				t.Errorf("ExpF32(%v) = %v, want %v (%d ulp)", x, got, want64, d)
			}
		}
	}
}

// TestVecOpsExp runs every implementation's e^(x-m) against the portable
// one lane by lane: within 2 ulp (the SIMD ones fuse multiply-adds), the
// same specials, and a sum that agrees up to reordering.
func TestVecOpsExp(t *testing.T) {
	in := expInputs()
	ref := floatOpImpls[0]
	for _, impl := range floatOpImpls {
		for _, m := range []float32{0, 3, -5} {
			for _, n := range []int{0, 1, 7, 8, 15, 16, 17, 33, 100, len(in)} {
				t.Run(fmt.Sprintf("%s/m=%v/n=%d", impl.name, m, n), func(t *testing.T) {
					src := in[len(in)-n:]
					if n < 40 {
						src = in[:n]
					}
					_, want := sfGuard(n, func(i int) float32 { return src[i] })
					gotBuf, got := sfGuard(n, func(i int) float32 { return src[i] })
					wantSum, gotSum := ref.expSub(want, m), impl.expSub(got, m)
					if !sfGuardsIntact(gotBuf) {
						t.Fatal("wrote outside its slice")
					}
					var norm float64
					for i := range got {
						special := math.IsInf(float64(want[i]), 0) || want[i] == 0 || got[i] == 0 || math.IsInf(float64(got[i]), 0)
						if special && math.Float32bits(got[i]) != math.Float32bits(want[i]) {
							t.Fatalf("e^(%v-%v) = %v, want %v", src[i], m, got[i], want[i])
						}
						if d := ulps(got[i], want[i]); d > 2 {
							t.Fatalf("e^(%v-%v) = %v, want %v (%d ulp)", src[i], m, got[i], want[i], d)
						}
						norm += math.Abs(float64(want[i]))
					}
					if !sfClose(gotSum, wantSum, norm, n) {
						t.Errorf("sum = %v, want %v", gotSum, wantSum)
					}
				})
			}
		}
	}
}

// TestVecOpsSwiGLUSoftmax runs every implementation of SwiGLU and softmax
// against the portable one element by element.
func TestVecOpsSwiGLUSoftmax(t *testing.T) {
	ref := floatOpImpls[0]
	lengths := []int{1, 2, 7, 8, 9, 15, 16, 17, 31, 33, 64, 100, 4864}
	for _, impl := range floatOpImpls {
		for ci, c := range sfCases {
			t.Run(impl.name+"/"+c.name, func(t *testing.T) {
				r := newRand(uint64(900 + ci))
				for _, n := range lengths {
					g := make([]float32, n)
					u := make([]float32, n)
					for i := range g {
						g[i], u[i] = c.gen(r, i)*4, c.gen(r, i+1)
						if i%11 == 3 {
							g[i] = []float32{-200, 200, -90, 90, -104, expLo, -expLo}[r.IntN(7)]
						}
					}
					_, want := sfGuard(n, func(i int) float32 { return g[i] })
					gotBuf, got := sfGuard(n, func(i int) float32 { return g[i] })
					ref.swiglu(want, u)
					impl.swiglu(got, u)
					if !sfGuardsIntact(gotBuf) {
						t.Fatalf("swiglu n=%d wrote outside its slice", n)
					}
					for i := range got {
						if d := ulps(got[i], want[i]); d > 4 {
							t.Fatalf("swiglu n=%d: silu(%v)·%v = %v, want %v (%d ulp)", n, g[i], u[i], got[i], want[i], d)
						}
					}

					// Workers split the features at any index: the split
					// must not change a bit.
					split := append([]float32(nil), g...)
					h := n / 3
					impl.swiglu(split[:h], u[:h])
					impl.swiglu(split[h:], u[h:])
					for i := range split {
						if math.Float32bits(split[i]) != math.Float32bits(got[i]) {
							t.Fatalf("swiglu n=%d split at %d: element %d is %v, %v unsplit", n, h, i, split[i], got[i])
						}
					}

					// Softmax of attention scores: -Inf marks a masked position.
					x := make([]float32, n)
					for i := range x {
						x[i] = c.gen(r, i) * 8
						if i%13 == 4 {
							x[i] = float32(math.Inf(-1))
						}
					}
					_, want = sfGuard(n, func(i int) float32 { return x[i] })
					gotBuf, got = sfGuard(n, func(i int) float32 { return x[i] })
					ref.softmax(want)
					impl.softmax(got)
					if !sfGuardsIntact(gotBuf) {
						t.Fatalf("softmax n=%d wrote outside its slice", n)
					}
					for i := range got {
						gv, wv := float64(got[i]), float64(want[i])
						if math.IsNaN(wv) != math.IsNaN(gv) || !math.IsNaN(wv) && math.Abs(gv-wv) > float64(n+8)*0x1p-23*wv+0x1p-126 {
							t.Fatalf("softmax n=%d element %d (%v): got %v, want %v", n, i, x[i], gv, wv)
						}
					}
				}
			})
		}
	}
}

// TestVecOpsRows runs every implementation of DotRowsF32 and AxpyRowsF32
// against the portable one over head widths on and off the vector step,
// and checks that computing the rows in two calls changes no bit.
func TestVecOpsRows(t *testing.T) {
	ref := floatOpImpls[0]
	for _, impl := range floatOpImpls {
		for ci, c := range sfCases {
			t.Run(impl.name+"/"+c.name, func(t *testing.T) {
				r := newRand(uint64(700 + ci))
				for _, d := range []int{0, 1, 7, 8, 15, 16, 24, 32, 48, 64, 80, 128, 129} {
					for _, n := range []int{1, 2, 5, 33} {
						for _, pad := range []int{0, 3, 64} {
							stride := d + pad
							q := make([]float32, d)
							for i := range q {
								q[i] = c.gen(r, i)
							}
							kv := make([]float32, (n-1)*stride+d)
							for i := range kv {
								kv[i] = c.gen(r, i+7)
							}
							name := fmt.Sprintf("d=%d n=%d stride=%d", d, n, stride)

							_, want := sfGuard(n, func(int) float32 { return 0 })
							gotBuf, got := sfGuard(n, func(int) float32 { return 0 })
							ref.dotRows(q, kv, stride, n, want)
							impl.dotRows(q, kv, stride, n, got)
							if !sfGuardsIntact(gotBuf) {
								t.Fatalf("dotRows %s wrote outside its output", name)
							}
							for tt := range n {
								var norm float64
								for i := range q {
									norm += math.Abs(float64(q[i]) * float64(kv[tt*stride+i]))
								}
								if c.exact && got[tt] != want[tt] || !c.exact && !sfClose(got[tt], want[tt], norm, d) {
									t.Fatalf("dotRows %s row %d: got %v, want %v", name, tt, got[tt], want[tt])
								}
							}
							split := make([]float32, n)
							h := n / 2
							impl.dotRows(q, kv, stride, h, split)
							impl.dotRows(q, kv[h*stride:], stride, n-h, split[h:])
							for tt := range split {
								if math.Float32bits(split[tt]) != math.Float32bits(got[tt]) {
									t.Fatalf("dotRows %s row %d: %v in two calls, %v in one", name, tt, split[tt], got[tt])
								}
							}

							w := make([]float32, n)
							for i := range w {
								w[i] = c.gen(r, i+3)
							}
							init := func(i int) float32 { return c.gen(r, i) }
							_, want = sfGuard(d, init)
							gotBuf, got = sfGuard(d, func(i int) float32 { return want[i] })
							start := append([]float32(nil), want...)
							ref.axpyRows(want, w, kv, stride, n)
							impl.axpyRows(got, w, kv, stride, n)
							if !sfGuardsIntact(gotBuf) {
								t.Fatalf("axpyRows %s wrote outside its output", name)
							}
							for i := range got {
								norm := math.Abs(float64(start[i]))
								for tt := range n {
									norm += math.Abs(float64(w[tt]) * float64(kv[tt*stride+i]))
								}
								g, wv := float64(got[i]), float64(want[i])
								if c.exact && g != wv || !c.exact && !sfClose(got[i], want[i], norm, n) {
									t.Fatalf("axpyRows %s element %d: got %v, want %v", name, i, g, wv)
								}
							}
						}
					}
				}
			})
		}
	}
}

// TestVecOpsShapes checks that the exported helpers refuse rows that do
// not fit and accept the empty cases.
func TestVecOpsShapes(t *testing.T) {
	q, k, out := make([]float32, 8), make([]float32, 8*3), make([]float32, 3)
	for name, f := range map[string]func(){
		"SwiGLUF32 lengths":      func() { SwiGLUF32(q, k) },
		"DotRowsF32 short k":     func() { DotRowsF32(q, k, 8, 4, make([]float32, 4)) },
		"DotRowsF32 short out":   func() { DotRowsF32(q, k, 8, 3, out[:2]) },
		"DotRowsF32 stride":      func() { DotRowsF32(q, k, 9, 3, out) },
		"DotRowsF32 negative n":  func() { DotRowsF32(q, k, 8, -1, out) },
		"AxpyRowsF32 short v":    func() { AxpyRowsF32(q, out, k[:23], 8, 3) },
		"AxpyRowsF32 short w":    func() { AxpyRowsF32(q, out[:2], k, 8, 3) },
		"AxpyRowsF32 neg stride": func() { AxpyRowsF32(q, out, k, -8, 3) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			f()
		}()
	}
	DotRowsF32(q, k, 8, 3, out)
	DotRowsF32(q, nil, 8, 0, nil)
	AxpyRowsF32(q, out, k, 8, 3)
	AxpyRowsF32(q, nil, nil, 8, 0)
	SoftmaxF32(nil)
	SwiGLUF32(nil, nil)
	x := []float32{1, 1, 1, 1}
	SoftmaxF32(x)
	if x[0] != 0.25 || x[3] != 0.25 {
		t.Errorf("SoftmaxF32 of equal scores = %v, want all 0.25", x)
	}
}

func BenchmarkVecOps(b *testing.B) {
	const d, n, stride = 64, 256, 128
	r := newRand(1)
	q, kv, out := make([]float32, d), make([]float32, n*stride), make([]float32, n)
	for i := range kv {
		kv[i] = float32(r.NormFloat64())
	}
	g, u := make([]float32, 4864), make([]float32, 4864)
	for _, impl := range floatOpImpls {
		b.Run("dotRows/"+impl.name, func(b *testing.B) {
			for b.Loop() {
				impl.dotRows(q, kv, stride, n, out)
			}
		})
		b.Run("axpyRows/"+impl.name, func(b *testing.B) {
			for b.Loop() {
				impl.axpyRows(q, out, kv, stride, n)
			}
		})
		b.Run("softmax/"+impl.name, func(b *testing.B) {
			for b.Loop() {
				copy(out, kv)
				impl.softmax(out)
			}
		})
		b.Run("swiglu/"+impl.name, func(b *testing.B) {
			for b.Loop() {
				copy(g, kv)
				impl.swiglu(g, u)
			}
		})
	}
}
