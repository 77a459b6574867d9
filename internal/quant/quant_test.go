package quant

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"sov.dev/sov/internal/gguf"
)

var update = flag.Bool("update", false, "rewrite testdata/quantize.golden")

func TestSupported(t *testing.T) {
	for _, ty := range gguf.TensorTypes() {
		want := false
		for _, s := range allTypes {
			want = want || s == ty
		}
		if got := Supported(ty); got != want {
			t.Errorf("Supported(%s) = %v, want %v", ty, got, want)
		}
	}
	if Supported(gguf.TensorType(999)) {
		t.Errorf("Supported(999) = true")
	}
}

func TestRowBytes(t *testing.T) {
	tests := []struct {
		t       gguf.TensorType
		n, want int
		err     error
	}{
		{gguf.TypeF32, 3, 12, nil},
		{gguf.TypeF16, 5, 10, nil},
		{gguf.TypeBF16, 0, 0, nil},
		{gguf.TypeQ8_0, 64, 68, nil},
		{gguf.TypeQ4_0, 4096, 2304, nil},
		{gguf.TypeQ4_1, 32, 20, nil},
		{gguf.TypeQ5_0, 32, 22, nil},
		{gguf.TypeQ5_1, 32, 24, nil},
		{gguf.TypeQ4_K, 512, 288, nil},
		{gguf.TypeQ5_K, 256, 176, nil},
		{gguf.TypeQ6_K, 2048, 1680, nil},
		{gguf.TypeQ8_K, 256, 292, nil},
		{gguf.TypeQ8_0, 33, 0, ErrLength},
		{gguf.TypeQ4_K, 896, 0, ErrLength},
		{gguf.TypeQ4_K, -256, 0, ErrLength},
		{gguf.TypeQ8_0, math.MaxInt / 32 * 32, 0, ErrLength},
		{gguf.TypeQ2_K, 256, 0, ErrUnsupported},
		{gguf.TypeQ8_1, 32, 0, ErrUnsupported},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/%d", tt.t, tt.n), func(t *testing.T) {
			got, err := RowBytes(tt.t, tt.n)
			if !errors.Is(err, tt.err) {
				t.Fatalf("RowBytes error = %v, want %v", err, tt.err)
			}
			if got != tt.want {
				t.Errorf("RowBytes = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestLengthErrors(t *testing.T) {
	tests := []struct {
		name     string
		t        gguf.TensorType
		src, dst int // bytes and elements
		err      error
	}{
		{"short", gguf.TypeQ8_0, 33, 32, ErrLength},
		{"long", gguf.TypeQ8_0, 35, 32, ErrLength},
		{"partial block", gguf.TypeQ4_0, 18, 16, ErrLength},
		{"two blocks one elements' worth", gguf.TypeQ4_K, 288, 256, ErrLength},
		{"f32 odd bytes", gguf.TypeF32, 7, 2, ErrLength},
		{"unsupported", gguf.TypeIQ4_NL, 18, 32, ErrUnsupported},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := Dequantize(tt.t, make([]byte, tt.src), make([]float32, tt.dst)); !errors.Is(err, tt.err) {
				t.Errorf("Dequantize error = %v, want %v", err, tt.err)
			}
			if err := Quantize(tt.t, make([]float32, tt.dst), make([]byte, tt.src)); !errors.Is(err, tt.err) {
				t.Errorf("Quantize error = %v, want %v", err, tt.err)
			}
		})
	}
}

func TestQuantizeRejectsNonFinite(t *testing.T) {
	for _, v := range []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1))} {
		for _, ty := range allTypes {
			n := int(ty.BlockSize())
			x := make([]float32, n)
			x[n-1] = v
			nb, _ := RowBytes(ty, n)
			if err := Quantize(ty, x, make([]byte, nb)); err == nil || !strings.Contains(err.Error(), fmt.Sprint("element ", n-1)) {
				t.Errorf("Quantize(%s) with %v = %v, want an error naming element %d", ty, v, err, n-1)
			}
		}
	}
}

// TestDequantizeMatchesReference compares Dequantize with the plain
// transcription in ref_test.go, on random blocks whose scales include
// zeros, subnormals, the largest half, infinities and NaNs.
func TestDequantizeMatchesReference(t *testing.T) {
	r := newRand(1)
	for _, ty := range allTypes {
		for _, edges := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/edges=%v", ty, edges), func(t *testing.T) {
				n := 8 * 256
				src := randomRow(r, ty, n, edges)
				got := mustDequantize(ty, src, n)
				want := refDequantize(ty, src, n)
				bad := 0
				for i := range got {
					if !closeTo(got[i], want[i]) {
						if bad++; bad <= 5 {
							t.Errorf("element %d: got %v, want %v (%+v)", i, got[i], want[i].value(), want[i])
						}
					}
				}
				if bad > 5 {
					t.Errorf("%d mismatches in all", bad)
				}
			})
		}
	}
}

