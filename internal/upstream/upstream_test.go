package upstream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"sov.dev/sov/internal/backend"
	"sov.dev/sov/internal/openai"
	"sov.dev/sov/internal/upstream/upstreamtest"
)

// recorder is a backend.Output that keeps what it is given.
type recorder struct {
	data   [][]byte
	usage  []openai.Usage
	failAt int // Data fails on this call (1-based) and after: the client left; 0 never
}

func (r *recorder) Data(p []byte) error {
	if r.failAt > 0 && len(r.data)+1 >= r.failAt {
		return errors.New("client gone")
	}
	r.data = append(r.data, append([]byte(nil), p...))
	return nil
}

func (r *recorder) Usage(u openai.Usage) { r.usage = append(r.usage, u) }

// events returns the payloads as strings.
func (r *recorder) events() []string {
	out := make([]string, len(r.data))
	for i, d := range r.data {
		out[i] = string(d)
	}
	return out
}

// text joins the content of chat chunks (or the message of an answer).
func (r *recorder) text(t *testing.T) string {
	t.Helper()
	var s string
	for _, d := range r.data {
		var c struct {
			Choices []struct {
				Delta   struct{ Content string } `json:"delta"`
				Message struct{ Content string } `json:"message"`
				Text    string                   `json:"text"`
			} `json:"choices"`
		}
		if err := json.Unmarshal(d, &c); err != nil {
			t.Fatalf("payload %s: %v", d, err)
		}
		for _, ch := range c.Choices {
			s += ch.Delta.Content + ch.Message.Content + ch.Text
		}
	}
	return s
}

const key = "upstream-secret"

// servers starts n test upstreams with opts (APIKey set to key).
func servers(t *testing.T, n int, opts upstreamtest.Options) []*upstreamtest.Server {
	t.Helper()
	opts.APIKey = key
	var out []*upstreamtest.Server
	for range n {
		s := upstreamtest.New(opts)
		t.Cleanup(s.Close)
		out = append(out, s)
	}
	return out
}

// newBackend returns a Backend in front of the given servers (or URLs).
func newBackend(t *testing.T, cfg Config, urls ...string) *Backend {
	t.Helper()
	if cfg.Name == "" {
		cfg.Name = "up"
	}
	cfg.URLs = urls
	cfg.APIKey = key
	if cfg.Models == nil && cfg.Aliases == nil {
		cfg.Models = []string{"test-model"}
	}
	if cfg.HealthInterval == 0 {
		cfg.HealthInterval = -1
	}
	b, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return b
}

func urls(ss ...*upstreamtest.Server) []string {
	var out []string
	for i, s := range ss {
		if i%2 == 0 {
			out = append(out, s.URL+"/v1") // both forms are accepted
		} else {
			out = append(out, s.URL)
		}
	}
	return out
}

// chatReq builds a chat request from a JSON body, as the gateway does.
func chatReq(t *testing.T, body string) *backend.Request {
	t.Helper()
	c, err := openai.DecodeChatCompletionRequest([]byte(body))
	if err != nil {
		t.Fatalf("decode %s: %v", body, err)
	}
	return &backend.Request{
		Endpoint:     backend.Chat,
		Model:        c.Model,
		Body:         []byte(body),
		Chat:         c,
		Stream:       c.Stream,
		IncludeUsage: c.StreamOptions != nil && c.StreamOptions.IncludeUsage,
		RequestID:    "req-1",
	}
}

const (
	plainBody  = `{"model":"test-model","messages":[{"role":"user","content":"one two three"}],"tools":[{"type":"function","function":{"name":"f","parameters":{}}}],"x_vendor":{"k":1}}`
	streamBody = `{"model":"test-model","stream":true,"messages":[{"role":"user","content":"one two three"}]}`
	usageBody  = `{"model":"test-model","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"one two three"}]}`
)

var wantUsage = openai.Usage{PromptTokens: 3, CompletionTokens: 3, TotalTokens: 6}

