package scan

import (
	"bytes"
	"encoding/binary"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"sov.dev/sov/internal/gguf"
)

// ggufFile writes a valid GGUF file with gguf.Write: string metadata kv
// (in order) and F32 tensors of the given element counts.
func ggufFile(t testing.TB, kv [][2]string, tensors map[string]int) []byte {
	t.Helper()
	meta := []gguf.KV{{Key: "general.architecture", Value: gguf.Value{Type: gguf.TypeString, V: "llama"}}}
	for _, e := range kv {
		meta = append(meta, gguf.KV{Key: e[0], Value: gguf.Value{Type: gguf.TypeString, V: e[1]}})
	}
	var ts []gguf.Tensor
	for _, name := range slices.Sorted(maps.Keys(tensors)) {
		n := tensors[name]
		ts = append(ts, gguf.Tensor{Name: name, Dims: []uint64{uint64(n)}, Type: gguf.TypeF32, Data: make([]byte, 4*n)})
	}
	var buf bytes.Buffer
	if err := gguf.Write(&buf, 3, meta, ts, 0); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// rawGGUF hand-assembles a GGUF v3 file whose F32 tensors sit at the
// given data offsets (elements, offset), so that tests can leave gaps.
// dataLen is the size of the data section.
func rawGGUF(tensors [][2]uint64, dataLen int) []byte {
	le := binary.LittleEndian
	b := []byte("GGUF")
	b = le.AppendUint32(b, 3)
	b = le.AppendUint64(b, uint64(len(tensors)))
	b = le.AppendUint64(b, 0)
	for i, t := range tensors {
		name := "t" + string(rune('a'+i))
		b = le.AppendUint64(b, uint64(len(name)))
		b = append(b, name...)
		b = le.AppendUint32(b, 1)
		b = le.AppendUint64(b, t[0])
		b = le.AppendUint32(b, uint32(gguf.TypeF32))
		b = le.AppendUint64(b, t[1])
	}
	for len(b)%32 != 0 {
		b = append(b, 0)
	}
	return append(b, make([]byte, dataLen)...)
}

func TestGGUFChecks(t *testing.T) {
	valid := ggufFile(t, [][2]string{{"tokenizer.chat_template", benignTemplates["chatml"]}}, map[string]int{"a": 64, "b": 8})
	tests := []struct {
		name  string
		data  []byte
		rules []string
	}{
		{"valid with template", valid, nil},
		{"tensor beyond end of file", valid[:len(valid)-40], []string{"gguf.tensor-out-of-bounds:dangerous"}},
		{"tensor offset beyond end", rawGGUF([][2]uint64{{8, 1 << 20}}, 32), []string{"gguf.tensor-out-of-bounds:dangerous"}},
		{"overlapping tensors", rawGGUF([][2]uint64{{16, 0}, {16, 32}}, 96), []string{"gguf.tensor-overlap:suspicious"}},
		{"gap between tensors", rawGGUF([][2]uint64{{8, 0}, {8, 4096}}, 4096+32), []string{"gguf.gap:suspicious"}},
		{"hidden tail", rawGGUF([][2]uint64{{8, 0}}, 4096), []string{"gguf.gap:suspicious"}},
		{"alignment padding only", rawGGUF([][2]uint64{{4, 0}, {8, 32}}, 64), nil},
		{"truncated header", []byte("GGUF\x03\x00\x00\x00\x01"), []string{"gguf.malformed:suspicious"}},
		{"template injection", ggufFile(t, [][2]string{{"tokenizer.chat_template", `{{ lipsum.__globals__ }}`}}, nil),
			[]string{"template.dunder:dangerous", "template.escape-global:suspicious"}},
		{"named template injection", ggufFile(t, [][2]string{
			{"tokenizer.chat_template", benignTemplates["chatml"]},
			{"tokenizer.chat_template.tool_use", `{% import 'os' as os %}`},
		}, nil), []string{"template.import:dangerous", "template.unknown-global:suspicious", "template.unsupported:innocuous"}},
		{"huge template", ggufFile(t, [][2]string{{"tokenizer.chat_template", strings.Repeat("x", MaxTemplateSize+1)}}, nil),
			[]string{"template.size:suspicious"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := scanBlob(t, "model.gguf", tt.data)
			if r.Format != "gguf" {
				t.Fatalf("format %q, want gguf", r.Format)
			}
			if diff := cmp.Diff(tt.rules, ruleSet(r.Findings)); diff != "" {
				t.Errorf("rules (-want +got):\n%s\nfindings: %v", diff, r.Findings)
			}
		})
	}
}

func TestGGUFTemplateLocation(t *testing.T) {
	r := scanBlob(t, "m.gguf", ggufFile(t, [][2]string{{"tokenizer.chat_template.rag", "{{ x.__class__ }}"}}, nil))
	if len(r.Findings) == 0 {
		t.Fatal("no findings")
	}
	if got, want := r.Findings[0].Location, "tokenizer.chat_template.rag line 1 column 6"; got != want {
		t.Errorf("location %q, want %q", got, want)
	}
}

func TestGGUFTemplateNotString(t *testing.T) {
	meta := []gguf.KV{
		{Key: "general.architecture", Value: gguf.Value{Type: gguf.TypeString, V: "llama"}},
		{Key: "tokenizer.chat_template", Value: gguf.Value{Type: gguf.TypeUint32, V: uint32(7)}},
	}
	var buf bytes.Buffer
	if err := gguf.Write(&buf, 3, meta, nil, 0); err != nil {
		t.Fatal(err)
	}
	r := scanBlob(t, "m.gguf", buf.Bytes())
	if diff := cmp.Diff([]string{"gguf.template-type:suspicious"}, ruleSet(r.Findings)); diff != "" {
		t.Errorf("rules (-want +got):\n%s", diff)
	}
}
