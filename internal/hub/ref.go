package hub

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// DefaultRevision is the revision used when a reference names none.
const DefaultRevision = "main"

// Scheme is the prefix of a Hub model reference on the command line.
const Scheme = "hf://"

// Ref names a model repository and a revision on the Hub.
type Ref struct {
	Repo     string // "org/name"
	Revision string // branch, tag or commit sha; "main" when not given
}

// String returns the reference in its "hf://org/name@revision" form.
func (r Ref) String() string {
	return Scheme + r.Repo + "@" + r.Revision
}

// ParseRef parses "hf://org/name", "hf://org/name@revision", or the same
// without the "hf://" prefix. The repository id follows the Hub's rules:
// exactly one '/', each part made of ASCII letters, digits, '-', '_' and
// '.', not starting or ending with '-' or '.', no "--" or "..", at most 96
// characters, not ending in ".git". A revision may contain '/' (for example
// "refs/pr/1") but no whitespace or control characters.
func ParseRef(s string) (Ref, error) {
	rest := strings.TrimPrefix(s, Scheme)
	repo, rev, hasRev := strings.Cut(rest, "@")
	if err := ValidateRepoID(repo); err != nil {
		return Ref{}, fmt.Errorf("hub: reference %q: %w", s, err)
	}
	if !hasRev {
		return Ref{Repo: repo, Revision: DefaultRevision}, nil
	}
	if err := validateRevision(rev); err != nil {
		return Ref{}, fmt.Errorf("hub: reference %q: %w", s, err)
	}
	return Ref{Repo: repo, Revision: rev}, nil
}

// ValidateRepoID reports whether id is a well-formed "org/name" repository
// id (see ParseRef for the rules).
func ValidateRepoID(id string) error {
	org, name, ok := strings.Cut(id, "/")
	if !ok || strings.Contains(name, "/") {
		return fmt.Errorf("repository id %q: want ORG/NAME with exactly one '/'", id)
	}
	for _, part := range []string{org, name} {
		if err := validateIDPart(part); err != nil {
			return fmt.Errorf("repository id %q: %v", id, err)
		}
	}
	if strings.HasSuffix(id, ".git") {
		return fmt.Errorf("repository id %q: must not end in .git", id)
	}
	return nil
}

func validateIDPart(p string) error {
	const maxLen = 96
	switch {
	case p == "":
		return fmt.Errorf("empty name")
	case len(p) > maxLen:
		return fmt.Errorf("name %q longer than %d characters", p, maxLen)
	case strings.Contains(p, "--") || strings.Contains(p, ".."):
		return fmt.Errorf("name %q contains \"--\" or \"..\"", p)
	}
	for i := 0; i < len(p); i++ {
		c := p[i]
		ok := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.'
		if !ok {
			return fmt.Errorf("name %q: character %q not allowed (letters, digits, '-', '_', '.')", p, rune(c))
		}
	}
	if first, last := p[0], p[len(p)-1]; first == '-' || first == '.' || last == '-' || last == '.' {
		return fmt.Errorf("name %q must not start or end with '-' or '.'", p)
	}
	return nil
}

func validateRevision(rev string) error {
	const maxLen = 256
	switch {
	case rev == "":
		return fmt.Errorf("empty revision after '@'")
	case len(rev) > maxLen:
		return fmt.Errorf("revision longer than %d bytes", maxLen)
	case !utf8.ValidString(rev):
		return fmt.Errorf("revision is not valid UTF-8")
	}
	for _, r := range rev {
		if unicode.IsControl(r) || unicode.IsSpace(r) {
			return fmt.Errorf("revision %q contains whitespace or a control character", rev)
		}
	}
	return nil
}
