package scan

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// writeTree writes files (slash paths relative to dir) into dir.
func writeTree(t testing.TB, dir string, files map[string][]byte) {
	t.Helper()
	for name, data := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// cleanModel is a small GGUF model directory as people publish them.
func cleanModel(t testing.TB) map[string][]byte {
	return map[string][]byte{
		"model.gguf":            ggufFile(t, [][2]string{{"tokenizer.chat_template", benignTemplates["llama3-tools"]}}, map[string]int{"token_embd.weight": 64}),
		"config.json":           []byte(`{"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 64}`),
		"tokenizer.json":        []byte(`{"version": "1.0", "added_tokens": [], "model": {"type": "BPE", "vocab": {"a": 0, "b": 1}, "merges": ["a b"]}}`),
		"tokenizer_config.json": []byte(`{"bos_token": "<s>", "chat_template": ` + mustJSON(t, benignTemplates["qwen2.5-tools"]) + `}`),
		"README.md":             []byte("---\nlicense: apache-2.0\nbase_model: x/y\n---\n# Tiny model\n\nA test model.\n"),
		"LICENSE":               []byte("Apache License\nVersion 2.0, January 2004\nhttp://www.apache.org/licenses/\n"),
		".gitattributes":        []byte("*.gguf filter=lfs diff=lfs merge=lfs -text\n"),
	}
}

func mustJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestDirClean(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, cleanModel(t))
	// .git holds objects that would otherwise be unrecognised binary.
	writeTree(t, dir, map[string][]byte{".git/objects/ab/cdef": []byte("\x78\x01garbage\x00\x01")})
	rep, err := Dir(context.Background(), dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range rep.Files {
		if f.Verdict != Innocuous || len(f.Findings) != 0 {
			t.Errorf("%s (%s): verdict %s, findings %v", f.Path, f.Format, f.Verdict, f.Findings)
		}
	}
	if rep.Verdict != Innocuous || rep.ExitCode() != 0 {
		t.Errorf("verdict %s exit %d, want innocuous 0", rep.Verdict, rep.ExitCode())
	}
	var paths []string
	for _, f := range rep.Files {
		paths = append(paths, f.Path)
	}
	want := []string{".gitattributes", "LICENSE", "README.md", "config.json", "model.gguf", "tokenizer.json", "tokenizer_config.json"}
	if diff := cmp.Diff(want, paths); diff != "" {
		t.Errorf("paths (-want +got):\n%s", diff)
	}
	wantCounts := Counts{Files: 7, Innocuous: 7}
	if rep.Counts != wantCounts {
		t.Errorf("counts %+v, want %+v", rep.Counts, wantCounts)
	}
}

func TestDirVerdictsAndExitCodes(t *testing.T) {
	tests := []struct {
		name  string
		extra map[string][]byte
		want  Safety
		exit  int
	}{
		{"clean", nil, Innocuous, 0},
		{"unknown binary", map[string][]byte{"blob.bin2": []byte("\x00\x01\x02\x03\x04")}, Suspicious, 1},
		{"pickle named safetensors", map[string][]byte{"model.safetensors": tinyPickle}, Dangerous, 2},
		{"template injection in subdir", map[string][]byte{"sub/tokenizer_config.json": []byte(`{"chat_template": "{{ x.__class__ }}"}`)}, Dangerous, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeTree(t, dir, cleanModel(t))
			writeTree(t, dir, tt.extra)
			rep, err := Dir(context.Background(), dir, Options{Parallel: 2})
			if err != nil {
				t.Fatal(err)
			}
			if rep.Verdict != tt.want || rep.ExitCode() != tt.exit {
				t.Errorf("verdict %s exit %d, want %s %d", rep.Verdict, rep.ExitCode(), tt.want, tt.exit)
			}
		})
	}
}

func TestDirSymlinks(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("symbolic links need privileges on Windows")
	}
	outside := t.TempDir()
	writeTree(t, outside, map[string][]byte{"secret": []byte("id_rsa\n")})
	dir := t.TempDir()
	writeTree(t, dir, map[string][]byte{"evil.pkl": tinyPickle, "sub/ok.txt": []byte("hi\n")})
	links := map[string]string{
		"escape":            filepath.Join(outside, "secret"),
		"relative-escape":   "../" + filepath.Base(outside) + "/secret",
		"model.safetensors": "evil.pkl",
		"subdir":            "sub",
		"dangling":          "nowhere",
	}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	rep, err := Dir(context.Background(), dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]string{}
	for _, f := range rep.Files {
		got[f.Path] = ruleSet(f.Findings)
	}
	want := map[string][]string{
		"escape":            {"fs.symlink-escape:suspicious"},
		"relative-escape":   {"fs.symlink-escape:suspicious"},
		"model.safetensors": {"format.mismatch:dangerous"},
		"subdir":            {"fs.symlink-dir:innocuous"},
		"dangling":          {"fs.symlink-broken:innocuous"},
	}
	for path, rules := range want {
		g, ok := got[path]
		if !ok {
			t.Errorf("%s: no result", path)
			continue
		}
		// Pickle content gets pickle findings too; compare the driver's.
		found := map[string]bool{}
		for _, r := range g {
			found[r] = true
		}
		for _, r := range rules {
			if !found[r] {
				t.Errorf("%s: rules %v lack %s", path, g, r)
			}
		}
	}
	for _, f := range rep.Files {
		if f.Path == "escape" && f.Format != "unscanned" {
			t.Errorf("escaping link was scanned as %s", f.Format)
		}
	}
	if rep.Verdict != Dangerous {
		t.Errorf("verdict %s, want dangerous", rep.Verdict)
	}
}

