package scan

import (
	"bytes"
	"context"
	"encoding/binary"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"sov.dev/sov/internal/safetensors"
)

// rawSafetensors assembles a safetensors file from a header written by
// hand (so that tests can repeat keys or break the JSON) and data bytes.
func rawSafetensors(header string, data []byte) []byte {
	b := make([]byte, 8, 8+len(header)+len(data))
	binary.LittleEndian.PutUint64(b, uint64(len(header)))
	return append(append(b, header...), data...)
}

// validSafetensors writes a well-formed file with safetensors.Write.
func validSafetensors(t testing.TB) []byte {
	t.Helper()
	var buf bytes.Buffer
	err := safetensors.Write(&buf, []safetensors.Tensor{
		{Name: "w", DType: safetensors.F32, Shape: []uint64{2, 2}, Data: make([]byte, 16)},
		{Name: "b", DType: safetensors.F16, Shape: []uint64{2}, Data: make([]byte, 4)},
	}, map[string]string{"format": "pt"})
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// scanBlob scans data as a file of the given name.
func scanBlob(t testing.TB, name string, data []byte) *FileResult {
	t.Helper()
	r, err := Blob(context.Background(), name, bytes.NewReader(data), int64(len(data)), Options{})
	if err != nil {
		t.Fatalf("Blob(%s): %v", name, err)
	}
	return r
}

// ruleSet lists the distinct rules of findings, sorted, with severities.
func ruleSet(fs []Finding) []string {
	seen := map[string]bool{}
	var out []string
	for _, f := range fs {
		k := f.Rule + ":" + string(f.Severity)
		if !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

func TestSafetensorsChecks(t *testing.T) {
	f32x4 := `"dtype":"F32","shape":[4],"data_offsets"`
	tests := []struct {
		name    string
		data    []byte
		rules   []string
		verdict Safety
		format  string // "" means safetensors
	}{
		{"valid", validSafetensors(t), nil, Innocuous, ""},
		{"empty header", rawSafetensors("{}", nil), nil, Innocuous, ""},
		{"padded header", rawSafetensors(`{"a":{`+f32x4+`:[0,16]}}    `, make([]byte, 16)), nil, Innocuous, ""},
		{"duplicate tensor key", rawSafetensors(`{"a":{`+f32x4+`:[0,16]},"a":{`+f32x4+`:[16,32]}}`, make([]byte, 32)),
			[]string{"safetensors.duplicate-key:suspicious"}, Suspicious, ""},
		{"duplicate metadata key", rawSafetensors(`{"__metadata__":{"x":"1","x":"2"}}`, nil),
			[]string{"safetensors.duplicate-key:suspicious"}, Suspicious, ""},
		{"duplicate field", rawSafetensors(`{"a":{"dtype":"F32","dtype":"F16","shape":[4],"data_offsets":[0,16]}}`, make([]byte, 16)),
			[]string{"safetensors.duplicate-key:suspicious", "safetensors.size-mismatch:suspicious"}, Suspicious, ""},
		{"overlap", rawSafetensors(`{"a":{`+f32x4+`:[0,16]},"b":{`+f32x4+`:[8,24]}}`, make([]byte, 24)),
			[]string{"safetensors.overlap:suspicious"}, Suspicious, ""},
		{"gap between", rawSafetensors(`{"a":{`+f32x4+`:[0,16]},"b":{`+f32x4+`:[32,48]}}`, make([]byte, 48)),
			[]string{"safetensors.gap:suspicious"}, Suspicious, ""},
		{"hidden tail", rawSafetensors(`{"a":{`+f32x4+`:[0,16]}}`, append(make([]byte, 16), "payload"...)),
			[]string{"safetensors.gap:suspicious"}, Suspicious, ""},
		{"gap before first", rawSafetensors(`{"a":{`+f32x4+`:[8,24]}}`, make([]byte, 24)),
			[]string{"safetensors.gap:suspicious"}, Suspicious, ""},
		{"out of range", rawSafetensors(`{"a":{`+f32x4+`:[0,16]},"b":{`+f32x4+`:[16,4096]}}`, make([]byte, 16)),
			[]string{"safetensors.out-of-range:dangerous"}, Dangerous, ""},
		{"reversed offsets", rawSafetensors(`{"a":{`+f32x4+`:[16,0]}}`, make([]byte, 16)),
			[]string{"safetensors.gap:suspicious", "safetensors.out-of-range:dangerous"}, Dangerous, ""},
		{"size mismatch", rawSafetensors(`{"a":{"dtype":"F32","shape":[5],"data_offsets":[0,16]}}`, make([]byte, 16)),
			[]string{"safetensors.size-mismatch:suspicious"}, Suspicious, ""},
		{"non-string metadata", rawSafetensors(`{"__metadata__":{"epochs":3,"nested":{"a":"b"}}}`, nil),
			[]string{"safetensors.metadata-type:suspicious"}, Suspicious, ""},
		{"metadata not object", rawSafetensors(`{"__metadata__":["a"]}`, nil),
			[]string{"safetensors.metadata-type:suspicious"}, Suspicious, ""},
		{"huge header", append(binary.LittleEndian.AppendUint64(nil, 200_000_000), `{"a":{"dtype":"F32"`...),
			[]string{"format.mismatch:suspicious", "safetensors.header-too-large:suspicious"}, Suspicious, "binary"},
		{"trailing garbage", rawSafetensors(`{"a":{`+f32x4+`:[0,16]}}xx`, make([]byte, 16)),
			[]string{"safetensors.trailing-data:suspicious"}, Suspicious, ""},
		{"unknown dtype", rawSafetensors(`{"a":{"dtype":"Q4","shape":[4],"data_offsets":[0,16]}}`, make([]byte, 16)),
			[]string{"safetensors.tensor-entry:suspicious"}, Suspicious, ""},
		{"missing shape", rawSafetensors(`{"a":{"dtype":"F32","data_offsets":[0,16]}}`, make([]byte, 16)),
			[]string{"safetensors.tensor-entry:suspicious"}, Suspicious, ""},
		{"negative dim", rawSafetensors(`{"a":{"dtype":"F32","shape":[-4],"data_offsets":[0,16]}}`, make([]byte, 16)),
			[]string{"safetensors.tensor-entry:suspicious"}, Suspicious, ""},
		{"malformed json", rawSafetensors(`{"a":{"dtype":"F32",}}`, nil),
			[]string{"safetensors.malformed:suspicious"}, Suspicious, ""},
		{"non-utf8", rawSafetensors("{\"\xff\":{}}", nil),
			[]string{"format.mismatch:suspicious", "safetensors.malformed:suspicious"}, Suspicious, "binary"},
		{"overflowing shape", rawSafetensors(`{"a":{"dtype":"F32","shape":[18446744073709551615,2],"data_offsets":[0,16]}}`, make([]byte, 16)),
			[]string{"safetensors.size-mismatch:suspicious"}, Suspicious, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := scanBlob(t, "model.safetensors", tt.data)
			wantFormat := tt.format
			if wantFormat == "" {
				wantFormat = "safetensors"
			}
			if r.Format != wantFormat {
				t.Fatalf("format %q, want %s", r.Format, wantFormat)
			}
			if diff := cmp.Diff(tt.rules, ruleSet(r.Findings)); diff != "" {
				t.Errorf("rules (-want +got):\n%s\nfindings: %v", diff, r.Findings)
			}
			if r.Verdict != tt.verdict {
				t.Errorf("verdict %s, want %s", r.Verdict, tt.verdict)
			}
		})
	}
}

// TestSafetensorsNotObject reaches the checks directly: filetype does not
// call a header that is not an object safetensors, so Blob never would.
func TestSafetensorsNotObject(t *testing.T) {
	for _, hdr := range []string{`[1,2]`, `"x"`, ` 5`} {
		data := rawSafetensors(hdr, nil)
		r := &FileResult{Findings: []Finding{}, Verdict: Innocuous}
		if err := checkSafetensors(bytes.NewReader(data), int64(len(data)), r); err != nil {
			t.Fatal(err)
		}
		if got := ruleSet(r.Findings); len(got) != 1 || !strings.HasPrefix(got[0], "safetensors.not-object") {
			t.Errorf("header %s: rules %v, want safetensors.not-object", hdr, got)
		}
	}
}

func TestSafetensorsTruncated(t *testing.T) {
	data := validSafetensors(t)
	for _, n := range []int{0, 5, 20} {
		r := &FileResult{Findings: []Finding{}, Verdict: Innocuous}
		if err := checkSafetensors(bytes.NewReader(data[:n]), int64(n), r); err != nil {
			t.Fatal(err)
		}
		if got := ruleSet(r.Findings); len(got) != 1 || got[0] != "safetensors.truncated:suspicious" {
			t.Errorf("%d bytes: rules %v, want safetensors.truncated", n, got)
		}
	}
}

func TestSafetensorsFindingsCapped(t *testing.T) {
	var h strings.Builder
	h.WriteString("{")
	for i := range 100 {
		if i > 0 {
			h.WriteString(",")
		}
		h.WriteString(`"__metadata__":null`)
	}
	h.WriteString("}")
	r := scanBlob(t, "m.safetensors", rawSafetensors(h.String(), nil))
	if len(r.Findings) != maxFindingsPerRule+1 {
		t.Errorf("%d findings, want %d (capped, plus a summary)", len(r.Findings), maxFindingsPerRule+1)
	}
}
