package quant

import "math"

// One-block reference quantisers, transcribed from ggml's
// quantize_row_*_ref. x is exactly one block of finite values; b is
// exactly one block of output.
//
// Products that feed a comparison or a sum are wrapped in float32(…): an
// explicit conversion forbids the compiler to fuse them into a multiply-add,
// so every platform makes the same rounding decisions and writes the same
// bytes.

// roundAway rounds half away from zero, like C's roundf.
func roundAway(f float32) int { return int(math.Round(float64(f))) }

// nearestInt rounds half to even, exactly as ggml's nearest_int: adding
// 1.5·2^23 makes the float32 adder do the rounding, and the integer is read
// from the mantissa bits. It is exact for |f| ≤ 2^22, the only range the
// quantisers rely on; beyond it (or for NaN) the result is some int, as in
// ggml, and every caller clamps it.
func nearestInt(f float32) int {
	v := f + 12582912
	return int(math.Float32bits(v)&0x7fffff) - 0x400000
}

// absMax returns the element of largest magnitude (the first such) and its
// magnitude.
func absMax(x []float32) (max, amax float32) {
	for _, v := range x {
		if a := float32(math.Abs(float64(v))); a > amax {
			amax, max = a, v
		}
	}
	return max, amax
}

// minMax returns the smallest and largest elements, comparing as C does
// (the builtin min and max would order -0 before +0 and change the sign of
// a zero minimum).
func minMax(x []float32) (lo, hi float32) {
	lo, hi = math.MaxFloat32, -math.MaxFloat32
	for _, v := range x {
		if v < lo {
			lo = v
		}
		if v > hi {
			hi = v
		}
	}
	return lo, hi
}

// clampInt limits v to [lo, hi].
func clampInt(v, lo, hi int) int { return max(lo, min(hi, v)) }

// truncClamp converts like C's (int8_t)(f) followed by MIN(hi, …) for the
// non-negative range the legacy quantisers produce.
func truncClamp(f float32, hi int) int {
	if !(f >= 0) {
		return 0
	}
	return min(hi, int(min(f, 1<<20)))
}

func quantQ4_0(x []float32, b []byte) {
	_, _ = x[31], b[17]
	max, _ := absMax(x)
	d := max / -8
	var id float32
	if d != 0 {
		id = 1 / d
	}
	put16(b, F32ToF16(d))
	for j := 0; j < 16; j++ {
		q0 := truncClamp(float32(x[j]*id)+8.5, 15)
		q1 := truncClamp(float32(x[j+16]*id)+8.5, 15)
		b[2+j] = byte(q0) | byte(q1)<<4
	}
}

func quantQ4_1(x []float32, b []byte) {
	_, _ = x[31], b[19]
	lo, hi := minMax(x)
	d := (hi - lo) / 15
	var id float32
	if d != 0 {
		id = 1 / d
	}
	put16(b, F32ToF16(d))
	put16(b[2:], F32ToF16(lo))
	for j := 0; j < 16; j++ {
		q0 := truncClamp(float32((x[j]-lo)*id)+0.5, 15)
		q1 := truncClamp(float32((x[j+16]-lo)*id)+0.5, 15)
		b[4+j] = byte(q0) | byte(q1)<<4
	}
}

func quantQ5_0(x []float32, b []byte) {
	_, _ = x[31], b[21]
	max, _ := absMax(x)
	d := max / -16
	var id float32
	if d != 0 {
		id = 1 / d
	}
	put16(b, F32ToF16(d))
	var qh uint32
	for j := 0; j < 16; j++ {
		q0 := truncClamp(float32(x[j]*id)+16.5, 31)
		q1 := truncClamp(float32(x[j+16]*id)+16.5, 31)
		b[6+j] = byte(q0&0xf) | byte(q1&0xf)<<4
		qh |= uint32(q0>>4) << j
		qh |= uint32(q1>>4) << (j + 16)
	}
	put32(b[2:], qh)
}

