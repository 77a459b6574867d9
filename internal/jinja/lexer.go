package jinja

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

type tokType uint8

const (
	tEOF tokType = iota
	tData
	tVarBegin
	tVarEnd
	tBlockBegin
	tBlockEnd
	tName
	tString
	tInt
	tFloat
	tOp
)

type token struct {
	typ tokType
	val string // data text, name, decoded string, or operator
	num int64
	f   float64
	pos int // byte offset in the normalised source
}

func (t token) describe() string {
	switch t.typ {
	case tEOF:
		return "end of template"
	case tData:
		return "template data"
	case tVarBegin:
		return "begin of print statement"
	case tVarEnd:
		return "end of print statement"
	case tBlockBegin:
		return "begin of statement block"
	case tBlockEnd:
		return "end of statement block"
	case tString:
		return "string"
	case tInt:
		return "integer"
	case tFloat:
		return "float"
	}
	return t.val
}

// normalizeSource applies jinja2's source preparation: every line break
// (\r\n, \r, \n) becomes \n and, unless keep is set, one trailing newline
// is dropped.
func normalizeSource(src string, keep bool) string {
	if strings.IndexByte(src, '\r') >= 0 {
		src = strings.ReplaceAll(src, "\r\n", "\n")
		src = strings.ReplaceAll(src, "\r", "\n")
	}
	if !keep && strings.HasSuffix(src, "\n") {
		src = src[:len(src)-1]
	}
	return src
}

type lexer struct {
	src          string
	pos          int
	toks         []token
	trim, lstrip bool
	lineStarting bool // the previous match ended with a newline
	balance      []byte
}

func lex(src string, trim, lstrip bool) ([]token, error) {
	lx := &lexer{src: src, trim: trim, lstrip: lstrip, lineStarting: true}
	if err := lx.run(); err != nil {
		return nil, err
	}
	lx.toks = append(lx.toks, token{typ: tEOF, pos: len(src)})
	return lx.toks, nil
}

func (lx *lexer) errAt(pos int, format string, args ...any) error {
	line, col := lineCol(lx.src, pos)
	msg := format
	if len(args) > 0 {
		msg = sprintf(format, args...)
	}
	return &SyntaxError{Line: line, Col: col, Msg: msg}
}

// lineCol converts a byte offset into a 1-based line and rune column.
func lineCol(src string, pos int) (int, int) {
	if pos > len(src) {
		pos = len(src)
	}
	if pos < 0 {
		pos = 0
	}
	line := 1 + strings.Count(src[:pos], "\n")
	start := strings.LastIndexByte(src[:pos], '\n') + 1
	return line, 1 + utf8.RuneCountInString(src[start:pos])
}

// nextOpener finds the next "{{", "{%" or "{#" at or after from.
func nextOpener(src string, from int) int {
	for i := from; i < len(src)-1; i++ {
		j := strings.IndexByte(src[i:], '{')
		if j < 0 {
			return -1
		}
		i += j
		if i+1 < len(src) {
			switch src[i+1] {
			case '{', '%', '#':
				return i
			}
		}
	}
	return -1
}

// stripText applies the whitespace control of the tag that follows text:
// "-" strips all trailing whitespace; otherwise, with lstrip_blocks on and a
// block or comment tag, spaces between the last line start and the tag go.
func (lx *lexer) stripText(text string, sign byte, lstripApplies bool) string {
	if sign == '-' {
		return pyRStrip(text)
	}
	if sign != '+' && lx.lstrip && lstripApplies {
		l := strings.LastIndexByte(text, '\n') + 1
		if (l > 0 || lx.lineStarting) && l < len(text) && isAllPySpace(text[l:]) {
			return text[:l]
		}
	}
	return text
}

func (lx *lexer) emitData(text string, pos int) {
	if text != "" {
		lx.toks = append(lx.toks, token{typ: tData, val: text, pos: pos})
	}
}

