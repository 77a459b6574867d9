package openai

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// rejection is one request body a decoder must refuse, with the param the
// error must name and a fragment its message must contain.
type rejection struct {
	name  string
	body  string
	param string // "" means null
	msg   string
}

func checkRejections[T any](t *testing.T, decode func([]byte) (*T, error), tests []rejection) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := decode([]byte(tt.body))
			if err == nil {
				t.Fatalf("accepted: %+v", r)
			}
			if r != nil {
				t.Errorf("returned a request with the error")
			}
			var ae *APIError
			if !errors.As(err, &ae) {
				t.Fatalf("error %T is not an *APIError: %v", err, err)
			}
			if ae.Status != http.StatusBadRequest || ae.Type != TypeInvalidRequest {
				t.Errorf("status %d type %q, want 400 %q", ae.Status, ae.Type, TypeInvalidRequest)
			}
			if got := ae.ParamName(); got != tt.param {
				t.Errorf("param = %q, want %q (message %q)", got, tt.param, ae.Message)
			}
			if (ae.Param == nil) != (tt.param == "") {
				t.Errorf("param pointer = %v, want nil only for no param", ae.Param)
			}
			if !strings.Contains(ae.Message, tt.msg) {
				t.Errorf("message %q does not contain %q", ae.Message, tt.msg)
			}
		})
	}
}

const okMessages = `"messages":[{"role":"user","content":"hi"}]`

