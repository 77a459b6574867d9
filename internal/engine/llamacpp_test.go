package engine

import (
	"context"
	"os"
	"testing"

	"sov.dev/sov/internal/tokenizer"
)

// corpusModel is a real GGUF file (llama architecture, SentencePiece
// vocabulary of 32,000, F16/F32 tensors, random weights) from the shared
// test corpus; tests that need it skip when it is absent.
const corpusModel = "../../../shared/corpus/models/llama-2-tiny-random.gguf"

// greedy generates n tokens greedily after prompt.
func greedy(t *testing.T, m *Model, prompt []int32, n, threads int) []int32 {
	t.Helper()
	s, err := m.NewSession(SessionOptions{ContextLen: len(prompt) + n, Threads: threads})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	logits, err := s.Prefill(context.Background(), prompt)
	if err != nil {
		t.Fatal(err)
	}
	var out []int32
	for len(out) < n {
		best := int32(0)
		for i, l := range logits {
			if l > logits[best] {
				best = int32(i)
			}
		}
		out = append(out, best)
		if len(out) == n {
			break
		}
		if logits, err = s.Eval(best); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// TestCorpusModelMatchesLlamaCpp runs the real corpus file and compares
// with llama.cpp (commit c392e509, built locally, CPU, greedy sampler,
// ties to the lowest id), whose tokens for these prompts were recorded
// here.
func TestCorpusModelMatchesLlamaCpp(t *testing.T) {
	if _, err := os.Stat(corpusModel); err != nil {
		t.Skip("corpus model not available:", err)
	}
	m, err := Load(corpusModel)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	tok, err := tokenizer.FromGGUF(m.File)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		prompt    string
		promptIDs []int32
		generated []int32
	}{
		{"Hello", []int32{1, 15043}, []int32{9439, 6937, 18247, 4847, 634, 20459, 5601, 8021}},
		{"Hello world, this is a test", nil, []int32{28103, 17196, 5211, 21440, 25431, 7455, 3285, 29710, 4660, 29509, 31364, 19741, 8021, 29710, 4660, 29509}},
	}
	for _, tt := range tests {
		t.Run(tt.prompt, func(t *testing.T) {
			ids, err := tok.Encode(tt.prompt, tokenizer.EncodeOptions{AddSpecial: true, ParseSpecial: true})
			if err != nil {
				t.Fatal(err)
			}
			if tt.promptIDs != nil && !equal(ids, tt.promptIDs) {
				t.Fatalf("prompt tokens %v, llama.cpp %v", ids, tt.promptIDs)
			}
			for _, threads := range []int{1, 2} {
				if got := greedy(t, m, ids, len(tt.generated), threads); !equal(got, tt.generated) {
					t.Errorf("threads=%d: greedy tokens %v, llama.cpp %v", threads, got, tt.generated)
				}
			}
		})
	}
}

func equal(a, b []int32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
