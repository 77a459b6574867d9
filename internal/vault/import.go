package vault

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"golang.org/x/sync/errgroup"

	"sov.dev/sov/internal/blob"
	"sov.dev/sov/internal/digest"
	"sov.dev/sov/internal/manifest"
	"sov.dev/sov/internal/modelinfo"
	"sov.dev/sov/internal/store"
)

// ImportOptions configure Import.
type ImportOptions struct {
	// Name is the reference to point at the new version; empty derives one
	// from the path.
	Name string
	// Source and Revision are recorded in the model's config (e.g. the URL
	// it came from and the commit it was resolved to).
	Source   string
	Revision string
	// Progress, if set, is told how many bytes to expect and how many were
	// hashed.
	Progress Progress
}

// Progress receives byte counts as files are stored.
type Progress interface {
	AddTotal(n int64)
	Add(n int64)
}

// ImportResult describes an import.
type ImportResult struct {
	Ref       Reference
	Digest    digest.Digest
	Files     int
	Bytes     int64
	NewBlobs  int   // blobs the vault did not hold before
	NewBytes  int64 // their size
	Unchanged bool  // the vault already held this exact version
}

// A FileError names the file an import failed on.
type FileError struct {
	Path string // the path in the model (or on disk, before it has one)
	Err  error
}

func (e *FileError) Error() string { return e.Path + ": " + e.Err.Error() }
func (e *FileError) Unwrap() error { return e.Err }

// sourceFile is a file found under the import root.
type sourceFile struct {
	abs  string // path on disk
	rel  string // path in the model, slash-separated
	size int64
}

// Import stores the file or directory at src as a new model version and
// points opts.Name at it. Every file is hashed in one streaming pass while it
// is copied into the blob store; files are processed in parallel. On any
// error, or when ctx is cancelled, the vault is left exactly as it was.
func (v *Vault) Import(ctx context.Context, src string, opts ImportOptions) (*ImportResult, error) {
	ref, err := v.importName(src, opts.Name)
	if err != nil {
		return nil, err
	}
	files, err := collect(src)
	if err != nil {
		return nil, err
	}
	return v.importSources(ctx, ref, files, opts)
}

// importSources stores files as one model version named ref.
func (v *Vault) importSources(ctx context.Context, ref Reference, files []sourceFile, opts ImportOptions) (*ImportResult, error) {
	var total int64
	for _, f := range files {
		total += f.size
	}
	if opts.Progress != nil {
		opts.Progress.AddTotal(total)
	}

	release, err := v.shared(ctx)
	if err != nil {
		return nil, err
	}
	pendingID := newID()
	res, err := v.importFiles(ctx, ref, files, opts, pendingID)
	release()
	if err != nil {
		v.rollback(pendingID)
		return nil, err
	}
	return res, nil
}

func (v *Vault) importName(src, name string) (Reference, error) {
	if name == "" {
		abs, err := filepath.Abs(src)
		if err != nil {
			return Reference{}, err
		}
		name = DefaultName(filepath.Base(abs))
	}
	return ParseName(name)
}

