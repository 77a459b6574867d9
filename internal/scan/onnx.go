package scan

import (
	"errors"
	"fmt"
	"io"
	"path"
	"strconv"
	"strings"
)

// ONNX messages the walker descends into, and for each the fields that
// hold submessages (field numbers from onnx.proto).
type onnxMsg uint8

const (
	onnxModel onnxMsg = iota
	onnxGraph
	onnxNode
	onnxAttribute
	onnxTensor
	onnxSparseTensor
	onnxTrainingInfo
	onnxFunction
)

var onnxChildren = map[onnxMsg]map[uint64]onnxMsg{
	onnxModel:        {7: onnxGraph, 20: onnxTrainingInfo, 25: onnxFunction},
	onnxGraph:        {1: onnxNode, 5: onnxTensor, 15: onnxSparseTensor},
	onnxNode:         {5: onnxAttribute},
	onnxAttribute:    {5: onnxTensor, 6: onnxGraph, 10: onnxTensor, 11: onnxGraph, 22: onnxSparseTensor, 23: onnxSparseTensor},
	onnxSparseTensor: {1: onnxTensor, 2: onnxTensor},
	onnxTrainingInfo: {1: onnxGraph, 2: onnxGraph},
	onnxFunction:     {7: onnxNode, 11: onnxAttribute},
}

// TensorProto fields the walker reads.
const (
	tensorName         = 8
	tensorExternalData = 13
	tensorDataLocation = 14
	dataLocExternal    = 1
)

// Walker bounds.
const (
	onnxMaxDepth   = 64   // nested messages (subgraphs of subgraphs …)
	onnxMaxString  = 4096 // a tensor name or external-data key or value
	onnxMaxEntries = 64   // external-data entries of one tensor
)

// errONNXMalformed marks a protobuf structure error (the message says
// where); anything else is an I/O error.
var errONNXMalformed = errors.New("malformed protobuf")

// checkONNX walks an ONNX model's protobuf (graphs, subgraphs in
// attributes, functions, training graphs) to find every tensor stored as
// external data, without reading tensor bytes. Rules:
//
//	onnx.external-path     a location that is absolute or climbs out of the model directory — dangerous
//	onnx.external-missing  a location naming no file of the model — suspicious
//	onnx.external-range    offset/length not numbers or beyond the file — suspicious
//	onnx.external-data     external data without a location — suspicious
//	onnx.malformed         a protobuf the walker cannot follow — suspicious
func checkONNX(ra io.ReaderAt, size int64, name string, env *scanEnv, res *FileResult) error {
	s := newFindingSink(res)
	defer s.flush()
	w := &onnxWalker{r: &pbReader{ra: ra, size: size}, s: s, dir: path.Dir(name), env: env}
	if err := w.message(0, size, onnxModel, 0); err != nil {
		if !errors.Is(err, errONNXMalformed) {
			return err
		}
		s.addf("onnx.malformed", Suspicious, "", "%v", err)
	}
	return nil
}

type onnxWalker struct {
	r   *pbReader
	s   *findingSink
	dir string // the model file's directory, slash path in the model
	env *scanEnv
}

// message walks the message of type typ in [start, end).
func (w *onnxWalker) message(start, end int64, typ onnxMsg, depth int) error {
	if depth > onnxMaxDepth {
		return fmt.Errorf("%w: messages nested more than %d deep at offset %d", errONNXMalformed, onnxMaxDepth, start)
	}
	var t onnxTensorInfo
	err := w.r.fields(start, end, func(num uint64, wire int, vStart, vEnd int64, v uint64) error {
		if wire != 2 {
			if typ == onnxTensor && num == tensorDataLocation && wire == 0 {
				t.external = v == dataLocExternal
			}
			return nil
		}
		if child, ok := onnxChildren[typ][num]; ok {
			return w.message(vStart, vEnd, child, depth+1)
		}
		if typ != onnxTensor {
			return nil
		}
		switch num {
		case tensorName:
			name, err := w.r.str(vStart, vEnd, "tensor name")
			if err != nil {
				return err
			}
			t.name = name
		case tensorExternalData:
			if len(t.entries) >= onnxMaxEntries {
				return fmt.Errorf("%w: more than %d external_data entries in one tensor at offset %d", errONNXMalformed, onnxMaxEntries, vStart)
			}
			k, v, err := w.entry(vStart, vEnd)
			if err != nil {
				return err
			}
			t.entries = append(t.entries, [2]string{k, v})
		}
		return nil
	})
	if err != nil {
		return err
	}
	if typ == onnxTensor && (t.external || len(t.entries) > 0) {
		w.external(t, start)
	}
	return nil
}

