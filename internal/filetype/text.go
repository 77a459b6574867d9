package filetype

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"
)

// detectText recognises UTF-8 text (no NUL bytes) and then tells its text
// kinds apart: JSON by its keys, then by name and wording.
func detectText(f *file) (Result, bool, error) {
	text := bytes.TrimPrefix(f.head, []byte(utf8BOM))
	if !isText(text, f.whole()) {
		return Result{}, false, nil
	}
	if t := bytes.TrimLeft(text, " \t\r\n"); len(t) > 0 && (t[0] == '{' || t[0] == '[') {
		res, ok, err := detectJSON(f)
		if err != nil || ok {
			return res, ok, err
		}
	}
	lower := strings.ToLower(f.name)
	switch {
	case strings.HasSuffix(lower, ".py") || strings.HasSuffix(lower, ".pyi"):
		return Result{Kind: KindPython}, true, nil
	case lower != "" && isLicenseName(lower):
		return Result{Kind: KindLicense, Detail: "licence file name"}, true, nil
	case hasFrontMatter(text) && (lower == "" || isReadmeName(lower) || isMarkdownName(lower)):
		return Result{Kind: KindModelCard, Detail: "YAML front matter"}, true, nil
	case isReadmeName(lower) || isMarkdownName(lower):
		return Result{Kind: KindMarkdown}, true, nil
	}
	if w := licenseWording(text); w != "" {
		return Result{Kind: KindLicense, Detail: "licence wording: " + w}, true, nil
	}
	if isPythonShebang(text) {
		return Result{Kind: KindPython, Detail: "python shebang"}, true, nil
	}
	if f.size == 0 {
		return Result{Kind: KindText, Detail: "empty"}, true, nil
	}
	return Result{Kind: KindText}, true, nil
}

// utf8BOM is the UTF-8 byte order mark, skipped at the start of a text.
const utf8BOM = "\xef\xbb\xbf"

// isText reports whether b is valid UTF-8 without NUL bytes or other C0
// control characters (tab, line feed, vertical tab, form feed, carriage
// return and escape are allowed). When b is only the head of a longer file
// (!whole), a rune cut off at its end is allowed.
func isText(b []byte, whole bool) bool {
	for _, c := range b {
		if c < 0x20 && !isTextControl[c] {
			return false
		}
	}
	if !whole {
		// Drop an incomplete rune at the end: at most 3 bytes after the
		// last rune start.
		for i := len(b) - 1; i >= 0 && i >= len(b)-3; i-- {
			if utf8.RuneStart(b[i]) {
				if !utf8.FullRune(b[i:]) {
					b = b[:i]
				}
				break
			}
		}
	}
	return utf8.Valid(b)
}

// isTextControl marks the C0 control characters a text may contain.
var isTextControl = [0x20]bool{'\t': true, '\n': true, '\v': true, '\f': true, '\r': true, 0x1b: true}

// hasFrontMatter reports whether text starts with a YAML front matter block:
// a "---" line, then a closing "---" line, both within text.
func hasFrontMatter(text []byte) bool {
	line, rest, ok := bytes.Cut(text, []byte("\n"))
	if !ok || string(bytes.TrimRight(line, " \t\r")) != "---" {
		return false
	}
	for len(rest) > 0 {
		line, rest, ok = bytes.Cut(rest, []byte("\n"))
		if string(bytes.TrimRight(line, " \t\r")) == "---" {
			return true
		}
		if !ok {
			break
		}
	}
	return false
}

