package engine

import (
	"bytes"
	"context"
	"errors"
	"math"
	"strings"
	"testing"

	"sov.dev/sov/internal/gguf"
	"sov.dev/sov/internal/synth"
)

// rewrite returns the model file with spec changed by edit.
func rewrite(t *testing.T, arch string, edit func(*synth.GGUFSpec)) []byte {
	t.Helper()
	p, err := synth.FindPreset(arch, "tiny")
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := synth.WriteModel(&buf, synth.ModelSpec{Preset: p, FileType: "F16", Seed: 1}); err != nil {
		t.Fatal(err)
	}
	if edit == nil {
		return buf.Bytes()
	}
	f, err := gguf.Parse(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	spec := synth.GGUFSpec{Arch: arch, Version: f.Version, Seed: 1, Metadata: f.Metadata}
	for _, ti := range f.Tensors {
		spec.Tensors = append(spec.Tensors, synth.TensorSpec{Name: ti.Name, Dims: ti.Dims, Type: ti.Type})
	}
	edit(&spec)
	var out bytes.Buffer
	if err := synth.WriteGGUF(&out, spec); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func setKV(spec *synth.GGUFSpec, key string, v gguf.Value) {
	for i := range spec.Metadata {
		if spec.Metadata[i].Key == key {
			spec.Metadata[i].Value = v
			return
		}
	}
	spec.Metadata = append(spec.Metadata, gguf.KV{Key: key, Value: v})
}

func TestMalformedModelsAreErrors(t *testing.T) {
	tests := []struct {
		name string
		edit func(*synth.GGUFSpec)
		want string
	}{
		{"unsupported architecture", func(s *synth.GGUFSpec) {
			setKV(s, "general.architecture", gguf.Value{Type: gguf.TypeString, V: "mamba"})
		}, `"mamba"`},
		{"missing tensor", func(s *synth.GGUFSpec) {
			s.Tensors = s.Tensors[:len(s.Tensors)-1]
		}, "missing"},
		{"wrong shape", func(s *synth.GGUFSpec) {
			for i := range s.Tensors {
				if s.Tensors[i].Name == "blk.0.attn_q.weight" {
					s.Tensors[i].Dims = []uint64{s.Tensors[i].Dims[0], s.Tensors[i].Dims[1] / 2}
				}
			}
		}, "blk.0.attn_q.weight"},
		{"unsupported tensor type", func(s *synth.GGUFSpec) {
			for i := range s.Tensors {
				if s.Tensors[i].Name == "blk.0.ffn_up.weight" {
					s.Tensors[i].Type = gguf.TypeQ2_K
				}
			}
		}, "Q2_K"},
		{"activation-only type as a weight matrix", func(s *synth.GGUFSpec) {
			for i := range s.Tensors {
				if s.Tensors[i].Name == "blk.0.ffn_down.weight" && s.Tensors[i].Dims[0]%256 == 0 {
					s.Tensors[i].Type = gguf.TypeQ8_K
				}
			}
		}, "Q8_K"},
		{"missing hyper-parameter", func(s *synth.GGUFSpec) {
			for i := range s.Metadata {
				if strings.HasSuffix(s.Metadata[i].Key, ".block_count") {
					s.Metadata = append(s.Metadata[:i], s.Metadata[i+1:]...)
					break
				}
			}
		}, "block_count"},
		{"heads not divisible", func(s *synth.GGUFSpec) {
			setKV(s, "qwen2.attention.head_count_kv", gguf.Value{Type: gguf.TypeUint32, V: uint32(3)})
		}, "head_count_kv"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := rewrite(t, "qwen2", tt.edit)
			_, err := FromBytes(b)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("FromBytes = %v, want an error mentioning %s", err, tt.want)
			}
		})
	}
	// Truncations of a valid model never panic.
	b := rewrite(t, "llama", nil)
	for _, n := range []int{0, 4, 100, len(b) / 2, len(b) - 1} {
		if _, err := FromBytes(b[:n]); err == nil {
			t.Errorf("truncated to %d bytes: no error", n)
		}
	}
}