func TestDecodeChatRejects(t *testing.T) {
	m := func(extra string) string { return `{"model":"m",` + okMessages + `,` + extra + `}` }
	checkRejections(t, DecodeChatCompletionRequest, []rejection{
		{"empty body", ``, "", "not valid JSON"},
		{"truncated", `{"model":"m",`, "", "byte offset 13"},
		{"bad char", `{"model":"m"}}`, "", "byte offset 13"},
		{"syntax error offset", `{"model": tru}`, "", "byte offset 13"},
		{"array body", `[1]`, "", "must be a JSON object"},
		{"string body", `"hi"`, "", "must be a JSON object"},
		{"null body", `null`, "", "must be a JSON object"},
		{"model missing", `{` + okMessages + `}`, "model", "model"},
		{"model empty", `{"model":"",` + okMessages + `}`, "model", "model"},
		{"model number", `{"model":5,` + okMessages + `}`, "model", "expected a string, got a number"},
		{"messages missing", `{"model":"m"}`, "messages", "at least one"},
		{"messages empty", `{"model":"m","messages":[]}`, "messages", "at least one"},
		{"messages null", `{"model":"m","messages":null}`, "messages", "at least one"},
		{"messages object", `{"model":"m","messages":{}}`, "messages", "expected an array, got an object"},
		{"message not object", `{"model":"m","messages":[{"role":"user","content":"a"},"x"]}`, "messages[1]", "expected an object"},
		{"role missing", `{"model":"m","messages":[{"content":"hi"}]}`, "messages[0].role", "Missing"},
		{"role unknown", `{"model":"m","messages":[{"role":"user","content":"a"},{"role":"user","content":"b"},{"role":"robot","content":"c"}]}`, "messages[2].role", `"robot"`},
		{"role number", `{"model":"m","messages":[{"role":1,"content":"a"}]}`, "messages[0].role", "expected a string"},
		{"content missing", `{"model":"m","messages":[{"role":"user"}]}`, "messages[0].content", "Missing"},
		{"content number", `{"model":"m","messages":[{"role":"user","content":1}]}`, "messages[0].content", "expected a string or an array of content parts"},
		{"content part type", `{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"a"},{"type":"video"}]}]}`, "messages[0].content[1].type", `"video"`},
		{"content part no type", `{"model":"m","messages":[{"role":"user","content":[{"text":"a"}]}]}`, "messages[0].content[0].type", "Missing"},
		{"image without url", `{"model":"m","messages":[{"role":"user","content":[{"type":"image_url"}]}]}`, "messages[0].content[0].image_url.url", "Missing"},
		{"tool without id", `{"model":"m","messages":[{"role":"tool","content":"42"}]}`, "messages[0].tool_call_id", "Missing"},
		{"tool calls on user", `{"model":"m","messages":[{"role":"user","content":"a","tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"{}"}}]}]}`, "messages[0].tool_calls", "assistant"},
		{"tool call type", `{"model":"m","messages":[{"role":"assistant","tool_calls":[{"id":"c","type":"x","function":{"name":"f","arguments":"{}"}}]}]}`, "messages[0].tool_calls[0].type", `"x"`},
		{"tool call id", `{"model":"m","messages":[{"role":"assistant","tool_calls":[{"type":"function","function":{"name":"f","arguments":"{}"}}]}]}`, "messages[0].tool_calls[0].id", "Missing"},
		{"tool call name", `{"model":"m","messages":[{"role":"assistant","tool_calls":[{"id":"c","type":"function","function":{"arguments":"{}"}}]}]}`, "messages[0].tool_calls[0].function.name", "Missing"},
		{"tool call arguments object", `{"model":"m","messages":[{"role":"assistant","tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":{}}}]}]}`, "messages[0].tool_calls[0].function.arguments", "expected a string, got an object"},
		{"temperature high", m(`"temperature":2.5`), "temperature", "between 0 and 2"},
		{"temperature negative", m(`"temperature":-0.1`), "temperature", "between 0 and 2"},
		{"temperature string", m(`"temperature":"hot"`), "temperature", "expected a number, got a string"},
		{"temperature huge", m(`"temperature":1e999`), "temperature", "expected a number"},
		{"top_p high", m(`"top_p":1.01`), "top_p", "between 0 and 1"},
		{"top_p negative", m(`"top_p":-1`), "top_p", "between 0 and 1"},
		{"frequency_penalty", m(`"frequency_penalty":3`), "frequency_penalty", "between -2 and 2"},
		{"presence_penalty", m(`"presence_penalty":-3`), "presence_penalty", "between -2 and 2"},
		{"max_tokens zero", m(`"max_tokens":0`), "max_tokens", "at least 1"},
		{"max_tokens negative", m(`"max_tokens":-5`), "max_tokens", "at least 1"},
		{"max_tokens fraction", m(`"max_tokens":1.5`), "max_tokens", "expected an integer, got the number 1.5"},
		{"max_completion_tokens zero", m(`"max_completion_tokens":0`), "max_completion_tokens", "at least 1"},
		{"n two", m(`"n":2`), "n", "only n=1 is supported"},
		{"n zero", m(`"n":0`), "n", "only n=1 is supported"},
		{"seed string", m(`"seed":"x"`), "seed", "expected an integer"},
		{"seed overflow", m(`"seed":99999999999999999999`), "seed", "expected an integer"},
		{"five stops", m(`"stop":["a","b","c","d","e"]`), "stop", "at most 4"},
		{"stop number", m(`"stop":1`), "stop", "expected a string or an array of strings"},
		{"response_format type", m(`"response_format":{"type":"xml"}`), "response_format.type", `"xml"`},
		{"response_format no type", m(`"response_format":{}`), "response_format.type", "Missing"},
		{"json_schema missing", m(`"response_format":{"type":"json_schema"}`), "response_format.json_schema", "must be an object"},
		{"response_format string", m(`"response_format":"json"`), "response_format", "expected an object"},
		{"stream_options without stream", m(`"stream_options":{"include_usage":true}`), "stream_options", "only allowed when 'stream' is true"},
		{"stream_options stream false", m(`"stream":false,"stream_options":{"include_usage":true}`), "stream_options", "only allowed"},
		{"stream string", m(`"stream":"yes"`), "stream", "expected a boolean, got a string"},
		{"include_usage string", m(`"stream":true,"stream_options":{"include_usage":"yes"}`), "stream_options.include_usage", "expected a boolean"},
		{"tools object", m(`"tools":{}`), "tools", "array"},
		{"tool_choice unknown", m(`"tool_choice":"always"`), "tool_choice", `"always"`},
		{"tool_choice number", m(`"tool_choice":1`), "tool_choice", "string or an object"},
		{"top_logprobs without logprobs", m(`"top_logprobs":2`), "top_logprobs", "requires 'logprobs'"},
		{"top_logprobs high", m(`"logprobs":true,"top_logprobs":21`), "top_logprobs", "between 0 and 20"},
		{"case-folded key", `{"MODEL":"m","Messages":[{"role":"user","content":"a"}],"Temperature":9}`, "temperature", "between 0 and 2"},
		{"case-folded bad type", `{"MODEL":"m","Messages":[{"ROLE":7}]}`, "messages[0].role", "expected a string"},
	})
}

