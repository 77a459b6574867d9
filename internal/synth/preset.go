package synth

import (
	"errors"
	"fmt"
	"io"
	"math"
	"runtime"
	"slices"
	"strings"
	"sync"

	"sov.dev/sov/internal/gguf"
	"sov.dev/sov/internal/quant"
)

// Preset is the shape of a decoder-only transformer of the llama, qwen2 or
// qwen3 architecture, as llama.cpp reads it from GGUF metadata.
type Preset struct {
	Name string
	Arch string // "llama", "qwen2" or "qwen3"

	Vocab   int
	Embd    int // embedding (hidden) size
	FF      int // feed-forward size
	Layers  int
	Heads   int
	HeadsKV int
	// HeadDim is the size of one attention head; 0 means Embd/Heads.
	// Qwen3 models may use a different one.
	HeadDim int
	Ctx     int // context length

	RopeBase float64
	// RopeScaling, when its Factor is non-zero, is Llama 3's
	// frequency-dependent RoPE scaling, stored as a rope_freqs.weight
	// tensor of per-frequency divisors.
	RopeScaling Llama3Rope
	NormEps     float64 // RMS norm epsilon

	TiedEmbeddings bool // no output.weight: the output projection reuses token_embd
	QKVBias        bool // attn_q/k/v biases (qwen2)
	QKNorm         bool // RMS norms on queries and keys per head (qwen3)

	// VocabStyle picks the tokenizer: "spm" for LlamaSPMVocab, else a
	// BPEVocab style ("llama3", "qwen2", "smollm").
	VocabStyle string
}

// Llama3Rope is the "llama3" rope_scaling of a Hugging Face config.
type Llama3Rope struct {
	Factor          float64
	LowFreqFactor   float64
	HighFreqFactor  float64
	OriginalContext int
}

// headDim returns the attention head size.
func (p Preset) headDim() int {
	if p.HeadDim != 0 {
		return p.HeadDim
	}
	if p.Heads == 0 {
		return 0
	}
	return p.Embd / p.Heads
}

// Params returns the number of weights WriteModel writes for p.
func (p Preset) Params() int64 {
	var n int64
	for _, t := range modelTensors(p) {
		e := int64(1)
		for _, d := range t.dims {
			e *= int64(d)
		}
		n += e
	}
	return n
}

// Validate reports whether WriteModel can write p: known architecture and
// vocabulary style, positive sizes, heads that divide evenly, and the
// per-architecture tensors llama.cpp requires.
func (p Preset) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("synth: preset %q: %s", p.Name, fmt.Sprintf(format, args...))
	}
	switch p.Arch {
	case "llama", "qwen2", "qwen3":
	default:
		return bad("architecture %q: want llama, qwen2 or qwen3", p.Arch)
	}
	for _, f := range []struct {
		name string
		v    int
	}{{"Vocab", p.Vocab}, {"Embd", p.Embd}, {"FF", p.FF}, {"Layers", p.Layers}, {"Heads", p.Heads}, {"HeadsKV", p.HeadsKV}, {"Ctx", p.Ctx}} {
		if f.v <= 0 {
			return bad("%s is %d, want > 0", f.name, f.v)
		}
	}
	if p.HeadDim < 0 || p.HeadDim == 0 && p.Embd%p.Heads != 0 {
		return bad("embedding %d is not a multiple of %d heads; set HeadDim", p.Embd, p.Heads)
	}
	if hd := p.headDim(); hd%2 != 0 {
		return bad("head size %d is odd; RoPE needs pairs", hd)
	}
	if p.Heads%p.HeadsKV != 0 {
		return bad("%d heads are not a multiple of %d key/value heads", p.Heads, p.HeadsKV)
	}
	if p.RopeBase <= 0 || p.NormEps <= 0 {
		return bad("RopeBase %g and NormEps %g must be positive", p.RopeBase, p.NormEps)
	}
	if r := p.RopeScaling; r.Factor != 0 && (r.Factor < 1 || r.LowFreqFactor <= 0 || r.HighFreqFactor <= r.LowFreqFactor || r.OriginalContext <= 0) {
		return bad("RoPE scaling %+v: want factor ≥ 1, 0 < low < high, original context > 0", r)
	}
	if p.QKVBias != (p.Arch == "qwen2") {
		return bad("QKVBias is %v; llama.cpp's %s wants %v", p.QKVBias, p.Arch, p.Arch == "qwen2")
	}
	if p.QKNorm != (p.Arch == "qwen3") {
		return bad("QKNorm is %v; llama.cpp's %s wants %v", p.QKNorm, p.Arch, p.Arch == "qwen3")
	}
	if p.HeadDim != 0 && p.HeadDim != p.Embd/p.Heads && p.Arch != "qwen3" {
		return bad("HeadDim %d differs from Embd/Heads, which only qwen3 supports", p.HeadDim)
	}
	if p.VocabStyle == "spm" {
		if p.Vocab < SPMMinSize {
			return bad("vocabulary %d is smaller than %d", p.Vocab, SPMMinSize)
		}
	} else if !slices.Contains(BPEStyles(), p.VocabStyle) {
		return bad("vocabulary style %q: want spm or one of %s", p.VocabStyle, strings.Join(BPEStyles(), ", "))
	} else if p.Vocab < 256+8 {
		return bad("vocabulary %d is too small for a byte-level BPE vocabulary", p.Vocab)
	}
	return nil
}

