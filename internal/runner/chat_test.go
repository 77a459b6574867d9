package runner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"sov.dev/sov/internal/backend"
	"sov.dev/sov/internal/openai"
	"sov.dev/sov/internal/tokenizer"
)

func TestModels(t *testing.T) {
	v := testVault(t)
	importModel(t, v, "tiny", "qwen2", 1)
	importModel(t, v, "other:v2", "llama", 2)
	r := newRunner(t, Options{Vault: v})
	got, err := r.Models(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, m := range got {
		ids = append(ids, m.ID)
		if m.OwnedBy == "" || m.Created == 0 {
			t.Errorf("%s: owned_by %q created %d", m.ID, m.OwnedBy, m.Created)
		}
	}
	if diff := cmp.Diff([]string{"other:v2", "tiny:latest"}, ids); diff != "" {
		t.Errorf("models (-want +got):\n%s", diff)
	}
}

func TestChatNonStream(t *testing.T) {
	v := testVault(t)
	path := importModel(t, v, "tiny", "qwen2", 1)
	r := newRunner(t, Options{Vault: v})
	body := `{"model":"tiny","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Hello there"}],"temperature":0,"max_tokens":12}`
	rec := do(t, r, chatRequest(t, body))
	var c struct {
		ID      string `json:"id"`
		Object  string `json:"object"`
		Created int64  `json:"created"`
		Model   string `json:"model"`
		Choices []struct {
			Index   int `json:"index"`
			Message struct {
				Role    string `json:"role"`
				Content string `json:"content"`
			} `json:"message"`
			FinishReason string           `json:"finish_reason"`
			Logprobs     *json.RawMessage `json:"logprobs"`
		} `json:"choices"`
		Usage openai.Usage `json:"usage"`
	}
	if len(rec.data) != 1 {
		t.Fatalf("%d payloads, want 1", len(rec.data))
	}
	if err := json.Unmarshal([]byte(rec.data[0]), &c); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(c.ID, "chatcmpl-") || c.Object != "chat.completion" || c.Created == 0 || c.Model != "tiny" {
		t.Errorf("id %q object %q created %d model %q", c.ID, c.Object, c.Created, c.Model)
	}
	if len(c.Choices) != 1 || c.Choices[0].Message.Role != "assistant" || c.Choices[0].Message.Content == "" {
		t.Fatalf("choices: %s", rec.data[0])
	}

	// Usage is exact: the prompt as the ChatML template renders it, as the
	// tokenizer counts it, and every generated token.
	tok := fileTokenizer(t, path)
	prompt, err := tok.Encode("<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHello there<|im_end|>\n<|im_start|>assistant\n", tokenizer.EncodeOptions{ParseSpecial: true})
	if err != nil {
		t.Fatal(err)
	}
	want := openai.Usage{PromptTokens: len(prompt), CompletionTokens: 12, TotalTokens: len(prompt) + 12, PromptTokensDetails: &openai.PromptTokensDetails{}}
	if c.Choices[0].FinishReason == "stop" {
		// The model ended its turn early: count its tokens.
		n, _ := tok.Encode(c.Choices[0].Message.Content, tokenizer.EncodeOptions{})
		t.Logf("finished early after about %d tokens", len(n))
		want.CompletionTokens = c.Usage.CompletionTokens
		want.TotalTokens = want.PromptTokens + want.CompletionTokens
	} else if c.Choices[0].FinishReason != "length" {
		t.Errorf("finish_reason %q", c.Choices[0].FinishReason)
	}
	if diff := cmp.Diff(want, c.Usage); diff != "" {
		t.Errorf("usage in the body (-want +got):\n%s", diff)
	}
	if len(rec.usage) != 1 || cmp.Diff(want, rec.usage[0]) != "" {
		t.Errorf("Output.Usage calls: %+v, want one %+v", rec.usage, want)
	}

	// The same conversation again reuses the session's cache.
	rec = do(t, r, chatRequest(t, body))
	if u := rec.usage[0]; u.PromptTokensDetails == nil || u.PromptTokensDetails.CachedTokens != len(prompt)-1 {
		t.Errorf("second turn: %+v, want %d cached tokens", u.PromptTokensDetails, len(prompt)-1)
	}
}

// chunk is a streamed payload, decoded loosely enough to see nulls.
type chunk struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Model   string `json:"model"`
	Choices []struct {
		Delta struct {
			Role    *string `json:"role"`
			Content *string `json:"content"`
		} `json:"delta"`
		FinishReason *string `json:"finish_reason"`
	} `json:"choices"`
	Usage *openai.Usage `json:"usage"`
}

