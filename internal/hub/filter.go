package hub

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// FilterFiles returns the files whose repository path matches at least one
// of the include patterns, in their original order. No patterns means all
// files.
//
// Patterns behave like huggingface_hub's allow_patterns (Python's
// fnmatch.fnmatchcase) so that a pattern means the same thing to sov as to
// the Hub's own tools:
//   - a pattern is matched against the whole path, case-sensitively;
//   - '*' matches any run of characters, including '/': "*.json" matches
//     "config.json" and "sub/dir/x.json";
//   - '?' matches one character; "[abc]", "[a-z]" and "[!abc]" match one
//     character in (or not in) the set; a '[' with no closing ']' is literal;
//   - a pattern ending in '/' matches everything below that directory
//     ("onnx/" is "onnx/*");
//   - backslashes are read as '/'.
//
// An empty pattern is an error, and so is a set of patterns that matches no
// file (wrapping ErrNoMatch), since that is almost always a typo.
func FilterFiles(files []RepoFile, include []string) ([]RepoFile, error) {
	if len(include) == 0 {
		return files, nil
	}
	pats := make([]string, len(include))
	for i, p := range include {
		if p == "" {
			return nil, fmt.Errorf("hub: empty include pattern")
		}
		if !utf8.ValidString(p) || strings.ContainsRune(p, 0) {
			return nil, fmt.Errorf("hub: include pattern %q is not valid text", p)
		}
		p = strings.ReplaceAll(p, `\`, "/")
		if strings.HasSuffix(p, "/") {
			p += "*"
		}
		pats[i] = p
	}
	var out []RepoFile
	for _, f := range files {
		name := strings.ReplaceAll(f.Path, `\`, "/")
		for _, p := range pats {
			if Match(p, name) {
				out = append(out, f)
				break
			}
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("hub: %w --include %s", ErrNoMatch, strings.Join(include, ", "))
	}
	return out, nil
}

// Match reports whether name matches the fnmatch-style pattern (see
// FilterFiles). Unlike path.Match, '*' also matches '/'. Invalid UTF-8
// bytes are compared as single units.
func Match(pattern, name string) bool {
	// Iterative matching with one backtrack point: the most recent '*'.
	// This is linear in len(pattern)*len(name) at worst and never recurses.
	px, nx := 0, 0
	starPx, starNx := -1, -1
	for nx < len(name) || px < len(pattern) {
		if px < len(pattern) {
			switch c := pattern[px]; c {
			case '*':
				starPx, starNx = px, nx
				px++
				continue
			case '?':
				if nx < len(name) {
					_, w := utf8.DecodeRuneInString(name[nx:])
					px++
					nx += w
					continue
				}
			case '[':
				if nx < len(name) {
					r, w := utf8.DecodeRuneInString(name[nx:])
					ok, plen, valid := matchClass(pattern[px:], r)
					if !valid {
						// No closing ']': '[' is a literal character.
						if name[nx] == '[' {
							px++
							nx++
							continue
						}
					} else if ok {
						px += plen
						nx += w
						continue
					}
				}
			default:
				if nx < len(name) && name[nx] == c {
					px++
					nx++
					continue
				}
			}
		}
		// Mismatch: let the last '*' swallow one more character.
		if starPx >= 0 && starNx < len(name) {
			_, w := utf8.DecodeRuneInString(name[starNx:])
			starNx += w
			px, nx = starPx+1, starNx
			continue
		}
		return false
	}
	return true
}

// matchClass matches r against the class at the start of pat ("[...]").
// It returns whether r is in the class, the length of the class in pat, and
// whether the class is well formed (has a closing ']').
func matchClass(pat string, r rune) (matched bool, length int, valid bool) {
	i := 1
	negate := false
	if i < len(pat) && pat[i] == '!' {
		negate = true
		i++
	}
	first := true
	for i < len(pat) {
		if pat[i] == ']' && !first {
			return matched != negate, i + 1, true
		}
		first = false
		lo, w := utf8.DecodeRuneInString(pat[i:])
		i += w
		hi := lo
		if i+1 < len(pat) && pat[i] == '-' && pat[i+1] != ']' {
			hi, w = utf8.DecodeRuneInString(pat[i+1:])
			i += 1 + w
		}
		if lo <= r && r <= hi {
			matched = true
		}
	}
	return false, 0, false
}
