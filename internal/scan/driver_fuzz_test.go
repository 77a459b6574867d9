package scan

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"sov.dev/sov/internal/safetensors"
)

// checkFindings fails on findings outside the rule family or over the
// per-rule cap.
func checkFindings(t *testing.T, fs []Finding, families ...string) {
	t.Helper()
	per := map[string]int{}
	for _, f := range fs {
		ok := false
		for _, fam := range families {
			ok = ok || strings.HasPrefix(f.Rule, fam+".")
		}
		if !ok {
			t.Errorf("finding of unexpected rule %q", f.Rule)
		}
		switch f.Severity {
		case Innocuous, Suspicious, Dangerous:
		default:
			t.Errorf("finding %s has severity %q", f.Rule, f.Severity)
		}
		per[f.Rule]++
		if per[f.Rule] > maxFindingsPerRule+1 {
			t.Errorf("more than %d findings of %s", maxFindingsPerRule+1, f.Rule)
		}
	}
}

func FuzzTemplate(f *testing.F) {
	for _, src := range benignTemplates {
		f.Add(src)
	}
	f.Add(`{{ x|attr('__cl' ~ 'ass__') }}{% raw %}{{ y }}{% endraw %}`)
	f.Fuzz(func(t *testing.T, src string) {
		got := CheckTemplate("t", src)
		checkFindings(t, got, "template")
		if again := CheckTemplate("t", src); !cmp.Equal(got, again) {
			t.Errorf("CheckTemplate is not deterministic:\n%v\n%v", got, again)
		}
	})
}

func FuzzONNX(f *testing.F) {
	f.Add(encModel(pbBytes(5, encTensor("w", [2]string{"location", "../w.bin"}))))
	f.Add(encModel(pbBytes(5, encTensor("w", [2]string{"location", "w.bin"}, [2]string{"offset", "4"}))))
	f.Fuzz(func(t *testing.T, data []byte) {
		res := &FileResult{Findings: []Finding{}, Verdict: Innocuous}
		env := &scanEnv{sibling: func(p string) (int64, bool) { return 16, p == "w.bin" }}
		if err := checkONNX(bytes.NewReader(data), int64(len(data)), "model.onnx", env, res); err != nil {
			t.Fatalf("checkONNX on in-memory bytes: %v", err)
		}
		checkFindings(t, res.Findings, "onnx")
	})
}

func FuzzSafetensorsCheck(f *testing.F) {
	f.Add(validSafetensors(f))
	f.Add(rawSafetensors(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{}}`, make([]byte, 8)))
	f.Fuzz(func(t *testing.T, data []byte) {
		res := &FileResult{Findings: []Finding{}, Verdict: Innocuous}
		if err := checkSafetensors(bytes.NewReader(data), int64(len(data)), res); err != nil {
			t.Fatalf("checkSafetensors on in-memory bytes: %v", err)
		}
		checkFindings(t, res.Findings, "safetensors")
		// The checks are at least as strict as the reference parser, and
		// a file they pass, it accepts.
		_, perr := safetensors.Parse(bytes.NewReader(data), int64(len(data)))
		if clean := len(res.Findings) == 0; clean != (perr == nil) {
			t.Errorf("checks clean=%v but safetensors.Parse error %v; findings %v", clean, perr, res.Findings)
		}
	})
}

// FuzzBlob runs the whole driver, content detection and every check, on
// arbitrary bytes under names that claim each format.
func FuzzBlob(f *testing.F) {
	f.Add("model.gguf", ggufFile(f, [][2]string{{"tokenizer.chat_template", "{{ x }}"}}, map[string]int{"a": 8}))
	f.Add("model.safetensors", validSafetensors(f))
	f.Add("model.keras", kerasArchive(f, kerasModel(kerasDense)))
	f.Add("tokenizer_config.json", []byte(`{"chat_template": "{{ x }}", "auto_map": {"AutoTokenizer": ["t.T", null]}}`))
	f.Add("model.h5", []byte("\x89HDF\r\n\x1a\n{\"class_name\": \"Lambda\"}"))
	f.Fuzz(func(t *testing.T, name string, data []byte) {
		r, err := Blob(context.Background(), name, bytes.NewReader(data), int64(len(data)), Options{})
		if err != nil {
			t.Fatalf("Blob on in-memory bytes: %v", err)
		}
		worst := Innocuous
		for _, fd := range r.Findings {
			worst = Max(worst, fd.Severity)
		}
		if worst.Rank() > r.Verdict.Rank() {
			t.Errorf("verdict %s below its worst finding %s", r.Verdict, worst)
		}
	})
}
