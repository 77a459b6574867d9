package gateway_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"sov.dev/sov/internal/backend"
	"sov.dev/sov/internal/keys"
	"sov.dev/sov/internal/upstream"
	"sov.dev/sov/internal/upstream/upstreamtest"
)

// TestRequestID checks that every answer, errors and unknown URLs
// included, carries a fresh x-request-id, and that the upstream is sent
// the same id.
func TestRequestID(t *testing.T) {
	up := newUpstream(t, upstreamtest.Options{Models: []string{"m"}, Reply: "ok"})
	h := newHarness(t, setup{backends: backends(served(t, "up", "", up, "m"))})
	secret := h.key(keys.CreateOptions{Name: "app"})
	tests := []struct {
		name, method, path, secret string
		body                       string
		status                     int
	}{
		{"chat", "POST", "/v1/chat/completions", secret, chatBody("m", "hi", ""), 200},
		{"stream", "POST", "/v1/chat/completions", secret, chatBody("m", "hi", `,"stream":true`), 200},
		{"models", "GET", "/v1/models", secret, "", 200},
		{"healthz", "GET", "/healthz", "", "", 200},
		{"readyz", "GET", "/readyz", "", "", 200},
		{"metrics", "GET", "/metrics", "", "", 200},
		{"no key", "POST", "/v1/chat/completions", "", chatBody("m", "hi", ""), 401},
		{"bad json", "POST", "/v1/chat/completions", secret, "{", 400},
		{"unknown model", "POST", "/v1/chat/completions", secret, chatBody("nope", "hi", ""), 404},
		{"unknown url", "GET", "/v2/nothing", "", "", 404},
		{"wrong method", "GET", "/v1/chat/completions", secret, "", 404},
		{"root", "GET", "/", "", "", 404},
	}
	seen := map[string]bool{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var body any
			if tt.body != "" {
				body = tt.body
			}
			resp, _ := h.do(tt.method, tt.path, tt.secret, body)
			if resp.StatusCode != tt.status {
				t.Errorf("status = %d, want %d", resp.StatusCode, tt.status)
			}
			id := resp.Header.Get("X-Request-Id")
			if !strings.HasPrefix(id, "req_") || len(id) != 28 {
				t.Errorf("x-request-id = %q", id)
			}
			if seen[id] {
				t.Errorf("x-request-id %q seen twice", id)
			}
			seen[id] = true
		})
	}
	// The id is forwarded upstream, and recorded in the audit log.
	resp, _ := h.chat(secret, chatBody("m", "forward", ""))
	id := resp.Header.Get("X-Request-Id")
	reqs := up.RequestsTo("/v1/chat/completions")
	if got := reqs[len(reqs)-1].Header.Get("X-Request-Id"); got != id {
		t.Errorf("upstream saw x-request-id %q, client got %q", got, id)
	}
	if got := reqs[len(reqs)-1].Header.Get("Authorization"); got != "" {
		t.Errorf("the client's key was forwarded upstream: %q", got)
	}
	if e := h.audit.inference(t, id); e.data["status"] != 200 || e.data["backend"] != "up" {
		t.Errorf("audit record %v", e.data)
	}
}

// TestErrors checks refusals before routing: each is OpenAI-shaped, names
// the parameter at fault where there is one, and never reaches the
// upstream.
func TestErrors(t *testing.T) {
	up := newUpstream(t, upstreamtest.Options{Models: []string{"m", "other"}, Reply: "ok"})
	h := newHarness(t, setup{backends: backends(served(t, "up", "", up, "m", "other")), maxBody: 4096})
	secret := h.key(keys.CreateOptions{Name: "app"})
	onlyM := h.key(keys.CreateOptions{Name: "only-m", Models: []string{"m"}})
	big := chatBody("m", strings.Repeat("x", 5000), "")

	tests := []struct {
		name, path, secret, body string
		status                   int
		typ, code, param         string
	}{
		{"body too large", "/v1/chat/completions", secret, big, 413, "invalid_request_error", "request_too_large", "<null>"},
		{"body too large embeddings", "/v1/embeddings", secret, `{"model":"m","input":"` + strings.Repeat("x", 5000) + `"}`, 413, "invalid_request_error", "request_too_large", "<null>"},
		{"not json", "/v1/chat/completions", secret, `{"model":"m","messages":[`, 400, "invalid_request_error", "", "<null>"},
		{"not an object", "/v1/chat/completions", secret, `[1,2]`, 400, "invalid_request_error", "", "<null>"},
		{"empty body", "/v1/chat/completions", secret, ``, 400, "invalid_request_error", "", "<null>"},
		{"wrong type", "/v1/chat/completions", secret, chatBody("m", "hi", `,"temperature":"hot"`), 400, "invalid_request_error", "", "temperature"},
		{"out of range", "/v1/chat/completions", secret, chatBody("m", "hi", `,"temperature":5`), 400, "invalid_request_error", "", "temperature"},
		{"no messages", "/v1/chat/completions", secret, `{"model":"m","messages":[]}`, 400, "invalid_request_error", "", "messages"},
		{"bad role", "/v1/chat/completions", secret, `{"model":"m","messages":[{"role":"wizard","content":"hi"}]}`, 400, "invalid_request_error", "", "messages[0].role"},
		{"no model", "/v1/chat/completions", secret, `{"messages":[{"role":"user","content":"hi"}]}`, 400, "invalid_request_error", "", "model"},
		{"bad embedding input", "/v1/embeddings", secret, `{"model":"m","input":{}}`, 400, "invalid_request_error", "", "input"},
		{"unknown model", "/v1/chat/completions", secret, chatBody("nope", "hi", ""), 404, "invalid_request_error", "model_not_found", "model"},
		{"unknown model completions", "/v1/completions", secret, `{"model":"nope","prompt":"hi"}`, 404, "invalid_request_error", "model_not_found", "model"},
		{"model not allowed", "/v1/chat/completions", onlyM, chatBody("other", "hi", ""), 403, "permission_error", "model_not_allowed", "model"},
		{"model not allowed embeddings", "/v1/embeddings", onlyM, `{"model":"other","input":"hi"}`, 403, "permission_error", "model_not_allowed", "model"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, b := h.do("POST", tt.path, tt.secret, tt.body)
			param, _ := wantError(t, resp, b, tt.status, tt.typ, tt.code)
			if param != tt.param {
				t.Errorf("param = %s, want %s", param, tt.param)
			}
		})
	}
	if n := len(up.Requests()); n != 0 {
		t.Errorf("the upstream received %d requests", n)
	}
	// The allowed model works for the restricted key, bare or tagged the
	// same way.
	if resp, b := h.chat(onlyM, chatBody("m", "hi", "")); resp.StatusCode != 200 {
		t.Errorf("allowed model: status %d: %s", resp.StatusCode, b)
	}
}

