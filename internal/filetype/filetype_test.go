package filetype

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// detectBytes runs Detect over b.
func detectBytes(t *testing.T, b []byte, name string) Result {
	t.Helper()
	res, err := Detect(bytes.NewReader(b), int64(len(b)), name)
	if err != nil {
		t.Fatalf("Detect(%q): %v", name, err)
	}
	return res
}

func le32(v uint32) []byte { return binary.LittleEndian.AppendUint32(nil, v) }
func le64(v uint64) []byte { return binary.LittleEndian.AppendUint64(nil, v) }

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func ggufFile() []byte {
	return cat([]byte("GGUF"), le32(3), le64(0), le64(0))
}

func safetensorsFile(header string, data int) []byte {
	return cat(le64(uint64(len(header))), []byte(header), make([]byte, data))
}

const stHeader = `{"__metadata__":{"format":"pt"},"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`

func npyFile(major byte, dict string) []byte {
	// Pad so that magic + version + length + header is a multiple of 64.
	pre := 6 + 2 + 2
	if major >= 2 {
		pre = 6 + 2 + 4
	}
	hdr := dict
	for (pre+len(hdr)+1)%64 != 0 {
		hdr += " "
	}
	hdr += "\n"
	var n []byte
	if major >= 2 {
		n = le32(uint32(len(hdr)))
	} else {
		n = binary.LittleEndian.AppendUint16(nil, uint16(len(hdr)))
	}
	return cat([]byte(npyMagic), []byte{major, 0}, n, []byte(hdr), make([]byte, 48))
}

func zipFile(t *testing.T, names ...string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, n := range names {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: n, Method: zip.Store})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte("content of " + n)); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// Protobuf building blocks.
func pbVarint(v uint64) []byte        { return binary.AppendUvarint(nil, v) }
func pbKey(num, wire uint64) []byte   { return pbVarint(num<<3 | wire) }
func pbVarField(num, v uint64) []byte { return cat(pbKey(num, 0), pbVarint(v)) }
func pbBytes(num uint64, b []byte) []byte {
	return cat(pbKey(num, 2), pbVarint(uint64(len(b))), b)
}
func pbFixed32(num uint64, v uint32) []byte { return cat(pbKey(num, 5), le32(v)) }

func onnxFile() []byte {
	node := cat(pbBytes(1, []byte("X")), pbBytes(2, []byte("Y")), pbBytes(4, []byte("Relu")))
	graph := cat(pbBytes(1, node), pbBytes(2, []byte("main")))
	return cat(
		pbVarField(1, 8),
		pbBytes(2, []byte("pytorch")),
		pbBytes(3, []byte("2.3.0")),
		pbBytes(7, graph),
		pbBytes(8, cat(pbBytes(1, nil), pbVarField(2, 17))),
	)
}

func spPiece(s string, score float32, typ uint64) []byte {
	return pbBytes(1, cat(pbBytes(1, []byte(s)), pbFixed32(2, 0x3f800000), pbVarField(3, typ)))
}

func sentencePieceFile(n int) []byte {
	var b []byte
	b = append(b, spPiece("<unk>", 0, 2)...)
	b = append(b, spPiece("<s>", 0, 3)...)
	for i := range n {
		b = append(b, spPiece("▁tok"+strings.Repeat("x", i%7), -1, 1)...)
	}
	trainer := cat(pbBytes(1, []byte("corpus.txt")), pbVarField(3, 1))
	normalizer := cat(pbBytes(1, []byte("nmt_nfkc")), pbBytes(2, []byte{1, 2, 3}))
	return cat(b, pbBytes(2, trainer), pbBytes(3, normalizer))
}

const modelCard = `---
license: llama3.1
base_model: meta-llama/Llama-3.1-8B-Instruct
tags:
- text-generation
---

# My fine-tune
`

