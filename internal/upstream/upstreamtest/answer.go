package upstreamtest

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"hash/fnv"
	"io"
	"math"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"
	"unicode/utf8"
)

// answerer writes one inference answer.
type answerer struct {
	s   *Server
	w   http.ResponseWriter
	r   *http.Request
	f   faults
	buf []byte // scratch for the answer, reused from the server's pool
}

var idSeq atomic.Int64

type streamOptions struct {
	IncludeUsage bool `json:"include_usage"`
}

type chatRequest struct {
	Model    string `json:"model"`
	Messages []struct {
		Role    string          `json:"role"`
		Content json.RawMessage `json:"content"`
	} `json:"messages"`
	Stream              bool           `json:"stream"`
	StreamOptions       *streamOptions `json:"stream_options"`
	MaxTokens           *int           `json:"max_tokens"`
	MaxCompletionTokens *int           `json:"max_completion_tokens"`
}

type completionRequest struct {
	Model         string          `json:"model"`
	Prompt        json.RawMessage `json:"prompt"`
	Stream        bool            `json:"stream"`
	StreamOptions *streamOptions  `json:"stream_options"`
	MaxTokens     *int            `json:"max_tokens"`
}

type embeddingRequest struct {
	Model          string          `json:"model"`
	Input          json.RawMessage `json:"input"`
	EncodingFormat string          `json:"encoding_format"`
}

// kind selects the object names of one endpoint.
type kind int

const (
	chatKind kind = iota
	completionKind
)

// gen is what the server generates for one request.
type gen struct {
	kind         kind
	model        string
	words        []string
	promptTokens int
	finish       string
	stream       bool
	includeUsage bool
}

func (a *answerer) chat(body []byte) {
	var req chatRequest
	if err := json.Unmarshal(body, &req); err != nil {
		writeError(a.w, http.StatusBadRequest, "invalid_request_error", "", "invalid JSON body: "+err.Error())
		return
	}
	if !a.checkModel(req.Model) {
		return
	}
	if len(req.Messages) == 0 {
		writeError(a.w, http.StatusBadRequest, "invalid_request_error", "messages", "messages must be a non-empty array")
		return
	}
	prompt, last := 0, ""
	for _, m := range req.Messages {
		text, ok := contentText(m.Content)
		if !ok {
			writeError(a.w, http.StatusBadRequest, "invalid_request_error", "messages", "message content must be a string or an array of parts")
			return
		}
		prompt += countWords(text)
		if m.Role == "user" {
			last = text
		}
	}
	limit := req.MaxTokens
	if req.MaxCompletionTokens != nil {
		limit = req.MaxCompletionTokens
	}
	a.generate(gen{
		kind:         chatKind,
		model:        req.Model,
		promptTokens: prompt,
		stream:       req.Stream,
		includeUsage: req.StreamOptions != nil && req.StreamOptions.IncludeUsage,
	}, last, limit)
}

func (a *answerer) completion(body []byte) {
	var req completionRequest
	if err := json.Unmarshal(body, &req); err != nil {
		writeError(a.w, http.StatusBadRequest, "invalid_request_error", "", "invalid JSON body: "+err.Error())
		return
	}
	if !a.checkModel(req.Model) {
		return
	}
	texts, tokens, ok := inputs(req.Prompt)
	if !ok || len(texts) == 0 {
		writeError(a.w, http.StatusBadRequest, "invalid_request_error", "prompt", "prompt must be a string, an array of strings or token arrays")
		return
	}
	a.generate(gen{
		kind:         completionKind,
		model:        req.Model,
		promptTokens: tokens,
		stream:       req.Stream,
		includeUsage: req.StreamOptions != nil && req.StreamOptions.IncludeUsage,
	}, texts[len(texts)-1], req.MaxTokens)
}

func (a *answerer) checkModel(model string) bool {
	if model == "" {
		writeError(a.w, http.StatusBadRequest, "invalid_request_error", "model", "model is required")
		return false
	}
	if !a.s.servesModel(model) {
		writeErrorCode(a.w, http.StatusNotFound, "invalid_request_error", "model", "model_not_found", "The model `"+model+"` does not exist.")
		return false
	}
	return true
}

