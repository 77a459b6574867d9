package synth

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"math/bits"
	"os"
	"path/filepath"

	"sov.dev/sov/internal/safetensors"
)

// SafetensorsSpec describes a synthetic safetensors model. Tensor data is
// pseudo-random, derived from Seed and each tensor's name only, so a tensor
// has the same bytes whether written alone, in a larger file or in a shard.
type SafetensorsSpec struct {
	Seed     uint64
	Tensors  []STensorSpec
	Metadata map[string]string
}

// STensorSpec is one tensor of a SafetensorsSpec.
type STensorSpec struct {
	Name  string
	DType safetensors.DType
	Shape []uint64
}

// stChunkSize is the size of the reusable buffer tensor data is generated
// into; a multiple of 8 so that every chunk but a tensor's last is made of
// whole PRNG words.
const stChunkSize = 1 << 20

// layout assigns back-to-back byte ranges to tensors, in order.
func (s SafetensorsSpec) layout() ([]safetensors.TensorInfo, uint64, error) {
	infos := make([]safetensors.TensorInfo, len(s.Tensors))
	seen := make(map[string]struct{}, len(s.Tensors))
	var pos uint64
	for i, t := range s.Tensors {
		if _, dup := seen[t.Name]; dup {
			return nil, 0, fmt.Errorf("synth: tensor %q appears more than once", t.Name)
		}
		seen[t.Name] = struct{}{}
		size, err := safetensors.DataSize(t.DType, t.Shape)
		if err != nil {
			return nil, 0, fmt.Errorf("synth: tensor %q: %w", t.Name, err)
		}
		end, carry := bits.Add64(pos, size, 0)
		if carry != 0 || end > 1<<62 {
			return nil, 0, fmt.Errorf("synth: tensor %q: model larger than 2^62 bytes", t.Name)
		}
		infos[i] = safetensors.TensorInfo{Name: t.Name, DType: t.DType, Shape: t.Shape, Begin: pos, End: end}
		pos = end
	}
	return infos, pos, nil
}

// FileSize returns the size of the file WriteSafetensors writes for s.
func (s SafetensorsSpec) FileSize() (int64, error) {
	infos, dataLen, err := s.layout()
	if err != nil {
		return 0, err
	}
	hdr, err := safetensors.EncodeHeader(infos, s.Metadata)
	if err != nil {
		return 0, fmt.Errorf("synth: %w", err)
	}
	return int64(len(hdr)) + int64(dataLen), nil
}

// WriteSafetensors writes the safetensors file spec describes to w. Tensor
// data is generated on the fly into one reusable 1 MiB buffer, so memory use
// does not grow with the model. Floating-point data is always finite, with
// magnitudes below 2; BOOL data is 0 or 1; integer data covers the full range.
func WriteSafetensors(w io.Writer, spec SafetensorsSpec) error {
	infos, _, err := spec.layout()
	if err != nil {
		return err
	}
	hdr, err := safetensors.EncodeHeader(infos, spec.Metadata)
	if err != nil {
		return fmt.Errorf("synth: %w", err)
	}
	if _, err := w.Write(hdr); err != nil {
		return fmt.Errorf("synth: writing safetensors header: %w", err)
	}
	buf := make([]byte, stChunkSize)
	for _, t := range infos {
		if err := stWriteData(w, buf, spec.Seed, t); err != nil {
			return err
		}
	}
	return nil
}

// stWriteData streams the pseudo-random bytes of one tensor.
func stWriteData(w io.Writer, buf []byte, seed uint64, t safetensors.TensorInfo) error {
	rng := stRNG{state: stTensorSeed(seed, t.Name)}
	mask := stMask(t.DType)
	for left := t.End - t.Begin; left > 0; {
		n := min(left, uint64(len(buf)))
		words := (n + 7) / 8
		for i := range words {
			binary.LittleEndian.PutUint64(buf[i*8:], rng.next()&mask)
		}
		if _, err := w.Write(buf[:n]); err != nil {
			return fmt.Errorf("synth: writing tensor %q: %w", t.Name, err)
		}
		left -= n
	}
	return nil
}

