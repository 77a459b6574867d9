package scan

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// This file splits a Jinja template into its tags and their tokens for
// static analysis (template.go). It follows jinja2's default syntax
// ({{ }}, {% %}, {# #}, whitespace-control modifiers, raw blocks, Python
// string escapes) closely enough to find every expression a renderer
// would evaluate; where it meets something jinja2 would reject it
// records the problem and carries on, so a malformed template is still
// analysed as far as possible.

// tplKind is the kind of a template token.
type tplKind uint8

const (
	tplName tplKind = iota
	tplString
	tplNumber
	tplOp
)

// tplTok is one token inside a tag.
type tplTok struct {
	kind tplKind
	val  string // name, decoded string, number text or operator
	pos  int    // byte offset in the template source
}

// tplTag is one {{ expression }} or {% statement %}.
type tplTag struct {
	stmt bool
	pos  int
	toks []tplTok
}

// tplLexProblem is something jinja2 would reject.
type tplLexProblem struct {
	pos int
	msg string
}

// maxTplTokens bounds the tokens kept for one template; a template with
// more is analysed up to there and reported.
const maxTplTokens = 1 << 20

// tplLex splits src into tags. Problems are returned alongside the tags
// found; lexing goes on after each.
func tplLex(src string) (tags []tplTag, problems []tplLexProblem) {
	ntoks := 0
	i := 0
	for {
		j := indexTagStart(src, i)
		if j < 0 {
			return tags, problems
		}
		switch src[j+1] {
		case '#':
			end := strings.Index(src[j+2:], "#}")
			if end < 0 {
				problems = append(problems, tplLexProblem{j, "unterminated comment"})
				return tags, problems
			}
			i = j + 2 + end + 2
			continue
		}
		tag := tplTag{stmt: src[j+1] == '%', pos: j}
		k := j + 2
		if k < len(src) && (src[k] == '-' || src[k] == '+') {
			k++
		}
		var closed bool
		tag.toks, k, closed, problems = tplLexTag(src, k, tag.stmt, problems)
		ntoks += len(tag.toks)
		tags = append(tags, tag)
		if !closed {
			problems = append(problems, tplLexProblem{j, "unterminated tag"})
			return tags, problems
		}
		i = k
		if ntoks > maxTplTokens {
			problems = append(problems, tplLexProblem{j, fmt.Sprintf("more than %d tokens; the rest was not analysed", maxTplTokens)})
			return tags, problems
		}
		if tag.stmt && len(tag.toks) == 1 && tag.toks[0].kind == tplName && tag.toks[0].val == "raw" {
			end, after := findEndRaw(src, i)
			if end < 0 {
				problems = append(problems, tplLexProblem{j, "raw block without endraw"})
				return tags, problems
			}
			i = after
		}
	}
}

// indexTagStart finds the next "{{", "{%" or "{#" at or after i.
func indexTagStart(src string, i int) int {
	for {
		k := strings.IndexByte(src[i:], '{')
		if k < 0 || i+k+1 >= len(src) {
			return -1
		}
		switch src[i+k+1] {
		case '{', '%', '#':
			return i + k
		}
		i += k + 1
	}
}

// findEndRaw finds the {% endraw %} tag at or after i and returns its
// start and the offset just after it.
func findEndRaw(src string, i int) (start, after int) {
	for {
		k := strings.Index(src[i:], "{%")
		if k < 0 {
			return -1, -1
		}
		p := i + k + 2
		if p < len(src) && (src[p] == '-' || src[p] == '+') {
			p++
		}
		p = skipSpace(src, p)
		if strings.HasPrefix(src[p:], "endraw") {
			q := skipSpace(src, p+len("endraw"))
			if q < len(src) && (src[q] == '-' || src[q] == '+') {
				q++
			}
			if strings.HasPrefix(src[q:], "%}") {
				return i + k, q + 2
			}
		}
		i += k + 2
	}
}

func skipSpace(src string, p int) int {
	for p < len(src) && (src[p] == ' ' || src[p] == '\t' || src[p] == '\n' || src[p] == '\r') {
		p++
	}
	return p
}

// tplOps lists the operators, longest first.
var tplOps = []string{"//", "**", "==", "!=", "<=", ">=",
	"+", "-", "*", "/", "%", "~", "|", ".", ",", ":", ";", "(", ")", "[", "]", "{", "}", "<", ">", "=", "!"}

