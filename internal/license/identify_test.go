package license

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// filler is neutral prose, written for these tests, that carries no licence
// wording; synthetic licence texts interleave it with a licence's phrases so
// that the tests never hold a licence text.
var filler = []string{
	"The harbour lights came on one by one as the ferry turned for home.",
	"Bake the loaf until the crust sounds hollow when tapped underneath.",
	"Three herons stood in the shallows, each ignoring the others completely.",
	"The orchestra tuned for a long while before the conductor appeared.",
	"Snow had drifted against the north wall of the barn overnight.",
	"She kept the seeds in paper envelopes, labelled by year and colour.",
	"A tram rattled past, its bell ringing for no reason anyone could see.",
	"The map showed a footpath where the river had been a century ago.",
}

// synth builds a text from phrases, one per paragraph, with filler between.
func synth(phrases ...string) []byte {
	var b strings.Builder
	for i, p := range phrases {
		fmt.Fprintf(&b, "%s\n\n%s.\n\n", filler[i%len(filler)], p)
	}
	b.WriteString(filler[len(phrases)%len(filler)])
	return []byte(b.String())
}

// features returns all of a licence's identification phrases.
func features(t *testing.T, id string) []string {
	t.Helper()
	l := byID(id)
	if l == nil {
		t.Fatalf("%s not in the knowledge base", id)
	}
	return slices.Concat(l.text.keys, l.text.support)
}

// TestIdentifyTagEveryLicense: every licence is identified from its ID,
// each alias and each name, and from each of its links.
func TestIdentifyTagEveryLicense(t *testing.T) {
	for _, l := range knowledgeBase {
		t.Run(l.ID, func(t *testing.T) {
			check := func(value string, want Confidence) {
				t.Helper()
				f := IdentifyTag(SourceCard, "license", value)
				if !slices.Equal(f.IDs, []string{l.ID}) || f.Confidence != want || f.Unknown {
					t.Errorf("IdentifyTag(%q) = IDs %v, confidence %s, unknown %v; want [%s], %s", value, f.IDs, f.Confidence, f.Unknown, l.ID, want)
				}
			}
			check(l.ID, ConfidenceExact)
			check(strings.ToUpper(l.ID), ConfidenceExact)
			for _, a := range l.aliases {
				check(a, ConfidenceExact)
			}
			check(l.Name, ConfidenceHigh)
			for _, n := range l.names {
				check(n, ConfidenceHigh)
			}
			for _, link := range l.links {
				fs := tagFindings(SourceCard, "license", "license_name", "license_link",
					Tags{License: []string{"other"}, Link: "https://" + link + "/x"})
				want := []Finding{{Source: SourceCard, Name: "license_link", Raw: "https://" + link + "/x", IDs: []string{l.ID}, Confidence: ConfidenceMedium}}
				if diff := cmp.Diff(want, fs); diff != "" {
					t.Errorf("link %q (-want +got):\n%s", link, diff)
				}
			}
		})
	}
}

