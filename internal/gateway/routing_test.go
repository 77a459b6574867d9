package gateway_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"sov.dev/sov/internal/keys"
	"sov.dev/sov/internal/upstream"
	"sov.dev/sov/internal/upstream/upstreamtest"
)

// replyOf returns the assistant's text in a chat completion.
func replyOf(t *testing.T, body []byte) string {
	t.Helper()
	var c struct {
		Choices []struct {
			Message struct {
				Content string `json:"content"`
			} `json:"message"`
		} `json:"choices"`
	}
	if err := json.Unmarshal(body, &c); err != nil || len(c.Choices) != 1 {
		t.Fatalf("not a chat completion (%v): %s", err, body)
	}
	return c.Choices[0].Message.Content
}

// TestResidency: keys and tenants restricted to jurisdictions are never
// sent outside them; the refusal is a 403 that says why, and the backend
// outside receives nothing at all.
func TestResidency(t *testing.T) {
	eu := newUpstream(t, upstreamtest.Options{Models: []string{"shared", "eu-only"}, Reply: "from eu"})
	us := newUpstream(t, upstreamtest.Options{Models: []string{"shared", "us-only"}, Reply: "from us"})
	h := newHarness(t, setup{
		// us first: unrestricted keys would be answered from there.
		backends: backends(served(t, "us-east", "us", us, "shared", "us-only"), served(t, "eu-west", "eu", eu, "shared", "eu-only")),
		tenants:  map[string][]string{"acme": {"eu"}, "globex": {"us", "eu"}},
	})
	secrets := map[string]string{
		"anywhere":           h.key(keys.CreateOptions{Name: "anywhere"}),
		"eu key":             h.key(keys.CreateOptions{Name: "eu-key", Jurisdictions: []string{"eu"}}),
		"acme tenant":        h.key(keys.CreateOptions{Name: "acme-key", Tenant: "acme"}),
		"acme with us key":   h.key(keys.CreateOptions{Name: "acme-us", Tenant: "acme", Jurisdictions: []string{"us"}}),
		"acme with eu,us":    h.key(keys.CreateOptions{Name: "acme-both", Tenant: "acme", Jurisdictions: []string{"eu", "us"}}),
		"globex with eu key": h.key(keys.CreateOptions{Name: "globex-eu", Tenant: "globex", Jurisdictions: []string{"eu"}}),
		"ch key":             h.key(keys.CreateOptions{Name: "ch-key", Jurisdictions: []string{"ch"}}),
	}
	tests := []struct {
		key, model string
		want       string // the reply, or "403"
	}{
		{"anywhere", "shared", "from us"},
		{"anywhere", "eu-only", "from eu"},
		{"anywhere", "us-only", "from us"},
		{"eu key", "shared", "from eu"},
		{"eu key", "eu-only", "from eu"},
		{"eu key", "us-only", "403"},
		{"acme tenant", "shared", "from eu"},
		{"acme tenant", "us-only", "403"},
		{"acme with us key", "shared", "403"}, // the intersection is empty
		{"acme with us key", "us-only", "403"},
		{"acme with eu,us", "shared", "from eu"},
		{"acme with eu,us", "us-only", "403"},
		{"globex with eu key", "shared", "from eu"},
		{"globex with eu key", "us-only", "403"},
		{"ch key", "shared", "403"},
	}
	for _, tt := range tests {
		t.Run(tt.key+"/"+tt.model, func(t *testing.T) {
			eu.ResetRequests()
			us.ResetRequests()
			resp, body := h.chat(secrets[tt.key], chatBody(tt.model, "private data", ""))
			if tt.want != "403" {
				if resp.StatusCode != 200 {
					t.Fatalf("status %d: %s", resp.StatusCode, body)
				}
				if got := replyOf(t, body); got != tt.want {
					t.Errorf("reply %q, want %q", got, tt.want)
				}
				return
			}
			param, msg := wantError(t, resp, body, 403, "permission_error", "residency_violation")
			if param != "model" {
				t.Errorf("param = %s", param)
			}
			if !strings.Contains(msg, "us-east") || !strings.Contains(msg, "not sent") {
				t.Errorf("the message does not say why: %q", msg)
			}
			// Nothing at all reached a backend: no inference request, no
			// model listing, no health check.
			if n := len(us.Requests()) + len(eu.Requests()); n != 0 {
				t.Errorf("the backends received %d requests", n)
			}
			e := h.audit.inference(t, resp.Header.Get("X-Request-Id"))
			if e.data["decision"] != "denied:residency" || e.data["backend"] != "" {
				t.Errorf("audit record %v", e.data)
			}
		})
	}
	refusals := 0
	for _, tt := range tests {
		if tt.want == "403" {
			refusals++
		}
	}
	if got := metric(h.metrics(), "sov_denied_total", map[string]string{"reason": "residency"}); got != float64(refusals) {
		t.Errorf("sov_denied_total{reason=residency} = %v, want %d", got, refusals)
	}

	// The model list shows only what a key may use.
	for key, want := range map[string][]string{
		"anywhere":         {"eu-only", "shared", "us-only"},
		"eu key":           {"eu-only", "shared"},
		"acme with us key": {},
		"ch key":           {},
	} {
		resp, body := h.do("GET", "/v1/models", secrets[key], nil)
		if resp.StatusCode != 200 {
			t.Fatalf("%s: models: status %d", key, resp.StatusCode)
		}
		if diff := cmp.Diff(want, modelIDs(t, body)); diff != "" {
			t.Errorf("%s: models (-want +got):\n%s", key, diff)
		}
	}
}