// TestUpstreamClientErrorPassesThrough: a 4xx from the backend is the
// client's fault; it is returned as it is and not retried elsewhere.
func TestUpstreamClientErrorPassesThrough(t *testing.T) {
	a := newUpstream(t, upstreamtest.Options{Models: []string{"m"}, Reply: "from a"})
	b := newUpstream(t, upstreamtest.Options{Models: []string{"m"}, Reply: "from b"})
	h := newHarness(t, setup{backends: backends(served(t, "a", "", a, "m"), served(t, "b", "", b, "m"))})
	secret := h.key(keys.CreateOptions{Name: "app"})
	a.FailNext(1, http.StatusBadRequest)
	resp, body := h.chat(secret, chatBody("m", "hi", ""))
	if _, msg := wantError(t, resp, body, 400, "invalid_request_error", ""); msg != "injected failure" {
		t.Errorf("message = %q", msg)
	}
	if n := len(b.Requests()); n != 0 {
		t.Errorf("a client error was retried on another backend (%d requests)", n)
	}
}

// TestBackendFailureIsGeneric: a backend failure that is neither the
// client's fault nor a reason to fail over becomes a generic 500 whose
// body says nothing about the cause; the cause goes to the log.
func TestBackendFailureIsGeneric(t *testing.T) {
	up := newUpstream(t, upstreamtest.Options{Models: []string{"m"}, Reply: strings.Repeat("word ", 50)})
	// Answers over 64 bytes are refused, without failing over.
	b := upstreamBackend(t, upstream.Config{Name: "tiny-limit", URLs: []string{up.URL}, Models: []string{"m"}, MaxResponseBytes: 64})
	h := newHarness(t, setup{backends: backends(b)})
	secret := h.key(keys.CreateOptions{Name: "app"})
	resp, body := h.chat(secret, chatBody("m", "hi", ""))
	_, msg := wantError(t, resp, body, 500, "server_error", "")
	if strings.Contains(msg, "64") || strings.Contains(msg, up.URL) || strings.Contains(string(body), "127.0.0.1") {
		t.Errorf("the message leaks the cause: %s", body)
	}
	logs := h.logs.String()
	if strings.Contains(logs, "panic") {
		t.Errorf("the error path panicked:\n%s", logs)
	}
	if !strings.Contains(logs, "64 bytes") {
		t.Errorf("the cause is not logged:\n%s", logs)
	}
	id := resp.Header.Get("X-Request-Id")
	if e := h.audit.inference(t, id); e.data["status"] != 500 {
		t.Errorf("audit status %v", e.data["status"])
	}
}

// panicky is a backend whose Do panics: a stand-in for a bug in a
// backend, which no real backend can be made to have on purpose.
type panicky struct{}

func (panicky) Name() string           { return "panicky" }
func (panicky) Labels() backend.Labels { return backend.Labels{} }
func (panicky) Healthy() bool          { return true }
func (panicky) Models(context.Context) ([]backend.Model, error) {
	return []backend.Model{{ID: "boom"}}, nil
}
func (panicky) Do(context.Context, *backend.Request, backend.Output) error {
	panic("secret internal detail at gateway_test.go")
}

