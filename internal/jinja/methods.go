package jinja

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Methods of str, dict and list that templates may call. Methods that
// mutate lists and dicts exist but are unsafe, as in jinja2's
// ImmutableSandboxedEnvironment.

var strMethods = map[string]bool{
	"strip": true, "lstrip": true, "rstrip": true, "split": true, "rsplit": true,
	"splitlines": true, "startswith": true, "endswith": true, "upper": true, "lower": true,
	"title": true, "capitalize": true, "swapcase": true, "casefold": true, "replace": true,
	"find": true, "rfind": true, "index": true, "rindex": true, "count": true, "join": true,
	"format": true, "isdigit": true, "isalpha": true, "isalnum": true, "isspace": true,
	"islower": true, "isupper": true, "isnumeric": true, "isdecimal": true, "istitle": true,
	"center": true, "ljust": true, "rjust": true, "zfill": true, "partition": true,
	"rpartition": true, "removeprefix": true, "removesuffix": true,
}

var dictMethods = map[string]bool{"get": true, "items": true, "keys": true, "values": true, "copy": true}

var dictMutators = map[string]bool{"pop": true, "popitem": true, "setdefault": true, "update": true, "clear": true}

var listMethods = map[string]bool{"index": true, "count": true, "copy": true}

var listMutators = map[string]bool{
	"append": true, "extend": true, "insert": true, "pop": true, "remove": true,
	"reverse": true, "sort": true, "clear": true,
}

func hasMethod(obj Value, name string) bool {
	switch o := obj.(type) {
	case String:
		return strMethods[name]
	case *Dict:
		return dictMethods[name]
	case *List:
		return listMethods[name] && o.view == ""
	case *loopValue:
		return name == "cycle" || name == "changed"
	case *cycler:
		return name == "next" || name == "reset"
	case *rangeValue:
		return name == "index" || name == "count"
	}
	return false
}

// unsafeAttr reports attributes that exist but that the sandbox refuses.
func unsafeAttr(obj Value, name string) bool {
	if strings.HasPrefix(name, "_") {
		return true
	}
	switch o := obj.(type) {
	case *Dict:
		return dictMutators[name]
	case *List:
		return listMutators[name] && !o.tuple
	}
	return false
}

func (ev *evaluator) callMethod(recv Value, name string, args []Value, kw []kwArg) (Value, error) {
	switch r := recv.(type) {
	case String:
		return ev.strMethod(string(r), name, args, kw)
	case *Dict:
		return ev.dictMethod(r, name, args, kw)
	case *List:
		return ev.listMethod(r, name, args, kw)
	case *loopValue:
		return ev.loopMethod(r, name, args)
	case *cycler:
		if name == "reset" {
			r.pos = 0
			return None{}, nil
		}
		v := r.items[r.pos]
		r.pos = (r.pos + 1) % len(r.items)
		return v, nil
	case *rangeValue:
		items, err := ev.iterate(r)
		if err != nil {
			return nil, err
		}
		return ev.listMethod(&List{Items: items}, name, args, kw)
	}
	return nil, fmt.Errorf("'%s' object has no method '%s'", recv.typeName(), name)
}

func (ev *evaluator) loopMethod(l *loopValue, name string, args []Value) (Value, error) {
	if name == "cycle" {
		if len(args) == 0 {
			return nil, errorf("no items for cycling given")
		}
		return args[l.index0%len(args)], nil
	}
	// changed(*values): true on the first call and whenever the values
	// differ from those of the previous call.
	changed := !l.changedSet || len(args) != len(l.lastChanged)
	if !changed {
		for i := range args {
			eq, err := ev.equal(args[i], l.lastChanged[i], 0)
			if err != nil {
				return nil, err
			}
			if !eq {
				changed = true
				break
			}
		}
	}
	l.changedSet = true
	l.lastChanged = append(l.lastChanged[:0], args...)
	return Bool(changed), nil
}

