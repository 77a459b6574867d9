package engine

import (
	"bytes"
	"math"
	"testing"

	"sov.dev/sov/internal/quant"
	"sov.dev/sov/internal/synth"
)

// TestPackedQ8_0MatchesUnpacked loads Q8_0 models with and without
// repacking their matrices and checks that the prompt's logits agree to
// float32 rounding and the greedy tokens are the same, on one and two
// threads: the prompt goes through the batch product, generation through
// the one-vector product. Shapes include rows that fill no whole group of
// 16 (96 and 300 rows).
// packedTolerance bounds the logits' difference, relative to the largest:
// the kernels round the float sums differently (by an ulp), and as every
// layer's activations are quantised again to 8 bits, an ulp can move a
// quant by one step; the differences grow over the KV cache's positions.
const packedTolerance = 1e-2

func TestPackedQ8_0MatchesUnpacked(t *testing.T) {
	mustPreset := func(arch, name string) synth.Preset {
		p, err := synth.FindPreset(arch, name)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	odd := mustPreset("llama", "tiny")
	odd.Name, odd.Vocab, odd.Embd, odd.FF, odd.Heads, odd.HeadsKV = "odd", 300, 96, 160, 2, 1
	presets := []synth.Preset{mustPreset("llama", "tiny"), mustPreset("qwen2", "tiny"), mustPreset("qwen3", "tiny"), odd}
	prompt := []int32{1, 17, 42, 99, 7, 250, 3, 64, 128, 5, 77}
	for _, p := range presets {
		t.Run(p.Arch+"/"+p.Name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := synth.WriteModel(&buf, synth.ModelSpec{Preset: p, FileType: "Q8_0", Seed: 9}); err != nil {
				t.Fatal(err)
			}
			plain, err := fromBytes(buf.Bytes(), false, nil)
			if err != nil {
				t.Fatal(err)
			}
			var released int
			packed, err := fromBytes(buf.Bytes(), true, func(b []byte) { released += len(b) })
			if err != nil {
				t.Fatal(err)
			}
			var packedBytes int
			for _, l := range packed.layers {
				for _, w := range []*Tensor{l.q, l.k, l.v, l.o, l.gate, l.up, l.down} {
					if !w.Packed() || w.Data != nil {
						t.Fatalf("%s was not repacked", w.Name)
					}
					packedBytes += w.Rows * w.RowBytes
				}
			}
			packedBytes += packed.embd.Rows * packed.embd.RowBytes
			if !packed.TiedOutput {
				packedBytes += packed.output.Rows * packed.output.RowBytes
			}
			if released != packedBytes {
				t.Errorf("released %d bytes of the file, want the %d repacked", released, packedBytes)
			}
			for r := range plain.embd.Rows {
				if got, want := packed.embd.Row(r), plain.embd.Row(r); !bytes.Equal(got, want) {
					t.Fatalf("embedding row %d: %x, want %x", r, got, want)
				}
			}

			// The unpacked model's greedy tokens, fed to both: the logits
			// after the prompt (batch product) and after each token
			// (one-vector product) must agree to float32 rounding, and so
			// must the choice wherever it was not a close call.
			tokens := greedy(t, plain, prompt, 24, 1)
			for _, threads := range []int{1, 2} {
				want := stepLogits(t, plain, prompt, tokens, threads)
				got := stepLogits(t, packed, prompt, tokens, threads)
				for step := range want {
					w, g := want[step], got[step]
					var scale float64
					for _, v := range w {
						scale = max(scale, math.Abs(float64(v)))
					}
					tol := packedTolerance * scale
					for i := range w {
						if d := math.Abs(float64(g[i] - w[i])); d > tol {
							t.Fatalf("threads=%d step %d logit %d: %v, unpacked %v", threads, step, i, g[i], w[i])
						}
					}
					if best, margin := argmax(w); margin > 2*tol {
						if gb, _ := argmax(g); gb != best {
							t.Errorf("threads=%d step %d: greedy token %d, unpacked %d (margin %g)", threads, step, gb, best, margin)
						}
					}
				}
			}
		})
	}
	if !quant.PackQ8_0Faster() {
		t.Log("this CPU has no packed kernel: Load does not repack (compared the portable one)")
	}
}

// stepLogits returns the logits after the prompt and after each of tokens.
func stepLogits(t *testing.T, m *Model, prompt, tokens []int32, threads int) [][]float32 {
	t.Helper()
	s, err := m.NewSession(SessionOptions{ContextLen: len(prompt) + len(tokens), Threads: threads})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	logits, err := s.Prefill(t.Context(), prompt)
	if err != nil {
		t.Fatal(err)
	}
	out := [][]float32{append([]float32(nil), logits...)}
	for _, tok := range tokens {
		if logits, err = s.Eval(tok); err != nil {
			t.Fatal(err)
		}
		out = append(out, append([]float32(nil), logits...))
	}
	return out
}

// argmax returns the index of the largest value (the first on ties) and
// how far it is above the second largest.
func argmax(v []float32) (int, float64) {
	best, second := 0, math.Inf(-1)
	for i, x := range v {
		if x > v[best] {
			second, best = float64(v[best]), i
		} else if i != best && float64(x) > second {
			second = float64(x)
		}
	}
	return best, float64(v[best]) - second
}
