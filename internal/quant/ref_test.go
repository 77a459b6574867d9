package quant

import (
	"encoding/binary"
	"math"

	"sov.dev/sov/internal/gguf"
)

// This file is a second, deliberately plain transcription of ggml's
// dequantisation formulas: element by element, in float64, from the block
// layouts of ggml-common.h, sharing no code with the package. Each element
// is returned as the two terms ggml adds, a scaled quant and an offset, so
// that a test can bound the float32 rounding by their magnitudes.

// refHalf decodes IEEE binary16 bits.
func refHalf(h uint16) float64 {
	sign := 1.0
	if h&0x8000 != 0 {
		sign = -1
	}
	exp, frac := int(h>>10&0x1f), float64(h&0x3ff)
	switch {
	case exp == 31 && frac == 0:
		return math.Inf(int(sign))
	case exp == 31:
		return math.NaN()
	case exp == 0:
		return sign * math.Ldexp(frac, -24)
	}
	return sign * math.Ldexp(1+frac/1024, exp-15)
}

func refU16(b []byte, off int) uint16 { return binary.LittleEndian.Uint16(b[off:]) }

// refTerms is one dequantised element: value = scaled + offset, where
// scaled is (scale product) * quant, computed in that association.
type refTerms struct{ scaled, offset float64 }

func (r refTerms) value() float64 { return r.scaled + r.offset }

// refK4Scale returns the 6-bit scale and min of sub-block j (0..7) from
// the 12 scale bytes s of a Q4_K or Q5_K block: bytes 0–3 hold the low 6
// bits of scales 0–3 and bytes 4–7 those of mins 0–3; for sub-blocks 4–7
// the low 4 bits sit in the nibbles of bytes 8–11 and the top 2 bits in
// the top bits of bytes 0–3 (scales) and 4–7 (mins).
func refK4Scale(s []byte, j int) (sc, m int) {
	if j < 4 {
		return int(s[j] & 0x3f), int(s[4+j] & 0x3f)
	}
	k := j - 4
	sc = int(s[8+k]&0x0f) + int(s[k]>>6)*16
	m = int(s[8+k]>>4) + int(s[4+k]>>6)*16
	return sc, m
}

// refBlock dequantises element i of one block b of type t.
func refBlock(t gguf.TensorType, b []byte, i int) refTerms {
	switch t {
	case gguf.TypeQ8_0:
		return refTerms{scaled: refHalf(refU16(b, 0)) * float64(int8(b[2+i]))}
	case gguf.TypeQ4_0, gguf.TypeQ4_1:
		// Element i < 16 is the low nibble of qs[i], element i ≥ 16 the
		// high nibble of qs[i-16].
		qsOff := 2
		if t == gguf.TypeQ4_1 {
			qsOff = 4
		}
		q := int(b[qsOff+i%16])
		if i < 16 {
			q &= 15
		} else {
			q >>= 4
		}
		d := refHalf(refU16(b, 0))
		if t == gguf.TypeQ4_0 {
			return refTerms{scaled: d * float64(q-8)}
		}
		return refTerms{scaled: d * float64(q), offset: refHalf(refU16(b, 2))}
	case gguf.TypeQ5_0, gguf.TypeQ5_1:
		// As Q4, plus bit i of the little-endian u32 qh as the 5th bit.
		qhOff, qsOff := 2, 6
		if t == gguf.TypeQ5_1 {
			qhOff, qsOff = 4, 8
		}
		q := int(b[qsOff+i%16])
		if i < 16 {
			q &= 15
		} else {
			q >>= 4
		}
		if binary.LittleEndian.Uint32(b[qhOff:])&(1<<i) != 0 {
			q += 16
		}
		d := refHalf(refU16(b, 0))
		if t == gguf.TypeQ5_0 {
			return refTerms{scaled: d * float64(q-16)}
		}
		return refTerms{scaled: d * float64(q), offset: refHalf(refU16(b, 2))}
	case gguf.TypeQ4_K, gguf.TypeQ5_K:
		// Element i is in sub-block j = i/32; the 64-element chunk c = i/64
		// stores its first 32 elements in the low nibbles and the next 32
		// in the high nibbles of 32 qs bytes. Q5_K adds bit j of qh[i%32].
		d, dmin := refHalf(refU16(b, 0)), refHalf(refU16(b, 2))
		j, c, l := i/32, i/64, i%32
		sc, m := refK4Scale(b[4:16], j)
		qsOff := 16
		if t == gguf.TypeQ5_K {
			qsOff = 48
		}
		q := int(b[qsOff+32*c+l])
		if j%2 == 0 {
			q &= 15
		} else {
			q >>= 4
		}
		if t == gguf.TypeQ5_K && b[16+l]&(1<<j) != 0 {
			q += 16
		}
		return refTerms{scaled: d * float64(sc) * float64(q), offset: -(dmin * float64(m))}
	case gguf.TypeQ6_K:
		// Element i is in half n = i/128, quarter k = (i%128)/32, lane
		// l = i%32. Its low 4 bits are the low (k < 2) or high (k ≥ 2)
		// nibble of ql[64n + 32(k%2) + l], its top 2 bits are bits 2k, 2k+1
		// of qh[32n + l], and its scale is scales[8n + 2k + l/16].
		n, k, l := i/128, i%128/32, i%32
		lo := int(b[64*n+32*(k%2)+l])
		if k < 2 {
			lo &= 15
		} else {
			lo >>= 4
		}
		hi := int(b[128+32*n+l]>>(2*k)) & 3
		sc := int8(b[192+8*n+2*k+l/16])
		d := refHalf(refU16(b, 208))
		return refTerms{scaled: d * float64(sc) * float64(lo+16*hi-32)}
	case gguf.TypeQ8_K:
		d := float64(math.Float32frombits(binary.LittleEndian.Uint32(b)))
		return refTerms{scaled: d * float64(int8(b[4+i]))}
	case gguf.TypeF32:
		return refTerms{scaled: float64(math.Float32frombits(binary.LittleEndian.Uint32(b)))}
	case gguf.TypeF16:
		return refTerms{scaled: refHalf(refU16(b, 0))}
	case gguf.TypeBF16:
		return refTerms{scaled: float64(math.Float32frombits(uint32(refU16(b, 0)) << 16))}
	}
	panic("refBlock: unsupported type " + t.String())
}

// refDequantize dequantises a whole row with refBlock.
func refDequantize(t gguf.TensorType, src []byte, n int) []refTerms {
	bs, ts := int(t.BlockSize()), int(t.TypeSize())
	out := make([]refTerms, n)
	for i := range out {
		blk := i / bs
		out[i] = refBlock(t, src[blk*ts:(blk+1)*ts], i%bs)
	}
	return out
}

// closeTo reports whether a float32 result matches a reference element:
// NaN where the reference is NaN, the same infinity, or within a few
// float32 roundings of the terms' magnitudes.
func closeTo(got float32, want refTerms) bool {
	w := want.value()
	g := float64(got)
	switch {
	case math.IsNaN(w):
		return math.IsNaN(g)
	case math.IsInf(w, 0):
		return g == w
	}
	tol := 4 * 0x1p-24 * (math.Abs(want.scaled) + math.Abs(want.offset))
	return math.Abs(g-w) <= tol
}