func (ev *evaluator) dictMethod(d *Dict, name string, args []Value, kw []kwArg) (Value, error) {
	switch name {
	case "get":
		a, err := bindArgs("get", []string{"key", "default"}, args, kw)
		if err != nil {
			return nil, err
		}
		if a[0] == nil {
			return nil, errorf("get expected at least 1 argument, got 0")
		}
		if v, ok := d.lookup(a[0]); ok {
			return v, nil
		}
		if a[1] == nil {
			return None{}, nil
		}
		return a[1], nil
	case "items", "keys", "values", "copy":
		if len(args) > 0 || len(kw) > 0 {
			return nil, fmt.Errorf("%s() takes no arguments", name)
		}
		if err := ev.checkItems(len(d.keys)); err != nil {
			return nil, err
		}
		switch name {
		case "keys":
			return &List{Items: d.Keys(), view: "dict_keys"}, nil
		case "values":
			return &List{Items: d.Values(), view: "dict_values"}, nil
		case "copy":
			return d.copyDict(), nil
		}
		return &List{Items: dictItems(d), view: "dict_items"}, nil
	}
	return nil, fmt.Errorf("'dict' object has no method '%s'", name)
}

func dictItems(d *Dict) []Value {
	out := make([]Value, len(d.keys))
	for i, k := range d.keys {
		out[i] = NewTuple(k, d.vals[i])
	}
	return out
}

func (ev *evaluator) listMethod(l *List, name string, args []Value, kw []kwArg) (Value, error) {
	if len(kw) > 0 {
		return nil, fmt.Errorf("%s() takes no keyword arguments", name)
	}
	switch name {
	case "copy":
		return &List{Items: append([]Value(nil), l.Items...)}, nil
	case "count", "index":
		if len(args) != 1 {
			return nil, fmt.Errorf("%s() takes exactly one argument", name)
		}
		n := 0
		for i, it := range l.Items {
			eq, err := ev.equal(it, args[0], 0)
			if err != nil {
				return nil, err
			}
			if eq {
				if name == "index" {
					return Int(i), nil
				}
				n++
			}
		}
		if name == "index" {
			return nil, fmt.Errorf("%s is not in list", pyReprValue(args[0]))
		}
		return Int(n), nil
	}
	return nil, fmt.Errorf("'list' object has no method '%s'", name)
}

func pyReprValue(v Value) string {
	var b strings.Builder
	w := &reprWriter{b: &b, limit: 1024}
	_ = w.repr(v, 0)
	return b.String()
}

// strArg converts an optional argument to a string, requiring a str.
func strArg(fname string, v Value) (string, bool, error) {
	switch x := v.(type) {
	case nil, None:
		return "", false, nil
	case String:
		return string(x), true, nil
	}
	return "", false, fmt.Errorf("%s arg must be None or str, not %s", fname, v.typeName())
}

func intArg(fname string, v Value, def int64) (int64, error) {
	if v == nil {
		return def, nil
	}
	if i, ok := intIndex(v); ok {
		return i, nil
	}
	return 0, fmt.Errorf("%s(): '%s' object cannot be interpreted as an integer", fname, v.typeName())
}

// runeRange converts Python start/end arguments (rune offsets, may be
// negative or None) into a byte range of s.
func runeRange(s string, start, end Value) (int, int, error) {
	n := runeLen(s)
	conv := func(v Value, def int) (int, error) {
		if v == nil {
			return def, nil
		}
		if _, ok := v.(None); ok {
			return def, nil
		}
		i, ok := intIndex(v)
		if !ok {
			return 0, errorf("slice indices must be integers or None")
		}
		if i < 0 {
			i += int64(n)
			if i < 0 {
				i = 0
			}
		}
		if i > int64(n) {
			i = int64(n)
		}
		return int(i), nil
	}
	a, err := conv(start, 0)
	if err != nil {
		return 0, 0, err
	}
	b, err := conv(end, n)
	if err != nil {
		return 0, 0, err
	}
	return byteOffset(s, a), byteOffset(s, b), nil
}

// byteOffset converts a rune index into a byte offset.
func byteOffset(s string, runeIdx int) int {
	if isASCII(s) {
		return runeIdx
	}
	i := 0
	for off := range s {
		if i == runeIdx {
			return off
		}
		i++
	}
	return len(s)
}

