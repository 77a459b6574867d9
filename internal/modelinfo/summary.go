package modelinfo

import (
	"fmt"
	"path"
	"strings"

	"sov.dev/sov/internal/filetype"
	"sov.dev/sov/internal/manifest"
)

// Summary is what the files of a model say about the model as a whole. Its
// JSON fields are stable (see docs/cli.md).
type Summary struct {
	// Format is the main weight format: the format of the weight files that
	// make up most of the model's bytes ("gguf", "safetensors", "pytorch",
	// "onnx", …), or "" when the model holds no recognised weights.
	Format         string `json:"format"`
	Architecture   string `json:"architecture"`
	ParameterCount uint64 `json:"parameter_count"`
	Quantization   string `json:"quantization,omitempty"`
	Precision      string `json:"precision,omitempty"`

	ContextLength   uint64 `json:"context_length,omitempty"`
	EmbeddingLength uint64 `json:"embedding_length,omitempty"`
	BlockCount      uint64 `json:"block_count,omitempty"`
	HeadCount       uint64 `json:"head_count,omitempty"`
	HeadCountKV     uint64 `json:"head_count_kv,omitempty"`
	VocabSize       uint64 `json:"vocab_size,omitempty"`
	TokenizerModel  string `json:"tokenizer_model,omitempty"`
	HasChatTemplate bool   `json:"has_chat_template"`

	// ModelName, Licenses, BaseModels … are what the files claim about
	// themselves (GGUF general.* keys, the model card); nothing here is
	// verified.
	ModelName         string   `json:"model_name,omitempty"`
	Licenses          []string `json:"licenses,omitempty"`
	LicenseFiles      []string `json:"license_files,omitempty"`
	BaseModels        []string `json:"base_models,omitempty"`
	BaseModelRelation string   `json:"base_model_relation,omitempty"`
	Datasets          []string `json:"datasets,omitempty"`
	Languages         []string `json:"languages,omitempty"`
	Tags              []string `json:"tags,omitempty"`
	PipelineTag       string   `json:"pipeline_tag,omitempty"`

	Warnings []string `json:"warnings,omitempty"`
}

// Summarize combines file descriptions into a model summary.
func Summarize(files []File) Summary {
	var s Summary
	weightBytes := map[string]int64{}
	for _, f := range files {
		if fm := formatOf(f.Kind); fm != "" {
			weightBytes[fm] += f.Size
		}
		if f.Warning != "" {
			s.Warnings = append(s.Warnings, f.Path+": "+f.Warning)
		}
		if f.Kind == filetype.KindLicense {
			s.LicenseFiles = append(s.LicenseFiles, f.Path)
		}
	}
	var best int64 = -1
	for _, fm := range sortedKeys(weightBytes) {
		if weightBytes[fm] > best {
			s.Format, best = fm, weightBytes[fm]
		}
	}
	switch s.Format {
	case "gguf":
		s.fromGGUF(files)
	case "safetensors":
		s.fromSafetensors(files)
	}
	s.fromHF(files)
	s.fromCard(files)
	return s
}

// fromGGUF takes the model's facts from its largest GGUF file; the files of
// a split GGUF (split.count > 1) add up their parameters.
func (s *Summary) fromGGUF(files []File) {
	var main *File
	var splitParams uint64
	for i := range files {
		f := &files[i]
		if f.GGUF == nil {
			continue
		}
		if main == nil || f.Size > main.Size {
			main = f
		}
		if n, ok := f.GGUF.Metadata["split.count"]; ok && fmt.Sprint(n) != "1" && fmt.Sprint(n) != "0" {
			splitParams += f.GGUF.ParameterCount
		}
	}
	if main == nil {
		return
	}
	g := main.GGUF
	s.Architecture = g.Architecture
	s.ParameterCount = g.ParameterCount
	if splitParams > 0 {
		s.ParameterCount = splitParams
	}
	s.Quantization = g.Quantization
	switch strings.ToUpper(g.Quantization) {
	case "F32", "ALL_F32":
		s.Precision = "fp32"
	case "F16", "MOSTLY_F16":
		s.Precision = "fp16"
	case "BF16", "MOSTLY_BF16":
		s.Precision = "bf16"
	}
	s.ContextLength = g.ContextLength
	s.EmbeddingLength = g.EmbeddingLength
	s.BlockCount = g.BlockCount
	s.HeadCount = g.HeadCount
	s.HeadCountKV = g.HeadCountKV
	s.VocabSize = g.VocabSize
	s.TokenizerModel = g.TokenizerModel
	s.HasChatTemplate = g.HasChatTemplate
	str := func(k string) string {
		if v, ok := g.General[k].(string); ok {
			return v
		}
		return ""
	}
	s.ModelName = str("name")
	s.Licenses = appendUnique(s.Licenses, str("license"))
	if s.Licenses == nil && str("license.name") != "" {
		s.Licenses = appendUnique(s.Licenses, str("license.name"))
	}
	for i := 0; i < 64; i++ {
		p := fmt.Sprintf("base_model.%d.", i)
		name := str(p + "repo_url")
		if name == "" {
			name = str(p + "name")
		}
		if org := str(p + "organization"); name != "" && org != "" && !strings.Contains(name, "/") && str(p+"repo_url") == "" {
			name = org + "/" + name
		}
		if name == "" {
			break
		}
		s.BaseModels = appendUnique(s.BaseModels, name)
	}
}

