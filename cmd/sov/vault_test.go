package main

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// inspectJSON is the part of `sov model inspect --json` the tests rely on.
type inspectJSON struct {
	Name              string   `json:"name"`
	Tag               string   `json:"tag"`
	Digest            string   `json:"digest"`
	Format            string   `json:"format"`
	Architecture      string   `json:"architecture"`
	ParameterCount    uint64   `json:"parameter_count"`
	Quantization      string   `json:"quantization"`
	Precision         string   `json:"precision"`
	ContextLength     uint64   `json:"context_length"`
	HasChatTemplate   bool     `json:"has_chat_template"`
	Licenses          []string `json:"licenses"`
	LicenseFiles      []string `json:"license_files"`
	BaseModels        []string `json:"base_models"`
	BaseModelRelation string   `json:"base_model_relation"`
	Datasets          []string `json:"datasets"`
	Source            string   `json:"source"`
	Revision          string   `json:"revision"`
	Files             []struct {
		Path      string `json:"path"`
		Size      int64  `json:"size"`
		Digest    string `json:"digest"`
		MediaType string `json:"media_type"`
		Kind      string `json:"kind"`
		GGUF      *struct {
			Architecture string         `json:"architecture"`
			TensorCount  int            `json:"tensor_count"`
			Metadata     map[string]any `json:"metadata"`
			Tensors      []struct {
				Name string `json:"name"`
			} `json:"tensors"`
		} `json:"gguf"`
	} `json:"files"`
}

type importOut struct {
	Name      string `json:"name"`
	Tag       string `json:"tag"`
	Digest    string `json:"digest"`
	Files     int    `json:"files"`
	NewBlobs  int    `json:"new_blobs"`
	Unchanged bool   `json:"unchanged"`
	Commit    string `json:"commit"`
}

func sha256hex(b []byte) string {
	s := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(s[:])
}

func TestImportGGUFAndInspect(t *testing.T) {
	e := newEnv(t)
	content := tinyGGUF(t, 1)
	path := writeFile(t, t.TempDir(), "TinyLlama-Test.Q8_0.gguf", content)

	var imp importOut
	e.json(&imp, "model", "import", path, "--name", "acme/tiny:v1")
	if imp.Name != "acme/tiny" || imp.Tag != "v1" || imp.Files != 1 || imp.NewBlobs != 2 {
		t.Errorf("import = %+v, want acme/tiny:v1 with 1 file and 2 new blobs (file + config)", imp)
	}

	var info inspectJSON
	e.json(&info, "model", "inspect", "acme/tiny:v1")
	if info.Digest != imp.Digest || info.Format != "gguf" || info.Architecture != "llama" || info.ParameterCount == 0 {
		t.Errorf("inspect = name %s digest %s format %q arch %q params %d", info.Name, info.Digest, info.Format, info.Architecture, info.ParameterCount)
	}
	if len(info.Files) != 1 {
		t.Fatalf("inspect lists %d files, want 1", len(info.Files))
	}
	f := info.Files[0]
	if f.Path != "TinyLlama-Test.Q8_0.gguf" || f.Size != int64(len(content)) || f.Digest != sha256hex(content) ||
		f.MediaType != "application/vnd.cncf.model.weight.v1.raw" || f.Kind != "gguf" {
		t.Errorf("file = %+v", f)
	}
	if f.GGUF == nil || f.GGUF.TensorCount == 0 || len(f.GGUF.Tensors) != f.GGUF.TensorCount || f.GGUF.Metadata["general.architecture"] != "llama" {
		t.Errorf("gguf facts missing or wrong: %+v", f.GGUF)
	}

	// The default tag is latest, and the human output names the model.
	e.ok("model", "tag", "acme/tiny:v1", "acme/tiny")
	out := e.ok("model", "inspect", "acme/tiny")
	for _, want := range []string{"acme/tiny:latest", "gguf", "llama", "TinyLlama-Test.Q8_0.gguf"} {
		if !strings.Contains(out, want) {
			t.Errorf("inspect output lacks %q:\n%s", want, out)
		}
	}
	// A digest prefix names the model too.
	e.ok("model", "inspect", strings.TrimPrefix(imp.Digest, "sha256:")[:12])
}

