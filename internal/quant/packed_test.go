package quant

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"sov.dev/sov/internal/gguf"
)

// packRandom returns rows random Q8_0 rows of nb blocks (quants and
// scales from the s32 case) and their packed form.
func packRandom(t testing.TB, r *rand.Rand, c s32Case, rows int) ([]byte, *PackedQ8_0) {
	t.Helper()
	h := func(f int) uint16 { return c.scale(r, f) }
	w := make([]byte, 0, rows*c.nb*34)
	for range rows {
		w = append(w, s32Row(r, gguf.TypeQ8_0, c.nb, c.fill, h)...)
	}
	p, err := PackQ8_0(w, c.nb*34, rows, 32*c.nb)
	if err != nil {
		t.Fatal(err)
	}
	return w, p
}

// TestPackQ8_0RoundTrip checks that every row unpacks to the bytes it was
// packed from and dequantizes as the row does, for shapes with partial
// groups and an unpaired last block.
func TestPackQ8_0RoundTrip(t *testing.T) {
	for _, shape := range [][2]int{{1, 1}, {15, 2}, {16, 3}, {17, 1}, {33, 28}, {5, 5}} {
		rows, nb := shape[0], shape[1]
		t.Run(fmt.Sprintf("%dx%d", rows, nb), func(t *testing.T) {
			c := s32Case{nb: nb, fill: -1, scale: s32Finite}
			w, p := packRandom(t, newRand(uint64(rows*100+nb)), c, rows)
			if got, want := p.Size(), (rows+15)/16*nb*544; got != want {
				t.Errorf("Size() = %d, want %d", got, want)
			}
			// The portable packer gives the same bytes as the one in use.
			q := &PackedQ8_0{rows: p.rows, cols: p.cols, nb: p.nb, groupBytes: p.groupBytes, data: make([]byte, len(p.data))}
			for g := range len(q.data) / q.groupBytes {
				q.packGroup(g, w, nb*34)
			}
			if !bytes.Equal(q.data, p.data) {
				t.Errorf("the portable packer's bytes differ from PackQ8_0's")
			}
			row := make([]byte, nb*34)
			got := make([]float32, 32*nb)
			for r := range rows {
				src := w[r*nb*34 : (r+1)*nb*34]
				p.Row(r, row)
				if !bytes.Equal(row, src) {
					t.Fatalf("row %d: unpacked %x, packed from %x", r, row, src)
				}
				p.Dequantize(r, got)
				want := mustDequantize(gguf.TypeQ8_0, src, 32*nb)
				if d := cmp.Diff(want, got, cmp.Comparer(func(a, b float32) bool {
					return a == b || (a != a && b != b)
				})); d != "" {
					t.Fatalf("row %d dequantized (-want +got):\n%s", r, d)
				}
			}
		})
	}
}

func TestPackQ8_0RejectsBadShapes(t *testing.T) {
	w := make([]byte, 3*34)
	for _, c := range []struct {
		name                 string
		rowBytes, rows, cols int
	}{
		{"cols not blocks", 34, 3, 31},
		{"no rows", 34, 0, 32},
		{"short stride", 33, 3, 32},
		{"too few bytes", 34, 4, 32},
		{"stride past end", 40, 3, 32},
	} {
		t.Run(c.name, func(t *testing.T) {
			if _, err := PackQ8_0(w, c.rowBytes, c.rows, c.cols); err == nil {
				t.Errorf("PackQ8_0(%d bytes, %d, %d, %d) succeeded", len(w), c.rowBytes, c.rows, c.cols)
			}
		})
	}
}

