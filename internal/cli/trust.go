package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"sov.dev/sov/internal/atomicfile"
	"sov.dev/sov/internal/gate"
	"sov.dev/sov/internal/policy"
	"sov.dev/sov/internal/scan"
	"sov.dev/sov/internal/store"
)

// policyFile is where `sov policy apply` keeps the policy in force; without
// it the built-in default policy applies.
const policyFile = "policy.yaml"

// activePolicy returns the policy in force for this SOV_HOME.
func (a *app) activePolicy() (*policy.Policy, error) {
	p := filepath.Join(a.cfg.Home, policyFile)
	if _, err := os.Stat(p); err == nil {
		return policy.Load(p)
	}
	return policy.DefaultPolicy(), nil
}

// openGate returns the trust gate over the vault with the active policy.
func (a *app) openGate(ctx context.Context) (*gate.Gate, error) {
	v, err := a.openVault(ctx)
	if err != nil {
		return nil, err
	}
	p, err := a.activePolicy()
	if err != nil {
		return nil, err
	}
	return &gate.Gate{Vault: v, Decisions: v.Meta(), Policy: p}, nil
}

func (a *app) scanCommand() *cobra.Command {
	var asJSON, asSARIF bool
	cmd := &cobra.Command{
		Use:   "scan PATH|NAME[:TAG]",
		Short: "Scan model files for malicious payloads (exit 0 clean, 1 suspicious, 2 dangerous)",
		Long: `scan identifies every file by its content and checks it: pickle programs are
emulated (never run) and every import classified against an allow-list;
PyTorch zip and tar, NumPy, joblib and 7z containers, safetensors and GGUF
structure, GGUF chat templates, Keras archives and ONNX external data are
checked. A PATH (file or directory) is scanned without importing it, for CI
pipelines; a NAME scans a model in the vault. Anything that cannot be parsed
is a finding, never "safe". Exit status: 0 innocuous, 1 suspicious,
2 dangerous (and 2 for a usage error, 1 for other failures: tell them apart
by the output).`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if asJSON && asSARIF {
				return &usageError{errors.New("give --json or --sarif, not both")}
			}
			rep, err := a.scanTarget(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			switch {
			case asSARIF:
				b, err := rep.SARIF()
				if err != nil {
					return err
				}
				a.env.Stdout.Write(append(b, '\n'))
			case asJSON:
				if err := writeJSON(a.env.Stdout, rep); err != nil {
					return err
				}
			default:
				a.printScan(rep)
			}
			if code := rep.ExitCode(); code != 0 {
				return &exitError{code}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the report as JSON (per file: format, findings, pickleImportScan as the Hugging Face Hub shapes it)")
	cmd.Flags().BoolVar(&asSARIF, "sarif", false, "print the report as SARIF 2.1.0, for code-scanning tools")
	return cmd
}

// scanTarget scans a path on disk, or else a model in the vault.
func (a *app) scanTarget(ctx context.Context, target string) (*scan.Report, error) {
	if fi, err := os.Lstat(target); err == nil {
		if fi.IsDir() {
			return scan.Dir(ctx, target, scan.Options{})
		}
		fr, err := scan.File(ctx, target, scan.Options{})
		if err != nil {
			return nil, err
		}
		return scan.NewReport(filepath.Dir(target), *fr), nil
	}
	g, err := a.openGate(ctx)
	if err != nil {
		return nil, err
	}
	res, err := g.Evaluate(ctx, target)
	if err != nil {
		return nil, fmt.Errorf("%s is neither a file nor a model in the vault: %w", target, err)
	}
	return res.Scan, nil
}

func (a *app) printScan(rep *scan.Report) {
	w := a.env.Stdout
	for _, f := range rep.Files {
		fmt.Fprintf(w, "%-10s %s (%s)\n", f.Verdict, f.Path, orDash(f.Format))
		if f.PickleImportScan != nil {
			for _, im := range f.PickleImportScan.Imports {
				if im.Safety != scan.Innocuous {
					fmt.Fprintf(w, "             import %s.%s: %s\n", im.Module, im.Name, im.Safety)
				}
			}
		}
		for _, fd := range f.Findings {
			loc := ""
			if fd.Location != "" {
				loc = " [" + fd.Location + "]"
			}
			fmt.Fprintf(w, "             %s %s: %s%s\n", fd.Severity, fd.Rule, fd.Message, loc)
		}
	}
	fmt.Fprintf(w, "verdict: %s (%d files)\n", rep.Verdict, len(rep.Files))
}

func (a *app) decideCommand(state store.State) *cobra.Command {
	verb := "approve"
	if state == store.Rejected {
		verb = "reject"
	}
	var reason string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   verb + " NAME[:TAG]|DIGEST --reason TEXT",
		Short: strings.ToUpper(verb[:1]) + verb[1:] + " a model version by hand (policy cannot undo it)",
		Long: `Records a human decision — who, when, why — for the model version the name
points at. A human decision stands over the policy's: later policy evaluations
are recorded beside it and reported when they disagree, never applied over it.`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if strings.TrimSpace(reason) == "" {
				return &usageError{errors.New("--reason is required: say why")}
			}
			ctx := cmd.Context()
			g, err := a.openGate(ctx)
			if err != nil {
				return err
			}
			user := strings.TrimPrefix(cliActor(), "cli:")
			var d store.Decision
			if state == store.Approved {
				d, err = g.Approve(ctx, args[0], user, reason)
			} else {
				d, err = g.Reject(ctx, args[0], user, reason)
			}
			if err != nil {
				return err
			}
			if err := a.auditModel(ctx, "model."+verb, args[0], d.Digest.String(), map[string]any{"reason": reason}); err != nil {
				return err
			}
			if asJSON {
				return writeJSON(a.env.Stdout, d)
			}
			fmt.Fprintf(a.env.Stdout, "%s %s: %s by %s\n", args[0], d.Digest.Short(), d.State, user)
			return nil
		},
	}
	cmd.Flags().StringVar(&reason, "reason", "", "why (recorded with your user name and the time)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the recorded decision as JSON")
	return cmd
}

func (a *app) policyCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "policy",
		Short: "Explain and apply the trust policy (rules in CEL over scan, licence and provenance facts)",
		Long: `A policy is a YAML file of named rules, each a CEL expression over the model's
facts (model, scan, license) and the organisation's context (org), with an
action (allow, warn, quarantine, deny) and a message. Without one, sov applies
its built-in default (print it with ` + "`sov policy show --default`" + `). See
docs/design/trust.md.`,
	}
	var polPath string
	var checkJSON bool
	check := &cobra.Command{
		Use:   "check NAME[:TAG]|DIGEST [--policy FILE]",
		Short: "Evaluate a model and explain the decision: every rule that fired, and why",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			g, err := a.openGate(ctx)
			if err != nil {
				return err
			}
			if polPath != "" {
				if g.Policy, err = policy.Load(polPath); err != nil {
					return err
				}
			}
			res, err := g.Evaluate(ctx, args[0])
			if err != nil {
				return err
			}
			if checkJSON {
				return writeJSON(a.env.Stdout, res)
			}
			a.printResult(res)
			return nil
		},
	}
	check.Flags().StringVar(&polPath, "policy", "", "evaluate under this policy file instead of the one in force")
	check.Flags().BoolVar(&checkJSON, "json", false, "print facts, scan, licence and decision as JSON")

	var applyJSON bool
	apply := &cobra.Command{
		Use:   "apply FILE",
		Short: "Make FILE the policy in force and re-evaluate every model",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			p, err := policy.Load(args[0])
			if err != nil {
				return err
			}
			g, err := a.openGate(ctx)
			if err != nil {
				return err
			}
			// Keep exactly the text that is evaluated below.
			if err := atomicfile.WriteFile(filepath.Join(a.cfg.Home, policyFile), p.Source(), 0o600); err != nil {
				return err
			}
			res, err := g.Apply(ctx, p)
			if err != nil {
				return err
			}
			if err := a.auditModel(ctx, "policy.apply", "*", "", map[string]any{"policy": p.Digest().String(), "file": args[0], "models": len(res)}); err != nil {
				return err
			}
			if applyJSON {
				if res == nil {
					res = []*gate.Result{}
				}
				return writeJSON(a.env.Stdout, res)
			}
			tw := newTable(a.env.Stdout, "NAME", "TAG", "DIGEST", "POLICY", "STATE", "NOTE")
			for _, r := range res {
				note := ""
				switch {
				case r.Err != "":
					note = "error: " + r.Err
				case r.Disagrees:
					note = "policy disagrees with the human decision, which stands"
				case r.Decision != nil:
					note = r.Decision.Reason()
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", orDash(r.Name), orDash(r.Tag), r.Digest.Short(), r.PolicyState(), r.State, note)
			}
			return tw.Flush()
		},
	}
	apply.Flags().BoolVar(&applyJSON, "json", false, "print every model's result as JSON")

	var showDefault bool
	show := &cobra.Command{
		Use:   "show [--default]",
		Short: "Print the policy in force (or the built-in default)",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			if showDefault {
				fmt.Fprint(a.env.Stdout, policy.Default())
				return nil
			}
			p, err := a.activePolicy()
			if err != nil {
				return err
			}
			fmt.Fprint(a.env.Stdout, string(p.Source()))
			return nil
		},
	}
	show.Flags().BoolVar(&showDefault, "default", false, "print the built-in default policy")
	cmd.AddCommand(check, apply, show)
	return cmd
}

