package hub

import (
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sync/errgroup"
)

// Progress receives byte counts as a download advances. Download first adds
// the bytes already on disk (complete files it skips, partial files it
// resumes), then every byte it receives; when a partial file has to start
// over it adds a negative count. The sum reaches Size(files) when all files
// are done. Add is called from several goroutines at once.
type Progress interface {
	Add(n int64)
}

// ProgressFunc adapts a function to Progress.
type ProgressFunc func(n int64)

// Add calls f(n).
func (f ProgressFunc) Add(n int64) { f(n) }

const copyBufSize = 256 << 10

// Download fetches files of snap into dir (created if missing), at most
// Parallel at a time. Each file downloads into "<dir>/<path>.part" and is
// renamed to "<dir>/<path>" only once its size and digest match the
// listing: the LFS sha256 for LFS files, the git blob sha1 for the others.
// A mismatching file is deleted and reported with a *VerifyError.
//
// Download can be run again after a failure or interruption: complete files
// that verify are skipped, and ".part" files are resumed with a Range
// request. Transient failures (connection errors, stalls, 5xx, 429) are
// retried with backoff. All paths are validated before anything touches
// the disk, and every file operation goes through an os.Root, so nothing is
// written outside dir.
//
// When ctx is cancelled Download returns promptly with ctx's error, leaving
// only complete files and ".part" files behind. An answer that applies to
// the whole repository (gated, access denied, not found) stops all files
// and is returned once. Otherwise a failure of one file does not stop the
// others; their errors are joined.
func (c *Client) Download(ctx context.Context, snap *Snapshot, files []RepoFile, dir string, p Progress) error {
	if snap == nil {
		return errors.New("hub: Download: nil snapshot")
	}
	if err := ValidateRepoID(snap.Repo); err != nil {
		return fmt.Errorf("hub: %w", err)
	}
	if !isHex(snap.Commit, 40) {
		return fmt.Errorf("hub: snapshot of %s: commit %q is not 40 hex digits", snap.Repo, snap.Commit)
	}
	if err := checkFiles(files); err != nil {
		return fmt.Errorf("hub: %w", err)
	}
	ep, base, err := c.endpoint()
	if err != nil {
		return err
	}
	if p == nil {
		p = ProgressFunc(func(int64) {})
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("hub: %w", err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return fmt.Errorf("hub: %w", err)
	}
	defer root.Close()

	parallel := c.Parallel
	if parallel <= 0 {
		parallel = DefaultParallel
	}
	// An answer that will be the same for every file (gated, no access,
	// repository gone) stops the whole download and is reported once.
	dctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	var (
		g    errgroup.Group
		mu   sync.Mutex
		errs []error
	)
	g.SetLimit(parallel)
	for _, f := range files {
		if dctx.Err() != nil {
			break
		}
		d := &download{
			c:    c,
			root: root,
			snap: snap,
			f:    f,
			p:    p,
			base: base,
			url:  ep + "/" + snap.Repo + "/resolve/" + snap.Commit + "/" + escapePath(f.Path),
		}
		g.Go(func() error {
			err := d.run(dctx)
			switch {
			case err == nil:
			case isRepoWide(err):
				stop(err)
			default:
				var ve *VerifyError
				if !errors.As(err, &ve) {
					err = fmt.Errorf("%s: %w", f.Path, err)
				}
				mu.Lock()
				errs = append(errs, fmt.Errorf("hub: %w", err))
				mu.Unlock()
			}
			return nil
		})
	}
	g.Wait()
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("hub: download of %s interrupted; run it again to resume: %w", snap.Repo, err)
	}
	if cause := context.Cause(dctx); cause != nil {
		return fmt.Errorf("hub: %w", cause)
	}
	slices.SortFunc(errs, func(a, b error) int { return strings.Compare(a.Error(), b.Error()) })
	return errors.Join(errs...)
}

// isRepoWide reports errors that every file of the repository would get.
func isRepoWide(err error) bool {
	for _, target := range []error{ErrGated, ErrUnauthorized, ErrRepoNotFound, ErrRevisionNotFound} {
		if errors.Is(err, target) {
			return true
		}
	}
	return false
}

