package synth

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"io"
	"math"

	"sov.dev/sov/internal/gguf"
)

// GGUFSpec describes a synthetic GGUF file.
type GGUFSpec struct {
	// Arch is written as general.architecture, first, unless Metadata
	// already holds that key.
	Arch      string
	Version   uint32 // GGUF version, 2 or 3; 0 means 3
	Seed      uint64
	Alignment uint64 // 0 means general.alignment from Metadata, else 32

	Metadata []gguf.KV    // written in order after general.architecture
	Tensors  []TensorSpec // written in order
}

// TensorSpec is one tensor of a GGUFSpec. Dims are innermost first, as in
// GGUF; Dims[0] must be a multiple of the type's block size.
type TensorSpec struct {
	Name string
	Dims []uint64
	Type gguf.TensorType
}

// WriteGGUF writes the file spec describes. Tensor data is generated as it
// is written (one chunk in memory at a time) from a generator seeded by
// spec.Seed and the tensor's name:
//
//   - F32 and F64 elements are uniform in [-1, 1); F16 and BF16 elements
//     have a random sign and a magnitude in [2^-5, 1).
//   - Integer types (I8…I64) are random bytes.
//   - Quantised types are random bytes per block, except that every fp16
//     (or f32) scale is a finite positive number in [2^-8, 2^-3), the E8M0
//     and UE4M3 scales of MXFP4 and NVFP4 are finite, Q8_* quants avoid
//     -128, Q8_1's sum field and Q8_K's block sums match the quants, and
//     TQ1_0/TQ2_0 digits stay within their ternary ranges.
func WriteGGUF(w io.Writer, spec GGUFSpec) error {
	version := spec.Version
	if version == 0 {
		version = 3
	}
	var kv []gguf.KV
	if spec.Arch != "" && !ggHasKey(spec.Metadata, "general.architecture") {
		kv = append(kv, gguf.KV{Key: "general.architecture", Value: gguf.Value{Type: gguf.TypeString, V: spec.Arch}})
	}
	kv = append(kv, spec.Metadata...)

	tensors := make([]gguf.StreamTensor, len(spec.Tensors))
	for i, t := range spec.Tensors {
		n, err := gguf.TensorInfo{Name: t.Name, Dims: t.Dims, Type: t.Type}.Bytes()
		if err != nil {
			return fmt.Errorf("synth: %w", err)
		}
		tensors[i] = gguf.StreamTensor{
			Name: t.Name, Dims: t.Dims, Type: t.Type,
			Data: newGGData(t.Type, n/t.Type.TypeSize(), ggTensorSeed(spec.Seed, t.Name)),
		}
	}
	if err := gguf.WriteStream(w, version, kv, tensors, spec.Alignment); err != nil {
		return fmt.Errorf("synth: %w", err)
	}
	return nil
}

func ggHasKey(kv []gguf.KV, key string) bool {
	for _, e := range kv {
		if e.Key == key {
			return true
		}
	}
	return false
}

// The shape of TinyLlamaGGUF's model.
const (
	tinyVocab   = 320 // 3 special + 256 byte tokens + 61 pieces
	tinyEmbd    = 32
	tinyHeads   = 4
	tinyHeadsKV = 2
	tinyFF      = 64
	tinyBlocks  = 2
	tinyContext = 256
)

