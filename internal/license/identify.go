package license

import (
	"fmt"
	"slices"
	"strings"
)

// Confidence says how firmly a finding names its licence.
type Confidence string

// Confidence levels.
const (
	ConfidenceExact  Confidence = "exact"  // an identifier: SPDX id or expression, Hub licence id
	ConfidenceHigh   Confidence = "high"   // a licence name, or a text showing most of the licence's phrases
	ConfidenceMedium Confidence = "medium" // a link, or a text showing only the minimum of phrases
	ConfidenceNone   Confidence = "none"   // nothing identified
)

// SourceKind says where a finding comes from.
type SourceKind string

// Kinds of source.
const (
	SourceFile SourceKind = "license_file" // a licence or notice file's text
	SourceCard SourceKind = "model_card"   // model card front matter
	SourceGGUF SourceKind = "gguf"         // GGUF general.license* metadata
)

// File is a licence (or notice) file of a model.
type File struct {
	Name    string
	Content []byte
}

// Tags are the licence fields of a model card (license, license_name,
// license_link) or of GGUF metadata (general.license, general.license.name,
// general.license.link).
type Tags struct {
	License []string // a card may list several; GGUF holds one SPDX expression
	Name    string
	Link    string
}

// Sources is everything Identify looks at. Nil and empty parts are skipped.
type Sources struct {
	Files []File
	Card  *Tags
	GGUF  *Tags
}

// Finding is what one source says.
type Finding struct {
	Source SourceKind `json:"source"`
	// Name is the file name, or the field the value came from
	// ("license", "license_name", "general.license" …).
	Name string `json:"name"`
	// Raw is the value as given, for tags (texts are not repeated).
	Raw string `json:"raw,omitempty"`
	// IDs are the licences identified, best first; empty when unknown.
	IDs []string `json:"ids,omitempty"`
	// Operator is "OR", "AND" or "AND/OR" when an expression names
	// several licences.
	Operator   string     `json:"operator,omitempty"`
	Confidence Confidence `json:"confidence"`
	// Matched are the licence phrases found in a text (prefixed with the
	// licence ID when the text matches several).
	Matched []string `json:"matched,omitempty"`
	// UnknownParts are the parts of a tag that are not in the knowledge
	// base, kept as given.
	UnknownParts []string `json:"unknown_parts,omitempty"`
	Unknown      bool     `json:"unknown"`
	Reason       string   `json:"reason,omitempty"`
}

// FindingRef points at a finding in a disagreement.
type FindingRef struct {
	Source SourceKind `json:"source"`
	Name   string     `json:"name"`
	IDs    []string   `json:"ids"`
}

// Disagreement is a pair of sources that name different licences.
type Disagreement struct {
	First   FindingRef `json:"first"`
	Second  FindingRef `json:"second"`
	Message string     `json:"message"`
}

// Result is the licence picture of one model.
type Result struct {
	// IDs are the licences the sources agree on: the union of what every
	// identifying source names, when no two of them disagree. Empty when
	// nothing is identified or the sources disagree.
	IDs []string `json:"ids,omitempty"`
	// Candidates are all licences any source names, sorted.
	Candidates []string `json:"candidates,omitempty"`
	// Licenses are the knowledge-base entries of the candidates, so that a
	// policy can weigh every licence that may apply.
	Licenses []License `json:"licenses,omitempty"`
	// Unknown is set when no source identifies a licence.
	Unknown       bool           `json:"unknown"`
	Findings      []Finding      `json:"findings"`
	Disagreements []Disagreement `json:"disagreements,omitempty"`
}

// Bounds on what Identify reports.
const (
	maxDisagreements = 64 // pairs of disagreeing sources
	maxTagValues     = 64 // values of one licence list
)

