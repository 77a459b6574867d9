package gateway_test

// The harness: a real gateway (Serve on a loopback listener)
// with real keys (in-memory store, Cache, Manager, a server secret in a
// temporary SOV_HOME) in front of real backends: upstream.Backend pointed
// at upstreamtest servers, and the embedded engine (runner) over a vault
// holding a tiny synthetic model.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"sov.dev/sov/internal/backend"
	"sov.dev/sov/internal/gateway"
	"sov.dev/sov/internal/keys"
	"sov.dev/sov/internal/keys/memory"
	"sov.dev/sov/internal/limits"
	"sov.dev/sov/internal/runner"
	"sov.dev/sov/internal/synth"
	"sov.dev/sov/internal/upstream"
	"sov.dev/sov/internal/upstream/upstreamtest"
	"sov.dev/sov/internal/vault"
)

// setup configures a harness; the zero value is a gateway with no backends.
type setup struct {
	backends       []backend.Backend
	tenants        map[string][]string
	admit          func(k *keys.Key, estimate int64) (func(int64), *limits.Denial)
	cors           []string
	maxBody        int64
	requestTimeout time.Duration
	gauges         func() map[string]float64
	noAdmin        bool // no admin API
	// audit replaces the harness's in-memory audit record (benchmarks
	// use a real audit.Writer).
	audit func(kind, actor string, data map[string]any)
	quiet bool // log at info level, as sov serve does by default

	streamWriteTimeout time.Duration
}

// harness is a running gateway and what the tests need to talk to it.
type harness struct {
	t      testing.TB
	srv    *gateway.Server
	url    string
	mgr    *keys.Manager
	hasher *keys.Hasher
	admin  string // the admin key's secret
	audit  *auditLog
	logs   *syncBuffer
}

func newHarness(t testing.TB, s setup) *harness {
	t.Helper()
	ctx := context.Background()
	home := t.TempDir()
	hasher, err := keys.LoadServerSecret(home)
	if err != nil {
		t.Fatal(err)
	}
	store := memory.New()
	t.Cleanup(func() { store.Close() })
	cache, err := keys.NewCache(ctx, store, hasher, nil)
	if err != nil {
		t.Fatal(err)
	}
	mgr := &keys.Manager{Store: store, Hasher: hasher, Cache: cache}
	_, admin, err := mgr.Create(ctx, keys.CreateOptions{Name: "admin", Admin: true})
	if err != nil {
		t.Fatal(err)
	}
	level := slog.LevelDebug
	if s.quiet {
		level = slog.LevelInfo
	}
	h := &harness{t: t, mgr: mgr, hasher: hasher, admin: admin, audit: &auditLog{t: t}, logs: &syncBuffer{}}
	opts := gateway.Options{
		Backends:           s.backends,
		Authenticate:       cache.Authenticate,
		Admit:              s.admit,
		Audit:              h.audit.record,
		Tenants:            s.tenants,
		MaxBodyBytes:       s.maxBody,
		RequestTimeout:     s.requestTimeout,
		StreamWriteTimeout: s.streamWriteTimeout,
		CORSOrigins:        s.cors,
		Logger:             slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: level})),
		Gauges:             s.gauges,
	}
	if !s.noAdmin {
		opts.Admin = mgr
	}
	if s.audit != nil {
		opts.Audit = s.audit
	}
	srv, err := gateway.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	// Served by Serve, as sov serve does: the suite runs through sov's own
	// HTTP server.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	bg, cancel := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(bg, ln, gateway.ServeOptions{ShutdownTimeout: 5 * time.Second}) }()
	t.Cleanup(func() {
		cancel()
		if err := <-served; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	h.srv, h.url = srv, "http://"+ln.Addr().String()
	return h
}

// key creates a key and returns its secret.
func (h *harness) key(o keys.CreateOptions) string {
	h.t.Helper()
	_, secret, err := h.mgr.Create(context.Background(), o)
	if err != nil {
		h.t.Fatal(err)
	}
	return secret
}

// do sends a request and returns the response and its whole body.
func (h *harness) do(method, path, secret string, body any, header ...string) (*http.Response, []byte) {
	h.t.Helper()
	resp := h.send(method, path, secret, body, header...)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		h.t.Fatalf("%s %s: reading the body: %v", method, path, err)
	}
	return resp, b
}

// send sends a request and returns the response with its body unread.
// body is sent as it is when it is a string or []byte, as JSON otherwise.
func (h *harness) send(method, path, secret string, body any, header ...string) *http.Response {
	h.t.Helper()
	return h.sendCtx(context.Background(), method, path, secret, body, header...)
}

