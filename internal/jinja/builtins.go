package jinja

import (
	"fmt"
	"strconv"
)

// builtinFunc is a global function provided by the engine.
type builtinFunc struct {
	name string
	fn   func(ev *evaluator, args []Value, kw []kwArg) (Value, error)
}

func (b *builtinFunc) typeName() string { return "builtin_function_or_method" }

func (b *builtinFunc) call(ev *evaluator, args []Value, kw []kwArg) (Value, error) {
	return b.fn(ev, args, kw)
}

// builtinGlobals are jinja2's default globals that make sense in a
// sandbox. The table is read-only.
var builtinGlobals = map[string]Value{
	"range":     &builtinFunc{name: "range", fn: builtinRange},
	"dict":      &builtinFunc{name: "dict", fn: builtinDict},
	"namespace": &builtinFunc{name: "namespace", fn: builtinNamespace},
	"cycler":    &builtinFunc{name: "cycler", fn: builtinCycler},
	"joiner":    &builtinFunc{name: "joiner", fn: builtinJoiner},
}

// maxRange is jinja2's sandbox limit on range().
const maxRange = 100000

type rangeValue struct {
	start, stop, step int64
}

func (r *rangeValue) typeName() string { return "range" }

func (r *rangeValue) length() int {
	var n uint64
	switch {
	case r.step > 0 && r.start < r.stop:
		n = (uint64(r.stop)-uint64(r.start)-1)/uint64(r.step) + 1
	case r.step < 0 && r.start > r.stop:
		n = (uint64(r.start)-uint64(r.stop)-1)/(uint64(-(r.step+1))+1) + 1
	}
	if n > 1<<40 {
		n = 1 << 40
	}
	return int(n)
}

func (r *rangeValue) at(i int) Value { return Int(r.start + int64(i)*r.step) }

func (r *rangeValue) contains(v int64) bool {
	if r.step > 0 {
		if v < r.start || v >= r.stop {
			return false
		}
		return (v-r.start)%r.step == 0
	}
	if v > r.start || v <= r.stop {
		return false
	}
	return (r.start-v)%(-r.step) == 0
}

func builtinRange(ev *evaluator, args []Value, kw []kwArg) (Value, error) {
	if len(kw) > 0 {
		return nil, errorf("range() takes no keyword arguments")
	}
	if len(args) == 0 || len(args) > 3 {
		return nil, fmt.Errorf("range expected at most 3 arguments, got %d", len(args))
	}
	var n [3]int64
	for i, a := range args {
		v, ok := intIndex(a)
		if !ok {
			return nil, fmt.Errorf("'%s' object cannot be interpreted as an integer", a.typeName())
		}
		n[i] = v
	}
	r := &rangeValue{step: 1}
	switch len(args) {
	case 1:
		r.stop = n[0]
	case 2:
		r.start, r.stop = n[0], n[1]
	case 3:
		r.start, r.stop, r.step = n[0], n[1], n[2]
	}
	if r.step == 0 {
		return nil, errorf("range() arg 3 must not be zero")
	}
	if r.length() > maxRange {
		return nil, fmt.Errorf("%w: range too big; the sandbox blocks ranges larger than %d", ErrTooLarge, maxRange)
	}
	return r, nil
}

// dictFromArgs builds a dict the way dict(*args, **kwargs) does.
func (ev *evaluator) dictFromArgs(fname string, args []Value, kw []kwArg) (*Dict, error) {
	if len(args) > 1 {
		return nil, fmt.Errorf("%s expected at most 1 argument, got %d", fname, len(args))
	}
	d := NewDict()
	if len(args) == 1 {
		switch a := args[0].(type) {
		case *Dict:
			d = a.copyDict()
		case *namespace:
			d = a.attrs.copyDict()
		default:
			items, err := ev.iterate(a)
			if err != nil {
				return nil, err
			}
			for _, it := range items {
				pair, err := ev.iterate(it)
				if err != nil {
					return nil, err
				}
				if len(pair) != 2 {
					return nil, fmt.Errorf("dictionary update sequence element has length %d; 2 is required", len(pair))
				}
				if err := d.setKey(pair[0], pair[1]); err != nil {
					return nil, err
				}
			}
		}
	}
	for _, k := range kw {
		d.Set(k.name, k.val)
	}
	return d, nil
}

func builtinDict(ev *evaluator, args []Value, kw []kwArg) (Value, error) {
	return ev.dictFromArgs("dict", args, kw)
}

// namespace is jinja2's Namespace: a bag of attributes that {% set ns.x %}
// may change from inside loops.
type namespace struct {
	attrs *Dict
}

func (n *namespace) typeName() string { return "Namespace" }

func builtinNamespace(ev *evaluator, args []Value, kw []kwArg) (Value, error) {
	d, err := ev.dictFromArgs("namespace", args, kw)
	if err != nil {
		return nil, err
	}
	return &namespace{attrs: d}, nil
}

type cycler struct {
	items []Value
	pos   int
}

func (c *cycler) typeName() string { return "Cycler" }

