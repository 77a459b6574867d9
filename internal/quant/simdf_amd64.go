//go:build !purego

package quant

import (
	"fmt"
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
	registerFloatOps(floatOps{name: "avx2", dot: dotF32SIMD, axpy: axpyF32SIMD, scale: scaleF32SIMD}, avx2)
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
