package pickle

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"unicode/utf8"
)

// keepString is the most of one string the emulator keeps; longer strings
// keep this prefix and are marked Trunc.
const keepString = 64 << 10

// maxName is the longest GLOBAL/INST line accepted.
const maxName = 64 << 10

// slabSize is how many Values are allocated at once.
const slabSize = 256

// machine runs one pickle.
type machine struct {
	s        *Scanner
	rd       *reader
	res      *Result
	lim      Limits
	stack    []*Value
	marks    []int
	memo     []*Value
	memoMap  map[uint64]*Value
	memoLen  int
	values   int
	strBytes int64
	slab     []Value
	scratch  []byte
	one      [1]*Value // APPEND's item, without allocating
	op       Op
	opOff    int64
	joblib   bool
}

func newMachine(s *Scanner) *machine {
	return &machine{s: s, rd: s.rd, res: &s.res, lim: s.lim, joblib: s.opts.Joblib}
}

func (m *machine) fail(format string, args ...any) error {
	return &FormatError{Offset: m.opOff, Op: m.op, Reason: fmt.Sprintf(format, args...)}
}

// readErr reports a failed read of the current opcode's argument.
func (m *machine) readErr(err error) error {
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return &FormatError{Offset: m.opOff, Op: m.op, Reason: "input ends inside the opcode's argument", Err: io.ErrUnexpectedEOF}
	}
	return fmt.Errorf("pickle: reading at offset %d: %w", m.rd.offset(), err)
}

func (m *machine) alloc(v Value) (*Value, error) {
	m.values++
	if m.values > m.lim.MaxValues {
		return nil, m.fail("more than %d values in one pickle", m.lim.MaxValues)
	}
	if len(m.slab) == 0 {
		m.slab = make([]Value, slabSize)
	}
	p := &m.slab[0]
	m.slab = m.slab[1:]
	*p = v
	return p, nil
}

func (m *machine) intValue(i int64) (*Value, error) {
	if i >= 0 && i < int64(len(smallInts)) {
		return smallInts[i], nil
	}
	return m.alloc(Value{Kind: KindInt, Int: i})
}

// stringValue makes a string value from b (a prefix of a string of total
// length n), within the string budget.
func (m *machine) stringValue(b []byte, n int64, trunc bool) (*Value, error) {
	if m.strBytes+int64(len(b)) > m.lim.MaxStringBytes {
		b, trunc = nil, true
	}
	m.strBytes += int64(len(b))
	return m.alloc(Value{Kind: KindString, Str: string(b), Len: n, Trunc: trunc})
}

// base is where the current mark's items begin.
func (m *machine) base() int {
	if len(m.marks) == 0 {
		return 0
	}
	return m.marks[len(m.marks)-1]
}

func (m *machine) push(v *Value) error {
	if len(m.stack)+len(m.marks) >= m.lim.MaxStack {
		return m.fail("stack deeper than %d", m.lim.MaxStack)
	}
	m.stack = append(m.stack, v)
	return nil
}

func (m *machine) pop() (*Value, error) {
	if len(m.stack) <= m.base() {
		return nil, m.fail("stack underflow")
	}
	v := m.stack[len(m.stack)-1]
	m.stack = m.stack[:len(m.stack)-1]
	return v, nil
}

// need checks that the current mark holds at least n items.
func (m *machine) need(n int) error {
	if len(m.stack)-m.base() < n {
		return m.fail("stack underflow")
	}
	return nil
}

// popMark removes the items above the last mark and the mark. The slice
// aliases the stack: copy it before pushing.
func (m *machine) popMark() ([]*Value, error) {
	if len(m.marks) == 0 {
		return nil, m.fail("no MARK on the stack")
	}
	b := m.marks[len(m.marks)-1]
	m.marks = m.marks[:len(m.marks)-1]
	items := m.stack[b:]
	m.stack = m.stack[:b]
	return items, nil
}