func TestChat(t *testing.T) {
	ss := servers(t, 1, upstreamtest.Options{})
	b := newBackend(t, Config{}, urls(ss...)...)
	var out recorder
	if err := b.Do(context.Background(), chatReq(t, plainBody), &out); err != nil {
		t.Fatal(err)
	}
	if len(out.data) != 1 || out.text(t) != "one two three" {
		t.Fatalf("data %q", out.events())
	}
	if diff := cmp.Diff([]openai.Usage{wantUsage}, out.usage); diff != "" {
		t.Errorf("usage (-want +got):\n%s", diff)
	}
	reqs := ss[0].RequestsTo("/v1/chat/completions")
	if len(reqs) != 1 {
		t.Fatalf("upstream saw %d requests, want 1", len(reqs))
	}
	got := reqs[0]
	if string(got.Body) != plainBody {
		t.Errorf("forwarded body %s, want the client's %s", got.Body, plainBody)
	}
	for h, want := range map[string]string{"Authorization": "Bearer " + key, "X-Request-Id": "req-1", "Content-Type": "application/json"} {
		if v := got.Header.Get(h); v != want {
			t.Errorf("header %s = %q, want %q", h, v, want)
		}
	}
	if !b.Healthy() {
		t.Errorf("Healthy = false")
	}
}

func TestCompletionAndEmbeddings(t *testing.T) {
	ss := servers(t, 1, upstreamtest.Options{EmbeddingDim: 4})
	b := newBackend(t, Config{}, urls(ss...)...)
	ctx := context.Background()

	cbody := `{"model":"test-model","prompt":"a b","stream":true}`
	creq, err := openai.DecodeCompletionRequest([]byte(cbody))
	if err != nil {
		t.Fatal(err)
	}
	var out recorder
	err = b.Do(ctx, &backend.Request{Endpoint: backend.Completion, Model: "test-model", Body: []byte(cbody), Completion: creq, Stream: true}, &out)
	if err != nil {
		t.Fatal(err)
	}
	if got := out.text(t); got != "a b" {
		t.Errorf("completion text %q", got)
	}
	if diff := cmp.Diff([]openai.Usage{{PromptTokens: 2, CompletionTokens: 2, TotalTokens: 4}}, out.usage); diff != "" {
		t.Errorf("usage (-want +got):\n%s", diff)
	}

	for _, format := range []string{"", "float", "base64"} {
		t.Run("embeddings "+format, func(t *testing.T) {
			ss[0].ResetRequests()
			ebody := `{"model":"test-model","input":["x y","z"]}`
			if format != "" {
				ebody = `{"model":"test-model","input":["x y","z"],"encoding_format":"` + format + `"}`
			}
			ereq, err := openai.DecodeEmbeddingRequest([]byte(ebody))
			if err != nil {
				t.Fatal(err)
			}
			var out recorder
			if err := b.Do(ctx, &backend.Request{Endpoint: backend.Embedding, Model: "test-model", Body: []byte(ebody), Embedding: ereq}, &out); err != nil {
				t.Fatal(err)
			}
			sent := ss[0].RequestsTo("/v1/embeddings")[0].Body
			if f := string(lookup(sent, "encoding_format")); format == "base64" && f != `"float"` {
				t.Errorf("upstream was asked for %s, want float", f)
			} else if format != "base64" && string(sent) != ebody {
				t.Errorf("forwarded %s, want %s", sent, ebody)
			}
			var resp struct {
				Data []struct {
					Embedding json.RawMessage `json:"embedding"`
				} `json:"data"`
				Usage openai.Usage `json:"usage"`
			}
			if len(out.data) != 1 || json.Unmarshal(out.data[0], &resp) != nil || len(resp.Data) != 2 {
				t.Fatalf("answer %q", out.events())
			}
			for i, in := range []string{"x y", "z"} {
				vec := upstreamtest.Embedding(in, 4)
				var want string
				if format == "base64" {
					want = `"` + upstreamtest.EncodeBase64(vec) + `"`
				} else {
					b, _ := json.Marshal(vec)
					want = string(b)
				}
				if got := string(resp.Data[i].Embedding); got != want {
					t.Errorf("embedding %d = %s, want %s", i, got, want)
				}
			}
			if diff := cmp.Diff([]openai.Usage{{PromptTokens: 3, TotalTokens: 3}}, out.usage); diff != "" {
				t.Errorf("usage (-want +got):\n%s", diff)
			}
		})
	}
}

