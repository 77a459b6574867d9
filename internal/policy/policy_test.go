package policy

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"sov.dev/sov/internal/digest"
)

var ctx = context.Background()

// Licences as the licence identifier reports them, for synthetic facts.
var (
	apache = License{ID: "apache-2.0", Known: true, Family: "permissive", CommercialUse: true,
		Sources: []LicenseSource{{Source: "license-file:LICENSE", ID: "apache-2.0"}}}
	ccByNC = License{ID: "cc-by-nc-4.0", Known: true, Family: "creative-commons",
		Attribution: "credit the creator and link the licence"}
	llama31 = License{ID: "llama3.1", Known: true, Family: "llama", CommercialUse: true,
		UserCap: 700_000_000, Attribution: "display 'Built with Llama'",
		NamingRule: "begin the model name with 'Llama'", AUP: "https://llama.meta.com/llama3_1/use-policy",
		OutputsTrainingRestriction: false}
	llama32vision = License{ID: "llama3.2", Known: true, Family: "llama", CommercialUse: true,
		UserCap: 700_000_000, RegionalExclusions: []string{"EU"}}
	unknown = License{ID: "my-custom-licence", Unknown: []string{`model_card:license "my-custom-licence" is not in the knowledge base`},
		Sources: []LicenseSource{{Source: "model_card:license", ID: "my-custom-licence"}}}
)

func cleanScan() Scan {
	return Scan{Verdict: "innocuous", Files: []ScanFile{{Path: "model.gguf", Format: "gguf", Verdict: "innocuous"}}}
}

func facts(l License, s Scan) Facts {
	return Facts{
		Model: Model{Name: "test/model", Tag: "latest", Digest: digest.FromBytes([]byte("m")).String(),
			Format: "gguf", Architecture: "llama", Parameters: 8_030_261_248, Quantization: "Q4_K_M",
			Files: []File{{Path: "model.gguf", Format: "gguf", Size: 1 << 30}}, Source: "import"},
		Scan:    s,
		License: l,
	}
}