// TestPackedMatVecImplsMatchPortable runs every packed kernel over row
// ranges that start and end inside and on group boundaries, for the 32-
// element block cases (extreme quants, zero and non-finite scales, one
// block to hundreds), against the portable Q8_0 row kernel: bit for bit
// where every sum is exact, within float32 rounding elsewhere.
func TestPackedMatVecImplsMatchPortable(t *testing.T) {
	cases := append(s32Cases(),
		s32Case{name: "moderate-600", nb: 600, fill: -1, scale: s32Moderate, q: s32Full}, // past the stack buffer
		s32Case{name: "exact-q8-min", nb: 7, exact: true, fill: -1, scale: s32Unit, q: func(*rand.Rand) int8 { return -128 }},
		s32Case{name: "exact-all-min", nb: 3, exact: true, fill: 0x80, scale: s32Unit, q: func(*rand.Rand) int8 { return -128 }},
	)
	portable := vecDotQ8_0
	const rows = 37
	ranges := [][2]int{{0, rows}, {0, 16}, {3, 9}, {5, 21}, {16, 37}, {32, 37}, {36, 37}, {7, 7}}
	for _, impl := range packedImpls {
		for ci, c := range cases {
			t.Run(fmt.Sprintf("%s/%s", impl.name, c.name), func(t *testing.T) {
				r := newRand(uint64(91 + ci))
				w, p := packRandom(t, r, c, rows)
				act := s32Act(gguf.TypeQ8_0, c.nb, func() int8 { return c.q(r) }, func(f int) uint16 { return c.scale(r, f) })
				for _, rg := range ranges {
					lo, hi := rg[0], rg[1]
					out := make([]float32, hi-lo+1)
					out[hi-lo] = 42
					p.matVec(impl.k, lo, hi, act, out[:hi-lo])
					for i := lo; i < hi; i++ {
						row := w[i*c.nb*34 : (i+1)*c.nb*34]
						want := portable(row, act, 32*c.nb)
						got := out[i-lo]
						if c.exact {
							if got != want {
								t.Errorf("rows [%d,%d) row %d: got %v, want exactly %v", lo, hi, i, got, want)
							}
							continue
						}
						if norm := s32Norm(gguf.TypeQ8_0, row, act, c.nb); !s32Close(got, want, norm, c.nb) {
							t.Errorf("rows [%d,%d) row %d: got %v, want %v (terms total %g)", lo, hi, i, got, want, norm)
						}
					}
					if out[hi-lo] != 42 {
						t.Errorf("rows [%d,%d): wrote past the outputs", lo, hi)
					}
				}
			})
		}
	}
}

// TestPackedGemmMatchesRowKernel checks the batch product over packed rows,
// in use and portable, against the Q8_0 row kernel for every (row, vector)
// pair, with batches that fill a 16-vector group partly and fully, and
// row ranges past one decoding chunk.
func TestPackedGemmMatchesRowKernel(t *testing.T) {
	impls := packedGemms
	portable := vecDotQ8_0
	const rows = 70
	for _, impl := range impls {
		for _, nb := range []int{1, 13, 14} {
			c := s32Case{nb: nb, fill: -1, scale: s32Moderate, q: s32Full}
			for _, n := range []int{2, 5, 16, 21} {
				for _, rg := range [][2]int{{0, rows}, {3, 50}, {64, 70}} {
					lo, hi := rg[0], rg[1]
					t.Run(fmt.Sprintf("%s/nb=%d/n=%d/%d-%d", impl.name, nb, n, lo, hi), func(t *testing.T) {
						r := newRand(uint64(n*1000 + lo + nb))
						w, p := packRandom(t, r, c, rows)
						actStride := c.nb*34 + 6
						act := make([]byte, n*actStride)
						for b := range n {
							copy(act[b*actStride:], s32Act(gguf.TypeQ8_0, c.nb, func() int8 { return c.q(r) }, func(f int) uint16 { return c.scale(r, f) }))
						}
						outStride := hi - lo + 3
						out := make([]float32, n*outStride)
						p.Gemm(lo, hi, act, actStride, n, out, outStride) // checks the shapes
						clear(out)
						impl.fn(p, lo, hi, act, actStride, n, out, outStride)
						for b := range n {
							y := act[b*actStride : b*actStride+c.nb*34]
							for i := lo; i < hi; i++ {
								row := w[i*c.nb*34 : (i+1)*c.nb*34]
								want := portable(row, y, 32*c.nb)
								got := out[b*outStride+i-lo]
								if norm := s32Norm(gguf.TypeQ8_0, row, y, c.nb); !s32Close(got, want, norm, c.nb) {
									t.Errorf("vector %d row %d: got %v, want %v", b, i, got, want)
								}
							}
							for k := hi - lo; k < outStride; k++ {
								if out[b*outStride+k] != 0 {
									t.Errorf("vector %d: wrote output %d past the rows", b, k)
								}
							}
						}
					})
				}
			}
		}
	}
}

