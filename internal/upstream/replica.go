package upstream

import (
	"net/url"
	"time"

	"sov.dev/sov/internal/backend"
)

// BreakerState is the state of a replica's circuit breaker.
type BreakerState string

const (
	// BreakerClosed lets requests through.
	BreakerClosed BreakerState = "closed"
	// BreakerOpen refuses requests until the cooldown has passed.
	BreakerOpen BreakerState = "open"
	// BreakerHalfOpen lets one trial request through; its outcome closes
	// or reopens the breaker.
	BreakerHalfOpen BreakerState = "half-open"
)

// ReplicaStatus is one replica's state, for metrics and the admin API.
type ReplicaStatus struct {
	URL                 string // the server root requests go to
	Healthy             bool   // as of the last health check (true before the first)
	Breaker             BreakerState
	InFlight            int    // attempts being answered now
	ConsecutiveFailures int    // failures since the last success
	Requests            uint64 // attempts sent, in total
	Failures            uint64 // failed attempts, in total
	LastError           string // the last failure or failed health check, "" if none since
}

// replica is one server of a backend. Its fields other than idx and root
// are guarded by Backend.mu.
type replica struct {
	idx  int
	root string
	// endpoints are the parsed URLs of the inference endpoints, shared by
	// the requests to them (nothing changes a request's URL).
	endpoints map[backend.Endpoint]*url.URL

	healthy     bool
	lastErr     string
	models      []backend.Model // from its last successful listing; nil when none
	state       BreakerState    // "" means closed
	openedAt    time.Time
	trial       bool // the half-open trial request is in flight
	consecutive int
	inFlight    int
	requests    uint64
	failures    uint64
}

// admits reports whether the breaker would let a request through now.
func (r *replica) admits(now time.Time, cooldown time.Duration) bool {
	switch r.state {
	case BreakerOpen:
		return now.Sub(r.openedAt) >= cooldown
	case BreakerHalfOpen:
		return !r.trial
	}
	return true
}

// outcome is how an attempt went, for the breaker.
type outcome int

const (
	success outcome = iota // an answer, including a client error the replica rightly gave
	failure                // the replica failed: connection, timeout, 5xx, broken answer
	neutral                // says nothing about the replica: client gone, 429
)

// pick chooses a replica for an attempt and counts it in flight: among the
// healthy replicas whose breaker admits a request, those not yet tried by
// this request first, then the least in flight, ties in round-robin order.
// It returns nil when no replica may be tried, and whether the attempt is
// the trial request of a half-open breaker.
func (b *Backend) pick(tried []bool) (*replica, bool) {
	now := time.Now()
	b.mu.Lock()
	defer b.mu.Unlock()
	n := len(b.replicas)
	start := b.rr
	b.rr = (b.rr + 1) % n
	var best *replica
	bestFresh := false
	for i := range n {
		r := b.replicas[(start+i)%n]
		if !r.healthy || !r.admits(now, b.cfg.BreakerCooldown) {
			continue
		}
		fresh := !tried[r.idx]
		if best == nil || (fresh && !bestFresh) || (fresh == bestFresh && r.inFlight < best.inFlight) {
			best, bestFresh = r, fresh
		}
	}
	if best == nil {
		return nil, false
	}
	trial := false
	if best.state == BreakerOpen || best.state == BreakerHalfOpen {
		best.state, best.trial, trial = BreakerHalfOpen, true, true
	}
	best.inFlight++
	best.requests++
	return best, trial
}

// release ends an attempt on r (the half-open trial if trial) and feeds
// its outcome to the breaker.
func (b *Backend) release(r *replica, trial bool, o outcome, err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	r.inFlight--
	if trial {
		r.trial = false
	}
	switch o {
	case success:
		if r.state == BreakerOpen || r.state == BreakerHalfOpen {
			b.log.Info("circuit breaker closed", "replica", r.root)
		}
		r.state, r.consecutive, r.lastErr = BreakerClosed, 0, ""
	case failure:
		r.consecutive++
		r.failures++
		if err != nil {
			r.lastErr = err.Error()
		}
		switch {
		case trial && r.state == BreakerHalfOpen:
			r.state, r.openedAt = BreakerOpen, time.Now()
			b.log.Warn("circuit breaker reopened after a failed trial", "replica", r.root, "err", err)
		case b.cfg.BreakerFailures > 0 && r.consecutive >= b.cfg.BreakerFailures && r.state != BreakerOpen && r.state != BreakerHalfOpen:
			r.state, r.openedAt = BreakerOpen, time.Now()
			b.log.Warn("circuit breaker opened", "replica", r.root, "failures", r.consecutive, "err", err)
		}
	}
}

// Status returns the state of every replica, in configuration order.
func (b *Backend) Status() []ReplicaStatus {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]ReplicaStatus, len(b.replicas))
	for i, r := range b.replicas {
		st := r.state
		if st == "" {
			st = BreakerClosed
		}
		out[i] = ReplicaStatus{
			URL:                 r.root,
			Healthy:             r.healthy,
			Breaker:             st,
			InFlight:            r.inFlight,
			ConsecutiveFailures: r.consecutive,
			Requests:            r.requests,
			Failures:            r.failures,
			LastError:           r.lastErr,
		}
	}
	return out
}
