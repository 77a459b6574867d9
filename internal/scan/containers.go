package scan

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"

	"sov.dev/sov/internal/filetype"
	"sov.dev/sov/internal/pickle"
)

// ScanPickleFamily scans a file that may carry pickles: a pickle, a
// PyTorch checkpoint (zip, legacy pickle or legacy tar), a NumPy .npy or
// .npz, a joblib file (plain or zlib/gzip/bzip2-compressed), a generic zip
// or tar, or a 7z archive (recognised and refused). kind is the format the
// caller detected (e.g. "pickle", "pytorch-zip", "numpy-npz", "joblib",
// "7z"); the content's own magic decides how it is read.
//
// It sets res.PickleImportScan (every import with its safety) when any
// pickle was parsed, adds findings for dangerous or suspicious imports and
// for container tricks, and returns an error only for I/O failures:
// anything it cannot parse is a finding, never "safe".
func ScanPickleFamily(ctx context.Context, ra io.ReaderAt, size int64, kind string, res *FileResult) error {
	ps := newPickleScanner(res)
	defer ps.finish()
	k, err := sniffContent(ra, size)
	if err != nil {
		return err
	}
	if k == "" {
		switch kind {
		case "pickle", string(filetype.KindPyTorchLegacy), "joblib":
			k = "pickle" // parse it anyway: failures are findings
		default:
			ps.add("container.unrecognised", Dangerous, "",
				"the content is not a %s file this scanner can inspect; refusing", kind)
			return nil
		}
	}
	_, err = ps.scanBlob(ctx, ra, size, "", k, 0, pidsUnexpected)
	return err
}

// PickleFamilyKind tells from its first bytes whether content is one the
// pickle scanner reads and, if so, which: "pickle", "zip", "tar", "npy",
// "7z", or a compression ("gzip", "zlib", "bzip2", "xz", "lzma", "lz4",
// "zstd", "joblib-zlib"). It returns "" for anything else. Callers use it
// for files filetype reports as unknown binary (7z, tar and compressed
// joblib files have no filetype.Kind).
func PickleFamilyKind(head []byte) string { return sniffHead(head) }

// torchLegacyMagic is LONG1 with the bytes of 0x1950a86a20f9469cfc6c, the
// magic number legacy torch.save pickles first.
var torchLegacyMagic = []byte{0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19}

// sniffHead classifies content by its first bytes (512 are enough).
func sniffHead(h []byte) string {
	has := func(p string) bool { return bytes.HasPrefix(h, []byte(p)) }
	switch {
	case has("PK\x03\x04"), has("PK\x05\x06"):
		return "zip"
	case has("7z\xbc\xaf\x27\x1c"):
		return "7z"
	case has("\x93NUMPY"):
		return "npy"
	case has("\x1f\x8b"):
		return "gzip"
	case has("BZh") && len(h) > 3 && h[3] >= '1' && h[3] <= '9':
		return "bzip2"
	case has("\xfd7zXZ\x00"):
		return "xz"
	case has("\x28\xb5\x2f\xfd"):
		return "zstd"
	case has("\x04\x22\x4d\x18"):
		return "lz4"
	case has("ZF0x"):
		return "joblib-zlib"
	case len(h) >= 3 && h[0] == 0x5d && h[1] == 0 && h[2] == 0:
		return "lzma"
	case len(h) >= 2 && h[0] == 0x78 && (uint16(h[0])<<8|uint16(h[1]))%31 == 0:
		return "zlib"
	case len(h) >= 262 && string(h[257:262]) == "ustar":
		return "tar"
	case len(h) >= 2 && h[0] == byte(pickle.PROTO) && h[1] <= pickle.HighestProtocol:
		return "pickle"
	}
	return ""
}

// sniff classifies the content of ra, recognising protocol 0/1 pickles
// (which have no magic) the way package filetype does.
func sniffContent(ra io.ReaderAt, size int64) (string, error) {
	head := make([]byte, min(size, 512))
	if err := readAtExact(ra, head, 0); err != nil {
		return "", err
	}
	if k := sniffHead(head); k != "" || size == 0 {
		return k, nil
	}
	r, err := filetype.Detect(ra, size, "")
	if err != nil {
		return "", err
	}
	if r.Kind == filetype.KindPickle || r.Kind == filetype.KindPyTorchLegacy {
		return "pickle", nil
	}
	return "", nil
}

