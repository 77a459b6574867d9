package quant

import "testing"

// BenchmarkQuantize measures the reference quantisers, which bound how fast
// synthetic models can be written.
func BenchmarkQuantize(b *testing.B) {
	x := gaussian(newRand(9), 64*1024, 0.02)
	for _, ty := range allTypes {
		dst := make([]byte, must(RowBytes(ty, len(x))))
		b.Run(ty.String(), func(b *testing.B) {
			b.SetBytes(int64(4 * len(x)))
			for b.Loop() {
				if err := Quantize(ty, x, dst); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func must(n int, err error) int {
	if err != nil {
		panic(err)
	}
	return n
}
