// Package policy is sov's policy as code: a YAML file of named rules, each
// a CEL expression over a model version's facts (format, scan results,
// licence and obligations, provenance) and the organisation's context
// (commercial use, monthly active users, jurisdiction …), that together
// decide whether a model may be served.
//
// A policy file looks like this:
//
//	context:
//	  commercial: true
//	  monthly_active_users: 500000000
//	  jurisdiction: eu
//	  attributes: {team: search}
//	rules:
//	  - name: licence-user-cap
//	    description: The licence needs a separate grant above its user cap.
//	    when: license.user_cap > 0 && org.monthly_active_users > license.user_cap
//	    action: deny
//	    message: "{{ license.id }} caps users at {{ license.user_cap }}"
//
// Every rule is compiled and type-checked when the file is loaded (when
// must yield a bool; errors name the file line, the rule and the column),
// and evaluation is cost-limited. Evaluation runs every rule; the decision
// is deny if any deny rule fired, else quarantine if any quarantine rule
// fired, else approve, and it lists every rule that fired. A rule that
// fails to evaluate counts as a deny (fail closed).
//
// The package decides; it does not record. It must not read the vault,
// scan files or identify licences itself: the gate gathers Facts and
// records the decision.
package policy

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"reflect"
	"strings"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common"
	"cel.dev/cel-go/ext"
	"go.yaml.in/yaml/v3"

	"sov.dev/sov/internal/digest"
)

// Limits on policy files, so that a hostile or broken file cannot make
// loading or evaluation unbounded.
const (
	maxFileSize   = 1 << 20
	maxRules      = 1000
	maxExprLength = 16 << 10 // code points, per expression
	// costLimit bounds one rule's evaluation in CEL cost units (about one
	// per operation and per list element visited): ample for filters over
	// tens of thousands of findings, not for runaway comprehensions.
	costLimit = 1_000_000
	// maxAttrDepth bounds nesting in context.attributes.
	maxAttrDepth = 16
)

// Action is what a rule does when it fires.
type Action string

const (
	// ActionAllow records that the rule fired; it never changes the
	// outcome (the outcome is approve unless something objects).
	ActionAllow Action = "allow"
	// ActionWarn approves but lists the message as a warning.
	ActionWarn Action = "warn"
	// ActionQuarantine holds the model for a human decision.
	ActionQuarantine Action = "quarantine"
	// ActionDeny rejects the model.
	ActionDeny Action = "deny"
)

func (a Action) valid() bool {
	switch a {
	case ActionAllow, ActionWarn, ActionQuarantine, ActionDeny:
		return true
	}
	return false
}

// Rule is one rule as written in the policy file.
type Rule struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	// When is a CEL expression of type bool over model, scan, license and
	// org.
	When   string `json:"when"`
	Action Action `json:"action"`
	// Message is text shown when the rule fires. Text between {{ and }} is
	// a CEL expression (of any type) whose value is put in its place:
	// strings as they are, lists joined by ", ". An empty message shows
	// the description, or else the rule's name.
	Message string `json:"message,omitempty"`
}

// Policy is a loaded, compiled policy. It is immutable and safe for
// concurrent use.
type Policy struct {
	file   string
	source []byte
	digest digest.Digest
	org    Org
	rules  []compiledRule
}

type compiledRule struct {
	Rule
	when    cel.Program
	message []messagePart
}

// Error is a problem with a policy file. Parse returns every problem it
// finds, joined (errors.As finds the first).
type Error struct {
	File string // the file name as given to Parse
	Line int    // line in the file, 0 when unknown
	Rule string // the rule's name (or "#N" when it has none), "" for the file
	// Field is the rule field at fault: "name", "when", "action", "message".
	Field string
	// Column is the column within the expression's line, for CEL errors.
	Column int
	Reason string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	b.WriteString(": ")
	if e.Rule != "" {
		fmt.Fprintf(&b, "rule %q: ", e.Rule)
	}
	if e.Field != "" {
		b.WriteString(e.Field + ": ")
	}
	if e.Column > 0 {
		fmt.Fprintf(&b, "column %d: ", e.Column)
	}
	b.WriteString(e.Reason)
	return b.String()
}

