package gateway_test

import (
	"bufio"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"sov.dev/sov/internal/keys"
	"sov.dev/sov/internal/upstream/upstreamtest"
)

// TestStreamFormat checks the server-sent events a client receives: SSE
// headers, content chunks, the usage chunk only when asked for, and
// "data: [DONE]" last, whichever way the upstream reports usage.
func TestStreamFormat(t *testing.T) {
	const reply = "one two three four five"
	modes := []struct {
		name string
		mode upstreamtest.UsageMode
	}{
		{"openai", upstreamtest.UsageOpenAI},
		{"usage on last chunk", upstreamtest.UsageOnLastChunk},
		{"usage always", upstreamtest.UsageAlways},
	}
	for _, m := range modes {
		up := newUpstream(t, upstreamtest.Options{Models: []string{"m"}, Reply: reply, Usage: m.mode, TokensPerChunk: 2})
		h := newHarness(t, setup{backends: backends(served(t, "up", "", up, "m"))})
		secret := h.key(keys.CreateOptions{Name: "app"})
		for _, includeUsage := range []bool{true, false} {
			name := m.name + "/without usage"
			extra := `,"stream":true`
			if includeUsage {
				name = m.name + "/with usage"
				extra += `,"stream_options":{"include_usage":true}`
			}
			t.Run(name, func(t *testing.T) {
				resp, body := h.chat(secret, chatBody("m", "a b c", extra))
				if resp.StatusCode != 200 {
					t.Fatalf("status %d: %s", resp.StatusCode, body)
				}
				for k, want := range map[string]string{"Content-Type": "text/event-stream", "Cache-Control": "no-cache", "X-Accel-Buffering": "no"} {
					if got := resp.Header.Get(k); got != want {
						t.Errorf("%s = %q, want %q", k, got, want)
					}
				}
				if resp.Header.Get("X-Request-Id") == "" {
					t.Error("no x-request-id")
				}
				events := readSSE(t, body)
				if len(events) < 3 || events[len(events)-1] != "[DONE]" {
					t.Fatalf("the stream does not end with [DONE]: %q", events)
				}
				if strings.Count(string(body), "[DONE]") != 1 {
					t.Errorf("[DONE] more than once: %s", body)
				}
				if got := streamText(t, events); got != reply {
					t.Errorf("content %q, want %q", got, reply)
				}
				var usages []usage
				finishes := 0
				for i, ev := range events[:len(events)-1] {
					var c chunk
					mustJSON(t, ev, &c)
					if c.Object != "chat.completion.chunk" {
						t.Errorf("event %d: object %q", i, c.Object)
					}
					for _, ch := range c.Choices {
						if ch.FinishReason != nil {
							finishes++
						}
					}
					if c.Usage != nil {
						usages = append(usages, *c.Usage)
					}
					if !includeUsage && strings.Contains(ev, `"usage"`) {
						t.Errorf("event %d carries usage the client did not ask for: %s", i, ev)
					}
				}
				if finishes != 1 {
					t.Errorf("%d chunks with a finish_reason", finishes)
				}
				want := usage{PromptTokens: 3, CompletionTokens: 5, TotalTokens: 8}
				switch {
				case includeUsage && (len(usages) != 1 || usages[0] != want):
					t.Errorf("usage chunks %+v, want one with %+v", usages, want)
				case !includeUsage && len(usages) != 0:
					t.Errorf("usage chunks %+v, want none", usages)
				}
				if includeUsage && m.mode == upstreamtest.UsageOpenAI {
					var last chunk
					mustJSON(t, events[len(events)-2], &last)
					if last.Usage == nil || len(last.Choices) != 0 {
						t.Errorf("the usage chunk is not last or has choices: %s", events[len(events)-2])
					}
				}
				// Usage is exact either way.
				e := h.audit.inference(t, resp.Header.Get("X-Request-Id"))
				if e.data["tokens_in"] != 3 || e.data["tokens_out"] != 5 {
					t.Errorf("audit tokens %v/%v, want 3/5", e.data["tokens_in"], e.data["tokens_out"])
				}
			})
		}
	}
}

