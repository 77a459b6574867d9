// Package sample chooses the next token from a model's logits: greedy, or
// sampled with temperature, top-k, top-p and min-p after repetition,
// frequency and presence penalties, from a seeded generator so that any
// sampled run can be reproduced.
//
// It works on one logits vector at a time and keeps the recent-token
// history the penalties need. It knows nothing about models or tokenizers.
package sample

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

// Options configure a Sampler. The zero value is greedy decoding.
type Options struct {
	// Temperature scales logits; 0 (or below) means greedy: always the most
	// likely token.
	Temperature float32
	// TopK keeps the K most likely tokens (0: all).
	TopK int
	// TopP keeps the smallest set of most likely tokens whose probability
	// adds up to at least P (0 or 1: all).
	TopP float32
	// MinP drops tokens whose probability is below MinP times the most
	// likely token's (0: none).
	MinP float32
	// RepeatPenalty divides positive (multiplies negative) logits of tokens
	// seen in the last RepeatLastN tokens (1 or 0: off).
	RepeatPenalty float32
	// FrequencyPenalty subtracts count×penalty, PresencePenalty subtracts
	// penalty once, for tokens seen in the last RepeatLastN tokens.
	FrequencyPenalty, PresencePenalty float32
	// RepeatLastN is how many recent tokens the penalties look at (0: 64).
	RepeatLastN int
	// Seed makes sampling reproducible.
	Seed uint64
}

// Validate checks the options' ranges.
func (o Options) Validate() error {
	switch {
	case o.TopK < 0:
		return errors.New("top-k must be ≥ 0")
	case o.TopP < 0 || o.TopP > 1:
		return errors.New("top-p must be in [0, 1]")
	case o.MinP < 0 || o.MinP > 1:
		return errors.New("min-p must be in [0, 1]")
	case o.RepeatPenalty < 0:
		return errors.New("repeat penalty must be ≥ 0")
	case o.RepeatLastN < 0:
		return errors.New("repeat-last-n must be ≥ 0")
	case math.IsNaN(float64(o.Temperature)):
		return errors.New("temperature is NaN")
	}
	return nil
}

// Sampler picks tokens. It is not safe for concurrent use.
type Sampler struct {
	opts    Options
	rng     *rand.Rand
	history []int32
	cands   []candidate // reused between calls
	counts  map[int32]int
}

type candidate struct {
	id    int32
	logit float32
	p     float32
}

// New returns a sampler.
func New(opts Options) (*Sampler, error) {
	if err := opts.Validate(); err != nil {
		return nil, fmt.Errorf("sampling: %w", err)
	}
	if opts.RepeatLastN == 0 {
		opts.RepeatLastN = 64
	}
	return &Sampler{
		opts:   opts,
		rng:    rand.New(rand.NewPCG(opts.Seed, opts.Seed^0x9e3779b97f4a7c15)),
		counts: make(map[int32]int),
	}, nil
}

// Accept records a token as part of the text (prompt or generated), for
// the penalties.
func (s *Sampler) Accept(id int32) {
	s.history = append(s.history, id)
	if n := s.opts.RepeatLastN; len(s.history) > 4*n && n > 0 {
		s.history = append(s.history[:0], s.history[len(s.history)-n:]...)
	}
}

// Greedy reports whether the sampler always takes the most likely token.
func (s *Sampler) Greedy() bool { return s.opts.Temperature <= 0 }

// Sample returns the next token for logits. It may modify logits (the
// penalties are applied in place).
func (s *Sampler) Sample(logits []float32) int32 {
	if id, ok := s.SampleAllowed(logits, 0, nil); ok {
		return id
	}
	// Every logit is NaN or -Inf: nothing can be drawn.
	return argmax(logits)
}

// SampleAllowed chooses the next token as Sample does, but only among
// tokens allow accepts (nil: every token): the penalties are applied once,
// the candidates are ordered by logit (ties by id), and those allow
// rejects are removed before top-k, top-p, min-p and temperature apply.
// Only the limit most likely candidates are offered to allow, in that
// order (0: all), which bounds the work per token; ok is false when allow
// accepts none of them. It may modify logits.
func (s *Sampler) SampleAllowed(logits []float32, limit int, allow func(id int32) bool) (id int32, ok bool) {
	s.penalize(logits)
	if s.Greedy() {
		// The most likely token is usually allowed: try it before sorting.
		if best := argmax(logits); allow == nil || allow(best) {
			return best, true
		}
	}
	// Only the first k candidates in order can matter: those offered to
	// allow, or without allow the top-k.
	k := limit
	if allow == nil && s.opts.TopK > 0 && (k <= 0 || s.opts.TopK < k) {
		k = s.opts.TopK
	}
	c := s.sorted(logits, k)
	kept := c
	if allow != nil {
		kept = c[:0]
		for _, x := range c {
			if !allow(x.id) {
				continue
			}
			kept = append(kept, x)
			if s.Greedy() || (s.opts.TopK > 0 && len(kept) == s.opts.TopK) {
				break
			}
		}
	}
	if len(kept) == 0 {
		return 0, false
	}
	if s.Greedy() {
		return kept[0].id, true
	}
	return s.draw(kept), true
}

