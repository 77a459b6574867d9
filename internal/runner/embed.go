package runner

import (
	"context"
	"encoding/json"
	"fmt"

	"sov.dev/sov/internal/backend"
	"sov.dev/sov/internal/openai"
	"sov.dev/sov/internal/tokenizer"
)

// embeddings answers /v1/embeddings: each input is embedded by
// engine.Session.Embed (the mean of the normed final hidden states, unit
// length), all of them on one session taken in turn with other requests.
func (r *Runner) embeddings(ctx context.Context, m *model, req *backend.Request, out backend.Output) error {
	e := req.Embedding
	format := e.Format()
	if format != openai.EncodingFloat && format != openai.EncodingBase64 {
		return openai.InvalidRequest("encoding_format", "encoding_format must be %q or %q", openai.EncodingFloat, openai.EncodingBase64)
	}
	if e.Dimensions != nil && *e.Dimensions != m.eng.Embd {
		return openai.InvalidRequest("dimensions", "model %s makes embeddings of %d dimensions; it cannot make %d", req.Model, m.eng.Embd, *e.Dimensions)
	}
	n := e.Input.Len()
	if n == 0 {
		return openai.InvalidRequest("input", "input is empty")
	}
	if n > openai.MaxEmbeddingInputs {
		return openai.InvalidRequest("input", "at most %d inputs are allowed", openai.MaxEmbeddingInputs)
	}
	inputs := make([][]int32, n)
	total := 0
	for i := range n {
		param := fmt.Sprintf("input[%d]", i)
		var toks []int32
		var err error
		if e.Input.Tokens != nil {
			toks, err = tokenIDs(e.Input.Tokens[i], m.tok.VocabSize(), param)
		} else {
			toks, err = m.tok.Encode(e.Input.Texts[i], tokenizer.EncodeOptions{AddSpecial: true})
			if err != nil {
				err = openai.InvalidRequest(param, "%v", err)
			}
		}
		if err != nil {
			return err
		}
		if len(toks) == 0 {
			return openai.InvalidRequest(param, "the input is empty")
		}
		if len(toks) > m.ctxLen {
			return contextExceeded(param, "this model's context holds %d tokens, but the input is %d tokens; shorten it", m.ctxLen, len(toks))
		}
		inputs[i] = toks
		total += len(toks)
	}

	s, err := r.acquireSession(ctx, m, req.KeyID, nil)
	if err != nil {
		return err
	}
	resp := openai.EmbeddingResponse{Model: req.Model, Data: make([]openai.Embedding, n)}
	for i, toks := range inputs {
		vec, err := s.Embed(ctx, toks)
		if err != nil {
			r.releaseSession(m, s)
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("%s: embedding input %d: %w", req.Model, i, err)
		}
		resp.Data[i] = openai.Embedding{Index: i, Vector: vec, Format: format}
	}
	r.releaseSession(m, s)
	resp.Usage = openai.Usage{PromptTokens: total, TotalTokens: total}
	body, err := json.Marshal(resp)
	if err != nil {
		return fmt.Errorf("%s: %w", req.Model, err)
	}
	out.Usage(resp.Usage)
	return out.Data(body)
}
