package chat

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"sov.dev/sov/internal/jinja"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// fixedNow is the clock of every test render: strftime_now("%d %b %Y")
// gives "26 Jul 2024".
func fixedNow() time.Time { return time.Date(2024, time.July, 26, 9, 30, 0, 0, time.UTC) }

// The templates under testdata/templates are written for these tests in
// the style of each model family; the facts below are the prompt formats
// the families' models were trained on, and the tests check them:
//
//   - llama3 (Llama 3.1/3.2/3.3): BOS <|begin_of_text|>; every turn is
//     <|start_header_id|>ROLE<|end_header_id|>\n\n TEXT <|eot_id|>; the
//     system turn is always present and starts with "Cutting Knowledge
//     Date: December 2023\nToday Date: DD Mon YYYY\n\n" (strftime_now),
//     preceded by "Environment: ipython\n" when tools are given; tool
//     results use the ipython role; the generation prompt is the assistant
//     header.
//   - qwen25 (Qwen2.5): ChatML, <|im_start|>ROLE\nTEXT<|im_end|>\n; without
//     a system message the default "You are Qwen, created by Alibaba Cloud.
//     You are a helpful assistant." is used; tools are listed in the system
//     turn inside <tools></tools>; calls are <tool_call>\n{json}\n</tool_call>
//     and results are user turns of <tool_response>\n...\n</tool_response>.
//   - qwen3 (Qwen3): ChatML with no default system prompt; reasoning of
//     assistant turns before the last user query is dropped, reasoning after
//     it is kept as <think>\n...\n</think>\n\n; enable_thinking=false adds an
//     empty <think>\n\n</think>\n\n after the generation prompt.
//   - smollm2 (SmolLM2): ChatML with the default system prompt "You are a
//     helpful AI assistant named SmolLM, trained by Hugging Face".
//   - mistral (Mistral 7B Instruct v0.1): <s>[INST] USER [/INST]ANSWER</s>,
//     strictly alternating user/assistant, no system role.
//   - llama2 (Llama 2 chat): <s>[INST] <<SYS>>\nSYSTEM\n<</SYS>>\n\nUSER
//     [/INST] ANSWER </s><s>[INST] USER [/INST], the system prompt folded
//     into the first user turn.
var families = []struct {
	name     string
	bos, eos string
	// facts are exact renders, assembled by hand from the format facts,
	// for the scenarios named.
	facts map[string]string
}{
	{
		name: "llama3", bos: "<|begin_of_text|>", eos: "<|eot_id|>",
		facts: map[string]string{
			"user": "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n" +
				"Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n<|eot_id|>" +
				"<|start_header_id|>user<|end_header_id|>\n\nHello!<|eot_id|>" +
				"<|start_header_id|>assistant<|end_header_id|>\n\n",
			"system_user": "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n" +
				"Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\nYou are a pirate.<|eot_id|>" +
				"<|start_header_id|>user<|end_header_id|>\n\nHello!<|eot_id|>" +
				"<|start_header_id|>assistant<|end_header_id|>\n\n",
		},
	},
	{
		name: "qwen25", eos: "<|im_end|>",
		facts: map[string]string{
			"user": "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n" +
				"<|im_start|>user\nHello!<|im_end|>\n<|im_start|>assistant\n",
			"no_generation_prompt": "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n" +
				"<|im_start|>user\nHello!<|im_end|>\n<|im_start|>assistant\nAhoy!<|im_end|>\n",
		},
	},
	{
		name: "qwen3", eos: "<|im_end|>",
		facts: map[string]string{
			"system_user": "<|im_start|>system\nYou are a pirate.<|im_end|>\n<|im_start|>user\nHello!<|im_end|>\n<|im_start|>assistant\n",
			"reasoning_history": "<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n4<|im_end|>\n" +
				"<|im_start|>user\nAnd 3+3?<|im_end|>\n<|im_start|>assistant\n",
			"no_thinking": "<|im_start|>user\nHello!<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n",
		},
	},
	{
		name: "smollm2", bos: "<|im_start|>", eos: "<|im_end|>",
		facts: map[string]string{
			"user": "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n" +
				"<|im_start|>user\nHello!<|im_end|>\n<|im_start|>assistant\n",
		},
	},
	{
		name: "mistral", bos: "<s>", eos: "</s>",
		facts: map[string]string{
			"user":       "<s>[INST] Hello! [/INST]",
			"multi_turn": "<s>[INST] Hello! [/INST]Ahoy!</s>[INST] Where is the treasure? [/INST]",
		},
	},
	{
		name: "llama2", bos: "<s>", eos: "</s>",
		facts: map[string]string{
			"system_user": "<s>[INST] <<SYS>>\nYou are a pirate.\n<</SYS>>\n\nHello! [/INST]",
			"multi_turn": "<s>[INST] <<SYS>>\nYou are a pirate.\n<</SYS>>\n\nHello! [/INST] Ahoy! </s>" +
				"<s>[INST] Where is the treasure? [/INST]",
		},
	},
}

