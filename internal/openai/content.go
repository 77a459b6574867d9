package openai

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"unicode/utf8"
)

// Content is a chat message's content: a string, null, or an array of
// parts. The zero Content is null. It marshals back in the form it was
// decoded from.
type Content struct {
	text   string
	parts  []ContentPart
	isText bool
	isList bool
}

// Content part types.
const (
	PartText       = "text"
	PartImageURL   = "image_url"
	PartInputAudio = "input_audio"
	PartFile       = "file"
	PartRefusal    = "refusal"
)

// ContentPart is one element of an array content. Text is set for "text"
// parts, ImageURL for "image_url" parts, Refusal for "refusal" parts; the
// other kinds are kept as raw JSON.
type ContentPart struct {
	Type       string          `json:"type"`
	Text       string          `json:"text,omitempty"`
	ImageURL   *ImageURL       `json:"image_url,omitempty"`
	InputAudio json.RawMessage `json:"input_audio,omitempty"`
	File       json.RawMessage `json:"file,omitempty"`
	Refusal    string          `json:"refusal,omitempty"`
}

// ImageURL is an image part's location: an https URL or a data: URL.
type ImageURL struct {
	URL    string `json:"url"`
	Detail string `json:"detail,omitempty"`
}

// TextContent returns content that is the string s.
func TextContent(s string) Content { return Content{text: s, isText: true} }

// PartsContent returns content that is an array of parts.
func PartsContent(parts ...ContentPart) Content {
	if parts == nil {
		parts = []ContentPart{}
	}
	return Content{parts: parts, isList: true}
}

// Text returns the content's text: the string itself, or the text of all
// "text" parts joined with "\n". Null content has the text "".
func (c Content) Text() string {
	if c.isText || !c.isList {
		return c.text
	}
	var texts []string
	for _, p := range c.parts {
		if p.Type == PartText {
			texts = append(texts, p.Text)
		}
	}
	return strings.Join(texts, "\n")
}

// Parts returns the parts of array content, and nil for a string or null.
func (c Content) Parts() []ContentPart { return c.parts }

// IsNull reports whether the content is null or absent.
func (c Content) IsNull() bool { return !c.isText && !c.isList }

// IsString reports whether the content is a plain string.
func (c Content) IsString() bool { return c.isText }

// TextOnly reports whether the content holds nothing but text: a string,
// null, or only "text" parts.
func (c Content) TextOnly() bool {
	for _, p := range c.parts {
		if p.Type != PartText {
			return false
		}
	}
	return true
}

// MarshalJSON writes a string, an array of parts, or null.
func (c Content) MarshalJSON() ([]byte, error) {
	switch {
	case c.isText:
		return json.Marshal(c.text)
	case c.isList:
		parts := c.parts
		if parts == nil {
			parts = []ContentPart{}
		}
		return json.Marshal(parts)
	}
	return []byte("null"), nil
}

var errContentShape = errors.New("expected a string or an array of content parts")

// UnmarshalJSON reads a string, null, or an array of part objects.
func (c *Content) UnmarshalJSON(b []byte) error {
	*c = Content{}
	switch firstByte(b) {
	case 'n':
		return nil
	case '"':
		s, err := unquote(b)
		if err != nil {
			return err
		}
		*c = TextContent(s)
		return nil
	case '[':
		var parts []ContentPart
		if err := json.Unmarshal(b, &parts); err != nil {
			return errContentShape
		}
		*c = PartsContent(parts...)
		return nil
	}
	return errContentShape
}

// StringList is a list of strings that is also given as a single string,
// like "stop": "\n" or "stop": ["\n", "END"]. It marshals as an array.
type StringList []string

var errStringListShape = errors.New("expected a string or an array of strings")

// UnmarshalJSON reads a string, an array of strings, or null.
func (l *StringList) UnmarshalJSON(b []byte) error {
	switch firstByte(b) {
	case 'n':
		*l = nil
		return nil
	case '"':
		s, err := unquote(b)
		if err != nil {
			return err
		}
		*l = StringList{s}
		return nil
	case '[':
		var ss []string
		if err := json.Unmarshal(b, &ss); err != nil {
			return errStringListShape
		}
		*l = ss
		return nil
	}
	return errStringListShape
}

// withoutEmpty returns l without its empty strings.
func (l StringList) withoutEmpty() StringList {
	for i, s := range l {
		if s == "" {
			out := append(StringList(nil), l[:i]...)
			for _, s := range l[i+1:] {
				if s != "" {
					out = append(out, s)
				}
			}
			return out
		}
	}
	return l
}

// hasNull reports whether a JSON value holds a null literal. An array of
// token ids must not: encoding/json would silently decode null as 0.
func hasNull(b []byte) bool { return bytes.Contains(b, []byte("null")) }

// unquote decodes a JSON string. Plain strings (no escapes, valid UTF-8),
// the usual case for long prompts, are sliced out without a second pass of
// encoding/json.
func unquote(b []byte) (string, error) {
	b = bytes.TrimSpace(b)
	if n := len(b); n >= 2 && b[0] == '"' && b[n-1] == '"' {
		inner := b[1 : n-1]
		plain := true
		for _, c := range inner {
			if c < 0x20 || c == '"' || c == '\\' {
				plain = false
				break
			}
		}
		if plain && utf8.Valid(inner) {
			return string(inner), nil
		}
	}
	var s string
	err := json.Unmarshal(b, &s)
	return s, err
}

// firstByte returns the first non-space byte of a JSON value, or 0.
func firstByte(b []byte) byte {
	b = bytes.TrimLeft(b, " \t\r\n")
	if len(b) == 0 {
		return 0
	}
	return b[0]
}

// elemKind returns the first non-space byte after the '[' opening a JSON
// array, so that a union type can tell an array of strings from an array of
// numbers or of arrays. It returns ']' for an empty array.
func elemKind(b []byte) byte {
	b = bytes.TrimLeft(b, " \t\r\n")
	if len(b) == 0 || b[0] != '[' {
		return 0
	}
	return firstByte(b[1:])
}