func TestChatStream(t *testing.T) {
	v := testVault(t)
	importModel(t, v, "tiny", "qwen2", 1)
	r := newRunner(t, Options{Vault: v})
	base := `"model":"tiny","messages":[{"role":"user","content":"Tell me a story"}],"temperature":0,"max_tokens":10,"stream":true`
	_, full := chatText(t, r, `{"model":"tiny","messages":[{"role":"user","content":"Tell me a story"}],"temperature":0,"max_tokens":10}`)

	for _, includeUsage := range []bool{false, true} {
		t.Run(fmt.Sprintf("include_usage=%v", includeUsage), func(t *testing.T) {
			body := "{" + base + "}"
			if includeUsage {
				body = "{" + base + `,"stream_options":{"include_usage":true}}`
			}
			rec := do(t, r, chatRequest(t, body))
			var chunks []chunk
			for _, d := range rec.data {
				var c chunk
				if err := json.Unmarshal([]byte(d), &c); err != nil {
					t.Fatalf("%v in %s", err, d)
				}
				if !strings.Contains(d, `"usage"`) == includeUsage {
					t.Errorf("usage field present=%v, want %v: %s", strings.Contains(d, `"usage"`), includeUsage, d)
				}
				chunks = append(chunks, c)
			}
			n := len(chunks)
			if includeUsage {
				n--
				last := chunks[n]
				if len(last.Choices) != 0 || last.Usage == nil {
					t.Fatalf("last chunk is not the usage chunk: %s", rec.data[n])
				}
				if diff := cmp.Diff(rec.usage[0], *last.Usage); diff != "" {
					t.Errorf("usage chunk vs Output.Usage (-want +got):\n%s", diff)
				}
			}
			if n < 3 {
				t.Fatalf("%d chunks: %q", n, rec.data)
			}
			first := chunks[0].Choices[0]
			if first.Delta.Role == nil || *first.Delta.Role != "assistant" || first.Delta.Content == nil || *first.Delta.Content != "" || first.FinishReason != nil {
				t.Errorf("first chunk: %s", rec.data[0])
			}
			var text strings.Builder
			for i, c := range chunks[:n] {
				if c.Object != "chat.completion.chunk" || c.ID != chunks[0].ID || c.Model != "tiny" || len(c.Choices) != 1 {
					t.Errorf("chunk %d: %s", i, rec.data[i])
				}
				if i > 0 && i < n-1 {
					ch := c.Choices[0]
					if ch.Delta.Role != nil || ch.Delta.Content == nil || ch.FinishReason != nil {
						t.Errorf("content chunk %d: %s", i, rec.data[i])
					} else {
						text.WriteString(*ch.Delta.Content)
					}
				}
			}
			end := chunks[n-1].Choices[0]
			if end.FinishReason == nil || *end.FinishReason != "length" || end.Delta.Content != nil || end.Delta.Role != nil {
				t.Errorf("final chunk: %s", rec.data[n-1])
			}
			if text.String() != full {
				t.Errorf("streamed %q, non-streamed %q", text.String(), full)
			}
			if len(rec.usage) != 1 || rec.usage[0].CompletionTokens != 10 {
				t.Errorf("usage %+v, want one with 10 completion tokens", rec.usage)
			}
		})
	}
}

func TestChatSampling(t *testing.T) {
	v := testVault(t)
	importModel(t, v, "tiny", "qwen2", 1)
	r := newRunner(t, Options{Vault: v, Sessions: 2})
	ask := func(opts string) string {
		_, text := chatText(t, r, `{"model":"tiny","messages":[{"role":"user","content":"Hi"}],"max_tokens":16`+opts+`}`)
		return text
	}
	if a, b := ask(`,"temperature":0`), ask(`,"temperature":0`); a != b {
		t.Errorf("greedy decoding differs: %q, %q", a, b)
	}
	if a, b := ask(`,"seed":42`), ask(`,"seed":42`); a != b {
		t.Errorf("same seed, different text: %q, %q", a, b)
	}
	seen := map[string]bool{}
	for seed := range 6 {
		seen[ask(fmt.Sprintf(`,"seed":%d,"temperature":1.5`, seed))] = true
	}
	if len(seen) < 2 {
		t.Errorf("six seeds gave one text: %v", seen)
	}
}

