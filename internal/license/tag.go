package license

import (
	"slices"
	"strings"
)

// maxTag is the longest tag value looked at; longer values are not licence
// identifiers.
const maxTag = 1024

// families are tags that name a family of licences rather than one licence;
// they stay unknown, because the obligations differ within the family.
var families = map[string]bool{
	"bsd": true, "gpl": true, "lgpl": true, "agpl": true, "gfdl": true,
	"cc": true, "cc-by": true, "cc-by-sa": true, "cc-by-nc": true, "creative commons": true,
	"openrail": true, "open-rail": true, "rail": true,
	"apache": true, "llama": true, "meta-llama": true, "falcon": true, "mistral": true,
}

// notAnswers are tags that explicitly give no licence.
var notAnswers = map[string]string{
	"other":       "\"other\" without a license_name or recognisable link",
	"unknown":     "the source says the licence is unknown",
	"none":        "the source says there is no licence",
	"noassertion": "the source makes no assertion about the licence",
	"unlicensed":  "the source says there is no licence",
	"proprietary": "a proprietary licence that is not in the knowledge base",
}

// tagResult is what one tag value resolves to.
type tagResult struct {
	ids        []string
	op         string // "OR", "AND" or "" for a single licence
	confidence Confidence
	unknown    []string // parts of the value that are not in the knowledge base
	reason     string
}

// resolveTag resolves a Hub licence id, an SPDX id or expression, a licence
// name or a link to the licences of the knowledge base.
func resolveTag(raw string) tagResult {
	s := strings.TrimSpace(raw)
	switch {
	case s == "":
		return tagResult{reason: "empty value"}
	case len(s) > maxTag:
		return tagResult{unknown: []string{s[:64] + "…"}, reason: "value too long to be a licence identifier"}
	}
	if id, conf, ok := resolveTerm(s); ok {
		return tagResult{ids: []string{id}, confidence: conf}
	}
	lower := strings.ToLower(s)
	if why, ok := notAnswers[lower]; ok {
		return tagResult{unknown: []string{s}, reason: why}
	}
	if families[lower] {
		return tagResult{unknown: []string{s}, reason: "names a family of licences, not one licence"}
	}
	if looksLikeLink(lower) {
		if id, ok := resolveLink(lower); ok {
			return tagResult{ids: []string{id}, confidence: ConfidenceMedium}
		}
		return tagResult{unknown: []string{s}, reason: "link to a licence that is not in the knowledge base"}
	}
	if terms, op, ok := splitExpression(s); ok {
		return resolveExpression(terms, op)
	}
	return tagResult{unknown: []string{s}, reason: "not a licence in the knowledge base"}
}

// resolveTerm resolves one licence identifier or name.
func resolveTerm(s string) (id string, conf Confidence, ok bool) {
	lower := strings.ToLower(strings.TrimSpace(s))
	if i, ok := tagIndex[lower]; ok {
		return knowledgeBase[i].ID, ConfidenceExact, true
	}
	if rest, found := strings.CutPrefix(lower, "licenseref-"); found {
		if i, ok := tagIndex[rest]; ok {
			return knowledgeBase[i].ID, ConfidenceExact, true
		}
	}
	if i, ok := nameIndex[strings.TrimSpace(normalize(lower))]; ok {
		return knowledgeBase[i].ID, ConfidenceHigh, true
	}
	return "", ConfidenceNone, false
}

// splitExpression splits an SPDX-style licence expression ("MIT OR
// Apache-2.0", "(A AND B)", "GPL-3.0-only WITH X") or a slash-separated
// choice ("MIT/Apache-2.0") into its licence terms. Operators are accepted
// in any case; WITH drops the exception that follows (reported by the
// caller). ok is false when s holds no operator.
func splitExpression(s string) (terms []string, op string, ok bool) {
	s = strings.NewReplacer("(", " ", ")", " ").Replace(s)
	fields := strings.Fields(s)
	if len(fields) == 1 && strings.Contains(fields[0], "/") {
		for _, t := range strings.Split(fields[0], "/") {
			if t != "" {
				terms = append(terms, t)
			}
		}
		return terms, "OR", len(terms) > 1
	}
	var cur []string
	flush := func() {
		if len(cur) > 0 {
			terms = append(terms, strings.Join(cur, " "))
			cur = nil
		}
	}
	skip := false
	for _, f := range fields {
		switch strings.ToUpper(f) {
		case "OR", "AND":
			flush()
			skip = false
			switch {
			case op == "":
				op = strings.ToUpper(f)
			case op != strings.ToUpper(f):
				op = "AND/OR"
			}
			continue
		case "WITH":
			flush()
			skip = true
			if op == "" {
				op = "WITH"
			}
			continue
		}
		if !skip {
			cur = append(cur, f)
		}
	}
	flush()
	if op == "" {
		return nil, "", false
	}
	if op == "WITH" {
		op = ""
	}
	return terms, op, len(terms) > 0
}

// resolveExpression resolves each term of an expression. Known terms are
// kept; unknown ones are listed, so that a policy can see that part of the
// licence is not in the knowledge base.
func resolveExpression(terms []string, op string) tagResult {
	r := tagResult{op: op, confidence: ConfidenceExact}
	for _, t := range terms {
		id, conf, ok := resolveTerm(t)
		if !ok {
			r.unknown = append(r.unknown, t)
			continue
		}
		if !slices.Contains(r.ids, id) {
			r.ids = append(r.ids, id)
		}
		if conf == ConfidenceHigh {
			r.confidence = ConfidenceHigh
		}
	}
	if len(r.ids) < 2 {
		r.op = ""
	}
	switch {
	case len(r.ids) == 0:
		r.confidence = ConfidenceNone
		r.reason = "no part of the expression is a licence in the knowledge base"
	case len(r.unknown) > 0:
		r.reason = "part of the expression is not a licence in the knowledge base"
	}
	return r
}

// looksLikeLink reports whether a lower-cased value is a URL.
func looksLikeLink(s string) bool {
	return strings.Contains(s, "://") || strings.HasPrefix(s, "www.") ||
		strings.HasPrefix(s, "github.com/") || strings.HasPrefix(s, "huggingface.co/")
}

// resolveLink matches a lower-cased URL against the links of the knowledge
// base; the longest matching fragment wins.
func resolveLink(u string) (string, bool) {
	if _, rest, ok := strings.Cut(u, "://"); ok {
		u = rest
	}
	u = strings.TrimPrefix(u, "www.")
	best, bestLen := -1, 0
	for i := range knowledgeBase {
		for _, frag := range knowledgeBase[i].links {
			if len(frag) > bestLen && strings.Contains(u, frag) {
				best, bestLen = i, len(frag)
			}
		}
	}
	if best < 0 {
		return "", false
	}
	return knowledgeBase[best].ID, true
}