func (a *answerer) generate(g gen, echo string, limit *int) {
	reply := a.s.opts.Reply
	if reply == "" {
		reply = echo
	}
	g.words = splitWords(reply)
	g.finish = "stop"
	if limit != nil && *limit >= 0 && *limit < len(g.words) {
		g.words = g.words[:*limit]
		g.finish = "length"
	}
	if g.stream {
		a.stream(g)
		return
	}
	if a.f.badJSON {
		writeJSON(a.w, http.StatusOK, []byte(`{"id":"x","choices":[{"index":0,`))
		return
	}
	b := a.buf
	id := idSeq.Add(1)
	created := time.Now().Unix()
	if g.kind == chatKind {
		b = append(b, `{"id":"chatcmpl-`...)
		b = strconv.AppendInt(b, id, 10)
		b = append(b, `","object":"chat.completion","created":`...)
		b = strconv.AppendInt(b, created, 10)
		b = append(b, `,"model":`...)
		b = appendString(b, g.model)
		b = append(b, `,"choices":[{"index":0,"message":{"role":"assistant","content":`...)
		b = appendWords(b, g.words)
		b = append(b, `,"refusal":null},"logprobs":null,"finish_reason":"`...)
	} else {
		b = append(b, `{"id":"cmpl-`...)
		b = strconv.AppendInt(b, id, 10)
		b = append(b, `","object":"text_completion","created":`...)
		b = strconv.AppendInt(b, created, 10)
		b = append(b, `,"model":`...)
		b = appendString(b, g.model)
		b = append(b, `,"choices":[{"index":0,"text":`...)
		b = appendWords(b, g.words)
		b = append(b, `,"logprobs":null,"finish_reason":"`...)
	}
	b = append(b, g.finish...)
	b = append(b, `"}],"usage":`...)
	b = appendUsage(b, g.promptTokens, len(g.words))
	b = append(b, `,"system_fingerprint":null}`...)
	a.buf = b
	writeJSON(a.w, http.StatusOK, b)
}

// stream writes g as server-sent events.
func (a *answerer) stream(g gen) {
	h := a.w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	a.w.WriteHeader(http.StatusOK)
	fl, _ := a.w.(http.Flusher)
	ctx := a.r.Context()

	id := idSeq.Add(1)
	created := time.Now().Unix()
	mode := a.s.opts.Usage
	nullUsage := g.includeUsage && mode != UsageNever

	sent := 0 // chunks sent
	// send writes one event; it reports false when the stream must stop.
	send := func(payload []byte) bool {
		if a.f.dropAfter >= 0 && sent >= a.f.dropAfter {
			panic(http.ErrAbortHandler)
		}
		if a.f.errAfter >= 0 && sent >= a.f.errAfter {
			a.writeEvent(fl, []byte(`{"error":{"message":"injected stream error","type":"server_error","param":null,"code":null}}`))
			a.writeEvent(fl, []byte("[DONE]"))
			return false
		}
		if a.f.badJSON {
			payload = []byte(`{"id":"x","choices":[{"delta":`)
		}
		if err := a.writeEvent(fl, payload); err != nil {
			a.s.cancelled.Add(1)
			return false
		}
		sent++
		return true
	}
	// chunk builds one chunk: text is the content (nil for none), role adds
	// the assistant role, finish the finish reason, usage the usage field.
	chunk := func(text []byte, role bool, finish string, usage int) []byte {
		b := a.buf[:0]
		if g.kind == chatKind {
			b = append(b, `{"id":"chatcmpl-`...)
			b = strconv.AppendInt(b, id, 10)
			b = append(b, `","object":"chat.completion.chunk","created":`...)
		} else {
			b = append(b, `{"id":"cmpl-`...)
			b = strconv.AppendInt(b, id, 10)
			b = append(b, `","object":"text_completion","created":`...)
		}
		b = strconv.AppendInt(b, created, 10)
		b = append(b, `,"model":`...)
		b = appendString(b, g.model)
		b = append(b, `,"system_fingerprint":null,"choices":[`...)
		if usage != 2 {
			b = append(b, `{"index":0,`...)
			if g.kind == chatKind {
				b = append(b, `"delta":{`...)
				if role {
					b = append(b, `"role":"assistant"`...)
					if text != nil {
						b = append(b, ',')
					}
				}
				if text != nil {
					b = append(b, `"content":`...)
					b = appendString(b, string(text))
				}
				b = append(b, '}')
			} else {
				b = append(b, `"text":`...)
				b = appendString(b, string(text))
			}
			b = append(b, `,"logprobs":null,"finish_reason":`...)
			if finish == "" {
				b = append(b, "null"...)
			} else {
				b = appendString(b, finish)
			}
			b = append(b, '}')
		}
		b = append(b, ']')
		switch {
		case usage >= 1:
			b = append(b, `,"usage":`...)
			b = appendUsage(b, g.promptTokens, len(g.words))
		case nullUsage:
			b = append(b, `,"usage":null`...)
		}
		b = append(b, '}')
		a.buf = b
		return b
	}

	if g.kind == chatKind && !send(chunk([]byte{}, true, "", 0)) {
		return
	}
	var text []byte
	for i := 0; i < len(g.words); i += a.s.opts.TokensPerChunk {
		if i > 0 && !a.s.wait(ctx, a.s.opts.ChunkDelay) {
			if ctx.Err() != nil {
				a.s.cancelled.Add(1)
			}
			return
		}
		text = text[:0]
		for j := i; j < min(i+a.s.opts.TokensPerChunk, len(g.words)); j++ {
			if j > 0 {
				text = append(text, ' ')
			}
			text = append(text, g.words[j]...)
		}
		if !send(chunk(text, false, "", 0)) {
			return
		}
	}
	lastUsage := 0
	if mode == UsageAlways || (g.includeUsage && mode == UsageOnLastChunk) {
		lastUsage = 1
	}
	var empty []byte
	if g.kind == completionKind {
		empty = []byte{}
	}
	if !send(chunk(empty, false, g.finish, lastUsage)) {
		return
	}
	if g.includeUsage && mode == UsageOpenAI && !send(chunk(nil, false, "", 2)) {
		return
	}
	if a.f.dropAfter >= 0 && sent >= a.f.dropAfter {
		panic(http.ErrAbortHandler)
	}
	a.writeEvent(fl, []byte("[DONE]"))
}