// llama3RopeDefaults is the rope_scaling of the Llama 3.1 and 3.2 models.
var llama3RopeDefaults = Llama3Rope{Factor: 32, LowFreqFactor: 1, HighFreqFactor: 4, OriginalContext: 8192}

// Presets returns the built-in presets: "tiny" models of each architecture
// (a few MB, 2 layers, vocabulary 512, every dimension a multiple of 256
// so that K-quants apply; tiny-llama3 adds Llama 3 RoPE scaling and a BPE
// vocabulary), and the shapes of real models, with the numbers of their
// published config.json: SmolLM2-135M, Qwen2.5-0.5B, Qwen3-0.6B and
// Llama-3.2-1B. Only the shapes are real; WriteModel fills them with noise.
func Presets() []Preset {
	return []Preset{
		{
			Name: "tiny", Arch: "llama", Vocab: 512, Embd: 256, FF: 512, Layers: 2, Heads: 4, HeadsKV: 2, Ctx: 512,
			RopeBase: 10000, NormEps: 1e-5, VocabStyle: "spm",
		},
		{
			Name: "tiny-llama3", Arch: "llama", Vocab: 512, Embd: 256, FF: 512, Layers: 2, Heads: 4, HeadsKV: 1, Ctx: 1024,
			RopeBase: 500000, RopeScaling: llama3RopeDefaults, NormEps: 1e-5, TiedEmbeddings: true, VocabStyle: "llama3",
		},
		{
			Name: "tiny", Arch: "qwen2", Vocab: 512, Embd: 256, FF: 768, Layers: 2, Heads: 4, HeadsKV: 2, Ctx: 1024,
			RopeBase: 1000000, NormEps: 1e-6, TiedEmbeddings: true, QKVBias: true, VocabStyle: "qwen2",
		},
		{
			// Head size 128 with 4 heads: the attention width (512) differs
			// from the embedding (256), as in Qwen3-0.6B.
			Name: "tiny", Arch: "qwen3", Vocab: 512, Embd: 256, FF: 512, Layers: 2, Heads: 4, HeadsKV: 2, HeadDim: 128, Ctx: 1024,
			RopeBase: 1000000, NormEps: 1e-6, QKNorm: true, VocabStyle: "qwen2",
		},
		{
			// HuggingFaceTB/SmolLM2-135M(-Instruct).
			Name: "smollm2-135m", Arch: "llama", Vocab: 49152, Embd: 576, FF: 1536, Layers: 30, Heads: 9, HeadsKV: 3, Ctx: 8192,
			RopeBase: 100000, NormEps: 1e-5, TiedEmbeddings: true, VocabStyle: "smollm",
		},
		{
			// Qwen/Qwen2.5-0.5B(-Instruct).
			Name: "qwen2.5-0.5b", Arch: "qwen2", Vocab: 151936, Embd: 896, FF: 4864, Layers: 24, Heads: 14, HeadsKV: 2, Ctx: 32768,
			RopeBase: 1000000, NormEps: 1e-6, TiedEmbeddings: true, QKVBias: true, VocabStyle: "qwen2",
		},
		{
			// Qwen/Qwen3-0.6B: head_dim 128 with 16 heads over a 1024 embedding.
			Name: "qwen3-0.6b", Arch: "qwen3", Vocab: 151936, Embd: 1024, FF: 3072, Layers: 28, Heads: 16, HeadsKV: 8, HeadDim: 128, Ctx: 40960,
			RopeBase: 1000000, NormEps: 1e-6, TiedEmbeddings: true, QKNorm: true, VocabStyle: "qwen2",
		},
		{
			// meta-llama/Llama-3.2-1B(-Instruct).
			Name: "llama-3.2-1b", Arch: "llama", Vocab: 128256, Embd: 2048, FF: 8192, Layers: 16, Heads: 32, HeadsKV: 8, Ctx: 131072,
			RopeBase: 500000, RopeScaling: llama3RopeDefaults, NormEps: 1e-5, TiedEmbeddings: true, VocabStyle: "llama3",
		},
	}
}