func TestIdentifyTag(t *testing.T) {
	tests := []struct {
		value   string
		ids     []string
		op      string
		unknown []string
		conf    Confidence
	}{
		{value: "apache-2.0", ids: []string{"Apache-2.0"}, conf: ConfidenceExact},
		{value: "MIT", ids: []string{"MIT"}, conf: ConfidenceExact},
		{value: "llama3.1", ids: []string{"llama3.1"}, conf: ConfidenceExact},
		{value: "LicenseRef-llama3.2", ids: []string{"llama3.2"}, conf: ConfidenceExact},
		{value: "GPL-3.0-or-later", ids: []string{"GPL-3.0"}, conf: ConfidenceExact},
		{value: "Apache License, Version 2.0", ids: []string{"Apache-2.0"}, conf: ConfidenceHigh},
		{value: "Llama 3.1 Community License Agreement", ids: []string{"llama3.1"}, conf: ConfidenceHigh},
		{value: "MIT OR Apache-2.0", ids: []string{"MIT", "Apache-2.0"}, op: "OR", conf: ConfidenceExact},
		{value: "(MIT and BSD-3-Clause)", ids: []string{"MIT", "BSD-3-Clause"}, op: "AND", conf: ConfidenceExact},
		{value: "MIT AND (Apache-2.0 OR BSD-2-Clause)", ids: []string{"MIT", "Apache-2.0", "BSD-2-Clause"}, op: "AND/OR", conf: ConfidenceExact},
		{value: "MIT/Apache-2.0", ids: []string{"MIT", "Apache-2.0"}, op: "OR", conf: ConfidenceExact},
		{value: "GPL-3.0-or-later WITH Classpath-exception-2.0", ids: []string{"GPL-3.0"}, conf: ConfidenceExact},
		{value: "Apache-2.0 AND my-own-terms", ids: []string{"Apache-2.0"}, unknown: []string{"my-own-terms"}, conf: ConfidenceExact},
		{value: "https://www.apache.org/licenses/LICENSE-2.0", ids: []string{"Apache-2.0"}, conf: ConfidenceMedium},
		// Unknown, never guessed.
		{value: "other", unknown: []string{"other"}, conf: ConfidenceNone},
		{value: "unknown", unknown: []string{"unknown"}, conf: ConfidenceNone},
		{value: "bsd", unknown: []string{"bsd"}, conf: ConfidenceNone},
		{value: "openrail", unknown: []string{"openrail"}, conf: ConfidenceNone},
		{value: "cc-by-nc-sa-4.0", unknown: []string{"cc-by-nc-sa-4.0"}, conf: ConfidenceNone},
		{value: "gpl-2.0", unknown: []string{"gpl-2.0"}, conf: ConfidenceNone},
		{value: "bigscience-bloom-rail-1.0", unknown: []string{"bigscience-bloom-rail-1.0"}, conf: ConfidenceNone},
		{value: "llama3.5", unknown: []string{"llama3.5"}, conf: ConfidenceNone},
		{value: "foo OR bar", unknown: []string{"foo", "bar"}, conf: ConfidenceNone},
		{value: "https://example.com/my-licence", unknown: []string{"https://example.com/my-licence"}, conf: ConfidenceNone},
		{value: "", conf: ConfidenceNone},
		{value: "OR", unknown: []string{"OR"}, conf: ConfidenceNone},
		{value: strings.Repeat("x", maxTag+1), unknown: []string{strings.Repeat("x", 64) + "…"}, conf: ConfidenceNone},
	}
	for _, tt := range tests {
		name := tt.value
		if len(name) > 40 {
			name = name[:40]
		}
		t.Run(name, func(t *testing.T) {
			f := IdentifyTag(SourceGGUF, "general.license", tt.value)
			got := struct {
				IDs, Unknown []string
				Op           string
				Conf         Confidence
				IsUnknown    bool
			}{f.IDs, f.UnknownParts, f.Operator, f.Confidence, f.Unknown}
			want := got
			want.IDs, want.Unknown, want.Op, want.Conf, want.IsUnknown = tt.ids, tt.unknown, tt.op, tt.conf, len(tt.ids) == 0
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("IdentifyTag(%q) (-want +got):\n%s", tt.value, diff)
			}
			if f.Raw != tt.value {
				t.Errorf("Raw = %q, want the value as given", f.Raw)
			}
			if f.Unknown && f.Reason == "" {
				t.Error("unknown without a reason")
			}
		})
	}
}