func runeIndex(s string, byteOff int) int {
	return utf8.RuneCountInString(s[:byteOff])
}

func (ev *evaluator) strMethod(s, name string, args []Value, kw []kwArg) (Value, error) {
	if name == "format" {
		return ev.strFormat(s, args, kw)
	}
	noArgs := func() error {
		if len(args) > 0 || len(kw) > 0 {
			return fmt.Errorf("str.%s() takes no arguments", name)
		}
		return nil
	}
	if err := ev.step(int64(len(s) / 64)); err != nil {
		return nil, err
	}
	switch name {
	case "strip", "lstrip", "rstrip":
		a, err := bindArgs(name, []string{"chars"}, args, kw)
		if err != nil {
			return nil, err
		}
		chars, ok, err := strArg(name, a[0])
		if err != nil {
			return nil, err
		}
		if !ok {
			switch name {
			case "lstrip":
				return String(pyLStrip(s)), nil
			case "rstrip":
				return String(pyRStrip(s)), nil
			}
			return String(pyStrip(s)), nil
		}
		return String(pyStripChars(s, chars, name[0])), nil
	case "split", "rsplit":
		a, err := bindArgs(name, []string{"sep", "maxsplit"}, args, kw)
		if err != nil {
			return nil, err
		}
		sep, hasSep, err := strArg(name, a[0])
		if err != nil {
			return nil, err
		}
		maxsplit, err := intArg(name, a[1], -1)
		if err != nil {
			return nil, err
		}
		var parts []string
		switch {
		case !hasSep && name == "split":
			parts = pySplitWhitespace(s, int(maxsplit))
		case !hasSep:
			parts = pyRSplitWhitespace(s, int(maxsplit))
		case sep == "":
			return nil, errorf("empty separator")
		case name == "split":
			if maxsplit < 0 {
				if err := ev.checkItems(strings.Count(s, sep) + 1); err != nil {
					return nil, err
				}
				parts = strings.Split(s, sep)
			} else {
				parts = strings.SplitN(s, sep, int(min(maxsplit, int64(len(s)+1)))+1)
			}
		default:
			parts = pyRSplit(s, sep, int(min(maxsplit, int64(len(s)+1))))
		}
		return stringList(ev, parts)
	case "splitlines":
		a, err := bindArgs(name, []string{"keepends"}, args, kw)
		if err != nil {
			return nil, err
		}
		return stringList(ev, pySplitlines(s, a[0] != nil && truthy(a[0])))
	case "startswith", "endswith":
		a, err := bindArgs(name, []string{"prefix", "start", "end"}, args, kw)
		if err != nil {
			return nil, err
		}
		if a[0] == nil {
			return nil, fmt.Errorf("%s expected at least 1 argument", name)
		}
		lo, hi, err := runeRange(s, a[1], a[2])
		if err != nil {
			return nil, err
		}
		sub := ""
		if lo <= hi {
			sub = s[lo:hi]
		} else if name == "startswith" || name == "endswith" {
			return Bool(false), nil
		}
		var cands []Value
		switch p := a[0].(type) {
		case String:
			cands = []Value{p}
		case *List:
			if !p.tuple {
				return nil, fmt.Errorf("%s first arg must be str or a tuple of str, not list", name)
			}
			cands = p.Items
		default:
			return nil, fmt.Errorf("%s first arg must be str or a tuple of str, not %s", name, a[0].typeName())
		}
		for _, c := range cands {
			cs, ok := c.(String)
			if !ok {
				return nil, fmt.Errorf("tuple for %s must only contain str, not %s", name, c.typeName())
			}
			if name == "startswith" && strings.HasPrefix(sub, string(cs)) ||
				name == "endswith" && strings.HasSuffix(sub, string(cs)) {
				return Bool(true), nil
			}
		}
		return Bool(false), nil
	case "upper", "lower", "title", "capitalize", "swapcase", "casefold":
		if err := noArgs(); err != nil {
			return nil, err
		}
		if err := ev.checkSize(len(s) * 2); err != nil {
			return nil, err
		}
		switch name {
		case "upper":
			return String(pyUpper(s)), nil
		case "lower", "casefold":
			return String(pyLower(s)), nil
		case "title":
			return String(pyTitle(s)), nil
		case "capitalize":
			return String(pyCapitalize(s)), nil
		}
		return String(pySwapcase(s)), nil
	case "replace":
		a, err := bindArgs(name, []string{"old", "new", "count"}, args, kw)
		if err != nil {
			return nil, err
		}
		return ev.replace(s, a[0], a[1], a[2])
	case "find", "rfind", "index", "rindex", "count":
		a, err := bindArgs(name, []string{"sub", "start", "end"}, args, kw)
		if err != nil {
			return nil, err
		}
		sub, ok, err := strArg(name, a[0])
		if err != nil || !ok {
			if err == nil {
				err = fmt.Errorf("%s() missing required argument 'sub'", name)
			}
			return nil, err
		}
		lo, hi, err := runeRange(s, a[1], a[2])
		if err != nil {
			return nil, err
		}
		if lo > hi {
			if name == "count" {
				return Int(0), nil
			}
			if name == "index" || name == "rindex" {
				return nil, errorf("substring not found")
			}
			return Int(-1), nil
		}
		win := s[lo:hi]
		if name == "count" {
			return Int(strings.Count(win, sub)), nil
		}
		var i int
		if name == "find" || name == "index" {
			i = strings.Index(win, sub)
		} else {
			i = strings.LastIndex(win, sub)
		}
		if i < 0 {
			if name == "index" || name == "rindex" {
				return nil, errorf("substring not found")
			}
			return Int(-1), nil
		}
		return Int(runeIndex(s, lo+i)), nil
	case "join":
		if len(args) != 1 || len(kw) > 0 {
			return nil, errorf("str.join() takes exactly one argument")
		}
		items, err := ev.iterate(args[0])
		if err != nil {
			return nil, err
		}
		parts := make([]string, len(items))
		total := len(s) * len(items)
		for i, it := range items {
			is, ok := it.(String)
			if !ok {
				return nil, fmt.Errorf("sequence item %d: expected str instance, %s found", i, it.typeName())
			}
			parts[i] = string(is)
			total += len(is)
		}
		if err := ev.checkSize(total); err != nil {
			return nil, err
		}
		return String(strings.Join(parts, s)), nil
	case "isdigit", "isdecimal", "isnumeric":
		if err := noArgs(); err != nil {
			return nil, err
		}
		if name == "isdecimal" {
			return Bool(strAll(s, unicode.IsDigit)), nil
		}
		return Bool(strAll(s, unicode.IsNumber)), nil
	case "isalpha":
		return Bool(strAll(s, unicode.IsLetter)), noArgs()
	case "isalnum":
		return Bool(strAll(s, isPyAlnum)), noArgs()
	case "isspace":
		return Bool(strAll(s, pyIsSpace)), noArgs()
	case "islower", "isupper":
		if err := noArgs(); err != nil {
			return nil, err
		}
		cased := false
		for _, r := range s {
			if unicode.IsUpper(r) || unicode.IsTitle(r) {
				if name == "islower" {
					return Bool(false), nil
				}
				cased = true
			} else if unicode.IsLower(r) {
				if name == "isupper" {
					return Bool(false), nil
				}
				cased = true
			}
		}
		return Bool(cased), nil
	case "istitle":
		return Bool(s != "" && pyTitle(s) == s && strings.IndexFunc(s, pyIsCased) >= 0), noArgs()
	case "center", "ljust", "rjust":
		a, err := bindArgs(name, []string{"width", "fillchar"}, args, kw)
		if err != nil {
			return nil, err
		}
		width, err := intArg(name, a[0], 0)
		if err != nil {
			return nil, err
		}
		fill := " "
		if a[1] != nil {
			f, _, err := strArg(name, a[1])
			if err != nil || runeLen(f) != 1 {
				return nil, errorf("the fill character must be exactly one character long")
			}
			fill = f
		}
		return ev.pad(s, width, fill, name)
	case "zfill":
		a, err := bindArgs(name, []string{"width"}, args, kw)
		if err != nil {
			return nil, err
		}
		width, err := intArg(name, a[0], 0)
		if err != nil {
			return nil, err
		}
		n := int64(runeLen(s))
		if width <= n {
			return String(s), nil
		}
		if err := ev.checkSize(int(min(width, int64(ev.maxSize)+1))); err != nil {
			return nil, err
		}
		sign := ""
		if s != "" && (s[0] == '+' || s[0] == '-') {
			sign, s = s[:1], s[1:]
		}
		return String(sign + strings.Repeat("0", int(width-n)) + s), nil
	case "partition", "rpartition":
		if len(args) != 1 {
			return nil, fmt.Errorf("%s() takes exactly one argument", name)
		}
		sep, ok, err := strArg(name, args[0])
		if err != nil || !ok || sep == "" {
			return nil, errorf("empty separator")
		}
		var i int
		if name == "partition" {
			i = strings.Index(s, sep)
		} else {
			i = strings.LastIndex(s, sep)
		}
		if i < 0 {
			if name == "partition" {
				return NewTuple(String(s), String(""), String("")), nil
			}
			return NewTuple(String(""), String(""), String(s)), nil
		}
		return NewTuple(String(s[:i]), String(sep), String(s[i+len(sep):])), nil
	case "removeprefix", "removesuffix":
		if len(args) != 1 {
			return nil, fmt.Errorf("%s() takes exactly one argument", name)
		}
		a, ok, err := strArg(name, args[0])
		if err != nil || !ok {
			return nil, fmt.Errorf("%s() argument must be str", name)
		}
		if name == "removeprefix" {
			return String(strings.TrimPrefix(s, a)), nil
		}
		return String(strings.TrimSuffix(s, a)), nil
	}
	return nil, fmt.Errorf("'str' object has no method '%s'", name)
}