// onnxTensorInfo is what the walker keeps of one TensorProto.
type onnxTensorInfo struct {
	name     string
	external bool
	entries  [][2]string // external_data key/value pairs in order
}

// entry reads a StringStringEntryProto (key 1, value 2).
func (w *onnxWalker) entry(start, end int64) (key, value string, err error) {
	err = w.r.fields(start, end, func(num uint64, wire int, vStart, vEnd int64, _ uint64) error {
		if wire != 2 {
			return nil
		}
		var err error
		switch num {
		case 1:
			key, err = w.r.str(vStart, vEnd, "external_data key")
		case 2:
			value, err = w.r.str(vStart, vEnd, "external_data value")
		}
		return err
	})
	return key, value, err
}

// external checks one tensor's external data reference.
func (w *onnxWalker) external(t onnxTensorInfo, off int64) {
	where := fmt.Sprintf("tensor %q", t.name)
	vals := map[string]string{}
	for _, e := range t.entries {
		if _, dup := vals[e[0]]; !dup {
			vals[e[0]] = e[1]
		}
	}
	loc, ok := vals["location"]
	if !ok {
		w.s.addf("onnx.external-data", Suspicious, where, "tensor stored as external data without a location (at offset %d)", off)
		return
	}
	if reason := unsafeRelPath(loc); reason != "" {
		w.s.addf("onnx.external-path", Dangerous, where,
			"external data location %q %s: loading reads (or, when saving, writes) files outside the model", loc, reason)
		return
	}
	if w.env == nil || w.env.sibling == nil {
		return
	}
	target := path.Join(w.dir, loc)
	fsize, ok := w.env.sibling(target)
	if !ok {
		w.s.addf("onnx.external-missing", Suspicious, where, "external data file %q is not a file of the model", loc)
		return
	}
	var offset, length uint64
	for _, k := range []string{"offset", "length"} {
		s, ok := vals[k]
		if !ok {
			continue
		}
		n, err := strconv.ParseUint(s, 10, 63)
		if err != nil {
			w.s.addf("onnx.external-range", Suspicious, where, "external data %s %q is not a non-negative integer", k, s)
			return
		}
		if k == "offset" {
			offset = n
		} else {
			length = n
		}
	}
	if offset > uint64(fsize) || length > uint64(fsize)-offset {
		w.s.addf("onnx.external-range", Suspicious, where,
			"external data [%d, +%d) runs past the end of %q (%d bytes)", offset, length, loc, fsize)
	}
}