func (a *answerer) writeEvent(fl http.Flusher, payload []byte) error {
	// The response writer buffers, so three writes cost no more than one.
	io.WriteString(a.w, "data: ")
	a.w.Write(payload)
	if _, err := io.WriteString(a.w, "\n\n"); err != nil {
		return err
	}
	if fl != nil {
		fl.Flush()
	}
	return nil
}

func (a *answerer) embeddings(body []byte) {
	var req embeddingRequest
	if err := json.Unmarshal(body, &req); err != nil {
		writeError(a.w, http.StatusBadRequest, "invalid_request_error", "", "invalid JSON body: "+err.Error())
		return
	}
	if !a.checkModel(req.Model) {
		return
	}
	if req.EncodingFormat != "" && req.EncodingFormat != "float" && req.EncodingFormat != "base64" {
		writeError(a.w, http.StatusBadRequest, "invalid_request_error", "encoding_format", "encoding_format must be float or base64")
		return
	}
	texts, tokens, ok := inputs(req.Input)
	if !ok || len(texts) == 0 {
		writeError(a.w, http.StatusBadRequest, "invalid_request_error", "input", "input must be a string, an array of strings or token arrays")
		return
	}
	if a.f.badJSON {
		writeJSON(a.w, http.StatusOK, []byte(`{"object":"list","data":[{"embedding":[0.1,`))
		return
	}
	b := append(a.buf, `{"object":"list","data":[`...)
	for i, t := range texts {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"object":"embedding","index":`...)
		b = strconv.AppendInt(b, int64(i), 10)
		b = append(b, `,"embedding":`...)
		vec := Embedding(t, a.s.opts.EmbeddingDim)
		if req.EncodingFormat == "base64" {
			b = appendString(b, EncodeBase64(vec))
		} else {
			b = append(b, '[')
			for j, v := range vec {
				if j > 0 {
					b = append(b, ',')
				}
				b = strconv.AppendFloat(b, float64(v), 'g', -1, 32)
			}
			b = append(b, ']')
		}
		b = append(b, '}')
	}
	b = append(b, `],"model":`...)
	b = appendString(b, req.Model)
	b = append(b, `,"usage":{"prompt_tokens":`...)
	b = strconv.AppendInt(b, int64(tokens), 10)
	b = append(b, `,"total_tokens":`...)
	b = strconv.AppendInt(b, int64(tokens), 10)
	b = append(b, `}}`...)
	a.buf = b
	writeJSON(a.w, http.StatusOK, b)
}

// Embedding returns the vector the server answers for text: dim values
// derived from an FNV hash of text, each a multiple of 1/1024 in [-1, 1),
// so that they are exact in float32 and print briefly.
func Embedding(text string, dim int) []float32 {
	h := fnv.New64a()
	h.Write([]byte(text))
	x := h.Sum64()
	vec := make([]float32, dim)
	for i := range vec {
		// splitmix64
		x += 0x9e3779b97f4a7c15
		z := x
		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
		z = (z ^ (z >> 27)) * 0x94d049bb133111eb
		z ^= z >> 31
		vec[i] = float32(int(z%2048)-1024) / 1024
	}
	return vec
}

// EncodeBase64 encodes vec the way OpenAI's encoding_format "base64" does:
// the little-endian float32 values, base64 (standard alphabet, padded).
func EncodeBase64(vec []float32) string {
	raw := make([]byte, 4*len(vec))
	for i, v := range vec {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
	}
	return base64.StdEncoding.EncodeToString(raw)
}

// inputs decodes an embeddings input or a completions prompt: a string, an
// array of strings, an array of token ids or an array of token-id arrays. It
// returns one text per item (token arrays as their decimal ids) and the
// total token count.
func inputs(raw json.RawMessage) (texts []string, tokens int, ok bool) {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return []string{s}, countWords(s), true
	}
	var ss []string
	if json.Unmarshal(raw, &ss) == nil {
		for _, s := range ss {
			tokens += countWords(s)
		}
		return ss, tokens, true
	}
	var ids []int64
	if json.Unmarshal(raw, &ids) == nil {
		return []string{idsText(ids)}, len(ids), true
	}
	var idss [][]int64
	if json.Unmarshal(raw, &idss) == nil {
		for _, ids := range idss {
			texts = append(texts, idsText(ids))
			tokens += len(ids)
		}
		return texts, tokens, true
	}
	return nil, 0, false
}

func idsText(ids []int64) string {
	var b []byte
	for i, id := range ids {
		if i > 0 {
			b = append(b, ' ')
		}
		b = strconv.AppendInt(b, id, 10)
	}
	return string(b)
}

// contentText returns the text of a message content: a string, null, or
// an array of parts whose "text" fields are joined by spaces.
func contentText(raw json.RawMessage) (string, bool) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", true
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s, true
	}
	var parts []struct {
		Text string `json:"text"`
	}
	if json.Unmarshal(raw, &parts) != nil {
		return "", false
	}
	var b []byte
	for i, p := range parts {
		if i > 0 {
			b = append(b, ' ')
		}
		b = append(b, p.Text...)
	}
	return string(b), true
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}

// CountTokens returns the server's token count of s: its
// whitespace-separated words.
func CountTokens(s string) int { return countWords(s) }

func countWords(s string) int {
	n, in := 0, false
	for i := 0; i < len(s); i++ {
		sp := isSpace(s[i])
		if !sp && !in {
			n++
		}
		in = !sp
	}
	return n
}

func splitWords(s string) []string {
	words := make([]string, 0, countWords(s))
	start := -1
	for i := 0; i < len(s); i++ {
		if isSpace(s[i]) {
			if start >= 0 {
				words = append(words, s[start:i])
				start = -1
			}
		} else if start < 0 {
			start = i
		}
	}
	if start >= 0 {
		words = append(words, s[start:])
	}
	return words
}

func appendWords(b []byte, words []string) []byte {
	b = append(b, '"')
	for i, w := range words {
		if i > 0 {
			b = append(b, ' ')
		}
		b = appendStringBody(b, w)
	}
	return append(b, '"')
}

func appendUsage(b []byte, prompt, completion int) []byte {
	b = append(b, `{"prompt_tokens":`...)
	b = strconv.AppendInt(b, int64(prompt), 10)
	b = append(b, `,"completion_tokens":`...)
	b = strconv.AppendInt(b, int64(completion), 10)
	b = append(b, `,"total_tokens":`...)
	b = strconv.AppendInt(b, int64(prompt+completion), 10)
	return append(b, '}')
}

func (s *Server) appendModels(b []byte) []byte {
	b = append(b, `{"object":"list","data":[`...)
	for i, m := range s.models {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"id":`...)
		b = appendString(b, m)
		b = append(b, `,"object":"model","created":1700000000,"owned_by":"upstreamtest"}`...)
	}
	return append(b, `]}`...)
}

// appendString appends s as a JSON string.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	b = appendStringBody(b, s)
	return append(b, '"')
}

const hexDigits = "0123456789abcdef"

func appendStringBody(b []byte, s string) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c < 0x20:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, `\ufffd`...)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return b
}

func writeJSON(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	w.Write(body)
}

func writeError(w http.ResponseWriter, status int, typ, param, msg string) {
	writeErrorCode(w, status, typ, param, "", msg)
}

func writeErrorCode(w http.ResponseWriter, status int, typ, param, code, msg string) {
	b := append([]byte(nil), `{"error":{"message":`...)
	b = appendString(b, msg)
	b = append(b, `,"type":`...)
	b = appendString(b, typ)
	b = append(b, `,"param":`...)
	if param == "" {
		b = append(b, "null"...)
	} else {
		b = appendString(b, param)
	}
	b = append(b, `,"code":`...)
	if code == "" {
		b = append(b, "null"...)
	} else {
		b = appendString(b, code)
	}
	b = append(b, "}}"...)
	writeJSON(w, status, b)
}
