package scan

import (
	"bytes"
	"compress/bzip2"
	"compress/flate"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"path"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Bounds on zip archives.
const (
	maxZipEntries   = 1 << 20
	maxZipDirBytes  = 128 << 20
	maxZipDepth     = 3         // archives inside archives inside archives
	maxMaterialize  = 64 << 20  // a compressed member is decompressed into memory up to this size
	maxInflateTotal = 4 << 30   // bytes decompressed per file, all members together
	bombRatio       = 1000      // declared uncompressed/compressed ratio that is flagged
	bombMinSize     = 128 << 20 // … for members at least this large
)

// zipEntry is one central-directory entry, checked against its local
// header.
type zipEntry struct {
	name     string
	flags    uint16
	method   uint16
	crc      uint32
	csize    int64
	usize    int64
	localOff int64
	dataOff  int64 // -1 when the local header is unreadable
	descLen  int64 // bytes of data descriptor after the data (flag bit 3)
}

func (e *zipEntry) isDir() bool { return strings.HasSuffix(e.name, "/") && e.usize == 0 }

// zipDir is an archive's central directory.
type zipDir struct {
	entries []zipEntry
	cdOff   int64
	cdSize  int64
	endOff  int64 // where the end records start (zip64 end record when present)
	endLen  int64 // their length, comment included
}

// memberLoc names a member of the archive at loc; a name with
// control or invalid characters is quoted.
func memberLoc(loc, name string) string {
	if !utf8.ValidString(name) || strings.IndexFunc(name, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0 {
		name = strconv.Quote(name)
	}
	if loc == "" {
		return name
	}
	return loc + "/" + name
}

// readZipDir reads the central directory itself (archive/zip hides
// duplicates and forgives tricks). An archive whose directory cannot be
// read is a dangerous finding and a nil dir.
func (ps *pickleScanner) readZipDir(ra io.ReaderAt, size int64, loc string) (*zipDir, error) {
	unreadable := func(format string, args ...any) (*zipDir, error) {
		ps.add("zip.unreadable", Dangerous, loc, "cannot read the zip central directory: "+format+"; the archive was not inspected", args...)
		return nil, nil
	}
	const eocdLen = 22
	tailLen := min(size, eocdLen+65535+20)
	if tailLen < eocdLen {
		return unreadable("the file is too short")
	}
	tail := make([]byte, tailLen)
	if err := readAtExact(ra, tail, size-tailLen); err != nil {
		return nil, err
	}
	strict, lenient := -1, -1
	for i := len(tail) - eocdLen; i >= 0; i-- {
		if string(tail[i:i+4]) != "PK\x05\x06" {
			continue
		}
		if i+eocdLen+int(binary.LittleEndian.Uint16(tail[i+20:])) == len(tail) {
			strict = i
			break
		}
		if lenient < 0 {
			lenient = i
		}
	}
	at := strict
	if at < 0 {
		if lenient < 0 {
			return unreadable("no end-of-central-directory record")
		}
		at = lenient
		ps.add("zip.trailing-data", Suspicious, loc, "bytes follow the end-of-central-directory record's comment")
	}
	eocd := tail[at : at+eocdLen]
	dir := &zipDir{endOff: size - tailLen + int64(at)}
	dir.endLen = size - dir.endOff
	disk, cdDisk := binary.LittleEndian.Uint16(eocd[4:]), binary.LittleEndian.Uint16(eocd[6:])
	count := uint64(binary.LittleEndian.Uint16(eocd[10:]))
	dir.cdSize = int64(binary.LittleEndian.Uint32(eocd[12:]))
	dir.cdOff = int64(binary.LittleEndian.Uint32(eocd[16:]))
	// Zip64: a locator just before the end record points at the zip64 end
	// record, which has the real counts and offsets.
	if at >= 20 && string(tail[at-20:at-16]) == "PK\x06\x07" {
		loc64 := tail[at-20 : at]
		off := binary.LittleEndian.Uint64(loc64[8:])
		rec := make([]byte, 56)
		if off > uint64(size) || uint64(size)-off < 56 {
			return unreadable("the zip64 end record at %d is outside the file", off)
		}
		if err := readAtExact(ra, rec, int64(off)); err != nil {
			return nil, err
		}
		if string(rec[:4]) != "PK\x06\x06" {
			return unreadable("no zip64 end record at offset %d", off)
		}
		count = binary.LittleEndian.Uint64(rec[32:])
		cs, co := binary.LittleEndian.Uint64(rec[40:]), binary.LittleEndian.Uint64(rec[48:])
		if cs > uint64(size) || co > uint64(size) {
			return unreadable("zip64 central directory size %d or offset %d beyond the file", cs, co)
		}
		dir.cdSize, dir.cdOff = int64(cs), int64(co)
		disk = uint16(min(binary.LittleEndian.Uint32(rec[16:]), 0xffff))
		cdDisk = uint16(min(binary.LittleEndian.Uint32(rec[20:]), 0xffff))
		dir.endLen += dir.endOff - int64(off)
		dir.endOff = int64(off)
	}
	if disk != 0 || cdDisk != 0 {
		ps.add("zip.multi-disk", Suspicious, loc, "the archive claims to span several disks")
	}
	if dir.cdSize > maxZipDirBytes {
		return unreadable("central directory of %d bytes exceeds the limit of %d", dir.cdSize, maxZipDirBytes)
	}
	if dir.cdOff+dir.cdSize > dir.endOff {
		return unreadable("central directory (offset %d, %d bytes) runs past the end record at %d", dir.cdOff, dir.cdSize, dir.endOff)
	}
	if gap := dir.endOff - (dir.cdOff + dir.cdSize); gap != 0 {
		// Python's zipfile then shifts every offset by the gap; other
		// readers do not. They would read different bytes.
		ps.add("zip.offset-mismatch", Dangerous, loc,
			"%d bytes lie between the central directory and the end record: zip readers disagree on where members are", gap)
	}
	cd := make([]byte, dir.cdSize)
	if err := readAtExact(ra, cd, dir.cdOff); err != nil {
		return nil, err
	}
	for p := 0; p < len(cd); {
		if len(dir.entries) >= maxZipEntries {
			return unreadable("more than %d entries", maxZipEntries)
		}
		if len(cd)-p < 46 || string(cd[p:p+4]) != "PK\x01\x02" {
			return unreadable("bad central directory entry at offset %d", dir.cdOff+int64(p))
		}
		h := cd[p : p+46]
		nameLen, extraLen, commentLen := int(le16(h[28:])), int(le16(h[30:])), int(le16(h[32:]))
		if len(cd)-p-46 < nameLen+extraLen+commentLen {
			return unreadable("central directory entry at offset %d runs past the directory", dir.cdOff+int64(p))
		}
		e := zipEntry{
			flags:    le16(h[8:]),
			method:   le16(h[10:]),
			crc:      binary.LittleEndian.Uint32(h[16:]),
			csize:    int64(binary.LittleEndian.Uint32(h[20:])),
			usize:    int64(binary.LittleEndian.Uint32(h[24:])),
			localOff: int64(binary.LittleEndian.Uint32(h[42:])),
			dataOff:  -1,
		}
		e.name = string(cd[p+46 : p+46+nameLen])
		extra := cd[p+46+nameLen : p+46+nameLen+extraLen]
		if err := zip64Extra(extra, &e.usize, &e.csize, &e.localOff); err != nil {
			return unreadable("entry %q: %v", e.name, err)
		}
		dir.entries = append(dir.entries, e)
		p += 46 + nameLen + extraLen + commentLen
	}
	if uint64(len(dir.entries)) != count {
		// miniz (PyTorch) trusts the count, Python's zipfile the size.
		ps.add("zip.header-mismatch", Dangerous, loc,
			"the end record declares %d entries but the central directory holds %d", count, len(dir.entries))
	}
	return dir, nil
}

// zip64Extra applies a zip64 extended-information extra field: each
// 32-bit field that is all ones is replaced, in order.
func zip64Extra(extra []byte, usize, csize, off *int64) error {
	for len(extra) >= 4 {
		id, n := le16(extra), int(le16(extra[2:]))
		if len(extra)-4 < n {
			return errors.New("extra field runs past its end")
		}
		body := extra[4 : 4+n]
		extra = extra[4+n:]
		if id != 0x0001 {
			continue
		}
		for _, f := range []*int64{usize, csize, off} {
			if *f != 0xffffffff {
				continue
			}
			if len(body) < 8 {
				return errors.New("zip64 extra field too short")
			}
			v := binary.LittleEndian.Uint64(body)
			if v > 1<<62 {
				return fmt.Errorf("zip64 value %d too large", v)
			}
			*f = int64(v)
			body = body[8:]
		}
	}
	return nil
}

func le16(b []byte) uint16 { return binary.LittleEndian.Uint16(b) }

// readAtExact reads len(b) bytes at off; a short read is an I/O error.
func readAtExact(ra io.ReaderAt, b []byte, off int64) error {
	n, err := ra.ReadAt(b, off)
	if n == len(b) {
		return nil
	}
	if err == nil || errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return fmt.Errorf("reading %d bytes at offset %d: %w", len(b), off, err)
}

// checkZip checks every entry's flags, name, method and local header, and
// the archive's layout; it sets each entry's dataOff.
func (ps *pickleScanner) checkZip(ra io.ReaderAt, size int64, dir *zipDir, loc string) error {
	seen := map[string]int{}
	type span struct{ start, end int64 }
	var spans []span
	for i := range dir.entries {
		e := &dir.entries[i]
		mloc := memberLoc(loc, e.name)
		if seen[e.name]++; seen[e.name] == 2 {
			ps.add("zip.duplicate-name", Dangerous, mloc, "more than one member has this name: zip readers disagree on which one is loaded")
		}
		if !localName(e.name) {
			ps.add("zip.path-escape", Dangerous, mloc, "member name %q is absolute or leaves the archive's directory", e.name)
		}
		if e.flags&(1|1<<6|1<<13) != 0 {
			ps.add("zip.encrypted", Dangerous, mloc,
				"member is flagged as encrypted (flags %#04x): it cannot be inspected, and readers that ignore the flag load it anyway", e.flags)
		}
		if bad := e.flags &^ (1 | 1<<1 | 1<<2 | 1<<3 | 1<<6 | 1<<11 | 1<<13); bad != 0 {
			ps.add("zip.bad-flags", Suspicious, mloc, "unusual general-purpose flags %#04x", e.flags)
		}
		switch e.method {
		case 0, 8:
		case 12:
			ps.add("zip.bad-method", Suspicious, mloc, "member is bzip2-compressed, which PyTorch cannot read")
		default:
			ps.add("zip.bad-method", Dangerous, mloc, "member uses compression method %d, which this scanner cannot read; it was not inspected", e.method)
		}
		if e.method == 0 && e.csize != e.usize {
			ps.add("zip.size-mismatch", Suspicious, mloc, "stored member declares %d bytes compressed but %d uncompressed", e.csize, e.usize)
		}
		if e.csize > 0 && e.usize >= bombMinSize && e.usize/e.csize > bombRatio {
			ps.add("zip.bomb", Suspicious, mloc, "member declares a %d:1 compression ratio (%d bytes from %d)", e.usize/e.csize, e.usize, e.csize)
		}
		if err := ps.checkLocal(ra, size, dir, e, mloc); err != nil {
			return err
		}
		if e.dataOff >= 0 {
			spans = append(spans, span{e.localOff, e.dataOff + e.csize})
		}
	}
	// Members whose bytes overlap are how the densest zip bombs are built,
	// and a way to make one member's data double as another's.
	slices.SortFunc(spans, func(a, b span) int {
		if a.start != b.start {
			if a.start < b.start {
				return -1
			}
			return 1
		}
		return 0
	})
	covered := int64(0)
	for i, s := range spans {
		if i > 0 && s.start < spans[i-1].end {
			ps.add("zip.overlap", Dangerous, loc, "member data overlaps another member at offset %d", s.start)
			break
		}
		covered += s.end - s.start
	}
	if len(spans) == len(dir.entries) {
		hidden := size - covered - dir.cdSize - dir.endLen
		for _, e := range dir.entries {
			hidden -= e.descLen
		}
		if hidden > 0 {
			ps.add("zip.hidden-data", Suspicious, loc, "%d bytes of the archive belong to no member", hidden)
		}
	}
	return nil
}

// checkLocal reads an entry's local header and compares it with the
// central directory.
func (ps *pickleScanner) checkLocal(ra io.ReaderAt, size int64, dir *zipDir, e *zipEntry, mloc string) error {
	if e.localOff < 0 || e.localOff > dir.cdOff || dir.cdOff-e.localOff < 30 {
		ps.add("zip.unreadable", Dangerous, mloc, "local header offset %d is outside the archive; the member was not inspected", e.localOff)
		return nil
	}
	h := make([]byte, 30)
	if err := readAtExact(ra, h, e.localOff); err != nil {
		return err
	}
	if string(h[:4]) != "PK\x03\x04" {
		ps.add("zip.unreadable", Dangerous, mloc, "no local header at offset %d; the member was not inspected", e.localOff)
		return nil
	}
	nameLen, extraLen := int64(le16(h[26:])), int64(le16(h[28:]))
	dataOff := e.localOff + 30 + nameLen + extraLen
	if dataOff > dir.cdOff || e.csize > dir.cdOff-dataOff {
		ps.add("zip.size-mismatch", Dangerous, mloc, "member data (offset %d, %d bytes) runs past the archive's members; it was not inspected", dataOff, e.csize)
		return nil
	}
	rest := make([]byte, nameLen+extraLen)
	if err := readAtExact(ra, rest, e.localOff+30); err != nil {
		return err
	}
	var diffs []string
	if string(rest[:nameLen]) != e.name {
		diffs = append(diffs, fmt.Sprintf("name %q", rest[:nameLen]))
	}
	if m := le16(h[8:]); m != e.method {
		diffs = append(diffs, fmt.Sprintf("method %d", m))
	}
	if f := le16(h[6:]); f&1 != e.flags&1 {
		diffs = append(diffs, fmt.Sprintf("flags %#04x", f))
	}
	if le16(h[6:])&(1<<3) == 0 {
		crc := binary.LittleEndian.Uint32(h[14:])
		cs, us := int64(binary.LittleEndian.Uint32(h[18:])), int64(binary.LittleEndian.Uint32(h[22:]))
		var off int64
		if err := zip64Extra(rest[nameLen:], &us, &cs, &off); err == nil {
			if crc != e.crc || cs != e.csize || us != e.usize {
				diffs = append(diffs, fmt.Sprintf("crc %#08x, sizes %d/%d", crc, cs, us))
			}
		}
	} else {
		e.descLen = ps.descriptorLen(ra, dataOff+e.csize, dir.cdOff, e)
	}
	if len(diffs) > 0 {
		ps.add("zip.header-mismatch", Dangerous, mloc,
			"local header disagrees with the central directory (%s): zip readers disagree on this member", strings.Join(diffs, "; "))
	}
	e.dataOff = dataOff
	return nil
}

// descriptorLen returns the length of the data descriptor at off, bounded
// by end: CRC and sizes, with or without the optional signature, the sizes
// 4 bytes each or, in zip64 archives, 8 bytes each (writers such as
// miniz, which torch.save uses, switch to 8-byte sizes past 4 GiB). The
// layout whose fields match the central directory wins; without a match
// the classic 12/16 bytes are assumed.
func (ps *pickleScanner) descriptorLen(ra io.ReaderAt, off, end int64, e *zipEntry) int64 {
	var b [24]byte
	avail := min(max(end-off, 0), int64(len(b)))
	if readAtExact(ra, b[:avail], off) != nil {
		return avail
	}
	start := int64(0)
	if avail >= 4 && string(b[:4]) == "PK\x07\x08" {
		start = 4
	}
	d := b[start:avail]
	matches := func(sizeLen int) bool {
		if len(d) < 4+2*sizeLen || binary.LittleEndian.Uint32(d) != e.crc {
			return false
		}
		if sizeLen == 4 {
			return int64(binary.LittleEndian.Uint32(d[4:])) == e.csize && int64(binary.LittleEndian.Uint32(d[8:])) == e.usize
		}
		return int64(binary.LittleEndian.Uint64(d[4:])) == e.csize && int64(binary.LittleEndian.Uint64(d[12:])) == e.usize
	}
	switch {
	case matches(4):
		return start + 12
	case matches(8):
		return start + 20
	}
	return min(start+12, avail)
}

// localName reports whether a member name stays inside the directory it
// would be extracted to.
func localName(name string) bool {
	if name == "" || strings.HasPrefix(name, "/") || strings.ContainsAny(name, "\\\x00") ||
		len(name) >= 2 && name[1] == ':' {
		return false
	}
	for el := range strings.SplitSeq(name, "/") {
		if el == ".." {
			return false
		}
	}
	return true
}

// budgetReader counts decompressed bytes against the file's budget and
// the member's declared size.
type budgetReader struct {
	r        io.Reader
	ps       *pickleScanner
	declared int64
	n        int64
	crc      uint32
}

func (b *budgetReader) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	b.n += int64(n)
	b.ps.inflated += int64(n)
	b.crc = crc32.Update(b.crc, crc32.IEEETable, p[:n])
	if b.n > b.declared {
		return n, &corruptError{what: "decompressed data is longer than the declared size", err: errSizeOver}
	}
	if b.ps.inflated > maxInflateTotal {
		return n, &corruptError{what: "decompression budget exhausted", err: errBomb}
	}
	return n, err
}

var (
	errSizeOver = errors.New("zip.size-mismatch")
	errBomb     = errors.New("zip.bomb")
)

// openMember returns a reader of the member's uncompressed bytes. The
// budgetReader (nil for stored members) tracks the CRC and size.
func (ps *pickleScanner) openMember(ra io.ReaderAt, e *zipEntry) (io.Reader, *budgetReader, error) {
	sec := io.NewSectionReader(ra, e.dataOff, e.csize)
	var dec io.Reader
	switch e.method {
	case 0:
		return sec, nil, nil
	case 8:
		dec = flate.NewReader(sec)
	case 12:
		dec = bzip2.NewReader(sec)
	default:
		return nil, nil, fmt.Errorf("compression method %d", e.method)
	}
	b := &budgetReader{r: &corruptReader{r: dec, what: "bad compressed data"}, ps: ps, declared: e.usize}
	return b, b, nil
}

// scanZip checks an archive and scans every member that is a pickle, a
// NumPy array or a nested archive, whatever its name. Members a PyTorch
// pickle references as storages are tensor data: they are skipped, not
// read.
func (ps *pickleScanner) scanZip(ctx context.Context, ra io.ReaderAt, size int64, loc string, depth int) error {
	dir, err := ps.readZipDir(ra, size, loc)
	if err != nil || dir == nil {
		return err
	}
	if err := ps.checkZip(ra, size, dir, loc); err != nil {
		return err
	}
	storages := map[string]storageRef{}
	done := make([]bool, len(dir.entries))
	// Pickles first (by name), so that the storages they reference are
	// known before the other members are looked at.
	for i := range dir.entries {
		e := &dir.entries[i]
		if path.Ext(e.name) != ".pkl" || e.isDir() || e.dataOff < 0 {
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		done[i] = true
		if err := ps.scanMember(ctx, ra, e, loc, depth, storages); err != nil {
			return err
		}
	}
	for i := range dir.entries {
		e := &dir.entries[i]
		if done[i] || e.isDir() || e.dataOff < 0 {
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if ref, ok := storages[e.name]; ok {
			ref.member = "" // seen
			storages[e.name] = ref
			if want := ref.numel * ref.elemSize; ref.elemSize > 0 && e.usize < want {
				ps.add("torch.storage-size", Suspicious, memberLoc(loc, e.name),
					"storage %s holds %d bytes but the pickle declares %d elements of %s (%d bytes)", ref.key, e.usize, ref.numel, ref.typeName, want)
			}
			continue
		}
		if err := ps.scanMember(ctx, ra, e, loc, depth, storages); err != nil {
			return err
		}
	}
	missing := 0
	var first string
	for name, ref := range storages {
		if ref.member != "" {
			if missing == 0 || name < first {
				first = name
			}
			missing++
		}
	}
	if missing > 0 {
		ps.add("torch.missing-storage", Suspicious, memberLoc(loc, first), "%d storage(s) the pickle references are not in the archive", missing)
	}
	return nil
}

// scanMember looks at one member's content and scans it when it is
// pickle-bearing or an archive.
func (ps *pickleScanner) scanMember(ctx context.Context, ra io.ReaderAt, e *zipEntry, loc string, depth int, storages map[string]storageRef) error {
	mloc := memberLoc(loc, e.name)
	if e.method != 0 && e.method != 8 && e.method != 12 {
		return nil // reported by checkZip
	}
	// Entries that share their bytes (see zip.overlap) are looked at once.
	span := spanKey{loc, e.dataOff, e.csize}
	if ps.scanned[span] {
		return nil
	}
	ps.scanned[span] = true
	if ps.members++; ps.members > maxMemberScans {
		if ps.members == maxMemberScans+1 {
			ps.add("zip.too-many", Dangerous, mloc, "more than %d archive members to inspect; the rest were not inspected", maxMemberScans)
		}
		return nil
	}
	var blob io.ReaderAt
	var size int64
	if e.method == 0 {
		blob, size = io.NewSectionReader(ra, e.dataOff, e.csize), e.csize
	} else {
		if e.usize > maxMaterialize {
			return ps.scanLargeMember(ctx, ra, e, mloc, depth)
		}
		r, br, err := ps.openMember(ra, e)
		if err != nil {
			return err
		}
		data, err := io.ReadAll(r)
		if err != nil {
			return ps.memberReadError(err, mloc)
		}
		if int64(len(data)) != e.usize {
			ps.add("zip.size-mismatch", Suspicious, mloc, "member decompresses to %d bytes, not the declared %d", len(data), e.usize)
		}
		if br.crc != e.crc {
			ps.add("zip.crc-mismatch", Suspicious, mloc, "CRC-32 is %#08x, the directory says %#08x", br.crc, e.crc)
		}
		blob, size = bytes.NewReader(data), int64(len(data))
	}
	kind, err := sniffContent(blob, size)
	if err != nil {
		return err
	}
	if kind == "" {
		return nil
	}
	if e.method == 0 {
		if err := ps.checkStoredCRC(ra, e, mloc); err != nil {
			return err
		}
	}
	refs, err := ps.scanBlob(ctx, blob, size, mloc, kind, depth+1, pidsTorch)
	if err != nil {
		return err
	}
	for _, r := range refs {
		if r.member == "" {
			continue
		}
		r.member = path.Join(path.Dir(e.name), r.member)
		if _, ok := storages[r.member]; !ok {
			storages[r.member] = r
		}
	}
	return nil
}

// checkStoredCRC computes a stored member's CRC-32.
func (ps *pickleScanner) checkStoredCRC(ra io.ReaderAt, e *zipEntry, mloc string) error {
	h := crc32.NewIEEE()
	if _, err := io.Copy(h, io.NewSectionReader(ra, e.dataOff, e.csize)); err != nil {
		return err
	}
	if got := h.Sum32(); got != e.crc {
		ps.add("zip.crc-mismatch", Suspicious, mloc, "CRC-32 is %#08x, the directory says %#08x", got, e.crc)
	}
	return nil
}

// memberReadError turns a failure to decompress a member into a finding.
func (ps *pickleScanner) memberReadError(err error, mloc string) error {
	var ce *corruptError
	if !errors.As(err, &ce) {
		return err
	}
	switch {
	case errors.Is(err, errBomb):
		ps.add("zip.bomb", Dangerous, mloc, "decompressing this archive exceeds %d bytes; the rest was not inspected", int64(maxInflateTotal))
	case errors.Is(err, errSizeOver):
		ps.add("zip.size-mismatch", Dangerous, mloc, "member decompresses to more than its declared size; it was not inspected past that")
	default:
		ps.add("zip.unreadable", Dangerous, mloc, "cannot decompress the member (%v); it was not inspected", ce.err)
	}
	return nil
}

// scanLargeMember handles a compressed member too large to hold in
// memory: its head decides what it is, and pickle-bearing content is
// scanned as a stream.
func (ps *pickleScanner) scanLargeMember(ctx context.Context, ra io.ReaderAt, e *zipEntry, mloc string, depth int) error {
	r, _, err := ps.openMember(ra, e)
	if err != nil {
		return err
	}
	head := make([]byte, 512)
	n, err := io.ReadFull(r, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return ps.memberReadError(err, mloc)
	}
	head = head[:n]
	kind := sniffHead(head)
	switch kind {
	case "":
		return nil
	case "pickle", "npy":
		open := func() (io.Reader, error) {
			r, _, err := ps.openMember(ra, e)
			return r, err
		}
		return ps.scanStream(open, mloc, kind, pidsTorch)
	}
	ps.add("zip.nested-archive", Dangerous, mloc, "a compressed nested %s archive of %d bytes is too large to inspect", kind, e.usize)
	return nil
}
