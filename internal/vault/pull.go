package vault

import (
	"context"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	"sov.dev/sov/internal/hub"
	"sov.dev/sov/internal/manifest"
)

// PullOptions configure Pull.
type PullOptions struct {
	// Name is the reference to create; empty means the repository id, tagged
	// with the revision when one was given.
	Name string
	// Include limits the download to repository paths matching any of
	// these globs.
	Include []string
	// Progress receives download and import byte counts.
	Progress Progress
	// Downloaded, if set, is called when the download is complete and the
	// import starts.
	Downloaded func(snap *hub.Snapshot, files []hub.RepoFile)
}

// PullResult reports a pull.
type PullResult struct {
	*ImportResult
	Repo   string
	Commit string
}

// Pull downloads a Hugging Face Hub repository (hf://ORG/REPO[@REVISION]) at
// the commit its revision resolves to and imports it. Downloads are staged
// under SOV_HOME/downloads/ and resumed there if a pull is interrupted; they
// are removed once the model is in the vault.
func (v *Vault) Pull(ctx context.Context, c *hub.Client, src string, opts PullOptions) (*PullResult, error) {
	if v.home == "" {
		return nil, fmt.Errorf("pull needs a vault opened from SOV_HOME")
	}
	ref, err := hub.ParseRef(src)
	if err != nil {
		return nil, err
	}
	name := opts.Name
	if name == "" {
		name = ref.Repo
		if rev := ref.Revision; rev != "" && rev != "main" && tagRE.MatchString(rev) {
			name += ":" + rev
		}
	}
	to, err := ParseName(name)
	if err != nil {
		return nil, fmt.Errorf("%w (choose one with --name)", err)
	}
	snap, err := c.Resolve(ctx, ref)
	if err != nil {
		return nil, err
	}
	files, err := hub.FilterFiles(snap.Files, opts.Include)
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("%s@%s: no files match --include %s", snap.Repo, snap.Commit, strings.Join(opts.Include, " "))
	}
	dir := filepath.Join(v.home, pullsDir, strings.ReplaceAll(snap.Repo, "/", "--"), snap.Commit)
	if err := os.MkdirAll(dir, dirPerms); err != nil {
		return nil, err
	}
	var total int64
	for _, f := range files {
		total += f.Size
	}
	var dp hub.Progress
	if opts.Progress != nil {
		opts.Progress.AddTotal(total)
		dp = opts.Progress
	}
	if err := c.Download(ctx, snap, files, dir, dp); err != nil {
		return nil, err
	}
	if opts.Downloaded != nil {
		opts.Downloaded(snap, files)
	}
	sources := make([]sourceFile, 0, len(files))
	for _, f := range files {
		if err := manifest.ValidatePath(f.Path); err != nil {
			return nil, err
		}
		sources = append(sources, sourceFile{
			abs:  filepath.Join(dir, filepath.FromSlash(path.Clean(f.Path))),
			rel:  f.Path,
			size: f.Size,
		})
	}
	res, err := v.importSources(ctx, to, sources, ImportOptions{
		Source:   "hf://" + snap.Repo,
		Revision: snap.Commit,
		Progress: opts.Progress,
	})
	if err != nil {
		return nil, err
	}
	if err := os.RemoveAll(dir); err != nil {
		v.log.Warn("could not remove the download directory", "dir", dir, "err", err)
	}
	os.Remove(filepath.Dir(dir)) // the repository directory, if now empty
	return &PullResult{ImportResult: res, Repo: snap.Repo, Commit: snap.Commit}, nil
}