func TestPackedPanicsOnBadRanges(t *testing.T) {
	c := s32Case{nb: 2, fill: -1, scale: s32Unit, q: s32Full}
	_, p := packRandom(t, newRand(1), c, 20)
	act := make([]byte, 2*34)
	for _, rg := range [][2]int{{-1, 3}, {0, 21}, {5, 4}} {
		t.Run(fmt.Sprint(rg), func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Errorf("MatVec(%d, %d) did not panic", rg[0], rg[1])
				}
			}()
			p.MatVec(rg[0], rg[1], act, make([]float32, 30))
		})
	}
}

// BenchmarkPackedQ8_0 measures the packed kernels on matrices shaped like
// BenchmarkRowsQ8_0's (about 512 MB: every byte from memory), on one and
// two goroutines that split the rows.
func BenchmarkPackedQ8_0(b *testing.B) {
	const total = 512 << 20
	for _, cols := range []int{896, 4864} {
		rb := cols / 32 * 34
		rows := total / rb / 16 * 16
		w := randomRow(newRand(3), gguf.TypeQ8_0, rows*cols, false)
		p, err := PackQ8_0(w, rb, rows, cols)
		if err != nil {
			b.Fatal(err)
		}
		w = nil
		x := gaussian(newRand(4), cols, 1)
		act := make([]byte, ActivationBytes(gguf.TypeQ8_0, cols))
		QuantizeActivations(gguf.TypeQ8_0, x, act)
		out := make([]float32, rows)
		for _, threads := range []int{1, 2} {
			for _, impl := range packedImpls[1:] {
				b.Run(fmt.Sprintf("cols=%d/threads=%d/%s", cols, threads, impl.name), func(b *testing.B) {
					b.SetBytes(int64(rows * rb))
					for b.Loop() {
						var wg sync.WaitGroup
						per := rows / threads
						for t := range threads {
							lo, hi := t*per, min((t+1)*per, rows)
							wg.Go(func() { p.matVec(impl.k, lo, hi, act, out[lo:hi]) })
						}
						wg.Wait()
					}
				})
			}
		}
	}
}

