package synth

import (
	"bytes"
	"encoding/binary"
	"io"
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sov.dev/sov/internal/gguf"
)

func ggWrite(t *testing.T, spec GGUFSpec) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteGGUF(&buf, spec); err != nil {
		t.Fatalf("WriteGGUF: %v", err)
	}
	return buf.Bytes()
}

func ggParse(t *testing.T, b []byte) *gguf.File {
	t.Helper()
	f, err := gguf.Parse(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatalf("gguf.Parse: %v", err)
	}
	return f
}

// ggTensorData returns the data of every tensor by name.
func ggTensorData(t *testing.T, f *gguf.File, b []byte) map[string][]byte {
	t.Helper()
	out := make(map[string][]byte)
	for _, ti := range f.Tensors {
		sr, err := f.TensorReader(bytes.NewReader(b), ti)
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(sr)
		if err != nil {
			t.Fatal(err)
		}
		out[ti.Name] = data
	}
	return out
}

func TestTinyLlamaGGUF(t *testing.T) {
	b := ggWrite(t, TinyLlamaGGUF(1))
	if len(b) > 200<<10 {
		t.Errorf("tiny model is %d bytes, want under 200 KiB", len(b))
	}
	f := ggParse(t, b)
	fc := f.Facts()

	var params uint64
	for _, ti := range f.Tensors {
		params += ti.Elements()
	}
	if want := uint64(2*32*320 + 2*(2*32+2*32*32+2*32*16+3*32*64) + 32); params != want {
		t.Errorf("parameter count %d, want %d", params, want)
	}
	ft := uint32(1)
	want := gguf.Facts{
		Version:           3,
		Architecture:      "llama",
		ParameterCount:    params,
		TensorCount:       3 + 9*2,
		TensorTypes:       map[string]int{"F16": 2 + 7*2, "F32": 1 + 2*2},
		Quantization:      "F16",
		FileType:          &ft,
		ContextLength:     256,
		EmbeddingLength:   32,
		BlockCount:        2,
		FeedForwardLength: 64,
		HeadCount:         4,
		HeadCountKV:       2,
		VocabSize:         320,
		TokenizerModel:    "llama",
		TokenizerPre:      "default",
		HasChatTemplate:   true,
		General: map[string]any{
			"architecture": "llama",
			"type":         "model",
			"name":         "Tiny Llama (synthetic)",
			"basename":     "tiny-llama-synthetic",
			"license":      "mit",
			"file_type":    uint32(1),
		},
	}
	if diff := cmp.Diff(want, fc); diff != "" {
		t.Errorf("Facts (-want +got):\n%s", diff)
	}
	if f.Metadata[0].Key != "general.architecture" {
		t.Errorf("first key %q, want general.architecture", f.Metadata[0].Key)
	}

	tokens, _ := f.Strings("tokenizer.ggml.tokens")
	if len(tokens) != 320 || tokens[0] != "<unk>" || tokens[1] != "<s>" || tokens[2] != "</s>" || tokens[3] != "<0x00>" || tokens[258] != "<0xFF>" {
		t.Errorf("tokens: %d, first %q", len(tokens), tokens[:4])
	}
	seen := make(map[string]bool)
	for _, tok := range tokens {
		if seen[tok] {
			t.Errorf("token %q appears twice", tok)
		}
		seen[tok] = true
	}
	tv, _ := f.Get("tokenizer.ggml.token_type")
	types := tv.V.([]int32)
	sv, _ := f.Get("tokenizer.ggml.scores")
	scores := sv.V.([]float32)
	if len(types) != 320 || len(scores) != 320 || types[0] != 2 || types[1] != 3 || types[3] != 6 || types[319] != 1 {
		t.Errorf("token types/scores malformed: %d types, %d scores, types[0:4] %v", len(types), len(scores), types[:4])
	}
	for _, k := range []string{"tokenizer.ggml.bos_token_id", "tokenizer.ggml.eos_token_id"} {
		if id, ok := f.Uint(k); !ok || id >= 320 || types[id] != 3 {
			t.Errorf("%s = %d, %v; want a control token", k, id, ok)
		}
	}

	names := make(map[string]bool)
	for _, ti := range f.Tensors {
		names[ti.Name] = true
	}
	for _, n := range []string{"token_embd.weight", "output_norm.weight", "output.weight",
		"blk.1.attn_norm.weight", "blk.1.attn_q.weight", "blk.1.attn_k.weight", "blk.1.attn_v.weight",
		"blk.1.attn_output.weight", "blk.1.ffn_norm.weight", "blk.1.ffn_gate.weight", "blk.1.ffn_up.weight",
		"blk.1.ffn_down.weight"} {
		if !names[n] {
			t.Errorf("tensor %q missing", n)
		}
	}
	if k, _ := f.Tensor("blk.0.attn_k.weight"); !cmp.Equal(k.Dims, []uint64{32, 16}) {
		t.Errorf("attn_k dims %v, want [32 16] (2 kv heads of 8)", k.Dims)
	}
}