// download is the state of one file's download.
type download struct {
	c    *Client
	root *os.Root
	snap *Snapshot
	f    RepoFile
	p    Progress
	base *url.URL
	url  string

	part *os.File
	off  int64 // bytes in part, all of them hashed into v
	v    verifier
}

func (d *download) run(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	done, err := d.haveFinal(ctx)
	if err != nil || done {
		return err
	}
	if dir := path.Dir(d.f.Path); dir != "." {
		if err := d.root.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	partName := d.f.Path + partSuffix
	d.part, err = d.root.OpenFile(partName, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	defer func() {
		if d.part != nil {
			d.part.Close()
		}
	}()
	if err := d.resumePart(ctx); err != nil {
		return err
	}
	resumed := d.off
	for {
		if d.off < d.f.Size {
			err := d.c.retry(ctx, d.f.Path, func() (bool, error) { return d.fetch(ctx) })
			if err != nil {
				return err
			}
		}
		verr := d.check()
		if verr == nil {
			break
		}
		if resumed > 0 {
			// The part from an earlier run may hold other bytes (another
			// commit's version of the file, a damaged disk): start over once.
			d.c.logger().Warn("hub: resumed file does not verify; downloading it again", "path", d.f.Path, "err", verr)
			resumed = 0
			if err := d.restart(); err != nil {
				return err
			}
			continue
		}
		d.discard(partName)
		return verr
	}
	if err := d.part.Sync(); err != nil {
		return err
	}
	err = d.part.Close()
	d.part = nil
	if err != nil {
		return err
	}
	return d.root.Rename(partName, d.f.Path)
}

// check compares what was downloaded with the listing.
func (d *download) check() error {
	if got, want := d.off, d.f.Size; got != want {
		return &VerifyError{Path: d.f.Path, Algorithm: "size", Want: strconv.FormatInt(want, 10), Got: strconv.FormatInt(got, 10)}
	}
	if got := d.v.sum(); got != d.v.want {
		return &VerifyError{Path: d.f.Path, Algorithm: d.v.algo, Want: d.v.want, Got: got}
	}
	return nil
}

// discard closes and removes a part file whose content is wrong.
func (d *download) discard(name string) {
	d.part.Close()
	d.part = nil
	if err := d.root.Remove(name); err != nil {
		d.c.logger().Warn("hub: removing bad partial file", "path", name, "err", err)
	}
}

// haveFinal reports whether the final file is already there and verifies.
// A final file that does not verify is removed.
func (d *download) haveFinal(ctx context.Context) (bool, error) {
	fi, err := d.root.Lstat(d.f.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if fi.IsDir() {
		return false, fmt.Errorf("%s exists and is a directory", d.f.Path)
	}
	if fi.Mode().IsRegular() && fi.Size() == d.f.Size {
		ok, err := d.verifyFinal(ctx)
		if err != nil || ok {
			if ok {
				d.p.Add(d.f.Size)
			}
			return ok, err
		}
	}
	d.c.logger().Warn("hub: replacing file that does not match the listing", "path", d.f.Path)
	return false, d.root.Remove(d.f.Path)
}

func (d *download) verifyFinal(ctx context.Context) (bool, error) {
	fh, err := d.root.Open(d.f.Path)
	if err != nil {
		return false, err
	}
	defer fh.Close()
	v := newVerifier(d.f)
	n, err := hashFrom(ctx, v.h, fh, d.f.Size)
	if err != nil {
		return false, err
	}
	return n == d.f.Size && v.sum() == v.want, nil
}

// resumePart hashes what an existing part file holds so that the download
// can continue after it; a part longer than the file is truncated.
func (d *download) resumePart(ctx context.Context) error {
	d.v = newVerifier(d.f)
	fi, err := d.part.Stat()
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s%s is not a regular file", d.f.Path, partSuffix)
	}
	size := fi.Size()
	if size > d.f.Size {
		d.c.logger().Warn("hub: partial file longer than the listing says; starting over", "path", d.f.Path)
		if err := d.part.Truncate(0); err != nil {
			return err
		}
		size = 0
	}
	if size > 0 {
		n, err := hashFrom(ctx, d.v.h, io.NewSectionReader(d.part, 0, size), size)
		if err != nil {
			return err
		}
		if n != size {
			return fmt.Errorf("%s%s: read %d of %d bytes", d.f.Path, partSuffix, n, size)
		}
		d.c.logger().Debug("hub: resuming", "path", d.f.Path, "offset", size)
	}
	d.off = size
	d.p.Add(size)
	return nil
}

// restart empties the part file when the server cannot resume.
func (d *download) restart() error {
	if err := d.part.Truncate(0); err != nil {
		return err
	}
	d.p.Add(-d.off)
	d.off = 0
	d.v = newVerifier(d.f)
	return nil
}

// fetch is one attempt to get the rest of the file. It reports whether any
// byte arrived, so that retries continue while the transfer advances.
func (d *download) fetch(ctx context.Context) (bool, error) {
	c := d.c
	rctx, wd := c.startWatchdog(ctx)
	defer wd.stop()
	req, err := c.newRequest(rctx, d.url, d.base)
	if err != nil {
		return false, err
	}
	// Ask for the bytes as stored: offsets of a resumed download and the
	// Content-Length check are about those, not about a compressed form.
	req.Header.Set("Accept-Encoding", "identity")
	asked := d.off
	if asked > 0 {
		req.Header.Set("Range", "bytes="+strconv.FormatInt(asked, 10)+"-")
	}
	resp, err := c.httpClient().Do(req)
	if err != nil {
		return false, transportError(ctx, rctx, err, "GET "+d.url)
	}
	defer resp.Body.Close()
	ec := errorContext{repo: d.snap.Repo, revision: d.snap.Commit, path: d.f.Path, notFound: ErrEntryNotFound}
	switch resp.StatusCode {
	case http.StatusOK:
		if asked > 0 {
			c.logger().Debug("hub: server ignored Range; starting over", "path", d.f.Path)
			if err := d.restart(); err != nil {
				return false, err
			}
		}
	case http.StatusPartialContent:
		start, total, err := parseContentRange(resp.Header.Get("Content-Range"))
		if err != nil {
			return false, fmt.Errorf("answer to Range bytes=%d-: %w", asked, err)
		}
		if start != asked {
			return false, fmt.Errorf("asked for bytes from %d, server sent bytes from %d", asked, start)
		}
		if total >= 0 && total != d.f.Size {
			return false, &VerifyError{Path: d.f.Path, Algorithm: "size", Want: strconv.FormatInt(d.f.Size, 10), Got: strconv.FormatInt(total, 10)}
		}
	case http.StatusRequestedRangeNotSatisfiable:
		if asked > 0 {
			c.logger().Debug("hub: server refused Range; starting over", "path", d.f.Path)
			if err := d.restart(); err != nil {
				return false, err
			}
			resp.Body.Close()
			return false, &retryable{err: fmt.Errorf("server refused Range bytes=%d-", asked)}
		}
		return false, c.responseError(resp, ec)
	default:
		return false, c.responseError(resp, ec)
	}
	if rc := resp.Header.Get("X-Repo-Commit"); rc != "" && rc != d.snap.Commit {
		return false, fmt.Errorf("server sent the file from commit %.40q, expected %s", rc, d.snap.Commit)
	}
	remaining := d.f.Size - d.off
	if resp.ContentLength >= 0 && resp.ContentLength != remaining {
		return false, &VerifyError{Path: d.f.Path, Algorithm: "size",
			Want: strconv.FormatInt(d.f.Size, 10), Got: strconv.FormatInt(d.off+resp.ContentLength, 10)}
	}
	wd.kick()
	n, err := d.copy(kickReader{resp.Body, wd}, remaining)
	if err != nil {
		var rerr readError
		if errors.As(err, &rerr) {
			return n > 0, transportError(ctx, rctx, rerr.err, "reading "+d.f.Path)
		}
		return n > 0, err
	}
	// Reading on to the end of the body lets the connection be reused.
	io.CopyN(io.Discard, resp.Body, 1)
	return n > 0, nil
}

// readError marks a failure to read the response (as opposed to a local
// write failure, which is not retried).
type readError struct{ err error }

func (e readError) Error() string { return e.err.Error() }

// copy appends up to want bytes from r to the part file, hashing and
// reporting them as they arrive. Bytes past want are not read: the digest
// covers exactly the listed size.
func (d *download) copy(r io.Reader, want int64) (int64, error) {
	buf := make([]byte, min(int64(copyBufSize), max(want, 1)))
	var got int64
	for got < want {
		n, rerr := r.Read(buf[:min(int64(len(buf)), want-got)])
		if n > 0 {
			if _, err := d.part.WriteAt(buf[:n], d.off); err != nil {
				return got, err
			}
			d.v.h.Write(buf[:n])
			d.off += int64(n)
			got += int64(n)
			d.p.Add(int64(n))
		}
		if rerr == io.EOF {
			if got < want {
				return got, readError{fmt.Errorf("connection closed after %d of %d bytes: %w", d.off, d.f.Size, io.ErrUnexpectedEOF)}
			}
			break
		}
		if rerr != nil {
			return got, readError{rerr}
		}
	}
	return got, nil
}

// parseContentRange parses "bytes START-END/TOTAL" (TOTAL may be "*",
// returned as -1).
func parseContentRange(h string) (start, total int64, err error) {
	spec, ok := strings.CutPrefix(h, "bytes ")
	if !ok {
		return 0, 0, fmt.Errorf("Content-Range %.60q: want \"bytes START-END/TOTAL\"", h)
	}
	rng, tot, ok := strings.Cut(spec, "/")
	a, b, ok2 := strings.Cut(rng, "-")
	if !ok || !ok2 {
		return 0, 0, fmt.Errorf("Content-Range %.60q: want \"bytes START-END/TOTAL\"", h)
	}
	start, err1 := strconv.ParseInt(a, 10, 64)
	end, err2 := strconv.ParseInt(b, 10, 64)
	if err1 != nil || err2 != nil || start < 0 || end < start {
		return 0, 0, fmt.Errorf("Content-Range %.60q: bad range", h)
	}
	if tot == "*" {
		return start, -1, nil
	}
	total, err = strconv.ParseInt(tot, 10, 64)
	if err != nil || total <= end {
		return 0, 0, fmt.Errorf("Content-Range %.60q: bad total", h)
	}
	return start, total, nil
}

// verifier hashes content the way the listing's digest was computed.
type verifier struct {
	h    hash.Hash
	algo string // "sha256" or "git-sha1"
	want string
}

// newVerifier returns a verifier for f: the sha256 of the content for LFS
// files, the git blob id (sha1 of "blob <size>\x00" + content) otherwise.
func newVerifier(f RepoFile) verifier {
	if f.LFS != nil {
		return verifier{h: sha256.New(), algo: "sha256", want: f.LFS.SHA256}
	}
	h := sha1.New()
	fmt.Fprintf(h, "blob %d\x00", f.Size)
	return verifier{h: h, algo: "git-sha1", want: f.GitOID}
}

func (v verifier) sum() string { return hex.EncodeToString(v.h.Sum(nil)) }

// hashFrom hashes up to n bytes of r, checking ctx between chunks so that a
// long hash of a large file can be interrupted.
func hashFrom(ctx context.Context, h hash.Hash, r io.Reader, n int64) (int64, error) {
	buf := make([]byte, 1<<20)
	var done int64
	for done < n {
		if err := ctx.Err(); err != nil {
			return done, err
		}
		k, err := io.ReadFull(r, buf[:min(int64(len(buf)), n-done)])
		h.Write(buf[:k])
		done += int64(k)
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return done, nil
		}
		if err != nil {
			return done, err
		}
	}
	return done, nil
}