func TestPanicInBackend(t *testing.T) {
	up := newUpstream(t, upstreamtest.Options{Models: []string{"m"}, Reply: "still here"})
	h := newHarness(t, setup{backends: backends(panicky{}, served(t, "up", "", up, "m"))})
	secret := h.key(keys.CreateOptions{Name: "app"})
	for _, stream := range []string{"", `,"stream":true`} {
		resp, body := h.chat(secret, chatBody("boom", "hi", stream))
		_, msg := wantError(t, resp, body, 500, "server_error", "")
		if msg != "The server had an error while processing your request." {
			t.Errorf("message = %q", msg)
		}
		for _, leak := range []string{"secret internal detail", "goroutine", ".go:", "panic"} {
			if strings.Contains(string(body), leak) {
				t.Errorf("the body contains %q: %s", leak, body)
			}
		}
	}
	if logs := h.logs.String(); !strings.Contains(logs, "secret internal detail") || !strings.Contains(logs, "goroutine") {
		t.Errorf("the panic and its stack are not logged:\n%s", logs)
	}
	// The audit log and the metrics record what the client was told.
	for _, e := range h.audit.all() {
		if e.kind == "inference" && e.data["model"] == "boom" && (e.data["status"] != 500 || e.data["backend"] != "panicky") {
			t.Errorf("audit record %v", e.data)
		}
	}
	if got := metric(h.metrics(), "sov_requests_total", map[string]string{"endpoint": "chat.completions", "model": "boom", "backend": "panicky", "code": "500"}); got != 2 {
		t.Errorf("sov_requests_total{code=500} = %v, want 2", got)
	}
	// The server goes on serving.
	if resp, b := h.chat(secret, chatBody("m", "hi", "")); resp.StatusCode != 200 {
		t.Errorf("after the panic: status %d: %s", resp.StatusCode, b)
	}
}

func TestCORS(t *testing.T) {
	up := newUpstream(t, upstreamtest.Options{Models: []string{"m"}, Reply: "ok"})
	b := served(t, "up", "", up, "m")
	off := newHarness(t, setup{backends: backends(b)})
	on := newHarness(t, setup{backends: backends(b), cors: []string{"https://app.example"}})
	offKey := off.key(keys.CreateOptions{Name: "app"})
	onKey := on.key(keys.CreateOptions{Name: "app"})

	corsHeaders := func(resp *http.Response) []string {
		var out []string
		for k := range resp.Header {
			if strings.HasPrefix(strings.ToLower(k), "access-control-") {
				out = append(out, k)
			}
		}
		return out
	}
	preflight := []string{"Origin", "https://app.example", "Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "authorization"}

	t.Run("off by default", func(t *testing.T) {
		resp, _ := off.do("GET", "/v1/models", offKey, nil, "Origin", "https://app.example")
		if resp.StatusCode != 200 {
			t.Errorf("status %d", resp.StatusCode)
		}
		if h := corsHeaders(resp); len(h) != 0 {
			t.Errorf("CORS headers %v", h)
		}
		resp, _ = off.do("OPTIONS", "/v1/chat/completions", "", nil, preflight...)
		if h := corsHeaders(resp); len(h) != 0 || resp.StatusCode == http.StatusNoContent {
			t.Errorf("preflight answered: status %d, headers %v", resp.StatusCode, h)
		}
	})
	t.Run("allowed origin", func(t *testing.T) {
		resp, _ := on.do("GET", "/v1/models", onKey, nil, "Origin", "https://app.example")
		if got := resp.Header.Get("Access-Control-Allow-Origin"); got != "https://app.example" {
			t.Errorf("allow-origin = %q", got)
		}
		if got := resp.Header.Get("Access-Control-Expose-Headers"); !strings.Contains(got, "x-request-id") {
			t.Errorf("expose-headers = %q", got)
		}
		resp, _ = on.do("OPTIONS", "/v1/chat/completions", "", nil, preflight...)
		if resp.StatusCode != http.StatusNoContent {
			t.Errorf("preflight status %d", resp.StatusCode)
		}
		if got := resp.Header.Get("Access-Control-Allow-Methods"); !strings.Contains(got, "POST") {
			t.Errorf("allow-methods = %q", got)
		}
		if got := strings.ToLower(resp.Header.Get("Access-Control-Allow-Headers")); !strings.Contains(got, "authorization") {
			t.Errorf("allow-headers = %q", got)
		}
		if resp.Header.Get("X-Request-Id") == "" {
			t.Error("the preflight has no x-request-id")
		}
	})
	t.Run("other origin", func(t *testing.T) {
		resp, _ := on.do("GET", "/v1/models", onKey, nil, "Origin", "https://evil.example")
		if h := corsHeaders(resp); len(h) != 0 {
			t.Errorf("CORS headers for another origin: %v", h)
		}
		resp, _ = on.do("OPTIONS", "/v1/chat/completions", "", nil, "Origin", "https://evil.example", "Access-Control-Request-Method", "POST")
		if h := corsHeaders(resp); len(h) != 0 || resp.StatusCode == http.StatusNoContent {
			t.Errorf("preflight for another origin: status %d, headers %v", resp.StatusCode, h)
		}
	})
}
