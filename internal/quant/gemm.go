package quant

import (
	"fmt"

	"sov.dev/sov/internal/gguf"
)

// Prompt processing multiplies one weight matrix with many activation
// vectors at once. Calling the row kernel once per (row, token) pair loads
// every weight block once per token; a tiled kernel keeps the partial sums
// of several rows and tokens in registers and loads each weight block once
// per tile of tokens. Gemm returns such a kernel where this CPU has one and
// a loop over the row kernel otherwise.

// GemmFunc computes out[b*outStride+r] = VecDot(t, w[r*rowBytes:],
// act[b*actStride:], cols) for r in [0, rows) and b in [0, n): weights are
// rows rows of rowBytes bytes (cols elements of type t each), activations n
// vectors of cols elements in VecDotType(t), actStride bytes apart. It gives
// what the row kernel gives up to float32 rounding of the final sums (the
// integer parts are exact), and panics if a slice is too short for the
// shape, as the row kernels do. Activations must be as QuantizeActivations
// writes them: the tiled K-quant kernels sum Q8_K quants themselves rather
// than read the stored block sums.
type GemmFunc func(w []byte, rowBytes, rows int, act []byte, actStride, n int, out []float32, outStride, cols int)

// gemmImpl is one implementation of a matrix kernel.
type gemmImpl struct {
	name string
	fn   GemmFunc
}

// gemmImpls lists, per weight type, the tiled kernels this CPU can run,
// slowest first; registerGemm appends. Tests run each against the loop
// over the portable row kernel.
var gemmImpls = map[gguf.TensorType][]gemmImpl{}

// registerGemm adds a tiled kernel for weights of type t if the CPU
// supports it; the last one registered is the one Gemm returns.
func registerGemm(t gguf.TensorType, name string, fn GemmFunc, supported bool) {
	if supported {
		gemmImpls[t] = append(gemmImpls[t], gemmImpl{name: name, fn: fn})
	}
}

// Gemm returns the matrix kernel for weights of type t: the fastest tiled
// kernel this CPU runs, or a loop over Kernel(t). It panics for a type
// without a dot kernel, as Kernel does.
func Gemm(t gguf.TensorType) GemmFunc {
	if impls := gemmImpls[t]; len(impls) > 0 {
		return impls[len(impls)-1].fn
	}
	return gemmLoop(Kernel(t))
}

// gemmLoop is the matrix kernel made of one row-kernel call per (row,
// token) pair, rows outermost so that a weight row stays in cache while
// every token passes over it.
func gemmLoop(k vecDotFunc) GemmFunc {
	return func(w []byte, rowBytes, rows int, act []byte, actStride, n int, out []float32, outStride, cols int) {
		for r := 0; r < rows; r++ {
			row := w[r*rowBytes:]
			for b := 0; b < n; b++ {
				out[b*outStride+r] = k(row, act[b*actStride:], cols)
			}
		}
	}
}

// checkGemm panics unless the slices hold the shape: rows rows of blocks
// weight blocks of wb bytes, n activation vectors of blocks blocks of ab
// bytes, and the n×rows outputs. The tiled kernels read through raw
// pointers after it.
func checkGemm(name string, wb, ab int, w []byte, rowBytes, rows int, act []byte, actStride, n int, out []float32, outStride, blocks int) {
	bad := func(what string, have, need int) {
		panic(fmt.Sprintf("quant: %s gemm: %s: have %d, need %d (rows=%d n=%d blocks=%d)", name, what, have, need, rows, n, blocks))
	}
	if rows <= 0 || n <= 0 || blocks <= 0 {
		return
	}
	if rowBytes < blocks*wb {
		bad("row stride", rowBytes, blocks*wb)
	}
	if need := (rows-1)*rowBytes + blocks*wb; len(w) < need {
		bad("weight bytes", len(w), need)
	}
	if actStride < blocks*ab {
		bad("activation stride", actStride, blocks*ab)
	}
	if need := (n-1)*actStride + blocks*ab; len(act) < need {
		bad("activation bytes", len(act), need)
	}
	if outStride < rows {
		bad("output stride", outStride, rows)
	}
	if need := (n-1)*outStride + rows; len(out) < need {
		bad("outputs", len(out), need)
	}
	if outStride >= 1<<27 { // the kernels address 16 tokens' outputs with int32 offsets
		bad("output stride (at most)", outStride, 1<<27-1)
	}
}
