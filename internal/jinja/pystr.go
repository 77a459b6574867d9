package jinja

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

func sprintf(format string, args ...any) string {
	if len(args) == 0 {
		return format
	}
	return fmt.Sprintf(format, args...)
}

func errorf(format string, args ...any) error {
	return fmt.Errorf(format, args...)
}

// pyIsSpace is Python's str.isspace for one character: Unicode White_Space
// plus the ASCII separators \x1c-\x1f.
func pyIsSpace(r rune) bool {
	return unicode.IsSpace(r) || (r >= 0x1c && r <= 0x1f)
}

func isAllPySpace(s string) bool {
	for _, r := range s {
		if !pyIsSpace(r) {
			return false
		}
	}
	return true
}

func pyStrip(s string) string  { return strings.TrimFunc(s, pyIsSpace) }
func pyLStrip(s string) string { return strings.TrimLeftFunc(s, pyIsSpace) }
func pyRStrip(s string) string { return strings.TrimRightFunc(s, pyIsSpace) }

// runeLen is Python's len() of a str.
func runeLen(s string) int {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return utf8.RuneCountInString(s)
		}
	}
	return len(s)
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// formatFloat is Python's repr() of a float: the shortest round-tripping
// digits, fixed notation for exponents -4..15, scientific otherwise.
func formatFloat(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	case math.IsNaN(f):
		return "nan"
	}
	s := strconv.FormatFloat(f, 'e', -1, 64)
	mant, expStr, _ := strings.Cut(s, "e")
	exp, _ := strconv.Atoi(expStr)
	neg := strings.HasPrefix(mant, "-")
	if neg {
		mant = mant[1:]
	}
	digits := strings.Replace(mant, ".", "", 1)
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	switch {
	case exp >= 16 || exp < -4:
		b.WriteByte(digits[0])
		if len(digits) > 1 {
			b.WriteByte('.')
			b.WriteString(digits[1:])
		}
		b.WriteByte('e')
		if exp < 0 {
			b.WriteByte('-')
			exp = -exp
		} else {
			b.WriteByte('+')
		}
		if exp < 10 {
			b.WriteByte('0')
		}
		b.WriteString(strconv.Itoa(exp))
	case exp >= 0:
		if len(digits) <= exp+1 {
			b.WriteString(digits)
			b.WriteString(strings.Repeat("0", exp+1-len(digits)))
			b.WriteString(".0")
		} else {
			b.WriteString(digits[:exp+1])
			b.WriteByte('.')
			b.WriteString(digits[exp+1:])
		}
	default:
		b.WriteString("0.")
		b.WriteString(strings.Repeat("0", -exp-1))
		b.WriteString(digits)
	}
	return b.String()
}

// ToString is Python's str() of a value, as jinja2 prints it: strings as
// they are, None as "None", undefined as "", containers in repr form.
// Text beyond DefaultMaxOutput bytes is cut off and marked with "...".
func ToString(v Value) string {
	var b strings.Builder
	w := &reprWriter{b: &b, limit: DefaultMaxOutput}
	if err := w.str(v, 0); err != nil {
		b.WriteString("...")
	}
	return b.String()
}

// reprWriter writes Python str()/repr() forms with a size limit (limit < 0:
// none) so that hostile shared structures cannot blow up.
type reprWriter struct {
	b     *strings.Builder
	limit int
	ev    *evaluator // optional: charges steps per element
}

const maxReprDepth = 100

func (w *reprWriter) write(s string) error {
	if w.limit >= 0 && w.b.Len()+len(s) > w.limit {
		return ErrTooLarge
	}
	if w.ev != nil && len(s) >= 64 {
		if err := w.ev.step(int64(len(s) / 64)); err != nil {
			return err
		}
	}
	w.b.WriteString(s)
	return nil
}

func (w *reprWriter) str(v Value, depth int) error {
	switch x := v.(type) {
	case String:
		return w.write(string(x))
	case Undefined:
		return nil
	}
	return w.repr(v, depth)
}

