// Package gate is sov's trust gate: it scans a model version's files,
// identifies its licence, evaluates the policy over those facts and keeps
// the model's lifecycle state (quarantined, approved, rejected) as an
// append-only history of decisions in the metadata store.
//
// Human decisions win: a model's state is its latest human decision if it
// has one, else its latest policy decision, else quarantined. Re-evaluating
// under a new policy records new policy decisions but never undoes a human
// one; where they disagree the result says so. Approved is the check the
// gateway's runner makes before it loads a model.
//
// The gate never executes, imports or deserialises model files (the
// scanner emulates pickles), never changes a model's files or references,
// and never records a decision it could not reach: if a file cannot be
// read or the context ends, Check fails and nothing is recorded.
package gate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"sov.dev/sov/internal/blob"
	"sov.dev/sov/internal/digest"
	"sov.dev/sov/internal/license"
	"sov.dev/sov/internal/policy"
	"sov.dev/sov/internal/scan"
	"sov.dev/sov/internal/store"
	"sov.dev/sov/internal/vault"
)

// Models is what the gate needs of the vault; *vault.Vault implements it.
type Models interface {
	// Inspect resolves a reference (NAME[:TAG] or a digest) and describes
	// the model version.
	Inspect(ctx context.Context, ref string) (*vault.Info, error)
	// List returns every reference and every unreferenced version.
	List(ctx context.Context) ([]vault.Entry, error)
	// Blobs returns the store that holds the model files.
	Blobs() blob.Store
}

// Decisions is what the gate needs of the metadata store; every
// store.Store implements it.
type Decisions interface {
	AddDecision(ctx context.Context, d store.Decision) (store.Decision, error)
	Decisions(ctx context.Context, d digest.Digest) ([]store.Decision, error)
	LatestDecisions(ctx context.Context) (map[digest.Digest]store.Standing, error)
}

var (
	_ Models    = (*vault.Vault)(nil)
	_ Decisions = (store.Store)(nil)
)

// Gate is the trust gate. Its fields are set by the caller; a Gate is safe
// for concurrent use once set. To evaluate under another policy without
// changing the gate, copy it and set Policy on the copy.
type Gate struct {
	Vault     Models
	Decisions Decisions
	Policy    *policy.Policy
	// Now returns the time recorded with decisions; nil means time.Now.
	Now func() time.Time
}

// ErrNotApproved is returned (wrapped in a *NotApprovedError) by Approved
// for a model that is quarantined or rejected.
var ErrNotApproved = errors.New("model is not approved")

// NotApprovedError says why a model may not be served.
type NotApprovedError struct {
	Digest digest.Digest
	State  store.State
	// Decision is the decision that set the state; nil when the model has
	// never been through the gate.
	Decision *store.Decision
}

func (e *NotApprovedError) Error() string {
	if e.Decision == nil {
		return fmt.Sprintf("model %s is %s: it has not been checked by the trust gate (run `sov policy apply` or `sov model approve`)",
			e.Digest.Short(), e.State)
	}
	d := e.Decision
	who := "the policy"
	if user, ok := d.Human(); ok {
		who = user
	}
	return fmt.Sprintf("model %s is %s by %s on %s: %s",
		e.Digest.Short(), e.State, who, d.Time.Format(time.DateOnly), d.Reason)
}

// Is makes errors.Is(err, ErrNotApproved) true.
func (e *NotApprovedError) Is(target error) bool { return target == ErrNotApproved }

// Result is what the gate found and decided about one model version. Its
// JSON is the body of `sov policy check --json` and of each line of `sov
// policy apply --json`.
type Result struct {
	Name   string        `json:"name,omitempty"`
	Tag    string        `json:"tag,omitempty"`
	Digest digest.Digest `json:"digest"`

	Scan     *scan.Report     `json:"scan,omitempty"`
	License  *license.Result  `json:"license,omitempty"`
	Facts    *policy.Facts    `json:"facts,omitempty"`
	Decision *policy.Decision `json:"decision,omitempty"`

	// Recorded is the policy decision in the store: the one Check just
	// added, or the identical one it found already there. Nil from
	// Evaluate, which records nothing.
	Recorded *store.Decision `json:"recorded,omitempty"`
	// State is the model's state, with the human decision (if any)
	// winning over policy. From Evaluate it is the state the store holds
	// now, before anything is recorded.
	State store.State `json:"state"`
	// Human is the latest human decision, if any; it sets State.
	Human *store.Decision `json:"human,omitempty"`
	// Disagrees is true when the policy's outcome differs from the human
	// decision that stands: the human decision stays, and this says so.
	Disagrees bool `json:"disagrees,omitempty"`

	// Err says why the model could not be evaluated (Apply only; Check and
	// Evaluate return the error instead).
	Err string `json:"error,omitempty"`
}

