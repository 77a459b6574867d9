package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"sov.dev/sov/internal/sample"
	"sov.dev/sov/internal/tokenizer"
)

// GenerateOptions configure Generate.
type GenerateOptions struct {
	// MaxTokens bounds the tokens generated (0: until an end-of-generation
	// token; running out of context is then an error).
	MaxTokens int
	// Stop strings end generation; the text is cut before the stop string.
	Stop []string
	// Sampling chooses tokens (the zero value is greedy).
	Sampling sample.Options
	// Constraint, when set, restricts which tokens may be chosen and ends
	// generation when its text is complete (JSON mode).
	Constraint Constraint
}

// A Constraint restricts generation to some language, such as a JSON
// object. At each step Generate offers it the ConstraintCandidates
// likeliest tokens in order (by logit after the penalties, ties by id; see
// sample.Sampler.SampleAllowed) and samples among those it allows; top-k,
// top-p, min-p and temperature then apply to the allowed tokens only.
// Generate fails with ErrNoAllowedToken when it allows none of them.
type Constraint interface {
	// Allow reports whether the token id, whose text is piece, may come
	// next when left tokens, this one included, may still be generated
	// (bounded by MaxTokens or, without it, by the context).
	Allow(id int32, piece string, left int) bool
	// Accept records the chosen token and reports whether the text is now
	// complete: generation then ends with StopEOG. An end-of-generation
	// token that Allow let through ends generation without Accept.
	Accept(id int32, piece string) (complete bool)
}

// ConstraintCandidates bounds the tokens a Constraint is asked about per
// step.
const ConstraintCandidates = 4096

// ErrNoAllowedToken is wrapped when a Constraint allows none of the
// candidate tokens.
var ErrNoAllowedToken = errors.New("no allowed token")

// Stop reasons.
const (
	StopEOG    = "eog"    // the model produced an end-of-generation token
	StopString = "stop"   // a stop string appeared
	StopLength = "length" // MaxTokens were generated
)

// Stats reports what Generate did.
type Stats struct {
	PromptTokens    int           // tokens in the prompt
	CachedTokens    int           // of those, already in the session's cache
	GeneratedTokens int           // tokens generated (incl. a final end-of-generation token)
	PromptTime      time.Duration // evaluating the prompt
	GenerateTime    time.Duration // generating
	StopReason      string
	Tokens          []int32 // the generated tokens
}

// Generate evaluates prompt in s (reusing its cached prefix) and generates
// tokens, calling emit with each piece of text as soon as it is complete
// UTF-8 and cannot be the start of a stop string. It fails with a clear
// error, before doing any work, when prompt plus MaxTokens cannot fit in
// the session's context; with no MaxTokens it fails when the context fills.
// With a Constraint, only the tokens it allows are chosen (see Constraint).
func Generate(ctx context.Context, s *Session, tok *tokenizer.Tokenizer, prompt []int32, opts GenerateOptions, emit func(string) error) (st Stats, err error) {
	st.PromptTokens = len(prompt)
	if len(prompt) == 0 {
		return st, fmt.Errorf("the prompt is empty")
	}
	if len(prompt) > s.ctxLen {
		return st, fmt.Errorf("%w: the prompt is %d tokens, the context holds %d", ErrContextFull, len(prompt), s.ctxLen)
	}
	if opts.MaxTokens > 0 && len(prompt)+opts.MaxTokens > s.ctxLen {
		return st, fmt.Errorf("%w: the prompt (%d tokens) plus up to %d generated tokens do not fit in the context of %d tokens; lower the maximum or raise the context length", ErrContextFull, len(prompt), opts.MaxTokens, s.ctxLen)
	}
	sampler, err := sample.New(opts.Sampling)
	if err != nil {
		return st, err
	}
	for _, t := range prompt {
		sampler.Accept(t)
	}
	for st.CachedTokens < len(s.tokens) && st.CachedTokens < len(prompt)-1 && s.tokens[st.CachedTokens] == prompt[st.CachedTokens] {
		st.CachedTokens++
	}
	start := time.Now()
	logits, err := s.Prefill(ctx, prompt)
	st.PromptTime = time.Since(start)
	if err != nil {
		return st, err
	}

	out := newStopWriter(opts.Stop, emit)
	dec := tok.NewDecoder()
	start = time.Now()
	defer func() { st.GenerateTime = time.Since(start) }()
	for {
		if err := ctx.Err(); err != nil {
			return st, err
		}
		id, err := chooseToken(s, tok, sampler, logits, opts, st.GeneratedTokens)
		if err != nil {
			return st, err
		}
		sampler.Accept(id)
		st.GeneratedTokens++
		st.Tokens = append(st.Tokens, id)
		if tok.IsEOG(id) {
			st.StopReason = StopEOG
			if err := out.flush(dec.Flush()); err != nil {
				return st, err
			}
			return st, nil
		}
		complete := opts.Constraint != nil && opts.Constraint.Accept(id, tok.Piece(id))
		stopped, err := out.write(dec.Add(id))
		if err != nil {
			return st, err
		}
		if stopped {
			st.StopReason = StopString
			return st, nil
		}
		if complete {
			st.StopReason = StopEOG
			return st, out.flush(dec.Flush())
		}
		if opts.MaxTokens > 0 && st.GeneratedTokens >= opts.MaxTokens {
			st.StopReason = StopLength
			return st, out.flush(dec.Flush())
		}
		if len(s.tokens) >= s.ctxLen {
			if err := out.flush(dec.Flush()); err != nil {
				return st, err // the client has gone: that, not the full context, ended it
			}
			return st, fmt.Errorf("%w: generation filled the context of %d tokens before the model finished; set a maximum number of tokens or raise the context length", ErrContextFull, s.ctxLen)
		}
		if logits, err = s.Eval(id); err != nil {
			return st, err
		}
	}
}