func TestDirSymlinkedRoot(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("symbolic links need privileges on Windows")
	}
	real := t.TempDir()
	writeTree(t, real, cleanModel(t))
	link := filepath.Join(t.TempDir(), "model")
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	rep, err := Dir(context.Background(), link, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Root != link || rep.Counts.Files != 7 || rep.Verdict != Innocuous {
		t.Errorf("root %q files %d verdict %s, want %q 7 innocuous", rep.Root, rep.Counts.Files, rep.Verdict, link)
	}
}

func TestDirSpecialFile(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no FIFOs on Windows")
	}
	dir := t.TempDir()
	if err := syscall.Mkfifo(filepath.Join(dir, "pipe"), 0o644); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	rep, err := Dir(context.Background(), dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Files) != 1 || ruleSet(rep.Files[0].Findings)[0] != "fs.special-file:suspicious" {
		t.Errorf("files %+v, want one fs.special-file finding", rep.Files)
	}
}

func TestDirMaxFiles(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, cleanModel(t))
	rep, err := Dir(context.Background(), dir, Options{MaxFiles: 3})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Counts.Files != 4 || rep.Verdict != Suspicious {
		t.Errorf("files %d verdict %s, want 3 scanned + 1 finding, suspicious", rep.Counts.Files, rep.Verdict)
	}
	if f := rep.Files[0]; f.Path != "." || f.Findings[0].Rule != "fs.too-many-files" {
		t.Errorf("first result %+v, want the root's fs.too-many-files", f)
	}
}

func TestDirErrors(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string][]byte{"f": []byte("x")})
	if _, err := Dir(context.Background(), filepath.Join(dir, "f"), Options{}); err == nil {
		t.Error("Dir of a file: no error")
	}
	if _, err := Dir(context.Background(), filepath.Join(dir, "missing"), Options{}); err == nil {
		t.Error("Dir of a missing path: no error")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Dir(ctx, dir, Options{}); err == nil {
		t.Error("Dir with a cancelled context: no error")
	}
}

func TestReportJSON(t *testing.T) {
	rep := NewReport("my-model:latest",
		FileResult{Path: "a.gguf", Size: 10, Format: "gguf"},
		FileResult{Path: "b.pkl", Size: 5, Format: "pickle", Verdict: Dangerous,
			PickleImportScan: &PickleImportScan{HighestSafetyLevel: Dangerous, Imports: []Import{{Module: "os", Name: "system", Safety: Dangerous}}},
			Findings:         []Finding{{Rule: "pickle.import", Severity: Dangerous, Message: "os.system"}}},
	)
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"root":    "my-model:latest",
		"verdict": "dangerous",
		"counts":  map[string]any{"files": 2.0, "innocuous": 1.0, "suspicious": 0.0, "dangerous": 1.0, "findings": 1.0},
		"files": []any{
			map[string]any{"path": "a.gguf", "size": 10.0, "format": "gguf", "findings": []any{}, "verdict": "innocuous"},
			map[string]any{"path": "b.pkl", "size": 5.0, "format": "pickle", "verdict": "dangerous",
				"pickleImportScan": map[string]any{"highestSafetyLevel": "dangerous",
					"imports": []any{map[string]any{"module": "os", "name": "system", "safety": "dangerous"}}},
				"findings": []any{map[string]any{"rule": "pickle.import", "severity": "dangerous", "message": "os.system"}}},
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("JSON (-want +got):\n%s", diff)
	}
	if rep.ExitCode() != 2 {
		t.Errorf("exit %d, want 2", rep.ExitCode())
	}
	if empty := NewReport("x"); empty.Verdict != Innocuous || empty.ExitCode() != 0 {
		t.Errorf("empty report verdict %q exit %d", empty.Verdict, empty.ExitCode())
	}
}

func TestDirShardIndex(t *testing.T) {
	index := func(shards ...string) []byte {
		m := map[string]any{"metadata": map[string]any{"total_size": 20}, "weight_map": map[string]string{}}
		for i, s := range shards {
			m["weight_map"].(map[string]string)[string(rune('a'+i))] = s
		}
		return []byte(mustJSON(t, m))
	}
	tests := []struct {
		name  string
		index []byte
		rules []string
	}{
		{"shards present", index("model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"), nil},
		{"shard missing", index("model-00001-of-00002.safetensors", "model-00003-of-00003.safetensors"), []string{"safetensors.index-missing:suspicious"}},
		{"shard outside", index("model-00001-of-00002.safetensors", "../../etc/passwd"), []string{"safetensors.index-path:dangerous"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeTree(t, dir, map[string][]byte{
				"model-00001-of-00002.safetensors": validSafetensors(t),
				"model-00002-of-00002.safetensors": validSafetensors(t),
				"model.safetensors.index.json":     tt.index,
			})
			rep, err := Dir(context.Background(), dir, Options{})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, f := range rep.Files {
				got = append(got, ruleSet(f.Findings)...)
			}
			if diff := cmp.Diff(tt.rules, got); diff != "" {
				t.Errorf("rules (-want +got):\n%s", diff)
			}
		})
	}
}