func TestChatStopAndLength(t *testing.T) {
	v := testVault(t)
	importModel(t, v, "tiny", "qwen2", 1)
	r := newRunner(t, Options{Vault: v})
	msg := `"model":"tiny","messages":[{"role":"user","content":"Count"}],"temperature":0`
	c, full := chatText(t, r, "{"+msg+`,"max_tokens":20}`)
	if c.Choices[0].FinishReason != "length" {
		t.Fatalf("finish_reason %q, want length; text %q", c.Choices[0].FinishReason, full)
	}
	if c.Usage.CompletionTokens != 20 {
		t.Errorf("completion_tokens %d, want 20", c.Usage.CompletionTokens)
	}
	// Stop at a piece of the text the model makes anyway.
	if len(full) < 6 {
		t.Fatalf("text too short to pick a stop string: %q", full)
	}
	stop := full[len(full)/2 : len(full)/2+3]
	stopJSON, _ := json.Marshal([]string{"never appears", stop})
	c, text := chatText(t, r, "{"+msg+`,"max_tokens":20,"stop":`+string(stopJSON)+`}`)
	if want := full[:strings.Index(full, stop)]; text != want || c.Choices[0].FinishReason != "stop" {
		t.Errorf("stop %q: %q (%s), want %q (stop)", stop, text, c.Choices[0].FinishReason, want)
	}
}

func TestContextLengthExceeded(t *testing.T) {
	v := testVault(t)
	importModel(t, v, "tiny", "qwen2", 1)
	r := newRunner(t, Options{Vault: v, ContextLen: 64})
	long := strings.Repeat("word ", 80)
	tests := []struct {
		name, body, param string
	}{
		{"max_tokens", `{"model":"tiny","messages":[{"role":"user","content":"Hi"}],"max_tokens":60}`, "max_tokens"},
		{"max_completion_tokens", `{"model":"tiny","messages":[{"role":"user","content":"Hi"}],"max_completion_tokens":60}`, "max_completion_tokens"},
		{"prompt", `{"model":"tiny","messages":[{"role":"user","content":"` + long + `"}]}`, "messages"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := r.Do(context.Background(), chatRequest(t, tt.body), &recorder{})
			e := apiError(t, err)
			if e.HTTPStatus() != 400 || e.CodeName() != openai.CodeContextLengthExceeded || e.ParamName() != tt.param {
				t.Errorf("status %d code %q param %q: %s", e.HTTPStatus(), e.CodeName(), e.ParamName(), e.Message)
			}
			if !strings.Contains(e.Message, "64") {
				t.Errorf("message does not give the context size: %s", e.Message)
			}
		})
	}
	// Without max_tokens, generation stops with "length" when the context is full.
	c, _ := chatText(t, r, `{"model":"tiny","messages":[{"role":"user","content":"Hi"}],"temperature":0,"stop":["<none>"]}`)
	if c.Usage.PromptTokens+c.Usage.CompletionTokens > 64 {
		t.Errorf("usage %+v exceeds the context", c.Usage)
	}
	if c.Choices[0].FinishReason == "length" && c.Usage.TotalTokens != 64 {
		t.Errorf("length after %d tokens, want the context of 64", c.Usage.TotalTokens)
	}
}