var weatherTool = json.RawMessage(`{"type": "function", "function": {"name": "get_weather", ` +
	`"description": "Current weather in a city — °C", "parameters": {"type": "object", ` +
	`"properties": {"city": {"type": "string"}, "unit": {"type": "string", "enum": ["c", "f"]}}, "required": ["city"]}}}`)

type scenario struct {
	name    string
	msgs    []Message
	agp     bool
	tools   []json.RawMessage
	extra   map[string]any
	only    []string // families this scenario applies to; nil: all
	wantErr string   // a raise_exception message the render must fail with
}

var scenarios = []scenario{
	{name: "user", agp: true, msgs: []Message{{Role: "user", Content: "Hello!"}}},
	{name: "system_user", agp: true, msgs: []Message{
		{Role: "system", Content: "You are a pirate."}, {Role: "user", Content: "Hello!"},
	}, only: []string{"llama3", "qwen25", "qwen3", "smollm2", "llama2"}},
	{name: "multi_turn", agp: true, msgs: []Message{
		{Role: "system", Content: "You are a pirate."},
		{Role: "user", Content: "Hello!"},
		{Role: "assistant", Content: "Ahoy!"},
		{Role: "user", Content: "Where is the treasure?"},
	}, only: []string{"llama3", "qwen25", "qwen3", "smollm2", "llama2"}},
	{name: "multi_turn", agp: true, msgs: []Message{
		{Role: "user", Content: "Hello!"},
		{Role: "assistant", Content: "Ahoy!"},
		{Role: "user", Content: "Where is the treasure?"},
	}, only: []string{"mistral"}},
	{name: "no_generation_prompt", agp: false, msgs: []Message{
		{Role: "user", Content: "Hello!"}, {Role: "assistant", Content: "Ahoy!"},
	}},
	{name: "tools", agp: true, tools: []json.RawMessage{weatherTool}, msgs: []Message{
		{Role: "system", Content: "Use tools when useful."},
		{Role: "user", Content: "Weather in Paris?"},
		{Role: "assistant", ToolCalls: []ToolCall{{ID: "call_1", Name: "get_weather", Arguments: json.RawMessage(`{"city": "Paris", "unit": "c"}`)}}},
		{Role: "tool", Name: "get_weather", ToolCallID: "call_1", Content: `{"temperature": 21}`},
		{Role: "assistant", Content: "It is 21 °C in Paris."},
		{Role: "user", Content: "Thanks!"},
	}, only: []string{"llama3", "qwen25"}},
	{name: "tools_in_system", agp: true, tools: []json.RawMessage{weatherTool},
		extra: map[string]any{"tools_in_user_message": false, "date_string": "01 Jan 2025"},
		msgs:  []Message{{Role: "user", Content: "Weather in Oslo?"}}, only: []string{"llama3"}},
	{name: "reasoning_history", agp: true, msgs: []Message{
		{Role: "user", Content: "What is 2+2?"},
		{Role: "assistant", Content: "<think>\nEasy: add them.\n</think>\n\n4"},
		{Role: "user", Content: "And 3+3?"},
	}, only: []string{"qwen3"}},
	{name: "reasoning_current_turn", agp: false, msgs: []Message{
		{Role: "user", Content: "What is 2+2?"},
		{Role: "assistant", Content: "4", ReasoningContent: "Easy: add them."},
	}, only: []string{"qwen3"}},
	{name: "no_thinking", agp: true, extra: map[string]any{"enable_thinking": false},
		msgs: []Message{{Role: "user", Content: "Hello!"}}, only: []string{"qwen3"}},
	{name: "roles_not_alternating", agp: true, msgs: []Message{
		{Role: "user", Content: "Hello!"}, {Role: "user", Content: "Anyone?"},
	}, only: []string{"mistral", "llama2"}, wantErr: "roles must alternate user/assistant/user/assistant/..."},
	{name: "system_unsupported", agp: true, msgs: []Message{
		{Role: "system", Content: "You are a pirate."}, {Role: "user", Content: "Hello!"},
	}, only: []string{"mistral"}, wantErr: "roles must alternate user/assistant/user/assistant/..."},
}

