// Package limits enforces each API key's limits in memory: requests in
// flight (max concurrency), requests per minute (RPM), tokens per minute
// (TPM) and a token budget per window.
//
// The gateway calls Limiter.Acquire when a request is admitted, with the
// key (its limits are read on every call, so an edited or revoked key is
// enforced at once) and an estimate of the tokens the request will use
// (EstimateTokens); and Ticket.Release when it ends, with the exact usage.
// Admitting and releasing do no I/O and, once a key has been seen, do not
// allocate (a denial does); a key's state is guarded by its own mutex, so
// keys do not contend with each other.
//
// # Per-minute limits
//
// RPM and TPM count into 61 one-second buckets. A request is admitted only
// if the buckets of the current second and the 60 before it (at least the
// last 60 seconds) leave room, so no 60-second interval ever sees more than
// RPM admissions; the price is that a request may wait up to a second
// longer than a perfect sliding log would make it. TPM reserves the
// estimate (at least 1 token, at most TPM) at admission and replaces the
// reservation by the actual usage at release, in the admission second's
// bucket (or, for a request that outlived the minute, in the current one).
// A request is refused when its reservation would take the minute past TPM.
//
// # Budgets
//
// A token budget applies per window of the key's BudgetWindow, aligned to
// the Unix epoch in UTC (WindowStart): a 1h window starts on the hour, a 1d
// window at 00:00 UTC, a 30d window every 30 days since 1970-01-01 (not on
// calendar months). A request is admitted while used + reserved tokens are
// below the budget, and reserves its estimate until it is released.
// Usage is charged to the window the request was admitted in. The budget is
// therefore exceeded by at most the usage of the last request admitted plus
// whatever requests in flight at that moment used beyond their
// reservations; with estimates that cover the request (prompt and
// max_tokens), by at most one request.
//
// Budget usage is kept across restarts by the gateway, not by this package:
// Seed sets a window's usage from the key store at start, and Drain hands
// out the usage settled since the last Drain for the gateway to write with
// keys.Store.AddUsage (Restore puts it back if the write fails).
//
// Times are those the caller passes. A clock that goes backwards is taken
// as the newest time already seen. The package must not block on anything
// but a key's own short critical section, and must not do I/O.
package limits

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"sov.dev/sov/internal/keys"
)

// Limit names the limit that refused a request.
type Limit string

const (
	Concurrency       Limit = "concurrency"
	RequestsPerMinute Limit = "rpm"
	TokensPerMinute   Limit = "tpm"
	Budget            Limit = "budget"
	Revoked           Limit = "revoked"
)

// Denial says why a request was refused and when to try again.
type Denial struct {
	Limit   Limit
	Message string // for the client: "key ci-bot exceeded 60 requests per minute"
	// RetryAfter is how long until the request could be admitted, as far as
	// this limit can tell (for retry-after).
	RetryAfter time.Duration
	// Retry is false when waiting a little will not help (an exhausted
	// budget, a revoked key): the gateway then sends x-should-retry: false.
	Retry bool
}

func (d *Denial) Error() string { return d.Message }

// Estimates of EstimateTokens.
const (
	// DefaultCompletionEstimate is the completion estimate for a request
	// without max_tokens.
	DefaultCompletionEstimate = 1024
	// MaxCompletionEstimate caps the completion estimate.
	MaxCompletionEstimate = 4096
)

// EstimateTokens estimates a request's tokens before it runs: a quarter of
// the prompt's bytes, rounded up, plus maxTokens (DefaultCompletionEstimate
// when not set), the completion part capped at MaxCompletionEstimate.
func EstimateTokens(promptBytes, maxTokens int) int64 {
	completion := int64(maxTokens)
	if completion <= 0 {
		completion = DefaultCompletionEstimate
	}
	completion = min(completion, MaxCompletionEstimate)
	return (max(int64(promptBytes), 0)+3)/4 + completion
}

// Limiter holds the limit state of every key it has seen. It is safe for
// concurrent use. The zero value is not usable; call New.
type Limiter struct {
	mu   sync.RWMutex
	keys map[string]*keyState // by key ID
}

// New returns an empty Limiter.
func New() *Limiter {
	return &Limiter{keys: make(map[string]*keyState)}
}

// keyState is one key's limit state.
type keyState struct {
	mu       sync.Mutex
	inFlight int
	rpm      minuteWindow
	tpm      minuteWindow

	// Budget of the current window.
	budgetWindow time.Duration // the key's window when windowStart was set
	windowStart  int64         // unix nanoseconds
	used         int64         // settled (and seeded) tokens
	reserved     int64         // reservations of tickets of this window

	unflushed map[int64]int64 // window start → settled tokens not yet drained
}

