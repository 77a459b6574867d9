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

// axpy sets dst += a*x.
func axpy(dst []float32, a float32, x []float32) { quant.AxpyF32(dst, a, x[:len(dst)]) }

func dot(a, b []float32) float32 { return quant.DotF32(a, b[:len(a)]) }

func silu(x float32) float32 { return x / (1 + expf(-x)) }

// expf is e^x in float32, within 2 ulp of the correctly rounded result: x is
// split into n·ln2 + r with |r| ≤ ln2/2, e^r comes from a degree-6
// polynomial, and 2^n is put into the exponent. It is several times faster
// than math.Exp, which the SwiGLU activation calls for every hidden unit.
func expf(x float32) float32 {
	switch {
	case x > 88.72:
		return float32(math.Inf(1))
	case x < -103.9:
		return 0
	case x != x:
		return x
	}
	const (
		log2e = 1.44269504088896341
		ln2hi = 0.693359375
		ln2lo = -2.12194440e-4
	)
	n := float32(math.Floor(float64(x*log2e + 0.5)))
	r := x - n*ln2hi - n*ln2lo
	// e^r ≈ 1 + r + r²/2! + … + r⁶/6! (Horner).
	p := float32(1.0 / 720)
	p = p*r + 1.0/120
	p = p*r + 1.0/24
	p = p*r + 1.0/6
	p = p*r + 0.5
	p = p*r + 1
	p = p*r + 1
	ni := int32(n)
	if ni > 127 { // 2^128 is not a float32, e^x may still be
		return p * math.Float32frombits(uint32(127+127)<<23) * 2
	}
	if ni < -126 { // subnormal result: scale in two steps
		return p * math.Float32frombits(uint32(ni+126+127)<<23) * math.Float32frombits(1<<23)
	}
	return p * math.Float32frombits(uint32(ni+127)<<23)
}

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
