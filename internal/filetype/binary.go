package filetype

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"path"
	"strings"
)

// detectGGUF recognises the "GGUF" magic and reports the version that
// follows it (byte order guessed from which reading is small).
func detectGGUF(f *file) (Result, bool, error) {
	if !bytes.HasPrefix(f.head, []byte("GGUF")) {
		return Result{}, false, nil
	}
	if len(f.head) < 8 {
		return Result{Kind: KindGGUF, Detail: "gguf (truncated header)"}, true, nil
	}
	le := binary.LittleEndian.Uint32(f.head[4:8])
	be := binary.BigEndian.Uint32(f.head[4:8])
	switch {
	case le > 0 && le < 1<<16:
		return Result{Kind: KindGGUF, Detail: fmt.Sprintf("gguf v%d", le)}, true, nil
	case be > 0 && be < 1<<16:
		return Result{Kind: KindGGUF, Detail: fmt.Sprintf("gguf v%d (big-endian)", be)}, true, nil
	}
	return Result{Kind: KindGGUF, Detail: fmt.Sprintf("gguf (implausible version %#x)", le)}, true, nil
}

// maxSafetensorsHeader is the largest header the safetensors format allows.
const maxSafetensorsHeader = 100_000_000

// detectSafetensors recognises a safetensors file: a little-endian u64
// header length of at most maxSafetensorsHeader that fits the file, then a
// JSON object that names a dtype or carries __metadata__ (or is empty). A
// header length beyond the end of the file whose JSON starts like a tensor
// entry is reported as a truncated safetensors file.
func detectSafetensors(f *file) (Result, bool, error) {
	if len(f.head) < 10 {
		return Result{}, false, nil
	}
	n := binary.LittleEndian.Uint64(f.head[:8])
	if n < 2 || n > maxSafetensorsHeader || f.head[8] != '{' {
		return Result{}, false, nil
	}
	if n > uint64(f.size-8) {
		// A header running past the end of the file: a truncated
		// safetensors file if what is there looks like its JSON. Saying so
		// lets the parser report the truncation instead of the file
		// passing as unknown binary.
		rest := bytes.TrimLeft(f.head[9:], " ")
		if len(rest) > 0 && rest[0] == '"' {
			return Result{Kind: KindSafetensors, Detail: fmt.Sprintf("header %d bytes, truncated", n)}, true, nil
		}
		return Result{}, false, nil
	}
	hdr := f.head[8:]
	if uint64(len(hdr)) > n {
		hdr = hdr[:n]
	}
	if !bytes.Contains(hdr, []byte(`"dtype"`)) && !bytes.Contains(hdr, []byte(`"__metadata__"`)) &&
		(uint64(len(hdr)) != n || string(bytes.TrimRight(hdr, " ")) != "{}") {
		return Result{}, false, nil
	}
	return Result{Kind: KindSafetensors, Detail: fmt.Sprintf("header %d bytes", n)}, true, nil
}

// npyMagic starts every .npy file.
const npyMagic = "\x93NUMPY"

// detectNumPy recognises a .npy array and summarises its header.
func detectNumPy(f *file) (Result, bool, error) {
	if !bytes.HasPrefix(f.head, []byte(npyMagic)) {
		return Result{}, false, nil
	}
	h := f.head[len(npyMagic):]
	if len(h) < 2 {
		return Result{Kind: KindNumPy, Detail: "npy (truncated header)"}, true, nil
	}
	major, minor := h[0], h[1]
	h = h[2:]
	var hlen uint64
	switch major {
	case 1:
		if len(h) < 2 {
			return Result{Kind: KindNumPy, Detail: "npy v1 (truncated header)"}, true, nil
		}
		hlen, h = uint64(binary.LittleEndian.Uint16(h)), h[2:]
	case 2, 3:
		if len(h) < 4 {
			return Result{Kind: KindNumPy, Detail: fmt.Sprintf("npy v%d (truncated header)", major)}, true, nil
		}
		hlen, h = uint64(binary.LittleEndian.Uint32(h)), h[4:]
	default:
		return Result{Kind: KindNumPy, Detail: fmt.Sprintf("npy (unknown version %d.%d)", major, minor)}, true, nil
	}
	detail := fmt.Sprintf("npy v%d.%d", major, minor)
	if hlen > uint64(len(h)) {
		return Result{Kind: KindNumPy, Detail: detail + " (header beyond first 64 KiB)"}, true, nil
	}
	dict := string(h[:hlen])
	if d := npyField(dict, "descr"); d != "" {
		detail += " " + d
	}
	if s := npyField(dict, "shape"); s != "" {
		detail += " shape " + s
	}
	return Result{Kind: KindNumPy, Detail: detail}, true, nil
}