func TestImportSameContentTwiceIsIdempotent(t *testing.T) {
	e := newEnv(t)
	dir := hfModelDir(t, 7)
	var first, second importOut
	e.json(&first, "model", "import", dir, "--name", "m:one")
	before := len(e.blobFiles())
	e.json(&second, "model", "import", dir, "--name", "m:two")
	if first.Digest != second.Digest {
		t.Errorf("same content gave digests %s and %s", first.Digest, second.Digest)
	}
	if second.NewBlobs != 0 || !second.Unchanged {
		t.Errorf("second import stored %d new blobs (unchanged=%v), want 0", second.NewBlobs, second.Unchanged)
	}
	if after := len(e.blobFiles()); after != before {
		t.Errorf("blob files %d → %d after re-import", before, after)
	}
	// A different model sharing files shares blobs.
	writeFile(t, dir, "extra.txt", []byte("one more file\n"))
	var third importOut
	e.json(&third, "model", "import", dir, "--name", "m:three")
	if third.Digest == first.Digest || third.NewBlobs != 2 {
		t.Errorf("import with one extra file: digest %s, new blobs %d; want a new digest and 2 new blobs (file + config)", third.Digest, third.NewBlobs)
	}
}

func TestImportHuggingFaceDirectory(t *testing.T) {
	e := newEnv(t)
	dir := hfModelDir(t, 3)
	e.ok("model", "import", dir, "--name", "acme/hf-model", "--source", "https://example.org/acme/hf-model")
	var info inspectJSON
	e.json(&info, "model", "inspect", "acme/hf-model")
	want := uint64(64*16 + 16*16 + 32*16 + 16)
	if info.Format != "safetensors" || info.Architecture != "llama" || info.ParameterCount != want {
		t.Errorf("format %q arch %q params %d, want safetensors llama %d", info.Format, info.Architecture, info.ParameterCount, want)
	}
	if info.Precision != "bf16" || info.ContextLength != 2048 || !info.HasChatTemplate {
		t.Errorf("precision %q context %d chat template %v", info.Precision, info.ContextLength, info.HasChatTemplate)
	}
	if strings.Join(info.Licenses, ",") != "apache-2.0" || strings.Join(info.BaseModels, ",") != "example/base-1b" ||
		info.BaseModelRelation != "finetune" || strings.Join(info.Datasets, ",") != "example/chat-data" {
		t.Errorf("card facts: licenses %v base %v relation %q datasets %v", info.Licenses, info.BaseModels, info.BaseModelRelation, info.Datasets)
	}
	if strings.Join(info.LicenseFiles, ",") != "LICENSE" {
		t.Errorf("license files = %v, want [LICENSE]", info.LicenseFiles)
	}
	if info.Source != "https://example.org/acme/hf-model" {
		t.Errorf("source = %q", info.Source)
	}
	kinds := map[string]string{}
	for _, f := range info.Files {
		kinds[f.Path] = f.Kind + " " + f.MediaType
	}
	for path, want := range map[string]string{
		"config.json":                  "hf-config application/vnd.cncf.model.weight.config.v1.raw",
		"model.safetensors.index.json": "safetensors-index application/vnd.cncf.model.weight.config.v1.raw",
		"README.md":                    "model-card application/vnd.cncf.model.doc.v1.raw",
		"LICENSE":                      "license application/vnd.cncf.model.doc.v1.raw",
	} {
		if kinds[path] != want {
			t.Errorf("%s: kind/media type %q, want %q", path, kinds[path], want)
		}
	}
	// The manifest is a ModelPack manifest with one layer per file.
	man := e.ok("model", "inspect", "acme/hf-model", "--manifest")
	for _, want := range []string{`"artifactType":"application/vnd.cncf.model.manifest.v1+json"`, `"org.cncf.model.filepath":"config.json"`} {
		if !strings.Contains(man, want) {
			t.Errorf("manifest lacks %s:\n%s", want, man)
		}
	}
	if got := sha256hex([]byte(strings.TrimSuffix(man, "\n"))); got != info.Digest {
		t.Errorf("manifest hashes to %s, model digest is %s", got, info.Digest)
	}
}

