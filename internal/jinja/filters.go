package jinja

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

type filterFunc func(ev *evaluator, v Value, args []Value, kw []kwArg) (Value, error)

// filters is jinja2's built-in filter set as a sandboxed chat template
// sees it (tojson with transformers' semantics). The table is read-only.
var filters map[string]filterFunc

func init() {
	filters = map[string]filterFunc{
		"abs": fAbs, "attr": fAttr, "batch": fBatch, "capitalize": fStrFunc(pyCapitalize),
		"center": fCenter, "count": fLength, "d": fDefault, "default": fDefault,
		"dictsort": fDictsort, "e": fEscape, "escape": fEscape, "first": fFirst,
		"float": fFloat, "forceescape": fEscape, "format": fFormat, "groupby": fGroupby,
		"indent": fIndent, "int": fInt, "items": fItems, "join": fJoin, "last": fLast,
		"length": fLength, "list": fList, "lower": fStrFunc(pyLower), "map": fMap,
		"max": fMax, "min": fMin, "pprint": fPprint, "reject": fReject, "rejectattr": fRejectattr,
		"replace": fReplace, "reverse": fReverse, "round": fRound, "safe": fString,
		"select": fSelect, "selectattr": fSelectattr, "slice": fSlice, "sort": fSort,
		"string": fString, "striptags": fStriptags, "sum": fSum, "title": fStrFunc(jinjaTitle),
		"tojson": fToJSON, "trim": fTrim, "truncate": fTruncate, "unique": fUnique,
		"upper": fStrFunc(pyUpper), "wordcount": fWordcount,
	}
}

func (ev *evaluator) applyFilter(f *filterExpr, v Value, sc *scope) (Value, error) {
	args, kw, err := ev.evalArgs(f.args, f.kwargs, f.dynArgs, f.dynKwargs, sc)
	if err != nil {
		return nil, err
	}
	return ev.callFilter(f.name, v, args, kw)
}

func (ev *evaluator) applyFilterChain(fs []*filterExpr, v Value, sc *scope) (Value, error) {
	for _, f := range fs {
		var err error
		if v, err = ev.applyFilter(f, v, sc); err != nil {
			return nil, ev.wrap(f.pos, err)
		}
	}
	return v, nil
}

func (ev *evaluator) callFilter(name string, v Value, args []Value, kw []kwArg) (Value, error) {
	fn := filters[name]
	if fn == nil {
		return nil, fmt.Errorf("no filter named '%s'", name)
	}
	if err := ev.step(1); err != nil {
		return nil, err
	}
	if err := ev.charge(v); err != nil {
		return nil, err
	}
	return fn(ev, v, args, kw)
}

// fStrFunc makes a filter of a string function applied to str(v).
func fStrFunc(f func(string) string) filterFunc {
	return func(ev *evaluator, v Value, args []Value, kw []kwArg) (Value, error) {
		if len(args) > 0 || len(kw) > 0 {
			return nil, errorf("filter takes no arguments")
		}
		s, err := ev.str(v)
		if err != nil {
			return nil, err
		}
		if err := ev.checkSize(len(s) * 2); err != nil {
			return nil, err
		}
		return String(f(s)), nil
	}
}

func fAbs(ev *evaluator, v Value, args []Value, kw []kwArg) (Value, error) {
	if u, ok := v.(Undefined); ok {
		return nil, u.err()
	}
	i, f, isF, ok := number(v)
	if !ok {
		return nil, fmt.Errorf("bad operand type for abs(): '%s'", v.typeName())
	}
	if isF {
		return Float(math.Abs(f)), nil
	}
	if i < 0 {
		if i == math.MinInt64 {
			return nil, errorf("integer overflow")
		}
		i = -i
	}
	return Int(i), nil
}