// TinyLlamaGGUF returns the spec of a small but complete llama model
// (about 90 KB): general.* metadata, llama.* hyper-parameters (vocabulary
// 320, embedding 32, 2 blocks, 4 heads of which 2 key/value heads, feed
// forward 64, context 256), a SentencePiece-style tokenizer (<unk>, <s>,
// </s>, 256 byte tokens and 61 word pieces, with scores, token types, BOS
// and EOS ids and a chat template), and the tensors token_embd,
// blk.N.{attn_norm, attn_q, attn_k, attn_v, attn_output, ffn_norm,
// ffn_gate, ffn_up, ffn_down}, output_norm and output, with F16 matrices
// and F32 norms (general.file_type 1). Callers may change tensor types in
// the returned spec (keeping Dims[0] a multiple of the block size).
func TinyLlamaGGUF(seed uint64) GGUFSpec {
	u32 := func(k string, v uint32) gguf.KV {
		return gguf.KV{Key: k, Value: gguf.Value{Type: gguf.TypeUint32, V: v}}
	}
	f32 := func(k string, v float32) gguf.KV {
		return gguf.KV{Key: k, Value: gguf.Value{Type: gguf.TypeFloat32, V: v}}
	}
	str := func(k, v string) gguf.KV {
		return gguf.KV{Key: k, Value: gguf.Value{Type: gguf.TypeString, V: v}}
	}
	boolean := func(k string, v bool) gguf.KV {
		return gguf.KV{Key: k, Value: gguf.Value{Type: gguf.TypeBool, V: v}}
	}
	tokens, scores, types := tinyVocabulary()
	md := []gguf.KV{
		str("general.type", "model"),
		str("general.name", "Tiny Llama (synthetic)"),
		str("general.basename", "tiny-llama-synthetic"),
		str("general.license", "mit"),
		u32("general.file_type", 1), // MOSTLY_F16
		u32("llama.vocab_size", tinyVocab),
		u32("llama.context_length", tinyContext),
		u32("llama.embedding_length", tinyEmbd),
		u32("llama.block_count", tinyBlocks),
		u32("llama.feed_forward_length", tinyFF),
		u32("llama.rope.dimension_count", tinyEmbd/tinyHeads),
		f32("llama.rope.freq_base", 10000),
		u32("llama.attention.head_count", tinyHeads),
		u32("llama.attention.head_count_kv", tinyHeadsKV),
		f32("llama.attention.layer_norm_rms_epsilon", 1e-5),
		str("tokenizer.ggml.model", "llama"),
		str("tokenizer.ggml.pre", "default"),
		{Key: "tokenizer.ggml.tokens", Value: gguf.Value{Type: gguf.TypeArray, ArrayType: gguf.TypeString, V: tokens}},
		{Key: "tokenizer.ggml.scores", Value: gguf.Value{Type: gguf.TypeArray, ArrayType: gguf.TypeFloat32, V: scores}},
		{Key: "tokenizer.ggml.token_type", Value: gguf.Value{Type: gguf.TypeArray, ArrayType: gguf.TypeInt32, V: types}},
		u32("tokenizer.ggml.unknown_token_id", 0),
		u32("tokenizer.ggml.bos_token_id", 1),
		u32("tokenizer.ggml.eos_token_id", 2),
		boolean("tokenizer.ggml.add_bos_token", true),
		boolean("tokenizer.ggml.add_eos_token", false),
		str("tokenizer.chat_template", "{% for m in messages %}"+
			"{% if m['role'] == 'user' %}{{ bos_token + '[INST] ' + m['content'] + ' [/INST]' }}"+
			"{% elif m['role'] == 'assistant' %}{{ ' ' + m['content'] + eos_token }}{% endif %}"+
			"{% endfor %}"),
	}

	kvDim := uint64(tinyEmbd / tinyHeads * tinyHeadsKV)
	mat := func(name string, dims ...uint64) TensorSpec {
		return TensorSpec{Name: name, Dims: dims, Type: gguf.TypeF16}
	}
	norm := func(name string) TensorSpec {
		return TensorSpec{Name: name, Dims: []uint64{tinyEmbd}, Type: gguf.TypeF32}
	}
	ts := []TensorSpec{mat("token_embd.weight", tinyEmbd, tinyVocab)}
	for b := 0; b < tinyBlocks; b++ {
		p := fmt.Sprintf("blk.%d.", b)
		ts = append(ts,
			norm(p+"attn_norm.weight"),
			mat(p+"attn_q.weight", tinyEmbd, tinyEmbd),
			mat(p+"attn_k.weight", tinyEmbd, kvDim),
			mat(p+"attn_v.weight", tinyEmbd, kvDim),
			mat(p+"attn_output.weight", tinyEmbd, tinyEmbd),
			norm(p+"ffn_norm.weight"),
			mat(p+"ffn_gate.weight", tinyEmbd, tinyFF),
			mat(p+"ffn_up.weight", tinyEmbd, tinyFF),
			mat(p+"ffn_down.weight", tinyFF, tinyEmbd),
		)
	}
	ts = append(ts, norm("output_norm.weight"), mat("output.weight", tinyEmbd, tinyVocab))
	return GGUFSpec{Arch: "llama", Version: 3, Seed: seed, Metadata: md, Tensors: ts}
}

// tinyVocabulary returns a SentencePiece-shaped vocabulary: <unk> (type 2),
// <s> and </s> (control, 3), <0x00>…<0xFF> (byte, 6), then word pieces
// (normal, 1) with descending scores.
func tinyVocabulary() ([]string, []float32, []int32) {
	tokens := []string{"<unk>", "<s>", "</s>"}
	types := []int32{2, 3, 3}
	for b := 0; b < 256; b++ {
		tokens = append(tokens, fmt.Sprintf("<0x%02X>", b))
		types = append(types, 6)
	}
	var pieces []string
	for c := 'a'; c <= 'z'; c++ {
		pieces = append(pieces, "▁"+string(c), string(c))
	}
	pieces = append(pieces, "▁the", "▁and", "▁of", "▁to", "▁in", "er", "th", "ing", "ed")
	tokens = append(tokens, pieces...)
	scores := make([]float32, len(tokens))
	for i := range pieces {
		scores[len(tokens)-len(pieces)+i] = -float32(i)
		types = append(types, 1)
	}
	return tokens, scores, types
}

