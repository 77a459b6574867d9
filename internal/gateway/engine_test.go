package gateway_test

import (
	"bufio"
	"context"
	"fmt"
	"testing"

	"sov.dev/sov/internal/keys"
	"sov.dev/sov/internal/upstream/upstreamtest"
)

// TestEngine serves the tiny synthetic model from the vault through the
// gateway: the embedded engine is a backend like any other.
func TestEngine(t *testing.T) {
	run := engine(t, "eu")
	up := newUpstream(t, upstreamtest.Options{Models: []string{"remote"}})
	h := newHarness(t, setup{backends: backends(run, served(t, "up", "us", up, "remote"))})
	secret := h.key(keys.CreateOptions{Name: "app"})

	t.Run("models", func(t *testing.T) {
		resp, body := h.do("GET", "/v1/models", secret, nil)
		if resp.StatusCode != 200 {
			t.Fatalf("status %d", resp.StatusCode)
		}
		ids := modelIDs(t, body)
		if len(ids) != 2 || ids[0] != "remote" || ids[1] != "tiny:latest" {
			t.Errorf("models %v", ids)
		}
	})

	t.Run("chat", func(t *testing.T) {
		resp, body := h.chat(secret, chatBody("tiny", "Hello there", `,"temperature":0,"max_tokens":8`))
		if resp.StatusCode != 200 {
			t.Fatalf("status %d: %s", resp.StatusCode, body)
		}
		var c struct {
			Object string `json:"object"`
			Model  string `json:"model"`
			Usage  usage  `json:"usage"`
		}
		mustJSON(t, string(body), &c)
		replyOf(t, body)
		if c.Object != "chat.completion" || c.Usage.PromptTokens == 0 || c.Usage.CompletionTokens == 0 ||
			c.Usage.CompletionTokens > 8 || c.Usage.TotalTokens != c.Usage.PromptTokens+c.Usage.CompletionTokens {
			t.Errorf("completion %+v", c)
		}
		e := h.audit.inference(t, resp.Header.Get("X-Request-Id"))
		if e.data["backend"] != "local" || e.data["tokens_out"] != c.Usage.CompletionTokens {
			t.Errorf("audit record %v", e.data)
		}
	})

	t.Run("stream with usage", func(t *testing.T) {
		resp, body := h.chat(secret, chatBody("tiny", "Hello there", `,"temperature":0,"max_tokens":8,"stream":true,"stream_options":{"include_usage":true}`))
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
			t.Fatalf("status %d, content-type %q: %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
		}
		events := readSSE(t, body)
		if events[len(events)-1] != "[DONE]" {
			t.Fatalf("no [DONE] last: %q", events)
		}
		var last chunk
		mustJSON(t, events[len(events)-2], &last)
		if last.Usage == nil || last.Usage.CompletionTokens == 0 || len(last.Choices) != 0 {
			t.Errorf("the last chunk is not the usage chunk: %s", events[len(events)-2])
		}
	})

	t.Run("embeddings", func(t *testing.T) {
		resp, body := h.do("POST", "/v1/embeddings", secret, `{"model":"tiny","input":["one","two"]}`)
		if resp.StatusCode != 200 {
			t.Fatalf("status %d: %s", resp.StatusCode, body)
		}
		var e struct {
			Data []struct {
				Index     int       `json:"index"`
				Embedding []float64 `json:"embedding"`
			} `json:"data"`
		}
		mustJSON(t, string(body), &e)
		if len(e.Data) != 2 || e.Data[1].Index != 1 || len(e.Data[0].Embedding) == 0 {
			t.Errorf("embeddings %s", body)
		}
	})

	t.Run("residency", func(t *testing.T) {
		usKey := h.key(keys.CreateOptions{Name: "us-key", Jurisdictions: []string{"us"}})
		resp, body := h.chat(usKey, chatBody("tiny", "hi", ""))
		wantError(t, resp, body, 403, "permission_error", "residency_violation")
		if st := run.Status(); len(st.Models) != 1 {
			t.Errorf("engine status %+v", st)
		}
	})
}

// TestEngineDisconnect: a client that goes away mid-stream stops the
// engine's generation: the request ends long before max_tokens, and the
// model's session is free again.
func TestEngineDisconnect(t *testing.T) {
	run := engine(t, "")
	h := newHarness(t, setup{backends: backends(run)})
	secret := h.key(keys.CreateOptions{Name: "app"})

	// Find a seed with which the random model does not end its turn
	// within 30 tokens; the same seed then gives the same first 30 tokens
	// of a longer generation.
	seed := -1
	for s := range 40 {
		resp, body := h.chat(secret, chatBody("tiny", "Go on forever", fmt.Sprintf(`,"max_tokens":30,"temperature":1,"seed":%d`, s)))
		var c struct {
			Choices []struct {
				FinishReason string `json:"finish_reason"`
			} `json:"choices"`
		}
		mustJSON(t, string(body), &c)
		if resp.StatusCode == 200 && len(c.Choices) == 1 && c.Choices[0].FinishReason == "length" {
			seed = s
			break
		}
	}
	if seed < 0 {
		t.Fatal("no seed gives 30 tokens")
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	resp := h.sendCtx(ctx, "POST", "/v1/chat/completions", secret,
		chatBody("tiny", "Go on forever", fmt.Sprintf(`,"max_tokens":900,"temperature":1,"seed":%d,"stream":true,"stream_options":{"include_usage":true}`, seed)))
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	id := resp.Header.Get("X-Request-Id")
	events := readEvents(t, bufio.NewReader(resp.Body), 3)
	var c chunk
	mustJSON(t, events[2], &c)
	if len(c.Choices) != 1 || c.Choices[0].FinishReason != nil {
		t.Fatalf("the generation ended before the disconnect: %s", events[2])
	}
	cancel()
	resp.Body.Close()

	e := h.audit.inference(t, id)
	if e.data["status"] != 499 {
		t.Errorf("audit status %v, want 499", e.data["status"])
	}
	out, _ := e.data["tokens_out"].(int)
	if out >= 900 {
		t.Errorf("%d tokens generated after the disconnect", out)
	}
	t.Logf("seed %d: %d tokens generated before the generation stopped", seed, out)
	eventually(t, "the engine to be idle", func() bool {
		st := run.Status()
		return len(st.Models) == 1 && st.Models[0].Busy == 0 && st.Models[0].Users == 0
	})
	// The session serves the next request.
	resp2, body := h.chat(secret, chatBody("tiny", "Hi", `,"max_tokens":2`))
	if resp2.StatusCode != 200 {
		t.Errorf("after the disconnect: status %d: %s", resp2.StatusCode, body)
	}
}
