package synth

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"hash"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"sov.dev/sov/internal/safetensors"
)

func smallSafetensorsSpec(seed uint64) SafetensorsSpec {
	return SafetensorsSpec{
		Seed: seed,
		Tensors: []STensorSpec{
			{Name: "embed.weight", DType: safetensors.BF16, Shape: []uint64{300, 17}},
			{Name: "proj.weight", DType: safetensors.F16, Shape: []uint64{33, 9}},
			{Name: "proj.bias", DType: safetensors.F32, Shape: []uint64{33}},
			{Name: "scale", DType: safetensors.F64, Shape: nil},
			{Name: "mask", DType: safetensors.BOOL, Shape: []uint64{13}},
			{Name: "ids", DType: safetensors.I64, Shape: []uint64{5}},
			{Name: "packed", DType: safetensors.F4, Shape: []uint64{6}},
			{Name: "fp8", DType: safetensors.F8E4M3, Shape: []uint64{11}},
			{Name: "empty", DType: safetensors.F32, Shape: []uint64{0, 4}},
		},
		Metadata: map[string]string{"format": "pt", "note": "synthetic"},
	}
}

func writeSpec(t *testing.T, spec SafetensorsSpec) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteSafetensors(&buf, spec); err != nil {
		t.Fatalf("WriteSafetensors() error = %v", err)
	}
	return buf.Bytes()
}

// tensorBytes returns each tensor's data from a parsed file, by name.
func tensorBytes(t *testing.T, b []byte) (*safetensors.File, map[string][]byte) {
	t.Helper()
	f, err := safetensors.Parse(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatalf("safetensors.Parse() error = %v", err)
	}
	out := make(map[string][]byte)
	for _, ti := range f.Tensors {
		out[ti.Name] = b[f.DataOffset()+int64(ti.Begin) : f.DataOffset()+int64(ti.End)]
	}
	return f, out
}

func TestWriteSafetensorsParses(t *testing.T) {
	spec := smallSafetensorsSpec(1)
	b := writeSpec(t, spec)
	f, _ := tensorBytes(t, b)
	if diff := cmp.Diff(spec.Metadata, f.Metadata); diff != "" {
		t.Errorf("Metadata mismatch (-want +got):\n%s", diff)
	}
	type desc struct {
		Name  string
		DType safetensors.DType
		Shape []uint64
	}
	var want, got []desc
	for _, ts := range spec.Tensors {
		want = append(want, desc{ts.Name, ts.DType, ts.Shape})
	}
	for _, ti := range f.Tensors {
		got = append(got, desc{ti.Name, ti.DType, ti.Shape})
	}
	if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("tensors mismatch (-want +got):\n%s", diff)
	}
	size, err := spec.FileSize()
	if err != nil {
		t.Fatalf("FileSize() error = %v", err)
	}
	if size != int64(len(b)) {
		t.Errorf("FileSize() = %d, file is %d bytes", size, len(b))
	}
}

func TestWriteSafetensorsDeterministic(t *testing.T) {
	a := writeSpec(t, smallSafetensorsSpec(7))
	b := writeSpec(t, smallSafetensorsSpec(7))
	if !bytes.Equal(a, b) {
		t.Fatal("same seed wrote different bytes")
	}
	c := writeSpec(t, smallSafetensorsSpec(8))
	_, da := tensorBytes(t, a)
	_, dc := tensorBytes(t, c)
	if bytes.Equal(da["embed.weight"], dc["embed.weight"]) {
		t.Error("different seeds wrote the same embed.weight data")
	}
	// A tensor's bytes depend on the seed and its name, not its position.
	reordered := smallSafetensorsSpec(7)
	reordered.Tensors = append(reordered.Tensors[3:], reordered.Tensors[:3]...)
	_, dr := tensorBytes(t, writeSpec(t, reordered))
	if diff := cmp.Diff(da, dr); diff != "" {
		t.Errorf("reordering changed tensor data (-want +got):\n%s", diff)
	}
	// Different tensors of one file get different data.
	if bytes.Equal(da["proj.bias"][:16], da["embed.weight"][:16]) {
		t.Error("two tensors start with the same bytes")
	}
}

func TestWriteSafetensorsValues(t *testing.T) {
	_, data := tensorBytes(t, writeSpec(t, smallSafetensorsSpec(3)))
	for i, v := range data["mask"] {
		if v > 1 {
			t.Errorf("mask[%d] = %d, want 0 or 1", i, v)
		}
	}
	check := func(name string, size int, decode func([]byte) float64) {
		for i := 0; i+size <= len(data[name]); i += size {
			v := decode(data[name][i:])
			if math.IsNaN(v) || math.IsInf(v, 0) || math.Abs(v) >= 2 {
				t.Errorf("%s element %d = %v, want finite with magnitude below 2", name, i/size, v)
			}
		}
	}
	check("proj.bias", 4, func(b []byte) float64 { return float64(math.Float32frombits(binary.LittleEndian.Uint32(b))) })
	check("scale", 8, func(b []byte) float64 { return math.Float64frombits(binary.LittleEndian.Uint64(b)) })
	check("embed.weight", 2, func(b []byte) float64 { // BF16: the top half of an F32
		return float64(math.Float32frombits(uint32(binary.LittleEndian.Uint16(b)) << 16))
	})
	check("proj.weight", 2, func(b []byte) float64 { // F16: finite means exponent != 31
		h := binary.LittleEndian.Uint16(b)
		exp := h >> 10 & 0x1f
		if exp == 0x1f {
			return math.NaN()
		}
		return math.Ldexp(1+float64(h&0x3ff)/1024, int(exp)-15)
	})
}