// licensePhrases are wordings that, near the top of a text, mark a licence.
var licensePhrases = []string{
	"Permission is hereby granted",
	"Apache License",
	"GNU GENERAL PUBLIC LICENSE",
	"GNU LESSER GENERAL PUBLIC LICENSE",
	"GNU LIBRARY GENERAL PUBLIC LICENSE",
	"GNU AFFERO GENERAL PUBLIC LICENSE",
	"GNU Free Documentation License",
	"LICENSE AGREEMENT",
	"License Agreement",
	"Redistribution and use in source and binary forms",
	"Mozilla Public License",
	"Eclipse Public License",
	"Boost Software License",
	"Creative Commons Corporation",
	"Creative Commons Legal Code",
	"This is free and unencumbered software released into the public domain",
	"Permission to use, copy, modify, and",
	"THE SOFTWARE IS PROVIDED \"AS IS\"",
	"Responsible AI License",
	"OpenRAIL",
	"Open RAIL",
	"Gemma Terms of Use",
}

// licenseWindow is how far into a text licence wording is looked for.
const licenseWindow = 2048

// licenseWording returns the first licence phrase found near the top of
// text, or "".
func licenseWording(text []byte) string {
	top := text[:min(len(text), licenseWindow)]
	for _, p := range licensePhrases {
		if bytes.Contains(top, []byte(p)) {
			return p
		}
	}
	return ""
}

// isPythonShebang reports whether text starts with a #! line naming python.
func isPythonShebang(text []byte) bool {
	line, _, _ := bytes.Cut(text, []byte("\n"))
	return bytes.HasPrefix(line, []byte("#!")) && bytes.Contains(line, []byte("python"))
}

// detectJSON classifies a text that starts like JSON by the keys of its top
// level object (and of its "model" object, for tokenizer.json).
func detectJSON(f *file) (Result, bool, error) {
	s, err := scanJSON(f)
	if err != nil {
		return Result{}, false, err
	}
	if !s.valid() {
		return Result{}, false, nil
	}
	if s.stack0 != '{' {
		return Result{Kind: KindJSON, Detail: "json array"}, true, nil
	}
	has := func(keys ...string) bool {
		for _, k := range keys {
			if s.top[k] {
				return true
			}
		}
		return false
	}
	detail := fmt.Sprintf("%d top-level keys", s.nTop)
	if s.truncated {
		detail += " (scan stopped early)"
	}
	lower := strings.ToLower(f.name)
	genKeys := []string{"do_sample", "max_new_tokens", "temperature", "top_p", "top_k",
		"repetition_penalty", "num_beams", "max_length", "eos_token_id", "bos_token_id", "pad_token_id"}
	sampling := []string{"do_sample", "max_new_tokens", "temperature", "top_p", "top_k", "repetition_penalty", "num_beams"}
	var kind Kind
	switch {
	case has("weight_map"):
		kind = KindSafetensorsIndex
	case has("model") && has("added_tokens") && (s.model["vocab"] || s.model["type"]):
		kind = KindHFTokenizer
	case has("added_tokens_decoder", "chat_template"):
		kind = KindHFTokenizerConfig
	case has("architectures", "model_type"):
		kind = KindHFConfig
	case has("tokenizer_class"):
		kind = KindHFTokenizerConfig
	case has("_from_model_config"):
		kind = KindHFGenerationConfig
	case lower == "generation_config.json" && has(genKeys...):
		kind = KindHFGenerationConfig
	case has("transformers_version") && has(sampling...):
		kind = KindHFGenerationConfig
	default:
		kind = KindJSON
	}
	return Result{Kind: kind, Detail: detail}, true, nil
}

// Bounds on the JSON scan.
const (
	maxJSONScan  = 256 << 20 // bytes scanned; beyond, classify by what was seen
	maxJSONDepth = 512
	maxJSONKeys  = 4096 // distinct keys remembered per level
	maxKeyLen    = 64   // longer keys are remembered truncated
)

// jsonScan is a streaming structural scan of a JSON text. It checks that
// brackets nest and that only JSON bytes appear outside strings, and it
// records the keys of the top-level object and of its "model" member. It is
// lenient about grammar details (a full check is json.Valid, used when the
// whole file is in the head).
type jsonScan struct {
	stack     []byte // '{' or '['
	stack0    byte   // the outermost bracket
	inString  bool
	escape    bool
	expectKey bool
	keyBuf    []byte
	capturing bool
	topKey    string // the last key seen at depth 1
	top       map[string]bool
	nTop      int
	model     map[string]bool
	done      bool // the outermost value closed
	bad       bool
	truncated bool // stopped at maxJSONScan or maxJSONDepth
}