func loadTemplate(t *testing.T, family string) *Template {
	t.Helper()
	src, err := os.ReadFile(filepath.Join("testdata", "templates", family+".jinja"))
	if err != nil {
		t.Fatal(err)
	}
	tpl, err := NewTemplate(string(src))
	if err != nil {
		t.Fatalf("NewTemplate(%s): %v", family, err)
	}
	return tpl
}

func applies(s scenario, family string) bool {
	if s.only == nil {
		return true
	}
	for _, f := range s.only {
		if f == family {
			return true
		}
	}
	return false
}

func TestFamilyGolden(t *testing.T) {
	for _, fam := range families {
		tpl := loadTemplate(t, fam.name)
		seen := map[string]bool{}
		for _, sc := range scenarios {
			if !applies(sc, fam.name) {
				continue
			}
			seen[sc.name] = true
			t.Run(fam.name+"/"+sc.name, func(t *testing.T) {
				got, err := tpl.Render(context.Background(), sc.msgs, Options{
					AddGenerationPrompt: sc.agp, BOS: fam.bos, EOS: fam.eos,
					Tools: sc.tools, Extra: sc.extra, Now: fixedNow,
				})
				if sc.wantErr != "" {
					var ex *jinja.Exception
					if !errors.As(err, &ex) || ex.Message != sc.wantErr {
						t.Fatalf("Render error = %v, want raised %q", err, sc.wantErr)
					}
					return
				}
				if err != nil {
					t.Fatalf("Render: %v", err)
				}
				if want, ok := fam.facts[sc.name]; ok && got != want {
					t.Errorf("format facts:\n%s", cmp.Diff(want, got))
				}
				golden := filepath.Join("testdata", "golden", fam.name, sc.name+".txt")
				if *update {
					if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
						t.Fatal(err)
					}
					return
				}
				want, err := os.ReadFile(golden)
				if err != nil {
					t.Fatalf("%v (run go test -update to create it)", err)
				}
				if diff := cmp.Diff(string(want), got); diff != "" {
					t.Errorf("golden %s (-want +got):\n%s", golden, diff)
				}
			})
		}
		for name := range fam.facts {
			if !seen[name] {
				t.Errorf("%s: format facts for unknown scenario %q", fam.name, name)
			}
		}
	}
}

