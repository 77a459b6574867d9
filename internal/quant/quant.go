// Package quant converts tensor data between float32 and ggml's element
// formats (F32, F16, BF16, the legacy block quants Q4_0, Q4_1, Q5_0, Q5_1
// and Q8_0, and the K-quants Q4_K, Q5_K, Q6_K and Q8_K), and multiplies
// stored weight rows with activations quantised to 8 bits (vecdot.go), the
// inner loop of CPU matrix products.
//
// Dequantize and Quantize are the scalar reference: they follow ggml's
// dequantize_row_* and quantize_row_*_ref formulas (ggml-quants.c) block by
// block, and Quantize gives the same bytes on every platform (no fused
// multiply-add decides a rounding). The dot kernels have a portable Go
// version against which every SIMD version is tested. Nothing in a block is trusted: any bytes
// dequantise without a panic (into NaN or infinity if the scales say so).
// PackedQ8_0 (packed.go) holds a Q8_0 matrix rearranged once, at load, into
// a layout the vector unit streams at memory speed.
//
// The package works on bytes already in memory. It must not read files,
// know tensor names or model layouts, or allocate in its kernels.
package quant

import (
	"errors"
	"fmt"
	"math"

	"sov.dev/sov/internal/gguf"
)

// ErrUnsupported is returned for a tensor type this package cannot convert.
var ErrUnsupported = errors.New("unsupported tensor type")

// ErrLength is returned when a slice's length does not fit the tensor type
// or the other slice.
var ErrLength = errors.New("length mismatch")

// Block sizes (elements) of the supported quantised types.
const (
	qk  = 32  // legacy quants
	qkK = 256 // K-quants
)

// Supported reports whether Dequantize, Quantize and the dot kernels handle t.
func Supported(t gguf.TensorType) bool {
	switch t {
	case gguf.TypeF32, gguf.TypeF16, gguf.TypeBF16,
		gguf.TypeQ4_0, gguf.TypeQ4_1, gguf.TypeQ5_0, gguf.TypeQ5_1, gguf.TypeQ8_0,
		gguf.TypeQ4_K, gguf.TypeQ5_K, gguf.TypeQ6_K, gguf.TypeQ8_K:
		return true
	}
	return false
}

// RowBytes returns the number of bytes that n elements of type t occupy.
// n must be non-negative and a multiple of t's block size.
func RowBytes(t gguf.TensorType, n int) (int, error) {
	if !Supported(t) {
		return 0, fmt.Errorf("quant: %s: %w", t, ErrUnsupported)
	}
	bs, ts := int(t.BlockSize()), int(t.TypeSize())
	if n < 0 || n%bs != 0 {
		return 0, fmt.Errorf("quant: %s: %d elements is not a multiple of the block size %d: %w", t, n, bs, ErrLength)
	}
	if n/bs > math.MaxInt/ts {
		return 0, fmt.Errorf("quant: %s: %d elements: byte size overflows: %w", t, n, ErrLength)
	}
	return n / bs * ts, nil
}

// checkLengths validates that data holds exactly n elements of type t.
func checkLengths(t gguf.TensorType, data, n int) error {
	want, err := RowBytes(t, n)
	if err != nil {
		return err
	}
	if data != want {
		return fmt.Errorf("quant: %s: %d bytes for %d elements, want %d: %w", t, data, n, want, ErrLength)
	}
	return nil
}

// Dequantize converts the len(dst) elements stored in src to float32.
// len(dst) must be a multiple of t's block size and len(src) must be
// exactly RowBytes(t, len(dst)).
func Dequantize(t gguf.TensorType, src []byte, dst []float32) error {
	if err := checkLengths(t, len(src), len(dst)); err != nil {
		return err
	}
	switch t {
	case gguf.TypeF32:
		for i := range dst {
			dst[i] = math.Float32frombits(le32(src[4*i:]))
		}
	case gguf.TypeF16:
		for i := range dst {
			dst[i] = f16Table[le16(src[2*i:])]
		}
	case gguf.TypeBF16:
		for i := range dst {
			dst[i] = BF16ToF32(le16(src[2*i:]))
		}
	default:
		blocks(t, src, dst, dequantFunc(t))
	}
	return nil
}

