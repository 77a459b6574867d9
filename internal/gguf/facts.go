package gguf

import (
	"fmt"
	"math"
	"strings"
)

// String returns the value of a string metadata key.
func (f *File) String(key string) (string, bool) {
	v, ok := f.Get(key)
	if !ok {
		return "", false
	}
	s, ok := v.V.(string)
	return s, ok
}

// Uint returns the value of an integer metadata key of any integer type,
// failing for a negative value.
func (f *File) Uint(key string) (uint64, bool) {
	v, ok := f.Get(key)
	if !ok {
		return 0, false
	}
	return toUint(v.V)
}

// Int returns the value of an integer metadata key of any integer type,
// failing for a uint64 too large for an int64.
func (f *File) Int(key string) (int64, bool) {
	v, ok := f.Get(key)
	if !ok {
		return 0, false
	}
	switch x := v.V.(type) {
	case uint64:
		if x > math.MaxInt64 {
			return 0, false
		}
		return int64(x), true
	case int8:
		return int64(x), true
	case int16:
		return int64(x), true
	case int32:
		return int64(x), true
	case int64:
		return x, true
	}
	u, ok := toUint(v.V)
	return int64(u), ok
}

// Float returns the value of a float32 or float64 metadata key.
func (f *File) Float(key string) (float64, bool) {
	v, ok := f.Get(key)
	if !ok {
		return 0, false
	}
	switch x := v.V.(type) {
	case float32:
		return float64(x), true
	case float64:
		return x, true
	}
	return 0, false
}

// Bool returns the value of a bool metadata key.
func (f *File) Bool(key string) (bool, bool) {
	v, ok := f.Get(key)
	if !ok {
		return false, false
	}
	b, ok := v.V.(bool)
	return b, ok
}

// Strings returns the value of a string-array metadata key.
func (f *File) Strings(key string) ([]string, bool) {
	v, ok := f.Get(key)
	if !ok {
		return nil, false
	}
	s, ok := v.V.([]string)
	return s, ok
}

func toUint(v any) (uint64, bool) {
	switch x := v.(type) {
	case uint8:
		return uint64(x), true
	case uint16:
		return uint64(x), true
	case uint32:
		return uint64(x), true
	case uint64:
		return x, true
	case int8:
		return uint64(x), x >= 0
	case int16:
		return uint64(x), x >= 0
	case int32:
		return uint64(x), x >= 0
	case int64:
		return uint64(x), x >= 0
	}
	return 0, false
}

// Facts is a summary of a model file for inspection and policy: what it is,
// how big, how quantised, and its main hyper-parameters.
type Facts struct {
	Version        uint32         `json:"version"`
	Architecture   string         `json:"architecture"`
	ParameterCount uint64         `json:"parameter_count"` // sum of tensor elements
	TensorCount    int            `json:"tensor_count"`
	TensorTypes    map[string]int `json:"tensor_types"` // type name -> number of tensors
	// Quantization is the llama.cpp file-type label ("Q4_K_M") when
	// general.file_type holds a known value, else the name of the tensor
	// type holding most weight elements ("Q4_K").
	Quantization string  `json:"quantization"`
	FileType     *uint32 `json:"file_type,omitempty"`

	// Hyper-parameters from "<architecture>.<name>". A per-layer array
	// counts as its largest element. HeadCountKV defaults to HeadCount, as
	// in llama.cpp. VocabSize is <architecture>.vocab_size or else the
	// length of tokenizer.ggml.tokens.
	ContextLength     uint64 `json:"context_length"`
	EmbeddingLength   uint64 `json:"embedding_length"`
	BlockCount        uint64 `json:"block_count"`
	FeedForwardLength uint64 `json:"feed_forward_length"`
	HeadCount         uint64 `json:"head_count"`
	HeadCountKV       uint64 `json:"head_count_kv"`
	VocabSize         uint64 `json:"vocab_size"`

	TokenizerModel  string `json:"tokenizer_model,omitempty"`
	TokenizerPre    string `json:"tokenizer_pre,omitempty"`
	HasChatTemplate bool   `json:"has_chat_template"`

	// General holds every general.* key with the prefix stripped ("name",
	// "license", "base_model.0.name"…), values as in MetadataSummary with
	// arrays of more than generalMaxArray elements summarised.
	General map[string]any `json:"general,omitempty"`
}

const generalMaxArray = 256

