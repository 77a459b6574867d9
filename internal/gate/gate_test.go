package gate

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"sov.dev/sov/internal/blob"
	blobfs "sov.dev/sov/internal/blob/fs"
	"sov.dev/sov/internal/digest"
	"sov.dev/sov/internal/gguf"
	"sov.dev/sov/internal/policy"
	"sov.dev/sov/internal/store"
	"sov.dev/sov/internal/store/sqlite"
	"sov.dev/sov/internal/synth"
	"sov.dev/sov/internal/vault"
)

var ctx = context.Background()

// env is a real vault (blob files and a SQLite store) in a temporary
// directory, with a gate over it.
type env struct {
	dir   string
	vault *vault.Vault
	meta  *sqlite.Store
	blobs blob.Store
	gate  *Gate
}

func newEnv(t *testing.T, p *policy.Policy) *env {
	t.Helper()
	dir := t.TempDir()
	blobs, err := blobfs.New(filepath.Join(dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	meta, err := sqlite.Open(ctx, filepath.Join(dir, "sov.db"))
	if err != nil {
		t.Fatal(err)
	}
	v := vault.New(blobs, meta, nil, vault.Options{})
	t.Cleanup(func() { v.Close() })
	clock := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	g := &Gate{Vault: v, Decisions: meta, Policy: p, Now: func() time.Time {
		clock = clock.Add(time.Minute)
		return clock
	}}
	return &env{dir: dir, vault: v, meta: meta, blobs: blobs, gate: g}
}

// policyWith returns the default policy with the organisation's monthly
// active users and jurisdiction set, plus extra rules appended.
func policyWith(t *testing.T, mau int64, jurisdiction string, extraRules string) *policy.Policy {
	t.Helper()
	src := policy.Default()
	src = strings.Replace(src, "monthly_active_users: 0\n", fmt.Sprintf("monthly_active_users: %d\n", mau), 1)
	src = strings.Replace(src, `jurisdiction: ""`, fmt.Sprintf("jurisdiction: %q", jurisdiction), 1)
	src += extraRules
	p, err := policy.Parse("test policy", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// modelDir writes a model directory: a tiny GGUF (with the given general.*
// string keys) and any extra files.
func modelDir(t *testing.T, general map[string]string, files map[string]string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "model")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	var kv []gguf.KV
	keys := make([]string, 0, len(general))
	for k := range general {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		kv = append(kv, gguf.KV{Key: "general." + k, Value: gguf.Value{Type: gguf.TypeString, V: general[k]}})
	}
	f, err := os.Create(filepath.Join(dir, "model.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	err = synth.WriteGGUF(f, synth.GGUFSpec{
		Arch: "llama", Seed: uint64(len(files)), Metadata: kv,
		Tensors: []synth.TensorSpec{{Name: "token_embd.weight", Dims: []uint64{32, 4}, Type: gguf.TypeF32}},
	})
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	writeFiles(t, dir, files)
	return dir
}

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func card(license string) string {
	return "---\nlicense: " + license + "\ntags: [text-generation]\n---\n# A test model\n"
}

func (e *env) importModel(t *testing.T, src, name string) digest.Digest {
	t.Helper()
	res, err := e.vault.Import(ctx, src, vault.ImportOptions{Name: name})
	if err != nil {
		t.Fatalf("Import %s: %v", name, err)
	}
	return res.Digest
}

func (e *env) history(t *testing.T, d digest.Digest) []store.Decision {
	t.Helper()
	h, err := e.gate.History(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func firedRules(d *policy.Decision) []string {
	var out []string
	for _, f := range d.Fired {
		out = append(out, f.Rule)
	}
	return out
}

func TestCheck(t *testing.T) {
	tests := []struct {
		name      string
		mau       int64
		general   map[string]string
		files     map[string]string
		wantState store.State
		wantFired []string
		wantInMsg string // a substring of some fired message
	}{
		{"apache by GGUF and card", 0, map[string]string{"license": "apache-2.0"}, map[string]string{"README.md": card("apache-2.0")},
			store.Approved, nil, ""},
		{"no licence anywhere", 0, nil, nil,
			store.Quarantined, []string{"licence-unknown"}, "no licence file, model card licence or GGUF licence"},
		{"licence the knowledge base lacks", 0, nil, map[string]string{"README.md": card("my-own-licence")},
			store.Quarantined, []string{"licence-unknown"}, `"my-own-licence" is not in the knowledge base`},
		{"llama 3.1 over the cap", 800_000_000, nil, map[string]string{"README.md": card("llama3.1")},
			store.Rejected, []string{"licence-user-cap", "licence-attribution", "licence-naming", "licence-acceptable-use"}, "above 700000000"},
		{"llama 3.1 under the cap", 500_000_000, nil, map[string]string{"README.md": card("llama3.1")},
			store.Approved, []string{"licence-attribution", "licence-naming", "licence-acceptable-use"}, `display "Built with Llama"`},
		{"non-commercial licence", 0, nil, map[string]string{"README.md": card("cc-by-nc-4.0")},
			store.Rejected, []string{"licence-non-commercial", "licence-attribution"}, "does not allow commercial use"},
		{"card and GGUF disagree: strictest obligations apply", 800_000_000,
			map[string]string{"license": "llama3.1"}, map[string]string{"README.md": card("apache-2.0")},
			store.Rejected, []string{"licence-user-cap", "licence-disagreement", "licence-attribution", "licence-naming", "licence-acceptable-use"},
			"licence sources disagree"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, policyWith(t, tt.mau, "", ""))
			d := e.importModel(t, modelDir(t, tt.general, tt.files), "test/model:v1")
			res, err := e.gate.Check(ctx, "test/model:v1")
			if err != nil {
				t.Fatalf("Check: %v", err)
			}
			if res.State != tt.wantState {
				t.Errorf("State = %s, want %s (decision %+v)", res.State, tt.wantState, res.Decision)
			}
			if got := firedRules(res.Decision); !slices.Equal(got, tt.wantFired) {
				t.Errorf("fired %v, want %v (%+v)", got, tt.wantFired, res.Decision.Fired)
			}
			if tt.wantInMsg != "" && !slices.ContainsFunc(res.Decision.Fired, func(f policy.Fired) bool {
				return strings.Contains(f.Message, tt.wantInMsg)
			}) {
				t.Errorf("no fired message contains %q: %+v", tt.wantInMsg, res.Decision.Fired)
			}
			if res.Digest != d || res.Name != "test/model" || res.Tag != "v1" {
				t.Errorf("Result names %s %s:%s, want %s test/model:v1", res.Digest, res.Name, res.Tag, d)
			}
			if res.Scan == nil || res.Scan.Verdict != "innocuous" {
				t.Errorf("scan verdict = %v, want innocuous", res.Scan)
			}
			// The decision is recorded, with what it was made under.
			h := e.history(t, d)
			if len(h) != 1 {
				t.Fatalf("history has %d decisions, want 1", len(h))
			}
			rec := h[0]
			if rec.By != store.ByPolicy || rec.State != tt.wantState || rec.Policy != e.gate.Policy.Digest() ||
				rec.Reason != res.Decision.Reason() || res.Recorded == nil || res.Recorded.Seq != rec.Seq {
				t.Errorf("recorded %+v, want a policy decision matching the result", rec)
			}
			if !strings.Contains(string(rec.Detail), `"fired"`) {
				t.Errorf("detail %s lacks the fired rules", rec.Detail)
			}
			// The gateway's check agrees.
			err = e.gate.Approved(ctx, d)
			if tt.wantState == store.Approved {
				if err != nil {
					t.Errorf("Approved: %v", err)
				}
			} else {
				var na *NotApprovedError
				if !errors.Is(err, ErrNotApproved) || !errors.As(err, &na) || na.State != tt.wantState {
					t.Errorf("Approved error = %v, want a NotApprovedError in state %s", err, tt.wantState)
				}
				if err != nil && !strings.Contains(err.Error(), rec.Reason) {
					t.Errorf("Approved error %q does not give the reason %q", err, rec.Reason)
				}
			}
		})
	}
}

func TestNeverCheckedIsQuarantined(t *testing.T) {
	e := newEnv(t, policy.DefaultPolicy())
	d := e.importModel(t, modelDir(t, nil, nil), "m:v1")
	st, dec, err := e.gate.State(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	if st != store.Quarantined || dec != nil {
		t.Errorf("State = %s, %v; want quarantined with no decision", st, dec)
	}
	err = e.gate.Approved(ctx, d)
	if !errors.Is(err, ErrNotApproved) || !strings.Contains(err.Error(), "has not been checked") {
		t.Errorf("Approved error = %v, want not checked", err)
	}
}

func TestCheckIsIdempotent(t *testing.T) {
	e := newEnv(t, policy.DefaultPolicy())
	d := e.importModel(t, modelDir(t, nil, nil), "m:v1")
	first, err := e.gate.Check(ctx, "m:v1")
	if err != nil {
		t.Fatal(err)
	}
	second, err := e.gate.Check(ctx, d.String())
	if err != nil {
		t.Fatal(err)
	}
	if first.Recorded.Seq != second.Recorded.Seq {
		t.Errorf("the same decision was recorded twice (#%d, #%d)", first.Recorded.Seq, second.Recorded.Seq)
	}
	if n := len(e.history(t, d)); n != 1 {
		t.Errorf("%d decisions, want 1", n)
	}
}

func TestEvaluateRecordsNothing(t *testing.T) {
	e := newEnv(t, policy.DefaultPolicy())
	d := e.importModel(t, modelDir(t, nil, nil), "m:v1")
	res, err := e.gate.Evaluate(ctx, "m:v1")
	if err != nil {
		t.Fatal(err)
	}
	if res.Recorded != nil || res.Decision.Outcome != policy.OutcomeQuarantine || res.State != store.Quarantined {
		t.Errorf("Evaluate = recorded %v, outcome %s, state %s", res.Recorded, res.Decision.Outcome, res.State)
	}
	if n := len(e.history(t, d)); n != 0 {
		t.Errorf("Evaluate recorded %d decisions", n)
	}
	// Under another policy, on a copy of the gate.
	strict := *e.gate
	strict.Policy = policyWith(t, 0, "", "  - {name: no-gguf, when: \"model.format == 'gguf'\", action: deny}\n")
	res, err = strict.Evaluate(ctx, "m:v1")
	if err != nil {
		t.Fatal(err)
	}
	if res.Decision.Outcome != policy.OutcomeDeny || res.Decision.Policy != strict.Policy.Digest() {
		t.Errorf("Evaluate under the strict policy = %+v", res.Decision)
	}
	if e.gate.Policy == strict.Policy {
		t.Errorf("the copy changed the original gate")
	}
}

// TestHumanOverride checks that a human decision sets the state, survives
// re-evaluation by policy (which still records its own view and reports
// the disagreement), and gives way only to a later human decision.
func TestHumanOverride(t *testing.T) {
	e := newEnv(t, policy.DefaultPolicy())
	d := e.importModel(t, modelDir(t, nil, map[string]string{"README.md": card("my-own-licence")}), "m:v1")
	if res, err := e.gate.Check(ctx, "m:v1"); err != nil || res.State != store.Quarantined {
		t.Fatalf("Check = %v, %v; want quarantined", res, err)
	}
	approval, err := e.gate.Approve(ctx, "m:v1", "alice", "legal read the licence: fine for us")
	if err != nil {
		t.Fatal(err)
	}
	if approval.By != "human:alice" || approval.State != store.Approved {
		t.Errorf("Approve recorded %+v", approval)
	}
	if err := e.gate.Approved(ctx, d); err != nil {
		t.Errorf("Approved after a human approval: %v", err)
	}

	// Re-evaluation: policy still says quarantine; the human decision stays.
	results, err := e.gate.Apply(ctx, policy.DefaultPolicy())
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != 1 {
		t.Fatalf("Apply returned %d results, want 1", len(results))
	}
	r := results[0]
	if r.State != store.Approved || !r.Disagrees || r.Human == nil || r.Human.Seq != approval.Seq || r.PolicyState() != store.Quarantined {
		t.Errorf("after Apply: state %s, disagrees %t, human %v, policy says %s; want approved, disagreeing, alice's decision, quarantined",
			r.State, r.Disagrees, r.Human, r.PolicyState())
	}
	if err := e.gate.Approved(ctx, d); err != nil {
		t.Errorf("Approved after re-evaluation: %v", err)
	}
	// A rejection by another person takes over.
	if _, err := e.gate.Reject(ctx, d.String(), "bob", "found a backdoor in the tokenizer"); err != nil {
		t.Fatal(err)
	}
	err = e.gate.Approved(ctx, d)
	if !errors.Is(err, ErrNotApproved) || !strings.Contains(err.Error(), "rejected by bob") || !strings.Contains(err.Error(), "backdoor") {
		t.Errorf("Approved after a rejection = %v, want rejected by bob with the reason", err)
	}
	// And a policy that would approve does not undo it.
	lenient, err := policy.Parse("lenient", []byte("rules: []\n"))
	if err != nil {
		t.Fatal(err)
	}
	results, err = e.gate.Apply(ctx, lenient)
	if err != nil {
		t.Fatal(err)
	}
	if r := results[0]; r.State != store.Rejected || !r.Disagrees || r.PolicyState() != store.Approved {
		t.Errorf("after a lenient Apply: state %s, disagrees %t, policy %s; want rejected, disagreeing, approved", r.State, r.Disagrees, r.PolicyState())
	}
	var by []string
	for _, x := range e.history(t, d) {
		by = append(by, x.By+"="+string(x.State))
	}
	want := []string{"policy=quarantined", "human:alice=approved", "human:bob=rejected", "policy=approved"}
	if !slices.Equal(by, want) {
		t.Errorf("history = %v, want %v", by, want)
	}
}

// TestApplyStricterPolicy checks that re-evaluation under a stricter
// policy changes the policy decisions of every model, once each.
func TestApplyStricterPolicy(t *testing.T) {
	e := newEnv(t, policy.DefaultPolicy())
	a := e.importModel(t, modelDir(t, map[string]string{"license": "apache-2.0"}, nil), "a:v1")
	b := e.importModel(t, modelDir(t, map[string]string{"license": "mit"}, map[string]string{"README.md": card("mit")}), "b:v1")
	// A second tag on a, and an untagged version: each version once.
	if err := e.vault.Tag(ctx, "a:v1", "a:latest"); err != nil {
		t.Fatal(err)
	}
	c := e.importModel(t, modelDir(t, map[string]string{"license": "mit", "name": "c"}, nil), "c:v1")
	if err := e.meta.DeleteRef(ctx, "c", "v1"); err != nil { // c stays, untagged
		t.Fatal(err)
	}

	first, err := e.gate.Apply(ctx, e.gate.Policy)
	if err != nil {
		t.Fatal(err)
	}
	got := map[digest.Digest]store.State{}
	for _, r := range first {
		if r.Err != "" {
			t.Fatalf("Apply: %s: %s", r.Digest, r.Err)
		}
		if _, dup := got[r.Digest]; dup {
			t.Errorf("%s evaluated twice", r.Digest)
		}
		got[r.Digest] = r.State
	}
	want := map[digest.Digest]store.State{a: store.Approved, b: store.Approved, c: store.Approved}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("states after Apply = %v, want %v", got, want)
	}

	strict := policyWith(t, 0, "", "  - name: no-mit\n    when: \"license.id == 'MIT'\"\n    action: deny\n    message: MIT models are not allowed here\n")
	second, err := e.gate.Apply(ctx, strict)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range second {
		wantState := store.Rejected
		if r.Digest == a {
			wantState = store.Approved
		}
		if r.State != wantState || r.Recorded == nil || r.Recorded.Policy != strict.Digest() {
			t.Errorf("%s after the strict Apply: state %s, recorded %+v; want %s under the strict policy", r.Digest.Short(), r.State, r.Recorded, wantState)
		}
		if r.Disagrees {
			t.Errorf("%s: Disagrees with no human decision", r.Digest.Short())
		}
	}
	if err := e.gate.Approved(ctx, b); !errors.Is(err, ErrNotApproved) || !strings.Contains(err.Error(), "MIT models are not allowed here") {
		t.Errorf("Approved(b) = %v, want rejected by the strict policy", err)
	}
	states, err := e.gate.States(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(states) != 3 || states[b].State() != store.Rejected || states[a].State() != store.Approved {
		t.Errorf("States = %v", states)
	}
	// Each model has one decision per policy.
	for _, d := range []digest.Digest{a, b, c} {
		if n := len(e.history(t, d)); n != 2 {
			t.Errorf("%s has %d decisions, want 2", d.Short(), n)
		}
	}
}

// TestMissingBlob checks that a model whose file is gone is not judged:
// Check fails, nothing is recorded, and Apply reports it and goes on.
func TestMissingBlob(t *testing.T) {
	e := newEnv(t, policy.DefaultPolicy())
	d := e.importModel(t, modelDir(t, nil, nil), "m:v1")
	ok := e.importModel(t, modelDir(t, map[string]string{"license": "mit"}, nil), "ok:v1")
	info, err := e.vault.Inspect(ctx, "m:v1")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.blobs.Delete(ctx, info.Files[0].Digest); err != nil {
		t.Fatal(err)
	}
	if _, err := e.gate.Check(ctx, "m:v1"); err == nil || !strings.Contains(err.Error(), "model.gguf") {
		t.Errorf("Check with a missing file error = %v, want one naming the file", err)
	}
	if n := len(e.history(t, d)); n != 0 {
		t.Errorf("%d decisions recorded for an unreadable model", n)
	}
	results, err := e.gate.Apply(ctx, e.gate.Policy)
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != 2 {
		t.Fatalf("%d results, want 2", len(results))
	}
	for _, r := range results {
		switch r.Digest {
		case d:
			if r.Err == "" || r.State != store.Quarantined || r.Name != "m" {
				t.Errorf("unreadable model result = %+v, want an error, quarantined", r)
			}
		case ok:
			if r.Err != "" || r.State != store.Approved {
				t.Errorf("readable model result = %+v, want approved", r)
			}
		}
	}
}

func TestHumanDecisionNeedsWhoAndWhy(t *testing.T) {
	e := newEnv(t, policy.DefaultPolicy())
	e.importModel(t, modelDir(t, nil, nil), "m:v1")
	tests := []struct{ ref, user, reason string }{
		{"m:v1", "", "ok"},
		{"m:v1", "alice", ""},
		{"nope:v1", "alice", "ok"},
	}
	for _, tt := range tests {
		if _, err := e.gate.Approve(ctx, tt.ref, tt.user, tt.reason); err == nil {
			t.Errorf("Approve(%q, %q, %q) succeeded", tt.ref, tt.user, tt.reason)
		}
		if _, err := e.gate.Reject(ctx, tt.ref, tt.user, tt.reason); err == nil {
			t.Errorf("Reject(%q, %q, %q) succeeded", tt.ref, tt.user, tt.reason)
		}
	}
	if _, err := e.gate.Check(ctx, "nope:v1"); !errors.Is(err, vault.ErrNotFound) {
		t.Errorf("Check of a missing model error = %v, want vault.ErrNotFound", err)
	}
}

func TestNoPolicy(t *testing.T) {
	e := newEnv(t, nil)
	e.importModel(t, modelDir(t, nil, nil), "m:v1")
	if _, err := e.gate.Check(ctx, "m:v1"); err == nil {
		t.Errorf("Check without a policy succeeded")
	}
	if _, err := e.gate.Apply(ctx, nil); err == nil {
		t.Errorf("Apply without a policy succeeded")
	}
}

// TestPickleModel runs the gate on pickle checkpoints: one that would run
// a shell command when loaded, and a benign look-alike.
func TestPickleModel(t *testing.T) {
	tests := []struct {
		name      string
		pickle    string
		wantState store.State
		wantInMsg string
	}{
		// posix.system("id"), protocol 2: GLOBAL, a tuple, REDUCE.
		{"code execution", "\x80\x02cposix\nsystem\nq\x00X\x02\x00\x00\x00idq\x01\x85q\x02Rq\x03.", store.Rejected, "system"},
		// collections.OrderedDict(), which real checkpoints use.
		{"benign state dict", "\x80\x02ccollections\nOrderedDict\nq\x00)Rq\x01.", store.Approved, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, policy.DefaultPolicy())
			dir := filepath.Join(t.TempDir(), "model")
			writeFiles(t, dir, map[string]string{
				"pytorch_model.bin": tt.pickle,
				"README.md":         card("apache-2.0"),
			})
			d := e.importModel(t, dir, "pickled:v1")
			res, err := e.gate.Check(ctx, "pickled:v1")
			if err != nil {
				t.Fatal(err)
			}
			if res.State != tt.wantState {
				t.Errorf("State = %s, want %s (scan %s, fired %+v)", res.State, tt.wantState, res.Scan.Verdict, res.Decision.Fired)
			}
			if tt.wantInMsg != "" {
				if len(res.Decision.Fired) == 0 || res.Decision.Fired[0].Rule != "scan-dangerous" || !strings.Contains(res.Decision.Fired[0].Message, tt.wantInMsg) {
					t.Errorf("fired %+v, want scan-dangerous naming %q", res.Decision.Fired, tt.wantInMsg)
				}
				if len(res.Facts.Scan.Imports) == 0 || res.Facts.Scan.Imports[0].Path != "pytorch_model.bin" {
					t.Errorf("scan imports in the facts = %+v, want the pickle's globals with their file", res.Facts.Scan.Imports)
				}
			}
			if err := e.gate.Approved(ctx, d); (err == nil) != (tt.wantState == store.Approved) {
				t.Errorf("Approved = %v with state %s", err, tt.wantState)
			}
		})
	}
}
