package quant

import (
	"fmt"
	"math"
	"testing"

	"sov.dev/sov/internal/gguf"
)

// dot64 is the float64 dot product of a dequantised row with x, and the
// sum of the magnitudes of its terms, which bounds reassociation error.
func dot64(w, x []float32) (sum, mag float64) {
	for i := range w {
		p := float64(w[i]) * float64(x[i])
		sum += p
		mag += math.Abs(p)
	}
	return sum, mag
}

func TestDotRowMatchesDequantize(t *testing.T) {
	r := newRand(5)
	for _, ty := range allTypes {
		bs := int(ty.BlockSize())
		for _, blocks := range []int{1, 3, 16} {
			n := max(blocks*bs, 256*blocks)
			for _, src := range []string{"random", "quantized"} {
				t.Run(fmt.Sprintf("%s/%d/%s", ty, n, src), func(t *testing.T) {
					row := randomRow(r, ty, n, false)
					if src == "quantized" {
						row = mustQuantize(ty, gaussian(r, n, 0.02))
					}
					x := gaussian(r, n, 1)
					want, mag := dot64(mustDequantize(ty, row, n), x)
					got := DotRow(ty, row, x)
					if tol := 1e-5 * mag; math.Abs(float64(got)-want) > tol {
						t.Errorf("DotRow = %v, want %v ± %.3g", got, want, tol)
					}
				})
			}
		}
	}
}

// TestDotRowUnitVectors dots a row with each unit vector in turn, which
// must pick out exactly one dequantised element: a kernel that reads the
// wrong nibble, bit or scale for any element fails here.
func TestDotRowUnitVectors(t *testing.T) {
	r := newRand(6)
	for _, ty := range allTypes {
		t.Run(ty.String(), func(t *testing.T) {
			n := 2 * max(256, int(ty.BlockSize()))
			row := randomRow(r, ty, n, false)
			want := refDequantize(ty, row, n)
			x := make([]float32, n)
			for i := range x {
				x[i] = 1
				if got := DotRow(ty, row, x); !closeTo(got, want[i]) {
					t.Errorf("element %d: DotRow = %v, want %v", i, got, want[i].value())
				}
				x[i] = 0
			}
		})
	}
}

func TestDotRowPanicsOnBadShape(t *testing.T) {
	tests := []struct {
		name string
		t    gguf.TensorType
		row  int
		n    int
	}{
		{"short row", gguf.TypeQ8_0, 33, 32},
		{"long row", gguf.TypeQ4_K, 145, 256},
		{"partial block", gguf.TypeQ4_0, 18, 16},
		{"unsupported", gguf.TypeQ2_K, 84, 256},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Errorf("DotRow did not panic")
				}
			}()
			DotRow(tt.t, make([]byte, tt.row), make([]float32, tt.n))
		})
	}
}

func TestDotRowDoesNotAllocate(t *testing.T) {
	r := newRand(7)
	for _, ty := range allTypes {
		row := randomRow(r, ty, 1024, false)
		x := gaussian(r, 1024, 1)
		if n := testing.AllocsPerRun(10, func() { DotRow(ty, row, x) }); n != 0 {
			t.Errorf("DotRow(%s) allocates %v times", ty, n)
		}
	}
}

// BenchmarkDotRow runs a 1024×4096 matrix-vector product one row at a time
// and reports the rate at which weights are consumed.
func BenchmarkDotRow(b *testing.B) {
	const rows, cols = 1024, 4096
	r := newRand(8)
	x := gaussian(r, cols, 1)
	for _, ty := range allTypes {
		m := randomRow(r, ty, rows*cols, false)
		rb, _ := RowBytes(ty, cols)
		b.Run(ty.String(), func(b *testing.B) {
			b.SetBytes(int64(len(m)))
			var sink float32
			for b.Loop() {
				for i := 0; i < rows; i++ {
					sink += DotRow(ty, m[i*rb:(i+1)*rb], x)
				}
			}
			b.ReportMetric(float64(len(m))*float64(b.N)/b.Elapsed().Seconds()/1e9, "GB/s")
			_ = sink
		})
	}
}

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
