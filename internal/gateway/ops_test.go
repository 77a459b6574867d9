package gateway_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"sov.dev/sov/internal/gateway"
	"sov.dev/sov/internal/keys"
	"sov.dev/sov/internal/upstream"
	"sov.dev/sov/internal/upstream/upstreamtest"
)

func TestMetrics(t *testing.T) {
	up := newUpstream(t, upstreamtest.Options{Models: []string{"m"}, Reply: "one two three"})
	h := newHarness(t, setup{
		backends: backends(served(t, "up-eu", "eu", up, "m")),
		gauges:   func() map[string]float64 { return map[string]float64{"sov_engine_queue_depth": 3} },
	})
	secret := h.key(keys.CreateOptions{Name: "app"})
	resp, _ := h.chat(secret, chatBody("m", "hi", `,"stream":true`))
	h.audit.inference(t, resp.Header.Get("X-Request-Id"))
	h.chat("", chatBody("m", "hi", ""))

	resp, body := h.do("GET", "/metrics", "", nil)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("status %d, content-type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	scrape := string(body)
	for _, name := range []string{
		"sov_requests_total", "sov_tokens_total", "sov_request_duration_seconds", "sov_time_to_first_token_seconds",
		"sov_denied_total", "sov_requests_in_flight", "sov_backend_healthy", "sov_engine_queue_depth",
		"go_goroutines", "process_resident_memory_bytes",
	} {
		if !strings.Contains(scrape, "\n# TYPE "+name+" ") {
			t.Errorf("/metrics has no %s", name)
		}
	}
	checks := []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"sov_requests_total", map[string]string{"endpoint": "chat.completions", "model": "m", "backend": "up-eu", "code": "200"}, 1},
		{"sov_tokens_total", map[string]string{"model": "m", "kind": "prompt"}, 1},
		{"sov_tokens_total", map[string]string{"model": "m", "kind": "completion"}, 3},
		// The refused request counts under the same endpoint name.
		{"sov_requests_total", map[string]string{"endpoint": "chat.completions", "model": "", "backend": "", "code": "401"}, 1},
		{"sov_request_duration_seconds_count", map[string]string{"endpoint": "chat.completions"}, 2},
		{"sov_time_to_first_token_seconds_count", map[string]string{"endpoint": "chat.completions"}, 1},
		{"sov_denied_total", map[string]string{"reason": "auth"}, 1},
		{"sov_backend_healthy", map[string]string{"backend": "up-eu", "jurisdiction": "eu"}, 1},
		{"sov_engine_queue_depth", nil, 3},
	}
	for _, c := range checks {
		if got := metric(scrape, c.name, c.labels); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	// A model name nobody serves is not a label (unbounded cardinality).
	h.chat(secret, chatBody("made-up-name-123", "hi", ""))
	if strings.Contains(h.metrics(), "made-up-name-123") {
		t.Error("an unknown model name became a metric label")
	}
}