// TestStreamErrors: once a stream has begun, failures are reported in the
// stream as an OpenAI error event, and no [DONE] follows.
func TestStreamErrors(t *testing.T) {
	tests := []struct {
		name  string
		fault func(s *upstreamtest.Server)
	}{
		{"upstream error event", func(s *upstreamtest.Server) { s.ErrorEventAfter(2) }},
		{"dropped stream", func(s *upstreamtest.Server) { s.DropStreamAfter(2) }},
		{"garbled event", func(s *upstreamtest.Server) { s.BadJSON(true) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			up := newUpstream(t, upstreamtest.Options{Models: []string{"m"}, Reply: "one two three four"})
			h := newHarness(t, setup{backends: backends(served(t, "up", "", up, "m"))})
			secret := h.key(keys.CreateOptions{Name: "app"})
			if tt.name == "garbled event" {
				// Garbled from the first event: nothing has reached the
				// client, so it is an error answer, not an error event.
				tt.fault(up)
				resp, body := h.chat(secret, chatBody("m", "hi", `,"stream":true`))
				wantError(t, resp, body, 503, "server_error", "backend_unavailable")
				return
			}
			tt.fault(up)
			resp, body := h.chat(secret, chatBody("m", "hi", `,"stream":true`))
			if resp.StatusCode != 200 {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			events := readSSE(t, body)
			last := events[len(events)-1]
			var e apiErr
			mustJSON(t, last, &e)
			if e.Error == nil || deref(e.Error.Type) != "server_error" || deref(e.Error.Message) == "" {
				t.Errorf("last event %q is not an error", last)
			}
			if strings.Contains(string(body), "[DONE]") {
				t.Errorf("[DONE] after an error: %s", body)
			}
			if n := strings.Count(string(body), `"error"`); n != 1 {
				t.Errorf("%d error events", n)
			}
			if strings.Contains(string(body), "127.0.0.1") {
				t.Errorf("the stream names a backend address: %s", body)
			}
		})
	}
}

// TestUsageCounted: the token counters match what the upstream reported,
// whether or not the client asked for usage, for every endpoint.
func TestUsageCounted(t *testing.T) {
	up := newUpstream(t, upstreamtest.Options{Models: []string{"m"}, Reply: "the fixed answer has six words"})
	h := newHarness(t, setup{backends: backends(served(t, "up", "", up, "m"))})
	secret := h.key(keys.CreateOptions{Name: "app"})
	var prompt, completion int
	send := func(path, body string, p, c int) {
		t.Helper()
		resp, b := h.do("POST", path, secret, body)
		if resp.StatusCode != 200 {
			t.Fatalf("%s: status %d: %s", path, resp.StatusCode, b)
		}
		h.audit.inference(t, resp.Header.Get("X-Request-Id"))
		prompt += p
		completion += c
	}
	send("/v1/chat/completions", chatBody("m", "one two three", ""), 3, 6)
	send("/v1/chat/completions", chatBody("m", "one two three four", `,"stream":true`), 4, 6)
	send("/v1/chat/completions", chatBody("m", "one", `,"stream":true,"stream_options":{"include_usage":true}`), 1, 6)
	send("/v1/chat/completions", chatBody("m", "one two", `,"max_tokens":2`), 2, 2)
	send("/v1/completions", `{"model":"m","prompt":"alpha beta"}`, 2, 6)
	send("/v1/completions", `{"model":"m","prompt":"alpha beta gamma","stream":true}`, 3, 6)
	send("/v1/embeddings", `{"model":"m","input":["a b","c d e"]}`, 5, 0)

	scrape := h.metrics()
	if got := metric(scrape, "sov_tokens_total", map[string]string{"model": "m", "kind": "prompt"}); got != float64(prompt) {
		t.Errorf("prompt tokens %v, want %d", got, prompt)
	}
	if got := metric(scrape, "sov_tokens_total", map[string]string{"model": "m", "kind": "completion"}); got != float64(completion) {
		t.Errorf("completion tokens %v, want %d", got, completion)
	}
	for endpoint, n := range map[string]float64{"chat.completions": 4, "completions": 2, "embeddings": 1} {
		if got := metric(scrape, "sov_requests_total", map[string]string{"endpoint": endpoint, "model": "m", "backend": "up", "code": "200"}); got != n {
			t.Errorf("sov_requests_total{endpoint=%s} = %v, want %v", endpoint, got, n)
		}
	}
	// Every streamed request asked the upstream for usage.
	for _, r := range up.Requests() {
		var b struct {
			Stream        bool `json:"stream"`
			StreamOptions *struct {
				IncludeUsage bool `json:"include_usage"`
			} `json:"stream_options"`
		}
		if json.Unmarshal(r.Body, &b) == nil && b.Stream && (b.StreamOptions == nil || !b.StreamOptions.IncludeUsage) {
			t.Errorf("a stream was sent upstream without include_usage: %s", r.Body)
		}
	}
}

// TestDisconnectCancelsUpstream: a client that goes away mid-stream ends
// the upstream request too.
func TestDisconnectCancelsUpstream(t *testing.T) {
	words := strings.TrimSpace(strings.Repeat("word ", 200))
	up := newUpstream(t, upstreamtest.Options{Models: []string{"m"}, Reply: words, ChunkDelay: 20 * time.Millisecond})
	h := newHarness(t, setup{backends: backends(served(t, "up", "", up, "m"))})
	secret := h.key(keys.CreateOptions{Name: "app"})

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	resp := h.sendCtx(ctx, "POST", "/v1/chat/completions", secret, chatBody("m", "hi", `,"stream":true`))
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	id := resp.Header.Get("X-Request-Id")
	readEvents(t, bufio.NewReader(resp.Body), 3)
	cancel()
	resp.Body.Close()

	eventually(t, "the upstream to see the client leave", func() bool { return up.Cancelled() == 1 })
	eventually(t, "the upstream to be idle", func() bool { return up.Active() == 0 })
	e := h.audit.inference(t, id)
	if e.data["status"] != 499 {
		t.Errorf("audit status %v, want 499", e.data["status"])
	}
	eventually(t, "no request in flight", func() bool { return metric(h.metrics(), "sov_requests_in_flight", nil) == 0 })
}

// readEvents reads n data events from a stream and returns them.
func readEvents(t *testing.T, br *bufio.Reader, n int) []string {
	t.Helper()
	var out []string
	for len(out) < n {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("after %d events: %v", len(out), err)
		}
		if p, ok := strings.CutPrefix(strings.TrimRight(line, "\n"), "data: "); ok {
			out = append(out, p)
		}
	}
	return out
}
