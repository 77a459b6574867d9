package jinja

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Filters over sequences and mappings: ordering, selection, grouping and
// aggregation, with jinja2's attribute paths ("a.b.0").

func fBatch(ev *evaluator, v Value, args []Value, kw []kwArg) (Value, error) {
	a, err := bindArgs("batch", []string{"linecount", "fill_with"}, args, kw)
	if err != nil {
		return nil, err
	}
	n, err := intArg("batch", a[0], 0)
	if err != nil {
		return nil, err
	}
	if n < 1 {
		return nil, errorf("batch size must be at least 1")
	}
	items, err := ev.iterate(v)
	if err != nil {
		return nil, err
	}
	var out []Value
	for i := 0; i < len(items); i += int(min(n, int64(len(items)))) {
		end := i + int(min(n, int64(len(items)-i)))
		chunk := append([]Value(nil), items[i:end]...)
		if a[1] != nil && int64(len(chunk)) < n {
			if err := ev.checkItems(int(n)); err != nil {
				return nil, err
			}
			for int64(len(chunk)) < n {
				chunk = append(chunk, a[1])
			}
		}
		out = append(out, &List{Items: chunk})
	}
	return &List{Items: out}, nil
}

// ignoreCase lower-cases strings for case-insensitive comparisons.
func ignoreCase(v Value) Value {
	if s, ok := v.(String); ok {
		return String(pyLower(string(s)))
	}
	return v
}

func (ev *evaluator) sortValues(items []Value, key func(Value) (Value, error), reverse bool) ([]Value, error) {
	keys := make([]Value, len(items))
	for i, it := range items {
		k, err := key(it)
		if err != nil {
			return nil, err
		}
		keys[i] = k
	}
	idx := make([]int, len(items))
	for i := range idx {
		idx[i] = i
	}
	var err error
	sort.SliceStable(idx, func(a, b int) bool {
		if err != nil {
			return false
		}
		x, y := keys[idx[a]], keys[idx[b]]
		if reverse {
			x, y = y, x
		}
		c, e := ev.order(x, y, "lt", 0)
		if e != nil {
			err = e
		}
		return c < 0
	})
	if err != nil {
		return nil, err
	}
	out := make([]Value, len(items))
	for i, j := range idx {
		out[i] = items[j]
	}
	return out, nil
}

func fDictsort(ev *evaluator, v Value, args []Value, kw []kwArg) (Value, error) {
	a, err := bindArgs("dictsort", []string{"case_sensitive", "by", "reverse"}, args, kw)
	if err != nil {
		return nil, err
	}
	d, ok := v.(*Dict)
	if !ok {
		return nil, fmt.Errorf("dictsort needs a mapping, not %s", v.typeName())
	}
	pos := 0
	if a[1] != nil {
		switch by, _ := a[1].(String); by {
		case "key":
		case "value":
			pos = 1
		default:
			return nil, errorf(`you can only sort by either "key" or "value"`)
		}
	}
	caseSensitive := a[0] != nil && truthy(a[0])
	sorted, err := ev.sortValues(dictItems(d), func(it Value) (Value, error) {
		k := it.(*List).Items[pos]
		if !caseSensitive {
			k = ignoreCase(k)
		}
		return k, nil
	}, a[2] != nil && truthy(a[2]))
	if err != nil {
		return nil, err
	}
	return &List{Items: sorted}, nil
}

func fFirst(ev *evaluator, v Value, args []Value, kw []kwArg) (Value, error) {
	items, err := ev.iterate(v)
	if err != nil {
		return nil, err
	}
	if len(items) == 0 {
		return Undefined{hint: "No first item, sequence was empty."}, nil
	}
	return items[0], nil
}

func fLast(ev *evaluator, v Value, args []Value, kw []kwArg) (Value, error) {
	items, err := ev.iterate(v)
	if err != nil {
		return nil, err
	}
	if len(items) == 0 {
		return Undefined{hint: "No last item, sequence was empty."}, nil
	}
	return items[len(items)-1], nil
}

// attrGetter is jinja2's make_attrgetter: a dotted path of attribute names
// and integer indexes, looked up with getitem.
func (ev *evaluator) attrGetter(attr Value, def Value, lower bool) (func(Value) (Value, error), error) {
	var parts []Value
	switch a := attr.(type) {
	case nil, None:
	case String:
		for _, p := range strings.Split(string(a), ".") {
			if n, err := strconv.Atoi(p); err == nil {
				parts = append(parts, Int(n))
			} else {
				parts = append(parts, String(p))
			}
		}
	case Int:
		parts = []Value{a}
	default:
		return nil, fmt.Errorf("attribute must be a string or integer, not %s", attr.typeName())
	}
	return func(item Value) (Value, error) {
		if err := ev.step(1); err != nil {
			return nil, err
		}
		v := item
		for _, p := range parts {
			var err error
			if v, err = ev.getitem(v, p); err != nil {
				return nil, err
			}
		}
		if def != nil && isUndefined(v) {
			v = def
		}
		if lower {
			if err := ev.charge(v); err != nil {
				return nil, err
			}
			v = ignoreCase(v)
		}
		return v, nil
	}, nil
}

