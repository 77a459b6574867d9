package runner

import (
	"context"
	"errors"
	"fmt"

	"sov.dev/sov/internal/backend"
	"sov.dev/sov/internal/engine"
	"sov.dev/sov/internal/openai"
)

// waiter is a request waiting for a session.
type waiter struct {
	key string
	ch  chan *engine.Session // receives the session, once
}

// fairQueue holds waiters per key and serves the keys in turn: the key at
// the front gives up its oldest waiter and goes to the back if it has
// more. A key with many waiters therefore gets one session in every
// round, like any other key.
type fairQueue struct {
	keys  []string // keys with waiters, in serving order
	byKey map[string][]*waiter
	n     int
}

func (q *fairQueue) len() int { return q.n }

func (q *fairQueue) push(w *waiter) {
	if q.byKey == nil {
		q.byKey = make(map[string][]*waiter)
	}
	if len(q.byKey[w.key]) == 0 {
		q.keys = append(q.keys, w.key)
	}
	q.byKey[w.key] = append(q.byKey[w.key], w)
	q.n++
}

// pop returns the next waiter, or nil.
func (q *fairQueue) pop() *waiter {
	if len(q.keys) == 0 {
		return nil
	}
	k := q.keys[0]
	q.keys = q.keys[1:]
	ws := q.byKey[k]
	w := ws[0]
	ws[0] = nil
	if ws = ws[1:]; len(ws) > 0 {
		q.byKey[k] = ws
		q.keys = append(q.keys, k)
	} else {
		delete(q.byKey, k)
	}
	q.n--
	return w
}

// remove takes w out of the queue; false if it was not there (it has
// been served).
func (q *fairQueue) remove(w *waiter) bool {
	ws := q.byKey[w.key]
	for i, x := range ws {
		if x != w {
			continue
		}
		ws = append(ws[:i], ws[i+1:]...)
		q.n--
		if len(ws) > 0 {
			q.byKey[w.key] = ws
			return true
		}
		delete(q.byKey, w.key)
		for j, k := range q.keys {
			if k == w.key {
				q.keys = append(q.keys[:j], q.keys[j+1:]...)
				break
			}
		}
		return true
	}
	return false
}

// acquireSession waits for a free session of m, in turn with the other
// keys' requests. Among free sessions it takes the one whose cache shares
// the longest prefix with prompt. Give the session back with
// releaseSession.
func (r *Runner) acquireSession(ctx context.Context, m *model, key string, prompt []int32) (*engine.Session, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	r.mu.Lock()
	if len(m.free) > 0 && m.queue.len() == 0 {
		s := takeBest(m, prompt)
		r.mu.Unlock()
		return s, nil
	}
	if r.opts.MaxQueue > 0 && m.queue.len() >= r.opts.MaxQueue {
		n := m.queue.len()
		r.mu.Unlock()
		return nil, errors.Join(backend.ErrUnavailable, openai.RateLimited(openai.CodeRateLimitExceeded,
			fmt.Sprintf("model %s is busy: %d requests are waiting; retry shortly", m.name, n)))
	}
	w := &waiter{key: key, ch: make(chan *engine.Session, 1)}
	m.queue.push(w)
	r.mu.Unlock()

	select {
	case s := <-w.ch:
		return s, nil
	case <-ctx.Done():
		r.mu.Lock()
		removed := m.queue.remove(w)
		r.mu.Unlock()
		if !removed {
			// Served meanwhile: pass the session on.
			r.releaseSession(m, <-w.ch)
		}
		return nil, ctx.Err()
	}
}

// releaseSession gives the session to the next waiter, or frees it.
func (r *Runner) releaseSession(m *model, s *engine.Session) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if w := m.queue.pop(); w != nil {
		w.ch <- s
		return
	}
	m.free = append(m.free, s)
}

// takeBest removes and returns the free session whose cached tokens share
// the longest prefix with prompt; r.mu is held.
func takeBest(m *model, prompt []int32) *engine.Session {
	best, bestLen := 0, -1
	for i, s := range m.free {
		n := commonPrefix(s.Tokens(), prompt)
		if n > bestLen {
			best, bestLen = i, n
		}
	}
	s := m.free[best]
	m.free = append(m.free[:best], m.free[best+1:]...)
	return s
}

func commonPrefix(a, b []int32) int {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	return n
}
