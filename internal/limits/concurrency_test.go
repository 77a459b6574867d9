package limits

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"sov.dev/sov/internal/keys"
)

// TestConcurrentInvariants hammers one key from many goroutines while a
// virtual clock moves second by second, and checks that there are never
// more than MaxConcurrency requests in flight nor more than RPM admitted in
// any 60 seconds. Run it with -race.
func TestConcurrentInvariants(t *testing.T) {
	const (
		workers  = 16
		attempts = 40 // per worker and second
		seconds  = 150
		rpm      = 100
		maxConc  = 3
	)
	l := New()
	k := &keys.Key{ID: "key_aaaaaaaaaaaa", Name: "load", RPM: rpm, MaxConcurrency: maxConc, TPM: 1 << 20}
	var (
		inFlight, peak atomic.Int64
		admitted       [seconds]atomic.Int64
	)
	for sec := range seconds {
		now := t0.Add(time.Duration(sec) * time.Second)
		var wg sync.WaitGroup
		for range workers {
			wg.Go(func() {
				for range attempts {
					tk, d := l.Acquire(k, 10, now)
					if d != nil {
						if d.Limit != RequestsPerMinute && d.Limit != Concurrency {
							t.Errorf("denied by %s", d.Limit)
						}
						continue
					}
					admitted[sec].Add(1)
					n := inFlight.Add(1)
					for {
						p := peak.Load()
						if n <= p || peak.CompareAndSwap(p, n) {
							break
						}
					}
					inFlight.Add(-1) // before Release, so n never undercounts
					tk.Release(10, now)
				}
			})
		}
		wg.Wait()
	}
	if p := peak.Load(); p > maxConc {
		t.Errorf("%d requests in flight at once, limit %d", p, maxConc)
	}
	if n := l.InFlight(k.ID); n != 0 {
		t.Errorf("%d in flight after everything was released", n)
	}
	var total int64
	for start := range seconds {
		var sum int64
		for sec := start; sec < min(start+60, seconds); sec++ {
			sum += admitted[sec].Load()
		}
		if sum > rpm {
			t.Errorf("%d requests admitted in the 60 s from second %d, limit %d", sum, start, rpm)
		}
		total += admitted[start].Load()
	}
	// The limiter is not simply refusing everything: over 150 s it must
	// have admitted at least two full minutes' worth.
	if total < 2*rpm {
		t.Errorf("only %d requests admitted in %d s", total, seconds)
	}
}
