package scan

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"sov.dev/sov/internal/pickle"
)

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