// TestIdentifyTextEveryLicense: a synthetic text made of one licence's
// phrases and filler names exactly that licence.
func TestIdentifyTextEveryLicense(t *testing.T) {
	for _, l := range knowledgeBase {
		t.Run(l.ID, func(t *testing.T) {
			f := IdentifyText("LICENSE", synth(features(t, l.ID)...))
			if !slices.Equal(f.IDs, []string{l.ID}) || f.Unknown {
				t.Fatalf("IDs %v (unknown %v, %s), want [%s]", f.IDs, f.Unknown, f.Reason, l.ID)
			}
			if f.Confidence != ConfidenceHigh {
				t.Errorf("confidence %s, want high", f.Confidence)
			}
			if len(f.Matched) != len(features(t, l.ID)) {
				t.Errorf("matched %d phrases, want %d: %v", len(f.Matched), len(features(t, l.ID)), f.Matched)
			}
			// Just the minimum: still identified, with less confidence
			// when that is under 60% of the phrases.
			min := slices.Concat(l.text.keys[:1], l.text.support)[:l.text.minimum()]
			g := IdentifyText("LICENSE", synth(min...))
			if !slices.Equal(g.IDs, []string{l.ID}) {
				t.Errorf("minimum phrases %q: IDs %v (%s), want [%s]", min, g.IDs, g.Reason, l.ID)
			}
			// One phrase short of the minimum: unknown.
			short := min[:len(min)-1]
			if h := IdentifyText("LICENSE", synth(short...)); !h.Unknown {
				t.Errorf("phrases %q (below minimum): IDs %v, want unknown", short, h.IDs)
			}
			// Everything but the naming phrases: unknown.
			if h := IdentifyText("LICENSE", synth(l.text.support...)); !h.Unknown && slices.Contains(h.IDs, l.ID) {
				t.Errorf("support phrases only: IDs %v, want no %s", h.IDs, l.ID)
			}
		})
	}
}

// TestIdentifyTextNearMisses: texts that resemble a known licence but are
// another (or a variant) stay unknown or name the right version.
func TestIdentifyTextNearMisses(t *testing.T) {
	llama31 := byID("llama3.1").text
	withFiller := func(extra ...string) func(*testing.T) []byte {
		return func(*testing.T) []byte { return synth(extra...) }
	}
	tests := []struct {
		name       string
		text       func(*testing.T) []byte
		want       []string // nil: unknown
		reasonHas  string
		confidence Confidence
	}{
		{
			name: "llama 3.1 text mentioning 3.2 stays 3.1",
			text: func(t *testing.T) []byte {
				return synth(append(features(t, "llama3.1"), "we compared it with Llama 3.2 and Llama 4 last week")...)
			},
			want: []string{"llama3.1"},
		},
		{
			name: "llama family wording without a version is unknown",
			text: withFiller(slices.Concat(llama31.support, []string{"Llama Community License Agreement"})...),
			want: nil, reasonHas: "none of the phrases that name it",
		},
		{
			name: "llama 3 is not 3.1",
			text: func(t *testing.T) []byte { return synth(features(t, "llama3")...) },
			want: []string{"llama3"},
		},
		{
			name: "BSD-2 with the endorsement clause is BSD-3",
			text: func(t *testing.T) []byte {
				return synth(append(features(t, "BSD-2-Clause"), "nor the names of its contributors may be used to endorse or promote products derived from this software")...)
			},
			want: []string{"BSD-3-Clause"},
		},
		{
			name: "4-clause BSD is unknown",
			text: func(t *testing.T) []byte {
				return synth(append(features(t, "BSD-3-Clause"), "All advertising materials mentioning features or use of this software")...)
			},
			want: nil, reasonHas: "advertising",
		},
		{
			name: "MIT with a user cap added is unknown",
			text: func(t *testing.T) []byte {
				return synth(append(features(t, "MIT"), "if the product has more than 100 million monthly active users, display the model name")...)
			},
			want: nil, reasonHas: "terms added",
		},
		{
			name: "Apache 2.0 with a use policy appended is unknown",
			text: func(t *testing.T) []byte {
				return synth(append(features(t, "Apache-2.0"), "use must follow the acceptable use policy")...)
			},
			want: nil, reasonHas: "Apache-2.0 with terms added",
		},
		{
			name: "MIT without the notice condition (MIT-0) is unknown",
			text: func(t *testing.T) []byte {
				return synth(slices.DeleteFunc(features(t, "MIT"), func(p string) bool { return strings.Contains(p, "substantial") })...)
			},
			want: nil,
		},
		{
			name: "Apache 1.1 is not 2.0",
			text: func(t *testing.T) []byte { return synth(features(t, "Apache-1.1")...) },
			want: []string{"Apache-1.1"},
		},
		{
			name: "Apache 2.0 phrases under a 1.0 title are unknown",
			text: withFiller("The Apache License, Version 1.0", "Grant of Copyright License", "Grant of Patent License", "Submission of Contributions"),
			want: nil,
		},
		{
			name: "GPL version 2 is unknown",
			text: withFiller("GNU GENERAL PUBLIC LICENSE Version 2, June 1991", "Conveying Non-Source Forms", "Installation Information", "Apply These Terms to Your New Programs"),
			want: nil,
		},
		{
			name: "LGPL is not GPL",
			text: func(t *testing.T) []byte { return synth(features(t, "LGPL-3.0")...) },
			want: []string{"LGPL-3.0"},
		},
		{
			name: "AGPL is not GPL",
			text: func(t *testing.T) []byte { return synth(features(t, "AGPL-3.0")...) },
			want: []string{"AGPL-3.0"},
		},
		{
			name: "LGPL shipped with the GPL names both",
			text: func(t *testing.T) []byte {
				return synth(slices.Concat(features(t, "LGPL-3.0"), features(t, "GPL-3.0"))...)
			},
			want: []string{"GPL-3.0", "LGPL-3.0"}, reasonHas: "several licences",
		},
		{
			name: "CC BY-NC-SA is unknown",
			text: withFiller("Creative Commons Attribution-NonCommercial-ShareAlike 4.0 International Public License", "Licensed Material", "Adapter's License", "BY-NC-SA Compatible License"),
			want: nil,
		},
		{
			name: "CC BY 3.0 is unknown",
			text: withFiller("Creative Commons Attribution 3.0 Unported", "Licensed Material", "Adapter's License", "Effective Technological Measures"),
			want: nil,
		},
		{
			name: "Qwen wording with a non-commercial grant is not the Qwen licence",
			text: func(t *testing.T) []byte { return synth(append(features(t, "qwen"), "non-commercial use only")...) },
			want: nil, reasonHas: "ruled out",
		},
		{
			name: "CreativeML is not OpenRAIL++",
			text: func(t *testing.T) []byte { return synth(features(t, "creativeml-openrail-m")...) },
			want: []string{"creativeml-openrail-m"},
		},
		{
			name: "OpenRAIL wording without a licence name is unknown",
			text: withFiller(openRAILSupport...),
			want: nil,
		},
		{
			name: "an unknown licence text is unknown",
			text: withFiller("The Lighthouse Keepers' Licence, first edition", "You may read this model aloud to seabirds", "Copies must be kept dry at all times"),
			want: nil,
		},
		{
			name: "empty text",
			text: withFiller(),
			want: nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := IdentifyText("LICENSE", tt.text(t))
			if !slices.Equal(f.IDs, tt.want) {
				t.Errorf("IDs %v (%s), want %v", f.IDs, f.Reason, tt.want)
			}
			if f.Unknown != (tt.want == nil) {
				t.Errorf("Unknown = %v, want %v", f.Unknown, tt.want == nil)
			}
			if !strings.Contains(f.Reason, tt.reasonHas) {
				t.Errorf("Reason %q does not mention %q", f.Reason, tt.reasonHas)
			}
		})
	}
}

