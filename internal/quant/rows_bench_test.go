package quant

import (
	"bytes"
	"fmt"
	"sync"
	"testing"

	"sov.dev/sov/internal/gguf"
)

// BenchmarkRowsQ8_0 measures the multi-row Q8_0 kernel in use on matrices
// shaped like a small model's (896 and 4864 columns) and large enough
// (about 512 MB) that every byte comes from memory, on one and two
// goroutines that split the rows, next to a plain scan of the same bytes
// (bytes.IndexByte: the memory's read speed, the bound for the kernel).
func BenchmarkRowsQ8_0(b *testing.B) {
	const total = 512 << 20
	for _, cols := range []int{896, 4864} {
		rb := cols / 32 * 34
		rows := total / rb
		w := randomRow(newRand(3), gguf.TypeQ8_0, rows*cols, false)
		x := gaussian(newRand(4), cols, 1)
		act := make([]byte, ActivationBytes(gguf.TypeQ8_0, cols))
		QuantizeActivations(gguf.TypeQ8_0, x, act)
		out := make([]float32, rows)
		scan := bytes.Repeat([]byte{1}, len(w))
		for _, threads := range []int{1, 2} {
			split := func(f func(lo, hi int)) {
				var wg sync.WaitGroup
				per := rows / threads
				for t := range threads {
					wg.Go(func() { f(t*per, min((t+1)*per, rows)) })
				}
				wg.Wait()
			}
			b.Run(fmt.Sprintf("cols=%d/threads=%d/scan", cols, threads), func(b *testing.B) {
				b.SetBytes(int64(len(w)))
				for b.Loop() {
					split(func(lo, hi int) {
						if bytes.IndexByte(scan[lo*rb:hi*rb], 0) >= 0 {
							panic("unreachable")
						}
					})
				}
			})
			for _, impl := range rowsImpls[gguf.TypeQ8_0] {
				b.Run(fmt.Sprintf("cols=%d/threads=%d/%s", cols, threads, impl.name), func(b *testing.B) {
					k := impl.fn
					b.SetBytes(int64(len(w)))
					for b.Loop() {
						split(func(lo, hi int) { k(w[lo*rb:hi*rb], rb, hi-lo, act, cols, out[lo:hi]) })
					}
				})
			}
		}
	}
}
