package hfconfig

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// errTooLarge is returned by limitReader past its limit.
var errTooLarge = errors.New("too large")

// limitReader reads at most n bytes from r, then fails with errTooLarge.
type limitReader struct {
	r io.Reader
	n int64
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.n <= 0 {
		return 0, errTooLarge
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	return n, err
}

// maxCapture bounds how much of a string jsonStream keeps when asked to.
const maxCapture = 1 << 10

// jsonStream is a validating, streaming JSON reader that visits objects and
// arrays through callbacks and skips everything else without allocating. It
// exists because encoding/json's Decoder.Token allocates per token, which is
// too slow for tokenizer.json files with hundreds of thousands of entries.
type jsonStream struct {
	r     *bufio.Reader
	off   int64 // bytes consumed
	depth int
	limit int64 // for the too-large message
	buf   []byte
}

func newJSONStream(r io.Reader, limit int64) *jsonStream {
	return &jsonStream{r: bufio.NewReaderSize(&limitReader{r: r, n: limit}, 64<<10), limit: limit}
}

// fail wraps a low-level failure at the current offset.
func (j *jsonStream) fail(err error) error {
	var e *Error
	switch {
	case errors.As(err, &e):
		return err
	case errors.Is(err, errTooLarge):
		return docError(-1, fmt.Sprintf("file is more than the %d bytes allowed", j.limit))
	case errors.Is(err, io.EOF):
		return docError(j.off, "invalid JSON: unexpected end of input")
	}
	return fmt.Errorf("reading JSON at byte %d: %w", j.off, err)
}

func (j *jsonStream) syntax(format string, args ...any) error {
	return docError(j.off, "invalid JSON: "+fmt.Sprintf(format, args...))
}

// next consumes one byte.
func (j *jsonStream) next() (byte, error) {
	c, err := j.r.ReadByte()
	if err != nil {
		return 0, j.fail(err)
	}
	j.off++
	return c, nil
}

// peek skips whitespace and returns the next byte without consuming it.
func (j *jsonStream) peek() (byte, error) {
	for {
		c, err := j.r.ReadByte()
		if err != nil {
			return 0, j.fail(err)
		}
		switch c {
		case ' ', '\t', '\r', '\n':
			j.off++
			continue
		}
		if err := j.r.UnreadByte(); err != nil {
			return 0, j.fail(err)
		}
		return c, nil
	}
}

// expect consumes c after optional whitespace.
func (j *jsonStream) expect(c byte) error {
	got, err := j.peek()
	if err != nil {
		return err
	}
	if got != c {
		return j.syntax("want %q, found %q", c, got)
	}
	_, err = j.next()
	return err
}

// end checks that only whitespace remains.
func (j *jsonStream) end() error {
	for {
		c, err := j.r.ReadByte()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return j.fail(err)
		}
		switch c {
		case ' ', '\t', '\r', '\n':
			j.off++
		default:
			return docError(j.off, "data after the top-level value")
		}
	}
}

// enter and leave track nesting depth.
func (j *jsonStream) enter() error {
	j.depth++
	if j.depth > maxDepth {
		return docError(j.off, fmt.Sprintf("JSON nests deeper than %d levels", maxDepth))
	}
	return nil
}

func (j *jsonStream) leave() { j.depth-- }

// object consumes an object, calling fn with each key; fn must consume the
// value (skip does).
func (j *jsonStream) object(fn func(key string) error) error {
	return j.objectKeys(fn, true)
}

// objectKeys is object; with !keep, fn is passed "" for every key, which
// saves decoding keys nobody reads.
func (j *jsonStream) objectKeys(fn func(key string) error, keep bool) error {
	if err := j.expect('{'); err != nil {
		return err
	}
	if err := j.enter(); err != nil {
		return err
	}
	defer j.leave()
	c, err := j.peek()
	if err != nil {
		return err
	}
	if c == '}' {
		_, err := j.next()
		return err
	}
	for {
		if c, err := j.peek(); err != nil {
			return err
		} else if c != '"' {
			return j.syntax("want an object key, found %q", c)
		}
		key, err := j.str(keep)
		if err != nil {
			return err
		}
		if err := j.expect(':'); err != nil {
			return err
		}
		if err := fn(key); err != nil {
			return err
		}
		c, err := j.peek()
		if err != nil {
			return err
		}
		if _, err := j.next(); err != nil {
			return err
		}
		switch c {
		case ',':
		case '}':
			return nil
		default:
			return j.syntax("want ',' or '}', found %q", c)
		}
	}
}

// array consumes an array, calling fn for each element; fn must consume it.
func (j *jsonStream) array(fn func(i int) error) error {
	if err := j.expect('['); err != nil {
		return err
	}
	if err := j.enter(); err != nil {
		return err
	}
	defer j.leave()
	c, err := j.peek()
	if err != nil {
		return err
	}
	if c == ']' {
		_, err := j.next()
		return err
	}
	for i := 0; ; i++ {
		if err := fn(i); err != nil {
			return err
		}
		c, err := j.peek()
		if err != nil {
			return err
		}
		if _, err := j.next(); err != nil {
			return err
		}
		switch c {
		case ',':
		case ']':
			return nil
		default:
			return j.syntax("want ',' or ']', found %q", c)
		}
	}
}

