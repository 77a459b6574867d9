package http1

import (
	"errors"
	"os"
	"sync"
	"time"
)

// watcher notices clients that go away while their request runs, so that
// the request's context is canceled (and with it, say, a generation).
//
// Watching means a read on the connection in the background, which is
// what net/http starts for every request. Here a request is listed when
// its body has been read; one shared goroutine, ticking every `every`
// while requests are listed, starts the background read only for those
// listed a tick ago or more. Quick requests never cost a goroutine, a
// deadline change or a wake-up.
type watcher struct {
	every time.Duration

	mu      sync.Mutex
	head    *conn // listed connections, oldest first
	tail    *conn
	running bool // the ticking goroutine runs
}

// add lists c, whose request's context cancel ends. It runs on c's
// goroutine. Bytes a background read takes are kept in order after what
// is already buffered (connReader returns them before reading again).
func (w *watcher) add(c *conn, cancel func()) {
	c.watchMu.Lock()
	c.cancel = cancel
	c.watchMu.Unlock()
	w.mu.Lock()
	if c.listed {
		w.mu.Unlock()
		return
	}
	c.listed = true
	c.since = time.Now()
	c.prev, c.next = w.tail, nil
	if w.tail != nil {
		w.tail.next = c
	} else {
		w.head = c
	}
	w.tail = c
	start := !w.running
	w.running = true
	w.mu.Unlock()
	if start {
		go w.run()
	}
}

// remove unlists c and ends its background read, if one runs, leaving the
// connection as it was (a byte the read took is kept for the next
// request).
func (w *watcher) remove(c *conn) {
	w.mu.Lock()
	if c.listed {
		w.unlink(c)
	}
	w.mu.Unlock()
	c.watchMu.Lock()
	done := c.watchDone
	c.watchStop = true
	c.cancel = nil
	if done != nil {
		c.nc.SetReadDeadline(aLongTimeAgo)
	}
	c.watchMu.Unlock()
	if done != nil {
		<-done
		c.watchDone = nil
		c.setReadDeadline(time.Time{}, false)
	}
	c.watchStop = false
}

func (w *watcher) unlink(c *conn) {
	if c.prev != nil {
		c.prev.next = c.next
	} else {
		w.head = c.next
	}
	if c.next != nil {
		c.next.prev = c.prev
	} else {
		w.tail = c.prev
	}
	c.prev, c.next, c.listed = nil, nil, false
}

// run ticks while connections are listed, and a while after.
func (w *watcher) run() {
	t := time.NewTicker(w.every)
	defer t.Stop()
	idle := 0
	for range t.C {
		now := time.Now()
		w.mu.Lock()
		if w.head == nil {
			idle++
			if time.Duration(idle)*w.every >= time.Second {
				w.running = false
				w.mu.Unlock()
				return
			}
			w.mu.Unlock()
			continue
		}
		idle = 0
		for c := w.head; c != nil && now.Sub(c.since) >= w.every; {
			next := c.next
			w.unlink(c)
			c.startWatch()
			c = next
		}
		w.mu.Unlock()
	}
}

// startWatch starts the background read of c, unless data is already
// waiting (the client is sending, so it is there).
func (c *conn) startWatch() {
	c.watchMu.Lock()
	defer c.watchMu.Unlock()
	if c.watchStop || c.cancel == nil || c.watchDone != nil {
		return
	}
	done := make(chan struct{})
	c.watchDone = done
	cancel := c.cancel
	go func() {
		defer close(done)
		// The request's read deadline may be near; this read waits for as
		// long as the request runs, and remove ends it.
		c.watchMu.Lock()
		if !c.watchStop {
			c.nc.SetReadDeadline(time.Time{})
		}
		c.watchMu.Unlock()
		var b [1]byte
		n, err := c.nc.Read(b[:])
		if n == 1 {
			// The next request (pipelined) began: keep its first byte.
			c.rd.pending = append(c.rd.pending, b[0])
			return
		}
		c.watchMu.Lock()
		stopped := c.watchStop
		c.watchMu.Unlock()
		// A timeout is a read deadline the handler set
		// (ResponseController), not the client leaving.
		if err != nil && !stopped && !errors.Is(err, os.ErrDeadlineExceeded) {
			cancel() // the client closed or reset the connection
		}
	}()
}
