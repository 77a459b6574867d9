package jinja

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Python string formatting: the % operator (and the format filter) and
// str.format, covering the conversions templates use.

// fmtSpec is a parsed conversion: flags, width, precision and type.
type fmtSpec struct {
	fill      rune
	align     byte // '<', '>', '^', '=' or 0
	sign      byte // '+', '-', ' ' or 0
	alt       bool
	zero      bool
	width     int
	precision int // -1: none
	grouping  byte
	typ       byte
}

// maxFieldWidth bounds widths and precisions in format specs.
const maxFieldWidth = 1 << 16

func (ev *evaluator) percentFormat(format string, arg Value) (Value, error) {
	// Python: a tuple gives the arguments; anything else is one argument,
	// and a mapping-like one (anything subscriptable but a str) may go
	// unused.
	var args []Value
	var mapping *Dict
	mappingLike := false
	switch a := arg.(type) {
	case *List:
		if a.tuple {
			args = a.Items
		} else {
			args, mappingLike = []Value{a}, true
		}
	case *Dict:
		mapping, mappingLike = a, true
		args = []Value{a}
	case Undefined, *rangeValue:
		args, mappingLike = []Value{a}, true
	default:
		args = []Value{a}
	}
	var b strings.Builder
	next := 0
	usedMapping := false
	for i := 0; i < len(format); {
		c := format[i]
		if c != '%' {
			j := strings.IndexByte(format[i:], '%')
			if j < 0 {
				j = len(format) - i
			}
			b.WriteString(format[i : i+j])
			i += j
			continue
		}
		i++
		if i >= len(format) {
			return nil, errorf("incomplete format")
		}
		var key string
		hasKey := false
		if format[i] == '(' {
			end := strings.IndexByte(format[i:], ')')
			if end < 0 {
				return nil, errorf("incomplete format key")
			}
			key, hasKey = format[i+1:i+end], true
			i += end + 1
		}
		sp := fmtSpec{precision: -1, fill: ' '}
		for i < len(format) && strings.IndexByte("-+ #0", format[i]) >= 0 {
			switch format[i] {
			case '-':
				sp.align = '<'
			case '+':
				sp.sign = '+'
			case ' ':
				if sp.sign == 0 {
					sp.sign = ' '
				}
			case '#':
				sp.alt = true
			case '0':
				sp.zero = true
			}
			i++
		}
		w, n := scanInt(format[i:])
		sp.width, i = w, i+n
		if i < len(format) && format[i] == '.' {
			p, n := scanInt(format[i+1:])
			sp.precision, i = p, i+1+n
		}
		if sp.width > maxFieldWidth || sp.precision > maxFieldWidth {
			return nil, fmt.Errorf("%w: format width too large", ErrTooLarge)
		}
		if i >= len(format) {
			return nil, errorf("incomplete format")
		}
		sp.typ = format[i]
		i++
		if sp.typ == '%' {
			b.WriteByte('%')
			continue
		}
		var v Value
		if hasKey {
			if mapping == nil {
				return nil, errorf("format requires a mapping")
			}
			mv, ok := mapping.Get(key)
			if !ok {
				return nil, fmt.Errorf("KeyError: %s", pyRepr(key))
			}
			v, usedMapping = mv, true
		} else {
			if next >= len(args) {
				return nil, errorf("not enough arguments for format string")
			}
			v = args[next]
			next++
		}
		if sp.align == '<' {
			sp.zero = false
		} else if sp.zero && strings.IndexByte("sra c", sp.typ) < 0 {
			sp.align, sp.fill = '=', '0'
		} else {
			sp.align = '>'
		}
		s, err := ev.formatValue(v, sp, true)
		if err != nil {
			return nil, err
		}
		if err := ev.checkSize(b.Len() + len(s)); err != nil {
			return nil, err
		}
		b.WriteString(s)
	}
	if !usedMapping && !mappingLike && next < len(args) {
		return nil, errorf("not all arguments converted during string formatting")
	}
	return String(b.String()), nil
}

