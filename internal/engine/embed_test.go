package engine

import (
	"bytes"
	"context"
	"errors"
	"math"
	"testing"

	"sov.dev/sov/internal/gguf"
	"sov.dev/sov/internal/synth"
)

func unitLength(v []float32) float64 {
	var ss float64
	for _, x := range v {
		ss += float64(x) * float64(x)
	}
	return math.Sqrt(ss)
}

func TestEmbedBasics(t *testing.T) {
	m := synthModel(t, "qwen2", "tiny", "Q8_0", 4)
	s, err := m.NewSession(SessionOptions{ContextLen: 256, Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	// Longer than one batch, so that pooling spans batches.
	long := make([]int32, MaxBatch+17)
	for i := range long {
		long[i] = int32(i*7%500 + 1)
	}
	a, err := s.Embed(ctx, []int32{5, 6, 7, 8})
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.Embed(ctx, long)
	if err != nil {
		t.Fatal(err)
	}
	again, err := s.Embed(ctx, []int32{5, 6, 7, 8})
	if err != nil {
		t.Fatal(err)
	}
	if len(a) != m.Embd {
		t.Fatalf("len = %d, want %d", len(a), m.Embd)
	}
	for _, v := range [][]float32{a, b} {
		if got := unitLength(v); math.Abs(got-1) > 1e-5 {
			t.Errorf("length %v, want 1", got)
		}
	}
	for i := range a {
		if a[i] != again[i] {
			t.Fatalf("same tokens, different vector at %d: %v vs %v (a previous Embed leaked state)", i, a[i], again[i])
		}
	}
	var cos float64
	for i := range a {
		cos += float64(a[i]) * float64(b[i])
	}
	if cos > 0.9999 {
		t.Errorf("different texts give (almost) the same vector: cosine %v", cos)
	}
	if got := len(s.Tokens()); got != 4 {
		t.Errorf("session holds %d tokens after Embed, want 4", got)
	}
	// A batch computing logits afterwards is unaffected by Embed's use of
	// the scratch rows.
	fresh, _ := m.NewSession(SessionOptions{ContextLen: 256, Threads: 2})
	defer fresh.Close()
	want, err := fresh.Prefill(ctx, []int32{1, 2, 3})
	if err != nil {
		t.Fatal(err)
	}
	want = append([]float32(nil), want...)
	got, err := s.Prefill(ctx, []int32{1, 2, 3})
	if err != nil {
		t.Fatal(err)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("logit %d after Embed: %v, fresh session %v", i, got[i], want[i])
		}
	}
}

func TestEmbedErrors(t *testing.T) {
	m := synthModel(t, "llama", "tiny", "Q8_0", 1)
	s, err := m.NewSession(SessionOptions{ContextLen: 8, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	tests := []struct {
		name   string
		ctx    context.Context
		tokens []int32
		want   error
	}{
		{"empty", context.Background(), nil, nil},
		{"too long", context.Background(), make([]int32, 9), ErrContextFull},
		{"out of vocabulary", context.Background(), []int32{1, 99999}, nil},
		{"cancelled", cancelled(), []int32{1, 2}, context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.Embed(tt.ctx, tt.tokens)
			if err == nil {
				t.Fatal("no error")
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("error %v, want %v", err, tt.want)
			}
		})
	}
}

func cancelled() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}

// TestEmbedMatchesReference compares Embed with the float64 reference
// forward pass: the reference's output projection is replaced by the
// identity, so its "logits" are the normed final hidden states, which are
// then pooled and normalised in float64.
func TestEmbedMatchesReference(t *testing.T) {
	for _, arch := range Architectures {
		for _, ftype := range []string{"F32", "Q8_0"} {
			t.Run(arch+"/"+ftype, func(t *testing.T) {
				p, err := synth.FindPreset(arch, "tiny")
				if err != nil {
					t.Fatal(err)
				}
				var buf bytes.Buffer
				if err := synth.WriteModel(&buf, synth.ModelSpec{Preset: p, FileType: ftype, Seed: 11}); err != nil {
					t.Fatal(err)
				}
				raw := buf.Bytes()
				m, err := FromBytes(raw)
				if err != nil {
					t.Fatal(err)
				}
				ref := newRef(t, m)
				ref.load(t, raw, m.File)
				e := m.Embd
				id := make([]float64, e*e)
				for i := range e {
					id[i*e+i] = 1
				}
				ref.tensors["output.weight"] = id
				ref.types["output.weight"] = gguf.TypeF32
				ref.c.Vocab = e

				tokens := []int32{1, 17, 42, 3, 99, 5, 250, 8, 31}
				want := make([]float64, e)
				for _, h := range ref.logits(tokens) {
					for i, v := range h {
						want[i] += v / float64(len(tokens))
					}
				}
				var ss float64
				for _, v := range want {
					ss += v * v
				}
				for i := range want {
					want[i] /= math.Sqrt(ss)
				}

				s, err := m.NewSession(SessionOptions{ContextLen: 32, Threads: 2})
				if err != nil {
					t.Fatal(err)
				}
				defer s.Close()
				got, err := s.Embed(context.Background(), tokens)
				if err != nil {
					t.Fatal(err)
				}
				// The pooled state is dominated by the token embeddings,
				// which both sides read exactly, so the agreement is
				// close even where activations are rounded to 8 bits.
				const tol = 1e-5
				var maxDiff, cos float64
				for i := range want {
					maxDiff = math.Max(maxDiff, math.Abs(float64(got[i])-want[i]))
					cos += float64(got[i]) * want[i]
				}
				if testing.Verbose() {
					t.Logf("max diff %g, cosine %v", maxDiff, cos)
				}
				if math.IsNaN(maxDiff) || maxDiff > tol || cos < 1-tol {
					t.Errorf("max |engine − reference| = %g, cosine %v (tolerance %g)", maxDiff, cos, tol)
				}
			})
		}
	}
}
