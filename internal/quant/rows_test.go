package quant

import (
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
