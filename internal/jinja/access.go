package jinja

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

func undefinedAttr(obj Value, name string) Undefined {
	return Undefined{name: name, hint: fmt.Sprintf("'%s object' has no attribute '%s'", obj.typeName(), name)}
}

// getattr is jinja2's sandboxed getattr: Python attributes (methods) first,
// then items.
func (ev *evaluator) getattr(obj Value, name string) (Value, error) {
	if u, ok := obj.(Undefined); ok {
		return nil, u.err()
	}
	if unsafeAttr(obj, name) {
		// jinja2 looks up a dict item when the attribute does not exist,
		// so a key such as "_meta" stays reachable; real attributes do not.
		if d, ok := obj.(*Dict); ok && strings.HasPrefix(name, "_") {
			if v, ok := d.Get(name); ok {
				return v, nil
			}
		}
		return Undefined{name: name, hint: fmt.Sprintf("access to attribute '%s' of '%s' object is unsafe", name, obj.typeName())}, nil
	}
	if v, ok := ev.attribute(obj, name); ok {
		return v, nil
	}
	switch o := obj.(type) {
	case *Dict:
		if v, ok := o.Get(name); ok {
			return v, nil
		}
	}
	return undefinedAttr(obj, name), nil
}

// attribute returns a Python attribute (not an item) of obj.
func (ev *evaluator) attribute(obj Value, name string) (Value, bool) {
	switch o := obj.(type) {
	case *namespace:
		v, ok := o.attrs.Get(name)
		return v, ok
	case *loopValue:
		if v, ok := o.attr(name); ok {
			return v, true
		}
	case *cycler:
		if name == "current" {
			return o.items[o.pos], true
		}
	case *List:
		if i := indexOf(o.fields, name); i >= 0 && i < len(o.Items) {
			return o.Items[i], true
		}
	case *rangeValue:
		switch name {
		case "start":
			return Int(o.start), true
		case "stop":
			return Int(o.stop), true
		case "step":
			return Int(o.step), true
		}
	case *macro:
		if name == "name" {
			return String(o.def.name), true
		}
	}
	if hasMethod(obj, name) {
		return &boundMethod{recv: obj, name: name}, true
	}
	return nil, false
}

func indexOf(list []string, s string) int {
	for i, x := range list {
		if x == s {
			return i
		}
	}
	return -1
}

// getitem is jinja2's getitem: items first, then attributes for string
// keys.
func (ev *evaluator) getitem(obj Value, key Value) (Value, error) {
	if u, ok := obj.(Undefined); ok {
		return nil, u.err()
	}
	if err := ev.charge(obj); err != nil {
		return nil, err
	}
	if err := ev.charge(key); err != nil {
		return nil, err
	}
	switch o := obj.(type) {
	case *Dict:
		if v, ok := o.lookup(key); ok {
			return v, nil
		}
	case *List:
		if i, ok := intIndex(key); ok {
			n := int64(len(o.Items))
			if i < 0 {
				i += n
			}
			if i >= 0 && i < n {
				return o.Items[i], nil
			}
			return Undefined{hint: fmt.Sprintf("'%s object' has no element %d", o.typeName(), i)}, nil
		}
	case String:
		if i, ok := intIndex(key); ok {
			s := string(o)
			n := int64(runeLen(s))
			if i < 0 {
				i += n
			}
			if i >= 0 && i < n {
				return String(runeAt(s, int(i))), nil
			}
			return Undefined{hint: fmt.Sprintf("'str object' has no element %d", i)}, nil
		}
	case *rangeValue:
		if i, ok := intIndex(key); ok {
			n := int64(o.length())
			if i < 0 {
				i += n
			}
			if i >= 0 && i < n {
				return o.at(int(i)), nil
			}
			return Undefined{hint: "range object index out of range"}, nil
		}
	}
	if s, ok := key.(String); ok {
		return ev.getattr(obj, string(s))
	}
	return Undefined{hint: fmt.Sprintf("'%s object' has no element %s", obj.typeName(), ToString(key))}, nil
}

func intIndex(v Value) (int64, bool) {
	switch k := v.(type) {
	case Int:
		return int64(k), true
	case Bool:
		if k {
			return 1, true
		}
		return 0, true
	}
	return 0, false
}

func runeAt(s string, i int) string {
	if isASCII(s) {
		return s[i : i+1]
	}
	for j := range s {
		if i == 0 {
			_, n := utf8.DecodeRuneInString(s[j:])
			return s[j : j+n]
		}
		i--
	}
	return ""
}

func (ev *evaluator) evalSlice(obj Value, s *sliceExpr, sc *scope) (Value, error) {
	var bounds [3]*int64
	for i, e := range []expr{s.start, s.stop, s.step} {
		if e == nil {
			continue
		}
		v, err := ev.eval(e, sc)
		if err != nil {
			return nil, err
		}
		if _, isNone := v.(None); isNone {
			continue
		}
		n, ok := intIndex(v)
		if !ok {
			return nil, errorf("slice indices must be integers or None or have an __index__ method")
		}
		bounds[i] = &n
	}
	return ev.slice(obj, bounds[0], bounds[1], bounds[2])
}

