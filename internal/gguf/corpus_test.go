package gguf

import (
	"bytes"
	"io"
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const corpusTiny = "/work/shared/corpus/models/llama-2-tiny-random.gguf"

// openCorpus parses a shared corpus file, skipping the test if it is absent.
func openCorpus(t *testing.T, path string) (*File, *os.File) {
	t.Helper()
	fh, err := os.Open(path)
	if os.IsNotExist(err) {
		t.Skipf("corpus file %s not present", path)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fh.Close() })
	st, err := fh.Stat()
	if err != nil {
		t.Fatal(err)
	}
	f, err := Parse(fh, st.Size())
	if err != nil {
		t.Fatalf("Parse(%s): %v", path, err)
	}
	return f, fh
}

func TestCorpusTinyLlama(t *testing.T) {
	f, fh := openCorpus(t, corpusTiny)

	if f.Version != 3 || f.Alignment != 32 || f.DataOffset != 724416 || f.Size != 1750560 {
		t.Errorf("version %d, alignment %d, data offset %d, size %d; want 3, 32, 724416, 1750560",
			f.Version, f.Alignment, f.DataOffset, f.Size)
	}

	wantKeys := []string{
		"general.architecture", "general.name", "llama.context_length", "llama.embedding_length",
		"llama.block_count", "llama.feed_forward_length", "llama.rope.dimension_count",
		"llama.attention.head_count", "llama.attention.head_count_kv",
		"llama.attention.layer_norm_rms_epsilon", "general.file_type", "tokenizer.ggml.model",
		"tokenizer.ggml.tokens", "tokenizer.ggml.scores", "tokenizer.ggml.token_type",
		"tokenizer.ggml.bos_token_id", "tokenizer.ggml.eos_token_id", "tokenizer.ggml.unknown_token_id",
	}
	var gotKeys []string
	for _, kv := range f.Metadata {
		gotKeys = append(gotKeys, kv.Key)
	}
	if diff := cmp.Diff(wantKeys, gotKeys); diff != "" {
		t.Errorf("metadata keys (-want +got):\n%s", diff)
	}

	if s, _ := f.String("general.name"); s != "LLaMA v2" {
		t.Errorf("general.name = %q, want %q", s, "LLaMA v2")
	}
	if x, _ := f.Float("llama.attention.layer_norm_rms_epsilon"); x != float64(float32(1e-5)) {
		t.Errorf("rms epsilon = %v, want 1e-5", x)
	}
	for key, want := range map[string]uint64{
		"llama.rope.dimension_count":      4,
		"tokenizer.ggml.bos_token_id":     1,
		"tokenizer.ggml.eos_token_id":     2,
		"tokenizer.ggml.unknown_token_id": 0,
	} {
		if got, ok := f.Uint(key); !ok || got != want {
			t.Errorf("Uint(%q) = %d, %v; want %d", key, got, ok, want)
		}
	}
	tokens, ok := f.Strings("tokenizer.ggml.tokens")
	if !ok || len(tokens) != 32000 {
		t.Fatalf("tokenizer.ggml.tokens: %d tokens, ok %v; want 32000", len(tokens), ok)
	}
	// SentencePiece layout: unk, bos, eos, then 256 byte tokens.
	for i, want := range map[int]string{0: "<unk>", 1: "<s>", 2: "</s>", 3: "<0x00>", 258: "<0xFF>"} {
		if tokens[i] != want {
			t.Errorf("token %d = %q, want %q", i, tokens[i], want)
		}
	}
	if v, _ := f.Get("tokenizer.ggml.token_type"); v.ArrayType != TypeInt32 || v.V.([]int32)[1] != 3 || v.V.([]int32)[3] != 6 {
		t.Errorf("token_type: element type %s, want int32 with <s> control (3) and <0x00> byte (6)", v.ArrayType)
	}

	type row struct {
		Name   string
		Dims   []uint64
		Type   TensorType
		Offset uint64
	}
	want := []row{
		{"token_embd.weight", []uint64{8, 32000}, TypeF16, 0},
		{"blk.0.attn_q.weight", []uint64{8, 8}, TypeF16, 512000},
		{"blk.0.attn_k.weight", []uint64{8, 8}, TypeF16, 512128},
		{"blk.0.attn_v.weight", []uint64{8, 8}, TypeF16, 512256},
		{"blk.0.attn_output.weight", []uint64{8, 8}, TypeF16, 512384},
		{"blk.0.ffn_gate.weight", []uint64{8, 32}, TypeF16, 512512},
		{"blk.0.ffn_up.weight", []uint64{8, 32}, TypeF16, 513024},
		{"blk.0.ffn_down.weight", []uint64{32, 8}, TypeF16, 513536},
		{"blk.0.attn_norm.weight", []uint64{8}, TypeF32, 514048},
		{"blk.0.ffn_norm.weight", []uint64{8}, TypeF32, 514080},
		{"output_norm.weight", []uint64{8}, TypeF32, 514112},
		{"output.weight", []uint64{8, 32000}, TypeF16, 514144},
	}
	var got []row
	var params uint64
	for _, ti := range f.Tensors {
		got = append(got, row{ti.Name, ti.Dims, ti.Type, ti.Offset})
		params += ti.Elements()
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("tensor table (-want +got):\n%s", diff)
	}

	ft := uint32(1)
	wantFacts := Facts{
		Version:           3,
		Architecture:      "llama",
		ParameterCount:    params,
		TensorCount:       12,
		TensorTypes:       map[string]int{"F16": 9, "F32": 3},
		Quantization:      "F16",
		FileType:          &ft,
		ContextLength:     4096,
		EmbeddingLength:   8,
		BlockCount:        1,
		FeedForwardLength: 32,
		HeadCount:         2,
		HeadCountKV:       2,
		VocabSize:         32000,
		TokenizerModel:    "llama",
		General:           map[string]any{"architecture": "llama", "name": "LLaMA v2", "file_type": uint32(1)},
	}
	if params != 2*8*32000+4*8*8+3*8*32+3*8 {
		t.Errorf("parameter count %d, want %d", params, 2*8*32000+4*8*8+3*8*32+3*8)
	}
	if diff := cmp.Diff(wantFacts, f.Facts()); diff != "" {
		t.Errorf("Facts (-want +got):\n%s", diff)
	}

	// Writing the parsed file back with its own tensor data reproduces it
	// byte for byte (it was written by ggml with the same layout rules).
	tensors := make([]StreamTensor, len(f.Tensors))
	for i, ti := range f.Tensors {
		sr, err := f.TensorReader(fh, ti)
		if err != nil {
			t.Fatal(err)
		}
		tensors[i] = StreamTensor{Name: ti.Name, Dims: ti.Dims, Type: ti.Type, Data: sr}
	}
	var buf bytes.Buffer
	if err := WriteStream(&buf, f.Version, f.Metadata, tensors, 0); err != nil {
		t.Fatal(err)
	}
	orig, err := io.ReadAll(io.NewSectionReader(fh, 0, f.Size))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), orig) {
		t.Errorf("rewritten file (%d bytes) differs from the original (%d bytes)", buf.Len(), len(orig))
	}
}