func modelIDs(t *testing.T, body []byte) []string {
	t.Helper()
	var list struct {
		Object string `json:"object"`
		Data   []struct {
			ID, Object string
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &list); err != nil || list.Object != "list" || list.Data == nil {
		t.Fatalf("not a model list (%v): %s", err, body)
	}
	ids := []string{}
	for _, m := range list.Data {
		if m.Object != "model" {
			t.Errorf("object %q", m.Object)
		}
		ids = append(ids, m.ID)
	}
	slices.Sort(ids)
	return ids
}

// TestFailover: two backends serve the same model; when the first cannot
// answer before its first byte, the second does.
func TestFailover(t *testing.T) {
	tests := []struct {
		name    string
		breaker func(first *upstreamtest.Server) // makes the first backend fail
		stream  bool
	}{
		{"500", func(s *upstreamtest.Server) { s.FailNext(1, 500) }, false},
		{"503 stream", func(s *upstreamtest.Server) { s.FailNext(1, 503) }, true},
		{"429", func(s *upstreamtest.Server) { s.FailNext(1, 429) }, false},
		{"connection refused", func(s *upstreamtest.Server) { s.Close() }, false},
		{"connection refused stream", func(s *upstreamtest.Server) { s.Close() }, true},
		{"connection closed", func(s *upstreamtest.Server) { s.CloseConnection(true) }, false},
		{"garbled answer", func(s *upstreamtest.Server) { s.BadJSON(true) }, false},
		{"stream drops before the first event", func(s *upstreamtest.Server) { s.DropStreamAfter(0) }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			first := newUpstream(t, upstreamtest.Options{Models: []string{"m"}, Reply: "from first"})
			second := newUpstream(t, upstreamtest.Options{Models: []string{"m"}, Reply: "from second"})
			h := newHarness(t, setup{backends: backends(served(t, "first", "", first, "m"), served(t, "second", "", second, "m"))})
			secret := h.key(keys.CreateOptions{Name: "app"})
			tt.breaker(first)
			extra := ""
			if tt.stream {
				extra = `,"stream":true`
			}
			resp, body := h.chat(secret, chatBody("m", "hi", extra))
			if resp.StatusCode != 200 {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			if tt.stream {
				if got := streamText(t, readSSE(t, body)); got != "from second" {
					t.Errorf("streamed %q", got)
				}
			} else if got := replyOf(t, body); got != "from second" {
				t.Errorf("reply %q", got)
			}
			if n := second.Started(); n != 1 {
				t.Errorf("the second backend got %d requests", n)
			}
			e := h.audit.inference(t, resp.Header.Get("X-Request-Id"))
			if e.data["backend"] != "second" || e.data["status"] != 200 {
				t.Errorf("audit record %v", e.data)
			}
		})
	}
}

// TestAllBackendsDown: when no backend can answer, the client gets a 503
// it may retry.
func TestAllBackendsDown(t *testing.T) {
	a := newUpstream(t, upstreamtest.Options{Models: []string{"m"}})
	b := newUpstream(t, upstreamtest.Options{Models: []string{"m"}})
	h := newHarness(t, setup{backends: backends(served(t, "a", "", a, "m"), served(t, "b", "", b, "m"))})
	secret := h.key(keys.CreateOptions{Name: "app"})
	for _, stream := range []bool{false, true} {
		a.FailNext(1, 500)
		b.CloseConnection(true)
		extra := ""
		if stream {
			extra = `,"stream":true`
		}
		resp, body := h.chat(secret, chatBody("m", "hi", extra))
		wantError(t, resp, body, 503, "server_error", "backend_unavailable")
		if got := resp.Header.Get("Retry-After"); got != "2" {
			t.Errorf("retry-after = %q", got)
		}
		if got := resp.Header.Get("X-Should-Retry"); got != "true" {
			t.Errorf("x-should-retry = %q", got)
		}
		if strings.Contains(string(body), "127.0.0.1") {
			t.Errorf("the body names a backend address: %s", body)
		}
		b.ResetFaults()
		h.audit.inference(t, resp.Header.Get("X-Request-Id"))
	}
	if got := metric(h.metrics(), "sov_requests_total", map[string]string{"endpoint": "chat.completions", "model": "m", "backend": "b", "code": "503"}); got != 2 {
		t.Errorf("sov_requests_total{code=503} = %v, want 2", got)
	}
}

// TestRequestTimeout: a backend that never answers is cut off at the
// request timeout with a 504.
func TestRequestTimeout(t *testing.T) {
	up := newUpstream(t, upstreamtest.Options{Models: []string{"m"}})
	h := newHarness(t, setup{backends: backends(served(t, "up", "", up, "m")), requestTimeout: 200 * time.Millisecond})
	secret := h.key(keys.CreateOptions{Name: "app"})
	up.Hang(true)
	start := time.Now()
	resp, body := h.chat(secret, chatBody("m", "hi", ""))
	wantError(t, resp, body, 504, "server_error", "timeout")
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("the timeout took %v", d)
	}
	eventually(t, "the upstream to see the request end", func() bool { return up.Cancelled() == 1 })
}