// stTensorSeed derives a tensor's PRNG state from the spec seed and its name.
func stTensorSeed(seed uint64, name string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(name))
	// A splitmix64 finaliser spreads the combination over all bits.
	z := seed ^ h.Sum64()
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

// stMask is ANDed into every 8 bytes of a tensor to keep values sane:
// clearing the top exponent bit of each float makes it finite and below 2
// in magnitude; BOOL keeps only the low bit of each byte.
func stMask(d safetensors.DType) uint64 {
	switch d {
	case safetensors.F16, safetensors.BF16:
		return 0xBFFF_BFFF_BFFF_BFFF
	case safetensors.F32, safetensors.C64:
		return 0xBFFF_FFFF_BFFF_FFFF
	case safetensors.F64:
		return 0xBFFF_FFFF_FFFF_FFFF
	case safetensors.F8E4M3, safetensors.F8E5M2:
		return 0xBFBF_BFBF_BFBF_BFBF
	case safetensors.F8E4M3FNUZ, safetensors.F8E5M2FNUZ:
		// These encode NaN as negative zero: keep values positive.
		return 0x3F3F_3F3F_3F3F_3F3F
	case safetensors.F8E8M0:
		return 0x7F7F_7F7F_7F7F_7F7F // 0xFF is NaN
	case safetensors.BOOL:
		return 0x0101_0101_0101_0101
	}
	return ^uint64(0)
}

// stRNG is wyrand: one 64x64->128-bit multiply per 8 output bytes, fast
// enough to generate multi-gigabyte fixtures in seconds.
type stRNG struct{ state uint64 }

func (r *stRNG) next() uint64 {
	r.state += 0xa0761d6478bd642f
	hi, lo := bits.Mul64(r.state, r.state^0xe7037ed1a0b428db)
	return hi ^ lo
}

// WriteShardedSafetensors writes spec as a sharded model in dir: the
// tensors, in order, are split into shards files of about equal data size,
// named model-00001-of-0000N.safetensors and so on, each carrying
// spec.Metadata, plus model.safetensors.index.json whose metadata.total_size
// is the summed tensor data size and whose weight_map names each tensor's
// shard. It returns the paths written, shards first, the index last.
func WriteShardedSafetensors(dir string, spec SafetensorsSpec, shards int) ([]string, error) {
	if shards < 1 || shards > len(spec.Tensors) {
		return nil, fmt.Errorf("synth: cannot split %d tensors into %d shards", len(spec.Tensors), shards)
	}
	if shards > 99999 {
		return nil, fmt.Errorf("synth: %d shards is more than shard names can number", shards)
	}
	infos, total, err := spec.layout()
	if err != nil {
		return nil, err
	}
	groups := stSplit(infos, total, shards)
	weightMap := make(map[string]string, len(infos))
	var paths []string
	for k, group := range groups {
		name := fmt.Sprintf("model-%05d-of-%05d.safetensors", k+1, shards)
		part := SafetensorsSpec{Seed: spec.Seed, Metadata: spec.Metadata}
		for _, i := range group {
			part.Tensors = append(part.Tensors, spec.Tensors[i])
			weightMap[spec.Tensors[i].Name] = name
		}
		path := filepath.Join(dir, name)
		if err := stWriteFile(path, func(w io.Writer) error { return WriteSafetensors(w, part) }); err != nil {
			return paths, err
		}
		paths = append(paths, path)
	}
	index := safetensors.Index{
		Metadata:  map[string]any{"total_size": total},
		WeightMap: weightMap,
	}
	b, err := json.MarshalIndent(index, "", "  ")
	if err != nil {
		return paths, fmt.Errorf("synth: encoding index: %w", err)
	}
	path := filepath.Join(dir, safetensors.IndexFileName)
	if err := stWriteFile(path, func(w io.Writer) error {
		_, err := w.Write(append(b, '\n'))
		return err
	}); err != nil {
		return paths, err
	}
	return append(paths, path), nil
}