func fGroupby(ev *evaluator, v Value, args []Value, kw []kwArg) (Value, error) {
	a, err := bindArgs("groupby", []string{"attribute", "default", "case_sensitive"}, args, kw)
	if err != nil {
		return nil, err
	}
	caseSensitive := a[2] != nil && truthy(a[2])
	key, err := ev.attrGetter(a[0], a[1], !caseSensitive)
	if err != nil {
		return nil, err
	}
	realKey, err := ev.attrGetter(a[0], a[1], false)
	if err != nil {
		return nil, err
	}
	items, err := ev.iterate(v)
	if err != nil {
		return nil, err
	}
	sorted, err := ev.sortValues(items, key, false)
	if err != nil {
		return nil, err
	}
	var out []Value
	var curKey Value
	var group []Value
	flush := func() error {
		if group == nil {
			return nil
		}
		g, err := realKey(group[0])
		if err != nil {
			return err
		}
		out = append(out, &List{Items: []Value{g, &List{Items: group}}, tuple: true, fields: []string{"grouper", "list"}})
		return nil
	}
	for _, it := range sorted {
		k, err := key(it)
		if err != nil {
			return nil, err
		}
		if group != nil {
			eq, err := ev.equal(k, curKey, 0)
			if err != nil {
				return nil, err
			}
			if eq {
				group = append(group, it)
				continue
			}
			if err := flush(); err != nil {
				return nil, err
			}
		}
		curKey, group = k, []Value{it}
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return &List{Items: out}, nil
}

func fItems(ev *evaluator, v Value, args []Value, kw []kwArg) (Value, error) {
	switch x := v.(type) {
	case Undefined:
		return &List{}, nil
	case *Dict:
		if err := ev.checkItems(len(x.keys)); err != nil {
			return nil, err
		}
		return &List{Items: dictItems(x)}, nil
	}
	return nil, errorf("can only get item pairs from a mapping")
}

func fJoin(ev *evaluator, v Value, args []Value, kw []kwArg) (Value, error) {
	a, err := bindArgs("join", []string{"d", "attribute"}, args, kw)
	if err != nil {
		return nil, err
	}
	sep := ""
	if a[0] != nil {
		if sep, err = ev.str(a[0]); err != nil {
			return nil, err
		}
	}
	items, err := ev.iterate(v)
	if err != nil {
		return nil, err
	}
	get, err := ev.attrGetter(a[1], nil, false)
	if err != nil {
		return nil, err
	}
	var b strings.Builder
	for i, it := range items {
		if a[1] != nil {
			if it, err = get(it); err != nil {
				return nil, err
			}
		}
		s, err := ev.str(it)
		if err != nil {
			return nil, err
		}
		if i > 0 {
			s = sep + s
		}
		if err := ev.checkSize(b.Len() + len(s)); err != nil {
			return nil, err
		}
		b.WriteString(s)
	}
	return String(b.String()), nil
}

func (ev *evaluator) length(v Value) (int, error) {
	if err := ev.charge(v); err != nil {
		return 0, err
	}
	switch x := v.(type) {
	case String:
		return runeLen(string(x)), nil
	case *List:
		return len(x.Items), nil
	case *Dict:
		return len(x.keys), nil
	case Undefined:
		return 0, nil
	case *rangeValue:
		return x.length(), nil
	case *loopValue:
		return x.length, nil
	}
	return 0, fmt.Errorf("object of type '%s' has no len()", v.typeName())
}

func fLength(ev *evaluator, v Value, args []Value, kw []kwArg) (Value, error) {
	n, err := ev.length(v)
	return Int(n), err
}

func fList(ev *evaluator, v Value, args []Value, kw []kwArg) (Value, error) {
	items, err := ev.iterate(v)
	if err != nil {
		return nil, err
	}
	return &List{Items: append([]Value(nil), items...)}, nil
}

// mapFunc builds the per-item function of map: a filter by name, or an
// attribute lookup.
func (ev *evaluator) mapFunc(args []Value, kw []kwArg) (func(Value) (Value, error), error) {
	if len(args) == 0 {
		var attr, def Value
		for _, k := range kw {
			switch k.name {
			case "attribute":
				attr = k.val
			case "default":
				def = k.val
			default:
				return nil, fmt.Errorf("unexpected keyword argument '%s'", k.name)
			}
		}
		if attr == nil {
			return nil, errorf("map requires a filter argument")
		}
		return ev.attrGetter(attr, def, false)
	}
	name, ok := args[0].(String)
	if !ok {
		return nil, errorf("map filter name must be a string")
	}
	rest := args[1:]
	return func(item Value) (Value, error) {
		return ev.callFilter(string(name), item, rest, kw)
	}, nil
}

func fMap(ev *evaluator, v Value, args []Value, kw []kwArg) (Value, error) {
	if !truthy(v) {
		return &List{}, nil
	}
	items, err := ev.iterate(v)
	if err != nil {
		return nil, err
	}
	f, err := ev.mapFunc(args, kw)
	if err != nil {
		return nil, err
	}
	out := make([]Value, len(items))
	for i, it := range items {
		if out[i], err = f(it); err != nil {
			return nil, err
		}
	}
	return &List{Items: out}, nil
}

func (ev *evaluator) minMax(name string, v Value, args []Value, kw []kwArg) (Value, error) {
	a, err := bindArgs(name, []string{"case_sensitive", "attribute"}, args, kw)
	if err != nil {
		return nil, err
	}
	items, err := ev.iterate(v)
	if err != nil {
		return nil, err
	}
	if len(items) == 0 {
		return Undefined{hint: "No aggregated item, sequence was empty."}, nil
	}
	key, err := ev.attrGetter(a[1], nil, !(a[0] != nil && truthy(a[0])))
	if err != nil {
		return nil, err
	}
	best := items[0]
	bestKey, err := key(best)
	if err != nil {
		return nil, err
	}
	for _, it := range items[1:] {
		k, err := key(it)
		if err != nil {
			return nil, err
		}
		c, err := ev.order(k, bestKey, "lt", 0)
		if err != nil {
			return nil, err
		}
		if (name == "min" && c < 0) || (name == "max" && c > 0) {
			best, bestKey = it, k
		}
	}
	return best, nil
}

func fMax(ev *evaluator, v Value, args []Value, kw []kwArg) (Value, error) {
	return ev.minMax("max", v, args, kw)
}

func fMin(ev *evaluator, v Value, args []Value, kw []kwArg) (Value, error) {
	return ev.minMax("min", v, args, kw)
}

// selectOrReject implements select, reject, selectattr and rejectattr.
func (ev *evaluator) selectOrReject(v Value, args []Value, kw []kwArg, byAttr, keep bool) (Value, error) {
	if !truthy(v) { // jinja2 yields nothing for a falsy value, even none
		return &List{}, nil
	}
	items, err := ev.iterate(v)
	if err != nil {
		return nil, err
	}
	get := func(x Value) (Value, error) { return x, nil }
	if byAttr {
		if len(args) == 0 {
			return nil, errorf("missing parameter for attribute name")
		}
		if get, err = ev.attrGetter(args[0], nil, false); err != nil {
			return nil, err
		}
		args = args[1:]
	}
	test := func(x Value) (bool, error) { return truthy(x), nil }
	if len(args) > 0 {
		name, ok := args[0].(String)
		if !ok {
			return nil, errorf("test name must be a string")
		}
		rest := args[1:]
		test = func(x Value) (bool, error) { return ev.callTest(string(name), x, rest, kw) }
	}
	var out []Value
	for _, it := range items {
		x, err := get(it)
		if err != nil {
			return nil, err
		}
		ok, err := test(x)
		if err != nil {
			return nil, err
		}
		if ok == keep {
			out = append(out, it)
		}
	}
	return &List{Items: out}, nil
}

func fSelect(ev *evaluator, v Value, args []Value, kw []kwArg) (Value, error) {
	return ev.selectOrReject(v, args, kw, false, true)
}

func fReject(ev *evaluator, v Value, args []Value, kw []kwArg) (Value, error) {
	return ev.selectOrReject(v, args, kw, false, false)
}

func fSelectattr(ev *evaluator, v Value, args []Value, kw []kwArg) (Value, error) {
	return ev.selectOrReject(v, args, kw, true, true)
}

func fRejectattr(ev *evaluator, v Value, args []Value, kw []kwArg) (Value, error) {
	return ev.selectOrReject(v, args, kw, true, false)
}

func fReverse(ev *evaluator, v Value, args []Value, kw []kwArg) (Value, error) {
	if s, ok := v.(String); ok {
		r := []rune(string(s))
		for i, j := 0, len(r)-1; i < j; i, j = i+1, j-1 {
			r[i], r[j] = r[j], r[i]
		}
		return String(r), nil
	}
	items, err := ev.iterate(v)
	if err != nil {
		return nil, err
	}
	out := make([]Value, len(items))
	for i, it := range items {
		out[len(items)-1-i] = it
	}
	return &List{Items: out}, nil
}

func fSlice(ev *evaluator, v Value, args []Value, kw []kwArg) (Value, error) {
	a, err := bindArgs("slice", []string{"slices", "fill_with"}, args, kw)
	if err != nil {
		return nil, err
	}
	n, err := intArg("slice", a[0], 0)
	if err != nil {
		return nil, err
	}
	if n < 1 || n > int64(ev.maxSize/16) {
		return nil, errorf("slice count out of range")
	}
	if err := ev.checkItems(int(n)); err != nil {
		return nil, err
	}
	items, err := ev.iterate(v)
	if err != nil {
		return nil, err
	}
	per, extra := len(items)/int(n), len(items)%int(n)
	offset := 0
	var out []Value
	for i := 0; i < int(n); i++ {
		start := offset + i*per
		if i < extra {
			offset++
		}
		end := offset + (i+1)*per
		chunk := append([]Value(nil), items[start:end]...)
		if a[1] != nil && i >= extra {
			chunk = append(chunk, a[1])
		}
		out = append(out, &List{Items: chunk})
	}
	return &List{Items: out}, nil
}

func fSort(ev *evaluator, v Value, args []Value, kw []kwArg) (Value, error) {
	a, err := bindArgs("sort", []string{"reverse", "case_sensitive", "attribute"}, args, kw)
	if err != nil {
		return nil, err
	}
	items, err := ev.iterate(v)
	if err != nil {
		return nil, err
	}
	lower := !(a[1] != nil && truthy(a[1]))
	var getters []func(Value) (Value, error)
	if s, ok := a[2].(String); ok && strings.Contains(string(s), ",") {
		for _, part := range strings.Split(string(s), ",") {
			g, err := ev.attrGetter(String(part), nil, lower)
			if err != nil {
				return nil, err
			}
			getters = append(getters, g)
		}
	} else {
		g, err := ev.attrGetter(a[2], nil, lower)
		if err != nil {
			return nil, err
		}
		getters = []func(Value) (Value, error){g}
	}
	// Like jinja2, compare lists of keys: equal keys (even None or
	// undefined ones) are then never ordered with '<'.
	key := func(x Value) (Value, error) {
		ks := make([]Value, len(getters))
		for i, g := range getters {
			k, err := g(x)
			if err != nil {
				return nil, err
			}
			ks[i] = k
		}
		return &List{Items: ks}, nil
	}
	sorted, err := ev.sortValues(items, key, a[0] != nil && truthy(a[0]))
	if err != nil {
		return nil, err
	}
	return &List{Items: sorted}, nil
}

func fSum(ev *evaluator, v Value, args []Value, kw []kwArg) (Value, error) {
	a, err := bindArgs("sum", []string{"attribute", "start"}, args, kw)
	if err != nil {
		return nil, err
	}
	items, err := ev.iterate(v)
	if err != nil {
		return nil, err
	}
	get, err := ev.attrGetter(a[0], nil, false)
	if err != nil {
		return nil, err
	}
	var total Value = Int(0)
	if a[1] != nil {
		total = a[1]
	}
	for _, it := range items {
		x, err := get(it)
		if err != nil {
			return nil, err
		}
		if total, err = ev.binop("+", total, x); err != nil {
			return nil, err
		}
	}
	return total, nil
}

func fUnique(ev *evaluator, v Value, args []Value, kw []kwArg) (Value, error) {
	a, err := bindArgs("unique", []string{"case_sensitive", "attribute"}, args, kw)
	if err != nil {
		return nil, err
	}
	items, err := ev.iterate(v)
	if err != nil {
		return nil, err
	}
	key, err := ev.attrGetter(a[1], nil, !(a[0] != nil && truthy(a[0])))
	if err != nil {
		return nil, err
	}
	seen := map[hashKey]bool{}
	var out []Value
	for _, it := range items {
		k, err := key(it)
		if err != nil {
			return nil, err
		}
		h, err := hashOf(k, 0)
		if err != nil {
			return nil, err
		}
		if !seen[h] {
			seen[h] = true
			out = append(out, it)
		}
	}
	return &List{Items: out}, nil
}