func TestJSONMode(t *testing.T) {
	v := testVault(t)
	importModel(t, v, "tiny", "qwen2", 1)
	importModel(t, v, "tiny-llama", "llama", 3)
	r := newRunner(t, Options{Vault: v, ContextLen: 160})
	for _, model := range []string{"tiny", "tiny-llama"} {
		for _, opts := range []string{
			`"temperature":0,"max_tokens":40`,
			`"temperature":1,"seed":1,"max_tokens":25`,
			`"temperature":1.5,"seed":2,"max_tokens":60`,
			`"temperature":0.7,"seed":3`, // until the context is full
			`"temperature":2,"seed":4,"max_completion_tokens":8`,
		} {
			t.Run(model+"/"+opts, func(t *testing.T) {
				c, text := chatText(t, r, `{"model":"`+model+`","messages":[{"role":"user","content":"Give me JSON"}],"response_format":{"type":"json_object"},`+opts+`}`)
				var obj map[string]any
				if err := json.Unmarshal([]byte(text), &obj); err != nil {
					t.Errorf("not a JSON object (%v): %q", err, text)
				}
				if c.Choices[0].FinishReason != "stop" {
					t.Errorf("finish_reason %q after %d tokens: %q", c.Choices[0].FinishReason, c.Usage.CompletionTokens, text)
				}
			})
		}
	}
	// Two tokens leave room only for "{}".
	_, text := chatText(t, r, `{"model":"tiny","messages":[{"role":"user","content":"JSON"}],"response_format":{"type":"json_object"},"seed":5,"max_tokens":2}`)
	if text != "{}" {
		t.Errorf("two tokens of JSON: %q, want {}", text)
	}
	// Streamed JSON mode gives the same text.
	rec := do(t, r, chatRequest(t, `{"model":"tiny","messages":[{"role":"user","content":"Give me JSON"}],"response_format":{"type":"json_object"},"temperature":0,"max_tokens":40,"stream":true}`))
	_, want := chatText(t, r, `{"model":"tiny","messages":[{"role":"user","content":"Give me JSON"}],"response_format":{"type":"json_object"},"temperature":0,"max_tokens":40}`)
	var got strings.Builder
	for _, d := range rec.data {
		var c chunk
		json.Unmarshal([]byte(d), &c)
		if len(c.Choices) == 1 && c.Choices[0].Delta.Content != nil {
			got.WriteString(*c.Choices[0].Delta.Content)
		}
	}
	if got.String() != want {
		t.Errorf("streamed %q, non-streamed %q", got.String(), want)
	}
}

func TestBadChatRequests(t *testing.T) {
	v := testVault(t)
	importModel(t, v, "tiny", "qwen2", 1)
	r := newRunner(t, Options{Vault: v})
	msgs := `"messages":[{"role":"user","content":"Hi"}]`
	tests := []struct {
		name, body, param string
	}{
		{"json_schema", `{"model":"tiny",` + msgs + `,"response_format":{"type":"json_schema","json_schema":{"name":"x","schema":{}}}}`, "response_format.type"},
		{"logprobs", `{"model":"tiny",` + msgs + `,"logprobs":true}`, "logprobs"},
		{"logit_bias", `{"model":"tiny",` + msgs + `,"logit_bias":{"5":10}}`, "logit_bias"},
		{"image", `{"model":"tiny","messages":[{"role":"user","content":[{"type":"text","text":"What is this?"},{"type":"image_url","image_url":{"url":"data:,"}}]}]}`, "messages[0].content"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := chatRequest(t, tt.body)
			e := apiError(t, r.Do(context.Background(), req, &recorder{}))
			if e.HTTPStatus() != 400 || e.ParamName() != tt.param {
				t.Errorf("status %d param %q, want 400 %q: %s", e.HTTPStatus(), e.ParamName(), tt.param, e.Message)
			}
		})
	}
}

func TestChatTools(t *testing.T) {
	v := testVault(t)
	importModel(t, v, "tiny", "qwen2", 1)
	r := newRunner(t, Options{Vault: v})
	// Tools and tool-call history go to the template; the tiny template
	// ignores them, so the request simply succeeds.
	body := `{"model":"tiny","temperature":0,"max_tokens":4,"tools":[{"type":"function","function":{"name":"now","parameters":{"type":"object"}}}],
		"messages":[{"role":"user","content":"Time?"},{"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"now","arguments":"{}"}}]},
		{"role":"tool","tool_call_id":"c1","content":"noon"},{"role":"developer","content":"Answer briefly."}]}`
	if c, _ := chatText(t, r, body); c.Usage.CompletionTokens != 4 {
		t.Errorf("usage %+v", c.Usage)
	}
}

