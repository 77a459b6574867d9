package storetest

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"sov.dev/sov/internal/digest"
	"sov.dev/sov/internal/store"
)

// decisionOpts compares decisions: empty and nil detail alike.
var decisionOpts = cmp.Options{cmpopts.EquateEmpty()}

func addDecision(t *testing.T, s store.Store, d store.Decision) store.Decision {
	t.Helper()
	got, err := s.AddDecision(ctx, d)
	if err != nil {
		t.Fatalf("AddDecision(%s by %s): %v", d.State, d.By, err)
	}
	return got
}

func testDecisionHistory(t *testing.T, s store.Store) {
	m := NewModel(1)
	put(t, s, m)
	policy := digest.FromBytes([]byte("rules: []"))
	tz := time.FixedZone("UTC-3", -3*3600)
	in := []store.Decision{
		{Digest: m.Digest, State: store.Quarantined, By: store.ByPolicy, Reason: "licence unknown",
			Policy: policy, Detail: []byte(`{"fired":[{"rule":"unknown-licence"}]}`),
			Time: time.Date(2025, 3, 1, 9, 0, 0, 123456789, tz)},
		{Digest: m.Digest, State: store.Approved, By: store.ByHuman("alice"), Reason: "legal checked the licence",
			Time: time.Date(2025, 3, 2, 9, 0, 0, 0, time.UTC)},
		// Added later but dated earlier: order is the order added.
		{Digest: m.Digest, State: store.Rejected, By: store.ByPolicy, Reason: "stricter policy",
			Policy: policy, Time: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)},
	}
	var want []store.Decision
	var lastSeq int64
	for _, d := range in {
		detail := slices.Clone(d.Detail)
		got := addDecision(t, s, d)
		if got.Seq <= lastSeq {
			t.Errorf("Seq = %d after %d, want it to grow", got.Seq, lastSeq)
		}
		lastSeq = got.Seq
		checkUTC(t, "decision", got.Time)
		if !got.Time.Equal(d.Time) {
			t.Errorf("Time = %v, want %v", got.Time, d.Time)
		}
		w := d
		w.Seq = got.Seq
		w.Time = d.Time.UTC()
		w.Detail = detail
		if diff := cmp.Diff(w, got, decisionOpts); diff != "" {
			t.Errorf("AddDecision returned (-want +got):\n%s", diff)
		}
		// The store copied the detail it keeps.
		if len(d.Detail) > 0 {
			d.Detail[0] = 'X'
		}
		want = append(want, w)
	}
	got, err := s.Decisions(ctx, m.Digest)
	if err != nil {
		t.Fatalf("Decisions: %v", err)
	}
	if diff := cmp.Diff(want, got, decisionOpts); diff != "" {
		t.Errorf("Decisions (-want +got):\n%s", diff)
	}
	for _, d := range got {
		checkUTC(t, "decision", d.Time)
	}
	// Nor does it hand out what it keeps.
	got[0].Detail[0] = 'Y'
	again, err := s.Decisions(ctx, m.Digest)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, again, decisionOpts); diff != "" {
		t.Errorf("Decisions after changing a returned copy (-want +got):\n%s", diff)
	}

	st := store.StandingOf(got)
	if st.Human == nil || st.Human.Seq != want[1].Seq || st.Policy == nil || st.Policy.Seq != want[2].Seq {
		t.Errorf("StandingOf = %+v, want human #%d and policy #%d", st, want[1].Seq, want[2].Seq)
	}
	if got := st.State(); got != store.Approved {
		t.Errorf("State = %s, want approved (the human decision wins)", got)
	}

	// A zero time means now.
	before := time.Now().Add(-time.Second)
	d := addDecision(t, s, store.Decision{Digest: m.Digest, State: store.Approved, By: store.ByPolicy})
	after := time.Now().Add(time.Second)
	checkUTC(t, "decision", d.Time)
	if d.Time.Before(before) || d.Time.After(after) {
		t.Errorf("Time = %v, want about now", d.Time)
	}

	// Another model has its own (empty) history.
	m2 := NewModel(2)
	put(t, s, m2)
	if got, err := s.Decisions(ctx, m2.Digest); err != nil || len(got) != 0 {
		t.Errorf("Decisions of an undecided model = %v, %v; want none", got, err)
	}
	if _, err := s.Decisions(ctx, "sha256:zz"); !errors.Is(err, digest.ErrInvalid) {
		t.Errorf("Decisions(invalid) error = %v, want digest.ErrInvalid", err)
	}
}

