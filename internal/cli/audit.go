package cli

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"sov.dev/sov/internal/audit"
	"sov.dev/sov/internal/config"
)

func (a *app) auditCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Verify and export the tamper-evident audit log",
		Long: `audit works on the log sov serve and the admin commands append to
(SOV_HOME/audit.db): every admin action and every inference request, chained
by SHA-256 hashes and periodically signed with the Ed25519 key in
SOV_HOME/audit.key. See docs/design/audit.md.`,
	}
	var pubPath string
	var verifyJSON bool
	verify := &cobra.Command{
		Use:   "verify",
		Short: "Check every entry and checkpoint; exit 1 and say where if anything was changed",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.auditVerify(cmd.Context(), pubPath, verifyJSON)
		},
	}
	verify.Flags().StringVar(&pubPath, "public-key", "", "check checkpoints with this public key file (default: SOV_HOME/audit.pub); a copy kept elsewhere is the stronger check")
	verify.Flags().BoolVar(&verifyJSON, "json", false, "print the report as JSON")

	var since, output string
	export := &cobra.Command{
		Use:   "export --since TIME",
		Short: "Write entries as JSON Lines",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.auditExport(cmd.Context(), since, output)
		},
	}
	export.Flags().StringVar(&since, "since", "", "entries at or after this time: RFC 3339 (2026-11-01T00:00:00Z), a date (2026-11-01) or a duration ago (24h, 7d)")
	export.Flags().StringVarP(&output, "output", "o", "", "write to this file instead of standard output")
	export.MarkFlagRequired("since")
	cmd.AddCommand(verify, export)
	return cmd
}

func (a *app) openAudit(ctx context.Context) (*audit.Log, error) {
	if _, err := os.Stat(a.cfg.Home); err != nil {
		return nil, fmt.Errorf("no sov home at %s: %w", a.cfg.Home, err)
	}
	return audit.Open(ctx, a.cfg.Home, audit.Options{Logger: a.log})
}

func (a *app) auditVerify(ctx context.Context, pubPath string, asJSON bool) error {
	l, err := a.openAudit(ctx)
	if err != nil {
		return err
	}
	defer l.Close()
	var opts audit.VerifyOptions
	if pubPath != "" {
		var pub ed25519.PublicKey
		if pub, err = audit.ReadPublicKey(pubPath); err != nil {
			return err
		}
		opts.PublicKey = pub
	}
	rep, err := l.Verify(ctx, opts)
	if err != nil {
		return err
	}
	if asJSON {
		out := verifyJSON{OK: rep.OK, Entries: rep.Entries, First: rep.First, Last: rep.Last,
			Checkpoints: rep.Checkpoints, ValidCheckpoints: rep.ValidCheckpoints, SignedThrough: rep.SignedThrough,
			PublicKey: rep.PublicKey, KeySource: rep.KeySource, Problems: []problemJSON{}, Omitted: rep.Omitted}
		for _, p := range rep.Problems {
			out.Problems = append(out.Problems, problemJSON{string(p.Kind), p.Seq, p.End, p.Message})
		}
		if err := writeJSON(a.env.Stdout, out); err != nil {
			return err
		}
	} else {
		for _, p := range rep.Problems {
			fmt.Fprintf(a.env.Stdout, "%s: %s\n", p.Kind, p.Message)
		}
		if rep.Omitted > 0 {
			fmt.Fprintf(a.env.Stdout, "… and %d more problems\n", rep.Omitted)
		}
		fmt.Fprintln(a.env.Stdout, rep.Summary())
	}
	if !rep.OK {
		return &exitError{ExitError}
	}
	return nil
}

func (a *app) auditExport(ctx context.Context, since, output string) error {
	t, err := parseSince(since, time.Now())
	if err != nil {
		return &usageError{fmt.Errorf("--since: %w", err)}
	}
	l, err := a.openAudit(ctx)
	if err != nil {
		return err
	}
	defer l.Close()
	w := a.env.Stdout
	if output != "" {
		f, err := os.OpenFile(output, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := l.Export(ctx, f, t); err != nil {
			return err
		}
		return f.Close()
	}
	return l.Export(ctx, w, t)
}

// parseSince reads an absolute time (RFC 3339 or a date) or a duration
// before now ("24h", "7d").
func parseSince(s string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if t, err := time.ParseInLocation(time.DateOnly, s, time.Local); err == nil {
		return t, nil
	}
	if d, err := config.ParseDuration(s); err == nil {
		return now.Add(-d), nil
	}
	return time.Time{}, fmt.Errorf("%q: want RFC 3339 (2026-11-01T00:00:00Z), a date (2026-11-01) or a duration ago (24h, 7d)", s)
}

// auditModel appends an admin action on the vault to the audit log. The
// action itself has already happened; a log that cannot record it is an
// error the caller must see.
func (a *app) auditModel(ctx context.Context, kind, ref, digest string, data map[string]any) error {
	l, err := audit.Open(ctx, a.cfg.Home, audit.Options{Logger: a.log})
	if err == nil {
		d := audit.Data{"model": ref}
		if digest != "" {
			d["digest"] = digest
		}
		for k, v := range data {
			d[k] = v
		}
		err = l.Append(ctx, audit.Entry{Kind: kind, Actor: cliActor(), Data: d})
		if cerr := l.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		return fmt.Errorf("%s done, but the audit log could not record it: %w", kind, err)
	}
	return nil
}

// verifyJSON is sov audit verify --json.
type verifyJSON struct {
	OK               bool          `json:"ok"`
	Entries          int64         `json:"entries"`
	First            int64         `json:"first"`
	Last             int64         `json:"last"`
	Checkpoints      int           `json:"checkpoints"`
	ValidCheckpoints int           `json:"valid_checkpoints"`
	SignedThrough    int64         `json:"signed_through"`
	PublicKey        string        `json:"public_key"`
	KeySource        string        `json:"key_source"`
	Problems         []problemJSON `json:"problems"`
	Omitted          int           `json:"omitted"`
}

type problemJSON struct {
	Kind    string `json:"kind"`
	Seq     int64  `json:"seq"`
	End     int64  `json:"end"`
	Message string `json:"message"`
}