// dequantFunc returns the one-block dequantiser of a quantised type.
func dequantFunc(t gguf.TensorType) func(b []byte, y []float32) {
	switch t {
	case gguf.TypeQ4_0:
		return dequantQ4_0
	case gguf.TypeQ4_1:
		return dequantQ4_1
	case gguf.TypeQ5_0:
		return dequantQ5_0
	case gguf.TypeQ5_1:
		return dequantQ5_1
	case gguf.TypeQ8_0:
		return dequantQ8_0
	case gguf.TypeQ4_K:
		return dequantQ4_K
	case gguf.TypeQ5_K:
		return dequantQ5_K
	case gguf.TypeQ6_K:
		return dequantQ6_K
	case gguf.TypeQ8_K:
		return dequantQ8_K
	}
	panic("quant: no dequantiser for " + t.String()) // Supported was checked
}

// blocks calls fn for each block of src and the matching elements of dst.
func blocks(t gguf.TensorType, src []byte, dst []float32, fn func(b []byte, y []float32)) {
	bs, ts := int(t.BlockSize()), int(t.TypeSize())
	for i := 0; i < len(dst)/bs; i++ {
		fn(src[i*ts:(i+1)*ts:(i+1)*ts], dst[i*bs:(i+1)*bs:(i+1)*bs])
	}
}

// Quantize converts src to type t, writing exactly RowBytes(t, len(src))
// bytes to dst, which must have that length. Quantised types use ggml's
// reference quantisers (quantize_row_*_ref, with the weighted scale search
// for K-quants); F16 and BF16 round to nearest even. Every element of src
// must be finite.
func Quantize(t gguf.TensorType, src []float32, dst []byte) error {
	if err := checkLengths(t, len(dst), len(src)); err != nil {
		return err
	}
	for i, v := range src {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return fmt.Errorf("quant: %s: element %d is %v, want a finite value", t, i, v)
		}
	}
	switch t {
	case gguf.TypeF32:
		for i, v := range src {
			put32(dst[4*i:], math.Float32bits(v))
		}
	case gguf.TypeF16:
		for i, v := range src {
			put16(dst[2*i:], F32ToF16(v))
		}
	case gguf.TypeBF16:
		for i, v := range src {
			put16(dst[2*i:], F32ToBF16(v))
		}
	default:
		bs, ts := int(t.BlockSize()), int(t.TypeSize())
		fn := quantFunc(t)
		for i := 0; i < len(src)/bs; i++ {
			fn(src[i*bs:(i+1)*bs:(i+1)*bs], dst[i*ts:(i+1)*ts:(i+1)*ts])
		}
	}
	return nil
}

// quantFunc returns the one-block reference quantiser of a quantised type.
func quantFunc(t gguf.TensorType) func(x []float32, b []byte) {
	switch t {
	case gguf.TypeQ4_0:
		return quantQ4_0
	case gguf.TypeQ4_1:
		return quantQ4_1
	case gguf.TypeQ5_0:
		return quantQ5_0
	case gguf.TypeQ5_1:
		return quantQ5_1
	case gguf.TypeQ8_0:
		return quantQ8_0
	case gguf.TypeQ4_K:
		return quantQ4_K
	case gguf.TypeQ5_K:
		return quantQ5_K
	case gguf.TypeQ6_K:
		return quantQ6_K
	case gguf.TypeQ8_K:
		return quantQ8_K
	}
	panic("quant: no quantiser for " + t.String()) // Supported was checked
}

// Little-endian helpers; the compiler turns each into one load or store.

func le16(b []byte) uint16 { _ = b[1]; return uint16(b[0]) | uint16(b[1])<<8 }

func le32(b []byte) uint32 {
	_ = b[3]
	return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
}

func put16(b []byte, v uint16) { _ = b[1]; b[0] = byte(v); b[1] = byte(v >> 8) }

func put32(b []byte, v uint32) {
	_ = b[3]
	b[0], b[1], b[2], b[3] = byte(v), byte(v>>8), byte(v>>16), byte(v>>24)
}

// half reads an fp16 field.
func half(b []byte) float32 { return f16Table[le16(b)] }