// scanJSON scans f from the start, in chunks, up to maxJSONScan bytes.
func scanJSON(f *file) (*jsonScan, error) {
	s := &jsonScan{top: map[string]bool{}, model: map[string]bool{}}
	head := bytes.TrimPrefix(f.head, []byte(utf8BOM))
	s.feed(head)
	var buf []byte
	for off := int64(len(f.head)); off < f.size && !s.bad && !s.truncated; {
		if off >= maxJSONScan {
			s.truncated = true
			break
		}
		n := min(f.size-off, headSize)
		if buf == nil {
			buf = make([]byte, headSize)
		}
		if err := readAt(f.r, buf[:n], off); err != nil {
			return nil, err
		}
		s.feed(buf[:n])
		off += n
	}
	if f.whole() && s.valid() && !json.Valid(head) {
		s.bad = true
	}
	return s, nil
}

// valid reports whether the scan saw a complete JSON value, or a clean
// prefix of one when it stopped early.
func (s *jsonScan) valid() bool {
	return !s.bad && s.stack0 != 0 && (s.done || s.truncated)
}

// feed advances the scan over b.
func (s *jsonScan) feed(b []byte) {
	for _, c := range b {
		if s.bad || s.truncated {
			return
		}
		if s.inString {
			switch {
			case s.escape:
				s.escape = false
			case c == '\\':
				s.escape = true
			case c == '"':
				s.inString = false
				if s.capturing {
					s.key(string(s.keyBuf))
					s.capturing = false
				}
				continue
			case c < 0x20:
				s.bad = true
				return
			}
			if s.capturing && len(s.keyBuf) < maxKeyLen {
				s.keyBuf = append(s.keyBuf, c)
			}
			continue
		}
		switch c {
		case ' ', '\t', '\r', '\n':
		case '"':
			if s.done || len(s.stack) == 0 {
				s.bad = true
				return
			}
			s.inString = true
			s.capturing = s.stack[len(s.stack)-1] == '{' && s.expectKey
			s.keyBuf = s.keyBuf[:0]
			s.expectKey = false
		case '{', '[':
			if s.done {
				s.bad = true
				return
			}
			if len(s.stack) >= maxJSONDepth {
				s.truncated = true
				return
			}
			if len(s.stack) == 0 {
				s.stack0 = c
			}
			s.stack = append(s.stack, c)
			s.expectKey = c == '{'
		case '}', ']':
			if len(s.stack) == 0 || s.stack[len(s.stack)-1] != c-2 { // '{'+2 == '}', '['+2 == ']'
				s.bad = true
				return
			}
			s.stack = s.stack[:len(s.stack)-1]
			s.expectKey = false
			if len(s.stack) == 0 {
				s.done = true
			}
		case ',':
			if len(s.stack) == 0 {
				s.bad = true
				return
			}
			s.expectKey = s.stack[len(s.stack)-1] == '{'
		case ':':
			if len(s.stack) == 0 {
				s.bad = true
				return
			}
		default:
			if s.done || len(s.stack) == 0 || !strings.ContainsRune("0123456789-+.eEtrufalsn", rune(c)) {
				s.bad = true
				return
			}
		}
	}
}

// key records a key that just ended at the current depth.
func (s *jsonScan) key(k string) {
	switch len(s.stack) {
	case 1:
		s.topKey = k
		if !s.top[k] && len(s.top) < maxJSONKeys {
			s.top[k] = true
		}
		s.nTop++
	case 2:
		if s.topKey == "model" && s.stack[1] == '{' && len(s.model) < maxJSONKeys {
			s.model[k] = true
		}
	}
}
