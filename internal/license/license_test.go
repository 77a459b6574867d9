package license

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// required are the licences issue 6 asks the knowledge base to hold.
var required = []string{
	"Apache-2.0", "MIT", "BSD-2-Clause", "BSD-3-Clause", "GPL-3.0", "LGPL-3.0", "AGPL-3.0",
	"CC-BY-4.0", "CC-BY-SA-4.0", "CC-BY-NC-4.0",
	"llama2", "llama3", "llama3.1", "llama3.2", "llama3.3", "llama4",
	"gemma", "qwen", "qwen-research", "mistral-mrl", "deepseek",
	"bigscience-openrail-m", "creativeml-openrail-m", "bigcode-openrail-m", "openrail++",
	"falcon-llm-license", "falcon-180b-tii",
}

func TestKnowledgeBaseHoldsRequired(t *testing.T) {
	for _, id := range required {
		if _, ok := Lookup(id); !ok {
			t.Errorf("Lookup(%q): not in the knowledge base", id)
		}
	}
}

func TestKnowledgeBaseEntries(t *testing.T) {
	families := []Family{FamilyPermissive, FamilyCopyleft, FamilyOpenRAIL, FamilyCommunity, FamilyResearch, FamilyNonCommercial}
	commercial := []Commercial{CommercialAllowed, CommercialNotAllowed, CommercialConditional}
	carries := []Carry{CarryLicenseCopy, CarryLicenseReference, CarryCopyrightNotices, CarryNoticeFile,
		CarryModificationNotices, CarryUseRestrictions, CarryAttribution, CarrySourceCode, CarrySameLicense}
	for i, l := range knowledgeBase {
		t.Run(l.ID, func(t *testing.T) {
			if i > 0 && knowledgeBase[i-1].ID >= l.ID {
				t.Errorf("entries not sorted by ID: %q before %q", knowledgeBase[i-1].ID, l.ID)
			}
			if l.Name == "" || l.URL == "" || l.Source == "" {
				t.Errorf("Name %q, URL %q, Source %q: none may be empty", l.Name, l.URL, l.Source)
			}
			if !strings.HasPrefix(l.URL, "https://") {
				t.Errorf("URL %q is not https", l.URL)
			}
			if !slices.Contains(families, l.Family) {
				t.Errorf("Family %q unknown", l.Family)
			}
			o := l.Obligations
			if !slices.Contains(commercial, o.CommercialUse) {
				t.Errorf("CommercialUse %q unknown", o.CommercialUse)
			}
			if o.CommercialUse == CommercialConditional && o.CommercialNote == "" {
				t.Error("conditional commercial use without a note saying the condition")
			}
			if (o.UserCap > 0) != (o.UserCapAction != "") {
				t.Errorf("UserCap %d with UserCapAction %q: both or neither", o.UserCap, o.UserCapAction)
			}
			if o.NamePrefix != "" && o.NamingRule == "" {
				t.Error("NamePrefix without a NamingRule")
			}
			if o.AcceptableUsePolicy != (o.AcceptableUsePolicyRef != "") {
				t.Errorf("AcceptableUsePolicy %v with ref %q: both or neither", o.AcceptableUsePolicy, o.AcceptableUsePolicyRef)
			}
			if o.NoticeFile != slices.Contains(o.DerivativesMustCarry, CarryNoticeFile) {
				t.Errorf("NoticeFile %v disagrees with DerivativesMustCarry %v", o.NoticeFile, o.DerivativesMustCarry)
			}
			for _, c := range o.DerivativesMustCarry {
				if !slices.Contains(carries, c) {
					t.Errorf("DerivativesMustCarry holds unknown %q", c)
				}
			}
			for _, r := range o.RegionalExclusions {
				if len(r.Jurisdictions) == 0 || r.Scope == "" || r.Excluded == "" {
					t.Errorf("incomplete regional exclusion %+v", r)
				}
			}
			if l.text.empty() {
				t.Error("no text rule")
			}
			if n := len(l.text.keys) + len(l.text.support); n < l.text.minimum() {
				t.Errorf("rule needs %d phrases but has %d", l.text.minimum(), n)
			}
		})
	}
}