// FindPreset returns the preset with the given architecture and name. An
// empty arch matches any architecture if the name is unambiguous.
func FindPreset(arch, name string) (Preset, error) {
	var found []Preset
	var all []string
	for _, p := range Presets() {
		all = append(all, p.Arch+"/"+p.Name)
		if p.Name == name && (arch == "" || p.Arch == arch) {
			found = append(found, p)
		}
	}
	switch len(found) {
	case 1:
		return found[0], nil
	case 0:
		return Preset{}, fmt.Errorf("synth: no preset %q for architecture %q (have %s)", name, arch, strings.Join(all, ", "))
	}
	var archs []string
	for _, p := range found {
		archs = append(archs, p.Arch)
	}
	return Preset{}, fmt.Errorf("synth: preset %q exists for several architectures (%s); name one", name, strings.Join(archs, ", "))
}

// ModelSpec describes a synthetic model file.
type ModelSpec struct {
	Preset Preset
	// FileType is the llama.cpp file type: "F32", "F16", "BF16", "Q8_0",
	// "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q4_K_M", "Q5_K_M" or "Q6_K".
	FileType string
	Seed     uint64
	// ReuseBlocks builds quantised matrices from a pool of quantised
	// blocks (1024 super-blocks' worth per type and kind of tensor), each
	// block picked at random, instead of quantising every block. The file
	// has the same tensors, types and value statistics, but its blocks
	// repeat; it is written many times faster, which matters for the
	// K-quant presets of real size (ggml's reference K-quant search runs at
	// about 12M weights per second per core). For benchmarks, where values
	// do not matter.
	ReuseBlocks bool
}

// fileType is one llama.cpp llama_ftype that WriteModel can produce.
type fileType struct {
	id   uint32          // general.file_type
	base gguf.TensorType // llama_ftype_get_default_type: the type of most matrices
	mix  bool            // a _M mix: more bits for some attn_v and ffn_down
}

var fileTypes = map[string]fileType{
	"F32":    {0, gguf.TypeF32, false},
	"F16":    {1, gguf.TypeF16, false},
	"Q4_0":   {2, gguf.TypeQ4_0, false},
	"Q4_1":   {3, gguf.TypeQ4_1, false},
	"Q8_0":   {7, gguf.TypeQ8_0, false},
	"Q5_0":   {8, gguf.TypeQ5_0, false},
	"Q5_1":   {9, gguf.TypeQ5_1, false},
	"Q4_K_M": {15, gguf.TypeQ4_K, true},
	"Q5_K_M": {17, gguf.TypeQ5_K, true},
	"Q6_K":   {18, gguf.TypeQ6_K, false},
	"BF16":   {32, gguf.TypeBF16, false},
}

// FileTypes returns the file types WriteModel accepts, sorted.
func FileTypes() []string {
	var s []string
	for k := range fileTypes {
		s = append(s, k)
	}
	slices.Sort(s)
	return s
}

// tensor kinds: how a tensor's values are generated.
const (
	kindWeight    = iota // Gaussian-like, std 0.02
	kindNorm             // 1 + Gaussian-like noise of std 0.02
	kindBias             // Gaussian-like, std 0.02
	kindRopeFreqs        // Llama 3 RoPE frequency divisors
)

// modelTensor is one tensor of a model, before its type is chosen.
type modelTensor struct {
	name  string
	dims  []int // innermost (input) dimension first
	kind  int
	layer int // -1 outside the blocks
}