func TestDetect(t *testing.T) {
	legacy := cat([]byte{0x80, 0x02, opLong1}, torchLegacyMagic, []byte("."),
		[]byte{0x80, 0x02, 'M', 0xe9, 0x03, '.'})
	pytorchZip := zipFile(t, "archive/data.pkl", "archive/byteorder", "archive/data/0", "archive/version")
	bigTokenizer := `{"version":"1.0","truncation":null,"added_tokens":[{"id":0,"content":"<s>"}],` +
		`"pre_tokenizer":{"type":"ByteLevel"},"model":{"type":"BPE","vocab":{` +
		strings.Repeat(`"tok":1,`, 20000) + `"end":2},"merges":["a b"]}}`

	tests := []struct {
		name     string
		file     string
		data     []byte
		want     Kind
		wantNote string // a substring of Detail, if set
	}{
		{"gguf", "model.gguf", ggufFile(), KindGGUF, "gguf v3"},
		{"gguf named bin", "model.bin", ggufFile(), KindGGUF, ""},
		{"gguf big-endian", "", cat([]byte("GGUF"), []byte{0, 0, 0, 3}, le64(0)), KindGGUF, "big-endian"},
		{"gguf magic only", "", []byte("GGUF"), KindGGUF, "truncated"},
		{"safetensors", "model.safetensors", safetensorsFile(stHeader, 8), KindSafetensors, "header"},
		{"safetensors empty header", "", safetensorsFile("{}      ", 0), KindSafetensors, ""},
		{"safetensors truncated", "", cat(le64(1000), []byte(`{"a":{"dtype":"F32"`)), KindSafetensors, "truncated"},
		{"length beyond file, not JSON", "", cat(le64(1000), []byte(`{1234567890`)), KindBinary, ""},
		{"safetensors without dtype", "", safetensorsFile(`{"a":{"b":1}}`, 0), KindBinary, ""},
		{"pickle protocol 2", "model.safetensors", []byte("\x80\x02}q\x00."), KindPickle, "protocol 2"},
		{"pickle protocol 5", "", []byte("\x80\x05\x95\x05\x00\x00\x00\x00\x00\x00\x00}\x94."), KindPickle, "protocol 5"},
		{"pickle protocol 9 is not", "", []byte("\x80\x09}."), KindBinary, ""},
		{"pytorch legacy", "model.pt", legacy, KindPyTorchLegacy, "protocol 2"},
		{"pytorch legacy framed", "", cat([]byte{0x80, 0x04, opFrame}, le64(12), []byte{opLong1}, torchLegacyMagic, []byte(".")), KindPyTorchLegacy, "protocol 4"},
		{"pickle protocol 0 dict", "", []byte("(dp0\nS'a'\np1\nI1\ns."), KindPickle, "protocol 0/1"},
		{"pickle protocol 0 global", "", []byte("ccollections\nOrderedDict\np0\n(tRp1\n."), KindPickle, ""},
		{"pickle protocol 1 list", "", []byte("]q\x00(K\x01K\x02e."), KindPickle, ""},
		{"pickle two in a row", "", []byte("N.N."), KindPickle, ""},
		{"text that starts like pickle", "", []byte("(c) 2024 Example Corp.\nAll rights reserved."), KindText, ""},
		{"pickle that underflows", "", []byte("a."), KindText, ""},
		{"numpy v1", "", npyFile(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }"), KindNumPy, "npy v1.0 <f4 shape (3, 4)"},
		{"numpy v2", "", npyFile(2, "{'descr': '|u1', 'fortran_order': False, 'shape': (16,), }"), KindNumPy, "npy v2.0 |u1 shape (16,)"},
		{"numpy header beyond file", "", cat([]byte(npyMagic), []byte{1, 0, 0xff, 0xff}), KindNumPy, "beyond"},
		{"numpy unknown version", "", cat([]byte(npyMagic), []byte{9, 0}), KindNumPy, "unknown version"},
		{"hdf5", "", cat([]byte(hdf5Magic), []byte{0}, make([]byte, 64)), KindHDF5, "superblock v0"},
		{"hdf5 after user block", "", cat(make([]byte, 512), []byte(hdf5Magic), []byte{2}, make([]byte, 64)), KindHDF5, "offset 512"},
		{"hdf5 at odd offset is not", "", cat(make([]byte, 100), []byte(hdf5Magic), make([]byte, 64)), KindBinary, ""},
		{"pytorch zip", "model.zip", pytorchZip, KindPyTorchZip, "4 members"},
		{"pytorch zip root data.pkl", "", zipFile(t, "data.pkl", "data/0"), KindPyTorchZip, ""},
		{"pytorch zip truncated", "", pytorchZip[:len(pytorchZip)-30], KindPyTorchZip, "unreadable"},
		{"npz", "", zipFile(t, "a.npy", "b.npy"), KindNumPyZip, "2 arrays"},
		{"keras", "model.keras", zipFile(t, "metadata.json", "config.json", "model.weights.h5"), KindKeras, "3 members"},
		{"keras config only is zip", "", zipFile(t, "config.json"), KindZip, ""},
		{"zip", "", zipFile(t, "hello.txt", "dir/data.pkl.bak"), KindZip, "2 members"},
		{"empty zip", "", zipFile(t), KindZip, "0 members"},
		{"zip damaged", "", zipFile(t, "a.txt")[:40], KindZip, "unreadable"},
		{"zip unsafe path", "", zipFile(t, "../../etc/passwd"), KindZip, "unsafe"},
		{"onnx", "model.onnx", onnxFile(), KindONNX, "ir_version 8"},
		{"onnx without graph", "", cat(pbVarField(1, 8), pbBytes(2, []byte("x"))), KindBinary, ""},
		{"onnx with trailing byte", "", cat(onnxFile(), []byte{0xff}), KindBinary, ""},
		{"onnx ir_version as bytes", "", cat(pbBytes(1, []byte("x")), pbBytes(7, nil)), KindBinary, ""},
		{"sentencepiece", "tokenizer.model", sentencePieceFile(50), KindSentencePiece, "52 pieces"},
		{"sentencepiece bad piece", "", cat(pbBytes(1, cat(pbVarField(1, 3))), pbBytes(2, nil)), KindBinary, ""},
		{"sentencepiece unknown field", "", cat(spPiece("a", 0, 1), pbBytes(9, nil)), KindBinary, ""},
		{"hf config", "config.json", []byte(`{"architectures":["LlamaForCausalLM"],"model_type":"llama","hidden_size":4096}`), KindHFConfig, "3 top-level keys"},
		{"hf config with tokenizer_class", "config.json", []byte(`{"model_type":"t5","tokenizer_class":"T5Tokenizer"}`), KindHFConfig, ""},
		{"generation config", "", []byte(`{"_from_model_config":true,"bos_token_id":1,"eos_token_id":2}`), KindHFGenerationConfig, ""},
		{"generation config by name", "generation_config.json", []byte(`{"bos_token_id":1,"eos_token_id":[2,3]}`), KindHFGenerationConfig, ""},
		{"generation keys other name", "other.json", []byte(`{"bos_token_id":1,"eos_token_id":[2,3]}`), KindJSON, ""},
		{"generation sampling keys", "", []byte(`{"do_sample":true,"temperature":0.6,"transformers_version":"4.45.0"}`), KindHFGenerationConfig, ""},
		{"tokenizer", "tokenizer.json", []byte(`{"version":"1.0","added_tokens":[],"model":{"type":"Unigram","vocab":[["a",-1.0]]}}`), KindHFTokenizer, ""},
		{"tokenizer beyond head", "", []byte(bigTokenizer), KindHFTokenizer, ""},
		{"tokenizer without model keys", "", []byte(`{"added_tokens":[],"model":{"x":{"vocab":1}}}`), KindJSON, ""},
		{"tokenizer config", "tokenizer_config.json", []byte(`{"add_bos_token":true,"added_tokens_decoder":{},"chat_template":"{{ x }}"}`), KindHFTokenizerConfig, ""},
		{"tokenizer config class only", "", []byte(`{"tokenizer_class":"LlamaTokenizer","model_max_length":2048}`), KindHFTokenizerConfig, ""},
		{"safetensors index", "model.safetensors.index.json", []byte(`{"metadata":{"total_size":16},"weight_map":{"w":"model-00001-of-00002.safetensors"}}`), KindSafetensorsIndex, ""},
		{"plain json", "", []byte(`{"a": [1, 2.5e3, true, null, "x"]}`), KindJSON, "1 top-level keys"},
		{"json array", "", []byte(` [1, 2]`), KindJSON, "array"},
		{"json with bom", "", []byte("\xef\xbb\xbf{\"model_type\":\"gpt2\"}"), KindHFConfig, ""},
		{"invalid json named config.json", "config.json", []byte(`{"model_type": llama}`), KindText, ""},
		{"truncated json", "", []byte(`{"model_type": "llama"`), KindText, ""},
		{"json trailing garbage", "", []byte(`{"model_type": "llama"} x`), KindText, ""},
		{"model card", "README.md", []byte(modelCard), KindModelCard, "front matter"},
		{"model card no name", "", []byte(modelCard), KindModelCard, ""},
		{"model card crlf", "README.md", []byte(strings.ReplaceAll(modelCard, "\n", "\r\n")), KindModelCard, ""},
		{"front matter unclosed", "README.md", []byte("---\nlicense: mit\n# hi\n"), KindMarkdown, ""},
		{"front matter in txt", "notes.txt", []byte(modelCard), KindText, ""},
		{"readme", "README.md", []byte("# Model\n\nLicensed under the Apache License 2.0.\n"), KindMarkdown, ""},
		{"markdown", "USAGE.md", []byte("# Usage\n"), KindMarkdown, ""},
		{"license by name", "LICENSE", []byte("Do what you like.\n"), KindLicense, "name"},
		{"license by name txt", "LICENSE.txt", []byte("Do what you like.\n"), KindLicense, ""},
		{"license by wording", "", []byte("Copyright 2024\n\nPermission is hereby granted, free of charge\n"), KindLicense, "Permission is hereby granted"},
		{"python", "convert.py", []byte("import torch\n"), KindPython, ""},
		{"python empty", "__init__.py", nil, KindPython, ""},
		{"python shebang", "", []byte("#!/usr/bin/env python3\nprint(1)\n"), KindPython, "shebang"},
		{"python named json", "x.py", []byte(`{"model_type":"x"}`), KindHFConfig, ""},
		{"text", "", []byte("hello\n"), KindText, ""},
		{"empty", "", nil, KindText, "empty"},
		{"nul is binary", "notes.txt", []byte("hello\x00world"), KindBinary, ""},
		{"invalid utf-8 is binary", "", []byte("caf\xe9 au lait"), KindBinary, ""},
		{"random bytes", "", []byte{0xde, 0xad, 0xbe, 0xef, 0x01, 0x02, 0x03}, KindBinary, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := detectBytes(t, tt.data, tt.file)
			if got.Kind != tt.want {
				t.Errorf("Kind = %q (%s), want %q", got.Kind, got.Detail, tt.want)
			}
			if !strings.Contains(got.Detail, tt.wantNote) {
				t.Errorf("Detail = %q, want it to contain %q", got.Detail, tt.wantNote)
			}
		})
	}
}

