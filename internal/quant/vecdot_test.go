package quant

import (
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"sov.dev/sov/internal/gguf"
)

// TestVecDotMatchesFloat checks every kernel in vecDots (the portable ones,
// or whatever faster ones this CPU selected) against the float dot product
// of the dequantised weights with the dequantised activations.
func TestVecDotMatchesFloat(t *testing.T) {
	types := slices.Sorted(maps.Keys(vecDots))
	for _, wt := range types {
		t.Run(wt.String(), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, uint64(wt)))
			// Q8_1 stores s = d·Σq as f16, as ggml does: the minimum term of
			// Q4_1/Q5_1 is rounded to f16 precision (about 5e-4).
			tol := 1e-4
			if VecDotType(wt) == TypeQ8_1 {
				tol = 2e-3
			}
			for _, n := range []int{256, 512, 4096} {
				w := make([]float32, n)
				x := make([]float32, n)
				for i := range w {
					w[i] = float32(rng.NormFloat64())
					x[i] = float32(rng.NormFloat64())
				}
				row := make([]byte, mustRowBytes(t, wt, n))
				if err := Quantize(wt, w, row); err != nil {
					t.Fatal(err)
				}
				vt := VecDotType(wt)
				act := make([]byte, ActivationBytes(vt, n))
				QuantizeActivations(vt, x, act)
				wd := make([]float32, n)
				if err := Dequantize(wt, row, wd); err != nil {
					t.Fatal(err)
				}
				xd := dequantAct(t, vt, act, n)
				var want, norm float64
				for i := range wd {
					want += float64(wd[i]) * float64(xd[i])
					norm += math.Abs(float64(wd[i]) * float64(xd[i]))
				}
				got := VecDot(wt, row, act, n)
				if diff := math.Abs(float64(got) - want); diff > tol*norm+1e-4 {
					t.Errorf("n=%d: VecDot = %v, float dot = %v (diff %g, scale %g)", n, got, want, diff, norm)
				}
			}
		})
	}
}

func mustRowBytes(t *testing.T, typ gguf.TensorType, n int) int {
	t.Helper()
	b, err := RowBytes(typ, n)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// dequantAct expands activations back to float32.
func dequantAct(t *testing.T, vt gguf.TensorType, act []byte, n int) []float32 {
	t.Helper()
	out := make([]float32, n)
	switch vt {
	case TypeQ8_1:
		for i := 0; i < n/32; i++ {
			d := half(act[36*i:])
			for j := 0; j < 32; j++ {
				out[32*i+j] = d * float32(int8(act[36*i+4+j]))
			}
		}
	case gguf.TypeF32:
		for i := range out {
			out[i] = f32At(act, i)
		}
	default:
		if err := Dequantize(vt, act, out); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// TestActivationQuantisation checks the Q8 activation formats' error.
func TestActivationQuantisation(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	x := make([]float32, 1024)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	for _, vt := range []gguf.TensorType{gguf.TypeQ8_0, TypeQ8_1, gguf.TypeQ8_K} {
		act := make([]byte, ActivationBytes(vt, len(x)))
		QuantizeActivations(vt, x, act)
		back := dequantAct(t, vt, act, len(x))
		var err2, sig2 float64
		for i := range x {
			err2 += float64((back[i] - x[i]) * (back[i] - x[i]))
			sig2 += float64(x[i] * x[i])
		}
		if rel := math.Sqrt(err2 / sig2); rel > 0.01 {
			t.Errorf("%s: relative RMS error %g", vt, rel)
		}
	}
}
