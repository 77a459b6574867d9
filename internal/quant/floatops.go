package quant

import "fmt"

// Float32 vector helpers for the engine's attention and elementwise work.
// Each has a portable Go version here; faster ones (SIMD, chosen at start-up
// by CPU features) replace them through registerFloatOps and must agree
// with these up to float32 rounding (DotF32 may add in another order,
// AxpyF32 may fuse the multiply and add; ScaleF32 is exact either way).

// DotF32 returns Σ a[i]·b[i]. a and b must have the same length.
func DotF32(a, b []float32) float32 {
	if len(a) != len(b) {
		panic(fmt.Sprintf("quant: DotF32: lengths %d and %d", len(a), len(b)))
	}
	return floatOpsInUse.dot(a, b)
}

// AxpyF32 adds a·x to dst element by element. dst and x must have the
// same length.
func AxpyF32(dst []float32, a float32, x []float32) {
	if len(dst) != len(x) {
		panic(fmt.Sprintf("quant: AxpyF32: lengths %d and %d", len(dst), len(x)))
	}
	floatOpsInUse.axpy(dst, a, x)
}

// ScaleF32 multiplies every element of x by s.
func ScaleF32(x []float32, s float32) { floatOpsInUse.scale(x, s) }

// floatOps is one implementation of the helpers. Its functions may assume
// equal lengths (the exported wrappers check).
type floatOps struct {
	name  string
	dot   func(a, b []float32) float32
	axpy  func(dst []float32, a float32, x []float32)
	scale func(x []float32, s float32)
}

// floatOpImpls lists every implementation this CPU can run, portable first;
// tests check each against the portable one. floatOpsInUse is the last.
var (
	floatOpImpls  = []floatOps{{name: "go", dot: dotF32Go, axpy: axpyF32Go, scale: scaleF32Go}}
	floatOpsInUse = floatOpImpls[0]
)

// registerFloatOps adds a faster implementation, if the CPU supports it,
// and makes it the one in use.
func registerFloatOps(o floatOps, supported bool) {
	if !supported {
		return
	}
	floatOpImpls = append(floatOpImpls, o)
	floatOpsInUse = o
}

func dotF32Go(a, b []float32) float32 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(a); i += 4 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
	}
	for ; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return (s0 + s1) + (s2 + s3)
}

func axpyF32Go(dst []float32, a float32, x []float32) {
	x = x[:len(dst)]
	for i, v := range x {
		dst[i] += a * v
	}
}

func scaleF32Go(x []float32, s float32) {
	for i := range x {
		x[i] *= s
	}
}