func (m *machine) container(k Kind, items []*Value) (*Value, error) {
	v, err := m.alloc(Value{Kind: k, Len: int64(len(items))})
	if err != nil {
		return nil, err
	}
	n := min(len(items), m.lim.MaxItems)
	if k == KindDict {
		n = min(len(items), 2*m.lim.MaxItems)
	}
	if n > 0 {
		v.Items = append([]*Value(nil), items[:n]...)
	}
	v.Trunc = n < len(items)
	return v, nil
}

// extend adds items to a container value (APPEND, APPENDS, SETITEM(S),
// ADDITEMS). Anything else is an object whose methods would be called;
// its class is already recorded, so nothing is tracked.
func (m *machine) extend(target *Value, items []*Value, kinds ...Kind) {
	ok := false
	for _, k := range kinds {
		ok = ok || target.Kind == k
	}
	if !ok {
		return
	}
	limit := m.lim.MaxItems
	if target.Kind == KindDict {
		limit = 2 * m.lim.MaxItems
	}
	target.Len += int64(len(items))
	if room := limit - len(target.Items); room > 0 {
		target.Items = append(target.Items, items[:min(room, len(items))]...)
	}
	target.Trunc = target.Len > int64(len(target.Items))
}

func (m *machine) memoPut(idx uint64, v *Value) error {
	if idx < uint64(len(m.memo)) {
		if m.memo[idx] == nil {
			m.memoLen++
		}
		m.memo[idx] = v
	} else if idx == uint64(len(m.memo)) && idx < uint64(m.lim.MaxMemo) {
		m.memo = append(m.memo, v)
		m.memoLen++
	} else {
		if m.memoMap == nil {
			m.memoMap = make(map[uint64]*Value)
		}
		if _, ok := m.memoMap[idx]; !ok {
			m.memoLen++
		}
		m.memoMap[idx] = v
	}
	if m.memoLen > m.lim.MaxMemo {
		return m.fail("more than %d memo entries", m.lim.MaxMemo)
	}
	return nil
}

func (m *machine) memoGet(idx uint64) (*Value, error) {
	if idx < uint64(len(m.memo)) && m.memo[idx] != nil {
		return m.memo[idx], nil
	}
	if v, ok := m.memoMap[idx]; ok {
		return v, nil
	}
	return nil, m.fail("memo has no entry %d", idx)
}

// fixed reads an opcode's fixed-size argument.
func (m *machine) fixed(n int) ([]byte, error) {
	b, err := m.rd.next(n)
	if err != nil {
		return nil, m.readErr(err)
	}
	return b, nil
}

// length validates a counted argument's length against what is left.
func (m *machine) length(n uint64) (int64, error) {
	if n > math.MaxInt64 {
		return 0, m.fail("length %d is too large", n)
	}
	if left := m.rd.left(); left >= 0 && int64(n) > left {
		return 0, m.fail("length %d exceeds the %d bytes left", n, left)
	}
	return int64(n), nil
}

// counted reads a length of size bytes (little-endian; signed when signed
// is set) and validates it.
func (m *machine) counted(size int, signed bool) (int64, error) {
	b, err := m.fixed(size)
	if err != nil {
		return 0, err
	}
	var n uint64
	switch size {
	case 1:
		n = uint64(b[0])
	case 4:
		u := binary.LittleEndian.Uint32(b)
		if signed && int32(u) < 0 {
			return 0, m.fail("negative byte count %d", int32(u))
		}
		n = uint64(u)
	case 8:
		n = binary.LittleEndian.Uint64(b)
	}
	return m.length(n)
}

// readString reads a counted string payload and makes a string value.
func (m *machine) readString(n int64) (*Value, error) {
	keep := keepString
	if budget := m.lim.MaxStringBytes - m.strBytes; budget < int64(keep) {
		keep = int(max(budget, 0))
	}
	var err error
	m.scratch, err = m.rd.readInto(m.scratch[:0], n, keep)
	if err != nil {
		return nil, m.readErr(err)
	}
	return m.stringValue(m.scratch, n, int64(len(m.scratch)) < n)
}

