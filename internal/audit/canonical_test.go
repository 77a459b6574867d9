package audit

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"
)

func TestCanonicalData(t *testing.T) {
	type point struct {
		X int    `json:"x"`
		Y string `json:"y"`
	}
	loop := Data{}
	loop["self"] = map[string]any(loop)
	tests := []struct {
		name    string
		in      Data
		want    string
		wantErr string
	}{
		{name: "nil", in: nil, want: `{}`},
		{name: "empty", in: Data{}, want: `{}`},
		{name: "sorted keys", in: Data{"b": 1, "a": 2, "B": 3, "aa": 4}, want: `{"B":3,"a":2,"aa":4,"b":1}`},
		{name: "ints", in: Data{"i": int8(-8), "u": uint16(16), "max": int64(math.MaxInt64), "min": int64(math.MinInt64)},
			want: `{"i":-8,"max":9223372036854775807,"min":-9223372036854775808,"u":16}`},
		{name: "huge uint is a float", in: Data{"u": uint64(math.MaxUint64)}, want: `{"u":18446744073709552000}`},
		{name: "floats", in: Data{"a": 1.5, "b": 3.0, "c": 1e21, "d": 1e-7, "e": -0.0, "f": 0.000001, "g": float32(0.1)},
			want: `{"a":1.5,"b":3,"c":1e+21,"d":1e-7,"e":0,"f":0.000001,"g":0.10000000149011612}`},
		{name: "numbers as text", in: Data{"a": json.Number("1.0"), "b": json.Number("-0"), "c": json.Number("1E400000")},
			wantErr: "cannot be written as JSON"},
		{name: "numbers as text ok", in: Data{"a": json.Number("1.0"), "b": json.Number("-0"), "c": json.Number("12345678901234567890")},
			want: `{"a":1,"b":0,"c":12345678901234567000}`},
		{name: "bad number text", in: Data{"a": json.Number("0x10")}, wantErr: "not a JSON number"},
		{name: "NaN", in: Data{"a": math.NaN()}, wantErr: "cannot be written"},
		{name: "strings", in: Data{"s": "q\"b\\n\n\t\x01\x7f<&>é\u2028"}, want: `{"s":"q\"b\\n\n\t\u0001` + "\x7f<&>é\u2028" + `"}`},
		{name: "invalid utf-8", in: Data{"s": "a\xffb", "k\xfe": true}, want: `{"k` + "\uFFFD" + `":true,"s":"a` + "\uFFFD" + `b"}`},
		{name: "keys colliding once valid", in: Data{"k\xfe": 1, "k\xff": 2}, wantErr: "two keys"},
		{name: "nested", in: Data{"m": map[string]any{"z": nil, "a": []any{true, false, "x", 1}}, "l": []string{"p", "q"}, "ms": map[string]string{"b": "2", "a": "1"}},
			want: `{"l":["p","q"],"m":{"a":[true,false,"x",1],"z":null},"ms":{"a":"1","b":"2"}}`},
		{name: "struct via encoding/json", in: Data{"p": point{X: 1, Y: "y"}}, want: `{"p":{"x":1,"y":"y"}}`},
		{name: "raw json", in: Data{"r": json.RawMessage(` { "b" : 1.50 , "a" : [ ] } `)}, want: `{"r":{"a":[],"b":1.5}}`},
		{name: "bad raw json", in: Data{"r": json.RawMessage(`{`)}, wantErr: "not valid JSON"},
		{name: "time", in: Data{"t": time.Date(2025, 1, 2, 3, 4, 5, 6, time.UTC)}, want: `{"t":"2025-01-02T03:04:05.000000006Z"}`},
		{name: "cycle", in: loop, wantErr: "deeper than"},
		{name: "unencodable", in: Data{"c": make(chan int)}, wantErr: "unsupported type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := canonicalData(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("canonicalData = %q, %v; want error containing %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("canonicalData =\n%s\nwant\n%s", got, tt.want)
			}
			// Decoding and encoding again gives the same bytes.
			d, err := parseData(got)
			if err != nil {
				t.Fatal(err)
			}
			again, err := canonicalData(d)
			if err != nil {
				t.Fatal(err)
			}
			if string(again) != string(got) {
				t.Errorf("not a fixpoint: %s became %s", got, again)
			}
		})
	}
}

func TestParseData(t *testing.T) {
	tests := []struct {
		in      string
		wantErr bool
		wantNil bool
	}{
		{in: `{}`, wantNil: true},
		{in: `{"a":1}`},
		{in: `[1]`, wantErr: true},
		{in: `{"a":1} {}`, wantErr: true},
		{in: `{"a":`, wantErr: true},
		{in: ``, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			d, err := parseData([]byte(tt.in))
			if (err != nil) != tt.wantErr {
				t.Fatalf("parseData(%q) error = %v, want error %v", tt.in, err, tt.wantErr)
			}
			if err == nil && (d == nil) != tt.wantNil {
				t.Errorf("parseData(%q) = %v, want nil %v", tt.in, d, tt.wantNil)
			}
		})
	}
}

func TestInferenceData(t *testing.T) {
	in := Inference{
		KeyID: "k1", Tenant: "acme", Model: "m", Backend: "local", Endpoint: "/v1/chat/completions",
		TokensIn: 12, TokensOut: 34, Latency: 1234567 * time.Nanosecond, Status: 200,
		Decision: DecisionAllowed, RequestID: "r1",
	}
	got, err := canonicalData(in.Data())
	if err != nil {
		t.Fatal(err)
	}
	want := `{"backend":"local","decision":"allowed","endpoint":"/v1/chat/completions","key_id":"k1",` +
		`"latency_ms":1.234,"model":"m","request_id":"r1","status":200,"tenant":"acme","tokens_in":12,"tokens_out":34}`
	if string(got) != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	in.Decision = Denied("rate_limit")
	in.Content = map[string]string{"prompt": "hi"}
	got, err = canonicalData(in.Data())
	if err != nil {
		t.Fatal(err)
	}
	for _, sub := range []string{`"content":{"prompt":"hi"}`, `"decision":"denied:rate_limit"`} {
		if !strings.Contains(string(got), sub) {
			t.Errorf("%s lacks %s", got, sub)
		}
	}
}
