package hfconfig

import (
	"encoding/json"
	"fmt"
)

// TokenizerConfig is what tokenizer_config.json says.
type TokenizerConfig struct {
	TokenizerClass string `json:"tokenizer_class,omitempty"`
	// HasChatTemplate reports whether the file carries a chat template.
	HasChatTemplate bool `json:"has_chat_template,omitempty"`
	// ChatTemplate is the template text: the only one, or the one named
	// "default" when the file lists several. ChatTemplateNames lists the
	// names when it does.
	ChatTemplate      string   `json:"chat_template,omitempty"`
	ChatTemplateNames []string `json:"chat_template_names,omitempty"`
	// Special tokens, from either a plain string or an AddedToken object
	// ({"content": "<s>", …}).
	BosToken string `json:"bos_token,omitempty"`
	EosToken string `json:"eos_token,omitempty"`
	PadToken string `json:"pad_token,omitempty"`
	UnkToken string `json:"unk_token,omitempty"`
	// ModelMaxLength is the longest input the tokenizer allows. The
	// transformers sentinel for "no limit" (1e30) and any other value beyond
	// int64 is clamped to math.MaxInt64.
	ModelMaxLength int64 `json:"model_max_length,omitempty"`
	AddBosToken    *bool `json:"add_bos_token,omitempty"`
	AddEosToken    *bool `json:"add_eos_token,omitempty"`
	// AddedTokens counts the entries of added_tokens_decoder.
	AddedTokens int `json:"added_tokens,omitempty"`
}

// ParseTokenizerConfig parses a tokenizer_config.json. Unknown fields are
// ignored; a field of the wrong type is an *Error naming it.
func ParseTokenizerConfig(b []byte) (*TokenizerConfig, error) {
	o, err := parseObject(b, MaxConfigSize)
	if err != nil {
		return nil, err
	}
	tc := &TokenizerConfig{}
	if tc.TokenizerClass, err = o.str("tokenizer_class"); err != nil {
		return nil, err
	}
	if err := tc.readChatTemplate(o); err != nil {
		return nil, err
	}
	for _, f := range []struct {
		key string
		dst *string
	}{
		{"bos_token", &tc.BosToken},
		{"eos_token", &tc.EosToken},
		{"pad_token", &tc.PadToken},
		{"unk_token", &tc.UnkToken},
	} {
		if *f.dst, err = o.token(f.key); err != nil {
			return nil, err
		}
	}
	if tc.ModelMaxLength, _, err = o.intOK("model_max_length", true); err != nil {
		return nil, err
	}
	if tc.AddBosToken, err = o.bool("add_bos_token"); err != nil {
		return nil, err
	}
	if tc.AddEosToken, err = o.bool("add_eos_token"); err != nil {
		return nil, err
	}
	if v := o.get("added_tokens_decoder"); v != nil {
		var m map[string]json.RawMessage
		if jsonKind(v) != "object" || json.Unmarshal(v, &m) != nil {
			return nil, o.wrongType("added_tokens_decoder", "an object", v)
		}
		tc.AddedTokens = len(m)
	}
	return tc, nil
}

// token reads a special token given as a string or an AddedToken object.
func (o object) token(key string) (string, error) {
	v := o.get(key)
	switch jsonKind(v) {
	case "nothing":
		return "", nil
	case "string":
		return o.str(key)
	case "object":
		sub, _, err := o.child(key)
		if err != nil {
			return "", err
		}
		return sub.str("content")
	}
	return "", o.wrongType(key, "a string or a token object", v)
}

// readChatTemplate reads chat_template: a string, or a list of
// {"name": …, "template": …} objects.
func (tc *TokenizerConfig) readChatTemplate(o object) error {
	v := o.get("chat_template")
	switch jsonKind(v) {
	case "nothing":
		return nil
	case "string":
		s, err := o.str("chat_template")
		tc.ChatTemplate, tc.HasChatTemplate = s, s != ""
		return err
	case "array":
		var list []json.RawMessage
		if err := json.Unmarshal(v, &list); err != nil {
			return jsonError(err)
		}
		for i, e := range list {
			var m map[string]json.RawMessage
			if jsonKind(e) != "object" || json.Unmarshal(e, &m) != nil {
				return fieldError(fmt.Sprintf("chat_template[%d]", i), "want an object with name and template, got "+describe(e))
			}
			entry := object{prefix: fmt.Sprintf("chat_template[%d]", i), m: m}
			name, err := entry.str("name")
			if err != nil {
				return err
			}
			tmpl, err := entry.str("template")
			if err != nil {
				return err
			}
			tc.ChatTemplateNames = append(tc.ChatTemplateNames, name)
			if name == "default" || len(list) == 1 {
				tc.ChatTemplate = tmpl
			}
			tc.HasChatTemplate = tc.HasChatTemplate || tmpl != ""
		}
		return nil
	}
	return o.wrongType("chat_template", "a string or a list of named templates", v)
}
