package engine

import (
	"sync"
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
type pool struct {
	n     int
	tasks []chan task
	wg    sync.WaitGroup
	once  sync.Once
}

type task struct {
	j          job
	start, end int
}

func newPool(threads int) *pool {
	if threads < 1 {
		threads = 1
	}
	p := &pool{n: threads}
	// Worker 0 is the calling goroutine; the others wait for work.
	for i := 1; i < threads; i++ {
		ch := make(chan task, 1)
		p.tasks = append(p.tasks, ch)
		go func() {
			for t := range ch {
				t.j.run(t.start, t.end, i)
				p.wg.Done()
			}
		}()
	}
	return p
}

// run calls j over [0, n) split into one contiguous part per worker, with
// part boundaries aligned to align elements, and waits for all of them.
func (p *pool) run(n, align int, j job) {
	if align < 1 {
		align = 1
	}
	workers := p.n
	if chunks := (n + align - 1) / align; chunks < workers {
		workers = chunks
	}
	if workers <= 1 {
		j.run(0, n, 0)
		return
	}
	per := ((n+workers-1)/workers + align - 1) / align * align
	for w := 1; w < workers; w++ {
		start := w * per
		end := min(start+per, n)
		if start >= end {
			continue
		}
		p.wg.Add(1)
		p.tasks[w-1] <- task{j: j, start: start, end: end}
	}
	j.run(0, min(per, n), 0)
	p.wg.Wait()
}

// close stops the workers.
func (p *pool) close() {
	p.once.Do(func() {
		for _, ch := range p.tasks {
			close(ch)
		}
	})
}
