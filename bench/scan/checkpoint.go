package main

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// A checkpoint is laid out the way torch.save (PyTorch 2.x) writes a
// state_dict: a zip whose members all sit in one directory ("archive/"
// when saving to a stream), written by PyTorch's bundled miniz:
//
//	archive/data.pkl                the pickled OrderedDict (protocol 2)
//	archive/.format_version         "1"
//	archive/.storage_alignment      "64"
//	archive/byteorder               "little"
//	archive/data/0 … data/N-1       each tensor's storage, raw bytes
//	archive/version                 "3\n"
//	archive/.data/serialization_id  40 decimal digits
//
// Every member is stored (not compressed). Each local header carries an
// extra field "FB" whose padding puts the member's data at a multiple of
// 64 bytes (PyTorch's kFieldAlignment), general-purpose flags 0x0808
// (UTF-8 names, sizes in a data descriptor), zero CRC and sizes, and the
// data is followed by a signed data descriptor. The archive always ends
// with zip64 end records (miniz is opened with MZ_ZIP_FLAG_WRITE_ZIP64);
// members at or past 4 GiB, or of 4 GiB or more, carry zip64 extra fields
// and 24-byte descriptors as miniz writes them.
const (
	archiveDir     = "archive/"
	fieldAlignment = 64
	// hiddenMember is where the hostile variant hides its pickle: a member
	// whose name does not end in .pkl, which scanners that pick pickles by
	// name never open (picklescan advisory GHSA-769v-p64c-89pr).
	hiddenMember = archiveDir + "config.p"
	// hiddenCommand is what the hidden pickle would run; nothing runs it.
	hiddenCommand = "echo sov-bench-scan > /dev/null"
)

// tensor is one entry of the state dict: a bf16 tensor of the given
// shape with its own storage.
type tensor struct {
	name  string
	shape []int64
}

func (t tensor) numel() int64 {
	n := int64(1)
	for _, d := range t.shape {
		n *= d
	}
	return n
}

// bytes is the size of the tensor's storage (bf16: 2 bytes an element).
func (t tensor) bytes() int64 { return 2 * t.numel() }