func fAttr(ev *evaluator, v Value, args []Value, kw []kwArg) (Value, error) {
	a, err := bindArgs("attr", []string{"name"}, args, kw)
	if err != nil {
		return nil, err
	}
	if a[0] == nil {
		return nil, errorf("attr() missing required argument 'name'")
	}
	name, err := ev.str(a[0])
	if err != nil {
		return nil, err
	}
	if u, ok := v.(Undefined); ok {
		return nil, u.err()
	}
	if unsafeAttr(v, name) {
		return Undefined{hint: fmt.Sprintf("access to attribute '%s' of '%s' object is unsafe", name, v.typeName())}, nil
	}
	if r, ok := ev.attribute(v, name); ok {
		return r, nil
	}
	return undefinedAttr(v, name), nil
}

func fCenter(ev *evaluator, v Value, args []Value, kw []kwArg) (Value, error) {
	a, err := bindArgs("center", []string{"width"}, args, kw)
	if err != nil {
		return nil, err
	}
	width, err := intArg("center", a[0], 80)
	if err != nil {
		return nil, err
	}
	s, err := ev.str(v)
	if err != nil {
		return nil, err
	}
	return ev.pad(s, width, " ", "center")
}

func fDefault(ev *evaluator, v Value, args []Value, kw []kwArg) (Value, error) {
	a, err := bindArgs("default", []string{"default_value", "boolean"}, args, kw)
	if err != nil {
		return nil, err
	}
	def := a[0]
	if def == nil {
		def = String("")
	}
	if isUndefined(v) || (a[1] != nil && truthy(a[1]) && !truthy(v)) {
		return def, nil
	}
	return v, nil
}

func htmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&#34;", "'", "&#39;").Replace(s)
}

func fEscape(ev *evaluator, v Value, args []Value, kw []kwArg) (Value, error) {
	s, err := ev.str(v)
	if err != nil {
		return nil, err
	}
	if err := ev.checkSize(len(s) * 5); err != nil {
		return nil, err
	}
	return String(htmlEscape(s)), nil
}

// parsePyFloat is Python's float() of a str.
func parsePyFloat(s string) (float64, bool) {
	s = pyStrip(s)
	if s == "" || strings.ContainsAny(s, "xXpP") {
		return 0, false
	}
	clean := s
	if strings.Contains(s, "_") {
		// Python allows single underscores between digits.
		for i := 0; i < len(s); i++ {
			if s[i] == '_' && (i == 0 || i == len(s)-1 || !isDec(s[i-1]) || !isDec(s[i+1])) {
				return 0, false
			}
		}
		clean = strings.ReplaceAll(s, "_", "")
	}
	f, err := strconv.ParseFloat(clean, 64)
	if err != nil && !isRangeErr(err) {
		return 0, false
	}
	return f, true
}

func fFloat(ev *evaluator, v Value, args []Value, kw []kwArg) (Value, error) {
	a, err := bindArgs("float", []string{"default"}, args, kw)
	if err != nil {
		return nil, err
	}
	def := a[0]
	if def == nil {
		def = Float(0)
	}
	switch x := v.(type) {
	case Undefined:
		return nil, x.err()
	case Int, Bool, Float:
		_, f, _, _ := number(x)
		return Float(f), nil
	case String:
		if f, ok := parsePyFloat(string(x)); ok {
			return Float(f), nil
		}
	}
	return def, nil
}

func fFormat(ev *evaluator, v Value, args []Value, kw []kwArg) (Value, error) {
	s, err := ev.str(v)
	if err != nil {
		return nil, err
	}
	if len(args) > 0 && len(kw) > 0 {
		return nil, errorf("can't handle positional and keyword arguments at the same time")
	}
	if len(kw) > 0 {
		d := NewDict()
		for _, k := range kw {
			d.Set(k.name, k.val)
		}
		return ev.percentFormat(s, d)
	}
	return ev.percentFormat(s, NewTuple(args...))
}

