//go:build !purego

package quant

import (
	"fmt"

	"golang.org/x/sys/cpu"

	"sov.dev/sov/internal/gguf"
)

// The kernels below (simd32_amd64.s) read nb whole blocks through raw
// pointers; the wrappers check the slice lengths first, so a short slice
// panics as the portable kernels do instead of reading past it.
//
// Precondition, as in ggml: activation quants are in [-127, 127]. Weights
// may hold any byte, but the kernels negate activations (sign(y, w) for
// Q8_0 and Q5_0, −y for the offset of Q4_0 and Q5_0 on VNNI), and −(−128)
// does not fit a byte. QuantizeActivations gives -128 only for a NaN, for
// a block holding an infinity, and for a block so small (|x| < 4e-37) that
// its fp16 scale is 0 anyway; so the sums differ from the portable
// kernels' only where both are meaningless or the block counts zero. The
// fuzz test lifts -128 to -127 for that reason.

//go:noescape
func dotQ8_0AVX2(x, y *byte, nb int) float32

//go:noescape
func dotQ8_0VNNI(x, y *byte, nb int) float32

//go:noescape
func dotQ4_0AVX2(x, y *byte, nb int) float32

//go:noescape
func dotQ4_0VNNI(x, y *byte, nb int) float32

//go:noescape
func dotQ5_0AVX2(x, y *byte, nb int) float32

//go:noescape
func dotQ5_0VNNI(x, y *byte, nb int) float32

//go:noescape
func dotQ4_1AVX2(x, y *byte, nb int) float32

//go:noescape
func dotQ4_1VNNI(x, y *byte, nb int) float32

//go:noescape
func dotQ5_1AVX2(x, y *byte, nb int) float32

//go:noescape
func dotQ5_1VNNI(x, y *byte, nb int) float32

//go:noescape
func quantQ8_0AVX2(x *float32, dst *byte, nb int)

// simd32Kernel adapts a raw kernel over nb blocks of xs weight bytes and ys
// activation bytes to a vecDotFunc.
func simd32Kernel(name string, xs, ys int, k func(x, y *byte, nb int) float32) vecDotFunc {
	return func(row, act []byte, n int) float32 {
		nb := n / 32
		if nb <= 0 {
			return 0
		}
		if len(row) < nb*xs || len(act) < nb*ys {
			panic(fmt.Sprintf("quant: %s: %d weight and %d activation bytes for %d elements", name, len(row), len(act), n))
		}
		return k(&row[0], &act[0], nb)
	}
}

func init() {
	avx2 := cpu.X86.HasAVX2 && cpu.X86.HasFMA && cpu.X86.HasF16C
	vnni := avx2 && cpu.X86.HasAVX512F && cpu.X86.HasAVX512BW && cpu.X86.HasAVX512VL && cpu.X86.HasAVX512VNNI
	for _, k := range []struct {
		t      gguf.TensorType
		xs, ys int
		avx2   func(x, y *byte, nb int) float32
		vnni   func(x, y *byte, nb int) float32
	}{
		{gguf.TypeQ8_0, 34, 34, dotQ8_0AVX2, dotQ8_0VNNI},
		{gguf.TypeQ4_0, 18, 34, dotQ4_0AVX2, dotQ4_0VNNI},
		{gguf.TypeQ5_0, 22, 34, dotQ5_0AVX2, dotQ5_0VNNI},
		{gguf.TypeQ4_1, 20, 36, dotQ4_1AVX2, dotQ4_1VNNI},
		{gguf.TypeQ5_1, 24, 36, dotQ5_1AVX2, dotQ5_1VNNI},
	} {
		register(k.t, "avx2", simd32Kernel(k.t.String()+" avx2", k.xs, k.ys, k.avx2), avx2)
		register(k.t, "avx512vnni", simd32Kernel(k.t.String()+" avx512vnni", k.xs, k.ys, k.vnni), vnni)
	}
	if avx2 {
		quantizeQ8_0Act = quantizeQ8_0ActAVX2
	}
}

// quantizeQ8_0ActAVX2 gives the same bytes as quantQ8_0 block by block.
func quantizeQ8_0ActAVX2(x []float32, dst []byte) {
	nb := len(x) / 32
	if nb == 0 {
		return
	}
	if len(dst) < 34*nb {
		panic(fmt.Sprintf("quant: Q8_0 activations: %d bytes for %d values", len(dst), len(x)))
	}
	quantQ8_0AVX2(&x[0], &dst[0], nb)
}
