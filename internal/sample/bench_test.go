package sample

import (
	"math/rand/v2"
	"testing"
)

// BenchmarkSample measures one sampling step over a Qwen-sized vocabulary
// (151,936 logits) with the API's and the CLI's default options.
func BenchmarkSample(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	base := make([]float32, 151936)
	for i := range base {
		base[i] = float32(r.NormFloat64() * 3)
	}
	logits := make([]float32, len(base))
	for _, tc := range []struct {
		name string
		o    Options
	}{
		{"api-default", Options{Temperature: 1, TopP: 1, Seed: 1}},
		{"cli-default", Options{Temperature: 0.8, TopK: 40, TopP: 0.95, MinP: 0.05, Seed: 1}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			s, err := New(tc.o)
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				copy(logits, base)
				s.Sample(logits)
			}
		})
	}
}