//go:embed default.yaml
var defaultPolicy string

// Default returns the text of the policy sov ships with, for the CLI to
// print as a starting point for an organisation's own file.
func Default() string { return defaultPolicy }

// DefaultPolicy returns the default policy, compiled. It panics only if
// the embedded text does not compile, which the package's tests rule out.
func DefaultPolicy() *Policy {
	p, err := Parse("default policy", []byte(defaultPolicy))
	if err != nil {
		panic(fmt.Sprintf("policy: the embedded default policy does not compile: %v", err))
	}
	return p
}

// Load reads and compiles the policy file at path.
func Load(path string) (*Policy, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading policy: %w", err)
	}
	defer f.Close()
	src, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("reading policy %s: %w", path, err)
	}
	return Parse(path, src)
}

// File returns the name the policy was loaded from.
func (p *Policy) File() string { return p.file }

// Source returns the policy text exactly as loaded.
func (p *Policy) Source() []byte { return bytes.Clone(p.source) }

// Digest returns the digest of the policy text, which decisions record.
func (p *Policy) Digest() digest.Digest { return p.digest }

// Org returns the organisation's context.
func (p *Policy) Org() Org {
	o := p.org
	o.Attributes = cloneAttrs(o.Attributes)
	return o
}

// Rules returns the rules in file order.
func (p *Policy) Rules() []Rule {
	out := make([]Rule, len(p.rules))
	for i, r := range p.rules {
		out[i] = r.Rule
	}
	return out
}

// fileYAML is the policy file's shape.
type fileYAML struct {
	Context orgYAML    `yaml:"context"`
	Rules   []ruleYAML `yaml:"rules"`
}

// orgYAML is the context section. commercial defaults to true when it is
// not given: assuming commercial use is the careful reading.
type orgYAML struct {
	Commercial         *bool          `yaml:"commercial"`
	MonthlyActiveUsers int64          `yaml:"monthly_active_users"`
	Jurisdiction       string         `yaml:"jurisdiction"`
	Attributes         map[string]any `yaml:"attributes"`
}

type ruleYAML struct {
	Name        string `yaml:"name"`
	Description string `yaml:"description"`
	When        string `yaml:"when"`
	Action      string `yaml:"action"`
	Message     string `yaml:"message"`
}

// Parse compiles a policy from its text. name is used in error messages.
func Parse(name string, src []byte) (*Policy, error) {
	fileErr := func(line int, format string, args ...any) error {
		return &Error{File: name, Line: line, Reason: fmt.Sprintf(format, args...)}
	}
	if len(src) > maxFileSize {
		return nil, fileErr(0, "policy file is larger than %d bytes", maxFileSize)
	}
	var doc fileYAML
	dec := yaml.NewDecoder(bytes.NewReader(src))
	dec.KnownFields(true)
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fileErr(0, "policy file is empty")
		}
		return nil, fileErr(0, "%s", yamlReason(err))
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, fileErr(0, "policy file holds more than one YAML document")
	}
	// A second pass keeps line numbers for messages.
	var root yaml.Node
	if err := yaml.Unmarshal(src, &root); err != nil {
		return nil, fileErr(0, "%s", yamlReason(err))
	}
	lines := ruleLines(&root)

	if len(doc.Rules) > maxRules {
		return nil, fileErr(0, "%d rules; at most %d are allowed", len(doc.Rules), maxRules)
	}
	org, err := checkOrg(doc.Context)
	if err != nil {
		return nil, fileErr(lines.context, "context: %v", err)
	}
	env, err := newEnv()
	if err != nil {
		return nil, fmt.Errorf("policy: building the CEL environment: %w", err)
	}
	p := &Policy{file: name, source: bytes.Clone(src), digest: digest.FromBytes(src), org: org}
	var errs []error
	seen := make(map[string]int)
	for i, ry := range doc.Rules {
		var rl ruleLine
		if i < len(lines.rules) {
			rl = lines.rules[i]
		}
		label := ry.Name
		if label == "" {
			label = fmt.Sprintf("#%d", i+1)
		}
		ruleErr := func(field string, line int, format string, args ...any) {
			errs = append(errs, &Error{File: name, Line: line, Rule: label, Field: field, Reason: fmt.Sprintf(format, args...)})
		}
		r := compiledRule{Rule: Rule{
			Name: ry.Name, Description: ry.Description, When: ry.When,
			Action: Action(ry.Action), Message: ry.Message,
		}}
		switch {
		case strings.TrimSpace(ry.Name) == "":
			ruleErr("name", rl.rule, "every rule needs a name")
		case ry.Name != strings.TrimSpace(ry.Name) || strings.ContainsAny(ry.Name, "\n\r\t"):
			ruleErr("name", rl.name.line, "names must not hold surrounding spaces or line breaks")
		case seen[ry.Name] > 0:
			ruleErr("name", rl.name.line, "a rule of this name is already defined on line %d", seen[ry.Name])
		default:
			seen[ry.Name] = max(rl.rule, 1)
		}
		if !r.Action.valid() {
			ruleErr("action", rl.action.line, "action %q is not allow, warn, quarantine or deny", ry.Action)
		}
		if strings.TrimSpace(ry.When) == "" {
			ruleErr("when", rl.rule, "every rule needs a when expression")
		} else if prg, err := compileExpr(env, ry.When, cel.BoolType); err != nil {
			errs = append(errs, exprError(name, label, "when", rl.when, err))
		} else {
			r.when = prg
		}
		parts, err := parseMessage(env, ry.Message)
		if err != nil {
			errs = append(errs, exprError(name, label, "message", rl.message, err))
		}
		r.message = parts
		p.rules = append(p.rules, r)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return p, nil
}

