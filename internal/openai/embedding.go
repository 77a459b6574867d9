package openai

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
)

// EmbeddingRequest is the body of POST /v1/embeddings.
type EmbeddingRequest struct {
	Model          string         `json:"model"`
	Input          EmbeddingInput `json:"input"`
	EncodingFormat string         `json:"encoding_format,omitempty"` // "float" (default) or "base64"
	Dimensions     *int           `json:"dimensions,omitempty"`
	User           string         `json:"user,omitempty"`
}

// Format returns the encoding the client asked for, EncodingFloat when it
// did not say.
func (r *EmbeddingRequest) Format() string {
	if r.EncodingFormat == "" {
		return EncodingFloat
	}
	return r.EncodingFormat
}

// MaxEmbeddingInputs is the most inputs one embedding request may carry.
const MaxEmbeddingInputs = 2048

// EmbeddingInput is what to embed. On the wire it is a string, an array of
// strings, an array of token ids, or an array of token-id arrays; decoded,
// exactly one of Texts and Tokens is non-nil, one element per input. Both
// are nil when the input was absent or null.
type EmbeddingInput struct {
	Texts  []string
	Tokens [][]int

	single bool // was one string or one token array, not a list
}

// TextInput returns input that embeds the given strings.
func TextInput(texts ...string) EmbeddingInput {
	if texts == nil {
		texts = []string{}
	}
	return EmbeddingInput{Texts: texts}
}

// TokenInput returns input that embeds the given token-id sequences.
func TokenInput(ids ...[]int) EmbeddingInput {
	if ids == nil {
		ids = [][]int{}
	}
	return EmbeddingInput{Tokens: ids}
}

// Len returns the number of inputs.
func (in EmbeddingInput) Len() int {
	if in.Tokens != nil {
		return len(in.Tokens)
	}
	return len(in.Texts)
}

// MarshalJSON writes the input in the form it was decoded from: a single
// string or token array when one was given, otherwise a list.
func (in EmbeddingInput) MarshalJSON() ([]byte, error) {
	switch {
	case in.Tokens != nil && in.single && len(in.Tokens) == 1:
		return json.Marshal(in.Tokens[0])
	case in.Tokens != nil:
		return json.Marshal(in.Tokens)
	case in.single && len(in.Texts) == 1:
		return json.Marshal(in.Texts[0])
	case in.Texts != nil:
		return json.Marshal(in.Texts)
	}
	return []byte("null"), nil
}

var errInputShape = errors.New("expected a string, an array of strings, an array of token ids or an array of token-id arrays")

// UnmarshalJSON reads any of the four forms.
func (in *EmbeddingInput) UnmarshalJSON(b []byte) error {
	*in = EmbeddingInput{}
	switch firstByte(b) {
	case 'n':
		return nil
	case '"':
		s, err := unquote(b)
		if err != nil {
			return err
		}
		*in = EmbeddingInput{Texts: []string{s}, single: true}
		return nil
	case '[':
	default:
		return errInputShape
	}
	if k := elemKind(b); k != '"' && k != ']' && hasNull(b) {
		return errInputShape
	}
	switch elemKind(b) {
	case ']':
		in.Texts = []string{}
	case '"':
		if err := json.Unmarshal(b, &in.Texts); err != nil {
			return errInputShape
		}
	case '[':
		if err := json.Unmarshal(b, &in.Tokens); err != nil {
			return errInputShape
		}
	default:
		var ids []int
		if err := json.Unmarshal(b, &ids); err != nil {
			return errInputShape
		}
		in.Tokens = [][]int{ids}
		in.single = true
	}
	return nil
}

// EmbeddingResponse is the answer to an embedding request.
type EmbeddingResponse struct {
	Object string      `json:"object"` // "list"
	Data   []Embedding `json:"data"`
	Model  string      `json:"model"`
	Usage  Usage       `json:"usage"`
}