// TestDetectLargeText checks text detection when the head ends inside a
// multi-byte rune.
func TestDetectLargeText(t *testing.T) {
	for _, pad := range []int{0, 1, 2} {
		b := []byte(strings.Repeat("x", pad) + strings.Repeat("é€😀", headSize/4))
		got := detectBytes(t, b, "")
		if got.Kind != KindText {
			t.Errorf("pad %d: Kind = %q, want text", pad, got.Kind)
		}
	}
}

// TestDetectLargePickle checks a protocol 0 pickle longer than the head.
func TestDetectLargePickle(t *testing.T) {
	var b bytes.Buffer
	b.WriteString("(lp0\n")
	for i := range 20000 {
		b.WriteString("I")
		b.WriteString(strings.Repeat("7", 1+i%5))
		b.WriteString("\na")
	}
	b.WriteString(".")
	if got := detectBytes(t, b.Bytes(), ""); got.Kind != KindPickle {
		t.Errorf("Kind = %q, want pickle", got.Kind)
	}
	// The same without the final STOP is not a pickle.
	if got := detectBytes(t, b.Bytes()[:b.Len()-1], ""); got.Kind == KindPickle {
		t.Errorf("unterminated: Kind = %q, want not pickle", got.Kind)
	}
}

// TestDetectLargeSentencePiece checks a SentencePiece model beyond the head.
func TestDetectLargeSentencePiece(t *testing.T) {
	b := sentencePieceFile(20000)
	if len(b) <= headSize {
		t.Fatalf("test file only %d bytes", len(b))
	}
	got := detectBytes(t, b, "")
	if got.Kind != KindSentencePiece || got.Detail != "sentencepiece: 20002 pieces" {
		t.Errorf("got %+v", got)
	}
	// One byte short is no longer a clean walk.
	if got := detectBytes(t, b[:len(b)-1], ""); got.Kind == KindSentencePiece {
		t.Errorf("truncated: Kind = %q", got.Kind)
	}
}

