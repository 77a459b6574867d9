package openai

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// compactJSON re-encodes s without insignificant space, so that JSON
// written by hand in a test compares equal to marshalled output.
func compactJSON(t *testing.T, s string) string {
	t.Helper()
	var b bytes.Buffer
	if err := json.Compact(&b, []byte(s)); err != nil {
		t.Fatalf("bad JSON in test: %v\n%s", err, s)
	}
	return b.String()
}

func ptr[T any](v T) *T { return &v }

// roundTrip decodes want into a fresh T, checks the decoded value with
// check, and marshals it back, expecting want again.
func roundTrip[T any](t *testing.T, want string, check func(t *testing.T, v *T)) {
	t.Helper()
	want = compactJSON(t, want)
	v := new(T)
	if err := json.Unmarshal([]byte(want), v); err != nil {
		t.Fatalf("Unmarshal: %v", err)
	}
	if check != nil {
		check(t, v)
	}
	got, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("Marshal: %v", err)
	}
	if string(got) != want {
		t.Errorf("round trip:\n got %s\nwant %s", got, want)
	}
}

func TestChatCompletionRoundTrip(t *testing.T) {
	roundTrip(t, `{
	  "id": "chatcmpl-123", "object": "chat.completion", "created": 1677652288,
	  "model": "gpt-4o-mini",
	  "choices": [{
	    "index": 0,
	    "message": {"role": "assistant", "content": "Hello there, how may I assist you today?"},
	    "finish_reason": "stop", "logprobs": null
	  }],
	  "usage": {"prompt_tokens": 9, "completion_tokens": 12, "total_tokens": 21,
	            "prompt_tokens_details": {"cached_tokens": 0}},
	  "system_fingerprint": "fp_44709d6fcb"
	}`, func(t *testing.T, c *ChatCompletion) {
		if got, want := c.Choices[0].Message.Content.Text(), "Hello there, how may I assist you today?"; got != want {
			t.Errorf("content = %q, want %q", got, want)
		}
		if got, want := *c.Usage, (Usage{9, 12, 21, &PromptTokensDetails{0}}); !cmp.Equal(got, want) {
			t.Errorf("usage: %s", cmp.Diff(want, got))
		}
	})
}

func TestChatCompletionToolCallsRoundTrip(t *testing.T) {
	roundTrip(t, `{
	  "id": "chatcmpl-abc", "object": "chat.completion", "created": 1699896916, "model": "m",
	  "choices": [{
	    "index": 0,
	    "message": {"role": "assistant", "content": null, "tool_calls": [{
	      "id": "call_abc123", "type": "function",
	      "function": {"name": "get_current_weather", "arguments": "{\"location\": \"Boston, MA\"}"}
	    }]},
	    "finish_reason": "tool_calls", "logprobs": null
	  }],
	  "usage": {"prompt_tokens": 82, "completion_tokens": 17, "total_tokens": 99}
	}`, func(t *testing.T, c *ChatCompletion) {
		m := c.Choices[0].Message
		if !m.Content.IsNull() {
			t.Errorf("content is not null: %+v", m.Content)
		}
		if got, want := m.ToolCalls[0].Function.Name, "get_current_weather"; got != want {
			t.Errorf("tool call name = %q, want %q", got, want)
		}
	})
}

