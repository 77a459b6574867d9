package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"sov.dev/sov/internal/progress"
)

func (a *app) gcCommand() *cobra.Command {
	var dryRun, asJSON bool
	cmd := &cobra.Command{
		Use:   "gc",
		Short: "Remove blobs that no model references",
		Long: `gc rolls back any interrupted import, then deletes every blob that no model
version references. It waits for other sov processes writing to the vault.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			v, err := a.openVault(cmd.Context())
			if err != nil {
				return err
			}
			res, err := v.GC(cmd.Context(), dryRun)
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(a.env.Stdout, res)
			}
			verb := "removed"
			if dryRun {
				verb = "would remove"
			}
			fmt.Fprintf(a.env.Stdout, "%s %d blobs (%s)\n", verb, len(res.Removed), progress.Bytes(res.Bytes))
			return nil
		},
	}
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "only report what would be removed")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the result as JSON")
	return cmd
}
