//go:build linux

package main

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// loadResult is the outcome of one load phase.
type loadResult struct {
	target   string
	rate     int
	planned  int             // requests the schedule called for
	sent     int             // requests started
	ok       []time.Duration // latencies of the successful requests
	errors   map[string]int  // failed requests by kind
	elapsed  time.Duration   // first send to last answer
	sendSpan time.Duration   // first send to last send
	lag      dist            // how late requests were sent against the schedule
}

func (r loadResult) failed() int {
	n := 0
	for _, c := range r.errors {
		n += c
	}
	return n
}

// sendRate is the rate requests were actually sent at.
func (r loadResult) sendRate() float64 {
	if r.sent < 2 || r.sendSpan <= 0 {
		return 0
	}
	return float64(r.sent-1) / r.sendSpan.Seconds()
}

// throughput is successful answers per second over the phase.
func (r loadResult) throughput() float64 {
	if r.elapsed <= 0 {
		return 0
	}
	return float64(len(r.ok)) / r.elapsed.Seconds()
}

// loadOptions say how to run a load phase.
type loadOptions struct {
	rate     int
	duration time.Duration
	payload  int
	tag      string // prefix of every prompt's unique tag
}

// load sends chat completions to t at a constant rate for a duration, open
// loop: request i is due at start + i/rate and is sent then in its own
// goroutine, whether or not earlier answers have arrived, so a slow server
// sees the load pile up instead of the generator slowing down. Latency is
// measured from the actual send; how late sends were against the schedule
// is reported apart (lag). When ctx ends, no more requests are sent and
// the ones in flight are abandoned.
func load(ctx context.Context, t *target, o loadOptions) loadResult {
	n := int(o.duration.Seconds() * float64(o.rate))
	n = max(n, 1)
	type slot struct {
		sent bool
		r    callResult
	}
	slots := make([]slot, n)
	lags := make([]time.Duration, 0, n)
	var wg sync.WaitGroup
	start := time.Now()
	var lastSend time.Duration
	for i := 0; i < n; i++ {
		due := time.Duration(int64(i) * int64(time.Second) / int64(o.rate))
		if wait := due - time.Since(start); wait > 0 {
			tm := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				tm.Stop()
			case <-tm.C:
			}
		}
		if ctx.Err() != nil {
			break
		}
		now := time.Since(start)
		lags = append(lags, now-due)
		lastSend = now
		slots[i].sent = true
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			slots[i].r = t.call(ctx, fmt.Sprintf("%s-%d-%d", o.tag, i, time.Now().UnixNano()), false, o.payload)
		}(i)
	}
	wg.Wait()
	res := loadResult{
		target:   t.name,
		rate:     o.rate,
		planned:  n,
		errors:   map[string]int{},
		elapsed:  time.Since(start),
		sendSpan: lastSend,
		lag:      summarize(lags),
	}
	res.ok = make([]time.Duration, 0, n)
	for _, s := range slots {
		if !s.sent {
			continue
		}
		res.sent++
		if s.r.ok() {
			res.ok = append(res.ok, s.r.latency)
		} else {
			res.errors[errorKind(s.r)]++
		}
	}
	return res
}