func TestChatCompletionDefaults(t *testing.T) {
	b, err := json.Marshal(ChatCompletion{ID: "x", Model: "m"})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"id":"x","object":"chat.completion","created":0,"model":"m","choices":[]}`
	if string(b) != want {
		t.Errorf("got %s, want %s", b, want)
	}
}

func TestChunkMarshal(t *testing.T) {
	stop := "stop"
	tests := []struct {
		name  string
		chunk ChatCompletionChunk
		want  string
	}{
		{
			name: "first",
			chunk: ChatCompletionChunk{ID: "c", Created: 1, Model: "m",
				Choices: []ChunkChoice{{Delta: ChatDelta{Role: "assistant", Content: ptr("")}}}},
			want: `{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null,"logprobs":null}]}`,
		},
		{
			name: "null usage",
			chunk: ChatCompletionChunk{ID: "c", Created: 1, Model: "m", NullUsage: true,
				Choices: []ChunkChoice{{Delta: ChatDelta{Content: ptr("Hi")}}}},
			want: `{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"Hi"},"finish_reason":null,"logprobs":null}],"usage":null}`,
		},
		{
			name: "finish",
			chunk: ChatCompletionChunk{ID: "c", Created: 1, Model: "m", NullUsage: true,
				Choices: []ChunkChoice{{Delta: ChatDelta{}, FinishReason: &stop}}},
			want: `{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{},"finish_reason":"stop","logprobs":null}],"usage":null}`,
		},
		{
			name:  "usage",
			chunk: ChatCompletionChunk{ID: "c", Created: 1, Model: "m", NullUsage: true, Usage: &Usage{PromptTokens: 3, CompletionTokens: 2, TotalTokens: 5}},
			want:  `{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[],"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}}`,
		},
		{
			name: "tool call delta",
			chunk: ChatCompletionChunk{ID: "c", Created: 1, Model: "m",
				Choices: []ChunkChoice{{Delta: ChatDelta{ToolCalls: []ToolCall{{Index: ptr(0), Function: FunctionCall{Arguments: `{"lo`}}}}}}},
			want: `{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"lo"}}]},"finish_reason":null,"logprobs":null}]}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := json.Marshal(tt.chunk)
			if err != nil {
				t.Fatal(err)
			}
			if string(b) != tt.want {
				t.Errorf("\n got %s\nwant %s", b, tt.want)
			}
			// Through a pointer too, as json.Encoder callers pass it.
			b2, _ := json.Marshal(&tt.chunk)
			if string(b2) != tt.want {
				t.Errorf("via pointer:\n got %s\nwant %s", b2, tt.want)
			}
			var back ChatCompletionChunk
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatalf("Unmarshal: %v", err)
			}
			if back.ID != tt.chunk.ID || len(back.Choices) != len(tt.chunk.Choices) {
				t.Errorf("decoded %+v", back)
			}
		})
	}
}

func TestCompletionRoundTrip(t *testing.T) {
	roundTrip(t, `{
	  "id": "cmpl-uqkvlQyYK7bGYrRHQ0eXlWi7", "object": "text_completion", "created": 1589478378,
	  "model": "gpt-3.5-turbo-instruct", "system_fingerprint": "fp_44709d6fcb",
	  "choices": [{"text": "\n\nThis is indeed a test", "index": 0, "finish_reason": "length", "logprobs": null}],
	  "usage": {"prompt_tokens": 5, "completion_tokens": 7, "total_tokens": 12}
	}`, func(t *testing.T, c *Completion) {
		if got, want := *c.Choices[0].FinishReason, "length"; got != want {
			t.Errorf("finish_reason = %q, want %q", got, want)
		}
	})
	b, _ := json.Marshal(Completion{ID: "c", Model: "m", NullUsage: true, Choices: []CompletionChoice{{Text: "a"}}})
	want := `{"id":"c","object":"text_completion","created":0,"model":"m","choices":[{"text":"a","index":0,"finish_reason":null,"logprobs":null}],"usage":null}`
	if string(b) != want {
		t.Errorf("chunk:\n got %s\nwant %s", b, want)
	}
}

func TestModelListRoundTrip(t *testing.T) {
	roundTrip[ModelList](t, `{"object":"list","data":[
	  {"id":"model-id-0","object":"model","created":1686935002,"owned_by":"organization-owner"},
	  {"id":"model-id-1","object":"model","created":1686935002,"owned_by":"openai"}]}`, nil)
	models := []Model{{ID: "a"}}
	b, _ := json.Marshal(ModelList{Data: models})
	if want := `{"object":"list","data":[{"id":"a","object":"model","created":0,"owned_by":""}]}`; string(b) != want {
		t.Errorf("got %s, want %s", b, want)
	}
	if models[0].Object != "" {
		t.Errorf("MarshalJSON wrote to the caller's slice")
	}
	b, _ = json.Marshal(ModelList{})
	if want := `{"object":"list","data":[]}`; string(b) != want {
		t.Errorf("got %s, want %s", b, want)
	}
}

func TestContentForms(t *testing.T) {
	tests := []struct {
		name     string
		json     string
		text     string
		null     bool
		isString bool
		textOnly bool
		nParts   int
	}{
		{"string", `"hello"`, "hello", false, true, true, 0},
		{"empty string", `""`, "", false, true, true, 0},
		{"null", `null`, "", true, false, true, 0},
		{"text parts", `[{"type":"text","text":"a"},{"type":"text","text":"b"}]`, "a\nb", false, false, true, 2},
		{"image", `[{"type":"text","text":"What is this?"},{"type":"image_url","image_url":{"url":"data:image/png;base64,AAAA","detail":"low"}}]`, "What is this?", false, false, false, 2},
		{"empty array", `[]`, "", false, false, true, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c Content
			if err := json.Unmarshal([]byte(tt.json), &c); err != nil {
				t.Fatal(err)
			}
			if got := c.Text(); got != tt.text {
				t.Errorf("Text() = %q, want %q", got, tt.text)
			}
			if got := c.IsNull(); got != tt.null {
				t.Errorf("IsNull() = %v, want %v", got, tt.null)
			}
			if got := c.IsString(); got != tt.isString {
				t.Errorf("IsString() = %v, want %v", got, tt.isString)
			}
			if got := c.TextOnly(); got != tt.textOnly {
				t.Errorf("TextOnly() = %v, want %v", got, tt.textOnly)
			}
			if got := len(c.Parts()); got != tt.nParts {
				t.Errorf("len(Parts()) = %d, want %d", got, tt.nParts)
			}
			b, err := json.Marshal(c)
			if err != nil {
				t.Fatal(err)
			}
			if string(b) != tt.json {
				t.Errorf("marshals as %s, want %s", b, tt.json)
			}
		})
	}
	for _, bad := range []string{`1`, `{"type":"text"}`, `true`, `[1]`, `["a"]`} {
		var c Content
		if err := json.Unmarshal([]byte(bad), &c); err == nil {
			t.Errorf("Unmarshal(%s) succeeded", bad)
		}
	}
}

func TestStringList(t *testing.T) {
	tests := []struct {
		json string
		want StringList
	}{
		{`"\n"`, StringList{"\n"}},
		{`["a","b"]`, StringList{"a", "b"}},
		{`[]`, StringList{}},
		{`null`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.json, func(t *testing.T) {
			var got StringList
			if err := json.Unmarshal([]byte(tt.json), &got); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got)\n%s", diff)
			}
		})
	}
	for _, bad := range []string{`1`, `[1]`, `{}`, `["a",null,2]`} {
		var l StringList
		if err := json.Unmarshal([]byte(bad), &l); err == nil {
			t.Errorf("Unmarshal(%s) succeeded", bad)
		}
	}
}

func TestPromptForms(t *testing.T) {
	tests := []struct {
		json   string
		want   Prompt
		marsh  string // how it marshals back
		tokens bool
	}{
		{`"Say this is a test"`, TextPrompt("Say this is a test"), `"Say this is a test"`, false},
		{`["one"]`, TextPrompt("one"), `"one"`, false},
		{`[1, 2, 3]`, TokenPrompt([]int{1, 2, 3}), `[1,2,3]`, true},
		{`[[4, 5]]`, TokenPrompt([]int{4, 5}), `[4,5]`, true},
		{`["a","b"]`, Prompt{Text: "a", count: 2, set: true}, `"a"`, false},
		{`[[1],[2],[3]]`, Prompt{Tokens: []int{1}, count: 3, set: true}, `[1]`, true},
		{`[]`, Prompt{set: true}, `""`, false},
		{`[[]]`, Prompt{Tokens: []int{}, count: 1, set: true}, `[]`, true},
		{`null`, Prompt{}, `""`, false},
	}
	for _, tt := range tests {
		t.Run(tt.json, func(t *testing.T) {
			var got Prompt
			if err := json.Unmarshal([]byte(tt.json), &got); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(Prompt{})); diff != "" {
				t.Errorf("(-want +got)\n%s", diff)
			}
			if got.IsTokens() != tt.tokens {
				t.Errorf("IsTokens() = %v, want %v", got.IsTokens(), tt.tokens)
			}
			b, _ := json.Marshal(got)
			if string(b) != tt.marsh {
				t.Errorf("marshals as %s, want %s", b, tt.marsh)
			}
		})
	}
	for _, bad := range []string{`1`, `{}`, `[1.5]`, `["a",1]`, `[[1],"a"]`, `[true]`, `[null]`, `[1,null]`, `[[1,null]]`} {
		var p Prompt
		if err := json.Unmarshal([]byte(bad), &p); err == nil {
			t.Errorf("Unmarshal(%s) succeeded", bad)
		}
	}
}

func TestEmbeddingInputForms(t *testing.T) {
	tests := []struct {
		json string
		want EmbeddingInput
		n    int
	}{
		{`"The food was delicious"`, EmbeddingInput{Texts: []string{"The food was delicious"}, single: true}, 1},
		{`["a","b"]`, TextInput("a", "b"), 2},
		{`[1,2,3]`, EmbeddingInput{Tokens: [][]int{{1, 2, 3}}, single: true}, 1},
		{`[[1,2],[3]]`, TokenInput([]int{1, 2}, []int{3}), 2},
		{`[]`, TextInput(), 0},
	}
	for _, tt := range tests {
		t.Run(tt.json, func(t *testing.T) {
			var got EmbeddingInput
			if err := json.Unmarshal([]byte(tt.json), &got); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(EmbeddingInput{})); diff != "" {
				t.Errorf("(-want +got)\n%s", diff)
			}
			if got.Len() != tt.n {
				t.Errorf("Len() = %d, want %d", got.Len(), tt.n)
			}
			b, _ := json.Marshal(got)
			if string(b) != compactJSON(t, tt.json) {
				t.Errorf("marshals as %s, want %s", b, tt.json)
			}
		})
	}
	for _, bad := range []string{`1`, `{}`, `[1.5]`, `["a",1]`, `[[1],"a"]`, `[null]`, `[1,null]`, `[[1],[null]]`, `[[1],null]`} {
		var in EmbeddingInput
		if err := json.Unmarshal([]byte(bad), &in); err == nil {
			t.Errorf("Unmarshal(%s) succeeded", bad)
		}
	}
}

// sdkDecodeBase64 decodes a base64 embedding the way the official SDKs do:
// standard base64, then little-endian float32s.
func sdkDecodeBase64(t *testing.T, s string) []float32 {
	t.Helper()
	raw, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]float32, len(raw)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
	}
	return out
}

func TestEmbeddingMarshal(t *testing.T) {
	vec := []float32{0.0023064255, -0.009327292, 1, 0, -1e-7, 3.4028235e38, math.SmallestNonzeroFloat32}
	t.Run("float", func(t *testing.T) {
		b, err := json.Marshal(EmbeddingResponse{Model: "m", Data: []Embedding{{Vector: vec}}, Usage: Usage{PromptTokens: 8, TotalTokens: 8}})
		if err != nil {
			t.Fatal(err)
		}
		var w struct {
			Object string
			Data   []struct {
				Object    string
				Embedding []float32
			}
		}
		if err := json.Unmarshal(b, &w); err != nil {
			t.Fatalf("%v\n%s", err, b)
		}
		if w.Object != "list" || w.Data[0].Object != "embedding" {
			t.Errorf("objects %q, %q", w.Object, w.Data[0].Object)
		}
		if diff := cmp.Diff(vec, w.Data[0].Embedding); diff != "" {
			t.Errorf("floats do not survive encoding/json (-want +got)\n%s", diff)
		}
	})
	t.Run("base64", func(t *testing.T) {
		b, err := json.Marshal(Embedding{Index: 3, Vector: vec, Format: EncodingBase64})
		if err != nil {
			t.Fatal(err)
		}
		var w struct {
			Index     int
			Embedding string
		}
		if err := json.Unmarshal(b, &w); err != nil {
			t.Fatalf("%v\n%s", err, b)
		}
		if w.Index != 3 {
			t.Errorf("index = %d", w.Index)
		}
		if diff := cmp.Diff(vec, sdkDecodeBase64(t, w.Embedding)); diff != "" {
			t.Errorf("(-want +got)\n%s", diff)
		}
	})
	t.Run("known bytes", func(t *testing.T) {
		// 1.0 is 0x3f800000, little-endian 00 00 80 3f; -2.0 is 0xc0000000.
		b, _ := json.Marshal(Embedding{Vector: []float32{1, -2}, Format: EncodingBase64})
		want := `{"object":"embedding","index":0,"embedding":"` + base64.StdEncoding.EncodeToString([]byte{0, 0, 0x80, 0x3f, 0, 0, 0, 0xc0}) + `"}`
		if string(b) != want {
			t.Errorf("got %s, want %s", b, want)
		}
	})
	t.Run("NaN", func(t *testing.T) {
		if _, err := json.Marshal(Embedding{Vector: []float32{float32(math.NaN())}}); err == nil {
			t.Error("NaN marshalled as a float")
		}
		if _, err := json.Marshal(Embedding{Vector: []float32{float32(math.NaN())}, Format: EncodingBase64}); err != nil {
			t.Errorf("NaN in base64: %v", err)
		}
	})
}

func TestEmbeddingUnmarshal(t *testing.T) {
	vec := []float32{0.5, -0.25, 1e-3}
	raw := make([]byte, 12)
	for i, v := range vec {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
	}
	b64 := base64.StdEncoding.EncodeToString(raw)
	tests := []struct {
		name string
		json string
		want Embedding
	}{
		{"float", `{"object":"embedding","index":1,"embedding":[0.5,-0.25,0.001]}`, Embedding{"embedding", 1, vec, EncodingFloat}},
		{"base64", `{"object":"embedding","index":0,"embedding":"` + b64 + `"}`, Embedding{"embedding", 0, vec, EncodingBase64}},
		{"empty", `{"object":"embedding","index":0,"embedding":[]}`, Embedding{"embedding", 0, []float32{}, EncodingFloat}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got Embedding
			if err := json.Unmarshal([]byte(tt.json), &got); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got)\n%s", diff)
			}
			b, _ := json.Marshal(got)
			if string(b) != tt.json {
				t.Errorf("marshals as %s, want %s", b, tt.json)
			}
		})
	}
	for _, bad := range []string{
		`{"embedding":"!!!"}`,
		`{"embedding":"AAA="}`, // 2 bytes: not a whole float32
		`{"embedding":true}`,
		`{"embedding":["a"]}`,
		`{"index":"0"}`,
	} {
		var e Embedding
		if err := json.Unmarshal([]byte(bad), &e); err == nil {
			t.Errorf("Unmarshal(%s) succeeded", bad)
		}
	}
}

func TestRequestRoundTrip(t *testing.T) {
	body := `{"model":"gpt-4o","messages":[{"role":"developer","content":"You are a helpful assistant."},{"role":"user","content":[{"type":"text","text":"Hello!"}]}],"stream":true,"stream_options":{"include_usage":true},"stop":["\n"],"max_completion_tokens":100,"temperature":0.7,"top_p":1,"seed":42,"n":1,"response_format":{"type":"json_object"},"tools":[{"type":"function","function":{"name":"f","parameters":{}}}],"tool_choice":"auto","user":"u"}`
	r, err := DecodeChatCompletionRequest([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if got := r.MaxOutputTokens(); got != 100 {
		t.Errorf("MaxOutputTokens() = %d, want 100", got)
	}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != body {
		t.Errorf("round trip:\n got %s\nwant %s", b, body)
	}
}

func TestMaxOutputTokens(t *testing.T) {
	tests := []struct {
		name                      string
		maxTokens, maxCompletions *int
		want                      int
	}{
		{"unset", nil, nil, 0},
		{"max_tokens", ptr(10), nil, 10},
		{"max_completion_tokens", nil, ptr(20), 20},
		{"both", ptr(10), ptr(20), 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := ChatCompletionRequest{MaxTokens: tt.maxTokens, MaxCompletionTokens: tt.maxCompletions}
			if got := r.MaxOutputTokens(); got != tt.want {
				t.Errorf("got %d, want %d", got, tt.want)
			}
		})
	}
}

func TestNewID(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		id := NewID("chatcmpl-")
		if len(id) != len("chatcmpl-")+24 {
			t.Fatalf("NewID = %q: length %d", id, len(id))
		}
		for _, c := range id[len("chatcmpl-"):] {
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
				t.Fatalf("NewID = %q: %q is not base62", id, c)
			}
		}
		if seen[id] {
			t.Fatalf("NewID repeated %q", id)
		}
		seen[id] = true
	}
}

func TestUnquote(t *testing.T) {
	tests := []struct {
		in   string
		want string
		err  bool
	}{
		{`"plain"`, "plain", false},
		{` "spaced" `, "spaced", false},
		{`""`, "", false},
		{`"héllo ✓"`, "héllo ✓", false},
		{`"a\nb"`, "a\nb", false},
		{`"\u00e9\ud83d\ude00"`, "é😀", false},
		{`"a\/b"`, "a/b", false},
		{"\"bad \xff utf8\"", "bad \ufffd utf8", false},
		{"\"raw\ttab\"", "", true},
		{`"unterminated`, "", true},
		{`"`, "", true},
		{`"a"b"`, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := unquote([]byte(tt.in))
			if (err != nil) != tt.err {
				t.Fatalf("err = %v, want error %v", err, tt.err)
			}
			if !tt.err && got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
			var viaJSON string
			if jerr := json.Unmarshal([]byte(tt.in), &viaJSON); (jerr != nil) != tt.err || viaJSON != got && !tt.err {
				t.Errorf("encoding/json says %q, %v", viaJSON, jerr)
			}
		})
	}
}