func fIndent(ev *evaluator, v Value, args []Value, kw []kwArg) (Value, error) {
	a, err := bindArgs("indent", []string{"width", "first", "blank"}, args, kw)
	if err != nil {
		return nil, err
	}
	indention := "    "
	switch w := a[0].(type) {
	case nil:
	case String:
		indention = string(w)
	default:
		n, err := intArg("indent", w, 4)
		if err != nil {
			return nil, err
		}
		if n > int64(ev.maxSize) {
			return nil, fmt.Errorf("%w: indent width %d", ErrTooLarge, n)
		}
		indention = strings.Repeat(" ", int(max(n, 0)))
	}
	s, err := ev.str(v)
	if err != nil {
		return nil, err
	}
	lines := pySplitlines(s+"\n", false)
	if err := ev.checkSize(len(s) + len(lines)*(len(indention)+1)); err != nil {
		return nil, err
	}
	var rv string
	if a[2] != nil && truthy(a[2]) {
		rv = strings.Join(lines, "\n"+indention)
	} else {
		var b strings.Builder
		b.WriteString(lines[0])
		for _, l := range lines[1:] {
			b.WriteByte('\n')
			if l != "" {
				b.WriteString(indention)
			}
			b.WriteString(l)
		}
		rv = b.String()
	}
	if a[1] != nil && truthy(a[1]) {
		rv = indention + rv
	}
	return String(rv), nil
}

// parsePyInt is Python's int(s, base) for a str.
func parsePyInt(s string, base int) (int64, bool) {
	s = pyStrip(s)
	neg := false
	if s != "" && (s[0] == '+' || s[0] == '-') {
		neg, s = s[0] == '-', s[1:]
	}
	lower := strings.ToLower(s)
	prefixBase := map[string]int{"0x": 16, "0o": 8, "0b": 2}
	if len(lower) > 2 {
		if pb, ok := prefixBase[lower[:2]]; ok && (base == 0 || base == pb) {
			base, s = pb, s[2:]
			if strings.HasPrefix(s, "_") {
				s = s[1:]
			}
		}
	}
	if base == 0 {
		base = 10
		if len(s) > 1 && s[0] == '0' && strings.Trim(s, "0_") != "" {
			return 0, false
		}
	}
	if s == "" || s[0] == '_' || s[len(s)-1] == '_' || strings.Contains(s, "__") {
		return 0, false
	}
	n, err := strconv.ParseInt(strings.ReplaceAll(s, "_", ""), base, 64)
	if err != nil {
		return 0, false
	}
	if neg {
		n = -n
	}
	return n, true
}

func fInt(ev *evaluator, v Value, args []Value, kw []kwArg) (Value, error) {
	a, err := bindArgs("int", []string{"default", "base"}, args, kw)
	if err != nil {
		return nil, err
	}
	def := a[0]
	if def == nil {
		def = Int(0)
	}
	base, err := intArg("int", a[1], 10)
	if err != nil {
		return nil, err
	}
	switch x := v.(type) {
	case Undefined:
		return nil, x.err()
	case Int:
		return x, nil
	case Bool:
		i, _, _, _ := number(x)
		return Int(i), nil
	case Float:
		f := float64(x)
		if math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f) >= 1<<63 {
			return def, nil
		}
		return Int(int64(f)), nil
	case String:
		if base >= 2 && base <= 36 || base == 0 {
			if n, ok := parsePyInt(string(x), int(base)); ok {
				return Int(n), nil
			}
		}
		if f, ok := parsePyFloat(string(x)); ok && !math.IsNaN(f) && !math.IsInf(f, 0) && math.Abs(f) < 1<<63 {
			return Int(int64(f)), nil
		}
	}
	return def, nil
}

func fPprint(ev *evaluator, v Value, args []Value, kw []kwArg) (Value, error) {
	var b strings.Builder
	w := &reprWriter{b: &b, limit: ev.maxSize, ev: ev}
	if err := w.repr(v, 0); err != nil {
		return nil, err
	}
	return String(b.String()), nil
}

