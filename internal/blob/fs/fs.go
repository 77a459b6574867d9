// Package fs is the blob.Store that keeps each blob as a read-only file
// under a root directory:
//
//	<root>/sha256/<first 2 hex digits>/<64 hex digits>   committed blobs (0444)
//	<root>/tmp/blob-<random>                               writes in progress
//
// A write goes to a temp file in <root>/tmp (same file system), hashed in
// the same pass; Commit fsyncs it, makes it read-only and links it into
// place, then fsyncs the directory, so a blob is visible only once its
// content is durable. The package turns only validated digests into paths.
// It must not interpret blob content, and must never rewrite a committed
// file in place: other files (exports) may be hard links to it.
package fs

import (
	"context"
	"errors"
	"fmt"
	"io"
	iofs "io/fs"
	"os"
	"path/filepath"
	"time"

	"sov.dev/sov/internal/blob"
	"sov.dev/sov/internal/digest"
)

const (
	blobsDir = digest.Algorithm // <root>/sha256
	tmpDir   = "tmp"            // <root>/tmp
	dirPerm  = 0o700
	blobPerm = 0o444
	// tempPattern names temp files; os.CreateTemp replaces * with a
	// random suffix.
	tempPattern = "blob-*"
)

// Store is a blob.Store on a local file system. It is safe for concurrent
// use, also by several processes sharing the same root.
type Store struct {
	root string
	// createTemp opens a new temp file. Tests replace it to simulate a
	// failing disk.
	createTemp func(dir, pattern string) (tempFile, error)
}

// tempFile is the part of *os.File a Writer uses.
type tempFile interface {
	io.Writer
	Sync() error
	Chmod(iofs.FileMode) error
	Close() error
	Name() string
}

var (
	_ blob.Store  = (*Store)(nil)
	_ blob.Pather = (*Store)(nil)
)

// New returns a Store rooted at root, creating its directories if needed.
func New(root string) (*Store, error) {
	if root == "" {
		return nil, errors.New("blob store: empty root directory")
	}
	root, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("blob store %s: %w", root, err)
	}
	for _, dir := range []string{root, filepath.Join(root, blobsDir), filepath.Join(root, tmpDir)} {
		if err := os.MkdirAll(dir, dirPerm); err != nil {
			return nil, fmt.Errorf("blob store: %w", err)
		}
	}
	return &Store{root: root, createTemp: createOSTemp}, nil
}

func createOSTemp(dir, pattern string) (tempFile, error) {
	return os.CreateTemp(dir, pattern)
}

// Root returns the store's root directory (absolute).
func (s *Store) Root() string { return s.root }

// path returns the file for d after validating it.
func (s *Store) path(d digest.Digest) (string, error) {
	if err := d.Validate(); err != nil {
		return "", err
	}
	h := d.Hex()
	return filepath.Join(s.root, blobsDir, h[:2], h), nil
}

// Path implements blob.Pather. It fails with blob.ErrNotFound when the blob
// is not stored.
func (s *Store) Path(d digest.Digest) (string, error) {
	p, err := s.path(d)
	if err != nil {
		return "", err
	}
	if _, err := os.Lstat(p); err != nil {
		return "", notFound(d, err)
	}
	return p, nil
}

// notFound maps a missing file to blob.ErrNotFound and keeps other errors.
func notFound(d digest.Digest, err error) error {
	if errors.Is(err, iofs.ErrNotExist) {
		return fmt.Errorf("blob %s: %w", d, blob.ErrNotFound)
	}
	return fmt.Errorf("blob %s: %w", d, err)
}

// Stat implements blob.Store.
func (s *Store) Stat(ctx context.Context, d digest.Digest) (blob.Info, error) {
	if err := ctx.Err(); err != nil {
		return blob.Info{}, err
	}
	p, err := s.path(d)
	if err != nil {
		return blob.Info{}, err
	}
	fi, err := os.Stat(p)
	if err != nil {
		return blob.Info{}, notFound(d, err)
	}
	if !fi.Mode().IsRegular() {
		return blob.Info{}, fmt.Errorf("blob %s: %s is not a regular file", d, p)
	}
	return blob.Info{Digest: d, Size: fi.Size()}, nil
}

// Open implements blob.Store. The reader is an *os.File.
func (s *Store) Open(ctx context.Context, d digest.Digest) (blob.ReadSeekCloser, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	p, err := s.path(d)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, notFound(d, err)
	}
	return f, nil
}

// Delete implements blob.Store.
func (s *Store) Delete(ctx context.Context, d digest.Digest) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	p, err := s.path(d)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil {
		return notFound(d, err)
	}
	return nil
}

// Walk implements blob.Store. It skips the temp directory and ignores any
// file whose name is not a digest in its right shard. Blobs deleted while
// the walk runs may or may not be reported.
func (s *Store) Walk(ctx context.Context, fn func(blob.Info) error) error {
	top := filepath.Join(s.root, blobsDir)
	shards, err := os.ReadDir(top)
	if err != nil {
		return fmt.Errorf("blob store: %w", err)
	}
	for _, shard := range shards {
		if !shard.IsDir() || !isShard(shard.Name()) {
			continue
		}
		entries, err := os.ReadDir(filepath.Join(top, shard.Name()))
		if err != nil {
			if errors.Is(err, iofs.ErrNotExist) {
				continue
			}
			return fmt.Errorf("blob store: %w", err)
		}
		for _, e := range entries {
			if err := ctx.Err(); err != nil {
				return err
			}
			name := e.Name()
			d, err := digest.Parse(digest.Algorithm + ":" + name)
			if err != nil || name[:2] != shard.Name() || !e.Type().IsRegular() {
				continue
			}
			fi, err := e.Info()
			if err != nil {
				if errors.Is(err, iofs.ErrNotExist) {
					continue // deleted since ReadDir
				}
				return fmt.Errorf("blob store: %w", err)
			}
			if err := fn(blob.Info{Digest: d, Size: fi.Size()}); err != nil {
				return err
			}
		}
	}
	return nil
}

// isShard reports whether name is two lowercase hex digits.
func isShard(name string) bool {
	if len(name) != 2 {
		return false
	}
	for i := range 2 {
		c := name[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// CleanTemp removes temp files last modified more than olderThan ago: the
// leftovers of a process killed in the middle of a write. Files younger
// than that may belong to a write still in progress and are kept.
func (s *Store) CleanTemp(olderThan time.Duration) error {
	dir := filepath.Join(s.root, tmpDir)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("blob store: clean temp: %w", err)
	}
	cutoff := time.Now().Add(-olderThan)
	var errs []error
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		fi, err := e.Info()
		if err != nil {
			if !errors.Is(err, iofs.ErrNotExist) {
				errs = append(errs, err)
			}
			continue
		}
		if fi.ModTime().After(cutoff) {
			continue
		}
		if err := os.Remove(filepath.Join(dir, e.Name())); err != nil && !errors.Is(err, iofs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("blob store: clean temp: %w", err)
	}
	return nil
}
