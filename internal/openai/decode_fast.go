package openai

import (
	"encoding/json"
	"strconv"
)

// A fast path for the chat request, the gateway's hottest decode. It reads
// the usual shape of a body in one pass without reflection: plain keys
// spelled exactly as the fields are, scalars, and messages whose content is
// a string. Whatever it does not handle itself (stop, stream_options,
// response_format, tools, content arrays, tool calls) it hands, as the raw
// bytes of that one value, to encoding/json, so the result is the same by
// construction. It declines (returns false) on anything unusual: a syntax
// error, a type mismatch, a duplicate key, a key that differs from a field
// name only in case or that has escapes or non-ASCII bytes, a number that
// does not fit, or nesting deeper than fastMaxDepth. The caller then
// decodes the body with encoding/json, which finds and reports any error;
// the fast path never reports one itself. FuzzDecodeChatFast checks that
// whenever it accepts a body, encoding/json decodes the same request.

// fastMaxDepth bounds how deeply a skipped value may nest; deeper bodies go
// to encoding/json (which allows 10000 levels).
const fastMaxDepth = 512

// Top-level fields of ChatCompletionRequest, as bits for duplicate checks.
const (
	fModel = 1 << iota
	fMessages
	fStream
	fStreamOptions
	fStop
	fMaxTokens
	fMaxCompletionTokens
	fTemperature
	fTopP
	fFrequencyPenalty
	fPresencePenalty
	fSeed
	fN
	fResponseFormat
	fTools
	fToolChoice
	fParallelToolCalls
	fUser
	fLogprobs
	fTopLogprobs
	fLogitBias
)

var chatFields = map[string]int{
	"model": fModel, "messages": fMessages, "stream": fStream, "stream_options": fStreamOptions,
	"stop": fStop, "max_tokens": fMaxTokens, "max_completion_tokens": fMaxCompletionTokens,
	"temperature": fTemperature, "top_p": fTopP, "frequency_penalty": fFrequencyPenalty,
	"presence_penalty": fPresencePenalty, "seed": fSeed, "n": fN, "response_format": fResponseFormat,
	"tools": fTools, "tool_choice": fToolChoice, "parallel_tool_calls": fParallelToolCalls,
	"user": fUser, "logprobs": fLogprobs, "top_logprobs": fTopLogprobs, "logit_bias": fLogitBias,
}

// Fields of ChatMessage.
const (
	mRole = 1 << iota
	mContent
	mName
	mToolCalls
	mToolCallID
)

var messageFields = map[string]int{
	"role": mRole, "content": mContent, "name": mName, "tool_calls": mToolCalls, "tool_call_id": mToolCallID,
}

// decodeChatFast decodes body into r, which must be zero. It reports false
// when it declined; r is then in an unspecified state.
func decodeChatFast(body []byte, r *ChatCompletionRequest) bool {
	s := scanner{b: body}
	s.space()
	ok := s.object(func(key []byte) bool {
		bit, ok := field(chatFields, key)
		if !ok {
			return false
		}
		if bit == 0 { // unknown: skipped, as encoding/json does
			_, ok := s.value(0)
			return ok
		}
		if s.seen&bit != 0 {
			return false
		}
		s.seen |= bit
		switch bit {
		case fModel:
			return s.str(&r.Model)
		case fUser:
			return s.str(&r.User)
		case fMessages:
			return s.messages(&r.Messages)
		case fStream:
			return s.boolean(&r.Stream)
		case fLogprobs:
			return s.boolean(&r.Logprobs)
		case fMaxTokens:
			return s.intPtr(&r.MaxTokens)
		case fMaxCompletionTokens:
			return s.intPtr(&r.MaxCompletionTokens)
		case fN:
			return s.intPtr(&r.N)
		case fTopLogprobs:
			return s.intPtr(&r.TopLogprobs)
		case fSeed:
			return s.int64Ptr(&r.Seed)
		case fTemperature:
			return s.floatPtr(&r.Temperature)
		case fTopP:
			return s.floatPtr(&r.TopP)
		case fFrequencyPenalty:
			return s.floatPtr(&r.FrequencyPenalty)
		case fPresencePenalty:
			return s.floatPtr(&r.PresencePenalty)
		case fParallelToolCalls:
			return s.delegate(&r.ParallelToolCalls)
		case fStreamOptions:
			return s.streamOptions(&r.StreamOptions)
		case fStop:
			return s.stop(&r.Stop)
		case fResponseFormat:
			return s.delegate(&r.ResponseFormat)
		case fTools:
			return s.delegate(&r.Tools)
		case fToolChoice:
			return s.delegate(&r.ToolChoice)
		case fLogitBias:
			return s.delegate(&r.LogitBias)
		}
		return false
	})
	if !ok {
		return false
	}
	s.space()
	return s.i == len(s.b)
}