// hugeTensors returns n tensors of 2^60 bytes each.
func hugeTensors(n int) []STensorSpec {
	var out []STensorSpec
	for i := range n {
		out = append(out, STensorSpec{Name: fmt.Sprint("t", i), DType: safetensors.U8, Shape: []uint64{1 << 60}})
	}
	return out
}

func TestWriteSafetensorsErrors(t *testing.T) {
	tests := []struct {
		name    string
		tensors []STensorSpec
		wantErr string
	}{
		{"unknown dtype", []STensorSpec{{Name: "w", DType: "Q8_0", Shape: []uint64{4}}}, `unknown dtype "Q8_0"`},
		{"duplicate", []STensorSpec{{Name: "w", DType: safetensors.U8}, {Name: "w", DType: safetensors.U8}}, "more than once"},
		{"odd f4", []STensorSpec{{Name: "w", DType: safetensors.F4, Shape: []uint64{3}}}, "whole bytes"},
		{"too large", hugeTensors(5), "2^62"},
		{"size overflow", []STensorSpec{{Name: "w", DType: safetensors.F64, Shape: []uint64{1 << 62}}}, "overflows"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := WriteSafetensors(io.Discard, SafetensorsSpec{Tensors: tt.tensors})
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("WriteSafetensors() error = %v, want it to mention %q", err, tt.wantErr)
			}
		})
	}
}

// hashingWriter counts and hashes what it is given, holding none of it.
type hashingWriter struct {
	n int64
	h hash.Hash
}

func (w *hashingWriter) Write(p []byte) (int, error) {
	w.n += int64(len(p))
	return w.h.Write(p)
}

func TestWriteSafetensorsStreams(t *testing.T) {
	spec := LargeModelSpec(64<<20, 1)
	size, err := spec.FileSize()
	if err != nil {
		t.Fatalf("FileSize() error = %v", err)
	}
	w := &hashingWriter{h: sha256.New()}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := time.Now()
	if err := WriteSafetensors(w, spec); err != nil {
		t.Fatalf("WriteSafetensors() error = %v", err)
	}
	elapsed := time.Since(start)
	runtime.ReadMemStats(&after)
	if w.n != size {
		t.Errorf("wrote %d bytes, FileSize() = %d", w.n, size)
	}
	// A 64 MiB model must not be held in memory: the 1 MiB buffer, the
	// header and small change only.
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 4<<20 {
		t.Errorf("WriteSafetensors allocated %d bytes for a %d-byte file, want under 4 MiB", alloc, size)
	}
	if elapsed > 30*time.Second {
		t.Errorf("WriteSafetensors took %v for %d bytes", elapsed, size)
	}
	t.Logf("%d bytes in %v (%.0f MB/s)", size, elapsed, float64(size)/elapsed.Seconds()/1e6)
}

func TestWriteShardedSafetensors(t *testing.T) {
	spec := LargeModelSpec(2<<20, 5)
	dir := t.TempDir()
	paths, err := WriteShardedSafetensors(dir, spec, 3)
	if err != nil {
		t.Fatalf("WriteShardedSafetensors() error = %v", err)
	}
	wantPaths := []string{
		filepath.Join(dir, "model-00001-of-00003.safetensors"),
		filepath.Join(dir, "model-00002-of-00003.safetensors"),
		filepath.Join(dir, "model-00003-of-00003.safetensors"),
		filepath.Join(dir, "model.safetensors.index.json"),
	}
	if diff := cmp.Diff(wantPaths, paths); diff != "" {
		t.Fatalf("paths mismatch (-want +got):\n%s", diff)
	}
	ixBytes, err := os.ReadFile(paths[3])
	if err != nil {
		t.Fatal(err)
	}
	ix, err := safetensors.ParseIndex(ixBytes)
	if err != nil {
		t.Fatalf("ParseIndex() error = %v", err)
	}
	if diff := cmp.Diff([]string{"model-00001-of-00003.safetensors", "model-00002-of-00003.safetensors", "model-00003-of-00003.safetensors"}, ix.Shards()); diff != "" {
		t.Errorf("Shards() mismatch (-want +got):\n%s", diff)
	}

	// The same model unsharded, to compare tensor bytes with.
	_, whole := tensorBytes(t, writeSpec(t, spec))

	var total uint64
	seen := make(map[string]bool)
	for _, p := range paths[:3] {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		f, data := tensorBytes(t, b)
		if len(f.Tensors) == 0 {
			t.Errorf("%s holds no tensors", p)
		}
		if diff := cmp.Diff(spec.Metadata, f.Metadata); diff != "" {
			t.Errorf("%s metadata mismatch (-want +got):\n%s", p, diff)
		}
		for _, ti := range f.Tensors {
			if got, want := ix.WeightMap[ti.Name], filepath.Base(p); got != want {
				t.Errorf("weight_map[%q] = %q, but the tensor is in %q", ti.Name, got, want)
			}
			if seen[ti.Name] {
				t.Errorf("tensor %q is in more than one shard", ti.Name)
			}
			seen[ti.Name] = true
			total += ti.End - ti.Begin
			if !bytes.Equal(data[ti.Name], whole[ti.Name]) {
				t.Errorf("tensor %q has different bytes sharded and unsharded", ti.Name)
			}
		}
	}
	for _, ts := range spec.Tensors {
		if !seen[ts.Name] {
			t.Errorf("tensor %q is in no shard", ts.Name)
		}
	}
	if got, want := len(ix.WeightMap), len(spec.Tensors); got != want {
		t.Errorf("weight_map has %d entries, want %d", got, want)
	}
	if got, ok := ix.TotalSize(); !ok || got != total {
		t.Errorf("TotalSize() = %d, %t; want %d, true", got, ok, total)
	}
}

