package quant

import (
	"math"
	"testing"
)

func TestF16ToF32AllValues(t *testing.T) {
	for i := 0; i < 1<<16; i++ {
		h := uint16(i)
		got, want := F16ToF32(h), refHalf(h)
		if math.IsNaN(want) {
			// A NaN keeps its sign and payload.
			b := math.Float32bits(got)
			if !math.IsNaN(float64(got)) || b>>31 != uint32(h>>15) || b>>13&0x3ff != uint32(h&0x3ff) {
				t.Errorf("F16ToF32(%#04x) = %#08x, want a NaN with the same sign and payload", h, b)
			}
			continue
		}
		if float64(got) != want || math.Signbit(float64(got)) != (h>>15 == 1) {
			t.Errorf("F16ToF32(%#04x) = %v, want %v", h, got, want)
		}
	}
}

func TestF32ToF16RoundTripsAllHalves(t *testing.T) {
	for i := 0; i < 1<<16; i++ {
		h := uint16(i)
		want := h
		if h&0x7c00 == 0x7c00 && h&0x3ff != 0 {
			want = h&0x8000 | 0x7e00 // NaNs become the quiet NaN
		}
		if got := F32ToF16(F16ToF32(h)); got != want {
			t.Errorf("F32ToF16(F16ToF32(%#04x)) = %#04x, want %#04x", h, got, want)
		}
	}
}

func TestBF16RoundTripsAllValues(t *testing.T) {
	for i := 0; i < 1<<16; i++ {
		h := uint16(i)
		f := BF16ToF32(h)
		if math.Float32bits(f) != uint32(h)<<16 {
			t.Fatalf("BF16ToF32(%#04x) = %#08x, want %#08x", h, math.Float32bits(f), uint32(h)<<16)
		}
		want := h
		if h&0x7f80 == 0x7f80 && h&0x7f != 0 {
			want = h | 0x40 // NaNs are made quiet
		}
		if got := F32ToBF16(f); got != want {
			t.Errorf("F32ToBF16(BF16ToF32(%#04x)) = %#04x, want %#04x", h, got, want)
		}
	}
}

// nearestEven returns the bit pattern among the 2^15 non-negative finite
// values of a 16-bit format (decoded by value, in increasing order by bit
// pattern) nearest to a, ties to the even pattern, with the infinity
// pattern standing for the next value after the largest, found by brute
// force.
func nearestEven(a float64, value func(uint16) float64, inf uint16, next float64) uint16 {
	best, bestErr := uint16(0), math.Inf(1)
	for h := uint16(0); h <= inf; h++ {
		v := next
		if h < inf {
			v = value(h)
		}
		e := math.Abs(v - a)
		if e < bestErr || e == bestErr && h&1 == 0 {
			best, bestErr = h, e
		}
	}
	return best
}

func TestF32ToF16Rounding(t *testing.T) {
	cases := []float32{
		0, 1, 1 + 0x1p-11, 1 + 3*0x1p-11, 1 + 0x1p-11 + 0x1p-20, 2049, 2051,
		65504, 65519.996, 65520, 65536, 1e6, math.MaxFloat32,
		0x1p-14, 0x1p-14 - 0x1p-25, 0x1p-24, 0x1p-25, 0x1p-25 + 0x1p-40, 3 * 0x1p-26, 0x1p-26, 1e-30,
		0x1.ffcp-15, 0x1.ffep-15, 6.1e-5,
	}
	r := newRand(3)
	for i := 0; i < 300; i++ {
		// Random values across the half range, including subnormals.
		cases = append(cases, float32(math.Ldexp(r.Float64()+0.5, r.IntN(44)-28)))
		// Exact midpoints between neighbouring halves.
		h := uint16(r.IntN(0x7bff))
		cases = append(cases, float32((refHalf(h)+refHalf(h+1))/2))
	}
	for _, f := range cases {
		for _, v := range []float32{f, -f} {
			want := nearestEven(math.Abs(float64(v)), refHalf, 0x7c00, 65536)
			if math.Signbit(float64(v)) {
				want |= 0x8000
			}
			if got := F32ToF16(v); got != want {
				t.Errorf("F32ToF16(%g) = %#04x, want %#04x", v, got, want)
			}
		}
	}
	nan := F32ToF16(float32(math.NaN()))
	if nan&0x7fff != 0x7e00 {
		t.Errorf("F32ToF16(NaN) = %#04x, want 0x7e00 up to sign", nan)
	}
}

func TestF32ToBF16Rounding(t *testing.T) {
	bf := func(h uint16) float64 { return float64(BF16ToF32(h)) }
	cases := []float32{0, 1, 1 + 0x1p-8, 1 + 3*0x1p-8, 1 + 0x1p-8 + 0x1p-20, 0x1.fep127, 0x1.fefp127, 0x1.ff0p127, math.MaxFloat32, 0x1p-133, 0x1p-149, 3e-39}
	r := newRand(4)
	for i := 0; i < 200; i++ {
		cases = append(cases, float32(math.Ldexp(r.Float64()+0.5, r.IntN(250)-125)))
		h := uint16(r.IntN(0x7f7f))
		cases = append(cases, float32((bf(h)+bf(h+1))/2))
	}
	for _, f := range cases {
		want := nearestEven(float64(f), bf, 0x7f80, math.Ldexp(1, 128))
		if got := F32ToBF16(f); got != want {
			t.Errorf("F32ToBF16(%g) = %#04x, want %#04x", f, got, want)
		}
		if got := F32ToBF16(-f); got != want|0x8000 {
			t.Errorf("F32ToBF16(%g) = %#04x, want %#04x", -f, got, want|0x8000)
		}
	}
	if nan := F32ToBF16(float32(math.NaN())); nan&0x7fc0 != 0x7fc0 {
		t.Errorf("F32ToBF16(NaN) = %#04x, want a quiet NaN", nan)
	}
}