func TestContextLimits(t *testing.T) {
	m := synthModel(t, "llama", "tiny", "Q8_0", 1)
	s, err := m.NewSession(SessionOptions{ContextLen: 8, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Prefill(context.Background(), make([]int32, 9)); !errors.Is(err, ErrContextFull) {
		t.Errorf("9 tokens in a context of 8: %v", err)
	}
	if _, err := s.Prefill(context.Background(), make([]int32, 8)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Eval(1); !errors.Is(err, ErrContextFull) {
		t.Errorf("Eval past the context: %v", err)
	}
	if _, err := m.NewSession(SessionOptions{ContextLen: m.ContextLen + 1}); err == nil {
		t.Error("a session longer than the model's context was accepted")
	}
}

func TestPrefillReusesPrefix(t *testing.T) {
	m := synthModel(t, "qwen3", "tiny", "Q8_0", 2)
	ctx := context.Background()
	fresh, _ := m.NewSession(SessionOptions{ContextLen: 32})
	reused, _ := m.NewSession(SessionOptions{ContextLen: 32})
	defer fresh.Close()
	defer reused.Close()
	if _, err := reused.Prefill(ctx, []int32{1, 2, 3, 9, 9}); err != nil {
		t.Fatal(err)
	}
	a, err := reused.Prefill(ctx, []int32{1, 2, 3, 4, 5, 6})
	if err != nil {
		t.Fatal(err)
	}
	a = append([]float32(nil), a...)
	b, err := fresh.Prefill(ctx, []int32{1, 2, 3, 4, 5, 6})
	if err != nil {
		t.Fatal(err)
	}
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("logit %d: %v after prefix reuse, %v fresh", i, a[i], b[i])
		}
	}
}

func TestStopWriter(t *testing.T) {
	tests := []struct {
		stops  []string
		pieces []string
		want   string
		stop   bool
	}{
		{nil, []string{"a", "b"}, "ab", false},
		{[]string{"END"}, []string{"hello E", "N", "D more"}, "hello ", true},
		{[]string{"END"}, []string{"hello E", "NX"}, "hello ENX", false},
		{[]string{"\n\n", "User:"}, []string{"one\n", "two\n", "\nthree"}, "one\ntwo", true},
		{[]string{"é!"}, []string{"café", "!"}, "caf", true},
	}
	for _, tt := range tests {
		var got strings.Builder
		w := newStopWriter(tt.stops, func(s string) error { got.WriteString(s); return nil })
		stopped := false
		for _, p := range tt.pieces {
			s, err := w.write(p)
			if err != nil {
				t.Fatal(err)
			}
			if s {
				stopped = true
				break
			}
		}
		if !stopped {
			w.flush("")
		}
		if got.String() != tt.want || stopped != tt.stop {
			t.Errorf("stops %q pieces %q: got %q stopped=%v, want %q stopped=%v", tt.stops, tt.pieces, got.String(), stopped, tt.want, tt.stop)
		}
	}
}

func TestEvalDoesNotAllocate(t *testing.T) {
	m := synthModel(t, "qwen2", "tiny", "Q4_K_M", 1)
	s, err := m.NewSession(SessionOptions{ContextLen: 256, Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Prefill(context.Background(), []int32{1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(50, func() {
		if _, err := s.Eval(7); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("Eval allocates %v times per token, want 0", allocs)
	}
}

func TestExpf(t *testing.T) {
	for x := float32(-103); x < 88.7; x += 0.0137 {
		got, want := float64(expf(x)), math.Exp(float64(x))
		if want > 1e-37 && math.Abs(got-want) > 4e-7*want {
			t.Fatalf("expf(%v) = %v, want %v", x, got, want)
		}
	}
	if !math.IsInf(float64(expf(100)), 1) || expf(-200) != 0 || !math.IsNaN(float64(expf(float32(math.NaN())))) {
		t.Error("expf edge cases")
	}
}
