package audit

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"testing"
	"time"
)

const (
	childHomeEnv = "SOV_AUDIT_TEST_CHILD_HOME"
	childIDEnv   = "SOV_AUDIT_TEST_CHILD_ID"
	childEntries = 60
)

// TestMultiWriter appends to one audit.db from two Logs in this process
// (one through a Writer) and from child processes (this test binary, in
// TestChildAppender), all at once: the result must be one valid chain
// holding every entry once.
func TestMultiWriter(t *testing.T) {
	ctx := context.Background()
	home := t.TempDir()
	a, b := openLog(t, home), openLog(t, home)
	// Create the key first, so that concurrent checkpoints share it.
	if _, err := a.PublicKey(); err != nil {
		t.Fatal(err)
	}

	children := 3
	exe, err := os.Executable()
	if testing.Short() || err != nil {
		children = 0
	}
	var wg sync.WaitGroup
	outs := make([][]byte, children)
	errs := make([]error, children)
	for i := range children {
		wg.Go(func() {
			cmd := exec.Command(exe, "-test.run=^TestChildAppender$", "-test.count=1")
			cmd.Env = append(os.Environ(), childHomeEnv+"="+home, childIDEnv+"="+strconv.Itoa(i))
			outs[i], errs[i] = cmd.CombinedOutput()
		})
	}
	const perLog = 200
	wg.Go(func() {
		for i := 0; i < perLog; i += 4 {
			es := []Entry{testEntry(i), testEntry(i + 1), testEntry(i + 2), testEntry(i + 3)}
			if err := a.Append(ctx, es...); err != nil {
				t.Error(err)
				return
			}
			if i%40 == 0 {
				if _, err := a.Checkpoint(ctx); err != nil {
					t.Error(err)
				}
			}
		}
	})
	w := NewWriter(b, WriterOptions{FlushInterval: time.Millisecond, BatchSize: 7, CheckpointEvery: 50})
	wg.Go(func() {
		for i := range perLog {
			w.Record(Entry{Kind: KindModelAdd, Actor: "writer", Data: Data{"i": i}})
			if i%10 == 0 {
				time.Sleep(time.Millisecond)
			}
		}
	})
	wg.Wait()
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
	for i, err := range errs {
		if err != nil {
			t.Errorf("child %d: %v\n%s", i, err, outs[i])
		}
	}

	rep := verifyOK(t, a)
	want := int64(2*perLog + children*childEntries)
	if rep.Entries != want || rep.Last != want {
		t.Errorf("%d entries ending at %d, want %d", rep.Entries, rep.Last, want)
	}
	if rep.SignedThrough != want {
		t.Errorf("signed through %d, want %d (the writer's final checkpoint)", rep.SignedThrough, want)
	}
	es, err := a.Entries(ctx, time.Time{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	for _, e := range es {
		counts[e.Actor]++
	}
	if counts["writer"] != perLog {
		t.Errorf("%d entries from the writer, want %d", counts["writer"], perLog)
	}
	for i := range children {
		if got := counts[fmt.Sprintf("child-%d", i)]; got != childEntries {
			t.Errorf("%d entries from child %d, want %d", got, i, childEntries)
		}
	}
}

// TestChildAppender is the body of one TestMultiWriter child. Run
// directly, it does nothing.
func TestChildAppender(t *testing.T) {
	home := os.Getenv(childHomeEnv)
	if home == "" {
		t.Skip("only runs as a TestMultiWriter child")
	}
	id := os.Getenv(childIDEnv)
	ctx := context.Background()
	l, err := Open(ctx, home, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range childEntries {
		if err := l.Append(ctx, Entry{Kind: KindKeyCreate, Actor: "child-" + id, Data: Data{"i": i}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Close(); err != nil { // checkpoints
		t.Fatal(err)
	}
}