// Identify names a model's licence from its licence files, model card and
// GGUF metadata, and reports every pair of sources that disagree. Sources
// that identify nothing are reported as unknown with their raw values.
func Identify(src Sources) Result {
	var r Result
	for _, f := range src.Files {
		r.Findings = append(r.Findings, IdentifyText(f.Name, f.Content))
	}
	if src.Card != nil {
		r.Findings = append(r.Findings, tagFindings(SourceCard, "license", "license_name", "license_link", *src.Card)...)
	}
	if src.GGUF != nil {
		r.Findings = append(r.Findings, tagFindings(SourceGGUF, "general.license", "general.license.name", "general.license.link", *src.GGUF)...)
	}
	if r.Findings == nil {
		r.Findings = []Finding{}
	}

	var named []int
	for i, f := range r.Findings {
		if len(f.IDs) == 0 {
			continue
		}
		named = append(named, i)
		for _, id := range f.IDs {
			if !slices.Contains(r.Candidates, id) {
				r.Candidates = append(r.Candidates, id)
			}
		}
	}
	slices.Sort(r.Candidates)
	for _, id := range r.Candidates {
		if l := byID(id); l != nil {
			r.Licenses = append(r.Licenses, l.clone())
		}
	}
	r.Unknown = len(named) == 0

	for a := 0; a < len(named) && len(r.Disagreements) < maxDisagreements; a++ {
		for b := a + 1; b < len(named) && len(r.Disagreements) < maxDisagreements; b++ {
			fa, fb := r.Findings[named[a]], r.Findings[named[b]]
			if compatible(fa.IDs, fb.IDs) {
				continue
			}
			r.Disagreements = append(r.Disagreements, Disagreement{
				First:  FindingRef{Source: fa.Source, Name: fa.Name, IDs: slices.Clone(fa.IDs)},
				Second: FindingRef{Source: fb.Source, Name: fb.Name, IDs: slices.Clone(fb.IDs)},
				Message: fmt.Sprintf("%s %q names %s but %s %q names %s",
					fa.Source, fa.Name, strings.Join(fa.IDs, ", "),
					fb.Source, fb.Name, strings.Join(fb.IDs, ", ")),
			})
		}
	}
	if !r.Unknown && len(r.Disagreements) == 0 {
		r.IDs = slices.Clone(r.Candidates)
	}
	return r
}

// compatible reports whether two sources can both be right: one names a
// subset of the other's licences (a file may hold one of several licences
// a card lists).
func compatible(a, b []string) bool {
	return subset(a, b) || subset(b, a)
}

func subset(a, b []string) bool {
	for _, x := range a {
		if !slices.Contains(b, x) {
			return false
		}
	}
	return true
}

// IdentifyText identifies the licence in one licence file's text. Only the
// first MaxText bytes are read.
func IdentifyText(name string, content []byte) Finding {
	f := Finding{Source: SourceFile, Name: name, Confidence: ConfidenceNone}
	var notes []string
	if len(content) > MaxText {
		content = content[:MaxText]
		notes = append(notes, fmt.Sprintf("only the first %d bytes were read", MaxText))
	}
	text := normalize(string(content))
	if strings.TrimSpace(text) == "" {
		f.Unknown = true
		f.Reason = strings.Join(append([]string{"no text"}, notes...), "; ")
		return f
	}
	hits, near, added := matchText(text)
	if len(hits) == 0 {
		f.Unknown = true
		switch {
		case added != "":
			notes = append([]string{fmt.Sprintf("reads as %s with terms added (%q), so not that licence as published", near.lic.ID, added)}, notes...)
		case near != nil && near.excluded != "":
			notes = append([]string{fmt.Sprintf("no licence in the knowledge base matched; nearest is %s, ruled out by %q", near.lic.ID, near.excluded)}, notes...)
		case near != nil && near.keys == 0:
			notes = append([]string{fmt.Sprintf("no licence in the knowledge base matched; nearest is %s, but none of the phrases that name it are present", near.lic.ID)}, notes...)
		case near != nil:
			notes = append([]string{fmt.Sprintf("no licence in the knowledge base matched; nearest is %s with %d of the %d phrases needed", near.lic.ID, len(near.matched), near.lic.text.minimum())}, notes...)
		default:
			notes = append([]string{"no licence in the knowledge base matched"}, notes...)
		}
		f.Reason = strings.Join(notes, "; ")
		return f
	}
	for _, h := range hits {
		f.IDs = append(f.IDs, h.lic.ID)
		for _, p := range h.matched {
			if len(hits) > 1 {
				p = h.lic.ID + ": " + p
			}
			f.Matched = append(f.Matched, p)
		}
	}
	f.Confidence = ConfidenceMedium
	if hits[0].score() >= 0.6 {
		f.Confidence = ConfidenceHigh
	}
	if len(hits) > 1 {
		notes = append([]string{"the text matches several licences"}, notes...)
	}
	f.Reason = strings.Join(notes, "; ")
	return f
}

