package runner

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"

	"sov.dev/sov/internal/engine"
	"sov.dev/sov/internal/openai"
	"sov.dev/sov/internal/sample"
	"sov.dev/sov/internal/tokenizer"
)

// genParams are one request's generation settings.
type genParams struct {
	maxTokens int // always positive: the room left in the context when the client set none
	stop      []string
	sampling  sample.Options
	json      bool // constrain the output to a JSON object
}

// jsonMaxWhitespace bounds runs of whitespace between JSON tokens, so
// that a model cannot idle in JSON mode.
const jsonMaxWhitespace = 20

// samplingOptions converts OpenAI's sampling parameters (defaults:
// temperature 1, top_p 1, no penalties, a random seed).
func samplingOptions(temperature, topP, freq, pres *float64, seed *int64) (sample.Options, error) {
	o := sample.Options{Temperature: 1, TopP: 1}
	if temperature != nil {
		if t := *temperature; math.IsNaN(t) || t < 0 || t > 2 {
			return o, openai.InvalidRequest("temperature", "temperature must be between 0 and 2")
		}
		o.Temperature = float32(*temperature)
	}
	if topP != nil {
		if p := *topP; math.IsNaN(p) || p < 0 || p > 1 {
			return o, openai.InvalidRequest("top_p", "top_p must be between 0 and 1")
		}
		o.TopP = float32(*topP)
	}
	for _, p := range []struct {
		name string
		v    *float64
		dst  *float32
	}{{"frequency_penalty", freq, &o.FrequencyPenalty}, {"presence_penalty", pres, &o.PresencePenalty}} {
		if p.v == nil {
			continue
		}
		if v := *p.v; math.IsNaN(v) || v < -2 || v > 2 {
			return o, openai.InvalidRequest(p.name, "%s must be between -2 and 2", p.name)
		}
		*p.dst = float32(*p.v)
	}
	if seed != nil {
		o.Seed = uint64(*seed)
	} else {
		o.Seed = rand.Uint64()
	}
	return o, nil
}

// maxTokens checks that prompt plus the requested output (0: unset) fit
// in the model's context and returns the output bound: the request's, or
// the rest of the context.
func (m *model) maxTokens(prompt, requested int, promptParam, maxParam string) (int, error) {
	if requested < 0 {
		return 0, openai.InvalidRequest(maxParam, "%s must be at least 1", maxParam)
	}
	if prompt+max(requested, 1) <= m.ctxLen {
		if requested == 0 {
			return m.ctxLen - prompt, nil
		}
		return requested, nil
	}
	if requested == 0 || prompt >= m.ctxLen {
		return 0, contextExceeded(promptParam, "this model's context holds %d tokens, and the prompt is %d tokens, leaving no room for the completion; shorten the prompt",
			m.ctxLen, prompt)
	}
	return 0, contextExceeded(maxParam, "this model's context holds %d tokens, but %d were requested (%d in the prompt, %d for the completion); shorten the prompt or lower %s",
		m.ctxLen, prompt+requested, prompt, requested, maxParam)
}

// contextExceeded is the 400 error for input that does not fit in the
// context.
func contextExceeded(param, format string, args ...any) *openai.APIError {
	e := openai.InvalidRequest(param, format, args...)
	code := openai.CodeContextLengthExceeded
	e.Code = &code
	return e
}

// generate runs one generation on a session of m, taken in turn with the
// other keys' requests, passing text to emit as it is made.
func (r *Runner) generate(ctx context.Context, m *model, key string, prompt []int32, p genParams, emit func(string) error) (engine.Stats, error) {
	s, err := r.acquireSession(ctx, m, key, prompt)
	if err != nil {
		return engine.Stats{PromptTokens: len(prompt)}, err
	}
	defer r.releaseSession(m, s)
	opts := engine.GenerateOptions{MaxTokens: p.maxTokens, Stop: p.stop, Sampling: p.sampling}
	if p.json {
		opts.Constraint = &jsonObject{tok: m.tok, doc: sample.JSON{MaxWhitespace: jsonMaxWhitespace}}
	}
	st, err := engine.Generate(ctx, s, m.tok, prompt, opts, emit)
	if errors.Is(err, engine.ErrNoAllowedToken) {
		err = fmt.Errorf("JSON mode: no token continues the JSON text: %w", err)
	}
	return st, err
}

// jsonObject is JSON mode's engine.Constraint: it allows only tokens whose
// text keeps the output a valid prefix of a JSON object that can still be
// closed within the tokens left, and reports the text complete as soon as
// the object is closed. Empty, special and end-of-generation tokens are
// never allowed.
type jsonObject struct {
	tok *tokenizer.Tokenizer
	doc sample.JSON
}

var _ engine.Constraint = (*jsonObject)(nil)

func (j *jsonObject) Allow(id int32, piece string, left int) bool {
	if piece == "" || j.tok.IsSpecial(id) || j.tok.IsEOG(id) {
		return false
	}
	next := j.doc
	return next.Feed(piece) && (next.Complete() || next.MinCloseLen() <= left-1)
}

func (j *jsonObject) Accept(_ int32, piece string) bool {
	j.doc.Feed(piece)
	return j.doc.Complete()
}

// finishReason is OpenAI's name for an engine stop reason.
func finishReason(stop string) string {
	if stop == engine.StopLength {
		return "length"
	}
	return "stop"
}

// usage is the exact token count of a generation.
func usage(st engine.Stats) openai.Usage {
	return openai.Usage{
		PromptTokens:        st.PromptTokens,
		CompletionTokens:    st.GeneratedTokens,
		TotalTokens:         st.PromptTokens + st.GeneratedTokens,
		PromptTokensDetails: &openai.PromptTokensDetails{CachedTokens: st.CachedTokens},
	}
}
