//go:build linux

package main

import (
	"context"
	"fmt"
	"time"
)

func (r callResult) ok() bool { return r.err == nil && r.status == 200 }

// series is one target's samples in overhead mode.
type series struct {
	all          []time.Duration // every successful sample
	roundMedians []time.Duration
	errors       map[string]int
}

func (s *series) failed() int {
	n := 0
	for _, c := range s.errors {
		n += c
	}
	return n
}

// overheadResult compares targets called one request at a time: the
// upstream directly, the gateway in front of it, and (when measured) the
// anchor, a bare net/http reverse proxy in front of it.
type overheadResult struct {
	stream      bool
	rounds, per int
	direct, gw  series
	anchor      *series // nil when not measured
}

// overheadOptions say how to run overhead mode.
type overheadOptions struct {
	rounds, perRound, warmup int
	stream                   bool // time streams to their first event
	payload                  int
}

// overhead calls the targets in turn, one request at a time: warmup
// requests to each first (not counted), then rounds of perRound requests
// to each. The order rotates from one request to the next so that no
// target always goes first. For streams the time to the first event is
// recorded, for plain requests the time to the whole answer. anchor may
// be nil.
func overhead(ctx context.Context, direct, gw, anchor *target, o overheadOptions) (overheadResult, error) {
	res := overheadResult{stream: o.stream, rounds: o.rounds, per: o.perRound}
	targets := []*target{direct, gw}
	all := []*series{&res.direct, &res.gw}
	if anchor != nil {
		res.anchor = &series{}
		targets = append(targets, anchor)
		all = append(all, res.anchor)
	}
	for _, s := range all {
		s.errors = map[string]int{}
	}
	kind := "plain"
	if o.stream {
		kind = "stream"
	}
	one := func(t *target, s *series, tag string, keep bool, round *[]time.Duration) {
		r := t.call(ctx, tag, o.stream, o.payload)
		if !keep {
			return
		}
		if !r.ok() {
			s.errors[errorKind(r)]++
			return
		}
		d := r.latency
		if o.stream {
			d = r.first
		}
		s.all = append(s.all, d)
		*round = append(*round, d)
	}
	stamp := time.Now().UnixNano()
	var scratch []time.Duration
	for i := 0; i < o.warmup; i++ {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		for k, t := range targets {
			one(t, all[k], fmt.Sprintf("%s-w%d-%d-%d", kind, i, k, stamp), false, &scratch)
		}
	}
	n := len(targets)
	for round := 0; round < o.rounds; round++ {
		rounds := make([][]time.Duration, n)
		for i := 0; i < o.perRound; i++ {
			if err := ctx.Err(); err != nil {
				return res, err
			}
			first := (round*o.perRound + i) % n
			for j := range n {
				k := (first + j) % n
				tag := fmt.Sprintf("%s-r%d-i%d-t%d-%d", kind, round, i, k, stamp)
				one(targets[k], all[k], tag, true, &rounds[k])
			}
		}
		for k, s := range all {
			if len(rounds[k]) > 0 {
				s.roundMedians = append(s.roundMedians, median(rounds[k]))
			}
		}
	}
	if len(res.direct.all) == 0 {
		return res, fmt.Errorf("no %s request to the upstream succeeded: %v", kind, res.direct.errors)
	}
	if len(res.gw.all) == 0 {
		return res, fmt.Errorf("no %s request through sov serve succeeded: %v", kind, res.gw.errors)
	}
	if res.anchor != nil && len(res.anchor.all) == 0 {
		return res, fmt.Errorf("no %s request through the anchor proxy succeeded: %v", kind, res.anchor.errors)
	}
	return res, nil
}

// added returns what the gateway adds: the difference of the medians of
// round medians (the headline figure) and of the p50 and p99 over all
// samples.
func (r overheadResult) added() (medianOfRounds, p50, p99 time.Duration) {
	return r.addedBy(r.gw)
}

// addedBy is added for any series of the result.
func (r overheadResult) addedBy(s series) (medianOfRounds, p50, p99 time.Duration) {
	d, g := summarize(r.direct.all), summarize(s.all)
	return median(s.roundMedians) - median(r.direct.roundMedians), g.p50 - d.p50, g.p99 - d.p99
}