// TestRoundTripError bounds the error of Quantize followed by Dequantize
// on Gaussian weights (std 0.02, the scale of real model weights): the
// RMS error relative to the RMS of the data, and for Q8_0 the largest
// error relative to the block's largest magnitude.
func TestRoundTripError(t *testing.T) {
	// The measured errors (in the comments) are about 80% of these
	// bounds; a quantiser that loses a bit per weight (doubling the error)
	// or picks its scales badly exceeds them.
	bounds := map[gguf.TensorType]float64{
		gguf.TypeF32:  0,
		gguf.TypeF16:  0.0003, // 0.00021
		gguf.TypeBF16: 0.002,  // 0.00164
		gguf.TypeQ8_0: 0.0065, // 0.00535
		gguf.TypeQ8_K: 0.0085, // 0.00695
		gguf.TypeQ6_K: 0.022,  // 0.0178
		gguf.TypeQ5_K: 0.045,  // 0.0362
		gguf.TypeQ5_1: 0.047,  // 0.0379
		gguf.TypeQ5_0: 0.053,  // 0.0428
		gguf.TypeQ4_K: 0.09,   // 0.0717
		gguf.TypeQ4_1: 0.098,  // 0.0787
		gguf.TypeQ4_0: 0.108,  // 0.0863
	}
	r := newRand(2)
	x := gaussian(r, 64*1024, 0.02)
	for _, ty := range allTypes {
		t.Run(ty.String(), func(t *testing.T) {
			y := mustDequantize(ty, mustQuantize(ty, x), len(x))
			var se, sx float64
			for i := range x {
				d := float64(y[i]) - float64(x[i])
				se += d * d
				sx += float64(x[i]) * float64(x[i])
			}
			rel := math.Sqrt(se / sx)
			t.Logf("%s: relative RMS error %.5f (bound %.5f)", ty, rel, bounds[ty])
			if rel > bounds[ty] {
				t.Errorf("relative RMS error %.5f, want ≤ %.5f", rel, bounds[ty])
			}
		})
	}
	t.Run("Q8_0/max", func(t *testing.T) {
		y := mustDequantize(gguf.TypeQ8_0, mustQuantize(gguf.TypeQ8_0, x), len(x))
		for b := 0; b < len(x)/32; b++ {
			var amax, emax float64
			for i := 32 * b; i < 32*b+32; i++ {
				amax = math.Max(amax, math.Abs(float64(x[i])))
				emax = math.Max(emax, math.Abs(float64(y[i]-x[i])))
			}
			// Half a step of amax/127, plus the fp16 rounding of the scale.
			if emax > amax*(0.5/127+1.0/1024) {
				t.Fatalf("block %d: error %g for largest magnitude %g: over 1%%", b, emax, amax)
			}
		}
	})
}

// TestQuantizeExact checks that values a format represents exactly come
// back unchanged.
func TestQuantizeExact(t *testing.T) {
	ramp := func(n int, f func(i int) float32) []float32 {
		x := make([]float32, n)
		for i := range x {
			x[i] = f(i)
		}
		return x
	}
	const d = 1.0 / 64 // a power of two: exact in fp16, with an exact inverse
	tests := []struct {
		name string
		t    gguf.TensorType
		x    []float32
	}{
		{"Q8_0 full range", gguf.TypeQ8_0, ramp(64, func(i int) float32 {
			if i < 32 {
				return d * float32(i*8-127) // -127 … 121
			}
			return d * float32(127-(i-32)*8) // 127 … -121
		})},
		{"Q8_0 symmetric", gguf.TypeQ8_0, ramp(32, func(i int) float32 { return d * float32(127-i*254/31) })},
		{"Q8_0 zeros", gguf.TypeQ8_0, make([]float32, 32)},
		{"Q4_0", gguf.TypeQ4_0, ramp(32, func(i int) float32 { return d * float32(i%16-8) })},
		{"Q5_0", gguf.TypeQ5_0, ramp(32, func(i int) float32 { return d * float32(i-16) })},
		{"Q4_1", gguf.TypeQ4_1, ramp(32, func(i int) float32 { return 0.25 + d*float32(i%16) })},
		{"Q5_1", gguf.TypeQ5_1, ramp(32, func(i int) float32 { return -1 + d*float32(31-i) })},
		{"Q8_K", gguf.TypeQ8_K, ramp(256, func(i int) float32 { return float32(i%255 - 127) })},
		{"F16", gguf.TypeF16, []float32{0, -0, 1, -2.5, 65504, -65504, 0x1p-24, 0x1p-14, 1.0009765625}},
		{"BF16", gguf.TypeBF16, []float32{0, 1, -3.5, 0x1p-133, 0x1.fep127, 1.0078125}},
		{"F32", gguf.TypeF32, []float32{math.MaxFloat32, math.SmallestNonzeroFloat32, -1e-30}},
		{"K-quant zeros Q4_K", gguf.TypeQ4_K, make([]float32, 256)},
		{"K-quant zeros Q5_K", gguf.TypeQ5_K, make([]float32, 256)},
		{"K-quant zeros Q6_K", gguf.TypeQ6_K, make([]float32, 256)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := mustDequantize(tt.t, mustQuantize(tt.t, tt.x), len(tt.x))
			if diff := cmp.Diff(tt.x, got); diff != "" {
				t.Errorf("round trip changed values (-in +out):\n%s", diff)
			}
		})
	}
}

