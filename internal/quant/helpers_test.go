package quant

import (
	"encoding/binary"
	"math"
	"math/rand/v2"

	"sov.dev/sov/internal/gguf"
)

// allTypes lists every supported type, in id order.
var allTypes = []gguf.TensorType{
	gguf.TypeF32, gguf.TypeF16, gguf.TypeQ4_0, gguf.TypeQ4_1, gguf.TypeQ5_0, gguf.TypeQ5_1,
	gguf.TypeQ8_0, gguf.TypeQ4_K, gguf.TypeQ5_K, gguf.TypeQ6_K, gguf.TypeQ8_K, gguf.TypeBF16,
}

// quantTypes lists the block-quantised types.
var quantTypes = []gguf.TensorType{
	gguf.TypeQ4_0, gguf.TypeQ4_1, gguf.TypeQ5_0, gguf.TypeQ5_1, gguf.TypeQ8_0,
	gguf.TypeQ4_K, gguf.TypeQ5_K, gguf.TypeQ6_K, gguf.TypeQ8_K,
}

// halfFields lists the byte offsets of the fp16 scale fields of one block.
var halfFields = map[gguf.TensorType][]int{
	gguf.TypeQ4_0: {0},
	gguf.TypeQ4_1: {0, 2},
	gguf.TypeQ5_0: {0},
	gguf.TypeQ5_1: {0, 2},
	gguf.TypeQ8_0: {0},
	gguf.TypeQ4_K: {0, 2},
	gguf.TypeQ5_K: {0, 2},
	gguf.TypeQ6_K: {208},
}

// edgeHalves are fp16 scales a hostile or unlucky file may hold: zeros,
// the smallest and largest subnormals, the largest finite value,
// infinities and NaNs.
var edgeHalves = []uint16{0x0000, 0x8000, 0x0001, 0x03ff, 0x0400, 0x7bff, 0xfbff, 0x7c00, 0xfc00, 0x7e00, 0xfe01, 0x3c00}

// randomRow returns n elements of type t as random bytes. With edges, a
// quarter of the scale fields take edge values and the rest random finite
// ones; without, every scale is a moderate positive value, so that the
// row dequantises to finite numbers.
func randomRow(r *rand.Rand, t gguf.TensorType, n int, edges bool) []byte {
	nb, err := RowBytes(t, n)
	if err != nil {
		panic(err)
	}
	b := make([]byte, nb)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	scale := func() uint16 {
		if edges && r.IntN(4) == 0 {
			return edgeHalves[r.IntN(len(edgeHalves))]
		}
		if edges {
			return uint16(r.Uint32()) & 0x7bff // finite, either sign bit clear
		}
		return uint16(0x1c00 + r.IntN(0x1000)) // [2^-8, 2^-4)
	}
	ts := int(t.TypeSize())
	for blk := 0; blk < len(b)/ts; blk++ {
		block := b[blk*ts : (blk+1)*ts]
		switch t {
		case gguf.TypeF16:
			if !edges {
				binary.LittleEndian.PutUint16(block, uint16(r.IntN(0x7800))|uint16(r.IntN(2))<<15)
			} else if r.IntN(8) == 0 {
				binary.LittleEndian.PutUint16(block, edgeHalves[r.IntN(len(edgeHalves))])
			}
		case gguf.TypeBF16:
			if !edges {
				binary.LittleEndian.PutUint16(block, uint16(0x3000+r.IntN(0x1000))|uint16(r.IntN(2))<<15)
			}
		case gguf.TypeF32:
			if !edges {
				binary.LittleEndian.PutUint32(block, math.Float32bits(float32(r.NormFloat64())))
			}
		case gguf.TypeQ8_K:
			if !edges {
				binary.LittleEndian.PutUint32(block, math.Float32bits(float32(r.Float64()/64)))
			}
		default:
			for _, off := range halfFields[t] {
				binary.LittleEndian.PutUint16(block[off:], scale())
			}
		}
	}
	return b
}

// gaussian returns n normally distributed values with the given standard
// deviation.
func gaussian(r *rand.Rand, n int, std float64) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(r.NormFloat64() * std)
	}
	return x
}

func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 0x5eed)) }

func mustQuantize(t gguf.TensorType, x []float32) []byte {
	n, err := RowBytes(t, len(x))
	if err != nil {
		panic(err)
	}
	b := make([]byte, n)
	if err := Quantize(t, x, b); err != nil {
		panic(err)
	}
	return b
}

func mustDequantize(t gguf.TensorType, b []byte, n int) []float32 {
	y := make([]float32, n)
	if err := Dequantize(t, b, y); err != nil {
		panic(err)
	}
	return y
}
