package quant

import "math"

// One-block dequantisers, transcribed from ggml's dequantize_row_* (block
// layouts from ggml-common.h). b is exactly one block; y is exactly its
// elements.

// Q4_0: f16 d; u8 qs[16]. y[j] = d*(lo(qs[j])-8), y[j+16] = d*(hi(qs[j])-8).
func dequantQ4_0(b []byte, y []float32) {
	_, _ = b[17], y[31]
	d := half(b)
	qs := b[2:18]
	for j, q := range qs {
		y[j] = float32(int(q&0xf)-8) * d
		y[j+16] = float32(int(q>>4)-8) * d
	}
}

// Q4_1: f16 d; f16 m; u8 qs[16]. y = d*q + m.
func dequantQ4_1(b []byte, y []float32) {
	_, _ = b[19], y[31]
	d, m := half(b), half(b[2:])
	qs := b[4:20]
	for j, q := range qs {
		y[j] = float32(q&0xf)*d + m
		y[j+16] = float32(q>>4)*d + m
	}
}

// Q5_0: f16 d; u8 qh[4] (bit j = 5th bit of element j); u8 qs[16].
// y = d*(q-16).
func dequantQ5_0(b []byte, y []float32) {
	_, _ = b[21], y[31]
	d := half(b)
	qh := le32(b[2:])
	qs := b[6:22]
	for j, q := range qs {
		lo := int(q&0xf) | int(qh>>j&1)<<4
		hi := int(q>>4) | int(qh>>(j+16)&1)<<4
		y[j] = float32(lo-16) * d
		y[j+16] = float32(hi-16) * d
	}
}

// Q5_1: f16 d; f16 m; u8 qh[4]; u8 qs[16]. y = d*q + m.
func dequantQ5_1(b []byte, y []float32) {
	_, _ = b[23], y[31]
	d, m := half(b), half(b[2:])
	qh := le32(b[4:])
	qs := b[8:24]
	for j, q := range qs {
		lo := uint32(q&0xf) | (qh>>j&1)<<4
		hi := uint32(q>>4) | (qh>>(j+16)&1)<<4
		y[j] = float32(lo)*d + m
		y[j+16] = float32(hi)*d + m
	}
}

// Q8_0: f16 d; i8 qs[32]. y = d*q.
func dequantQ8_0(b []byte, y []float32) {
	_, _ = b[33], y[31]
	d := half(b)
	for j, q := range b[2:34] {
		y[j] = float32(int8(q)) * d
	}
}

// scaleMinK4 unpacks the j-th 6-bit scale and min of a Q4_K/Q5_K block
// from its 12 scale bytes (ggml's get_scale_min_k4).
func scaleMinK4(j int, s []byte) (sc, m uint8) {
	_ = s[11]
	if j < 4 {
		return s[j] & 63, s[j+4] & 63
	}
	return s[j+4]&0xf | (s[j-4]>>6)<<4, s[j+4]>>4 | (s[j]>>6)<<4
}

// Q4_K: f16 d; f16 dmin; u8 scales[12]; u8 qs[128]. Eight sub-blocks of
// 32; each 64-element chunk c uses 32 qs bytes, low nibbles for sub-block
// 2c and high nibbles for 2c+1: y = d*sc*q - dmin*m.
func dequantQ4_K(b []byte, y []float32) {
	_, _ = b[143], y[255]
	d, dmin := half(b), half(b[2:])
	scales := b[4:16]
	for c := 0; c < 4; c++ {
		sc, m := scaleMinK4(2*c, scales)
		d1, m1 := d*float32(sc), dmin*float32(m)
		sc, m = scaleMinK4(2*c+1, scales)
		d2, m2 := d*float32(sc), dmin*float32(m)
		qs := b[16+32*c : 16+32*c+32]
		ya := y[64*c : 64*c+32]
		yb := y[64*c+32 : 64*c+64]
		for l, q := range qs {
			ya[l] = d1*float32(q&0xf) - m1
			yb[l] = d2*float32(q>>4) - m2
		}
	}
}

// Q5_K: f16 d; f16 dmin; u8 scales[12]; u8 qh[32]; u8 qs[128]. As Q4_K,
// with the 5th bit of element 64c+l in qh[l] bit 2c, and of element
// 64c+32+l in qh[l] bit 2c+1.
func dequantQ5_K(b []byte, y []float32) {
	_, _ = b[175], y[255]
	d, dmin := half(b), half(b[2:])
	scales := b[4:16]
	qh := b[16:48]
	for c := 0; c < 4; c++ {
		sc, m := scaleMinK4(2*c, scales)
		d1, m1 := d*float32(sc), dmin*float32(m)
		sc, m = scaleMinK4(2*c+1, scales)
		d2, m2 := d*float32(sc), dmin*float32(m)
		qs := b[48+32*c : 48+32*c+32]
		ya := y[64*c : 64*c+32]
		yb := y[64*c+32 : 64*c+64]
		for l, q := range qs {
			h := qh[l] >> (2 * c)
			ya[l] = d1*float32(q&0xf|(h&1)<<4) - m1
			yb[l] = d2*float32(q>>4|(h&2)<<3) - m2
		}
	}
}

// Q6_K: u8 ql[128]; u8 qh[64]; i8 scales[16]; f16 d. Two halves of 128;
// in half n, for l < 32, four 6-bit quants come from ql[64n+l],
// ql[64n+l+32] (low and high nibbles) and qh[32n+l] (2 bits each), go to
// elements l, l+32, l+64, l+96 with scales 8n + l/16 + 0, 2, 4, 6:
// y = d*sc*(q-32).
func dequantQ6_K(b []byte, y []float32) {
	_, _ = b[209], y[255]
	d := half(b[208:])
	for n := 0; n < 2; n++ {
		ql := b[64*n : 64*n+64]
		qh := b[128+32*n : 128+32*n+32]
		sc := b[192+8*n : 192+8*n+8]
		yy := y[128*n : 128*n+128]
		for l := 0; l < 32; l++ {
			is := l / 16
			h := qh[l]
			q1 := int(ql[l]&0xf|(h&3)<<4) - 32
			q2 := int(ql[l+32]&0xf|(h>>2&3)<<4) - 32
			q3 := int(ql[l]>>4|(h>>4&3)<<4) - 32
			q4 := int(ql[l+32]>>4|(h>>6&3)<<4) - 32
			yy[l] = d * float32(int8(sc[is])) * float32(q1)
			yy[l+32] = d * float32(int8(sc[is+2])) * float32(q2)
			yy[l+64] = d * float32(int8(sc[is+4])) * float32(q3)
			yy[l+96] = d * float32(int8(sc[is+6])) * float32(q4)
		}
	}
}

// Q8_K: f32 d; i8 qs[256]; i16 bsums[16] (ignored here). y = d*q.
func dequantQ8_K(b []byte, y []float32) {
	_, _ = b[291], y[255]
	d := math.Float32frombits(le32(b))
	for j, q := range b[4:260] {
		y[j] = d * float32(int8(q))
	}
}