// planTensors names n ≥ 3 tensors like a Llama-style decoder
// (embeddings, per-layer norms, attention and MLP projections, final
// norm, output head) and sizes them so that their storages add up to at
// least total bytes, with as little to spare as the shapes allow.
func planTensors(total int64, n int) ([]tensor, error) {
	if n < 3 {
		return nil, fmt.Errorf("need at least 3 tensors, not %d", n)
	}
	if total <= 0 {
		return nil, fmt.Errorf("size %d is not positive", total)
	}
	hidden := int64(4096)
	if total < 256<<20 {
		hidden = 256 // small checkpoints (tests) keep plausible shapes
	}
	layer := []string{
		"input_layernorm.weight", "self_attn.q_proj.weight", "self_attn.k_proj.weight",
		"self_attn.v_proj.weight", "self_attn.o_proj.weight", "post_attention_layernorm.weight",
		"mlp.gate_proj.weight", "mlp.up_proj.weight", "mlp.down_proj.weight",
	}
	names := []string{"model.embed_tokens.weight"}
	for i := 0; len(names) < n-2; i++ {
		for _, l := range layer {
			if len(names) == n-2 {
				break
			}
			names = append(names, "model.layers."+strconv.Itoa(i)+"."+l)
		}
	}
	names = append(names, "model.norm.weight", "lm_head.weight")
	// Every matrix is a multiple of a unit of u rows of hidden columns.
	build := func(u int64) []tensor {
		kv, inter := max(1, u/4), max(1, u*11/4)
		ts := make([]tensor, len(names))
		for i, name := range names {
			var shape []int64
			switch {
			case strings.HasSuffix(name, "norm.weight"):
				shape = []int64{hidden}
			case strings.HasSuffix(name, "k_proj.weight"), strings.HasSuffix(name, "v_proj.weight"):
				shape = []int64{kv, hidden}
			case strings.HasSuffix(name, "gate_proj.weight"), strings.HasSuffix(name, "up_proj.weight"):
				shape = []int64{inter, hidden}
			case strings.HasSuffix(name, "down_proj.weight"):
				shape = []int64{hidden, inter}
			case name == "model.embed_tokens.weight", name == "lm_head.weight":
				shape = []int64{4 * u, hidden}
			default:
				shape = []int64{u, hidden}
			}
			ts[i] = tensor{name: name, shape: shape}
		}
		return ts
	}
	sum := func(ts []tensor) int64 {
		var s int64
		for _, t := range ts {
			s += t.bytes()
		}
		return s
	}
	// The sum grows with u; find the smallest u that reaches total.
	lo, hi := int64(1), int64(1)
	for sum(build(hi)) < total {
		lo, hi = hi+1, hi*2
		if hi > 1<<40 {
			return nil, fmt.Errorf("size %d is too large", total)
		}
	}
	for lo < hi {
		mid := lo + (hi-lo)/2
		if sum(build(mid)) >= total {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return build(lo), nil
}

// member is one zip member: its bytes, or (data nil) size bytes from the
// random stream.
type member struct {
	name string
	data []byte
	size int64
}

// checkpointMembers lists a checkpoint's members in the order torch.save
// writes them; hidden adds the hostile pickle after the tensors.
func checkpointMembers(ts []tensor, hidden bool) []member {
	pkl := statePickle(ts)
	ms := []member{
		{name: archiveDir + "data.pkl", data: pkl},
		{name: archiveDir + ".format_version", data: []byte("1")},
		{name: archiveDir + ".storage_alignment", data: []byte(strconv.Itoa(fieldAlignment))},
		{name: archiveDir + "byteorder", data: []byte("little")},
	}
	for i, t := range ts {
		ms = append(ms, member{name: archiveDir + "data/" + strconv.Itoa(i), size: t.bytes()})
	}
	if hidden {
		ms = append(ms, member{name: hiddenMember, data: payloadPickle()})
	}
	ms = append(ms, member{name: archiveDir + "version", data: []byte("3\n")})
	// PyTorch derives the id from the records' CRCs; any 40 digits do.
	id := fmt.Sprintf("%020d%020d", crc32.ChecksumIEEE(pkl), len(ms))
	ms = append(ms, member{name: archiveDir + ".data/serialization_id", data: []byte(id)})
	for i := range ms {
		if ms[i].data != nil {
			ms[i].size = int64(len(ms[i].data))
		}
	}
	return ms
}

// writeCheckpoint writes the checkpoint to w and returns its size. The
// tensor bytes come from a ChaCha8 stream with a fixed seed, so the same
// plan always gives the same file. zip64At is the size or offset from
// which zip64 fields are used: 0xFFFFFFFF as miniz does; tests lower it
// to exercise the zip64 layout without writing 4 GiB.
func writeCheckpoint(w io.Writer, ms []member, zip64At int64) (int64, error) {
	zw := &zipWriter{w: w, zip64At: zip64At, rng: rand.NewChaCha8([32]byte([]byte("sov bench/scan torch checkpoint.")))}
	for _, m := range ms {
		if err := zw.add(m); err != nil {
			return zw.off, err
		}
	}
	err := zw.close()
	return zw.off, err
}

// checkpointSize is the size writeCheckpoint would write, without
// producing the tensor bytes, and how many members get zip64 fields.
func checkpointSize(ms []member, zip64At int64) (size int64, zip64Members int) {
	zw := &zipWriter{w: io.Discard, dry: true, zip64At: zip64At}
	for _, m := range ms {
		_ = zw.add(m) // io.Discard never fails
	}
	_ = zw.close()
	return zw.off, zw.zip64Members
}

// ensureCheckpoint makes sure file holds the checkpoint of these members:
// a file of exactly the planned size is reused (it was written under a
// temporary name and renamed when complete, from the same deterministic
// plan); anything else is rewritten. It reports whether it wrote.
func ensureCheckpoint(file string, ms []member) (wrote bool, err error) {
	want, _ := checkpointSize(ms, 0xFFFFFFFF)
	if fi, err := os.Stat(file); err == nil && fi.Mode().IsRegular() && fi.Size() == want {
		return false, nil
	}
	tmp := file + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return false, err
	}
	defer os.Remove(tmp) // after a successful rename there is nothing to remove
	bw := bufio.NewWriterSize(f, 1<<20)
	n, err := writeCheckpoint(bw, ms, 0xFFFFFFFF)
	if err == nil {
		err = bw.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return false, fmt.Errorf("writing %s: %w", tmp, err)
	}
	if n != want {
		return false, fmt.Errorf("writing %s: wrote %d bytes, planned %d", tmp, n, want)
	}
	return true, os.Rename(tmp, file)
}

// zipWriter writes a zip archive the way PyTorch's PyTorchStreamWriter
// drives miniz: see the comment at the top of this file.
type zipWriter struct {
	w       io.Writer
	dry     bool  // count bytes only; tensor data is not produced
	zip64At int64 // sizes and offsets ≥ this use zip64 fields
	off     int64
	rng     *rand.ChaCha8
	buf     []byte
	dir     []byte
	count   int

	zip64Members int // members written with zip64 fields
}

const (
	flagDescriptor = 1 << 3
	flagUTF8       = 1 << 11
)

func (z *zipWriter) write(b []byte) error {
	_, err := z.w.Write(b)
	z.off += int64(len(b))
	return err
}

// zip64Extra is the zip64 extended-information field miniz writes: each
// value given, in the order uncompressed size, compressed size, offset.
func zip64Extra(vals ...int64) []byte {
	b := binary.LittleEndian.AppendUint16(nil, 0x0001)
	b = binary.LittleEndian.AppendUint16(b, uint16(8*len(vals)))
	for _, v := range vals {
		b = binary.LittleEndian.AppendUint64(b, uint64(v))
	}
	return b
}

// add writes one stored member: local header with the alignment padding,
// data, data descriptor; and queues its central directory entry.
func (z *zipWriter) add(m member) error {
	start, size := z.off, m.size
	bigSize, bigOff := size >= z.zip64At, start >= z.zip64At
	// Local zip64 field: miniz writes it before the data is known, so the
	// compressed size in it is 0.
	var local, central []byte
	switch {
	case bigSize && bigOff:
		local, central = zip64Extra(size, 0, start), zip64Extra(size, size, start)
	case bigSize:
		local, central = zip64Extra(size, 0), zip64Extra(size, size)
	case bigOff:
		local, central = zip64Extra(start), zip64Extra(start)
	}
	if local != nil {
		z.zip64Members++
	}
	// PyTorch's padding: an "FB" extra field sized so that the data
	// starts at a multiple of 64.
	dataAt := start + 30 + int64(len(m.name)) + int64(len(local)) + 4
	pad := (fieldAlignment - dataAt%fieldAlignment) % fieldAlignment
	fb := append([]byte{'F', 'B', byte(pad), byte(pad >> 8)}, strings.Repeat("Z", int(pad))...)

	h := make([]byte, 30, 30+len(m.name)+len(local)+len(fb))
	copy(h, "PK\x03\x04")
	binary.LittleEndian.PutUint16(h[6:], flagDescriptor|flagUTF8)
	binary.LittleEndian.PutUint16(h[26:], uint16(len(m.name)))
	binary.LittleEndian.PutUint16(h[28:], uint16(len(local)+len(fb)))
	h = append(append(append(h, m.name...), local...), fb...)
	if err := z.write(h); err != nil {
		return err
	}
	if (z.off)%fieldAlignment != 0 {
		return fmt.Errorf("internal error: %s data at %d is not %d-aligned", m.name, z.off, fieldAlignment)
	}
	var crc uint32
	switch {
	case m.data != nil:
		crc = crc32.ChecksumIEEE(m.data)
		if err := z.write(m.data); err != nil {
			return err
		}
	case z.dry:
		z.off += size
	default:
		var err error
		if crc, err = z.random(size); err != nil {
			return err
		}
	}
	d := binary.LittleEndian.AppendUint32([]byte("PK\x07\x08"), crc)
	if local == nil {
		d = binary.LittleEndian.AppendUint32(d, uint32(size))
		d = binary.LittleEndian.AppendUint32(d, uint32(size))
	} else {
		d = binary.LittleEndian.AppendUint64(d, uint64(size))
		d = binary.LittleEndian.AppendUint64(d, uint64(size))
	}
	if err := z.write(d); err != nil {
		return err
	}

	c := make([]byte, 46)
	copy(c, "PK\x01\x02")
	binary.LittleEndian.PutUint16(c[8:], flagDescriptor|flagUTF8)
	binary.LittleEndian.PutUint32(c[16:], crc)
	binary.LittleEndian.PutUint32(c[20:], z.clamp(size))
	binary.LittleEndian.PutUint32(c[24:], z.clamp(size))
	binary.LittleEndian.PutUint16(c[28:], uint16(len(m.name)))
	binary.LittleEndian.PutUint16(c[30:], uint16(len(central)))
	binary.LittleEndian.PutUint32(c[42:], z.clamp(start))
	z.dir = append(append(append(z.dir, c...), m.name...), central...)
	z.count++
	return nil
}

// clamp is a 32-bit field: the value, or 0xFFFFFFFF when the value lives
// in the zip64 extra field.
func (z *zipWriter) clamp(v int64) uint32 {
	if v >= z.zip64At {
		return 0xFFFFFFFF
	}
	return uint32(v)
}

// random writes n bytes of the random stream and returns their CRC-32.
func (z *zipWriter) random(n int64) (uint32, error) {
	if z.buf == nil {
		z.buf = make([]byte, 1<<20)
	}
	var crc uint32
	for n > 0 {
		b := z.buf[:min(n, int64(len(z.buf)))]
		_, _ = z.rng.Read(b) // never fails
		crc = crc32.Update(crc, crc32.IEEETable, b)
		if err := z.write(b); err != nil {
			return 0, err
		}
		n -= int64(len(b))
	}
	return crc, nil
}

// close writes the central directory, the zip64 end record and locator,
// and the end record.
func (z *zipWriter) close() error {
	cdOff, cdSize := z.off, int64(len(z.dir))
	if err := z.write(z.dir); err != nil {
		return err
	}
	end64 := z.off
	r := []byte("PK\x06\x06")
	r = binary.LittleEndian.AppendUint64(r, 44)
	r = binary.LittleEndian.AppendUint16(r, 0x031E) // made by: Unix, 3.0
	r = binary.LittleEndian.AppendUint16(r, 0x002D) // needed: 4.5 (zip64)
	r = binary.LittleEndian.AppendUint32(r, 0)
	r = binary.LittleEndian.AppendUint32(r, 0)
	r = binary.LittleEndian.AppendUint64(r, uint64(z.count))
	r = binary.LittleEndian.AppendUint64(r, uint64(z.count))
	r = binary.LittleEndian.AppendUint64(r, uint64(cdSize))
	r = binary.LittleEndian.AppendUint64(r, uint64(cdOff))
	r = append(r, "PK\x06\x07"...)
	r = binary.LittleEndian.AppendUint32(r, 0)
	r = binary.LittleEndian.AppendUint64(r, uint64(end64))
	r = binary.LittleEndian.AppendUint32(r, 1)
	r = append(r, "PK\x05\x06"...)
	r = binary.LittleEndian.AppendUint32(r, 0)
	r = binary.LittleEndian.AppendUint16(r, uint16(min(z.count, 0xFFFF)))
	r = binary.LittleEndian.AppendUint16(r, uint16(min(z.count, 0xFFFF)))
	r = binary.LittleEndian.AppendUint32(r, z.clamp(cdSize))
	r = binary.LittleEndian.AppendUint32(r, z.clamp(cdOff))
	r = binary.LittleEndian.AppendUint16(r, 0)
	return z.write(r)
}

// checkpointFile names a cached checkpoint by what decides its content.
func checkpointFile(dir string, size int64, tensors int, hidden bool) string {
	kind := "clean"
	if hidden {
		kind = "hidden-pickle"
	}
	return filepath.Join(dir, fmt.Sprintf("torch-%d-%dt-%s.pt", size, tensors, kind))
}
