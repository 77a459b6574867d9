package audit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// WriterOptions configure a Writer. Zero values take the defaults.
type WriterOptions struct {
	// Buffer is how many entries may wait to be written (default 65536).
	// When the log cannot keep up for that long, further entries are
	// dropped, counted, logged, and recorded in the log as a KindDropped
	// entry once writing works again.
	Buffer int
	// FlushInterval is the longest an entry waits before its batch is
	// written (default 100ms); a full batch is written at once.
	FlushInterval time.Duration
	// BatchSize is the most entries written in one transaction
	// (default 1024).
	BatchSize int
	// CheckpointEvery writes a checkpoint after this many entries
	// (default 10000).
	CheckpointEvery int
	// CheckpointInterval writes a checkpoint this often when entries were
	// written since the last one (default 10m).
	CheckpointInterval time.Duration
	// Logger receives write failures and drops. Nil discards them.
	Logger *slog.Logger
}

func (o *WriterOptions) setDefaults() {
	if o.Buffer <= 0 {
		o.Buffer = 1 << 16
	}
	if o.FlushInterval <= 0 {
		o.FlushInterval = 100 * time.Millisecond
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 1024
	}
	if o.CheckpointEvery <= 0 {
		o.CheckpointEvery = 10000
	}
	if o.CheckpointInterval <= 0 {
		o.CheckpointInterval = 10 * time.Minute
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// Stats are a Writer's counters, for metrics. Each Record call counts
// once in Recorded, Dropped or Invalid; each recorded entry is later
// counted in Written, or in Dropped if Close gives up on it.
type Stats struct {
	Recorded    uint64 // accepted into the queue by Record
	Written     uint64 // committed to the log (KindDropped entries not counted)
	Dropped     uint64 // lost: buffer full, recorded after Close, or unwritten when Close gave up
	Invalid     uint64 // refused by Record: not a valid entry
	Failures    uint64 // failed write attempts (their entries are retried)
	Checkpoints uint64 // checkpoints taken (an unchanged tip is not signed twice)
	Pending     int    // queued, not counting a batch being written
}

// Writer appends entries to a Log in the background. Record never blocks
// on the database; a goroutine writes batches, one transaction each, and
// checkpoints the log every CheckpointEvery entries or
// CheckpointInterval. A Writer does not own its Log: close the Writer,
// then the Log.
type Writer struct {
	log  *Log
	opts WriterOptions

	mu       sync.Mutex
	pending  []prepared
	spare    []prepared // the last written batch's array, reused
	closed   bool
	drop     dropTally // buffer-full drops not yet recorded in the log
	lastWarn time.Time // last time a drop was logged

	notify   chan struct{} // pending became non-empty or a batch filled
	flushReq chan chan error
	closeReq chan context.Context
	abort    chan struct{} // closed by Close when its context ends first
	done     chan struct{}
	closeErr error // set by run before done is closed

	recorded, written, dropped, invalid, failures, checkpoints atomic.Uint64
	sinceCheckpoint                                            int // entries written since the last checkpoint; run's own
}

// dropTally counts entries dropped while the buffer was full.
type dropTally struct {
	count       int64
	first, last time.Time
}

// NewWriter starts a Writer on log.
func NewWriter(log *Log, opts WriterOptions) *Writer {
	opts.setDefaults()
	w := &Writer{
		log:      log,
		opts:     opts,
		notify:   make(chan struct{}, 1),
		flushReq: make(chan chan error),
		closeReq: make(chan context.Context),
		abort:    make(chan struct{}),
		done:     make(chan struct{}),
	}
	go w.run()
	return w
}

// Record queues e for writing and returns at once; it never waits for the
// database. Seq, PrevHash and Hash are ignored; a zero Time becomes now.
// Data is encoded before Record returns, so the caller may reuse it. An
// invalid entry is counted (Stats.Invalid) and logged, not written; an
// entry that does not fit the buffer, or comes after Close, is counted
// (Stats.Dropped) and logged.
func (w *Writer) Record(e Entry) {
	now := w.log.now()
	p, err := prepare(e, now)
	if err != nil {
		w.invalid.Add(1)
		w.opts.Logger.Error("audit entry refused", "kind", e.Kind, "actor", e.Actor, "err", err)
		return
	}
	w.mu.Lock()
	switch {
	case w.closed:
		w.mu.Unlock()
		w.dropped.Add(1)
		w.opts.Logger.Error("audit entry recorded after the writer closed; dropped", "kind", e.Kind, "actor", e.Actor)
		return
	case len(w.pending) >= w.opts.Buffer:
		w.dropLocked(now)
		w.mu.Unlock()
		return
	}
	w.pending = append(w.pending, p)
	n := len(w.pending)
	w.mu.Unlock()
	w.recorded.Add(1)
	if n == 1 || n%w.opts.BatchSize == 0 {
		select {
		case w.notify <- struct{}{}:
		default:
		}
	}
}

// dropLocked counts one entry dropped for a full buffer, and logs it at
// most every 10 seconds. w.mu is held.
func (w *Writer) dropLocked(now time.Time) {
	w.dropped.Add(1)
	if w.drop.count == 0 {
		w.drop.first = now
	}
	w.drop.count++
	w.drop.last = now
	if now.Sub(w.lastWarn) >= 10*time.Second {
		w.lastWarn = now
		w.opts.Logger.Error("audit buffer full; dropping entries (the log will record how many)",
			"buffer", w.opts.Buffer, "dropped_now", w.drop.count, "dropped_total", w.dropped.Load())
	}
}

// Stats returns the Writer's counters.
func (w *Writer) Stats() Stats {
	w.mu.Lock()
	pending := len(w.pending)
	w.mu.Unlock()
	return Stats{
		Recorded:    w.recorded.Load(),
		Written:     w.written.Load(),
		Dropped:     w.dropped.Load(),
		Invalid:     w.invalid.Load(),
		Failures:    w.failures.Load(),
		Checkpoints: w.checkpoints.Load(),
		Pending:     pending,
	}
}

// Flush returns once every entry recorded before the call is written, or
// with the write's error, or ctx's.
func (w *Writer) Flush(ctx context.Context) error {
	reply := make(chan error, 1)
	select {
	case w.flushReq <- reply:
	case <-w.done:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-reply:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close stops accepting entries, writes every pending one (retrying
// failed writes until ctx is done), writes a final checkpoint, and stops
// the background goroutine. Entries still unwritten when ctx ends are
// counted as dropped and reported in the error.
func (w *Writer) Close(ctx context.Context) error {
	w.mu.Lock()
	already := w.closed
	w.closed = true
	w.mu.Unlock()
	if !already {
		select {
		case w.closeReq <- ctx:
		case <-ctx.Done():
			close(w.abort) // interrupts a write in progress
		}
	}
	<-w.done
	return w.closeErr
}

// run is the background goroutine.
func (w *Writer) run() {
	defer close(w.done)
	// bg is the context of writes between Close calls; Close cancels it
	// if its own context ends while a write is in progress.
	bg, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-w.abort:
			cancel()
		case <-w.done:
		}
	}()
	ticker := time.NewTicker(w.opts.CheckpointInterval)
	defer ticker.Stop()
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	var timerC <-chan time.Time // non-nil while a write is scheduled
	backoff := time.Duration(0) // non-zero after a failed write
	schedule := func(d time.Duration) {
		timer.Reset(d)
		timerC = timer.C
	}
	write := func() error {
		timer.Stop()
		timerC = nil
		err := w.writePending(bg)
		if err != nil {
			backoff = min(max(2*backoff, 50*time.Millisecond), 5*time.Second)
			schedule(backoff)
			return err
		}
		backoff = 0
		return nil
	}
	for {
		select {
		case <-w.notify:
			switch {
			case backoff > 0:
				// failing: wait for the retry timer
			case w.pendingLen() >= w.opts.BatchSize:
				write()
			case timerC == nil:
				schedule(w.opts.FlushInterval)
			}
		case <-timerC:
			write()
		case <-ticker.C:
			if w.sinceCheckpoint > 0 {
				w.checkpoint(bg)
			}
		case reply := <-w.flushReq:
			reply <- write()
		case ctx := <-w.closeReq:
			w.closeErr = w.finish(ctx)
			return
		case <-w.abort:
			w.closeErr = w.finish(bg) // canceled: counts what is left
			return
		}
	}
}

// finish writes everything still pending, retrying until ctx is done,
// then checkpoints.
func (w *Writer) finish(ctx context.Context) error {
	backoff := 10 * time.Millisecond
	for {
		err := w.writePending(ctx)
		if err == nil {
			break
		}
		if !errors.Is(err, ErrClosed) { // a closed Log cannot succeed on retry
			select {
			case <-ctx.Done():
			case <-w.abort:
			case <-time.After(backoff):
				backoff = min(2*backoff, time.Second)
				continue
			}
		}
		w.mu.Lock()
		n := len(w.pending)
		lost := w.drop.count
		w.pending = nil
		w.drop = dropTally{}
		w.mu.Unlock()
		w.dropped.Add(uint64(n))
		w.opts.Logger.Error("audit writer closed with entries unwritten", "entries", n, "err", err)
		return fmt.Errorf("audit: %d entries not written at close (and %d dropped earlier not recorded in the log): %w", n, lost, err)
	}
	if w.log.isClosed() {
		return nil // Log.Close checkpointed
	}
	if _, err := w.log.checkpoint(ctx); err != nil {
		w.opts.Logger.Error("audit checkpoint at close failed", "err", err)
		return err
	}
	w.checkpoints.Add(1)
	return nil
}

func (w *Writer) pendingLen() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.pending)
}

// writePending writes all pending entries, BatchSize per transaction,
// with a KindDropped entry first if entries were dropped. On failure the
// unwritten entries go back to the front of the queue.
func (w *Writer) writePending(ctx context.Context) error {
	w.mu.Lock()
	batch := w.pending
	w.pending = w.spare[:0]
	w.spare = nil
	drop := w.drop
	w.drop = dropTally{}
	w.mu.Unlock()

	marker := false // batch[0] is the KindDropped entry for drop
	if drop.count > 0 {
		p, err := droppedEntry(drop)
		if err != nil {
			w.opts.Logger.Error("audit: cannot record dropped entries in the log", "count", drop.count, "err", err)
		} else {
			batch = append([]prepared{p}, batch...)
			marker = true
		}
	}
	all := batch
	for len(batch) > 0 {
		// Batches end where a checkpoint is due, so checkpoints fall every
		// CheckpointEvery entries exactly.
		room := w.opts.CheckpointEvery - w.sinceCheckpoint
		if room <= 0 { // the last checkpoint failed; it is retried after this batch
			room = w.opts.BatchSize
		}
		n := min(len(batch), w.opts.BatchSize, room)
		if err := w.log.appendPrepared(ctx, batch[:n]); err != nil {
			w.failures.Add(1)
			w.opts.Logger.Error("audit write failed; will retry", "entries", len(batch), "err", err)
			w.mu.Lock()
			if marker {
				batch = batch[1:]
				w.drop.count += drop.count
				if w.drop.first.IsZero() || drop.first.Before(w.drop.first) {
					w.drop.first = drop.first
				}
				if drop.last.After(w.drop.last) {
					w.drop.last = drop.last
				}
			}
			w.pending = append(batch, w.pending...)
			w.mu.Unlock()
			return fmt.Errorf("audit: write %d entries: %w", len(batch), err)
		}
		written := n
		if marker {
			written-- // not an entry a caller recorded
			marker = false
		}
		w.written.Add(uint64(written))
		w.sinceCheckpoint += n
		batch = batch[n:]
		if w.sinceCheckpoint >= w.opts.CheckpointEvery {
			w.checkpoint(ctx)
		}
	}
	clear(all)
	w.mu.Lock()
	if w.spare == nil && cap(all) <= 4*w.opts.BatchSize {
		w.spare = all[:0]
	}
	w.mu.Unlock()
	return nil
}

// checkpoint writes a checkpoint; a failure is logged and retried at the
// next occasion.
func (w *Writer) checkpoint(ctx context.Context) {
	if _, err := w.log.checkpoint(ctx); err != nil {
		w.opts.Logger.Error("audit checkpoint failed; will retry", "err", err)
		return
	}
	w.checkpoints.Add(1)
	w.sinceCheckpoint = 0
}

// droppedEntry is the KindDropped entry for d.
func droppedEntry(d dropTally) (prepared, error) {
	return prepare(Entry{
		Time:  d.last,
		Kind:  KindDropped,
		Actor: "sov:audit",
		Data: Data{
			"count":  d.count,
			"first":  d.first.UTC().Format(time.RFC3339Nano),
			"last":   d.last.UTC().Format(time.RFC3339Nano),
			"reason": "buffer full",
		},
	}, d.last)
}