// sorted returns the logits that are numbers (not NaN or -Inf) as
// candidates ordered by descending logit, ties by id, which keeps the
// result independent of anything but the logits and the seed; with k > 0
// only the first k of that order. The slice is s.cands, reused between
// calls.
func (s *Sampler) sorted(logits []float32, k int) []candidate {
	c := s.cands[:0]
	if k > 0 {
		c = topK(c, logits, k)
	} else {
		for i, l := range logits {
			if finite(l) {
				c = append(c, candidate{id: int32(i), logit: l})
			}
		}
	}
	s.cands = c
	slices.SortFunc(c, func(a, b candidate) int {
		if better(a, b) {
			return -1
		}
		if better(b, a) {
			return 1
		}
		return 0
	})
	return c
}

// finite reports whether a logit can be drawn (not NaN or -Inf).
func finite(l float32) bool { return !math.IsNaN(float64(l)) && !math.IsInf(float64(l), -1) }

// better is the candidates' order: higher logit first, ties by lower id.
func better(a, b candidate) bool {
	return a.logit > b.logit || a.logit == b.logit && a.id < b.id
}

// topK appends to h the k best candidates of logits in the order better
// defines (unsorted), keeping them in a min-heap whose root is the worst
// kept: O(V log k) instead of sorting the whole vocabulary.
func topK(h []candidate, logits []float32, k int) []candidate {
	down := func(i int) {
		for {
			w := i
			if l := 2*i + 1; l < len(h) && better(h[w], h[l]) {
				w = l
			}
			if r := 2*i + 2; r < len(h) && better(h[w], h[r]) {
				w = r
			}
			if w == i {
				return
			}
			h[i], h[w] = h[w], h[i]
			i = w
		}
	}
	for i, l := range logits {
		if !finite(l) {
			continue
		}
		x := candidate{id: int32(i), logit: l}
		if len(h) < k {
			h = append(h, x)
			for j := len(h) - 1; j > 0; {
				p := (j - 1) / 2
				if !better(h[p], h[j]) {
					break
				}
				h[p], h[j] = h[j], h[p]
				j = p
			}
			continue
		}
		if better(x, h[0]) {
			h[0] = x
			down(0)
		}
	}
	return h
}

// draw applies top-k, top-p, min-p and temperature to candidates (at
// least one) sorted by descending logit and picks one with the seeded
// generator.
func (s *Sampler) draw(c []candidate) int32 {
	if k := s.opts.TopK; k > 0 && k < len(c) {
		c = c[:k]
	}
	softmax(c, 1)
	if p := s.opts.TopP; p > 0 && p < 1 {
		var cum float32
		for i := range c {
			cum += c[i].p
			if cum >= p {
				c = c[:i+1]
				break
			}
		}
	}
	if m := s.opts.MinP; m > 0 {
		limit := c[0].p * m
		n := len(c)
		for n > 1 && c[n-1].p < limit {
			n--
		}
		c = c[:n]
	}
	softmax(c, s.opts.Temperature)
	r := s.rng.Float32()
	var cum float32
	for _, x := range c {
		cum += x.p
		if r < cum {
			return x.id
		}
	}
	return c[len(c)-1].id
}

// penalize applies the repetition, frequency and presence penalties.
func (s *Sampler) penalize(logits []float32) {
	o := s.opts
	if (o.RepeatPenalty == 0 || o.RepeatPenalty == 1) && o.FrequencyPenalty == 0 && o.PresencePenalty == 0 {
		return
	}
	recent := s.history
	if len(recent) > o.RepeatLastN {
		recent = recent[len(recent)-o.RepeatLastN:]
	}
	clear(s.counts)
	for _, id := range recent {
		s.counts[id]++
	}
	for id, n := range s.counts {
		if id < 0 || int(id) >= len(logits) {
			continue
		}
		l := logits[id]
		if o.RepeatPenalty != 0 && o.RepeatPenalty != 1 {
			if l > 0 {
				l /= o.RepeatPenalty
			} else {
				l *= o.RepeatPenalty
			}
		}
		l -= float32(n)*o.FrequencyPenalty + o.PresencePenalty
		logits[id] = l
	}
}

// softmax sets p from logit/temp over c (sorted descending).
func softmax(c []candidate, temp float32) {
	max := c[0].logit
	var sum float64
	for i := range c {
		e := math.Exp(float64((c[i].logit - max) / temp))
		c[i].p = float32(e)
		sum += e
	}
	for i := range c {
		c[i].p = float32(float64(c[i].p) / sum)
	}
}

// argmax returns the index of the largest logit (the lowest index on ties).
func argmax(logits []float32) int32 {
	best := 0
	for i, l := range logits {
		if l > logits[best] || math.IsNaN(float64(logits[best])) {
			best = i
		}
	}
	return int32(best)
}