func (h *harness) sendCtx(ctx context.Context, method, path, secret string, body any, header ...string) *http.Response {
	h.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			h.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequestWithContext(ctx, method, h.url+path, rd)
	if err != nil {
		h.t.Fatal(err)
	}
	if secret != "" {
		req.Header.Set("Authorization", "Bearer "+secret)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatalf("%s %s: %v", method, path, err)
	}
	return resp
}

// chat sends a chat request and returns the response and its body.
func (h *harness) chat(secret, body string) (*http.Response, []byte) {
	h.t.Helper()
	return h.do(http.MethodPost, "/v1/chat/completions", secret, body)
}

// metrics scrapes /metrics.
func (h *harness) metrics() string {
	h.t.Helper()
	resp, body := h.do(http.MethodGet, "/metrics", "", nil)
	if resp.StatusCode != http.StatusOK {
		h.t.Fatalf("/metrics: status %d", resp.StatusCode)
	}
	return string(body)
}

// metric returns the value of the series name{labels} in a scrape (0 when
// absent). labels must be complete.
func metric(scrape, name string, labels map[string]string) float64 {
	sc := bufio.NewScanner(strings.NewReader(scrape))
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name) {
			continue
		}
		rest := line[len(name):]
		got := map[string]string{}
		if strings.HasPrefix(rest, "{") {
			end := strings.Index(rest, "} ")
			if end < 0 {
				continue
			}
			for _, pair := range strings.Split(rest[1:end], ",") {
				k, v, ok := strings.Cut(pair, "=")
				if !ok {
					continue
				}
				uq, err := strconv.Unquote(v)
				if err != nil {
					continue
				}
				got[k] = uq
			}
			rest = rest[end+1:]
		}
		if !strings.HasPrefix(rest, " ") || len(got) != len(labels) {
			continue
		}
		match := true
		for k, v := range labels {
			if got[k] != v {
				match = false
			}
		}
		if !match {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
		if err == nil {
			return v
		}
	}
	return 0
}

// apiErr is the OpenAI error body.
type apiErr struct {
	Error *struct {
		Message *string `json:"message"`
		Type    *string `json:"type"`
		Param   *string `json:"param"`
		Code    *string `json:"code"`
	} `json:"error"`
}

// wantError checks that a response is an OpenAI-shaped error with the
// given status, type and code ("" for a null code), and returns its param
// (or "<null>") and message.
func wantError(t *testing.T, resp *http.Response, body []byte, status int, typ, code string) (param, msg string) {
	t.Helper()
	if resp.StatusCode != status {
		t.Errorf("status = %d, want %d; body %s", resp.StatusCode, status, body)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("content-type = %q, want application/json", ct)
	}
	if id := resp.Header.Get("X-Request-Id"); !strings.HasPrefix(id, "req_") {
		t.Errorf("x-request-id = %q", id)
	}
	// Exactly the four members, each present (param and code may be null).
	var raw map[string]map[string]json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil || len(raw) != 1 || raw["error"] == nil {
		t.Fatalf("not an OpenAI error body: %s", body)
	}
	for _, f := range []string{"message", "type", "param", "code"} {
		if _, ok := raw["error"][f]; !ok {
			t.Errorf("error body has no %q: %s", f, body)
		}
	}
	if len(raw["error"]) != 4 {
		t.Errorf("error body has %d members, want 4: %s", len(raw["error"]), body)
	}
	var e apiErr
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatal(err)
	}
	if e.Error.Message == nil || *e.Error.Message == "" {
		t.Errorf("empty message: %s", body)
	}
	if e.Error.Type == nil || *e.Error.Type != typ {
		t.Errorf("type = %s, want %q", deref(e.Error.Type), typ)
	}
	if got := deref(e.Error.Code); (code == "" && e.Error.Code != nil) || (code != "" && got != code) {
		t.Errorf("code = %s, want %q", got, code)
	}
	if e.Error.Message != nil {
		msg = *e.Error.Message
	}
	return deref(e.Error.Param), msg
}

func deref(p *string) string {
	if p == nil {
		return "<null>"
	}
	return *p
}

// event is one audit record.
type event struct {
	kind, actor string
	data        map[string]any
}

// auditLog collects the gateway's audit records.
type auditLog struct {
	t      testing.TB
	mu     sync.Mutex
	events []event
}

func (a *auditLog) record(kind, actor string, data map[string]any) {
	if actor == "" {
		// The real log refuses such an entry (audit.Writer): it would
		// be lost.
		a.t.Errorf("audit entry %s without an actor: %v", kind, data)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.events = append(a.events, event{kind, actor, data})
}

func (a *auditLog) all() []event {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]event(nil), a.events...)
}