// PolicyState is the state the policy alone would give the model.
func (r *Result) PolicyState() store.State {
	if r.Decision == nil {
		return store.Quarantined
	}
	return stateOf(r.Decision.Outcome)
}

// stateOf maps a policy outcome to a lifecycle state.
func stateOf(o policy.Outcome) store.State {
	switch o {
	case policy.OutcomeApprove:
		return store.Approved
	case policy.OutcomeDeny:
		return store.Rejected
	}
	return store.Quarantined
}

func (g *Gate) now() time.Time {
	if g.Now != nil {
		return g.Now()
	}
	return time.Now()
}

// Evaluate scans a model version, identifies its licence and evaluates
// the gate's policy, recording nothing: `sov policy check` explains a
// decision with it, also under a policy that is not in force.
func (g *Gate) Evaluate(ctx context.Context, ref string) (*Result, error) {
	if g.Policy == nil {
		return nil, errors.New("trust gate: no policy set")
	}
	info, err := g.Vault.Inspect(ctx, ref)
	if err != nil {
		return nil, err
	}
	return g.evaluate(ctx, info, g.Policy)
}

func (g *Gate) evaluate(ctx context.Context, info *vault.Info, p *policy.Policy) (*Result, error) {
	report, err := g.scanModel(ctx, info)
	if err != nil {
		return nil, err
	}
	lic, err := g.identifyLicense(ctx, info)
	if err != nil {
		return nil, err
	}
	facts := buildFacts(info, report, lic)
	dec, err := p.Evaluate(ctx, facts)
	if err != nil {
		return nil, err
	}
	res := &Result{
		Name: info.Name, Tag: info.Tag, Digest: info.Digest,
		Scan: report, License: &lic, Facts: &facts, Decision: dec,
	}
	if err := g.fillState(ctx, res); err != nil {
		return nil, err
	}
	return res, nil
}

// fillState sets State, Human and Disagrees from the store's history.
func (g *Gate) fillState(ctx context.Context, res *Result) error {
	history, err := g.Decisions.Decisions(ctx, res.Digest)
	if err != nil {
		return err
	}
	st := store.StandingOf(history)
	res.State = st.State()
	res.Human = st.Human
	res.Disagrees = st.Human != nil && res.Decision != nil && st.Human.State != res.PolicyState()
	return nil
}

// Check runs Evaluate and records the policy's decision (unless the
// latest policy decision already says the same thing under the same
// policy, so that repeated checks do not grow the history). Import runs
// it on every new model version.
func (g *Gate) Check(ctx context.Context, ref string) (*Result, error) {
	if g.Policy == nil {
		return nil, errors.New("trust gate: no policy set")
	}
	info, err := g.Vault.Inspect(ctx, ref)
	if err != nil {
		return nil, err
	}
	return g.check(ctx, info, g.Policy)
}

func (g *Gate) check(ctx context.Context, info *vault.Info, p *policy.Policy) (*Result, error) {
	res, err := g.evaluate(ctx, info, p)
	if err != nil {
		return nil, err
	}
	rec, err := g.record(ctx, res, p)
	if err != nil {
		return nil, err
	}
	res.Recorded = &rec
	if err := g.fillState(ctx, res); err != nil {
		return nil, err
	}
	return res, nil
}

// Detail is the JSON kept in a policy decision's Detail: the rules that
// fired and a summary of the facts they saw.
type Detail struct {
	Decision *policy.Decision `json:"decision"`
	Scan     DetailScan       `json:"scan"`
	License  policy.License   `json:"license"`
}

// DetailScan summarises the scan in a decision's detail.
type DetailScan struct {
	Verdict scan.Safety `json:"verdict"`
	Counts  scan.Counts `json:"counts"`
}

// record adds the policy decision, or returns the identical latest one.
func (g *Gate) record(ctx context.Context, res *Result, p *policy.Policy) (store.Decision, error) {
	d := store.Decision{
		Digest: res.Digest,
		State:  res.PolicyState(),
		By:     store.ByPolicy,
		Reason: res.Decision.Reason(),
		Policy: p.Digest(),
		Time:   g.now().UTC(),
	}
	history, err := g.Decisions.Decisions(ctx, res.Digest)
	if err != nil {
		return store.Decision{}, err
	}
	if last := store.StandingOf(history).Policy; last != nil &&
		last.State == d.State && last.Policy == d.Policy && last.Reason == d.Reason {
		return *last, nil
	}
	detail, err := json.Marshal(Detail{
		Decision: res.Decision,
		Scan:     DetailScan{Verdict: res.Scan.Verdict, Counts: res.Scan.Counts},
		License:  res.Facts.License,
	})
	if err != nil {
		return store.Decision{}, err
	}
	d.Detail = detail
	return g.Decisions.AddDecision(ctx, d)
}

