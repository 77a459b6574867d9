// Package pickletest assembles pickle byte streams opcode by opcode, so
// that tests can build exactly the benign or hostile pickles they need
// (no Python, nothing downloaded).
//
// It is for tests only: it must not be imported by non-test code, and it
// does not check that what it assembles is a valid pickle — building
// invalid ones is half its purpose.
package pickletest

import (
	"encoding/binary"
	"strconv"

	"sov.dev/sov/internal/pickle"
)

// Builder appends opcodes to a byte slice.
type Builder struct{ b []byte }

// New returns an empty Builder.
func New() *Builder { return &Builder{} }

// Bytes returns the assembled stream.
func (p *Builder) Bytes() []byte { return p.b }

// Op appends bare opcodes.
func (p *Builder) Op(ops ...pickle.Op) *Builder {
	for _, o := range ops {
		p.b = append(p.b, byte(o))
	}
	return p
}

// Raw appends raw bytes.
func (p *Builder) Raw(b ...byte) *Builder { p.b = append(p.b, b...); return p }

// Proto appends PROTO v.
func (p *Builder) Proto(v byte) *Builder { return p.Raw(byte(pickle.PROTO), v) }

// Frame appends FRAME n.
func (p *Builder) Frame(n uint64) *Builder {
	p.Op(pickle.FRAME)
	p.b = binary.LittleEndian.AppendUint64(p.b, n)
	return p
}

// Global appends GLOBAL module\nname\n.
func (p *Builder) Global(module, name string) *Builder {
	p.Op(pickle.GLOBAL)
	p.b = append(p.b, module+"\n"+name+"\n"...)
	return p
}

// Inst appends INST module\nname\n (a MARK and arguments must precede it).
func (p *Builder) Inst(module, name string) *Builder {
	p.Op(pickle.INST)
	p.b = append(p.b, module+"\n"+name+"\n"...)
	return p
}

// Str appends a str with SHORT_BINUNICODE or BINUNICODE.
func (p *Builder) Str(s string) *Builder {
	if len(s) < 256 {
		p.Raw(byte(pickle.SHORT_BINUNICODE), byte(len(s)))
	} else {
		p.Op(pickle.BINUNICODE)
		p.b = binary.LittleEndian.AppendUint32(p.b, uint32(len(s)))
	}
	p.b = append(p.b, s...)
	return p
}

// BinUnicode appends BINUNICODE s (protocol 1+).
func (p *Builder) BinUnicode(s string) *Builder {
	p.Op(pickle.BINUNICODE)
	p.b = binary.LittleEndian.AppendUint32(p.b, uint32(len(s)))
	p.b = append(p.b, s...)
	return p
}

// ShortBinString appends SHORT_BINSTRING s.
func (p *Builder) ShortBinString(s string) *Builder {
	p.Raw(byte(pickle.SHORT_BINSTRING), byte(len(s)))
	p.b = append(p.b, s...)
	return p
}

// String0 appends a protocol 0 STRING whose argument line is quoted
// exactly as given (escapes included).
func (p *Builder) String0(quoted string) *Builder {
	p.Op(pickle.STRING)
	p.b = append(p.b, quoted+"\n"...)
	return p
}

// Unicode0 appends a protocol 0 UNICODE line as given (raw-unicode-escape).
func (p *Builder) Unicode0(line string) *Builder {
	p.Op(pickle.UNICODE)
	p.b = append(p.b, line+"\n"...)
	return p
}

// Int appends the shortest binary integer opcode for v.
func (p *Builder) Int(v int64) *Builder {
	switch {
	case v >= 0 && v < 256:
		return p.Raw(byte(pickle.BININT1), byte(v))
	case v >= 0 && v < 65536:
		p.Op(pickle.BININT2)
		p.b = binary.LittleEndian.AppendUint16(p.b, uint16(v))
	case v >= -1<<31 && v < 1<<31:
		p.Op(pickle.BININT)
		p.b = binary.LittleEndian.AppendUint32(p.b, uint32(int32(v)))
	default:
		p.Raw(byte(pickle.LONG1), 8)
		p.b = binary.LittleEndian.AppendUint64(p.b, uint64(v))
	}
	return p
}

// Int0 appends a protocol 0 INT line.
func (p *Builder) Int0(v int64) *Builder {
	p.Op(pickle.INT)
	p.b = append(p.b, strconv.FormatInt(v, 10)+"\n"...)
	return p
}

// Put appends BINPUT or LONG_BINPUT i.
func (p *Builder) Put(i uint32) *Builder {
	if i < 256 {
		return p.Raw(byte(pickle.BINPUT), byte(i))
	}
	p.Op(pickle.LONG_BINPUT)
	p.b = binary.LittleEndian.AppendUint32(p.b, i)
	return p
}

// Get appends BINGET or LONG_BINGET i.
func (p *Builder) Get(i uint32) *Builder {
	if i < 256 {
		return p.Raw(byte(pickle.BINGET), byte(i))
	}
	p.Op(pickle.LONG_BINGET)
	p.b = binary.LittleEndian.AppendUint32(p.b, i)
	return p
}

// BinBytes8 appends the header of a BINBYTES8 of n bytes followed by
// fill bytes of the payload (fewer than n makes a truncated pickle).
func (p *Builder) BinBytes8(n uint64, fill int) *Builder {
	p.Op(pickle.BINBYTES8)
	p.b = binary.LittleEndian.AppendUint64(p.b, n)
	p.b = append(p.b, make([]byte, fill)...)
	return p
}

// StackGlobal pushes module and name as strings and appends STACK_GLOBAL.
func (p *Builder) StackGlobal(module, name string) *Builder {
	return p.Str(module).Str(name).Op(pickle.STACK_GLOBAL)
}

// Call appends fn(*args): a tuple of the given string arguments and
// REDUCE, after whatever pushed the callable.
func (p *Builder) Call(args ...string) *Builder {
	p.Op(pickle.MARK)
	for _, a := range args {
		p.Str(a)
	}
	return p.Op(pickle.TUPLE, pickle.REDUCE)
}

// Stop appends STOP.
func (p *Builder) Stop() *Builder { return p.Op(pickle.STOP) }

// TorchStateDict assembles a protocol 2 pickle like torch.save writes for
// a state_dict: an OrderedDict of name → _rebuild_tensor_v2(storage
// persistent id, 0, shape, stride, False, OrderedDict()), each tensor
// with its own FloatStorage key "0", "1", …
func TorchStateDict(names []string, numel []int64) []byte {
	p := New().Proto(2).Global("collections", "OrderedDict").Op(pickle.EMPTY_TUPLE, pickle.REDUCE).Put(0)
	p.Op(pickle.MARK)
	for i, n := range names {
		p.BinUnicode(n)
		p.Global("torch._utils", "_rebuild_tensor_v2")
		p.Op(pickle.MARK) // args
		p.Op(pickle.MARK).BinUnicode("storage").Global("torch", "FloatStorage").
			BinUnicode(strconv.Itoa(i)).BinUnicode("cpu").Int(numel[i]).Op(pickle.TUPLE, pickle.BINPERSID)
		p.Int(0)
		p.Int(numel[i]).Op(pickle.TUPLE1)
		p.Int(1).Op(pickle.TUPLE1)
		p.Op(pickle.NEWFALSE)
		p.Global("collections", "OrderedDict").Op(pickle.EMPTY_TUPLE, pickle.REDUCE)
		p.Op(pickle.TUPLE, pickle.REDUCE)
	}
	p.Op(pickle.SETITEMS)
	return p.Stop().Bytes()
}