// collect lists the regular files to import. Directories are walked; symbolic
// links are followed only while they stay inside the root; anything else
// (devices, sockets, pipes) is an error, as is a link leaving the root.
func collect(src string) ([]sourceFile, error) {
	info, err := os.Stat(src)
	if err != nil {
		return nil, fmt.Errorf("import: %w", err)
	}
	if !info.IsDir() {
		if !info.Mode().IsRegular() {
			return nil, &FileError{Path: src, Err: fmt.Errorf("not a regular file (%s)", info.Mode().Type())}
		}
		return []sourceFile{{abs: src, rel: filepath.Base(src), size: info.Size()}}, nil
	}
	root, err := filepath.EvalSymlinks(src)
	if err != nil {
		return nil, fmt.Errorf("import: %w", err)
	}
	root, err = filepath.Abs(root)
	if err != nil {
		return nil, err
	}
	var files []sourceFile
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return &FileError{Path: p, Err: unwrapPathError(err)}
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		if rel == "." {
			return nil
		}
		if d.IsDir() {
			if d.Name() == ".git" {
				return filepath.SkipDir
			}
			return nil
		}
		relSlash := filepath.ToSlash(rel)
		if err := manifest.ValidatePath(relSlash); err != nil {
			return &FileError{Path: rel, Err: err}
		}
		mode := d.Type()
		if mode&fs.ModeSymlink != 0 {
			target, err := filepath.EvalSymlinks(p)
			if err != nil {
				return &FileError{Path: rel, Err: fmt.Errorf("broken symbolic link: %w", unwrapPathError(err))}
			}
			if inside, _ := filepath.Rel(root, target); inside == ".." || strings.HasPrefix(inside, ".."+string(filepath.Separator)) || filepath.IsAbs(inside) {
				return &FileError{Path: rel, Err: fmt.Errorf("symbolic link leaves the imported directory (points to %s)", target)}
			}
			ti, err := os.Stat(target)
			if err != nil {
				return &FileError{Path: rel, Err: unwrapPathError(err)}
			}
			if ti.IsDir() {
				return &FileError{Path: rel, Err: errors.New("symbolic link to a directory is not supported; import the directory itself")}
			}
			if !ti.Mode().IsRegular() {
				return &FileError{Path: rel, Err: fmt.Errorf("symbolic link to a %s, not a regular file", ti.Mode().Type())}
			}
			files = append(files, sourceFile{abs: target, rel: relSlash, size: ti.Size()})
			return nil
		}
		if !mode.IsRegular() {
			return &FileError{Path: rel, Err: fmt.Errorf("not a regular file (%s)", mode)}
		}
		fi, err := d.Info()
		if err != nil {
			return &FileError{Path: rel, Err: unwrapPathError(err)}
		}
		files = append(files, sourceFile{abs: p, rel: relSlash, size: fi.Size()})
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("import %s: the directory holds no files", src)
	}
	return files, nil
}

func unwrapPathError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// storedFile is a file after it was stored and described.
type storedFile struct {
	info    modelinfo.File
	created bool
}

func (v *Vault) importFiles(ctx context.Context, ref Reference, files []sourceFile, opts ImportOptions, pendingID string) (*ImportResult, error) {
	stored := make([]storedFile, len(files))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(1, v.Parallel))
	for i, f := range files {
		g.Go(func() error {
			c, err := v.storeFile(gctx, f, pendingID, opts.Progress)
			if err != nil {
				return &FileError{Path: f.rel, Err: err}
			}
			info, err := v.describeBlob(gctx, c.Digest, c.Size, f.rel)
			if err != nil {
				return &FileError{Path: f.rel, Err: err}
			}
			stored[i] = storedFile{info: info, created: c.Created}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("import interrupted: %w", context.Cause(ctx))
		}
		return nil, err
	}

	infos := make([]modelinfo.File, len(stored))
	res := &ImportResult{Ref: ref, Files: len(stored)}
	for i, s := range stored {
		infos[i] = s.info
		res.Bytes += s.info.Size
		if s.created {
			res.NewBlobs++
			res.NewBytes += s.info.Size
		}
	}
	sort.Slice(infos, func(i, j int) bool { return infos[i].Path < infos[j].Path })
	summary := modelinfo.Summarize(infos)

	mfiles := make([]manifest.File, len(infos))
	for i, f := range infos {
		mfiles[i] = manifest.File{Path: f.Path, Digest: f.Digest, Size: f.Size, MediaType: f.MediaType}
	}
	cfg := summary.ModelPackConfig()
	cfg.Descriptor.SourceURL = opts.Source
	cfg.Descriptor.Revision = opts.Revision
	configJSON, manifestJSON, err := manifest.Build(mfiles, cfg)
	if err != nil {
		return nil, err
	}
	cfgCommit, err := v.storeBytes(ctx, configJSON, pendingID)
	if err != nil {
		return nil, fmt.Errorf("storing model config: %w", err)
	}
	if cfgCommit.Created {
		res.NewBlobs++
		res.NewBytes += cfgCommit.Size
	}
	m, err := manifest.Parse(manifestJSON)
	if err != nil {
		return nil, fmt.Errorf("internal error: built an invalid manifest: %w", err)
	}
	facts, err := json.Marshal(Facts{Summary: summary, Files: infos})
	if err != nil {
		return nil, err
	}
	res.Digest = digest.FromBytes(manifestJSON)
	if _, err := v.meta.Model(ctx, res.Digest); err == nil {
		res.Unchanged = true
	}
	source := opts.Source
	if source == "" {
		source = "import"
	}
	model := store.Model{
		Digest:   res.Digest,
		Manifest: manifestJSON,
		Facts:    facts,
		Blobs:    m.Blobs(),
		Source:   source,
		Created:  v.now().UTC(),
	}
	refs := []store.Ref{{Name: ref.Name, Tag: ref.Tag, Digest: res.Digest, Updated: v.now().UTC()}}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("import interrupted: %w", context.Cause(ctx))
	}
	if err := v.meta.PutModel(ctx, model, refs, pendingID); err != nil {
		return nil, fmt.Errorf("recording the model: %w", err)
	}
	return res, nil
}

