//go:build !purego

package quant

import (
	"fmt"
	"math"
	"unsafe"

	"golang.org/x/sys/cpu"

	"sov.dev/sov/internal/gguf"
)

// The kernels below (simdf_amd64.s) take raw pointers and an element count
// that is a multiple of their vector step; the wrappers check the slices
// and finish the last few elements in Go.

//go:noescape
func dotF32AVX2(a, b *byte, n int) float32

//go:noescape
func dotF16AVX2(a, b *byte, n int) float32

//go:noescape
func dotBF16AVX2(a, b *byte, n int) float32

//go:noescape
func dotF32AVX512(a, b *byte, n int) float32

//go:noescape
func dotF16AVX512(a, b *byte, n int) float32

//go:noescape
func dotBF16AVX512(a, b *byte, n int) float32

//go:noescape
func axpyF32AVX2(dst, x *byte, a float32, n int)

//go:noescape
func scaleF32AVX2(x *byte, s float32, n int)

// floatKernel adapts a raw kernel over elements of es bytes, step elements
// at a time, to a vecDotFunc; tail finishes the last n%step elements.
func floatKernel(name string, es, step int, k func(a, b *byte, n int) float32, tail vecDotFunc) vecDotFunc {
	return func(row, act []byte, n int) float32 {
		if n <= 0 {
			return 0
		}
		if len(row) < es*n || len(act) < 4*n {
			panic(fmt.Sprintf("quant: %s: %d weight and %d activation bytes for %d elements", name, len(row), len(act), n))
		}
		m := n - n%step
		var s float32
		if m > 0 {
			s = k(&row[0], &act[0], m)
		}
		if m < n {
			s += tail(row[es*m:], act[4*m:], n-m)
		}
		return s
	}
}

func init() {
	avx2 := cpu.X86.HasAVX2 && cpu.X86.HasFMA && cpu.X86.HasF16C
	avx512 := avx2 && cpu.X86.HasAVX512F && cpu.X86.HasAVX512BW && cpu.X86.HasAVX512VL
	register(gguf.TypeF32, "avx2", floatKernel("F32 avx2", 4, 8, dotF32AVX2, vecDotF32), avx2)
	register(gguf.TypeF16, "avx2", floatKernel("F16 avx2", 2, 8, dotF16AVX2, vecDotF16), avx2)
	register(gguf.TypeBF16, "avx2", floatKernel("BF16 avx2", 2, 8, dotBF16AVX2, vecDotBF16), avx2)
	register(gguf.TypeF32, "avx512", floatKernel("F32 avx512", 4, 16, dotF32AVX512, vecDotF32), avx512)
	register(gguf.TypeF16, "avx512", floatKernel("F16 avx512", 2, 16, dotF16AVX512, vecDotF16), avx512)
	register(gguf.TypeBF16, "avx512", floatKernel("BF16 avx512", 2, 16, dotBF16AVX512, vecDotBF16), avx512)
	for _, o := range []struct {
		name      string
		vk        *vecKernels
		supported bool
	}{{"avx2", &vecAVX2, avx2}, {"avx512", &vecAVX512, avx512}} {
		registerFloatOps(floatOps{
			name: o.name, dot: dotF32SIMD, axpy: axpyF32SIMD, scale: scaleF32SIMD,
			swiglu: o.vk.swigluF32, softmax: o.vk.softmaxF32, expSub: o.vk.expSubF32, dotRows: o.vk.dotRowsF32, axpyRows: o.vk.axpyRowsF32,
		}, o.supported)
	}
}

// f32Bytes passes a non-empty float32 slice to the kernels, which take
// byte pointers (a *byte conversion never trips checkptr's alignment test).
func f32Bytes(x []float32) *byte { return (*byte)(unsafe.Pointer(&x[0])) }

func dotF32SIMD(a, b []float32) float32 {
	n := len(a)
	m := n &^ 7
	var s float32
	if m > 0 {
		s = dotF32AVX2(f32Bytes(a), f32Bytes(b), m)
	}
	if m < n {
		s += dotF32Go(a[m:], b[m:n])
	}
	return s
}

func axpyF32SIMD(dst []float32, a float32, x []float32) {
	n := len(dst)
	m := n &^ 7
	if m > 0 {
		axpyF32AVX2(f32Bytes(dst), f32Bytes(x), a, m)
	}
	if m < n {
		axpyF32Go(dst[m:], a, x[m:n])
	}
}

func scaleF32SIMD(x []float32, s float32) {
	n := len(x)
	m := n &^ 7
	if m > 0 {
		scaleF32AVX2(f32Bytes(x), s, m)
	}
	if m < n {
		scaleF32Go(x[m:], s)
	}
}

