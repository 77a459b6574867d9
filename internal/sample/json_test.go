package sample

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestJSONDocuments(t *testing.T) {
	tests := []struct {
		text     string
		prefix   bool // a valid prefix of an object
		complete bool
	}{
		{``, true, false},
		{`  `, true, false},
		{`{`, true, false},
		{`{}`, true, true},
		{" \n{ }\t\r\n ", true, true},
		{`{"a":1}`, true, true},
		{`{"a":-0.5e+10,"b":[true,false,null,"x\n\"\\\/\b\f\r\t\u00e9"],"c":{}}`, true, true},
		{`{"é€𝄞":"\uD834\uDD1E"}`, true, true},
		{`{"a":[[],[[]],{}]}`, true, true},
		{`{"a":1e5}`, true, true},
		{`{"a":0}`, true, true},
		{`{"a":1.25E-3 }`, true, true},
		{`{"a`, true, false},
		{`{"a":`, true, false},
		{`{"a":-`, true, false},
		{`{"a":1.`, true, false},
		{`{"a":1e`, true, false},
		{`{"a":tr`, true, false},
		{`{"a":"\u00`, true, false},
		{"{\"a\":\"\xe2\x82", true, false},
		{`{"a":1,`, true, false},
		{`[1]`, false, false},
		{`"x"`, false, false},
		{`1`, false, false},
		{`{}{}`, false, false},
		{`{} x`, false, false},
		{`{a:1}`, false, false},
		{`{"a" 1}`, false, false},
		{`{"a":01}`, false, false},
		{`{"a":1.e1}`, false, false},
		{`{"a":+1}`, false, false},
		{`{"a":.5}`, false, false},
		{`{"a":1,}`, false, false},
		{`{"a":[1,]}`, false, false},
		{`{"a":[1}`, false, false},
		{`{"a":{]`, false, false},
		{`{"a":tru}`, false, false},
		{`{"a":nul`, true, false},
		{`{"a":True}`, false, false},
		{`{"a":"\x"}`, false, false},
		{`{"a":"\u00g0"}`, false, false},
		{"{\"a\":\"\t\"}", false, false},
		{"{\"a\":\"\xff\"}", false, false},
		{"{\"a\":\"\xc0\xaf\"}", false, false},     // overlong
		{"{\"a\":\"\xed\xa0\x80\"}", false, false}, // surrogate
		{"{\"a\":\"\xf4\x90\x80\x80\"}", false, false},
		{`{,}`, false, false},
		{`{"a":1 2}`, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			var j JSON
			ok := j.Feed(tt.text)
			if ok != tt.prefix {
				t.Fatalf("Feed = %v, want %v", ok, tt.prefix)
			}
			if got := ok && j.Complete(); got != tt.complete {
				t.Errorf("Complete = %v, want %v", got, tt.complete)
			}
			// Byte by byte gives the same answer as all at once.
			var k JSON
			byByte := true
			for i := 0; i < len(tt.text) && byByte; i++ {
				byByte = k.Feed(tt.text[i : i+1])
			}
			if byByte != ok || (ok && k != j) {
				t.Errorf("fed byte by byte: %v (state %+v), at once: %v (state %+v)", byByte, k, ok, j)
			}
			if tt.complete && !json.Valid([]byte(tt.text)) {
				t.Errorf("the table says complete, encoding/json says invalid")
			}
		})
	}
}

func TestJSONFeedIsAtomic(t *testing.T) {
	var j JSON
	if !j.Feed(`{"a":[1,`) {
		t.Fatal("valid prefix refused")
	}
	saved := j
	if j.Feed(`2]}x`) {
		t.Fatal("invalid continuation accepted")
	}
	if j != saved {
		t.Errorf("a refused Feed changed the state: %+v, was %+v", j, saved)
	}
	if !j.Accepts(`2]}`) || j != saved {
		t.Error("Accepts refused a valid continuation or changed the state")
	}
	if !j.Feed(`2]}`) || !j.Complete() {
		t.Error("the continuation did not complete the object")
	}
}

