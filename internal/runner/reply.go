package runner

import (
	"encoding/json"
	"strings"
	"time"

	"sov.dev/sov/internal/backend"
	"sov.dev/sov/internal/openai"
)

// reply writes a generation to the client: as server-sent event payloads
// while it is made (stream), or as one body at the end.
type reply struct {
	out          backend.Output
	f            format
	stream       bool
	includeUsage bool
	id, model    string
	created      int64
	opened       bool // the stream's opening chunk is out
	wrote        bool // something was passed to out.Data
	text         strings.Builder
}

// format shapes the payloads of one endpoint.
type format interface {
	idPrefix() string
	// opening is the stream's first payload (nil: none).
	opening(r *reply) any
	// chunk carries text, or with a finish reason, ends the choice.
	chunk(r *reply, text string, finish *string) any
	// usageChunk is the usage-only payload after the last chunk.
	usageChunk(r *reply, u openai.Usage) any
	// body is the whole non-streamed response.
	body(r *reply, text, finish string, u openai.Usage) any
}

func newReply(req *backend.Request, out backend.Output, f format) *reply {
	return &reply{
		out: out, f: f, stream: req.Stream, includeUsage: req.Stream && req.IncludeUsage,
		id: openai.NewID(f.idPrefix()), model: req.Model, created: time.Now().Unix(),
	}
}

func (r *reply) send(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	r.wrote = true
	return r.out.Data(b)
}

func (r *reply) open() error {
	if r.opened {
		return nil
	}
	r.opened = true
	if v := r.f.opening(r); v != nil {
		return r.send(v)
	}
	return nil
}

// piece passes on generated text.
func (r *reply) piece(text string) error {
	if !r.stream {
		r.text.WriteString(text)
		return nil
	}
	if err := r.open(); err != nil {
		return err
	}
	return r.send(r.f.chunk(r, text, nil))
}

// finish ends the reply.
func (r *reply) finish(reason string, u openai.Usage) error {
	if !r.stream {
		return r.send(r.f.body(r, r.text.String(), reason, u))
	}
	if err := r.open(); err != nil {
		return err
	}
	if err := r.send(r.f.chunk(r, "", &reason)); err != nil {
		return err
	}
	if r.includeUsage {
		return r.send(r.f.usageChunk(r, u))
	}
	return nil
}

// chatFormat shapes chat.completion and chat.completion.chunk objects.
type chatFormat struct{}

func (chatFormat) idPrefix() string { return "chatcmpl-" }

func (chatFormat) opening(r *reply) any {
	empty := ""
	return openai.ChatCompletionChunk{
		ID: r.id, Created: r.created, Model: r.model, NullUsage: r.includeUsage,
		Choices: []openai.ChunkChoice{{Delta: openai.ChatDelta{Role: openai.RoleAssistant, Content: &empty}}},
	}
}

func (chatFormat) chunk(r *reply, text string, finish *string) any {
	c := openai.ChunkChoice{FinishReason: finish}
	if finish == nil {
		c.Delta.Content = &text
	}
	return openai.ChatCompletionChunk{ID: r.id, Created: r.created, Model: r.model, NullUsage: r.includeUsage, Choices: []openai.ChunkChoice{c}}
}

func (chatFormat) usageChunk(r *reply, u openai.Usage) any {
	return openai.ChatCompletionChunk{ID: r.id, Created: r.created, Model: r.model, Choices: []openai.ChunkChoice{}, Usage: &u}
}

func (chatFormat) body(r *reply, text, finish string, u openai.Usage) any {
	return openai.ChatCompletion{
		ID: r.id, Created: r.created, Model: r.model, Usage: &u,
		Choices: []openai.ChatChoice{{
			Message:      openai.ChatMessage{Role: openai.RoleAssistant, Content: openai.TextContent(text)},
			FinishReason: finish,
		}},
	}
}

// completionFormat shapes text_completion objects; echo is the prompt
// text to repeat before the completion (empty: none).
type completionFormat struct{ echo string }

func (completionFormat) idPrefix() string { return "cmpl-" }

func (f completionFormat) opening(r *reply) any {
	if f.echo == "" {
		return nil
	}
	return f.chunk(r, f.echo, nil)
}

func (completionFormat) chunk(r *reply, text string, finish *string) any {
	return openai.Completion{
		ID: r.id, Created: r.created, Model: r.model, NullUsage: r.includeUsage,
		Choices: []openai.CompletionChoice{{Text: text, FinishReason: finish}},
	}
}

func (completionFormat) usageChunk(r *reply, u openai.Usage) any {
	return openai.Completion{ID: r.id, Created: r.created, Model: r.model, Choices: []openai.CompletionChoice{}, Usage: &u}
}

func (f completionFormat) body(r *reply, text, finish string, u openai.Usage) any {
	return openai.Completion{
		ID: r.id, Created: r.created, Model: r.model, Usage: &u,
		Choices: []openai.CompletionChoice{{Text: f.echo + text, FinishReason: &finish}},
	}
}