// TestStreamUsage checks that include_usage is always asked for, that
// usage is reported exactly whatever the server's habit, and that a client
// sees usage only when it asked.
func TestStreamUsage(t *testing.T) {
	tests := []struct {
		name       string
		mode       upstreamtest.UsageMode
		body       string
		usageChunk bool // the client gets a chunk with empty choices and usage
		usageKeys  int  // chunks with a "usage" member the client gets
		usage      openai.Usage
	}{
		{"openai unasked", upstreamtest.UsageOpenAI, streamBody, false, 0, wantUsage},
		{"openai asked", upstreamtest.UsageOpenAI, usageBody, true, 6, wantUsage},
		{"last chunk unasked", upstreamtest.UsageOnLastChunk, streamBody, false, 0, wantUsage},
		{"last chunk asked", upstreamtest.UsageOnLastChunk, usageBody, false, 5, wantUsage},
		{"always unasked", upstreamtest.UsageAlways, streamBody, false, 0, wantUsage},
		{"never", upstreamtest.UsageNever, usageBody, false, 0, openai.Usage{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ss := servers(t, 1, upstreamtest.Options{Usage: tt.mode})
			b := newBackend(t, Config{}, urls(ss...)...)
			var out recorder
			if err := b.Do(context.Background(), chatReq(t, tt.body), &out); err != nil {
				t.Fatal(err)
			}
			if got := out.text(t); got != "one two three" {
				t.Errorf("text %q", got)
			}
			if diff := cmp.Diff([]openai.Usage{tt.usage}, out.usage); diff != "" {
				t.Errorf("usage (-want +got):\n%s", diff)
			}
			keys, usageChunk := 0, false
			for _, d := range out.data {
				if lookup(d, "usage") != nil {
					keys++
				}
				if u := lookup(d, "usage"); !isNull(u) && isEmptyArray(lookup(d, "choices")) {
					usageChunk = true
				}
			}
			if keys != tt.usageKeys || usageChunk != tt.usageChunk {
				t.Errorf("client saw %d chunks with usage (usage chunk %v), want %d (%v):\n%s", keys, usageChunk, tt.usageKeys, tt.usageChunk, strings.Join(out.events(), "\n"))
			}
			sent := ss[0].RequestsTo("/v1/chat/completions")[0].Body
			if got := string(lookup(lookup(sent, "stream_options"), "include_usage")); got != "true" {
				t.Errorf("upstream request %s lacks include_usage", sent)
			}
		})
	}
}

func TestStreamOptionsKept(t *testing.T) {
	ss := servers(t, 1, upstreamtest.Options{})
	b := newBackend(t, Config{}, urls(ss...)...)
	body := `{"model":"test-model","stream":true,"stream_options":{"include_usage":false,"continuous_usage_stats":false},"messages":[{"role":"user","content":"a"}],"logprobs":true}`
	if err := b.Do(context.Background(), chatReq(t, body), &recorder{}); err != nil {
		t.Fatal(err)
	}
	sent := ss[0].RequestsTo("/v1/chat/completions")[0].Body
	var got map[string]any
	if err := json.Unmarshal(sent, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"model": "test-model", "stream": true, "logprobs": true,
		"stream_options": map[string]any{"include_usage": true, "continuous_usage_stats": false},
		"messages":       []any{map[string]any{"role": "user", "content": "a"}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("forwarded body (-want +got):\n%s", diff)
	}
}

func TestAliases(t *testing.T) {
	ss := servers(t, 1, upstreamtest.Options{})
	b := newBackend(t, Config{Models: []string{"test-model"}, Aliases: map[string]string{"friendly": "test-model"}}, urls(ss...)...)
	ms, err := b.Models(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]backend.Model{{ID: "friendly", OwnedBy: "up"}, {ID: "test-model", OwnedBy: "up"}}, ms); diff != "" {
		t.Errorf("models (-want +got):\n%s", diff)
	}
	req := chatReq(t, strings.Replace(plainBody, "test-model", "friendly", 1))
	if err := b.Do(context.Background(), req, &recorder{}); err != nil {
		t.Fatal(err)
	}
	sent := ss[0].RequestsTo("/v1/chat/completions")[0].Body
	if got := string(lookup(sent, "model")); got != `"test-model"` {
		t.Errorf("upstream was asked for model %s", got)
	}
	err = b.Do(context.Background(), chatReq(t, strings.Replace(plainBody, "test-model", "other", 1)), &recorder{})
	if !errors.Is(err, backend.ErrUnknownModel) {
		t.Errorf("unknown model: err = %v, want ErrUnknownModel", err)
	}
}