func fReplace(ev *evaluator, v Value, args []Value, kw []kwArg) (Value, error) {
	a, err := bindArgs("replace", []string{"old", "new", "count"}, args, kw)
	if err != nil {
		return nil, err
	}
	s, err := ev.str(v)
	if err != nil {
		return nil, err
	}
	old, err := ev.str(orUndef(a[0]))
	if err != nil {
		return nil, err
	}
	nw, err := ev.str(orUndef(a[1]))
	if err != nil {
		return nil, err
	}
	return ev.replace(s, String(old), String(nw), a[2])
}

func orUndef(v Value) Value {
	if v == nil {
		return Undefined{}
	}
	return v
}

func fRound(ev *evaluator, v Value, args []Value, kw []kwArg) (Value, error) {
	a, err := bindArgs("round", []string{"precision", "method"}, args, kw)
	if err != nil {
		return nil, err
	}
	prec, err := intArg("round", a[0], 0)
	if err != nil {
		return nil, err
	}
	method := "common"
	if a[1] != nil {
		m, _ := a[1].(String)
		method = string(m)
	}
	if method != "common" && method != "ceil" && method != "floor" {
		return nil, errorf("method must be common, ceil or floor")
	}
	i, f, isF, ok := number(v)
	if !ok {
		return nil, fmt.Errorf("type %s doesn't define __round__ method", v.typeName())
	}
	if prec > 300 {
		prec = 300
	}
	if prec < -300 {
		prec = -300
	}
	if method == "common" {
		if !isF {
			if prec >= 0 {
				return Int(i), nil
			}
			p := math.Pow(10, float64(-prec))
			return Int(int64(math.RoundToEven(float64(i)/p) * p)), nil
		}
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return Float(f), nil
		}
		if prec >= 0 {
			r, _ := strconv.ParseFloat(strconv.FormatFloat(f, 'f', int(prec), 64), 64)
			return Float(r), nil
		}
		p := math.Pow(10, float64(-prec))
		return Float(math.RoundToEven(f/p) * p), nil
	}
	p := math.Pow(10, float64(prec))
	if method == "ceil" {
		return Float(math.Ceil(f*p) / p), nil
	}
	return Float(math.Floor(f*p) / p), nil
}

func fString(ev *evaluator, v Value, args []Value, kw []kwArg) (Value, error) {
	s, err := ev.str(v)
	return String(s), err
}

func fStriptags(ev *evaluator, v Value, args []Value, kw []kwArg) (Value, error) {
	s, err := ev.str(v)
	if err != nil {
		return nil, err
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		switch {
		case strings.HasPrefix(s[i:], "<!--"):
			end := strings.Index(s[i+4:], "-->")
			if end < 0 {
				b.WriteString(s[i:])
				i = len(s)
				continue
			}
			i += 4 + end + 3
		case s[i] == '<':
			end := strings.IndexByte(s[i+1:], '>')
			if end < 0 {
				b.WriteString(s[i:])
				i = len(s)
				continue
			}
			i += end + 2
		default:
			b.WriteByte(s[i])
			i++
		}
	}
	text := strings.Join(pySplitWhitespace(b.String(), -1), " ")
	text = strings.NewReplacer("&lt;", "<", "&gt;", ">", "&#34;", `"`, "&#39;", "'", "&quot;", `"`, "&amp;", "&").Replace(text)
	return String(text), nil
}