// modelTensors lists p's tensors in file order with llama.cpp's names and
// ggml's dimension order (ne0 is the input dimension of a matrix).
func modelTensors(p Preset) []modelTensor {
	hd := p.headDim()
	qDim, kvDim := p.Heads*hd, p.HeadsKV*hd
	var ts []modelTensor
	add := func(layer, kind int, name string, dims ...int) {
		ts = append(ts, modelTensor{name: name, dims: dims, kind: kind, layer: layer})
	}
	if p.RopeScaling.Factor != 0 {
		add(-1, kindRopeFreqs, "rope_freqs.weight", hd/2)
	}
	add(-1, kindWeight, "token_embd.weight", p.Embd, p.Vocab)
	for l := 0; l < p.Layers; l++ {
		b := fmt.Sprintf("blk.%d.", l)
		add(l, kindNorm, b+"attn_norm.weight", p.Embd)
		add(l, kindWeight, b+"attn_q.weight", p.Embd, qDim)
		if p.QKVBias {
			add(l, kindBias, b+"attn_q.bias", qDim)
		}
		add(l, kindWeight, b+"attn_k.weight", p.Embd, kvDim)
		if p.QKVBias {
			add(l, kindBias, b+"attn_k.bias", kvDim)
		}
		add(l, kindWeight, b+"attn_v.weight", p.Embd, kvDim)
		if p.QKVBias {
			add(l, kindBias, b+"attn_v.bias", kvDim)
		}
		add(l, kindWeight, b+"attn_output.weight", qDim, p.Embd)
		if p.QKNorm {
			add(l, kindNorm, b+"attn_q_norm.weight", hd)
			add(l, kindNorm, b+"attn_k_norm.weight", hd)
		}
		add(l, kindNorm, b+"ffn_norm.weight", p.Embd)
		add(l, kindWeight, b+"ffn_gate.weight", p.Embd, p.FF)
		add(l, kindWeight, b+"ffn_up.weight", p.Embd, p.FF)
		add(l, kindWeight, b+"ffn_down.weight", p.FF, p.Embd)
	}
	add(-1, kindNorm, "output_norm.weight", p.Embd)
	if !p.TiedEmbeddings {
		add(-1, kindWeight, "output.weight", p.Embd, p.Vocab)
	}
	return ts
}

// useMoreBits is llama.cpp's choice of the layers that get more bits in
// the _M mixes: the first and last eighth, and every third layer between.
func useMoreBits(layer, layers int) bool {
	return layer < layers/8 || layer >= 7*layers/8 || (layer-layers/8)%3 == 2
}

// tensorType chooses a tensor's type as llama.cpp does: convert_hf_to_gguf
// keeps 1-D tensors in F32 and stores matrices in F16/BF16/F32, and
// llama-quantize (llama_tensor_get_type, without an importance matrix)
// picks each matrix's quant type for the file type.
func tensorType(ft fileType, t modelTensor, p Preset) gguf.TensorType {
	if len(t.dims) < 2 {
		return gguf.TypeF32
	}
	typ := ft.base
	if !typ.Quantized() {
		return typ
	}
	ne0 := uint64(t.dims[0])
	switch {
	case t.name == "output.weight" || p.TiedEmbeddings && t.name == "token_embd.weight":
		// The output projection (and a token embedding that doubles as
		// it) gets Q6_K, or Q8_0 when its rows do not fit the file
		// type's blocks.
		if ne0%typ.BlockSize() != 0 {
			typ = gguf.TypeQ8_0
		} else if typ != gguf.TypeQ8_0 {
			typ = gguf.TypeQ6_K
		}
	case ft.mix && (strings.HasSuffix(t.name, ".attn_v.weight") || strings.HasSuffix(t.name, ".ffn_down.weight")):
		if useMoreBits(t.layer, p.Layers) {
			typ = gguf.TypeQ6_K
		}
	}
	// tensor_type_fallback: rows that do not fit the blocks of the chosen
	// type fall back to a type with 32-element blocks, else to F16.
	if ne0%typ.BlockSize() != 0 {
		switch typ {
		case gguf.TypeQ4_K:
			typ = gguf.TypeQ5_0
		case gguf.TypeQ5_K:
			typ = gguf.TypeQ5_1
		case gguf.TypeQ6_K:
			typ = gguf.TypeQ8_0
		default:
			// llama.cpp gives up on legacy types here; F16 is the type it
			// falls back to when nothing else fits.
			typ = gguf.TypeF16
		}
		if ne0%typ.BlockSize() != 0 {
			typ = gguf.TypeF16
		}
	}
	return typ
}

