package runner

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"time"

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

// jsonCandidates bounds the tokens JSON mode examines per step.
const jsonCandidates = 4096

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
	if p.json {
		return generateJSON(ctx, s, m.tok, prompt, p, emit)
	}
	return engine.Generate(ctx, s, m.tok, prompt, engine.GenerateOptions{MaxTokens: p.maxTokens, Stop: p.stop, Sampling: p.sampling}, emit)
}

// generateJSON is engine.Generate constrained to a JSON object: at each
// step only tokens whose text keeps the output a valid prefix of an object
// are considered (sample.Sampler.SampleAllowed), and only if the object
// can still be closed within the tokens left; generation ends as soon as
// the object is complete. Special and end-of-generation tokens are never
// chosen.
func generateJSON(ctx context.Context, s *engine.Session, tok *tokenizer.Tokenizer, prompt []int32, p genParams, emit func(string) error) (st engine.Stats, err error) {
	st.PromptTokens = len(prompt)
	if len(prompt) == 0 {
		return st, errors.New("the prompt is empty")
	}
	sampler, err := sample.New(p.sampling)
	if err != nil {
		return st, err
	}
	for _, t := range prompt {
		sampler.Accept(t)
	}
	st.CachedTokens = min(commonPrefix(s.Tokens(), prompt), len(prompt)-1)
	start := time.Now()
	logits, err := s.Prefill(ctx, prompt)
	st.PromptTime = time.Since(start)
	if err != nil {
		return st, err
	}
	start = time.Now()
	defer func() { st.GenerateTime = time.Since(start) }()

	doc := sample.JSON{MaxWhitespace: jsonMaxWhitespace}
	out := newStopWriter(p.stop, emit)
	dec := tok.NewDecoder()
	for {
		if err := ctx.Err(); err != nil {
			return st, err
		}
		left := p.maxTokens - st.GeneratedTokens // including this one
		id, ok := sampler.SampleAllowed(logits, jsonCandidates, func(id int32) bool {
			piece := tok.Piece(id)
			if piece == "" || tok.IsSpecial(id) || tok.IsEOG(id) {
				return false
			}
			next := doc
			return next.Feed(piece) && (next.Complete() || next.MinCloseLen() <= left-1)
		})
		if !ok {
			return st, fmt.Errorf("JSON mode: none of the model's %d likeliest tokens continues the JSON text within the %d tokens left", jsonCandidates, left)
		}
		doc.Feed(tok.Piece(id))
		sampler.Accept(id)
		st.GeneratedTokens++
		st.Tokens = append(st.Tokens, id)
		stopped, err := out.write(dec.Add(id))
		if err != nil {
			return st, err
		}
		switch {
		case stopped:
			st.StopReason = engine.StopString
			return st, nil
		case doc.Complete():
			st.StopReason = engine.StopEOG
			return st, out.flush(dec.Flush())
		case st.GeneratedTokens >= p.maxTokens:
			st.StopReason = engine.StopLength
			return st, out.flush(dec.Flush())
		}
		if logits, err = s.Eval(id); err != nil {
			return st, err
		}
	}
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

// stopWriter passes text on, holding back what could be the start of a
// stop string, and reports when one appears (the text before it is
// passed on, the rest dropped).
type stopWriter struct {
	stops   []string
	emit    func(string) error
	pending string
	done    bool
}

func newStopWriter(stops []string, emit func(string) error) *stopWriter {
	w := &stopWriter{emit: emit}
	for _, s := range stops {
		if s != "" {
			w.stops = append(w.stops, s)
		}
	}
	return w
}

// write adds text and reports whether a stop string has appeared.
func (w *stopWriter) write(text string) (bool, error) {
	if w.done || text == "" {
		return w.done, nil
	}
	if len(w.stops) == 0 {
		return false, w.emit(text)
	}
	buf := w.pending + text
	cut := -1
	for _, s := range w.stops {
		if i := strings.Index(buf, s); i >= 0 && (cut < 0 || i < cut) {
			cut = i
		}
	}
	if cut >= 0 {
		w.done, w.pending = true, ""
		if cut > 0 {
			return true, w.emit(buf[:cut])
		}
		return true, nil
	}
	// Hold back the longest tail that begins some stop string.
	hold := 0
	for _, s := range w.stops {
		for n := min(len(s)-1, len(buf)); n > hold; n-- {
			if strings.HasSuffix(buf, s[:n]) {
				hold = n
				break
			}
		}
	}
	w.pending = buf[len(buf)-hold:]
	if ready := buf[:len(buf)-hold]; ready != "" {
		return false, w.emit(ready)
	}
	return false, nil
}

// flush writes text and then whatever is held back.
func (w *stopWriter) flush(text string) error {
	if stopped, err := w.write(text); stopped || err != nil {
		return err
	}
	rest := w.pending
	w.pending = ""
	if rest != "" {
		return w.emit(rest)
	}
	return nil
}
