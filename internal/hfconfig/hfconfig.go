// Package hfconfig reads the JSON files that sit beside Hugging Face model
// weights: config.json (the architecture and its sizes),
// generation_config.json (sampling defaults), tokenizer_config.json and
// tokenizer.json (a summary of the tokenizer, streamed).
//
// The files are untrusted: every parser caps the input size and the JSON
// nesting depth, tolerates unknown fields, and reports a field of the wrong
// type as an *Error naming that field. This package only extracts facts; it
// does not validate a model, load weights, or render chat templates.
package hfconfig

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
)

// Size caps.
const (
	// MaxConfigSize bounds config.json, generation_config.json and
	// tokenizer_config.json (the last can hold long chat templates).
	MaxConfigSize = 16 << 20
	// MaxTokenizerSize bounds tokenizer.json; large vocabularies run to
	// tens of megabytes.
	MaxTokenizerSize = 256 << 20
	// maxDepth bounds JSON nesting in every file.
	maxDepth = 128
)

// Error is a problem with the content of a config file.
type Error struct {
	// Field is the JSON path of the field at fault, e.g.
	// "text_config.hidden_size"; "" when the problem is the whole document.
	Field string
	// Offset is the byte offset at (or just after) a syntax error, or -1.
	Offset int64
	Reason string
}

func (e *Error) Error() string {
	switch {
	case e.Field != "":
		return e.Field + ": " + e.Reason
	case e.Offset >= 0:
		return fmt.Sprintf("at byte %d: %s", e.Offset, e.Reason)
	}
	return e.Reason
}

func fieldError(field, reason string) *Error {
	return &Error{Field: field, Offset: -1, Reason: reason}
}

func docError(offset int64, reason string) *Error {
	return &Error{Offset: offset, Reason: reason}
}

// object is a decoded JSON object whose values are still raw. prefix is the
// JSON path of the object, for error messages ("" at the top).
type object struct {
	prefix string
	m      map[string]json.RawMessage
}

// parseObject checks size and depth, then decodes b as a JSON object.
func parseObject(b []byte, limit int) (object, error) {
	if len(b) > limit {
		return object{}, docError(-1, fmt.Sprintf("file is %d bytes, more than the %d allowed", len(b), limit))
	}
	if err := checkDepth(b); err != nil {
		return object{}, err
	}
	if t := bytes.TrimLeft(b, " \t\r\n"); len(t) == 0 || t[0] != '{' {
		return object{}, docError(-1, "want a JSON object")
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return object{}, jsonError(err)
	}
	return object{m: m}, nil
}

// jsonError turns an encoding/json error into an *Error.
func jsonError(err error) error {
	var se *json.SyntaxError
	switch {
	case errors.As(err, &se):
		return docError(se.Offset, "invalid JSON: "+se.Error())
	case errors.Is(err, io.ErrUnexpectedEOF):
		return docError(-1, "invalid JSON: unexpected end of input")
	}
	return docError(-1, "invalid JSON: "+err.Error())
}

// checkDepth rejects JSON nested deeper than maxDepth. It tracks strings so
// that brackets inside them do not count; it does not otherwise validate.
func checkDepth(b []byte) error {
	depth, inString, escape := 0, false, false
	for i, c := range b {
		switch {
		case inString:
			switch {
			case escape:
				escape = false
			case c == '\\':
				escape = true
			case c == '"':
				inString = false
			}
		case c == '"':
			inString = true
		case c == '{' || c == '[':
			depth++
			if depth > maxDepth {
				return docError(int64(i), fmt.Sprintf("JSON nests deeper than %d levels", maxDepth))
			}
		case c == '}' || c == ']':
			depth--
		}
	}
	return nil
}

// path returns the JSON path of key in o.
func (o object) path(key string) string {
	if o.prefix == "" {
		return key
	}
	return o.prefix + "." + key
}

// get returns the raw value of key, or nil when it is absent or null.
func (o object) get(key string) json.RawMessage {
	v, ok := o.m[key]
	if !ok || jsonKind(v) == "null" {
		return nil
	}
	return v
}

// has reports whether key is present and not null.
func (o object) has(key string) bool { return o.get(key) != nil }

