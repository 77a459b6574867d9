//go:build !purego

package quant

import (
	"golang.org/x/sys/cpu"

	"sov.dev/sov/internal/gguf"
)

//go:noescape
func dotQ8_0RowsVNNI(x, y *byte, nb, rows, stride int, out *float32)

func init() {
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA && cpu.X86.HasF16C && cpu.X86.HasAVX512F && cpu.X86.HasAVX512BW && cpu.X86.HasAVX512VL && cpu.X86.HasAVX512VNNI {
		rowsKernels[gguf.TypeQ8_0] = func(w []byte, rowBytes, rows int, act []byte, cols int, out []float32) {
			nb := checkRows("Q8_0 rows", 34, 34, w, rowBytes, rows, act, cols, out)
			if rows == 0 || nb == 0 {
				clear(out[:rows])
				return
			}
			dotQ8_0RowsVNNI(&w[0], &act[0], nb, rows, rowBytes, &out[0])
		}
	}
}