// readLine reads a protocol 0 argument line, keeping at most keep bytes.
func (m *machine) readLine(keep int) ([]byte, int64, error) {
	var err error
	var n int64
	m.scratch, n, err = m.rd.readLine(m.scratch[:0], keep)
	if err != nil {
		return nil, 0, m.readErr(err)
	}
	return m.scratch, n, nil
}

// nameLine reads one line of a GLOBAL or INST argument.
func (m *machine) nameLine() (string, error) {
	b, n, err := m.readLine(maxName)
	if err != nil {
		return "", err
	}
	if n > maxName {
		return "", m.fail("name longer than %d bytes", maxName)
	}
	if !utf8.Valid(b) {
		return "", m.fail("name %q is not UTF-8", b)
	}
	return string(b), nil
}

// indexLine reads a GET or PUT decimal index.
func (m *machine) indexLine() (uint64, error) {
	b, n, err := m.readLine(64)
	if err != nil {
		return 0, err
	}
	v, big, ok := parseDecimal(b)
	if n > 64 || !ok || big || v < 0 {
		return 0, m.fail("bad memo index %q", b)
	}
	return uint64(v), nil
}

func (m *machine) global(module, name string, op Op) (*Value, error) {
	m.res.addGlobal(Global{Module: module, Name: name, Op: op, Offset: m.opOff})
	return m.alloc(Value{Kind: KindGlobal, Op: op, Str: module, Name: name})
}

// call records a call site of callee.
func (m *machine) call(op Op, callee *Value) {
	c := Call{Op: op, Offset: m.opOff}
	if mod, name, ok := callee.Global(); ok {
		c.Known, c.Module, c.Name = true, mod, name
	} else {
		c.Callee = callee.calleeName()
	}
	m.res.addCall(c)
}

func (m *machine) object(op Op, callee, args *Value) (*Value, error) {
	m.call(op, callee)
	return m.alloc(Value{Kind: KindObject, Op: op, Callee: callee, Args: args})
}

// run executes opcodes until STOP and returns the loaded value.
func (m *machine) run() (*Value, error) {
	for {
		m.opOff = m.rd.offset()
		c, err := m.rd.readByte()
		if err != nil {
			m.op = 0
			if errors.Is(err, io.ErrUnexpectedEOF) {
				return nil, &FormatError{Offset: m.opOff, Reason: "input ends before STOP", Err: io.ErrUnexpectedEOF}
			}
			return nil, m.readErr(err)
		}
		m.op = Op(c)
		v, done, err := m.step()
		if err != nil {
			return nil, err
		}
		if done {
			return v, nil
		}
	}
}