func TestMessageFields(t *testing.T) {
	// What a template sees of a message: optional fields only when set,
	// arguments as a mapping with key order kept, extras merged in.
	src := `{% for m in messages %}{{ m|tojson }}
{% endfor %}{{ tools is none }} {{ bos_token is defined }} {{ eos_token }} {{ add_generation_prompt }} {{ documents }} {{ flag }}`
	tpl, err := NewTemplate(src)
	if err != nil {
		t.Fatal(err)
	}
	got, err := tpl.Render(context.Background(), []Message{
		{Role: "user", Content: "hi"},
		{Role: "assistant", ToolCalls: []ToolCall{
			{ID: "c1", Name: "f", Arguments: json.RawMessage(`{"z": 1, "a": [true, null]}`)},
			{Name: "g", Arguments: json.RawMessage(`"not an object"`)},
			{Name: "h"},
		}},
		{Role: "tool", Name: "f", ToolCallID: "c1", Content: "ok", Extra: map[string]any{"b": 2, "a": "x"}},
		{Role: "assistant", Content: "done", ReasoningContent: "thought"},
	}, Options{EOS: "</s>", Extra: map[string]any{"flag": true}, Now: fixedNow})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"role": "user", "content": "hi"}
{"role": "assistant", "content": "", "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": {"z": 1, "a": [true, null]}}}, {"type": "function", "function": {"name": "g", "arguments": "\"not an object\""}}, {"type": "function", "function": {"name": "h", "arguments": {}}}]}
{"role": "tool", "content": "ok", "name": "f", "tool_call_id": "c1", "a": "x", "b": 2}
{"role": "assistant", "content": "done", "reasoning_content": "thought"}
True False </s> False None True`
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestExtraOverridesContent(t *testing.T) {
	// OpenAI clients send content null beside tool calls; Extra can say so.
	tpl, err := NewTemplate(`{{ messages[0].content is none }}`)
	if err != nil {
		t.Fatal(err)
	}
	got, err := tpl.Render(context.Background(), []Message{{Role: "assistant", Extra: map[string]any{"content": nil}}}, Options{})
	if err != nil || got != "True" {
		t.Errorf("got %q, %v; want True", got, err)
	}
}

func TestToolsKeepKeyOrder(t *testing.T) {
	tpl, err := NewTemplate(`{{ tools|tojson }}`)
	if err != nil {
		t.Fatal(err)
	}
	got, err := tpl.Render(context.Background(), nil, Options{Tools: []json.RawMessage{
		json.RawMessage(`{"type": "function", "function": {"name": "f", "parameters": {"z": 1, "a": 2}}}`),
	}})
	if err != nil {
		t.Fatal(err)
	}
	if want := `[{"type": "function", "function": {"name": "f", "parameters": {"z": 1, "a": 2}}}]`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

func TestRenderErrors(t *testing.T) {
	tests := []struct {
		name    string
		src     string
		opts    Options
		wantErr string
	}{
		{"bad tool JSON", `x`, Options{Tools: []json.RawMessage{json.RawMessage(`{`)}}, "tool 0"},
		{"unconvertible extra", `x`, Options{Extra: map[string]any{"c": make(chan int)}}, `variable "c"`},
		{"raise_exception", `{{ raise_exception("no " ~ "way") }}`, Options{}, "no way"},
		{"strftime_now arity", `{{ strftime_now() }}`, Options{}, "exactly one argument"},
		{"undefined attribute", `{{ nothing.here }}`, Options{}, "'nothing' is undefined"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tpl, err := NewTemplate(tt.src)
			if err != nil {
				t.Fatal(err)
			}
			_, err = tpl.Render(context.Background(), nil, tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Render error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestNewTemplateSyntaxError(t *testing.T) {
	_, err := NewTemplate("line one\n{% if x %}unclosed")
	var se *jinja.SyntaxError
	if !errors.As(err, &se) {
		t.Fatalf("NewTemplate error = %v, want a *jinja.SyntaxError", err)
	}
	if se.Line != 2 {
		t.Errorf("error line = %d, want 2", se.Line)
	}
}

func TestRenderHonoursContext(t *testing.T) {
	tpl, err := NewTemplate(`{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}`)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := tpl.Render(ctx, nil, Options{}); !errors.Is(err, context.Canceled) {
		t.Errorf("Render error = %v, want context.Canceled", err)
	}
}

func TestStrftime(t *testing.T) {
	at := time.Date(2024, time.July, 6, 9, 5, 3, 0, time.UTC)
	tests := []struct{ format, want string }{
		// Expected values are what Python's datetime.strftime gives on Linux.
		{"%d %b %Y", "06 Jul 2024"},
		{"%-d %B %Y", "6 July 2024"},
		{"%e|%j|%I %p|%y|%a %A", " 6|188|09 AM|24|Sat Saturday"},
		{"%c|%x|%X|%F %T", "Sat Jul  6 09:05:03 2024|07/06/24|09:05:03|2024-07-06 09:05:03"},
		{"%Q|%u %w|100%%|%", "%Q|6 6|100%|%"},
		{"%Y-%m-%dT%H:%M:%S%z %Z", "2024-07-06T09:05:03+0000 UTC"},
	}
	for _, tt := range tests {
		t.Run(tt.format, func(t *testing.T) {
			if got := Strftime(at, tt.format); got != tt.want {
				t.Errorf("Strftime(%q) = %q, want %q", tt.format, got, tt.want)
			}
		})
	}
}
