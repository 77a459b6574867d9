package jinja

import (
	"fmt"
	"math"
	"strconv"
)

// Value is a template value. The set of implementations is closed: the
// exported ones below (String, Int, Float, Bool, None, Undefined, *List,
// *Dict, Func) and a few unexported ones the engine makes for itself
// (namespaces, macros, loop objects, ranges, bound methods). The renderer
// never reflects over arbitrary Go values, so a template can reach nothing
// but what these types expose.
type Value interface {
	typeName() string // Python's type name, used in error messages
}

// String is a text value (a Python str).
type String string

// Int is an integer value (a Python int limited to 64 bits; arithmetic that
// overflows is an error rather than a silent wrap).
type Int int64

// Float is a floating-point value (a Python float).
type Float float64

// Bool is a boolean value.
type Bool bool

// None is Python's None (jinja's none).
type None struct{}

// Undefined is the value of a name or attribute that does not exist. It is
// falsy, renders as the empty string, iterates as empty, and is an error to
// call or to look into.
type Undefined struct {
	name string // what was looked up, for error messages
	hint string // a complete error message, overriding name
}

// Func is a host function callable from templates, such as raise_exception.
// It receives positional arguments and keyword arguments. An error it
// returns ends the render and is passed through (wrapped) to the caller of
// Render.
type Func func(args []Value, kwargs map[string]Value) (Value, error)

// List is a Python list, or a tuple when made by NewTuple. Templates cannot
// mutate lists (like jinja2's ImmutableSandboxedEnvironment).
type List struct {
	Items  []Value
	tuple  bool
	view   string   // "dict_keys", "dict_values" or "dict_items" for dict views
	fields []string // attribute names of a named tuple (groupby results)
}

// NewList returns a list holding items.
func NewList(items ...Value) *List { return &List{Items: items} }

// NewTuple returns a tuple holding items.
func NewTuple(items ...Value) *List { return &List{Items: items, tuple: true} }

// IsTuple reports whether l is a tuple.
func (l *List) IsTuple() bool { return l.tuple }

// Dict is a Python dict: keys keep their insertion order.
type Dict struct {
	keys  []Value
	vals  []Value
	index map[hashKey]int
}

// NewDict returns an empty dict.
func NewDict() *Dict { return &Dict{index: map[hashKey]int{}} }

// Len returns the number of entries.
func (d *Dict) Len() int { return len(d.keys) }

// Set sets a string key, keeping the position of an existing key.
func (d *Dict) Set(key string, v Value) {
	d.setHashed(hashKey{kind: hkString, s: key}, String(key), v)
}

// Get returns the value of a string key.
func (d *Dict) Get(key string) (Value, bool) {
	i, ok := d.index[hashKey{kind: hkString, s: key}]
	if !ok {
		return nil, false
	}
	return d.vals[i], true
}

// Keys returns the keys in insertion order.
func (d *Dict) Keys() []Value { return append([]Value(nil), d.keys...) }

// Values returns the values in insertion order.
func (d *Dict) Values() []Value { return append([]Value(nil), d.vals...) }

func (d *Dict) setHashed(h hashKey, k, v Value) {
	if i, ok := d.index[h]; ok {
		d.vals[i] = v
		return
	}
	d.index[h] = len(d.keys)
	d.keys = append(d.keys, k)
	d.vals = append(d.vals, v)
}

// setKey sets any hashable key.
func (d *Dict) setKey(k, v Value) error {
	h, err := hashOf(k, 0)
	if err != nil {
		return err
	}
	d.setHashed(h, k, v)
	return nil
}

// lookup returns the value of any key; an unhashable key is simply absent.
func (d *Dict) lookup(k Value) (Value, bool) {
	h, err := hashOf(k, 0)
	if err != nil {
		return nil, false
	}
	i, ok := d.index[h]
	if !ok {
		return nil, false
	}
	return d.vals[i], true
}

func (d *Dict) copyDict() *Dict {
	c := &Dict{
		keys:  append([]Value(nil), d.keys...),
		vals:  append([]Value(nil), d.vals...),
		index: make(map[hashKey]int, len(d.index)),
	}
	for h, i := range d.index {
		c.index[h] = i
	}
	return c
}

