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

// overheadResult compares two targets called one request at a time: the
// upstream directly and a proxy in front of it (sov serve, or the anchor).
type overheadResult struct {
	stream      bool
	rounds, per int
	direct, gw  series
}

// overheadOptions say how to run overhead mode.
type overheadOptions struct {
	rounds, perRound, warmup int
	stream                   bool // time streams to their first event
	payload                  int
}

// overhead calls direct and gw alternately, one request at a time: warmup
// requests to each first (not counted), then rounds of perRound requests to
// each. The order within a pair alternates so that neither target always
// goes first. For streams the time to the first event is recorded, for
// plain requests the time to the whole answer.
func overhead(ctx context.Context, direct, gw *target, o overheadOptions) (overheadResult, error) {
	res := overheadResult{stream: o.stream, rounds: o.rounds, per: o.perRound}
	res.direct.errors = map[string]int{}
	res.gw.errors = map[string]int{}
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
		tag := fmt.Sprintf("%s-w%d-%d", kind, i, stamp)
		one(direct, &res.direct, tag, false, &scratch)
		one(gw, &res.gw, tag, false, &scratch)
	}
	for round := 0; round < o.rounds; round++ {
		var dr, gr []time.Duration
		for i := 0; i < o.perRound; i++ {
			if err := ctx.Err(); err != nil {
				return res, err
			}
			tag := fmt.Sprintf("%s-r%d-i%d-%d", kind, round, i, stamp)
			if (round*o.perRound+i)%2 == 0 {
				one(direct, &res.direct, tag+"-d", true, &dr)
				one(gw, &res.gw, tag+"-g", true, &gr)
			} else {
				one(gw, &res.gw, tag+"-g", true, &gr)
				one(direct, &res.direct, tag+"-d", true, &dr)
			}
		}
		if len(dr) > 0 {
			res.direct.roundMedians = append(res.direct.roundMedians, median(dr))
		}
		if len(gr) > 0 {
			res.gw.roundMedians = append(res.gw.roundMedians, median(gr))
		}
	}
	if len(res.direct.all) == 0 {
		return res, fmt.Errorf("no %s request to the upstream succeeded: %v", kind, res.direct.errors)
	}
	if len(res.gw.all) == 0 {
		return res, fmt.Errorf("no %s request %s succeeded: %v", kind, gw.name, res.gw.errors)
	}
	return res, nil
}

// added returns what the gateway adds: the difference of the medians of
// round medians (the headline figure) and of the p50 and p99 over all
// samples.
func (r overheadResult) added() (medianOfRounds, p50, p99 time.Duration) {
	d, g := summarize(r.direct.all), summarize(r.gw.all)
	return median(r.gw.roundMedians) - median(r.direct.roundMedians), g.p50 - d.p50, g.p99 - d.p99
}