func TestListTagRemoveGC(t *testing.T) {
	e := newEnv(t)
	a := writeFile(t, t.TempDir(), "a.gguf", tinyGGUF(t, 1))
	b := writeFile(t, t.TempDir(), "b.gguf", tinyGGUF(t, 2))
	e.ok("model", "import", a)
	e.ok("model", "import", b, "--name", "org/b:q8")
	e.ok("model", "tag", "a", "org/a-copy:x")

	var list []struct{ Name, Tag, Digest, Format string }
	e.json(&list, "model", "list")
	var names []string
	for _, l := range list {
		names = append(names, l.Name+":"+l.Tag)
	}
	if got := strings.Join(names, " "); got != "a:latest org/a-copy:x org/b:q8" {
		t.Errorf("list = %s", got)
	}
	if out := e.ok("model", "list"); !strings.Contains(out, "org/b") || !strings.Contains(out, "gguf") {
		t.Errorf("list table:\n%s", out)
	}

	// Removing one of two references keeps the model; gc frees nothing.
	e.ok("model", "rm", "a")
	var gc struct {
		Removed []string `json:"removed"`
		Bytes   int64    `json:"bytes"`
	}
	e.json(&gc, "gc")
	if len(gc.Removed) != 0 {
		t.Errorf("gc removed %v while org/a-copy:x still refers to the model", gc.Removed)
	}
	// Removing the last reference deletes the version; gc then removes its
	// two blobs (weights and config), and the other model still verifies.
	e.ok("model", "rm", "org/a-copy:x")
	e.json(&gc, "gc")
	if len(gc.Removed) != 2 || gc.Bytes == 0 {
		t.Errorf("gc removed %v (%d bytes), want the 2 blobs of the deleted model", gc.Removed, gc.Bytes)
	}
	e.ok("model", "verify", "org/b:q8")
	if r := e.fails(1, "model", "inspect", "a"); !strings.Contains(r.stderr, "not found") {
		t.Errorf("inspect of a removed model: %s", r.stderr)
	}
	e.fails(1, "model", "rm", "nope")
	e.fails(2, "model", "tag", "org/b:q8")
	e.fails(1, "model", "tag", "org/b:q8", "bad..name")
}

func TestExport(t *testing.T) {
	e := newEnv(t)
	src := hfModelDir(t, 5)
	e.ok("model", "import", src, "--name", "m")
	out := filepath.Join(t.TempDir(), "export")
	e.ok("model", "export", "m", out)

	var info inspectJSON
	e.json(&info, "model", "inspect", "m")
	for _, f := range info.Files {
		got, err := os.ReadFile(filepath.Join(out, f.Path))
		if err != nil {
			t.Fatal(err)
		}
		want, _ := os.ReadFile(filepath.Join(src, f.Path))
		if string(got) != string(want) {
			t.Errorf("%s: exported content differs", f.Path)
		}
		// Same filesystem: a hard link to the blob.
		fi, _ := os.Stat(filepath.Join(out, f.Path))
		blob := filepath.Join(e.home, "blobs", "sha256", f.Digest[7:9], f.Digest[7:])
		bi, err := os.Stat(blob)
		if err != nil {
			t.Fatal(err)
		}
		if !os.SameFile(fi, bi) {
			t.Errorf("%s is not a hard link to its blob", f.Path)
		}
	}
	// Exporting again is a no-op; --copy into a new dir copies.
	var res struct{ Linked, Copied, Skipped int }
	e.json(&res, "model", "export", "m", out)
	if res.Skipped != len(info.Files) || res.Linked+res.Copied != 0 {
		t.Errorf("second export = %+v, want all %d skipped", res, len(info.Files))
	}
	e.json(&res, "model", "export", "m", filepath.Join(t.TempDir(), "copy"), "--copy")
	if res.Copied != len(info.Files) {
		t.Errorf("export --copy = %+v", res)
	}
	// A file in the way with other content is not overwritten silently.
	other := filepath.Join(t.TempDir(), "other")
	writeFile(t, other, "config.json", []byte("{}"))
	if r := e.fails(1, "model", "export", "m", other); !strings.Contains(r.stderr, "config.json") {
		t.Errorf("export over a different file: %s", r.stderr)
	}
	e.ok("model", "export", "m", other, "--overwrite")
}

