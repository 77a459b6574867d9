package sample

// MaxJSONDepth is how deeply objects and arrays may nest in JSON mode.
const MaxJSONDepth = 128

// JSON checks, byte by byte, that text is a prefix of a JSON object (RFC
// 8259, with strings valid UTF-8): a pushdown automaton over objects,
// arrays, strings with escapes (\uXXXX included), numbers, true, false and
// null, and whitespace. The top-level value must be an object.
//
// It is a small value with no pointers: copying it saves the state, and
// assigning the copy back restores it, so trying a candidate continuation
// costs nothing. The zero value expects the start of a document. Not safe
// for concurrent use.
type JSON struct {
	// MaxWhitespace, when positive, bounds runs of whitespace outside
	// strings, so that constrained generation cannot idle forever.
	MaxWhitespace int

	stack [MaxJSONDepth / 64]uint64 // bit d set: level d is an array
	depth uint8
	state uint8 // what the grammar expects next (g*)
	lex   uint8 // the token being read (l*), or lNone
	aux   uint8 // hex digits, UTF-8 bytes or literal letters still to come
	lo    byte  // the range of the next UTF-8 continuation byte
	hi    byte
	lit   uint8 // the literal being read (index into literals)
	key   bool  // the string being read is an object key
	ws    int   // the current run of whitespace
}

// Grammar states.
const (
	gTop      = iota // before the top-level '{'
	gObjStart        // after '{': a key or '}'
	gKey             // after ',' in an object: a key
	gColon           // after a key
	gValue           // after ':', or ',' in an array: a value
	gArrStart        // after '[': a value or ']'
	gAfter           // after a value inside a container: ',' or a closer
	gDone            // the top-level object is closed
)

// Lexical states.
const (
	lNone = iota
	lString
	lEscape
	lHex
	lUTF8
	lLiteral
	// Numbers: -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?
	lMinus  // "-"
	lZero   // "0" or "-0"
	lInt    // [1-9][0-9]*
	lDot    // "."
	lFrac   // fraction digits
	lExp    // "e" or "E"
	lExpSgn // exponent sign
	lExpDig // exponent digits
)

var literals = [3]string{"true", "false", "null"}

// Feed reports whether text continues the prefix validly and, if it does,
// adds it. When it does not, the state is left as it was.
func (j *JSON) Feed(text string) bool {
	next := *j
	for i := 0; i < len(text); i++ {
		if !next.step(text[i]) {
			return false
		}
	}
	*j = next
	return true
}

// Accepts reports whether text would continue the prefix validly, without
// adding it.
func (j *JSON) Accepts(text string) bool {
	next := *j
	for i := 0; i < len(text); i++ {
		if !next.step(text[i]) {
			return false
		}
	}
	return true
}

// Complete reports whether the text fed so far is a whole JSON object
// (possibly with whitespace around it).
func (j *JSON) Complete() bool { return j.state == gDone }

// Depth returns how many objects and arrays are open.
func (j *JSON) Depth() int { return int(j.depth) }

func (j *JSON) isArray() bool {
	d := j.depth - 1
	return j.stack[d/64]&(1<<(d%64)) != 0
}

func (j *JSON) push(array bool) bool {
	if int(j.depth) >= MaxJSONDepth {
		return false
	}
	d := j.depth
	if array {
		j.stack[d/64] |= 1 << (d % 64)
		j.state = gArrStart
	} else {
		j.stack[d/64] &^= 1 << (d % 64)
		j.state = gObjStart
	}
	j.depth++
	return true
}

