package quant

import (
	"fmt"
	"math"

	"sov.dev/sov/internal/gguf"
)

// DotRow returns the dot product of one weight row stored as type t with
// x: Σ w[i]*x[i] over len(x) elements, accumulated in float32 block by
// block. It does not allocate and switches on t once per row, not per
// block. The result equals the dot product of Dequantize(t, row) with x up
// to float32 rounding (the sums are reassociated).
//
// DotRow is the inner loop of a matrix-vector product, so shapes are the
// caller's to validate once, when a model is loaded: it panics, like an
// out-of-range index, if t is not Supported, len(x) is not a multiple of
// t's block size, or len(row) is not RowBytes(t, len(x)). The contents of
// row are never trusted and cannot make it panic.
func DotRow(t gguf.TensorType, row []byte, x []float32) float32 {
	var bs, ts int
	if Supported(t) {
		bs, ts = int(t.BlockSize()), int(t.TypeSize())
	}
	if bs == 0 || len(x)%bs != 0 || len(row) != len(x)/bs*ts {
		panic(fmt.Sprintf("quant: DotRow: %s row of %d bytes for %d elements", t, len(row), len(x)))
	}
	switch t {
	case gguf.TypeF32:
		return dotF32(row, x)
	case gguf.TypeF16:
		return dotF16(row, x)
	case gguf.TypeBF16:
		return dotBF16(row, x)
	case gguf.TypeQ4_0:
		return dotQ4_0(row, x)
	case gguf.TypeQ4_1:
		return dotQ4_1(row, x)
	case gguf.TypeQ5_0:
		return dotQ5_0(row, x)
	case gguf.TypeQ5_1:
		return dotQ5_1(row, x)
	case gguf.TypeQ8_0:
		return dotQ8_0(row, x)
	case gguf.TypeQ4_K:
		return dotQ4_K(row, x)
	case gguf.TypeQ5_K:
		return dotQ5_K(row, x)
	case gguf.TypeQ6_K:
		return dotQ6_K(row, x)
	case gguf.TypeQ8_K:
		return dotQ8_K(row, x)
	}
	panic("unreachable")
}

// The dot kernels below walk the row block by block, reslicing each block
// to its exact length so that the compiler can drop bounds checks, and keep
// several partial sums to shorten the floating-point dependency chains.

func dotF32(row []byte, x []float32) float32 {
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(x); i += 4 {
		b := row[4*i : 4*i+16 : 4*i+16]
		xs := x[i : i+4 : i+4]
		s0 += math.Float32frombits(le32(b[0:])) * xs[0]
		s1 += math.Float32frombits(le32(b[4:])) * xs[1]
		s2 += math.Float32frombits(le32(b[8:])) * xs[2]
		s3 += math.Float32frombits(le32(b[12:])) * xs[3]
	}
	for ; i < len(x); i++ {
		s0 += math.Float32frombits(le32(row[4*i:])) * x[i]
	}
	return (s0 + s1) + (s2 + s3)
}

func dotF16(row []byte, x []float32) float32 {
	tab := f16Table
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(x); i += 4 {
		b := row[2*i : 2*i+8 : 2*i+8]
		xs := x[i : i+4 : i+4]
		s0 += tab[le16(b[0:])] * xs[0]
		s1 += tab[le16(b[2:])] * xs[1]
		s2 += tab[le16(b[4:])] * xs[2]
		s3 += tab[le16(b[6:])] * xs[3]
	}
	for ; i < len(x); i++ {
		s0 += tab[le16(row[2*i:])] * x[i]
	}
	return (s0 + s1) + (s2 + s3)
}

func dotBF16(row []byte, x []float32) float32 {
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(x); i += 4 {
		b := row[2*i : 2*i+8 : 2*i+8]
		xs := x[i : i+4 : i+4]
		s0 += BF16ToF32(le16(b[0:])) * xs[0]
		s1 += BF16ToF32(le16(b[2:])) * xs[1]
		s2 += BF16ToF32(le16(b[4:])) * xs[2]
		s3 += BF16ToF32(le16(b[6:])) * xs[3]
	}
	for ; i < len(x); i++ {
		s0 += BF16ToF32(le16(row[2*i:])) * x[i]
	}
	return (s0 + s1) + (s2 + s3)
}

func dotQ8_0(row []byte, x []float32) float32 {
	var sum float32
	for i := 0; i < len(x)/qk; i++ {
		b := (*[34]byte)(row[34*i:])
		xs := (*[32]float32)(x[qk*i:])
		var s0, s1, s2, s3 float32
		for j := 0; j < 32; j += 4 {
			s0 += i8f[b[2+j]] * xs[j]
			s1 += i8f[b[3+j]] * xs[j+1]
			s2 += i8f[b[4+j]] * xs[j+2]
			s3 += i8f[b[5+j]] * xs[j+3]
		}
		sum += half(b[:]) * ((s0 + s1) + (s2 + s3))
	}
	return sum
}