// npyField pulls the literal text of one value out of a .npy header, which
// is a Python dict literal such as
// {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }.
// It returns "" when the key is missing or the value looks unusual; the
// result is at most 64 bytes.
func npyField(dict, key string) string {
	_, rest, ok := strings.Cut(dict, "'"+key+"':")
	if !ok {
		return ""
	}
	rest = strings.TrimLeft(rest, " ")
	var v string
	switch {
	case strings.HasPrefix(rest, "'"):
		end := strings.IndexByte(rest[1:], '\'')
		if end < 0 {
			return ""
		}
		v = rest[1 : end+1]
	case strings.HasPrefix(rest, "("):
		end := strings.IndexByte(rest, ')')
		if end < 0 {
			return ""
		}
		v = rest[:end+1]
	default:
		return ""
	}
	if len(v) > 64 {
		v = v[:61] + "..."
	}
	return v
}

// hdf5Magic is the HDF5 superblock signature. The superblock sits at offset
// 0 or, after a user block, at 512, 1024, 2048, … bytes.
const hdf5Magic = "\x89HDF\r\n\x1a\n"

// detectHDF5 recognises an HDF5 file whose superblock is in the head.
func detectHDF5(f *file) (Result, bool, error) {
	for off := 0; off+len(hdf5Magic) <= len(f.head); off = max(512, off*2) {
		if string(f.head[off:off+len(hdf5Magic)]) != hdf5Magic {
			continue
		}
		detail := "hdf5"
		if off+8 < len(f.head) {
			detail = fmt.Sprintf("hdf5 superblock v%d", f.head[off+8])
		}
		if off > 0 {
			detail += fmt.Sprintf(" at offset %d", off)
		}
		return Result{Kind: KindHDF5, Detail: detail}, true, nil
	}
	return Result{}, false, nil
}

// detectZip recognises a zip archive and, from its central directory, the
// formats built on zip: PyTorch checkpoints, NumPy .npz and Keras v3.
func detectZip(f *file) (Result, bool, error) {
	local := bytes.HasPrefix(f.head, []byte("PK\x03\x04"))
	empty := bytes.HasPrefix(f.head, []byte("PK\x05\x06"))
	if !local && !empty {
		return Result{}, false, nil
	}
	zr, err := zip.NewReader(f.r, f.size)
	insecure := errors.Is(err, zip.ErrInsecurePath)
	if err != nil && !insecure {
		// The central directory is unreadable (truncated or damaged
		// archive). The first local header still names the first member,
		// which torch.save always writes as <prefix>/data.pkl.
		if local && isPyTorchPickleName(firstLocalName(f.head)) {
			return Result{Kind: KindPyTorchZip, Detail: "pytorch zip (central directory unreadable)"}, true, nil
		}
		return Result{Kind: KindZip, Detail: "zip (central directory unreadable)"}, true, nil
	}
	var (
		n                      = len(zr.File)
		pickle, allNpy         = false, n > 0
		kerasCfg, kerasWeights bool
	)
	for _, m := range zr.File {
		name := m.Name
		if !isLocalName(name) {
			insecure = true
		}
		if isPyTorchPickleName(name) {
			pickle = true
		}
		if !strings.HasSuffix(name, ".npy") {
			allNpy = false
		}
		switch name {
		case "config.json":
			kerasCfg = true
		case "model.weights.h5", "metadata.json":
			kerasWeights = true
		}
	}
	note := ""
	if insecure {
		note = ", unsafe member paths"
	}
	switch {
	case pickle:
		return Result{Kind: KindPyTorchZip, Detail: fmt.Sprintf("pytorch zip: %d members%s", n, note)}, true, nil
	case allNpy:
		return Result{Kind: KindNumPyZip, Detail: fmt.Sprintf("npz: %d arrays%s", n, note)}, true, nil
	case kerasCfg && kerasWeights:
		return Result{Kind: KindKeras, Detail: fmt.Sprintf("keras archive: %d members%s", n, note)}, true, nil
	}
	return Result{Kind: KindZip, Detail: fmt.Sprintf("zip: %d members%s", n, note)}, true, nil
}

// isPyTorchPickleName reports whether a zip member is the pickle torch.save
// writes: data.pkl, at the root or under one or more directories.
func isPyTorchPickleName(name string) bool {
	return path.Base(name) == "data.pkl" && !strings.HasSuffix(name, "/")
}

// isLocalName reports whether a zip member name stays inside the directory
// it would be extracted to: relative, no ".." element, no backslash or
// drive letter.
func isLocalName(name string) bool {
	if name == "" || strings.HasPrefix(name, "/") || strings.ContainsAny(name, "\\:\x00") {
		return false
	}
	for _, el := range strings.Split(name, "/") {
		if el == ".." {
			return false
		}
	}
	return true
}

// firstLocalName returns the member name of the zip local file header at the
// start of head, or "" if it does not fit.
func firstLocalName(head []byte) string {
	const fixed = 30 // local file header without name and extra field
	if len(head) < fixed {
		return ""
	}
	n := int(binary.LittleEndian.Uint16(head[26:28]))
	if fixed+n > len(head) {
		return ""
	}
	return string(head[fixed : fixed+n])
}
