package runner

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"sov.dev/sov/internal/backend"
	"sov.dev/sov/internal/blob"
)

const hiBody = `{"model":"%s","messages":[{"role":"user","content":"Hi"}],"max_tokens":2}`

func hi(t *testing.T, r *Runner, model string) error {
	t.Helper()
	return r.Do(context.Background(), chatRequest(t, strings.Replace(hiBody, "%s", model, 1)), &recorder{})
}

func TestLoadOnceForConcurrentRequests(t *testing.T) {
	v := testVault(t)
	importModel(t, v, "tiny", "qwen2", 1)
	logs := &logCounter{}
	r := newRunner(t, Options{Vault: v, Logger: slog.New(logs), Sessions: 2})
	var wg sync.WaitGroup
	for range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := hi(t, r, "tiny"); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if n := logs.n("loaded model"); n != 1 {
		t.Errorf("loaded %d times, want once", n)
	}
	st := r.Status()
	if len(st.Models) != 1 || st.Models[0].Name != "tiny:latest" || st.Models[0].Sessions != 2 || st.Models[0].Users != 0 || st.MemoryUsed != st.Models[0].Bytes {
		t.Errorf("status %+v", st)
	}
}

func TestIdleUnload(t *testing.T) {
	v := testVault(t)
	importModel(t, v, "tiny", "qwen2", 1)
	r := newRunner(t, Options{Vault: v, IdleTimeout: 50 * time.Millisecond})
	if err := hi(t, r, "tiny"); err != nil {
		t.Fatal(err)
	}
	if got := loadedNames(r); got != "tiny:latest" {
		t.Fatalf("loaded %q after a request", got)
	}
	eventually(t, "the idle model is unloaded", func() bool { return len(r.Status().Models) == 0 })
	if used := r.Status().MemoryUsed; used != 0 {
		t.Errorf("memory used %d with nothing loaded", used)
	}
	// It loads again on the next request.
	if err := hi(t, r, "tiny"); err != nil {
		t.Fatal(err)
	}

	// A model in use is not unloaded, however long the request takes.
	g := newGate()
	done := make(chan error, 1)
	go func() {
		done <- r.Do(context.Background(), chatRequest(t, `{"model":"tiny","messages":[{"role":"user","content":"Hi"}],"max_tokens":2,"stream":true}`), g)
	}()
	<-g.entered
	time.Sleep(150 * time.Millisecond)
	if got := loadedNames(r); got != "tiny:latest" {
		t.Errorf("a model in use was unloaded: loaded %q", got)
	}
	close(g.open)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestMemoryBudgetEvictsLeastRecentlyUsed(t *testing.T) {
	v := testVault(t)
	for i, name := range []string{"a", "b", "c"} {
		importModel(t, v, name, "qwen2", uint64(i+1))
	}
	// Measure one model (all three have the same shape).
	probe := newRunner(t, Options{Vault: v})
	if err := hi(t, probe, "a"); err != nil {
		t.Fatal(err)
	}
	size := probe.Status().Models[0].Bytes
	probe.Close()

	logs := &logCounter{}
	r := newRunner(t, Options{Vault: v, MemoryBudget: size*2 + size/2, Logger: slog.New(logs)})
	for _, step := range []struct{ model, loaded string }{
		{"a", "a:latest"},
		{"b", "a:latest,b:latest"},
		{"a", "a:latest,b:latest"},
		{"c", "a:latest,c:latest"}, // b was used least recently
		{"b", "b:latest,c:latest"},
	} {
		if err := hi(t, r, step.model); err != nil {
			t.Fatal(err)
		}
		if got := loadedNames(r); got != step.loaded {
			t.Fatalf("after using %s: loaded %q, want %q", step.model, got, step.loaded)
		}
		if st := r.Status(); st.MemoryUsed > st.MemoryBudget {
			t.Fatalf("using %d bytes of a budget of %d", st.MemoryUsed, st.MemoryBudget)
		}
	}
	if n := logs.n("unloaded model to make room"); n != 2 {
		t.Errorf("%d evictions logged, want 2", n)
	}

	// Models in use are never evicted: with b and c busy, a cannot load.
	var gates []*gate
	done := make(chan error, 2)
	for _, m := range []string{"b", "c"} {
		g := newGate()
		gates = append(gates, g)
		go func() {
			done <- r.Do(context.Background(), chatRequest(t, `{"model":"`+m+`","messages":[{"role":"user","content":"Hi"}],"max_tokens":2,"stream":true}`), g)
		}()
		<-g.entered
	}
	err := hi(t, r, "a")
	if !errors.Is(err, backend.ErrUnavailable) {
		t.Errorf("loading beyond the budget: %v, want ErrUnavailable", err)
	}
	if e := apiError(t, err); e.HTTPStatus() != 503 || !strings.Contains(e.Message, "budget") {
		t.Errorf("status %d: %s", e.HTTPStatus(), e.Message)
	}
	for _, g := range gates {
		close(g.open)
	}
	for range gates {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	if err := hi(t, r, "a"); err != nil {
		t.Errorf("after the others finished: %v", err)
	}

	// A model larger than the whole budget is refused with the numbers.
	small := newRunner(t, Options{Vault: v, MemoryBudget: size / 2})
	if e := apiError(t, hi(t, small, "a")); e.HTTPStatus() != 503 || !strings.Contains(e.Message, "MiB") {
		t.Errorf("model over the budget: %d %s", e.HTTPStatus(), e.Message)
	}
}

func TestCorruptedBlobIsNotLoaded(t *testing.T) {
	v := testVault(t)
	importModel(t, v, "tiny", "qwen2", 1)
	path, _, err := v.WeightsFile(context.Background(), "tiny")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := v.Blobs().(blob.Pather); !ok || !strings.HasPrefix(path, v.Home()) {
		t.Fatalf("weights at %s, outside SOV_HOME %s", path, v.Home())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)-10] ^= 0x40 // a weight byte: the file still parses
	os.Chmod(path, 0o644)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	logs := &logCounter{}
	r := newRunner(t, Options{Vault: v, Logger: slog.New(logs)})
	err = hi(t, r, "tiny")
	if !errors.Is(err, backend.ErrUnavailable) {
		t.Errorf("corrupted model: %v, want ErrUnavailable", err)
	}
	e := apiError(t, err)
	if e.HTTPStatus() != 503 || !strings.Contains(e.Message, "verification") || !strings.Contains(e.Message, "corrupted") {
		t.Errorf("status %d: %s", e.HTTPStatus(), e.Message)
	}
	if n := logs.n("loaded model"); n != 0 || len(r.Status().Models) != 0 {
		t.Errorf("the corrupted model was loaded")
	}
}

func TestAllow(t *testing.T) {
	v := testVault(t)
	importModel(t, v, "tiny", "qwen2", 1)
	importModel(t, v, "gated", "qwen2", 2)
	_, gated, err := v.Manifest(context.Background(), "gated")
	if err != nil {
		t.Fatal(err)
	}
	var asked []string
	var mu sync.Mutex
	r := newRunner(t, Options{Vault: v, Allow: func(_ context.Context, ref string) error {
		mu.Lock()
		asked = append(asked, ref)
		mu.Unlock()
		switch ref {
		case gated.String():
			return errors.New("not approved")
		}
		return nil
	}})
	if err := hi(t, r, "tiny"); err != nil {
		t.Fatal(err)
	}
	e := apiError(t, hi(t, r, "gated"))
	if e.HTTPStatus() != 403 || !strings.Contains(e.Message, "not approved") {
		t.Errorf("refused model: %d %s", e.HTTPStatus(), e.Message)
	}
	if len(asked) != 2 || !strings.HasPrefix(asked[0], "sha256:") {
		t.Errorf("Allow was asked %q", asked)
	}
	if len(r.Status().Models) != 1 {
		t.Errorf("loaded: %q", loadedNames(r))
	}
}

func TestRetaggedModelIsReloaded(t *testing.T) {
	v := testVault(t)
	importModel(t, v, "tiny", "qwen2", 1)
	importModel(t, v, "other", "qwen2", 2)
	r := newRunner(t, Options{Vault: v})
	if err := hi(t, r, "tiny"); err != nil {
		t.Fatal(err)
	}
	first := r.Status().Models[0].Digest
	if err := v.Tag(context.Background(), "other", "tiny"); err != nil {
		t.Fatal(err)
	}
	if err := hi(t, r, "tiny"); err != nil {
		t.Fatal(err)
	}
	var digests []string
	for _, m := range r.Status().Models {
		digests = append(digests, m.Digest.Short())
	}
	if len(digests) != 2 || digests[0] == digests[1] {
		t.Errorf("after re-tagging, loaded %v (first %s)", digests, first.Short())
	}
	if _, err := v.Remove(context.Background(), "tiny"); err != nil {
		t.Fatal(err)
	}
	if err := hi(t, r, "tiny"); !errors.Is(err, backend.ErrUnknownModel) {
		t.Errorf("removed model: %v", err)
	}
}

func TestClose(t *testing.T) {
	v := testVault(t)
	importModel(t, v, "tiny", "qwen2", 1)
	r := newRunner(t, Options{Vault: v})
	g := newGate()
	done := make(chan error, 1)
	go func() {
		done <- r.Do(context.Background(), chatRequest(t, `{"model":"tiny","messages":[{"role":"user","content":"Hi"}],"max_tokens":2,"stream":true}`), g)
	}()
	<-g.entered
	r.Close()
	if r.Healthy() {
		t.Error("healthy after Close")
	}
	if err := hi(t, r, "tiny"); !errors.Is(err, backend.ErrUnavailable) {
		t.Errorf("request after Close: %v", err)
	}
	// The request in flight finishes; then the model is unloaded.
	close(g.open)
	if err := <-done; err != nil {
		t.Errorf("in-flight request: %v", err)
	}
	if n := len(r.Status().Models); n != 0 {
		t.Errorf("%d models loaded after Close and the last request", n)
	}
}