// yamlReason strips the yaml package's prefix from its errors.
func yamlReason(err error) string {
	s := strings.TrimPrefix(err.Error(), "yaml: ")
	return strings.ReplaceAll(s, "\n  ", "; ")
}

// newEnv declares the CEL variables over the Facts types.
func newEnv() (*cel.Env, error) {
	return cel.NewEnv(
		ext.NativeTypes(
			reflect.TypeFor[Model](), reflect.TypeFor[Scan](),
			reflect.TypeFor[License](), reflect.TypeFor[Org](),
			ext.ParseStructTag("json"),
		),
		cel.Variable("model", cel.ObjectType("policy.Model")),
		cel.Variable("scan", cel.ObjectType("policy.Scan")),
		cel.Variable("license", cel.ObjectType("policy.License")),
		cel.Variable("org", cel.ObjectType("policy.Org")),
		ext.Strings(),
		ext.Sets(),
		ext.Lists(),
		cel.ParserExpressionSizeLimit(maxExprLength),
	)
}

// exprCompileError carries CEL's issues with their positions.
type exprCompileError struct {
	line, column int // within the expression, 1-based
	reason       string
}

func (e *exprCompileError) Error() string { return e.reason }

// compileExpr compiles src and checks that it yields want (nil: any type).
func compileExpr(env *cel.Env, src string, want *cel.Type) (cel.Program, error) {
	ast, iss := env.Compile(src)
	if iss != nil && iss.Err() != nil {
		e := &exprCompileError{reason: iss.Err().Error()}
		if errs := iss.Errors(); len(errs) > 0 {
			first := errs[0]
			e.reason = first.Message
			if loc := first.Location; loc != nil && loc != common.NoLocation {
				e.line, e.column = loc.Line(), loc.Column()+1
			}
			if len(errs) > 1 {
				e.reason += fmt.Sprintf(" (and %d more)", len(errs)-1)
			}
		}
		return nil, e
	}
	if want != nil && !ast.OutputType().IsExactType(want) {
		return nil, &exprCompileError{reason: fmt.Sprintf("the expression yields %s, not %s", ast.OutputType(), want)}
	}
	prg, err := env.Program(ast,
		cel.CostLimit(costLimit),
		cel.InterruptCheckFrequency(256),
		cel.EvalOptions(cel.OptOptimize),
	)
	if err != nil {
		return nil, &exprCompileError{reason: err.Error()}
	}
	return prg, nil
}

