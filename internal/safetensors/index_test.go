package safetensors

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseIndex(t *testing.T) {
	in := `{
  "metadata": {"total_size": 16060522496, "format": "pt"},
  "weight_map": {
    "lm_head.weight": "model-00002-of-00002.safetensors",
    "model.embed_tokens.weight": "model-00001-of-00002.safetensors",
    "model.norm.weight": "model-00002-of-00002.safetensors"
  },
  "extra": [1, {"x": null}]
}`
	ix, err := ParseIndex([]byte(in))
	if err != nil {
		t.Fatalf("ParseIndex() error = %v", err)
	}
	wantShards := []string{"model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"}
	if diff := cmp.Diff(wantShards, ix.Shards()); diff != "" {
		t.Errorf("Shards() mismatch (-want +got):\n%s", diff)
	}
	if got, want := len(ix.WeightMap), 3; got != want {
		t.Errorf("len(WeightMap) = %d, want %d", got, want)
	}
	if got, want := ix.WeightMap["model.norm.weight"], "model-00002-of-00002.safetensors"; got != want {
		t.Errorf("WeightMap[norm] = %q, want %q", got, want)
	}
	total, ok := ix.TotalSize()
	if !ok || total != 16060522496 {
		t.Errorf("TotalSize() = %d, %t; want 16060522496, true", total, ok)
	}
	if got := ix.Metadata["format"]; got != "pt" {
		t.Errorf("Metadata[format] = %v, want pt", got)
	}
}

func TestParseIndexTotalSize(t *testing.T) {
	tests := []struct {
		meta   string
		want   uint64
		wantOK bool
	}{
		{`{"total_size": 42}`, 42, true},
		{`{"total_size": 4.2e1}`, 0, false},
		{`{"total_size": "42"}`, 0, false},
		{`{"total_size": -1}`, 0, false},
		{`{}`, 0, false},
		{`null`, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.meta, func(t *testing.T) {
			ix, err := ParseIndex([]byte(`{"metadata":` + tt.meta + `,"weight_map":{"w":"a.safetensors"}}`))
			if err != nil {
				t.Fatalf("ParseIndex() error = %v", err)
			}
			got, ok := ix.TotalSize()
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("TotalSize() = %d, %t; want %d, %t", got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestParseIndexHostile(t *testing.T) {
	wm := func(shard string) string {
		return `{"metadata":{},"weight_map":{"w":"` + shard + `"}}`
	}
	tests := []struct {
		name    string
		in      string
		wantErr []string
	}{
		{"empty input", ``, []string{"malformed JSON"}},
		{"not an object", `[]`, []string{"index must start with"}},
		{"missing weight_map", `{"metadata":{}}`, []string{"no weight_map entries"}},
		{"empty weight_map", `{"metadata":{},"weight_map":{}}`, []string{"no weight_map entries"}},
		{"weight_map not object", `{"weight_map":["a"]}`, []string{"weight_map must start with"}},
		{"parent traversal", wm(`../../etc/passwd`), []string{`tensor "w"`, "directory part"}},
		{"dot dot", wm(`..`), []string{"not a file name"}},
		{"dot", wm(`.`), []string{"not a file name"}},
		{"absolute", wm(`/etc/passwd`), []string{"directory part"}},
		{"subdirectory", wm(`sub/model.safetensors`), []string{"directory part"}},
		{"backslash", wm(`..\\model.safetensors`), []string{"backslash"}},
		{"windows absolute", wm(`C:model.safetensors`), []string{"drive letter"}},
		{"empty name", wm(``), []string{"empty"}},
		{"control character", wm(`a\nb.safetensors`), []string{"control character"}},
		{"NUL", wm(`a\u0000b`), []string{"control character"}},
		{"too long", wm(strings.Repeat("a", 256)), []string{"longer than 255"}},
		{"shard not string", `{"weight_map":{"w":1}}`, []string{"must be a shard file name", "number 1"}},
		{"duplicate tensor", `{"weight_map":{"w":"a","w":"b"}}`, []string{`tensor "w"`, "more than once"}},
		{"duplicate weight_map", `{"weight_map":{"w":"a"},"weight_map":{"v":"../b"}}`, []string{`"weight_map" appears more than once`}},
		{"metadata not object", `{"metadata":[1],"weight_map":{"w":"a"}}`, []string{"metadata must be an object"}},
		{"trailing data", `{"weight_map":{"w":"a"}} {}`, []string{"after the index object"}},
		{"invalid UTF-8", "{\"weight_map\":{\"w\":\"a\xff\"}}", []string{"UTF-8"}},
		{"too large", `{"weight_map":{"w":"a"}}` + strings.Repeat(" ", MaxIndexSize), []string{"over the"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ix, err := ParseIndex([]byte(tt.in))
			if err == nil {
				t.Fatalf("ParseIndex() = %+v, want error", ix)
			}
			var fe *FormatError
			if !errors.As(err, &fe) {
				t.Errorf("ParseIndex() error %v (%T) is not a *FormatError", err, err)
			}
			for _, want := range tt.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("ParseIndex() error = %q, want it to mention %q", err, want)
				}
			}
		})
	}
}
