package audit

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"unicode/utf8"
)

// maxDepth bounds how deeply Data may nest. It also stops a map that
// contains itself, which would otherwise recurse forever.
const maxDepth = 32

// canonicalData encodes d in the log's canonical JSON (see
// docs/design/audit.md): objects with keys in bytewise order, no
// whitespace, strings with minimal escapes, numbers in one spelling. Two
// Data values that mean the same JSON always give the same bytes, and
// decoding the bytes and encoding again gives them back unchanged.
func canonicalData(d Data) ([]byte, error) {
	if d == nil {
		return []byte("{}"), nil
	}
	return appendCanonical(make([]byte, 0, 256), map[string]any(d), 0)
}

// appendCanonical appends v's canonical JSON. The common JSON-shaped Go
// types are encoded directly; anything else goes through encoding/json and
// is decoded again first, so that structs, times and custom marshalers all
// end up as the same plain values.
func appendCanonical(b []byte, v any, depth int) ([]byte, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("data nests deeper than %d levels", maxDepth)
	}
	switch v := v.(type) {
	case nil:
		return append(b, "null"...), nil
	case bool:
		if v {
			return append(b, "true"...), nil
		}
		return append(b, "false"...), nil
	case string:
		return appendString(b, v), nil
	case int:
		return strconv.AppendInt(b, int64(v), 10), nil
	case int8:
		return strconv.AppendInt(b, int64(v), 10), nil
	case int16:
		return strconv.AppendInt(b, int64(v), 10), nil
	case int32:
		return strconv.AppendInt(b, int64(v), 10), nil
	case int64:
		return strconv.AppendInt(b, v, 10), nil
	case uint:
		return appendUint(b, uint64(v)), nil
	case uint8:
		return strconv.AppendUint(b, uint64(v), 10), nil
	case uint16:
		return strconv.AppendUint(b, uint64(v), 10), nil
	case uint32:
		return strconv.AppendUint(b, uint64(v), 10), nil
	case uint64:
		return appendUint(b, v), nil
	case float32:
		return appendFloat(b, float64(v))
	case float64:
		return appendFloat(b, v)
	case json.Number:
		return appendNumber(b, string(v))
	case Data:
		return appendObject(b, v, depth)
	case map[string]any:
		return appendObject(b, v, depth)
	case map[string]string:
		keys := sortedKeys(v)
		b = append(b, '{')
		for i, k := range keys {
			if i > 0 && validKey(keys[i-1]) == validKey(k) {
				return nil, fmt.Errorf("data has two keys that are both %q once made valid UTF-8", validKey(k))
			}
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, k)
			b = append(b, ':')
			b = appendString(b, v[k])
		}
		return append(b, '}'), nil
	case []any:
		b = append(b, '[')
		for i, e := range v {
			if i > 0 {
				b = append(b, ',')
			}
			var err error
			if b, err = appendCanonical(b, e, depth+1); err != nil {
				return nil, err
			}
		}
		return append(b, ']'), nil
	case []string:
		b = append(b, '[')
		for i, e := range v {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, e)
		}
		return append(b, ']'), nil
	case json.RawMessage:
		return appendJSON(b, v, depth)
	default:
		raw, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("data value of type %T: %w", v, err)
		}
		return appendJSON(b, raw, depth)
	}
}

// appendJSON appends the canonical form of the JSON text raw.
func appendJSON(b []byte, raw []byte, depth int) ([]byte, error) {
	v, err := decodeJSON(raw)
	if err != nil {
		return nil, err
	}
	return appendCanonical(b, v, depth)
}

// decodeJSON decodes one JSON value, keeping numbers as their text.
func decodeJSON(raw []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("data is not valid JSON: %w", err)
	}
	if dec.More() {
		return nil, errors.New("data is not valid JSON: text after the value")
	}
	return v, nil
}

func appendObject(b []byte, m map[string]any, depth int) ([]byte, error) {
	keys := sortedKeys(m)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 && validKey(keys[i-1]) == validKey(k) {
			return nil, fmt.Errorf("data has two keys that are both %q once made valid UTF-8", validKey(k))
		}
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, k)
		b = append(b, ':')
		var err error
		if b, err = appendCanonical(b, m[k], depth+1); err != nil {
			return nil, fmt.Errorf("data field %q: %w", k, err)
		}
	}
	return append(b, '}'), nil
}