func TestHealthAndReadiness(t *testing.T) {
	a := newUpstream(t, upstreamtest.Options{Models: []string{"m"}})
	b := newUpstream(t, upstreamtest.Options{Models: []string{"m"}})
	check := func(u *upstreamtest.Server, name string) *upstream.Backend {
		return upstreamBackend(t, upstream.Config{Name: name, URLs: []string{u.URL}, Models: []string{"m"}, HealthInterval: 50 * time.Millisecond})
	}
	ab, bb := check(a, "a"), check(b, "b")
	h := newHarness(t, setup{backends: backends(ab, bb)})

	ready := func() (int, map[string]any) {
		resp, body := h.do("GET", "/readyz", "", nil)
		var v map[string]any
		if err := json.Unmarshal(body, &v); err != nil {
			t.Fatalf("/readyz: %v: %s", err, body)
		}
		return resp.StatusCode, v
	}
	if code, v := ready(); code != 200 || v["ready"] != true {
		t.Errorf("all healthy: %d %v", code, v)
	}
	a.Unhealthy(true)
	eventually(t, "a to be unhealthy", func() bool { return !ab.Healthy() })
	eventually(t, "ready with a down and b up", func() bool {
		code, v := ready()
		return code == 200 && v["ready"] == true && v["backends"].(map[string]any)["a"] == false
	})
	b.Unhealthy(true)
	eventually(t, "b to be unhealthy", func() bool { return !bb.Healthy() })
	code, v := ready()
	if code != 503 || v["ready"] != false {
		t.Errorf("none healthy: %d %v", code, v)
	}
	if got := metric(h.metrics(), "sov_backend_healthy", map[string]string{"backend": "b", "jurisdiction": ""}); got != 0 {
		t.Errorf("sov_backend_healthy{backend=b} = %v", got)
	}
	// The process itself is fine: /healthz says so, without a key.
	resp, body := h.do("GET", "/healthz", "", nil)
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"ok"`) {
		t.Errorf("/healthz: %d %s", resp.StatusCode, body)
	}
	a.Unhealthy(false)
	eventually(t, "ready again", func() bool { c, _ := ready(); return c == 200 })

	// No backends at all: not ready.
	empty := newHarness(t, setup{})
	if resp, _ := empty.do("GET", "/readyz", "", nil); resp.StatusCode != 503 {
		t.Errorf("no backends: /readyz %d", resp.StatusCode)
	}
}

// TestGracefulShutdown: when Serve's context ends while a slow stream is
// being answered, the stream completes with [DONE] before Serve returns,
// and new connections are refused.
func TestGracefulShutdown(t *testing.T) {
	const reply = "one two three four five six seven eight nine ten"
	up := newUpstream(t, upstreamtest.Options{Models: []string{"m"}, Reply: reply, ChunkDelay: 30 * time.Millisecond})
	h := newHarness(t, setup{}) // for its keys only
	secret := h.key(keys.CreateOptions{Name: "app"})
	// A second server over the same keys, run by Serve; its audit hook
	// notes when the stream's handler finished.
	finished := make(chan time.Time, 1)
	srv, err := gateway.New(gateway.Options{
		Backends:     backends(served(t, "up", "", up, "m")),
		Authenticate: h.mgr.Cache.Authenticate,
		Audit: func(kind, _ string, _ map[string]any) {
			if kind == "inference" {
				finished <- time.Now()
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	type result struct {
		err error
		at  time.Time
	}
	served := make(chan result, 1)
	go func() {
		err := srv.Serve(ctx, ln, gateway.ServeOptions{ShutdownTimeout: 10 * time.Second})
		served <- result{err, time.Now()}
	}()

	req, _ := http.NewRequest("POST", url+"/v1/chat/completions", strings.NewReader(chatBody("m", "hi", `,"stream":true`)))
	req.Header.Set("Authorization", "Bearer "+secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	br := bufio.NewReader(resp.Body)
	events := readEvents(t, br, 2) // the role chunk and the first word
	cancel()                       // shut down mid-stream
	rest, err := io.ReadAll(br)
	if err != nil {
		t.Fatalf("the stream broke off: %v", err)
	}
	for _, line := range strings.Split(string(rest), "\n") {
		if p, ok := strings.CutPrefix(line, "data: "); ok {
			events = append(events, p)
		}
	}
	if events[len(events)-1] != "[DONE]" {
		t.Fatalf("the stream did not end with [DONE]: %q", events)
	}
	if got := streamText(t, events); got != reply {
		t.Errorf("content %q, want %q", got, reply)
	}
	var r result
	select {
	case r = <-served:
		if r.err != nil {
			t.Errorf("Serve: %v", r.err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return")
	}
	if end := <-finished; r.at.Before(end) {
		t.Errorf("Serve returned %v before the stream's handler finished", end.Sub(r.at))
	}
	if _, err := http.Get(url + "/healthz"); err == nil {
		t.Error("the server still accepts connections after Serve returned")
	}
}
