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

func TestSampleAllowedMatchesSample(t *testing.T) {
	logits := make([]float32, 300)
	for i := range logits {
		logits[i] = float32(3 * math.Sin(float64(i)*1.7))
	}
	opts := []Options{
		{},
		{Temperature: 1, Seed: 3},
		{Temperature: 0.7, TopK: 20, TopP: 0.9, MinP: 0.05, Seed: 5},
		{Temperature: 1.3, TopP: 0.5, FrequencyPenalty: 0.5, PresencePenalty: 0.3, Seed: 9},
		{Temperature: 0.5, TopK: 3, RepeatPenalty: 1.3, Seed: 11},
	}
	for _, o := range opts {
		a, b := mustNew(t, o), mustNew(t, o)
		for step := range 40 {
			la := append([]float32(nil), logits...)
			lb := append([]float32(nil), logits...)
			x := a.Sample(la)
			y, ok := b.SampleAllowed(lb, 0, func(int32) bool { return true })
			if !ok || x != y {
				t.Fatalf("options %+v step %d: Sample %d, SampleAllowed %d (ok %v)", o, step, x, y, ok)
			}
			a.Accept(x)
			b.Accept(y)
		}
	}
}

func TestSampleAllowedRestricts(t *testing.T) {
	logits := []float32{5, 4, 3, 2, 1, 0}
	even := func(id int32) bool { return id%2 == 0 && id > 0 }
	tests := []struct {
		name  string
		opts  Options
		limit int
		allow func(int32) bool
		want  []int32 // the allowed results
		ok    bool
	}{
		{"greedy takes the best allowed", Options{}, 0, even, []int32{2}, true},
		{"sampling stays allowed", Options{Temperature: 2, Seed: 1}, 0, even, []int32{2, 4}, true},
		{"top-k counts allowed tokens", Options{Temperature: 2, TopK: 1, Seed: 1}, 0, even, []int32{2}, true},
		{"limit bounds the search", Options{}, 2, even, nil, false},
		{"nothing allowed", Options{Temperature: 1}, 0, func(int32) bool { return false }, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := mustNew(t, tt.opts)
			for range 30 {
				id, ok := s.SampleAllowed(append([]float32(nil), logits...), tt.limit, tt.allow)
				if ok != tt.ok {
					t.Fatalf("ok = %v, want %v", ok, tt.ok)
				}
				if !ok {
					return
				}
				found := false
				for _, w := range tt.want {
					found = found || id == w
				}
				if !found {
					t.Fatalf("got %d, want one of %v", id, tt.want)
				}
			}
		})
	}
}

func TestNoFiniteLogits(t *testing.T) {
	nan, inf := float32(math.NaN()), float32(math.Inf(-1))
	for _, o := range []Options{{}, {Temperature: 1, Seed: 1}} {
		s := mustNew(t, o)
		if got := s.Sample([]float32{nan, inf, inf}); got != 1 {
			t.Errorf("options %+v: Sample = %d, want 1 (argmax)", o, got)
		}
		if !s.Greedy() {
			if id, ok := s.SampleAllowed([]float32{nan, inf, inf}, 0, nil); ok {
				t.Errorf("options %+v: SampleAllowed = %d, want none", o, id)
			}
		}
	}
}
