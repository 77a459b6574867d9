package upstreamtest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"math"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// post sends body to path and returns the status and the whole answer.
func post(t *testing.T, s *Server, path, body string, header ...string) (int, []byte, error) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, s.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// events splits a server-sent event stream into its data payloads.
func events(t *testing.T, b []byte) []string {
	t.Helper()
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			continue
		}
		data, ok := strings.CutPrefix(line, "data: ")
		if !ok {
			t.Fatalf("stream line %q is not a data line", line)
		}
		out = append(out, data)
	}
	return out
}

type usage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	TotalTokens      int `json:"total_tokens"`
}

type chunk struct {
	Choices []struct {
		Delta struct {
			Role    string `json:"role"`
			Content string `json:"content"`
		} `json:"delta"`
		Text         string  `json:"text"`
		FinishReason *string `json:"finish_reason"`
	} `json:"choices"`
	Usage *usage `json:"usage"`
}

// streamSummary is what a stream said, for comparison in tests.
type streamSummary struct {
	Text      string
	Finish    string
	Usage     *usage
	UsageKeys int  // chunks with a "usage" key at all
	UsageOnly bool // the usage came in a chunk without choices
	Done      bool
}

func summarize(t *testing.T, payloads []string) streamSummary {
	t.Helper()
	var s streamSummary
	for _, p := range payloads {
		if p == "[DONE]" {
			s.Done = true
			continue
		}
		var raw map[string]json.RawMessage
		if err := json.Unmarshal([]byte(p), &raw); err != nil {
			t.Fatalf("chunk %q: %v", p, err)
		}
		if _, ok := raw["usage"]; ok {
			s.UsageKeys++
		}
		var c chunk
		if err := json.Unmarshal([]byte(p), &c); err != nil {
			t.Fatalf("chunk %q: %v", p, err)
		}
		for _, ch := range c.Choices {
			s.Text += ch.Delta.Content + ch.Text
			if ch.FinishReason != nil {
				s.Finish = *ch.FinishReason
			}
		}
		if c.Usage != nil {
			s.Usage = c.Usage
			s.UsageOnly = len(c.Choices) == 0
		}
	}
	return s
}

func TestChat(t *testing.T) {
	s := New(Options{APIKey: "k"})
	defer s.Close()
	auth := []string{"Authorization", "Bearer k"}
	tests := []struct {
		name string
		body string
		want string // the content
		u    usage
		fin  string
	}{
		{"echo", `{"model":"test-model","messages":[{"role":"system","content":"be brief"},{"role":"user","content":"hello  there\nworld"}]}`, "hello there world", usage{5, 3, 8}, "stop"},
		{"parts", `{"model":"test-model","messages":[{"role":"user","content":[{"type":"text","text":"a b"},{"type":"text","text":"c"}]}]}`, "a b c", usage{3, 3, 6}, "stop"},
		{"max_tokens", `{"model":"test-model","max_tokens":2,"messages":[{"role":"user","content":"one two three"}]}`, "one two", usage{3, 2, 5}, "length"},
		{"max_completion_tokens", `{"model":"test-model","max_completion_tokens":1,"messages":[{"role":"user","content":"one two three"}]}`, "one", usage{3, 1, 4}, "length"},
		{"escapes", `{"model":"test-model","messages":[{"role":"user","content":"say \"hi\"\\ \u0001 ü"}]}`, "say \"hi\"\\ \u0001 ü", usage{4, 4, 8}, "stop"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body, err := post(t, s, "/v1/chat/completions", tt.body, auth...)
			if err != nil || status != 200 {
				t.Fatalf("status %d, err %v: %s", status, err, body)
			}
			var resp struct {
				Object  string `json:"object"`
				Model   string `json:"model"`
				Choices []struct {
					Message struct {
						Role    string `json:"role"`
						Content string `json:"content"`
					} `json:"message"`
					FinishReason string `json:"finish_reason"`
				} `json:"choices"`
				Usage usage `json:"usage"`
			}
			if err := json.Unmarshal(body, &resp); err != nil {
				t.Fatalf("%v: %s", err, body)
			}
			if resp.Object != "chat.completion" || resp.Model != "test-model" || len(resp.Choices) != 1 {
				t.Fatalf("bad answer %s", body)
			}
			if got := resp.Choices[0].Message.Content; got != tt.want {
				t.Errorf("content = %q, want %q", got, tt.want)
			}
			if got := resp.Choices[0].FinishReason; got != tt.fin {
				t.Errorf("finish_reason = %q, want %q", got, tt.fin)
			}
			if diff := cmp.Diff(tt.u, resp.Usage); diff != "" {
				t.Errorf("usage (-want +got):\n%s", diff)
			}
		})
	}
}