// field returns the bit of key in fields, 0 for a key that matches no
// field, and false for a key the fast path leaves to encoding/json: one
// with escapes or non-ASCII bytes, or equal to a field name only under case
// folding (encoding/json matches those).
func field(fields map[string]int, key []byte) (int, bool) {
	if bit, ok := fields[string(key)]; ok {
		return bit, true
	}
	if !plainKey(key) {
		return 0, false
	}
	for name := range fields {
		if equalFoldASCII(name, key) {
			return 0, false
		}
	}
	return 0, true
}

func equalFoldASCII(a string, b []byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range len(a) {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// scanner reads JSON text strictly; every method reports false where the
// text is not what it expects.
type scanner struct {
	b    []byte
	i    int
	seen int // top-level fields read so far
}

func (s *scanner) space() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\r', '\n':
			s.i++
		default:
			return
		}
	}
}

// object reads an object, calling member for each key with the scanner
// positioned at the member's value (after the colon and spaces).
func (s *scanner) object(member func(key []byte) bool) bool {
	if s.i >= len(s.b) || s.b[s.i] != '{' {
		return false
	}
	s.i++
	s.space()
	if s.i < len(s.b) && s.b[s.i] == '}' {
		s.i++
		return true
	}
	for {
		start := s.i
		if !s.skipString() {
			return false
		}
		key := s.b[start+1 : s.i-1]
		s.space()
		if s.i >= len(s.b) || s.b[s.i] != ':' {
			return false
		}
		s.i++
		s.space()
		if !member(key) {
			return false
		}
		s.space()
		if s.i >= len(s.b) {
			return false
		}
		switch s.b[s.i] {
		case ',':
			s.i++
			s.space()
		case '}':
			s.i++
			return true
		default:
			return false
		}
	}
}

// value skips one value and returns its bytes.
func (s *scanner) value(depth int) ([]byte, bool) {
	start := s.i
	if s.i >= len(s.b) || depth > fastMaxDepth {
		return nil, false
	}
	var ok bool
	switch c := s.b[s.i]; {
	case c == '"':
		ok = s.skipString()
	case c == '{':
		ok = s.object(func([]byte) bool {
			_, ok := s.value(depth + 1)
			return ok
		})
	case c == '[':
		ok = s.array(func() bool {
			_, ok := s.value(depth + 1)
			return ok
		})
	case c == '-' || '0' <= c && c <= '9':
		_, ok = s.number()
	case c == 't':
		ok = s.literal("true")
	case c == 'f':
		ok = s.literal("false")
	case c == 'n':
		ok = s.literal("null")
	}
	return s.b[start:s.i], ok
}

// array reads an array, calling elem with the scanner at each element.
func (s *scanner) array(elem func() bool) bool {
	if s.i >= len(s.b) || s.b[s.i] != '[' {
		return false
	}
	s.i++
	s.space()
	if s.i < len(s.b) && s.b[s.i] == ']' {
		s.i++
		return true
	}
	for {
		if !elem() {
			return false
		}
		s.space()
		if s.i >= len(s.b) {
			return false
		}
		switch s.b[s.i] {
		case ',':
			s.i++
			s.space()
		case ']':
			s.i++
			return true
		default:
			return false
		}
	}
}