// BenchmarkPackQ8_0 measures repacking (load time) of a 4864×896 matrix,
// in bytes of the file's layout per second.
func BenchmarkPackQ8_0(b *testing.B) {
	const rows, cols = 4864, 896
	rb := cols / 32 * 34
	w := randomRow(newRand(3), gguf.TypeQ8_0, rows*cols, false)
	b.SetBytes(int64(len(w)))
	for b.Loop() {
		if _, err := PackQ8_0(w, rb, rows, cols); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzPackQ8_0 packs arbitrary bytes as Q8_0 rows of any shape: a shape
// the bytes do not hold is an error, never a panic, and a packed matrix
// unpacks to its rows and multiplies as the row kernel does.
func FuzzPackQ8_0(f *testing.F) {
	f.Add(randomRow(newRand(1), gguf.TypeQ8_0, 32*17*3, true), 3*34, 17, 96)
	f.Add(randomRow(newRand(2), gguf.TypeQ8_0, 64*16, true), 2*34, 16, 64)
	f.Add(make([]byte, 34), 34, 1, 32)
	f.Add(make([]byte, 100), 40, 3, 32)
	f.Add(make([]byte, 67), 34, 2, 32) // one byte short
	f.Add([]byte{}, 0, 0, 0)
	f.Fuzz(func(t *testing.T, data []byte, rowBytes, rows, cols int) {
		if rows > 1<<12 || cols > 1<<14 {
			return // keep the allocation small; shape errors are checked below
		}
		p, err := PackQ8_0(data, rowBytes, rows, cols)
		if err != nil {
			return
		}
		nb := cols / 32
		if rows <= 0 || nb <= 0 || rowBytes < nb*34 || (rows-1)*rowBytes+nb*34 > len(data) {
			t.Fatalf("PackQ8_0 accepted %d rows of %d columns, %d bytes apart, in %d bytes", rows, cols, rowBytes, len(data))
		}
		act := make([]byte, nb*34)
		for i := range act {
			act[i] = byte(i * 37)
		}
		out := make([]float32, rows)
		p.MatVec(0, rows, act, out)
		row := make([]byte, nb*34)
		for r := range rows {
			src := data[r*rowBytes : r*rowBytes+nb*34]
			p.Row(r, row)
			if !bytes.Equal(row, src) {
				t.Fatalf("row %d unpacks to %x, packed from %x", r, row, src)
			}
			want := vecDotQ8_0(src, act, cols)
			if norm := s32Norm(gguf.TypeQ8_0, src, act, nb); !s32Close(out[r], want, norm, nb) {
				t.Fatalf("row %d: product %v, row kernel %v", r, out[r], want)
			}
		}
	})
}

// TestPackedGemmImplsExact runs every batch product this CPU has against
// the Q8_0 row kernel where the result is exact (scales 0 and ±1, integer
// sums below 2^24), with every weight byte including −128 and activations
// over QuantizeActivations' range, −127…127,
// batches with partial 16-token groups and past 128 tokens, odd block
// counts and row ranges that start and end inside a 16-row group: every
// output must be equal.
func TestPackedGemmImplsExact(t *testing.T) {
	unit := func(r *rand.Rand) uint16 { return []uint16{0x3c00, 0xbc00, 0x3c00, 0, 0x8000}[r.IntN(5)] }
	cases := []struct {
		name string
		nb   int
		fill int                     // weight quant bytes, or -1 for random
		q    func(r *rand.Rand) int8 // activation quants
	}{
		{"random-1", 1, -1, func(r *rand.Rand) int8 { return int8(r.IntN(255) - 127) }},
		{"random-2", 2, -1, func(r *rand.Rand) int8 { return int8(r.IntN(255) - 127) }},
		{"random-7", 7, -1, func(r *rand.Rand) int8 { return int8(r.IntN(255) - 127) }},
		{"random-32", 32, -1, func(r *rand.Rand) int8 { return int8(r.IntN(255) - 127) }},
		{"min-37", 37, 0x80, func(*rand.Rand) int8 { return -127 }},
		{"max-min-3", 3, 0x7f, func(*rand.Rand) int8 { return -127 }},
	}
	const rows = 53
	for _, impl := range packedGemms {
		for _, c := range cases {
			for _, n := range []int{1, 15, 16, 17, 129, 150} {
				for _, rg := range [][2]int{{0, rows}, {5, 37}, {48, 53}, {17, 18}} {
					lo, hi := rg[0], rg[1]
					t.Run(fmt.Sprintf("%s/%s/n=%d/%d-%d", impl.name, c.name, n, lo, hi), func(t *testing.T) {
						r := newRand(uint64(n*7919 + lo*31 + c.nb))
						w := make([]byte, rows*c.nb*34)
						for i := range w {
							w[i] = byte(r.Uint32())
							if c.fill >= 0 {
								w[i] = byte(c.fill)
							}
						}
						for b := range rows * c.nb {
							binary.LittleEndian.PutUint16(w[34*b:], unit(r))
						}
						p, err := PackQ8_0(w, c.nb*34, rows, 32*c.nb)
						if err != nil {
							t.Fatal(err)
						}
						actStride := c.nb*34 + 2
						act := make([]byte, n*actStride)
						for b := range n {
							for k := range c.nb {
								blk := act[b*actStride+34*k:]
								binary.LittleEndian.PutUint16(blk, unit(r))
								for j := range 32 {
									blk[2+j] = byte(c.q(r))
								}
							}
						}
						outStride := hi - lo + 1
						out := make([]float32, n*outStride)
						for i := range out {
							out[i] = -7
						}
						impl.fn(p, lo, hi, act, actStride, n, out, outStride)
						for b := range n {
							y := act[b*actStride:]
							for i := lo; i < hi; i++ {
								want := vecDotQ8_0(w[i*c.nb*34:], y, 32*c.nb)
								if got := out[b*outStride+i-lo]; got != want {
									t.Fatalf("vector %d row %d: got %v, want %v", b, i, got, want)
								}
							}
							if got := out[b*outStride+hi-lo]; got != -7 {
								t.Fatalf("vector %d: output past the rows set to %v", b, got)
							}
						}
					})
				}
			}
		}
	}
}

// BenchmarkPackedGemm times each batch product on one thread for 64
// tokens (the engine's batch) over qwen2.5-0.5b's shapes, in
// multiply-adds per second.
func BenchmarkPackedGemm(b *testing.B) {
	n := 64
	for _, shape := range [][2]int{{896, 896}, {4864, 896}, {896, 4864}} {
		rows, cols := shape[0], shape[1]
		rb := cols / 32 * 34
		w := randomRow(newRand(3), gguf.TypeQ8_0, rows*cols, false)
		p, err := PackQ8_0(w, rb, rows, cols)
		if err != nil {
			b.Fatal(err)
		}
		ab := ActivationBytes(gguf.TypeQ8_0, cols)
		act := make([]byte, n*ab)
		for i := range n {
			QuantizeActivations(gguf.TypeQ8_0, gaussian(newRand(uint64(4+i)), cols, 1), act[i*ab:(i+1)*ab])
		}
		out := make([]float32, n*rows)
		for _, impl := range packedGemms[1:] {
			b.Run(fmt.Sprintf("%dx%d/%s", rows, cols, impl.name), func(b *testing.B) {
				for b.Loop() {
					impl.fn(p, 0, rows, act, ab, n, out, rows)
				}
				b.ReportMetric(float64(rows*cols*n)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GMAC/s")
			})
		}
	}
}

// TestPackedGemmConcurrent runs every batch product from several
// goroutines at once, which the scheduler moves between threads: each
// call must give the result of a lone call (the AMX kernel sets up and
// releases its tiles within every call).
func TestPackedGemmConcurrent(t *testing.T) {
	c := s32Case{nb: 9, fill: -1, scale: s32Moderate, q: s32Full}
	r := newRand(11)
	const rows, n = 40, 37
	_, p := packRandom(t, r, c, rows)
	act := make([]byte, 0, n*c.nb*34)
	for range n {
		act = append(act, s32Act(gguf.TypeQ8_0, c.nb, func() int8 { return c.q(r) }, func(f int) uint16 { return c.scale(r, f) })...)
	}
	for _, impl := range packedGemms {
		t.Run(impl.name, func(t *testing.T) {
			want := make([]float32, n*rows)
			impl.fn(p, 0, rows, act, c.nb*34, n, want, rows)
			var wg sync.WaitGroup
			errs := make([]string, 8)
			for g := range errs {
				wg.Go(func() {
					got := make([]float32, n*rows)
					for range 50 {
						impl.fn(p, 0, rows, act, c.nb*34, n, got, rows)
						if d := cmp.Diff(want, got); d != "" {
							errs[g] = d
							return
						}
					}
				})
			}
			wg.Wait()
			for g, d := range errs {
				if d != "" {
					t.Errorf("goroutine %d: (-lone +concurrent):\n%s", g, d)
				}
			}
		})
	}
}