func TestErrors(t *testing.T) {
	s := New(Options{APIKey: "k"})
	defer s.Close()
	tests := []struct {
		name, path, body string
		header           []string
		status           int
	}{
		{"no key", "/v1/chat/completions", `{}`, nil, 401},
		{"wrong key", "/v1/chat/completions", `{}`, []string{"Authorization", "Bearer x"}, 401},
		{"bad json", "/v1/chat/completions", `{`, []string{"Authorization", "Bearer k"}, 400},
		{"no messages", "/v1/chat/completions", `{"model":"test-model"}`, []string{"Authorization", "Bearer k"}, 400},
		{"unknown model", "/v1/chat/completions", `{"model":"x","messages":[{"role":"user","content":"a"}]}`, []string{"Authorization", "Bearer k"}, 404},
		{"bad prompt", "/v1/completions", `{"model":"test-model","prompt":{}}`, []string{"Authorization", "Bearer k"}, 400},
		{"bad format", "/v1/embeddings", `{"model":"test-model","input":"a","encoding_format":"int8"}`, []string{"Authorization", "Bearer k"}, 400},
		{"unknown path", "/v1/nope", `{}`, nil, 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body, err := post(t, s, tt.path, tt.body, tt.header...)
			if err != nil {
				t.Fatal(err)
			}
			if status != tt.status {
				t.Errorf("status = %d, want %d (%s)", status, tt.status, body)
			}
			var e struct {
				Error struct {
					Message string `json:"message"`
					Type    string `json:"type"`
				} `json:"error"`
			}
			if err := json.Unmarshal(body, &e); err != nil || e.Error.Message == "" || e.Error.Type == "" {
				t.Errorf("error body %s is not OpenAI-shaped (%v)", body, err)
			}
		})
	}
}

