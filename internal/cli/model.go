package cli

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"sov.dev/sov/internal/gate"
	"sov.dev/sov/internal/hub"
	"sov.dev/sov/internal/progress"
	"sov.dev/sov/internal/store"
	"sov.dev/sov/internal/vault"
)

// listEntry is one element of model list --json: the vault's entry and the
// trust gate's state.
type listEntry struct {
	vault.Entry
	State string `json:"state"`
}

// gateImported runs the trust gate on a version just imported: scan,
// licence, policy; the decision is recorded.
func (a *app) gateImported(ctx context.Context, res *vault.ImportResult) (*gate.Result, error) {
	g, err := a.openGate(ctx)
	if err != nil {
		return nil, err
	}
	gr, err := g.Check(ctx, res.Digest.String())
	if err != nil {
		return nil, fmt.Errorf("imported %s:%s, but the trust gate could not check it (it stays quarantined): %w", res.Ref.Name, res.Ref.Tag, err)
	}
	return gr, nil
}

func gateSummary(gr *gate.Result) (state, verdict, lic, reason string) {
	state, verdict = string(store.Quarantined), "-"
	if gr == nil {
		return
	}
	state = string(gr.State)
	if gr.Scan != nil {
		verdict = string(gr.Scan.Verdict)
	}
	if gr.Facts != nil {
		lic = gr.Facts.License.ID
	}
	switch {
	case gr.Human != nil:
		reason = "by " + gr.Human.By + ": " + gr.Human.Reason
	case gr.Decision != nil:
		reason = gr.Decision.Reason()
	}
	return
}

func (a *app) modelCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "model",
		Short: "Import, pull, inspect, verify and export models in the vault",
	}
	cmd.AddCommand(
		a.importCommand(), a.pullCommand(), a.listCommand(), a.inspectCommand(),
		a.tagCommand(), a.rmCommand(), a.exportCommand(), a.verifyCommand(),
		a.scanCommand(), a.decideCommand(store.Approved), a.decideCommand(store.Rejected),
	)
	return cmd
}

func (a *app) importCommand() *cobra.Command {
	var name, source string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "import PATH",
		Short: "Import a model file or directory into the vault",
		Long: `Import copies a model file or directory into the vault, hashing every file
in one streaming pass, and records it as a new model version named by the
digest of its manifest. Importing the same content again stores nothing new.`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			v, err := a.openVault(ctx)
			if err != nil {
				return err
			}
			bar := a.bar("import")
			res, err := v.Import(ctx, args[0], vault.ImportOptions{Name: name, Source: source, Progress: bar})
			bar.Finish()
			if err != nil {
				return err
			}
			if err := a.auditModel(ctx, "model.add", res.Ref.Name+":"+res.Ref.Tag, res.Digest.String(), map[string]any{"source": args[0], "unchanged": res.Unchanged}); err != nil {
				return err
			}
			gr, err := a.gateImported(ctx, res)
			if err != nil {
				return err
			}
			return a.printImport(res, asJSON, gr)
		},
	}
	cmd.Flags().StringVar(&name, "name", "", "NAME[:TAG] to give the model (default: derived from PATH)")
	cmd.Flags().StringVar(&source, "source", "", "URL the model came from, recorded in its config")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the result as JSON")
	return cmd
}

// importJSON is the --json output of import and pull.
type importJSON struct {
	Name      string `json:"name"`
	Tag       string `json:"tag"`
	Digest    string `json:"digest"`
	Files     int    `json:"files"`
	Size      int64  `json:"size"`
	NewBlobs  int    `json:"new_blobs"`
	NewBytes  int64  `json:"new_bytes"`
	Unchanged bool   `json:"unchanged"`
	Repo      string `json:"repo,omitempty"`
	Commit    string `json:"commit,omitempty"`
	// The trust gate's verdict on the imported version.
	State   string `json:"state"`
	Scan    string `json:"scan"`
	License string `json:"license"`
	Reason  string `json:"reason,omitempty"`
}

