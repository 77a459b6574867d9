package engine

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// job is work split over a range: run handles [start, end) on worker w
// (0 ≤ w < threads), which may use per-worker scratch space.
type job interface {
	run(start, end, w int)
}

// pool is a fixed set of worker goroutines that split ranges of work (the
// rows of a matrix, the heads of an attention layer) between them. It is
// created once per session, so no goroutine is started per operation, and
// jobs are passed as interfaces to long-lived structs so that dispatching
// allocates nothing. Each element of a range is computed by exactly one
// worker with the same arithmetic whatever the split, so results do not
// depend on the number of threads.
//
// A token needs a few hundred parallel operations of tens of microseconds
// each, so waking a sleeping goroutine for each (several microseconds
// through the scheduler) would waste much of the second core. Workers
// therefore spin for new work for a short while before parking, and the
// caller spins until they are done.
//
// A balanced run (runBalanced) lets a worker that finishes its part take
// what is left of the others', a chunk at a time from the far end: a
// token's matrix products are memory-bound, cores do not get equal shares
// of the memory, and the caller waited for the slower worker a sixth of
// the time with fixed parts (measured on the 2-core development VM).
type pool struct {
	n        int
	seq      atomic.Uint64 // incremented for each dispatched job
	j        job
	parts    []span   // per worker
	cursors  []cursor // per worker, in balanced runs
	balanced bool
	chunk    int
	done     atomic.Int64
	parked   []atomic.Bool
	wake     []chan struct{}
	closed   atomic.Bool
	once     sync.Once
}

type span struct{ start, end int }

// cursor is what is left of one worker's part in a balanced run, [front,
// back) packed into one word: the owner takes chunks from the front,
// others from the back. It fills a cache line of its own.
type cursor struct {
	v atomic.Uint64
	_ [56]byte
}

func packSpan(front, back int) uint64 { return uint64(uint32(front)) | uint64(back)<<32 }

// take removes a chunk of up to size elements from the front (or the
// back), cut at multiples of size, and reports false when nothing is left.
func (c *cursor) take(size int, back bool) (start, end int, ok bool) {
	for {
		v := c.v.Load()
		f, b := int(uint32(v)), int(v>>32)
		if f >= b {
			return 0, 0, false
		}
		var nv uint64
		if back {
			start, end = max(f, (b-1)/size*size), b
			nv = packSpan(f, start)
		} else {
			start, end = f, min(b, (f/size+1)*size)
			nv = packSpan(end, b)
		}
		if c.v.CompareAndSwap(v, nv) {
			return start, end, true
		}
	}
}

// spinLimit is how many times an idle worker checks for work before it
// parks (tens of microseconds).
const spinLimit = 1 << 15

func newPool(threads int) *pool {
	threads = max(threads, 1)
	p := &pool{
		n:       threads,
		parts:   make([]span, threads),
		cursors: make([]cursor, threads),
		parked:  make([]atomic.Bool, threads),
		wake:    make([]chan struct{}, threads),
	}
	for i := 1; i < threads; i++ {
		p.wake[i] = make(chan struct{}, 1)
		go p.worker(i)
	}
	return p
}

func (p *pool) worker(i int) {
	var seen uint64
	for {
		spins := 0
		for p.seq.Load() == seen {
			if p.closed.Load() {
				return
			}
			if spins++; spins < spinLimit {
				continue
			}
			p.parked[i].Store(true)
			if p.seq.Load() == seen && !p.closed.Load() {
				<-p.wake[i]
			}
			p.parked[i].Store(false)
			spins = 0
		}
		seen = p.seq.Load()
		p.work(i)
		p.done.Add(1)
	}
}

// work runs worker i's share of the current job.
func (p *pool) work(i int) {
	if !p.balanced {
		if s := p.parts[i]; s.start < s.end {
			p.j.run(s.start, s.end, i)
		}
		return
	}
	for {
		start, end, ok := p.cursors[i].take(p.chunk, false)
		if !ok {
			break
		}
		p.j.run(start, end, i)
	}
	for k := 1; k < p.n; k++ {
		c := &p.cursors[(i+k)%p.n]
		for {
			start, end, ok := c.take(p.chunk, true)
			if !ok {
				break
			}
			p.j.run(start, end, i)
		}
	}
}

// run calls j over [0, n) split into one contiguous part per worker, with
// part boundaries aligned to align elements, and waits for all of them.
func (p *pool) run(n, align int, j job) { p.dispatch(n, align, j, false) }

// runBalanced is run for work whose elements may be done by any worker
// in any grouping: each worker starts on its own part, in chunks of about
// an eighth of it (multiples of align), and then takes chunks left in
// the others' parts.
func (p *pool) runBalanced(n, align int, j job) { p.dispatch(n, align, j, true) }

func (p *pool) dispatch(n, align int, j job, balanced bool) {
	align = max(align, 1)
	workers := p.n
	if chunks := (n + align - 1) / align; chunks < workers {
		workers = chunks
	}
	if workers <= 1 {
		j.run(0, n, 0)
		return
	}
	per := ((n+workers-1)/workers + align - 1) / align * align
	for w := range p.n {
		start, end := min(w*per, n), min((w+1)*per, n)
		if w >= workers {
			start, end = n, n
		}
		p.parts[w] = span{start, end}
		if balanced {
			p.cursors[w].v.Store(packSpan(start, end))
		}
	}
	p.balanced = balanced
	p.chunk = max(align, (per/8+align-1)/align*align)
	p.j = j
	p.done.Store(0)
	p.seq.Add(1)
	for w := 1; w < p.n; w++ {
		if p.parked[w].Load() {
			select {
			case p.wake[w] <- struct{}{}:
			default:
			}
		}
	}
	p.work(0)
	for spins := 0; p.done.Load() < int64(p.n-1); spins++ {
		if spins > spinLimit {
			runtime.Gosched()
		}
	}
	p.j = nil
}

// close stops the workers.
func (p *pool) close() {
	p.once.Do(func() {
		p.closed.Store(true)
		for w := 1; w < p.n; w++ {
			select {
			case p.wake[w] <- struct{}{}:
			default:
			}
		}
	})
}