func TestWriteGGUFDeterministic(t *testing.T) {
	a := ggWrite(t, TinyLlamaGGUF(42))
	b := ggWrite(t, TinyLlamaGGUF(42))
	c := ggWrite(t, TinyLlamaGGUF(43))
	if !bytes.Equal(a, b) {
		t.Error("same seed gave different bytes")
	}
	if bytes.Equal(a, c) {
		t.Error("different seeds gave the same bytes")
	}
	if len(a) != len(c) {
		t.Errorf("seed changed the file size: %d vs %d", len(a), len(c))
	}

	// A tensor's data depends only on the seed and its name.
	alone := GGUFSpec{Seed: 42, Tensors: []TensorSpec{{Name: "output.weight", Dims: []uint64{32, 320}, Type: gguf.TypeF16}}}
	one := ggWrite(t, alone)
	got := ggTensorData(t, ggParse(t, one), one)["output.weight"]
	full := ggTensorData(t, ggParse(t, a), a)["output.weight"]
	if !bytes.Equal(got, full) {
		t.Error("output.weight differs when written alone")
	}
	if bytes.Equal(full, ggTensorData(t, ggParse(t, a), a)["token_embd.weight"]) {
		t.Error("two same-shaped tensors have the same data")
	}
}

func TestWriteGGUFEveryType(t *testing.T) {
	// Every known tensor type, two blocks per row and three rows, parses,
	// and its scale fields are finite (checked from the ggml block layouts
	// independently of the generator's tables).
	le := binary.LittleEndian
	finiteHalf := func(b []byte, off int) bool {
		h := le.Uint16(b[off:])
		return h&0x7c00 != 0x7c00 && h&0x7fff != 0
	}
	for _, ty := range gguf.TensorTypes() {
		t.Run(ty.String(), func(t *testing.T) {
			spec := GGUFSpec{Arch: "test", Seed: 7, Version: 2, Tensors: []TensorSpec{
				{Name: "w", Dims: []uint64{2 * ty.BlockSize(), 3}, Type: ty},
			}}
			b := ggWrite(t, spec)
			f := ggParse(t, b)
			if f.Version != 2 {
				t.Errorf("version %d, want 2", f.Version)
			}
			data := ggTensorData(t, f, b)["w"]
			ts := int(ty.TypeSize())
			if len(data) != 6*ts {
				t.Fatalf("%d data bytes, want %d", len(data), 6*ts)
			}
			for blk := 0; blk < 6; blk++ {
				p := data[blk*ts : (blk+1)*ts]
				var ok bool
				switch ty {
				case gguf.TypeF32:
					v := math.Float32frombits(le.Uint32(p))
					ok = v >= -1 && v < 1
				case gguf.TypeF64:
					v := math.Float64frombits(le.Uint64(p))
					ok = v >= -1 && v < 1
				case gguf.TypeF16:
					ok = finiteHalf(p, 0)
				case gguf.TypeBF16:
					ok = le.Uint16(p)&0x7f80 != 0x7f80
				case gguf.TypeQ4_0, gguf.TypeQ5_0, gguf.TypeIQ4_NL, gguf.TypeIQ2_XXS, gguf.TypeIQ3_S,
					gguf.TypeIQ1_S, gguf.TypeIQ4_XS, gguf.TypeQ1_0, gguf.TypeQ2_0, gguf.TypeIQ2_XS,
					gguf.TypeIQ2_S, gguf.TypeIQ3_XXS:
					ok = finiteHalf(p, 0)
				case gguf.TypeQ4_1, gguf.TypeQ5_1, gguf.TypeQ4_K, gguf.TypeQ5_K:
					ok = finiteHalf(p, 0) && finiteHalf(p, 2)
				case gguf.TypeQ8_0:
					ok = finiteHalf(p, 0) && !bytes.Contains(p[2:], []byte{0x80})
				case gguf.TypeQ8_1:
					var sum int
					for _, q := range p[4:] {
						sum += int(int8(q))
					}
					d, s := ggF16ToF32(le.Uint16(p)), ggF16ToF32(le.Uint16(p[2:]))
					ok = finiteHalf(p, 0) && math.Abs(float64(s-d*float32(sum))) <= math.Abs(float64(d*float32(sum)))/512+1e-7
				case gguf.TypeQ8_K:
					d := math.Float32frombits(le.Uint32(p))
					var sum int16
					for _, q := range p[4:20] {
						sum += int16(int8(q))
					}
					ok = d > 0 && !math.IsInf(float64(d), 0) && int16(le.Uint16(p[260:])) == sum
				case gguf.TypeQ2_K:
					ok = finiteHalf(p, 80) && finiteHalf(p, 82)
				case gguf.TypeQ3_K:
					ok = finiteHalf(p, 108)
				case gguf.TypeQ6_K:
					ok = finiteHalf(p, 208)
				case gguf.TypeTQ1_0:
					ok = finiteHalf(p, 52) && p[0] < 243 && p[48] < 81
				case gguf.TypeTQ2_0:
					ok = finiteHalf(p, 64)
					for _, q := range p[:64] {
						for s := 0; s < 8; s += 2 {
							ok = ok && q>>s&3 != 3
						}
					}
				case gguf.TypeIQ1_M:
					sc := p[48:56]
					h := uint16(sc[1]>>4) | uint16(sc[3]>>4)<<4 | uint16(sc[5]>>4)<<8 | uint16(sc[7]>>4)<<12
					ok = h&0x7c00 != 0x7c00 && h != 0
				case gguf.TypeMXFP4:
					ok = p[0] != 0xff
				case gguf.TypeNVFP4:
					ok = true
					for _, e := range p[:4] {
						ok = ok && e != 0 && e&0x7f != 0x7f
					}
				default:
					ok = true // integer types: any bytes
				}
				if !ok {
					t.Fatalf("block %d has an invalid scale or value: % x", blk, p[:min(len(p), 16)])
				}
			}
		})
	}
}