// Facts summarises f.
func (f *File) Facts() Facts {
	arch, _ := f.String("general.architecture")
	fc := Facts{
		Version:      f.Version,
		Architecture: arch,
		TensorCount:  len(f.Tensors),
		TensorTypes:  make(map[string]int),
	}
	for _, t := range f.Tensors {
		fc.ParameterCount += t.Elements()
		fc.TensorTypes[t.Type.String()]++
	}
	if ft, ok := f.Uint("general.file_type"); ok && ft <= math.MaxUint32 {
		ft32 := uint32(ft)
		fc.FileType = &ft32
		fc.Quantization, _ = FileTypeName(ft32)
	}
	if fc.Quantization == "" {
		fc.Quantization = InferQuantization(f.Tensors)
	}

	hp := func(name string) uint64 {
		if arch == "" {
			return 0
		}
		return f.uintOrMax(arch + "." + name)
	}
	fc.ContextLength = hp("context_length")
	fc.EmbeddingLength = hp("embedding_length")
	fc.BlockCount = hp("block_count")
	fc.FeedForwardLength = hp("feed_forward_length")
	fc.HeadCount = hp("attention.head_count")
	fc.HeadCountKV = hp("attention.head_count_kv")
	if _, ok := f.Get(arch + ".attention.head_count_kv"); !ok || arch == "" {
		fc.HeadCountKV = fc.HeadCount
	}
	fc.VocabSize = hp("vocab_size")
	if fc.VocabSize == 0 {
		if v, ok := f.Get("tokenizer.ggml.tokens"); ok && v.Type == TypeArray {
			fc.VocabSize = uint64(v.Len())
		}
	}

	fc.TokenizerModel, _ = f.String("tokenizer.ggml.model")
	fc.TokenizerPre, _ = f.String("tokenizer.ggml.pre")
	for _, kv := range f.Metadata {
		if kv.Key == "tokenizer.chat_template" || strings.HasPrefix(kv.Key, "tokenizer.chat_template.") {
			if s, ok := kv.Value.V.(string); ok && s != "" {
				fc.HasChatTemplate = true
			}
		}
		if rest, ok := strings.CutPrefix(kv.Key, "general."); ok && rest != "" {
			if fc.General == nil {
				fc.General = make(map[string]any)
			}
			fc.General[rest] = jsonValue(kv.Value, generalMaxArray)
		}
	}
	return fc
}

// uintOrMax returns an integer key's value, or the largest element of an
// integer array (per-layer hyper-parameters), or 0.
func (f *File) uintOrMax(key string) uint64 {
	v, ok := f.Get(key)
	if !ok {
		return 0
	}
	if u, ok := toUint(v.V); ok {
		return u
	}
	var m uint64
	forEachInt(v.V, func(u uint64) {
		m = max(m, u)
	})
	return m
}

// forEachInt calls fn with every non-negative element of an integer slice.
func forEachInt(s any, fn func(uint64)) {
	each := func(n int, at func(int) any) {
		for i := 0; i < n; i++ {
			if u, ok := toUint(at(i)); ok {
				fn(u)
			}
		}
	}
	switch x := s.(type) {
	case []uint8:
		each(len(x), func(i int) any { return x[i] })
	case []int8:
		each(len(x), func(i int) any { return x[i] })
	case []uint16:
		each(len(x), func(i int) any { return x[i] })
	case []int16:
		each(len(x), func(i int) any { return x[i] })
	case []uint32:
		each(len(x), func(i int) any { return x[i] })
	case []int32:
		each(len(x), func(i int) any { return x[i] })
	case []uint64:
		each(len(x), func(i int) any { return x[i] })
	case []int64:
		each(len(x), func(i int) any { return x[i] })
	}
}

// fileTypeNames maps llama.cpp's llama_ftype (general.file_type) to the
// labels llama-quantize uses. Ids 5 and 6 (Q4_2, Q4_3) and 33–35 (the
// Q4_0_N_M repacks) are no longer produced but still name old files.
var fileTypeNames = map[uint32]string{
	0:  "F32",
	1:  "F16",
	2:  "Q4_0",
	3:  "Q4_1",
	4:  "Q4_1_SOME_F16",
	5:  "Q4_2",
	6:  "Q4_3",
	7:  "Q8_0",
	8:  "Q5_0",
	9:  "Q5_1",
	10: "Q2_K",
	11: "Q3_K_S",
	12: "Q3_K_M",
	13: "Q3_K_L",
	14: "Q4_K_S",
	15: "Q4_K_M",
	16: "Q5_K_S",
	17: "Q5_K_M",
	18: "Q6_K",
	19: "IQ2_XXS",
	20: "IQ2_XS",
	21: "Q2_K_S",
	22: "IQ3_XS",
	23: "IQ3_XXS",
	24: "IQ1_S",
	25: "IQ4_NL",
	26: "IQ3_S",
	27: "IQ3_M",
	28: "IQ2_S",
	29: "IQ2_M",
	30: "IQ4_XS",
	31: "IQ1_M",
	32: "BF16",
	33: "Q4_0_4_4",
	34: "Q4_0_4_8",
	35: "Q4_0_8_8",
	36: "TQ1_0",
	37: "TQ2_0",
	38: "MXFP4_MOE",
	39: "NVFP4",
	40: "Q1_0",
	41: "Q2_0",
}