func (a *app) printImport(res *vault.ImportResult, asJSON bool, gr *gate.Result, extra ...string) error {
	state, verdict, lic, reason := gateSummary(gr)
	if asJSON {
		out := importJSON{
			Name: res.Ref.Name, Tag: res.Ref.Tag, Digest: res.Digest.String(), Files: res.Files,
			Size: res.Bytes, NewBlobs: res.NewBlobs, NewBytes: res.NewBytes, Unchanged: res.Unchanged,
			State: state, Scan: verdict, License: lic, Reason: reason,
		}
		if len(extra) == 2 {
			out.Repo, out.Commit = extra[0], extra[1]
		}
		return writeJSON(a.env.Stdout, out)
	}
	defer func() {
		fmt.Fprintf(a.env.Stdout, "  trust gate: %s (scan %s, licence %s)", state, verdict, orDash(lic))
		if reason != "" {
			fmt.Fprintf(a.env.Stdout, ": %s", reason)
		}
		fmt.Fprintln(a.env.Stdout)
	}()
	w := a.env.Stdout
	fmt.Fprintf(w, "%s:%s %s\n", res.Ref.Name, res.Ref.Tag, res.Digest)
	fmt.Fprintf(w, "  %d files, %s; %d new blobs (%s)", res.Files, progress.Bytes(res.Bytes), res.NewBlobs, progress.Bytes(res.NewBytes))
	if res.Unchanged {
		fmt.Fprint(w, "; the vault already held this version")
	}
	fmt.Fprintln(w)
	return nil
}

func (a *app) pullCommand() *cobra.Command {
	var name string
	var include []string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "pull hf://ORG/REPO[@REVISION]",
		Short: "Download a model from the Hugging Face Hub into the vault",
		Long: `Pull resolves the revision (default main) to a commit, lists the repository's
files, downloads them in parallel (resuming an interrupted pull), checks LFS
files against the SHA-256 the Hub reports, and imports them. It is the only
command that uses the network. HF_ENDPOINT selects a mirror; HF_TOKEN gives
access to gated and private repositories.`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			v, err := a.openVault(ctx)
			if err != nil {
				return err
			}
			c := hub.NewClientFromEnv(a.env.Getenv)
			c.HTTP = &http.Client{Timeout: 0}
			bar := a.bar("pull")
			res, err := v.Pull(ctx, c, args[0], vault.PullOptions{Name: name, Include: include, Progress: bar})
			bar.Finish()
			if err != nil {
				return err
			}
			if !asJSON {
				fmt.Fprintf(a.env.Stdout, "pulled %s@%s\n", res.Repo, res.Commit)
			}
			if err := a.auditModel(ctx, "model.add", res.Ref.Name+":"+res.Ref.Tag, res.Digest.String(), map[string]any{"source": "hf://" + res.Repo + "@" + res.Commit, "unchanged": res.Unchanged}); err != nil {
				return err
			}
			gr, err := a.gateImported(ctx, res.ImportResult)
			if err != nil {
				return err
			}
			return a.printImport(res.ImportResult, asJSON, gr, res.Repo, res.Commit)
		},
	}
	cmd.Flags().StringVar(&name, "name", "", "NAME[:TAG] to give the model (default: the repository id)")
	cmd.Flags().StringArrayVar(&include, "include", nil, "download only repository paths matching this glob (repeatable)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the result as JSON")
	return cmd
}

func (a *app) listCommand() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List the models in the vault",
		Args:    exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			v, err := a.openVault(cmd.Context())
			if err != nil {
				return err
			}
			entries, err := v.List(cmd.Context())
			if err != nil {
				return err
			}
			standing, err := v.Meta().LatestDecisions(cmd.Context())
			if err != nil {
				return err
			}
			stateOf := func(e vault.Entry) string { return string(standing[e.Digest].State()) }
			if asJSON {
				out := make([]listEntry, 0, len(entries))
				for _, e := range entries {
					out = append(out, listEntry{e, stateOf(e)})
				}
				return writeJSON(a.env.Stdout, out)
			}
			tw := newTable(a.env.Stdout, "NAME", "TAG", "DIGEST", "FORMAT", "ARCH", "PARAMS", "QUANT", "SIZE", "STATE", "UPDATED")
			now := time.Now()
			for _, e := range entries {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.Name, e.Tag, e.Digest.Short(),
					orDash(e.Format), orDash(e.Architecture), params(e.ParameterCount), orDash(e.Quantization),
					progress.Bytes(e.Size), stateOf(e), ago(e.Updated, now))
			}
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the list as JSON")
	return cmd
}

