package scan

import (
	"bytes"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// kerasArchive builds a Keras v3 archive around a config.json.
func kerasArchive(t testing.TB, config string) []byte {
	t.Helper()
	return zipOf(t,
		[2]string{"metadata.json", `{"keras_version": "3.6.0", "date_saved": "2025-01-01@00:00:00"}`},
		[2]string{"config.json", config},
		[2]string{"model.weights.h5", "\x89HDF\r\n\x1a\n\x00\x00\x00\x00"},
	)
}

const kerasDense = `{"module": "keras.layers", "class_name": "Dense", "config": {"name": "dense", "units": 4,
 "activation": "relu", "kernel_initializer": {"module": "keras.initializers", "class_name": "GlorotUniform", "config": {"seed": null}, "registered_name": null}},
 "registered_name": null, "build_config": {"input_shape": [null, 8]}}`

// kerasModel wraps layers in a Sequential model config.
func kerasModel(layers ...string) string {
	s := `{"module": "keras", "class_name": "Sequential", "config": {"name": "seq", "layers": [`
	for i, l := range layers {
		if i > 0 {
			s += ","
		}
		s += l
	}
	return s + `]}, "registered_name": null}`
}

func TestKeras(t *testing.T) {
	lambda := `{"module": "keras.layers", "class_name": "Lambda", "config": {"name": "evil", "function": {"class_name": "__lambda__",
 "config": {"code": "4wEAAAAAAAAAAAAAAAEAAAADAAAA8wYAAACXAHwAUwApAU6pACkB", "defaults": null, "closure": null}}}, "registered_name": null}`
	legacyLambda := `{"class_name": "Lambda", "config": {"name": "old", "function": ["4wEAAAAA", null, null], "function_type": "lambda"}}`
	custom := `{"module": "my_pkg.layers", "class_name": "MyLayer", "config": {"name": "mine"}, "registered_name": "my_pkg>MyLayer"}`
	gadget := `{"module": "keras.layers", "class_name": "Dense", "config": {"name": "d", "activation": {"module": "os", "class_name": "function", "config": "system", "registered_name": "system"}}}`
	tests := []struct {
		name    string
		config  string
		rules   []string
		verdict Safety
	}{
		{"clean", kerasModel(kerasDense), nil, Innocuous},
		{"lambda", kerasModel(kerasDense, lambda), []string{"keras.lambda:dangerous"}, Dangerous},
		{"legacy lambda", kerasModel(legacyLambda), []string{"keras.lambda:dangerous"}, Dangerous},
		{"custom object", kerasModel(kerasDense, custom), []string{"keras.custom-object:suspicious"}, Suspicious},
		{"gadget function", kerasModel(gadget), []string{"keras.custom-object:dangerous"}, Dangerous},
		{"not json", `{"class_name": `, []string{"keras.config:suspicious"}, Suspicious},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := scanBlob(t, "model.keras", kerasArchive(t, tt.config))
			if r.Format != "keras" {
				t.Fatalf("format %q, want keras", r.Format)
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

func TestKerasLambdaLocation(t *testing.T) {
	lambda := `{"module": "keras.layers", "class_name": "Lambda", "config": {"name": "evil", "function": {"class_name": "__lambda__", "config": {"code": "AA=="}}}}`
	r := scanBlob(t, "model.keras", kerasArchive(t, kerasModel(kerasDense, lambda)))
	f, ok := findingOf(r, "keras.lambda")
	if !ok {
		t.Fatalf("no keras.lambda finding: %v", r.Findings)
	}
	if want := "config.json.config.layers[1] (evil)"; f.Location != want {
		t.Errorf("location %q, want %q", f.Location, want)
	}
}

func TestHDF5(t *testing.T) {
	h5 := func(attr string, pad int) []byte {
		b := []byte("\x89HDF\r\n\x1a\n\x00\x00\x00\x00")
		b = append(b, make([]byte, pad)...)
		return append(b, attr...)
	}
	lambdaCfg := `{"class_name": "Sequential", "config": {"layers": [{"class_name": "Lambda", "config": {"function": ["YQ==", null, null], "function_type": "lambda"}}]}}`
	tests := []struct {
		name    string
		data    []byte
		rules   []string
		verdict Safety
	}{
		{"plain weights", h5(`{"class_name": "Sequential", "config": {"layers": [{"class_name": "Dense"}]}}`, 100), nil, Innocuous},
		{"lambda", h5(lambdaCfg, 100), []string{"keras.lambda:dangerous"}, Dangerous},
		{"lambda across a chunk boundary", h5(lambdaCfg, 1<<20-40), []string{"keras.lambda:dangerous"}, Dangerous},
		{"compact json", h5(`{"class_name":"Lambda"}`, 10), []string{"keras.lambda:dangerous"}, Dangerous},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := scanBlob(t, "model.h5", tt.data)
			if r.Format != "hdf5" {
				t.Fatalf("format %q, want hdf5", r.Format)
			}
			if diff := cmp.Diff(tt.rules, ruleSet(r.Findings)); diff != "" {
				t.Errorf("rules (-want +got):\n%s", diff)
			}
			if r.Verdict != tt.verdict {
				t.Errorf("verdict %s, want %s", r.Verdict, tt.verdict)
			}
		})
	}
}

func TestSearchRanges(t *testing.T) {
	data := bytes.Repeat([]byte("x"), 3<<20)
	pat := []byte("NEEDLE")
	for _, at := range []int{0, 1<<20 - 3, 1 << 20, 2<<20 + 17, 3<<20 - len(pat)} {
		d := bytes.Clone(data)
		copy(d[at:], pat)
		got, err := searchRanges(bytes.NewReader(d), [][2]int64{{0, int64(len(d))}}, [][]byte{pat})
		if err != nil {
			t.Fatal(err)
		}
		if got != int64(at) {
			t.Errorf("needle at %d found at %d", at, got)
		}
	}
	got, err := searchRanges(bytes.NewReader(data), [][2]int64{{0, 100}, {200, int64(len(data))}}, [][]byte{pat})
	if err != nil || got != -1 {
		t.Errorf("no needle: got %d, %v; want -1", got, err)
	}
}