func TestLoadBalance(t *testing.T) {
	ss := servers(t, 3, upstreamtest.Options{})
	b := newBackend(t, Config{}, urls(ss...)...)
	for range 30 {
		if err := b.Do(context.Background(), chatReq(t, plainBody), &recorder{}); err != nil {
			t.Fatal(err)
		}
	}
	var got, conns []int64
	for _, s := range ss {
		got = append(got, s.Started())
		conns = append(conns, s.Connections())
	}
	if diff := cmp.Diff([]int64{10, 10, 10}, got); diff != "" {
		t.Errorf("requests per replica (-want +got):\n%s", diff)
	}
	// One request at a time: each replica's connection is reused.
	if diff := cmp.Diff([]int64{1, 1, 1}, conns); diff != "" {
		t.Errorf("connections per replica (-want +got):\n%s", diff)
	}
}

// TestLeastInFlight holds requests on the replicas and checks that new
// ones go where fewest are waiting.
func TestLeastInFlight(t *testing.T) {
	ss := servers(t, 2, upstreamtest.Options{})
	ss[0].Hang(true)
	ss[1].Hang(true)
	b := newBackend(t, Config{}, urls(ss...)...)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for i := range int64(4) {
		wg.Go(func() { b.Do(ctx, chatReq(t, plainBody), &recorder{}) })
		waitFor(t, func() bool { return ss[0].Active()+ss[1].Active() == i+1 })
	}
	if a, b := ss[0].Active(), ss[1].Active(); a != 2 || b != 2 {
		t.Errorf("in flight %d and %d, want 2 and 2", a, b)
	}
	st := b.Status()
	if st[0].InFlight != 2 || st[1].InFlight != 2 {
		t.Errorf("status in flight %d and %d, want 2 and 2", st[0].InFlight, st[1].InFlight)
	}
	cancel()
	wg.Wait()
}

func TestFailover(t *testing.T) {
	refused := closedURL(t)
	tests := []struct {
		name   string
		fault  func(*upstreamtest.Server)
		stream bool
	}{
		{"500", func(s *upstreamtest.Server) { s.FailNext(100, 500) }, false},
		{"503 stream", func(s *upstreamtest.Server) { s.FailNext(100, 503) }, true},
		{"429", func(s *upstreamtest.Server) { s.FailNext(100, 429) }, false},
		{"408", func(s *upstreamtest.Server) { s.FailNext(100, 408) }, false},
		{"hang", func(s *upstreamtest.Server) { s.Hang(true) }, false},
		{"hang stream", func(s *upstreamtest.Server) { s.Hang(true) }, true},
		{"closed connection", func(s *upstreamtest.Server) { s.CloseConnection(true) }, false},
		{"bad json", func(s *upstreamtest.Server) { s.BadJSON(true) }, false},
		{"bad json stream", func(s *upstreamtest.Server) { s.BadJSON(true) }, true},
		{"drop before first chunk", func(s *upstreamtest.Server) { s.DropStreamAfter(0) }, true},
		{"refused", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ss := servers(t, 2, upstreamtest.Options{})
			first := ss[0].URL
			if tt.fault != nil {
				tt.fault(ss[0])
			} else {
				first = refused
			}
			cfg := Config{Timeout: time.Second, FirstByteTimeout: time.Second}
			b := newBackend(t, cfg, first, ss[1].URL)
			body := plainBody
			if tt.stream {
				body = usageBody
			}
			var out recorder
			start := time.Now()
			if err := b.Do(context.Background(), chatReq(t, body), &out); err != nil {
				t.Fatalf("Do: %v", err)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("failover took %v", d)
			}
			if got := out.text(t); got != "one two three" {
				t.Errorf("text %q", got)
			}
			if diff := cmp.Diff([]openai.Usage{wantUsage}, out.usage); diff != "" {
				t.Errorf("usage (-want +got):\n%s", diff)
			}
			if tt.fault != nil && ss[0].Started() != 1 {
				t.Errorf("the failing replica saw %d requests, want 1", ss[0].Started())
			}
			if ss[1].Started() != 1 {
				t.Errorf("the good replica saw %d requests, want 1", ss[1].Started())
			}
			st := b.Status()
			wantFail := uint64(1)
			if tt.name == "429" {
				wantFail = 0 // busy, not broken
			}
			if st[0].Failures != wantFail || st[1].Failures != 0 {
				t.Errorf("failures %d and %d, want %d and 0", st[0].Failures, st[1].Failures, wantFail)
			}
			if strings.HasPrefix(tt.name, "hang") {
				// The abandoned attempt's connection was closed.
				waitFor(t, func() bool { return ss[0].Cancelled() == 1 })
			}
		})
	}
}

