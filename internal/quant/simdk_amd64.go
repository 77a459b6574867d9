//go:build !purego

package quant

import (
	"golang.org/x/sys/cpu"

	"sov.dev/sov/internal/gguf"
)

// SIMD kernels for the K-quant weight types against Q8_K activations
// (simdk_amd64.s). Each works block by block as ggml does: the integer dot
// product of a 256-element block is exact in int32, and only the per-block
// float scaling and the final sum are reassociated. Like the portable
// kernels they take the mins (Q4_K, Q5_K) and the −32 offset (Q6_K) from
// the activations' block sums, so the activations must come from
// QuantizeActivations.
//
// "avx2" needs AVX2, FMA and F16C. "avx512vnni" also needs AVX-512 F, BW
// and VL, VNNI and GFNI (Ice Lake and later, Zen 4 and later); CPUs with
// AVX-512 but without GFNI (Skylake-SP, Cascade Lake) run "avx2".

func init() {
	avx2 := cpu.X86.HasAVX2 && cpu.X86.HasFMA && cpu.X86.HasF16C
	vnni := avx2 && cpu.X86.HasAVX512F && cpu.X86.HasAVX512BW && cpu.X86.HasAVX512VL &&
		cpu.X86.HasAVX512VNNI && cpu.X86.HasAVX512GFNI
	register(gguf.TypeQ4_K, "avx2", kBlocks(dotQ4KAVX2, 144), avx2)
	register(gguf.TypeQ4_K, "avx512vnni", kBlocks(dotQ4KVNNI, 144), vnni)
	register(gguf.TypeQ5_K, "avx2", kBlocks(dotQ5KAVX2, 176), avx2)
	register(gguf.TypeQ5_K, "avx512vnni", kBlocks(dotQ5KVNNI, 176), vnni)
	register(gguf.TypeQ6_K, "avx2", kBlocks(dotQ6KAVX2, 210), avx2)
	register(gguf.TypeQ6_K, "avx512vnni", kBlocks(dotQ6KVNNI, 210), vnni)
}

// kBlocks wraps an assembly kernel over nb blocks of bs weight bytes and
// 292 activation bytes: it checks the slices once, so the assembly never
// reads past them.
func kBlocks(fn func(x, y *byte, nb int) float32, bs int) vecDotFunc {
	return func(row, act []byte, n int) float32 {
		nb := n / 256
		if nb <= 0 {
			return 0
		}
		_, _ = row[bs*nb-1], act[292*nb-1]
		return fn(&row[0], &act[0], nb)
	}
}

// The kernels: x points at nb weight blocks, y at nb Q8_K blocks.

//go:noescape
func dotQ4KAVX2(x, y *byte, nb int) float32

//go:noescape
func dotQ4KVNNI(x, y *byte, nb int) float32

//go:noescape
func dotQ5KAVX2(x, y *byte, nb int) float32

//go:noescape
func dotQ5KVNNI(x, y *byte, nb int) float32

//go:noescape
func dotQ6KAVX2(x, y *byte, nb int) float32

//go:noescape
func dotQ6KVNNI(x, y *byte, nb int) float32