// ggTensorSeed derives a tensor's generator seed from the spec seed and
// its name, so that a tensor's data does not depend on its neighbours.
func ggTensorSeed(seed uint64, name string) uint64 {
	h := fnv.New64a()
	io.WriteString(h, name)
	r := ggRNG{s: seed ^ h.Sum64()}
	return r.next()
}

// ggRNG is splitmix64: small, fast, and fixed forever, so files stay
// byte-identical across Go versions.
type ggRNG struct{ s uint64 }

func (r *ggRNG) next() uint64 {
	r.s += 0x9e3779b97f4a7c15
	z := r.s
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

func (r *ggRNG) fill(b []byte) {
	for len(b) >= 8 {
		binary.LittleEndian.PutUint64(b, r.next())
		b = b[8:]
	}
	if len(b) > 0 {
		x := r.next()
		for i := range b {
			b[i] = byte(x >> (8 * i))
		}
	}
}

// half returns a random fp16 bit pattern with a biased exponent in
// [lo, hi] (so always finite and normal) and a random sign if signed.
func (r *ggRNG) half(lo, hi uint16, signed bool) uint16 {
	x := r.next()
	h := (lo+uint16(x%uint64(hi-lo+1)))<<10 | uint16(x>>16)&0x3ff
	if signed && x>>63 == 1 {
		h |= 0x8000
	}
	return h
}

// scale returns a positive fp16 scale in [2^-8, 2^-3).
func (r *ggRNG) scale() uint16 { return r.half(7, 11, false) }

// ggData generates a tensor's bytes block by block.
type ggData struct {
	t       gguf.TensorType
	rng     ggRNG
	blocks  uint64 // blocks not yet generated
	buf     []byte
	pending []byte
}

func newGGData(t gguf.TensorType, blocks, seed uint64) *ggData {
	ts := t.TypeSize()
	per := max(1, (64<<10)/ts)
	return &ggData{t: t, rng: ggRNG{s: seed}, blocks: blocks, buf: make([]byte, 0, per*ts)}
}

func (d *ggData) Read(p []byte) (int, error) {
	if len(d.pending) == 0 {
		if d.blocks == 0 {
			return 0, io.EOF
		}
		ts := d.t.TypeSize()
		n := min(d.blocks, uint64(cap(d.buf))/ts)
		d.buf = d.buf[:n*ts]
		for i := uint64(0); i < n; i++ {
			ggFillBlock(d.t, d.buf[i*ts:(i+1)*ts], &d.rng)
		}
		d.blocks -= n
		d.pending = d.buf
	}
	k := copy(p, d.pending)
	d.pending = d.pending[k:]
	return k, nil
}

// ggHalfScales lists the byte offsets of the fp16 scale fields in one block
// of each quantised type (ggml-common.h) that needs no other treatment.
var ggHalfScales = map[gguf.TensorType][]int{
	gguf.TypeQ4_0:    {0},
	gguf.TypeQ4_1:    {0, 2},
	gguf.TypeQ5_0:    {0},
	gguf.TypeQ5_1:    {0, 2},
	gguf.TypeQ2_K:    {80, 82}, // after scales[16], qs[64]
	gguf.TypeQ3_K:    {108},    // after hmask[32], qs[64], scales[12]
	gguf.TypeQ4_K:    {0, 2},
	gguf.TypeQ5_K:    {0, 2},
	gguf.TypeQ6_K:    {208}, // after ql[128], qh[64], scales[16]
	gguf.TypeIQ2_XXS: {0},
	gguf.TypeIQ2_XS:  {0},
	gguf.TypeIQ2_S:   {0},
	gguf.TypeIQ3_XXS: {0},
	gguf.TypeIQ3_S:   {0},
	gguf.TypeIQ1_S:   {0},
	gguf.TypeIQ4_NL:  {0},
	gguf.TypeIQ4_XS:  {0},
	gguf.TypeQ1_0:    {0},
	gguf.TypeQ2_0:    {0},
}

// ggFillBlock fills one block of type t with valid pseudo-random content.
func ggFillBlock(t gguf.TensorType, b []byte, r *ggRNG) {
	le := binary.LittleEndian
	switch t {
	case gguf.TypeF32:
		v := float32(r.next()>>40)/(1<<23) - 1
		le.PutUint32(b, math.Float32bits(v))
		return
	case gguf.TypeF64:
		v := float64(r.next()>>11)/(1<<52) - 1
		le.PutUint64(b, math.Float64bits(v))
		return
	case gguf.TypeF16:
		le.PutUint16(b, r.half(10, 14, true))
		return
	case gguf.TypeBF16:
		x := r.next()
		h := (122+uint16(x%5))<<7 | uint16(x>>16)&0x7f
		if x>>63 == 1 {
			h |= 0x8000
		}
		le.PutUint16(b, h)
		return
	}

	r.fill(b)
	for _, off := range ggHalfScales[t] {
		le.PutUint16(b[off:], r.scale())
	}
	switch t {
	case gguf.TypeQ8_0:
		ggNo128(b[2:34])
		le.PutUint16(b, r.scale())
	case gguf.TypeQ8_1:
		// d, then s = d * sum(qs).
		qs := b[4:36]
		ggNo128(qs)
		d := r.scale()
		var sum int
		for _, q := range qs {
			sum += int(int8(q))
		}
		le.PutUint16(b, d)
		le.PutUint16(b[2:], ggF32ToF16(ggF16ToF32(d)*float32(sum)))
	case gguf.TypeQ8_K:
		// f32 d, qs[256], then bsums[16] = sums of 16 quants each.
		le.PutUint32(b, math.Float32bits(ggF16ToF32(r.scale())))
		qs := b[4:260]
		ggNo128(qs)
		for g := 0; g < 16; g++ {
			var sum int16
			for _, q := range qs[16*g : 16*g+16] {
				sum += int16(int8(q))
			}
			le.PutUint16(b[260+2*g:], uint16(sum))
		}
	case gguf.TypeIQ1_M:
		// The fp16 super-block scale is spread over the top nibbles of
		// the four uint16 words of scales[8] (at offset 48).
		h := r.scale()
		for i := 0; i < 4; i++ {
			p := 48 + 2*i + 1
			b[p] = b[p]&0x0f | byte(h>>(4*i))<<4
		}
	case gguf.TypeTQ1_0:
		// qs[48] hold five base-3 digits per byte, qh[4] four.
		for i := 0; i < 48; i++ {
			b[i] %= 243
		}
		for i := 48; i < 52; i++ {
			b[i] %= 81
		}
		le.PutUint16(b[52:], r.scale())
	case gguf.TypeTQ2_0:
		// qs[64] hold four 2-bit digits per byte, each 0, 1 or 2.
		for i := 0; i < 64; i++ {
			for s := 0; s < 8; s += 2 {
				if b[i]>>s&3 == 3 {
					b[i] &^= 1 << s
				}
			}
		}
		le.PutUint16(b[64:], r.scale())
	case gguf.TypeMXFP4:
		b[0] = 118 + byte(r.next()%9) // E8M0 exponent: 2^-9 … 2^-1
	case gguf.TypeNVFP4:
		for i := 0; i < 4; i++ {
			b[i] = 0x20 + byte(r.next()%0x18) // UE4M3, finite, 2^-3 … <1
		}
	}
}

// ggNo128 replaces int8 -128 by -127, as ggml's quantisers never emit it.
func ggNo128(qs []byte) {
	for i, q := range qs {
		if q == 0x80 {
			qs[i] = 0x81
		}
	}
}

// ggF16ToF32 converts IEEE half bits to float32.
func ggF16ToF32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f:
		return math.Float32frombits(sign | 0xff<<23 | mant<<13)
	case exp == 0:
		v := float32(mant) / (1 << 24)
		if sign != 0 {
			v = -v
		}
		return v
	}
	return math.Float32frombits(sign | (exp+127-15)<<23 | mant<<13)
}

// ggF32ToF16 converts a float32 to IEEE half bits, rounding to nearest
// even; values too large become infinity.
func ggF32ToF16(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	e := int(b>>23) & 0xff
	mant := b & 0x7fffff
	if e == 0xff {
		if mant != 0 {
			return sign | 0x7e00
		}
		return sign | 0x7c00
	}
	exp := e - 127 + 15
	if exp >= 0x1f {
		return sign | 0x7c00
	}
	if exp <= 0 {
		if exp < -10 {
			return sign
		}
		mant |= 0x800000
		shift := uint(14 - exp)
		h := mant >> shift
		rem, halfway := mant&(1<<shift-1), uint32(1)<<(shift-1)
		if rem > halfway || rem == halfway && h&1 == 1 {
			h++
		}
		return sign | uint16(h)
	}
	h := uint32(exp)<<10 | mant>>13
	if rem := mant & 0x1fff; rem > 0x1000 || rem == 0x1000 && h&1 == 1 {
		h++ // may carry into the exponent, which is still correct
	}
	return sign | uint16(h)
}