// TestPhrasesShort keeps the identification phrases short: they identify a
// licence, they must not reproduce it.
func TestPhrasesShort(t *testing.T) {
	for _, l := range knowledgeBase {
		r := l.text
		for _, p := range slices.Concat(r.keys, r.support, r.exclude) {
			words := len(strings.Fields(p))
			tokens := len(strings.Fields(normalize(p)))
			if words > 8 || tokens < 2 {
				t.Errorf("%s: phrase %q has %d words (%d tokens); want at most 8 words and at least 2 tokens", l.ID, p, words, tokens)
			}
		}
	}
}

// TestPhrasesDistinct: no phrase of a rule contains another, so that one
// occurrence in a text never counts twice.
func TestPhrasesDistinct(t *testing.T) {
	for i, l := range knowledgeBase {
		c := compiled[i]
		all := slices.Concat(c.keys, c.support)
		for a, pa := range all {
			for b, pb := range all {
				if a != b && strings.Contains(pa, pb) {
					t.Errorf("%s: phrase %q contains %q", l.ID, pa, pb)
				}
			}
		}
	}
}

func TestLookup(t *testing.T) {
	tests := []struct {
		in     string
		wantID string
	}{
		{"Apache-2.0", "Apache-2.0"},
		{"apache-2.0", "Apache-2.0"},
		{" LLAMA3.1 ", "llama3.1"},
		{"openrail++", "openrail++"},
		{"mrl", ""}, // an alias, not an ID: tags go through IdentifyTag
		{"", ""},
		{"GPL-2.0", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			l, ok := Lookup(tt.in)
			if ok != (tt.wantID != "") {
				t.Fatalf("Lookup(%q) ok = %v, want %v", tt.in, ok, tt.wantID != "")
			}
			if ok && l.ID != tt.wantID {
				t.Errorf("Lookup(%q).ID = %q, want %q", tt.in, l.ID, tt.wantID)
			}
		})
	}
}

// TestLookupReturnsCopy checks that callers cannot change the knowledge
// base through what Lookup and All return.
func TestLookupReturnsCopy(t *testing.T) {
	l, _ := Lookup("llama3.2")
	l.Obligations.RegionalExclusions[0].Jurisdictions[0] = "XX"
	l.Obligations.AttributionText[0] = "changed"
	l.Obligations.DerivativesMustCarry[0] = "changed"
	all := All()
	for i := range all {
		all[i].Obligations.UserCap = 1
	}
	again, _ := Lookup("llama3.2")
	o := again.Obligations
	if o.RegionalExclusions[0].Jurisdictions[0] != "EU" || o.AttributionText[0] != "Built with Llama" ||
		o.DerivativesMustCarry[0] != CarryLicenseCopy || o.UserCap != 700_000_000 {
		t.Errorf("knowledge base changed through a returned copy: %+v", o)
	}
	if llama31, _ := Lookup("llama3.1"); llama31.Obligations.DerivativesMustCarry[0] != CarryLicenseCopy {
		t.Error("shared slice changed through a returned copy")
	}
}

func TestAll(t *testing.T) {
	all := All()
	if len(all) != len(knowledgeBase) {
		t.Fatalf("All() has %d entries, want %d", len(all), len(knowledgeBase))
	}
	for i, l := range all {
		if l.ID != knowledgeBase[i].ID {
			t.Errorf("All()[%d].ID = %q, want %q", i, l.ID, knowledgeBase[i].ID)
		}
	}
}

