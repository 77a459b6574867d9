package gguf

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// raw builds GGUF bytes field by field, so tests can write what Write
// refuses to.
type raw struct{ b []byte }

func (r *raw) u8(x uint8) *raw   { r.b = append(r.b, x); return r }
func (r *raw) u32(x uint32) *raw { r.b = binary.LittleEndian.AppendUint32(r.b, x); return r }
func (r *raw) u64(x uint64) *raw { r.b = binary.LittleEndian.AppendUint64(r.b, x); return r }
func (r *raw) bytes(p []byte) *raw {
	r.b = append(r.b, p...)
	return r
}
func (r *raw) str(s string) *raw { return r.u64(uint64(len(s))).bytes([]byte(s)) }

// header writes magic, version and counts.
func (r *raw) header(version uint32, tensors, kvs uint64) *raw {
	return r.bytes([]byte(Magic)).u32(version).u64(tensors).u64(kvs)
}

// kvU32 writes a uint32 metadata entry.
func (r *raw) kvU32(key string, v uint32) *raw { return r.str(key).u32(uint32(TypeUint32)).u32(v) }

// tensor writes one tensor table entry.
func (r *raw) tensor(name string, dims []uint64, t TensorType, off uint64) *raw {
	r.str(name).u32(uint32(len(dims)))
	for _, d := range dims {
		r.u64(d)
	}
	return r.u32(uint32(t)).u64(off)
}

// pad appends zeros up to a multiple of a.
func (r *raw) pad(a int) *raw {
	for len(r.b)%a != 0 {
		r.b = append(r.b, 0)
	}
	return r
}

// zeros appends n zero bytes.
func (r *raw) zeros(n int) *raw { r.b = append(r.b, make([]byte, n)...); return r }

func parseBytes(b []byte) (*File, error) { return Parse(bytes.NewReader(b), int64(len(b))) }

// encode runs Write and fails the test on error.
func encode(t testing.TB, version uint32, kv []KV, tensors []Tensor, alignment uint64) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := Write(&buf, version, kv, tensors, alignment); err != nil {
		t.Fatalf("Write: %v", err)
	}
	return buf.Bytes()
}

// seqBytes returns n bytes counting up from seed.
func seqBytes(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = seed + byte(i)
	}
	return b
}

// sampleFile returns a small valid file with a few keys and tensors.
func sampleFile(t testing.TB, version uint32) []byte {
	t.Helper()
	kv := []KV{
		{"general.architecture", Value{Type: TypeString, V: "llama"}},
		{"general.file_type", Value{Type: TypeUint32, V: uint32(7)}},
		{"llama.block_count", Value{Type: TypeUint32, V: uint32(1)}},
		{"tokenizer.ggml.tokens", Value{Type: TypeArray, ArrayType: TypeString, V: []string{"<unk>", "a", "b"}}},
	}
	tensors := []Tensor{
		{Name: "token_embd.weight", Dims: []uint64{32, 3}, Type: TypeQ8_0, Data: seqBytes(3*34, 1)},
		{Name: "output_norm.weight", Dims: []uint64{4}, Type: TypeF32, Data: seqBytes(16, 7)},
	}
	return encode(t, version, kv, tensors, 0)
}