func (w *reprWriter) repr(v Value, depth int) error {
	if depth > maxReprDepth {
		return w.write("...")
	}
	if w.ev != nil {
		if err := w.ev.step(1); err != nil {
			return err
		}
	}
	switch x := v.(type) {
	case String:
		return w.write(pyRepr(string(x)))
	case Int:
		return w.write(strconv.FormatInt(int64(x), 10))
	case Float:
		return w.write(formatFloat(float64(x)))
	case Bool:
		if x {
			return w.write("True")
		}
		return w.write("False")
	case None:
		return w.write("None")
	case Undefined:
		return w.write("Undefined")
	case *List:
		open, close := "[", "]"
		if x.tuple {
			open, close = "(", ")"
		}
		if x.view != "" {
			open, close = x.view+"([", "])"
		}
		if err := w.write(open); err != nil {
			return err
		}
		for i, it := range x.Items {
			if i > 0 {
				if err := w.write(", "); err != nil {
					return err
				}
			}
			if err := w.repr(it, depth+1); err != nil {
				return err
			}
		}
		if x.tuple && len(x.Items) == 1 {
			if err := w.write(","); err != nil {
				return err
			}
		}
		return w.write(close)
	case *Dict:
		return w.dict(x, depth)
	case *namespace:
		if err := w.write("<Namespace "); err != nil {
			return err
		}
		if err := w.dict(x.attrs, depth); err != nil {
			return err
		}
		return w.write(">")
	}
	return w.write(otherRepr(v))
}

func (w *reprWriter) dict(d *Dict, depth int) error {
	if err := w.write("{"); err != nil {
		return err
	}
	for i, k := range d.keys {
		if i > 0 {
			if err := w.write(", "); err != nil {
				return err
			}
		}
		if err := w.repr(k, depth+1); err != nil {
			return err
		}
		if err := w.write(": "); err != nil {
			return err
		}
		if err := w.repr(d.vals[i], depth+1); err != nil {
			return err
		}
	}
	return w.write("}")
}

// pyRepr is Python's repr() of a str.
func pyRepr(s string) string {
	quote := byte('\'')
	if strings.IndexByte(s, '\'') >= 0 && strings.IndexByte(s, '"') < 0 {
		quote = '"'
	}
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte(quote)
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			// Not valid UTF-8: show the byte as Python shows a surrogate escape.
			b.WriteString(`\udc` + hexPad(uint64(s[i]), 2))
			i++
			continue
		}
		i += n
		switch {
		case r == rune(quote) || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f:
			b.WriteString(`\x` + hexPad(uint64(r), 2))
		case r < utf8.RuneSelf || unicode.IsPrint(r):
			b.WriteRune(r)
		case r < 0x100:
			b.WriteString(`\x` + hexPad(uint64(r), 2))
		case r < 0x10000:
			b.WriteString(`\u` + hexPad(uint64(r), 4))
		default:
			b.WriteString(`\U` + hexPad(uint64(r), 8))
		}
	}
	b.WriteByte(quote)
	return b.String()
}

// Python string methods with exact semantics.

// pyStripChars is str.strip(chars) (which: 'l', 'r' or 'b'oth).
func pyStripChars(s, chars string, which byte) string {
	in := func(r rune) bool { return strings.ContainsRune(chars, r) }
	switch which {
	case 'l':
		return strings.TrimLeftFunc(s, in)
	case 'r':
		return strings.TrimRightFunc(s, in)
	}
	return strings.TrimFunc(s, in)
}

// pySplitWhitespace is str.split() / str.split(None, maxsplit).
func pySplitWhitespace(s string, maxsplit int) []string {
	var out []string
	i := 0
	for {
		for i < len(s) {
			r, n := utf8.DecodeRuneInString(s[i:])
			if !pyIsSpace(r) {
				break
			}
			i += n
		}
		if i >= len(s) {
			return out
		}
		if maxsplit >= 0 && len(out) == maxsplit {
			return append(out, s[i:])
		}
		j := i
		for j < len(s) {
			r, n := utf8.DecodeRuneInString(s[j:])
			if pyIsSpace(r) {
				break
			}
			j += n
		}
		out = append(out, s[i:j])
		i = j
	}
}

// pyRSplitWhitespace is str.rsplit(None, maxsplit).
func pyRSplitWhitespace(s string, maxsplit int) []string {
	if maxsplit < 0 {
		return pySplitWhitespace(s, -1)
	}
	var rev []string
	j := len(s)
	for {
		for j > 0 {
			r, n := utf8.DecodeLastRuneInString(s[:j])
			if !pyIsSpace(r) {
				break
			}
			j -= n
		}
		if j <= 0 {
			break
		}
		if len(rev) == maxsplit {
			rev = append(rev, s[:j])
			break
		}
		i := j
		for i > 0 {
			r, n := utf8.DecodeLastRuneInString(s[:i])
			if pyIsSpace(r) {
				break
			}
			i -= n
		}
		rev = append(rev, s[i:j])
		j = i
	}
	for a, b := 0, len(rev)-1; a < b; a, b = a+1, b-1 {
		rev[a], rev[b] = rev[b], rev[a]
	}
	return rev
}

