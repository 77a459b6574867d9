// Package chat turns a conversation into the prompt text a model expects,
// by rendering the model's own chat template (tokenizer.chat_template in
// GGUF files, chat_template in tokenizer_config.json) the way Hugging Face
// transformers' apply_chat_template does: jinja2 with trim_blocks and
// lstrip_blocks, the globals raise_exception and strftime_now, and the
// variables messages, tools, documents, add_generation_prompt and the
// special tokens.
//
// Templates come from model files and are untrusted; chat renders them only
// through the sandboxed engine in package jinja, with its step, size and
// depth limits, and must not hand a template anything but plain data. It
// does not tokenize and does not know any model family: the template alone
// decides the format.
package chat

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"sov.dev/sov/internal/jinja"
)

// Message is one turn of a conversation. Content stays a string; optional
// fields appear in the template's message mapping only when set, so that
// tests such as "message.name is defined" or "'tool_calls' in message"
// behave as they do with transformers.
type Message struct {
	Role    string
	Content string
	// Name is the speaker or, for role "tool", the tool's name.
	Name string
	// ToolCallID ties a "tool" message to the call it answers.
	ToolCallID string
	// ToolCalls are the calls an assistant message makes.
	ToolCalls []ToolCall
	// ReasoningContent is an assistant's reasoning kept apart from Content
	// (read by reasoning templates such as Qwen3's).
	ReasoningContent string
	// Extra holds further message fields for the template; it is applied
	// last, so Extra["content"] = nil gives the null content OpenAI clients
	// send beside tool calls.
	Extra map[string]any
}

// ToolCall is one function call made by an assistant.
type ToolCall struct {
	ID   string
	Name string
	// Arguments is a JSON object. The template sees it as a mapping (as
	// transformers expects), with key order kept; anything that is not a
	// JSON object is passed on as a string.
	Arguments json.RawMessage
}

// Options are the per-request inputs of a render.
type Options struct {
	// AddGenerationPrompt asks the template to end with the header that
	// opens the assistant's reply.
	AddGenerationPrompt bool
	// BOS and EOS are the model's special tokens as text (bos_token,
	// eos_token); left empty, they are not defined for the template.
	BOS, EOS string
	// Tools are the function definitions offered to the model, each one a
	// JSON object (OpenAI style); key order is kept, which matters because
	// templates print them with tojson. Nil means no tools (the template
	// sees tools = none, as with transformers).
	Tools []json.RawMessage
	// Extra are further template variables, such as enable_thinking or
	// date_string. They are set last and may replace the variables above.
	Extra map[string]any
	// Now is the clock behind strftime_now; nil means time.Now.
	Now func() time.Time
}

// Template is a parsed chat template, safe for concurrent renders.
type Template struct {
	t *jinja.Template
}

// NewTemplate parses a chat template with the settings transformers uses.
func NewTemplate(src string) (*Template, error) {
	t, err := jinja.Parse(src, jinja.Options{
		TrimBlocks:   true,
		LStripBlocks: true,
		Funcs: map[string]jinja.Func{
			"raise_exception": jinja.RaiseException,
			// strftime_now is bound per render, to Options.Now.
		},
	})
	if err != nil {
		return nil, fmt.Errorf("chat template: %w", err)
	}
	return &Template{t: t}, nil
}

// Render renders the conversation. An error the template raises itself
// (raise_exception) wraps a *jinja.Exception whose Message can be shown to
// the user.
func (t *Template) Render(ctx context.Context, msgs []Message, opts Options) (string, error) {
	vars, err := templateVars(msgs, opts)
	if err != nil {
		return "", err
	}
	out, err := t.t.Render(ctx, vars)
	if err != nil {
		return "", fmt.Errorf("chat template: %w", err)
	}
	return out, nil
}

// templateVars builds the variables transformers passes to a chat
// template.
func templateVars(msgs []Message, opts Options) (map[string]jinja.Value, error) {
	list := make([]jinja.Value, len(msgs))
	for i, m := range msgs {
		d, err := messageValue(m)
		if err != nil {
			return nil, fmt.Errorf("chat: message %d: %w", i, err)
		}
		list[i] = d
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	vars := map[string]jinja.Value{
		"messages":              jinja.NewList(list...),
		"tools":                 jinja.None{},
		"documents":             jinja.None{},
		"add_generation_prompt": jinja.Bool(opts.AddGenerationPrompt),
		"strftime_now": jinja.Func(func(args []jinja.Value, _ map[string]jinja.Value) (jinja.Value, error) {
			if len(args) != 1 {
				return nil, fmt.Errorf("strftime_now takes exactly one argument")
			}
			f, ok := args[0].(jinja.String)
			if !ok {
				return nil, fmt.Errorf("strftime_now: format must be a string")
			}
			return jinja.String(Strftime(now(), string(f))), nil
		}),
	}
	if opts.Tools != nil {
		tools := make([]jinja.Value, len(opts.Tools))
		for i, raw := range opts.Tools {
			v, err := jinja.FromJSON(raw)
			if err != nil {
				return nil, fmt.Errorf("chat: tool %d: %w", i, err)
			}
			tools[i] = v
		}
		vars["tools"] = jinja.NewList(tools...)
	}
	if opts.BOS != "" {
		vars["bos_token"] = jinja.String(opts.BOS)
	}
	if opts.EOS != "" {
		vars["eos_token"] = jinja.String(opts.EOS)
	}
	for k, v := range opts.Extra {
		jv, err := jinja.FromGo(v)
		if err != nil {
			return nil, fmt.Errorf("chat: variable %q: %w", k, err)
		}
		vars[k] = jv
	}
	return vars, nil
}

// messageValue is the mapping a template sees for one message.
func messageValue(m Message) (*jinja.Dict, error) {
	d := jinja.NewDict()
	d.Set("role", jinja.String(m.Role))
	d.Set("content", jinja.String(m.Content))
	if m.Name != "" {
		d.Set("name", jinja.String(m.Name))
	}
	if m.ToolCallID != "" {
		d.Set("tool_call_id", jinja.String(m.ToolCallID))
	}
	if m.ReasoningContent != "" {
		d.Set("reasoning_content", jinja.String(m.ReasoningContent))
	}
	if len(m.ToolCalls) > 0 {
		calls := make([]jinja.Value, len(m.ToolCalls))
		for i, c := range m.ToolCalls {
			fn := jinja.NewDict()
			fn.Set("name", jinja.String(c.Name))
			fn.Set("arguments", argumentsValue(c.Arguments))
			call := jinja.NewDict()
			if c.ID != "" {
				call.Set("id", jinja.String(c.ID))
			}
			call.Set("type", jinja.String("function"))
			call.Set("function", fn)
			calls[i] = call
		}
		d.Set("tool_calls", jinja.NewList(calls...))
	}
	for _, k := range sortedKeys(m.Extra) {
		v, err := jinja.FromGo(m.Extra[k])
		if err != nil {
			return nil, fmt.Errorf("field %q: %w", k, err)
		}
		d.Set(k, v)
	}
	return d, nil
}

// argumentsValue decodes tool-call arguments: a JSON object becomes a
// mapping, anything else stays text.
func argumentsValue(raw json.RawMessage) jinja.Value {
	if len(raw) == 0 {
		return jinja.NewDict()
	}
	v, err := jinja.FromJSON(raw)
	if err != nil {
		return jinja.String(string(raw))
	}
	if d, ok := v.(*jinja.Dict); ok {
		return d
	}
	return jinja.String(string(raw))
}