// closedURL returns the URL of a port nothing listens on.
func closedURL(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u := "http://" + ln.Addr().String()
	ln.Close()
	return u
}

func TestAllReplicasFail(t *testing.T) {
	ss := servers(t, 2, upstreamtest.Options{})
	for _, s := range ss {
		s.FailNext(100, 502)
	}
	b := newBackend(t, Config{MaxRetries: 3, BreakerFailures: -1}, urls(ss...)...)
	var out recorder
	err := b.Do(context.Background(), chatReq(t, plainBody), &out)
	if !errors.Is(err, backend.ErrUnavailable) {
		t.Fatalf("err = %v, want ErrUnavailable", err)
	}
	if n := ss[0].Started() + ss[1].Started(); n != 4 {
		t.Errorf("upstreams saw %d attempts, want 4 (1 + MaxRetries)", n)
	}
	if len(out.data) != 0 || len(out.usage) != 0 {
		t.Errorf("output got %q %v", out.events(), out.usage)
	}
}

func TestRetrySameReplica(t *testing.T) {
	ss := servers(t, 1, upstreamtest.Options{})
	ss[0].FailNext(2, 503)
	b := newBackend(t, Config{MaxRetries: 2}, urls(ss...)...)
	if err := b.Do(context.Background(), chatReq(t, plainBody), &recorder{}); err != nil {
		t.Fatal(err)
	}
	if n := ss[0].Started(); n != 3 {
		t.Errorf("upstream saw %d attempts, want 3", n)
	}
	ss[0].FailNext(1, 503)
	b2 := newBackend(t, Config{MaxRetries: -1}, urls(ss...)...)
	if err := b2.Do(context.Background(), chatReq(t, plainBody), &recorder{}); !errors.Is(err, backend.ErrUnavailable) {
		t.Errorf("no retries: err = %v, want ErrUnavailable", err)
	}
}

func TestClientErrors(t *testing.T) {
	tests := []struct {
		name   string
		fault  int
		body   string
		status int
	}{
		{"400 from validation", 0, `{"model":"test-model","messages":[{"role":"user","content":{"bad":1}}]}`, 400},
		{"404", 404, plainBody, 404},
		{"413", 413, plainBody, 413},
		{"422", 422, plainBody, 422},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ss := servers(t, 2, upstreamtest.Options{})
			if tt.fault != 0 {
				ss[0].FailNext(1, tt.fault)
			}
			b := newBackend(t, Config{}, urls(ss...)...)
			req := &backend.Request{Endpoint: backend.Chat, Model: "test-model", Body: []byte(tt.body)}
			err := b.Do(context.Background(), req, &recorder{})
			var apiErr *openai.APIError
			if !errors.As(err, &apiErr) || apiErr.HTTPStatus() != tt.status || apiErr.Message == "" {
				t.Fatalf("err = %#v, want an APIError with status %d", err, tt.status)
			}
			if errors.Is(err, backend.ErrUnavailable) {
				t.Errorf("a client error wraps ErrUnavailable")
			}
			if n := ss[0].Started() + ss[1].Started(); n != 1 {
				t.Errorf("upstreams saw %d attempts, want 1", n)
			}
			if st := b.Status()[0]; st.Failures != 0 {
				t.Errorf("a client error counted as a replica failure: %+v", st)
			}
		})
	}
}