// printResult explains a gate result for people.
func (a *app) printResult(r *gate.Result) {
	w := a.env.Stdout
	name := r.Digest.Short()
	if r.Name != "" {
		name = r.Name + ":" + r.Tag
	}
	fmt.Fprintf(w, "%s (%s)\n", name, r.Digest)
	if r.Scan != nil {
		fmt.Fprintf(w, "  scan: %s (%d files)\n", r.Scan.Verdict, len(r.Scan.Files))
	}
	if r.Facts != nil {
		l := r.Facts.License
		known := ""
		if !l.Known {
			known = " (unknown: " + strings.Join(l.Unknown, "; ") + ")"
		}
		fmt.Fprintf(w, "  licence: %s%s\n", orDash(l.ID), known)
	}
	if r.Decision != nil {
		fmt.Fprintf(w, "  policy: %s\n", r.Decision.Outcome)
		for _, f := range r.Decision.Fired {
			fmt.Fprintf(w, "    %-10s %s: %s\n", f.Action, f.Rule, f.Message)
		}
	}
	fmt.Fprintf(w, "  state: %s", r.State)
	if r.Human != nil {
		fmt.Fprintf(w, " (by %s: %s)", r.Human.By, r.Human.Reason)
	}
	fmt.Fprintln(w)
	if r.Disagrees {
		fmt.Fprintln(w, "  note: the policy disagrees with the human decision, which stands")
	}
}