func TestWriteShardedSafetensorsErrors(t *testing.T) {
	spec := smallSafetensorsSpec(1)
	for _, shards := range []int{0, -1, len(spec.Tensors) + 1} {
		if _, err := WriteShardedSafetensors(t.TempDir(), spec, shards); err == nil {
			t.Errorf("WriteShardedSafetensors(%d shards) succeeded, want error", shards)
		}
	}
	if _, err := WriteShardedSafetensors(filepath.Join(t.TempDir(), "missing"), spec, 2); err == nil {
		t.Error("WriteShardedSafetensors into a missing directory succeeded, want error")
	}
}

func TestStSplit(t *testing.T) {
	sizes := func(s ...uint64) []safetensors.TensorInfo {
		var out []safetensors.TensorInfo
		var pos uint64
		for _, n := range s {
			out = append(out, safetensors.TensorInfo{Begin: pos, End: pos + n})
			pos += n
		}
		return out
	}
	tests := []struct {
		name  string
		sizes []uint64
		n     int
		want  [][]int
	}{
		{"one shard", []uint64{1, 2, 3}, 1, [][]int{{0, 1, 2}}},
		{"even", []uint64{5, 5, 5, 5}, 2, [][]int{{0, 1}, {2, 3}}},
		{"one per shard", []uint64{1, 100, 1}, 3, [][]int{{0}, {1}, {2}}},
		{"big first", []uint64{100, 1, 1, 1}, 2, [][]int{{0}, {1, 2, 3}}},
		{"big last keeps shards non-empty", []uint64{1, 1, 1, 100}, 3, [][]int{{0, 1}, {2}, {3}}},
		{"all empty", []uint64{0, 0, 0}, 2, [][]int{{0}, {1, 2}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			infos := sizes(tt.sizes...)
			total := infos[len(infos)-1].End
			if diff := cmp.Diff(tt.want, stSplit(infos, total, tt.n)); diff != "" {
				t.Errorf("stSplit() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLargeModelSpec(t *testing.T) {
	for _, total := range []int64{0, 1 << 20, 64 << 20, 2 << 30, 5 << 30} {
		t.Run(fmt.Sprint(total), func(t *testing.T) {
			spec := LargeModelSpec(total, 9)
			if spec.Seed != 9 {
				t.Errorf("Seed = %d, want 9", spec.Seed)
			}
			infos, got, err := spec.layout()
			if err != nil {
				t.Fatalf("layout() error = %v", err)
			}
			hidden := infos[len(infos)-2].Shape[0] // model.norm.weight
			if total >= 1<<20 {
				if got > uint64(total) || uint64(total)-got >= 4*hidden {
					t.Errorf("data size = %d, want within %d below %d", got, 4*hidden, total)
				}
			}
			for _, ts := range spec.Tensors {
				if ts.DType != safetensors.BF16 && ts.DType != safetensors.F16 {
					t.Errorf("tensor %q has dtype %s, want BF16 or F16", ts.Name, ts.DType)
				}
			}
			if infos[0].Name != "model.embed_tokens.weight" || infos[len(infos)-1].Name != "lm_head.weight" {
				t.Errorf("first and last tensors = %q, %q", infos[0].Name, infos[len(infos)-1].Name)
			}
			t.Logf("%d tensors, hidden %d, %d data bytes", len(infos), hidden, got)
		})
	}
}

func BenchmarkWriteSafetensors(b *testing.B) {
	spec := LargeModelSpec(64<<20, 1)
	size, err := spec.FileSize()
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		if err := WriteSafetensors(io.Discard, spec); err != nil {
			b.Fatal(err)
		}
	}
}
