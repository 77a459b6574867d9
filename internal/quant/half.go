package quant

import "math"

// f16Table maps every IEEE half bit pattern to its float32 value. It is
// filled once at start-up and never written again.
var f16Table = func() *[1 << 16]float32 {
	var t [1 << 16]float32
	for h := range t {
		t[h] = f16Bits(uint16(h))
	}
	return &t
}()

// F16ToF32 converts IEEE binary16 bits to float32. Every half value,
// subnormals, infinities and NaN payloads included, is exactly
// representable, so the conversion is exact.
func F16ToF32(h uint16) float32 { return f16Table[h] }

// f16Bits is the arithmetic conversion behind f16Table.
func f16Bits(h uint16) float32 {
	sign := uint32(h&0x8000) << 16
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f: // infinity or NaN, payload kept
		return math.Float32frombits(sign | 0xff<<23 | mant<<13)
	case exp == 0 && mant == 0:
		return math.Float32frombits(sign)
	case exp == 0: // subnormal: normalise the mantissa
		e := uint32(127 - 15 + 1)
		for mant&0x400 == 0 {
			mant <<= 1
			e--
		}
		return math.Float32frombits(sign | e<<23 | (mant&0x3ff)<<13)
	}
	return math.Float32frombits(sign | (exp+127-15)<<23 | mant<<13)
}

// F32ToF16 converts f to IEEE binary16 bits, rounding to nearest with ties
// to even, as ggml does: magnitudes from 65520 up become infinity, values
// below half the smallest subnormal become (signed) zero, and every NaN
// becomes the quiet NaN 0x7e00 with f's sign.
func F32ToF16(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	e := int(b>>23) & 0xff
	mant := b & 0x7fffff
	if e == 0xff {
		if mant != 0 {
			return sign | 0x7e00
		}
		return sign | 0x7c00
	}
	exp := e - 127 + 15 // biased half exponent
	if exp >= 0x1f {
		return sign | 0x7c00
	}
	if exp <= 0 {
		// Subnormal half (or zero): the value is mant' * 2^-24 with
		// mant' = (1.mant) * 2^(e-127+24).
		if exp < -10 {
			return sign // below 2^-25: rounds to zero (2^-25 itself ties to 0)
		}
		mant |= 0x800000
		shift := uint(14 - exp) // 14..24
		h := mant >> shift
		rem, half := mant&(1<<shift-1), uint32(1)<<(shift-1)
		if rem > half || rem == half && h&1 == 1 {
			h++ // may become 0x400, the smallest normal: still correct
		}
		return sign | uint16(h)
	}
	h := uint32(exp)<<10 | mant>>13
	if rem := mant & 0x1fff; rem > 0x1000 || rem == 0x1000 && h&1 == 1 {
		h++ // a carry into the exponent is correct, up to infinity
	}
	return sign | uint16(h)
}

// BF16ToF32 converts bfloat16 bits to float32 (exact).
func BF16ToF32(h uint16) float32 { return math.Float32frombits(uint32(h) << 16) }

// F32ToBF16 converts f to bfloat16 bits, rounding to nearest with ties to
// even, as ggml does; a NaN keeps its sign and top payload bits and is made
// quiet.
func F32ToBF16(f float32) uint16 {
	b := math.Float32bits(f)
	if b&0x7fffffff > 0x7f800000 {
		return uint16(b>>16) | 0x40
	}
	return uint16((b + 0x7fff + (b>>16)&1) >> 16)
}