// Facts is what the vault records about a model version at import: the
// summary and every file's description. It is the body of inspect --json.
type Facts struct {
	modelinfo.Summary
	Files []modelinfo.File `json:"files"`
}

// storeFile copies one file into the blob store, hashing it on the way, and
// records it as pending before it becomes visible.
func (v *Vault) storeFile(ctx context.Context, f sourceFile, pendingID string, p Progress) (blob.Committed, error) {
	in, err := os.Open(f.abs)
	if err != nil {
		return blob.Committed{}, unwrapPathError(err)
	}
	defer in.Close()
	w, err := v.blobs.Create(ctx)
	if err != nil {
		return blob.Committed{}, err
	}
	defer w.Cancel(context.WithoutCancel(ctx))
	buf := make([]byte, 1<<20)
	for {
		if err := ctx.Err(); err != nil {
			return blob.Committed{}, context.Cause(ctx)
		}
		n, rerr := in.Read(buf)
		if n > 0 {
			if _, err := w.Write(buf[:n]); err != nil {
				return blob.Committed{}, fmt.Errorf("writing to the vault: %w", err)
			}
			if p != nil {
				p.Add(int64(n))
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return blob.Committed{}, fmt.Errorf("reading: %w", unwrapPathError(rerr))
		}
	}
	if w.Size() != f.size {
		return blob.Committed{}, fmt.Errorf("file changed while it was imported (size %d, now %d)", f.size, w.Size())
	}
	return v.commit(ctx, w, pendingID)
}

// storeBytes stores b as a blob, recorded as pending first.
func (v *Vault) storeBytes(ctx context.Context, b []byte, pendingID string) (blob.Committed, error) {
	w, err := v.blobs.Create(ctx)
	if err != nil {
		return blob.Committed{}, err
	}
	defer w.Cancel(context.WithoutCancel(ctx))
	if _, err := w.Write(b); err != nil {
		return blob.Committed{}, err
	}
	return v.commit(ctx, w, pendingID)
}

func (v *Vault) commit(ctx context.Context, w blob.Writer, pendingID string) (blob.Committed, error) {
	d := w.Digest()
	if err := v.meta.AddPending(ctx, pendingID, d); err != nil {
		return blob.Committed{}, fmt.Errorf("recording pending write: %w", err)
	}
	return w.Commit(ctx, d)
}

// describeBlob works out what a stored file is, reading the immutable blob
// rather than the source file, which could change under us.
func (v *Vault) describeBlob(ctx context.Context, d digest.Digest, size int64, path string) (modelinfo.File, error) {
	r, err := v.blobs.Open(ctx, d)
	if err != nil {
		return modelinfo.File{}, err
	}
	defer r.Close()
	info, err := modelinfo.Describe(r, size, path)
	if err != nil {
		return modelinfo.File{}, err
	}
	info.Path = path
	info.Size = size
	info.Digest = d
	return info, nil
}