// endValue moves on after a complete value.
func (j *JSON) endValue() {
	j.lex = lNone
	if j.depth == 0 {
		j.state = gDone
	} else {
		j.state = gAfter
	}
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func isHex(c byte) bool { return isDigit(c) || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F' }

// step consumes one byte.
func (j *JSON) step(c byte) bool {
	switch j.lex {
	case lString:
		switch {
		case c == '"':
			j.lex = lNone
			if j.key {
				j.key = false
				j.state = gColon
			} else {
				j.endValue()
			}
		case c == '\\':
			j.lex = lEscape
		case c < 0x20:
			return false
		case c < 0x80:
		case 0xC2 <= c && c <= 0xDF:
			j.lex, j.aux, j.lo, j.hi = lUTF8, 1, 0x80, 0xBF
		case c == 0xE0:
			j.lex, j.aux, j.lo, j.hi = lUTF8, 2, 0xA0, 0xBF
		case c == 0xED: // no surrogates
			j.lex, j.aux, j.lo, j.hi = lUTF8, 2, 0x80, 0x9F
		case 0xE1 <= c && c <= 0xEF:
			j.lex, j.aux, j.lo, j.hi = lUTF8, 2, 0x80, 0xBF
		case c == 0xF0:
			j.lex, j.aux, j.lo, j.hi = lUTF8, 3, 0x90, 0xBF
		case 0xF1 <= c && c <= 0xF3:
			j.lex, j.aux, j.lo, j.hi = lUTF8, 3, 0x80, 0xBF
		case c == 0xF4:
			j.lex, j.aux, j.lo, j.hi = lUTF8, 3, 0x80, 0x8F
		default:
			return false
		}
		return true
	case lUTF8:
		if c < j.lo || c > j.hi {
			return false
		}
		j.lo, j.hi = 0x80, 0xBF
		if j.aux--; j.aux == 0 {
			j.lex = lString
		}
		return true
	case lEscape:
		switch c {
		case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			j.lex = lString
		case 'u':
			j.lex, j.aux = lHex, 4
		default:
			return false
		}
		return true
	case lHex:
		if !isHex(c) {
			return false
		}
		if j.aux--; j.aux == 0 {
			j.lex = lString
		}
		return true
	case lLiteral:
		lit := literals[j.lit]
		if c != lit[len(lit)-int(j.aux)] {
			return false
		}
		if j.aux--; j.aux == 0 {
			j.endValue()
		}
		return true
	case lMinus:
		switch {
		case c == '0':
			j.lex = lZero
		case isDigit(c):
			j.lex = lInt
		default:
			return false
		}
		return true
	case lDot, lExp, lExpSgn:
		if isDigit(c) {
			if j.lex == lDot {
				j.lex = lFrac
			} else {
				j.lex = lExpDig
			}
			return true
		}
		if j.lex == lExp && (c == '+' || c == '-') {
			j.lex = lExpSgn
			return true
		}
		return false
	case lZero, lInt, lFrac, lExpDig:
		switch {
		case isDigit(c) && j.lex != lZero:
			return true
		case c == '.' && (j.lex == lZero || j.lex == lInt):
			j.lex = lDot
			return true
		case (c == 'e' || c == 'E') && j.lex != lExpDig:
			j.lex = lExp
			return true
		}
		// The number ended; c belongs to what follows it.
		j.endValue()
	}
	return j.grammar(c)
}

// grammar consumes a byte outside any token.
func (j *JSON) grammar(c byte) bool {
	if isSpace(c) {
		j.ws++
		return j.MaxWhitespace <= 0 || j.ws <= j.MaxWhitespace
	}
	j.ws = 0
	switch j.state {
	case gTop:
		return c == '{' && j.push(false)
	case gDone:
		return false
	case gObjStart, gKey:
		switch {
		case c == '"':
			j.lex, j.key = lString, true
			return true
		case c == '}' && j.state == gObjStart:
			j.depth--
			j.endValue()
			return true
		}
		return false
	case gColon:
		if c == ':' {
			j.state = gValue
			return true
		}
		return false
	case gAfter:
		switch {
		case c == ',':
			if j.isArray() {
				j.state = gValue
			} else {
				j.state = gKey
			}
			return true
		case c == '}' && !j.isArray(), c == ']' && j.isArray():
			j.depth--
			j.endValue()
			return true
		}
		return false
	case gArrStart:
		if c == ']' {
			j.depth--
			j.endValue()
			return true
		}
	}
	// gValue, gArrStart: a value starts.
	switch {
	case c == '{':
		return j.push(false)
	case c == '[':
		return j.push(true)
	case c == '"':
		j.lex, j.key = lString, false
	case c == '-':
		j.lex = lMinus
	case c == '0':
		j.lex = lZero
	case isDigit(c):
		j.lex = lInt
	case c == 't':
		j.lex, j.lit, j.aux = lLiteral, 0, 3
	case c == 'f':
		j.lex, j.lit, j.aux = lLiteral, 1, 4
	case c == 'n':
		j.lex, j.lit, j.aux = lLiteral, 2, 3
	default:
		return false
	}
	return true
}

// MinCloseLen is the length of the shortest text that completes the
// object (the length of Closing's result), computed without allocating.
func (j *JSON) MinCloseLen() int {
	n := int(j.depth)
	state := j.state
	switch j.lex {
	case lString, lEscape, lHex, lUTF8:
		n++ // the closing quote
		switch j.lex {
		case lEscape:
			n++
		case lHex, lUTF8:
			n += int(j.aux)
		}
		if j.key {
			state = gColon
		} else {
			state = gAfter
		}
	case lLiteral:
		n += int(j.aux)
		state = gAfter
	case lMinus, lDot, lExp, lExpSgn:
		n++
		state = gAfter
	case lZero, lInt, lFrac, lExpDig:
		state = gAfter
	}
	switch state {
	case gTop:
		return 2
	case gDone:
		return 0
	case gKey:
		n += 4 // "":0
	case gColon:
		n += 2 // :0
	case gValue:
		n++ // 0
	}
	return n
}

// Closing returns the shortest text that completes the object: it closes
// the open token with the least it can ("0" for a missing number, a null
// character for an unfinished \u escape, the smallest continuation
// bytes), gives a pending key the value 0, and closes every open
// container.
func (j *JSON) Closing() string {
	var b []byte
	state := j.state
	switch j.lex {
	case lString, lEscape, lHex, lUTF8:
		switch j.lex {
		case lEscape:
			b = append(b, 'n')
		case lHex:
			for range j.aux {
				b = append(b, '0')
			}
		case lUTF8:
			b = append(b, j.lo)
			for range j.aux - 1 {
				b = append(b, 0x80)
			}
		}
		b = append(b, '"')
		if j.key {
			state = gColon
		} else {
			state = gAfter
		}
	case lLiteral:
		lit := literals[j.lit]
		b = append(b, lit[len(lit)-int(j.aux):]...)
		state = gAfter
	case lMinus, lDot, lExp, lExpSgn:
		b = append(b, '0')
		state = gAfter
	case lZero, lInt, lFrac, lExpDig:
		state = gAfter
	}
	switch state {
	case gTop:
		return "{}"
	case gDone:
		return ""
	case gKey:
		b = append(b, `"":0`...)
	case gColon:
		b = append(b, ":0"...)
	case gValue:
		b = append(b, '0')
	}
	for d := int(j.depth) - 1; d >= 0; d-- {
		if j.stack[d/64]&(1<<(d%64)) != 0 {
			b = append(b, ']')
		} else {
			b = append(b, '}')
		}
	}
	return string(b)
}
