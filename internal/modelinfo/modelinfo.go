// Package modelinfo works out what a model is from its files' content: each
// file's kind (by its bytes, never its name), its format-specific facts
// (GGUF metadata and tensor table, safetensors tensors, Hugging Face config,
// model card …), and a summary of the whole model (main format,
// architecture, parameter count, quantisation, licence and lineage claims).
//
// It reads file headers only, never whole weight files, and never executes
// or deserialises code-bearing formats (pickles are only recognised here;
// the scanner examines them). A file that claims to be GGUF or safetensors
// by its magic bytes but does not parse is an error; a malformed auxiliary
// file (config, card) is recorded as a warning.
package modelinfo

import (
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"sov.dev/sov/internal/digest"
	"sov.dev/sov/internal/filetype"
	"sov.dev/sov/internal/gguf"
	"sov.dev/sov/internal/hfconfig"
	"sov.dev/sov/internal/manifest"
	"sov.dev/sov/internal/modelcard"
	"sov.dev/sov/internal/safetensors"
)

// Limits on auxiliary files read whole.
const (
	maxJSONFile = 64 << 20
	maxCardFile = 4 << 20
	// metadataArrayLimit is how many elements of a GGUF metadata array are
	// kept in descriptions; longer arrays (vocabularies) are summarised.
	metadataArrayLimit = 16
)

// File describes one file of a model. Its JSON fields are stable (see
// docs/cli.md).
type File struct {
	Path      string        `json:"path"`
	Size      int64         `json:"size"`
	Digest    digest.Digest `json:"digest"`
	MediaType string        `json:"media_type"`
	Kind      filetype.Kind `json:"kind"`
	Detail    string        `json:"detail,omitempty"`

	GGUF             *GGUF                      `json:"gguf,omitempty"`
	Safetensors      *Safetensors               `json:"safetensors,omitempty"`
	SafetensorsIndex *SafetensorsIndex          `json:"safetensors_index,omitempty"`
	Config           *hfconfig.Config           `json:"config,omitempty"`
	GenerationConfig *hfconfig.GenerationConfig `json:"generation_config,omitempty"`
	TokenizerConfig  *hfconfig.TokenizerConfig  `json:"tokenizer_config,omitempty"`
	Tokenizer        *hfconfig.Tokenizer        `json:"tokenizer,omitempty"`
	ModelCard        *modelcard.Card            `json:"model_card,omitempty"`

	// Warning says what was wrong with an auxiliary file that could not be
	// read; the model is still imported.
	Warning string `json:"warning,omitempty"`
}

// GGUF is what a GGUF file says about itself.
type GGUF struct {
	gguf.Facts
	Metadata   map[string]any `json:"metadata"`
	DataOffset int64          `json:"data_offset"`
	Alignment  uint64         `json:"alignment"`
	Tensors    []Tensor       `json:"tensors"`
}

// Tensor is one row of a tensor table.
type Tensor struct {
	Name   string   `json:"name"`
	Type   string   `json:"type"`
	Shape  []uint64 `json:"shape"`
	Offset uint64   `json:"offset"`
	Size   uint64   `json:"size"`
}

// Safetensors is what a safetensors file says about itself.
type Safetensors struct {
	safetensors.Facts
	HeaderSize uint64   `json:"header_size"`
	Tensors    []Tensor `json:"tensors"`
}

// SafetensorsIndex describes a sharded model's index.
type SafetensorsIndex struct {
	Shards    []string `json:"shards"`
	Tensors   int      `json:"tensors"`
	TotalSize uint64   `json:"total_size,omitempty"`
}

// Describe reads what it needs of a file to say what it is. path is the
// file's path in the model; it only breaks ties between text kinds.
func Describe(r io.ReaderAt, size int64, path string) (File, error) {
	res, err := filetype.Detect(r, size, path)
	if err != nil {
		return File{}, fmt.Errorf("detecting the file type: %w", err)
	}
	f := File{Path: path, Size: size, Kind: res.Kind, Detail: res.Detail, MediaType: MediaType(res.Kind)}
	switch res.Kind {
	case filetype.KindGGUF:
		g, err := gguf.Parse(r, size)
		if err != nil {
			return f, err
		}
		f.GGUF = describeGGUF(g)
	case filetype.KindSafetensors:
		s, err := safetensors.Parse(r, size)
		if err != nil {
			return f, err
		}
		f.Safetensors = describeSafetensors(s)
	case filetype.KindSafetensorsIndex:
		b, err := readAll(r, size, maxJSONFile)
		if err != nil {
			return f, err
		}
		ix, err := safetensors.ParseIndex(b)
		if err != nil {
			return f, err
		}
		f.SafetensorsIndex = &SafetensorsIndex{Shards: ix.Shards(), Tensors: len(ix.WeightMap)}
		f.SafetensorsIndex.TotalSize, _ = ix.TotalSize()
	case filetype.KindHFConfig:
		f.Config, f.Warning = parseJSON(r, size, hfconfig.ParseConfig)
	case filetype.KindHFGenerationConfig:
		f.GenerationConfig, f.Warning = parseJSON(r, size, hfconfig.ParseGenerationConfig)
	case filetype.KindHFTokenizerConfig:
		f.TokenizerConfig, f.Warning = parseJSON(r, size, hfconfig.ParseTokenizerConfig)
	case filetype.KindHFTokenizer:
		t, err := hfconfig.ParseTokenizer(io.NewSectionReader(r, 0, size))
		if err != nil {
			f.Warning = err.Error()
		} else {
			f.Tokenizer = t
		}
	case filetype.KindModelCard:
		b, err := readAll(r, size, maxCardFile)
		if err != nil {
			f.Warning = err.Error()
			break
		}
		c, err := modelcard.Parse(b)
		if err != nil {
			f.Warning = err.Error()
		} else {
			f.ModelCard = c
		}
	}
	return f, nil
}

