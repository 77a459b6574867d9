package hfconfig

// GenerationConfig is what generation_config.json says about decoding.
// Token IDs accept a single integer or a list (several end-of-sequence
// tokens are common). Pointer fields are nil when the file does not say.
type GenerationConfig struct {
	BosTokenID          []int64  `json:"bos_token_id,omitempty"`
	EosTokenID          []int64  `json:"eos_token_id,omitempty"`
	PadTokenID          []int64  `json:"pad_token_id,omitempty"`
	MaxLength           int64    `json:"max_length,omitempty"`
	MaxNewTokens        int64    `json:"max_new_tokens,omitempty"`
	DoSample            *bool    `json:"do_sample,omitempty"`
	Temperature         *float64 `json:"temperature,omitempty"`
	TopP                *float64 `json:"top_p,omitempty"`
	TopK                *int64   `json:"top_k,omitempty"`
	MinP                *float64 `json:"min_p,omitempty"`
	RepetitionPenalty   *float64 `json:"repetition_penalty,omitempty"`
	NumBeams            int64    `json:"num_beams,omitempty"`
	FromModelConfig     bool     `json:"_from_model_config,omitempty"`
	TransformersVersion string   `json:"transformers_version,omitempty"`
}

// ParseGenerationConfig parses a generation_config.json. Unknown fields are
// ignored; a field of the wrong type is an *Error naming it.
func ParseGenerationConfig(b []byte) (*GenerationConfig, error) {
	o, err := parseObject(b, MaxConfigSize)
	if err != nil {
		return nil, err
	}
	g := &GenerationConfig{}
	for _, f := range []struct {
		key string
		dst *[]int64
	}{
		{"bos_token_id", &g.BosTokenID},
		{"eos_token_id", &g.EosTokenID},
		{"pad_token_id", &g.PadTokenID},
	} {
		if *f.dst, err = o.intList(f.key); err != nil {
			return nil, err
		}
	}
	for _, f := range []struct {
		key string
		dst *int64
	}{
		{"max_length", &g.MaxLength},
		{"max_new_tokens", &g.MaxNewTokens},
		{"num_beams", &g.NumBeams},
	} {
		if *f.dst, err = o.int(f.key); err != nil {
			return nil, err
		}
	}
	for _, f := range []struct {
		key string
		dst **float64
	}{
		{"temperature", &g.Temperature},
		{"top_p", &g.TopP},
		{"min_p", &g.MinP},
		{"repetition_penalty", &g.RepetitionPenalty},
	} {
		if *f.dst, err = o.float(f.key); err != nil {
			return nil, err
		}
	}
	if g.DoSample, err = o.bool("do_sample"); err != nil {
		return nil, err
	}
	if k, ok, err := o.intOK("top_k", false); err != nil {
		return nil, err
	} else if ok {
		g.TopK = &k
	}
	if fm, err := o.bool("_from_model_config"); err != nil {
		return nil, err
	} else if fm != nil {
		g.FromModelConfig = *fm
	}
	if g.TransformersVersion, err = o.str("transformers_version"); err != nil {
		return nil, err
	}
	return g, nil
}
