package openai

import (
	"encoding/json"
	"errors"
)

// CompletionRequest is the body of POST /v1/completions (the legacy
// text-completion API).
type CompletionRequest struct {
	Model            string          `json:"model"`
	Prompt           Prompt          `json:"prompt"`
	Stream           bool            `json:"stream,omitempty"`
	StreamOptions    *StreamOptions  `json:"stream_options,omitempty"`
	Stop             StringList      `json:"stop,omitempty"`
	MaxTokens        *int            `json:"max_tokens,omitempty"`
	Temperature      *float64        `json:"temperature,omitempty"`
	TopP             *float64        `json:"top_p,omitempty"`
	FrequencyPenalty *float64        `json:"frequency_penalty,omitempty"`
	PresencePenalty  *float64        `json:"presence_penalty,omitempty"`
	Seed             *int64          `json:"seed,omitempty"`
	N                *int            `json:"n,omitempty"`
	BestOf           *int            `json:"best_of,omitempty"`
	Echo             bool            `json:"echo,omitempty"`
	Suffix           string          `json:"suffix,omitempty"`
	Logprobs         *int            `json:"logprobs,omitempty"`
	LogitBias        json.RawMessage `json:"logit_bias,omitempty"`
	User             string          `json:"user,omitempty"`
}

// Prompt is a completion prompt. On the wire it is a string, an array of
// strings, an array of token ids, or an array of such arrays; sov supports
// a single prompt, so after validation exactly one of Text and Tokens
// holds it (Tokens is non-nil when the prompt was given as token ids).
type Prompt struct {
	Text   string
	Tokens []int

	count int  // prompts given on the wire
	set   bool // present and not null
}

// TextPrompt returns a prompt that is the string s.
func TextPrompt(s string) Prompt { return Prompt{Text: s, count: 1, set: true} }

// TokenPrompt returns a prompt given as token ids.
func TokenPrompt(ids []int) Prompt {
	if ids == nil {
		ids = []int{}
	}
	return Prompt{Tokens: ids, count: 1, set: true}
}

// given returns how many prompts were given and whether the prompt was
// present at all. A Prompt built as a literal counts as one when it holds
// text or tokens.
func (p Prompt) given() (n int, ok bool) {
	if p.set {
		return p.count, true
	}
	if p.Text != "" || p.Tokens != nil {
		return 1, true
	}
	return 0, false
}

// IsTokens reports whether the prompt was given as token ids.
func (p Prompt) IsTokens() bool { return p.Tokens != nil }

// MarshalJSON writes the prompt as a string or as an array of token ids.
func (p Prompt) MarshalJSON() ([]byte, error) {
	if p.Tokens != nil {
		return json.Marshal(p.Tokens)
	}
	return json.Marshal(p.Text)
}

var errPromptShape = errors.New("expected a string, an array of strings, an array of token ids or an array of token-id arrays")

// UnmarshalJSON reads any of the four forms. More than one prompt is not an
// error here; validation rejects it.
func (p *Prompt) UnmarshalJSON(b []byte) error {
	*p = Prompt{}
	switch firstByte(b) {
	case 'n':
		return nil
	case '"':
		s, err := unquote(b)
		if err != nil {
			return err
		}
		p.Text, p.count, p.set = s, 1, true
		return nil
	case '[':
	default:
		return errPromptShape
	}
	p.set = true
	if k := elemKind(b); k != '"' && k != ']' && hasNull(b) {
		return errPromptShape
	}
	switch elemKind(b) {
	case ']':
		return nil
	case '"':
		var ss []string
		if err := json.Unmarshal(b, &ss); err != nil {
			return errPromptShape
		}
		p.count = len(ss)
		if len(ss) > 0 {
			p.Text = ss[0]
		}
	case '[':
		var ids [][]int
		if err := json.Unmarshal(b, &ids); err != nil {
			return errPromptShape
		}
		p.count = len(ids)
		if len(ids) > 0 {
			p.Tokens = ids[0]
		}
		if p.Tokens == nil {
			p.Tokens = []int{} // [null]
		}
	default:
		var ids []int
		if err := json.Unmarshal(b, &ids); err != nil {
			return errPromptShape
		}
		p.count = 1
		p.Tokens = ids
	}
	return nil
}

// Completion is the answer to a completion request; a streamed answer is a
// sequence of Completions with the same ID.
type Completion struct {
	ID                string             `json:"id"`
	Object            string             `json:"object"` // "text_completion"
	Created           int64              `json:"created"`
	Model             string             `json:"model"`
	SystemFingerprint string             `json:"system_fingerprint,omitempty"`
	Choices           []CompletionChoice `json:"choices"`
	Usage             *Usage             `json:"usage,omitempty"`

	// NullUsage makes a Completion without Usage marshal "usage":null, as
	// streamed chunks do when include_usage is on.
	NullUsage bool `json:"-"`
}

// ObjectTextCompletion is the object name of completion answers.
const ObjectTextCompletion = "text_completion"

// CompletionChoice is one generated text. FinishReason is null in streamed
// fragments before the last.
type CompletionChoice struct {
	Text         string          `json:"text"`
	Index        int             `json:"index"`
	FinishReason *string         `json:"finish_reason"`
	Logprobs     json.RawMessage `json:"logprobs"`
}

// MarshalJSON fills in Object when it is empty, writes Choices as [] when
// it is nil, and writes "usage":null when Usage is nil and NullUsage is set.
func (c Completion) MarshalJSON() ([]byte, error) {
	type plain Completion
	p := plain(c)
	if p.Object == "" {
		p.Object = ObjectTextCompletion
	}
	if p.Choices == nil {
		p.Choices = []CompletionChoice{}
	}
	if p.Usage == nil && p.NullUsage {
		return json.Marshal(struct {
			plain
			Usage *Usage `json:"usage"`
		}{plain: p})
	}
	return json.Marshal(p)
}