func TestStream(t *testing.T) {
	const prompt = `[{"role":"user","content":"a b c d e"}]`
	tests := []struct {
		name string
		mode UsageMode
		body string
		want streamSummary
	}{
		{"plain", UsageOpenAI, `{"model":"test-model","stream":true,"messages":` + prompt + `}`,
			streamSummary{Text: "a b c d e", Finish: "stop", Done: true}},
		{"include_usage", UsageOpenAI, `{"model":"test-model","stream":true,"stream_options":{"include_usage":true},"messages":` + prompt + `}`,
			streamSummary{Text: "a b c d e", Finish: "stop", Usage: &usage{5, 5, 10}, UsageKeys: 6, UsageOnly: true, Done: true}},
		{"max_tokens", UsageOpenAI, `{"model":"test-model","stream":true,"max_tokens":3,"stream_options":{"include_usage":true},"messages":` + prompt + `}`,
			streamSummary{Text: "a b c", Finish: "length", Usage: &usage{5, 3, 8}, UsageKeys: 5, UsageOnly: true, Done: true}},
		{"on last chunk", UsageOnLastChunk, `{"model":"test-model","stream":true,"stream_options":{"include_usage":true},"messages":` + prompt + `}`,
			streamSummary{Text: "a b c d e", Finish: "stop", Usage: &usage{5, 5, 10}, UsageKeys: 5, Done: true}},
		{"on last chunk unasked", UsageOnLastChunk, `{"model":"test-model","stream":true,"messages":` + prompt + `}`,
			streamSummary{Text: "a b c d e", Finish: "stop", Done: true}},
		{"always", UsageAlways, `{"model":"test-model","stream":true,"messages":` + prompt + `}`,
			streamSummary{Text: "a b c d e", Finish: "stop", Usage: &usage{5, 5, 10}, UsageKeys: 1, Done: true}},
		{"never", UsageNever, `{"model":"test-model","stream":true,"stream_options":{"include_usage":true},"messages":` + prompt + `}`,
			streamSummary{Text: "a b c d e", Finish: "stop", Done: true}},
		{"completions", UsageOpenAI, `{"model":"test-model","stream":true,"stream_options":{"include_usage":true},"prompt":"x y"}`,
			streamSummary{Text: "x y", Finish: "stop", Usage: &usage{2, 2, 4}, UsageKeys: 3, UsageOnly: true, Done: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New(Options{Usage: tt.mode, TokensPerChunk: 2})
			defer s.Close()
			path := "/v1/chat/completions"
			if strings.Contains(tt.body, `"prompt"`) {
				path = "/v1/completions"
			}
			status, body, err := post(t, s, path, tt.body)
			if err != nil || status != 200 {
				t.Fatalf("status %d, err %v: %s", status, err, body)
			}
			got := summarize(t, events(t, body))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("stream (-want +got):\n%s\n%s", diff, body)
			}
		})
	}
}

func TestCompletion(t *testing.T) {
	s := New(Options{Reply: "fixed  reply here"})
	defer s.Close()
	status, body, err := post(t, s, "/v1/completions", `{"model":"test-model","prompt":["a b","c d e"]}`)
	if err != nil || status != 200 {
		t.Fatalf("status %d, err %v: %s", status, err, body)
	}
	var resp struct {
		Object  string `json:"object"`
		Choices []struct {
			Text string `json:"text"`
		} `json:"choices"`
		Usage usage `json:"usage"`
	}
	if err := json.Unmarshal(body, &resp); err != nil {
		t.Fatal(err)
	}
	if resp.Object != "text_completion" || len(resp.Choices) != 1 || resp.Choices[0].Text != "fixed reply here" {
		t.Errorf("answer %s", body)
	}
	if diff := cmp.Diff(usage{5, 3, 8}, resp.Usage); diff != "" {
		t.Errorf("usage (-want +got):\n%s", diff)
	}
}

func TestEmbeddings(t *testing.T) {
	s := New(Options{EmbeddingDim: 5})
	defer s.Close()
	type item struct {
		Index     int             `json:"index"`
		Embedding json.RawMessage `json:"embedding"`
	}
	type resp struct {
		Data  []item `json:"data"`
		Usage usage  `json:"usage"`
	}
	get := func(format string) resp {
		body := `{"model":"test-model","input":["one two","three"]`
		if format != "" {
			body += `,"encoding_format":"` + format + `"`
		}
		status, b, err := post(t, s, "/v1/embeddings", body+"}")
		if err != nil || status != 200 {
			t.Fatalf("status %d, err %v: %s", status, err, b)
		}
		var r resp
		if err := json.Unmarshal(b, &r); err != nil {
			t.Fatal(err)
		}
		return r
	}
	fl, b64 := get("float"), get("base64")
	if diff := cmp.Diff(usage{PromptTokens: 3, TotalTokens: 3}, fl.Usage); diff != "" {
		t.Errorf("usage (-want +got):\n%s", diff)
	}
	if len(fl.Data) != 2 || len(b64.Data) != 2 {
		t.Fatalf("got %d and %d embeddings, want 2", len(fl.Data), len(b64.Data))
	}
	for i, text := range []string{"one two", "three"} {
		var vec []float32
		if err := json.Unmarshal(fl.Data[i].Embedding, &vec); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(Embedding(text, 5), vec); diff != "" {
			t.Errorf("float embedding %d (-want +got):\n%s", i, diff)
		}
		var s string
		if err := json.Unmarshal(b64.Data[i].Embedding, &s); err != nil {
			t.Fatal(err)
		}
		raw, err := base64.StdEncoding.DecodeString(s)
		if err != nil || len(raw) != 20 {
			t.Fatalf("base64 embedding %q: %v", s, err)
		}
		for j := range vec {
			if got := math.Float32frombits(binary.LittleEndian.Uint32(raw[4*j:])); got != vec[j] {
				t.Errorf("embedding %d value %d: base64 has %v, float %v", i, j, got, vec[j])
			}
		}
	}
}

