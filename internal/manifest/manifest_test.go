package manifest

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"sov.dev/sov/internal/digest"
)

var update = flag.Bool("update", false, "rewrite golden files")

func testFiles() []File {
	return []File{
		{Path: "model.gguf", Digest: digest.FromBytes([]byte("weights")), Size: 7, MediaType: MediaTypeWeight},
		{Path: "README.md", Digest: digest.FromBytes([]byte("# card")), Size: 6, MediaType: MediaTypeDoc},
		{Path: "sub/config.json", Digest: digest.FromBytes([]byte("{}")), Size: 2, MediaType: MediaTypeWeightConfig},
	}
}

func testConfig() Config {
	return Config{
		Descriptor: ModelDescriptor{Name: "Tiny", Family: "llama", Licenses: []string{"apache-2.0"}, SourceURL: "hf://acme/tiny", Revision: "0123abcd"},
		Config:     ModelConfig{Architecture: "llama", Format: "gguf", ParamSize: "1.2m", Quantization: "Q8_0"},
	}
}

func TestBuildGolden(t *testing.T) {
	cfg, man, err := Build(testFiles(), testConfig())
	if err != nil {
		t.Fatal(err)
	}
	for name, got := range map[string][]byte{"config.golden.json": cfg, "manifest.golden.json": man} {
		path := filepath.Join("testdata", name)
		if *update {
			if err := os.WriteFile(path, got, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run with -update to create)", err)
		}
		if diff := cmp.Diff(string(want), string(got)); diff != "" {
			t.Errorf("%s mismatch (-want +got):\n%s", name, diff)
		}
	}
}

func TestBuildIsDeterministic(t *testing.T) {
	files := testFiles()
	_, a, err := Build(files, testConfig())
	if err != nil {
		t.Fatal(err)
	}
	reversed := []File{files[2], files[0], files[1]}
	_, b, err := Build(reversed, testConfig())
	if err != nil {
		t.Fatal(err)
	}
	if string(a) != string(b) {
		t.Errorf("file order changed the manifest:\n%s\n%s", a, b)
	}
}

func TestBuildThenParse(t *testing.T) {
	cfg, man, err := Build(testFiles(), testConfig())
	if err != nil {
		t.Fatal(err)
	}
	m, err := Parse(man)
	if err != nil {
		t.Fatal(err)
	}
	if m.Config.Digest != digest.FromBytes(cfg) || m.Config.Size != int64(len(cfg)) {
		t.Errorf("config descriptor %+v does not describe the config", m.Config)
	}
	var paths []string
	for _, l := range m.Layers {
		paths = append(paths, l.Path())
	}
	if diff := cmp.Diff([]string{"README.md", "model.gguf", "sub/config.json"}, paths); diff != "" {
		t.Errorf("layer paths (-want +got):\n%s", diff)
	}
	if got := len(m.Blobs()); got != 4 {
		t.Errorf("Blobs() has %d entries, want 4", got)
	}
}

func TestBuildRejectsBadPaths(t *testing.T) {
	for _, p := range []string{"", "/etc/passwd", "../x", "a/../../x", "a/./b", "a\\b", "C:evil", "a//b", "a/", "x\x00y", "tab\there"} {
		files := []File{{Path: p, Digest: digest.FromBytes(nil), MediaType: MediaTypeWeight}}
		if _, _, err := Build(files, Config{}); !errors.Is(err, ErrInvalid) {
			t.Errorf("Build with path %q: err = %v, want ErrInvalid", p, err)
		}
	}
	dup := []File{testFiles()[0], testFiles()[0]}
	if _, _, err := Build(dup, Config{}); err == nil || !strings.Contains(err.Error(), "duplicate") {
		t.Errorf("duplicate paths: err = %v", err)
	}
}

func TestParseRejectsHostileManifests(t *testing.T) {
	d := digest.FromBytes(nil).String()
	layer := func(digest, path string, size string) string {
		return `{"mediaType":"` + MediaTypeWeight + `","digest":"` + digest + `","size":` + size + `,"annotations":{"org.cncf.model.filepath":"` + path + `"}}`
	}
	wrap := func(layers ...string) string {
		return `{"schemaVersion":2,"mediaType":"` + MediaTypeManifest + `","artifactType":"` + ArtifactType +
			`","config":{"mediaType":"` + MediaTypeConfig + `","digest":"` + d + `","size":2},"layers":[` + strings.Join(layers, ",") + `]}`
	}
	tests := map[string]string{
		"not json":           `{`,
		"schema version":     strings.Replace(wrap(), `"schemaVersion":2`, `"schemaVersion":1`, 1),
		"not a model":        `{"schemaVersion":2,"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"` + d + `","size":2},"layers":[]}`,
		"traversal path":     wrap(layer(d, "../../etc/passwd", "1")),
		"absolute path":      wrap(layer(d, "/etc/passwd", "1")),
		"digest as path":     wrap(layer("sha256:../../x", "a", "1")),
		"negative size":      wrap(layer(d, "a", "-1")),
		"duplicate path":     wrap(layer(d, "a", "1"), layer(d, "a", "1")),
		"missing annotation": wrap(`{"mediaType":"x","digest":"` + d + `","size":1}`),
	}
	for name, in := range tests {
		if _, err := Parse([]byte(in)); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: err = %v, want ErrInvalid", name, err)
		}
	}
	if _, err := Parse([]byte(wrap(layer(d, "ok/file.bin", "1")))); err != nil {
		t.Errorf("valid manifest rejected: %v", err)
	}
	legacy := strings.Replace(wrap(layer(d, "a", "1")), AnnotationFilepath, "org.cnai.model.filepath", 1)
	if m, err := Parse([]byte(legacy)); err != nil || m.Layers[0].Path() != "a" {
		t.Errorf("legacy CNAI annotation: %v", err)
	}
}

func FuzzParse(f *testing.F) {
	_, man, _ := Build(testFiles(), testConfig())
	f.Add(man)
	f.Add([]byte(`{"schemaVersion":2,"layers":[{"annotations":{"org.cncf.model.filepath":"../x"}}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Parse(b)
		if err != nil {
			return
		}
		for _, l := range m.Layers {
			if err := ValidatePath(l.Path()); err != nil {
				t.Fatalf("Parse accepted a layer with path %q: %v", l.Path(), err)
			}
			if err := l.Digest.Validate(); err != nil {
				t.Fatalf("Parse accepted digest %q", l.Digest)
			}
		}
	})
}