// unsafeRelPath says why p is not a plain relative path inside a
// directory, or "" when it is.
func unsafeRelPath(p string) string {
	switch {
	case p == "":
		return "is empty"
	case strings.ContainsRune(p, 0):
		return "contains a NUL byte"
	case strings.HasPrefix(p, "/") || strings.HasPrefix(p, `\`):
		return "is absolute"
	case strings.Contains(p, ":"):
		return "names a drive or URL scheme"
	}
	for _, el := range strings.FieldsFunc(p, func(r rune) bool { return r == '/' || r == '\\' }) {
		if el == ".." {
			return "climbs out of the model directory"
		}
	}
	return ""
}

// pbReader reads protobuf wire data from a ReaderAt through a small
// cache, so that walking a large model reads only tags and lengths.
type pbReader struct {
	ra     io.ReaderAt
	size   int64
	buf    []byte
	bufOff int64
}

const pbWindow = 64 << 10

// window makes [off, off+n) available in buf (n ≤ pbWindow) and returns it.
func (r *pbReader) window(off int64, n int) ([]byte, error) {
	if off >= r.bufOff && off+int64(n) <= r.bufOff+int64(len(r.buf)) {
		i := off - r.bufOff
		return r.buf[i : i+int64(n)], nil
	}
	m := min(int64(pbWindow), r.size-off)
	if m < int64(n) {
		return nil, fmt.Errorf("%w: truncated at offset %d", errONNXMalformed, off)
	}
	if cap(r.buf) < pbWindow {
		r.buf = make([]byte, pbWindow)
	}
	r.buf = r.buf[:m]
	if err := readAtExact(r.ra, r.buf, off); err != nil {
		r.buf = r.buf[:0]
		return nil, err
	}
	r.bufOff = off
	return r.buf[:n], nil
}

// varint decodes a varint at off, which must end before end.
func (r *pbReader) varint(off, end int64) (uint64, int64, error) {
	var v uint64
	for i := 0; i < 10; i++ {
		if off+int64(i) >= end {
			return 0, 0, fmt.Errorf("%w: varint runs past its message at offset %d", errONNXMalformed, off)
		}
		b, err := r.window(off+int64(i), 1)
		if err != nil {
			return 0, 0, err
		}
		v |= uint64(b[0]&0x7f) << (7 * i)
		if b[0] < 0x80 {
			return v, off + int64(i) + 1, nil
		}
	}
	return 0, 0, fmt.Errorf("%w: varint longer than 10 bytes at offset %d", errONNXMalformed, off)
}

// fields calls fn for every field of the message in [start, end): its
// number, wire type, for length-delimited fields the value's range, and
// for varints the value.
func (r *pbReader) fields(start, end int64, fn func(num uint64, wire int, vStart, vEnd int64, v uint64) error) error {
	for off := start; off < end; {
		tag, next, err := r.varint(off, end)
		if err != nil {
			return err
		}
		num, wire := tag>>3, int(tag&7)
		if num == 0 {
			return fmt.Errorf("%w: field number 0 at offset %d", errONNXMalformed, off)
		}
		var v uint64
		vStart, vEnd := next, next
		switch wire {
		case 0:
			v, vEnd, err = r.varint(next, end)
			if err != nil {
				return err
			}
			vStart = vEnd
		case 1:
			vEnd = next + 8
		case 5:
			vEnd = next + 4
		case 2:
			n, p, err := r.varint(next, end)
			if err != nil {
				return err
			}
			if n > uint64(end-p) {
				return fmt.Errorf("%w: field %d at offset %d: length %d runs past its message (%d bytes left)", errONNXMalformed, num, off, n, end-p)
			}
			vStart, vEnd = p, p+int64(n)
		default:
			return fmt.Errorf("%w: field %d at offset %d has wire type %d", errONNXMalformed, num, off, wire)
		}
		if vEnd > end {
			return fmt.Errorf("%w: field %d at offset %d runs past its message", errONNXMalformed, num, off)
		}
		if err := fn(num, wire, vStart, vEnd, v); err != nil {
			return err
		}
		off = vEnd
	}
	return nil
}

// str reads a short string field.
func (r *pbReader) str(start, end int64, what string) (string, error) {
	if end-start > onnxMaxString {
		return "", fmt.Errorf("%w: %s at offset %d is %d bytes (limit %d)", errONNXMalformed, what, start, end-start, onnxMaxString)
	}
	b, err := r.window(start, int(end-start))
	if err != nil {
		return "", err
	}
	return string(b), nil
}