func (lx *lexer) run() error {
	src := lx.src
	for lx.pos < len(src) {
		i := nextOpener(src, lx.pos)
		if i < 0 {
			lx.emitData(src[lx.pos:], lx.pos)
			lx.pos = len(src)
			return nil
		}
		text := src[lx.pos:i]
		textPos := lx.pos
		kind := src[i+1]
		var sign byte
		if i+2 < len(src) && (src[i+2] == '-' || src[i+2] == '+') {
			sign = src[i+2]
		}
		if kind == '%' {
			if end, ok := lx.matchRawBegin(i); ok {
				lx.emitData(lx.stripText(text, sign, true), textPos)
				lx.lineStarting = src[end-1] == '\n'
				if err := lx.lexRaw(end, i); err != nil {
					return err
				}
				continue
			}
		}
		lx.emitData(lx.stripText(text, sign, kind != '{'), textPos)
		lx.lineStarting = false
		start := i + 2
		if sign != 0 {
			start++
		}
		lx.pos = start
		var err error
		switch kind {
		case '#':
			err = lx.lexComment(i)
		case '{':
			lx.toks = append(lx.toks, token{typ: tVarBegin, pos: i})
			err = lx.lexTag(false, i)
		case '%':
			lx.toks = append(lx.toks, token{typ: tBlockBegin, pos: i})
			err = lx.lexTag(true, i)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// skipPySpace returns the offset after the Python whitespace at p.
func skipPySpace(s string, p int) int {
	for p < len(s) {
		r, n := utf8.DecodeRuneInString(s[p:])
		if !pyIsSpace(r) {
			break
		}
		p += n
	}
	return p
}

// matchRawBegin matches `{%[-+]?\s*raw\s*(-%}\s*|%})` at i and returns the
// offset after it.
func (lx *lexer) matchRawBegin(i int) (int, bool) {
	src := lx.src
	p := i + 2
	if p < len(src) && (src[p] == '-' || src[p] == '+') {
		p++
	}
	p = skipPySpace(src, p)
	if !strings.HasPrefix(src[p:], "raw") {
		return 0, false
	}
	p = skipPySpace(src, p+3)
	switch {
	case strings.HasPrefix(src[p:], "-%}"):
		return skipPySpace(src, p+3), true
	case strings.HasPrefix(src[p:], "%}"):
		return p + 2, true
	}
	return 0, false
}

// lexRaw scans the body of a raw block up to its endraw tag.
func (lx *lexer) lexRaw(from, openPos int) error {
	src := lx.src
	for i := from; ; {
		j := strings.Index(src[i:], "{%")
		if j < 0 {
			return lx.errAt(openPos, "missing end of raw directive")
		}
		i += j
		p := i + 2
		var sign byte
		if p < len(src) && (src[p] == '-' || src[p] == '+') {
			sign = src[p]
			p++
		}
		p = skipPySpace(src, p)
		if !strings.HasPrefix(src[p:], "endraw") {
			i += 2
			continue
		}
		p = skipPySpace(src, p+6)
		end, ok := lx.matchBlockEnd(p)
		if !ok {
			i += 2
			continue
		}
		lx.emitData(lx.stripText(src[from:i], sign, true), from)
		lx.pos = end
		lx.lineStarting = src[end-1] == '\n'
		return nil
	}
}

// matchBlockEnd matches `+%}`, `-%}\s*` or `%}` (plus one newline with
// trim_blocks) at p.
func (lx *lexer) matchBlockEnd(p int) (int, bool) {
	src := lx.src
	switch {
	case strings.HasPrefix(src[p:], "+%}"):
		return p + 3, true
	case strings.HasPrefix(src[p:], "-%}"):
		return skipPySpace(src, p+3), true
	case strings.HasPrefix(src[p:], "%}"):
		p += 2
		if lx.trim && p < len(src) && src[p] == '\n' {
			p++
		}
		return p, true
	}
	return 0, false
}

func (lx *lexer) lexComment(openPos int) error {
	src := lx.src
	k := strings.Index(src[lx.pos:], "#}")
	if k < 0 {
		return lx.errAt(openPos, "missing end of comment tag")
	}
	k += lx.pos
	end := k + 2
	switch {
	case k-1 >= lx.pos && src[k-1] == '+':
	case k-1 >= lx.pos && src[k-1] == '-':
		end = skipPySpace(src, end)
	default:
		if lx.trim && end < len(src) && src[end] == '\n' {
			end++
		}
	}
	lx.pos = end
	lx.lineStarting = src[end-1] == '\n'
	return nil
}

var twoCharOps = [...]string{"//", "**", "==", "!=", ">=", "<="}

const oneCharOps = "+-/*%~[](){}><=.:|,;"

func (lx *lexer) lexTag(block bool, openPos int) error {
	src := lx.src
	endTok := tVarEnd
	if block {
		endTok = tBlockEnd
	}
	for {
		p := lx.pos
		if p >= len(src) {
			what := "print statement"
			if block {
				what = "statement block"
			}
			return lx.errAt(openPos, "unexpected end of template: unclosed %s", what)
		}
		if len(lx.balance) == 0 {
			if block {
				if end, ok := lx.matchBlockEnd(p); ok {
					lx.toks = append(lx.toks, token{typ: endTok, pos: p})
					lx.pos = end
					lx.lineStarting = src[end-1] == '\n'
					return nil
				}
			} else {
				switch {
				case strings.HasPrefix(src[p:], "-}}"):
					lx.toks = append(lx.toks, token{typ: endTok, pos: p})
					lx.pos = skipPySpace(src, p+3)
					lx.lineStarting = src[lx.pos-1] == '\n'
					return nil
				case strings.HasPrefix(src[p:], "}}"):
					lx.toks = append(lx.toks, token{typ: endTok, pos: p})
					lx.pos = p + 2
					lx.lineStarting = false
					return nil
				}
			}
		}
		r, n := utf8.DecodeRuneInString(src[p:])
		switch {
		case pyIsSpace(r):
			lx.pos = skipPySpace(src, p)
		case r >= '0' && r <= '9':
			if err := lx.lexNumber(); err != nil {
				return err
			}
		case r == '_' || unicode.IsLetter(r):
			q := p + n
			for q < len(src) {
				r2, n2 := utf8.DecodeRuneInString(src[q:])
				if r2 != '_' && !unicode.IsLetter(r2) && !unicode.IsDigit(r2) && !unicode.Is(unicode.Mn, r2) && !unicode.Is(unicode.Mc, r2) {
					break
				}
				q += n2
			}
			lx.toks = append(lx.toks, token{typ: tName, val: src[p:q], pos: p})
			lx.pos = q
		case r == '\'' || r == '"':
			if err := lx.lexString(byte(r)); err != nil {
				return err
			}
		default:
			op := ""
			for _, o := range twoCharOps {
				if strings.HasPrefix(src[p:], o) {
					op = o
					break
				}
			}
			if op == "" && strings.IndexByte(oneCharOps, src[p]) >= 0 {
				op = src[p : p+1]
			}
			if op == "" {
				return lx.errAt(p, "unexpected char %q", string(r))
			}
			if err := lx.trackBalance(op, p); err != nil {
				return err
			}
			lx.toks = append(lx.toks, token{typ: tOp, val: op, pos: p})
			lx.pos = p + len(op)
		}
	}
}

func (lx *lexer) trackBalance(op string, p int) error {
	switch op {
	case "{":
		lx.balance = append(lx.balance, '}')
	case "(":
		lx.balance = append(lx.balance, ')')
	case "[":
		lx.balance = append(lx.balance, ']')
	case "}", ")", "]":
		if len(lx.balance) == 0 {
			return lx.errAt(p, "unexpected '%s'", op)
		}
		want := lx.balance[len(lx.balance)-1]
		lx.balance = lx.balance[:len(lx.balance)-1]
		if want != op[0] {
			return lx.errAt(p, "unexpected '%s', expected '%c'", op, want)
		}
	}
	if len(lx.balance) > maxNesting {
		line, col := lineCol(lx.src, p)
		return &SyntaxError{Line: line, Col: col, Msg: sprintf("%v: more than %d open brackets", ErrTooDeep, maxNesting), Err: ErrTooDeep}
	}
	return nil
}

// scanDigits matches `(\d+_)*\d+` at p and returns its end, or p.
func scanDigits(s string, p int, digit func(byte) bool) int {
	q := p
	for {
		start := q
		for q < len(s) && digit(s[q]) {
			q++
		}
		if q == start {
			if start == p {
				return p
			}
			return start - 1 // drop the dangling underscore
		}
		if q < len(s) && s[q] == '_' && q+1 < len(s) && digit(s[q+1]) {
			q++
			continue
		}
		return q
	}
}

func isDec(b byte) bool { return b >= '0' && b <= '9' }
func isBin(b byte) bool { return b == '0' || b == '1' }
func isOct(b byte) bool { return b >= '0' && b <= '7' }
func isHex(b byte) bool {
	return isDec(b) || (b >= 'a' && b <= 'f') || (b >= 'A' && b <= 'F')
}

func (lx *lexer) lexNumber() error {
	src, p := lx.src, lx.pos
	// Float: (\d+_)*\d+ ( (\.D)? e[+-]? D | \.D ), not right after a dot.
	if p == 0 || src[p-1] != '.' {
		q := scanDigits(src, p, isDec)
		end := -1
		if q < len(src) && src[q] == '.' {
			if r := scanDigits(src, q+1, isDec); r > q+1 {
				end = r
				if e := scanExponent(src, r); e > r {
					end = e
				}
			}
		} else if e := scanExponent(src, q); e > q {
			end = e
		}
		if end > 0 {
			text := strings.ReplaceAll(src[p:end], "_", "")
			f, err := strconv.ParseFloat(text, 64)
			if err != nil && !isRangeErr(err) {
				return lx.errAt(p, "invalid float literal %q", text)
			}
			lx.toks = append(lx.toks, token{typ: tFloat, f: f, pos: p})
			lx.pos = end
			return nil
		}
	}
	// Integer.
	end, base := p, 10
	if src[p] == '0' && p+1 < len(src) {
		var digit func(byte) bool
		switch src[p+1] | 0x20 {
		case 'b':
			digit, base = isBin, 2
		case 'o':
			digit, base = isOct, 8
		case 'x':
			digit, base = isHex, 16
		}
		if digit != nil {
			q := p + 2
			for q < len(src) {
				if digit(src[q]) {
					q++
				} else if src[q] == '_' && q+1 < len(src) && digit(src[q+1]) {
					q += 2
				} else {
					break
				}
			}
			if q > p+2 {
				end = q
			} else {
				base = 10
			}
		}
	}
	if end == p {
		base = 10
		if src[p] == '0' {
			q := p + 1
			for q < len(src) {
				if src[q] == '0' {
					q++
				} else if src[q] == '_' && q+1 < len(src) && src[q+1] == '0' {
					q += 2
				} else {
					break
				}
			}
			end = q
		} else {
			end = scanDigits(src, p, isDec)
		}
	}
	text := strings.ReplaceAll(src[p:end], "_", "")
	if base != 10 {
		text = text[2:]
	}
	n, err := strconv.ParseInt(text, base, 64)
	if err != nil {
		return lx.errAt(p, "integer literal %s out of range", src[p:end])
	}
	lx.toks = append(lx.toks, token{typ: tInt, num: n, pos: p})
	lx.pos = end
	return nil
}

func isRangeErr(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}

// scanExponent matches `e[+-]?(\d+_)*\d+` at p, returning its end or p.
func scanExponent(s string, p int) int {
	if p >= len(s) || (s[p] != 'e' && s[p] != 'E') {
		return p
	}
	q := p + 1
	if q < len(s) && (s[q] == '+' || s[q] == '-') {
		q++
	}
	if r := scanDigits(s, q, isDec); r > q {
		return r
	}
	return p
}

func (lx *lexer) lexString(quote byte) error {
	src, p := lx.src, lx.pos
	q := p + 1
	for {
		if q >= len(src) {
			return lx.errAt(p, "unterminated string literal")
		}
		c := src[q]
		if c == '\\' {
			q += 2
			continue
		}
		if c == quote {
			break
		}
		q++
	}
	val, err := unescapePy(src[p+1 : q])
	if err != nil {
		return lx.errAt(p, "%s", err.Error())
	}
	lx.toks = append(lx.toks, token{typ: tString, val: val, pos: p})
	lx.pos = q + 1
	return nil
}

// unescapePy decodes a string literal body the way jinja2 does (Python's
// unicode-escape codec after backslash-replacing non-ASCII characters).
func unescapePy(s string) (string, error) {
	if strings.IndexByte(s, '\\') < 0 {
		return s, nil
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		c := s[i]
		if c != '\\' {
			b.WriteByte(c)
			i++
			continue
		}
		if i+1 >= len(s) {
			return "", errorf("\\ at end of string")
		}
		e := s[i+1]
		i += 2
		switch e {
		case '\n':
		case '\\', '\'', '"':
			b.WriteByte(e)
		case 'a':
			b.WriteByte('\a')
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case 'v':
			b.WriteByte('\v')
		case '0', '1', '2', '3', '4', '5', '6', '7':
			v := int(e - '0')
			for k := 0; k < 2 && i < len(s) && isOct(s[i]); k++ {
				v = v*8 + int(s[i]-'0')
				i++
			}
			b.WriteRune(fixRune(rune(v)))
		case 'N':
			return "", errorf("\\N{...} escapes are not supported")
		case 'x', 'u', 'U':
			n := map[byte]int{'x': 2, 'u': 4, 'U': 8}[e]
			if i+n > len(s) {
				return "", errorf("truncated \\%cXX escape", e)
			}
			v, err := strconv.ParseUint(s[i:i+n], 16, 32)
			if err != nil {
				return "", errorf("truncated \\%cXX escape", e)
			}
			if v > unicode.MaxRune {
				return "", errorf("illegal Unicode character")
			}
			b.WriteRune(fixRune(rune(v)))
			i += n
		default:
			if e < utf8.RuneSelf {
				b.WriteByte('\\')
				b.WriteByte(e)
				continue
			}
			// A backslash before a non-ASCII character: jinja2 first
			// rewrites the character as \xNN / \uNNNN / \UNNNNNNNN, so the
			// backslash escapes the backslash of that rewrite.
			r, n := utf8.DecodeRuneInString(s[i-1:])
			i += n - 1
			b.WriteByte('\\')
			switch {
			case r < 0x100:
				b.WriteString("x" + hexPad(uint64(r), 2))
			case r < 0x10000:
				b.WriteString("u" + hexPad(uint64(r), 4))
			default:
				b.WriteString("U" + hexPad(uint64(r), 8))
			}
		}
	}
	return b.String(), nil
}

// fixRune maps surrogates, which Go strings cannot hold, to U+FFFD.
func fixRune(r rune) rune {
	if r >= 0xD800 && r <= 0xDFFF {
		return utf8.RuneError
	}
	return r
}

func hexPad(v uint64, width int) string {
	s := strconv.FormatUint(v, 16)
	for len(s) < width {
		s = "0" + s
	}
	return s
}