// defaultWith returns the default policy with the context changed.
func defaultWith(t *testing.T, mau int64, jurisdiction string, commercial bool) *Policy {
	t.Helper()
	src := Default()
	for _, r := range []struct{ old, new string }{
		{"monthly_active_users: 0\n", fmt.Sprintf("monthly_active_users: %d\n", mau)},
		{`jurisdiction: ""` + "\n", fmt.Sprintf("jurisdiction: %q\n", jurisdiction)},
		{"commercial: true\n", fmt.Sprintf("commercial: %t\n", commercial)},
	} {
		if !strings.Contains(src, r.old) {
			t.Fatalf("default policy no longer contains %q", r.old)
		}
		src = strings.Replace(src, r.old, r.new, 1)
	}
	p, err := Parse("default", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func firedRules(d *Decision) []string {
	var names []string
	for _, f := range d.Fired {
		names = append(names, f.Rule)
	}
	return names
}

func TestDefaultPolicy(t *testing.T) {
	dangerous := Scan{Verdict: "dangerous",
		Findings: []Finding{
			{Rule: "pickle.import", Severity: "dangerous", Message: "imports os.system", Path: "pytorch_model.bin", Location: "archive/data.pkl"},
			{Rule: "pickle.import", Severity: "suspicious", Message: "imports foo.bar", Path: "pytorch_model.bin"},
		},
		Imports: []Import{{Module: "os", Name: "system", Safety: "dangerous", Path: "pytorch_model.bin"}}}
	suspicious := Scan{Verdict: "suspicious",
		Findings: []Finding{{Rule: "gguf.template-unusual-size", Severity: "suspicious", Message: "chat template is 2 MB", Path: "model.gguf"}}}
	disagree := llama31
	disagree.Disagreement = true
	disagree.Sources = []LicenseSource{{Source: "license-file:LICENSE", ID: "llama3.1"}, {Source: "card", ID: "apache-2.0"}}
	noLicence := License{Unknown: []string{"no source names a licence"}}
	tests := []struct {
		name         string
		p            *Policy
		f            Facts
		want         Outcome
		wantFired    []string
		wantMessages []string // substrings of the messages, in order of wantFired
	}{
		{"clean permissive model", DefaultPolicy(), facts(apache, cleanScan()), OutcomeApprove, nil, nil},
		{"dangerous scan", DefaultPolicy(), facts(apache, dangerous), OutcomeDeny,
			[]string{"scan-dangerous"}, []string{"pytorch_model.bin: imports os.system"}},
		{"suspicious scan", DefaultPolicy(), facts(apache, suspicious), OutcomeQuarantine,
			[]string{"scan-suspicious"}, []string{"model.gguf: chat template is 2 MB"}},
		{"non-commercial licence, commercial org", DefaultPolicy(), facts(ccByNC, cleanScan()), OutcomeDeny,
			[]string{"licence-non-commercial", "licence-attribution"},
			[]string{"cc-by-nc-4.0 does not allow commercial use", "credit the creator"}},
		{"non-commercial licence, non-commercial org", defaultWith(t, 0, "", false), facts(ccByNC, cleanScan()), OutcomeApprove,
			[]string{"licence-attribution"}, nil},
		{"llama over the user cap", defaultWith(t, 800_000_000, "", true), facts(llama31, cleanScan()), OutcomeDeny,
			[]string{"licence-user-cap", "licence-attribution", "licence-naming", "licence-acceptable-use"},
			[]string{"above 700000000 monthly active users; the organisation has 800000000", "Built with Llama"}},
		{"llama under the user cap", defaultWith(t, 500_000_000, "", true), facts(llama31, cleanScan()), OutcomeApprove,
			[]string{"licence-attribution", "licence-naming", "licence-acceptable-use"},
			[]string{"attribution required: display 'Built with Llama'", "begin the model name with 'Llama'", "use-policy"}},
		{"llama exactly at the user cap", defaultWith(t, 700_000_000, "", true), facts(llama31, cleanScan()), OutcomeApprove,
			[]string{"licence-attribution", "licence-naming", "licence-acceptable-use"}, nil},
		{"unknown licence", DefaultPolicy(), facts(unknown, cleanScan()), OutcomeQuarantine,
			[]string{"licence-unknown"}, []string{`the licence is not identified (model_card:license "my-custom-licence" is not in the knowledge base); read it`}},
		{"no licence at all", DefaultPolicy(), facts(noLicence, cleanScan()), OutcomeQuarantine,
			[]string{"licence-unknown"}, []string{"not identified (no source names a licence)"}},
		{"licence sources disagree", DefaultPolicy(), facts(disagree, cleanScan()), OutcomeApprove,
			[]string{"licence-disagreement", "licence-attribution", "licence-naming", "licence-acceptable-use"},
			[]string{"license-file:LICENSE says llama3.1, card says apache-2.0"}},
		{"regional exclusion in the org's jurisdiction", defaultWith(t, 0, "EU", true), facts(llama32vision, cleanScan()), OutcomeDeny,
			[]string{"licence-regional-exclusion"}, []string{"llama3.2 excludes eu"}},
		{"regional exclusion elsewhere", defaultWith(t, 0, "us", true), facts(llama32vision, cleanScan()), OutcomeApprove, nil, nil},
		{"regional exclusion, jurisdiction unset", DefaultPolicy(), facts(llama32vision, cleanScan()), OutcomeApprove,
			[]string{"licence-region-unknown"}, []string{"excludes EU"}},
		{"outputs training restriction", DefaultPolicy(),
			facts(License{ID: "gemma", Known: true, CommercialUse: true, OutputsTrainingRestriction: true}, cleanScan()),
			OutcomeApprove, []string{"licence-outputs-training"}, nil},
		{"everything wrong at once", DefaultPolicy(), facts(unknown, dangerous), OutcomeDeny,
			[]string{"scan-dangerous", "licence-unknown"}, nil},
	}
	fired := map[string]bool{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := tt.p.Evaluate(ctx, tt.f)
			if err != nil {
				t.Fatal(err)
			}
			if d.Outcome != tt.want {
				t.Errorf("Outcome = %s, want %s (fired %v)", d.Outcome, tt.want, d.Fired)
			}
			if diff := cmp.Diff(tt.wantFired, firedRules(d)); diff != "" {
				t.Errorf("fired rules (-want +got):\n%s", diff)
			}
			for i, sub := range tt.wantMessages {
				if i < len(d.Fired) && !strings.Contains(d.Fired[i].Message, sub) {
					t.Errorf("message of %s = %q, want it to contain %q", d.Fired[i].Rule, d.Fired[i].Message, sub)
				}
			}
			for _, f := range d.Fired {
				if f.Error {
					t.Errorf("rule %s failed to evaluate: %s", f.Rule, f.Message)
				}
				fired[f.Rule] = true
			}
			if d.Policy != tt.p.Digest() {
				t.Errorf("Decision.Policy = %s, want %s", d.Policy, tt.p.Digest())
			}
		})
	}
	// Every default rule is exercised by some case above.
	for _, r := range DefaultPolicy().Rules() {
		if !fired[r.Name] {
			t.Errorf("default rule %s never fired in this test", r.Name)
		}
	}
}