// exprError places a compile error in the file.
func exprError(file, rule, field string, at valueLine, err error) error {
	e := &Error{File: file, Line: at.line, Rule: rule, Field: field, Reason: err.Error()}
	var ce *exprCompileError
	if errors.As(err, &ce) {
		e.Reason = ce.reason
		e.Column = ce.column
		if ce.line > 0 && at.line > 0 {
			e.Line = at.line + ce.line - 1
			if at.block {
				e.Line++ // a | or > scalar starts on the next line
			}
		}
	}
	return e
}

// valueLine is where a scalar value sits in the file.
type valueLine struct {
	line  int
	block bool // a literal (|) or folded (>) scalar
}

type ruleLine struct {
	rule                        int
	name, when, action, message valueLine
}

type fileLines struct {
	context int
	rules   []ruleLine
}

// ruleLines finds each rule's fields in the YAML tree.
func ruleLines(root *yaml.Node) fileLines {
	var fl fileLines
	if root.Kind != yaml.DocumentNode || len(root.Content) == 0 {
		return fl
	}
	top := root.Content[0]
	if top.Kind != yaml.MappingNode {
		return fl
	}
	for i := 0; i+1 < len(top.Content); i += 2 {
		k, v := top.Content[i], top.Content[i+1]
		switch k.Value {
		case "context":
			fl.context = k.Line
		case "rules":
			if v.Kind != yaml.SequenceNode {
				continue
			}
			for _, item := range v.Content {
				rl := ruleLine{rule: item.Line}
				if item.Kind == yaml.MappingNode {
					for j := 0; j+1 < len(item.Content); j += 2 {
						fk, fv := item.Content[j], item.Content[j+1]
						at := valueLine{line: fv.Line, block: fv.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0}
						switch fk.Value {
						case "name":
							rl.name = at
						case "when":
							rl.when = at
						case "action":
							rl.action = at
						case "message":
							rl.message = at
						}
					}
				}
				fl.rules = append(fl.rules, rl)
			}
		}
	}
	return fl
}

// checkOrg validates and normalises the organisation's context.
func checkOrg(y orgYAML) (Org, error) {
	o := Org{Commercial: true, MonthlyActiveUsers: y.MonthlyActiveUsers, Jurisdiction: y.Jurisdiction, Attributes: y.Attributes}
	if y.Commercial != nil {
		o.Commercial = *y.Commercial
	}
	if o.MonthlyActiveUsers < 0 {
		return Org{}, fmt.Errorf("monthly_active_users %d is negative", o.MonthlyActiveUsers)
	}
	o.Jurisdiction = strings.ToLower(strings.TrimSpace(o.Jurisdiction))
	attrs, err := normAttrs(o.Attributes, 0)
	if err != nil {
		return Org{}, fmt.Errorf("attributes: %w", err)
	}
	o.Attributes = attrs
	return o, nil
}

// normAttrs converts YAML values into the types CEL maps cleanly: string,
// bool, int64, float64, []any and map[string]any.
func normAttrs(m map[string]any, depth int) (map[string]any, error) {
	out := make(map[string]any, len(m))
	for k, v := range m {
		nv, err := normValue(v, depth+1)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", k, err)
		}
		out[k] = nv
	}
	return out, nil
}

func normValue(v any, depth int) (any, error) {
	if depth > maxAttrDepth {
		return nil, fmt.Errorf("nested deeper than %d", maxAttrDepth)
	}
	switch x := v.(type) {
	case nil:
		return nil, errors.New("null values are not allowed (leave the key out)")
	case string, bool, int64, float64:
		return x, nil
	case int:
		return int64(x), nil
	case uint64:
		if x > math.MaxInt64 {
			return nil, fmt.Errorf("%d does not fit a signed 64-bit integer", x)
		}
		return int64(x), nil
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			ne, err := normValue(e, depth+1)
			if err != nil {
				return nil, fmt.Errorf("[%d]: %w", i, err)
			}
			out[i] = ne
		}
		return out, nil
	case map[string]any:
		return normAttrs(x, depth)
	}
	return nil, fmt.Errorf("values of type %T are not supported (use strings, numbers, booleans, lists and maps with string keys)", v)
}

func cloneAttrs(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = cloneValue(v)
	}
	return out
}

func cloneValue(v any) any {
	switch x := v.(type) {
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = cloneValue(e)
		}
		return out
	case map[string]any:
		return cloneAttrs(x)
	}
	return v
}
