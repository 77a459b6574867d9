package quant

import (
	"fmt"
	"math"
)

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

// SwiGLUF32 sets g[i] = silu(g[i])·u[i], silu(x) = x/(1+e^-x), the gated
// activation of a SwiGLU feed-forward block. g and u must have the same
// length. e^x is ExpF32's, or a SIMD version of the same algorithm that
// may fuse its multiply-adds (within 2 ulp of it).
func SwiGLUF32(g, u []float32) {
	if len(g) != len(u) {
		panic(fmt.Sprintf("quant: SwiGLUF32: lengths %d and %d", len(g), len(u)))
	}
	floatOpsInUse.swiglu(g, u)
}

// SoftmaxF32 replaces x by softmax(x): e^(x[i]-max) / Σ e^(x[j]-max).
// The sum may be added in any order.
func SoftmaxF32(x []float32) {
	if len(x) > 0 {
		floatOpsInUse.softmax(x)
	}
}

// DotRowsF32 sets out[t] = q·k[t·stride : t·stride+len(q)] for t < n: one
// query against n rows of a key cache. Each row's sum is computed the same
// way whatever n is, so splitting the rows over workers changes nothing.
func DotRowsF32(q, k []float32, stride, n int, out []float32) {
	checkRowSpan("DotRowsF32", len(q), len(k), stride, n)
	if len(out) < n {
		panic(fmt.Sprintf("quant: DotRowsF32: %d outputs for %d rows", len(out), n))
	}
	if n > 0 {
		floatOpsInUse.dotRows(q, k, stride, n, out)
	}
}

// AxpyRowsF32 adds Σ_t w[t]·v[t·stride : t·stride+len(out)] over t < n to
// out: the attention-weighted sum of n rows of a value cache. Each element
// adds its n terms in order of t.
func AxpyRowsF32(out, w, v []float32, stride, n int) {
	checkRowSpan("AxpyRowsF32", len(out), len(v), stride, n)
	if len(w) < n {
		panic(fmt.Sprintf("quant: AxpyRowsF32: %d weights for %d rows", len(w), n))
	}
	if n > 0 && len(out) > 0 {
		floatOpsInUse.axpyRows(out, w, v, stride, n)
	}
}

// checkRowSpan panics unless n rows of d elements, stride apart, fit in m.
func checkRowSpan(fn string, d, m, stride, n int) {
	if n < 0 || stride < 0 || n > 0 && (stride > 0 && n-1 > (m-d)/stride || m < d) {
		panic(fmt.Sprintf("quant: %s: %d rows of %d elements, stride %d, do not fit in %d", fn, n, d, stride, m))
	}
}

// ExpF32 is e^x in float32, within 3 ulp of the correctly rounded result:
// x is split into n·ln2 + r with |r| ≤ ln2/2, e^r comes from a degree-6
// polynomial, and 2^n is put into the exponent. The SIMD kernels compute
// the same steps lane by lane.
func ExpF32(x float32) float32 {
	switch {
	case x > expHi:
		return float32(math.Inf(1))
	case x < expLo:
		return 0
	case x != x:
		return x
	}
	n := float32(math.Floor(float64(x*expLog2e + 0.5)))
	r := x - n*expLn2Hi - n*expLn2Lo
	// e^r ≈ 1 + r + r²/2! + … + r⁶/6! (Horner).
	p := float32(expC6)
	p = p*r + expC5
	p = p*r + expC4
	p = p*r + expC3
	p = p*r + 0.5
	p = p*r + 1
	p = p*r + 1
	// 2^n in two halves, each a normal float32 for n in [-150, 128], so
	// that p·2^n is rounded once, also where it is subnormal.
	ni := int32(n)
	n1 := ni >> 1
	p *= math.Float32frombits(uint32(n1+127) << 23)
	return p * math.Float32frombits(uint32(ni-n1+127)<<23)
}

// The constants of ExpF32, shared with the kernels' table (simdf_amd64.s).
const (
	expHi    = 88.72  // e^x overflows above
	expLo    = -103.9 // e^x rounds to 0 below
	expLog2e = 1.44269504088896341
	expLn2Hi = 0.693359375 // ln2 = expLn2Hi + expLn2Lo, expLn2Hi·n exact
	expLn2Lo = -2.12194440e-4
	expC6    = 1.0 / 720
	expC5    = 1.0 / 120
	expC4    = 1.0 / 24
	expC3    = 1.0 / 6
)

// floatOps is one implementation of the helpers. Its functions may assume
// equal lengths (the exported wrappers check).
type floatOps struct {
	name  string
	dot   func(a, b []float32) float32
	axpy  func(dst []float32, a float32, x []float32)
	scale func(x []float32, s float32)

	swiglu   func(g, u []float32)
	softmax  func(x []float32) // len(x) > 0
	expSub   func(x []float32, m float32) float32
	dotRows  func(q, k []float32, stride, n int, out []float32)
	axpyRows func(out, w, v []float32, stride, n int)
}

// floatOpImpls lists every implementation this CPU can run, portable first;
// tests check each against the portable one. floatOpsInUse is the last.
var (
	floatOpImpls = []floatOps{{
		name: "go", dot: dotF32Go, axpy: axpyF32Go, scale: scaleF32Go,
		swiglu: swigluF32Go, softmax: softmaxF32Go, expSub: expSubF32Go, dotRows: dotRowsF32Go, axpyRows: axpyRowsF32Go,
	}}
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

func swigluF32Go(g, u []float32) {
	u = u[:len(g)]
	for i, x := range g {
		g[i] = x / (1 + ExpF32(-x)) * u[i]
	}
}

func softmaxF32Go(x []float32) {
	scaleF32Go(x, 1/expSubF32Go(x, maxF32Go(x)))
}

// maxF32Go returns the largest element of a non-empty x.
func maxF32Go(x []float32) float32 {
	m := x[0]
	for _, v := range x[1:] {
		if v > m {
			m = v
		}
	}
	return m
}

// expSubF32Go sets x[i] = e^(x[i]-m) and returns the sum.
func expSubF32Go(x []float32, m float32) float32 {
	var sum float32
	for i, v := range x {
		e := ExpF32(v - m)
		x[i] = e
		sum += e
	}
	return sum
}

func dotRowsF32Go(q, k []float32, stride, n int, out []float32) {
	d := len(q)
	for t := range n {
		out[t] = dotF32Go(q, k[t*stride:t*stride+d])
	}
}

func axpyRowsF32Go(out, w, v []float32, stride, n int) {
	d := len(out)
	for t := range n {
		axpyF32Go(out, w[t], v[t*stride:t*stride+d])
	}
}