// chooseToken chooses the token after logits, among those opts.Constraint
// allows if it is set; generated tokens have been generated so far.
func chooseToken(s *Session, tok *tokenizer.Tokenizer, sampler *sample.Sampler, logits []float32, opts GenerateOptions, generated int) (int32, error) {
	c := opts.Constraint
	if c == nil {
		return sampler.Sample(logits), nil
	}
	// Tokens that may still be generated, this one included: the cache
	// can take ctxLen-len(s.tokens) more, and the last one generated is
	// never evaluated.
	left := s.ctxLen - len(s.tokens) + 1
	if opts.MaxTokens > 0 {
		left = min(left, opts.MaxTokens-generated)
	}
	id, ok := sampler.SampleAllowed(logits, ConstraintCandidates, func(id int32) bool {
		return c.Allow(id, tok.Piece(id), left)
	})
	if !ok {
		return 0, fmt.Errorf("%w: none of the model's %d likeliest tokens is allowed with %d tokens left", ErrNoAllowedToken, ConstraintCandidates, left)
	}
	return id, nil
}

// stopWriter passes text on, holding back what could be the start of a stop
// string, and reports when one appears.
type stopWriter struct {
	stops   []string
	emit    func(string) error
	pending strings.Builder
	done    bool
}

func newStopWriter(stops []string, emit func(string) error) *stopWriter {
	var keep []string
	for _, s := range stops {
		if s != "" {
			keep = append(keep, s)
		}
	}
	return &stopWriter{stops: keep, emit: emit}
}

// write adds text; it returns true when a stop string appeared (the text
// before it has been emitted).
func (w *stopWriter) write(text string) (bool, error) {
	if w.done || text == "" {
		return w.done, nil
	}
	if len(w.stops) == 0 {
		return false, w.emit(text)
	}
	w.pending.WriteString(text)
	buf := w.pending.String()
	cut := -1
	for _, s := range w.stops {
		if i := strings.Index(buf, s); i >= 0 && (cut < 0 || i < cut) {
			cut = i
		}
	}
	if cut >= 0 {
		w.done = true
		w.pending.Reset()
		if cut > 0 {
			return true, w.emit(buf[:cut])
		}
		return true, nil
	}
	hold := 0
	for _, s := range w.stops {
		for n := min(len(s)-1, len(buf)); n > hold; n-- {
			if strings.HasSuffix(buf, s[:n]) {
				hold = n
				break
			}
		}
	}
	w.pending.Reset()
	w.pending.WriteString(buf[len(buf)-hold:])
	if ready := buf[:len(buf)-hold]; ready != "" {
		return false, w.emit(ready)
	}
	return false, nil
}

// flush emits whatever is held back (generation ended without a stop string).
func (w *stopWriter) flush(text string) error {
	if stopped, err := w.write(text); stopped || err != nil {
		return err
	}
	rest := w.pending.String()
	w.pending.Reset()
	if rest != "" {
		return w.emit(rest)
	}
	return nil
}