func testDecisionRejectsBadInput(t *testing.T, s store.Store) {
	m := NewModel(1)
	put(t, s, m)
	good := store.Decision{Digest: m.Digest, State: store.Approved, By: store.ByHuman("bob"), Reason: "ok"}
	tests := []struct {
		name    string
		d       store.Decision
		wantErr error // nil: any error except ErrNotFound
	}{
		{"invalid digest", func() store.Decision { d := good; d.Digest = "sha256:nothex"; return d }(), digest.ErrInvalid},
		{"missing model", func() store.Decision { d := good; d.Digest = NewModel(9).Digest; return d }(), store.ErrNotFound},
		{"empty state", func() store.Decision { d := good; d.State = ""; return d }(), nil},
		{"unknown state", func() store.Decision { d := good; d.State = "maybe"; return d }(), nil},
		{"empty by", func() store.Decision { d := good; d.By = ""; return d }(), nil},
		{"unknown decider", func() store.Decision { d := good; d.By = "robot"; return d }(), nil},
		{"human without a name", func() store.Decision { d := good; d.By = "human:"; return d }(), nil},
		{"human named by spaces", func() store.Decision { d := good; d.By = "human:  "; return d }(), nil},
		{"invalid policy digest", func() store.Decision { d := good; d.Policy = "sha256:1"; return d }(), digest.ErrInvalid},
		{"detail not JSON", func() store.Decision { d := good; d.Detail = []byte("{"); return d }(), nil},
		{"seq set by caller", func() store.Decision { d := good; d.Seq = 7; return d }(), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.AddDecision(ctx, tt.d)
			if err == nil {
				t.Fatalf("AddDecision succeeded, want an error")
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("AddDecision error = %v, want %v", err, tt.wantErr)
			}
			if tt.wantErr == nil && errors.Is(err, store.ErrNotFound) {
				t.Errorf("AddDecision error = %v, must not be ErrNotFound", err)
			}
		})
	}
	if got, err := s.Decisions(ctx, m.Digest); err != nil || len(got) != 0 {
		t.Errorf("after refused decisions, Decisions = %v, %v; want none", got, err)
	}
	addDecision(t, s, good)
}

func testDecisionsOutliveModel(t *testing.T, s store.Store) {
	m := NewModel(1)
	put(t, s, m, store.Ref{Name: "m", Tag: "v1"})
	d := addDecision(t, s, store.Decision{Digest: m.Digest, State: store.Rejected, By: store.ByHuman("carol"), Reason: "backdoor"})
	if err := s.DeleteModel(ctx, m.Digest); err != nil {
		t.Fatal(err)
	}
	got, err := s.Decisions(ctx, m.Digest)
	if err != nil {
		t.Fatalf("Decisions of a deleted model: %v", err)
	}
	if diff := cmp.Diff([]store.Decision{d}, got, decisionOpts); diff != "" {
		t.Errorf("Decisions of a deleted model (-want +got):\n%s", diff)
	}
	// While the model is gone no decision can be added ...
	if _, err := s.AddDecision(ctx, store.Decision{Digest: m.Digest, State: store.Approved, By: store.ByPolicy}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("AddDecision on a deleted model error = %v, want ErrNotFound", err)
	}
	// ... and imported again, it is still rejected.
	put(t, s, m)
	latest, err := s.LatestDecisions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := latest[m.Digest].State(); got != store.Rejected {
		t.Errorf("state after re-import = %s, want rejected", got)
	}
}