// MarshalJSON fills in Object when it is empty and writes Data as [] when
// it is nil.
func (r EmbeddingResponse) MarshalJSON() ([]byte, error) {
	type plain EmbeddingResponse
	p := plain(r)
	if p.Object == "" {
		p.Object = ObjectList
	}
	if p.Data == nil {
		p.Data = []Embedding{}
	}
	return json.Marshal(p)
}

// Embedding formats.
const (
	EncodingFloat  = "float"
	EncodingBase64 = "base64"
)

// ObjectEmbedding is the object name of one embedding.
const ObjectEmbedding = "embedding"

// Embedding is one input's vector. Format chooses how Vector is marshalled:
// a JSON array of numbers (EncodingFloat or empty) or the standard base64
// of its little-endian float32 bytes (EncodingBase64), which is what the
// official SDKs decode. Unmarshalling accepts both and sets Format.
type Embedding struct {
	Object string    `json:"object"` // "embedding"
	Index  int       `json:"index"`
	Vector []float32 `json:"embedding"`
	Format string    `json:"-"`
}

// MarshalJSON writes {"object":"embedding","index":i,"embedding":...}. A
// vector holding NaN or an infinity cannot be written as JSON numbers and
// is an error in float format.
func (e Embedding) MarshalJSON() ([]byte, error) {
	obj := e.Object
	if obj == "" {
		obj = ObjectEmbedding
	}
	b := make([]byte, 0, 64+len(e.Vector)*12)
	b = append(b, `{"object":`...)
	b = strconv.AppendQuote(b, obj)
	b = append(b, `,"index":`...)
	b = strconv.AppendInt(b, int64(e.Index), 10)
	b = append(b, `,"embedding":`...)
	switch e.Format {
	case EncodingBase64:
		raw := make([]byte, 4*len(e.Vector))
		for i, v := range e.Vector {
			binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
		}
		b = append(b, '"')
		b = base64.StdEncoding.AppendEncode(b, raw)
		b = append(b, '"')
	case EncodingFloat, "":
		b = append(b, '[')
		for i, v := range e.Vector {
			f := float64(v)
			if math.IsNaN(f) || math.IsInf(f, 0) {
				return nil, fmt.Errorf("embedding %d: element %d is %v, not a JSON number", e.Index, i, v)
			}
			if i > 0 {
				b = append(b, ',')
			}
			b = strconv.AppendFloat(b, f, 'g', -1, 32)
		}
		b = append(b, ']')
	default:
		return nil, fmt.Errorf("embedding %d: unknown encoding format %q", e.Index, e.Format)
	}
	return append(b, '}'), nil
}

// UnmarshalJSON reads an embedding whose vector is an array of numbers or
// a base64 string of little-endian float32s.
func (e *Embedding) UnmarshalJSON(b []byte) error {
	var w struct {
		Object string          `json:"object"`
		Index  int             `json:"index"`
		Vector json.RawMessage `json:"embedding"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*e = Embedding{Object: w.Object, Index: w.Index}
	switch firstByte(w.Vector) {
	case '"':
		var s string
		if err := json.Unmarshal(w.Vector, &s); err != nil {
			return err
		}
		raw, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return fmt.Errorf("embedding %d: bad base64: %w", w.Index, err)
		}
		if len(raw)%4 != 0 {
			return fmt.Errorf("embedding %d: %d bytes of base64 data is not a whole number of float32s", w.Index, len(raw))
		}
		e.Vector = make([]float32, len(raw)/4)
		for i := range e.Vector {
			e.Vector[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
		}
		e.Format = EncodingBase64
	case '[':
		if err := json.Unmarshal(w.Vector, &e.Vector); err != nil {
			return fmt.Errorf("embedding %d: %w", w.Index, err)
		}
		e.Format = EncodingFloat
	case 'n', 0:
	default:
		return fmt.Errorf("embedding %d: expected an array of numbers or a base64 string", w.Index)
	}
	return nil
}
