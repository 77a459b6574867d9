package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"sov.dev/sov/internal/digest"
)

// State is where a model version stands in the trust gate's lifecycle.
type State string

const (
	// Quarantined: imported but not yet decided, or policy said to hold it
	// for review. A model version with no decision is quarantined.
	Quarantined State = "quarantined"
	// Approved: may be served.
	Approved State = "approved"
	// Rejected: must not be served.
	Rejected State = "rejected"
)

// Valid reports whether s is one of the three states.
func (s State) Valid() bool {
	return s == Quarantined || s == Approved || s == Rejected
}

// ByPolicy is Decision.By for a decision the policy engine made.
const ByPolicy = "policy"

// humanPrefix starts Decision.By for a person's decision: "human:<user>".
const humanPrefix = "human:"

// ByHuman returns Decision.By for a decision the named user made.
func ByHuman(user string) string { return humanPrefix + user }

// Decision is one entry in a model version's decision history.
type Decision struct {
	// Seq orders decisions across the store; it is assigned by AddDecision
	// and grows with every decision added.
	Seq    int64
	Digest digest.Digest // the model version (manifest digest)
	State  State
	// By is ByPolicy or ByHuman(user).
	By     string
	Reason string
	// Policy is the digest of the policy text a policy decision was made
	// under ("" for a human decision made without one).
	Policy digest.Digest
	// Detail is JSON the decider chose to keep: the rules that fired and
	// a summary of the facts.
	Detail []byte
	Time   time.Time // UTC
}

// Human reports whether a person made the decision, and who.
func (d Decision) Human() (user string, ok bool) {
	return strings.CutPrefix(d.By, humanPrefix)
}

// Standing is a model version's latest decisions, one per kind of decider.
type Standing struct {
	Policy *Decision // latest policy decision, nil if none
	Human  *Decision // latest human decision, nil if none
}

// Effective returns the decision that sets the model's state: human
// decisions win over policy, so it is the latest human decision if there
// is one, else the latest policy decision, else nil (the model is
// Quarantined).
func (s Standing) Effective() *Decision {
	if s.Human != nil {
		return s.Human
	}
	return s.Policy
}

// State returns the model's state under the rule of Effective.
func (s Standing) State() State {
	if d := s.Effective(); d != nil {
		return d.State
	}
	return Quarantined
}

// StandingOf works out the standing from a history in the order it was
// added (as Decisions returns it).
func StandingOf(history []Decision) Standing {
	var s Standing
	for i := range history {
		d := &history[i]
		if _, human := d.Human(); human {
			s.Human = d
		} else {
			s.Policy = d
		}
	}
	return s
}

// CheckDecision validates a decision before an implementation stores it.
func CheckDecision(d Decision) error {
	if err := d.Digest.Validate(); err != nil {
		return fmt.Errorf("decision: %w", err)
	}
	if !d.State.Valid() {
		return fmt.Errorf("decision on %s: state %q is not quarantined, approved or rejected", d.Digest, d.State)
	}
	if user, human := d.Human(); human {
		if strings.TrimSpace(user) == "" {
			return fmt.Errorf("decision on %s: %q names no user", d.Digest, d.By)
		}
	} else if d.By != ByPolicy {
		return fmt.Errorf("decision on %s: by %q, want %q or %q", d.Digest, d.By, ByPolicy, humanPrefix+"<user>")
	}
	if d.Policy != "" {
		if err := d.Policy.Validate(); err != nil {
			return fmt.Errorf("decision on %s: policy: %w", d.Digest, err)
		}
	}
	if len(d.Detail) > 0 && !json.Valid(d.Detail) {
		return fmt.Errorf("decision on %s: detail is not valid JSON", d.Digest)
	}
	if d.Seq != 0 {
		return errors.New("decision: Seq is assigned by the store; leave it zero")
	}
	return nil
}
