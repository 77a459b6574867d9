package scan

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// tinyPickle is a protocol-2 pickle of an empty dict.
var tinyPickle = []byte("\x80\x02}q\x00.")

// zipOf builds a zip archive of the named members, in order.
func zipOf(t testing.TB, members ...[2]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, m := range members {
		w, err := zw.Create(m[0])
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte(m[1])); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// findingOf returns the first finding of a rule, or false.
func findingOf(r *FileResult, rule string) (Finding, bool) {
	for _, f := range r.Findings {
		if f.Rule == rule {
			return f, true
		}
	}
	return Finding{}, false
}

// TestFormatMismatch checks format-by-content against the name's claim.
// Pickle-family content is further examined by ScanPickleFamily, so only
// the mismatch finding itself is compared here.
func TestFormatMismatch(t *testing.T) {
	st := validSafetensors(t)
	gg := ggufFile(t, nil, map[string]int{"a": 8})
	anyZip := zipOf(t, [2]string{"notes.txt", "hello"})
	tests := []struct {
		name     string
		file     string
		data     []byte
		format   string
		claimed  string
		mismatch Safety // "" when no format.mismatch finding is expected
	}{
		{"pickle named safetensors", "model.safetensors", tinyPickle, "pickle", "safetensors", Dangerous},
		{"pickle named gguf", "model.gguf", tinyPickle, "pickle", "gguf", Dangerous},
		{"pickle named json", "config.json", tinyPickle, "pickle", "json", Dangerous},
		{"pickle named npy", "arr.npy", tinyPickle, "pickle", "numpy", Dangerous},
		{"zip named safetensors", "model.safetensors", anyZip, "zip", "safetensors", Dangerous},
		{"zip named txt", "notes.txt", anyZip, "zip", "text", Dangerous},
		{"pickle named bin", "pytorch_model.bin", tinyPickle, "pickle", "pytorch", ""},
		{"pickle named pkl", "model.pkl", tinyPickle, "pickle", "pickle", ""},
		{"pickle named joblib", "model.joblib", tinyPickle, "pickle", "joblib", ""},
		{"pickle without extension", "weights", tinyPickle, "pickle", "", ""},
		{"safetensors named bin", "pytorch_model.bin", st, "safetensors", "pytorch", ""},
		{"gguf named bin", "ggml-model.bin", gg, "gguf", "pytorch", ""},
		{"gguf named safetensors", "model.safetensors", gg, "gguf", "safetensors", Suspicious},
		{"safetensors named gguf", "model.gguf", st, "safetensors", "gguf", Suspicious},
		{"safetensors named pt", "model.pt", st, "safetensors", "pytorch", ""},
		{"text named onnx", "model.onnx", []byte("hello world\n"), "text", "onnx", Suspicious},
		{"zip named zip", "archive.zip", anyZip, "zip", "zip", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := scanBlob(t, tt.file, tt.data)
			if r.Format != tt.format || r.Claimed != tt.claimed {
				t.Errorf("format %q claimed %q, want %q and %q", r.Format, r.Claimed, tt.format, tt.claimed)
			}
			f, ok := findingOf(r, "format.mismatch")
			switch {
			case tt.mismatch == "" && ok:
				t.Errorf("unexpected mismatch finding %v", f)
			case tt.mismatch != "" && !ok:
				t.Errorf("no format.mismatch finding; findings %v", r.Findings)
			case ok && f.Severity != tt.mismatch:
				t.Errorf("mismatch severity %s, want %s", f.Severity, tt.mismatch)
			}
			if tt.mismatch != "" && Max(r.Verdict, tt.mismatch) != r.Verdict {
				t.Errorf("verdict %s below the mismatch's %s", r.Verdict, tt.mismatch)
			}
		})
	}
}