func (a *app) inspectCommand() *cobra.Command {
	var asJSON, showManifest bool
	cmd := &cobra.Command{
		Use:   "inspect NAME[:TAG]|DIGEST",
		Short: "Show what a model is: format, architecture, parameters, files, metadata",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			v, err := a.openVault(cmd.Context())
			if err != nil {
				return err
			}
			if showManifest {
				b, _, err := v.Manifest(cmd.Context(), args[0])
				if err != nil {
					return err
				}
				_, err = a.env.Stdout.Write(append(b, '\n'))
				return err
			}
			info, err := v.Inspect(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(a.env.Stdout, info)
			}
			printInfo(a.env.Stdout, info)
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print everything as JSON")
	cmd.Flags().BoolVar(&showManifest, "manifest", false, "print the raw OCI/ModelPack manifest")
	return cmd
}

func (a *app) tagCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "tag SOURCE TARGET",
		Short: "Give a model version another NAME[:TAG]",
		Args:  exactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			v, err := a.openVault(cmd.Context())
			if err != nil {
				return err
			}
			if err := v.Tag(cmd.Context(), args[0], args[1]); err != nil {
				return err
			}
			return a.auditModel(cmd.Context(), "model.tag", args[1], "", map[string]any{"from": args[0]})
		},
	}
}

func (a *app) rmCommand() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:     "rm NAME[:TAG]|DIGEST",
		Aliases: []string{"remove"},
		Short:   "Remove a model reference (and the version, once nothing refers to it)",
		Long: `rm removes a reference. When no other reference points at the model version,
the version is removed too; its blobs stay on disk until ` + "`sov gc`" + ` removes those
no other model uses.`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			v, err := a.openVault(cmd.Context())
			if err != nil {
				return err
			}
			res, err := v.Remove(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if err := a.auditModel(cmd.Context(), "model.remove", args[0], string(res.Deleted), map[string]any{"untagged": res.Untagged}); err != nil {
				return err
			}
			if asJSON {
				if res.Untagged == nil {
					res.Untagged = []string{}
				}
				return writeJSON(a.env.Stdout, res)
			}
			for _, u := range res.Untagged {
				fmt.Fprintln(a.env.Stdout, "untagged", u)
			}
			if res.Deleted != "" {
				fmt.Fprintf(a.env.Stdout, "deleted %s (run `sov gc` to free up to %s)\n", res.Deleted, progress.Bytes(res.FreeableSize))
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the result as JSON")
	return cmd
}

func (a *app) exportCommand() *cobra.Command {
	var opts vault.ExportOptions
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "export NAME[:TAG]|DIGEST DIR",
		Short: "Materialise a model's files in DIR for another runtime",
		Long: `export writes the model's files under DIR at their paths in the model. On the
same filesystem they are hard links to the vault's read-only blobs (instant,
no extra space); otherwise they are copied and checked against their digests.`,
		Args: exactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			v, err := a.openVault(cmd.Context())
			if err != nil {
				return err
			}
			res, err := v.Export(cmd.Context(), args[0], args[1], opts)
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(a.env.Stdout, res)
			}
			fmt.Fprintf(a.env.Stdout, "exported to %s: %d linked, %d copied, %d already there (%s)\n",
				res.Dir, res.Linked, res.Copied, res.Skipped, progress.Bytes(res.Bytes))
			return nil
		},
	}
	cmd.Flags().BoolVar(&opts.Overwrite, "overwrite", false, "replace existing files that differ")
	cmd.Flags().BoolVar(&opts.Copy, "copy", false, "copy files even on the same filesystem")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the result as JSON")
	return cmd
}