func dotQ4_0(row []byte, x []float32) float32 {
	var sum float32
	for i := 0; i < len(x)/qk; i++ {
		b := (*[18]byte)(row[18*i:])
		xs := (*[32]float32)(x[qk*i:])
		var s0, s1, s2, s3 float32
		for j := 0; j < 16; j += 2 {
			q0, q1 := b[2+j], b[3+j]
			s0 += nibm[q0&0xf] * xs[j]
			s1 += nibm[q0>>4] * xs[j+16]
			s2 += nibm[q1&0xf] * xs[j+1]
			s3 += nibm[q1>>4] * xs[j+17]
		}
		sum += half(b[:]) * ((s0 + s1) + (s2 + s3))
	}
	return sum
}

func dotQ4_1(row []byte, x []float32) float32 {
	var sum float32
	for i := 0; i < len(x)/qk; i++ {
		b := (*[20]byte)(row[20*i:])
		xs := (*[32]float32)(x[qk*i:])
		var s0, s1, sx0, sx1 float32
		for j := 0; j < 16; j++ {
			q := b[4+j]
			s0 += nib[q&0xf] * xs[j]
			s1 += nib[q>>4] * xs[j+16]
			sx0 += xs[j]
			sx1 += xs[j+16]
		}
		sum += half(b[0:2])*(s0+s1) + half(b[2:4])*(sx0+sx1)
	}
	return sum
}

func dotQ5_0(row []byte, x []float32) float32 {
	var sum float32
	for i := 0; i < len(x)/qk; i++ {
		b := (*[22]byte)(row[22*i:])
		xs := (*[32]float32)(x[qk*i:])
		qh := le32(b[2:6])
		var s0, s1 float32
		for j := 0; j < 16; j++ {
			q := b[6+j]
			s0 += q5m[q&0xf|byte(qh>>j&1)<<4] * xs[j]
			s1 += q5m[q>>4|byte(qh>>(j+16)&1)<<4] * xs[j+16]
		}
		sum += half(b[:]) * (s0 + s1)
	}
	return sum
}

func dotQ5_1(row []byte, x []float32) float32 {
	var sum float32
	for i := 0; i < len(x)/qk; i++ {
		b := (*[24]byte)(row[24*i:])
		xs := (*[32]float32)(x[qk*i:])
		qh := le32(b[4:8])
		var s0, s1, sx0, sx1 float32
		for j := 0; j < 16; j++ {
			q := b[8+j]
			s0 += q5[q&0xf|byte(qh>>j&1)<<4] * xs[j]
			s1 += q5[q>>4|byte(qh>>(j+16)&1)<<4] * xs[j+16]
			sx0 += xs[j]
			sx1 += xs[j+16]
		}
		sum += half(b[0:2])*(s0+s1) + half(b[2:4])*(sx0+sx1)
	}
	return sum
}

// Lookup tables from small quants to float32: a load from a table in L1
// is cheaper than an integer-to-float conversion. They are filled at
// start-up and never written again.
var (
	nib  = table[[16]float32](0)     // q for 0 ≤ q < 16
	nibm = table[[16]float32](-8)    // q-8
	q5   = table[[32]float32](0)     // q for 0 ≤ q < 32
	q5m  = table[[32]float32](-16)   // q-16
	q6m  = table[[64]float32](-32)   // q-32 for 0 ≤ q < 64
	i8f  = func() (t [256]float32) { // int8(b) for each byte b
		for i := range t {
			t[i] = float32(int8(i))
		}
		return t
	}()
)

// table returns the array whose element i is i+offset.
func table[A [16]float32 | [32]float32 | [64]float32](offset int) (t A) {
	for i := range len(t) {
		t[i] = float32(i + offset)
	}
	return t
}