// skip consumes one value of any type.
func (j *jsonStream) skip() error {
	c, err := j.peek()
	if err != nil {
		return err
	}
	switch c {
	case '{':
		return j.objectKeys(func(string) error { return j.skip() }, false)
	case '[':
		return j.array(func(int) error { return j.skip() })
	case '"':
		_, err := j.str(false)
		return err
	case 't':
		return j.literal("true")
	case 'f':
		return j.literal("false")
	case 'n':
		return j.literal("null")
	}
	if c == '-' || c >= '0' && c <= '9' {
		return j.number()
	}
	return j.syntax("unexpected %q", c)
}

// count consumes an array or object and returns how many elements or
// entries it has.
func (j *jsonStream) count() (int, error) {
	c, err := j.peek()
	if err != nil {
		return 0, err
	}
	n := 0
	switch c {
	case '{':
		err = j.objectKeys(func(string) error { n++; return j.skip() }, false)
	case '[':
		err = j.array(func(int) error { n++; return j.skip() })
	default:
		return 0, errWrongType
	}
	return n, err
}

// errWrongType tells a caller that the value is not of the type it asked
// for; the value has not been consumed.
var errWrongType = errors.New("wrong JSON type")

// isNull consumes a null if one comes next.
func (j *jsonStream) isNull() (bool, error) {
	c, err := j.peek()
	if err != nil || c != 'n' {
		return false, err
	}
	return true, j.literal("null")
}

// literal consumes the exact word w.
func (j *jsonStream) literal(w string) error {
	for i := range len(w) {
		c, err := j.next()
		if err != nil {
			return err
		}
		if c != w[i] {
			return j.syntax("bad literal, want %q", w)
		}
	}
	return nil
}

// number consumes a number, checking its grammar.
func (j *jsonStream) number() error {
	// States: 0 start, 1 after '-', 2 leading zero, 3 int digits,
	// 4 after '.', 5 fraction digits, 6 after 'e', 7 after exponent sign,
	// 8 exponent digits.
	state := 0
	for {
		c, err := j.r.ReadByte()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return j.fail(err)
		}
		digit := c >= '0' && c <= '9'
		next := -1
		switch {
		case state == 0 && c == '-':
			next = 1
		case (state == 0 || state == 1) && c == '0':
			next = 2
		case (state == 0 || state == 1 || state == 3) && digit:
			next = 3
		case (state == 2 || state == 3) && c == '.':
			next = 4
		case (state == 4 || state == 5) && digit:
			next = 5
		case (state == 2 || state == 3 || state == 5) && (c == 'e' || c == 'E'):
			next = 6
		case state == 6 && (c == '+' || c == '-'):
			next = 7
		case (state == 6 || state == 7 || state == 8) && digit:
			next = 8
		}
		if next < 0 {
			if err := j.r.UnreadByte(); err != nil {
				return j.fail(err)
			}
			break
		}
		state = next
		j.off++
	}
	if state != 2 && state != 3 && state != 5 && state != 8 {
		return j.syntax("malformed number")
	}
	return nil
}

// str consumes a string. With keep, it returns the decoded content (up to
// maxCapture bytes; the rest is checked and dropped).
func (j *jsonStream) str(keep bool) (string, error) {
	if err := j.expect('"'); err != nil {
		return "", err
	}
	j.buf = j.buf[:0]
	keep1 := func(b byte) {
		if keep && len(j.buf) < maxCapture {
			j.buf = append(j.buf, b)
		}
	}
	for {
		c, err := j.next()
		if err != nil {
			return "", err
		}
		switch {
		case c == '"':
			if !keep {
				return "", nil
			}
			return strings.ToValidUTF8(string(j.buf), "\uFFFD"), nil
		case c < 0x20:
			return "", j.syntax("control character in string")
		case c != '\\':
			keep1(c)
			continue
		}
		e, err := j.next()
		if err != nil {
			return "", err
		}
		switch e {
		case '"', '\\', '/':
			keep1(e)
		case 'b':
			keep1('\b')
		case 'f':
			keep1('\f')
		case 'n':
			keep1('\n')
		case 'r':
			keep1('\r')
		case 't':
			keep1('\t')
		case 'u':
			r, err := j.hex4()
			if err != nil {
				return "", err
			}
			if utf16.IsSurrogate(r) {
				// A high surrogate should be followed by \u and a low one;
				// anything else decodes to U+FFFD, as encoding/json does.
				if c, _ := j.r.Peek(2); len(c) == 2 && c[0] == '\\' && c[1] == 'u' {
					j.r.Discard(2)
					j.off += 2
					r2, err := j.hex4()
					if err != nil {
						return "", err
					}
					r = utf16.DecodeRune(r, r2)
				} else {
					r = utf8.RuneError
				}
			}
			var enc [utf8.UTFMax]byte
			for _, b := range enc[:utf8.EncodeRune(enc[:], r)] {
				keep1(b)
			}
		default:
			return "", j.syntax("bad escape \\%c", e)
		}
	}
}

// hex4 consumes four hex digits.
func (j *jsonStream) hex4() (rune, error) {
	var r rune
	for range 4 {
		c, err := j.next()
		if err != nil {
			return 0, err
		}
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, j.syntax("bad \\u escape")
		}
		r = r<<4 | rune(c)
	}
	return r, nil
}

// kindAt names the type of the next value, for error messages.
func (j *jsonStream) kindAt() string {
	c, err := j.peek()
	if err != nil {
		return "nothing"
	}
	switch c {
	case '"':
		return "string"
	case '{':
		return "object"
	case '[':
		return "array"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	}
	return "number"
}