// jsonKind names the JSON type of a raw value.
func jsonKind(v json.RawMessage) string {
	v = bytes.TrimLeft(v, " \t\r\n")
	if len(v) == 0 {
		return "nothing"
	}
	switch v[0] {
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

// wrongType is the error for a value of the wrong JSON type.
func (o object) wrongType(key, want string, v json.RawMessage) error {
	return fieldError(o.path(key), fmt.Sprintf("want %s, got %s", want, describe(v)))
}

// describe names a raw value for an error message: its type, and for short
// scalars the value itself.
func describe(v json.RawMessage) string {
	k := jsonKind(v)
	if (k == "string" || k == "number" || k == "boolean") && len(v) <= 40 {
		return k + " " + string(v)
	}
	return k
}

// child returns the object at key, if present.
func (o object) child(key string) (object, bool, error) {
	v := o.get(key)
	if v == nil {
		return object{}, false, nil
	}
	if jsonKind(v) != "object" {
		return object{}, false, o.wrongType(key, "an object", v)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(v, &m); err != nil {
		return object{}, false, jsonError(err)
	}
	return object{prefix: o.path(key), m: m}, true, nil
}

// str reads a string field; absent or null is "".
func (o object) str(key string) (string, error) {
	v := o.get(key)
	if v == nil {
		return "", nil
	}
	var s string
	if jsonKind(v) != "string" || json.Unmarshal(v, &s) != nil {
		return "", o.wrongType(key, "a string", v)
	}
	return s, nil
}

// strList reads a field that is a string or an array of strings.
func (o object) strList(key string) ([]string, error) {
	v := o.get(key)
	switch jsonKind(v) {
	case "nothing":
		return nil, nil
	case "string":
		s, err := o.str(key)
		return []string{s}, err
	case "array":
		var out []string
		if err := json.Unmarshal(v, &out); err != nil {
			return nil, o.wrongType(key, "an array of strings", v)
		}
		return out, nil
	}
	return nil, o.wrongType(key, "a string or an array of strings", v)
}

// integer parses a JSON number that must be a whole number within int64.
// clamp turns out-of-range whole numbers into MaxInt64/MinInt64 instead of
// failing.
func integer(v json.RawMessage, clamp bool) (int64, bool) {
	if jsonKind(v) != "number" {
		return 0, false
	}
	s := string(bytes.TrimSpace(v))
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n, true
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) || math.IsNaN(f) || f != math.Trunc(f) {
		return 0, false
	}
	switch {
	case f >= math.MaxInt64:
		return math.MaxInt64, clamp
	case f <= math.MinInt64:
		return math.MinInt64, clamp
	}
	return int64(f), true
}

// int reads an integer field; absent or null is 0.
func (o object) int(key string) (int64, error) {
	n, _, err := o.intOK(key, false)
	return n, err
}

// intOK reads an integer field and reports whether it was present.
func (o object) intOK(key string, clamp bool) (int64, bool, error) {
	v := o.get(key)
	if v == nil {
		return 0, false, nil
	}
	n, ok := integer(v, clamp)
	if !ok {
		return 0, false, o.wrongType(key, "an integer", v)
	}
	return n, true, nil
}

// intList reads a field that is an integer or an array of integers.
func (o object) intList(key string) ([]int64, error) {
	v := o.get(key)
	switch jsonKind(v) {
	case "nothing":
		return nil, nil
	case "number":
		n, err := o.int(key)
		return []int64{n}, err
	case "array":
		var raw []json.RawMessage
		if err := json.Unmarshal(v, &raw); err != nil {
			return nil, jsonError(err)
		}
		out := make([]int64, 0, len(raw))
		for i, e := range raw {
			n, ok := integer(e, false)
			if !ok {
				return nil, fieldError(fmt.Sprintf("%s[%d]", o.path(key), i), "want an integer, got "+describe(e))
			}
			out = append(out, n)
		}
		return out, nil
	}
	return nil, o.wrongType(key, "an integer or an array of integers", v)
}

// float reads a number field; absent or null is nil.
func (o object) float(key string) (*float64, error) {
	v := o.get(key)
	if v == nil {
		return nil, nil
	}
	var f float64
	if jsonKind(v) != "number" || json.Unmarshal(v, &f) != nil {
		return nil, o.wrongType(key, "a number", v)
	}
	return &f, nil
}

// bool reads a boolean field; absent or null is nil.
func (o object) bool(key string) (*bool, error) {
	v := o.get(key)
	if v == nil {
		return nil, nil
	}
	var b bool
	if jsonKind(v) != "boolean" || json.Unmarshal(v, &b) != nil {
		return nil, o.wrongType(key, "true or false", v)
	}
	return &b, nil
}

// anyMap reads an object field as generic values.
func (o object) anyMap(key string) (map[string]any, error) {
	v := o.get(key)
	if v == nil {
		return nil, nil
	}
	if jsonKind(v) != "object" {
		return nil, o.wrongType(key, "an object", v)
	}
	var m map[string]any
	if err := json.Unmarshal(v, &m); err != nil {
		return nil, jsonError(err)
	}
	return m, nil
}

// firstOf returns the first of keys present in o, or "".
func (o object) firstOf(keys ...string) string {
	for _, k := range keys {
		if o.has(k) {
			return k
		}
	}
	return ""
}