// TestFacts pins the facts a policy depends on most, as read from the
// licence texts.
func TestFacts(t *testing.T) {
	type facts struct {
		Commercial  Commercial
		Cap         int64
		Attribution []string
		Prefix      string
		AUP         bool
		NoOutputs   bool
		Regions     []string
		Copyleft    bool
		ShareAlike  bool
		Network     bool
	}
	tests := []struct {
		id   string
		want facts
	}{
		{"Apache-2.0", facts{Commercial: CommercialAllowed}},
		{"MIT", facts{Commercial: CommercialAllowed}},
		{"GPL-3.0", facts{Commercial: CommercialAllowed, Copyleft: true}},
		{"AGPL-3.0", facts{Commercial: CommercialAllowed, Copyleft: true, Network: true}},
		{"CC-BY-SA-4.0", facts{Commercial: CommercialAllowed, ShareAlike: true}},
		{"CC-BY-NC-4.0", facts{Commercial: CommercialNotAllowed}},
		{"llama2", facts{Commercial: CommercialConditional, Cap: 700_000_000, AUP: true, NoOutputs: true}},
		{"llama3", facts{Commercial: CommercialConditional, Cap: 700_000_000, Attribution: []string{"Built with Meta Llama 3"}, Prefix: "Llama 3", AUP: true, NoOutputs: true}},
		{"llama3.1", facts{Commercial: CommercialConditional, Cap: 700_000_000, Attribution: []string{"Built with Llama"}, Prefix: "Llama", AUP: true}},
		{"llama3.2", facts{Commercial: CommercialConditional, Cap: 700_000_000, Attribution: []string{"Built with Llama"}, Prefix: "Llama", AUP: true, Regions: []string{"EU"}}},
		{"llama3.3", facts{Commercial: CommercialConditional, Cap: 700_000_000, Attribution: []string{"Built with Llama"}, Prefix: "Llama", AUP: true, Regions: []string{"EU"}}},
		{"llama4", facts{Commercial: CommercialConditional, Cap: 700_000_000, Attribution: []string{"Built with Llama"}, Prefix: "Llama", AUP: true, Regions: []string{"EU"}}},
		{"gemma", facts{Commercial: CommercialAllowed, AUP: true}},
		{"qwen", facts{Commercial: CommercialConditional, Cap: 100_000_000, Attribution: []string{"Built with Qwen", "Improved using Qwen"}}},
		{"qwen-research", facts{Commercial: CommercialNotAllowed, Attribution: []string{"Built with Qwen", "Improved using Qwen"}}},
		{"tongyi-qianwen", facts{Commercial: CommercialConditional, Cap: 100_000_000, NoOutputs: true}},
		{"mistral-mrl", facts{Commercial: CommercialNotAllowed, NoOutputs: true}},
		{"deepseek", facts{Commercial: CommercialAllowed, AUP: true}},
		{"creativeml-openrail-m", facts{Commercial: CommercialAllowed, AUP: true}},
		{"openrail++", facts{Commercial: CommercialAllowed, AUP: true}},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			l, ok := Lookup(tt.id)
			if !ok {
				t.Fatalf("Lookup(%q): missing", tt.id)
			}
			o := l.Obligations
			got := facts{
				Commercial: o.CommercialUse, Cap: o.UserCap, Attribution: o.AttributionText, Prefix: o.NamePrefix,
				AUP: o.AcceptableUsePolicy, NoOutputs: o.OutputsTrainingRestriction,
				Copyleft: o.Copyleft, ShareAlike: o.ShareAlike, Network: o.NetworkUse,
			}
			for _, r := range o.RegionalExclusions {
				got.Regions = append(got.Regions, r.Jurisdictions...)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("facts (-want +got):\n%s", diff)
			}
		})
	}
}

// TestJSONShape checks the snake_case field names the policy engine reads.
func TestJSONShape(t *testing.T) {
	l, _ := Lookup("llama3.2")
	b, err := json.Marshal(l)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"id", "spdx", "name", "url", "family", "obligations", "source"} {
		if _, ok := m[k]; !ok {
			t.Errorf("licence JSON lacks %q: %s", k, b)
		}
	}
	o, _ := m["obligations"].(map[string]any)
	for _, k := range []string{"commercial_use", "user_cap", "user_cap_action", "attribution_text", "notice_file",
		"name_prefix", "naming_rule", "acceptable_use_policy", "acceptable_use_policy_ref",
		"outputs_training_restriction", "regional_exclusions", "derivatives_must_carry", "copyleft", "share_alike", "network_use"} {
		if _, ok := o[k]; !ok {
			t.Errorf("obligations JSON lacks %q: %s", k, b)
		}
	}
	var back License
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(*l, back, cmp.AllowUnexported(License{}, textRule{})); diff != "" {
		t.Errorf("JSON round trip (-want +got):\n%s", diff)
	}
}

func TestNormalize(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", " "},
		{"MIT", " mit "},
		{"  Apache License,\n\tVersion 2.0 ", " apache license version 2 0 "},
		{"“Built with Llama”", " built with llama "},
		{"**LLAMA 3.3**", " llama 3 3 "},
		{"llama3\\_3/use-policy", " llama3 3 use policy "},
		{"Open RAIL++-M", " open rail++ m "},
		{"Straße ÉTÉ", " straße été "},
		{"a\xffb", " a b "},
	}
	for _, tt := range tests {
		if got := normalize(tt.in); got != tt.want {
			t.Errorf("normalize(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
