package sqlite

import (
	"context"
	"strings"
	"testing"

	"sov.dev/sov/internal/store"
	"sov.dev/sov/internal/store/storetest"
)

// TestDecisionsAppendOnly checks that the database itself refuses to change
// or remove a decision, whoever asks.
func TestDecisionsAppendOnly(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	m := storetest.NewModel(1)
	if err := s.PutModel(ctx, m, nil, ""); err != nil {
		t.Fatal(err)
	}
	d, err := s.AddDecision(ctx, store.Decision{Digest: m.Digest, State: store.Rejected, By: store.ByHuman("alice"), Reason: "no"})
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`UPDATE decisions SET state = 'approved'`,
		`DELETE FROM decisions`,
	} {
		_, err := s.db.ExecContext(ctx, q)
		if err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s: error = %v, want an append-only refusal", q, err)
		}
	}
	got, err := s.Decisions(ctx, m.Digest)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].State != store.Rejected || got[0].Seq != d.Seq {
		t.Errorf("Decisions = %+v, want the one rejection unchanged", got)
	}
}

// TestCorruptDecisionRefused checks that rows the store would never have
// written are not handed out.
func TestCorruptDecisionRefused(t *testing.T) {
	ctx := context.Background()
	m := storetest.NewModel(1)
	tests := []struct{ name, by, policy, detail string }{
		{"unknown decider", "robot", "", ""},
		{"bad policy digest", "policy", "sha256:../x", ""},
		{"detail not JSON", "policy", "", "{"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t)
			if err := s.PutModel(ctx, m, nil, ""); err != nil {
				t.Fatal(err)
			}
			if _, err := s.db.ExecContext(ctx,
				`INSERT INTO decisions (digest, state, decided_by, reason, policy, detail, time) VALUES (?, 'approved', ?, '', ?, ?, 0)`,
				string(m.Digest), tt.by, tt.policy, []byte(tt.detail)); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Decisions(ctx, m.Digest); err == nil || !strings.Contains(err.Error(), "corrupt") {
				t.Errorf("Decisions error = %v, want a corrupt-database error", err)
			}
			if _, err := s.LatestDecisions(ctx); err == nil {
				t.Errorf("LatestDecisions succeeded on a corrupt row")
			}
		})
	}
	// The CHECK constraint keeps out unknown states altogether.
	s := newStore(t)
	if err := s.PutModel(ctx, m, nil, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := s.db.ExecContext(ctx,
		`INSERT INTO decisions (digest, state, decided_by, reason, policy, time) VALUES (?, 'maybe', 'policy', '', '', 0)`,
		string(m.Digest)); err == nil {
		t.Errorf("inserting an unknown state succeeded")
	}
}