// inference returns the inference record of the request with that id,
// waiting for it (it is written when the handler returns, which may be
// after the client has read the end of a stream).
func (a *auditLog) inference(t *testing.T, requestID string) event {
	t.Helper()
	var found event
	eventually(t, "the audit record of "+requestID, func() bool {
		for _, e := range a.all() {
			if e.kind == "inference" && e.data["request_id"] == requestID {
				found = e
				return true
			}
		}
		return false
	})
	return found
}

// syncBuffer is a bytes.Buffer safe for the server's goroutines.
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

// eventually polls cond for up to 10 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// newUpstream starts a test upstream, closed when the test ends.
func newUpstream(t testing.TB, o upstreamtest.Options) *upstreamtest.Server {
	t.Helper()
	s := upstreamtest.New(o)
	t.Cleanup(s.Close)
	return s
}

// upstreamBackend returns an upstream backend for tests: no health checks
// (always healthy) unless c sets an interval, no retries on the same
// backend, no circuit breaker, short timeouts.
func upstreamBackend(t testing.TB, c upstream.Config) *upstream.Backend {
	t.Helper()
	if c.HealthInterval == 0 {
		c.HealthInterval = -1
	}
	if c.MaxRetries == 0 {
		c.MaxRetries = -1
	}
	if c.BreakerFailures == 0 {
		c.BreakerFailures = -1
	}
	if c.ConnectTimeout == 0 {
		c.ConnectTimeout = 2 * time.Second
	}
	if c.FirstByteTimeout == 0 {
		c.FirstByteTimeout = 5 * time.Second
	}
	if c.IdleTimeout == 0 {
		c.IdleTimeout = 5 * time.Second
	}
	if c.Timeout == 0 {
		c.Timeout = 10 * time.Second
	}
	b, err := upstream.New(c, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return b
}

// served is a shorthand: an upstream backend named name in jurisdiction
// j serving models from the test upstream at u.
func served(t testing.TB, name, j string, u *upstreamtest.Server, models ...string) *upstream.Backend {
	t.Helper()
	return upstreamBackend(t, upstream.Config{Name: name, URLs: []string{u.URL}, Models: models, Labels: backend.Labels{Site: name, Jurisdiction: j}})
}

// engine returns the embedded engine over a vault holding the tiny qwen2
// model as "tiny".
func engine(t *testing.T, j string) *runner.Runner {
	t.Helper()
	ctx := context.Background()
	v, err := vault.Open(ctx, filepath.Join(t.TempDir(), "sovhome"), vault.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { v.Close() })
	p, err := synth.FindPreset("qwen2", "tiny")
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := synth.WriteModel(&buf, synth.ModelSpec{Preset: p, FileType: "Q8_0", Seed: 1}); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "tiny.gguf")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Import(ctx, path, vault.ImportOptions{Name: "tiny"}); err != nil {
		t.Fatal(err)
	}
	r := runner.New(runner.Options{Vault: v, Threads: 1, ContextLen: 1024, MemoryBudget: -1,
		Labels: backend.Labels{Site: "local", Jurisdiction: j}})
	t.Cleanup(func() { r.Close() })
	return r
}

// readSSE parses a whole server-sent event stream into the payloads of its
// data events, in order ("[DONE]" included).
func readSSE(t *testing.T, body []byte) []string {
	t.Helper()
	var out []string
	for _, ev := range strings.Split(string(body), "\n\n") {
		if ev == "" {
			continue
		}
		p, ok := strings.CutPrefix(ev, "data: ")
		if !ok || strings.Contains(p, "\n") {
			t.Fatalf("malformed event %q in %s", ev, body)
		}
		out = append(out, p)
	}
	if !strings.HasSuffix(string(body), "\n\n") {
		t.Errorf("stream does not end with a blank line: %q", body)
	}
	return out
}

// chunk is the part of a chat.completion.chunk the tests look at.
type chunk struct {
	Object  string `json:"object"`
	Choices []struct {
		Delta struct {
			Role    string  `json:"role"`
			Content *string `json:"content"`
		} `json:"delta"`
		FinishReason *string `json:"finish_reason"`
	} `json:"choices"`
	Usage *usage `json:"usage"`
}

type usage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	TotalTokens      int `json:"total_tokens"`
}

func mustJSON(t *testing.T, s string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(s), v); err != nil {
		t.Fatalf("%v in %s", err, s)
	}
}

func chatBody(model, content string, extra string) string {
	b, _ := json.Marshal(content)
	return fmt.Sprintf(`{"model":%q,"messages":[{"role":"user","content":%s}]%s}`, model, b, extra)
}

func backends(bs ...backend.Backend) []backend.Backend { return bs }