// tplLexTag tokenises a tag body starting at k until its closing
// delimiter (brackets balanced). It returns the offset after the tag.
func tplLexTag(src string, k int, stmt bool, problems []tplLexProblem) ([]tplTok, int, bool, []tplLexProblem) {
	closer := "}}"
	if stmt {
		closer = "%}"
	}
	var toks []tplTok
	depth := 0
	for k < len(src) {
		c := src[k]
		if c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v' {
			k++
			continue
		}
		if depth == 0 {
			if strings.HasPrefix(src[k:], closer) {
				return toks, k + 2, true, problems
			}
			if (c == '-' || c == '+') && strings.HasPrefix(src[k+1:], closer) {
				return toks, k + 3, true, problems
			}
		}
		switch {
		case c == '\'' || c == '"':
			val, end, ok := lexTplString(src, k)
			if !ok {
				problems = append(problems, tplLexProblem{k, "unterminated string"})
				return toks, len(src), false, problems
			}
			toks = append(toks, tplTok{tplString, val, k})
			k = end
		case c >= '0' && c <= '9':
			end := k
			for end < len(src) && (isDigit(src[end]) || src[end] == '_' || src[end] == '.' ||
				src[end] == 'e' || src[end] == 'E' ||
				((src[end] == '+' || src[end] == '-') && (src[end-1] == 'e' || src[end-1] == 'E'))) {
				if src[end] == '.' && (end+1 >= len(src) || !isDigit(src[end+1])) {
					break
				}
				end++
			}
			toks = append(toks, tplTok{tplNumber, src[k:end], k})
			k = end
		case isNameStart(src, k):
			end := k
			for end < len(src) {
				r, w := utf8.DecodeRuneInString(src[end:])
				if r != '_' && !unicode.IsLetter(r) && !unicode.IsDigit(r) {
					break
				}
				end += w
			}
			toks = append(toks, tplTok{tplName, src[k:end], k})
			k = end
		default:
			op := ""
			for _, o := range tplOps {
				if strings.HasPrefix(src[k:], o) {
					op = o
					break
				}
			}
			if op == "" {
				_, w := utf8.DecodeRuneInString(src[k:])
				op = src[k : k+w]
				problems = append(problems, tplLexProblem{k, fmt.Sprintf("unexpected character %q", op)})
			}
			switch op {
			case "(", "[", "{":
				depth++
			case ")", "]", "}":
				if depth > 0 {
					depth--
				}
			}
			toks = append(toks, tplTok{tplOp, op, k})
			k += len(op)
		}
	}
	return toks, k, false, problems
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isNameStart(src string, k int) bool {
	r, _ := utf8.DecodeRuneInString(src[k:])
	return r == '_' || unicode.IsLetter(r)
}

// lexTplString decodes the string literal starting at k (a quote) the way
// jinja2 does: Python's unicode-escape rules. It returns the value and
// the offset after the closing quote.
func lexTplString(src string, k int) (string, int, bool) {
	q := src[k]
	var b strings.Builder
	i := k + 1
	for i < len(src) {
		c := src[i]
		switch {
		case c == q:
			return b.String(), i + 1, true
		case c == '\\' && i+1 < len(src):
			n, adv := decodeEscape(src[i+1:])
			b.WriteString(n)
			i += 1 + adv
		default:
			b.WriteByte(c)
			i++
		}
	}
	return "", len(src), false
}

// decodeEscape decodes the escape after a backslash; s starts with the
// character after it. It returns the text and how many bytes it used.
func decodeEscape(s string) (string, int) {
	c := s[0]
	switch c {
	case 'n':
		return "\n", 1
	case 't':
		return "\t", 1
	case 'r':
		return "\r", 1
	case 'a':
		return "\a", 1
	case 'b':
		return "\b", 1
	case 'f':
		return "\f", 1
	case 'v':
		return "\v", 1
	case '\\', '\'', '"':
		return string(c), 1
	case '\n':
		return "", 1
	case 'x', 'u', 'U':
		n := map[byte]int{'x': 2, 'u': 4, 'U': 8}[c]
		if len(s) >= 1+n {
			if v, err := strconv.ParseUint(s[1:1+n], 16, 32); err == nil && v <= unicode.MaxRune {
				return string(rune(v)), 1 + n
			}
		}
	case 'N':
		// \N{NAME}: the name is kept as written; names that spell an
		// underscore are caught as LOW LINE below.
		if end := strings.IndexByte(s, '}'); len(s) > 1 && s[1] == '{' && end > 0 {
			if strings.EqualFold(s[2:end], "LOW LINE") {
				return "_", end + 1
			}
			return "\\" + s[:end+1], end + 1
		}
	}
	if c >= '0' && c <= '7' {
		n := 1
		for n < 3 && n < len(s) && s[n] >= '0' && s[n] <= '7' {
			n++
		}
		v, _ := strconv.ParseUint(s[:n], 8, 32)
		return string(rune(v)), n
	}
	// Not an escape: the backslash stands for itself and the next
	// character is read normally.
	return "\\", 0
}
