package engine

import (
	"sync/atomic"
	"testing"
)

type countJob struct{ seen []atomic.Int32 }

func (j *countJob) run(start, end, w int) {
	for i := start; i < end; i++ {
		j.seen[i].Add(1)
	}
}

func TestPoolCoversRangeOnce(t *testing.T) {
	for _, threads := range []int{1, 2, 3, 8} {
		p := newPool(threads)
		for _, n := range []int{0, 1, 5, 16, 17, 1000} {
			for _, align := range []int{1, 16} {
				for _, balanced := range []bool{false, true} {
					j := &countJob{seen: make([]atomic.Int32, n)}
					if balanced {
						p.runBalanced(n, align, j)
					} else {
						p.run(n, align, j)
					}
					for i := range j.seen {
						if got := j.seen[i].Load(); got != 1 {
							t.Fatalf("threads=%d n=%d align=%d balanced=%v: element %d done %d times", threads, n, align, balanced, i, got)
						}
					}
				}
			}
		}
		p.close()
	}
}

type nopJob struct{}

func (nopJob) run(start, end, w int) {}

// BenchmarkPoolDispatch measures the fixed cost of one parallel operation.
func BenchmarkPoolDispatch(b *testing.B) {
	p := newPool(2)
	defer p.close()
	var j nopJob
	for b.Loop() {
		p.run(1024, 16, j)
	}
}