func TestDetectLicenseCorpus(t *testing.T) {
	files, _ := filepath.Glob("/work/shared/corpus/licenses/*.LICENSE")
	if len(files) == 0 {
		t.Skip("licence corpus not present")
	}
	for _, fn := range files {
		b, err := os.ReadFile(fn)
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"", "LICENSE", filepath.Base(fn)} {
			t.Run(filepath.Base(fn)+"/"+name, func(t *testing.T) {
				if got := detectBytes(t, b, name); got.Kind != KindLicense {
					t.Errorf("Kind = %q (%s), want license", got.Kind, got.Detail)
				}
			})
		}
	}
}

// shortReader claims more bytes than it has.
type shortReader struct{ b []byte }

func (r shortReader) ReadAt(p []byte, off int64) (int, error) {
	if off >= int64(len(r.b)) {
		return 0, io.EOF
	}
	n := copy(p, r.b[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func TestDetectErrors(t *testing.T) {
	if _, err := Detect(bytes.NewReader(nil), -1, ""); err == nil {
		t.Error("negative size: no error")
	}
	_, err := Detect(shortReader{[]byte("hello")}, 100, "")
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("short file: err = %v, want ErrUnexpectedEOF", err)
	}
	// Short beyond the head: a long JSON file that ends early.
	long := append([]byte(`{"a":"`), bytes.Repeat([]byte("x"), headSize)...)
	_, err = Detect(shortReader{long}, int64(len(long))+10, "")
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("short JSON: err = %v, want ErrUnexpectedEOF", err)
	}
}

func TestDetectRandomIsStable(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 200 {
		b := make([]byte, r.IntN(300))
		for j := range b {
			b[j] = byte(r.Uint32())
		}
		a := detectBytes(t, b, "model.bin")
		c := detectBytes(t, b, "README.md")
		if isBinaryDecision(a.Kind) || isBinaryDecision(c.Kind) {
			if a.Kind != c.Kind {
				t.Errorf("case %d: kind depends on name: %q vs %q", i, a.Kind, c.Kind)
			}
		}
	}
}

// isBinaryDecision reports whether k is decided by bytes alone.
func isBinaryDecision(k Kind) bool {
	switch k {
	case KindJSON, KindHFConfig, KindHFGenerationConfig, KindHFTokenizer, KindHFTokenizerConfig,
		KindSafetensorsIndex, KindModelCard, KindLicense, KindMarkdown, KindText, KindPython:
		return false
	}
	return true
}

func TestKindFromName(t *testing.T) {
	tests := []struct {
		name string
		want Kind
	}{
		{"model.gguf", KindGGUF},
		{"dir/model-00001-of-00004.safetensors", KindSafetensors},
		{"model.safetensors.index.json", KindSafetensorsIndex},
		{"pytorch_model.bin", KindPyTorchZip},
		{"pytorch_model-00001-of-00002.bin", KindPyTorchZip},
		{"weights.bin", KindBinary},
		{"model.pt", KindPyTorchZip},
		{"model.PTH", KindPyTorchZip},
		{"data.pkl", KindPickle},
		{"a.npy", KindNumPy},
		{"a.npz", KindNumPyZip},
		{"model.onnx", KindONNX},
		{"model.keras", KindKeras},
		{"tf_model.h5", KindHDF5},
		{"x.zip", KindZip},
		{"tokenizer.model", KindSentencePiece},
		{"spiece.model", KindSentencePiece},
		{"config.json", KindHFConfig},
		{"generation_config.json", KindHFGenerationConfig},
		{"tokenizer.json", KindHFTokenizer},
		{"tokenizer_config.json", KindHFTokenizerConfig},
		{"special_tokens_map.json", KindJSON},
		{"README.md", KindModelCard},
		{"readme", KindModelCard},
		{"LICENSE", KindLicense},
		{"LICENSE.txt", KindLicense},
		{"LICENSE-APACHE", KindLicense},
		{"COPYING", KindLicense},
		{"NOTICE", KindLicense},
		{"llama3.LICENSE", KindLicense},
		{"llama2_license.txt", KindLicense},
		{"USE_POLICY.md", KindMarkdown},
		{"notes.txt", KindText},
		{`C:\models\convert.py`, KindPython},
		{"noext", KindBinary},
		{"", KindBinary},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := KindFromName(tt.name); got != tt.want {
				t.Errorf("KindFromName(%q) = %q, want %q", tt.name, got, tt.want)
			}
		})
	}
}