// TestUnhealthyBackendLast: a backend whose health checks fail is tried
// after the healthy ones.
func TestUnhealthyBackendLast(t *testing.T) {
	sick := newUpstream(t, upstreamtest.Options{Models: []string{"m"}, Reply: "from sick"})
	well := newUpstream(t, upstreamtest.Options{Models: []string{"m"}, Reply: "from well"})
	sick.Unhealthy(true)
	sb := upstreamBackend(t, upstream.Config{Name: "sick", URLs: []string{sick.URL}, Models: []string{"m"}, HealthInterval: 20 * time.Millisecond})
	h := newHarness(t, setup{backends: backends(sb, served(t, "well", "", well, "m"))})
	secret := h.key(keys.CreateOptions{Name: "app"})
	eventually(t, "the sick backend to be marked unhealthy", func() bool { return !sb.Healthy() })
	resp, body := h.chat(secret, chatBody("m", "hi", ""))
	if resp.StatusCode != 200 || replyOf(t, body) != "from well" {
		t.Errorf("status %d: %s", resp.StatusCode, body)
	}
	if n := sick.Started(); n != 0 {
		t.Errorf("the unhealthy backend got %d requests", n)
	}
}

// streamText joins the content deltas of a chat stream.
func streamText(t *testing.T, events []string) string {
	t.Helper()
	var sb strings.Builder
	for _, ev := range events {
		if ev == "[DONE]" {
			continue
		}
		var c chunk
		mustJSON(t, ev, &c)
		for _, ch := range c.Choices {
			if ch.Delta.Content != nil {
				sb.WriteString(*ch.Delta.Content)
			}
		}
	}
	return sb.String()
}