func TestDecodeChatAccepts(t *testing.T) {
	tests := []struct {
		name  string
		body  string
		check func(t *testing.T, r *ChatCompletionRequest)
	}{
		{"minimal", `{"model":"m",` + okMessages + `}`, func(t *testing.T, r *ChatCompletionRequest) {
			if r.Model != "m" || r.Messages[0].Content.Text() != "hi" || r.Stream {
				t.Errorf("got %+v", r)
			}
		}},
		{"unknown fields", `{"model":"m",` + okMessages + `,"metadata":{"a":"b"},"store":true,"reasoning_effort":"low","future":[1,2]}`, nil},
		{"bounds", `{"model":"m",` + okMessages + `,"temperature":0,"top_p":0,"frequency_penalty":-2,"presence_penalty":2,"n":1,"max_tokens":1}`, nil},
		{"upper bounds", `{"model":"m",` + okMessages + `,"temperature":2,"top_p":1,"stop":["a","b","c","d"]}`, nil},
		{"nulls", `{"model":"m",` + okMessages + `,"temperature":null,"stop":null,"tools":null,"tool_choice":null,"response_format":null,"stream_options":null,"seed":null}`, nil},
		{"stop string", `{"model":"m",` + okMessages + `,"stop":"\n"}`, func(t *testing.T, r *ChatCompletionRequest) {
			if diff := cmp.Diff(StringList{"\n"}, r.Stop); diff != "" {
				t.Errorf("stop (-want +got)\n%s", diff)
			}
		}},
		{"empty stops dropped", `{"model":"m",` + okMessages + `,"stop":["","x",""]}`, func(t *testing.T, r *ChatCompletionRequest) {
			if diff := cmp.Diff(StringList{"x"}, r.Stop); diff != "" {
				t.Errorf("stop (-want +got)\n%s", diff)
			}
		}},
		{"stream with usage", `{"model":"m",` + okMessages + `,"stream":true,"stream_options":{"include_usage":true}}`, func(t *testing.T, r *ChatCompletionRequest) {
			if !r.Stream || r.StreamOptions == nil || !r.StreamOptions.IncludeUsage {
				t.Errorf("got stream %v options %+v", r.Stream, r.StreamOptions)
			}
		}},
		{"conversation", `{"model":"m","messages":[
			{"role":"system","content":"Be brief."},
			{"role":"user","content":[{"type":"text","text":"Weather?"},{"type":"image_url","image_url":{"url":"https://example.com/a.png"}}]},
			{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"weather","arguments":"{}"}}]},
			{"role":"tool","tool_call_id":"call_1","content":"sunny"},
			{"role":"assistant","content":"Sunny.","name":"bot"}]}`, func(t *testing.T, r *ChatCompletionRequest) {
			if got := len(r.Messages); got != 5 {
				t.Fatalf("%d messages", got)
			}
			if r.Messages[1].Content.TextOnly() {
				t.Errorf("image message reported text-only")
			}
			if got := r.Messages[3].ToolCallID; got != "call_1" {
				t.Errorf("tool_call_id = %q", got)
			}
		}},
		{"json_schema", `{"model":"m",` + okMessages + `,"response_format":{"type":"json_schema","json_schema":{"name":"x","schema":{"type":"object"}}}}`, func(t *testing.T, r *ChatCompletionRequest) {
			if r.ResponseFormat.Type != "json_schema" || len(r.ResponseFormat.JSONSchema) == 0 {
				t.Errorf("response_format %+v", r.ResponseFormat)
			}
		}},
		{"duplicate key last wins", `{"model":"a","model":"b",` + okMessages + `}`, func(t *testing.T, r *ChatCompletionRequest) {
			if r.Model != "b" {
				t.Errorf("model = %q, want b", r.Model)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := DecodeChatCompletionRequest([]byte(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if tt.check != nil {
				tt.check(t, r)
			}
		})
	}
}

func TestDecodeCompletionRejects(t *testing.T) {
	m := func(extra string) string { return `{"model":"m","prompt":"p",` + extra + `}` }
	checkRejections(t, DecodeCompletionRequest, []rejection{
		{"bad JSON", `{"model":`, "", "not valid JSON"},
		{"model missing", `{"prompt":"p"}`, "model", "model"},
		{"prompt missing", `{"model":"m"}`, "prompt", "prompt"},
		{"prompt null", `{"model":"m","prompt":null}`, "prompt", "prompt"},
		{"prompt empty array", `{"model":"m","prompt":[]}`, "prompt", "empty array"},
		{"two prompts", `{"model":"m","prompt":["a","b"]}`, "prompt", "single prompt"},
		{"two token prompts", `{"model":"m","prompt":[[1],[2]]}`, "prompt", "single prompt"},
		{"empty token prompt", `{"model":"m","prompt":[[]]}`, "prompt", "empty array of token ids"},
		{"negative token", `{"model":"m","prompt":[1,-2]}`, "prompt", "-2"},
		{"prompt object", `{"model":"m","prompt":{}}`, "prompt", "expected a string, an array of strings"},
		{"prompt mixed", `{"model":"m","prompt":[1,"a"]}`, "prompt", "expected a string, an array of strings"},
		{"temperature", m(`"temperature":3`), "temperature", "between 0 and 2"},
		{"top_p", m(`"top_p":2`), "top_p", "between 0 and 1"},
		{"max_tokens", m(`"max_tokens":0`), "max_tokens", "at least 1"},
		{"n", m(`"n":3`), "n", "only n=1"},
		{"best_of", m(`"best_of":2`), "best_of", "best_of=1"},
		{"stop", m(`"stop":["1","2","3","4","5"]`), "stop", "at most 4"},
		{"logprobs", m(`"logprobs":6`), "logprobs", "between 0 and 5"},
		{"stream_options", m(`"stream_options":{"include_usage":true}`), "stream_options", "only allowed"},
		{"echo string", m(`"echo":"yes"`), "echo", "expected a boolean"},
	})
}

func TestDecodeCompletionAccepts(t *testing.T) {
	tests := []struct {
		body   string
		text   string
		tokens []int
	}{
		{`{"model":"m","prompt":"Say this is a test","max_tokens":7,"temperature":0}`, "Say this is a test", nil},
		{`{"model":"m","prompt":""}`, "", nil},
		{`{"model":"m","prompt":["only"]}`, "only", nil},
		{`{"model":"m","prompt":[1,2,3],"echo":true,"suffix":"x","stream":true,"stream_options":{"include_usage":false}}`, "", []int{1, 2, 3}},
		{`{"model":"m","prompt":[[9,8]],"n":1,"best_of":1,"logprobs":5}`, "", []int{9, 8}},
	}
	for _, tt := range tests {
		t.Run(tt.body, func(t *testing.T) {
			r, err := DecodeCompletionRequest([]byte(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if r.Prompt.Text != tt.text {
				t.Errorf("text = %q, want %q", r.Prompt.Text, tt.text)
			}
			if diff := cmp.Diff(tt.tokens, r.Prompt.Tokens); diff != "" {
				t.Errorf("tokens (-want +got)\n%s", diff)
			}
		})
	}
}

func TestDecodeEmbeddingRejects(t *testing.T) {
	many := `"` + strings.Repeat(`x","`, MaxEmbeddingInputs) + `x"`
	checkRejections(t, DecodeEmbeddingRequest, []rejection{
		{"bad JSON", `{"model":"m","input":"a"`, "", "not valid JSON"},
		{"model missing", `{"input":"a"}`, "model", "model"},
		{"input missing", `{"model":"m"}`, "input", "input"},
		{"input null", `{"model":"m","input":null}`, "input", "input"},
		{"input empty string", `{"model":"m","input":""}`, "input", "empty string"},
		{"input empty array", `{"model":"m","input":[]}`, "input", "empty array"},
		{"input empty item", `{"model":"m","input":["a",""]}`, "input[1]", "empty string"},
		{"input empty tokens", `{"model":"m","input":[[1],[]]}`, "input[1]", "empty array of token ids"},
		{"input negative token", `{"model":"m","input":[5,-1]}`, "input", "-1"},
		{"input too many", `{"model":"m","input":[` + many + `]}`, "input", "at most 2048"},
		{"input object", `{"model":"m","input":{"a":1}}`, "input", "expected a string"},
		{"input nulls", `{"model":"m","input":[1,null]}`, "input", "expected a string"},
		{"encoding_format", `{"model":"m","input":"a","encoding_format":"hex"}`, "encoding_format", `"hex"`},
		{"dimensions", `{"model":"m","input":"a","dimensions":0}`, "dimensions", "at least 1"},
	})
}

func TestDecodeEmbeddingAccepts(t *testing.T) {
	tests := []struct {
		body   string
		n      int
		format string
	}{
		{`{"input":"The food was delicious and the waiter...","model":"text-embedding-3-small","encoding_format":"float"}`, 1, EncodingFloat},
		{`{"input":["a","b","c"],"model":"m","encoding_format":"base64"}`, 3, EncodingBase64},
		{`{"input":[1,2,3],"model":"m"}`, 1, EncodingFloat},
		{`{"input":[[1,2],[3]],"model":"m","dimensions":256,"user":"u"}`, 2, EncodingFloat},
	}
	for _, tt := range tests {
		t.Run(tt.body, func(t *testing.T) {
			r, err := DecodeEmbeddingRequest([]byte(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if got := r.Input.Len(); got != tt.n {
				t.Errorf("Len() = %d, want %d", got, tt.n)
			}
			if got := r.Format(); got != tt.format {
				t.Errorf("Format() = %q, want %q", got, tt.format)
			}
		})
	}
}

func TestValidateLiterals(t *testing.T) {
	// Requests built in code, not decoded, validate by their exported fields.
	tests := []struct {
		name  string
		err   error
		param string
	}{
		{"prompt text", (&CompletionRequest{Model: "m", Prompt: Prompt{Text: "x"}}).Validate(), ""},
		{"prompt tokens", (&CompletionRequest{Model: "m", Prompt: Prompt{Tokens: []int{1}}}).Validate(), ""},
		{"prompt absent", (&CompletionRequest{Model: "m"}).Validate(), "prompt"},
		{"input texts", (&EmbeddingRequest{Model: "m", Input: EmbeddingInput{Texts: []string{"a"}}}).Validate(), ""},
		{"input tokens", (&EmbeddingRequest{Model: "m", Input: TokenInput([]int{1})}).Validate(), ""},
		{"input absent", (&EmbeddingRequest{Model: "m"}).Validate(), "input"},
		{"input empty", (&EmbeddingRequest{Model: "m", Input: TextInput()}).Validate(), "input"},
		{"chat", (&ChatCompletionRequest{Model: "m", Messages: []ChatMessage{{Role: RoleUser, Content: TextContent("hi")}}}).Validate(), ""},
		{"chat null content", (&ChatCompletionRequest{Model: "m", Messages: []ChatMessage{{Role: RoleUser}}}).Validate(), "messages[0].content"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got string
			if tt.err != nil {
				var ae *APIError
				if !errors.As(tt.err, &ae) {
					t.Fatalf("error %v is not an *APIError", tt.err)
				}
				got = ae.ParamName()
				if got == "" {
					got = "(no param) " + ae.Message
				}
			}
			if got != tt.param {
				t.Errorf("param = %q, want %q", got, tt.param)
			}
		})
	}
}