// sliceIndices is Python's slice.indices followed by the walk: it returns
// the selected positions of a sequence of length n.
func sliceIndices(n int, start, stop, step *int64) ([]int, error) {
	a, b, st, err := sliceBounds(n, start, stop, step)
	if err != nil {
		return nil, err
	}
	var out []int
	if st > 0 {
		for i := a; i < b; i += st {
			out = append(out, int(i))
		}
	} else {
		for i := a; i > b; i += st {
			out = append(out, int(i))
		}
	}
	return out, nil
}

// sliceBounds is Python's slice.indices(n).
func sliceBounds(n int, start, stop, step *int64) (int64, int64, int64, error) {
	st := int64(1)
	if step != nil {
		st = *step
	}
	if st == 0 {
		return 0, 0, 0, errorf("slice step cannot be zero")
	}
	ln := int64(n)
	adjust := func(p *int64, def int64) int64 {
		if p == nil {
			return def
		}
		v := *p
		if v < 0 {
			v += ln
			if v < 0 {
				if st < 0 {
					return -1
				}
				return 0
			}
		} else if v >= ln {
			if st < 0 {
				return ln - 1
			}
			return ln
		}
		return v
	}
	if st > 0 {
		return adjust(start, 0), adjust(stop, ln), st, nil
	}
	return adjust(start, ln-1), adjust(stop, -1), st, nil
}

func (ev *evaluator) slice(obj Value, start, stop, step *int64) (Value, error) {
	if err := ev.charge(obj); err != nil {
		return nil, err
	}
	switch o := obj.(type) {
	case Undefined:
		return nil, o.err()
	case String:
		s := string(o)
		if isASCII(s) {
			idx, err := sliceIndices(len(s), start, stop, step)
			if err != nil {
				return nil, err
			}
			if err := ev.checkSize(len(idx)); err != nil {
				return nil, err
			}
			if step == nil || *step == 1 {
				if len(idx) == 0 {
					return String(""), nil
				}
				return String(s[idx[0] : idx[len(idx)-1]+1]), nil
			}
			b := make([]byte, len(idx))
			for i, j := range idx {
				b[i] = s[j]
			}
			return String(b), nil
		}
		runes := []rune(s)
		idx, err := sliceIndices(len(runes), start, stop, step)
		if err != nil {
			return nil, err
		}
		if err := ev.checkSize(len(idx) * 4); err != nil {
			return nil, err
		}
		out := make([]rune, len(idx))
		for i, j := range idx {
			out[i] = runes[j]
		}
		return String(out), nil
	case *rangeValue:
		a, b, st, err := sliceBounds(o.length(), start, stop, step)
		if err != nil {
			return nil, err
		}
		return &rangeValue{start: o.start + a*o.step, stop: o.start + b*o.step, step: st * o.step}, nil
	case *List:
		items, err := ev.iterate(o)
		if err != nil {
			return nil, err
		}
		idx, err := sliceIndices(len(items), start, stop, step)
		if err != nil {
			return nil, err
		}
		if err := ev.checkItems(len(idx)); err != nil {
			return nil, err
		}
		out := make([]Value, len(idx))
		for i, j := range idx {
			out[i] = items[j]
		}
		return &List{Items: out, tuple: o.tuple}, nil
	}
	return nil, fmt.Errorf("'%s' object is not subscriptable", obj.typeName())
}

// Iteration.

type seqView struct {
	items []Value
	rng   *rangeValue
}

func (s seqView) length() int {
	if s.rng != nil {
		return s.rng.length()
	}
	return len(s.items)
}

func (s seqView) at(i int) Value {
	if s.rng != nil {
		return s.rng.at(i)
	}
	return s.items[i]
}

func (ev *evaluator) iterateLazy(v Value) (seqView, error) {
	if r, ok := v.(*rangeValue); ok {
		return seqView{rng: r}, nil
	}
	items, err := ev.iterate(v)
	return seqView{items: items}, err
}

// iterate is Python's list(v) for anything iterable.
func (ev *evaluator) iterate(v Value) ([]Value, error) {
	switch x := v.(type) {
	case *List:
		return x.Items, nil
	case *Dict:
		return x.keys, nil
	case String:
		s := string(x)
		if err := ev.checkItems(len(s)); err != nil {
			return nil, err
		}
		out := make([]Value, 0, len(s))
		for i := 0; i < len(s); {
			_, n := utf8.DecodeRuneInString(s[i:])
			out = append(out, String(s[i:i+n]))
			i += n
		}
		return out, nil
	case Undefined:
		return nil, nil
	case *rangeValue:
		n := x.length()
		if err := ev.checkItems(n); err != nil {
			return nil, err
		}
		out := make([]Value, n)
		for i := range out {
			out[i] = x.at(i)
		}
		return out, nil
	case *namespace:
		return x.attrs.keys, nil
	case *loopValue:
		out := make([]Value, x.length)
		for i := range out {
			out[i] = x.at(i)
		}
		return out, nil
	}
	return nil, fmt.Errorf("'%s' object is not iterable", v.typeName())
}

// str is Python's str(v), bounded by the size limit.
func (ev *evaluator) str(v Value) (string, error) {
	switch x := v.(type) {
	case String:
		return string(x), nil
	case Undefined:
		return "", nil
	}
	var b strings.Builder
	w := &reprWriter{b: &b, limit: ev.maxSize, ev: ev}
	if err := w.str(v, 0); err != nil {
		if err == ErrTooLarge {
			return "", fmt.Errorf("%w: a value's text exceeds %d bytes", ErrTooLarge, ev.maxSize)
		}
		return "", err
	}
	return b.String(), nil
}