// pyRSplit is str.rsplit(sep, maxsplit) for a non-empty sep.
func pyRSplit(s, sep string, maxsplit int) []string {
	if maxsplit < 0 {
		return strings.Split(s, sep)
	}
	var rev []string
	for len(rev) < maxsplit {
		i := strings.LastIndex(s, sep)
		if i < 0 {
			break
		}
		rev = append(rev, s[i+len(sep):])
		s = s[:i]
	}
	rev = append(rev, s)
	for a, b := 0, len(rev)-1; a < b; a, b = a+1, b-1 {
		rev[a], rev[b] = rev[b], rev[a]
	}
	return rev
}

// isLineBreak reports the characters str.splitlines splits on.
func isLineBreak(r rune) bool {
	switch r {
	case '\n', '\r', '\v', '\f', 0x1c, 0x1d, 0x1e, 0x85, 0x2028, 0x2029:
		return true
	}
	return false
}

// pySplitlines is str.splitlines(keepends).
func pySplitlines(s string, keepends bool) []string {
	var out []string
	start := 0
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if !isLineBreak(r) {
			i += n
			continue
		}
		end := i + n
		if r == '\r' && end < len(s) && s[end] == '\n' {
			end++
		}
		if keepends {
			out = append(out, s[start:end])
		} else {
			out = append(out, s[start:i])
		}
		start, i = end, end
	}
	if start < len(s) {
		out = append(out, s[start:])
	}
	return out
}

// pyUpper and pyLower are str.upper/lower, including the common one-to-many
// mappings Python applies (ß → SS).
func pyUpper(s string) string {
	if isASCII(s) {
		return strings.ToUpper(s)
	}
	var b strings.Builder
	for _, r := range s {
		if m, ok := specialUpper[r]; ok {
			b.WriteString(m)
			continue
		}
		b.WriteRune(unicode.ToUpper(r))
	}
	return b.String()
}

var specialUpper = map[rune]string{
	'ß': "SS", 'ŉ': "ʼN", 'ǰ': "J̌", 'ﬀ': "FF", 'ﬁ': "FI", 'ﬂ': "FL", 'ﬃ': "FFI", 'ﬄ': "FFL", 'ﬅ': "ST", 'ﬆ': "ST",
}

func pyLower(s string) string {
	if isASCII(s) {
		return strings.ToLower(s)
	}
	var b strings.Builder
	for _, r := range s {
		if r == 'İ' {
			b.WriteString("i̇")
			continue
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}

// pyIsCased reports whether r has case (Lu, Ll, Lt).
func pyIsCased(r rune) bool {
	return unicode.IsUpper(r) || unicode.IsLower(r) || unicode.IsTitle(r)
}

// pyTitle is str.title(): a cased character after an uncased one starts a
// word.
func pyTitle(s string) string {
	var b strings.Builder
	prevCased := false
	for _, r := range s {
		if prevCased {
			b.WriteString(pyLower(string(r)))
		} else {
			b.WriteRune(unicode.ToTitle(r))
		}
		prevCased = pyIsCased(r)
	}
	return b.String()
}

// pyCapitalize is str.capitalize(): first character title-cased, the rest
// lower-cased.
func pyCapitalize(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	if n == 0 {
		return s
	}
	return string(unicode.ToTitle(r)) + pyLower(s[n:])
}

func pySwapcase(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case unicode.IsUpper(r):
			b.WriteRune(unicode.ToLower(r))
		case unicode.IsLower(r):
			b.WriteString(pyUpper(string(r)))
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// jinjaTitle is jinja2's title filter: words start after whitespace and
// the characters - ( { [ <.
func jinjaTitle(s string) string {
	var b strings.Builder
	atStart := true
	for _, r := range s {
		isSep := pyIsSpace(r) || strings.ContainsRune("-({[<", r)
		switch {
		case isSep:
			b.WriteRune(r)
			atStart = true
		case atStart:
			b.WriteString(pyUpper(string(r)))
			atStart = false
		default:
			b.WriteString(pyLower(string(r)))
		}
	}
	return b.String()
}

// Python's str predicates (all characters, and at least one).
func strAll(s string, f func(rune) bool) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !f(r) {
			return false
		}
	}
	return true
}

func isPyAlnum(r rune) bool { return unicode.IsLetter(r) || unicode.IsNumber(r) }