func TestDefaultIsDocumented(t *testing.T) {
	p := DefaultPolicy()
	if got, want := string(p.Source()), Default(); got != want {
		t.Errorf("Source differs from Default()")
	}
	if got, want := p.Digest(), digest.FromBytes([]byte(Default())); got != want {
		t.Errorf("Digest = %s, want %s", got, want)
	}
	for _, r := range p.Rules() {
		if r.Description == "" || r.Message == "" {
			t.Errorf("default rule %s lacks a description or message", r.Name)
		}
	}
	if !p.Org().Commercial {
		t.Errorf("the default policy should assume commercial use")
	}
}

// TestExplanations checks that a decision lists every rule that fired, in
// file order, whatever its action, with rendered messages.
func TestExplanations(t *testing.T) {
	src := `
context:
  commercial: false
  monthly_active_users: 42
  jurisdiction: " US "
  attributes:
    team: search
    reviewers: [ana, bo]
    limits: {max_params: 10000000000}
    strict: true
rules:
  - name: big
    when: model.parameters > 1000000000
    action: warn
    message: '{{ model.name }} has {{ model.parameters }} parameters ({{ model.parameters > org.attributes.limits.max_params }})'
  - name: never
    when: "false"
    action: deny
  - name: allow-gguf
    description: GGUF is fine
    when: model.format == 'gguf'
    action: allow
  - name: team
    when: org.attributes['team'] == 'search' && org.attributes.strict == true
    action: quarantine
    message: 'reviewers: {{ org.attributes.reviewers }}; files {{ model.files.map(f, f.path) }}; sizes {{ {"a": 1} }}'
  - name: named
    when: org.jurisdiction == 'us' && !org.commercial && org.monthly_active_users == 42
    action: warn
`
	p, err := Parse("explain.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	f := facts(apache, cleanScan())
	f.Model.Files = append(f.Model.Files, File{Path: "README.md", Format: "model-card", Size: 10})
	d, err := p.Evaluate(ctx, f)
	if err != nil {
		t.Fatal(err)
	}
	want := &Decision{
		Outcome: OutcomeQuarantine,
		Policy:  digest.FromBytes([]byte(src)),
		Fired: []Fired{
			{Rule: "big", Action: ActionWarn, Message: "test/model has 8030261248 parameters (false)"},
			{Rule: "allow-gguf", Action: ActionAllow, Message: "GGUF is fine"},
			{Rule: "team", Action: ActionQuarantine, Message: "reviewers: ana, bo; files model.gguf, README.md; sizes {a: 1}"},
			{Rule: "named", Action: ActionWarn, Message: "named"},
		},
	}
	if diff := cmp.Diff(want, d); diff != "" {
		t.Errorf("Evaluate (-want +got):\n%s", diff)
	}
	if got, want := d.Reason(), "team: reviewers: ana, bo; files model.gguf, README.md; sizes {a: 1}"; got != want {
		t.Errorf("Reason = %q, want %q", got, want)
	}
	if got := len(d.Warnings()); got != 2 {
		t.Errorf("%d warnings, want 2", got)
	}
	if got := p.Org().Jurisdiction; got != "us" {
		t.Errorf("jurisdiction = %q, want it trimmed and lower-cased", got)
	}
}

func TestReason(t *testing.T) {
	tests := []struct {
		d    Decision
		want string
	}{
		{Decision{Outcome: OutcomeApprove}, "no rule objected"},
		{Decision{Outcome: OutcomeApprove, Fired: []Fired{{Rule: "a", Action: ActionAllow, Message: "x"}}}, "no rule objected"},
		{Decision{Outcome: OutcomeApprove, Fired: []Fired{{Rule: "a", Action: ActionWarn, Message: "x"}, {Rule: "b", Action: ActionWarn, Message: "y"}}},
			"approved with warnings: a: x; b: y"},
		{Decision{Outcome: OutcomeDeny, Fired: []Fired{{Rule: "q", Action: ActionQuarantine, Message: "hold"}, {Rule: "d", Action: ActionDeny, Message: "no"}}},
			"d: no"},
		{Decision{Outcome: OutcomeQuarantine, Fired: []Fired{{Rule: "w", Action: ActionWarn, Message: "w"}, {Rule: "q", Action: ActionQuarantine, Message: "hold"}}},
			"q: hold"},
	}
	for _, tt := range tests {
		if got := tt.d.Reason(); got != tt.want {
			t.Errorf("Reason(%+v) = %q, want %q", tt.d, got, tt.want)
		}
	}
}

// TestEvaluationErrorDenies checks that a rule that cannot be evaluated
// counts as deny, with the error as its message, and that other rules
// still run.
func TestEvaluationErrorDenies(t *testing.T) {
	tests := []struct {
		name, when, message string
		wantMsg             string
	}{
		{"missing map key", `org.attributes['absent'] == 'x'`, "", "no such key"},
		{"division by zero", `1 / (size(model.files) - size(model.files)) == 0`, "", "division by zero"},
		{"message fails", `true`, `{{ org.attributes['absent'] }}`, "message {{ org.attributes['absent'] }}"},
		{"dyn not bool", `org.attributes['n'] == 1 ? true : true`, "", ""}, // fine: does not fail
		{"over the cost limit", `model.files.all(a, model.files.all(b, model.files.all(c, a.size >= 0)))`, "", "cost"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := fmt.Sprintf("context: {attributes: {n: 1}}\nrules:\n  - name: bad\n    when: %q\n    action: warn\n    message: %q\n  - name: after\n    when: 'true'\n    action: warn\n", tt.when, tt.message)
			p, err := Parse("t.yaml", []byte(src))
			if err != nil {
				t.Fatal(err)
			}
			f := facts(apache, cleanScan())
			for i := range 300 {
				f.Model.Files = append(f.Model.Files, File{Path: fmt.Sprint(i), Size: 1})
			}
			d, err := p.Evaluate(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			if tt.wantMsg == "" {
				if d.Outcome != OutcomeApprove || len(d.Fired) != 2 || d.Fired[0].Error {
					t.Errorf("decision = %+v, want both rules fired as warnings", d)
				}
				return
			}
			if d.Outcome != OutcomeDeny {
				t.Errorf("Outcome = %s, want deny", d.Outcome)
			}
			if got := firedRules(d); !slices.Equal(got, []string{"bad", "after"}) {
				t.Errorf("fired = %v, want [bad after]", got)
			}
			bad := d.Fired[0]
			if !bad.Error || bad.Action != ActionDeny || !strings.Contains(bad.Message, tt.wantMsg) {
				t.Errorf("failed rule reported as %+v, want a deny error mentioning %q", bad, tt.wantMsg)
			}
		})
	}
}

func TestEvaluateCancelled(t *testing.T) {
	c, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := DefaultPolicy().Evaluate(c, facts(apache, cleanScan())); !errors.Is(err, context.Canceled) {
		t.Errorf("Evaluate with a cancelled context error = %v, want context.Canceled", err)
	}
}

func TestMessages(t *testing.T) {
	long := strings.Repeat("é", maxMessage)
	tests := []struct {
		message, description string
		want                 string
	}{
		{"", "", "r"},
		{"", "the description", "the description"},
		{"plain text, no braces", "", "plain text, no braces"},
		{"single { and } are text", "", "single { and } are text"},
		{"{{1}}{{true}}{{2.5}}{{3u}}{{null}}{{'s'}}", "", "1true2.53nulls"},
		{"{{ [1, [2, 3], []] }}", "", "1, 2, 3, "},
		{"{{ model.files.map(f, f.size) }}", "", "1073741824"},
		{"{{ scan.imports }}", "", ""},
		{"line one\n{{ model.tag }}", "", "line one\nlatest"},
		{"{{ '" + long + "' }}", "", truncate(long, maxMessage)},
	}
	for _, tt := range tests {
		t.Run(tt.message, func(t *testing.T) {
			src := fmt.Sprintf("rules:\n  - name: r\n    when: 'true'\n    action: warn\n    description: %q\n    message: %q\n", tt.description, tt.message)
			p, err := Parse("m.yaml", []byte(src))
			if err != nil {
				t.Fatal(err)
			}
			d, err := p.Evaluate(ctx, facts(apache, cleanScan()))
			if err != nil {
				t.Fatal(err)
			}
			if got := d.Fired[0].Message; got != tt.want {
				t.Errorf("message = %q, want %q", got, tt.want)
			}
			if len(d.Fired[0].Message) > maxMessage+len("…") {
				t.Errorf("message is %d bytes, over the limit", len(d.Fired[0].Message))
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	rule := func(fields string) string { return "rules:\n  - name: r1\n" + fields }
	tests := []struct {
		name, src string
		want      Error // compared on the fields set
		also      string
	}{
		{"empty file", "", Error{Reason: "empty"}, ""},
		{"not YAML", "rules: [", Error{Reason: "did not find expected"}, ""},
		{"unknown top-level field", "rulez: []", Error{Reason: "field rulez not found"}, ""},
		{"unknown rule field", rule("    when: 'true'\n    action: deny\n    wen: x\n"), Error{Reason: "field wen not found"}, ""},
		{"two documents", "rules: []\n---\nrules: []\n", Error{Reason: "more than one YAML document"}, ""},
		{"undefined field", rule("    when: model.nmae == 'x'\n    action: deny\n"),
			Error{Line: 3, Rule: "r1", Field: "when", Column: 6, Reason: "undefined field 'nmae'"}, `t.yaml:3: rule "r1": when: column 6: undefined field 'nmae'`},
		{"undeclared variable", rule("    when: |\n      true &&\n        modle.format == 'gguf'\n    action: deny\n"),
			Error{Line: 5, Rule: "r1", Field: "when", Column: 3, Reason: "undeclared reference to 'modle'"}, ""},
		{"syntax error", rule("    action: deny\n    when: model.format ==\n"),
			Error{Line: 4, Rule: "r1", Field: "when", Reason: "Syntax error"}, ""},
		{"when not bool", rule("    when: model.parameters\n    action: deny\n"),
			Error{Line: 3, Rule: "r1", Field: "when", Reason: "yields int, not bool"}, ""},
		{"when dyn", rule("    when: org.attributes['x']\n    action: deny\n"),
			Error{Rule: "r1", Field: "when", Reason: "not bool"}, ""},
		{"missing when", rule("    action: deny\n"), Error{Rule: "r1", Field: "when", Reason: "needs a when"}, ""},
		{"bad action", rule("    when: 'true'\n    action: block\n"),
			Error{Line: 4, Rule: "r1", Field: "action", Reason: `action "block" is not allow, warn, quarantine or deny`}, ""},
		{"missing action", rule("    when: 'true'\n"), Error{Rule: "r1", Field: "action"}, ""},
		{"missing name", "rules:\n  - when: 'true'\n    action: deny\n", Error{Line: 2, Rule: "#1", Field: "name", Reason: "needs a name"}, ""},
		{"duplicate name", rule("    when: 'true'\n    action: deny\n  - name: r1\n    when: 'true'\n    action: warn\n"),
			Error{Line: 5, Rule: "r1", Field: "name", Reason: "already defined on line 2"}, ""},
		{"unclosed template", rule("    when: 'true'\n    action: deny\n    message: 'a {{ model.name'\n"),
			Error{Line: 5, Rule: "r1", Field: "message", Column: 3, Reason: "not closed"}, ""},
		{"empty template", rule("    when: 'true'\n    action: deny\n    message: 'a {{ }}'\n"),
			Error{Rule: "r1", Field: "message", Reason: "empty {{ }}"}, ""},
		{"bad template expression", rule("    when: 'true'\n    action: deny\n    message: 'x {{ model.nope }}'\n"),
			Error{Line: 5, Rule: "r1", Field: "message", Column: 11, Reason: "undefined field 'nope'"}, ""},
		{"negative users", "context: {monthly_active_users: -1}\n", Error{Line: 1, Reason: "negative"}, ""},
		{"null attribute", "context:\n  attributes: {a: null}\n", Error{Reason: "a: null values are not allowed"}, ""},
		{"non-string attribute keys", "context:\n  attributes: {a: {1: x}}\n", Error{Reason: "not supported"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("t.yaml", []byte(tt.src))
			if err == nil {
				t.Fatalf("Parse succeeded")
			}
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("error %v (%T) is not a *Error", err, err)
			}
			if pe.File != "t.yaml" {
				t.Errorf("File = %q", pe.File)
			}
			w := tt.want
			if w.Line != 0 && pe.Line != w.Line {
				t.Errorf("Line = %d, want %d (%v)", pe.Line, w.Line, err)
			}
			if pe.Rule != w.Rule {
				t.Errorf("Rule = %q, want %q (%v)", pe.Rule, w.Rule, err)
			}
			if pe.Field != w.Field {
				t.Errorf("Field = %q, want %q (%v)", pe.Field, w.Field, err)
			}
			if w.Column != 0 && pe.Column != w.Column {
				t.Errorf("Column = %d, want %d (%v)", pe.Column, w.Column, err)
			}
			if !strings.Contains(pe.Reason, w.Reason) {
				t.Errorf("Reason = %q, want it to contain %q", pe.Reason, w.Reason)
			}
			if tt.also != "" && err.Error() != tt.also {
				t.Errorf("Error() = %q, want %q", err.Error(), tt.also)
			}
		})
	}
}

// TestParseReportsEveryRule checks that one load reports every broken rule.
func TestParseReportsEveryRule(t *testing.T) {
	src := "rules:\n" +
		"  - {name: a, when: 'model.x', action: deny}\n" +
		"  - {name: ok, when: 'true', action: deny}\n" +
		"  - {name: c, when: 'true', action: nope}\n"
	_, err := Parse("t.yaml", []byte(src))
	if err == nil {
		t.Fatal("Parse succeeded")
	}
	for _, want := range []string{`rule "a": when`, `rule "c": action`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if strings.Contains(err.Error(), `rule "ok"`) {
		t.Errorf("error %q blames the good rule", err)
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "policy.yaml")
	if err := os.WriteFile(good, []byte(Default()), 0o600); err != nil {
		t.Fatal(err)
	}
	p, err := Load(good)
	if err != nil {
		t.Fatal(err)
	}
	if p.File() != good || p.Digest() != DefaultPolicy().Digest() {
		t.Errorf("Load = %s %s, want the default's digest", p.File(), p.Digest())
	}
	big := filepath.Join(dir, "big.yaml")
	if err := os.WriteFile(big, []byte("# "+strings.Repeat("x", maxFileSize)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(big); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("Load of an oversized file error = %v", err)
	}
	if _, err := Load(filepath.Join(dir, "missing.yaml")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load of a missing file error = %v, want ErrNotExist", err)
	}
}

func TestContextDefaults(t *testing.T) {
	tests := []struct {
		src  string
		want bool
	}{
		{"rules: []\n", true},
		{"context: {}\n", true},
		{"context: {commercial: false}\n", false},
		{"context: {commercial: true}\n", true},
	}
	for _, tt := range tests {
		p, err := Parse("t.yaml", []byte(tt.src))
		if err != nil {
			t.Fatal(err)
		}
		if got := p.Org().Commercial; got != tt.want {
			t.Errorf("%q: commercial = %t, want %t", tt.src, got, tt.want)
		}
	}
}

func TestTooManyRules(t *testing.T) {
	var b strings.Builder
	b.WriteString("rules:\n")
	for i := range maxRules + 1 {
		fmt.Fprintf(&b, "  - {name: r%d, when: 'true', action: warn}\n", i)
	}
	if _, err := Parse("t.yaml", []byte(b.String())); err == nil || !strings.Contains(err.Error(), "at most") {
		t.Errorf("Parse of %d rules error = %v", maxRules+1, err)
	}
}

// TestOrgIsACopy checks that callers cannot change a loaded policy.
func TestOrgIsACopy(t *testing.T) {
	p, err := Parse("t.yaml", []byte("context:\n  attributes: {list: [a], m: {k: v}}\n"))
	if err != nil {
		t.Fatal(err)
	}
	o := p.Org()
	o.Attributes["list"].([]any)[0] = "changed"
	o.Attributes["m"].(map[string]any)["k"] = "changed"
	o.Attributes["new"] = "x"
	want := map[string]any{"list": []any{"a"}, "m": map[string]any{"k": "v"}}
	if diff := cmp.Diff(want, p.Org().Attributes); diff != "" {
		t.Errorf("attributes changed through a copy (-want +got):\n%s", diff)
	}
	rs := p.Rules()
	if len(rs) != 0 {
		t.Errorf("Rules = %v, want none", rs)
	}
}

func BenchmarkEvaluateDefault(b *testing.B) {
	p := DefaultPolicy()
	f := facts(llama31, cleanScan())
	for b.Loop() {
		if _, err := p.Evaluate(ctx, f); err != nil {
			b.Fatal(err)
		}
	}
}
