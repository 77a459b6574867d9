package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// lockDB holds the log's write lock from another connection until the
// returned func is called, as a slow or busy database would.
func lockDB(t *testing.T, l *Log) func() {
	t.Helper()
	tx, err := rawDB(t, l).Begin() // BEGIN IMMEDIATE: takes the write lock
	if err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	release := func() { once.Do(func() { tx.Rollback() }) }
	t.Cleanup(release)
	return release
}

// syncBuffer is a log sink safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func verifyOK(t *testing.T, l *Log) *Report {
	t.Helper()
	rep, err := l.Verify(context.Background(), VerifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK {
		t.Errorf("log does not verify:%s", messages(rep))
	}
	return rep
}

func TestWriterWritesEverything(t *testing.T) {
	ctx := context.Background()
	l := openLog(t, "")
	w := NewWriter(l, WriterOptions{FlushInterval: time.Millisecond, BatchSize: 64})
	const goroutines, each = 8, 250
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range each {
				w.Record(testEntry(g*each + i))
			}
		})
	}
	wg.Wait()
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
	want := Stats{Recorded: goroutines * each, Written: goroutines * each, Checkpoints: w.Stats().Checkpoints}
	if diff := cmp.Diff(want, w.Stats()); diff != "" {
		t.Errorf("stats (-want +got):\n%s", diff)
	}
	rep := verifyOK(t, l)
	if rep.Entries != goroutines*each || rep.SignedThrough != goroutines*each {
		t.Errorf("%d entries signed through %d, want %d and a final checkpoint", rep.Entries, rep.SignedThrough, goroutines*each)
	}
	if err := w.Close(ctx); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// TestWriterNeverBlocks records 100,000 entries while another connection
// holds the database's write lock: Record must not wait for it (a write
// would wait up to the 10 s busy timeout), and Close must lose nothing.
func TestWriterNeverBlocks(t *testing.T) {
	n := 100_000
	if raceEnabled || testing.Short() {
		n = 20_000
	}
	ctx := context.Background()
	l := openLog(t, "")
	release := lockDB(t, l)
	w := NewWriter(l, WriterOptions{Buffer: n, FlushInterval: time.Millisecond})
	e := testEntry(1)
	start := time.Now()
	var slowest time.Duration
	for range n {
		t0 := time.Now()
		w.Record(e)
		slowest = max(slowest, time.Since(t0))
	}
	elapsed := time.Since(start)
	t.Logf("%d Records in %v (%v each), slowest %v", n, elapsed, elapsed/time.Duration(n), slowest)
	// A Record that waited for the database would wait out the 10 s busy
	// timeout; doing all of them in less shows none did.
	if elapsed > 10*time.Second {
		t.Errorf("%d Records took %v with the database locked", n, elapsed)
	}
	if s := w.Stats(); s.Written != 0 || s.Recorded != uint64(n) {
		t.Errorf("while locked: %+v, want %d recorded and none written", s, n)
	}
	release()
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if s := w.Stats(); s.Written != uint64(n) || s.Dropped != 0 {
		t.Errorf("after Close: %+v", s)
	}
	if rep := verifyOK(t, l); rep.Entries != int64(n) {
		t.Errorf("%d entries, want %d", rep.Entries, n)
	}
}

