package vault

import (
	"fmt"
	"regexp"
	"strings"

	"sov.dev/sov/internal/digest"
)

// DefaultTag is the tag a reference gets when none is given.
const DefaultTag = "latest"

var (
	nameComponent = `[A-Za-z0-9]+(?:(?:[._]|__|-+)[A-Za-z0-9]+)*`
	nameRE        = regexp.MustCompile(`^` + nameComponent + `(?:/` + nameComponent + `)*$`)
	tagRE         = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$`)
)

// Reference names a model version: NAME[:TAG], or a digest (full, or a
// unique prefix of at least 12 hex digits, with or without "sha256:").
type Reference struct {
	Name   string
	Tag    string
	Digest digest.Digest // set for a full digest reference
	Prefix string        // set for a short digest reference (hex)
}

func (r Reference) String() string {
	switch {
	case r.Digest != "":
		return r.Digest.String()
	case r.Prefix != "":
		return r.Prefix
	}
	return r.Name + ":" + r.Tag
}

// IsDigest reports whether r names a model by digest rather than by tag.
func (r Reference) IsDigest() bool { return r.Digest != "" || r.Prefix != "" }

// ParseReference parses NAME[:TAG] or a digest reference.
func ParseReference(s string) (Reference, error) {
	if strings.HasPrefix(s, digest.Algorithm+":") {
		d, err := digest.Parse(s)
		if err != nil {
			return Reference{}, err
		}
		return Reference{Digest: d}, nil
	}
	if isHexPrefix(s) {
		return Reference{Prefix: s}, nil
	}
	return ParseName(s)
}

// ParseName parses NAME[:TAG] (default tag "latest"). Names are one or more
// slash-separated components of letters, digits and separators (".", "_",
// "-"); they never contain "..", so a name can never name a path outside
// the vault.
func ParseName(s string) (Reference, error) {
	name, tag := s, DefaultTag
	if i := strings.LastIndex(s, ":"); i >= 0 && !strings.Contains(s[i:], "/") {
		name, tag = s[:i], s[i+1:]
	}
	if len(name) > 255 || !nameRE.MatchString(name) {
		return Reference{}, fmt.Errorf("invalid model name %q: use letters, digits, '.', '_', '-' and '/' between components", name)
	}
	if !tagRE.MatchString(tag) {
		return Reference{}, fmt.Errorf("invalid tag %q: use up to 128 letters, digits, '.', '_', '-'", tag)
	}
	return Reference{Name: name, Tag: tag}, nil
}

func isHexPrefix(s string) bool {
	if len(s) < 12 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// DefaultName derives a model name from a file or directory name, e.g.
// "Qwen2.5-0.5B-Instruct-Q4_K_M.gguf" → "qwen2.5-0.5b-instruct-q4_k_m".
func DefaultName(base string) string {
	base = strings.ToLower(base)
	for _, ext := range []string{".gguf", ".safetensors", ".bin", ".pt", ".pth", ".onnx"} {
		base = strings.TrimSuffix(base, ext)
	}
	var b strings.Builder
	sep := true // collapse runs of separators, drop leading ones
	for _, r := range base {
		switch {
		case 'a' <= r && r <= 'z', '0' <= r && r <= '9':
			b.WriteRune(r)
			sep = false
		case !sep:
			if r == '.' || r == '_' {
				b.WriteRune(r)
			} else {
				b.WriteByte('-')
			}
			sep = true
		}
	}
	name := strings.TrimRight(b.String(), "._-")
	if _, err := ParseName(name); err != nil {
		return "model"
	}
	return name
}
