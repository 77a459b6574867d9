package jinja

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// jsonOpts are the json.dumps options transformers' tojson passes on.
type jsonOpts struct {
	ensureASCII bool
	indent      *string // nil: single line
	itemSep     string
	keySep      string
	sortKeys    bool
}

const maxJSONDepth = 500

// toJSON is json.dumps(v, ...) as transformers' tojson filter calls it.
func (ev *evaluator) toJSON(v Value, o jsonOpts) (string, error) {
	var b strings.Builder
	w := &jsonWriter{ev: ev, b: &b, o: o}
	if err := w.value(v, 0); err != nil {
		return "", err
	}
	return b.String(), nil
}

type jsonWriter struct {
	ev *evaluator
	b  *strings.Builder
	o  jsonOpts
}

func (w *jsonWriter) write(s string) error {
	if w.b.Len()+len(s) > w.ev.maxSize {
		return fmt.Errorf("%w: JSON text exceeds %d bytes", ErrTooLarge, w.ev.maxSize)
	}
	if len(s) >= 64 {
		if err := w.ev.step(int64(len(s) / 64)); err != nil {
			return err
		}
	}
	w.b.WriteString(s)
	return nil
}

func (w *jsonWriter) newline(level int) error {
	if w.o.indent == nil {
		return nil
	}
	if err := w.write("\n"); err != nil {
		return err
	}
	for i := 0; i < level; i++ {
		if err := w.write(*w.o.indent); err != nil {
			return err
		}
	}
	return nil
}

func (w *jsonWriter) value(v Value, level int) error {
	if err := w.ev.step(1); err != nil {
		return err
	}
	if level > maxJSONDepth {
		return fmt.Errorf("%w: JSON nesting deeper than %d", ErrTooDeep, maxJSONDepth)
	}
	switch x := v.(type) {
	case None:
		return w.write("null")
	case Bool:
		if x {
			return w.write("true")
		}
		return w.write("false")
	case Int:
		return w.write(strconv.FormatInt(int64(x), 10))
	case Float:
		return w.write(jsonFloat(float64(x)))
	case String:
		return w.write(jsonQuote(string(x), w.o.ensureASCII))
	case *List:
		if len(x.Items) == 0 {
			return w.write("[]")
		}
		if err := w.write("["); err != nil {
			return err
		}
		for i, it := range x.Items {
			if i > 0 {
				if err := w.write(w.o.itemSep); err != nil {
					return err
				}
			}
			if err := w.newline(level + 1); err != nil {
				return err
			}
			if err := w.value(it, level+1); err != nil {
				return err
			}
		}
		if err := w.newline(level); err != nil {
			return err
		}
		return w.write("]")
	case *Dict:
		return w.dict(x, level)
	}
	return fmt.Errorf("Object of type %s is not JSON serializable", v.typeName())
}

func (w *jsonWriter) dict(d *Dict, level int) error {
	if len(d.keys) == 0 {
		return w.write("{}")
	}
	order := make([]int, len(d.keys))
	for i := range order {
		order[i] = i
	}
	if w.o.sortKeys {
		var err error
		sort.SliceStable(order, func(a, b int) bool {
			c, e := w.ev.order(d.keys[order[a]], d.keys[order[b]], "lt", 0)
			if e != nil && err == nil {
				err = e
			}
			return c < 0
		})
		if err != nil {
			return err
		}
	}
	if err := w.write("{"); err != nil {
		return err
	}
	for n, i := range order {
		if n > 0 {
			if err := w.write(w.o.itemSep); err != nil {
				return err
			}
		}
		if err := w.newline(level + 1); err != nil {
			return err
		}
		var key string
		switch k := d.keys[i].(type) {
		case String:
			key = string(k)
		case Int:
			key = strconv.FormatInt(int64(k), 10)
		case Float:
			key = jsonFloat(float64(k))
		case Bool:
			key = "false"
			if k {
				key = "true"
			}
		case None:
			key = "null"
		default:
			return fmt.Errorf("keys must be str, int, float, bool or None, not %s", k.typeName())
		}
		if err := w.write(jsonQuote(key, w.o.ensureASCII)); err != nil {
			return err
		}
		if err := w.write(w.o.keySep); err != nil {
			return err
		}
		if err := w.value(d.vals[i], level+1); err != nil {
			return err
		}
	}
	if err := w.newline(level); err != nil {
		return err
	}
	return w.write("}")
}

// jsonFloat is Python json's float form: repr, with NaN and Infinity.
func jsonFloat(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	}
	return formatFloat(f)
}

// jsonQuote is Python json's string encoder.
func jsonQuote(s string, ensureASCII bool) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch c {
			case '"':
				b.WriteString(`\"`)
			case '\\':
				b.WriteString(`\\`)
			case '\n':
				b.WriteString(`\n`)
			case '\r':
				b.WriteString(`\r`)
			case '\t':
				b.WriteString(`\t`)
			case '\b':
				b.WriteString(`\b`)
			case '\f':
				b.WriteString(`\f`)
			default:
				if c < 0x20 {
					b.WriteString(`\u00` + hexPad(uint64(c), 2))
				} else {
					b.WriteByte(c)
				}
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		i += n
		if !ensureASCII {
			b.WriteRune(r) // invalid bytes become U+FFFD
			continue
		}
		if r >= 0x10000 {
			r -= 0x10000
			b.WriteString(`\u` + hexPad(uint64(0xD800+(r>>10)), 4))
			b.WriteString(`\u` + hexPad(uint64(0xDC00+(r&0x3FF)), 4))
			continue
		}
		b.WriteString(`\u` + hexPad(uint64(r), 4))
	}
	b.WriteByte('"')
	return b.String()
}
