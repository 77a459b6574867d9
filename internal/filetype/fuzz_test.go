package filetype

import (
	"bytes"
	"testing"
)

// FuzzDetect checks that Detect never fails or panics on in-memory input,
// always returns a known kind, and decides binary formats by bytes alone.
func FuzzDetect(f *testing.F) {
	f.Add(ggufFile(), "model.bin")
	f.Add(safetensorsFile(stHeader, 8), "model.safetensors")
	f.Add(onnxFile(), "model.onnx")
	f.Add(sentencePieceFile(3), "tokenizer.model")
	f.Add([]byte("(dp0\nS'a'\np1\nI1\ns."), "")
	f.Add([]byte(modelCard), "README.md")
	f.Fuzz(func(t *testing.T, data []byte, name string) {
		res, err := Detect(bytes.NewReader(data), int64(len(data)), name)
		if err != nil {
			t.Fatalf("Detect: %v", err)
		}
		if !knownKinds[res.Kind] {
			t.Fatalf("unknown kind %q", res.Kind)
		}
		anon, err := Detect(bytes.NewReader(data), int64(len(data)), "")
		if err != nil {
			t.Fatalf("Detect without name: %v", err)
		}
		if (isBinaryDecision(res.Kind) || isBinaryDecision(anon.Kind)) && res != anon {
			t.Fatalf("name %q changed a binary decision: %+v vs %+v", name, res, anon)
		}
	})
}

var knownKinds = map[Kind]bool{
	KindGGUF: true, KindSafetensors: true, KindSafetensorsIndex: true, KindPyTorchZip: true,
	KindPyTorchLegacy: true, KindPickle: true, KindNumPy: true, KindNumPyZip: true, KindONNX: true,
	KindKeras: true, KindHDF5: true, KindZip: true, KindSentencePiece: true, KindHFConfig: true,
	KindHFGenerationConfig: true, KindHFTokenizer: true, KindHFTokenizerConfig: true, KindJSON: true,
	KindModelCard: true, KindLicense: true, KindMarkdown: true, KindText: true, KindPython: true,
	KindBinary: true,
}