func TestUpstreamRejectsKey(t *testing.T) {
	ss := servers(t, 1, upstreamtest.Options{})
	cfg := Config{Name: "up", URLs: []string{ss[0].URL}, APIKey: "wrong", Models: []string{"test-model"}, HealthInterval: -1}
	b, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	err = b.Do(context.Background(), chatReq(t, plainBody), &recorder{})
	var apiErr *openai.APIError
	if !errors.Is(err, backend.ErrUnavailable) || errors.As(err, &apiErr) {
		t.Errorf("err = %v, want ErrUnavailable and no client-facing 401", err)
	}
}

func TestCircuitBreaker(t *testing.T) {
	ss := servers(t, 1, upstreamtest.Options{})
	b := newBackend(t, Config{MaxRetries: -1, BreakerFailures: 2, BreakerCooldown: 100 * time.Millisecond}, urls(ss...)...)
	ctx := context.Background()
	do := func() error { return b.Do(ctx, chatReq(t, plainBody), &recorder{}) }

	ss[0].FailNext(3, 500)
	for i := range 2 {
		if err := do(); !errors.Is(err, backend.ErrUnavailable) {
			t.Fatalf("failing request %d: err = %v", i, err)
		}
	}
	if st := b.Status()[0]; st.Breaker != BreakerOpen || b.Healthy() {
		t.Fatalf("after 2 failures: %+v, Healthy %v; want open and unhealthy", st, b.Healthy())
	}
	if err := do(); !errors.Is(err, backend.ErrUnavailable) || ss[0].Started() != 2 {
		t.Fatalf("open breaker: err = %v, upstream saw %d; want ErrUnavailable without a request", err, ss[0].Started())
	}
	time.Sleep(120 * time.Millisecond)
	if !b.Healthy() {
		t.Errorf("Healthy = false after the cooldown")
	}
	// The trial fails (the third injected failure): open again.
	if err := do(); !errors.Is(err, backend.ErrUnavailable) || ss[0].Started() != 3 {
		t.Fatalf("failed trial: err = %v, upstream saw %d", err, ss[0].Started())
	}
	if st := b.Status()[0]; st.Breaker != BreakerOpen {
		t.Fatalf("after a failed trial: %+v, want open", st)
	}
	time.Sleep(120 * time.Millisecond)
	if err := do(); err != nil {
		t.Fatalf("good trial: %v", err)
	}
	if st := b.Status()[0]; st.Breaker != BreakerClosed || st.ConsecutiveFailures != 0 || st.LastError != "" {
		t.Errorf("after a good trial: %+v, want closed", st)
	}
}

func TestHealthChecks(t *testing.T) {
	for _, path := range []string{"", "/health"} {
		t.Run("path "+path, func(t *testing.T) {
			ss := servers(t, 2, upstreamtest.Options{Models: []string{"m1", "m2"}})
			b := newBackend(t, Config{HealthInterval: 10 * time.Millisecond, HealthPath: path, Models: []string{}}, urls(ss...)...)
			ctx := context.Background()
			ms, err := b.Models(ctx)
			if err != nil {
				t.Fatal(err)
			}
			want := []backend.Model{{ID: "m1", Created: 1700000000, OwnedBy: "upstreamtest"}, {ID: "m2", Created: 1700000000, OwnedBy: "upstreamtest"}}
			if diff := cmp.Diff(want, ms); diff != "" {
				t.Errorf("discovered models (-want +got):\n%s", diff)
			}
			body := strings.Replace(plainBody, "test-model", "m2", 1)

			ss[0].Unhealthy(true)
			waitFor(t, func() bool { return !b.Status()[0].Healthy })
			if !b.Healthy() {
				t.Errorf("Healthy = false with one replica up")
			}
			ss[0].ResetRequests()
			for range 4 {
				if err := b.Do(ctx, chatReq(t, body), &recorder{}); err != nil {
					t.Fatal(err)
				}
			}
			if n := len(ss[0].RequestsTo("/v1/chat/completions")); n != 0 {
				t.Errorf("an unhealthy replica got %d requests", n)
			}

			ss[1].Unhealthy(true)
			waitFor(t, func() bool { return !b.Healthy() })
			if err := b.Do(ctx, chatReq(t, body), &recorder{}); !errors.Is(err, backend.ErrUnavailable) {
				t.Errorf("all down: err = %v, want ErrUnavailable", err)
			}
			if ms, _ := b.Models(ctx); len(ms) != 2 {
				t.Errorf("models while down: %v, want the last known list", ms)
			}

			ss[0].ResetFaults()
			ss[1].ResetFaults()
			waitFor(t, func() bool { st := b.Status(); return st[0].Healthy && st[1].Healthy })
			if err := b.Do(ctx, chatReq(t, body), &recorder{}); err != nil {
				t.Errorf("after recovery: %v", err)
			}
			for _, r := range ss[0].Requests() {
				if r.Path == "/v1/models" && r.Header.Get("Authorization") != "Bearer "+key {
					t.Errorf("health check without the key: %v", r.Header)
				}
			}
		})
	}
}

