package policy

import (
	"testing"
)

// FuzzParse checks that no policy text makes Parse or Evaluate panic, and
// that whatever Parse accepts evaluates to a valid outcome. Seeds are in
// testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) {
	f.Add([]byte(Default()))
	fs := facts(llama31, cleanScan())
	f.Fuzz(func(t *testing.T, src []byte) {
		p, err := Parse("fuzz.yaml", src)
		if err != nil {
			if p != nil {
				t.Fatalf("Parse returned a policy and an error")
			}
			return
		}
		d, err := p.Evaluate(ctx, fs)
		if err != nil {
			t.Fatalf("Evaluate: %v", err)
		}
		switch d.Outcome {
		case OutcomeApprove, OutcomeQuarantine, OutcomeDeny:
		default:
			t.Fatalf("Outcome = %q", d.Outcome)
		}
		if len(d.Fired) > len(p.Rules()) {
			t.Fatalf("%d rules fired of %d", len(d.Fired), len(p.Rules()))
		}
	})
}