// step executes one opcode. done is set at STOP, with the loaded value.
func (m *machine) step() (v *Value, done bool, err error) {
	switch m.op {
	case MARK:
		if len(m.stack)+len(m.marks) >= m.lim.MaxStack {
			return nil, false, m.fail("stack deeper than %d", m.lim.MaxStack)
		}
		m.marks = append(m.marks, len(m.stack))
	case STOP:
		v, err := m.pop()
		return v, err == nil, err
	case POP:
		if len(m.stack) > m.base() {
			m.stack = m.stack[:len(m.stack)-1]
		} else if _, err := m.popMark(); err != nil {
			return nil, false, m.fail("stack underflow")
		}
	case POP_MARK:
		_, err = m.popMark()
	case DUP:
		if err = m.need(1); err == nil {
			err = m.push(m.stack[len(m.stack)-1])
		}
	case FLOAT:
		if _, _, err = m.readLine(0); err == nil {
			err = m.push(floatValue)
		}
	case BINFLOAT:
		if _, err = m.fixed(8); err == nil {
			err = m.push(floatValue)
		}
	case INT:
		err = m.opInt()
	case LONG:
		err = m.opLong()
	case BININT:
		var b []byte
		if b, err = m.fixed(4); err == nil {
			err = m.pushInt(int64(int32(binary.LittleEndian.Uint32(b))))
		}
	case BININT1:
		var b []byte
		if b, err = m.fixed(1); err == nil {
			err = m.pushInt(int64(b[0]))
		}
	case BININT2:
		var b []byte
		if b, err = m.fixed(2); err == nil {
			err = m.pushInt(int64(binary.LittleEndian.Uint16(b)))
		}
	case LONG1, LONG4:
		err = m.opLongBinary()
	case NONE:
		err = m.push(noneValue)
	case NEWTRUE:
		err = m.push(trueValue)
	case NEWFALSE:
		err = m.push(falseValue)
	case STRING:
		err = m.opString()
	case UNICODE:
		err = m.opUnicode()
	case BINSTRING, BINUNICODE, SHORT_BINSTRING, SHORT_BINUNICODE, BINUNICODE8:
		var n int64
		switch m.op {
		case BINSTRING:
			n, err = m.counted(4, true)
		case BINUNICODE:
			n, err = m.counted(4, false)
		case SHORT_BINSTRING, SHORT_BINUNICODE:
			n, err = m.counted(1, false)
		default:
			n, err = m.counted(8, false)
		}
		if err == nil {
			if v, err = m.readString(n); err == nil {
				err = m.push(v)
			}
		}
	case BINBYTES, SHORT_BINBYTES, BINBYTES8, BYTEARRAY8:
		var n int64
		switch m.op {
		case BINBYTES:
			n, err = m.counted(4, false)
		case SHORT_BINBYTES:
			n, err = m.counted(1, false)
		default:
			n, err = m.counted(8, false)
		}
		if err == nil {
			if err = m.rd.skip(n); err != nil {
				return nil, false, m.readErr(err)
			}
			if v, err = m.alloc(Value{Kind: KindBytes, Len: n}); err == nil {
				err = m.push(v)
			}
		}
	case NEXT_BUFFER:
		m.res.Buffers++
		if v, err = m.alloc(Value{Kind: KindBuffer}); err == nil {
			err = m.push(v)
		}
	case READONLY_BUFFER:
		err = m.need(1)
	case EMPTY_TUPLE:
		if v, err = m.container(KindTuple, nil); err == nil {
			err = m.push(v)
		}
	case EMPTY_LIST:
		if v, err = m.container(KindList, nil); err == nil {
			err = m.push(v)
		}
	case EMPTY_DICT:
		if v, err = m.container(KindDict, nil); err == nil {
			err = m.push(v)
		}
	case EMPTY_SET:
		if v, err = m.container(KindSet, nil); err == nil {
			err = m.push(v)
		}
	case TUPLE, LIST, FROZENSET, DICT:
		var items []*Value
		if items, err = m.popMark(); err != nil {
			break
		}
		kind := markContainer[m.op]
		if kind == KindDict && len(items)%2 != 0 {
			return nil, false, m.fail("DICT with an odd number of items")
		}
		if v, err = m.container(kind, items); err == nil {
			err = m.push(v)
		}
	case TUPLE1, TUPLE2, TUPLE3:
		n := int(m.op-TUPLE1) + 1
		if err = m.need(n); err != nil {
			break
		}
		items := m.stack[len(m.stack)-n:]
		if v, err = m.container(KindTuple, items); err == nil {
			m.stack = m.stack[:len(m.stack)-n]
			err = m.push(v)
		}
	case APPEND:
		if err = m.need(2); err == nil {
			item := m.stack[len(m.stack)-1]
			m.stack = m.stack[:len(m.stack)-1]
			m.one[0] = item
			m.extend(m.stack[len(m.stack)-1], m.one[:], KindList)
		}
	case APPENDS, SETITEMS, ADDITEMS:
		var items []*Value
		if items, err = m.popMark(); err != nil {
			break
		}
		if err = m.need(1); err != nil {
			break
		}
		target := m.stack[len(m.stack)-1]
		switch m.op {
		case APPENDS:
			m.extend(target, items, KindList)
		case SETITEMS:
			if len(items)%2 != 0 {
				return nil, false, m.fail("SETITEMS with an odd number of items")
			}
			m.extend(target, items, KindDict)
		default:
			m.extend(target, items, KindSet)
		}
	case SETITEM:
		if err = m.need(3); err == nil {
			kv := []*Value{m.stack[len(m.stack)-2], m.stack[len(m.stack)-1]}
			m.stack = m.stack[:len(m.stack)-2]
			m.extend(m.stack[len(m.stack)-1], kv, KindDict)
		}
	case GET, BINGET, LONG_BINGET:
		var idx uint64
		if idx, err = m.memoIndex(); err == nil {
			if v, err = m.memoGet(idx); err == nil {
				err = m.push(v)
			}
		}
	case PUT, BINPUT, LONG_BINPUT:
		var idx uint64
		if idx, err = m.memoIndex(); err == nil {
			if err = m.need(1); err == nil {
				err = m.memoPut(idx, m.stack[len(m.stack)-1])
			}
		}
	case MEMOIZE:
		if err = m.need(1); err == nil {
			err = m.memoPut(uint64(m.memoLen), m.stack[len(m.stack)-1])
		}
	case GLOBAL:
		var mod, name string
		if mod, err = m.nameLine(); err != nil {
			break
		}
		if name, err = m.nameLine(); err != nil {
			break
		}
		if v, err = m.global(mod, name, GLOBAL); err == nil {
			err = m.push(v)
		}
	case STACK_GLOBAL:
		err = m.opStackGlobal()
	case INST:
		err = m.opInst()
	case OBJ:
		var items []*Value
		if items, err = m.popMark(); err != nil {
			break
		}
		if len(items) == 0 {
			return nil, false, m.fail("OBJ without a class")
		}
		cls := items[0]
		var args *Value
		if args, err = m.container(KindTuple, items[1:]); err != nil {
			break
		}
		if v, err = m.object(OBJ, cls, args); err == nil {
			err = m.push(v)
		}
	case NEWOBJ:
		if err = m.need(2); err != nil {
			break
		}
		cls, args := m.stack[len(m.stack)-2], m.stack[len(m.stack)-1]
		m.stack = m.stack[:len(m.stack)-2]
		if v, err = m.object(NEWOBJ, cls, args); err == nil {
			err = m.push(v)
		}
	case NEWOBJ_EX:
		if err = m.need(3); err != nil {
			break
		}
		cls, args := m.stack[len(m.stack)-3], m.stack[len(m.stack)-2]
		m.stack = m.stack[:len(m.stack)-3]
		if v, err = m.object(NEWOBJ_EX, cls, args); err == nil {
			err = m.push(v)
		}
	case REDUCE:
		if err = m.need(2); err != nil {
			break
		}
		fn, args := m.stack[len(m.stack)-2], m.stack[len(m.stack)-1]
		m.stack = m.stack[:len(m.stack)-1]
		if v, err = m.object(REDUCE, fn, args); err == nil {
			m.stack[len(m.stack)-1] = v
		}
	case BUILD:
		err = m.opBuild()
	case PERSID:
		var b []byte
		var n int64
		if b, n, err = m.readLine(keepString); err != nil {
			break
		}
		var pid *Value
		if pid, err = m.stringValue(b, n, int64(len(b)) < n); err == nil {
			err = m.persistent(pid)
		}
	case BINPERSID:
		var pid *Value
		if pid, err = m.pop(); err == nil {
			err = m.persistent(pid)
		}
	case EXT1, EXT2, EXT4:
		err = m.opExt()
	case PROTO:
		var b []byte
		if b, err = m.fixed(1); err != nil {
			break
		}
		if b[0] > HighestProtocol {
			return nil, false, m.fail("unsupported pickle protocol %d", b[0])
		}
		m.res.Protocol = max(m.res.Protocol, int(b[0]))
	case FRAME:
		// Frames only group opcodes; a frame longer than the input is
		// reported, and what is inside is parsed as usual.
		_, err = m.counted(8, false)
	default:
		return nil, false, m.fail("unknown opcode 0x%02x", byte(m.op))
	}
	return nil, false, err
}

