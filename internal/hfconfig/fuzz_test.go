package hfconfig

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
)

// FuzzParseConfig runs the three in-memory parsers on the same bytes: none
// may panic, and every failure must be an *Error.
func FuzzParseConfig(f *testing.F) {
	for _, s := range []string{llamaConfig, gemma3Config, qwenGeneration, mistralTokenizerConfig, namedTemplatesConfig} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var e *Error
		if _, err := ParseConfig(b); err != nil && !errors.As(err, &e) {
			t.Fatalf("ParseConfig error %v is %T", err, err)
		}
		if _, err := ParseGenerationConfig(b); err != nil && !errors.As(err, &e) {
			t.Fatalf("ParseGenerationConfig error %v is %T", err, err)
		}
		if _, err := ParseTokenizerConfig(b); err != nil && !errors.As(err, &e) {
			t.Fatalf("ParseTokenizerConfig error %v is %T", err, err)
		}
	})
}

// FuzzParseTokenizer checks ParseTokenizer against encoding/json: it must
// reject what json.Valid rejects, and on valid, shallow JSON objects it may
// fail only with a field error.
func FuzzParseTokenizer(f *testing.F) {
	for _, s := range []string{bpeTokenizer, unigramTokenizer, wordPieceTokenizer} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		_, err := ParseTokenizer(bytes.NewReader(b))
		var e *Error
		if err != nil && !errors.As(err, &e) {
			t.Fatalf("error %v is %T", err, err)
		}
		valid := json.Valid(b)
		if err == nil && !valid {
			t.Fatalf("accepted invalid JSON")
		}
		isObject := bytes.HasPrefix(bytes.TrimLeft(b, " \t\r\n"), []byte("{"))
		if valid && isObject && checkDepth(b) == nil && err != nil && e.Field == "" {
			t.Fatalf("valid JSON rejected: %v", err)
		}
	})
}