// TestFileKinds checks the verdicts of formats the driver judges itself.
func TestFileKinds(t *testing.T) {
	tests := []struct {
		name    string
		file    string
		data    []byte
		format  string
		rules   []string
		verdict Safety
	}{
		{"unknown binary", "weights.xyz", []byte("\x00\x01\x02\x03 not any format \xfe\xff"), "binary",
			[]string{"format.unrecognised:suspicious"}, Suspicious},
		{"png", "diagram.png", []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), "image", nil, Innocuous},
		{"readme", "README.md", []byte("---\nlicense: mit\n---\n# A model\n"), "model-card", nil, Innocuous},
		{"licence", "LICENSE", []byte("Permission is hereby granted, free of charge, to any person obtaining a copy\n"), "license", nil, Innocuous},
		{"plain config", "config.json", []byte(`{"architectures":["LlamaForCausalLM"],"model_type":"llama","hidden_size":8}`), "hf-config", nil, Innocuous},
		{"remote code config", "config.json", []byte(`{"model_type":"x","auto_map":{"AutoModel":"modeling_x.XModel","AutoConfig":"configuration_x.XConfig"}}`), "hf-config",
			[]string{"config.remote-code:suspicious"}, Suspicious},
		{"python", "modeling_x.py", []byte("import os\nos.system('id')\n"), "python",
			[]string{"code.python:suspicious"}, Suspicious},
		{"tokenizer config benign template", "tokenizer_config.json",
			[]byte(`{"bos_token":"<s>","chat_template":"{% for m in messages %}{{ m['content'] }}{% endfor %}"}`), "hf-tokenizer-config", nil, Innocuous},
		{"tokenizer config injection", "tokenizer_config.json",
			[]byte(`{"chat_template":"{{ cycler.__init__.__globals__.os.popen('id').read() }}"}`), "hf-tokenizer-config",
			[]string{"template.dunder:dangerous", "template.escape-global:suspicious", "template.python-internal:dangerous"}, Dangerous},
		{"named templates", "tokenizer_config.json",
			[]byte(`{"chat_template":[{"name":"default","template":"{{ x }}"},{"name":"rag","template":"{% include 'x' %}"}]}`), "hf-tokenizer-config",
			[]string{"template.import:dangerous", "template.unsupported:innocuous"}, Dangerous},
		{"chat_template.json", "chat_template.json", []byte(`{"chat_template":"{{ x|attr(k) }}"}`), "hf-tokenizer-config",
			[]string{"template.attr-filter:dangerous"}, Dangerous},
		{"jinja file", "chat_template.jinja", []byte("{{ x.__class__.__mro__ }}\n"), "text",
			[]string{"template.dunder:dangerous"}, Dangerous},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := scanBlob(t, tt.file, tt.data)
			if r.Format != tt.format {
				t.Errorf("format %q, want %q", r.Format, tt.format)
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

// TestContainerFormats checks that archives and compressed data filetype
// does not name reach ScanPickleFamily under the right format; what it
// finds inside is its own tests' business, but none of these may pass as
// innocuous.
func TestContainerFormats(t *testing.T) {
	evil := []byte("cos\nsystem\n(S'id'\ntR.") // protocol 0: os.system('id')
	var tarBuf bytes.Buffer
	tw := tar.NewWriter(&tarBuf)
	if err := tw.WriteHeader(&tar.Header{Name: "pickle", Mode: 0o644, Size: int64(len(evil))}); err != nil {
		t.Fatal(err)
	}
	if _, err := tw.Write(evil); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, file, format string
		data               []byte
	}{
		{"7z", "model.7z", "7z", []byte("7z\xbc\xaf\x27\x1c\x00\x04" + strings.Repeat("\x00", 24))},
		{"7z named pt", "model.pt", "7z", []byte("7z\xbc\xaf\x27\x1c\x00\x04" + strings.Repeat("\x00", 24))},
		{"tar", "checkpoint.tar", "tar", tarBuf.Bytes()},
		{"gzip", "blob.gz", "compressed", []byte("\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03")},
		{"gzip named joblib", "model.joblib", "joblib", []byte("\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := scanBlob(t, tt.file, tt.data)
			if r.Format != tt.format {
				t.Errorf("format %q, want %q", r.Format, tt.format)
			}
			if r.Verdict == Innocuous {
				t.Errorf("verdict innocuous; findings %v", r.Findings)
			}
		})
	}
}

func TestFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "model.safetensors")
	if err := os.WriteFile(p, tinyPickle, 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := File(context.Background(), p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if r.Path != "model.safetensors" || r.Size != int64(len(tinyPickle)) || r.Verdict != Dangerous {
		t.Errorf("File = path %q size %d verdict %s, want model.safetensors, %d, dangerous", r.Path, r.Size, r.Verdict, len(tinyPickle))
	}
	if _, err := File(context.Background(), filepath.Join(dir, "missing"), Options{}); err == nil {
		t.Error("File of a missing path: no error")
	}
	if _, err := File(context.Background(), dir, Options{}); err == nil {
		t.Error("File of a directory: no error")
	}
}

func TestBlobCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Blob(ctx, "a.gguf", bytes.NewReader(nil), 0, Options{}); err == nil {
		t.Error("Blob with a cancelled context: no error")
	}
}

func TestBlobPathCleaned(t *testing.T) {
	r := scanBlob(t, "sub/../../x/README.md", []byte("# hi\n"))
	if r.Path != "x/README.md" {
		t.Errorf("path %q, want x/README.md", r.Path)
	}
}

// TestJSONTooLarge checks that a config too large to check is a finding,
// not silently data: padding must not hide an auto_map.
func TestJSONTooLarge(t *testing.T) {
	defer func(old int64) { maxJSONCheck = old }(maxJSONCheck)
	maxJSONCheck = 64
	cfg := []byte(`{"model_type":"x","pad":"` + strings.Repeat("a", 100) + `","auto_map":{"AutoModel":"m.X"}}`)
	r, err := Blob(context.Background(), "config.json", bytes.NewReader(cfg), int64(len(cfg)), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if r.Verdict != Suspicious || len(r.Findings) == 0 || r.Findings[0].Rule != "json.too-large" {
		t.Errorf("oversized config: verdict %s, findings %+v", r.Verdict, r.Findings)
	}
}