func (m *machine) pushInt(i int64) error {
	v, err := m.intValue(i)
	if err != nil {
		return err
	}
	return m.push(v)
}

func (m *machine) memoIndex() (uint64, error) {
	switch m.op {
	case GET, PUT:
		return m.indexLine()
	case BINGET, BINPUT:
		b, err := m.fixed(1)
		if err != nil {
			return 0, err
		}
		return uint64(b[0]), nil
	default:
		b, err := m.fixed(4)
		if err != nil {
			return 0, err
		}
		return uint64(binary.LittleEndian.Uint32(b)), nil
	}
}

func (m *machine) opInt() error {
	b, n, err := m.readLine(64)
	if err != nil {
		return err
	}
	if n <= 64 {
		switch string(b) {
		case "00":
			return m.push(falseValue)
		case "01":
			return m.push(trueValue)
		}
		if v, big, ok := parseDecimal(b); ok && !big {
			return m.pushInt(v)
		}
	}
	v, err := m.alloc(Value{Kind: KindInt, Big: true})
	if err != nil {
		return err
	}
	return m.push(v)
}

func (m *machine) opLong() error {
	b, n, err := m.readLine(64)
	if err != nil {
		return err
	}
	if n <= 64 {
		if len(b) > 0 && b[len(b)-1] == 'L' {
			b = b[:len(b)-1]
		}
		if v, big, ok := parseDecimal(b); ok && !big {
			return m.pushInt(v)
		}
	}
	v, err := m.alloc(Value{Kind: KindInt, Big: true})
	if err != nil {
		return err
	}
	return m.push(v)
}

