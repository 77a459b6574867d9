// Package license knows the licences open-weight models are published under
// and identifies which of them applies to a model.
//
// The knowledge base (All, Lookup) holds each licence's obligations as data —
// commercial use, user caps, attribution and naming rules, acceptable-use
// policies, restrictions on training with outputs, regional exclusions and
// what derivatives must carry — in a JSON shape the policy engine reads.
// Identify names the licence from a model's licence files (by short
// distinctive phrases and structure, never by holding licence texts), its
// model card and its GGUF metadata, and reports where those sources disagree.
//
// This package must not guess: a text or tag that does not match a known
// licence is reported as unknown with its raw value kept, never mapped to the
// closest match. It does not decide whether a model may be used (that is the
// policy engine's job), it fetches nothing, and it contains no licence texts.
package license

import (
	"slices"
	"strings"
)

// Family groups licences by the shape of their terms.
type Family string

// Licence families.
const (
	FamilyPermissive    Family = "permissive"     // Apache, MIT, BSD, CC BY
	FamilyCopyleft      Family = "copyleft"       // GPL family, CC BY-SA
	FamilyOpenRAIL      Family = "open-rail"      // royalty-free with use-based restrictions passed on
	FamilyCommunity     Family = "community"      // vendor licences with caps, naming and use policies
	FamilyResearch      Family = "research"       // vendor licences limited to research or evaluation
	FamilyNonCommercial Family = "non-commercial" // general licences that forbid commercial use
)

// Commercial says whether a licence allows commercial use.
type Commercial string

// Commercial-use answers.
const (
	CommercialAllowed     Commercial = "allowed"
	CommercialNotAllowed  Commercial = "not_allowed"
	CommercialConditional Commercial = "conditional" // allowed below a cap or outside a use (see the note)
)

// Carry names something that copies and derivatives of a model must carry.
type Carry string

// What derivatives and redistributed copies must carry.
const (
	CarryLicenseCopy         Carry = "license_copy"         // a copy of the licence or agreement
	CarryLicenseReference    Carry = "license_reference"    // the licence text or a link to it
	CarryCopyrightNotices    Carry = "copyright_notices"    // the copyright and licence notices received
	CarryNoticeFile          Carry = "notice_file"          // a notice file with the attribution line the licence gives
	CarryModificationNotices Carry = "modification_notices" // notices marking modified files
	CarryUseRestrictions     Carry = "use_restrictions"     // the use restrictions, as enforceable terms for recipients
	CarryAttribution         Carry = "attribution"          // credit to the creators
	CarrySourceCode          Carry = "source_code"          // the corresponding source
	CarrySameLicense         Carry = "same_license"         // derivatives under the same (or a compatible) licence
)

// License is one entry of the knowledge base. Its fields are facts taken
// from the licence's own text; Source says where they were checked.
type License struct {
	// ID is the SPDX identifier where one exists ("Apache-2.0"), else the
	// Hugging Face Hub licence id or license_name ("llama3.1", "qwen").
	ID   string `json:"id"`
	SPDX bool   `json:"spdx"` // ID is on the SPDX licence list
	Name string `json:"name"`
	URL  string `json:"url"`
	// Released is the version or release date the licence text states.
	Released    string      `json:"released,omitempty"`
	Family      Family      `json:"family"`
	Obligations Obligations `json:"obligations"`
	// Source says which copy of the licence text the facts were checked
	// against. Provisional is set when no primary copy was available and the
	// facts come from secondary descriptions; such entries need review.
	Source      string `json:"source"`
	Provisional bool   `json:"provisional,omitempty"`
	Notes       string `json:"notes,omitempty"`

	aliases []string // tags (besides ID) that name this licence exactly
	names   []string // free-form names that name this licence
	links   []string // URL fragments that point at this licence
	text    textRule // how to recognise the licence text
}