func TestClass(t *testing.T) {
	tests := []struct {
		kind Kind
		want Class
	}{
		{KindGGUF, ClassWeight}, {KindSafetensors, ClassWeight}, {KindPyTorchZip, ClassWeight},
		{KindPyTorchLegacy, ClassWeight}, {KindPickle, ClassWeight}, {KindNumPy, ClassWeight},
		{KindNumPyZip, ClassWeight}, {KindONNX, ClassWeight}, {KindKeras, ClassWeight}, {KindHDF5, ClassWeight},
		{KindHFConfig, ClassWeightConfig}, {KindHFGenerationConfig, ClassWeightConfig},
		{KindHFTokenizer, ClassWeightConfig}, {KindHFTokenizerConfig, ClassWeightConfig},
		{KindSafetensorsIndex, ClassWeightConfig}, {KindSentencePiece, ClassWeightConfig},
		{KindModelCard, ClassDoc}, {KindLicense, ClassDoc}, {KindMarkdown, ClassDoc}, {KindText, ClassDoc},
		{KindPython, ClassCode},
		{KindJSON, ClassOther}, {KindZip, ClassOther}, {KindBinary, ClassOther}, {Kind("nonsense"), ClassOther},
	}
	for _, tt := range tests {
		t.Run(string(tt.kind), func(t *testing.T) {
			if got := tt.kind.Class(); got != tt.want {
				t.Errorf("%q.Class() = %q, want %q", tt.kind, got, tt.want)
			}
		})
	}
}