func (m *machine) opLongBinary() error {
	var n int64
	var err error
	if m.op == LONG1 {
		n, err = m.counted(1, false)
	} else {
		n, err = m.counted(4, true)
	}
	if err != nil {
		return err
	}
	if n > 64 {
		if err := m.rd.skip(n); err != nil {
			return m.readErr(err)
		}
		v, err := m.alloc(Value{Kind: KindInt, Big: true})
		if err != nil {
			return err
		}
		return m.push(v)
	}
	b, err := m.fixed(int(n))
	if err != nil {
		return err
	}
	i, big := decodeLong(b)
	if big {
		v, err := m.alloc(Value{Kind: KindInt, Big: true})
		if err != nil {
			return err
		}
		return m.push(v)
	}
	return m.pushInt(i)
}

func (m *machine) opString() error {
	b, n, err := m.readLine(keepString)
	if err != nil {
		return err
	}
	q := m.rd.lastLine
	if n < 2 || (b[0] != '\'' && b[0] != '"') || q != b[0] {
		return m.fail("STRING argument is not quoted")
	}
	body := b[1:]
	if int64(len(b)) == n {
		body = b[1 : len(b)-1]
	}
	dec, err := escapeDecode(body)
	if err != nil {
		if int64(len(b)) < n {
			// The escape may be cut by truncation; keep what decodes.
			dec = nil
		} else {
			return m.fail("STRING argument: %v", err)
		}
	}
	v, err := m.stringValue(dec, int64(len(dec)), int64(len(b)) < n)
	if err != nil {
		return err
	}
	return m.push(v)
}

func (m *machine) opUnicode() error {
	b, n, err := m.readLine(keepString)
	if err != nil {
		return err
	}
	s, err := rawUnicodeEscapeDecode(b)
	if err != nil {
		if int64(len(b)) < n {
			s = ""
		} else {
			return m.fail("UNICODE argument: %v", err)
		}
	}
	v, err := m.stringValue([]byte(s), int64(len(s)), int64(len(b)) < n)
	if err != nil {
		return err
	}
	return m.push(v)
}

