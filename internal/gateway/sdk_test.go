package gateway_test

// The official OpenAI Go SDK, unmodified, against the gateway in front of a
// test upstream.

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	sdk "github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"sov.dev/sov/internal/keys"
	"sov.dev/sov/internal/upstream/upstreamtest"
)

func TestOfficialSDK(t *testing.T) {
	const reply = "Hello from the upstream model"
	up := newUpstream(t, upstreamtest.Options{Models: []string{"m", "n"}, Reply: reply, EmbeddingDim: 16})
	h := newHarness(t, setup{backends: backends(served(t, "up", "", up, "m", "n"))})
	secret := h.key(keys.CreateOptions{Name: "sdk"})
	client := sdk.NewClient(option.WithBaseURL(h.url+"/v1/"), option.WithAPIKey(secret), option.WithMaxRetries(0))
	ctx := context.Background()
	prompt := "three word prompt"
	wantUsage := func(t *testing.T, u sdk.CompletionUsage) {
		t.Helper()
		p, c := int64(upstreamtest.CountTokens(prompt)), int64(upstreamtest.CountTokens(reply))
		if u.PromptTokens != p || u.CompletionTokens != c || u.TotalTokens != p+c {
			t.Errorf("usage %d/%d/%d, want %d/%d/%d", u.PromptTokens, u.CompletionTokens, u.TotalTokens, p, c, p+c)
		}
	}

	t.Run("chat", func(t *testing.T) {
		var httpResp *http.Response
		c, err := client.Chat.Completions.New(ctx, sdk.ChatCompletionNewParams{
			Model:       "m",
			Messages:    []sdk.ChatCompletionMessageParamUnion{sdk.UserMessage(prompt)},
			Temperature: sdk.Float(0.5),
			Seed:        sdk.Int(7),
		}, option.WithResponseInto(&httpResp))
		if err != nil {
			t.Fatal(err)
		}
		if got := c.Choices[0].Message.Content; got != reply {
			t.Errorf("content %q, want %q", got, reply)
		}
		if c.Choices[0].FinishReason != "stop" || c.Model != "m" {
			t.Errorf("finish %q model %q", c.Choices[0].FinishReason, c.Model)
		}
		wantUsage(t, c.Usage)
		if httpResp.Header.Get("X-Request-Id") == "" {
			t.Error("no x-request-id")
		}
	})

	for _, includeUsage := range []bool{true, false} {
		name := "stream"
		params := sdk.ChatCompletionNewParams{
			Model:    "m",
			Messages: []sdk.ChatCompletionMessageParamUnion{sdk.UserMessage(prompt)},
		}
		if includeUsage {
			name += " with usage"
			params.StreamOptions = sdk.ChatCompletionStreamOptionsParam{IncludeUsage: sdk.Bool(true)}
		}
		t.Run(name, func(t *testing.T) {
			stream := client.Chat.Completions.NewStreaming(ctx, params)
			var acc sdk.ChatCompletionAccumulator
			chunks := 0
			for stream.Next() {
				chunks++
				if !acc.AddChunk(stream.Current()) {
					t.Fatalf("chunk %d does not accumulate", chunks)
				}
			}
			if err := stream.Err(); err != nil {
				t.Fatal(err)
			}
			if got := acc.Choices[0].Message.Content; got != reply {
				t.Errorf("accumulated %q, want %q", got, reply)
			}
			if acc.Choices[0].FinishReason != "stop" {
				t.Errorf("finish %q", acc.Choices[0].FinishReason)
			}
			if includeUsage {
				// The accumulator adds up every usage it sees: exact only
				// if usage came once.
				wantUsage(t, acc.Usage)
			} else if acc.Usage.TotalTokens != 0 {
				t.Errorf("usage %+v sent to a client that did not ask", acc.Usage)
			}
		})
	}

	for _, format := range []sdk.EmbeddingNewParamsEncodingFormat{"", sdk.EmbeddingNewParamsEncodingFormatFloat, sdk.EmbeddingNewParamsEncodingFormatBase64} {
		name := "embeddings " + string(format)
		if format == "" {
			name = "embeddings default"
		}
		t.Run(name, func(t *testing.T) {
			inputs := []string{"first text", "second"}
			e, err := client.Embeddings.New(ctx, sdk.EmbeddingNewParams{
				Model:          "m",
				Input:          sdk.EmbeddingNewParamsInputUnion{OfArrayOfStrings: inputs},
				EncodingFormat: format,
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(e.Data) != len(inputs) {
				t.Fatalf("%d embeddings", len(e.Data))
			}
			for i, d := range e.Data {
				// Vectors are float32 on the wire; the SDK reads them as
				// float64 from the shortest float32 text, or exactly from
				// base64: compare at float32 precision.
				got := []float32{}
				for _, v := range d.Embedding {
					got = append(got, float32(v))
				}
				if d.Index != int64(i) {
					t.Errorf("index %d, want %d", d.Index, i)
				}
				if diff := cmp.Diff(upstreamtest.Embedding(inputs[i], 16), got); diff != "" {
					t.Errorf("embedding %d (-want +got):\n%s", i, diff)
				}
			}
			if e.Usage.PromptTokens != 3 || e.Usage.TotalTokens != 3 {
				t.Errorf("usage %+v", e.Usage)
			}
			// What the upstream was asked: floats (base64 is encoded by
			// the gateway), and the format the client named otherwise.
			reqs := up.RequestsTo("/v1/embeddings")
			body := string(reqs[len(reqs)-1].Body)
			if format == sdk.EmbeddingNewParamsEncodingFormatBase64 && !strings.Contains(body, `"encoding_format":"float"`) {
				t.Errorf("base64 asked upstream as %s", body)
			}
			// Unlike the Python SDK, the Go SDK does not ask for base64
			// by default: it sends no encoding_format at all.
			if format == "" && strings.Contains(body, "encoding_format") {
				t.Errorf("the default request names a format: %s", body)
			}
		})
	}

	t.Run("completion", func(t *testing.T) {
		c, err := client.Completions.New(ctx, sdk.CompletionNewParams{
			Model:  "n",
			Prompt: sdk.CompletionNewParamsPromptUnion{OfString: sdk.String(prompt)},
		})
		if err != nil {
			t.Fatal(err)
		}
		if c.Choices[0].Text != reply {
			t.Errorf("text %q", c.Choices[0].Text)
		}
		wantUsage(t, c.Usage)
	})

	t.Run("models", func(t *testing.T) {
		page, err := client.Models.List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, m := range page.Data {
			ids = append(ids, m.ID)
			if m.OwnedBy != "up" {
				t.Errorf("%s owned by %q", m.ID, m.OwnedBy)
			}
		}
		slices.Sort(ids)
		if diff := cmp.Diff([]string{"m", "n"}, ids); diff != "" {
			t.Errorf("models (-want +got):\n%s", diff)
		}
		m, err := client.Models.Get(ctx, "n")
		if err != nil || m.ID != "n" {
			t.Errorf("get n: %+v, %v", m, err)
		}
	})

	errorTests := []struct {
		name        string
		client      sdk.Client
		model       string
		status      int
		typ, code   string
		param       string
		shouldRetry string
		temperature float64
	}{
		{"unknown model", client, "nope", 404, "invalid_request_error", "model_not_found", "model", "", 0},
		{"bad parameter", client, "m", 400, "invalid_request_error", "", "temperature", "", 9},
		{"wrong key", sdk.NewClient(option.WithBaseURL(h.url+"/v1/"), option.WithAPIKey("sov-"+strings.Repeat("x", 43)), option.WithMaxRetries(0)),
			"m", 401, "invalid_request_error", "invalid_api_key", "", "", 0},
		{"backend down", client, "m", 503, "server_error", "backend_unavailable", "", "true", 0},
	}
	for _, tt := range errorTests {
		t.Run("error "+tt.name, func(t *testing.T) {
			if tt.status == 503 {
				up.FailNext(1, 500)
			}
			params := sdk.ChatCompletionNewParams{Model: tt.model, Messages: []sdk.ChatCompletionMessageParamUnion{sdk.UserMessage("hi")}}
			if tt.temperature != 0 {
				params.Temperature = sdk.Float(tt.temperature)
			}
			_, err := tt.client.Chat.Completions.New(ctx, params)
			var apiErr *sdk.Error
			if !errors.As(err, &apiErr) {
				t.Fatalf("err = %v (%T), want *openai.Error", err, err)
			}
			if apiErr.StatusCode != tt.status || apiErr.Type != tt.typ || apiErr.Code != tt.code || apiErr.Param != tt.param {
				t.Errorf("status %d type %q code %q param %q, want %d %q %q %q",
					apiErr.StatusCode, apiErr.Type, apiErr.Code, apiErr.Param, tt.status, tt.typ, tt.code, tt.param)
			}
			if apiErr.Message == "" {
				t.Error("no message")
			}
			if id := apiErr.Response.Header.Get("X-Request-Id"); !strings.HasPrefix(id, "req_") {
				t.Errorf("x-request-id %q", id)
			}
			if got := apiErr.Response.Header.Get("X-Should-Retry"); got != tt.shouldRetry {
				t.Errorf("x-should-retry %q, want %q", got, tt.shouldRetry)
			}
		})
	}
}
