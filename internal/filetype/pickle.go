package filetype

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// Pickle opcodes this file refers to by name.
const (
	opProto = 0x80
	opFrame = 0x95
	opLong1 = 0x8a
	opStop  = '.'
)

// torchLegacyMagic is the LONG1 encoding (length byte, then little-endian
// two's complement) of 0x1950a86a20f9469cfc6c, the magic number that
// torch.save's legacy (pre-zip) format pickles first.
var torchLegacyMagic = []byte{0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19}

// detectPickle recognises Python pickles. Protocols 2 to 5 start with PROTO
// and the version byte; protocols 0 and 1 have no header, so they are
// recognised by simulating their opcodes over the head (see walkPickle01).
func detectPickle(f *file) (Result, bool, error) {
	h := f.head
	if len(h) >= 2 && h[0] == opProto {
		proto := h[1]
		if proto < 2 || proto > 5 {
			return Result{}, false, nil
		}
		body := h[2:]
		if len(body) >= 9 && body[0] == opFrame {
			body = body[9:] // FRAME and its 8-byte length (protocol 4+)
		}
		if len(body) >= 1+len(torchLegacyMagic) && body[0] == opLong1 &&
			bytes.Equal(body[1:1+len(torchLegacyMagic)], torchLegacyMagic) {
			return Result{Kind: KindPyTorchLegacy, Detail: fmt.Sprintf("legacy torch.save, pickle protocol %d", proto)}, true, nil
		}
		return Result{Kind: KindPickle, Detail: fmt.Sprintf("pickle protocol %d", proto)}, true, nil
	}
	if len(h) == 0 {
		return Result{}, false, nil
	}
	var last [1]byte
	if f.whole() {
		last[0] = h[len(h)-1]
	} else if err := readAt(f.r, last[:], f.size-1); err != nil {
		return Result{}, false, err
	}
	if last[0] != opStop || !walkPickle01(h, f.whole()) {
		return Result{}, false, nil
	}
	return Result{Kind: KindPickle, Detail: "pickle protocol 0/1"}, true, nil
}

// Argument shapes of protocol 0/1 opcodes.
const (
	argNone    = iota
	argFixed   // n bytes
	argLine    // one line ending in '\n'
	argLines2  // two lines
	argCounted // a length of n bytes (little-endian), then that many bytes
)

// Stack effects of protocol 0/1 opcodes.
const (
	fxPush         = iota // push one item
	fxMark                // push a mark
	fxStop                // end of pickle: exactly one item, no marks
	fxPop                 // pop one item
	fxPopMark             // discard everything back to the mark
	fxDup                 // need one item, push one
	fxReplace             // need one item, replace it
	fxReduce              // pop two, push one
	fxAppend              // pop two, push one (list.append, BUILD)
	fxSetItem             // pop three, push one
	fxMarkToOne           // pop to mark, push one (TUPLE, LIST, DICT, INST)
	fxMarkToOneArg        // pop at least one to mark, push one (OBJ)
	fxMarkIntoPrev        // pop to mark into the item below it (APPENDS, SETITEMS)
	fxPeek                // need one item, no change (PUT)
)

type pickleOp struct {
	arg  int
	n    int // for argFixed and argCounted
	fx   int
	line func([]byte) bool
}

// pickle01Ops are the opcodes of pickle protocols 0 and 1.
var pickle01Ops = map[byte]pickleOp{
	'(': {argNone, 0, fxMark, nil},                 // MARK
	'.': {argNone, 0, fxStop, nil},                 // STOP
	'0': {argNone, 0, fxPop, nil},                  // POP
	'1': {argNone, 0, fxPopMark, nil},              // POP_MARK
	'2': {argNone, 0, fxDup, nil},                  // DUP
	'F': {argLine, 0, fxPush, isFloatLine},         // FLOAT
	'I': {argLine, 0, fxPush, isIntLine},           // INT
	'J': {argFixed, 4, fxPush, nil},                // BININT
	'K': {argFixed, 1, fxPush, nil},                // BININT1
	'L': {argLine, 0, fxPush, isLongLine},          // LONG
	'M': {argFixed, 2, fxPush, nil},                // BININT2
	'N': {argNone, 0, fxPush, nil},                 // NONE
	'P': {argLine, 0, fxPush, anyLine},             // PERSID
	'Q': {argNone, 0, fxReplace, nil},              // BINPERSID
	'R': {argNone, 0, fxReduce, nil},               // REDUCE
	'S': {argLine, 0, fxPush, isQuotedLine},        // STRING
	'T': {argCounted, 4, fxPush, nil},              // BINSTRING
	'U': {argCounted, 1, fxPush, nil},              // SHORT_BINSTRING
	'V': {argLine, 0, fxPush, anyLine},             // UNICODE
	'X': {argCounted, 4, fxPush, nil},              // BINUNICODE
	'a': {argNone, 0, fxAppend, nil},               // APPEND
	'b': {argNone, 0, fxAppend, nil},               // BUILD
	'c': {argLines2, 0, fxPush, isDottedName},      // GLOBAL
	'd': {argNone, 0, fxMarkToOne, nil},            // DICT
	'}': {argNone, 0, fxPush, nil},                 // EMPTY_DICT
	'e': {argNone, 0, fxMarkIntoPrev, nil},         // APPENDS
	'g': {argLine, 0, fxPush, isDigitsLine},        // GET
	'h': {argFixed, 1, fxPush, nil},                // BINGET
	'i': {argLines2, 0, fxMarkToOne, isDottedName}, // INST
	'j': {argFixed, 4, fxPush, nil},                // LONG_BINGET
	'l': {argNone, 0, fxMarkToOne, nil},            // LIST
	']': {argNone, 0, fxPush, nil},                 // EMPTY_LIST
	'o': {argNone, 0, fxMarkToOneArg, nil},         // OBJ
	'p': {argLine, 0, fxPeek, isDigitsLine},        // PUT
	'q': {argFixed, 1, fxPeek, nil},                // BINPUT
	'r': {argFixed, 4, fxPeek, nil},                // LONG_BINPUT
	's': {argNone, 0, fxSetItem, nil},              // SETITEM
	't': {argNone, 0, fxMarkToOne, nil},            // TUPLE
	')': {argNone, 0, fxPush, nil},                 // EMPTY_TUPLE
	'u': {argNone, 0, fxMarkIntoPrev, nil},         // SETITEMS
	'G': {argFixed, 8, fxPush, nil},                // BINFLOAT
}