// modelMetadata returns the GGUF metadata of a model: general.*, the
// architecture's hyper-parameters under "<arch>.", and the vocabulary.
func modelMetadata(p Preset, ft fileType, ftName string) []gguf.KV {
	arch := p.Arch
	f32 := func(k string, v float64) gguf.KV {
		return gguf.KV{Key: k, Value: gguf.Value{Type: gguf.TypeFloat32, V: float32(v)}}
	}
	u32 := func(k string, v int) gguf.KV { return kvUint32(arch+"."+k, uint32(v)) }
	hd := p.headDim()
	kv := []gguf.KV{
		kvString("general.architecture", arch),
		kvString("general.type", "model"),
		kvString("general.name", fmt.Sprintf("%s %s %s (synthetic)", arch, p.Name, ftName)),
		kvString("general.description", "Synthetic model written by sov: the shape of a real model filled with deterministic noise. It produces gibberish."),
		kvUint32("general.file_type", ft.id),
		kvUint32("general.quantization_version", 2),
		u32("vocab_size", p.Vocab),
		u32("context_length", p.Ctx),
		u32("embedding_length", p.Embd),
		u32("block_count", p.Layers),
		u32("feed_forward_length", p.FF),
		u32("attention.head_count", p.Heads),
		u32("attention.head_count_kv", p.HeadsKV),
		f32(arch+".attention.layer_norm_rms_epsilon", p.NormEps),
		f32(arch+".rope.freq_base", p.RopeBase),
		u32("rope.dimension_count", hd),
	}
	if p.HeadDim != 0 {
		kv = append(kv, u32("attention.key_length", hd), u32("attention.value_length", hd))
	}
	if p.VocabStyle == "spm" {
		kv = append(kv, LlamaSPMVocab(p.Vocab)...)
	} else {
		kv = append(kv, BPEVocab(p.Vocab, p.VocabStyle)...)
	}
	return kv
}

// ropeFreqs returns Llama 3's RoPE frequency divisors for head size hd, as
// convert_hf_to_gguf computes them: 1 for high frequencies (wavelength
// under original/high), the factor for low ones (over original/low), and a
// smooth blend between.
func ropeFreqs(hd int, base float64, r Llama3Rope) []float32 {
	lowWave := float64(r.OriginalContext) / r.LowFreqFactor
	highWave := float64(r.OriginalContext) / r.HighFreqFactor
	out := make([]float32, hd/2)
	for i := range out {
		freq := 1 / math.Pow(base, float64(2*i)/float64(hd))
		wave := 2 * math.Pi / freq
		switch {
		case wave < highWave:
			out[i] = 1
		case wave > lowWave:
			out[i] = float32(r.Factor)
		default:
			smooth := (float64(r.OriginalContext)/wave - r.LowFreqFactor) / (r.HighFreqFactor - r.LowFreqFactor)
			out[i] = float32(1 / ((1-smooth)/r.Factor + smooth))
		}
	}
	return out
}

