package openai

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
)

// Request decoding. A chat body of the usual shape is decoded by a
// single-pass scanner (decode_fast.go); any other body is decoded in one
// json.Unmarshal into the request type; only when that fails is it decoded
// again, field by field, to find the JSON path of the value at fault (see
// locate). Validation then checks the decoded request and names the
// parameter it rejects.

// DecodeChatCompletionRequest decodes and validates the body of POST
// /v1/chat/completions. Every error is an *APIError (400) whose Param
// names the offending field. Unknown fields are ignored. Empty stop
// strings, which would end every answer at once, are dropped.
func DecodeChatCompletionRequest(body []byte) (*ChatCompletionRequest, error) {
	r := new(ChatCompletionRequest)
	if !decodeChatFast(body, r) {
		*r = ChatCompletionRequest{}
		if err := decode(body, r); err != nil {
			return nil, err
		}
	}
	if err := r.Validate(); err != nil {
		return nil, err
	}
	r.Stop = r.Stop.withoutEmpty()
	return r, nil
}

// DecodeCompletionRequest decodes and validates the body of POST
// /v1/completions.
func DecodeCompletionRequest(body []byte) (*CompletionRequest, error) {
	r := new(CompletionRequest)
	if err := decode(body, r); err != nil {
		return nil, err
	}
	if err := r.Validate(); err != nil {
		return nil, err
	}
	r.Stop = r.Stop.withoutEmpty()
	return r, nil
}

// DecodeEmbeddingRequest decodes and validates the body of POST
// /v1/embeddings.
func DecodeEmbeddingRequest(body []byte) (*EmbeddingRequest, error) {
	r := new(EmbeddingRequest)
	if err := decode(body, r); err != nil {
		return nil, err
	}
	if err := r.Validate(); err != nil {
		return nil, err
	}
	return r, nil
}

// decode unmarshals body into v (a pointer to a request struct) and turns
// any failure into a 400 *APIError.
func decode(body []byte, v any) error {
	if firstByte(body) != '{' {
		var syn *json.SyntaxError
		if err := json.Unmarshal(body, new(json.RawMessage)); errors.As(err, &syn) {
			return invalidJSON(body, syn)
		}
		return InvalidRequest("", "The request body must be a JSON object.")
	}
	err := json.Unmarshal(body, v)
	if err == nil {
		return nil
	}
	var syn *json.SyntaxError
	if errors.As(err, &syn) {
		return invalidJSON(body, syn)
	}
	param, cause := locate(body, reflect.TypeOf(v).Elem(), "")
	if cause == nil { // should not happen; fall back on what encoding/json says
		cause = err
		var ute *json.UnmarshalTypeError
		if errors.As(err, &ute) {
			param = ute.Field
		}
	}
	if param == "" {
		return InvalidRequest("", "The request body is invalid: %s.", describe(cause))
	}
	return InvalidRequest(param, "Invalid value for '%s': %s.", param, describe(cause))
}

// invalidJSON reports a syntax error at the offset of the byte at fault (0
// based), or at the end of the body when it ends too soon.
func invalidJSON(body []byte, err *json.SyntaxError) *APIError {
	off := err.Offset
	if off > 0 && off <= int64(len(body)) && strings.HasPrefix(err.Error(), "invalid character") {
		off-- // encoding/json counts the bad byte as read
	}
	return InvalidRequest("", "The request body is not valid JSON: %s at byte offset %d.", err.Error(), off)
}

var unmarshalerType = reflect.TypeFor[json.Unmarshaler]()

// locate decodes raw into a value of type t piece by piece: the fields of
// structs and the elements of slices one at a time, so that it can return
// the JSON path (like "messages[2].content") of the first value that does
// not decode, and why. Field names are matched as encoding/json matches
// them. It returns a nil error when raw decodes.
func locate(raw []byte, t reflect.Type, path string) (string, error) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if firstByte(raw) == 'n' || reflect.PointerTo(t).Implements(unmarshalerType) {
		return path, json.Unmarshal(raw, reflect.New(t).Interface())
	}
	switch {
	case t.Kind() == reflect.Struct:
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(raw, &fields); err != nil {
			return path, err
		}
		for i := range t.NumField() {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if !f.IsExported() || name == "-" {
				continue
			}
			if name == "" {
				name = f.Name
			}
			v, ok := lookupField(fields, name)
			if !ok {
				continue
			}
			p := name
			if path != "" {
				p = path + "." + name
			}
			if p, err := locate(v, f.Type, p); err != nil {
				return p, err
			}
		}
		return "", nil
	case t.Kind() == reflect.Slice && t.Elem().Kind() != reflect.Uint8:
		var elems []json.RawMessage
		if err := json.Unmarshal(raw, &elems); err != nil {
			return path, err
		}
		for i, e := range elems {
			if p, err := locate(e, t.Elem(), path+"["+strconv.Itoa(i)+"]"); err != nil {
				return p, err
			}
		}
		return "", nil
	}
	return path, json.Unmarshal(raw, reflect.New(t).Interface())
}

// lookupField finds a struct field's value as encoding/json does: the
// exact key if present, otherwise a key equal under case folding.
func lookupField(fields map[string]json.RawMessage, name string) (json.RawMessage, bool) {
	if v, ok := fields[name]; ok {
		return v, true
	}
	for k, v := range fields {
		if strings.EqualFold(k, name) {
			return v, true
		}
	}
	return nil, false
}

// describe says in words why a value did not decode.
func describe(err error) string {
	var ute *json.UnmarshalTypeError
	if errors.As(err, &ute) {
		got := ute.Value
		if strings.HasPrefix(got, "number ") {
			got = "the number " + strings.TrimPrefix(got, "number ")
		} else {
			got = article(got)
		}
		return fmt.Sprintf("expected %s, got %s", typeWord(ute.Type), got)
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}

func article(s string) string {
	switch s {
	case "array", "object":
		return "an " + s
	case "":
		return "nothing"
	}
	return "a " + s
}

// typeWord names a Go type as JSON calls it.
func typeWord(t reflect.Type) string {
	if t == nil {
		return "another type"
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "an integer"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a non-negative integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Struct, reflect.Map:
		return "an object"
	}
	return "another type"
}