// sortedKeys returns m's keys in the order they are written: bytewise
// order of their valid-UTF-8 form (then of the raw key, to be total).
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	valid := true
	for k := range m {
		keys = append(keys, k)
		valid = valid && utf8.ValidString(k)
	}
	if valid {
		slices.Sort(keys)
		return keys
	}
	slices.SortFunc(keys, func(a, b string) int {
		if c := compareString(validKey(a), validKey(b)); c != 0 {
			return c
		}
		return compareString(a, b)
	})
	return keys
}

func compareString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// validKey is k as it is written: every byte that is not part of valid
// UTF-8 replaced by U+FFFD.
func validKey(k string) string {
	if utf8.ValidString(k) {
		return k
	}
	var b []byte
	for _, r := range k {
		b = utf8.AppendRune(b, r) // each invalid byte ranges as utf8.RuneError
	}
	return string(b)
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string: `"` and `\` escaped, control
// characters as \b \f \n \r \t or \u00XX, every other character as its
// UTF-8 bytes, and each byte that is not valid UTF-8 as U+FFFD.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c >= 0x20:
				b = append(b, c)
			case c == '\b':
				b = append(b, '\\', 'b')
			case c == '\f':
				b = append(b, '\\', 'f')
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, "\uFFFD"...)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}

// appendUint writes u in decimal when it fits an int64, else as the
// nearest float64, which is how it would read back.
func appendUint(b []byte, u uint64) []byte {
	if u <= math.MaxInt64 {
		return strconv.AppendUint(b, u, 10)
	}
	b, _ = appendFloat(b, float64(u)) // finite: cannot fail
	return b
}

// appendFloat writes f as the shortest decimal that reads back as f: in
// plain notation for 1e-6 <= |f| < 1e21 (and 0), else in exponent form
// with no leading zeros in the exponent (1e+21, 1e-7). Integral values in
// plain notation read back as integers and are written the same way.
func appendFloat(b []byte, f float64) ([]byte, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil, fmt.Errorf("number %v cannot be written as JSON", f)
	}
	if f == 0 {
		return append(b, '0'), nil // also -0
	}
	abs := math.Abs(f)
	if abs >= 1e-6 && abs < 1e21 {
		return strconv.AppendFloat(b, f, 'f', -1, 64), nil
	}
	start := len(b)
	b = strconv.AppendFloat(b, f, 'e', -1, 64)
	// Go writes e-07 and e+07; drop the zero.
	if n := len(b); n-start >= 4 && b[n-4] == 'e' && b[n-2] == '0' {
		b[n-2] = b[n-1]
		b = b[:n-1]
	}
	return b, nil
}

// appendNumber writes the JSON number literal s canonically: an integer
// literal that fits an int64 in decimal, any other number as its nearest
// float64 (appendFloat).
func appendNumber(b []byte, s string) ([]byte, error) {
	if !validNumber(s) {
		return nil, fmt.Errorf("%q is not a JSON number", s)
	}
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		return strconv.AppendInt(b, i, 10), nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return nil, fmt.Errorf("number %q: %w", s, err)
	}
	return appendFloat(b, f) // out of range: ±Inf, refused there
}

// validNumber reports whether s follows JSON's number grammar
// (RFC 8259 section 6): -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func validNumber(s string) bool {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && s[i] >= '1' && s[i] <= '9':
		for i < len(s) && isDigit(s[i]) {
			i++
		}
	default:
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		if i >= len(s) || !isDigit(s[i]) {
			return false
		}
		for i < len(s) && isDigit(s[i]) {
			i++
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if i >= len(s) || !isDigit(s[i]) {
			return false
		}
		for i < len(s) && isDigit(s[i]) {
			i++
		}
	}
	return i == len(s)
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// parseData decodes stored canonical data into Data, numbers as
// json.Number so that encoding them again gives the same bytes.
func parseData(raw []byte) (Data, error) {
	v, err := decodeJSON(raw)
	if err != nil {
		return nil, err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, errors.New("data is not a JSON object")
	}
	if len(m) == 0 {
		return nil, nil
	}
	return Data(m), nil
}
