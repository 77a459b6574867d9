package synth

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"math"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"sov.dev/sov/internal/gguf"
	"sov.dev/sov/internal/quant"
)

func writeModel(t *testing.T, spec ModelSpec) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteModel(&buf, spec); err != nil {
		t.Fatalf("WriteModel(%s/%s %s): %v", spec.Preset.Arch, spec.Preset.Name, spec.FileType, err)
	}
	return buf.Bytes()
}

func mustPreset(t *testing.T, arch, name string) Preset {
	t.Helper()
	p, err := FindPreset(arch, name)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestPresetsValid(t *testing.T) {
	seen := map[string]bool{}
	for _, p := range Presets() {
		key := p.Arch + "/" + p.Name
		if seen[key] {
			t.Errorf("duplicate preset %s", key)
		}
		seen[key] = true
		if err := p.Validate(); err != nil {
			t.Errorf("%s: %v", key, err)
		}
		if strings.HasPrefix(p.Name, "tiny") {
			// Every matrix dimension a multiple of 256, so that K-quant
			// files hold K-quants, and a few MB at most in F32.
			for _, d := range []int{p.Embd, p.FF, p.Heads * p.headDim()} {
				if d%256 != 0 {
					t.Errorf("%s: dimension %d is not a multiple of 256", key, d)
				}
			}
			if n := p.Params(); n > 2<<20 {
				t.Errorf("%s: %d parameters, want a tiny model", key, n)
			}
		}
	}
	for _, arch := range []string{"llama", "qwen2", "qwen3"} {
		if !seen[arch+"/tiny"] {
			t.Errorf("no tiny preset for %s", arch)
		}
	}
}

// TestPresetParams checks the real-model presets against the parameter
// counts their publishers report, which depend on every dimension.
func TestPresetParams(t *testing.T) {
	tests := []struct {
		arch, name string
		want       int64
	}{
		{"llama", "smollm2-135m", 134_515_008},
		{"qwen2", "qwen2.5-0.5b", 494_032_768},
		{"qwen3", "qwen3-0.6b", 596_049_920},
		{"llama", "llama-3.2-1b", 1_235_814_400 + 32}, // + rope_freqs, which has no Hugging Face weight
	}
	for _, tt := range tests {
		if got := mustPreset(t, tt.arch, tt.name).Params(); got != tt.want {
			t.Errorf("%s/%s: %d parameters, want %d", tt.arch, tt.name, got, tt.want)
		}
	}
}

func TestFindPreset(t *testing.T) {
	tests := []struct {
		arch, name string
		wantArch   string
		wantErr    string
	}{
		{"qwen3", "tiny", "qwen3", ""},
		{"", "llama-3.2-1b", "llama", ""},
		{"", "tiny", "", "several architectures"},
		{"qwen2", "llama-3.2-1b", "", "no preset"},
		{"llama", "nope", "", "no preset"},
	}
	for _, tt := range tests {
		t.Run(tt.arch+"/"+tt.name, func(t *testing.T) {
			p, err := FindPreset(tt.arch, tt.name)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("FindPreset error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || p.Arch != tt.wantArch || p.Name != tt.name {
				t.Fatalf("FindPreset = %s/%s, %v; want %s/%s", p.Arch, p.Name, err, tt.wantArch, tt.name)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	base := mustPreset(t, "llama", "tiny")
	tests := []struct {
		name   string
		change func(*Preset)
		want   string
	}{
		{"arch", func(p *Preset) { p.Arch = "gpt2" }, "architecture"},
		{"zero layers", func(p *Preset) { p.Layers = 0 }, "Layers"},
		{"heads", func(p *Preset) { p.Heads = 3 }, "multiple of 3 heads"},
		{"kv heads", func(p *Preset) { p.HeadsKV = 3 }, "key/value heads"},
		{"bias on llama", func(p *Preset) { p.QKVBias = true }, "QKVBias"},
		{"qk norm on llama", func(p *Preset) { p.QKNorm = true }, "QKNorm"},
		{"head dim on llama", func(p *Preset) { p.HeadDim = 128 }, "only qwen3"},
		{"vocab style", func(p *Preset) { p.VocabStyle = "bert" }, "vocabulary style"},
		{"small vocab", func(p *Preset) { p.Vocab = 100 }, "vocabulary 100"},
		{"rope scaling", func(p *Preset) { p.RopeScaling = Llama3Rope{Factor: 8} }, "RoPE scaling"},
		{"eps", func(p *Preset) { p.NormEps = 0 }, "NormEps"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := base
			tt.change(&p)
			err := p.Validate()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Validate = %v, want an error containing %q", err, tt.want)
			}
			if err := WriteModel(io.Discard, ModelSpec{Preset: p, FileType: "F16"}); err == nil {
				t.Errorf("WriteModel accepted the invalid preset")
			}
		})
	}
	if err := WriteModel(io.Discard, ModelSpec{Preset: base, FileType: "Q3_K_M"}); err == nil || !strings.Contains(err.Error(), "Q4_K_M") {
		t.Errorf("WriteModel with file type Q3_K_M = %v, want an error listing the file types", err)
	}
}

// TestWriteModel writes each tiny preset in every file type and checks
// that gguf.Parse accepts it with the preset's facts, that the tensors are
// those llama.cpp expects with the types tensorType chose, and that the
// data dequantises to values of the intended distribution.
func TestWriteModel(t *testing.T) {
	for _, p := range Presets() {
		if !strings.HasPrefix(p.Name, "tiny") {
			continue
		}
		for _, ftName := range FileTypes() {
			if p.Arch != "llama" && !slices.Contains([]string{"F16", "Q8_0", "Q4_K_M"}, ftName) {
				continue // every file type on llama, a few on the others
			}
			t.Run(p.Arch+"/"+p.Name+"/"+ftName, func(t *testing.T) {
				b := writeModel(t, ModelSpec{Preset: p, FileType: ftName, Seed: 7})
				f := ggParse(t, b)
				checkFacts(t, f, p, ftName)
				checkTensors(t, f, b, p, fileTypes[ftName])
			})
		}
	}
}

func checkFacts(t *testing.T, f *gguf.File, p Preset, ftName string) {
	t.Helper()
	fc := f.Facts()
	got := []any{fc.Architecture, fc.Quantization, fc.ContextLength, fc.EmbeddingLength, fc.BlockCount,
		fc.FeedForwardLength, fc.HeadCount, fc.HeadCountKV, fc.VocabSize, fc.HasChatTemplate}
	want := []any{p.Arch, ftName, uint64(p.Ctx), uint64(p.Embd), uint64(p.Layers),
		uint64(p.FF), uint64(p.Heads), uint64(p.HeadsKV), uint64(p.Vocab), true}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("facts (-want +got):\n%s", diff)
	}
	if n, ok := f.Uint("general.quantization_version"); !ok || n != 2 {
		t.Errorf("general.quantization_version = %d, %v; want 2", n, ok)
	}
	for key, want := range map[string]float64{
		p.Arch + ".attention.layer_norm_rms_epsilon": p.NormEps,
		p.Arch + ".rope.freq_base":                   p.RopeBase,
	} {
		if got, ok := f.Float(key); !ok || float32(got) != float32(want) {
			t.Errorf("%s = %v, %v; want %v", key, got, ok, want)
		}
	}
	hd := uint64(p.headDim())
	keys := map[string]uint64{p.Arch + ".rope.dimension_count": hd}
	if p.Arch == "qwen3" {
		keys[p.Arch+".attention.key_length"] = hd
		keys[p.Arch+".attention.value_length"] = hd
	}
	for key, want := range keys {
		if got, ok := f.Uint(key); !ok || got != want {
			t.Errorf("%s = %d, %v; want %d", key, got, ok, want)
		}
	}
	if toks, _ := f.Strings("tokenizer.ggml.tokens"); len(toks) != p.Vocab {
		t.Errorf("%d tokens, want %d", len(toks), p.Vocab)
	}
	model, _ := f.String("tokenizer.ggml.model")
	if want := map[bool]string{true: "llama", false: "gpt2"}[p.VocabStyle == "spm"]; model != want {
		t.Errorf("tokenizer.ggml.model = %q, want %q", model, want)
	}
}

// wantTensors lists, independently of modelTensors, the tensors llama.cpp
// loads for p (llama-model.cpp's create_tensor calls for these
// architectures) with their dimensions.
func wantTensors(p Preset) map[string][]uint64 {
	e, v, ff := uint64(p.Embd), uint64(p.Vocab), uint64(p.FF)
	hd := uint64(p.Embd / p.Heads)
	if p.HeadDim != 0 {
		hd = uint64(p.HeadDim)
	}
	q, kv := uint64(p.Heads)*hd, uint64(p.HeadsKV)*hd
	m := map[string][]uint64{
		"token_embd.weight":  {e, v},
		"output_norm.weight": {e},
	}
	if !p.TiedEmbeddings {
		m["output.weight"] = []uint64{e, v}
	}
	if p.RopeScaling.Factor != 0 {
		m["rope_freqs.weight"] = []uint64{hd / 2}
	}
	for l := 0; l < p.Layers; l++ {
		b := fmt.Sprintf("blk.%d.", l)
		m[b+"attn_norm.weight"] = []uint64{e}
		m[b+"attn_q.weight"] = []uint64{e, q}
		m[b+"attn_k.weight"] = []uint64{e, kv}
		m[b+"attn_v.weight"] = []uint64{e, kv}
		m[b+"attn_output.weight"] = []uint64{q, e}
		m[b+"ffn_norm.weight"] = []uint64{e}
		m[b+"ffn_gate.weight"] = []uint64{e, ff}
		m[b+"ffn_up.weight"] = []uint64{e, ff}
		m[b+"ffn_down.weight"] = []uint64{ff, e}
		if p.Arch == "qwen2" {
			m[b+"attn_q.bias"] = []uint64{q}
			m[b+"attn_k.bias"] = []uint64{kv}
			m[b+"attn_v.bias"] = []uint64{kv}
		}
		if p.Arch == "qwen3" {
			m[b+"attn_q_norm.weight"] = []uint64{hd}
			m[b+"attn_k_norm.weight"] = []uint64{hd}
		}
	}
	return m
}

func checkTensors(t *testing.T, f *gguf.File, b []byte, p Preset, ft fileType) {
	t.Helper()
	got := map[string][]uint64{}
	for _, ti := range f.Tensors {
		got[ti.Name] = ti.Dims
	}
	if diff := cmp.Diff(wantTensors(p), got); diff != "" {
		t.Fatalf("tensors (-want +got):\n%s", diff)
	}
	data := ggTensorData(t, f, b)
	for _, ti := range f.Tensors {
		mt := modelTensor{name: ti.Name, layer: layerOf(ti.Name)}
		for _, d := range ti.Dims {
			mt.dims = append(mt.dims, int(d))
		}
		if want := tensorType(ft, mt, p); ti.Type != want {
			t.Errorf("%s: type %s, want %s", ti.Name, ti.Type, want)
		}
		vals := make([]float32, ti.Elements())
		if err := quant.Dequantize(ti.Type, data[ti.Name], vals); err != nil {
			t.Fatalf("%s: %v", ti.Name, err)
		}
		checkValues(t, ti.Name, vals, p)
	}
}

func layerOf(name string) int {
	var l int
	if _, err := fmt.Sscanf(name, "blk.%d.", &l); err != nil {
		return -1
	}
	return l
}

// checkValues checks a tensor's mean and standard deviation: weights and
// biases about N(0, 0.02), norm weights about 1 ± 0.02, rope_freqs Llama
// 3's divisors between 1 and the factor.
func checkValues(t *testing.T, name string, v []float32, p Preset) {
	t.Helper()
	var sum, sq float64
	for _, x := range v {
		sum += float64(x)
		sq += float64(x) * float64(x)
	}
	n := float64(len(v))
	mean := sum / n
	std := math.Sqrt(max(0, sq/n-mean*mean))
	switch {
	case name == "rope_freqs.weight":
		if v[0] != 1 || v[len(v)-1] != float32(p.RopeScaling.Factor) {
			t.Errorf("%s: from %v to %v, want from 1 to %v", name, v[0], v[len(v)-1], p.RopeScaling.Factor)
		}
		if !slices.IsSorted(v) {
			t.Errorf("%s: %v not increasing", name, v)
		}
	case strings.HasSuffix(name, "norm.weight"):
		if math.Abs(mean-1) > 0.01 || std > 0.03 {
			t.Errorf("%s: mean %.4f std %.4f, want about 1 ± 0.02", name, mean, std)
		}
	default:
		// Small tensors (biases of 128 values) get a looser bound.
		tol := 0.1 + 3/math.Sqrt(n)
		if math.Abs(mean) > 0.005 || math.Abs(std-0.02) > 0.02*tol {
			t.Errorf("%s: mean %.5f std %.5f, want about 0 ± 0.02", name, mean, std)
		}
	}
}

// TestQuantMix checks the tensor types of the _M mixes and the fallbacks
// against llama.cpp's rules, restated here as expectations per tensor:
// attn_v and ffn_down get Q6_K in the "more bits" layers (for 16 layers:
// 0, 1, 4, 7, 10, 13, 14, 15), the output projection (or a tied token
// embedding) Q6_K, 1-D tensors F32; rows that do not fit 256-element
// blocks fall back from Q4_K/Q5_K/Q6_K to Q5_0/Q5_1/Q8_0, and rows that
// do not fit 32-element blocks to F16.
func TestQuantMix(t *testing.T) {
	moreBits16 := []int{0, 1, 4, 7, 10, 13, 14, 15}
	moreBits30 := []int{0, 1, 2, 5, 8, 11, 14, 17, 20, 23, 26, 27, 28, 29}
	moreBits24 := []int{0, 1, 2, 5, 8, 11, 14, 17, 20, 21, 22, 23}
	type want struct {
		other, vMore, vLess, downMore, downLess, embd, output string
	}
	sixteen := Preset{Name: "sixteen", Arch: "llama", Vocab: 300, Embd: 256, FF: 512, Layers: 16, Heads: 4, HeadsKV: 2,
		Ctx: 64, RopeBase: 10000, NormEps: 1e-5, VocabStyle: "spm"}
	tied := sixteen
	tied.TiedEmbeddings = true
	odd := sixteen // rows of 96: fit 32-element blocks, not 256
	odd.Embd, odd.FF, odd.Heads, odd.HeadsKV = 96, 96, 2, 1
	odder := odd // rows of 40: fit no block
	odder.Embd, odder.FF = 40, 40
	tests := []struct {
		p        Preset
		ft       string
		moreBits []int
		want     want
	}{
		{sixteen, "Q4_K_M", moreBits16, want{"Q4_K", "Q6_K", "Q4_K", "Q6_K", "Q4_K", "Q4_K", "Q6_K"}},
		{tied, "Q4_K_M", moreBits16, want{"Q4_K", "Q6_K", "Q4_K", "Q6_K", "Q4_K", "Q6_K", ""}},
		{sixteen, "Q5_K_M", moreBits16, want{"Q5_K", "Q6_K", "Q5_K", "Q6_K", "Q5_K", "Q5_K", "Q6_K"}},
		{sixteen, "Q6_K", moreBits16, want{"Q6_K", "Q6_K", "Q6_K", "Q6_K", "Q6_K", "Q6_K", "Q6_K"}},
		{sixteen, "Q8_0", moreBits16, want{"Q8_0", "Q8_0", "Q8_0", "Q8_0", "Q8_0", "Q8_0", "Q8_0"}},
		{sixteen, "Q4_0", moreBits16, want{"Q4_0", "Q4_0", "Q4_0", "Q4_0", "Q4_0", "Q4_0", "Q6_K"}},
		{tied, "Q5_1", moreBits16, want{"Q5_1", "Q5_1", "Q5_1", "Q5_1", "Q5_1", "Q6_K", ""}},
		{sixteen, "F16", moreBits16, want{"F16", "F16", "F16", "F16", "F16", "F16", "F16"}},
		{sixteen, "BF16", moreBits16, want{"BF16", "BF16", "BF16", "BF16", "BF16", "BF16", "BF16"}},
		{sixteen, "F32", moreBits16, want{"F32", "F32", "F32", "F32", "F32", "F32", "F32"}},
		{odd, "Q4_K_M", moreBits16, want{"Q5_0", "Q8_0", "Q5_0", "Q8_0", "Q5_0", "Q5_0", "Q8_0"}},
		{odd, "Q5_K_M", moreBits16, want{"Q5_1", "Q8_0", "Q5_1", "Q8_0", "Q5_1", "Q5_1", "Q8_0"}},
		{odd, "Q4_0", moreBits16, want{"Q4_0", "Q4_0", "Q4_0", "Q4_0", "Q4_0", "Q4_0", "Q8_0"}},
		// llama.cpp refuses these (no fallback from Q8_0); WriteModel uses F16.
		{odder, "Q4_K_M", moreBits16, want{"F16", "F16", "F16", "F16", "F16", "F16", "F16"}},
		{odder, "Q8_0", moreBits16, want{"F16", "F16", "F16", "F16", "F16", "F16", "F16"}},
		// The real shapes, by the rules alone (nothing is written).
		{mustPreset(t, "llama", "llama-3.2-1b"), "Q4_K_M", moreBits16, want{"Q4_K", "Q6_K", "Q4_K", "Q6_K", "Q4_K", "Q6_K", ""}},
		{mustPreset(t, "llama", "smollm2-135m"), "Q4_K_M", moreBits30, want{"Q5_0", "Q8_0", "Q5_0", "Q6_K", "Q4_K", "Q8_0", ""}},
		{mustPreset(t, "qwen2", "qwen2.5-0.5b"), "Q4_K_M", moreBits24, want{"Q5_0", "Q8_0", "Q5_0", "Q6_K", "Q4_K", "Q8_0", ""}},
		{mustPreset(t, "qwen2", "qwen2.5-0.5b"), "Q8_0", moreBits24, want{"Q8_0", "Q8_0", "Q8_0", "Q8_0", "Q8_0", "Q8_0", ""}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/%s", tt.p.Name, tt.ft), func(t *testing.T) {
			got := map[string]string{}
			for _, mt := range modelTensors(tt.p) {
				got[mt.name] = tensorType(fileTypes[tt.ft], mt, tt.p).String()
			}
			want := map[string]string{}
			for name := range got {
				w := tt.want.other
				switch {
				case !strings.HasSuffix(name, ".weight") || strings.HasSuffix(name, "norm.weight") || name == "rope_freqs.weight":
					w = "F32"
				case name == "token_embd.weight":
					w = tt.want.embd
				case name == "output.weight":
					w = tt.want.output
				case strings.HasSuffix(name, "attn_v.weight"):
					w = tt.want.vLess
					if slices.Contains(tt.moreBits, layerOf(name)) {
						w = tt.want.vMore
					}
				case strings.HasSuffix(name, "ffn_down.weight"):
					w = tt.want.downLess
					if slices.Contains(tt.moreBits, layerOf(name)) {
						w = tt.want.downMore
					}
				}
				want[name] = w
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("tensor types (-want +got):\n%s", diff)
			}
		})
	}
	// Write the sixteen-layer mixes once, to be sure every type chosen
	// quantises and parses.
	for _, ft := range []string{"Q4_K_M", "Q5_K_M"} {
		for _, p := range []Preset{sixteen, odd, odder} {
			b := writeModel(t, ModelSpec{Preset: p, FileType: ft, Seed: 1})
			checkTensors(t, ggParse(t, b), b, p, fileTypes[ft])
		}
	}
}

// TestWriteModelReuseBlocks checks that a file built from a pool of blocks
// has the same tensors and types as a quantised one, values of the same
// distribution, and repeated blocks, and is deterministic.
func TestWriteModelReuseBlocks(t *testing.T) {
	p := mustPreset(t, "llama", "tiny")
	p.Layers = 4
	for _, ft := range []string{"Q4_K_M", "Q8_0", "F16"} {
		t.Run(ft, func(t *testing.T) {
			spec := ModelSpec{Preset: p, FileType: ft, Seed: 3, ReuseBlocks: true}
			b := writeModel(t, spec)
			if !bytes.Equal(b, writeModel(t, spec)) {
				t.Errorf("the same spec gave different bytes")
			}
			spec.ReuseBlocks = false
			if plain := writeModel(t, spec); len(plain) != len(b) || ft != "F16" && bytes.Equal(plain, b) {
				t.Errorf("with and without ReuseBlocks: %d and %d bytes, equal %v", len(b), len(plain), bytes.Equal(plain, b))
			}
			f := ggParse(t, b)
			checkFacts(t, f, p, ft)
			checkTensors(t, f, b, p, fileTypes[ft])
			// The pool has 1024 K-quant blocks, or 8192 Q8_0 blocks; the
			// 2048 blocks of a 256×2048 K-quant matrix must repeat some.
			ti, _ := f.Tensor("blk.0.ffn_up.weight")
			data := ggTensorData(t, f, b)[ti.Name]
			ts := int(ti.Type.TypeSize())
			seen := map[string]bool{}
			for i := 0; i < len(data); i += ts {
				seen[string(data[i:i+ts])] = true
			}
			if n := len(data) / ts; ti.Type == gguf.TypeQ4_K && len(seen) >= n {
				t.Errorf("%d distinct blocks of %d: blocks were not reused", len(seen), n)
			}
		})
	}
}

func TestWriteModelDeterministic(t *testing.T) {
	p := mustPreset(t, "qwen3", "tiny")
	spec := ModelSpec{Preset: p, FileType: "Q4_K_M", Seed: 42}
	a := writeModel(t, spec)
	b := writeModel(t, spec)
	if !bytes.Equal(a, b) {
		t.Errorf("the same spec gave different bytes")
	}
	old := runtime.GOMAXPROCS(1)
	c := writeModel(t, spec)
	runtime.GOMAXPROCS(old)
	if !bytes.Equal(a, c) {
		t.Errorf("GOMAXPROCS 1 gave different bytes")
	}
	spec.Seed = 43
	if d := writeModel(t, spec); bytes.Equal(a, d) || len(a) != len(d) {
		t.Errorf("another seed gave the same bytes, or another size (%d vs %d)", len(d), len(a))
	}
}

// TestWriteModelGolden pins the tensor data of one small file, so that a
// change in generation, quantisation or layout is noticed: tests of other
// packages may depend on these values.
func TestWriteModelGolden(t *testing.T) {
	b := writeModel(t, ModelSpec{Preset: mustPreset(t, "llama", "tiny-llama3"), FileType: "Q4_K_M", Seed: 1})
	f := ggParse(t, b)
	data := ggTensorData(t, f, b)
	h := sha256.New()
	for _, ti := range f.Tensors {
		fmt.Fprintf(h, "%s %v %s\n", ti.Name, ti.Dims, ti.Type)
		h.Write(data[ti.Name])
	}
	const want = "8386fa78acdaf78775c9f69198446e851b9de71815723153bf1709f0277dd75d"
	if got := fmt.Sprintf("%x", h.Sum(nil)); got != want {
		t.Errorf("sha256 of the tensors = %s, want %s", got, want)
	}
}

type failWriter struct{ after int }

func (w *failWriter) Write(p []byte) (int, error) {
	if w.after -= len(p); w.after < 0 {
		return 0, fmt.Errorf("disk full")
	}
	return len(p), nil
}

func TestWriteModelWriteError(t *testing.T) {
	spec := ModelSpec{Preset: mustPreset(t, "qwen2", "tiny"), FileType: "Q8_0"}
	before := runtime.NumGoroutine()
	for _, after := range []int{0, 100 << 10, 1 << 20} {
		err := WriteModel(&failWriter{after: after}, spec)
		if err == nil || !strings.Contains(err.Error(), "disk full") {
			t.Errorf("WriteModel to a writer failing after %d bytes = %v, want the write error", after, err)
		}
	}
	// The generator's goroutines have finished when WriteModel returns,
	// but may take a moment to leave the scheduler's count.
	for i := 0; runtime.NumGoroutine() > before; i++ {
		if i == 100 {
			t.Fatalf("%d goroutines after failed writes, %d before: the generator leaked", runtime.NumGoroutine(), before)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestRopeFreqs(t *testing.T) {
	p := mustPreset(t, "llama", "llama-3.2-1b")
	got := ropeFreqs(p.headDim(), p.RopeBase, p.RopeScaling)
	if len(got) != 32 {
		t.Fatalf("%d factors, want 32", len(got))
	}
	// Frequency i has wavelength 2π·500000^(i/32): under 8192/4 = 2048 for
	// i ≤ 14 (factor 1), over 8192/1 for i ≥ 18 (factor 32), blended
	// between.
	for i, f := range got {
		switch {
		case i <= 14 && f != 1, i >= 18 && f != 32, i > 14 && i < 18 && !(f > 1 && f < 32):
			t.Errorf("factor %d = %v", i, f)
		}
	}
}

// TestWriteModelLarge writes a real-size preset (about 135M weights) to
// check that big vocabularies and many layers work; skipped with -short.
func TestWriteModelLarge(t *testing.T) {
	if testing.Short() {
		t.Skip("writes a 145 MB model")
	}
	p := mustPreset(t, "llama", "smollm2-135m")
	b := writeModel(t, ModelSpec{Preset: p, FileType: "Q8_0", Seed: 1})
	f := ggParse(t, b)
	checkFacts(t, f, p, "Q8_0")
	if got := f.Facts().ParameterCount; got != uint64(p.Params()) {
		t.Errorf("parameter count %d, want %d", got, p.Params())
	}
}

// BenchmarkWriteModel writes the models the engine benchmarks use.
func BenchmarkWriteModel(b *testing.B) {
	for _, c := range []struct{ arch, name, ft string }{
		{"qwen2", "qwen2.5-0.5b", "Q8_0"},
		{"qwen2", "qwen2.5-0.5b", "Q4_K_M"},
		{"llama", "llama-3.2-1b", "Q4_K_M"},
	} {
		p, err := FindPreset(c.arch, c.name)
		if err != nil {
			b.Fatal(err)
		}
		for _, reuse := range []bool{false, true} {
			b.Run(fmt.Sprintf("%s/%s/reuse=%v", c.name, c.ft, reuse), func(b *testing.B) {
				b.SetBytes(p.Params() * 4)
				for b.Loop() {
					if err := WriteModel(io.Discard, ModelSpec{Preset: p, FileType: c.ft, Seed: 1, ReuseBlocks: reuse}); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
