package pickle

import "strconv"

// Op is a pickle opcode.
type Op byte

// The opcodes of pickle protocols 0 to 5, named as in Python's pickletools.
const (
	MARK            Op = '('
	STOP            Op = '.'
	POP             Op = '0'
	POP_MARK        Op = '1'
	DUP             Op = '2'
	FLOAT           Op = 'F'
	INT             Op = 'I'
	BININT          Op = 'J'
	BININT1         Op = 'K'
	LONG            Op = 'L'
	BININT2         Op = 'M'
	NONE            Op = 'N'
	PERSID          Op = 'P'
	BINPERSID       Op = 'Q'
	REDUCE          Op = 'R'
	STRING          Op = 'S'
	BINSTRING       Op = 'T'
	SHORT_BINSTRING Op = 'U'
	UNICODE         Op = 'V'
	BINUNICODE      Op = 'X'
	APPEND          Op = 'a'
	BUILD           Op = 'b'
	GLOBAL          Op = 'c'
	DICT            Op = 'd'
	EMPTY_DICT      Op = '}'
	APPENDS         Op = 'e'
	GET             Op = 'g'
	BINGET          Op = 'h'
	INST            Op = 'i'
	LONG_BINGET     Op = 'j'
	LIST            Op = 'l'
	EMPTY_LIST      Op = ']'
	OBJ             Op = 'o'
	PUT             Op = 'p'
	BINPUT          Op = 'q'
	LONG_BINPUT     Op = 'r'
	SETITEM         Op = 's'
	TUPLE           Op = 't'
	EMPTY_TUPLE     Op = ')'
	SETITEMS        Op = 'u'
	BINFLOAT        Op = 'G'

	// Protocol 2.
	PROTO    Op = 0x80
	NEWOBJ   Op = 0x81
	EXT1     Op = 0x82
	EXT2     Op = 0x83
	EXT4     Op = 0x84
	TUPLE1   Op = 0x85
	TUPLE2   Op = 0x86
	TUPLE3   Op = 0x87
	NEWTRUE  Op = 0x88
	NEWFALSE Op = 0x89
	LONG1    Op = 0x8a
	LONG4    Op = 0x8b

	// Protocol 3.
	BINBYTES       Op = 'B'
	SHORT_BINBYTES Op = 'C'

	// Protocol 4.
	SHORT_BINUNICODE Op = 0x8c
	BINUNICODE8      Op = 0x8d
	BINBYTES8        Op = 0x8e
	EMPTY_SET        Op = 0x8f
	ADDITEMS         Op = 0x90
	FROZENSET        Op = 0x91
	NEWOBJ_EX        Op = 0x92
	STACK_GLOBAL     Op = 0x93
	MEMOIZE          Op = 0x94
	FRAME            Op = 0x95

	// Protocol 5.
	BYTEARRAY8      Op = 0x96
	NEXT_BUFFER     Op = 0x97
	READONLY_BUFFER Op = 0x98
)

// HighestProtocol is the newest pickle protocol this package knows.
const HighestProtocol = 5

var opNames = map[Op]string{
	MARK: "MARK", STOP: "STOP", POP: "POP", POP_MARK: "POP_MARK", DUP: "DUP",
	FLOAT: "FLOAT", INT: "INT", BININT: "BININT", BININT1: "BININT1", LONG: "LONG",
	BININT2: "BININT2", NONE: "NONE", PERSID: "PERSID", BINPERSID: "BINPERSID",
	REDUCE: "REDUCE", STRING: "STRING", BINSTRING: "BINSTRING",
	SHORT_BINSTRING: "SHORT_BINSTRING", UNICODE: "UNICODE", BINUNICODE: "BINUNICODE",
	APPEND: "APPEND", BUILD: "BUILD", GLOBAL: "GLOBAL", DICT: "DICT",
	EMPTY_DICT: "EMPTY_DICT", APPENDS: "APPENDS", GET: "GET", BINGET: "BINGET",
	INST: "INST", LONG_BINGET: "LONG_BINGET", LIST: "LIST", EMPTY_LIST: "EMPTY_LIST",
	OBJ: "OBJ", PUT: "PUT", BINPUT: "BINPUT", LONG_BINPUT: "LONG_BINPUT",
	SETITEM: "SETITEM", TUPLE: "TUPLE", EMPTY_TUPLE: "EMPTY_TUPLE", SETITEMS: "SETITEMS",
	BINFLOAT: "BINFLOAT", PROTO: "PROTO", NEWOBJ: "NEWOBJ", EXT1: "EXT1", EXT2: "EXT2",
	EXT4: "EXT4", TUPLE1: "TUPLE1", TUPLE2: "TUPLE2", TUPLE3: "TUPLE3",
	NEWTRUE: "NEWTRUE", NEWFALSE: "NEWFALSE", LONG1: "LONG1", LONG4: "LONG4",
	BINBYTES: "BINBYTES", SHORT_BINBYTES: "SHORT_BINBYTES",
	SHORT_BINUNICODE: "SHORT_BINUNICODE", BINUNICODE8: "BINUNICODE8",
	BINBYTES8: "BINBYTES8", EMPTY_SET: "EMPTY_SET", ADDITEMS: "ADDITEMS",
	FROZENSET: "FROZENSET", NEWOBJ_EX: "NEWOBJ_EX", STACK_GLOBAL: "STACK_GLOBAL",
	MEMOIZE: "MEMOIZE", FRAME: "FRAME", BYTEARRAY8: "BYTEARRAY8",
	NEXT_BUFFER: "NEXT_BUFFER", READONLY_BUFFER: "READONLY_BUFFER",
}

// String returns the opcode's pickletools name, or its byte in hex.
func (o Op) String() string {
	if n, ok := opNames[o]; ok {
		return n
	}
	return "opcode 0x" + strconv.FormatUint(uint64(o), 16)
}

// MarshalText makes opcodes render by name in JSON.
func (o Op) MarshalText() ([]byte, error) { return []byte(o.String()), nil }

// Known reports whether o is an opcode of protocols 0 to 5.
func (o Op) Known() bool { _, ok := opNames[o]; return ok }
