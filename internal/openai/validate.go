package openai

import (
	"encoding/json"
	"strconv"
)

// Limits on request parameters.
const (
	MaxStop        = 4  // stop sequences
	MaxTopLogprobs = 20 // chat top_logprobs
	MaxLogprobs    = 5  // completion logprobs
)

// Validate checks a decoded chat request. It returns a 400 *APIError whose
// Param names the offending field, or nil.
func (r *ChatCompletionRequest) Validate() error {
	if r.Model == "" {
		return InvalidRequest("model", "You must provide a model parameter.")
	}
	if len(r.Messages) == 0 {
		return InvalidRequest("messages", "'messages' must contain at least one message.")
	}
	for i := range r.Messages {
		if err := r.Messages[i].validate("messages[" + strconv.Itoa(i) + "]"); err != nil {
			return err
		}
	}
	if err := validateSampling(r.Temperature, r.TopP, r.FrequencyPenalty, r.PresencePenalty, r.N, r.Stop); err != nil {
		return err
	}
	if err := atLeastOne("max_tokens", r.MaxTokens); err != nil {
		return err
	}
	if err := atLeastOne("max_completion_tokens", r.MaxCompletionTokens); err != nil {
		return err
	}
	if err := validateStream(r.Stream, r.StreamOptions); err != nil {
		return err
	}
	if f := r.ResponseFormat; f != nil {
		switch f.Type {
		case "text", "json_object":
		case "json_schema":
			if firstByte(f.JSONSchema) != '{' {
				return InvalidRequest("response_format.json_schema", "'response_format.json_schema' must be an object when 'response_format.type' is 'json_schema'.")
			}
		case "":
			return InvalidRequest("response_format.type", "Missing 'response_format.type': expected 'text', 'json_object' or 'json_schema'.")
		default:
			return InvalidRequest("response_format.type", "Invalid value for 'response_format.type': %q; expected 'text', 'json_object' or 'json_schema'.", f.Type)
		}
	}
	if len(r.Tools) > 0 {
		switch firstByte(r.Tools) {
		case '[', 'n':
		default:
			return InvalidRequest("tools", "Invalid value for 'tools': expected an array of tools.")
		}
	}
	if len(r.ToolChoice) > 0 {
		switch firstByte(r.ToolChoice) {
		case 'n', '{':
		case '"':
			var s string
			_ = json.Unmarshal(r.ToolChoice, &s) // a valid JSON string: decoded already
			switch s {
			case "none", "auto", "required":
			default:
				return InvalidRequest("tool_choice", "Invalid value for 'tool_choice': %q; expected 'none', 'auto', 'required' or an object naming a function.", s)
			}
		default:
			return InvalidRequest("tool_choice", "Invalid value for 'tool_choice': expected a string or an object.")
		}
	}
	if r.TopLogprobs != nil {
		if *r.TopLogprobs < 0 || *r.TopLogprobs > MaxTopLogprobs {
			return InvalidRequest("top_logprobs", "Invalid value for 'top_logprobs': %d; it must be between 0 and %d.", *r.TopLogprobs, MaxTopLogprobs)
		}
		if !r.Logprobs {
			return InvalidRequest("top_logprobs", "'top_logprobs' requires 'logprobs' to be true.")
		}
	}
	return nil
}

// validate checks one message; path is its JSON path, e.g. "messages[2]".
func (m *ChatMessage) validate(path string) error {
	switch m.Role {
	case RoleSystem, RoleDeveloper, RoleUser, RoleAssistant, RoleTool, RoleFunction:
	case "":
		return InvalidRequest(path+".role", "Missing required parameter: '%s.role'.", path)
	default:
		return InvalidRequest(path+".role", "Invalid value for '%s.role': %q; expected 'system', 'developer', 'user', 'assistant' or 'tool'.", path, m.Role)
	}
	if m.Content.IsNull() && m.Role != RoleAssistant {
		return InvalidRequest(path+".content", "Missing required parameter: '%s.content'.", path)
	}
	for j, p := range m.Content.Parts() {
		pp := path + ".content[" + strconv.Itoa(j) + "]"
		switch p.Type {
		case PartText, PartImageURL, PartInputAudio, PartFile, PartRefusal:
		case "":
			return InvalidRequest(pp+".type", "Missing required parameter: '%s.type'.", pp)
		default:
			return InvalidRequest(pp+".type", "Invalid value for '%s.type': %q; expected 'text', 'image_url', 'input_audio', 'file' or 'refusal'.", pp, p.Type)
		}
		if p.Type == PartImageURL && (p.ImageURL == nil || p.ImageURL.URL == "") {
			return InvalidRequest(pp+".image_url.url", "Missing required parameter: '%s.image_url.url'.", pp)
		}
	}
	if m.Role == RoleTool && m.ToolCallID == "" {
		return InvalidRequest(path+".tool_call_id", "Missing required parameter: '%s.tool_call_id'.", path)
	}
	if len(m.ToolCalls) > 0 && m.Role != RoleAssistant {
		return InvalidRequest(path+".tool_calls", "Only assistant messages may have 'tool_calls'.")
	}
	for j, c := range m.ToolCalls {
		cp := path + ".tool_calls[" + strconv.Itoa(j) + "]"
		if c.ID == "" {
			return InvalidRequest(cp+".id", "Missing required parameter: '%s.id'.", cp)
		}
		if c.Type != "function" {
			return InvalidRequest(cp+".type", "Invalid value for '%s.type': %q; expected 'function'.", cp, c.Type)
		}
		if c.Function.Name == "" {
			return InvalidRequest(cp+".function.name", "Missing required parameter: '%s.function.name'.", cp)
		}
	}
	return nil
}

