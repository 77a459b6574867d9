package quant

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"sov.dev/sov/internal/gguf"
)

// TestRowsMatchesRowKernel checks every multi-row kernel against the row
// kernel, row by row.
func TestRowsMatchesRowKernel(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for typ := range rowsKernels {
		for _, shape := range [][2]int{{1, 32}, {3, 96}, {17, 896}, {64, 4864}} {
			rows, cols := shape[0], shape[1]
			rb := mustRowBytes(t, typ, cols)
			w := make([]byte, rows*rb)
			x := make([]float32, cols)
			for r := 0; r < rows; r++ {
				f := make([]float32, cols)
				for i := range f {
					f[i] = float32(rng.NormFloat64())
				}
				if err := Quantize(typ, f, w[r*rb:(r+1)*rb]); err != nil {
					t.Fatal(err)
				}
			}
			for i := range x {
				x[i] = float32(rng.NormFloat64())
			}
			act := make([]byte, ActivationBytes(VecDotType(typ), cols))
			QuantizeActivations(VecDotType(typ), x, act)
			out := make([]float32, rows+1)
			out[rows] = 42
			Rows(typ)(w, rb, rows, act, cols, out[:rows])
			for r := 0; r < rows; r++ {
				want := kernelImpls[typ][0].fn(w[r*rb:(r+1)*rb], act, cols)
				if d := math.Abs(float64(out[r] - want)); d > 1e-4*math.Abs(float64(want))+1e-3 {
					t.Errorf("%s %dx%d row %d: %v, row kernel %v", typ, rows, cols, r, out[r], want)
				}
			}
			if out[rows] != 42 {
				t.Errorf("%s: wrote past the rows", typ)
			}
		}
	}
	if _, ok := rowsKernels[gguf.TypeQ8_0]; !ok {
		t.Log("no multi-row Q8_0 kernel on this CPU")
	}
}

// TestRowsImplsMatchPortable runs every multi-row kernel over a few rows
// of the 32-element block test cases (extreme quants, zero, subnormal and
// non-finite scales, one block to hundreds) and compares each row with the
// portable row kernel: bit for bit where every sum is exact, within the
// float32 rounding of a reordered sum elsewhere. Rows are tested packed
// and with padding between them.
func TestRowsImplsMatchPortable(t *testing.T) {
	cases := append(s32Cases(),
		s32Case{name: "moderate-600", nb: 600, fill: -1, scale: s32Moderate, q: s32Full}, // past the stack buffer
		s32Case{name: "exact-q8-min", nb: 7, exact: true, fill: -1, scale: s32Unit, q: func(*rand.Rand) int8 { return -128 }},
	)
	for wt, impls := range rowsImpls {
		portable := kernelImpls[wt][0].fn
		xs, _ := s32Sizes(wt)
		for _, impl := range impls {
			for ci, c := range cases {
				for _, pad := range []int{0, 6} {
					t.Run(fmt.Sprintf("%s/%s/%s/pad=%d", wt, impl.name, c.name, pad), func(t *testing.T) {
						r := newRand(uint64(77 + ci))
						const rows = 5
						h := func(f int) uint16 { return c.scale(r, f) }
						rb := c.nb*xs + pad
						w := make([]byte, rows*rb)
						for i := range rows {
							copy(w[i*rb:], s32Row(r, wt, c.nb, c.fill, h))
						}
						act := s32Act(wt, c.nb, func() int8 { return c.q(r) }, h)
						out := make([]float32, rows+1)
						out[rows] = 42
						impl.fn(w, rb, rows, act, 32*c.nb, out[:rows])
						for i := range rows {
							row := w[i*rb : i*rb+c.nb*xs]
							want := portable(row, act, 32*c.nb)
							if c.exact {
								if out[i] != want {
									t.Errorf("row %d: got %v, want exactly %v", i, out[i], want)
								}
								continue
							}
							if norm := s32Norm(wt, row, act, c.nb); !s32Close(out[i], want, norm, c.nb) {
								t.Errorf("row %d: got %v, want %v (terms total %g)", i, out[i], want, norm)
							}
						}
						if out[rows] != 42 {
							t.Errorf("wrote past the rows")
						}
					})
				}
			}
		}
	}
}
