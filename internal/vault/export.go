package vault

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"sov.dev/sov/internal/blob"
	"sov.dev/sov/internal/digest"
	"sov.dev/sov/internal/manifest"
)

// ExportOptions configure Export.
type ExportOptions struct {
	// Overwrite replaces existing files with different content instead of
	// failing.
	Overwrite bool
	// Copy always copies, never hard-links.
	Copy bool
}

// ExportResult reports what Export did.
type ExportResult struct {
	Dir     string `json:"dir"`
	Linked  int    `json:"linked"`
	Copied  int    `json:"copied"`
	Skipped int    `json:"skipped"` // already present with the same content
	Bytes   int64  `json:"bytes"`
}

// Export materialises a model version's files under dir, at their paths in
// the model, for another runtime to use. On the same filesystem files are
// hard links to the vault's read-only blobs (no copy, no extra space);
// otherwise they are copied (to a temporary file, then renamed) and the copy
// is checked against the digest.
func (v *Vault) Export(ctx context.Context, ref, dir string, opts ExportOptions) (*ExportResult, error) {
	r, err := v.resolve(ctx, ref)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	root, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	res := &ExportResult{Dir: root}
	pather, _ := v.blobs.(blob.Pather)
	for _, l := range r.man.Layers {
		p := l.Path()
		if err := manifest.ValidatePath(p); err != nil {
			return res, err
		}
		dst := filepath.Join(root, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return res, &FileError{Path: p, Err: err}
		}
		if same, err := sameContent(dst, l.Digest, l.Size, pather); err != nil {
			return res, &FileError{Path: p, Err: err}
		} else if same {
			res.Skipped++
			continue
		}
		if _, err := os.Lstat(dst); err == nil && !opts.Overwrite {
			return res, &FileError{Path: p, Err: fmt.Errorf("%s already exists with other content (use --overwrite)", dst)}
		}
		if pather != nil && !opts.Copy {
			src, err := pather.Path(l.Digest)
			if err == nil {
				tmp := dst + ".sov-tmp"
				os.Remove(tmp)
				if err := os.Link(src, tmp); err == nil {
					if err := os.Rename(tmp, dst); err != nil {
						os.Remove(tmp)
						return res, &FileError{Path: p, Err: err}
					}
					res.Linked++
					res.Bytes += l.Size
					continue
				}
			}
		}
		if err := v.copyBlob(ctx, l.Digest, dst); err != nil {
			return res, &FileError{Path: p, Err: err}
		}
		res.Copied++
		res.Bytes += l.Size
	}
	return res, nil
}

// sameContent reports whether dst already is the blob: the same inode, or a
// file of the same size and digest.
func sameContent(dst string, d digest.Digest, size int64, pather blob.Pather) (bool, error) {
	fi, err := os.Stat(dst)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if !fi.Mode().IsRegular() || fi.Size() != size {
		return false, nil
	}
	if pather != nil {
		if src, err := pather.Path(d); err == nil {
			if si, err := os.Stat(src); err == nil && os.SameFile(si, fi) {
				return true, nil
			}
		}
	}
	f, err := os.Open(dst)
	if err != nil {
		return false, err
	}
	defer f.Close()
	h := digest.NewHash()
	if _, err := io.Copy(h, f); err != nil {
		return false, err
	}
	return digest.FromHash(h) == d, nil
}

func (v *Vault) copyBlob(ctx context.Context, d digest.Digest, dst string) error {
	in, err := v.blobs.Open(ctx, d)
	if err != nil {
		return err
	}
	defer in.Close()
	tmp, err := os.CreateTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".sov-tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	h := digest.NewHash()
	if _, err := io.Copy(io.MultiWriter(tmp, h), in); err != nil {
		tmp.Close()
		return err
	}
	if got := digest.FromHash(h); got != d {
		tmp.Close()
		return fmt.Errorf("blob %s is corrupted in the vault (content hashes to %s); run `sov model verify`", d, got)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), dst)
}
