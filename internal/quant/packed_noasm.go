//go:build !amd64 || purego

package quant

// matVecPackedVNNI is never registered without the assembly.
func matVecPackedVNNI(*PackedQ8_0, int, int, []byte, []byte, []float32) {
	panic("quant: no packed VNNI kernel in this build")
}
