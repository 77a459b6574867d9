package gguf

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// FuzzParse checks that Parse never panics, that every rejection is a
// *FormatError, and that whatever it accepts can be summarised as JSON and
// written back to a file that parses to the same metadata and tensors.
func FuzzParse(f *testing.F) {
	f.Add(sampleFile(f, 3))
	f.Add(sampleFile(f, 2))
	all := encode(f, 3, allValues(), []Tensor{{Name: "x", Dims: []uint64{32}, Type: TypeQ4_0, Data: seqBytes(18, 0)}}, 64)
	f.Add(all)
	f.Add(all[:len(all)/2])
	f.Add(new(raw).header(3, 0, 0).b)
	f.Add(new(raw).header(1, 0, 0).b)
	f.Add(new(raw).header(3, 2, 0).
		tensor("a", []uint64{8}, TypeF32, 0).
		tensor("b", []uint64{8}, TypeF32, 0).pad(32).zeros(64).b)

	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := parseBytes(data)
		if err != nil {
			var fe *FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("Parse error %q is not a *FormatError", err)
			}
			return
		}
		if _, err := json.Marshal(file.Facts()); err != nil {
			t.Fatalf("json.Marshal(Facts): %v", err)
		}
		if _, err := json.Marshal(file.MetadataSummary(4)); err != nil {
			t.Fatalf("json.Marshal(MetadataSummary): %v", err)
		}
		tensors := make([]StreamTensor, len(file.Tensors))
		for i, ti := range file.Tensors {
			sr, err := file.TensorReader(bytes.NewReader(data), ti)
			if err != nil {
				t.Fatalf("TensorReader(%q): %v", ti.Name, err)
			}
			tensors[i] = StreamTensor{Name: ti.Name, Dims: ti.Dims, Type: ti.Type, Data: sr}
		}
		var buf bytes.Buffer
		if err := WriteStream(&buf, file.Version, file.Metadata, tensors, 0); err != nil {
			t.Fatalf("rewriting an accepted file: %v", err)
		}
		again, err := parseBytes(buf.Bytes())
		if err != nil {
			t.Fatalf("parsing the rewritten file: %v", err)
		}
		if diff := cmp.Diff(file.Metadata, again.Metadata, cmpOpts...); diff != "" {
			t.Fatalf("metadata changed by rewriting (-first +second):\n%s", diff)
		}
		if len(again.Tensors) != len(file.Tensors) {
			t.Fatalf("rewriting changed the tensor count from %d to %d", len(file.Tensors), len(again.Tensors))
		}
		for i, ti := range again.Tensors {
			old := file.Tensors[i]
			if ti.Name != old.Name || ti.Type != old.Type || !cmp.Equal(ti.Dims, old.Dims) {
				t.Fatalf("tensor %d changed by rewriting: %+v -> %+v", i, old, ti)
			}
		}
	})
}
