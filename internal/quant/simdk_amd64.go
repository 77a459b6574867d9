//go:build !purego

package quant

import (
	"golang.org/x/sys/cpu"

	"sov.dev/sov/internal/gguf"
)

// SIMD kernels for the K-quant weight types against Q8_K activations
// (simdk_amd64.s). Each works block by block as ggml does: the integer dot
// product of a 256-element block is exact in int32, and only the per-block
// float scaling and the final sum are reassociated.

func init() {
	avx2 := cpu.X86.HasAVX2 && cpu.X86.HasFMA && cpu.X86.HasF16C
	register(gguf.TypeQ4_K, "avx2", vecDotQ4_KAVX2, avx2)
}

//go:noescape
func dotQ4KAVX2(x, y *byte, nb int) float32

func vecDotQ4_KAVX2(row, act []byte, n int) float32 {
	nb := n / 256
	if nb <= 0 {
		return 0
	}
	_, _ = row[144*nb-1], act[292*nb-1]
	return dotQ4KAVX2(&row[0], &act[0], nb)
}
