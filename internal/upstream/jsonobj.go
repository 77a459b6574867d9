package upstream

import (
	"bytes"
	"encoding/json"
)

// This file edits the top-level members of JSON objects in place of a
// decode/encode round trip: forwarded bodies and stream chunks keep every
// member the gateway does not model (tools, logprobs, vendor extensions)
// byte for byte, and a chunk costs one scan instead of two allocating
// passes. The functions never panic; on input that is not a JSON object
// they report failure (callers check json.Valid first where it matters).

// member is one top-level member of an object: obj[key:val] is `"name":`
// (with any whitespace), obj[val:end] the value.
type member struct {
	name          string
	key, val, end int
}

// members returns the top-level members of the JSON object in obj, in order,
// and false when obj is not an object it can scan.
func members(obj []byte) ([]member, bool) {
	var out []member
	ok := scanObject(obj, func(m member) bool {
		out = append(out, m)
		return true
	})
	return out, ok
}

// scanObject calls fn for each top-level member of the object in obj until
// fn returns false. It reports whether obj was scanned as an object.
func scanObject(obj []byte, fn func(member) bool) bool {
	i := skipSpace(obj, 0)
	if i >= len(obj) || obj[i] != '{' {
		return false
	}
	i = skipSpace(obj, i+1)
	if i < len(obj) && obj[i] == '}' {
		return true
	}
	for {
		if i >= len(obj) || obj[i] != '"' {
			return false
		}
		key := i
		j, ok := skipString(obj, i)
		if !ok {
			return false
		}
		name, ok := memberName(obj[key:j])
		if !ok {
			return false
		}
		i = skipSpace(obj, j)
		if i >= len(obj) || obj[i] != ':' {
			return false
		}
		val := skipSpace(obj, i+1)
		end, ok := skipValue(obj, val)
		if !ok {
			return false
		}
		if !fn(member{name: name, key: key, val: val, end: end}) {
			return true
		}
		i = skipSpace(obj, end)
		if i >= len(obj) {
			return false
		}
		switch obj[i] {
		case ',':
			i = skipSpace(obj, i+1)
		case '}':
			return true
		default:
			return false
		}
	}
}

// memberName returns the text of a quoted member name, decoded the way
// encoding/json decodes map keys.
func memberName(quoted []byte) (string, bool) {
	plain := true
	for _, c := range quoted {
		if c == '\\' || c >= 0x80 {
			plain = false
			break
		}
	}
	if plain && len(quoted) >= 2 {
		return string(quoted[1 : len(quoted)-1]), true
	}
	var s string
	if err := json.Unmarshal(quoted, &s); err != nil {
		return "", false
	}
	return s, true
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index after the string that starts at b[i] ('"').
func skipString(b []byte, i int) (int, bool) {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1, true
		}
	}
	return 0, false
}

// skipValue returns the index after the value that starts at b[i]. It
// balances brackets and skips strings but does not validate scalars.
func skipValue(b []byte, i int) (int, bool) {
	if i >= len(b) {
		return 0, false
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				j, ok := skipString(b, i)
				if !ok {
					return 0, false
				}
				i = j
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1, true
				}
			}
			i++
		}
		return 0, false
	}
	start := i
	for i < len(b) {
		switch b[i] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			if i == start {
				return 0, false
			}
			return i, true
		}
		i++
	}
	return 0, false // a scalar cannot end an object
}

// lookup returns the value of the last top-level member called name (the
// one encoding/json would keep), or nil.
func lookup(obj []byte, name string) []byte {
	var val []byte
	scanObject(obj, func(m member) bool {
		if m.name == name {
			val = obj[m.val:m.end]
		}
		return true
	})
	return val
}

// without returns obj with every top-level member called name removed, and
// obj itself when there is none (or obj is not an object).
func without(obj []byte, name string) []byte {
	ms, ok := members(obj)
	if !ok {
		return obj
	}
	found := false
	for _, m := range ms {
		if m.name == name {
			found = true
			break
		}
	}
	if !found {
		return obj
	}
	return rebuild(obj, ms, name, nil)
}

// with returns obj with the top-level member name set to the JSON value val:
// any existing members of that name are removed and the new one comes
// first. It returns false when obj is not an object.
func with(obj []byte, name string, val []byte) ([]byte, bool) {
	ms, ok := members(obj)
	if !ok {
		return nil, false
	}
	return rebuild(obj, ms, name, val), true
}

// rebuild writes the object with the members called name dropped and, when
// val is not nil, a first member name:val.
func rebuild(obj []byte, ms []member, name string, val []byte) []byte {
	out := make([]byte, 0, len(obj)+len(name)+len(val)+4)
	out = append(out, '{')
	if val != nil {
		q, _ := json.Marshal(name)
		out = append(out, q...)
		out = append(out, ':')
		out = append(out, val...)
	}
	for _, m := range ms {
		if m.name == name {
			continue
		}
		if len(out) > 1 {
			out = append(out, ',')
		}
		out = append(out, obj[m.key:m.end]...)
	}
	return append(out, '}')
}

// isNull reports whether a JSON value is null (or absent).
func isNull(v []byte) bool {
	return len(v) == 0 || bytes.Equal(v, []byte("null"))
}

// isEmptyArray reports whether a JSON value is [] (with any whitespace).
func isEmptyArray(v []byte) bool {
	if len(v) < 2 || v[0] != '[' {
		return false
	}
	return skipSpace(v, 1) == len(v)-1
}
