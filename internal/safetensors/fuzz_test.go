package safetensors

import (
	"bytes"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// FuzzParse checks that Parse never panics and that whatever it accepts is
// consistent: tensors sorted and tiling the data buffer, and a header
// re-encoded from the result parses to the same thing.
func FuzzParse(f *testing.F) {
	var buf bytes.Buffer
	if err := Write(&buf, []Tensor{
		{Name: "a", DType: F32, Shape: []uint64{2}, Data: make([]byte, 8)},
		{Name: "b", DType: F4, Shape: []uint64{2}, Data: []byte{0x21}},
	}, map[string]string{"format": "pt"}); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	f.Add(raw(`{}`, 0))
	f.Add(raw(`{"w":{"dtype":"U8","shape":[4],"data_offsets":[0,4]}}`, 5))
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Parse(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return
		}
		var pos uint64
		for _, ti := range file.Tensors {
			if ti.Begin != pos {
				t.Fatalf("tensor %q begins at %d, want %d", ti.Name, ti.Begin, pos)
			}
			pos = ti.End
		}
		if got, want := int64(pos), file.Size-file.DataOffset(); got != want {
			t.Fatalf("tensors cover %d bytes, data buffer is %d", got, want)
		}
		facts := file.Facts()
		if facts.TensorCount != len(file.Tensors) {
			t.Fatalf("Facts().TensorCount = %d, want %d", facts.TensorCount, len(file.Tensors))
		}
		hdr, err := EncodeHeader(file.Tensors, file.Metadata)
		if err != nil {
			t.Fatalf("EncodeHeader of a parsed file: %v", err)
		}
		again := append(hdr, data[file.DataOffset():]...)
		file2, err := Parse(bytes.NewReader(again), int64(len(again)))
		if err != nil {
			t.Fatalf("re-encoded file does not parse: %v", err)
		}
		if diff := cmp.Diff(file.Tensors, file2.Tensors, cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("re-encoded tensors differ (-first +second):\n%s", diff)
		}
		if diff := cmp.Diff(file.Metadata, file2.Metadata, cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("re-encoded metadata differs (-first +second):\n%s", diff)
		}
	})
}

// FuzzParseIndex checks that ParseIndex never panics and only accepts plain
// shard names.
func FuzzParseIndex(f *testing.F) {
	f.Add([]byte(`{"metadata":{"total_size":8},"weight_map":{"a":"model-00001-of-00001.safetensors"}}`))
	f.Add([]byte(`{"weight_map":{"a":"../x"}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		ix, err := ParseIndex(data)
		if err != nil {
			return
		}
		if len(ix.WeightMap) == 0 {
			t.Fatal("accepted an empty weight_map")
		}
		for name, s := range ix.WeightMap {
			if err := checkShardName(s); err != nil {
				t.Fatalf("accepted shard name %q for %q: %v", s, name, err)
			}
		}
		shards := ix.Shards()
		if len(shards) == 0 || len(shards) > len(ix.WeightMap) {
			t.Fatalf("Shards() = %d names for %d weight_map entries", len(shards), len(ix.WeightMap))
		}
		ix.TotalSize()
	})
}