func quantQ5_1(x []float32, b []byte) {
	_, _ = x[31], b[23]
	lo, hi := minMax(x)
	d := (hi - lo) / 31
	var id float32
	if d != 0 {
		id = 1 / d
	}
	put16(b, F32ToF16(d))
	put16(b[2:], F32ToF16(lo))
	var qh uint32
	for j := 0; j < 16; j++ {
		// ggml does not clamp here; (x-min)/d cannot exceed 31.5.
		q0 := truncClamp(float32((x[j]-lo)*id)+0.5, 31)
		q1 := truncClamp(float32((x[j+16]-lo)*id)+0.5, 31)
		b[8+j] = byte(q0&0xf) | byte(q1&0xf)<<4
		qh |= uint32(q0>>4) << j
		qh |= uint32(q1>>4) << (j + 16)
	}
	put32(b[4:], qh)
}

func quantQ8_0(x []float32, b []byte) {
	_, _ = x[31], b[33]
	_, amax := absMax(x)
	d := amax / 127
	var id float32
	if d != 0 {
		id = 1 / d
	}
	put16(b, F32ToF16(d))
	for j, v := range x {
		b[2+j] = byte(int8(clampInt(roundAway(float32(v*id)), -128, 127)))
	}
}

func quantQ8_K(x []float32, b []byte) {
	_, _ = x[255], b[291]
	max, amax := absMax(x)
	if amax == 0 {
		clear(b)
		return
	}
	iscale := -127 / max
	for j, v := range x {
		b[4+j] = byte(int8(clampInt(nearestInt(float32(iscale*v)), -128, 127)))
	}
	for g := 0; g < 16; g++ {
		var sum int
		for _, q := range b[4+16*g : 4+16*g+16] {
			sum += int(int8(q))
		}
		put16(b[260+2*g:], uint16(int16(sum)))
	}
	put32(b, math.Float32bits(1/iscale))
}

// packScalesK4 stores eight 6-bit scales and mins in the 12-byte layout
// scaleMinK4 reads.
func packScalesK4(ls, lm *[8]uint8, s []byte) {
	_ = s[11]
	clear(s[:12])
	for j := 0; j < 8; j++ {
		if j < 4 {
			s[j] = ls[j]
			s[j+4] = lm[j]
		} else {
			s[j+4] = ls[j]&0xf | (lm[j]&0xf)<<4
			s[j-4] |= (ls[j] >> 4) << 6
			s[j] |= (lm[j] >> 4) << 6
		}
	}
}

// quantK4 is quantize_row_q4_K_ref (nmax 15) and quantize_row_q5_K_ref
// (nmax 31) up to the packing of the quants: it fills the block header
// (d, dmin, scales) and returns each element's quant in L.
func quantK4(x *[256]float32, b []byte, nmax int, rmin, rdelta float32, nstep int, L *[256]uint8) {
	var (
		weights      [256]float32
		scales, mins [8]float32
	)
	for j := 0; j < 8; j++ {
		xs := x[32*j : 32*j+32]
		var sumX2 float32
		for _, v := range xs {
			sumX2 += float32(v * v)
		}
		avX := float32(math.Sqrt(float64(sumX2 / 32)))
		for l, v := range xs {
			weights[32*j+l] = avX + float32(math.Abs(float64(v)))
		}
	}
	makeQKX2x8(nmax, x, &weights, L, rmin, rdelta, nstep, &scales, &mins)
	var maxScale, maxMin float32
	for j := 0; j < 8; j++ {
		if scales[j] > maxScale {
			maxScale = scales[j]
		}
		if mins[j] > maxMin {
			maxMin = mins[j]
		}
	}
	var invScale, invMin float32
	if maxScale > 0 {
		invScale = 63 / maxScale
	}
	if maxMin > 0 {
		invMin = 63 / maxMin
	}
	var ls, lm [8]uint8
	for j := 0; j < 8; j++ {
		// C assigns nearest_int's int to a uint8_t (wrapping), then MIN 63.
		ls[j] = min(63, uint8(nearestInt(float32(invScale*scales[j]))))
		lm[j] = min(63, uint8(nearestInt(float32(invMin*mins[j]))))
	}
	scalesBytes := b[4:16]
	packScalesK4(&ls, &lm, scalesBytes)
	put16(b, F32ToF16(maxScale/63))
	put16(b[2:], F32ToF16(maxMin/63))
	dAll, mAll := half(b), half(b[2:])
	for j := 0; j < 8; j++ {
		sc, m := scaleMinK4(j, scalesBytes)
		d := dAll * float32(sc)
		if d == 0 {
			continue
		}
		dm := mAll * float32(m)
		for ii, v := range x[32*j : 32*j+32] {
			L[32*j+ii] = uint8(clampInt(nearestInt((v+dm)/d), 0, nmax))
		}
	}
}