// Apply re-evaluates every model version in the vault under p and records
// the policy decisions. Human decisions stand: where p now disagrees with
// one, the result has Disagrees set. A model that cannot be evaluated
// (a missing file) gets a result with Err set and no new decision; the
// error is non-nil only when the vault cannot be listed or ctx is done.
// Apply does not change g.Policy: making p the policy in force is the
// caller's business.
func (g *Gate) Apply(ctx context.Context, p *policy.Policy) ([]*Result, error) {
	if p == nil {
		return nil, errors.New("trust gate: no policy given")
	}
	entries, err := g.Vault.List(ctx)
	if err != nil {
		return nil, err
	}
	var out []*Result
	seen := make(map[digest.Digest]bool)
	for _, e := range entries {
		if seen[e.Digest] {
			continue
		}
		seen[e.Digest] = true
		if err := ctx.Err(); err != nil {
			return out, err
		}
		ref := e.Digest.String()
		info, err := g.Vault.Inspect(ctx, ref)
		if err == nil {
			var res *Result
			if res, err = g.check(ctx, info, p); err == nil {
				out = append(out, res)
				continue
			}
		}
		if ctx.Err() != nil {
			return out, ctx.Err()
		}
		r := &Result{Digest: e.Digest, Err: err.Error()}
		if e.Name != "<none>" {
			r.Name, r.Tag = e.Name, e.Tag
		}
		if st, serr := g.standing(ctx, e.Digest); serr == nil {
			r.State, r.Human = st.State(), st.Human
		}
		out = append(out, r)
	}
	return out, nil
}

// Approve records a person's approval of the model version ref names.
// It stands until another human decision, whatever the policy says.
func (g *Gate) Approve(ctx context.Context, ref, user, reason string) (store.Decision, error) {
	return g.decide(ctx, ref, user, reason, store.Approved)
}

// Reject records a person's rejection of the model version ref names.
func (g *Gate) Reject(ctx context.Context, ref, user, reason string) (store.Decision, error) {
	return g.decide(ctx, ref, user, reason, store.Rejected)
}

func (g *Gate) decide(ctx context.Context, ref, user, reason string, st store.State) (store.Decision, error) {
	if user == "" {
		return store.Decision{}, errors.New("a human decision needs the name of who made it")
	}
	if reason == "" {
		return store.Decision{}, fmt.Errorf("say why the model is %s (--reason)", st)
	}
	info, err := g.Vault.Inspect(ctx, ref)
	if err != nil {
		return store.Decision{}, err
	}
	return g.Decisions.AddDecision(ctx, store.Decision{
		Digest: info.Digest,
		State:  st,
		By:     store.ByHuman(user),
		Reason: reason,
		Time:   g.now().UTC(),
	})
}

func (g *Gate) standing(ctx context.Context, d digest.Digest) (store.Standing, error) {
	history, err := g.Decisions.Decisions(ctx, d)
	if err != nil {
		return store.Standing{}, err
	}
	return store.StandingOf(history), nil
}

// State returns a model version's state and the decision that set it (nil
// when it has none and is therefore quarantined).
func (g *Gate) State(ctx context.Context, d digest.Digest) (store.State, *store.Decision, error) {
	st, err := g.standing(ctx, d)
	if err != nil {
		return "", nil, err
	}
	return st.State(), st.Effective(), nil
}

// States returns the standing of every model version with a decision; a
// version missing from the map is quarantined. `sov model list` shows it.
func (g *Gate) States(ctx context.Context) (map[digest.Digest]store.Standing, error) {
	return g.Decisions.LatestDecisions(ctx)
}

// History returns a model version's decisions, oldest first.
func (g *Gate) History(ctx context.Context, d digest.Digest) ([]store.Decision, error) {
	return g.Decisions.Decisions(ctx, d)
}

// Approved returns nil if the model version may be served, else a
// *NotApprovedError (errors.Is(err, ErrNotApproved)) saying its state and
// why. The gateway calls it before loading a model.
func (g *Gate) Approved(ctx context.Context, d digest.Digest) error {
	st, dec, err := g.State(ctx, d)
	if err != nil {
		return fmt.Errorf("trust gate: %w", err)
	}
	if st == store.Approved {
		return nil
	}
	return &NotApprovedError{Digest: d, State: st, Decision: dec}
}

// readBlob reads at most limit bytes of a blob.
func readBlob(ctx context.Context, bs blob.Store, d digest.Digest, limit int64) ([]byte, error) {
	r, err := bs.Open(ctx, d)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(io.LimitReader(r, limit))
}
