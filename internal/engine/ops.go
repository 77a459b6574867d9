package engine

import (
	"math"

	"sov.dev/sov/internal/quant"
)

// matvecRows computes out[r] = W[r]·x for rows [start, end). This is the
// kernel that dominates run time; fast, SIMD implementations replace the
// body of quant.DotRow without changing its results beyond float rounding.
func matvecRows(out []float32, w *Tensor, x []float32, start, end int) {
	for r := start; r < end; r++ {
		out[r] = quant.DotRow(w.Type, w.Data[r*w.RowBytes:(r+1)*w.RowBytes], x)
	}
}

// dequantizeRow writes row r of w as float32 into dst.
func dequantizeRow(w *Tensor, r int, dst []float32) {
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

// axpy sets dst += a*x.
func axpy(dst []float32, a float32, x []float32) { quant.AxpyF32(dst, a, x[:len(dst)]) }

func dot(a, b []float32) float32 { return quant.DotF32(a, b[:len(a)]) }

func silu(x float32) float32 { return x / (1 + float32(math.Exp(float64(-x)))) }

// softmaxInPlace normalises x to probabilities.
func softmaxInPlace(x []float32) {
	max := x[0]
	for _, v := range x[1:] {
		if v > max {
			max = v
		}
	}
	var sum float32
	for i, v := range x {
		e := float32(math.Exp(float64(v - max)))
		x[i] = e
		sum += e
	}
	inv := 1 / sum
	for i := range x {
		x[i] *= inv
	}
}