func TestModelsAndHealth(t *testing.T) {
	s := New(Options{Models: []string{"a", "b"}, APIKey: "k"})
	defer s.Close()
	get := func(path string, key string) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, s.URL+path, nil)
		if key != "" {
			req.Header.Set("Authorization", "Bearer "+key)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if status, _ := get("/v1/models", ""); status != 401 {
		t.Errorf("models without key: status %d, want 401", status)
	}
	status, body := get("/v1/models", "k")
	var list struct {
		Data []struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	if err := json.Unmarshal([]byte(body), &list); status != 200 || err != nil || len(list.Data) != 2 || list.Data[1].ID != "b" {
		t.Errorf("models: %d %s (%v)", status, body, err)
	}
	if status, _ := get("/health", ""); status != 200 {
		t.Errorf("health: status %d, want 200", status)
	}
	s.Unhealthy(true)
	for _, p := range []string{"/health", "/v1/models"} {
		if status, _ := get(p, "k"); status != 503 {
			t.Errorf("unhealthy %s: status %d, want 503", p, status)
		}
	}
	s.ResetFaults()
	if status, _ := get("/health", ""); status != 200 {
		t.Errorf("health after reset: status %d, want 200", status)
	}
}

const chatBody = `{"model":"test-model","messages":[{"role":"user","content":"a b c"}]}`
const streamBody = `{"model":"test-model","stream":true,"messages":[{"role":"user","content":"a b c"}]}`

func TestFaults(t *testing.T) {
	t.Run("FailNext", func(t *testing.T) {
		s := New(Options{})
		defer s.Close()
		s.FailNext(2, 503)
		var got []int
		for range 3 {
			status, _, err := post(t, s, "/v1/chat/completions", chatBody)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, status)
		}
		if diff := cmp.Diff([]int{503, 503, 200}, got); diff != "" {
			t.Errorf("statuses (-want +got):\n%s", diff)
		}
	})
	t.Run("BadJSON", func(t *testing.T) {
		s := New(Options{})
		defer s.Close()
		s.BadJSON(true)
		for _, body := range []string{chatBody, streamBody} {
			status, b, err := post(t, s, "/v1/chat/completions", body)
			if err != nil || status != 200 {
				t.Fatalf("status %d, err %v", status, err)
			}
			if strings.Contains(body, "stream") {
				b = []byte(events(t, b)[0])
			}
			if json.Valid(b) {
				t.Errorf("BadJSON answered valid JSON %s", b)
			}
		}
	})
	t.Run("Slow", func(t *testing.T) {
		s := New(Options{Latency: 20 * time.Millisecond})
		defer s.Close()
		s.Slow(30 * time.Millisecond)
		start := time.Now()
		if status, _, err := post(t, s, "/v1/chat/completions", chatBody); err != nil || status != 200 {
			t.Fatalf("status %d, err %v", status, err)
		}
		if d := time.Since(start); d < 50*time.Millisecond {
			t.Errorf("answer took %v, want at least 50ms", d)
		}
	})
	t.Run("Hang", func(t *testing.T) {
		s := New(Options{})
		defer s.Close()
		s.Hang(true)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go func() {
			for i := 0; i < 5000 && s.Active() == 0; i++ {
				time.Sleep(time.Millisecond)
			}
			cancel()
		}()
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, s.URL+"/v1/chat/completions", strings.NewReader(chatBody))
		_, err := http.DefaultClient.Do(req)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
		waitFor(t, func() bool { return s.Cancelled() == 1 && s.Active() == 0 })
	})
	t.Run("CloseConnection", func(t *testing.T) {
		s := New(Options{})
		defer s.Close()
		s.CloseConnection(true)
		if _, _, err := post(t, s, "/v1/chat/completions", chatBody); err == nil {
			t.Errorf("request on a closed connection succeeded")
		}
	})
	t.Run("DropStreamAfter", func(t *testing.T) {
		s := New(Options{})
		defer s.Close()
		s.DropStreamAfter(2)
		status, b, err := post(t, s, "/v1/chat/completions", streamBody)
		if status != 200 || !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("status %d, err %v, want 200 and an unexpected EOF", status, err)
		}
		if got := len(events(t, b)); got != 2 {
			t.Errorf("got %d events before the drop, want 2", got)
		}
	})
	t.Run("ErrorEventAfter", func(t *testing.T) {
		s := New(Options{})
		defer s.Close()
		s.ErrorEventAfter(1)
		_, b, err := post(t, s, "/v1/chat/completions", streamBody)
		if err != nil {
			t.Fatal(err)
		}
		ev := events(t, b)
		if len(ev) != 3 || !strings.HasPrefix(ev[1], `{"error":`) || ev[2] != "[DONE]" {
			t.Errorf("events %q, want a chunk, an error and [DONE]", ev)
		}
	})
	t.Run("ClientGoneMidStream", func(t *testing.T) {
		s := New(Options{ChunkDelay: 20 * time.Millisecond})
		defer s.Close()
		ctx, cancel := context.WithCancel(context.Background())
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, s.URL+"/v1/chat/completions", strings.NewReader(streamBody))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		cancel()
		resp.Body.Close()
		waitFor(t, func() bool { return s.Cancelled() == 1 && s.Active() == 0 })
	})
}