// IdentifyTag identifies the licence a single tag value names: a Hub
// licence id, an SPDX id or expression, a licence name or a link. field
// names where the value came from.
func IdentifyTag(source SourceKind, field, value string) Finding {
	return tagFinding(source, field, value, resolveTag(value))
}

func tagFinding(source SourceKind, field, value string, t tagResult) Finding {
	f := Finding{
		Source: source, Name: field, Raw: value,
		IDs: t.ids, Operator: t.op, Confidence: t.confidence,
		UnknownParts: t.unknown, Reason: t.reason,
	}
	if f.Confidence == "" {
		f.Confidence = ConfidenceNone
	}
	f.Unknown = len(f.IDs) == 0
	return f
}

// tagFindings turns the licence fields of a card or GGUF file into
// findings: one for the licence list, one for the name and one for the link
// when they say something.
func tagFindings(source SourceKind, licField, nameField, linkField string, t Tags) []Finding {
	name, link := strings.TrimSpace(t.Name), strings.TrimSpace(t.Link)
	var values []string
	other := false
	for _, v := range t.License {
		v = strings.TrimSpace(v)
		switch {
		case v == "":
		case strings.EqualFold(v, "other"):
			other = true
		default:
			values = append(values, v)
		}
	}

	var out []Finding
	switch {
	case len(values) > 0:
		out = append(out, listFinding(source, licField, values))
	case other && name == "" && link == "":
		out = append(out, IdentifyTag(source, licField, "other"))
	}
	if name != "" {
		out = append(out, IdentifyTag(source, nameField, name))
	}
	if link != "" {
		id, ok := resolveLink(strings.ToLower(link))
		switch {
		case ok:
			out = append(out, Finding{Source: source, Name: linkField, Raw: link, IDs: []string{id}, Confidence: ConfidenceMedium})
		case len(out) == 0:
			// The link is all there is: report it, unknown.
			out = append(out, Finding{Source: source, Name: linkField, Raw: link, Confidence: ConfidenceNone,
				Unknown: true, UnknownParts: []string{link}, Reason: "link to a licence that is not in the knowledge base"})
		}
	}
	return out
}

// listFinding resolves the values of a licence list (a card may list
// several licences) into one finding.
func listFinding(source SourceKind, field string, values []string) Finding {
	if len(values) == 1 {
		return IdentifyTag(source, field, values[0])
	}
	merged := tagResult{confidence: ConfidenceExact}
	var reasons []string
	if len(values) > maxTagValues {
		reasons = append(reasons, fmt.Sprintf("only the first %d of %d values were read", maxTagValues, len(values)))
		values = values[:maxTagValues]
	}
	for _, v := range values {
		t := resolveTag(v)
		for _, id := range t.ids {
			if !slices.Contains(merged.ids, id) {
				merged.ids = append(merged.ids, id)
			}
		}
		merged.unknown = append(merged.unknown, t.unknown...)
		if t.confidence == ConfidenceHigh || t.confidence == ConfidenceMedium {
			merged.confidence = t.confidence
		}
		if t.reason != "" && !slices.Contains(reasons, t.reason) {
			reasons = append(reasons, t.reason)
		}
	}
	if len(merged.ids) == 0 {
		merged.confidence = ConfidenceNone
	}
	merged.reason = strings.Join(reasons, "; ")
	if len(merged.ids) > 1 {
		merged.reason = strings.TrimPrefix(merged.reason+"; several licences listed, without saying how they combine", "; ")
	}
	return tagFinding(source, field, strings.Join(values, ", "), merged)
}