func TestDiscoveryFailure(t *testing.T) {
	b := newBackend(t, Config{Models: []string{}}, closedURL(t))
	err := b.Do(context.Background(), chatReq(t, plainBody), &recorder{})
	if !errors.Is(err, backend.ErrUnavailable) {
		t.Errorf("err = %v, want ErrUnavailable", err)
	}
}

func TestMidStreamDrop(t *testing.T) {
	ss := servers(t, 2, upstreamtest.Options{})
	ss[0].DropStreamAfter(2)
	b := newBackend(t, Config{}, urls(ss...)...)
	var out recorder
	err := b.Do(context.Background(), chatReq(t, streamBody), &out)
	if !errors.Is(err, ErrStreamCut) || errors.Is(err, backend.ErrUnavailable) {
		t.Fatalf("err = %v, want ErrStreamCut and not ErrUnavailable", err)
	}
	ev := out.events()
	if len(ev) != 3 || ev[2] != string(earlyEnd) {
		t.Fatalf("events %q, want 2 chunks and the early-end error", ev)
	}
	var e openai.ErrorBody
	if json.Unmarshal(out.data[2], &e) != nil || e.Error == nil || e.Error.Message != "upstream stream ended early" || e.Error.Type != "server_error" {
		t.Errorf("early-end event %s", out.data[2])
	}
	if ss[1].Started() != 0 {
		t.Errorf("a stream that had started was retried")
	}
}

func TestStreamErrorEvent(t *testing.T) {
	ss := servers(t, 1, upstreamtest.Options{})
	ss[0].ErrorEventAfter(2)
	b := newBackend(t, Config{}, urls(ss...)...)
	var out recorder
	err := b.Do(context.Background(), chatReq(t, streamBody), &out)
	if !errors.Is(err, ErrStreamError) || !strings.Contains(err.Error(), "injected stream error") {
		t.Fatalf("err = %v, want ErrStreamError with the upstream's message", err)
	}
	ev := out.events()
	if len(ev) != 3 || !strings.HasPrefix(ev[2], `{"error":{"message":"injected stream error"`) {
		t.Errorf("events %q, want the error event forwarded as is", ev)
	}
}