func (s *scanner) literal(lit string) bool {
	if len(s.b)-s.i < len(lit) || string(s.b[s.i:s.i+len(lit)]) != lit {
		return false
	}
	s.i += len(lit)
	return true
}

// skipString skips a string token, checking its escapes and that it holds
// no control characters, as encoding/json does (it accepts invalid UTF-8,
// which decoding replaces).
func (s *scanner) skipString() bool {
	_, ok := s.stringToken()
	return ok
}

// stringToken skips a string token like skipString and also reports
// whether it is plain: printable ASCII without escapes, so that its bytes
// between the quotes are its value.
func (s *scanner) stringToken() (plain, ok bool) {
	if s.i >= len(s.b) || s.b[s.i] != '"' {
		return false, false
	}
	plain = true
	for i := s.i + 1; i < len(s.b); i++ {
		c := s.b[i]
		if 0x20 <= c && c < 0x80 && c != '"' && c != '\\' {
			continue
		}
		switch {
		case c == '"':
			s.i = i + 1
			return plain, true
		case c < 0x20:
			return false, false
		case c >= 0x80:
			plain = false
		case c == '\\':
			plain = false
			i++
			if i >= len(s.b) {
				return false, false
			}
			switch s.b[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if i+4 >= len(s.b) {
					return false, false
				}
				for _, h := range s.b[i+1 : i+5] {
					if !('0' <= h && h <= '9' || 'a' <= h && h <= 'f' || 'A' <= h && h <= 'F') {
						return false, false
					}
				}
				i += 4
			default:
				return false, false
			}
		}
	}
	return false, false
}

// number skips a number token and reports whether it is an integer
// (no fraction, no exponent).
func (s *scanner) number() (integer, ok bool) {
	b, i := s.b, s.i
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i >= len(b):
		return false, false
	case b[i] == '0':
		i++
	case '1' <= b[i] && b[i] <= '9':
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			i++
		}
	default:
		return false, false
	}
	integer = true
	if i < len(b) && b[i] == '.' {
		integer = false
		i++
		d := i
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			i++
		}
		if i == d {
			return false, false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		integer = false
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		d := i
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			i++
		}
		if i == d {
			return false, false
		}
	}
	s.i = i
	return integer, true
}

// str reads a string into *dst; null leaves *dst as it is, as
// encoding/json does.
func (s *scanner) str(dst *string) bool {
	if s.i < len(s.b) && s.b[s.i] == 'n' {
		return s.literal("null")
	}
	start := s.i
	plain, ok := s.stringToken()
	if !ok {
		return false
	}
	if plain {
		*dst = string(s.b[start+1 : s.i-1])
		return true
	}
	v, err := unquote(s.b[start:s.i])
	if err != nil {
		return false
	}
	*dst = v
	return true
}

func (s *scanner) boolean(dst *bool) bool {
	if s.i >= len(s.b) {
		return false
	}
	switch s.b[s.i] {
	case 't':
		*dst = true
		return s.literal("true")
	case 'f':
		*dst = false
		return s.literal("false")
	case 'n':
		return s.literal("null")
	}
	return false
}

// intPtr reads an integer that fits an int, or null (nil).
func (s *scanner) intPtr(dst **int) bool {
	var v int64
	null, ok := s.integer(&v, strconv.IntSize)
	if ok && !null {
		n := int(v)
		*dst = &n
	}
	return ok
}

func (s *scanner) int64Ptr(dst **int64) bool {
	var v int64
	null, ok := s.integer(&v, 64)
	if ok && !null {
		*dst = &v
	}
	return ok
}

