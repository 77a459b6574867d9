package upstream

import (
	"encoding/json"
	"reflect"
	"testing"

	"sov.dev/sov/internal/openai"
)

// usageSeeds are usage values as servers send them, and malformed ones.
var usageSeeds = []string{
	`{"prompt_tokens":10,"completion_tokens":3,"total_tokens":13}`,
	`{"prompt_tokens":10,"completion_tokens":3,"total_tokens":13,"prompt_tokens_details":{"cached_tokens":4}}`,
	`{"prompt_tokens":10,"prompt_tokens_details":null,"completion_tokens_details":{"reasoning_tokens":2}}`,
	`{ "total_tokens" : 7 , "extra" : [1, {"a": "b"}] }`,
	`{"prompt_tokens":null}`,
	`{"prompt_tokens":1.5}`,
	`{"prompt_tokens":"10"}`,
	`{"prompt_tokens":1e3}`,
	`{"prompt_tokens":-4}`,
	`{"prompt_tokens_details":{"cached_tokens":"x"}}`,
	`{"prompt_tokens_details":[]}`,
	`[]`, `null`, `7`, `{`,
}

// parseUsageJSON is what parseUsage must agree with: encoding/json.
func parseUsageJSON(v []byte) (openai.Usage, bool) {
	var u openai.Usage
	if isNull(v) || json.Unmarshal(v, &u) != nil {
		return openai.Usage{}, false
	}
	return u, true
}

func TestParseUsageAgreesWithEncodingJSON(t *testing.T) {
	for _, s := range usageSeeds {
		got, gok := parseUsage([]byte(s))
		want, wok := parseUsageJSON([]byte(s))
		if gok != wok || !reflect.DeepEqual(got, want) {
			t.Errorf("%s: got %+v %v, encoding/json %+v %v", s, got, gok, want, wok)
		}
	}
}

func FuzzParseUsage(f *testing.F) {
	for _, s := range usageSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, v []byte) {
		if !json.Valid(v) {
			return // answers are validated before their usage is read
		}
		got, gok := parseUsage(v)
		want, wok := parseUsageJSON(v)
		if gok != wok || gok && !reflect.DeepEqual(got, want) {
			t.Errorf("%q: got %+v %v, encoding/json %+v %v", v, got, gok, want, wok)
		}
	})
}