func TestStreamIdleTimeout(t *testing.T) {
	ss := servers(t, 1, upstreamtest.Options{ChunkDelay: time.Second})
	b := newBackend(t, Config{IdleTimeout: 50 * time.Millisecond}, urls(ss...)...)
	var out recorder
	start := time.Now()
	err := b.Do(context.Background(), chatReq(t, streamBody), &out)
	if !errors.Is(err, ErrStreamCut) || !strings.Contains(err.Error(), "idle") {
		t.Fatalf("err = %v, want ErrStreamCut for the idle timeout", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("idle timeout took %v, longer than the upstream's pause", d)
	}
	waitFor(t, func() bool { return ss[0].Cancelled() == 1 })
}

func TestCancellation(t *testing.T) {
	t.Run("waiting", func(t *testing.T) {
		ss := servers(t, 2, upstreamtest.Options{})
		ss[0].Hang(true)
		b := newBackend(t, Config{}, urls(ss...)...)
		ctx, cancel := context.WithCancel(context.Background())
		go func() {
			// Cancel once the upstream is answering (or after 5s).
			for i := 0; i < 5000 && ss[0].Active() == 0; i++ {
				time.Sleep(time.Millisecond)
			}
			cancel()
		}()
		err := b.Do(ctx, chatReq(t, plainBody), &recorder{})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
		waitFor(t, func() bool { return ss[0].Cancelled() == 1 && ss[0].Active() == 0 })
		if ss[1].Started() != 0 {
			t.Errorf("a cancelled request failed over")
		}
		if st := b.Status()[0]; st.Failures != 0 || st.InFlight != 0 {
			t.Errorf("status after cancellation %+v", st)
		}
	})
	t.Run("streaming", func(t *testing.T) {
		ss := servers(t, 1, upstreamtest.Options{ChunkDelay: 50 * time.Millisecond})
		b := newBackend(t, Config{}, urls(ss...)...)
		ctx, cancel := context.WithCancel(context.Background())
		out := &cancelOnData{cancel: cancel}
		err := b.Do(ctx, chatReq(t, streamBody), out)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
		waitFor(t, func() bool { return ss[0].Cancelled() == 1 && ss[0].Active() == 0 })
	})
	t.Run("client write fails", func(t *testing.T) {
		ss := servers(t, 1, upstreamtest.Options{ChunkDelay: 20 * time.Millisecond})
		b := newBackend(t, Config{}, urls(ss...)...)
		out := &recorder{failAt: 2}
		if err := b.Do(context.Background(), chatReq(t, streamBody), out); err == nil || err.Error() != "client gone" {
			t.Fatalf("err = %v, want the output's error", err)
		}
		waitFor(t, func() bool { return ss[0].Cancelled() == 1 && ss[0].Active() == 0 })
	})
}

// cancelOnData cancels the request's context on the first event.
type cancelOnData struct {
	recorder
	cancel context.CancelFunc
}

func (c *cancelOnData) Data(p []byte) error {
	c.cancel()
	return c.recorder.Data(p)
}

func TestBoundedBody(t *testing.T) {
	ss := servers(t, 2, upstreamtest.Options{Reply: strings.Repeat("word ", 100)})
	b := newBackend(t, Config{MaxResponseBytes: 256}, urls(ss...)...)
	var out recorder
	err := b.Do(context.Background(), chatReq(t, plainBody), &out)
	if err == nil || !strings.Contains(err.Error(), "over 256 bytes") {
		t.Fatalf("err = %v, want a size error", err)
	}
	if errors.Is(err, backend.ErrUnavailable) || len(out.data) != 0 {
		t.Errorf("oversized answer: ErrUnavailable %v, %d payloads", errors.Is(err, backend.ErrUnavailable), len(out.data))
	}
	if ss[1].Started() != 0 {
		t.Errorf("an oversized answer was retried")
	}
}

func TestConcurrent(t *testing.T) {
	ss := servers(t, 3, upstreamtest.Options{TokensPerChunk: 2})
	b := newBackend(t, Config{HealthInterval: 5 * time.Millisecond}, urls(ss...)...)
	var wg sync.WaitGroup
	errs := make(chan error, 60)
	for i := range 60 {
		wg.Go(func() {
			body := []string{plainBody, streamBody, usageBody}[i%3]
			var out recorder
			if err := b.Do(context.Background(), chatReq(t, body), &out); err != nil {
				errs <- err
				return
			}
			if len(out.usage) != 1 || out.usage[0] != wantUsage {
				errs <- fmt.Errorf("request %d: usage %v", i, out.usage)
			}
			_ = b.Status()
			_ = b.Healthy()
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in 5s")
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// BenchmarkDo measures a request through the Backend against calling the
// test upstream directly, on loopback.
func BenchmarkDo(b *testing.B) {
	s := upstreamtest.New(upstreamtest.Options{APIKey: key, MaxRecorded: -1})
	defer s.Close()
	be, err := New(Config{Name: "bench", URLs: []string{s.URL}, APIKey: key, Models: []string{"test-model"}, HealthInterval: -1}, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer be.Close()
	for _, body := range []string{plainBody, streamBody} {
		name := "plain"
		if strings.Contains(body, "stream") {
			name = "stream"
		}
		c, err := openai.DecodeChatCompletionRequest([]byte(body))
		if err != nil {
			b.Fatal(err)
		}
		req := &backend.Request{Endpoint: backend.Chat, Model: c.Model, Body: []byte(body), Chat: c, Stream: c.Stream}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := be.Do(context.Background(), req, discard{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

type discard struct{}

func (discard) Data([]byte) error  { return nil }
func (discard) Usage(openai.Usage) {}