func TestWriterDropsWhenFull(t *testing.T) {
	ctx := context.Background()
	l := openLog(t, "")
	var logs syncBuffer
	// A flush interval of an hour: nothing is written before Close.
	w := NewWriter(l, WriterOptions{Buffer: 10, FlushInterval: time.Hour, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	for i := range 25 {
		w.Record(testEntry(i))
	}
	if s := w.Stats(); s.Recorded != 10 || s.Dropped != 15 || s.Pending != 10 {
		t.Errorf("stats %+v, want 10 recorded and pending, 15 dropped", s)
	}
	if !strings.Contains(logs.String(), "audit buffer full") {
		t.Errorf("drop not logged: %s", logs.String())
	}
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
	w.Record(testEntry(99))
	if s := w.Stats(); s.Dropped != 16 || s.Written != 10 {
		t.Errorf("stats after Close and a late Record: %+v", s)
	}
	if !strings.Contains(logs.String(), "after the writer closed") {
		t.Errorf("late Record not logged: %s", logs.String())
	}
	es, err := l.Entries(ctx, time.Time{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != 11 || es[0].Kind != KindDropped || es[0].Data["count"] != json.Number("15") {
		t.Errorf("want a %s entry with count 15 and then 10 entries; first is %+v (%d in all)", KindDropped, es[0], len(es))
	}
	verifyOK(t, l)
}

func TestWriterInvalid(t *testing.T) {
	l := openLog(t, "")
	var logs syncBuffer
	w := NewWriter(l, WriterOptions{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	w.Record(Entry{Kind: "Bad Kind", Actor: "a"})
	w.Record(Entry{Kind: "k", Actor: "a", Data: Data{"f": func() {}}})
	if err := w.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if s := w.Stats(); s.Invalid != 2 || s.Recorded != 0 || s.Written != 0 {
		t.Errorf("stats %+v", s)
	}
	if !strings.Contains(logs.String(), "audit entry refused") {
		t.Errorf("refusal not logged: %s", logs.String())
	}
}

// TestWriterCopiesData checks that a caller may change Data after Record.
func TestWriterCopiesData(t *testing.T) {
	ctx := context.Background()
	l := openLog(t, "")
	w := NewWriter(l, WriterOptions{})
	d := Data{"n": 1}
	w.Record(Entry{Kind: "k", Actor: "a", Data: d})
	d["n"] = 2
	if err := w.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	es, err := l.Entries(ctx, time.Time{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != 1 || es[0].Data["n"] != json.Number("1") {
		t.Errorf("entries %+v", es)
	}
	w.Close(ctx)
	if err := w.Flush(ctx); !errors.Is(err, ErrClosed) {
		t.Errorf("Flush after Close: %v", err)
	}
}

func TestWriterCheckpoints(t *testing.T) {
	ctx := context.Background()
	t.Run("every N entries", func(t *testing.T) {
		l := openLog(t, "")
		w := NewWriter(l, WriterOptions{BatchSize: 50, CheckpointEvery: 100, FlushInterval: time.Hour})
		for i := range 350 {
			w.Record(testEntry(i))
		}
		if err := w.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		cps, err := l.Checkpoints(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var seqs []int64
		for _, cp := range cps {
			seqs = append(seqs, cp.Seq)
		}
		if diff := cmp.Diff([]int64{100, 200, 300}, seqs); diff != "" {
			t.Errorf("checkpoint seqs (-want +got):\n%s", diff)
		}
		if err := w.Close(ctx); err != nil {
			t.Fatal(err)
		}
		if s := w.Stats(); s.Checkpoints != 4 {
			t.Errorf("%d checkpoints counted, want 4 (3 + the final one)", s.Checkpoints)
		}
		if rep := verifyOK(t, l); rep.SignedThrough != 350 {
			t.Errorf("signed through %d, want 350", rep.SignedThrough)
		}
	})
	t.Run("every interval", func(t *testing.T) {
		l := openLog(t, "")
		w := NewWriter(l, WriterOptions{CheckpointInterval: 10 * time.Millisecond, FlushInterval: time.Millisecond})
		defer w.Close(ctx)
		w.Record(testEntry(1))
		if err := w.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(5 * time.Second)
		for {
			cps, err := l.Checkpoints(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(cps) == 1 && cps[0].Seq == 1 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("no checkpoint after 5s: %+v", cps)
			}
			time.Sleep(5 * time.Millisecond)
		}
	})
}

// TestWriterRetries breaks the database under the writer (a missing
// table) and repairs it: nothing may be lost, dropped-entry records
// included.
func TestWriterRetries(t *testing.T) {
	ctx := context.Background()
	l := openLog(t, "")
	db := rawDB(t, l)
	w := NewWriter(l, WriterOptions{Buffer: 3, FlushInterval: time.Hour})
	mustExec(t, db, `ALTER TABLE head RENAME TO head_away`)
	for i := range 5 {
		w.Record(testEntry(i))
	}
	if err := w.Flush(ctx); err == nil {
		t.Fatal("Flush succeeded without a head table")
	}
	if s := w.Stats(); s.Failures == 0 || s.Pending != 3 || s.Written != 0 || s.Dropped != 2 {
		t.Errorf("stats after a failed write: %+v", s)
	}
	mustExec(t, db, `ALTER TABLE head_away RENAME TO head`)
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
	es, err := l.Entries(ctx, time.Time{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != 4 || es[0].Kind != KindDropped || es[0].Data["count"] != json.Number("2") {
		t.Errorf("want a %s entry with count 2 and 3 entries, got %d entries starting %+v", KindDropped, len(es), es[0])
	}
	if s := w.Stats(); s.Written != 3 {
		t.Errorf("stats %+v", s)
	}
	verifyOK(t, l)
}

// TestWriterCloseGivesUp closes a writer whose database stays locked:
// Close returns when its context ends, counting the unwritten entries.
func TestWriterCloseGivesUp(t *testing.T) {
	l := openLog(t, "")
	lockDB(t, l)
	w := NewWriter(l, WriterOptions{FlushInterval: time.Millisecond})
	for i := range 5 {
		w.Record(testEntry(i))
	}
	time.Sleep(20 * time.Millisecond) // let a write start and wait on the lock
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := w.Close(ctx)
	if err == nil || !strings.Contains(err.Error(), "5 entries not written") {
		t.Errorf("Close = %v, want 5 entries not written", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Close took %v after its context ended", d)
	}
	if s := w.Stats(); s.Dropped != 5 || s.Written != 0 {
		t.Errorf("stats %+v", s)
	}
}

// TestWriterLogClosedFirst closes the Log under a Writer: Close must not
// retry forever, and must count what it could not write.
func TestWriterLogClosedFirst(t *testing.T) {
	l, err := Open(context.Background(), t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	w := NewWriter(l, WriterOptions{FlushInterval: time.Hour})
	w.Record(testEntry(1))
	w.Record(testEntry(2))
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	err = w.Close(context.Background())
	if !errors.Is(err, ErrClosed) || !strings.Contains(err.Error(), "2 entries not written") {
		t.Errorf("Close = %v", err)
	}
	if s := w.Stats(); s.Dropped != 2 {
		t.Errorf("stats %+v", s)
	}

	// With nothing pending, closing second is clean.
	l, err = Open(context.Background(), t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	w = NewWriter(l, WriterOptions{})
	l.Close()
	if err := w.Close(context.Background()); err != nil {
		t.Errorf("Close with nothing pending: %v", err)
	}
}
