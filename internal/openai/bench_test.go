package openai

import (
	"encoding/json"
	"io"
	"strings"
	"testing"
)

var benchChatBody = []byte(`{"model":"tiny","messages":[{"role":"system","content":"You are a helpful assistant."},` +
	`{"role":"user","content":"` + strings.Repeat("Tell me about the weather. ", 60) + `"}],` +
	`"stream":true,"stream_options":{"include_usage":true},"max_tokens":256,"temperature":0.7,"stop":["\n\n"]}`)

func BenchmarkDecodeChat(b *testing.B) {
	b.SetBytes(int64(len(benchChatBody)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeChatCompletionRequest(benchChatBody); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkChunkMarshal(b *testing.B) {
	c := ChatCompletionChunk{ID: NewID("chatcmpl-"), Created: 1700000000, Model: "tiny", NullUsage: true,
		Choices: []ChunkChoice{{Delta: ChatDelta{Content: ptr(" token")}}}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := json.Marshal(c); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSSEEvent(b *testing.B) {
	w := NewWriter(io.Discard)
	payload := []byte(`{"id":"chatcmpl-x","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":" token"},"finish_reason":null}]}`)
	b.ReportAllocs()
	for b.Loop() {
		if err := w.Event(payload); err != nil {
			b.Fatal(err)
		}
	}
}