func testLatestDecisions(t *testing.T, s store.Store) {
	got, err := s.LatestDecisions(ctx)
	if err != nil {
		t.Fatalf("LatestDecisions: %v", err)
	}
	if len(got) != 0 {
		t.Errorf("LatestDecisions of an empty store = %v, want none", got)
	}
	m1, m2, m3, m4 := NewModel(1), NewModel(2), NewModel(3), NewModel(4)
	for _, m := range []store.Model{m1, m2, m3, m4} {
		put(t, s, m)
	}
	pol := func(m store.Model, st store.State) store.Decision {
		return addDecision(t, s, store.Decision{Digest: m.Digest, State: st, By: store.ByPolicy, Reason: "policy says " + string(st)})
	}
	hum := func(m store.Model, st store.State, who string) store.Decision {
		return addDecision(t, s, store.Decision{Digest: m.Digest, State: st, By: store.ByHuman(who), Reason: who + " says " + string(st)})
	}
	// m1: policy only, twice.
	pol(m1, store.Quarantined)
	p1 := pol(m1, store.Approved)
	// m2: a human decision, then policy disagrees: the human wins.
	pol(m2, store.Quarantined)
	hum(m2, store.Rejected, "dave")
	h2 := hum(m2, store.Approved, "erin")
	p2 := pol(m2, store.Rejected)
	// m3: human only.
	h3 := hum(m3, store.Rejected, "frank")
	// m4: nothing.

	got, err = s.LatestDecisions(ctx)
	if err != nil {
		t.Fatalf("LatestDecisions: %v", err)
	}
	want := map[digest.Digest]store.Standing{
		m1.Digest: {Policy: &p1},
		m2.Digest: {Policy: &p2, Human: &h2},
		m3.Digest: {Human: &h3},
	}
	if diff := cmp.Diff(want, got, decisionOpts); diff != "" {
		t.Errorf("LatestDecisions (-want +got):\n%s", diff)
	}
	states := map[digest.Digest]store.State{
		m1.Digest: store.Approved,
		m2.Digest: store.Approved,
		m3.Digest: store.Rejected,
		m4.Digest: store.Quarantined,
	}
	for d, w := range states {
		if g := got[d].State(); g != w {
			t.Errorf("state of %s = %s, want %s", d.Short(), g, w)
		}
	}
	// LatestDecisions agrees with StandingOf over each history.
	for _, m := range []store.Model{m1, m2, m3, m4} {
		h, err := s.Decisions(ctx, m.Digest)
		if err != nil {
			t.Fatal(err)
		}
		st := store.StandingOf(h)
		if diff := cmp.Diff(got[m.Digest], st, decisionOpts); diff != "" {
			t.Errorf("StandingOf(Decisions(%s)) differs from LatestDecisions (-latest +standing):\n%s", m.Digest.Short(), diff)
		}
	}
}

func testDecisionsConcurrent(t *testing.T, s store.Store) {
	m := NewModel(1)
	put(t, s, m)
	const workers, each = 6, 10
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				by := store.ByPolicy
				if i%2 == 1 {
					by = store.ByHuman(fmt.Sprint("user", w))
				}
				if _, err := s.AddDecision(ctx, store.Decision{Digest: m.Digest, State: store.Approved, By: by, Reason: fmt.Sprint(w, i)}); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	h, err := s.Decisions(ctx, m.Digest)
	if err != nil {
		t.Fatal(err)
	}
	if len(h) != workers*each {
		t.Fatalf("%d decisions, want %d", len(h), workers*each)
	}
	seen := make(map[int64]bool)
	for i, d := range h {
		if seen[d.Seq] {
			t.Errorf("Seq %d given twice", d.Seq)
		}
		seen[d.Seq] = true
		if i > 0 && d.Seq <= h[i-1].Seq {
			t.Errorf("decisions out of order: Seq %d after %d", d.Seq, h[i-1].Seq)
		}
	}
}