// stSplit cuts infos, in order, into n non-empty runs of about total/n bytes.
func stSplit(infos []safetensors.TensorInfo, total uint64, n int) [][]int {
	groups := make([][]int, n)
	g := 0
	var acc uint64
	for i, t := range infos {
		groups[g] = append(groups[g], i)
		acc += t.End - t.Begin
		if g == n-1 {
			continue
		}
		// Boundary for group g: total*(g+1)/n, computed without overflow.
		hi, lo := bits.Mul64(total, uint64(g+1))
		target, _ := bits.Div64(hi, lo, uint64(n))
		tensorsLeft, groupsLeft := len(infos)-i-1, n-g-1
		if acc >= target || tensorsLeft == groupsLeft {
			g++
		}
	}
	return groups
}

// stWriteFile creates path and fills it through a buffered writer.
func stWriteFile(path string, fill func(io.Writer) error) (err error) {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("synth: %w", err)
	}
	defer func() {
		if cerr := f.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("synth: %w", cerr)
		}
	}()
	bw := bufio.NewWriterSize(f, 1<<20)
	if err := fill(bw); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("synth: writing %s: %w", path, err)
	}
	return nil
}

// LargeModelSpec returns a Llama-shaped spec (token embedding, decoder
// layers of attention and MLP projections, norms, output head; BF16 weights
// and F16 norms) whose tensor data adds up to just under totalBytes: the
// layer count is chosen to fit and the vocabulary is widened to take up the
// rest, so the shortfall is below 4*hidden bytes. Targets below about 350 KB
// get the smallest model, one layer of hidden size 64.
func LargeModelSpec(totalBytes int64, seed uint64) SafetensorsSpec {
	const bf16, f16 = 2, 2 // bytes per element
	hidden, inter, vocab := uint64(2048), uint64(5632), uint64(32000)
	var fixed, perLayer uint64
	target := uint64(max(totalBytes, 0))
	for {
		kv := hidden / 8
		perLayer = bf16*(2*hidden*hidden+2*kv*hidden+3*inter*hidden) + f16*2*hidden
		fixed = bf16*2*vocab*hidden + f16*hidden
		if fixed+perLayer <= target || hidden <= 64 {
			break
		}
		hidden, inter, vocab = hidden/2, inter/2, vocab/2
	}
	layers := uint64(1)
	if target > fixed+perLayer {
		layers = (target - fixed) / perLayer
	}
	if used := fixed + layers*perLayer; target > used {
		vocab += (target - used) / (bf16 * 2 * hidden)
	}

	kv := hidden / 8
	mat := func(name string, rows, cols uint64) STensorSpec {
		return STensorSpec{Name: name, DType: safetensors.BF16, Shape: []uint64{rows, cols}}
	}
	norm := func(name string) STensorSpec {
		return STensorSpec{Name: name, DType: safetensors.F16, Shape: []uint64{hidden}}
	}
	spec := SafetensorsSpec{Seed: seed, Metadata: map[string]string{"format": "pt"}}
	spec.Tensors = append(spec.Tensors, mat("model.embed_tokens.weight", vocab, hidden))
	for l := range layers {
		p := fmt.Sprintf("model.layers.%d.", l)
		spec.Tensors = append(spec.Tensors,
			norm(p+"input_layernorm.weight"),
			mat(p+"self_attn.q_proj.weight", hidden, hidden),
			mat(p+"self_attn.k_proj.weight", kv, hidden),
			mat(p+"self_attn.v_proj.weight", kv, hidden),
			mat(p+"self_attn.o_proj.weight", hidden, hidden),
			norm(p+"post_attention_layernorm.weight"),
			mat(p+"mlp.gate_proj.weight", inter, hidden),
			mat(p+"mlp.up_proj.weight", inter, hidden),
			mat(p+"mlp.down_proj.weight", hidden, inter),
		)
	}
	spec.Tensors = append(spec.Tensors,
		norm("model.norm.weight"),
		mat("lm_head.weight", vocab, hidden),
	)
	return spec
}
