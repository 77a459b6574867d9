package vault

import (
	"context"
	"fmt"

	"sov.dev/sov/internal/blob"
	"sov.dev/sov/internal/digest"
)

// GCResult reports what GC removed (or, with dry run, would remove).
type GCResult struct {
	Removed []digest.Digest `json:"removed"`
	Bytes   int64           `json:"bytes"`
	DryRun  bool            `json:"dry_run"`
}

// GC removes every blob that no model version references. It first rolls
// back any interrupted write, and holds the vault exclusively while it runs.
func (v *Vault) GC(ctx context.Context, dryRun bool) (*GCResult, error) {
	release, err := v.exclusive(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	if err := v.recover(ctx); err != nil {
		return nil, err
	}
	referenced, err := v.meta.ReferencedBlobs(ctx)
	if err != nil {
		return nil, err
	}
	res := &GCResult{DryRun: dryRun, Removed: []digest.Digest{}}
	var orphans []blob.Info
	err = v.blobs.Walk(ctx, func(b blob.Info) error {
		if !referenced[b.Digest] {
			orphans = append(orphans, b)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("listing blobs: %w", err)
	}
	for _, b := range orphans {
		if !dryRun {
			if err := v.blobs.Delete(ctx, b.Digest); err != nil {
				return res, fmt.Errorf("removing blob %s: %w", b.Digest, err)
			}
		}
		res.Removed = append(res.Removed, b.Digest)
		res.Bytes += b.Size
	}
	return res, nil
}
