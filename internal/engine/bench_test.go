package engine

import (
	"context"
	"os"
	"testing"
)

// BenchmarkEval measures generation (one token per iteration) on the model
// file named by SOV_BENCH_MODEL, or the tiny synthetic model.
func BenchmarkEval(b *testing.B) {
	var m *Model
	if path := os.Getenv("SOV_BENCH_MODEL"); path != "" {
		var err error
		if m, err = Load(path); err != nil {
			b.Fatal(err)
		}
		defer m.Close()
	} else {
		m = synthModel(b, "qwen2", "tiny", "Q4_K_M", 1)
	}
	s, err := m.NewSession(SessionOptions{ContextLen: 512, Threads: PhysicalCores()})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	b.SetBytes(m.WeightBytes())
	for b.Loop() {
		if len(s.Tokens()) >= 500 {
			s.Reset()
		}
		if _, err := s.Eval(1); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPrefill measures prompt processing of 64 tokens per iteration.
func BenchmarkPrefill(b *testing.B) {
	var m *Model
	if path := os.Getenv("SOV_BENCH_MODEL"); path != "" {
		var err error
		if m, err = Load(path); err != nil {
			b.Fatal(err)
		}
		defer m.Close()
	} else {
		m = synthModel(b, "qwen2", "tiny", "Q4_K_M", 1)
	}
	s, err := m.NewSession(SessionOptions{ContextLen: 512, Threads: PhysicalCores()})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	tokens := make([]int32, 64)
	for i := range tokens {
		tokens[i] = int32(i*7) % int32(m.Vocab)
	}
	for b.Loop() {
		s.Reset()
		if _, err := s.Prefill(context.Background(), tokens); err != nil {
			b.Fatal(err)
		}
	}
}
