package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"sov.dev/sov/internal/safetensors"
	"sov.dev/sov/internal/synth"
)

// sovBinary is the sov binary built once for all tests in this package.
var sovBinary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "sov-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	sovBinary = filepath.Join(dir, "sov")
	build := exec.Command("go", "build", "-o", sovBinary, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building sov: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// env is one sov installation: a fresh SOV_HOME and the environment to run
// the binary in.
type env struct {
	t    *testing.T
	home string
	vars []string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	home := filepath.Join(t.TempDir(), "sovhome")
	return &env{t: t, home: home, vars: []string{"SOV_HOME=" + home, "HOME=" + t.TempDir(), "PATH=" + os.Getenv("PATH")}}
}

// result is what one run of the binary did.
type result struct {
	code           int
	stdout, stderr string
}

// run runs sov with args and returns its exit code and output.
func (e *env) run(args ...string) result {
	e.t.Helper()
	cmd := exec.Command(sovBinary, args...)
	cmd.Env = e.vars
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		e.t.Fatalf("running sov %v: %v", args, err)
	}
	return result{code: code, stdout: out.String(), stderr: errb.String()}
}

// ok runs sov and fails the test unless it exits 0.
func (e *env) ok(args ...string) string {
	e.t.Helper()
	r := e.run(args...)
	if r.code != 0 {
		e.t.Fatalf("sov %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r.stdout
}

// fails runs sov, requires exit status code, and returns stderr.
func (e *env) fails(code int, args ...string) result {
	e.t.Helper()
	r := e.run(args...)
	if r.code != code {
		e.t.Fatalf("sov %s: exit %d, want %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, code, r.stdout, r.stderr)
	}
	return r
}

// json runs sov with --json appended and decodes its output into v.
func (e *env) json(v any, args ...string) {
	e.t.Helper()
	out := e.ok(append(args, "--json")...)
	if err := json.Unmarshal([]byte(out), v); err != nil {
		e.t.Fatalf("sov %s --json: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// blobFiles lists every file under the blob store (committed and temporary).
func (e *env) blobFiles() []string {
	e.t.Helper()
	var files []string
	filepath.WalkDir(filepath.Join(e.home, "blobs"), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files = append(files, p)
		}
		return nil
	})
	return files
}

// assertPristine checks that the vault holds no model and no blob, and
// that gc finds nothing to remove.
func (e *env) assertPristine() {
	e.t.Helper()
	var list []map[string]any
	e.json(&list, "model", "list")
	if len(list) != 0 {
		e.t.Errorf("model list = %v, want empty", list)
	}
	var gc struct {
		Removed []string `json:"removed"`
	}
	e.json(&gc, "gc", "--dry-run")
	if len(gc.Removed) != 0 {
		e.t.Errorf("gc found orphaned blobs: %v", gc.Removed)
	}
	if files := e.blobFiles(); len(files) != 0 {
		e.t.Errorf("blob store holds files: %v", files)
	}
}

// writeFile writes content to dir/name, creating parent directories.
func writeFile(t *testing.T, dir, name string, content []byte) string {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, content, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// tinyGGUF returns a small, valid llama-shaped GGUF file.
func tinyGGUF(t *testing.T, seed uint64) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := synth.WriteGGUF(&buf, synth.TinyLlamaGGUF(seed)); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// hfModelDir writes a small Hugging Face style model directory: two
// safetensors shards with their index, config, tokenizer files, a model
// card and a licence file.
func hfModelDir(t *testing.T, seed uint64) string {
	t.Helper()
	dir := t.TempDir()
	spec := synth.SafetensorsSpec{Seed: seed, Tensors: []synth.STensorSpec{
		{Name: "model.embed_tokens.weight", DType: safetensors.BF16, Shape: []uint64{64, 16}},
		{Name: "model.layers.0.self_attn.q_proj.weight", DType: safetensors.BF16, Shape: []uint64{16, 16}},
		{Name: "model.layers.0.mlp.up_proj.weight", DType: safetensors.BF16, Shape: []uint64{32, 16}},
		{Name: "model.norm.weight", DType: safetensors.BF16, Shape: []uint64{16}},
	}}
	if _, err := synth.WriteShardedSafetensors(dir, spec, 2); err != nil {
		t.Fatal(err)
	}
	writeFile(t, dir, "config.json", []byte(`{"architectures":["LlamaForCausalLM"],"model_type":"llama",
		"hidden_size":16,"num_hidden_layers":1,"num_attention_heads":2,"num_key_value_heads":1,
		"intermediate_size":32,"vocab_size":64,"max_position_embeddings":2048,"torch_dtype":"bfloat16"}`))
	writeFile(t, dir, "generation_config.json", []byte(`{"bos_token_id":1,"eos_token_id":[2,3],"do_sample":true,"temperature":0.6}`))
	writeFile(t, dir, "tokenizer_config.json", []byte(`{"tokenizer_class":"PreTrainedTokenizerFast","bos_token":"<s>","eos_token":"</s>","chat_template":"{% for m in messages %}{{ m.content }}{% endfor %}"}`))
	writeFile(t, dir, "README.md", []byte("---\nlicense: apache-2.0\nbase_model: example/base-1b\nbase_model_relation: finetune\ndatasets:\n- example/chat-data\nlanguage: [en, fr]\ntags: [text-generation]\npipeline_tag: text-generation\n---\n# Tiny test model\n"))
	writeFile(t, dir, "LICENSE", []byte("Permission is hereby granted, free of charge, to any person obtaining a copy\nof this software, to deal in the Software without restriction.\n"))
	return dir
}

func jsonUnmarshal(s string, v any) error { return json.Unmarshal([]byte(s), v) }