func scanInt(s string) (int, int) {
	n, i := 0, 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		if n <= maxFieldWidth {
			n = n*10 + int(s[i]-'0')
		}
		i++
	}
	return n, i
}

// formatValue converts one value per a conversion spec. percent selects
// the %-operator rules (where %s of a number is its str).
func (ev *evaluator) formatValue(v Value, sp fmtSpec, percent bool) (string, error) {
	if err := ev.step(1); err != nil {
		return "", err
	}
	var body string
	switch sp.typ {
	case 's', 0:
		if sp.typ == 0 {
			switch x := v.(type) {
			case Int:
				sp.typ = 'd'
				return ev.formatValue(v, sp, percent)
			case Float:
				if sp.precision >= 0 {
					sp.typ = 'g'
					return ev.formatValue(v, sp, percent)
				}
				f := float64(x)
				body := formatFloat(math.Abs(f))
				if sp.grouping != 0 {
					intPart, rest, _ := strings.Cut(body, ".")
					body = group(intPart, sp.grouping) + "." + rest
				}
				return applyNumPad(sp, signOf(math.Signbit(f), sp.sign), body), nil
			}
		}
		s, err := ev.str(v)
		if err != nil {
			return "", err
		}
		if sp.precision >= 0 && runeLen(s) > sp.precision {
			s = string([]rune(s)[:sp.precision])
		}
		body = s
		return pad(body, sp, '<'), nil
	case 'r', 'a':
		s := pyReprValue(v)
		if sp.precision >= 0 && runeLen(s) > sp.precision {
			s = string([]rune(s)[:sp.precision])
		}
		return pad(s, sp, '<'), nil
	case 'c':
		switch x := v.(type) {
		case Int:
			if x < 0 || x > 0x10FFFF {
				return "", errorf("%%c arg not in range(0x110000)")
			}
			return pad(string(fixRune(rune(x))), sp, '<'), nil
		case String:
			if runeLen(string(x)) == 1 {
				return pad(string(x), sp, '<'), nil
			}
		}
		return "", errorf("%%c requires int or char")
	}
	i, f, isF, ok := number(v)
	if !ok {
		return "", fmt.Errorf("format '%c' requires a number, not %s", sp.typ, v.typeName())
	}
	sign := ""
	switch sp.typ {
	case 'd', 'i', 'u', 'n', 'x', 'X', 'o', 'b':
		if isF {
			if sp.typ != 'd' && sp.typ != 'i' && sp.typ != 'u' || !percent {
				return "", fmt.Errorf("unknown format code '%c' for object of type 'float'", sp.typ)
			}
			if math.IsNaN(f) || math.IsInf(f, 0) {
				return "", errorf("cannot convert float to integer")
			}
			i = int64(f)
		}
		neg := i < 0
		u := uint64(i)
		if neg {
			u = uint64(-i)
		}
		base := map[byte]int{'x': 16, 'X': 16, 'o': 8, 'b': 2}[sp.typ]
		if base == 0 {
			base = 10
		}
		body = strconv.FormatUint(u, base)
		if sp.typ == 'X' {
			body = strings.ToUpper(body)
		}
		if sp.grouping != 0 && base == 10 {
			body = group(body, sp.grouping)
		}
		if sp.alt && base != 10 {
			body = "0" + string(map[int]byte{16: sp.typ, 8: 'o', 2: 'b'}[base]) + body
		}
		sign = signOf(neg, sp.sign)
	case 'f', 'F', 'e', 'E', 'g', 'G', '%':
		if !isF {
			f = float64(i)
		}
		prec := sp.precision
		if prec < 0 {
			prec = 6
		}
		neg := math.Signbit(f) && !math.IsNaN(f)
		a := math.Abs(f)
		switch {
		case math.IsInf(a, 0):
			body = "inf"
		case math.IsNaN(a):
			body = "nan"
		case sp.typ == '%':
			body = strconv.FormatFloat(a*100, 'f', prec, 64) + "%"
		case sp.typ == 'f' || sp.typ == 'F':
			body = strconv.FormatFloat(a, 'f', prec, 64)
		case sp.typ == 'e' || sp.typ == 'E':
			body = strconv.FormatFloat(a, 'e', prec, 64)
		default:
			if prec == 0 {
				prec = 1
			}
			body = strconv.FormatFloat(a, 'g', prec, 64)
			if sp.alt && !strings.Contains(body, ".") {
				body += "."
			}
		}
		if sp.typ == 'F' || sp.typ == 'E' || sp.typ == 'G' {
			body = strings.ToUpper(body)
		}
		if sp.grouping != 0 {
			intPart, rest, _ := strings.Cut(body, ".")
			if rest != "" {
				rest = "." + rest
			}
			body = group(intPart, sp.grouping) + rest
		}
		sign = signOf(neg, sp.sign)
	default:
		return "", fmt.Errorf("unsupported format character '%c'", sp.typ)
	}
	return applyNumPad(sp, sign, body), nil
}

