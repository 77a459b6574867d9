//go:build !purego

package quant

import (
	"golang.org/x/sys/cpu"

	"sov.dev/sov/internal/gguf"
)

//go:noescape
func q8RowsPrep(y *byte, nb int, dst *byte, w *byte)

//go:noescape
func dotQ8_0RowsFlip(x, y, prep *byte, nb, rows, stride int, out *float32)

// q8PrepStack is how many blocks of prepared activations rowsQ8_0Flip
// keeps on the stack (16384 columns); longer rows use pooled scratch.
const q8PrepStack = 512

func init() {
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA && cpu.X86.HasF16C && cpu.X86.HasAVX512F && cpu.X86.HasAVX512BW && cpu.X86.HasAVX512VL && cpu.X86.HasAVX512VNNI {
		registerRows(gguf.TypeQ8_0, "avx512vnni", rowsQ8_0Flip)
	}
}

// rowsQ8_0Flip is the Q8_0 multi-row kernel of rows_amd64.s.
func rowsQ8_0Flip(w []byte, rowBytes, rows int, act []byte, cols int, out []float32) {
	nb := checkRows("Q8_0 rows", 34, 34, w, rowBytes, rows, act, cols, out)
	if rows == 0 || nb == 0 {
		clear(out[:rows])
		return
	}
	size := (nb + 3) / 4 * 32
	var stack [q8PrepStack / 4 * 32]byte
	prep := stack[:]
	if size > len(stack) {
		p, buf := scratch(size)
		defer gemmScratch.Put(p)
		prep = buf
	}
	q8RowsPrep(&act[0], nb, &prep[0], &w[0])
	dotQ8_0RowsFlip(&w[0], &act[0], &prep[0], nb, rows, rowBytes, &out[0])
}