func (s *scanner) integer(v *int64, bits int) (null, ok bool) {
	if s.i < len(s.b) && s.b[s.i] == 'n' {
		return true, s.literal("null")
	}
	start := s.i
	integer, ok := s.number()
	if !ok || !integer {
		return false, false // a fraction or exponent: encoding/json refuses it
	}
	n, err := strconv.ParseInt(string(s.b[start:s.i]), 10, bits)
	if err != nil {
		return false, false
	}
	*v = n
	return false, true
}

func (s *scanner) floatPtr(dst **float64) bool {
	if s.i < len(s.b) && s.b[s.i] == 'n' {
		return s.literal("null")
	}
	start := s.i
	if _, ok := s.number(); !ok {
		return false
	}
	f, err := strconv.ParseFloat(string(s.b[start:s.i]), 64)
	if err != nil {
		return false
	}
	*dst = &f
	return true
}

// delegate decodes the next value into dst with encoding/json.
func (s *scanner) delegate(dst any) bool {
	raw, ok := s.value(0)
	return ok && json.Unmarshal(raw, dst) == nil
}

// messages reads the messages array; an element that is not an object
// (null included) is left to encoding/json.
func (s *scanner) messages(dst *[]ChatMessage) bool {
	if s.i < len(s.b) && s.b[s.i] == 'n' {
		return s.literal("null")
	}
	msgs := make([]ChatMessage, 0, 4)
	ok := s.array(func() bool {
		msgs = append(msgs, ChatMessage{})
		return s.message(&msgs[len(msgs)-1])
	})
	*dst = msgs
	return ok
}

func (s *scanner) message(m *ChatMessage) bool {
	seen := 0
	return s.object(func(key []byte) bool {
		bit, ok := field(messageFields, key)
		if !ok {
			return false
		}
		if bit == 0 {
			_, ok := s.value(0)
			return ok
		}
		if seen&bit != 0 {
			return false
		}
		seen |= bit
		switch bit {
		case mRole:
			return s.str(&m.Role)
		case mName:
			return s.str(&m.Name)
		case mToolCallID:
			return s.str(&m.ToolCallID)
		case mContent:
			if s.i < len(s.b) && s.b[s.i] == '"' {
				var text string
				if !s.str(&text) {
					return false
				}
				m.Content = TextContent(text)
				return true
			}
			return s.delegate(&m.Content)
		case mToolCalls:
			return s.delegate(&m.ToolCalls)
		}
		return false
	})
}

// streamOptions reads {"include_usage": BOOL} (other members skipped);
// anything else goes to encoding/json.
func (s *scanner) streamOptions(dst **StreamOptions) bool {
	if s.i >= len(s.b) || s.b[s.i] != '{' {
		return s.delegate(dst)
	}
	o := new(StreamOptions)
	seen := false
	ok := s.object(func(key []byte) bool {
		if string(key) != "include_usage" {
			if equalFoldASCII("include_usage", key) || !plainKey(key) {
				return false
			}
			_, ok := s.value(0)
			return ok
		}
		if seen {
			return false
		}
		seen = true
		return s.boolean(&o.IncludeUsage)
	})
	*dst = o
	return ok
}

// plainKey reports whether a key has neither escapes nor non-ASCII bytes.
func plainKey(key []byte) bool {
	for _, c := range key {
		if c == '\\' || c >= 0x80 {
			return false
		}
	}
	return true
}

// stop reads a string or an array of strings; anything else goes to
// StringList's own decoding through encoding/json.
func (s *scanner) stop(dst *StringList) bool {
	if s.i >= len(s.b) {
		return false
	}
	switch s.b[s.i] {
	case '"':
		var v string
		if !s.str(&v) {
			return false
		}
		*dst = StringList{v}
		return true
	case '[':
		start := s.i
		l := StringList{}
		ok := s.array(func() bool {
			if s.i >= len(s.b) || s.b[s.i] != '"' {
				return false
			}
			var v string
			if !s.str(&v) {
				return false
			}
			l = append(l, v)
			return true
		})
		if !ok {
			s.i = start
			return s.delegate(dst)
		}
		*dst = l
		return true
	}
	return s.delegate(dst)
}