// Bounds on the protocol 0/1 walk.
const (
	maxPickleMarks  = 1024
	maxPicklesInRow = 64 // a file may hold several pickles back to back
	minPickleOps    = 8  // opcodes needed when the head ends mid-pickle
)

// walkPickle01 simulates the opcodes of a protocol 0/1 pickle over h,
// tracking only how many items sit on the stack above each mark. It returns
// true when every opcode is known, its argument is well formed and the stack
// never underflows, and either (whole) the pickles end exactly at the end of
// h, or (!whole) h ends mid-pickle after at least minPickleOps opcodes.
func walkPickle01(h []byte, whole bool) bool {
	var (
		frames = []int{0} // items above each mark; frames[0] is the bottom
		ops    = 0
		stops  = 0
	)
	top := func() *int { return &frames[len(frames)-1] }
	popMark := func() (int, bool) {
		if len(frames) < 2 {
			return 0, false
		}
		n := *top()
		frames = frames[:len(frames)-1]
		return n, true
	}
	for i := 0; i < len(h); {
		op, ok := pickle01Ops[h[i]]
		if !ok {
			return false
		}
		i++
		switch op.arg {
		case argFixed:
			if len(h)-i < op.n {
				return !whole && ops >= minPickleOps
			}
			i += op.n
		case argLine, argLines2:
			lines := 1
			if op.arg == argLines2 {
				lines = 2
			}
			for range lines {
				nl := bytes.IndexByte(h[i:], '\n')
				if nl < 0 {
					return !whole && ops >= minPickleOps
				}
				if !op.line(h[i : i+nl]) {
					return false
				}
				i += nl + 1
			}
		case argCounted:
			if len(h)-i < op.n {
				return !whole && ops >= minPickleOps
			}
			var n uint64
			if op.n == 1 {
				n = uint64(h[i])
			} else {
				n = uint64(binary.LittleEndian.Uint32(h[i:]))
			}
			i += op.n
			if n > uint64(len(h)-i) {
				return !whole && ops >= minPickleOps
			}
			i += int(n)
		}
		ops++
		switch op.fx {
		case fxPush:
			*top()++
		case fxMark:
			if len(frames) >= maxPickleMarks {
				return false
			}
			frames = append(frames, 0)
		case fxStop:
			if len(frames) != 1 || frames[0] != 1 {
				return false
			}
			stops++
			if i == len(h) {
				return true
			}
			if stops >= maxPicklesInRow {
				return !whole
			}
			frames[0] = 0
		case fxPop:
			if *top() < 1 {
				return false
			}
			*top()--
		case fxPopMark:
			if _, ok := popMark(); !ok {
				return false
			}
		case fxDup:
			if *top() < 1 {
				return false
			}
			*top()++
		case fxReplace, fxPeek:
			if *top() < 1 {
				return false
			}
		case fxReduce, fxAppend:
			if *top() < 2 {
				return false
			}
			*top()--
		case fxSetItem:
			if *top() < 3 {
				return false
			}
			*top() -= 2
		case fxMarkToOne:
			if _, ok := popMark(); !ok {
				return false
			}
			*top()++
		case fxMarkToOneArg:
			if n, ok := popMark(); !ok || n < 1 {
				return false
			}
			*top()++
		case fxMarkIntoPrev:
			if _, ok := popMark(); !ok || *top() < 1 {
				return false
			}
		}
	}
	return !whole && ops >= minPickleOps
}

func anyLine([]byte) bool { return true }

func isDigitsLine(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func isIntLine(b []byte) bool {
	if len(b) > 0 && (b[0] == '-' || b[0] == '+') {
		b = b[1:]
	}
	return isDigitsLine(b)
}

func isLongLine(b []byte) bool {
	return isIntLine(bytes.TrimSuffix(b, []byte("L")))
}

func isFloatLine(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	switch string(b) {
	case "nan", "inf", "-inf":
		return true
	}
	digits := false
	for _, c := range b {
		switch {
		case c >= '0' && c <= '9':
			digits = true
		case c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E':
		default:
			return false
		}
	}
	return digits
}

func isQuotedLine(b []byte) bool {
	return len(b) >= 2 && (b[0] == '\'' || b[0] == '"') && b[len(b)-1] == b[0]
}

// isDottedName accepts a Python module path or qualified name.
func isDottedName(b []byte) bool {
	if len(b) == 0 || len(b) > 256 {
		return false
	}
	for _, c := range b {
		if !(c == '_' || c == '.' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}
