package runner

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"sov.dev/sov/internal/backend"
)

func TestFairQueue(t *testing.T) {
	var q fairQueue
	ws := map[string]*waiter{}
	for _, name := range []string{"a1", "a2", "a3", "b1", "c1", "b2"} {
		w := &waiter{key: name[:1]}
		ws[name] = w
		q.push(w)
	}
	if !q.remove(ws["a2"]) || q.remove(ws["a2"]) {
		t.Error("remove: first time false or second time true")
	}
	names := map[*waiter]string{}
	for n, w := range ws {
		names[w] = n
	}
	var got []string
	for w := q.pop(); w != nil; w = q.pop() {
		got = append(got, names[w])
	}
	// Keys take turns in the order they arrived: a, b, c, a, b.
	if diff := cmp.Diff([]string{"a1", "b1", "c1", "a3", "b2"}, got); diff != "" {
		t.Errorf("order (-want +got):\n%s", diff)
	}
	if q.len() != 0 {
		t.Errorf("len %d after draining", q.len())
	}
}

// gate is an Output that blocks in its first Data call until opened.
type gate struct {
	recorder
	entered chan struct{}
	open    chan struct{}
	once    sync.Once
}

func newGate() *gate {
	g := &gate{entered: make(chan struct{}), open: make(chan struct{})}
	g.onData = func(int, string) error {
		g.once.Do(func() {
			close(g.entered)
			<-g.open
		})
		return nil
	}
	return g
}

func TestFairOrderAcrossKeys(t *testing.T) {
	v := testVault(t)
	importModel(t, v, "tiny", "qwen2", 1)
	r := newRunner(t, Options{Vault: v})
	ctx := context.Background()
	// Greedy, so that every request writes content while it holds the
	// session: a sampled answer whose tokens all render as nothing would
	// first write only after giving the session back, racing the next.
	req := func(key string) *backend.Request {
		q := chatRequest(t, `{"model":"tiny","messages":[{"role":"user","content":"Hi"}],"max_tokens":3,"temperature":0,"stream":true}`)
		q.KeyID = key
		return q
	}
	// Hold the only session.
	blocker := newGate()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := r.Do(ctx, req("holder"), blocker); err != nil {
			t.Error(err)
		}
	}()
	<-blocker.entered

	var mu sync.Mutex
	var order []string
	for i, name := range []string{"A1", "A2", "A3", "B1", "B2", "C1"} {
		rec := &recorder{}
		rec.onData = func(n int, _ string) error {
			if n == 1 {
				mu.Lock()
				order = append(order, name)
				mu.Unlock()
			}
			return nil
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := r.Do(ctx, req(name[:1]), rec); err != nil {
				t.Error(err)
			}
		}()
		eventually(t, fmt.Sprintf("%d requests are queued", i+1), func() bool { return r.QueueDepth() == i+1 })
	}
	close(blocker.open)
	wg.Wait()
	if diff := cmp.Diff([]string{"A1", "B1", "C1", "A2", "B2", "A3"}, order); diff != "" {
		t.Errorf("service order (-want +got):\n%s", diff)
	}
	if st := r.Status(); len(st.Models) != 1 || st.Models[0].Queued != 0 || st.Models[0].Busy != 0 || st.Models[0].Users != 0 {
		t.Errorf("status after all requests: %+v", st)
	}
}

func TestQueueLimitAndQueuedCancel(t *testing.T) {
	v := testVault(t)
	importModel(t, v, "tiny", "qwen2", 1)
	r := newRunner(t, Options{Vault: v, MaxQueue: 1})
	body := `{"model":"tiny","messages":[{"role":"user","content":"Hi"}],"max_tokens":3,"stream":true}`
	blocker := newGate()
	done := make(chan error, 1)
	go func() { done <- r.Do(context.Background(), chatRequest(t, body), blocker) }()
	<-blocker.entered

	qctx, cancel := context.WithCancel(context.Background())
	queued := make(chan error, 1)
	go func() { queued <- r.Do(qctx, chatRequest(t, body), &recorder{}) }()
	eventually(t, "one request is queued", func() bool { return r.QueueDepth() == 1 })

	// The queue is full.
	err := r.Do(context.Background(), chatRequest(t, body), &recorder{})
	if !errors.Is(err, backend.ErrUnavailable) {
		t.Errorf("beyond MaxQueue: %v, want ErrUnavailable", err)
	}
	if e := apiError(t, err); e.HTTPStatus() != 429 {
		t.Errorf("beyond MaxQueue: status %d", e.HTTPStatus())
	}

	// A queued client that leaves is taken out of the queue.
	cancel()
	if err := <-queued; !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled while queued: %v", err)
	}
	if n := r.QueueDepth(); n != 0 {
		t.Errorf("queue depth %d after the cancel", n)
	}
	close(blocker.open)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	// The session is free again.
	do(t, r, chatRequest(t, body))
}

func TestCancelStopsGeneration(t *testing.T) {
	v := testVault(t)
	importModel(t, v, "tiny", "qwen2", 1)
	r := newRunner(t, Options{Vault: v, ContextLen: 1024})
	for _, mode := range []string{"", `,"response_format":{"type":"json_object"}`} {
		t.Run("json="+fmt.Sprint(mode != ""), func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var cancelledAt int
			rec := &recorder{}
			rec.onData = func(n int, _ string) error {
				if n == 3 { // the role chunk and two content chunks
					cancelledAt = n
					cancel()
				}
				return nil
			}
			start := time.Now()
			// Up to 900 tokens; greedily, the tiny model does not end its
			// turn within the first few.
			err := r.Do(ctx, chatRequest(t, `{"model":"tiny","messages":[{"role":"user","content":"Go on forever"}],"max_tokens":900,"temperature":0,"stream":true`+mode+`}`), rec)
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("Do = %v, want context.Canceled; %d payloads: %q", err, len(rec.data), rec.data)
			}
			if cancelledAt == 0 {
				t.Fatal("the generation ended before the cancel")
			}
			if n := len(rec.data); n > cancelledAt+1 {
				t.Errorf("%d payloads after the cancel", n-cancelledAt)
			}
			if len(rec.usage) != 1 || rec.usage[0].CompletionTokens > 10 {
				t.Errorf("usage after cancel: %+v", rec.usage)
			}
			t.Logf("cancelled after %v", time.Since(start))
		})
	}
}
