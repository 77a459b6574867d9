package quant

import (
	"fmt"

	"sov.dev/sov/internal/gguf"
)

// RowsFunc computes out[r] = VecDot(t, w[r*rowBytes:], act, cols) for the
// rows consecutive weight rows in w: a matrix–vector product over a range
// of rows, with the per-call cost paid once per range instead of per row.
type RowsFunc func(w []byte, rowBytes, rows int, act []byte, cols int, out []float32)

// rowsKernels holds multi-row kernels where a CPU has them; others loop
// over the row kernel.
var rowsKernels = map[gguf.TensorType]RowsFunc{}

// rowsImpl is one implementation of a multi-row kernel.
type rowsImpl struct {
	name string
	fn   RowsFunc
}

// rowsImpls lists the multi-row kernels this CPU runs, per weight type,
// the one in use last; tests run each against the portable row kernel.
var rowsImpls = map[gguf.TensorType][]rowsImpl{}

// registerRows adds a multi-row kernel for weights of type t and makes it
// the one in use.
func registerRows(t gguf.TensorType, name string, fn RowsFunc) {
	rowsImpls[t] = append(rowsImpls[t], rowsImpl{name, fn})
	rowsKernels[t] = fn
}

// Rows returns the multi-row kernel for weights of type t.
func Rows(t gguf.TensorType) RowsFunc {
	if k, ok := rowsKernels[t]; ok {
		return k
	}
	return rowsLoop(Kernel(t))
}

func rowsLoop(k vecDotFunc) RowsFunc {
	return func(w []byte, rowBytes, rows int, act []byte, cols int, out []float32) {
		for r := 0; r < rows; r++ {
			out[r] = k(w[r*rowBytes:(r+1)*rowBytes], act, cols)
		}
	}
}

// checkRows validates the slices once per call, so the assembly never reads
// outside them.
func checkRows(name string, xs, ys int, w []byte, rowBytes, rows int, act []byte, cols int, out []float32) int {
	nb := cols / 32
	if rows < 0 || rowBytes < nb*xs || (rows > 0 && len(w) < (rows-1)*rowBytes+nb*xs) || len(act) < nb*ys || len(out) < rows {
		panic(fmt.Sprintf("quant: %s: %d rows of %d bytes in %d, %d activation bytes, %d outputs for %d columns", name, rows, rowBytes, len(w), len(act), len(out), cols))
	}
	return nb
}