func (a *app) verifyCommand() *cobra.Command {
	var all, asJSON bool
	cmd := &cobra.Command{
		Use:   "verify NAME[:TAG]|DIGEST... | --all",
		Short: "Re-hash every blob of a model and report missing or corrupted files",
		Long: `verify reads every byte of the model's files back from the vault, hashes them
in parallel and compares each with its digest. It reports every missing or
corrupted file by its path in the model and exits with status 1 if anything
is wrong.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if all == (len(args) > 0) {
				return &usageError{fmt.Errorf("give model references or --all")}
			}
			v, err := a.openVault(cmd.Context())
			if err != nil {
				return err
			}
			bar := a.bar("verify")
			rep, err := v.Verify(cmd.Context(), args, bar)
			bar.Finish()
			if err != nil {
				return err
			}
			if asJSON {
				if err := writeJSON(a.env.Stdout, rep); err != nil {
					return err
				}
			} else {
				printVerify(a.env.Stdout, rep)
			}
			if !rep.OK {
				return &exitError{ExitError}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&all, "all", false, "verify every model in the vault")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the report as JSON")
	return cmd
}

func printVerify(w interface{ Write([]byte) (int, error) }, rep *vault.VerifyReport) {
	for _, m := range rep.Models {
		name := m.Name + ":" + m.Tag
		if m.Name == "" {
			name = m.Digest.Short()
		}
		bad := 0
		for _, f := range m.Files {
			if f.Status == vault.StatusOK {
				continue
			}
			bad++
			detail := f.Status
			if f.Actual != "" {
				detail += ", content hashes to " + f.Actual.String()
			}
			if f.Error != "" {
				detail += ": " + f.Error
			}
			fmt.Fprintf(w, "%s: %s: %s (want %s)\n", name, f.Path, detail, f.Digest)
		}
		if bad == 0 {
			fmt.Fprintf(w, "%s: ok (%d files)\n", name, len(m.Files)-1)
		} else {
			fmt.Fprintf(w, "%s: FAILED: %d of %d files missing or corrupted\n", name, bad, len(m.Files))
		}
	}
	if len(rep.Models) == 0 {
		fmt.Fprintln(w, "no models to verify")
	}
}

func printInfo(w interface{ Write([]byte) (int, error) }, info *vault.Info) {
	kv := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	row := func(k, v string) {
		if v != "" {
			fmt.Fprintf(kv, "%s\t%s\n", k, v)
		}
	}
	row("Name", info.Name+":"+info.Tag)
	row("Digest", info.Digest.String())
	row("Format", info.Format)
	row("Architecture", info.Architecture)
	if info.ParameterCount > 0 {
		row("Parameters", fmt.Sprintf("%s (%d)", params(info.ParameterCount), info.ParameterCount))
	}
	row("Quantization", info.Quantization)
	row("Precision", info.Precision)
	if info.ContextLength > 0 {
		row("Context length", fmt.Sprint(info.ContextLength))
	}
	row("License", strings.Join(info.Licenses, ", "))
	row("Base model", strings.Join(info.BaseModels, ", "))
	row("Source", info.Source)
	row("Revision", info.Revision)
	row("Size", progress.Bytes(info.Size))
	row("Created", info.Created.Local().Format(time.RFC3339))
	kv.Flush()
	fmt.Fprintln(w)
	files := append(info.Files[:0:0], info.Files...)
	sort.Slice(files, func(i, j int) bool { return files[i].Path < files[j].Path })
	tw := newTable(w, "FILE", "KIND", "SIZE", "DIGEST", "DETAIL")
	for _, f := range files {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", f.Path, f.Kind, progress.Bytes(f.Size), f.Digest.Short(), f.Detail)
	}
	tw.Flush()
	for _, warn := range info.Warnings {
		fmt.Fprintln(w, "warning:", warn)
	}
}