func fToJSON(ev *evaluator, v Value, args []Value, kw []kwArg) (Value, error) {
	a, err := bindArgs("tojson", []string{"ensure_ascii", "indent", "separators", "sort_keys"}, args, kw)
	if err != nil {
		return nil, err
	}
	o := jsonOpts{ensureASCII: a[0] != nil && truthy(a[0]), itemSep: ", ", keySep: ": "}
	switch ind := a[1].(type) {
	case nil, None:
	case String:
		s := string(ind)
		o.indent = &s
	default:
		n, err := intArg("tojson", ind, 0)
		if err != nil {
			return nil, err
		}
		if n > 1024 {
			return nil, fmt.Errorf("%w: JSON indent %d", ErrTooLarge, n)
		}
		s := strings.Repeat(" ", int(max(n, 0)))
		o.indent = &s
		o.itemSep = ","
	}
	if a[1] != nil {
		if _, isStr := a[1].(String); isStr {
			o.itemSep = ","
		}
	}
	if seps, ok := a[2].(*List); ok {
		if len(seps.Items) != 2 {
			return nil, errorf("separators must be an (item_separator, key_separator) pair")
		}
		is, ok1 := seps.Items[0].(String)
		ks, ok2 := seps.Items[1].(String)
		if !ok1 || !ok2 {
			return nil, errorf("separators must be strings")
		}
		o.itemSep, o.keySep = string(is), string(ks)
	}
	o.sortKeys = a[3] != nil && truthy(a[3])
	s, err := ev.toJSON(v, o)
	return String(s), err
}

func fTrim(ev *evaluator, v Value, args []Value, kw []kwArg) (Value, error) {
	a, err := bindArgs("trim", []string{"chars"}, args, kw)
	if err != nil {
		return nil, err
	}
	s, err := ev.str(v)
	if err != nil {
		return nil, err
	}
	chars, ok, err := strArg("trim", a[0])
	if err != nil {
		return nil, err
	}
	if !ok {
		return String(pyStrip(s)), nil
	}
	return String(pyStripChars(s, chars, 'b')), nil
}

func fTruncate(ev *evaluator, v Value, args []Value, kw []kwArg) (Value, error) {
	a, err := bindArgs("truncate", []string{"length", "killwords", "end", "leeway"}, args, kw)
	if err != nil {
		return nil, err
	}
	s, isStr := v.(String)
	if !isStr {
		// jinja2 measures len() of the value and returns it unchanged when
		// short; longer non-strings cannot be cut.
		n, err := ev.length(v)
		if err != nil {
			return nil, err
		}
		length, err := intArg("truncate", a[0], 255)
		if err != nil {
			return nil, err
		}
		leeway, err := intArg("truncate", a[3], 5)
		if err != nil {
			return nil, err
		}
		if int64(n) <= length+leeway {
			return v, nil
		}
		return nil, fmt.Errorf("truncate needs a string, not %s", v.typeName())
	}
	length, err := intArg("truncate", a[0], 255)
	if err != nil {
		return nil, err
	}
	end := "..."
	if a[2] != nil {
		if end, err = ev.str(a[2]); err != nil {
			return nil, err
		}
	}
	leeway, err := intArg("truncate", a[3], 5)
	if err != nil {
		return nil, err
	}
	endLen := int64(runeLen(end))
	if length < endLen {
		return nil, fmt.Errorf("expected length >= %d, got %d", endLen, length)
	}
	if leeway < 0 {
		return nil, fmt.Errorf("expected leeway >= 0, got %d", leeway)
	}
	runes := []rune(string(s))
	if int64(len(runes)) <= length+leeway {
		return s, nil
	}
	cut := string(runes[:length-endLen])
	if a[1] != nil && truthy(a[1]) {
		return String(cut + end), nil
	}
	if i := strings.LastIndexByte(cut, ' '); i >= 0 {
		cut = cut[:i]
	}
	return String(cut + end), nil
}

func fWordcount(ev *evaluator, v Value, args []Value, kw []kwArg) (Value, error) {
	s, err := ev.str(v)
	if err != nil {
		return nil, err
	}
	n, in := 0, false
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		w := r == '_' || unicode.IsLetter(r) || unicode.IsNumber(r)
		if w && !in {
			n++
		}
		in = w
		i += size
	}
	return Int(n), nil
}