func stringList(ev *evaluator, parts []string) (Value, error) {
	if err := ev.checkItems(len(parts)); err != nil {
		return nil, err
	}
	out := make([]Value, len(parts))
	for i, p := range parts {
		out[i] = String(p)
	}
	return &List{Items: out}, nil
}

// replace is str.replace(old, new[, count]) with the result size checked
// before it is built.
func (ev *evaluator) replace(s string, oldV, newV, countV Value) (Value, error) {
	old, ok1, err := strArg("replace", oldV)
	if err != nil {
		return nil, err
	}
	nw, ok2, err := strArg("replace", newV)
	if err != nil {
		return nil, err
	}
	if !ok1 || !ok2 {
		return nil, errorf("replace() takes at least 2 arguments")
	}
	count, err := intArg("replace", countV, -1)
	if err != nil {
		return nil, err
	}
	n := strings.Count(s, old)
	if count >= 0 && int64(n) > count {
		n = int(count)
	}
	if n > 0 && len(nw) > len(old) {
		if (len(nw)-len(old)) > 0 && n > (ev.maxSize+1)/(len(nw)-len(old))+1 {
			return nil, fmt.Errorf("%w: replace result too large", ErrTooLarge)
		}
		if err := ev.checkSize(len(s) + n*(len(nw)-len(old))); err != nil {
			return nil, err
		}
	}
	return String(strings.Replace(s, old, nw, n)), nil
}

// pad implements center, ljust and rjust (widths in characters).
func (ev *evaluator) pad(s string, width int64, fill, how string) (Value, error) {
	n := int64(runeLen(s))
	if width <= n {
		return String(s), nil
	}
	total := width - n
	if total > int64(ev.maxSize) {
		return nil, fmt.Errorf("%w: padding to width %d", ErrTooLarge, width)
	}
	if err := ev.checkSize(len(s) + int(total)*len(fill)); err != nil {
		return nil, err
	}
	var left int64
	switch how {
	case "center":
		left = total / 2
		if total%2 == 1 && width%2 == 1 {
			left++
		}
	case "rjust":
		left = total
	}
	return String(strings.Repeat(fill, int(left)) + s + strings.Repeat(fill, int(total-left))), nil
}
