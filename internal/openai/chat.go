package openai

import "encoding/json"

// ChatCompletionRequest is the body of POST /v1/chat/completions.
type ChatCompletionRequest struct {
	Model               string          `json:"model"`
	Messages            []ChatMessage   `json:"messages"`
	Stream              bool            `json:"stream,omitempty"`
	StreamOptions       *StreamOptions  `json:"stream_options,omitempty"`
	Stop                StringList      `json:"stop,omitempty"`
	MaxTokens           *int            `json:"max_tokens,omitempty"`
	MaxCompletionTokens *int            `json:"max_completion_tokens,omitempty"`
	Temperature         *float64        `json:"temperature,omitempty"`
	TopP                *float64        `json:"top_p,omitempty"`
	FrequencyPenalty    *float64        `json:"frequency_penalty,omitempty"`
	PresencePenalty     *float64        `json:"presence_penalty,omitempty"`
	Seed                *int64          `json:"seed,omitempty"`
	N                   *int            `json:"n,omitempty"`
	ResponseFormat      *ResponseFormat `json:"response_format,omitempty"`
	Tools               json.RawMessage `json:"tools,omitempty"`
	ToolChoice          json.RawMessage `json:"tool_choice,omitempty"`
	ParallelToolCalls   *bool           `json:"parallel_tool_calls,omitempty"`
	User                string          `json:"user,omitempty"`
	Logprobs            bool            `json:"logprobs,omitempty"`
	TopLogprobs         *int            `json:"top_logprobs,omitempty"`
	LogitBias           json.RawMessage `json:"logit_bias,omitempty"`
}

// MaxOutputTokens is the limit on generated tokens the client asked for:
// max_completion_tokens if set, else max_tokens, else 0 (no limit given).
func (r *ChatCompletionRequest) MaxOutputTokens() int {
	switch {
	case r.MaxCompletionTokens != nil:
		return *r.MaxCompletionTokens
	case r.MaxTokens != nil:
		return *r.MaxTokens
	}
	return 0
}

// ResponseFormat constrains the form of the answer.
type ResponseFormat struct {
	Type       string          `json:"type"` // "text", "json_object" or "json_schema"
	JSONSchema json.RawMessage `json:"json_schema,omitempty"`
}

// Roles a chat message may have.
const (
	RoleSystem    = "system"
	RoleDeveloper = "developer"
	RoleUser      = "user"
	RoleAssistant = "assistant"
	RoleTool      = "tool"
	RoleFunction  = "function"
)

// ChatMessage is one message of a conversation, in a request or an answer.
type ChatMessage struct {
	Role       string     `json:"role"`
	Content    Content    `json:"content"`
	Name       string     `json:"name,omitempty"`
	ToolCalls  []ToolCall `json:"tool_calls,omitempty"`
	ToolCallID string     `json:"tool_call_id,omitempty"`
}

// ToolCall is a function call the model asks for. Index is set only in
// streamed deltas, where it says which call a fragment belongs to.
type ToolCall struct {
	Index    *int         `json:"index,omitempty"`
	ID       string       `json:"id,omitempty"`
	Type     string       `json:"type,omitempty"` // "function"
	Function FunctionCall `json:"function"`
}

// FunctionCall names the function and carries its JSON-encoded arguments.
type FunctionCall struct {
	Name      string `json:"name,omitempty"`
	Arguments string `json:"arguments"`
}

// ChatCompletion is the non-streamed answer to a chat completion request.
type ChatCompletion struct {
	ID                string       `json:"id"`
	Object            string       `json:"object"` // "chat.completion"
	Created           int64        `json:"created"`
	Model             string       `json:"model"`
	Choices           []ChatChoice `json:"choices"`
	Usage             *Usage       `json:"usage,omitempty"`
	SystemFingerprint string       `json:"system_fingerprint,omitempty"`
}

// ChatChoice is one answer of a ChatCompletion.
type ChatChoice struct {
	Index        int             `json:"index"`
	Message      ChatMessage     `json:"message"`
	FinishReason string          `json:"finish_reason"`
	Logprobs     json.RawMessage `json:"logprobs"` // null unless asked for
}

// ChatCompletionChunk is one event of a streamed chat completion.
type ChatCompletionChunk struct {
	ID                string        `json:"id"`
	Object            string        `json:"object"` // "chat.completion.chunk"
	Created           int64         `json:"created"`
	Model             string        `json:"model"`
	SystemFingerprint string        `json:"system_fingerprint,omitempty"`
	Choices           []ChunkChoice `json:"choices"`
	Usage             *Usage        `json:"usage,omitempty"`

	// NullUsage makes a chunk without Usage marshal "usage":null instead of
	// omitting the field, as OpenAI does on every chunk of a stream that
	// asked for include_usage.
	NullUsage bool `json:"-"`
}

// ChunkChoice is one choice's fragment in a chunk.
type ChunkChoice struct {
	Index        int             `json:"index"`
	Delta        ChatDelta       `json:"delta"`
	FinishReason *string         `json:"finish_reason"` // null until the last fragment
	Logprobs     json.RawMessage `json:"logprobs"`      // null unless asked for
}

// ChatDelta is the part of a message a chunk adds.
type ChatDelta struct {
	Role      string     `json:"role,omitempty"`
	Content   *string    `json:"content,omitempty"`
	ToolCalls []ToolCall `json:"tool_calls,omitempty"`
}

// Object names of chat answers.
const (
	ObjectChatCompletion      = "chat.completion"
	ObjectChatCompletionChunk = "chat.completion.chunk"
)

// MarshalJSON fills in Object when it is empty and writes Choices as []
// when it is nil.
func (c ChatCompletion) MarshalJSON() ([]byte, error) {
	type plain ChatCompletion
	p := plain(c)
	if p.Object == "" {
		p.Object = ObjectChatCompletion
	}
	if p.Choices == nil {
		p.Choices = []ChatChoice{}
	}
	return json.Marshal(p)
}

// MarshalJSON fills in Object when it is empty, writes Choices as [] when
// it is nil (the final usage chunk has no choices), and writes "usage":null
// when Usage is nil and NullUsage is set.
func (c ChatCompletionChunk) MarshalJSON() ([]byte, error) {
	type plain ChatCompletionChunk
	p := plain(c)
	if p.Object == "" {
		p.Object = ObjectChatCompletionChunk
	}
	if p.Choices == nil {
		p.Choices = []ChunkChoice{}
	}
	if p.Usage == nil && p.NullUsage {
		return json.Marshal(struct {
			plain
			Usage *Usage `json:"usage"`
		}{plain: p})
	}
	return json.Marshal(p)
}
