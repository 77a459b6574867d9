package scan

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"strconv"
	"strings"

	"sov.dev/sov/internal/pickle"
)

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