func dotQ4_K(row []byte, x []float32) float32 {
	var sum float32
	for i := 0; i < len(x)/qkK; i++ {
		b := (*[144]byte)(row[144*i:])
		xb := (*[256]float32)(x[qkK*i:])
		d, dmin := half(b[0:2]), half(b[2:4])
		scales := b[4:16]
		var sq, sm float32 // Σ sc*Σq·x and Σ m*Σx over the sub-blocks
		for c := 0; c < 4; c++ {
			qs := (*[32]byte)(b[16+32*c:])
			xa := (*[32]float32)(xb[64*c:])
			xc := (*[32]float32)(xb[64*c+32:])
			var s0, s1, s2, s3, sx0, sx1, sx2, sx3 float32
			for l := 0; l < 32; l += 2 {
				q, r := qs[l], qs[l+1]
				s0 += nib[q&0xf] * xa[l]
				s1 += nib[q>>4] * xc[l]
				s2 += nib[r&0xf] * xa[l+1]
				s3 += nib[r>>4] * xc[l+1]
				sx0 += xa[l]
				sx1 += xc[l]
				sx2 += xa[l+1]
				sx3 += xc[l+1]
			}
			s0, s1, sx0, sx1 = s0+s2, s1+s3, sx0+sx2, sx1+sx3
			sc0, m0 := scaleMinK4(2*c, scales)
			sc1, m1 := scaleMinK4(2*c+1, scales)
			sq += float32(sc0)*s0 + float32(sc1)*s1
			sm += float32(m0)*sx0 + float32(m1)*sx1
		}
		sum += d*sq - dmin*sm
	}
	return sum
}

func dotQ5_K(row []byte, x []float32) float32 {
	var sum float32
	for i := 0; i < len(x)/qkK; i++ {
		b := (*[176]byte)(row[176*i:])
		xb := (*[256]float32)(x[qkK*i:])
		d, dmin := half(b[0:2]), half(b[2:4])
		scales := b[4:16]
		qh := (*[32]byte)(b[16:48])
		var sq, sm float32
		for c := 0; c < 4; c++ {
			qs := (*[32]byte)(b[48+32*c:])
			xa := (*[32]float32)(xb[64*c:])
			xc := (*[32]float32)(xb[64*c+32:])
			shift := uint(2 * c)
			var s0, s1, sx0, sx1 float32
			for l := 0; l < 32; l++ {
				q, h := qs[l], qh[l]>>shift
				s0 += q5[q&0xf|(h&1)<<4] * xa[l]
				s1 += q5[q>>4|(h&2)<<3] * xc[l]
				sx0 += xa[l]
				sx1 += xc[l]
			}
			sc0, m0 := scaleMinK4(2*c, scales)
			sc1, m1 := scaleMinK4(2*c+1, scales)
			sq += float32(sc0)*s0 + float32(sc1)*s1
			sm += float32(m0)*sx0 + float32(m1)*sx1
		}
		sum += d*sq - dmin*sm
	}
	return sum
}

func dotQ6_K(row []byte, x []float32) float32 {
	var sum float32
	for i := 0; i < len(x)/qkK; i++ {
		b := (*[210]byte)(row[210*i:])
		xb := (*[256]float32)(x[qkK*i:])
		var s float32 // Σ sc * Σ (q-32)·x
		for n := 0; n < 2; n++ {
			ql := (*[64]byte)(b[64*n:])
			qh := (*[32]byte)(b[128+32*n:])
			sc := (*[8]byte)(b[192+8*n:])
			xs := (*[128]float32)(xb[128*n:])
			for g := 0; g < 2; g++ { // l in [16g, 16g+16) shares scales
				var s1, s2, s3, s4 float32
				for l := 16 * g; l < 16*g+16; l++ {
					h, lo, hi := qh[l&31], ql[l&31], ql[(l+32)&63]
					s1 += q6m[lo&0xf|(h&3)<<4] * xs[l&127]
					s2 += q6m[hi&0xf|(h>>2&3)<<4] * xs[(l+32)&127]
					s3 += q6m[lo>>4|(h>>4&3)<<4] * xs[(l+64)&127]
					s4 += q6m[hi>>4|(h>>6)<<4] * xs[(l+96)&127]
				}
				s += float32(int8(sc[g]))*s1 + float32(int8(sc[g+2]))*s2 +
					float32(int8(sc[g+4]))*s3 + float32(int8(sc[g+6]))*s4
			}
		}
		sum += half(b[208:210]) * s
	}
	return sum
}

func dotQ8_K(row []byte, x []float32) float32 {
	var sum float32
	for i := 0; i < len(x)/qkK; i++ {
		b := (*[292]byte)(row[292*i:])
		xs := (*[256]float32)(x[qkK*i:])
		var s0, s1, s2, s3 float32
		for j := 0; j < 256; j += 4 {
			s0 += i8f[b[4+j]] * xs[j]
			s1 += i8f[b[5+j]] * xs[j+1]
			s2 += i8f[b[6+j]] * xs[j+2]
			s3 += i8f[b[7+j]] * xs[j+3]
		}
		sum += math.Float32frombits(le32(b[0:4])) * ((s0 + s1) + (s2 + s3))
	}
	return sum
}
