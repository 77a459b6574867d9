package openai

// This test proves the wire shapes: the official Go SDK talks to a server
// that decodes its requests with this package's decoders and answers with
// this package's types.

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/google/go-cmp/cmp"
	sdk "github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
)

// sdkVector is the embedding the test server returns, chosen so that
// float32 values survive both the float and the base64 path exactly.
var sdkVector = []float32{0.5, -0.25, 0.0023064255, 1e-7, -3}

func sdkServer(t *testing.T) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	body := func(w http.ResponseWriter, r *http.Request) []byte {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			t.Errorf("read body: %v", err)
		}
		return b
	}
	reply := func(w http.ResponseWriter, v any) {
		w.Header().Set("Content-Type", "application/json")
		if err := json.NewEncoder(w).Encode(v); err != nil {
			t.Errorf("encode: %v", err)
		}
	}
	mux.HandleFunc("POST /v1/chat/completions", func(w http.ResponseWriter, r *http.Request) {
		req, err := DecodeChatCompletionRequest(body(w, r))
		if err != nil {
			WriteError(w, err)
			return
		}
		if req.Model == "limited" {
			w.Header().Set("Retry-After", "1")
			WriteError(w, RateLimited(CodeRateLimitExceeded, "Rate limit reached for requests."))
			return
		}
		usage := &Usage{PromptTokens: 7, CompletionTokens: 3, TotalTokens: 10}
		if !req.Stream {
			reply(w, ChatCompletion{
				ID: NewID("chatcmpl-"), Created: 1700000000, Model: req.Model,
				Choices: []ChatChoice{{Message: ChatMessage{Role: RoleAssistant, Content: TextContent("Hello, " + req.Messages[0].Content.Text())}, FinishReason: "stop"}},
				Usage:   usage,
			})
			return
		}
		WriteHeaders(w.Header())
		sse := NewWriter(w)
		id := NewID("chatcmpl-")
		withUsage := req.StreamOptions != nil && req.StreamOptions.IncludeUsage
		send := func(c ChatCompletionChunk) {
			c.ID, c.Created, c.Model, c.NullUsage = id, 1700000000, req.Model, withUsage
			b, err := json.Marshal(c)
			if err != nil {
				t.Errorf("marshal chunk: %v", err)
			}
			if err := sse.Event(b); err != nil {
				t.Errorf("event: %v", err)
			}
		}
		send(ChatCompletionChunk{Choices: []ChunkChoice{{Delta: ChatDelta{Role: RoleAssistant, Content: ptr("")}}}})
		for _, piece := range []string{"Hel", "lo", "!"} {
			send(ChatCompletionChunk{Choices: []ChunkChoice{{Delta: ChatDelta{Content: ptr(piece)}}}})
		}
		send(ChatCompletionChunk{Choices: []ChunkChoice{{FinishReason: ptr("stop")}}})
		if withUsage {
			send(ChatCompletionChunk{Usage: usage})
		}
		sse.Done()
	})
	mux.HandleFunc("POST /v1/completions", func(w http.ResponseWriter, r *http.Request) {
		req, err := DecodeCompletionRequest(body(w, r))
		if err != nil {
			WriteError(w, err)
			return
		}
		reply(w, Completion{
			ID: NewID("cmpl-"), Created: 1700000000, Model: req.Model,
			Choices: []CompletionChoice{{Text: req.Prompt.Text + " done", FinishReason: ptr("length")}},
			Usage:   &Usage{PromptTokens: 2, CompletionTokens: 1, TotalTokens: 3},
		})
	})
	mux.HandleFunc("POST /v1/embeddings", func(w http.ResponseWriter, r *http.Request) {
		req, err := DecodeEmbeddingRequest(body(w, r))
		if err != nil {
			WriteError(w, err)
			return
		}
		w.Header().Set("X-Test-Format", req.Format())
		resp := EmbeddingResponse{Model: req.Model, Usage: Usage{PromptTokens: 4, TotalTokens: 4}}
		for i := range req.Input.Len() {
			resp.Data = append(resp.Data, Embedding{Index: i, Vector: sdkVector, Format: req.Format()})
		}
		reply(w, resp)
	})
	mux.HandleFunc("GET /v1/models", func(w http.ResponseWriter, r *http.Request) {
		reply(w, ModelList{Data: []Model{{ID: "tiny", Created: 1700000000, OwnedBy: "sov"}}})
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func TestOfficialSDK(t *testing.T) {
	srv := sdkServer(t)
	client := sdk.NewClient(
		option.WithBaseURL(srv.URL+"/v1/"),
		option.WithAPIKey("sk-test"),
		option.WithMaxRetries(0),
	)
	ctx := context.Background()

	t.Run("chat", func(t *testing.T) {
		c, err := client.Chat.Completions.New(ctx, sdk.ChatCompletionNewParams{
			Model:       "tiny",
			Messages:    []sdk.ChatCompletionMessageParamUnion{sdk.UserMessage("world")},
			Temperature: sdk.Float(0.2),
			Seed:        sdk.Int(7),
		})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := c.Choices[0].Message.Content, "Hello, world"; got != want {
			t.Errorf("content = %q, want %q", got, want)
		}
		if got, want := c.Choices[0].FinishReason, "stop"; got != want {
			t.Errorf("finish_reason = %q, want %q", got, want)
		}
		if c.Usage.PromptTokens != 7 || c.Usage.CompletionTokens != 3 || c.Usage.TotalTokens != 10 {
			t.Errorf("usage = %+v", c.Usage)
		}
		if string(c.Object) != "chat.completion" || len(c.ID) != len("chatcmpl-")+24 {
			t.Errorf("object %q id %q", c.Object, c.ID)
		}
	})

	for _, includeUsage := range []bool{true, false} {
		name := "stream"
		params := sdk.ChatCompletionNewParams{
			Model:    "tiny",
			Messages: []sdk.ChatCompletionMessageParamUnion{sdk.SystemMessage("Be brief."), sdk.UserMessage("hi")},
		}
		if includeUsage {
			name += " with usage"
			params.StreamOptions = sdk.ChatCompletionStreamOptionsParam{IncludeUsage: sdk.Bool(true)}
		}
		t.Run(name, func(t *testing.T) {
			stream := client.Chat.Completions.NewStreaming(ctx, params)
			var acc sdk.ChatCompletionAccumulator
			var chunks, usageChunks int
			var lastUsage sdk.CompletionUsage
			for stream.Next() {
				chunk := stream.Current()
				chunks++
				acc.AddChunk(chunk)
				if chunk.JSON.Usage.Valid() && chunk.Usage.TotalTokens > 0 {
					usageChunks++
					lastUsage = chunk.Usage
					if len(chunk.Choices) != 0 {
						t.Errorf("usage chunk has %d choices", len(chunk.Choices))
					}
				}
			}
			if err := stream.Err(); err != nil {
				t.Fatal(err)
			}
			if chunks != 5+btoi(includeUsage) {
				t.Errorf("%d chunks", chunks)
			}
			if got, want := acc.Choices[0].Message.Content, "Hello!"; got != want {
				t.Errorf("accumulated content = %q, want %q", got, want)
			}
			if got, want := acc.Choices[0].FinishReason, "stop"; got != want {
				t.Errorf("finish_reason = %q, want %q", got, want)
			}
			wantUsage := 0
			if includeUsage {
				wantUsage = 1
				if lastUsage.TotalTokens != 10 || lastUsage.PromptTokens != 7 {
					t.Errorf("usage = %+v", lastUsage)
				}
			}
			if usageChunks != wantUsage {
				t.Errorf("%d usage chunks, want %d", usageChunks, wantUsage)
			}
		})
	}

	t.Run("completion", func(t *testing.T) {
		c, err := client.Completions.New(ctx, sdk.CompletionNewParams{
			Model:     "tiny",
			Prompt:    sdk.CompletionNewParamsPromptUnion{OfString: sdk.String("Once")},
			MaxTokens: sdk.Int(1),
		})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := c.Choices[0].Text, "Once done"; got != want {
			t.Errorf("text = %q, want %q", got, want)
		}
		if c.Usage.TotalTokens != 3 {
			t.Errorf("usage = %+v", c.Usage)
		}
	})

	for _, format := range []sdk.EmbeddingNewParamsEncodingFormat{sdk.EmbeddingNewParamsEncodingFormatFloat, sdk.EmbeddingNewParamsEncodingFormatBase64} {
		t.Run("embeddings "+string(format), func(t *testing.T) {
			var httpResp *http.Response
			e, err := client.Embeddings.New(ctx, sdk.EmbeddingNewParams{
				Model:          "tiny",
				Input:          sdk.EmbeddingNewParamsInputUnion{OfArrayOfStrings: []string{"a", "b"}},
				EncodingFormat: format,
			}, option.WithResponseInto(&httpResp))
			if err != nil {
				t.Fatal(err)
			}
			if got := httpResp.Header.Get("X-Test-Format"); got != string(format) {
				t.Errorf("server answered in %q, want %q", got, format)
			}
			if len(e.Data) != 2 || e.Data[1].Index != 1 {
				t.Fatalf("data = %+v", e.Data)
			}
			want := make([]float64, len(sdkVector))
			for i, v := range sdkVector {
				want[i] = float64(v)
			}
			for _, d := range e.Data {
				// The SDK reads floats as float64; compare at float32 precision.
				got := make([]float64, len(d.Embedding))
				for i, v := range d.Embedding {
					got[i] = float64(float32(v))
				}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("embedding %d (-want +got)\n%s", d.Index, diff)
				}
			}
			if e.Usage.PromptTokens != 4 || e.Usage.TotalTokens != 4 {
				t.Errorf("usage = %+v", e.Usage)
			}
		})
	}

	t.Run("models", func(t *testing.T) {
		page, err := client.Models.List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Data) != 1 || page.Data[0].ID != "tiny" || page.Data[0].OwnedBy != "sov" {
			t.Errorf("models = %+v", page.Data)
		}
	})

	t.Run("rate limited", func(t *testing.T) {
		_, err := client.Chat.Completions.New(ctx, sdk.ChatCompletionNewParams{
			Model:    "limited",
			Messages: []sdk.ChatCompletionMessageParamUnion{sdk.UserMessage("hi")},
		})
		var apiErr *sdk.Error
		if !errors.As(err, &apiErr) {
			t.Fatalf("err = %v (%T), want *openai.Error", err, err)
		}
		if apiErr.StatusCode != http.StatusTooManyRequests {
			t.Errorf("status = %d", apiErr.StatusCode)
		}
		if apiErr.Code != CodeRateLimitExceeded || apiErr.Type != TypeRateLimit {
			t.Errorf("code %q type %q", apiErr.Code, apiErr.Type)
		}
		if apiErr.Message != "Rate limit reached for requests." {
			t.Errorf("message = %q", apiErr.Message)
		}
	})

	t.Run("bad request", func(t *testing.T) {
		_, err := client.Chat.Completions.New(ctx, sdk.ChatCompletionNewParams{
			Model:       "tiny",
			Messages:    []sdk.ChatCompletionMessageParamUnion{sdk.UserMessage("hi")},
			Temperature: sdk.Float(5),
		})
		var apiErr *sdk.Error
		if !errors.As(err, &apiErr) {
			t.Fatalf("err = %v (%T), want *openai.Error", err, err)
		}
		if apiErr.StatusCode != http.StatusBadRequest || apiErr.Param != "temperature" || apiErr.Type != TypeInvalidRequest {
			t.Errorf("status %d param %q type %q", apiErr.StatusCode, apiErr.Param, apiErr.Type)
		}
	})
}