func signOf(neg bool, flag byte) string {
	switch {
	case neg:
		return "-"
	case flag == '+':
		return "+"
	case flag == ' ':
		return " "
	}
	return ""
}

func group(digits string, sep byte) string {
	if len(digits) <= 3 {
		return digits
	}
	var b strings.Builder
	lead := len(digits) % 3
	if lead > 0 {
		b.WriteString(digits[:lead])
	}
	for i := lead; i < len(digits); i += 3 {
		if b.Len() > 0 {
			b.WriteByte(sep)
		}
		b.WriteString(digits[i : i+3])
	}
	return b.String()
}

// applyNumPad pads a number; '=' alignment puts the fill after the sign.
func applyNumPad(sp fmtSpec, sign, body string) string {
	if sp.align == 0 {
		sp.align = '>'
	}
	if sp.align == '=' {
		n := sp.width - utf8.RuneCountInString(sign+body)
		if n > 0 {
			return sign + strings.Repeat(string(sp.fill), n) + body
		}
		return sign + body
	}
	return pad(sign+body, sp, '>')
}

func pad(s string, sp fmtSpec, def byte) string {
	n := sp.width - utf8.RuneCountInString(s)
	if n <= 0 {
		return s
	}
	fill := string(sp.fill)
	align := sp.align
	if align == 0 || align == '=' {
		align = def
	}
	switch align {
	case '<':
		return s + strings.Repeat(fill, n)
	case '^':
		return strings.Repeat(fill, n/2) + s + strings.Repeat(fill, n-n/2)
	}
	return strings.Repeat(fill, n) + s
}

// strFormat is str.format with positional and named fields, attribute and
// index lookups (through the sandboxed getattr/getitem), conversions and
// format specs.
func (ev *evaluator) strFormat(format string, args []Value, kw []kwArg) (Value, error) {
	var b strings.Builder
	auto := 0
	for i := 0; i < len(format); {
		c := format[i]
		switch {
		case c == '{' && i+1 < len(format) && format[i+1] == '{':
			b.WriteByte('{')
			i += 2
			continue
		case c == '}' && i+1 < len(format) && format[i+1] == '}':
			b.WriteByte('}')
			i += 2
			continue
		case c == '}':
			return nil, errorf("single '}' encountered in format string")
		case c != '{':
			b.WriteByte(c)
			i++
			continue
		}
		end := strings.IndexByte(format[i:], '}')
		if end < 0 {
			return nil, errorf("single '{' encountered in format string")
		}
		field := format[i+1 : i+end]
		i += end + 1
		name, specStr, _ := strings.Cut(field, ":")
		conv := byte(0)
		if k := strings.IndexByte(name, '!'); k >= 0 {
			if k+2 != len(name) {
				return nil, errorf("expected ':' after conversion specifier")
			}
			conv = name[k+1]
			name = name[:k]
		}
		v, err := ev.formatField(name, &auto, args, kw)
		if err != nil {
			return nil, err
		}
		switch conv {
		case 'r', 'a':
			v = String(pyReprValue(v))
		case 's':
			s, err := ev.str(v)
			if err != nil {
				return nil, err
			}
			v = String(s)
		case 0:
		default:
			return nil, fmt.Errorf("unknown conversion specifier %c", conv)
		}
		sp, err := parseFormatSpec(specStr)
		if err != nil {
			return nil, err
		}
		s, err := ev.formatValue(v, sp, false)
		if err != nil {
			return nil, err
		}
		if err := ev.checkSize(b.Len() + len(s)); err != nil {
			return nil, err
		}
		b.WriteString(s)
	}
	return String(b.String()), nil
}

