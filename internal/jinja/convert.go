package jinja

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
)

// maxConvertDepth bounds the nesting of values converted from Go or JSON.
const maxConvertDepth = 256

// FromGo converts a JSON-like Go value into a template value: nil, bool,
// string, integers, floats, json.Number, json.RawMessage (decoded with
// FromJSON, keeping key order), []any, []string, []map[string]any,
// map[string]any, map[string]string, and Values. Go maps have no order, so
// their keys are sorted; pass json.RawMessage where the order of keys
// matters (tool schemas).
func FromGo(v any) (Value, error) {
	return fromGo(v, 0)
}

func fromGo(v any, depth int) (Value, error) {
	if depth > maxConvertDepth {
		return nil, fmt.Errorf("jinja: value nested deeper than %d levels", maxConvertDepth)
	}
	switch x := v.(type) {
	case nil:
		return None{}, nil
	case Value:
		return x, nil
	case bool:
		return Bool(x), nil
	case string:
		return String(x), nil
	case int:
		return Int(x), nil
	case int8:
		return Int(x), nil
	case int16:
		return Int(x), nil
	case int32:
		return Int(x), nil
	case int64:
		return Int(x), nil
	case uint:
		return uintValue(uint64(x)), nil
	case uint8:
		return Int(x), nil
	case uint16:
		return Int(x), nil
	case uint32:
		return Int(x), nil
	case uint64:
		return uintValue(x), nil
	case float32:
		return Float(x), nil
	case float64:
		return Float(x), nil
	case json.Number:
		return numberValue(string(x))
	case json.RawMessage:
		return FromJSON(x)
	case []any:
		out := make([]Value, len(x))
		for i, it := range x {
			c, err := fromGo(it, depth+1)
			if err != nil {
				return nil, err
			}
			out[i] = c
		}
		return &List{Items: out}, nil
	case []string:
		out := make([]Value, len(x))
		for i, it := range x {
			out[i] = String(it)
		}
		return &List{Items: out}, nil
	case []Value:
		return &List{Items: append([]Value(nil), x...)}, nil
	case []map[string]any:
		out := make([]Value, len(x))
		for i, it := range x {
			c, err := fromGo(it, depth+1)
			if err != nil {
				return nil, err
			}
			out[i] = c
		}
		return &List{Items: out}, nil
	case map[string]any:
		d := NewDict()
		for _, k := range sortedKeys(x) {
			c, err := fromGo(x[k], depth+1)
			if err != nil {
				return nil, err
			}
			d.Set(k, c)
		}
		return d, nil
	case map[string]string:
		d := NewDict()
		for _, k := range sortedKeys(x) {
			d.Set(k, String(x[k]))
		}
		return d, nil
	case map[string]Value:
		d := NewDict()
		for _, k := range sortedKeys(x) {
			d.Set(k, x[k])
		}
		return d, nil
	}
	return nil, fmt.Errorf("jinja: cannot convert %T to a template value", v)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func uintValue(u uint64) Value {
	if u > math.MaxInt64 {
		return Float(u)
	}
	return Int(u)
}

// numberValue converts a JSON number the way Python's json module does:
// integers without fraction or exponent become ints.
func numberValue(s string) (Value, error) {
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		return Int(i), nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil && !isRangeErr(err) {
		return nil, fmt.Errorf("jinja: invalid number %q", s)
	}
	return Float(f), nil
}

// FromJSON decodes one JSON document into a template value, keeping the
// order of object keys (as Python's json.loads does).
func FromJSON(data []byte) (Value, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	v, err := decodeJSON(dec, 0)
	if err != nil {
		return nil, fmt.Errorf("jinja: decoding JSON: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("jinja: decoding JSON: data after the top-level value")
	}
	return v, nil
}

func decodeJSON(dec *json.Decoder, depth int) (Value, error) {
	if depth > maxConvertDepth {
		return nil, fmt.Errorf("nested deeper than %d levels", maxConvertDepth)
	}
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case nil:
		return None{}, nil
	case bool:
		return Bool(t), nil
	case string:
		return String(t), nil
	case json.Number:
		return numberValue(string(t))
	case json.Delim:
		switch t {
		case '[':
			var items []Value
			for dec.More() {
				v, err := decodeJSON(dec, depth+1)
				if err != nil {
					return nil, err
				}
				items = append(items, v)
			}
			if _, err := dec.Token(); err != nil {
				return nil, err
			}
			return &List{Items: items}, nil
		case '{':
			d := NewDict()
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				k, ok := kt.(string)
				if !ok {
					return nil, fmt.Errorf("object key is %T, not a string", kt)
				}
				v, err := decodeJSON(dec, depth+1)
				if err != nil {
					return nil, err
				}
				d.Set(k, v)
			}
			if _, err := dec.Token(); err != nil {
				return nil, err
			}
			return d, nil
		}
	}
	return nil, fmt.Errorf("unexpected JSON token %v", tok)
}

// ToGo converts a template value back into plain Go values: strings,
// int64, float64, bool, nil (None and undefined), []any and map[string]any
// (keys rendered with Python's str()). Other values become their str().
//
// At most maxToGoNodes values are converted (values built by a template can
// share structure and be exponentially large when expanded); the rest
// become nil.
func ToGo(v Value) any {
	budget := maxToGoNodes
	return toGo(v, 0, &budget)
}

const maxToGoNodes = 1 << 20

func toGo(v Value, depth int, budget *int) any {
	if depth > maxConvertDepth || *budget <= 0 {
		return nil
	}
	*budget--
	switch x := v.(type) {
	case String:
		return string(x)
	case Int:
		return int64(x)
	case Float:
		return float64(x)
	case Bool:
		return bool(x)
	case None, Undefined, nil:
		return nil
	case *List:
		out := make([]any, len(x.Items))
		for i, it := range x.Items {
			out[i] = toGo(it, depth+1, budget)
		}
		return out
	case *Dict:
		out := make(map[string]any, len(x.keys))
		for i, k := range x.keys {
			out[ToString(k)] = toGo(x.vals[i], depth+1, budget)
		}
		return out
	}
	return ToString(v)
}
