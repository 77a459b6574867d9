package sample

import (
	"math"
	"testing"
)

func mustNew(t *testing.T, o Options) *Sampler {
	t.Helper()
	s, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestGreedy(t *testing.T) {
	s := mustNew(t, Options{})
	if got := s.Sample([]float32{0.1, 3, -1, 3}); got != 1 {
		t.Errorf("greedy = %d, want 1 (first of the tied maxima)", got)
	}
	if got := s.Sample([]float32{float32(math.NaN()), 1, 2}); got != 2 {
		t.Errorf("greedy with NaN = %d, want 2", got)
	}
}

func TestSeedReproducible(t *testing.T) {
	logits := make([]float32, 100)
	for i := range logits {
		logits[i] = float32(math.Sin(float64(i)))
	}
	run := func(seed uint64) []int32 {
		s := mustNew(t, Options{Temperature: 1, Seed: seed})
		var out []int32
		for range 50 {
			l := append([]float32(nil), logits...)
			out = append(out, s.Sample(l))
		}
		return out
	}
	a, b, c := run(42), run(42), run(43)
	same := func(x, y []int32) bool {
		for i := range x {
			if x[i] != y[i] {
				return false
			}
		}
		return true
	}
	if !same(a, b) {
		t.Error("same seed gave different tokens")
	}
	if same(a, c) {
		t.Error("different seeds gave identical 50-token runs")
	}
}

func TestTruncation(t *testing.T) {
	logits := []float32{5, 4, 3, 2, 1, 0}
	count := func(o Options) map[int32]int {
		s := mustNew(t, o)
		seen := map[int32]int{}
		for range 2000 {
			seen[s.Sample(append([]float32(nil), logits...))]++
		}
		return seen
	}
	if seen := count(Options{Temperature: 1, TopK: 2, Seed: 1}); len(seen) != 2 || seen[0] == 0 || seen[1] == 0 {
		t.Errorf("top-k 2 sampled %v", seen)
	}
	// p(0)≈0.64, p(1)≈0.23: top-p 0.8 keeps exactly tokens 0 and 1.
	if seen := count(Options{Temperature: 1, TopP: 0.8, Seed: 1}); len(seen) != 2 {
		t.Errorf("top-p 0.8 sampled %v", seen)
	}
	// min-p 0.3: p(1)/p(0) = e^-1 ≈ 0.37 stays, p(2)/p(0) ≈ 0.14 goes.
	if seen := count(Options{Temperature: 1, MinP: 0.3, Seed: 1}); len(seen) != 2 {
		t.Errorf("min-p 0.3 sampled %v", seen)
	}
	// A very low temperature is nearly greedy.
	if seen := count(Options{Temperature: 0.01, Seed: 1}); seen[0] != 2000 {
		t.Errorf("temperature 0.01 sampled %v", seen)
	}
}

func TestPenalties(t *testing.T) {
	s := mustNew(t, Options{RepeatPenalty: 2, FrequencyPenalty: 0.5, PresencePenalty: 1})
	s.Accept(0)
	s.Accept(0)
	s.Accept(1)
	logits := []float32{4, -2, 1}
	s.penalize(logits)
	want := []float32{4/2 - 2*0.5 - 1, -2*2 - 0.5 - 1, 1}
	for i := range want {
		if math.Abs(float64(logits[i]-want[i])) > 1e-6 {
			t.Errorf("logit %d = %v, want %v", i, logits[i], want[i])
		}
	}
	// With the penalty, greedy picks the unpenalised token.
	g := mustNew(t, Options{RepeatPenalty: 10})
	g.Accept(0)
	if got := g.Sample([]float32{3, 1, 2}); got != 2 {
		t.Errorf("greedy with repeat penalty = %d, want 2", got)
	}
}

func TestValidate(t *testing.T) {
	for _, o := range []Options{{TopK: -1}, {TopP: 1.5}, {MinP: -0.1}, {RepeatPenalty: -1}, {Temperature: float32(math.NaN())}} {
		if _, err := New(o); err == nil {
			t.Errorf("New(%+v) accepted", o)
		}
	}
}