func TestIdentifyTextEdgeCases(t *testing.T) {
	if f := IdentifyText("LICENSE", nil); !f.Unknown || f.Reason != "no text" {
		t.Errorf("nil content: %+v", f)
	}
	if f := IdentifyText("LICENSE", []byte("\x00\xff\xfe  \n")); !f.Unknown {
		t.Errorf("binary content: %+v", f)
	}
	// A licence past MaxText is not read.
	big := append(make([]byte, MaxText), synth(features(t, "MIT")...)...)
	if f := IdentifyText("LICENSE", big); !f.Unknown || !strings.Contains(f.Reason, "first") {
		t.Errorf("licence after MaxText: %+v", f)
	}
	// A licence at the start of a long file is.
	long := append(synth(features(t, "MIT")...), make([]byte, MaxText)...)
	if f := IdentifyText("LICENSE", long); !slices.Equal(f.IDs, []string{"MIT"}) {
		t.Errorf("licence before MaxText: %+v", f)
	}
}

func TestIdentify(t *testing.T) {
	llama31 := File{Name: "LICENSE", Content: synth(features(t, "llama3.1")...)}
	apache := File{Name: "LICENSE", Content: synth(features(t, "Apache-2.0")...)}
	unknownText := File{Name: "LICENSE.txt", Content: synth("The Lighthouse Keepers' Licence", "You may read this model aloud to seabirds")}
	tests := []struct {
		name          string
		src           Sources
		ids           []string
		candidates    []string
		unknown       bool
		disagreements [][2]string // names of the disagreeing findings
		findings      int
	}{
		{
			name:       "all sources agree",
			src:        Sources{Files: []File{llama31}, Card: &Tags{License: []string{"llama3.1"}}, GGUF: &Tags{License: []string{"llama3.1"}}},
			ids:        []string{"llama3.1"},
			candidates: []string{"llama3.1"},
			findings:   3,
		},
		{
			name:          "Llama fine-tune whose card says apache-2.0",
			src:           Sources{Files: []File{llama31}, Card: &Tags{License: []string{"apache-2.0"}}},
			candidates:    []string{"Apache-2.0", "llama3.1"},
			disagreements: [][2]string{{"LICENSE", "license"}},
			findings:      2,
		},
		{
			name:          "GGUF says mit, LICENSE is Apache",
			src:           Sources{Files: []File{apache}, GGUF: &Tags{License: []string{"mit"}}},
			candidates:    []string{"Apache-2.0", "MIT"},
			disagreements: [][2]string{{"LICENSE", "general.license"}},
			findings:      2,
		},
		{
			name:          "card other + license_name disagrees with GGUF",
			src:           Sources{Card: &Tags{License: []string{"other"}, Name: "qwen-research", Link: "LICENSE"}, GGUF: &Tags{License: []string{"apache-2.0"}}},
			candidates:    []string{"Apache-2.0", "qwen-research"},
			disagreements: [][2]string{{"license_name", "general.license"}},
			findings:      2,
		},
		{
			name:       "card other + license_name mrl + link agree",
			src:        Sources{Card: &Tags{License: []string{"other"}, Name: "mrl", Link: "https://mistral.ai/licenses/MRL-0.1.md"}},
			ids:        []string{"mistral-mrl"},
			candidates: []string{"mistral-mrl"},
			findings:   2,
		},
		{
			name:       "card lists two licences, file holds one of them",
			src:        Sources{Files: []File{apache}, Card: &Tags{License: []string{"apache-2.0", "mit"}}},
			ids:        []string{"Apache-2.0", "MIT"},
			candidates: []string{"Apache-2.0", "MIT"},
			findings:   2,
		},
		{
			name:       "GGUF expression and card agree",
			src:        Sources{Card: &Tags{License: []string{"mit"}}, GGUF: &Tags{License: []string{"MIT OR Apache-2.0"}}},
			ids:        []string{"Apache-2.0", "MIT"},
			candidates: []string{"Apache-2.0", "MIT"},
			findings:   2,
		},
		{
			name:     "other without a name is unknown",
			src:      Sources{Card: &Tags{License: []string{"other"}}},
			unknown:  true,
			findings: 1,
		},
		{
			name:     "unrecognised name and text stay unknown",
			src:      Sources{Files: []File{unknownText}, Card: &Tags{License: []string{"other"}, Name: "lighthouse-licence"}},
			unknown:  true,
			findings: 2,
		},
		{
			name:       "unknown sources do not disagree with known ones",
			src:        Sources{Files: []File{unknownText, llama31}, Card: &Tags{License: []string{"llama3.1"}, Link: "https://example.com/terms"}},
			ids:        []string{"llama3.1"},
			candidates: []string{"llama3.1"},
			findings:   3,
		},
		{
			name:     "only an unrecognised link is reported, unknown",
			src:      Sources{Card: &Tags{Link: "https://example.com/terms"}},
			unknown:  true,
			findings: 1,
		},
		{
			name:       "long licence lists are cut",
			src:        Sources{Card: &Tags{License: append(slices.Repeat([]string{"mit"}, maxTagValues), "apache-2.0")}},
			ids:        []string{"MIT"},
			candidates: []string{"MIT"},
			findings:   1,
		},
		{
			name:     "nothing at all",
			src:      Sources{Card: &Tags{}, GGUF: &Tags{License: []string{""}}},
			unknown:  true,
			findings: 0,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Identify(tt.src)
			if diff := cmp.Diff(tt.ids, r.IDs); diff != "" {
				t.Errorf("IDs (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.candidates, r.Candidates); diff != "" {
				t.Errorf("Candidates (-want +got):\n%s", diff)
			}
			if r.Unknown != tt.unknown {
				t.Errorf("Unknown = %v, want %v", r.Unknown, tt.unknown)
			}
			if len(r.Findings) != tt.findings {
				t.Errorf("%d findings, want %d: %+v", len(r.Findings), tt.findings, r.Findings)
			}
			var got [][2]string
			for _, d := range r.Disagreements {
				got = append(got, [2]string{d.First.Name, d.Second.Name})
				if !strings.Contains(d.Message, strings.Join(d.First.IDs, ", ")) || !strings.Contains(d.Message, strings.Join(d.Second.IDs, ", ")) {
					t.Errorf("message %q does not name both sides", d.Message)
				}
			}
			if diff := cmp.Diff(tt.disagreements, got); diff != "" {
				t.Errorf("disagreements (-want +got):\n%s", diff)
			}
			var licIDs []string
			for _, l := range r.Licenses {
				licIDs = append(licIDs, l.ID)
			}
			if diff := cmp.Diff(r.Candidates, licIDs); diff != "" {
				t.Errorf("Licenses do not match Candidates (-want +got):\n%s", diff)
			}
			for _, f := range r.Findings {
				if f.Unknown != (len(f.IDs) == 0) {
					t.Errorf("finding %q: Unknown %v with IDs %v", f.Name, f.Unknown, f.IDs)
				}
				if f.Source != SourceFile && f.Unknown && f.Raw == "" {
					t.Errorf("unknown tag finding %q lost its raw value", f.Name)
				}
			}
		})
	}
}