// makeQKX2x8 applies makeQKX2 to the eight sub-blocks of a super-block.
func makeQKX2x8(nmax int, x, weights *[256]float32, L *[256]uint8, rmin, rdelta float32, nstep int, scale, theMin *[8]float32) {
	for j := 0; j < 8; j++ {
		scale[j], theMin[j] = makeQKX2(nmax, (*[32]float32)(x[32*j:]), (*[32]float32)(weights[32*j:]), (*[32]uint8)(L[32*j:]), rmin, rdelta, nstep)
	}
}

// makeQKX2 is ggml's make_qkx2_quants for n = 32 and use_mad = false: it
// searches the scale and offset minimising the weighted squared error of
// x ≈ scale*L - min over nstep+1 inverse scales near nmax/(max-min), and
// returns the scale and the (non-negative) min. It performs exactly ggml's
// floating-point operations in ggml's order (including its quirk of using
// an accepted min in later steps), so the result is bit-identical; the
// candidate quants are kept as floats to save conversions.
func makeQKX2(nmax int, x, weights *[32]float32, L *[32]uint8, rmin, rdelta float32, nstep int) (scale, theMin float32) {
	xs, ws := x[:], weights[:] // slices: no nil check per element
	lo, hi := x[0], x[0]
	sumW := weights[0]
	sumX := float32(sumW * x[0])
	for i := 1; i < 32; i++ {
		if x[i] < lo {
			lo = x[i]
		}
		if x[i] > hi {
			hi = x[i]
		}
		w := weights[i]
		sumW += w
		sumX += float32(w * x[i])
	}
	if lo > 0 {
		lo = 0
	}
	if hi == lo {
		clear(L[:])
		return 0, -lo
	}
	iscale := float32(nmax) / (hi - lo)
	scale = 1 / iscale
	var bestErr float32
	for i, v := range x {
		q := clampInt(nearestInt(float32(iscale*(v-lo))), 0, nmax)
		L[i] = uint8(q)
		diff := float32(scale*float32(q)) + lo - v
		bestErr += float32(weights[i] * float32(diff*diff))
	}
	if nstep < 1 {
		return scale, -lo
	}
	var laux [32]float32
	for is := 0; is <= nstep; is++ {
		iscale = (rmin + float32(rdelta*float32(is)) + float32(nmax)) / (hi - lo)
		var sumL, sumL2, sumXL float32
		for i, v := range xs {
			fq := float32(clampInt(nearestInt(float32(iscale*(v-lo))), 0, nmax))
			laux[i] = fq
			wq := float32(ws[i] * fq)
			sumL += wq
			sumL2 += float32(wq * fq)
			sumXL += float32(wq * v)
		}
		D := float32(sumW*sumL2) - float32(sumL*sumL)
		if !(D > 0) {
			continue
		}
		thisScale := (float32(sumW*sumXL) - float32(sumX*sumL)) / D
		thisMin := (float32(sumL2*sumX) - float32(sumL*sumXL)) / D
		if thisMin > 0 {
			thisMin = 0
			thisScale = sumXL / sumL2
		}
		var curErr float32
		for i, v := range xs {
			diff := float32(thisScale*laux[i]) + thisMin - v
			curErr += float32(ws[i] * float32(diff*diff))
		}
		if curErr < bestErr {
			for i, fq := range laux {
				L[i] = uint8(fq)
			}
			bestErr, scale, lo = curErr, thisScale, thisMin
		}
	}
	return scale, -lo
}

func quantQ4_K(x []float32, b []byte) {
	_ = b[143]
	var L [256]uint8
	quantK4((*[256]float32)(x), b, 15, -1, 0.1, 20, &L)
	q := b[16:144]
	for c := 0; c < 4; c++ {
		for l := 0; l < 32; l++ {
			q[32*c+l] = L[64*c+l] | L[64*c+l+32]<<4
		}
	}
}