// opener opens a fresh reader of some content from its start.
type opener func() (io.Reader, error)

func sectionOpener(ra io.ReaderAt, size int64) opener {
	return func() (io.Reader, error) { return io.NewSectionReader(ra, 0, size), nil }
}

// readHead reads up to n bytes from a fresh reader.
func readHead(open opener, n int) ([]byte, error) {
	r, err := open()
	if err != nil {
		return nil, err
	}
	b := make([]byte, n)
	m, err := io.ReadFull(r, b)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
		return nil, err
	}
	return b[:m], nil
}

// scanBlob scans content of a known kind at an archive depth.
func (ps *pickleScanner) scanBlob(ctx context.Context, ra io.ReaderAt, size int64, loc, kind string, depth int, pids pidMode) ([]storageRef, error) {
	archive := kind != "pickle" && kind != "npy"
	if archive && depth > maxZipDepth {
		ps.add("zip.nested-archive", Dangerous, loc, "%s archive nested more than %d deep; not inspected", kind, maxZipDepth)
		return nil, nil
	}
	if archive && depth > 0 {
		ps.add("zip.nested-archive", Suspicious, loc, "a %s archive inside an archive (scanned)", kind)
	}
	open := sectionOpener(ra, size)
	switch kind {
	case "zip":
		return nil, ps.scanZip(ctx, ra, size, loc, depth)
	case "tar":
		return nil, ps.scanTar(ctx, ra, size, loc, depth)
	case "7z":
		ps.add("container.7z-unopenable", Dangerous, loc,
			"cannot inspect 7z archive; refusing (no loader reads 7z directly, so a 7z-wrapped checkpoint is unpacked by hand, unscanned)")
		return nil, nil
	case "npy":
		return nil, ps.scanNpy(open, size, loc)
	case "pickle":
		return ps.scanPickleContent(open, size, loc, pids)
	}
	return nil, ps.scanCompressed(ctx, ra, size, loc, kind, depth)
}

// scanPickleContent scans a pickle stream: legacy torch.save files by
// their layout, everything else as pickles until the end (with joblib's
// inline arrays followed).
func (ps *pickleScanner) scanPickleContent(open opener, size int64, loc string, pids pidMode) ([]storageRef, error) {
	head, err := readHead(open, 32)
	if err != nil {
		return nil, err
	}
	if isLegacyTorch(head) {
		return nil, ps.scanLegacy(open, size, loc)
	}
	r, err := open()
	if err != nil {
		return nil, err
	}
	res, err := ps.scanPickles(r, size, loc, pickle.Options{Joblib: true}, pids)
	if err != nil {
		return nil, err
	}
	var refs []storageRef
	if pids == pidsTorch {
		refs = ps.torchStorages(res, loc, true)
	}
	if res != nil && usesJoblibArrays(res) {
		// joblib.load skips the inline array bytes; plain pickle.load
		// would run them as opcodes. Look at that reading too.
		if err := ps.shadowPass(open, size, loc, "read by plain pickle.load instead of joblib.load"); err != nil {
			return nil, err
		}
	}
	return refs, nil
}

func usesJoblibArrays(r *pickle.Result) bool {
	for _, c := range r.Calls {
		if c.Op == pickle.BUILD && c.Known && c.Name == "NumpyArrayWrapper" {
			return true
		}
	}
	return false
}

// isLegacyTorch reports whether a pickle starts with torch.save's legacy
// magic number.
func isLegacyTorch(h []byte) bool {
	if len(h) >= 2 && h[0] == byte(pickle.PROTO) {
		h = h[2:]
	}
	if len(h) >= 9 && h[0] == byte(pickle.FRAME) {
		h = h[9:]
	}
	return bytes.HasPrefix(h, torchLegacyMagic)
}