func TestJSONClosing(t *testing.T) {
	prefixes := []string{
		``, `{`, `{"`, `{"k`, `{"k\`, `{"k\u1`, "{\"k\xf0", "{\"k\xf0\x9f", `{"k"`, `{"k":`,
		`{"k":-`, `{"k":1`, `{"k":1.`, `{"k":1.5`, `{"k":1e`, `{"k":1e-`, `{"k":1e-2`, `{"k":f`,
		`{"k":[`, `{"k":[1`, `{"k":[1,`, `{"k":[{`, `{"k":[{"x":[[`, `{"k":"v`, `{"k":"v"`,
		`{"k":"v",`, `{"k":{}`, `{}`, `{} `,
	}
	for _, p := range prefixes {
		t.Run(p, func(t *testing.T) {
			var j JSON
			if !j.Feed(p) {
				t.Fatal("prefix refused")
			}
			c := j.Closing()
			if len(c) != j.MinCloseLen() {
				t.Errorf("Closing %q has %d bytes, MinCloseLen = %d", c, len(c), j.MinCloseLen())
			}
			if !j.Feed(c) || !j.Complete() {
				t.Fatalf("prefix + Closing %q is not a complete object", c)
			}
			if !json.Valid([]byte(p + c)) {
				t.Errorf("%q is not valid JSON", p+c)
			}
		})
	}
}

func TestJSONLimits(t *testing.T) {
	var j JSON
	if !j.Feed(`{"a":` + strings.Repeat("[", MaxJSONDepth-1)) {
		t.Fatal("nesting up to the limit refused")
	}
	if j.Depth() != MaxJSONDepth || j.Feed("[") {
		t.Errorf("depth %d; one more level accepted: %v", j.Depth(), j.Accepts("["))
	}
	if !j.Feed(strings.Repeat("]", MaxJSONDepth-1)+"}") || !j.Complete() {
		t.Error("closing the nesting failed")
	}

	w := JSON{MaxWhitespace: 3}
	if !w.Feed("   {  \"a\"   :   \"     \"   }") {
		t.Error("runs of 3 spaces refused")
	}
	w = JSON{MaxWhitespace: 3}
	if w.Feed("{\n    }") {
		t.Error("a run of 5 spaces accepted")
	}
}

// FuzzJSON checks the validator against encoding/json: a text the
// validator calls complete is valid JSON and an object; valid UTF-8 JSON
// whose top level is an object (within the depth limit) is complete;
// feeding in two pieces is the same as feeding at once; Closing completes
// every accepted prefix.
func FuzzJSON(f *testing.F) {
	f.Add([]byte(`{"a":[1,2.5e-3,true,false,null,"x\u00e9\n"],"b":{}}`), uint(5))
	f.Add([]byte(`{"a":01}`), uint(3))
	f.Add([]byte(` {"é":"𝄞"} `), uint(1))
	f.Add([]byte(`[1,2]`), uint(0))
	f.Add([]byte(`{"a":"\ud800"}`), uint(9))
	f.Fuzz(func(t *testing.T, data []byte, split uint) {
		var j JSON
		ok := j.Feed(string(data))
		complete := ok && j.Complete()
		valid := json.Valid(data)
		if complete && !valid {
			t.Fatalf("%q: complete, but encoding/json says invalid", data)
		}
		trimmed := strings.TrimLeft(string(data), " \t\r\n")
		if valid && utf8.Valid(data) && strings.HasPrefix(trimmed, "{") && nesting(data) <= MaxJSONDepth && !complete {
			t.Fatalf("%q: valid JSON object, validator says prefix=%v complete=%v", data, ok, complete)
		}
		if complete && !strings.HasPrefix(trimmed, "{") {
			t.Fatalf("%q: complete but not an object", data)
		}
		k := int(split % uint(len(data)+1))
		var p JSON
		two := p.Feed(string(data[:k])) && p.Feed(string(data[k:]))
		if two != ok || (ok && p != j) {
			t.Fatalf("%q split at %d: %v, at once %v", data, k, two, ok)
		}
		if ok {
			c := j.Closing()
			if len(c) != j.MinCloseLen() {
				t.Fatalf("%q: Closing %q, MinCloseLen %d", data, c, j.MinCloseLen())
			}
			if !j.Feed(c) || !j.Complete() || !json.Valid(append(append([]byte(nil), data...), c...)) {
				t.Fatalf("%q + Closing %q is not a complete object", data, c)
			}
		}
	})
}

// nesting returns the deepest nesting of brackets outside strings.
func nesting(data []byte) int {
	depth, deepest, inStr, esc := 0, 0, false, false
	for _, c := range data {
		switch {
		case inStr && esc:
			esc = false
		case inStr && c == '\\':
			esc = true
		case c == '"':
			inStr = !inStr
		case !inStr && (c == '{' || c == '['):
			depth++
			deepest = max(deepest, depth)
		case !inStr && (c == '}' || c == ']'):
			depth--
		}
	}
	return deepest
}
