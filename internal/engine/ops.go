package engine

import (
	"math"

	"sov.dev/sov/internal/quant"
)

// dequantizeRow writes row r of w as float32 into dst.
func dequantizeRow(w *Tensor, r int, dst []float32) {
	if w.packed != nil {
		w.packed.Dequantize(r, dst[:w.Cols])
		return
	}
	// The row length was checked at load, so this cannot fail.
	_ = quant.Dequantize(w.Type, w.Row(r), dst[:w.Cols])
}

// rmsnorm sets out = x / rms(x) * weight.
func rmsnorm(out, x, weight []float32, eps float32) {
	var ss float64
	for _, v := range x {
		ss += float64(v) * float64(v)
	}
	scale := float32(1 / math.Sqrt(ss/float64(len(x))+float64(eps)))
	for i, v := range x {
		out[i] = v * scale * weight[i]
	}
}

func rmsnormInPlace(x, weight []float32, eps float32) { rmsnorm(x, x, weight, eps) }

// add sets dst += src.
func add(dst, src []float32) {
	for i, v := range src {
		dst[i] += v
	}
}

// expf is e^x in float32 (quant.ExpF32, which the SIMD softmax and
// SwiGLU kernels compute lane by lane).
func expf(x float32) float32 { return quant.ExpF32(x) }

// softmaxInPlace normalises x to probabilities.
func softmaxInPlace(x []float32) { quant.SoftmaxF32(x) }