func (m *machine) opStackGlobal() error {
	if err := m.need(2); err != nil {
		return err
	}
	mod, name := m.stack[len(m.stack)-2], m.stack[len(m.stack)-1]
	m.stack = m.stack[:len(m.stack)-2]
	if mod.IsString() && name.IsString() {
		v, err := m.global(mod.Str, name.Str, STACK_GLOBAL)
		if err != nil {
			return err
		}
		return m.push(v)
	}
	g := Global{Module: describe(mod), Name: describe(name), Op: STACK_GLOBAL, Offset: m.opOff, Dynamic: true}
	m.res.addGlobal(g)
	v, err := m.alloc(Value{Kind: KindGlobal, Op: STACK_GLOBAL, Dynamic: true, Str: g.Module, Name: g.Name})
	if err != nil {
		return err
	}
	return m.push(v)
}

// describe renders a STACK_GLOBAL operand: the string itself when it is
// one, otherwise a bracketed description.
func describe(v *Value) string {
	if v.IsString() {
		return v.Str
	}
	if v.Kind == KindString {
		return strconv.Quote(v.Str) + "…"
	}
	return v.calleeName()
}

func (m *machine) opInst() error {
	mod, err := m.nameLine()
	if err != nil {
		return err
	}
	name, err := m.nameLine()
	if err != nil {
		return err
	}
	items, err := m.popMark()
	if err != nil {
		return err
	}
	args, err := m.container(KindTuple, items)
	if err != nil {
		return err
	}
	cls, err := m.global(mod, name, INST)
	if err != nil {
		return err
	}
	v, err := m.object(INST, cls, args)
	if err != nil {
		return err
	}
	return m.push(v)
}

func (m *machine) opBuild() error {
	if err := m.need(2); err != nil {
		return err
	}
	state := m.stack[len(m.stack)-1]
	m.stack = m.stack[:len(m.stack)-1]
	inst := m.stack[len(m.stack)-1]
	c := Call{Op: BUILD, Offset: m.opOff}
	switch {
	case inst.Kind == KindGlobal && !inst.Dynamic:
		// BUILD on an imported object itself sets its attributes.
		c.Known, c.Module, c.Name, c.OnGlobal = true, inst.Str, inst.Name, true
	case inst.Kind == KindObject:
		if mod, name, ok := inst.Callee.Global(); ok {
			c.Known, c.Module, c.Name = true, mod, name
		} else {
			c.Callee = "<instance of " + inst.Callee.calleeName() + ">"
		}
	default:
		c.Callee = "<" + inst.Kind.String() + ">"
	}
	m.res.addCall(c)
	if inst.Kind == KindObject {
		inst.State = state
		if m.joblib && isNumpyArrayWrapper(inst.Callee) {
			arr, err := m.joblibArray(inst)
			if err != nil {
				return err
			}
			m.stack[len(m.stack)-1] = arr
		}
	}
	return nil
}

func (m *machine) persistent(pid *Value) error {
	m.res.PersIDCount++
	if len(m.res.PersIDs) < maxPersIDs {
		m.res.PersIDs = append(m.res.PersIDs, PersID{Offset: m.opOff, Value: pid})
	}
	v, err := m.alloc(Value{Kind: KindPersistent, Op: m.op, Args: pid})
	if err != nil {
		return err
	}
	return m.push(v)
}

func (m *machine) opExt() error {
	var code int64
	switch m.op {
	case EXT1:
		b, err := m.fixed(1)
		if err != nil {
			return err
		}
		code = int64(b[0])
	case EXT2:
		b, err := m.fixed(2)
		if err != nil {
			return err
		}
		code = int64(binary.LittleEndian.Uint16(b))
	default:
		b, err := m.fixed(4)
		if err != nil {
			return err
		}
		code = int64(int32(binary.LittleEndian.Uint32(b)))
	}
	if len(m.res.Exts) < maxExts {
		m.res.Exts = append(m.res.Exts, Ext{Code: code, Offset: m.opOff})
	} else {
		m.res.Dropped++
	}
	v, err := m.alloc(Value{Kind: KindExt, Op: m.op, Int: code})
	if err != nil {
		return err
	}
	return m.push(v)
}

// markContainer is the kind of container each mark-popping opcode builds.
var markContainer = map[Op]Kind{TUPLE: KindTuple, LIST: KindList, FROZENSET: KindFrozenSet, DICT: KindDict}
