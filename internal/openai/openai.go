// Package openai holds the OpenAI wire format as sov's gateway speaks it:
// request and response types for chat completions, completions, embeddings
// and the model list; the error body; strict decoding and validation of
// client requests; and a server-sent-events writer and reader.
//
// It is a codec, nothing more: it does no network or disk I/O beyond the
// io.Writer and io.Reader it is handed, keeps no state between calls, and
// must not depend on any other sov package. Decoders treat request bodies as
// untrusted bytes: they never panic, and every rejection is an *APIError
// naming the offending parameter.
package openai

import (
	"crypto/rand"
	"encoding/json"
)

// Usage counts the tokens of one request.
type Usage struct {
	PromptTokens        int                  `json:"prompt_tokens"`
	CompletionTokens    int                  `json:"completion_tokens"`
	TotalTokens         int                  `json:"total_tokens"`
	PromptTokensDetails *PromptTokensDetails `json:"prompt_tokens_details,omitempty"`
}

// PromptTokensDetails breaks down the prompt tokens.
type PromptTokensDetails struct {
	CachedTokens int `json:"cached_tokens"`
}

// ModelList is the body of GET /v1/models.
type ModelList struct {
	Object string  `json:"object"` // "list"
	Data   []Model `json:"data"`
}

// Model is one entry of a ModelList.
type Model struct {
	ID      string `json:"id"`
	Object  string `json:"object"` // "model"
	Created int64  `json:"created"`
	OwnedBy string `json:"owned_by"`
}

// StreamOptions configures a streamed answer.
type StreamOptions struct {
	IncludeUsage bool `json:"include_usage"`
}

// Object names of lists and models.
const (
	ObjectList  = "list"
	ObjectModel = "model"
)

// MarshalJSON fills in Object when it is empty and writes Data as [] when
// it is nil.
func (l ModelList) MarshalJSON() ([]byte, error) {
	type plain ModelList
	p := plain(l)
	if p.Object == "" {
		p.Object = ObjectList
	}
	if p.Data == nil {
		p.Data = []Model{}
	}
	copied := false
	for i := range p.Data {
		if p.Data[i].Object == "" {
			if !copied {
				p.Data = append([]Model(nil), p.Data...) // do not write to the caller's slice
				copied = true
			}
			p.Data[i].Object = ObjectModel
		}
	}
	return json.Marshal(p)
}

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// idLen is the number of random base62 characters in an id: about 142 bits.
const idLen = 24

// NewID returns prefix followed by 24 random base62 characters from
// crypto/rand, e.g. NewID("chatcmpl-").
func NewID(prefix string) string {
	b := make([]byte, len(prefix), len(prefix)+idLen)
	copy(b, prefix)
	var buf [2 * idLen]byte
	for len(b) < cap(b) {
		rand.Read(buf[:]) // never fails; see crypto/rand.Read
		for _, c := range buf {
			// 248 = 4*62: reject the top bytes so every character is equally likely.
			if c < 248 && len(b) < cap(b) {
				b = append(b, base62[c%62])
			}
		}
	}
	return string(b)
}
