package limits

import "time"

// slots is the number of one-second buckets a minute window keeps: 61, so
// that the buckets cover at least the last 60 seconds whatever fraction
// of the current second has passed.
const slots = 61

// minuteWindow counts events (requests or tokens) in one-second buckets
// over the last slots seconds. It is not safe for concurrent use; the
// owning keyState's mutex guards it.
type minuteWindow struct {
	last  int64 // the newest second seen; buckets hold last-60 … last
	init  bool
	count [slots]int64
	sum   int64 // of count
}

func slot(sec int64) int {
	i := sec % slots
	if i < 0 {
		i += slots
	}
	return int(i)
}

// advance moves the window to second sec and returns the second events are
// counted in now: sec, or the newest second already seen when the clock
// went backwards.
func (w *minuteWindow) advance(sec int64) int64 {
	switch {
	case !w.init:
		w.last, w.init = sec, true
	case sec <= w.last:
	case sec-w.last >= slots:
		w.count = [slots]int64{}
		w.sum = 0
		w.last = sec
	default:
		for s := w.last + 1; s <= sec; s++ {
			i := slot(s)
			w.sum -= w.count[i]
			w.count[i] = 0
		}
		w.last = sec
	}
	return w.last
}

// add counts n events in the current second (call advance first).
func (w *minuteWindow) add(n int64) {
	w.count[slot(w.last)] += n
	w.sum += n
}

// alive reports whether second sec is still inside the window.
func (w *minuteWindow) alive(sec int64) bool { return sec <= w.last && w.last-sec < slots }

// settle replaces a reservation of reserved events made in second sec by
// the actual count. If sec has left the window, actual is counted in the
// current second instead: a request longer than a minute is charged when
// it ends.
func (w *minuteWindow) settle(sec, reserved, actual, now int64) {
	w.advance(now)
	if w.alive(sec) {
		d := actual - reserved
		i := slot(sec)
		if w.count[i]+d < 0 { // cannot happen; keeps the sums sane if it did
			d = -w.count[i]
		}
		w.count[i] += d
		w.sum += d
		return
	}
	w.add(actual)
}

// retryAfter returns how long from now until the window holds at most
// limit-need events, assuming no new ones: when enough of the oldest
// buckets have left it.
func (w *minuteWindow) retryAfter(need, limit int64, now time.Time) time.Duration {
	excess := w.sum + need - limit
	var acc int64
	for s := w.last - slots + 1; s <= w.last; s++ {
		acc += w.count[slot(s)]
		if acc >= excess {
			// Bucket s leaves the window when the window reaches s+slots.
			if d := time.Unix(s+slots, 0).Sub(now); d > 0 {
				return d
			}
			return time.Second
		}
	}
	return time.Minute
}
