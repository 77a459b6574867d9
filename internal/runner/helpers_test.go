package runner

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"sov.dev/sov/internal/backend"
	"sov.dev/sov/internal/gguf"
	"sov.dev/sov/internal/openai"
	"sov.dev/sov/internal/synth"
	"sov.dev/sov/internal/tokenizer"
	"sov.dev/sov/internal/vault"
)

// testVault is a vault in a temporary SOV_HOME.
func testVault(t *testing.T) *vault.Vault {
	t.Helper()
	v, err := vault.Open(context.Background(), filepath.Join(t.TempDir(), "sovhome"), vault.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { v.Close() })
	return v
}

// modelFile writes a tiny synthetic model of the preset "tiny".
func modelFile(t *testing.T, arch string, seed uint64) string {
	t.Helper()
	p, err := synth.FindPreset(arch, "tiny")
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := synth.WriteModel(&buf, synth.ModelSpec{Preset: p, FileType: "Q8_0", Seed: seed}); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), arch+".gguf")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// importModel imports a tiny synthetic model under name and returns the
// path of its file (outside the vault).
func importModel(t *testing.T, v *vault.Vault, name, arch string, seed uint64) string {
	t.Helper()
	path := modelFile(t, arch, seed)
	if _, err := v.Import(context.Background(), path, vault.ImportOptions{Name: name}); err != nil {
		t.Fatal(err)
	}
	return path
}

// fileTokenizer reads the tokenizer of a model file.
func fileTokenizer(t *testing.T, path string) *tokenizer.Tokenizer {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	f, err := gguf.Parse(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := tokenizer.FromGGUF(f)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func newRunner(t *testing.T, opts Options) *Runner {
	t.Helper()
	if opts.Threads == 0 {
		opts.Threads = 1
	}
	if opts.MemoryBudget == 0 {
		opts.MemoryBudget = -1
	}
	r := New(opts)
	t.Cleanup(func() { r.Close() })
	return r
}

// recorder is a backend.Output that keeps what it is given.
type recorder struct {
	mu     sync.Mutex
	data   []string
	usage  []openai.Usage
	onData func(n int, payload string) error // called after each Data, with the count so far
}

func (r *recorder) Data(b []byte) error {
	r.mu.Lock()
	r.data = append(r.data, string(b))
	n := len(r.data)
	f := r.onData
	r.mu.Unlock()
	if f != nil {
		return f(n, string(b))
	}
	return nil
}

func (r *recorder) Usage(u openai.Usage) {
	r.mu.Lock()
	r.usage = append(r.usage, u)
	r.mu.Unlock()
}

// chatRequest decodes a chat request body as the gateway does.
func chatRequest(t *testing.T, body string) *backend.Request {
	t.Helper()
	c, err := openai.DecodeChatCompletionRequest([]byte(body))
	if err != nil {
		t.Fatalf("decoding %s: %v", body, err)
	}
	return &backend.Request{
		Endpoint: backend.Chat, Model: c.Model, Body: []byte(body), Chat: c, Stream: c.Stream,
		IncludeUsage: c.StreamOptions != nil && c.StreamOptions.IncludeUsage, KeyID: "key",
	}
}

func completionRequest(t *testing.T, body string) *backend.Request {
	t.Helper()
	c, err := openai.DecodeCompletionRequest([]byte(body))
	if err != nil {
		t.Fatalf("decoding %s: %v", body, err)
	}
	return &backend.Request{
		Endpoint: backend.Completion, Model: c.Model, Body: []byte(body), Completion: c, Stream: c.Stream,
		IncludeUsage: c.StreamOptions != nil && c.StreamOptions.IncludeUsage, KeyID: "key",
	}
}

func embeddingRequest(t *testing.T, body string) *backend.Request {
	t.Helper()
	e, err := openai.DecodeEmbeddingRequest([]byte(body))
	if err != nil {
		t.Fatalf("decoding %s: %v", body, err)
	}
	return &backend.Request{Endpoint: backend.Embedding, Model: e.Model, Body: []byte(body), Embedding: e, KeyID: "key"}
}

// do runs a request to completion and fails the test on error.
func do(t *testing.T, r *Runner, req *backend.Request) *recorder {
	t.Helper()
	rec := &recorder{}
	if err := r.Do(context.Background(), req, rec); err != nil {
		t.Fatalf("Do: %v", err)
	}
	return rec
}

// chatText runs a non-streamed chat request and returns its completion.
func chatText(t *testing.T, r *Runner, body string) (openai.ChatCompletion, string) {
	t.Helper()
	rec := do(t, r, chatRequest(t, body))
	if len(rec.data) != 1 {
		t.Fatalf("%d payloads, want 1", len(rec.data))
	}
	var c struct {
		openai.ChatCompletion
		Choices []struct {
			Message struct {
				Role    string `json:"role"`
				Content string `json:"content"`
			} `json:"message"`
			FinishReason string `json:"finish_reason"`
		} `json:"choices"`
	}
	if err := json.Unmarshal([]byte(rec.data[0]), &c); err != nil {
		t.Fatalf("%v in %s", err, rec.data[0])
	}
	if len(c.Choices) != 1 {
		t.Fatalf("choices: %s", rec.data[0])
	}
	cc := c.ChatCompletion
	cc.Choices = []openai.ChatChoice{{FinishReason: c.Choices[0].FinishReason, Message: openai.ChatMessage{Role: c.Choices[0].Message.Role}}}
	return cc, c.Choices[0].Message.Content
}

// apiError returns err as an *openai.APIError, failing the test if it is
// not one.
func apiError(t *testing.T, err error) *openai.APIError {
	t.Helper()
	var e *openai.APIError
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not an *openai.APIError", err, err)
	}
	return e
}

// logCounter counts log messages by text.
type logCounter struct {
	mu    sync.Mutex
	count map[string]int
}

func (l *logCounter) Enabled(context.Context, slog.Level) bool { return true }
func (l *logCounter) Handle(_ context.Context, rec slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.count == nil {
		l.count = map[string]int{}
	}
	l.count[rec.Message]++
	return nil
}
func (l *logCounter) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *logCounter) WithGroup(string) slog.Handler      { return l }

func (l *logCounter) n(msg string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.count[msg]
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func loadedNames(r *Runner) string {
	var names []string
	for _, m := range r.Status().Models {
		names = append(names, m.Name)
	}
	return strings.Join(names, ",")
}
