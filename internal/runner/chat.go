package runner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"sov.dev/sov/internal/backend"
	"sov.dev/sov/internal/chat"
	"sov.dev/sov/internal/jinja"
	"sov.dev/sov/internal/openai"
	"sov.dev/sov/internal/tokenizer"
)

// chat answers /v1/chat/completions: the messages are rendered with the
// model's own chat template, as `sov run` does.
func (r *Runner) chat(ctx context.Context, m *model, req *backend.Request, out backend.Output) error {
	c := req.Chat
	if m.tmpl == nil {
		return openai.InvalidRequest("model", "model %s has no usable chat template; use /v1/completions with a prompt", req.Model)
	}
	if c.Logprobs || c.TopLogprobs != nil {
		return openai.InvalidRequest("logprobs", "logprobs are not supported by the embedded engine")
	}
	if err := noLogitBias(c.LogitBias); err != nil {
		return err
	}
	jsonMode, err := responseFormat(c.ResponseFormat)
	if err != nil {
		return err
	}
	msgs, err := chatMessages(c.Messages)
	if err != nil {
		return err
	}
	var tools []json.RawMessage
	if len(c.Tools) > 0 && string(c.Tools) != "null" {
		if err := json.Unmarshal(c.Tools, &tools); err != nil {
			return openai.InvalidRequest("tools", "tools must be an array of tool definitions")
		}
	}
	text, err := m.tmpl.Render(ctx, msgs, chat.Options{
		AddGenerationPrompt: true,
		BOS:                 m.tok.Piece(m.tok.BOS()),
		EOS:                 m.tok.Piece(m.tok.EOS()),
		Tools:               tools,
	})
	if err != nil {
		var ex *jinja.Exception
		if errors.As(err, &ex) {
			// The template refused the conversation (e.g. roles that do
			// not alternate): the client can fix that.
			return openai.InvalidRequest("messages", "the model's chat template refused the conversation: %s", ex.Message)
		}
		return fmt.Errorf("rendering the chat template of %s: %w", req.Model, err)
	}
	// The template usually writes the BOS text itself; add it only if not.
	bos := m.tok.Piece(m.tok.BOS())
	prompt, err := m.tok.Encode(text, tokenizer.EncodeOptions{ParseSpecial: true, AddSpecial: bos == "" || !strings.HasPrefix(text, bos)})
	if err != nil {
		return openai.InvalidRequest("messages", "%v", err)
	}
	maxParam := "max_tokens"
	if c.MaxCompletionTokens != nil {
		maxParam = "max_completion_tokens"
	}
	p := genParams{stop: c.Stop, json: jsonMode}
	if p.maxTokens, err = m.maxTokens(len(prompt), c.MaxOutputTokens(), "messages", maxParam); err != nil {
		return err
	}
	if p.sampling, err = samplingOptions(c.Temperature, c.TopP, c.FrequencyPenalty, c.PresencePenalty, c.Seed); err != nil {
		return err
	}
	rep := newReply(req, out, chatFormat{})
	return r.answer(ctx, m, req, prompt, p, rep)
}

// completion answers /v1/completions: the prompt is used as it is, with
// the model's BOS token added if it asks for one.
func (r *Runner) completion(ctx context.Context, m *model, req *backend.Request, out backend.Output) error {
	c := req.Completion
	switch {
	case c.Suffix != "":
		return openai.InvalidRequest("suffix", "suffix (insertion) is not supported by the embedded engine")
	case c.Logprobs != nil:
		return openai.InvalidRequest("logprobs", "logprobs are not supported by the embedded engine")
	case c.BestOf != nil && *c.BestOf != 1:
		return openai.InvalidRequest("best_of", "only best_of=1 is supported")
	}
	if err := noLogitBias(c.LogitBias); err != nil {
		return err
	}
	var prompt []int32
	var echo string
	if c.Prompt.IsTokens() {
		var err error
		if prompt, err = tokenIDs(c.Prompt.Tokens, m.tok.VocabSize(), "prompt"); err != nil {
			return err
		}
		echo = m.tok.Decode(prompt)
	} else {
		var err error
		if prompt, err = m.tok.Encode(c.Prompt.Text, tokenizer.EncodeOptions{AddSpecial: true}); err != nil {
			return openai.InvalidRequest("prompt", "%v", err)
		}
		echo = c.Prompt.Text
	}
	if len(prompt) == 0 {
		return openai.InvalidRequest("prompt", "the prompt is empty")
	}
	p := genParams{stop: c.Stop}
	requested := 0
	if c.MaxTokens != nil {
		requested = *c.MaxTokens
		if requested < 1 {
			return openai.InvalidRequest("max_tokens", "max_tokens must be at least 1")
		}
	}
	var err error
	if p.maxTokens, err = m.maxTokens(len(prompt), requested, "prompt", "max_tokens"); err != nil {
		return err
	}
	if p.sampling, err = samplingOptions(c.Temperature, c.TopP, c.FrequencyPenalty, c.PresencePenalty, c.Seed); err != nil {
		return err
	}
	f := completionFormat{}
	if c.Echo {
		f.echo = echo
	}
	return r.answer(ctx, m, req, prompt, p, newReply(req, out, f))
}

