package upstream

import (
	"bytes"
	"encoding/json"
	"maps"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

func TestLookup(t *testing.T) {
	tests := []struct {
		obj, name, want string
	}{
		{`{"a":1,"b":"x"}`, "b", `"x"`},
		{` { "a" : [1,{"b":2}] , "b" : {"c":"}"} } `, "b", `{"c":"}"}`},
		{`{"a":1,"a":2}`, "a", `2`},
		{`{"u\u0073age":null}`, "usage", `null`},
		{`{"a":"\"b\":1"}`, "b", ``},
		{`{}`, "a", ``},
		{`[1]`, "a", ``},
		{`{"a":1`, "a", ``},
		{`{"a" 1}`, "a", ``},
		{``, "a", ``},
	}
	for _, tt := range tests {
		t.Run(tt.obj, func(t *testing.T) {
			if got := string(lookup([]byte(tt.obj), tt.name)); got != tt.want {
				t.Errorf("lookup(%s, %q) = %q, want %q", tt.obj, tt.name, got, tt.want)
			}
		})
	}
}

func TestWithWithout(t *testing.T) {
	tests := []struct {
		obj, name, val   string
		without, withVal string
	}{
		{`{"a":1,"usage":null,"b":2}`, "usage", `{"x":1}`, `{"a":1,"b":2}`, `{"usage":{"x":1},"a":1,"b":2}`},
		{`{"usage":null}`, "usage", `1`, `{}`, `{"usage":1}`},
		{`{"a":1}`, "usage", `1`, `{"a":1}`, `{"usage":1,"a":1}`},
		{`{}`, "a", `true`, `{}`, `{"a":true}`},
		{`{ "a" : 1 , "a":2, "b" : [ 1 ] }`, "a", `3`, `{"b" : [ 1 ]}`, `{"a":3,"b" : [ 1 ]}`},
	}
	for _, tt := range tests {
		t.Run(tt.obj, func(t *testing.T) {
			if got := string(without([]byte(tt.obj), tt.name)); got != tt.without {
				t.Errorf("without = %s, want %s", got, tt.without)
			}
			got, ok := with([]byte(tt.obj), tt.name, []byte(tt.val))
			if !ok || string(got) != tt.withVal {
				t.Errorf("with = %s, %v; want %s", got, ok, tt.withVal)
			}
		})
	}
	if _, ok := with([]byte(`[]`), "a", []byte("1")); ok {
		t.Errorf("with on an array succeeded")
	}
}

func TestIsEmptyArray(t *testing.T) {
	for v, want := range map[string]bool{`[]`: true, "[ \n]": true, `[1]`: false, `null`: false, ``: false, `{}`: false} {
		if got := isEmptyArray([]byte(v)); got != want {
			t.Errorf("isEmptyArray(%q) = %v, want %v", v, got, want)
		}
	}
}

// FuzzObjectEdit checks the member editing against encoding/json: on any
// valid object, lookup finds what Unmarshal keeps, and without and with
// produce valid objects holding exactly the expected members.
func FuzzObjectEdit(f *testing.F) {
	for _, s := range []string{
		`{"a":1,"usage":null}`,
		`{"id":"x","choices":[{"delta":{"content":"}\"{"}}],"usage":{"prompt_tokens":1}}`,
		` {"usage" : [ ] , "u\u0073age":{} } `,
		`{"\ud800":1,"usage":"\u00e9"}`,
		`{"a":{"b":[1,2,{"c":"]"}]},"b":-1.5e3,"c":true,"d":false}`,
		`{"usage":1`,
		`[{"usage":1}]`,
	} {
		f.Add([]byte(s), "usage")
	}
	f.Fuzz(func(t *testing.T, obj []byte, name string) {
		if !utf8.ValidString(name) {
			return // callers edit fixed ASCII names; JSON cannot spell others exactly
		}
		got := lookup(obj, name)
		wo := without(obj, name)
		wi, wok := with(obj, name, []byte(`{"set":true}`))
		var m map[string]json.RawMessage
		if json.Unmarshal(obj, &m) != nil || m == nil {
			return // not a valid object: only the absence of panics counts
		}
		if !wok {
			t.Fatalf("with failed on valid object %q", obj)
		}
		if want, ok := m[name]; ok != (got != nil) || ok && !bytes.Equal(compact(t, got), compact(t, want)) {
			t.Errorf("lookup(%q, %q) = %q, want %q (present %v)", obj, name, got, want, ok)
		}
		delete(m, name)
		checkMembers(t, wo, m)
		m[name] = json.RawMessage(`{"set":true}`)
		checkMembers(t, wi, m)
	})
}

func checkMembers(t *testing.T, obj []byte, want map[string]json.RawMessage) {
	t.Helper()
	var got map[string]json.RawMessage
	if err := json.Unmarshal(obj, &got); err != nil {
		t.Fatalf("edited object %q is invalid: %v", obj, err)
	}
	norm := func(m map[string]json.RawMessage) map[string]string {
		out := make(map[string]string, len(m))
		for k, v := range maps.All(m) {
			out[k] = string(compact(t, v))
		}
		return out
	}
	if diff := cmp.Diff(norm(want), norm(got)); diff != "" {
		t.Errorf("edited object %q (-want +got):\n%s", obj, diff)
	}
}

func compact(t *testing.T, v []byte) []byte {
	var b bytes.Buffer
	if err := json.Compact(&b, v); err != nil {
		t.Fatalf("compact %q: %v", v, err)
	}
	return b.Bytes()
}
