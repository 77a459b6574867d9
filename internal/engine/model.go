// Package engine runs open-weight language models on the CPU, in pure Go.
//
// It loads a GGUF file memory-mapped, checks that its architecture (llama,
// qwen2, qwen3), hyper-parameters and every tensor's type and shape are
// what the forward pass needs, and evaluates tokens with a KV cache:
// grouped-query attention, RoPE (normal or NeoX layout, with linear scaling
// or per-frequency factors as stored in the file), RMS norm, SwiGLU, tied
// or separate output weights. Matrix work is split by rows over a fixed
// worker pool, so greedy output does not depend on the thread count. Where the CPU has a kernel for it, Q8_0 matrices are
// repacked at load into quant.PackedQ8_0 (16 rows interleaved per block,
// a layout the vector unit streams at memory speed) and their pages of the
// mapping are handed back to the kernel; other weights are used in place.
//
// The engine does not tokenize or render chat templates (see tokenizer and
// chat) and never writes to the model file.
package engine

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"strings"

	"sov.dev/sov/internal/gguf"
	"sov.dev/sov/internal/quant"
)

// Architectures the engine runs.
var Architectures = []string{"llama", "qwen2", "qwen3"}

// RoPE layouts: which pairs of a head's dimensions are rotated together.
const (
	ropeNormal = iota // (2i, 2i+1): llama
	ropeNeoX          // (i, i+d/2): qwen2, qwen3
)

// Config holds a model's hyper-parameters, read from GGUF metadata.
type Config struct {
	Arch        string
	Embd        int // embedding length
	Layers      int
	Heads       int
	HeadsKV     int
	HeadDim     int // key/value length per head
	FF          int // feed-forward length
	Vocab       int
	ContextLen  int // the context the model was trained for
	NormEps     float32
	RopeBase    float64
	RopeDim     int     // dimensions rotated per head
	RopeScale   float64 // linear position scaling (1: none)
	ropeLayout  int
	QKVBias     bool // qwen2
	QKNorm      bool // qwen3
	TiedOutput  bool // the output projection is token_embd
	RopeFactors []float32
}

// Tensor is a weight matrix: Rows rows of Cols elements of Type, each row
// RowBytes long in the file's layout. Its bytes are Data, inside the mapped
// file, or, for a repacked Q8_0 matrix, packed (and Data is nil).
type Tensor struct {
	Name     string
	Type     gguf.TensorType
	Cols     int
	Rows     int
	RowBytes int
	Data     []byte
	packed   *quant.PackedQ8_0
	rows     quant.RowsFunc // the matrix–vector kernel
}

// Row returns row r's bytes in the file's layout: for a repacked matrix, a
// new copy.
func (t *Tensor) Row(r int) []byte {
	if t.packed != nil {
		b := make([]byte, t.RowBytes)
		t.packed.Row(r, b)
		return b
	}
	return t.Data[r*t.RowBytes : (r+1)*t.RowBytes]
}

// Packed reports whether the matrix was repacked at load.
func (t *Tensor) Packed() bool { return t.packed != nil }

type layer struct {
	attnNorm, ffnNorm   []float32
	q, k, v, o          *Tensor
	qBias, kBias, vBias []float32
	qNorm, kNorm        []float32
	gate, up, down      *Tensor
}

// Model is a loaded model. It is read-only and safe for concurrent use by
// several sessions.
type Model struct {
	Config
	File       *gguf.File
	embd       *Tensor
	output     *Tensor
	outputNorm []float32
	layers     []layer
	unmap      func() error
}

// ErrUnsupported is wrapped by errors about architectures, tensor types or
// features the engine does not support.
var ErrUnsupported = errors.New("not supported")

