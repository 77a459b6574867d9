package pickle

import (
	"strconv"
	"strings"
)

// Kind is the kind of a symbolic Value.
type Kind uint8

// The kinds of Value.
const (
	KindNone       Kind = iota
	KindBool            // Int is 0 or 1
	KindInt             // Int, unless Big
	KindFloat           // value not kept
	KindString          // Str (a prefix when Trunc); Len is the full length in bytes
	KindBytes           // contents not kept; Len is the length
	KindTuple           // Items
	KindList            // Items
	KindDict            // Items: key, value, key, value, …
	KindSet             // Items
	KindFrozenSet       // Items
	KindGlobal          // Str is the module, Name the name (Dynamic: unresolved)
	KindObject          // the result of a call: Callee(Args) with BUILD State
	KindPersistent      // persistent_load(Args)
	KindExt             // extension code Int
	KindBuffer          // out-of-band buffer
)

var kindNames = [...]string{"None", "bool", "int", "float", "str", "bytes", "tuple", "list",
	"dict", "set", "frozenset", "global", "object", "persistent", "ext", "buffer"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "kind" + strconv.Itoa(int(k))
}

// defaultMaxItems is how many items a container keeps by default; Len
// counts them all.
const defaultMaxItems = 64

// Value is what the emulator knows about one Python object. Values are
// shared (DUP, memo) exactly as Python objects are; callers must not
// modify them.
type Value struct {
	Kind Kind
	// Op created the value (for KindObject: REDUCE, NEWOBJ, …).
	Op Op
	// Trunc: Str is a prefix of the string, or Items a prefix of the
	// container.
	Trunc bool
	// Big: an integer too large for Int.
	Big bool
	// Dynamic: a KindGlobal whose operands were not strings.
	Dynamic bool
	Int     int64
	Len     int64 // KindString, KindBytes: full length; containers: item count
	Str     string
	Name    string
	Items   []*Value
	// KindObject: the callable, its arguments and the last BUILD state.
	// KindPersistent: Args is the persistent id.
	Callee, Args, State *Value
}

// Shared immutable values.
var (
	noneValue  = &Value{Kind: KindNone}
	trueValue  = &Value{Kind: KindBool, Int: 1}
	falseValue = &Value{Kind: KindBool}
	floatValue = &Value{Kind: KindFloat}
	smallInts  = func() []*Value {
		v := make([]*Value, 1024)
		for i := range v {
			v[i] = &Value{Kind: KindInt, Int: int64(i)}
		}
		return v
	}()
)

// IsString reports whether v is a complete (untruncated) string.
func (v *Value) IsString() bool { return v != nil && v.Kind == KindString && !v.Trunc }

// Global returns the module and name of a resolved KindGlobal value.
func (v *Value) Global() (module, name string, ok bool) {
	if v == nil || v.Kind != KindGlobal || v.Dynamic {
		return "", "", false
	}
	return v.Str, v.Name, true
}

// Lookup returns the value of the string key in a KindDict.
func (v *Value) Lookup(key string) (*Value, bool) {
	if v == nil || v.Kind != KindDict {
		return nil, false
	}
	for i := 0; i+1 < len(v.Items); i += 2 {
		if k := v.Items[i]; k.IsString() && k.Str == key {
			return v.Items[i+1], true
		}
	}
	return nil, false
}

// String renders v briefly for messages, e.g. "('storage', torch.FloatStorage, '0', 'cpu', 4)".
func (v *Value) String() string {
	var b strings.Builder
	v.render(&b, 0)
	return b.String()
}

func (v *Value) render(b *strings.Builder, depth int) {
	if b.Len() > 200 {
		b.WriteString("…")
		return
	}
	if v == nil {
		b.WriteString("?")
		return
	}
	if depth > 4 {
		b.WriteString("…")
		return
	}
	switch v.Kind {
	case KindNone:
		b.WriteString("None")
	case KindBool:
		if v.Int != 0 {
			b.WriteString("True")
		} else {
			b.WriteString("False")
		}
	case KindInt:
		if v.Big {
			b.WriteString("<big int>")
		} else {
			b.WriteString(strconv.FormatInt(v.Int, 10))
		}
	case KindFloat:
		b.WriteString("<float>")
	case KindString:
		s := v.Str
		if len(s) > 60 {
			s = s[:60]
		}
		b.WriteString(strconv.Quote(s))
		if v.Trunc || len(v.Str) > 60 {
			b.WriteString("…")
		}
	case KindBytes:
		b.WriteString("<" + strconv.FormatInt(v.Len, 10) + " bytes>")
	case KindTuple, KindList, KindSet, KindFrozenSet, KindDict:
		br := brackets[v.Kind]
		b.WriteString(br[0])
		for i, it := range v.Items {
			if i > 0 {
				if v.Kind == KindDict && i%2 == 1 {
					b.WriteString(": ")
				} else {
					b.WriteString(", ")
				}
			}
			it.render(b, depth+1)
		}
		if v.Trunc {
			b.WriteString(", …")
		}
		b.WriteString(br[1])
	case KindGlobal:
		if v.Dynamic {
			b.WriteString("<dynamic global>")
		} else {
			b.WriteString(v.Str + "." + v.Name)
		}
	case KindObject:
		b.WriteString("<result of ")
		b.WriteString(v.Callee.calleeName())
		b.WriteString(">")
	case KindPersistent:
		b.WriteString("<persistent ")
		v.Args.render(b, depth+1)
		b.WriteString(">")
	case KindExt:
		b.WriteString("<extension code " + strconv.FormatInt(v.Int, 10) + ">")
	case KindBuffer:
		b.WriteString("<out-of-band buffer>")
	}
}

var brackets = map[Kind][2]string{
	KindTuple: {"(", ")"}, KindList: {"[", "]"}, KindSet: {"{", "}"},
	KindFrozenSet: {"frozenset({", "})"}, KindDict: {"{", "}"},
}

// calleeName describes a callable: "module.name" for a global, otherwise
// a bracketed description.
func (v *Value) calleeName() string {
	if v == nil {
		return "?"
	}
	switch v.Kind {
	case KindGlobal:
		if v.Dynamic {
			return "<dynamic global>"
		}
		return v.Str + "." + v.Name
	case KindObject:
		return "<result of " + v.Callee.calleeName() + ">"
	case KindExt:
		return "<extension code " + strconv.FormatInt(v.Int, 10) + ">"
	case KindPersistent:
		return "<persistent object>"
	}
	return "<" + v.Kind.String() + ">"
}
