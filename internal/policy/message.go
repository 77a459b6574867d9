package policy

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"cel.dev/cel-go/common/types/traits"
)

// maxMessage bounds a rendered message, so that a rule listing every
// finding of a hostile file cannot produce megabytes of text.
const maxMessage = 4 << 10

// messagePart is literal text or a CEL expression whose value is put in
// its place.
type messagePart struct {
	text string
	expr cel.Program // nil for text
	src  string
}

// parseMessage splits a message template into text and {{ expression }}
// parts and compiles the expressions. Errors report the line and column
// within the message, as exprCompileError.
func parseMessage(env *cel.Env, msg string) ([]messagePart, error) {
	var parts []messagePart
	rest := msg
	offset := 0 // of rest in msg
	for rest != "" {
		i := strings.Index(rest, "{{")
		if i < 0 {
			parts = append(parts, messagePart{text: rest})
			break
		}
		if i > 0 {
			parts = append(parts, messagePart{text: rest[:i]})
		}
		j := strings.Index(rest[i+2:], "}}")
		if j < 0 {
			line, col := position(msg, offset+i)
			return nil, &exprCompileError{line: line, column: col, reason: "{{ is not closed by }}"}
		}
		src := rest[i+2 : i+2+j]
		if strings.TrimSpace(src) == "" {
			line, col := position(msg, offset+i)
			return nil, &exprCompileError{line: line, column: col, reason: "empty {{ }}"}
		}
		prg, err := compileExpr(env, src, nil)
		if err != nil {
			var ce *exprCompileError
			if errors.As(err, &ce) {
				// Place the error in the message, not the fragment.
				start := offset + i + 2
				if ce.line > 0 {
					ce.line, ce.column = positionIn(msg, start, ce.line, ce.column)
				} else {
					ce.line, ce.column = position(msg, start)
				}
				ce.reason = fmt.Sprintf("in {{%s}}: %s", src, ce.reason)
			}
			return nil, err
		}
		parts = append(parts, messagePart{expr: prg, src: strings.TrimSpace(src)})
		rest = rest[i+2+j+2:]
		offset += i + 2 + j + 2
	}
	return parts, nil
}

// position returns the 1-based line and column of byte offset off in s.
func position(s string, off int) (line, col int) {
	before := s[:off]
	line = strings.Count(before, "\n") + 1
	col = off - (strings.LastIndexByte(before, '\n') + 1) + 1
	return line, col
}

// positionIn maps a 1-based line and column within the fragment starting
// at byte start of s to a line and column within s.
func positionIn(s string, start, line, col int) (int, int) {
	sl, sc := position(s, start)
	if line == 1 {
		return sl, sc + col - 1
	}
	return sl + line - 1, col
}

// render evaluates a message's expressions. An empty template gives def.
func render(ctx context.Context, parts []messagePart, act map[string]any, def string) (string, error) {
	if len(parts) == 0 {
		return def, nil
	}
	var b strings.Builder
	for _, p := range parts {
		if p.expr == nil {
			b.WriteString(p.text)
			continue
		}
		v, _, err := p.expr.ContextEval(ctx, act)
		if err != nil {
			return "", fmt.Errorf("message {{ %s }}: %w", p.src, err)
		}
		writeValue(&b, v, 0)
		if b.Len() > maxMessage {
			break
		}
	}
	return truncate(b.String(), maxMessage), nil
}

// writeValue formats a CEL value for a message: strings as they are,
// lists joined by ", ", maps as {k: v}.
func writeValue(b *strings.Builder, v ref.Val, depth int) {
	if depth > 8 || b.Len() > maxMessage {
		b.WriteString("…")
		return
	}
	switch x := v.(type) {
	case types.String:
		b.WriteString(string(x))
		return
	case types.Bool:
		b.WriteString(strconv.FormatBool(bool(x)))
		return
	case types.Int:
		b.WriteString(strconv.FormatInt(int64(x), 10))
		return
	case types.Uint:
		b.WriteString(strconv.FormatUint(uint64(x), 10))
		return
	case types.Double:
		b.WriteString(strconv.FormatFloat(float64(x), 'g', -1, 64))
		return
	case types.Null:
		b.WriteString("null")
		return
	}
	if l, ok := v.(traits.Lister); ok {
		it := l.Iterator()
		for i := 0; it.HasNext() == types.True; i++ {
			if i > 0 {
				b.WriteString(", ")
			}
			writeValue(b, it.Next(), depth+1)
			if b.Len() > maxMessage {
				return
			}
		}
		return
	}
	if m, ok := v.(traits.Mapper); ok {
		b.WriteString("{")
		it := m.Iterator()
		for i := 0; it.HasNext() == types.True; i++ {
			if i > 0 {
				b.WriteString(", ")
			}
			k := it.Next()
			writeValue(b, k, depth+1)
			b.WriteString(": ")
			writeValue(b, m.Get(k), depth+1)
			if b.Len() > maxMessage {
				break
			}
		}
		b.WriteString("}")
		return
	}
	fmt.Fprint(b, v.Value())
}

// truncate cuts s to at most n bytes on a rune boundary, marking the cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