// shadowPass parses content a second way that some loader might use and
// reports only what is dangerous there; parse errors are expected (the
// other reading is usually garbage) and ignored.
func (ps *pickleScanner) shadowPass(open opener, size int64, loc, how string) error {
	r, err := open()
	if err != nil {
		return err
	}
	res, perr := pickle.Scan(r, pickle.Options{Size: size})
	if perr != nil {
		var fe *pickle.FormatError
		var ce *corruptError
		if !errors.As(perr, &fe) && !errors.As(perr, &ce) {
			return perr
		}
	}
	for _, g := range res.Globals {
		s, why := Dangerous, "a name computed at load time"
		if !g.Dynamic {
			s, why = classifyImport(g.Module, g.Name)
		}
		if s != Dangerous {
			continue
		}
		ps.addImport(g.Module, g.Name, Dangerous)
		ps.add("pickle.import", Dangerous, atOffset(loc, g.Offset), "%s imports %s when the file is %s: %s",
			g.Op, quoteName(g.Module, g.Name), how, why)
	}
	return nil
}

// layout reports a legacy PyTorch file whose structure is not what
// torch.save writes.
func (ps *pickleScanner) layout(loc, format string, args ...any) {
	ps.add("torch.legacy-layout", Suspicious, loc, "legacy PyTorch layout: "+format, args...)
}

// scanLegacy scans a legacy torch.save file: five pickles (magic number,
// protocol version, system info, the object, the storage keys) and then
// the raw storages, which are skipped by their sizes.
func (ps *pickleScanner) scanLegacy(open opener, size int64, loc string) error {
	r, err := open()
	if err != nil {
		return err
	}
	s := pickle.NewScanner(r, pickle.Options{Size: size, Limits: pickle.Limits{MaxItems: 1 << 20}})
	var vals []*pickle.Value
	var perr error
	for len(vals) < 5 {
		v, err := s.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			perr = err
			break
		}
		vals = append(vals, v)
	}
	ps.pickles++
	ps.record(s.Result(), loc, pidsTorch)
	if err := ps.parseError(perr, loc); err != nil || perr != nil {
		return err
	}
	refs := ps.torchStorages(s.Result(), loc, false)
	if len(vals) < 5 {
		ps.layout(loc, "%d pickles where torch.save writes 5", len(vals))
		return nil
	}
	if v := vals[1]; v.Kind != pickle.KindInt || v.Int != 1001 {
		ps.layout(loc, "protocol version %s, not 1001", v)
	}
	keys := vals[4]
	if keys.Kind != pickle.KindList || keys.Trunc {
		ps.layout(loc, "the storage key list is %s", keys)
		return nil
	}
	byKey := map[string]storageRef{}
	for _, ref := range refs {
		byKey[ref.key] = ref
	}
	for _, k := range keys.Items {
		ref, ok := byKey[k.Str]
		if !k.IsString() || !ok || ref.elemSize == 0 {
			ps.layout(loc, "storage key %s is not a storage the object references", k)
			return nil
		}
		var b [8]byte
		off := s.Offset()
		if err := s.ReadFull(b[:]); err != nil {
			return ps.legacyReadError(err, loc, off)
		}
		n := int64(binary.LittleEndian.Uint64(b[:]))
		left := size - s.Offset()
		if n < 0 || n > left/ref.elemSize {
			ps.layout(atOffset(loc, off), "storage %s claims %d elements, more than the %d bytes left", ref.key, n, left)
			return nil
		}
		if err := s.Skip(n * ref.elemSize); err != nil {
			return ps.legacyReadError(err, loc, off)
		}
	}
	if rest := size - s.Offset(); rest > 0 {
		ps.add("torch.legacy-trailing", Suspicious, atOffset(loc, s.Offset()), "%d bytes follow the last storage", rest)
	}
	return nil
}

func (ps *pickleScanner) legacyReadError(err error, loc string, off int64) error {
	var fe *pickle.FormatError
	if errors.As(err, &fe) {
		ps.layout(atOffset(loc, off), "the storages end early")
		return nil
	}
	return err
}