// countingReader serves prefix followed by zeros up to size, counting the
// bytes it hands out.
type countingReader struct {
	prefix []byte
	size   int64
	read   int64
}

func (r *countingReader) ReadAt(p []byte, off int64) (int, error) {
	if off >= r.size {
		return 0, io.EOF
	}
	n := len(p)
	if int64(n) > r.size-off {
		n = int(r.size - off)
	}
	clear(p[:n])
	if off < int64(len(r.prefix)) {
		copy(p[:n], r.prefix[off:])
	}
	r.read += int64(n)
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// TestDetectReadsLittle checks that large files cost about one head read.
func TestDetectReadsLittle(t *testing.T) {
	const size = 10 << 30
	tests := []struct {
		name   string
		prefix []byte
		want   Kind
	}{
		{"gguf", ggufFile(), KindGGUF},
		{"safetensors", cat(le64(1<<20), []byte(stHeader)), KindSafetensors},
		{"pickle", []byte("\x80\x02}q\x00"), KindPickle},
		{"zeros", nil, KindBinary},
		{"text", []byte(strings.Repeat("lorem ipsum ", 10000)), KindText},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &countingReader{prefix: tt.prefix, size: size}
			res, err := Detect(r, size, "model.bin")
			if err != nil {
				t.Fatal(err)
			}
			if res.Kind != tt.want {
				t.Errorf("Kind = %q, want %q", res.Kind, tt.want)
			}
			if r.read > headSize+16 {
				t.Errorf("read %d bytes, want at most %d", r.read, headSize+16)
			}
		})
	}
}

func TestConsistent(t *testing.T) {
	tests := []struct {
		claimed, actual Kind
		want            bool
	}{
		{KindSafetensors, KindSafetensors, true},
		{KindSafetensors, KindPickle, false},
		{KindPyTorchZip, KindGGUF, false},
		{KindPyTorchZip, KindPyTorchLegacy, true},
		{KindPickle, KindPyTorchLegacy, true},
		{KindPyTorchZip, KindPickle, false},
		{KindBinary, KindGGUF, true},
		{KindModelCard, KindMarkdown, true},
		{KindText, KindLicense, true},
		{KindPython, KindText, false},
		{KindHFConfig, KindJSON, true},
		{KindJSON, KindHFTokenizer, true},
		{KindHFConfig, KindPickle, false},
		{KindZip, KindPyTorchZip, true},
		{KindZip, KindGGUF, false},
		{KindONNX, KindBinary, false},
	}
	for _, tt := range tests {
		t.Run(string(tt.claimed)+"/"+string(tt.actual), func(t *testing.T) {
			if got := Consistent(tt.claimed, tt.actual); got != tt.want {
				t.Errorf("Consistent(%q, %q) = %v, want %v", tt.claimed, tt.actual, got, tt.want)
			}
		})
	}
}
