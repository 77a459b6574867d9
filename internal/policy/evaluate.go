package policy

import (
	"context"
	"fmt"
	"strings"

	"cel.dev/cel-go/common/types"

	"sov.dev/sov/internal/digest"
)

// Outcome is a policy's verdict on a model version.
type Outcome string

const (
	OutcomeApprove    Outcome = "approve"
	OutcomeQuarantine Outcome = "quarantine"
	OutcomeDeny       Outcome = "deny"
)

// Decision is the result of evaluating a policy. Its JSON is what `sov
// policy check --json` prints and what the gate keeps in a decision's
// detail.
type Decision struct {
	Outcome Outcome `json:"outcome"`
	// Fired lists every rule that fired, in file order, whatever its
	// action; rules that failed to evaluate are here too, as deny.
	Fired  []Fired       `json:"fired"`
	Policy digest.Digest `json:"policy"` // digest of the policy text
}

// Fired is one rule that fired.
type Fired struct {
	Rule    string `json:"rule"`
	Action  Action `json:"action"`
	Message string `json:"message"`
	// Error is true when the rule could not be evaluated (its expression
	// failed, ran over the cost limit, or the message failed to render);
	// such a rule counts as deny and Message says what went wrong.
	Error bool `json:"error,omitempty"`
}

// Evaluate runs every rule over f and the policy's organisation context.
// It fails only when ctx is done; a rule that fails is reported in the
// decision as a deny.
func (p *Policy) Evaluate(ctx context.Context, f Facts) (*Decision, error) {
	act := map[string]any{
		"model":   f.Model,
		"scan":    f.Scan,
		"license": f.License,
		"org":     p.org,
	}
	d := &Decision{Outcome: OutcomeApprove, Fired: []Fired{}, Policy: p.digest}
	for i := range p.rules {
		r := &p.rules[i]
		fired, ok := p.evalRule(ctx, r, act)
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("evaluating policy: %w", err)
		}
		if ok {
			d.Fired = append(d.Fired, fired)
		}
	}
	for _, fr := range d.Fired {
		switch fr.Action {
		case ActionDeny:
			d.Outcome = OutcomeDeny
		case ActionQuarantine:
			if d.Outcome != OutcomeDeny {
				d.Outcome = OutcomeQuarantine
			}
		}
	}
	return d, nil
}

// evalRule evaluates one rule; ok reports whether it fired.
func (p *Policy) evalRule(ctx context.Context, r *compiledRule, act map[string]any) (fr Fired, ok bool) {
	failed := func(format string, args ...any) (Fired, bool) {
		return Fired{Rule: r.Name, Action: ActionDeny, Error: true,
			Message: "the rule failed to evaluate, so it counts as deny: " + fmt.Sprintf(format, args...)}, true
	}
	// CEL does not panic on its own inputs, but a decision must never
	// depend on that: a panic here is a failed rule, which denies.
	defer func() {
		if v := recover(); v != nil {
			fr, ok = failed("%v", v)
		}
	}()
	v, _, err := r.when.ContextEval(ctx, act)
	if err != nil {
		return failed("%v", err)
	}
	b, isBool := v.(types.Bool)
	if !isBool {
		return failed("when yielded %s, not bool", v.Type().TypeName())
	}
	if !b {
		return Fired{}, false
	}
	def := r.Description
	if def == "" {
		def = r.Name
	}
	msg, err := render(ctx, r.message, act, def)
	if err != nil {
		return failed("%v", err)
	}
	return Fired{Rule: r.Name, Action: r.Action, Message: msg}, true
}

// Warnings returns the fired warn rules.
func (d *Decision) Warnings() []Fired { return d.withAction(ActionWarn) }

func (d *Decision) withAction(a Action) []Fired {
	var out []Fired
	for _, f := range d.Fired {
		if f.Action == a {
			out = append(out, f)
		}
	}
	return out
}

// Reason summarises the decision in one line: the rules that decided it
// and their messages ("licence-user-cap: llama3.1 caps users at …"), or,
// for an approval, the warnings.
func (d *Decision) Reason() string {
	var decisive []Fired
	prefix := ""
	switch d.Outcome {
	case OutcomeDeny:
		decisive = d.withAction(ActionDeny)
	case OutcomeQuarantine:
		decisive = d.withAction(ActionQuarantine)
	default:
		decisive = d.Warnings()
		if len(decisive) == 0 {
			return "no rule objected"
		}
		prefix = "approved with warnings: "
	}
	parts := make([]string, len(decisive))
	for i, f := range decisive {
		parts[i] = f.Rule + ": " + f.Message
	}
	return truncate(prefix+strings.Join(parts, "; "), maxMessage)
}