// hashKey is the Go-comparable identity of a hashable Python value. Python
// makes 1, 1.0 and True the same key; so does this.
type hashKey struct {
	kind uint8
	s    string
	n    uint64
}

const (
	hkString uint8 = iota + 1
	hkInt
	hkFloat
	hkNone
	hkTuple
	hkRange
	hkUndefined
)

const maxHashDepth = 32

func hashOf(v Value, depth int) (hashKey, error) {
	switch x := v.(type) {
	case String:
		return hashKey{kind: hkString, s: string(x)}, nil
	case Int:
		return hashKey{kind: hkInt, n: uint64(x)}, nil
	case Bool:
		if x {
			return hashKey{kind: hkInt, n: 1}, nil
		}
		return hashKey{kind: hkInt}, nil
	case Float:
		f := float64(x)
		if f == math.Trunc(f) && math.Abs(f) < 1<<63 {
			return hashKey{kind: hkInt, n: uint64(int64(f))}, nil
		}
		return hashKey{kind: hkFloat, n: math.Float64bits(f)}, nil
	case None:
		return hashKey{kind: hkNone}, nil
	case Undefined: // jinja2's Undefined hashes by its type
		return hashKey{kind: hkUndefined}, nil
	case *rangeValue:
		n := x.length()
		step := x.step
		if n <= 1 {
			step = 1
		}
		return hashKey{kind: hkRange, s: fmt.Sprint(x.start, n, step)}, nil
	case *List:
		if x.tuple && depth < maxHashDepth && len(x.Items) <= 64 {
			s := make([]byte, 0, 16*len(x.Items))
			for _, it := range x.Items {
				h, err := hashOf(it, depth+1)
				if err != nil {
					return hashKey{}, err
				}
				s = strconv.AppendUint(append(s, h.kind, ':'), h.n, 16)
				s = strconv.AppendQuote(append(s, ':'), h.s)
			}
			return hashKey{kind: hkTuple, s: string(s)}, nil
		}
	}
	return hashKey{}, fmt.Errorf("unhashable type: '%s'", v.typeName())
}

func (String) typeName() string    { return "str" }
func (Int) typeName() string       { return "int" }
func (Float) typeName() string     { return "float" }
func (Bool) typeName() string      { return "bool" }
func (None) typeName() string      { return "NoneType" }
func (Undefined) typeName() string { return "Undefined" }
func (Func) typeName() string      { return "function" }
func (d *Dict) typeName() string   { return "dict" }
func (l *List) typeName() string {
	if l.tuple {
		return "tuple"
	}
	if l.view != "" {
		return l.view
	}
	return "list"
}

// truthy is Python's bool(v).
func truthy(v Value) bool {
	switch x := v.(type) {
	case String:
		return x != ""
	case Int:
		return x != 0
	case Float:
		return x != 0
	case Bool:
		return bool(x)
	case None, Undefined:
		return false
	case *List:
		return len(x.Items) > 0
	case *Dict:
		return len(x.keys) > 0
	case *rangeValue:
		return x.length() > 0
	}
	return true
}

func isUndefined(v Value) bool {
	_, ok := v.(Undefined)
	return ok
}

// undefinedError is the error for looking into an undefined value.
func (u Undefined) err() error {
	if u.hint != "" {
		return &UndefinedError{Msg: u.hint}
	}
	if u.name == "" {
		return &UndefinedError{Msg: "value is undefined"}
	}
	return &UndefinedError{Msg: fmt.Sprintf("'%s' is undefined", u.name)}
}

// number extracts a numeric operand: ints and bools as int64, floats as
// float64. ok is false for anything else.
func number(v Value) (i int64, f float64, isFloat, ok bool) {
	switch x := v.(type) {
	case Int:
		return int64(x), float64(x), false, true
	case Bool:
		if x {
			return 1, 1, false, true
		}
		return 0, 0, false, true
	case Float:
		return 0, float64(x), true, true
	}
	return 0, 0, false, false
}
