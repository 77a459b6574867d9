// Package filetype tells what a file is from its content: a GGUF or
// safetensors weight file, a PyTorch checkpoint, a pickle, a Hugging Face
// config, a model card, a licence, and so on.
//
// Detection reads only a small head of the file (and, for zip archives, the
// central directory; for JSON and protobuf files, a bounded structural walk).
// Binary formats are decided by their bytes alone, never by the file name, so
// a pickle named model.safetensors is reported as a pickle. Text is valid
// UTF-8 without NUL or other control bytes (tab, newlines, form feed and
// escape excepted); the name only breaks ties among text kinds (README.md,
// LICENSE, *.py).
//
// This package recognises formats cheaply; it does not parse them. It must
// not decode tensors, unpickle anything or execute anything, and it never
// panics on hostile input: unknown bytes are simply KindBinary.
package filetype

import (
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
)

// Kind is a stable lowercase identifier for a file format, used in JSON
// output. Its values never change meaning once released.
type Kind string

// The kinds Detect and KindFromName return.
const (
	KindGGUF               Kind = "gguf"
	KindSafetensors        Kind = "safetensors"
	KindSafetensorsIndex   Kind = "safetensors-index"
	KindPyTorchZip         Kind = "pytorch-zip"
	KindPyTorchLegacy      Kind = "pytorch-legacy"
	KindPickle             Kind = "pickle"
	KindNumPy              Kind = "numpy"
	KindNumPyZip           Kind = "numpy-npz"
	KindONNX               Kind = "onnx"
	KindKeras              Kind = "keras"
	KindHDF5               Kind = "hdf5"
	KindZip                Kind = "zip"
	KindSentencePiece      Kind = "sentencepiece"
	KindHFConfig           Kind = "hf-config"
	KindHFGenerationConfig Kind = "hf-generation-config"
	KindHFTokenizer        Kind = "hf-tokenizer"
	KindHFTokenizerConfig  Kind = "hf-tokenizer-config"
	KindJSON               Kind = "json"
	KindModelCard          Kind = "model-card"
	KindLicense            Kind = "license"
	KindMarkdown           Kind = "markdown"
	KindText               Kind = "text"
	KindPython             Kind = "python"
	KindBinary             Kind = "binary"
)

// Class groups kinds by what they are for.
type Class string

// The classes Kind.Class returns.
const (
	ClassWeight       Class = "weight"        // tensors: GGUF, safetensors, pickles, ONNX, …
	ClassWeightConfig Class = "weight-config" // files a loader needs beside the weights
	ClassDoc          Class = "doc"           // model cards, licences, prose
	ClassCode         Class = "code"          // source code
	ClassDataset      Class = "dataset"       // training or evaluation data
	ClassOther        Class = "other"         // everything else
)

// Class returns the class of k. Unknown kinds are ClassOther. No kind is
// currently ClassDataset; the class exists for callers that classify files by
// other means.
func (k Kind) Class() Class {
	switch k {
	case KindGGUF, KindSafetensors, KindPyTorchZip, KindPyTorchLegacy, KindPickle,
		KindNumPy, KindNumPyZip, KindONNX, KindKeras, KindHDF5:
		return ClassWeight
	case KindHFConfig, KindHFGenerationConfig, KindHFTokenizer, KindHFTokenizerConfig,
		KindSafetensorsIndex, KindSentencePiece:
		return ClassWeightConfig
	case KindModelCard, KindLicense, KindMarkdown, KindText:
		return ClassDoc
	case KindPython:
		return ClassCode
	default:
		return ClassOther
	}
}

// Result is what Detect found.
type Result struct {
	Kind Kind `json:"kind"`
	// Detail is a short human note, e.g. "pickle protocol 2" or
	// "zip: 12 members". It is not meant to be parsed.
	Detail string `json:"detail,omitempty"`
}

// headSize is how much of the start of a file Detect reads.
const headSize = 64 << 10

