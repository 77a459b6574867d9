package scan

import (
	"bytes"
	"compress/bzip2"
	"compress/gzip"
	"compress/zlib"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

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

// Bounds on tar archives.
const (
	maxTarMembers = 1 << 16
	maxTarMeta    = 1 << 20 // GNU long names and PAX headers
)

type tarMember struct {
	name     string
	off      int64
	size     int64
	typeflag byte
}

// scanTar walks a tar archive's headers itself and scans its members. A
// legacy PyTorch tar (sys_info, pickle, storages, tensors) is read the
// way torch.load reads it.
func (ps *pickleScanner) scanTar(ctx context.Context, ra io.ReaderAt, size int64, loc string, depth int) error {
	members, err := ps.tarMembers(ra, size, loc)
	if err != nil {
		return err
	}
	// torch.load falls back to reading a file it cannot open as a tar as
	// a pickle, from its first byte: look at that reading too.
	if err := ps.shadowPass(sectionOpener(ra, size), size, loc, "read as a pickle"); err != nil {
		return err
	}
	byName := map[string]tarMember{}
	for _, m := range members {
		mloc := memberLoc(loc, m.name)
		if _, dup := byName[m.name]; dup {
			ps.add("tar.duplicate-name", Dangerous, mloc, "more than one member has this name: readers disagree on which one is loaded")
		}
		byName[m.name] = m
		if !localName(m.name) {
			ps.add("tar.path-escape", Dangerous, mloc, "member name %q is absolute or leaves the archive's directory", m.name)
		}
		if m.typeflag == '1' || m.typeflag == '2' {
			ps.add("tar.link", Suspicious, mloc, "the archive holds a link")
		}
	}
	_, legacy := byName["storages"]
	_, hasPickle := byName["pickle"]
	legacy = legacy && hasPickle
	for _, m := range members {
		if err := ctx.Err(); err != nil {
			return err
		}
		if m.typeflag != '0' && m.typeflag != 0 && m.typeflag != '7' {
			continue
		}
		mloc := memberLoc(loc, m.name)
		sec := io.NewSectionReader(ra, m.off, m.size)
		open := sectionOpener(sec, m.size)
		var err error
		switch {
		case legacy && m.name == "sys_info":
			_, err = ps.scanPickleContent(open, m.size, mloc, pidsUnexpected)
		case legacy && m.name == "pickle":
			_, err = ps.scanPickleContent(open, m.size, mloc, pidsLoader)
		case legacy && (m.name == "storages" || m.name == "tensors"):
			err = ps.scanTorchTarStream(open, m.size, mloc, m.name)
		default:
			var kind string
			if kind, err = sniffContent(sec, m.size); err == nil && kind != "" {
				_, err = ps.scanBlob(ctx, sec, m.size, mloc, kind, depth+1, pidsUnexpected)
			}
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// tarMembers reads the archive's headers. Malformed headers are findings
// and end the walk.
func (ps *pickleScanner) tarMembers(ra io.ReaderAt, size int64, loc string) ([]tarMember, error) {
	var (
		members  []tarMember
		longName string
		paxPath  string
		paxSize  int64 = -1
		h              = make([]byte, 512)
	)
	for off := int64(0); ; {
		if size-off < 512 {
			if off < size {
				ps.add("tar.truncated", Suspicious, atOffset(loc, off), "the archive ends inside a header")
			}
			return members, nil
		}
		if err := readAtExact(ra, h, off); err != nil {
			return nil, err
		}
		if bytes.Count(h, []byte{0}) == 512 {
			return members, nil
		}
		if !tarChecksumOK(h) {
			ps.add("tar.bad-header", Dangerous, atOffset(loc, off), "tar header checksum mismatch; the rest of the archive was not inspected")
			return members, nil
		}
		n, ok := tarNumber(h[124:136])
		if !ok || n < 0 || n > size-off-512 {
			ps.add("tar.bad-header", Dangerous, atOffset(loc, off), "tar member size field is invalid or runs past the end; the rest was not inspected")
			return members, nil
		}
		if len(members) >= maxTarMembers {
			ps.add("tar.bad-header", Dangerous, loc, "more than %d members; the rest was not inspected", maxTarMembers)
			return members, nil
		}
		m := tarMember{name: cstring(h[0:100]), off: off + 512, size: n, typeflag: h[156]}
		if string(h[257:262]) == "ustar" {
			if p := cstring(h[345:500]); p != "" {
				m.name = p + "/" + m.name
			}
		}
		switch m.typeflag {
		case 'L', 'x':
			if n > maxTarMeta {
				ps.add("tar.bad-header", Dangerous, atOffset(loc, off), "tar extended header of %d bytes; the rest was not inspected", n)
				return members, nil
			}
			b := make([]byte, n)
			if err := readAtExact(ra, b, m.off); err != nil {
				return nil, err
			}
			if m.typeflag == 'L' {
				longName = cstring(b)
			} else {
				paxPath, paxSize = parsePAX(b)
			}
		default:
			if longName != "" {
				m.name = longName
			}
			if paxPath != "" {
				m.name = paxPath
			}
			if paxSize >= 0 {
				if paxSize > size-m.off {
					ps.add("tar.bad-header", Dangerous, atOffset(loc, off), "PAX size runs past the end; the rest was not inspected")
					return members, nil
				}
				m.size = paxSize
			}
			longName, paxPath, paxSize = "", "", -1
			if m.typeflag != 'g' {
				members = append(members, m)
			}
		}
		off = m.off + (m.size+511)/512*512
	}
}

func tarChecksumOK(h []byte) bool {
	want, ok := tarNumber(h[148:156])
	if !ok {
		return false
	}
	var sum int64
	for i, c := range h {
		if i >= 148 && i < 156 {
			c = ' '
		}
		sum += int64(c)
	}
	return sum == want
}

// tarNumber parses an octal (NUL/space padded) or base-256 tar field.
func tarNumber(b []byte) (int64, bool) {
	if len(b) > 0 && b[0]&0x80 != 0 {
		if b[0] != 0x80 {
			return 0, false // negative or too large
		}
		var v int64
		for _, c := range b[1:] {
			if v > (1<<62)>>8 {
				return 0, false
			}
			v = v<<8 | int64(c)
		}
		return v, true
	}
	s := strings.Trim(string(b), " \x00")
	if s == "" {
		return 0, true
	}
	v, err := strconv.ParseInt(s, 8, 64)
	return v, err == nil
}

func cstring(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

// parsePAX reads "length key=value\n" records for path and size.
func parsePAX(b []byte) (path string, size int64) {
	size = -1
	for len(b) > 0 {
		sp := bytes.IndexByte(b, ' ')
		if sp <= 0 {
			return
		}
		n, err := strconv.Atoi(string(b[:sp]))
		if err != nil || n <= sp || n > len(b) {
			return
		}
		rec := strings.TrimSuffix(string(b[sp+1:n]), "\n")
		b = b[n:]
		k, v, ok := strings.Cut(rec, "=")
		if !ok {
			continue
		}
		switch k {
		case "path":
			path = v
		case "size":
			if s, err := strconv.ParseInt(v, 10, 64); err == nil && s >= 0 {
				size = s
			}
		}
	}
	return
}

// scanTorchTarStream reads a legacy PyTorch tar's "storages" or "tensors"
// member: a count pickle, then per record a pickle and raw data, as
// torch.load reads them.
func (ps *pickleScanner) scanTorchTarStream(open opener, size int64, loc, which string) error {
	r, err := open()
	if err != nil {
		return err
	}
	s := pickle.NewScanner(r, pickle.Options{Size: size})
	ps.pickles++
	perr := ps.tarRecords(s, size, loc, which)
	ps.record(s.Result(), loc, pidsLoader)
	if errors.Is(perr, errLayoutReported) {
		return nil
	}
	return ps.parseError(perr, loc)
}

// errLayoutReported stops a walk whose layout problem is already a
// finding.
var errLayoutReported = errors.New("layout problem reported")

func (ps *pickleScanner) tarRecords(s *pickle.Scanner, size int64, loc, which string) error {
	stop := errLayoutReported
	nv, err := s.Next()
	if err != nil {
		return err
	}
	if nv.Kind != pickle.KindInt || nv.Big || nv.Int < 0 || nv.Int > size {
		ps.layout(loc, "record count %s", nv)
		return stop
	}
	for range nv.Int {
		args, err := s.Next()
		if err != nil {
			return err
		}
		off := s.Offset()
		if which == "storages" {
			elem := int64(0)
			if args.Kind == pickle.KindTuple && len(args.Items) == 3 {
				if mod, name, ok := args.Items[2].Global(); ok && ClassifyImport(mod, name) == Innocuous {
					elem = storageElemSize[name]
				}
			}
			if elem == 0 {
				ps.layout(atOffset(loc, off), "storage record %s has no known storage type", args)
				return stop
			}
			var b [8]byte
			if err := s.ReadFull(b[:]); err != nil {
				return err
			}
			n := int64(binary.LittleEndian.Uint64(b[:]))
			if left := size - s.Offset(); n < 0 || n > left/elem {
				ps.layout(atOffset(loc, off), "storage claims %d elements, more than the %d bytes left", n, left)
				return stop
			}
			if err := s.Skip(n * elem); err != nil {
				return err
			}
			continue
		}
		var b [4]byte
		if err := s.ReadFull(b[:]); err != nil {
			return err
		}
		ndim := int64(int32(binary.LittleEndian.Uint32(b[:])))
		if ndim < 0 || ndim > 64 {
			ps.layout(atOffset(loc, off), "tensor record with %d dimensions", ndim)
			return stop
		}
		if err := s.Skip(4 + 16*ndim + 8); err != nil {
			return err
		}
	}
	if which == "storages" {
		if _, err := s.Next(); err != nil { // the storage views
			return err
		}
	}
	if eof, err := s.AtEOF(); err != nil {
		return err
	} else if !eof {
		ps.add("torch.legacy-trailing", Suspicious, atOffset(loc, s.Offset()), "%d bytes follow the last record", size-s.Offset())
	}
	return nil
}

// scanNpy reads a .npy header; an object array's data is a pickle, which
// is scanned.
func (ps *pickleScanner) scanNpy(open opener, size int64, loc string) error {
	head, err := readHead(open, 12)
	if err != nil {
		return err
	}
	bad := func(format string, args ...any) error {
		ps.add("numpy.bad-header", Suspicious, loc, ".npy header: "+format, args...)
		return nil
	}
	if len(head) < 10 {
		return bad("truncated")
	}
	var hlen, start int64
	switch head[6] {
	case 1:
		hlen, start = int64(binary.LittleEndian.Uint16(head[8:])), 10
	case 2, 3:
		if len(head) < 12 {
			return bad("truncated")
		}
		hlen, start = int64(binary.LittleEndian.Uint32(head[8:])), 12
	default:
		return bad("unknown version %d.%d", head[6], head[7])
	}
	if hlen > 1<<20 || size >= 0 && hlen > size-start {
		return bad("header of %d bytes", hlen)
	}
	hdr, err := readHead(open, int(start+hlen))
	if err != nil {
		return err
	}
	dict, err := parsePyLiteral(string(hdr[start:]))
	if err != nil || dict.kind != litDict {
		return bad("not a Python dict literal (%v)", err)
	}
	descr, ok := dict.lookup("descr")
	if !ok {
		return bad("no descr")
	}
	dataOff := start + hlen
	obj, known := descrHasObject(descr)
	if !known {
		return bad("dtype %s not understood", descr)
	}
	if obj {
		ps.add("numpy.object-array", Suspicious, loc,
			"object array: its data is a pickle (numpy.load runs it only with allow_pickle=True)")
		r, err := open()
		if err != nil {
			return err
		}
		if _, err := io.CopyN(io.Discard, r, dataOff); err != nil {
			return ps.parseError(&corruptError{what: "reading the .npy header", err: err}, loc)
		}
		left := int64(-1)
		if size >= 0 {
			left = size - dataOff
		}
		_, err = ps.scanPickles(r, left, loc, pickle.Options{BaseOffset: dataOff}, pidsUnexpected)
		return err
	}
	if size < 0 {
		return nil
	}
	shape, ok := dict.lookup("shape")
	item := descrItemSize(descr)
	if !ok || shape.kind != litTuple || item <= 0 {
		return nil
	}
	count := int64(1)
	for _, d := range shape.items {
		if d.kind != litInt || d.n < 0 || (d.n != 0 && count > (1<<62)/d.n) {
			return bad("shape %s", shape)
		}
		count *= d.n
	}
	if want := count * item; want > (1<<62) || want != size-dataOff {
		ps.add("numpy.size-mismatch", Suspicious, loc,
			"the header describes %d bytes of data but %d follow it", want, size-dataOff)
	}
	return nil
}

// scanCompressed scans compressed content (joblib's compressors, or a
// compressed stream inside an archive): small content is decompressed
// into memory and scanned like a file; large pickle or .npy content is
// scanned as a stream.
func (ps *pickleScanner) scanCompressed(ctx context.Context, ra io.ReaderAt, size int64, loc, kind string, depth int) error {
	var mk func(io.Reader) (io.Reader, error)
	switch kind {
	case "gzip":
		mk = func(r io.Reader) (io.Reader, error) { return gzip.NewReader(r) }
	case "zlib":
		mk = func(r io.Reader) (io.Reader, error) { return zlib.NewReader(r) }
	case "joblib-zlib":
		mk = func(r io.Reader) (io.Reader, error) {
			// joblib < 0.10: "ZF", the length in hex padded to 19 bytes,
			// then a zlib stream.
			if _, err := io.CopyN(io.Discard, r, 21); err != nil {
				return nil, err
			}
			return zlib.NewReader(r)
		}
	case "bzip2":
		mk = func(r io.Reader) (io.Reader, error) { return bzip2.NewReader(r), nil }
	default:
		ps.add("container.unopenable", Dangerous, loc, "cannot inspect %s-compressed content; refusing", kind)
		return nil
	}
	limit := min(int64(maxInflateTotal), max(int64(bombMinSize), bombRatio*size))
	open := func() (io.Reader, error) {
		d, err := mk(io.NewSectionReader(ra, 0, size))
		if err != nil {
			return nil, &corruptError{what: "bad " + kind + " header", err: err}
		}
		return &budgetReader{r: &corruptReader{r: d, what: "bad " + kind + " data"}, ps: ps, declared: limit}, nil
	}
	r, err := open()
	if err != nil {
		return ps.memberReadError(err, loc)
	}
	data, err := io.ReadAll(io.LimitReader(r, maxMaterialize+1))
	if err != nil {
		return ps.memberReadError(err, loc)
	}
	if int64(len(data)) <= maxMaterialize {
		blob := bytes.NewReader(data)
		k, err := sniffContent(blob, int64(len(data)))
		if err != nil {
			return err
		}
		if k == "" {
			ps.add("container.unrecognised", Suspicious, loc, "%s-compressed content is not a pickle, array or archive", kind)
			return nil
		}
		_, err = ps.scanBlob(ctx, blob, int64(len(data)), loc, k, depth+1, pidsUnexpected)
		return err
	}
	switch k := sniffHead(data[:512]); k {
	case "pickle", "npy":
		return ps.scanStream(open, loc, k, pidsUnexpected)
	default:
		ps.add("container.unopenable", Dangerous, loc, "%s-compressed content over %d bytes that is not a pickle; not inspected", kind, int64(maxMaterialize))
		return nil
	}
}

// scanStream scans pickle or .npy content that can only be streamed
// (its size is unknown).
func (ps *pickleScanner) scanStream(open opener, loc, kind string, pids pidMode) error {
	var err error
	if kind == "npy" {
		err = ps.scanNpy(open, -1, loc)
	} else {
		_, err = ps.scanPickleContent(open, -1, loc, pids)
	}
	if err != nil {
		return ps.memberReadError(err, loc)
	}
	return nil
}

// litKind is the kind of a Python literal in a .npy header.
type litKind uint8

const (
	litStr litKind = iota + 1
	litInt
	litOther // True, False, None, floats
	litTuple
	litList
	litDict // items alternate key, value
)

// lit is a parsed Python literal.
type lit struct {
	kind  litKind
	s     string
	n     int64
	items []lit
}

func (l lit) lookup(key string) (lit, bool) {
	for i := 0; l.kind == litDict && i+1 < len(l.items); i += 2 {
		if k := l.items[i]; k.kind == litStr && k.s == key {
			return l.items[i+1], true
		}
	}
	return lit{}, false
}

func (l lit) String() string {
	switch l.kind {
	case litStr:
		return strconv.Quote(l.s)
	case litInt:
		return strconv.FormatInt(l.n, 10)
	case litTuple, litList, litDict:
		parts := make([]string, len(l.items))
		for i, it := range l.items {
			parts[i] = it.String()
		}
		return "(" + strings.Join(parts, ", ") + ")"
	}
	return l.s
}

// parsePyLiteral parses the Python literal numpy writes as a .npy
// header: a dict of strings, ints, booleans, None, tuples and lists.
func parsePyLiteral(s string) (lit, error) {
	p := &litParser{s: s}
	v, err := p.value(0)
	if err != nil {
		return lit{}, err
	}
	if p.skip(); p.i != len(p.s) {
		return lit{}, fmt.Errorf("unexpected %q at %d", p.s[p.i], p.i)
	}
	return v, nil
}

type litParser struct {
	s     string
	i     int
	items int
}

func (p *litParser) skip() {
	for p.i < len(p.s) && strings.IndexByte(" \t\r\n", p.s[p.i]) >= 0 {
		p.i++
	}
}

func (p *litParser) value(depth int) (lit, error) {
	if depth > 32 {
		return lit{}, errors.New("nested too deep")
	}
	if p.items++; p.items > 1<<16 {
		return lit{}, errors.New("too many items")
	}
	p.skip()
	if p.i >= len(p.s) {
		return lit{}, errors.New("unexpected end")
	}
	switch c := p.s[p.i]; {
	case c == '{' || c == '(' || c == '[':
		end, kind := map[byte]byte{'{': '}', '(': ')', '[': ']'}[c], map[byte]litKind{'{': litDict, '(': litTuple, '[': litList}[c]
		p.i++
		v := lit{kind: kind}
		for {
			p.skip()
			if p.i < len(p.s) && p.s[p.i] == end {
				p.i++
				return v, nil
			}
			it, err := p.value(depth + 1)
			if err != nil {
				return lit{}, err
			}
			v.items = append(v.items, it)
			p.skip()
			if kind == litDict && len(v.items)%2 == 1 {
				if p.i >= len(p.s) || p.s[p.i] != ':' {
					return lit{}, fmt.Errorf("expected ':' at %d", p.i)
				}
				p.i++
				continue
			}
			if p.i < len(p.s) && p.s[p.i] == ',' {
				p.i++
				continue
			}
			if p.i >= len(p.s) || p.s[p.i] != end {
				return lit{}, fmt.Errorf("expected %q at %d", end, p.i)
			}
		}
	case c == '\'' || c == '"':
		var b strings.Builder
		for p.i++; p.i < len(p.s); p.i++ {
			switch p.s[p.i] {
			case c:
				p.i++
				return lit{kind: litStr, s: b.String()}, nil
			case '\\':
				if p.i+1 >= len(p.s) {
					return lit{}, errors.New("unterminated string")
				}
				p.i++
			}
			b.WriteByte(p.s[p.i])
		}
		return lit{}, errors.New("unterminated string")
	default:
		j := p.i
		for j < len(p.s) && strings.IndexByte(",:)]} \t\r\n", p.s[j]) < 0 {
			j++
		}
		tok := p.s[p.i:j]
		p.i = j
		switch tok {
		case "True", "False", "None":
			return lit{kind: litOther, s: tok}, nil
		}
		n, err := strconv.ParseInt(strings.TrimSuffix(tok, "L"), 10, 64)
		if err != nil {
			return lit{}, fmt.Errorf("bad token %q", tok)
		}
		return lit{kind: litInt, n: n}, nil
	}
}

// descrHasObject reports whether a .npy descr holds Python objects; known
// is false when the descr is not understood.
func descrHasObject(d lit) (obj, known bool) {
	switch d.kind {
	case litStr:
		return strings.HasPrefix(strings.TrimLeft(d.s, "<>|="), "O"), true
	case litList:
		for _, f := range d.items {
			if (f.kind != litTuple && f.kind != litList) || len(f.items) < 2 {
				return false, false
			}
			o, k := descrHasObject(f.items[1])
			if !k || o {
				return o, k
			}
		}
		return false, true
	}
	return false, false
}

// descrItemSize returns the item size of a simple .npy descr such as
// "<f4", "|b1", "<U8" or "<M8[ns]", or 0 when it cannot tell.
func descrItemSize(d lit) int64 {
	if d.kind != litStr {
		return 0
	}
	s := strings.TrimLeft(d.s, "<>|=")
	if i := strings.IndexByte(s, '['); i >= 0 {
		s = s[:i]
	}
	if len(s) < 2 {
		return 0
	}
	n, err := strconv.ParseInt(s[1:], 10, 64)
	if err != nil || n <= 0 || n > 1<<30 {
		return 0
	}
	switch s[0] {
	case 'b', 'i', 'u', 'f', 'c', 'S', 'V', 'M', 'm', 'O':
		return n
	case 'U':
		return 4 * n
	}
	return 0
}