// FileTypeName returns the label of a general.file_type value (a
// llama.cpp llama_ftype): 15 is "Q4_K_M", 7 "Q8_0", 32 "BF16".
func FileTypeName(ft uint32) (string, bool) {
	s, ok := fileTypeNames[ft]
	return s, ok
}

// InferQuantization labels a file without a usable general.file_type by
// the tensor type holding the most elements among its weight matrices:
// tensors of two or more dimensions other than the token embedding and
// output projection, which quantisers treat specially (a Q4_K_M file keeps
// output.weight in Q6_K). Failing that it counts all tensors of two or more
// dimensions, then all tensors. Ties go to the lower type id. It returns ""
// for no tensors. It names a tensor type ("Q4_K"), never a mix ("Q4_K_M").
func InferQuantization(tensors []TensorInfo) string {
	special := func(name string) bool {
		switch name {
		case "token_embd.weight", "output.weight", "per_layer_token_embd.weight":
			return true
		}
		return false
	}
	passes := []func(TensorInfo) bool{
		func(t TensorInfo) bool { return len(t.Dims) >= 2 && !special(t.Name) },
		func(t TensorInfo) bool { return len(t.Dims) >= 2 },
		func(TensorInfo) bool { return true },
	}
	for _, use := range passes {
		h := make(map[TensorType]uint64)
		for _, t := range tensors {
			if use(t) {
				h[t.Type] += t.Elements()
			}
		}
		best, found := TensorType(0), false
		for t, n := range h {
			if !found || n > h[best] || n == h[best] && t < best {
				best, found = t, true
			}
		}
		if found {
			return best.String()
		}
	}
	return ""
}

// MetadataSummary returns every metadata key with a JSON-friendly value:
// numbers, bools and strings as themselves (non-finite floats as the
// strings "NaN", "+Inf", "-Inf"), arrays as []any. An array longer than
// maxArray is replaced by {"type":"array","element_type":T,"length":N};
// a negative maxArray keeps every array whole.
func (f *File) MetadataSummary(maxArray int) map[string]any {
	m := make(map[string]any, len(f.Metadata))
	for _, kv := range f.Metadata {
		m[kv.Key] = jsonValue(kv.Value, maxArray)
	}
	return m
}

func jsonValue(v Value, maxArray int) any {
	if v.Type != TypeArray {
		return jsonScalar(v.V)
	}
	n := v.Len()
	if maxArray >= 0 && n > maxArray {
		return map[string]any{"type": "array", "element_type": v.ArrayType.String(), "length": n}
	}
	out := make([]any, 0, n)
	add := func(x any) { out = append(out, x) }
	switch s := v.V.(type) {
	case []uint8:
		for _, x := range s {
			add(x)
		}
	case []int8:
		for _, x := range s {
			add(x)
		}
	case []uint16:
		for _, x := range s {
			add(x)
		}
	case []int16:
		for _, x := range s {
			add(x)
		}
	case []uint32:
		for _, x := range s {
			add(x)
		}
	case []int32:
		for _, x := range s {
			add(x)
		}
	case []float32:
		for _, x := range s {
			add(jsonScalar(x))
		}
	case []bool:
		for _, x := range s {
			add(x)
		}
	case []string:
		for _, x := range s {
			add(x)
		}
	case []uint64:
		for _, x := range s {
			add(x)
		}
	case []int64:
		for _, x := range s {
			add(x)
		}
	case []float64:
		for _, x := range s {
			add(jsonScalar(x))
		}
	case []any:
		for _, x := range s {
			if inner, ok := x.(Value); ok {
				add(jsonValue(inner, maxArray))
			} else {
				add(fmt.Sprint(x))
			}
		}
	}
	return out
}

func jsonScalar(v any) any {
	switch x := v.(type) {
	case float32:
		if s, bad := nonFinite(float64(x)); bad {
			return s
		}
	case float64:
		if s, bad := nonFinite(x); bad {
			return s
		}
	}
	return v
}

func nonFinite(x float64) (string, bool) {
	switch {
	case math.IsNaN(x):
		return "NaN", true
	case math.IsInf(x, 1):
		return "+Inf", true
	case math.IsInf(x, -1):
		return "-Inf", true
	}
	return "", false
}