// Obligations are the terms a user of the licensed model must follow.
type Obligations struct {
	CommercialUse  Commercial `json:"commercial_use"`
	CommercialNote string     `json:"commercial_note,omitempty"`

	// UserCap is the monthly-active-user threshold above which the licence
	// no longer grants rights by itself (0: none); UserCapAction says what
	// the licensee must do above it.
	UserCap       int64  `json:"user_cap"`
	UserCapAction string `json:"user_cap_action,omitempty"`

	// AttributionText lists the phrases to display (any one of them is
	// enough); AttributionNote says when and where.
	AttributionText []string `json:"attribution_text,omitempty"`
	AttributionNote string   `json:"attribution_note,omitempty"`
	NoticeFile      bool     `json:"notice_file"`

	// NamePrefix is what the names of derived models must begin with;
	// NamingRule says which models it applies to.
	NamePrefix string `json:"name_prefix,omitempty"`
	NamingRule string `json:"naming_rule,omitempty"`

	// AcceptableUsePolicy is set when use is bound by a use policy or a
	// list of restricted uses; the ref is its URL or where it sits.
	AcceptableUsePolicy    bool   `json:"acceptable_use_policy"`
	AcceptableUsePolicyRef string `json:"acceptable_use_policy_ref,omitempty"`

	// OutputsTrainingRestriction is set when the model's outputs may not be
	// used to train or improve other models; the note also records softer
	// conditions on doing so.
	OutputsTrainingRestriction bool   `json:"outputs_training_restriction"`
	OutputsTrainingNote        string `json:"outputs_training_note,omitempty"`

	RegionalExclusions []RegionalExclusion `json:"regional_exclusions,omitempty"`

	DerivativesMustCarry []Carry `json:"derivatives_must_carry,omitempty"`

	Copyleft   bool `json:"copyleft"`
	ShareAlike bool `json:"share_alike"`
	// NetworkUse is set when letting users interact with the work over a
	// network triggers obligations (the AGPL's source offer).
	NetworkUse bool `json:"network_use"`
}

// RegionalExclusion is a grant withheld in some jurisdictions.
type RegionalExclusion struct {
	// Jurisdictions are ISO 3166 alpha-2 codes or "EU".
	Jurisdictions []string `json:"jurisdictions"`
	Scope         string   `json:"scope"`    // which models or uses it covers
	Excluded      string   `json:"excluded"` // what is not granted
	Note          string   `json:"note,omitempty"`
}

// All returns a copy of every licence in the knowledge base, ordered by ID
// (byte order: SPDX ids first).
func All() []License {
	out := make([]License, len(knowledgeBase))
	for i := range knowledgeBase {
		out[i] = knowledgeBase[i].clone()
	}
	return out
}

// Lookup returns a copy of the licence with the given ID (compared without
// regard to case).
func Lookup(id string) (*License, bool) {
	l := byID(id)
	if l == nil {
		return nil, false
	}
	c := l.clone()
	return &c, true
}

// byID returns the knowledge-base entry itself, or nil.
func byID(id string) *License {
	i, ok := idIndex[strings.ToLower(strings.TrimSpace(id))]
	if !ok {
		return nil
	}
	return &knowledgeBase[i]
}

// clone returns a copy of l that shares no slices with it.
func (l *License) clone() License {
	c := *l
	o := &c.Obligations
	o.AttributionText = slices.Clone(o.AttributionText)
	o.DerivativesMustCarry = slices.Clone(o.DerivativesMustCarry)
	if o.RegionalExclusions != nil {
		o.RegionalExclusions = make([]RegionalExclusion, len(l.Obligations.RegionalExclusions))
		for i, r := range l.Obligations.RegionalExclusions {
			r.Jurisdictions = slices.Clone(r.Jurisdictions)
			o.RegionalExclusions[i] = r
		}
	}
	c.aliases, c.names, c.links = nil, nil, nil
	c.text = textRule{}
	return c
}