// TestIdentifyKeepsRawUnknown: an unrecognised tag is reported as given.
func TestIdentifyKeepsRawUnknown(t *testing.T) {
	r := Identify(Sources{Card: &Tags{License: []string{"other"}, Name: "Lighthouse Licence v2"}})
	want := []Finding{{
		Source: SourceCard, Name: "license_name", Raw: "Lighthouse Licence v2",
		Confidence: ConfidenceNone, UnknownParts: []string{"Lighthouse Licence v2"},
		Unknown: true, Reason: "not a licence in the knowledge base",
	}}
	if diff := cmp.Diff(want, r.Findings); diff != "" {
		t.Errorf("findings (-want +got):\n%s", diff)
	}
}

// TestResultJSON checks the snake_case shape of a result.
func TestResultJSON(t *testing.T) {
	r := Identify(Sources{Files: []File{{Name: "LICENSE", Content: synth(features(t, "llama3.2")...)}}, Card: &Tags{License: []string{"apache-2.0"}}})
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{`"candidates":`, `"licenses":`, `"unknown":false`, `"findings":`, `"disagreements":`, `"confidence":"high"`, `"matched":`, `"regional_exclusions":`} {
		if !strings.Contains(string(b), k) {
			t.Errorf("result JSON lacks %s: %s", k, b)
		}
	}
}

// TestIdentifyLargeInputBounded: a megabyte of adversarial text is handled
// quickly. The bound is loose; typical runs take tens of milliseconds.
func TestIdentifyLargeInputBounded(t *testing.T) {
	inputs := map[string][]byte{
		"repeated phrase": []byte(strings.Repeat("llama 3 community license ", MaxText/26)),
		"one letter":      []byte(strings.Repeat("a", MaxText)),
		"spaces":          []byte(strings.Repeat(" ", MaxText)),
		"punctuation":     []byte(strings.Repeat("a.", MaxText/2)),
		"invalid utf-8":   []byte(strings.Repeat("\xff\xfe", MaxText/2)),
	}
	for name, in := range inputs {
		t.Run(name, func(t *testing.T) {
			start := time.Now()
			Identify(Sources{Files: []File{{Name: "LICENSE", Content: in}}})
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("took %v on %d bytes", d, len(in))
			}
		})
	}
}

func BenchmarkIdentifyText(b *testing.B) {
	text := synth(slices.Concat(byID("llama3.1").text.keys, byID("llama3.1").text.support)...)
	for len(text) < 64<<10 {
		text = append(text, text...)
	}
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		IdentifyText("LICENSE", text)
	}
}
