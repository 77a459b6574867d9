package hfconfig

// Config is what config.json says about a model's architecture.
// Numeric fields are 0 and pointer fields nil when the file does not say.
type Config struct {
	Architectures         []string       `json:"architectures,omitempty"`
	ModelType             string         `json:"model_type,omitempty"`
	HiddenSize            int64          `json:"hidden_size,omitempty"`
	NumHiddenLayers       int64          `json:"num_hidden_layers,omitempty"`
	NumAttentionHeads     int64          `json:"num_attention_heads,omitempty"`
	NumKeyValueHeads      int64          `json:"num_key_value_heads,omitempty"`
	IntermediateSize      int64          `json:"intermediate_size,omitempty"`
	VocabSize             int64          `json:"vocab_size,omitempty"`
	MaxPositionEmbeddings int64          `json:"max_position_embeddings,omitempty"`
	TorchDtype            string         `json:"torch_dtype,omitempty"`
	RopeTheta             float64        `json:"rope_theta,omitempty"`
	TieWordEmbeddings     *bool          `json:"tie_word_embeddings,omitempty"`
	Quantization          map[string]any `json:"quantization_config,omitempty"`
}

// configAliases are the older or model-specific names some architectures
// use for the standard fields (GPT-2's n_embd, T5's d_model, …). The
// standard name wins; otherwise the first alias present is used.
var configAliases = map[string][]string{
	"hidden_size":             {"n_embd", "d_model"},
	"num_hidden_layers":       {"n_layer", "num_layers"},
	"num_attention_heads":     {"n_head", "num_heads"},
	"num_key_value_heads":     {"num_kv_heads"},
	"intermediate_size":       {"n_inner", "ffn_dim", "d_ff"},
	"max_position_embeddings": {"n_positions", "max_seq_len"},
}

// nestedConfigs are the keys under which multimodal models keep the
// language model's config; a field missing at the top is looked up there.
var nestedConfigs = []string{"text_config", "llm_config"}

// ParseConfig parses a config.json.
//
// Unknown fields are ignored. Fields missing at the top level are taken from
// a nested text_config (or llm_config), as multimodal models write them;
// model_type and architectures come from the top level only. "dtype" (newer
// transformers) is read when "torch_dtype" is absent, and rope_theta is also
// looked for in "rope_parameters". A field of the wrong type is an *Error
// naming it.
func ParseConfig(b []byte) (*Config, error) {
	top, err := parseObject(b, MaxConfigSize)
	if err != nil {
		return nil, err
	}
	// scopes are where fields are looked up, in order.
	scopes := []object{top}
	for _, key := range nestedConfigs {
		sub, ok, err := top.child(key)
		if err != nil {
			return nil, err
		}
		if ok {
			scopes = append(scopes, sub)
		}
	}
	c := &Config{}
	if c.Architectures, err = top.strList("architectures"); err != nil {
		return nil, err
	}
	if c.ModelType, err = top.str("model_type"); err != nil {
		return nil, err
	}
	for _, f := range []struct {
		key string
		dst *int64
	}{
		{"hidden_size", &c.HiddenSize},
		{"num_hidden_layers", &c.NumHiddenLayers},
		{"num_attention_heads", &c.NumAttentionHeads},
		{"num_key_value_heads", &c.NumKeyValueHeads},
		{"intermediate_size", &c.IntermediateSize},
		{"vocab_size", &c.VocabSize},
		{"max_position_embeddings", &c.MaxPositionEmbeddings},
	} {
		if *f.dst, err = lookupInt(scopes, f.key); err != nil {
			return nil, err
		}
	}
	for _, s := range scopes {
		key := s.firstOf("torch_dtype", "dtype")
		if key == "" {
			continue
		}
		if c.TorchDtype, err = s.str(key); err != nil {
			return nil, err
		}
		break
	}
	if c.RopeTheta, err = lookupRopeTheta(scopes); err != nil {
		return nil, err
	}
	for _, s := range scopes {
		if !s.has("tie_word_embeddings") {
			continue
		}
		if c.TieWordEmbeddings, err = s.bool("tie_word_embeddings"); err != nil {
			return nil, err
		}
		break
	}
	for _, s := range scopes {
		if !s.has("quantization_config") {
			continue
		}
		if c.Quantization, err = s.anyMap("quantization_config"); err != nil {
			return nil, err
		}
		break
	}
	return c, nil
}

// lookupInt finds an integer field, or one of its aliases, in the first
// scope that has it.
func lookupInt(scopes []object, key string) (int64, error) {
	names := append([]string{key}, configAliases[key]...)
	for _, s := range scopes {
		if k := s.firstOf(names...); k != "" {
			return s.int(k)
		}
	}
	return 0, nil
}

// lookupRopeTheta finds rope_theta at the top of a scope or inside its
// rope_parameters object.
func lookupRopeTheta(scopes []object) (float64, error) {
	for _, s := range scopes {
		if s.has("rope_theta") {
			f, err := s.float("rope_theta")
			if err != nil {
				return 0, err
			}
			return *f, nil
		}
		rp, ok, err := s.child("rope_parameters")
		if err != nil {
			return 0, err
		}
		if ok && rp.has("rope_theta") {
			f, err := rp.float("rope_theta")
			if err != nil {
				return 0, err
			}
			return *f, nil
		}
	}
	return 0, nil
}
