package jinja

import (
	"encoding/json"
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestFormatFloat(t *testing.T) {
	// Expected values are Python's repr().
	tests := []struct {
		f    float64
		want string
	}{
		{0, "0.0"}, {math.Copysign(0, -1), "-0.0"}, {1, "1.0"}, {0.1, "0.1"}, {1.0 / 3, "0.3333333333333333"},
		{1e16, "1e+16"}, {1e15, "1000000000000000.0"}, {123456789012345678, "1.2345678901234568e+17"},
		{1e22, "1e+22"}, {1e-4, "0.0001"}, {1e-5, "1e-05"}, {1.5e-7, "1.5e-07"}, {2.5, "2.5"}, {100, "100.0"},
		{math.Inf(1), "inf"}, {math.Inf(-1), "-inf"}, {math.NaN(), "nan"}, {-1e-320, "-1e-320"}, {5e-324, "5e-324"},
		{math.MaxFloat64, "1.7976931348623157e+308"}, {12345.678, "12345.678"}, {-2.5e16, "-2.5e+16"},
	}
	for _, tt := range tests {
		if got := formatFloat(tt.f); got != tt.want {
			t.Errorf("formatFloat(%v) = %q, want %q", tt.f, got, tt.want)
		}
	}
}

func TestPyRepr(t *testing.T) {
	// Expected values are Python's repr() of a str.
	tests := []struct{ in, want string }{
		{"", "''"},
		{"abc", "'abc'"},
		{"it's", `"it's"`},
		{`say "hi"`, `'say "hi"'`},
		{`it's "x"`, `'it\'s "x"'`},
		{"a\nb\tc\r\\", `'a\nb\tc\r\\'`},
		{"\x00\x1f\x7f", `'\x00\x1f\x7f'`},
		{"é日本😀", "'é日本😀'"},
		{"\u00a0\u2028\u200b", `'\xa0\u2028\u200b'`},
	}
	for _, tt := range tests {
		if got := pyRepr(tt.in); got != tt.want {
			t.Errorf("pyRepr(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestFromGo(t *testing.T) {
	v, err := FromGo(map[string]any{
		"s": "x", "i": 3, "u": uint64(math.MaxUint64), "f": 1.5, "b": true, "n": nil,
		"l": []any{1, "a"}, "ss": []string{"p"}, "m": map[string]string{"k": "v"},
		"raw": json.RawMessage(`{"z": 1, "a": 2}`), "num": json.Number("7"),
	})
	if err != nil {
		t.Fatal(err)
	}
	got := ToString(v)
	want := "{'b': True, 'f': 1.5, 'i': 3, 'l': [1, 'a'], 'm': {'k': 'v'}, 'n': None, 'num': 7, " +
		"'raw': {'z': 1, 'a': 2}, 's': 'x', 'ss': ['p'], 'u': 1.8446744073709552e+19}"
	if got != want {
		t.Errorf("FromGo = %s\nwant %s", got, want)
	}
	if _, err := FromGo(struct{}{}); err == nil {
		t.Error("FromGo(struct{}{}) succeeded")
	}
}

func TestFromJSON(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{`{"z": 1, "a": [1.0, 2, 1e2, -0, "é", null, true, {}]}`, `{'z': 1, 'a': [1.0, 2, 100.0, 0, 'é', None, True, {}]}`},
		{`"plain"`, "plain"},
		{`123456789012345678901234567890`, "1.2345678901234568e+29"},
	}
	for _, tt := range tests {
		v, err := FromJSON([]byte(tt.in))
		if err != nil {
			t.Fatalf("FromJSON(%s): %v", tt.in, err)
		}
		if got := ToString(v); got != tt.want {
			t.Errorf("FromJSON(%s) = %s, want %s", tt.in, got, tt.want)
		}
	}
	for _, bad := range []string{`{`, `{"a": 1} x`, ``, `[1,]`} {
		if _, err := FromJSON([]byte(bad)); err == nil {
			t.Errorf("FromJSON(%q) succeeded", bad)
		}
	}
}

func TestToGo(t *testing.T) {
	v, err := FromJSON([]byte(`{"a": [1, 2.5, "s", null, true], "b": {"c": {}}}`))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"a": []any{int64(1), 2.5, "s", nil, true}, "b": map[string]any{"c": map[string]any{}}}
	if diff := cmp.Diff(want, ToGo(v)); diff != "" {
		t.Errorf("ToGo (-want +got):\n%s", diff)
	}
	if got := ToGo(Undefined{}); got != nil {
		t.Errorf("ToGo(undefined) = %v, want nil", got)
	}
}

func TestDict(t *testing.T) {
	d := NewDict()
	d.Set("b", Int(1))
	d.Set("a", Int(2))
	d.Set("b", Int(3))
	if d.Len() != 2 {
		t.Fatalf("Len = %d, want 2", d.Len())
	}
	if v, ok := d.Get("b"); !ok || v != Int(3) {
		t.Errorf("Get(b) = %v, %v; want 3, true", v, ok)
	}
	if diff := cmp.Diff([]Value{String("b"), String("a")}, d.Keys()); diff != "" {
		t.Errorf("Keys (-want +got):\n%s", diff)
	}
	// Python makes 1, 1.0 and True one key.
	if err := d.setKey(Int(1), String("int")); err != nil {
		t.Fatal(err)
	}
	if err := d.setKey(Bool(true), String("bool")); err != nil {
		t.Fatal(err)
	}
	if v, ok := d.lookup(Float(1)); !ok || v != String("bool") {
		t.Errorf("lookup(1.0) = %v, %v; want bool, true", v, ok)
	}
	if err := d.setKey(NewList(), Int(0)); err == nil {
		t.Error("a list key was accepted")
	}
	if err := d.setKey(NewTuple(Int(1), String("x")), Int(0)); err != nil {
		t.Errorf("a tuple key was refused: %v", err)
	}
}