// WriteModel writes a GGUF file (version 3) of the model spec describes,
// in a form llama.cpp loads: the metadata llama.cpp reads for the
// architecture, the vocabulary of p.VocabStyle, and every tensor under
// llama.cpp's name with ggml's dimension order, typed as llama-quantize
// types them for the file type (see tensorType). Weights are Gaussian-like
// with standard deviation 0.02, norm weights 1 ± 0.02, biases like
// weights, and rope_freqs the real Llama 3 divisors. Values are generated
// as float32 and quantised with quant.Quantize, tensor by tensor and a few
// rows at a time on all CPUs, so memory stays small and the bytes depend
// only on the spec: the same spec always gives the same file, whatever
// the number of CPUs. With spec.ReuseBlocks, quantised matrices are built
// from a pool of quantised blocks instead (see ModelSpec).
func WriteModel(w io.Writer, spec ModelSpec) error {
	p := spec.Preset
	if err := p.Validate(); err != nil {
		return err
	}
	ft, ok := fileTypes[spec.FileType]
	if !ok {
		return fmt.Errorf("synth: file type %q: want one of %s", spec.FileType, strings.Join(FileTypes(), ", "))
	}
	mts := modelTensors(p)
	plans := make([]tensorPlan, len(mts))
	for i, t := range mts {
		plans[i] = tensorPlan{modelTensor: t, typ: tensorType(ft, t, p), seed: ggTensorSeed(spec.Seed, t.name)}
		if t.kind == kindRopeFreqs {
			plans[i].fixed = ropeFreqs(p.headDim(), p.RopeBase, p.RopeScaling)
		}
	}
	kv := modelMetadata(p, ft, spec.FileType)

	var pools *blockPools
	if spec.ReuseBlocks {
		pools = newBlockPools(spec.Seed)
	}
	g := newGenerator(plans, runtime.GOMAXPROCS(0), pools)
	defer g.stop()
	tensors := make([]gguf.StreamTensor, len(plans))
	for i, pl := range plans {
		dims := make([]uint64, len(pl.dims))
		for j, d := range pl.dims {
			dims[j] = uint64(d)
		}
		tensors[i] = gguf.StreamTensor{Name: pl.name, Dims: dims, Type: pl.typ, Data: g.reader(i)}
	}
	if err := gguf.WriteStream(w, 3, kv, tensors, 0); err != nil {
		return fmt.Errorf("synth: %w", err)
	}
	return nil
}

// tensorPlan is a tensor with its chosen type and generator seed.
type tensorPlan struct {
	modelTensor
	typ   gguf.TensorType
	seed  uint64
	fixed []float32 // values given rather than generated
}

// chunkElems is about how many elements one job generates and quantises.
const chunkElems = 1 << 18

// job is a run of whole rows of one tensor, generated and quantised by a
// worker and delivered in file order.
type job struct {
	plan        *tensorPlan
	first, rows int
	out         chan []byte // buffered: a worker never blocks on it
}

// generator runs jobs on worker goroutines, at most window jobs ahead of
// the reader, and hands their bytes to per-tensor readers in order.
type generator struct {
	pools   *blockPools // nil unless blocks are reused
	jobs    [][]*job    // per tensor
	work    chan *job
	window  chan struct{}
	done    chan struct{}
	stopped sync.Once
	wg      sync.WaitGroup
}

func newGenerator(plans []tensorPlan, workers int, pools *blockPools) *generator {
	g := &generator{
		pools:  pools,
		jobs:   make([][]*job, len(plans)),
		work:   make(chan *job),
		window: make(chan struct{}, 2*workers+2),
		done:   make(chan struct{}),
	}
	var order []*job
	for i := range plans {
		pl := &plans[i]
		rowLen, rows := pl.dims[0], 1
		for _, d := range pl.dims[1:] {
			rows *= d
		}
		per := max(1, chunkElems/rowLen)
		for first := 0; first < rows; first += per {
			j := &job{plan: pl, first: first, rows: min(per, rows-first), out: make(chan []byte, 1)}
			g.jobs[i] = append(g.jobs[i], j)
			order = append(order, j)
		}
	}
	g.wg.Add(1 + workers)
	go func() { // dispatcher
		defer g.wg.Done()
		defer close(g.work)
		for _, j := range order {
			select {
			case g.window <- struct{}{}:
			case <-g.done:
				return
			}
			select {
			case g.work <- j:
			case <-g.done:
				return
			}
		}
	}()
	for range workers {
		go func() {
			defer g.wg.Done()
			var buf []float32
			for j := range g.work {
				j.out <- j.run(&buf, g.pools)
			}
		}()
	}
	return g
}

// stop ends the goroutines and waits for them.
func (g *generator) stop() {
	g.stopped.Do(func() { close(g.done) })
	g.wg.Wait()
}

// reader returns the reader of tensor i's bytes.
func (g *generator) reader(i int) io.Reader { return &jobReader{g: g, jobs: g.jobs[i]} }

type jobReader struct {
	g       *generator
	jobs    []*job
	pending []byte
}

func (r *jobReader) Read(p []byte) (int, error) {
	for len(r.pending) == 0 {
		if len(r.jobs) == 0 {
			return 0, io.EOF
		}
		select {
		case r.pending = <-r.jobs[0].out:
		case <-r.g.done:
			return 0, errors.New("synth: generator stopped")
		}
		r.jobs = r.jobs[1:]
		<-r.g.window
	}
	n := copy(p, r.pending)
	r.pending = r.pending[n:]
	return n, nil
}