func (l *Limiter) state(id string) *keyState {
	l.mu.RLock()
	st := l.keys[id]
	l.mu.RUnlock()
	if st != nil {
		return st
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if st = l.keys[id]; st == nil {
		st = &keyState{}
		l.keys[id] = st
	}
	return st
}

// Ticket is an admitted request. Release it exactly once, when the request
// ends (also when it fails). The zero Ticket releases nothing.
type Ticket struct {
	st     *keyState
	flags  uint8
	tpmSec int64 // second of the TPM reservation
	tpmRes int64
	window int64 // budget window start
	bwin   time.Duration
	budRes int64
}

const (
	holdsConcurrency = 1 << iota
	holdsTPM
	holdsBudget
)

func unlimited(k *keys.Key) bool {
	return k.RPM <= 0 && k.TPM <= 0 && k.MaxConcurrency <= 0 && k.TokenBudget <= 0
}

// Acquire admits a request of key k expected to use estimate tokens at
// time now, or says why not. A key without limits is admitted without
// any state being kept.
func (l *Limiter) Acquire(k *keys.Key, estimate int64, now time.Time) (Ticket, *Denial) {
	if k.Revoked != nil {
		return Ticket{}, &Denial{Limit: Revoked, Message: fmt.Sprintf("key %s is revoked", k.Name)}
	}
	if unlimited(k) {
		return Ticket{}, nil
	}
	estimate = max(estimate, 0)
	st := l.state(k.ID)
	st.mu.Lock()
	defer st.mu.Unlock()

	sec := now.Unix()
	if k.RPM > 0 {
		st.rpm.advance(sec)
	}
	if k.TPM > 0 {
		st.tpm.advance(sec)
	}
	var window int64
	if k.TokenBudget > 0 && k.BudgetWindow > 0 {
		window = st.rollBudget(k.BudgetWindow, now)
		if st.used+st.reserved >= k.TokenBudget {
			end := time.Unix(0, window).Add(k.BudgetWindow)
			return Ticket{}, &Denial{
				Limit: Budget,
				Message: fmt.Sprintf("key %s used its token budget of %d tokens per %s; the budget renews at %s",
					k.Name, k.TokenBudget, keys.FormatWindow(k.BudgetWindow), end.UTC().Format(time.RFC3339)),
				RetryAfter: max(end.Sub(now), time.Second),
			}
		}
	}
	if k.MaxConcurrency > 0 && st.inFlight >= k.MaxConcurrency {
		return Ticket{}, &Denial{
			Limit:      Concurrency,
			Message:    fmt.Sprintf("key %s already has %d requests in flight, its limit", k.Name, st.inFlight),
			RetryAfter: time.Second,
			Retry:      true,
		}
	}
	if k.RPM > 0 {
		if st.rpm.sum >= int64(k.RPM) {
			return Ticket{}, &Denial{
				Limit:      RequestsPerMinute,
				Message:    fmt.Sprintf("key %s exceeded %d requests per minute", k.Name, k.RPM),
				RetryAfter: st.rpm.retryAfter(1, int64(k.RPM), now),
				Retry:      true,
			}
		}
	}
	var tpmNeed int64
	if k.TPM > 0 {
		tpmNeed = min(max(estimate, 1), int64(k.TPM))
		if st.tpm.sum+tpmNeed > int64(k.TPM) {
			return Ticket{}, &Denial{
				Limit:      TokensPerMinute,
				Message:    fmt.Sprintf("key %s exceeded %d tokens per minute", k.Name, k.TPM),
				RetryAfter: st.tpm.retryAfter(tpmNeed, int64(k.TPM), now),
				Retry:      true,
			}
		}
	}

	t := Ticket{st: st}
	if k.MaxConcurrency > 0 {
		st.inFlight++
		t.flags |= holdsConcurrency
	}
	if k.RPM > 0 {
		st.rpm.add(1)
	}
	if k.TPM > 0 {
		st.tpm.add(tpmNeed)
		t.flags |= holdsTPM
		t.tpmSec, t.tpmRes = st.tpm.last, tpmNeed
	}
	if k.TokenBudget > 0 && k.BudgetWindow > 0 {
		st.reserved += estimate
		t.flags |= holdsBudget
		t.window, t.bwin, t.budRes = window, k.BudgetWindow, estimate
	}
	return t, nil
}

// Release ends the request, settling its reservations against used, the
// exact tokens (prompt + completion) it used; 0 when it failed before
// using any.
func (t Ticket) Release(used int64, now time.Time) {
	st := t.st
	if st == nil {
		return
	}
	used = max(used, 0)
	st.mu.Lock()
	defer st.mu.Unlock()
	if t.flags&holdsConcurrency != 0 && st.inFlight > 0 {
		st.inFlight--
	}
	if t.flags&holdsTPM != 0 {
		st.tpm.settle(t.tpmSec, t.tpmRes, used, now.Unix())
	}
	if t.flags&holdsBudget != 0 {
		if t.window == st.windowStart && t.bwin == st.budgetWindow {
			st.reserved = max(st.reserved-t.budRes, 0)
			st.used += used
		}
		if used > 0 {
			if st.unflushed == nil {
				st.unflushed = make(map[int64]int64, 1)
			}
			st.unflushed[t.window] += used
		}
	}
}

// WindowStart returns the start of the budget window of length window that
// holds t: windows are aligned to the Unix epoch, in UTC.
func WindowStart(t time.Time, window time.Duration) time.Time {
	return time.Unix(0, windowStart(t.UnixNano(), int64(window))).UTC()
}

func windowStart(n, w int64) int64 {
	s := n / w * w
	if n < 0 && s != n {
		s -= w
	}
	return s
}

// rollBudget moves the budget state to the window holding now, starting a
// new window's count at zero, and returns the window's start.
func (st *keyState) rollBudget(window time.Duration, now time.Time) int64 {
	start := windowStart(now.UnixNano(), int64(window))
	if st.budgetWindow != window || start > st.windowStart {
		st.budgetWindow, st.windowStart = window, start
		st.used, st.reserved = st.unflushed[start], 0
	}
	return st.windowStart
}

// Usage is tokens a key used in one budget window.
type Usage struct {
	KeyID       string
	WindowStart time.Time
	Tokens      int64
}

// Seed sets the tokens key k has used in the budget window starting at
// windowStart to tokens (the total in the key store) plus what this Limiter
// has settled for that window but not yet drained. The gateway calls it at
// start, for every key with a budget, before serving. Seeding a window
// older than the one the key is in has no effect.
func (l *Limiter) Seed(k *keys.Key, windowStart time.Time, tokens int64) {
	if k.TokenBudget <= 0 || k.BudgetWindow <= 0 {
		return
	}
	st := l.state(k.ID)
	st.mu.Lock()
	defer st.mu.Unlock()
	ws := windowStart.UnixNano()
	switch {
	case st.budgetWindow != k.BudgetWindow || ws > st.windowStart:
		st.budgetWindow, st.windowStart, st.reserved = k.BudgetWindow, ws, 0
	case ws < st.windowStart:
		return
	}
	st.used = max(tokens, 0) + st.unflushed[ws]
}

// Drain returns the usage settled since the last Drain, one entry per key
// and window with tokens, sorted by key ID then window, and forgets it.
func (l *Limiter) Drain() []Usage {
	l.mu.RLock()
	states := make([]*keyState, 0, len(l.keys))
	ids := make([]string, 0, len(l.keys))
	for id, st := range l.keys {
		ids = append(ids, id)
		states = append(states, st)
	}
	l.mu.RUnlock()
	var out []Usage
	for i, st := range states {
		st.mu.Lock()
		for ws, n := range st.unflushed {
			out = append(out, Usage{KeyID: ids[i], WindowStart: time.Unix(0, ws).UTC(), Tokens: n})
		}
		clear(st.unflushed)
		st.mu.Unlock()
	}
	slices.SortFunc(out, func(a, b Usage) int {
		if c := strings.Compare(a.KeyID, b.KeyID); c != 0 {
			return c
		}
		return a.WindowStart.Compare(b.WindowStart)
	})
	return out
}

// Restore gives back usage that Drain returned and that could not be
// written, so that the next Drain returns it again.
func (l *Limiter) Restore(us []Usage) {
	for _, u := range us {
		if u.Tokens <= 0 {
			continue
		}
		st := l.state(u.KeyID)
		st.mu.Lock()
		if st.unflushed == nil {
			st.unflushed = make(map[int64]int64, 1)
		}
		st.unflushed[u.WindowStart.UnixNano()] += u.Tokens
		st.mu.Unlock()
	}
}

// InFlight returns the number of requests of the key now holding a
// concurrency slot (for metrics and tests).
func (l *Limiter) InFlight(keyID string) int {
	l.mu.RLock()
	st := l.keys[keyID]
	l.mu.RUnlock()
	if st == nil {
		return 0
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.inFlight
}