// Validate checks a decoded completion request. It returns a 400
// *APIError whose Param names the offending field, or nil.
func (r *CompletionRequest) Validate() error {
	if r.Model == "" {
		return InvalidRequest("model", "You must provide a model parameter.")
	}
	p := r.Prompt
	switch n, given := p.given(); {
	case !given:
		return InvalidRequest("prompt", "You must provide a prompt parameter.")
	case n == 0:
		return InvalidRequest("prompt", "'prompt' must not be an empty array.")
	case n > 1:
		return InvalidRequest("prompt", "Only a single prompt is supported; got %d.", n)
	case p.Tokens != nil && len(p.Tokens) == 0:
		return InvalidRequest("prompt", "'prompt' must not be an empty array of token ids.")
	}
	for _, id := range p.Tokens {
		if id < 0 {
			return InvalidRequest("prompt", "Invalid token id %d in 'prompt'.", id)
		}
	}
	if err := validateSampling(r.Temperature, r.TopP, r.FrequencyPenalty, r.PresencePenalty, r.N, r.Stop); err != nil {
		return err
	}
	if err := atLeastOne("max_tokens", r.MaxTokens); err != nil {
		return err
	}
	if r.BestOf != nil && *r.BestOf != 1 {
		return InvalidRequest("best_of", "Only best_of=1 is supported.")
	}
	if r.Logprobs != nil && (*r.Logprobs < 0 || *r.Logprobs > MaxLogprobs) {
		return InvalidRequest("logprobs", "Invalid value for 'logprobs': %d; it must be between 0 and %d.", *r.Logprobs, MaxLogprobs)
	}
	return validateStream(r.Stream, r.StreamOptions)
}

// Validate checks a decoded embedding request. It returns a 400 *APIError
// whose Param names the offending field, or nil.
func (r *EmbeddingRequest) Validate() error {
	if r.Model == "" {
		return InvalidRequest("model", "You must provide a model parameter.")
	}
	in := r.Input
	switch n := in.Len(); {
	case in.Texts == nil && in.Tokens == nil:
		return InvalidRequest("input", "You must provide an input parameter.")
	case n == 0:
		return InvalidRequest("input", "'input' must not be an empty array.")
	case n > MaxEmbeddingInputs:
		return InvalidRequest("input", "'input' has %d items; at most %d are allowed.", n, MaxEmbeddingInputs)
	}
	for i, s := range in.Texts {
		if s == "" {
			return InvalidRequest(inputPath(in, i), "'%s' must not be an empty string.", inputPath(in, i))
		}
	}
	for i, ids := range in.Tokens {
		if len(ids) == 0 {
			return InvalidRequest(inputPath(in, i), "'%s' must not be an empty array of token ids.", inputPath(in, i))
		}
		for _, id := range ids {
			if id < 0 {
				return InvalidRequest(inputPath(in, i), "Invalid token id %d in '%s'.", id, inputPath(in, i))
			}
		}
	}
	switch r.EncodingFormat {
	case "", EncodingFloat, EncodingBase64:
	default:
		return InvalidRequest("encoding_format", "Invalid value for 'encoding_format': %q; expected 'float' or 'base64'.", r.EncodingFormat)
	}
	if r.Dimensions != nil && *r.Dimensions < 1 {
		return InvalidRequest("dimensions", "Invalid value for 'dimensions': %d; it must be at least 1.", *r.Dimensions)
	}
	return nil
}

func inputPath(in EmbeddingInput, i int) string {
	if in.single {
		return "input"
	}
	return "input[" + strconv.Itoa(i) + "]"
}

func validateSampling(temperature, topP, frequencyPenalty, presencePenalty *float64, n *int, stop StringList) error {
	if t := temperature; t != nil && (*t < 0 || *t > 2) {
		return InvalidRequest("temperature", "Invalid value for 'temperature': %v; it must be between 0 and 2.", *t)
	}
	if p := topP; p != nil && (*p < 0 || *p > 1) {
		return InvalidRequest("top_p", "Invalid value for 'top_p': %v; it must be between 0 and 1.", *p)
	}
	if p := frequencyPenalty; p != nil && (*p < -2 || *p > 2) {
		return InvalidRequest("frequency_penalty", "Invalid value for 'frequency_penalty': %v; it must be between -2 and 2.", *p)
	}
	if p := presencePenalty; p != nil && (*p < -2 || *p > 2) {
		return InvalidRequest("presence_penalty", "Invalid value for 'presence_penalty': %v; it must be between -2 and 2.", *p)
	}
	if n != nil && *n != 1 {
		return InvalidRequest("n", "Invalid value for 'n': %d; only n=1 is supported.", *n)
	}
	if len(stop) > MaxStop {
		return InvalidRequest("stop", "'stop' has %d sequences; at most %d are allowed.", len(stop), MaxStop)
	}
	return nil
}

func atLeastOne(param string, v *int) error {
	if v != nil && *v < 1 {
		return InvalidRequest(param, "Invalid value for '%s': %d; it must be at least 1.", param, *v)
	}
	return nil
}

func validateStream(stream bool, opts *StreamOptions) error {
	if opts != nil && !stream {
		return InvalidRequest("stream_options", "The 'stream_options' parameter is only allowed when 'stream' is true.")
	}
	return nil
}
