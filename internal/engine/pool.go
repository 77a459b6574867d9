package engine

import (
	"sync"
)

// pool is a fixed set of worker goroutines that split ranges of work (the
// rows of a matrix, the heads of an attention layer) between them. It is
// created once per model session, so no goroutine is started per
// operation. Each part of a range is always given to the same worker for a
// given size, and every element is computed by exactly one worker, so
// results do not depend on the number of threads.
type pool struct {
	n     int
	tasks []chan task
	wg    sync.WaitGroup
	once  sync.Once
}

type task struct {
	fn         func(start, end int)
	start, end int
}

func newPool(threads int) *pool {
	if threads < 1 {
		threads = 1
	}
	p := &pool{n: threads}
	// Worker 0 is the calling goroutine; the others wait for work.
	for i := 1; i < threads; i++ {
		ch := make(chan task)
		p.tasks = append(p.tasks, ch)
		go func() {
			for t := range ch {
				t.fn(t.start, t.end)
				p.wg.Done()
			}
		}()
	}
	return p
}

// run calls fn over [0, n) split into one contiguous part per worker, with
// part boundaries aligned to align elements, and waits for all of them.
func (p *pool) run(n, align int, fn func(start, end int)) {
	if align < 1 {
		align = 1
	}
	workers := p.n
	if chunks := (n + align - 1) / align; chunks < workers {
		workers = chunks
	}
	if workers <= 1 {
		fn(0, n)
		return
	}
	per := ((n+workers-1)/workers + align - 1) / align * align
	p.wg.Add(workers - 1)
	for w := 1; w < workers; w++ {
		start := w * per
		end := min(start+per, n)
		if start >= end {
			p.wg.Done()
			continue
		}
		p.tasks[w-1] <- task{fn: fn, start: start, end: end}
	}
	fn(0, min(per, n))
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
