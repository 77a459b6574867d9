package filetype

import (
	"errors"
	"fmt"
)

// Protocol buffer wire types.
const (
	wireVarint  = 0
	wireFixed64 = 1
	wireBytes   = 2
	wireFixed32 = 5
)

// Bounds on a protobuf walk, so that hostile input costs little.
const (
	maxPBFields  = 1 << 20 // fields visited in one walk
	maxPBRefills = 1024    // ReadAt calls in one walk, beyond the head
)

// errNotProto ends a walk over bytes that are not a clean protobuf message.
var errNotProto = errors.New("not a protobuf message")

// pbField is one field of a protobuf message.
type pbField struct {
	num  uint64
	wire int
	val  uint64 // the value of a varint field
	off  int64  // start of the value of a bytes field
	len  int64  // length of a bytes field
}

// pbWalker reads protobuf fields from a file through a window of at most
// headSize bytes, starting with the head Detect already read.
type pbWalker struct {
	f       *file
	win     []byte
	winOff  int64
	refills int
	fields  int
}

func newPBWalker(f *file) *pbWalker {
	return &pbWalker{f: f, win: f.head}
}

// byteAt returns the byte at off (< f.size), refilling the window if needed.
func (w *pbWalker) byteAt(off int64) (byte, error) {
	if off < w.winOff || off >= w.winOff+int64(len(w.win)) {
		if w.refills >= maxPBRefills {
			return 0, errNotProto
		}
		w.refills++
		n := min(w.f.size-off, headSize)
		buf := make([]byte, n)
		if err := readAt(w.f.r, buf, off); err != nil {
			return 0, err
		}
		w.win, w.winOff = buf, off
	}
	return w.win[off-w.winOff], nil
}

// varint decodes a base-128 varint at off, which must end before end.
func (w *pbWalker) varint(off, end int64) (v uint64, next int64, err error) {
	for i := range 10 {
		if off >= end {
			return 0, 0, errNotProto
		}
		b, err := w.byteAt(off)
		if err != nil {
			return 0, 0, err
		}
		off++
		if i == 9 && b > 1 {
			return 0, 0, errNotProto // overflows 64 bits
		}
		v |= uint64(b&0x7f) << (7 * i)
		if b < 0x80 {
			return v, off, nil
		}
	}
	return 0, 0, errNotProto
}

// walk visits the fields of the message in [start, end), calling fn for
// each. It returns errNotProto if the bytes are not exactly a sequence of
// well-formed fields (groups, which no format here uses, count as not
// well-formed), or the error fn returns.
func (w *pbWalker) walk(start, end int64, fn func(pbField) error) error {
	for off := start; off < end; {
		if w.fields >= maxPBFields {
			return errNotProto
		}
		w.fields++
		key, next, err := w.varint(off, end)
		if err != nil {
			return err
		}
		off = next
		fld := pbField{num: key >> 3, wire: int(key & 7)}
		if fld.num == 0 || fld.num > 1<<29-1 {
			return errNotProto
		}
		switch fld.wire {
		case wireVarint:
			if fld.val, off, err = w.varint(off, end); err != nil {
				return err
			}
		case wireFixed64:
			if end-off < 8 {
				return errNotProto
			}
			off += 8
		case wireFixed32:
			if end-off < 4 {
				return errNotProto
			}
			off += 4
		case wireBytes:
			n, next, err := w.varint(off, end)
			if err != nil {
				return err
			}
			if n > uint64(end-next) {
				return errNotProto
			}
			fld.off, fld.len = next, int64(n)
			off = next + int64(n)
		default:
			return errNotProto
		}
		if err := fn(fld); err != nil {
			return err
		}
	}
	return nil
}

// detectONNX recognises an ONNX ModelProto: a clean protobuf walk to the end
// of the file with ir_version (field 1, varint) and graph (field 7, bytes).
func detectONNX(f *file) (Result, bool, error) {
	if len(f.head) < 4 {
		return Result{}, false, nil
	}
	w := newPBWalker(f)
	var (
		irVersion    uint64
		hasIR, graph bool
	)
	err := w.walk(0, f.size, func(fld pbField) error {
		switch fld.num {
		case 1:
			if fld.wire != wireVarint {
				return errNotProto
			}
			irVersion, hasIR = fld.val, true
		case 5: // model_version
			if fld.wire != wireVarint {
				return errNotProto
			}
		case 2, 3, 4, 6, 8, 14, 20, 25, 30: // strings and messages
			if fld.wire != wireBytes {
				return errNotProto
			}
		case 7:
			if fld.wire != wireBytes {
				return errNotProto
			}
			graph = true
		}
		return nil
	})
	if errors.Is(err, errNotProto) || err == nil && !(hasIR && graph) {
		return Result{}, false, nil
	}
	if err != nil {
		return Result{}, false, err
	}
	return Result{Kind: KindONNX, Detail: fmt.Sprintf("onnx ir_version %d", irVersion)}, true, nil
}

// maxSPPieceChecks is how many SentencePiece pieces get their own inner walk.
const maxSPPieceChecks = 16

// detectSentencePiece recognises a SentencePiece ModelProto
// (tokenizer.model): a clean protobuf walk to the end of the file whose
// top-level fields are all messages numbered 1 to 5, with at least one piece
// (field 1), the first pieces themselves being clean messages that carry the
// piece string (field 1).
func detectSentencePiece(f *file) (Result, bool, error) {
	if len(f.head) < 2 || f.head[0] != 1<<3|wireBytes {
		return Result{}, false, nil
	}
	w := newPBWalker(f)
	pieces := 0
	err := w.walk(0, f.size, func(fld pbField) error {
		if fld.num < 1 || fld.num > 5 || fld.wire != wireBytes {
			return errNotProto
		}
		if fld.num != 1 {
			return nil
		}
		pieces++
		if pieces > maxSPPieceChecks {
			return nil
		}
		hasPiece := false
		err := w.walk(fld.off, fld.off+fld.len, func(in pbField) error {
			switch in.num {
			case 1: // piece
				if in.wire != wireBytes {
					return errNotProto
				}
				hasPiece = true
			case 2: // score
				if in.wire != wireFixed32 {
					return errNotProto
				}
			case 3: // type
				if in.wire != wireVarint {
					return errNotProto
				}
			}
			return nil
		})
		if err == nil && !hasPiece {
			return errNotProto
		}
		return err
	})
	if errors.Is(err, errNotProto) || err == nil && pieces == 0 {
		return Result{}, false, nil
	}
	if err != nil {
		return Result{}, false, err
	}
	return Result{Kind: KindSentencePiece, Detail: fmt.Sprintf("sentencepiece: %d pieces", pieces)}, true, nil
}
