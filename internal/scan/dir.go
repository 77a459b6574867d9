package scan

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"

	"golang.org/x/sync/errgroup"
)

// Dir scans every file under root, a model directory, and returns one
// result per file (sorted by path) and the overall verdict.
//
// It does not follow symbolic links out of root: a link whose target
// leaves root is itself a finding and its target is not read; a link to a
// file inside root is scanned under the link's name (that is the name a
// loader opens). Directories named .git are skipped. Special files
// (devices, FIFOs, sockets) are findings and are never opened. At most
// opts.MaxFiles files are looked at; beyond that the report carries a
// suspicious finding for the root and stops.
//
// A file that cannot be read is a suspicious finding, not an error; the
// error is non-nil when root cannot be walked or ctx is done.
func Dir(ctx context.Context, root string, opts Options) (*Report, error) {
	fi, err := os.Stat(root)
	if err != nil {
		return nil, fmt.Errorf("scan: %w", err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("scan: %s is not a directory", root)
	}
	realRoot, err := filepath.EvalSymlinks(root)
	if err != nil {
		return nil, fmt.Errorf("scan: %w", err)
	}
	if realRoot, err = filepath.Abs(realRoot); err != nil {
		return nil, fmt.Errorf("scan: %w", err)
	}
	maxFiles := opts.MaxFiles
	if maxFiles <= 0 {
		maxFiles = DefaultMaxFiles
	}

	// Walk first, then scan: the walk decides what each entry is without
	// opening anything.
	type job struct {
		rel  string // slash path reported
		open string // path to open (a link's target for links inside root)
	}
	var (
		jobs  []job
		fixed []FileResult // entries judged without reading them
		count int
	)
	errTooMany := errors.New("too many files")
	walkErr := filepath.WalkDir(realRoot, func(p string, d fs.DirEntry, err error) error {
		if cerr := ctx.Err(); cerr != nil {
			return cerr
		}
		rel, relErr := filepath.Rel(realRoot, p)
		if relErr != nil {
			return relErr
		}
		slash := filepath.ToSlash(rel)
		if err != nil {
			if p == realRoot {
				return err
			}
			fixed = append(fixed, fsFinding(slash, 0, "fs.unreadable", Suspicious,
				fmt.Sprintf("cannot read: %v", err)))
			if d != nil && d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			if p != realRoot && d.Name() == ".git" {
				return fs.SkipDir
			}
			return nil
		}
		count++
		if count > maxFiles {
			return errTooMany
		}
		mode := d.Type()
		switch {
		case mode.IsRegular():
			jobs = append(jobs, job{rel: slash, open: p})
		case mode&fs.ModeSymlink != 0:
			target, fr, ok := resolveLink(realRoot, p, slash)
			if ok {
				jobs = append(jobs, job{rel: slash, open: target})
			} else {
				fixed = append(fixed, fr)
			}
		default:
			fixed = append(fixed, fsFinding(slash, 0, "fs.special-file", Suspicious,
				fmt.Sprintf("special file (%s) in a model directory; not opened", mode.Type())))
		}
		return nil
	})
	rep := NewReport(root)
	rep.dir = true
	switch {
	case errors.Is(walkErr, errTooMany):
		fixed = append(fixed, fsFinding(".", 0, "fs.too-many-files", Suspicious,
			fmt.Sprintf("more than %d files; the rest was not scanned", maxFiles)))
	case walkErr != nil:
		return nil, fmt.Errorf("scan: walking %s: %w", root, walkErr)
	}

	results := make([]FileResult, len(jobs))
	g, gctx := errgroup.WithContext(ctx)
	par := opts.Parallel
	if par <= 0 {
		par = runtime.GOMAXPROCS(0)
	}
	g.SetLimit(par)
	siblings := diskSibling(realRoot, realRoot)
	for i, j := range jobs {
		g.Go(func() error {
			r, err := scanPath(gctx, j.rel, j.open, siblings)
			if err != nil {
				if cerr := gctx.Err(); cerr != nil {
					return cerr
				}
				results[i] = fsFinding(j.rel, 0, "fs.unreadable", Suspicious, err.Error())
				return nil
			}
			results[i] = *r
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	for _, r := range append(results, fixed...) {
		rep.Add(r)
	}
	sort.SliceStable(rep.Files, func(a, b int) bool { return rep.Files[a].Path < rep.Files[b].Path })
	return rep, nil
}

// scanPath opens one regular file of a directory scan and scans it under
// the name rel. siblings resolves ONNX external data inside the root.
func scanPath(ctx context.Context, rel, open string, siblings func(string) (int64, bool)) (*FileResult, error) {
	f, err := os.Open(open)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s changed into a non-regular file during the scan", rel)
	}
	return scanContent(ctx, rel, f, fi.Size(), &scanEnv{sibling: siblings})
}

// resolveLink decides what to do with the symbolic link at p (slash path
// rel under root): ok with the target to scan when it is a regular file
// inside root, else a result that records why the link is not followed.
func resolveLink(root, p, rel string) (target string, fr FileResult, ok bool) {
	raw, _ := os.Readlink(p)
	resolved, err := filepath.EvalSymlinks(p)
	if err != nil {
		return "", fsFinding(rel, 0, "fs.symlink-broken", Innocuous,
			fmt.Sprintf("symbolic link to %q cannot be resolved; not followed", raw)), false
	}
	if !within(root, resolved) {
		return "", fsFinding(rel, 0, "fs.symlink-escape", Suspicious,
			fmt.Sprintf("symbolic link to %q leaves the scanned directory; its target was not scanned", raw)), false
	}
	fi, err := os.Stat(resolved)
	switch {
	case err != nil:
		return "", fsFinding(rel, 0, "fs.unreadable", Suspicious, fmt.Sprintf("cannot stat link target: %v", err)), false
	case fi.IsDir():
		return "", fsFinding(rel, 0, "fs.symlink-dir", Innocuous,
			fmt.Sprintf("symbolic link to directory %q inside the scanned directory; scanned under its own path", raw)), false
	case !fi.Mode().IsRegular():
		return "", fsFinding(rel, 0, "fs.special-file", Suspicious,
			fmt.Sprintf("symbolic link to a special file (%s); not opened", fi.Mode().Type())), false
	}
	return resolved, FileResult{}, true
}

// fsFinding is the result for an entry judged without reading it.
func fsFinding(rel string, size int64, rule string, sev Safety, msg string) FileResult {
	r := FileResult{Path: rel, Size: size, Format: "unscanned", Findings: []Finding{}, Verdict: Innocuous}
	r.Add(Finding{Rule: rule, Severity: sev, Message: msg})
	return r
}