// Detect reports what the size bytes readable from r are. name (a base name
// or path; may be empty) only breaks ties among text kinds.
//
// The error is non-nil only when r cannot be read (or is shorter than size);
// content that matches no format is KindBinary, not an error.
func Detect(r io.ReaderAt, size int64, name string) (Result, error) {
	if size < 0 {
		return Result{}, fmt.Errorf("filetype: negative size %d", size)
	}
	head := make([]byte, min(size, headSize))
	if err := readAt(r, head, 0); err != nil {
		return Result{}, err
	}
	f := &file{r: r, size: size, head: head, name: path.Base(strings.ReplaceAll(name, `\`, "/"))}
	if name == "" {
		f.name = ""
	}
	for _, detect := range []func(*file) (Result, bool, error){
		detectGGUF,
		detectSafetensors,
		detectNumPy,
		detectHDF5,
		detectZip,
		detectPickle,
		detectONNX,
		detectSentencePiece,
		detectText,
	} {
		res, ok, err := detect(f)
		if err != nil {
			return Result{}, err
		}
		if ok {
			return res, nil
		}
	}
	return Result{Kind: KindBinary}, nil
}

// file is one file under detection.
type file struct {
	r    io.ReaderAt
	size int64
	head []byte // the first min(size, headSize) bytes
	name string // base name, "" when unknown
}

// whole reports whether head holds the entire file.
func (f *file) whole() bool { return int64(len(f.head)) == f.size }

// KindFromName returns the kind a file's name claims, for "claims X but is
// Y" checks (see Consistent). It looks at the base name only and never at
// content. Names that claim nothing in particular are KindBinary.
//
// README files claim KindModelCard, as on the Hugging Face hub. .pt, .pth,
// .ckpt and pytorch_model*.bin claim KindPyTorchZip (the format torch.save
// has written since PyTorch 1.6); older checkpoints with those names are
// KindPyTorchLegacy by content, which Consistent accepts.
func KindFromName(name string) Kind {
	base := path.Base(strings.ReplaceAll(name, `\`, "/"))
	lower := strings.ToLower(base)
	ext := path.Ext(lower)
	switch {
	case lower == "config.json":
		return KindHFConfig
	case lower == "generation_config.json":
		return KindHFGenerationConfig
	case lower == "tokenizer.json":
		return KindHFTokenizer
	case lower == "tokenizer_config.json":
		return KindHFTokenizerConfig
	case strings.HasSuffix(lower, ".safetensors.index.json"):
		return KindSafetensorsIndex
	case lower == "tokenizer.model" || ext == ".model":
		return KindSentencePiece
	case isReadmeName(lower):
		return KindModelCard
	case isLicenseName(lower):
		return KindLicense
	}
	switch ext {
	case ".gguf":
		return KindGGUF
	case ".safetensors":
		return KindSafetensors
	case ".pt", ".pth", ".ckpt":
		return KindPyTorchZip
	case ".bin":
		if strings.HasPrefix(lower, "pytorch_model") || strings.HasPrefix(lower, "training_args") ||
			strings.HasPrefix(lower, "adapter_model") || strings.HasPrefix(lower, "optimizer") {
			return KindPyTorchZip
		}
		return KindBinary
	case ".pkl", ".pickle":
		return KindPickle
	case ".npy":
		return KindNumPy
	case ".npz":
		return KindNumPyZip
	case ".onnx":
		return KindONNX
	case ".keras":
		return KindKeras
	case ".h5", ".hdf5", ".hdf":
		return KindHDF5
	case ".zip":
		return KindZip
	case ".json":
		return KindJSON
	case ".md", ".markdown", ".mdx":
		return KindMarkdown
	case ".txt", ".text":
		return KindText
	case ".py", ".pyi":
		return KindPython
	}
	return KindBinary
}

// Consistent reports whether content of kind actual is a plausible match
// for a name that claims kind claimed (see KindFromName), so that callers
// flag only mismatches that matter. It is true when the kinds are equal,
// when the name claims nothing (KindBinary), among prose kinds (model card,
// Markdown, text, licence), among JSON kinds, for an old-style PyTorch
// checkpoint under a PyTorch or pickle name, and for zip-based formats
// under a .zip name. A pickle named .safetensors, or a GGUF file named
// pytorch_model.bin, is not consistent.
func Consistent(claimed, actual Kind) bool {
	if claimed == actual || claimed == KindBinary {
		return true
	}
	prose := func(k Kind) bool {
		return k == KindModelCard || k == KindMarkdown || k == KindText || k == KindLicense
	}
	jsonish := func(k Kind) bool {
		switch k {
		case KindJSON, KindHFConfig, KindHFGenerationConfig, KindHFTokenizer,
			KindHFTokenizerConfig, KindSafetensorsIndex:
			return true
		}
		return false
	}
	switch {
	case prose(claimed) && prose(actual), jsonish(claimed) && jsonish(actual):
		return true
	case actual == KindPyTorchLegacy:
		return claimed == KindPyTorchZip || claimed == KindPickle
	case claimed == KindZip:
		return actual == KindPyTorchZip || actual == KindNumPyZip || actual == KindKeras
	}
	return false
}

// isReadmeName reports whether lower (a lower-case base name) is a README.
func isReadmeName(lower string) bool {
	return lower == "readme" || strings.HasPrefix(lower, "readme.")
}

// isMarkdownName reports whether lower (a lower-case base name) is Markdown.
func isMarkdownName(lower string) bool {
	switch path.Ext(lower) {
	case ".md", ".markdown", ".mdx":
		return true
	}
	return false
}

// isLicenseName reports whether lower (a lower-case base name) names a
// licence or notice file: LICENSE, LICENSE.txt, LICENSE-MIT, COPYING,
// NOTICE, llama2_license.txt, mit.license, …
func isLicenseName(lower string) bool {
	if path.Ext(lower) == ".license" || path.Ext(lower) == ".licence" {
		return true
	}
	stem := strings.TrimSuffix(lower, path.Ext(lower))
	if strings.HasSuffix(stem, "license") || strings.HasSuffix(stem, "licence") {
		return true
	}
	for _, p := range []string{"license", "licence", "copying", "notice", "unlicense", "copyright"} {
		if stem == p || strings.HasPrefix(lower, p+"-") || strings.HasPrefix(lower, p+"_") ||
			strings.HasPrefix(lower, p+".") {
			return true
		}
	}
	return false
}

// readAt fills b from r at off. A short read is an error (the file is
// shorter than the size Detect was given).
func readAt(r io.ReaderAt, b []byte, off int64) error {
	n, err := r.ReadAt(b, off)
	if n == len(b) {
		return nil
	}
	if err == nil || errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return fmt.Errorf("filetype: reading %d bytes at offset %d: %w", len(b), off, err)
}