func quantQ5_K(x []float32, b []byte) {
	_ = b[175]
	var L [256]uint8
	quantK4((*[256]float32)(x), b, 31, -0.5, 0.1, 15, &L)
	qh := b[16:48]
	ql := b[48:176]
	clear(qh)
	for c := 0; c < 4; c++ {
		m1, m2 := uint8(1)<<(2*c), uint8(2)<<(2*c)
		for j := 0; j < 32; j++ {
			l1, l2 := L[64*c+j], L[64*c+j+32]
			if l1 > 15 {
				l1 -= 16
				qh[j] |= m1
			}
			if l2 > 15 {
				l2 -= 16
				qh[j] |= m2
			}
			ql[32*c+j] = l1 | l2<<4
		}
	}
}

// groupMaxEps is ggml's GROUP_MAX_EPS: a group whose largest magnitude is
// below it quantises to zero.
const groupMaxEps = 1e-15

// makeQX is ggml's make_qx_quants for n = 16, rmse_type = 1 and no
// importance weights (the weights are x²): it returns the scale of the
// signed quants L-nmax, with L in [0, 2*nmax), searching 19 inverse scales
// around -nmax/max.
func makeQX(nmax int, x []float32, L *[16]int8) float32 {
	_ = x[15]
	max, amax := absMax(x)
	if amax < groupMaxEps {
		clear(L[:])
		return 0
	}
	iscale := -float32(nmax) / max
	var sumLX, sumL2 float32
	for i, v := range x {
		l := clampInt(nearestInt(float32(iscale*v)), -nmax, nmax-1)
		L[i] = int8(l + nmax)
		w := float32(v * v)
		fl := float32(l)
		sumLX += float32(float32(w*v) * fl)
		sumL2 += float32(float32(w*fl) * fl)
	}
	var scale float32
	if sumL2 != 0 {
		scale = sumLX / sumL2
	}
	best := float32(scale * sumLX)
	for is := -9; is <= 9; is++ {
		if is == 0 {
			continue
		}
		iscale = -(float32(nmax) + float32(0.1*float32(is))) / max
		sumLX, sumL2 = 0, 0
		for _, v := range x {
			l := clampInt(nearestInt(float32(iscale*v)), -nmax, nmax-1)
			w := float32(v * v)
			fl := float32(l)
			sumLX += float32(float32(w*v) * fl)
			sumL2 += float32(float32(w*fl) * fl)
		}
		if sumL2 > 0 && float32(sumLX*sumLX) > float32(best*sumL2) {
			for i, v := range x {
				l := clampInt(nearestInt(float32(iscale*v)), -nmax, nmax-1)
				L[i] = int8(l + nmax)
			}
			scale = sumLX / sumL2
			best = float32(scale * sumLX)
		}
	}
	return scale
}

func quantQ6_K(x []float32, b []byte) {
	_, _ = x[255], b[209]
	var (
		L      [256]int8
		scales [16]float32
	)
	var maxScale, maxAbsScale float32
	for ib := 0; ib < 16; ib++ {
		s := makeQX(32, x[16*ib:16*ib+16], (*[16]int8)(L[16*ib:16*ib+16]))
		scales[ib] = s
		if a := float32(math.Abs(float64(s))); a > maxAbsScale {
			maxAbsScale, maxScale = a, s
		}
	}
	if maxAbsScale < groupMaxEps {
		clear(b)
		return
	}
	iscale := -128 / maxScale
	put16(b[208:], F32ToF16(1/iscale))
	sc := b[192:208]
	for ib := range scales {
		sc[ib] = byte(int8(min(127, nearestInt(float32(iscale*scales[ib])))))
	}
	dAll := half(b[208:])
	for j := 0; j < 16; j++ {
		d := dAll * float32(int8(sc[j]))
		if d == 0 {
			continue
		}
		for ii, v := range x[16*j : 16*j+16] {
			L[16*j+ii] = int8(clampInt(nearestInt(v/d), -32, 31) + 32)
		}
	}
	ql, qh := b[0:128], b[128:192]
	for n := 0; n < 2; n++ {
		Ln := L[128*n : 128*n+128]
		for l := 0; l < 32; l++ {
			q1, q2, q3, q4 := uint8(Ln[l]), uint8(Ln[l+32]), uint8(Ln[l+64]), uint8(Ln[l+96])
			ql[64*n+l] = q1&0xf | (q3&0xf)<<4
			ql[64*n+l+32] = q2&0xf | (q4&0xf)<<4
			qh[32*n+l] = q1>>4 | (q2>>4)<<2 | (q3>>4)<<4 | (q4>>4)<<6
		}
	}
}