// fromSafetensors adds up the parameters of every safetensors file and
// checks a sharded model's index against its shards.
func (s *Summary) fromSafetensors(files []File) {
	dtypes := map[string]uint64{}
	present := map[string]bool{}
	tensors := 0
	for _, f := range files {
		if f.Safetensors == nil {
			continue
		}
		present[f.Path] = true
		s.ParameterCount += f.Safetensors.ParameterCount
		tensors += f.Safetensors.TensorCount
		for dt, n := range f.Safetensors.DTypes {
			dtypes[dt] += n
		}
	}
	s.Precision = precision(dtypes)
	for _, f := range files {
		ix := f.SafetensorsIndex
		if ix == nil {
			continue
		}
		dir := path.Dir(f.Path)
		for _, shard := range ix.Shards {
			if !present[path.Join(dir, shard)] {
				s.Warnings = append(s.Warnings, fmt.Sprintf("%s: shard %s is not part of the model", f.Path, shard))
			}
		}
		if ix.Tensors != tensors && len(ix.Shards) > 0 {
			s.Warnings = append(s.Warnings, fmt.Sprintf("%s: index lists %d tensors, the shards hold %d", f.Path, ix.Tensors, tensors))
		}
	}
}

// precision names the dominant floating-point type by parameter count, or
// "mixed" when no type holds at least 90% of the parameters.
func precision(dtypes map[string]uint64) string {
	var total, top uint64
	var name string
	for _, dt := range sortedKeys(dtypes) {
		n := dtypes[dt]
		total += n
		if n > top {
			top, name = n, dt
		}
	}
	if total == 0 {
		return ""
	}
	if top*10 < total*9 {
		return "mixed"
	}
	switch name {
	case "F16":
		return "fp16"
	case "BF16":
		return "bf16"
	case "F32":
		return "fp32"
	case "F64":
		return "fp64"
	}
	return strings.ToLower(name)
}

// fromHF fills what GGUF did not say from Hugging Face config files.
func (s *Summary) fromHF(files []File) {
	for _, f := range files {
		if c := f.Config; c != nil && path.Dir(f.Path) == "." {
			if s.Architecture == "" {
				s.Architecture = c.ModelType
				if s.Architecture == "" && len(c.Architectures) > 0 {
					s.Architecture = c.Architectures[0]
				}
			}
			setIfZero(&s.ContextLength, c.MaxPositionEmbeddings)
			setIfZero(&s.EmbeddingLength, c.HiddenSize)
			setIfZero(&s.BlockCount, c.NumHiddenLayers)
			setIfZero(&s.HeadCount, c.NumAttentionHeads)
			setIfZero(&s.HeadCountKV, c.NumKeyValueHeads)
			setIfZero(&s.VocabSize, c.VocabSize)
			if s.Quantization == "" && c.Quantization != nil {
				if m, ok := c.Quantization["quant_method"].(string); ok {
					s.Quantization = m
				}
			}
			if s.Precision == "" {
				s.Precision = strings.TrimPrefix(c.TorchDtype, "torch.")
			}
		}
		if t := f.TokenizerConfig; t != nil && t.HasChatTemplate {
			s.HasChatTemplate = true
		}
		if t := f.Tokenizer; t != nil && s.TokenizerModel == "" {
			s.TokenizerModel = t.Model
		}
	}
	if s.HeadCountKV == 0 {
		s.HeadCountKV = s.HeadCount
	}
}

func setIfZero(dst *uint64, v int64) {
	if *dst == 0 && v > 0 {
		*dst = uint64(v)
	}
}

// fromCard adds what the top-level model card claims.
func (s *Summary) fromCard(files []File) {
	for _, f := range files {
		c := f.ModelCard
		if c == nil || path.Dir(f.Path) != "." {
			continue
		}
		lic := c.License
		if (lic == "other" || lic == "") && c.LicenseName != "" {
			lic = c.LicenseName
		}
		s.Licenses = appendUnique(s.Licenses, lic)
		s.BaseModels = appendUnique(s.BaseModels, c.BaseModel...)
		if s.BaseModelRelation == "" {
			s.BaseModelRelation = c.BaseModelRelation
		}
		s.Datasets = appendUnique(s.Datasets, c.Datasets...)
		s.Languages = appendUnique(s.Languages, c.Language...)
		s.Tags = appendUnique(s.Tags, c.Tags...)
		if s.PipelineTag == "" {
			s.PipelineTag = c.PipelineTag
		}
	}
}

// ModelPackConfig returns the ModelPack config that records this summary in
// the manifest. It holds only facts derived from the content, so the same
// files always give the same config.
func (s Summary) ModelPackConfig() manifest.Config {
	return manifest.Config{
		Descriptor: manifest.ModelDescriptor{
			Name:     s.ModelName,
			Family:   s.Architecture,
			Licenses: s.Licenses,
			Datasets: s.Datasets,
		},
		Config: manifest.ModelConfig{
			Architecture: s.Architecture,
			Format:       s.Format,
			ParamSize:    paramSize(s.ParameterCount),
			Precision:    s.Precision,
			Quantization: s.Quantization,
		},
	}
}

// MainGGUF returns the model's main GGUF file, the one the engine loads:
// the largest file of the GGUF kind. Nil when there is none.
func MainGGUF(files []File) *File {
	var main *File
	for i := range files {
		f := &files[i]
		if f.Kind == filetype.KindGGUF && (main == nil || f.Size > main.Size) {
			main = f
		}
	}
	return main
}