// Kernels of simdfv_amd64.s; counts are positive multiples of 8 (AVX2) or
// 16 (AVX-512).

//go:noescape
func swigluF32AVX2(gs, u *byte, n int)

//go:noescape
func swigluF32AVX512(gs, u *byte, n int)

//go:noescape
func expSubF32AVX2(x *byte, m float32, n int) float32

//go:noescape
func expSubF32AVX512(x *byte, m float32, n int) float32

//go:noescape
func maxF32AVX2(x *byte, n int) float32

//go:noescape
func maxF32AVX512(x *byte, n int) float32

//go:noescape
func dotRowsF32AVX2(q, k *byte, d, stride, n int, out *byte)

//go:noescape
func dotRowsF32AVX512(q, k *byte, d, stride, n int, out *byte)

//go:noescape
func axpyRowsF32AVX2(out, w, v *byte, d, stride, n int)

//go:noescape
func axpyRowsF32AVX512(out, w, v *byte, d, stride, n int)

// vecKernels is one width of the kernels above.
type vecKernels struct {
	step     int
	swiglu   func(g, u *byte, n int)
	expSub   func(x *byte, m float32, n int) float32
	max      func(x *byte, n int) float32
	dotRows  func(q, k *byte, d, stride, n int, out *byte)
	axpyRows func(out, w, v *byte, d, stride, n int)
}

var (
	vecAVX2   = vecKernels{8, swigluF32AVX2, expSubF32AVX2, maxF32AVX2, dotRowsF32AVX2, axpyRowsF32AVX2}
	vecAVX512 = vecKernels{16, swigluF32AVX512, expSubF32AVX512, maxF32AVX512, dotRowsF32AVX512, axpyRowsF32AVX512}
)

func (vk *vecKernels) swigluF32(g, u []float32) {
	n := len(g)
	m := n - n%vk.step
	if m > 0 {
		vk.swiglu(f32Bytes(g), f32Bytes(u), m)
	}
	if m < n {
		// The last few go through the kernel too, padded, so that an
		// element's value does not depend on where a worker's range ends.
		var gb, ub [16]float32
		copy(gb[:], g[m:])
		copy(ub[:], u[m:n])
		// (Direct calls: through vk's function values the buffers would
		// escape to the heap.)
		if vk.step == 16 {
			swigluF32AVX512(f32Bytes(gb[:]), f32Bytes(ub[:]), 16)
		} else {
			swigluF32AVX2(f32Bytes(gb[:]), f32Bytes(ub[:]), 8)
		}
		copy(g[m:], gb[:n-m])
	}
}

func (vk *vecKernels) softmaxF32(x []float32) {
	n := len(x)
	m := n - n%vk.step
	mx := x[0]
	if m > 0 {
		mx = vk.max(f32Bytes(x), m)
	}
	for _, v := range x[m:] {
		if v > mx {
			mx = v
		}
	}
	scaleF32SIMD(x, 1/vk.expSubF32(x, mx))
}

func (vk *vecKernels) expSubF32(x []float32, mx float32) float32 {
	n := len(x)
	m := n - n%vk.step
	var sum float32
	if m > 0 {
		sum = vk.expSub(f32Bytes(x), mx, m)
	}
	if m < n {
		// Padding with -Inf adds e^-Inf = 0 to the sum.
		var xb [16]float32
		for i := range xb {
			xb[i] = float32(math.Inf(-1))
		}
		copy(xb[:], x[m:])
		if vk.step == 16 {
			sum += expSubF32AVX512(f32Bytes(xb[:]), mx, 16)
		} else {
			sum += expSubF32AVX2(f32Bytes(xb[:]), mx, 8)
		}
		copy(x[m:], xb[:n-m])
	}
	return sum
}

// dotRowsF32 and axpyRowsF32 take rows whose length is a multiple of the
// step (attention heads are 64 or 128 wide) to the kernel and others to
// the portable loop, so that every row of one call is computed alike.
func (vk *vecKernels) dotRowsF32(q, k []float32, stride, n int, out []float32) {
	d := len(q)
	if n <= 0 {
		return
	}
	if d == 0 || d%vk.step != 0 {
		dotRowsF32Go(q, k, stride, n, out)
		return
	}
	vk.dotRows(f32Bytes(q), f32Bytes(k), d, stride, n, f32Bytes(out))
}

func (vk *vecKernels) axpyRowsF32(out, w, v []float32, stride, n int) {
	d := len(out)
	if d == 0 || n <= 0 {
		return
	}
	if d%vk.step != 0 {
		axpyRowsF32Go(out, w, v, stride, n)
		return
	}
	vk.axpyRows(f32Bytes(out), f32Bytes(w), f32Bytes(v), d, stride, n)
}
