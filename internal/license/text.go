package license

import (
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxText is how much of a licence file Identify reads; the rest of a longer
// file is ignored (and the finding says so). Real licence texts are well
// under 100 KiB.
const MaxText = 1 << 20

// defaultMinFeatures is how many features a text must show, at the least,
// before a licence is identified from it.
const defaultMinFeatures = 3

// textRule says how to recognise a licence text. Phrases are written in the
// licence's own words but short (a handful of words each), and compared
// after normalisation (see normalize), as whole words.
type textRule struct {
	// keys name this exact licence and version (a title, a dated version
	// line, a use-policy address); at least one must be present.
	keys []string
	// support are other distinctive phrases of the text.
	support []string
	// exclude are phrases whose presence rules the licence out: they mark a
	// near relative (the advertising clause of 4-clause BSD, the
	// endorsement clause that makes BSD-2 into BSD-3).
	exclude []string
	// min is how many of keys and support together must be present;
	// 0 means defaultMinFeatures.
	min int
}

func (r textRule) minimum() int {
	if r.min > 0 {
		return r.min
	}
	return defaultMinFeatures
}

func (r textRule) empty() bool { return len(r.keys) == 0 }

// normalize lower-cases s and turns every run of characters other than
// letters, digits and '+' into one space, with a space at each end, so that
// phrases can be compared as whole words whatever the line breaks, quotes,
// Markdown or punctuation of a particular copy. Invalid UTF-8 counts as a
// separator.
func normalize(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte(' ')
	space := true
	for i := 0; i < len(s); {
		r, size := rune(s[i]), 1
		if r >= utf8.RuneSelf {
			r, size = utf8.DecodeRuneInString(s[i:])
		}
		i += size
		switch {
		case r < utf8.RuneSelf && ('a' <= r && r <= 'z' || '0' <= r && r <= '9' || r == '+'):
			b.WriteRune(r)
			space = false
		case r < utf8.RuneSelf && 'A' <= r && r <= 'Z':
			b.WriteRune(r + 'a' - 'A')
			space = false
		case r != utf8.RuneError && r >= utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r)):
			b.WriteRune(unicode.ToLower(r))
			space = false
		default:
			if !space {
				b.WriteByte(' ')
				space = true
			}
		}
	}
	if !space {
		b.WriteByte(' ')
	}
	return b.String()
}

// has reports whether the normalised text contains the normalised phrase
// as whole words.
func has(text, phrase string) bool { return strings.Contains(text, phrase) }

// textMatch is how well one licence's rule fits a text.
type textMatch struct {
	lic      *License
	keys     int
	matched  []string // phrases found (keys first), as written in the rule
	excluded string   // the exclusion phrase found, if any
}

func (m textMatch) qualifies() bool {
	return m.excluded == "" && m.keys > 0 && len(m.matched) >= m.lic.text.minimum()
}

// score orders matches: the share of the rule's phrases found.
func (m textMatch) score() float64 {
	r := m.lic.text
	return float64(len(m.matched)) / float64(len(r.keys)+len(r.support))
}

// matchRule checks one licence's rule against a normalised text. The rule's
// phrases are stored normalised (see compileRule), with the original
// wording alongside for reporting.
func matchRule(text string, l *License, c *compiledRule) textMatch {
	m := textMatch{lic: l}
	for i, p := range c.keys {
		if has(text, p) {
			m.keys++
			m.matched = append(m.matched, l.text.keys[i])
		}
	}
	for i, p := range c.support {
		if has(text, p) {
			m.matched = append(m.matched, l.text.support[i])
		}
	}
	for i, p := range c.exclude {
		if has(text, p) {
			m.excluded = l.text.exclude[i]
			break
		}
	}
	return m
}

// compiledRule is a textRule with its phrases normalised.
type compiledRule struct {
	keys, support, exclude []string
}

func compileRule(r textRule) compiledRule {
	norm := func(ps []string) []string {
		out := make([]string, len(ps))
		for i, p := range ps {
			out[i] = normalize(p)
		}
		return out
	}
	return compiledRule{keys: norm(r.keys), support: norm(r.support), exclude: norm(r.exclude)}
}

// addedTerms are phrases that do not occur in the permissive and copyleft
// licences of the knowledge base but do occur in vendor terms layered on top
// of them (a "modified MIT" with a user cap, an Apache text with a use
// policy appended). When a permissive or copyleft text carries one of them,
// and no vendor licence explains it, the text is not that licence as
// published and stays unknown.
var addedTerms = []string{
	"monthly active users",
	"acceptable use policy",
	"prohibited use policy",
	"use restrictions",
	"use based restrictions",
	"non commercial purposes",
	"noncommercial purposes",
	"research purposes only",
	"military use",
	"prominently display",
	"monthly revenue",
}

var addedTermsNorm = func() []string {
	out := make([]string, len(addedTerms))
	for i, p := range addedTerms {
		out[i] = normalize(p)
	}
	return out
}()

// plainFamily reports whether a family's licences are general-purpose texts
// that vendors sometimes extend with terms of their own.
func plainFamily(f Family) bool {
	return f == FamilyPermissive || f == FamilyCopyleft
}

// nearer reports whether a non-qualifying match m explains a text better
// than the current nearest one: naming phrases first, then phrase count.
func nearer(m, cur textMatch) bool {
	if cur.lic == nil {
		return len(m.matched) > 0
	}
	if (m.keys > 0) != (cur.keys > 0) {
		return m.keys > 0
	}
	return len(m.matched) > len(cur.matched)
}

// matchText identifies licences in a normalised text. It returns the
// qualifying matches, best first; the nearest miss, for explaining an
// unknown result; and, when a plain licence was set aside because the text
// adds vendor terms to it, the added term found.
func matchText(text string) (hits []textMatch, best *textMatch, added string) {
	var near textMatch
	for i := range knowledgeBase {
		l := &knowledgeBase[i]
		if l.text.empty() {
			continue
		}
		m := matchRule(text, l, &compiled[i])
		if m.qualifies() {
			hits = append(hits, m)
			continue
		}
		if nearer(m, near) {
			near = m
		}
	}
	slices.SortStableFunc(hits, func(a, b textMatch) int {
		switch sa, sb := a.score(), b.score(); {
		case sa > sb:
			return -1
		case sa < sb:
			return 1
		}
		return strings.Compare(a.lic.ID, b.lic.ID)
	})
	// Name a near miss only when it is one: a phrase naming the licence,
	// or more than one of its other phrases.
	if near.lic != nil && (near.keys > 0 || len(near.matched) > 1) {
		best = &near
	}
	// Vendor terms layered on a plain licence: drop the plain match unless
	// a vendor licence in the same text accounts for them.
	vendor := false
	for _, h := range hits {
		if !plainFamily(h.lic.Family) {
			vendor = true
		}
	}
	if !vendor && len(hits) > 0 {
		for i, p := range addedTermsNorm {
			if has(text, p) {
				added = addedTerms[i]
				best = &hits[0]
				hits = nil
				break
			}
		}
	}
	return hits, best, added
}