func TestCompletions(t *testing.T) {
	v := testVault(t)
	path := importModel(t, v, "tiny", "llama", 1)
	tok := fileTokenizer(t, path)
	r := newRunner(t, Options{Vault: v})
	type completion struct {
		ID      string `json:"id"`
		Object  string `json:"object"`
		Choices []struct {
			Text         string  `json:"text"`
			FinishReason *string `json:"finish_reason"`
		} `json:"choices"`
		Usage *openai.Usage `json:"usage"`
	}
	decode := func(s string) completion {
		var c completion
		if err := json.Unmarshal([]byte(s), &c); err != nil {
			t.Fatalf("%v: %s", err, s)
		}
		return c
	}
	rec := do(t, r, completionRequest(t, `{"model":"tiny","prompt":"Once upon a time","max_tokens":8,"temperature":0}`))
	c := decode(rec.data[0])
	prompt, _ := tok.Encode("Once upon a time", tokenizer.EncodeOptions{AddSpecial: true})
	if !strings.HasPrefix(c.ID, "cmpl-") || c.Object != "text_completion" || len(c.Choices) != 1 || *c.Choices[0].FinishReason != "length" {
		t.Fatalf("completion: %s", rec.data[0])
	}
	if c.Usage.PromptTokens != len(prompt) || c.Usage.CompletionTokens != 8 {
		t.Errorf("usage %+v, want %d prompt tokens and 8 completion tokens", c.Usage, len(prompt))
	}
	text := c.Choices[0].Text

	// The same prompt as token ids, and with echo.
	ids, _ := json.Marshal(prompt)
	rec = do(t, r, completionRequest(t, `{"model":"tiny","prompt":`+string(ids)+`,"max_tokens":8,"temperature":0,"echo":true}`))
	if got, want := decode(rec.data[0]).Choices[0].Text, tok.Decode(prompt)+text; got != want {
		t.Errorf("token prompt with echo: %q, want %q", got, want)
	}

	// Streamed.
	rec = do(t, r, completionRequest(t, `{"model":"tiny","prompt":"Once upon a time","max_tokens":8,"temperature":0,"stream":true,"stream_options":{"include_usage":true}}`))
	var streamed strings.Builder
	for i, d := range rec.data[:len(rec.data)-2] {
		ch := decode(d)
		if len(ch.Choices) != 1 || ch.Choices[0].FinishReason != nil || !strings.Contains(d, `"usage":null`) {
			t.Errorf("chunk %d: %s", i, d)
		}
		streamed.WriteString(ch.Choices[0].Text)
	}
	if end := decode(rec.data[len(rec.data)-2]); len(end.Choices) != 1 || end.Choices[0].FinishReason == nil || *end.Choices[0].FinishReason != "length" {
		t.Errorf("final chunk: %s", rec.data[len(rec.data)-2])
	}
	if u := decode(rec.data[len(rec.data)-1]); len(u.Choices) != 0 || u.Usage == nil || u.Usage.CompletionTokens != 8 {
		t.Errorf("usage chunk: %s", rec.data[len(rec.data)-1])
	}
	if streamed.String() != text {
		t.Errorf("streamed %q, want %q", streamed.String(), text)
	}

	for _, tt := range []struct{ body, param string }{
		{`{"model":"tiny","prompt":[1,2,99999]}`, "prompt"},
		{`{"model":"tiny","prompt":"x","suffix":"y"}`, "suffix"},
		{`{"model":"tiny","prompt":"x","max_tokens":100000}`, "max_tokens"},
	} {
		e := apiError(t, r.Do(context.Background(), completionRequest(t, tt.body), &recorder{}))
		if e.HTTPStatus() != 400 || e.ParamName() != tt.param {
			t.Errorf("%s: status %d param %q: %s", tt.body, e.HTTPStatus(), e.ParamName(), e.Message)
		}
	}
}

func TestUnknownModel(t *testing.T) {
	v := testVault(t)
	importModel(t, v, "tiny", "qwen2", 1)
	r := newRunner(t, Options{Vault: v})
	for _, name := range []string{"nope", "tiny:v9", "Not A Name", "sha256:" + strings.Repeat("0", 64)} {
		err := r.Do(context.Background(), chatRequest(t, `{"model":"`+name+`","messages":[{"role":"user","content":"Hi"}]}`), &recorder{})
		if !errors.Is(err, backend.ErrUnknownModel) {
			t.Errorf("%s: %v, want ErrUnknownModel", name, err)
		}
	}
}