func (ev *evaluator) formatField(name string, auto *int, args []Value, kw []kwArg) (Value, error) {
	// Split the first name from .attr and [key] parts.
	end := strings.IndexAny(name, ".[")
	if end < 0 {
		end = len(name)
	}
	first, rest := name[:end], name[end:]
	var v Value
	switch {
	case first == "":
		if *auto >= len(args) {
			return nil, fmt.Errorf("replacement index %d out of range for positional args tuple", *auto)
		}
		v = args[*auto]
		*auto++
	case first[0] >= '0' && first[0] <= '9':
		n, err := strconv.Atoi(first)
		if err != nil || n >= len(args) {
			return nil, fmt.Errorf("replacement index %s out of range for positional args tuple", first)
		}
		v = args[n]
	default:
		found := false
		for _, k := range kw {
			if k.name == first {
				v, found = k.val, true
			}
		}
		if !found {
			return nil, fmt.Errorf("KeyError: %s", pyRepr(first))
		}
	}
	for rest != "" {
		var err error
		switch rest[0] {
		case '.':
			end := strings.IndexAny(rest[1:], ".[")
			if end < 0 {
				end = len(rest) - 1
			}
			v, err = ev.getattr(v, rest[1:1+end])
			rest = rest[1+end:]
		case '[':
			end := strings.IndexByte(rest, ']')
			if end < 0 {
				return nil, errorf("missing ']' in format string")
			}
			key := rest[1:end]
			var k Value = String(key)
			if n, err := strconv.Atoi(key); err == nil {
				k = Int(n)
			}
			v, err = ev.getitem(v, k)
			rest = rest[end+1:]
		default:
			return nil, errorf("only '.' or '[' may follow ']' in format field specifier")
		}
		if err != nil {
			return nil, err
		}
	}
	return v, nil
}

// parseFormatSpec parses [[fill]align][sign][#][0][width][,_][.precision][type].
func parseFormatSpec(s string) (fmtSpec, error) {
	sp := fmtSpec{fill: ' ', precision: -1}
	isAlign := func(c byte) bool { return c == '<' || c == '>' || c == '^' || c == '=' }
	if r, n := utf8.DecodeRuneInString(s); n > 0 && n < len(s) && isAlign(s[n]) {
		sp.fill, sp.align, s = r, s[n], s[n+1:]
	} else if s != "" && isAlign(s[0]) {
		sp.align, s = s[0], s[1:]
	}
	if s != "" && (s[0] == '+' || s[0] == '-' || s[0] == ' ') {
		sp.sign, s = s[0], s[1:]
	}
	if s != "" && s[0] == '#' {
		sp.alt, s = true, s[1:]
	}
	if s != "" && s[0] == '0' {
		sp.zero, s = true, s[1:]
		if sp.align == 0 {
			sp.fill, sp.align = '0', '='
		}
	}
	w, n := scanInt(s)
	sp.width, s = w, s[n:]
	if s != "" && (s[0] == ',' || s[0] == '_') {
		sp.grouping, s = s[0], s[1:]
	}
	if s != "" && s[0] == '.' {
		p, n := scanInt(s[1:])
		if n == 0 {
			return sp, errorf("format specifier missing precision")
		}
		sp.precision, s = p, s[1+n:]
	}
	if sp.width > maxFieldWidth || sp.precision > maxFieldWidth {
		return sp, fmt.Errorf("%w: format width too large", ErrTooLarge)
	}
	if len(s) > 1 {
		return sp, errorf("invalid format specifier")
	}
	if s != "" {
		sp.typ = s[0]
	}
	return sp, nil
}