// run generates the job's rows as float32 (in *buf, reused between jobs)
// and returns them quantised to the tensor's type, or, with pools, picks
// quantised blocks from them.
func (j *job) run(buf *[]float32, pools *blockPools) []byte {
	pl := j.plan
	rowLen := pl.dims[0]
	n := j.rows * rowLen
	if pools != nil && pl.typ.Quantized() && pl.fixed == nil {
		return pools.fill(pl, j.first*rowLen, n)
	}
	if cap(*buf) < n {
		*buf = make([]float32, n)
	}
	x := (*buf)[:n]
	if pl.fixed != nil {
		copy(x, pl.fixed[j.first*rowLen:])
	} else {
		fillValues(x, pl.kind, pl.seed, uint64(j.first*rowLen))
	}
	nb, err := quant.RowBytes(pl.typ, n)
	if err != nil {
		panic(err) // tensorType only picks types whose blocks fit the rows
	}
	out := make([]byte, nb)
	if err := quant.Quantize(pl.typ, x, out); err != nil {
		panic(err) // the values are finite
	}
	return out
}

// fillValues sets x to the values of elements first, first+1, … of a
// tensor of the given kind. Element e's value depends only on the seed and
// e: it is splitmix64's output number e+1 from the seed, turned into an
// approximately normal value as the sum of its four 16-bit lanes (the
// Irwin–Hall distribution, within ±3.5σ), using integer arithmetic and
// exact conversions only, so that every platform computes the same bits.
func fillValues(x []float32, kind int, seed, first uint64) {
	r := ggRNG{s: seed + first*0x9e3779b97f4a7c15}
	const (
		mean = 2 * 0xffff
		std  = 37837.23 // 65536·√(4/12), the lanes' combined standard deviation
	)
	for i := range x {
		u := r.next()
		s := int(u&0xffff) + int(u>>16&0xffff) + int(u>>32&0xffff) + int(u>>48)
		g := float32(float32(s-mean) * (0.02 / std)) // no fused multiply-add
		if kind == kindNorm {
			g += 1
		}
		x[i] = g
	}
}

// poolElems is the number of elements in one pool of quantised blocks.
const poolElems = 1 << 18

// blockPools holds, per tensor type and kind, a run of quantised blocks
// to build tensors from (ModelSpec.ReuseBlocks).
type blockPools struct {
	seed  uint64
	mu    sync.Mutex
	pools map[[2]int][]byte
}

func newBlockPools(seed uint64) *blockPools {
	return &blockPools{seed: seed, pools: make(map[[2]int][]byte)}
}

// pool returns the pool of type t and the given kind, generating and
// quantising it on first use.
func (bp *blockPools) pool(t gguf.TensorType, kind int) []byte {
	key := [2]int{int(t), kind}
	bp.mu.Lock()
	defer bp.mu.Unlock()
	if p, ok := bp.pools[key]; ok {
		return p
	}
	x := make([]float32, poolElems)
	fillValues(x, kind, ggTensorSeed(bp.seed, fmt.Sprintf("pool %d %d", t, kind)), 0)
	p := make([]byte, poolElems/int(t.BlockSize())*int(t.TypeSize()))
	if err := quant.Quantize(t, x, p); err != nil {
		panic(err) // the values are finite and fill whole blocks
	}
	bp.pools[key] = p
	return p
}

// fill returns n elements of plan's tensor, from element first on, as
// blocks picked from the pool: block b of the tensor is pool block
// number (splitmix64 output b+1 from the tensor's seed) mod the pool size.
func (bp *blockPools) fill(pl *tensorPlan, first, n int) []byte {
	p := bp.pool(pl.typ, pl.kind)
	bs, ts := int(pl.typ.BlockSize()), int(pl.typ.TypeSize())
	blocks := uint64(len(p) / ts)
	out := make([]byte, n/bs*ts)
	r := ggRNG{s: pl.seed + uint64(first/bs)*0x9e3779b97f4a7c15}
	for b := 0; b < n/bs; b++ {
		k := int(r.next() % blocks)
		copy(out[b*ts:(b+1)*ts], p[k*ts:(k+1)*ts])
	}
	return out
}