func TestVerifyReportsMissingAndCorruptedFiles(t *testing.T) {
	e := newEnv(t)
	dir := hfModelDir(t, 9)
	e.ok("model", "import", dir, "--name", "m")
	e.ok("model", "import", writeFile(t, t.TempDir(), "g.gguf", tinyGGUF(t, 4)), "--name", "g")
	if out := e.ok("model", "verify", "--all"); !strings.Contains(out, "m:latest: ok") || !strings.Contains(out, "g:latest: ok") {
		t.Errorf("verify --all:\n%s", out)
	}

	var info inspectJSON
	e.json(&info, "model", "inspect", "m")
	blobPath := func(d string) string { return filepath.Join(e.home, "blobs", "sha256", d[7:9], d[7:]) }
	digestOf := func(path string) string {
		for _, f := range info.Files {
			if f.Path == path {
				return f.Digest
			}
		}
		t.Fatalf("no file %s", path)
		return ""
	}
	// Corrupt one byte of config.json (same size) and delete README.md.
	cfg := blobPath(digestOf("config.json"))
	os.Chmod(cfg, 0o644)
	b, _ := os.ReadFile(cfg)
	b[0] ^= 0xff
	os.WriteFile(cfg, b, 0o444)
	os.Remove(blobPath(digestOf("README.md")))

	r := e.fails(1, "model", "verify", "m")
	if !strings.Contains(r.stdout, "config.json: corrupted") || !strings.Contains(r.stdout, "README.md: missing") {
		t.Errorf("verify output does not name both files:\n%s", r.stdout)
	}
	var rep struct {
		OK     bool `json:"ok"`
		Models []struct {
			OK    bool `json:"ok"`
			Files []struct {
				Path, Status string
			} `json:"files"`
		} `json:"models"`
	}
	r = e.fails(1, "model", "verify", "--all", "--json")
	if err := jsonUnmarshal(r.stdout, &rep); err != nil {
		t.Fatal(err)
	}
	bad := map[string]string{}
	for _, m := range rep.Models {
		for _, f := range m.Files {
			if f.Status != "ok" {
				bad[f.Path] = f.Status
			}
		}
	}
	if rep.OK || len(bad) != 2 || bad["config.json"] != "corrupted" || bad["README.md"] != "missing" {
		t.Errorf("verify --json: ok=%v bad=%v", rep.OK, bad)
	}
	// The other model is unaffected.
	e.ok("model", "verify", "g")
	e.fails(2, "model", "verify")
}

func TestNoProgressOnPipe(t *testing.T) {
	e := newEnv(t)
	r := e.run("model", "import", writeFile(t, t.TempDir(), "x.gguf", tinyGGUF(t, 1)))
	if r.code != 0 || r.stderr != "" {
		t.Errorf("import on a pipe: exit %d, stderr %q (want nothing)", r.code, r.stderr)
	}
}

// The process is signalled by the tests below; keep the import going long
// enough to catch it mid-way.
var _ = syscall.SIGINT