// goldenInput returns deterministic test data built from integers only (no
// math library calls), so it is bit-identical on every platform: blocks of
// Gaussian-like noise at several scales, outliers, zeros, constants,
// all-positive values and a coarse grid.
func goldenInput() []float32 {
	const n = 256 * 64
	x := make([]float32, n)
	s := uint64(0x9e3779b97f4a7c15)
	next := func() uint64 {
		s += 0x9e3779b97f4a7c15
		z := s
		z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
		z = (z ^ z>>27) * 0x94d049bb133111eb
		return z ^ z>>31
	}
	noise := func() float32 { // sum of four uniforms: mean 0, std ≈ 1
		u := next()
		sum := int(u&0xffff) + int(u>>16&0xffff) + int(u>>32&0xffff) + int(u>>48)
		return float32(sum-2*0xffff) / 37837
	}
	for b := 0; b < n/256; b++ {
		xs := x[256*b : 256*b+256]
		for i := range xs {
			switch b % 8 {
			case 0, 1:
				xs[i] = 0.02 * noise()
			case 2:
				xs[i] = noise()
			case 3:
				xs[i] = 0.02 * noise()
				if next()%40 == 0 {
					xs[i] *= 50
				}
			case 4:
				if i%64 >= 32 { // half the sub-blocks are zero
					xs[i] = 0.1 * noise()
				}
			case 5:
				xs[i] = 0.75
			case 6:
				xs[i] = 1 + 0.01*noise()
			case 7:
				xs[i] = float32(int(next()%17)-8) / 8
			}
		}
	}
	return x
}

// TestQuantizeGolden pins Quantize's output. The digests were checked
// once to be byte-identical to ggml's quantize_row_*_ref (ggml-quants.c,
// built with -ffp-contract=off) on the same input; a change here means
// files written by sov no longer match llama.cpp's. Run with -update to
// rewrite testdata/quantize.golden after a deliberate change.
func TestQuantizeGolden(t *testing.T) {
	x := goldenInput()
	var buf bytes.Buffer
	for _, ty := range allTypes {
		sum := sha256.Sum256(mustQuantize(ty, x))
		fmt.Fprintf(&buf, "%s %s\n", ty, hex.EncodeToString(sum[:]))
	}
	path := filepath.Join("testdata", "quantize.golden")
	if *update {
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(lines(want), lines(buf.Bytes())); diff != "" {
		t.Errorf("Quantize output changed (-golden +got):\n%s", diff)
	}
}

func lines(b []byte) []string {
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	return out
}

// TestQuantizeSignedZeroMin checks that Q4_1 and Q5_1 store the minimum
// the way ggml's C comparisons find it: the first of equal zeros, keeping
// its sign.
func TestQuantizeSignedZeroMin(t *testing.T) {
	negZero := float32(math.Copysign(0, -1))
	for _, ty := range []gguf.TensorType{gguf.TypeQ4_1, gguf.TypeQ5_1} {
		for _, tt := range []struct {
			first, second float32
			wantM         uint16
		}{{0, negZero, 0x0000}, {negZero, 0, 0x8000}} {
			x := make([]float32, 32)
			x[0], x[1] = tt.first, tt.second
			for i := 2; i < 32; i++ {
				x[i] = float32(i)
			}
			b := mustQuantize(ty, x)
			if m := le16(b[2:]); m != tt.wantM {
				t.Errorf("%s with %v then %v: min field %#04x, want %#04x", ty, tt.first, tt.second, m, tt.wantM)
			}
		}
	}
}
