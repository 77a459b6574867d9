package scan

import (
	"bytes"
	"context"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Protobuf encoding for test models.
func pbTag(num, wire int) []byte { return binary.AppendUvarint(nil, uint64(num<<3|wire)) }

func pbVarint(num int, v uint64) []byte { return binary.AppendUvarint(pbTag(num, 0), v) }

func pbBytes(num int, payload ...[]byte) []byte {
	body := bytes.Join(payload, nil)
	b := binary.AppendUvarint(pbTag(num, 2), uint64(len(body)))
	return append(b, body...)
}

func pbString(num int, s string) []byte { return pbBytes(num, []byte(s)) }

// encTensor encodes a TensorProto named name; ext lists external_data
// key/value pairs (none: the data is inline).
func encTensor(name string, ext ...[2]string) []byte {
	parts := [][]byte{pbVarint(1, 4), pbVarint(2, 1), pbString(8, name)}
	if len(ext) == 0 {
		return bytes.Join(append(parts, pbBytes(9, make([]byte, 16))), nil)
	}
	for _, e := range ext {
		parts = append(parts, pbBytes(13, pbString(1, e[0]), pbString(2, e[1])))
	}
	parts = append(parts, pbVarint(14, 1))
	return bytes.Join(parts, nil)
}

// encModel encodes a ModelProto whose graph holds the given graph fields.
func encModel(graph ...[]byte) []byte {
	return bytes.Join([][]byte{
		pbVarint(1, 8),
		pbString(2, "sov-test"),
		pbBytes(7, graph...),
		pbBytes(8, pbString(1, ""), pbVarint(2, 17)),
	}, nil)
}

func TestONNXExternalData(t *testing.T) {
	initializer := func(tensor []byte) []byte { return pbBytes(5, tensor) }
	// A node with an If whose then-branch subgraph holds a constant.
	nested := pbBytes(1,
		pbString(4, "If"),
		pbBytes(5, pbString(1, "then_branch"), pbBytes(6,
			pbBytes(1, pbString(4, "Constant"), pbBytes(5, pbString(1, "value"), pbBytes(5, encTensor("c", [2]string{"location", "/etc/shadow"})))),
		)),
	)
	sparse := pbBytes(15, pbBytes(1, encTensor("sv", [2]string{"location", `..\..\windows\win.ini`})), pbBytes(2, encTensor("si")))
	function := pbBytes(25, pbString(1, "f"), pbBytes(7, pbString(4, "Constant"),
		pbBytes(5, pbString(1, "value"), pbBytes(5, encTensor("fc", [2]string{"location", "C:/secret"})))))
	tests := []struct {
		name  string
		model []byte
		rules []string
	}{
		{"inline data", encModel(initializer(encTensor("w"))), nil},
		{"external data present", encModel(initializer(encTensor("w", [2]string{"location", "weights.bin"}, [2]string{"offset", "0"}, [2]string{"length", "16"}))), nil},
		{"external data in subdir", encModel(initializer(encTensor("w", [2]string{"location", "data/w.bin"}))), nil},
		{"parent traversal", encModel(initializer(encTensor("w", [2]string{"location", "../../etc/passwd"}))), []string{"onnx.external-path:dangerous"}},
		{"absolute", encModel(initializer(encTensor("w", [2]string{"location", "/etc/passwd"}))), []string{"onnx.external-path:dangerous"}},
		{"nested subgraph", encModel(nested), []string{"onnx.external-path:dangerous"}},
		{"sparse initializer backslashes", encModel(sparse), []string{"onnx.external-path:dangerous"}},
		{"function constant with drive", append(encModel(initializer(encTensor("w"))), function...), []string{"onnx.external-path:dangerous"}},
		{"missing file", encModel(initializer(encTensor("w", [2]string{"location", "absent.bin"}))), []string{"onnx.external-missing:suspicious"}},
		{"range past end", encModel(initializer(encTensor("w", [2]string{"location", "weights.bin"}, [2]string{"offset", "8"}, [2]string{"length", "16"}))), []string{"onnx.external-range:suspicious"}},
		{"bad offset", encModel(initializer(encTensor("w", [2]string{"location", "weights.bin"}, [2]string{"offset", "-1"}))), []string{"onnx.external-range:suspicious"}},
		{"no location", encModel(initializer(encTensor("w", [2]string{"checksum", "abc"}))), []string{"onnx.external-data:suspicious"}},
		{"garbage graph", encModel([]byte{0x0a, 0x7f, 0x01}), []string{"onnx.malformed:suspicious"}},
		{"group wire type", encModel(pbBytes(1, []byte{0x0b})), []string{"onnx.malformed:suspicious"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "weights.bin"), make([]byte, 16), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Mkdir(filepath.Join(dir, "data"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "data", "w.bin"), make([]byte, 16), 0o644); err != nil {
				t.Fatal(err)
			}
			p := filepath.Join(dir, "model.onnx")
			if err := os.WriteFile(p, tt.model, 0o644); err != nil {
				t.Fatal(err)
			}
			r, err := File(context.Background(), p, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if r.Format != "onnx" {
				t.Fatalf("format %q, want onnx", r.Format)
			}
			if diff := cmp.Diff(tt.rules, ruleSet(r.Findings)); diff != "" {
				t.Errorf("rules (-want +got):\n%s\nfindings: %v", diff, r.Findings)
			}
		})
	}
}

// TestONNXBlobSiblings checks that Blob resolves external data through
// Options.Sibling, relative to the model file's own directory.
func TestONNXBlobSiblings(t *testing.T) {
	model := encModel(pbBytes(5, encTensor("w", [2]string{"location", "w.bin"})))
	var asked []string
	opts := Options{Sibling: func(p string) (int64, bool) {
		asked = append(asked, p)
		return 16, p == "onnx/w.bin"
	}}
	r, err := Blob(context.Background(), "onnx/model.onnx", bytes.NewReader(model), int64(len(model)), opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Findings) != 0 {
		t.Errorf("findings %v, want none", r.Findings)
	}
	if diff := cmp.Diff([]string{"onnx/w.bin"}, asked); diff != "" {
		t.Errorf("sibling lookups (-want +got):\n%s", diff)
	}
	// Without Sibling the existence check is skipped, not failed.
	if r := scanBlob(t, "model.onnx", model); len(r.Findings) != 0 {
		t.Errorf("findings without Sibling %v, want none", r.Findings)
	}
}

func TestUnsafeRelPath(t *testing.T) {
	for _, tt := range []struct {
		path string
		safe bool
	}{
		{"weights.bin", true}, {"a/b/c.bin", true}, {"..data", true}, {"a..b", true},
		{"", false}, {"../x", false}, {"a/../../x", false}, {"/abs", false}, {`\\server\share`, false},
		{`a\..\..\x`, false}, {"C:x", false}, {"file:///etc/passwd", false}, {"a\x00b", false},
	} {
		if got := unsafeRelPath(tt.path) == ""; got != tt.safe {
			t.Errorf("unsafeRelPath(%q) safe = %v, want %v", tt.path, got, tt.safe)
		}
	}
}