func parseJSON[T any](r io.ReaderAt, size int64, parse func([]byte) (*T, error)) (*T, string) {
	b, err := readAll(r, size, maxJSONFile)
	if err != nil {
		return nil, err.Error()
	}
	v, err := parse(b)
	if err != nil {
		return nil, err.Error()
	}
	return v, ""
}

func readAll(r io.ReaderAt, size, limit int64) ([]byte, error) {
	if size > limit {
		return nil, fmt.Errorf("file is %d bytes, more than the %d bytes allowed for its kind", size, limit)
	}
	b := make([]byte, size)
	if _, err := r.ReadAt(b, 0); err != nil && err != io.EOF {
		return nil, err
	}
	return b, nil
}

func describeGGUF(g *gguf.File) *GGUF {
	out := &GGUF{
		Facts:      g.Facts(),
		Metadata:   g.MetadataSummary(metadataArrayLimit),
		DataOffset: g.DataOffset,
		Alignment:  g.Alignment,
		Tensors:    make([]Tensor, 0, len(g.Tensors)),
	}
	for _, t := range g.Tensors {
		n, _ := t.Bytes()
		out.Tensors = append(out.Tensors, Tensor{Name: t.Name, Type: t.Type.String(), Shape: t.Dims, Offset: t.Offset, Size: n})
	}
	return out
}

func describeSafetensors(s *safetensors.File) *Safetensors {
	out := &Safetensors{Facts: s.Facts(), HeaderSize: s.HeaderSize, Tensors: make([]Tensor, 0, len(s.Tensors))}
	for _, t := range s.Tensors {
		out.Tensors = append(out.Tensors, Tensor{Name: t.Name, Type: string(t.DType), Shape: t.Shape, Offset: t.Begin, Size: t.End - t.Begin})
	}
	return out
}

// MediaType maps a file kind to its ModelPack layer media type.
func MediaType(k filetype.Kind) string {
	switch k.Class() {
	case filetype.ClassWeightConfig:
		return manifest.MediaTypeWeightConfig
	case filetype.ClassDoc:
		return manifest.MediaTypeDoc
	case filetype.ClassCode:
		return manifest.MediaTypeCode
	case filetype.ClassDataset:
		return manifest.MediaTypeDataset
	case filetype.ClassWeight:
		return manifest.MediaTypeWeight
	}
	// Unknown content is treated as weights: the most careful choice, since
	// the trust gate scans weights.
	if k == filetype.KindJSON {
		return manifest.MediaTypeWeightConfig
	}
	return manifest.MediaTypeWeight
}

// formatOf names the model format a weight kind belongs to.
func formatOf(k filetype.Kind) string {
	switch k {
	case filetype.KindGGUF:
		return "gguf"
	case filetype.KindSafetensors:
		return "safetensors"
	case filetype.KindPyTorchZip, filetype.KindPyTorchLegacy:
		return "pytorch"
	case filetype.KindPickle:
		return "pickle"
	case filetype.KindNumPy, filetype.KindNumPyZip:
		return "numpy"
	case filetype.KindONNX:
		return "onnx"
	case filetype.KindKeras:
		return "keras"
	case filetype.KindHDF5:
		return "hdf5"
	}
	return ""
}

// paramSize formats a parameter count the ModelPack way: "135m", "1.2b".
func paramSize(n uint64) string {
	f := float64(n)
	for _, u := range []struct {
		div    float64
		suffix string
	}{{1e12, "t"}, {1e9, "b"}, {1e6, "m"}, {1e3, "k"}} {
		if f >= u.div {
			return strconv.FormatFloat(f/u.div, 'f', 1, 64) + u.suffix
		}
	}
	if n == 0 {
		return ""
	}
	return strconv.FormatUint(n, 10)
}

func appendUnique(list []string, items ...string) []string {
	for _, it := range items {
		it = strings.TrimSpace(it)
		if it == "" {
			continue
		}
		dup := false
		for _, x := range list {
			if strings.EqualFold(x, it) {
				dup = true
				break
			}
		}
		if !dup {
			list = append(list, it)
		}
	}
	return list
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