func TestWriteGGUFMetadata(t *testing.T) {
	spec := GGUFSpec{
		Arch: "llama",
		Metadata: []gguf.KV{
			{Key: "general.architecture", Value: gguf.Value{Type: gguf.TypeString, V: "gemma"}},
			{Key: "x", Value: gguf.Value{Type: gguf.TypeUint8, V: uint8(1)}},
		},
		Alignment: 64,
		Tensors:   []TensorSpec{{Name: "t", Dims: []uint64{3}, Type: gguf.TypeF32}},
	}
	f := ggParse(t, ggWrite(t, spec))
	if got := f.Facts().Architecture; got != "gemma" {
		t.Errorf("architecture %q, want the one in Metadata", got)
	}
	if len(f.Metadata) != 3 || f.Alignment != 64 || f.Version != 3 {
		t.Errorf("%d keys, alignment %d, version %d; want 3 keys (with general.alignment), 64, 3", len(f.Metadata), f.Alignment, f.Version)
	}
}

func TestWriteGGUFErrors(t *testing.T) {
	tests := []struct {
		name string
		spec GGUFSpec
		want string
	}{
		{"bad row", GGUFSpec{Tensors: []TensorSpec{{Name: "t", Dims: []uint64{100}, Type: gguf.TypeQ4_K}}}, "not a multiple of the Q4_K block size"},
		{"unknown type", GGUFSpec{Tensors: []TensorSpec{{Name: "t", Dims: []uint64{1}, Type: 99}}}, "unsupported tensor type 99"},
		{"version", GGUFSpec{Version: 1}, "version 1"},
		{"duplicate", GGUFSpec{Tensors: []TensorSpec{{Name: "t", Dims: []uint64{1}}, {Name: "t", Dims: []uint64{1}}}}, "duplicate tensor name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := WriteGGUF(io.Discard, tt.spec)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "synth: ") {
				t.Errorf("WriteGGUF error = %v, want a synth: error containing %q", err, tt.want)
			}
		})
	}
}

func TestF16Conversion(t *testing.T) {
	tests := []struct {
		f float32
		h uint16
	}{
		{0, 0}, {1, 0x3c00}, {-2, 0xc000}, {0.5, 0x3800}, {65504, 0x7bff}, {1e6, 0x7c00},
		{float32(math.Inf(-1)), 0xfc00}, {5.960464477539063e-08, 0x0001}, {6.103515625e-05, 0x0400},
		{1 + 1.0/2048, 0x3c00},      // halfway, rounds to even
		{1 + 3.0/2048, 0x3c02},      // halfway, rounds to even (up)
		{2.9802322387695312e-08, 0}, // half the smallest subnormal rounds to zero
	}
	for _, tt := range tests {
		if got := ggF32ToF16(tt.f); got != tt.h {
			t.Errorf("ggF32ToF16(%g) = %#04x, want %#04x", tt.f, got, tt.h)
		}
	}
	for h := 0; h < 1<<16; h++ {
		if h&0x7c00 == 0x7c00 && h&0x3ff != 0 {
			continue // NaN
		}
		if got := ggF32ToF16(ggF16ToF32(uint16(h))); got != uint16(h) {
			t.Fatalf("half %#04x does not round-trip: got %#04x", h, got)
		}
	}
}

func BenchmarkWriteGGUFQ4K(b *testing.B) {
	spec := GGUFSpec{Tensors: []TensorSpec{{Name: "w", Dims: []uint64{4096, 256}, Type: gguf.TypeQ4_K}}}
	b.SetBytes(4096 * 256 / 256 * 144)
	for b.Loop() {
		if err := WriteGGUF(io.Discard, spec); err != nil {
			b.Fatal(err)
		}
	}
}
