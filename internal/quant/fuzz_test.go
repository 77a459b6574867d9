package quant

import (
	"errors"
	"testing"
)

// FuzzDequantize feeds arbitrary bytes to every supported type: Dequantize
// and the dot kernels in use must not panic, Dequantize must agree with the reference
// transcription (NaN where it gives NaN), and one byte too many must be
// a length error.
func FuzzDequantize(f *testing.F) {
	r := newRand(10)
	for i, ty := range allTypes {
		f.Add(randomRow(r, ty, 256, true), uint8(i))
	}
	f.Fuzz(func(t *testing.T, data []byte, which uint8) {
		ty := allTypes[int(which)%len(allTypes)]
		bs, ts := int(ty.BlockSize()), int(ty.TypeSize())
		nb := len(data) / ts
		src, n := data[:nb*ts], nb*bs
		dst := make([]float32, n)
		if err := Dequantize(ty, src, dst); err != nil {
			t.Fatalf("Dequantize(%s, %d bytes): %v", ty, len(src), err)
		}
		want := refDequantize(ty, src, n)
		for i := range dst {
			if !closeTo(dst[i], want[i]) {
				t.Fatalf("%s element %d: got %v, want %v", ty, i, dst[i], want[i].value())
			}
		}
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(i%7) - 3
		}
		if k, ok := vecDots[ty]; ok && n > 0 && n%256 == 0 {
			vt := VecDotType(ty)
			act := make([]byte, ActivationBytes(vt, n))
			QuantizeActivations(vt, x, act)
			_ = k(src, act, n)
		}
		if err := Dequantize(ty, append(src[:len(src):len(src)], 0), dst); !errors.Is(err, ErrLength) {
			t.Fatalf("Dequantize with a byte too many: %v, want ErrLength", err)
		}
	})
}