func TestRecords(t *testing.T) {
	s := New(Options{MaxRecorded: 2})
	defer s.Close()
	for _, id := range []string{"1", "2", "3"} {
		if _, _, err := post(t, s, "/v1/chat/completions", chatBody, "X-Request-Id", id); err != nil {
			t.Fatal(err)
		}
	}
	reqs := s.RequestsTo("/v1/chat/completions")
	var ids []string
	for _, r := range reqs {
		ids = append(ids, r.Header.Get("X-Request-Id"))
		if string(r.Body) != chatBody {
			t.Errorf("recorded body %q, want %q", r.Body, chatBody)
		}
	}
	if diff := cmp.Diff([]string{"2", "3"}, ids); diff != "" {
		t.Errorf("recorded ids (-want +got):\n%s", diff)
	}
	if s.Started() != 3 {
		t.Errorf("Started = %d, want 3", s.Started())
	}
	s.ResetRequests()
	if n := len(s.Requests()); n != 0 {
		t.Errorf("%d requests after reset", n)
	}
}

func TestServe(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, addr, Options{Reply: "hi"}) }()
	var resp *http.Response
	waitFor(t, func() bool {
		resp, err = http.Post("http://"+addr+"/v1/chat/completions", "application/json", strings.NewReader(chatBody))
		return err == nil
	})
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), `"content":"hi"`) {
		t.Errorf("answer %s", b)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Serve: %v", err)
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

func BenchmarkChat(b *testing.B) {
	s := New(Options{MaxRecorded: -1})
	defer s.Close()
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr}
	for _, body := range []string{chatBody, streamBody} {
		name := "plain"
		if strings.Contains(body, "stream") {
			name = "stream"
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					resp, err := c.Post(s.URL+"/v1/chat/completions", "application/json", strings.NewReader(body))
					if err != nil {
						b.Error(err)
						return
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			})
		})
	}
}