func builtinCycler(ev *evaluator, args []Value, kw []kwArg) (Value, error) {
	if len(args) == 0 {
		return nil, errorf("at least one item has to be provided")
	}
	return &cycler{items: append([]Value(nil), args...)}, nil
}

type joiner struct {
	sep  string
	used bool
}

func (j *joiner) typeName() string { return "Joiner" }

func (j *joiner) call(ev *evaluator, args []Value, kw []kwArg) (Value, error) {
	if !j.used {
		j.used = true
		return String(""), nil
	}
	return String(j.sep), nil
}

func builtinJoiner(ev *evaluator, args []Value, kw []kwArg) (Value, error) {
	a, err := bindArgs("joiner", []string{"sep"}, args, kw)
	if err != nil {
		return nil, err
	}
	j := &joiner{sep: ", "}
	if a[0] != nil {
		if j.sep, err = ev.str(a[0]); err != nil {
			return nil, err
		}
	}
	return j, nil
}

// loopValue is the loop variable of a for loop.
type loopValue struct {
	index0      int
	length      int
	at          func(int) Value
	depth0      int
	node        *forNode
	scope       *scope
	lastChanged []Value
	changedSet  bool
}

func (l *loopValue) typeName() string { return "LoopContext" }

func (l *loopValue) attr(name string) (Value, bool) {
	switch name {
	case "index":
		return Int(l.index0 + 1), true
	case "index0":
		return Int(l.index0), true
	case "revindex":
		return Int(l.length - l.index0), true
	case "revindex0":
		return Int(l.length - l.index0 - 1), true
	case "first":
		return Bool(l.index0 == 0), true
	case "last":
		return Bool(l.index0 == l.length-1), true
	case "length":
		return Int(l.length), true
	case "depth":
		return Int(l.depth0 + 1), true
	case "depth0":
		return Int(l.depth0), true
	case "previtem":
		if l.index0 == 0 {
			return Undefined{hint: "there is no previous item"}, true
		}
		return l.at(l.index0 - 1), true
	case "nextitem":
		if l.index0+1 >= l.length {
			return Undefined{hint: "there is no next item"}, true
		}
		return l.at(l.index0 + 1), true
	}
	return nil, false
}

// call re-runs a recursive loop's body over a new iterable.
func (l *loopValue) call(ev *evaluator, args []Value, kw []kwArg) (Value, error) {
	if !l.node.recursive {
		return nil, errorf("tried to call non recursive loop; maybe you forgot the 'recursive' modifier")
	}
	if len(args) != 1 || len(kw) != 0 {
		return nil, errorf("loop() takes exactly one argument")
	}
	if ev.depth >= MaxCallDepth {
		return nil, fmt.Errorf("%w: more than %d nested loop calls", ErrTooDeep, MaxCallDepth)
	}
	ev.depth++
	defer func() { ev.depth-- }()
	s, _, err := ev.capture(func() (ctrl, error) {
		return ctrlNone, ev.runFor(l.node, l.scope, args[0], l.depth0+1)
	})
	if err != nil {
		return nil, err
	}
	return String(s), nil
}

// boundMethod is a method looked up on a value, such as "abc".upper.
type boundMethod struct {
	recv Value
	name string
}

func (m *boundMethod) typeName() string { return "builtin_function_or_method" }

func (m *boundMethod) call(ev *evaluator, args []Value, kw []kwArg) (Value, error) {
	return ev.callMethod(m.recv, m.name, args, kw)
}

// otherRepr is the repr of the engine's internal values.
func otherRepr(v Value) string {
	switch x := v.(type) {
	case *rangeValue:
		if x.step == 1 {
			return "range(" + strconv.FormatInt(x.start, 10) + ", " + strconv.FormatInt(x.stop, 10) + ")"
		}
		return "range(" + strconv.FormatInt(x.start, 10) + ", " + strconv.FormatInt(x.stop, 10) + ", " + strconv.FormatInt(x.step, 10) + ")"
	case *macro:
		return "<Macro '" + x.def.name + "'>"
	case *loopValue:
		return "<LoopContext " + strconv.Itoa(x.index0+1) + "/" + strconv.Itoa(x.length) + ">"
	case *boundMethod:
		return "<built-in method " + x.name + " of " + x.recv.typeName() + " object>"
	case *builtinFunc:
		return "<built-in function " + x.name + ">"
	case Func:
		return "<function>"
	}
	return "<" + v.typeName() + " object>"
}

// bindArgs matches positional and keyword arguments to the parameter
// names of a filter, test or method; absent ones are nil.
func bindArgs(fname string, names []string, args []Value, kw []kwArg) ([]Value, error) {
	if len(args) > len(names) {
		return nil, fmt.Errorf("%s() takes at most %d argument(s) (%d given)", fname, len(names), len(args))
	}
	out := make([]Value, len(names))
	copy(out, args)
	for _, k := range kw {
		i := indexOf(names, k.name)
		if i < 0 {
			return nil, fmt.Errorf("%s() got an unexpected keyword argument '%s'", fname, k.name)
		}
		if out[i] != nil {
			return nil, fmt.Errorf("%s() got multiple values for argument '%s'", fname, k.name)
		}
		out[i] = k.val
	}
	return out, nil
}