// answer generates and writes the reply, reporting usage.
func (r *Runner) answer(ctx context.Context, m *model, req *backend.Request, prompt []int32, p genParams, rep *reply) error {
	st, err := r.generate(ctx, m, req.KeyID, prompt, p, rep.piece)
	if err == nil || st.GeneratedTokens > 0 {
		// Tokens computed for a client that left are counted too.
		u := usage(st)
		rep.out.Usage(u)
		if err == nil {
			err = rep.finish(finishReason(st.StopReason), u)
		}
	}
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var apiErr *openai.APIError
		if errors.As(err, &apiErr) || errors.Is(err, backend.ErrUnavailable) || rep.wrote {
			return err
		}
		return fmt.Errorf("%s: %w", req.Model, err)
	}
	return nil
}

// responseFormat reports whether JSON mode is asked for.
func responseFormat(f *openai.ResponseFormat) (bool, error) {
	if f == nil {
		return false, nil
	}
	switch f.Type {
	case "", "text":
		return false, nil
	case "json_object":
		return true, nil
	case "json_schema":
		return false, openai.InvalidRequest("response_format.type", "response_format json_schema is not supported by the embedded engine; use json_object (any JSON object) and describe the schema in the prompt")
	}
	return false, openai.InvalidRequest("response_format.type", "unknown response_format type %q", f.Type)
}

// noLogitBias refuses a non-empty logit_bias, which the engine cannot
// honour.
func noLogitBias(raw json.RawMessage) error {
	s := strings.TrimSpace(string(raw))
	if s == "" || s == "null" || s == "{}" {
		return nil
	}
	return openai.InvalidRequest("logit_bias", "logit_bias is not supported by the embedded engine")
}

// chatMessages converts the request's messages for the chat template. A
// null content (an assistant message that only calls tools) becomes "",
// which templates that concatenate content render, as those that test it
// for truthiness do.
func chatMessages(in []openai.ChatMessage) ([]chat.Message, error) {
	out := make([]chat.Message, 0, len(in))
	for i, m := range in {
		if !m.Content.TextOnly() {
			return nil, openai.InvalidRequest(fmt.Sprintf("messages[%d].content", i), "the embedded engine accepts text content only")
		}
		role := m.Role
		if role == openai.RoleDeveloper {
			role = openai.RoleSystem // what chat templates know
		}
		cm := chat.Message{Role: role, Content: m.Content.Text(), Name: m.Name, ToolCallID: m.ToolCallID}
		for _, tc := range m.ToolCalls {
			cm.ToolCalls = append(cm.ToolCalls, chat.ToolCall{ID: tc.ID, Name: tc.Function.Name, Arguments: json.RawMessage(tc.Function.Arguments)})
		}
		out = append(out, cm)
	}
	return out, nil
}

// tokenIDs checks token ids given by the client.
func tokenIDs(ids []int, vocab int, param string) ([]int32, error) {
	out := make([]int32, len(ids))
	for i, id := range ids {
		if id < 0 || id >= vocab {
			return nil, openai.InvalidRequest(param, "token id %d at position %d is outside the vocabulary of %d tokens", id, i, vocab)
		}
		out[i] = int32(id)
	}
	return out, nil
}