// Load maps a GGUF file and prepares its weights.
func Load(path string) (*Model, error) {
	data, unmap, err := mapFile(path)
	if err != nil {
		return nil, err
	}
	m, err := fromBytes(data, quant.PackQ8_0Faster(), release)
	if err != nil {
		unmap()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	m.unmap = unmap
	return m, nil
}

// Close unmaps the model's file. No session may be used afterwards.
func (m *Model) Close() error {
	if m.unmap != nil {
		return m.unmap()
	}
	return nil
}

// FromBytes prepares a model from a GGUF file held in memory. Repacked
// Q8_0 matrices (see the package comment) are copies; the others keep
// pointing into data.
func FromBytes(data []byte) (*Model, error) {
	return fromBytes(data, quant.PackQ8_0Faster(), nil)
}

// fromBytes is FromBytes, repacking Q8_0 matrices if pack and then, if
// release is not nil, passing it the bytes they were packed from.
func fromBytes(data []byte, pack bool, release func([]byte)) (*Model, error) {
	f, err := gguf.Parse(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, err
	}
	cfg, err := readConfig(f)
	if err != nil {
		return nil, err
	}
	m := &Model{Config: cfg, File: f}
	ld := loader{f: f, data: data, pack: pack, release: release, packed: map[string]*Tensor{}}
	m.embd = ld.matrix("token_embd.weight", cfg.Embd, cfg.Vocab)
	m.outputNorm = ld.vector("output_norm.weight", cfg.Embd)
	if _, ok := f.Tensor("output.weight"); ok {
		m.output = ld.matrix("output.weight", cfg.Embd, cfg.Vocab)
	} else {
		m.output = m.embd
		m.TiedOutput = true
	}
	if _, ok := f.Tensor("rope_freqs.weight"); ok {
		m.RopeFactors = ld.vector("rope_freqs.weight", cfg.RopeDim/2)
	}
	qDim, kvDim := cfg.Heads*cfg.HeadDim, cfg.HeadsKV*cfg.HeadDim
	m.layers = make([]layer, cfg.Layers)
	for i := range m.layers {
		p := fmt.Sprintf("blk.%d.", i)
		l := &m.layers[i]
		l.attnNorm = ld.vector(p+"attn_norm.weight", cfg.Embd)
		l.q = ld.matrix(p+"attn_q.weight", cfg.Embd, qDim)
		l.k = ld.matrix(p+"attn_k.weight", cfg.Embd, kvDim)
		l.v = ld.matrix(p+"attn_v.weight", cfg.Embd, kvDim)
		l.o = ld.matrix(p+"attn_output.weight", qDim, cfg.Embd)
		if cfg.QKVBias {
			l.qBias = ld.vector(p+"attn_q.bias", qDim)
			l.kBias = ld.vector(p+"attn_k.bias", kvDim)
			l.vBias = ld.vector(p+"attn_v.bias", kvDim)
		}
		if cfg.QKNorm {
			l.qNorm = ld.vector(p+"attn_q_norm.weight", cfg.HeadDim)
			l.kNorm = ld.vector(p+"attn_k_norm.weight", cfg.HeadDim)
		}
		l.ffnNorm = ld.vector(p+"ffn_norm.weight", cfg.Embd)
		l.gate = ld.matrix(p+"ffn_gate.weight", cfg.Embd, cfg.FF)
		l.up = ld.matrix(p+"ffn_up.weight", cfg.Embd, cfg.FF)
		l.down = ld.matrix(p+"ffn_down.weight", cfg.FF, cfg.Embd)
	}
	if ld.err != nil {
		return nil, ld.err
	}
	return m, nil
}

// readConfig reads and checks the hyper-parameters.
func readConfig(f *gguf.File) (Config, error) {
	arch, _ := f.String("general.architecture")
	c := Config{Arch: arch, NormEps: 1e-5, RopeBase: 10000, RopeScale: 1}
	switch arch {
	case "llama":
		c.ropeLayout = ropeNormal
	case "qwen2":
		c.ropeLayout, c.QKVBias, c.NormEps = ropeNeoX, true, 1e-6
	case "qwen3":
		c.ropeLayout, c.QKNorm, c.NormEps = ropeNeoX, true, 1e-6
	case "":
		return c, errors.New("general.architecture is missing")
	default:
		return c, fmt.Errorf("architecture %q is %w (supported: %s)", arch, ErrUnsupported, strings.Join(Architectures, ", "))
	}
	var err error
	need := func(key string) int {
		v, ok := f.Uint(arch + "." + key)
		if !ok {
			if err == nil {
				err = fmt.Errorf("%s.%s is missing", arch, key)
			}
			return 0
		}
		if v == 0 || v > 1<<24 {
			if err == nil {
				err = fmt.Errorf("%s.%s = %d is out of range", arch, key, v)
			}
			return 0
		}
		return int(v)
	}
	c.Embd = need("embedding_length")
	c.Layers = need("block_count")
	c.Heads = need("attention.head_count")
	c.FF = need("feed_forward_length")
	c.ContextLen = need("context_length")
	if err != nil {
		return c, err
	}
	c.HeadsKV = c.Heads
	if v, ok := f.Uint(arch + ".attention.head_count_kv"); ok {
		c.HeadsKV = int(v)
	}
	if c.HeadsKV == 0 || c.HeadsKV > c.Heads || c.Heads%c.HeadsKV != 0 {
		return c, fmt.Errorf("%s.attention.head_count_kv = %d does not divide head_count %d", arch, c.HeadsKV, c.Heads)
	}
	c.HeadDim = c.Embd / c.Heads
	if v, ok := f.Uint(arch + ".attention.key_length"); ok {
		c.HeadDim = int(v)
	}
	if v, ok := f.Uint(arch + ".attention.value_length"); ok && int(v) != c.HeadDim {
		return c, fmt.Errorf("value_length %d ≠ key_length %d is %w", v, c.HeadDim, ErrUnsupported)
	}
	if c.HeadDim == 0 || c.HeadDim%2 != 0 || c.HeadDim > 1024 {
		return c, fmt.Errorf("head dimension %d is out of range", c.HeadDim)
	}
	if v, ok := f.Float(arch + ".attention.layer_norm_rms_epsilon"); ok {
		c.NormEps = float32(v)
	}
	if v, ok := f.Float(arch + ".rope.freq_base"); ok {
		c.RopeBase = v
	}
	c.RopeDim = c.HeadDim
	if v, ok := f.Uint(arch + ".rope.dimension_count"); ok {
		c.RopeDim = int(v)
	}
	if c.RopeDim <= 0 || c.RopeDim > c.HeadDim || c.RopeDim%2 != 0 {
		return c, fmt.Errorf("rope.dimension_count %d is out of range for head dimension %d", c.RopeDim, c.HeadDim)
	}
	scaling, _ := f.String(arch + ".rope.scaling.type")
	factor, hasFactor := f.Float(arch + ".rope.scaling.factor")
	switch scaling {
	case "", "none":
	case "linear":
		if hasFactor && factor > 0 {
			c.RopeScale = factor
		}
	default:
		if hasFactor && factor != 1 && factor != 0 {
			return c, fmt.Errorf("rope scaling %q is %w", scaling, ErrUnsupported)
		}
	}
	if v, ok := f.Float(arch + ".rope.scale_linear"); ok && v > 0 {
		c.RopeScale = v
	}
	if c.RopeBase <= 0 || math.IsNaN(c.RopeBase) || math.IsInf(c.RopeBase, 0) {
		return c, fmt.Errorf("rope.freq_base %v is out of range", c.RopeBase)
	}
	t, ok := f.Tensor("token_embd.weight")
	if !ok || len(t.Dims) != 2 {
		return c, errors.New(`tensor "token_embd.weight" is missing or not a matrix`)
	}
	c.Vocab = int(t.Dims[1])
	if v, ok := f.Uint(arch + ".vocab_size"); ok && int(v) != c.Vocab {
		return c, fmt.Errorf("%s.vocab_size %d ≠ token_embd rows %d", arch, v, c.Vocab)
	}
	return c, nil
}

// loader reads tensors, remembering the first error.
type loader struct {
	f       *gguf.File
	data    []byte
	err     error
	pack    bool               // repack Q8_0 matrices
	release func([]byte)       // called with the bytes of each repacked matrix
	packed  map[string]*Tensor // by name: a matrix read twice is packed once
}

func (l *loader) fail(format string, args ...any) {
	if l.err == nil {
		l.err = fmt.Errorf(format, args...)
	}
}

func (l *loader) tensor(name string) (gguf.TensorInfo, []byte, bool) {
	if l.err != nil {
		return gguf.TensorInfo{}, nil, false
	}
	t, ok := l.f.Tensor(name)
	if !ok {
		l.fail("tensor %q is missing", name)
		return t, nil, false
	}
	if !quant.Supported(t.Type) {
		l.fail("tensor %q has type %s, which is %w", name, t.Type, ErrUnsupported)
		return t, nil, false
	}
	n, err := t.Bytes()
	if err != nil {
		l.fail("tensor %q: %v", name, err)
		return t, nil, false
	}
	off := l.f.TensorOffset(t)
	if off < 0 || uint64(off)+n > uint64(len(l.data)) {
		l.fail("tensor %q lies outside the file", name)
		return t, nil, false
	}
	return t, l.data[off : uint64(off)+n], true
}

// matrix returns a cols×rows weight matrix (ggml order: dims [cols, rows]).
func (l *loader) matrix(name string, cols, rows int) *Tensor {
	t, data, ok := l.tensor(name)
	if !ok {
		return nil
	}
	if len(t.Dims) != 2 || int(t.Dims[0]) != cols || int(t.Dims[1]) != rows {
		l.fail("tensor %q has shape %v, want [%d %d]", name, t.Dims, cols, rows)
		return nil
	}
	if !quant.Multipliable(t.Type) {
		l.fail("tensor %q has type %s, which is %w for weight matrices", name, t.Type, ErrUnsupported)
		return nil
	}
	rb, err := quant.RowBytes(t.Type, cols)
	if err != nil {
		l.fail("tensor %q: %v", name, err)
		return nil
	}
	if l.pack && t.Type == gguf.TypeQ8_0 {
		if pt, ok := l.packed[name]; ok {
			return pt
		}
		p, err := quant.PackQ8_0(data, rb, rows, cols)
		if err != nil {
			l.fail("tensor %q: %v", name, err)
			return nil
		}
		pt := &Tensor{Name: name, Type: t.Type, Cols: cols, Rows: rows, RowBytes: rb, packed: p}
		l.packed[name] = pt
		if l.release != nil {
			l.release(data)
		}
		return pt
	}
	return &Tensor{Name: name, Type: t.Type, Cols: cols, Rows: rows, RowBytes: rb, Data: data, rows: quant.Rows(t.Type)}
}

// vector returns a 1-D tensor of n elements as float32.
func (l *loader) vector(name string, n int) []float32 {
	t, data, ok := l.tensor(name)
	if !ok {
		return nil
	}
	if len(t.Dims) != 1 || int(t.Dims[0]) != n {
		l.fail("tensor %q has shape %v, want [%d]", name, t.Dims, n)
		return nil
	}
	out := make([]float32, n)
	if err := quant.Dequantize(t.Type, data, out); err != nil {
		l.fail("tensor %q: %v", name, err)
		return nil
	}
	return out
}

// MainType is the type of most of the model's matrix weights (by bytes).
func (m *Model) MainType() gguf.TensorType {
	bytes := map[gguf.TensorType]int{}
	for _, l := range m.layers {
		for _, t := range []*Tensor{l.q, l.k, l.v, l.o, l.gate, l.up, l.down} {
			bytes[t.Type] += t.Rows * t.RowBytes
		}
	}
	var best gguf.TensorType
	for t, n := range bytes {
		if n > bytes[best] || (n == bytes[best] && t < best) {
			best = t
		}
	}
	return best
}
