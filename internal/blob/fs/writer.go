package fs

import (
	"context"
	"errors"
	"fmt"
	"hash"
	"io"
	iofs "io/fs"
	"os"
	"path/filepath"
	"sync"

	"sov.dev/sov/internal/atomicfile"
	"sov.dev/sov/internal/blob"
	"sov.dev/sov/internal/digest"
)

// bufSize is the size of the buffer between a Writer and its temp file:
// large enough that the write system calls cost little next to hashing.
const bufSize = 1 << 20

var bufPool = sync.Pool{New: func() any {
	b := make([]byte, 0, bufSize)
	return &b
}}

var errFinished = errors.New("blob writer already committed or cancelled")

// Create implements blob.Store. The content goes to a new temp file in
// <root>/tmp until Commit.
func (s *Store) Create(ctx context.Context) (blob.Writer, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f, err := s.createTemp(filepath.Join(s.root, tmpDir), tempPattern)
	if err != nil {
		return nil, fmt.Errorf("blob store: %w", err)
	}
	return &writer{s: s, f: f, h: digest.NewHash()}, nil
}

// writer streams content through a buffer into a temp file, hashing it on
// the way. Like any io.Writer it is not safe for concurrent use.
type writer struct {
	s    *Store
	f    tempFile
	h    hash.Hash
	buf  *[]byte // from bufPool, nil until the first write
	size int64
	// flushed is how many bytes reached the file, synced how many of them
	// were handed to startWriteback.
	flushed, synced int64
	err             error // the first failed write to f; every later call returns it
	done            bool  // Commit or Cancel was called
}

func (w *writer) check() error {
	if w.done {
		return errFinished
	}
	return w.err
}

// Write implements io.Writer.
func (w *writer) Write(p []byte) (int, error) {
	if err := w.check(); err != nil {
		return 0, err
	}
	buf := w.buffer()
	if len(*buf)+len(p) > cap(*buf) {
		if err := w.flush(); err != nil {
			return 0, err
		}
		if len(p) >= cap(*buf) {
			// Too big to be worth copying: write it straight from p.
			if _, err := w.f.Write(p); err != nil {
				return 0, w.fail(err)
			}
			w.h.Write(p) // a hash.Hash never returns an error
			w.size += int64(len(p))
			w.wrote(int64(len(p)))
			return len(p), nil
		}
	}
	w.h.Write(p)
	*buf = append(*buf, p...)
	w.size += int64(len(p))
	return len(p), nil
}

// ReadFrom implements io.ReaderFrom, so that io.Copy reads straight into
// the write buffer instead of copying through one of its own.
func (w *writer) ReadFrom(r io.Reader) (int64, error) {
	if err := w.check(); err != nil {
		return 0, err
	}
	buf := w.buffer()
	var total int64
	empty := 0
	for {
		if len(*buf) == cap(*buf) {
			if err := w.flush(); err != nil {
				return total, err
			}
		}
		start := len(*buf)
		n, err := r.Read((*buf)[start:cap(*buf)])
		if n < 0 || n > cap(*buf)-start {
			return total, fmt.Errorf("blob writer: reader returned %d bytes for a %d-byte read", n, cap(*buf)-start)
		}
		if n > 0 {
			*buf = (*buf)[:start+n]
			w.h.Write((*buf)[start:])
			w.size += int64(n)
			total += int64(n)
			empty = 0
		} else if err == nil {
			if empty++; empty >= 100 {
				return total, io.ErrNoProgress
			}
		}
		if err == io.EOF {
			return total, nil
		}
		if err != nil {
			return total, err
		}
	}
}

func (w *writer) buffer() *[]byte {
	if w.buf == nil {
		w.buf = bufPool.Get().(*[]byte)
		*w.buf = (*w.buf)[:0]
	}
	return w.buf
}

func (w *writer) releaseBuffer() {
	if w.buf != nil {
		bufPool.Put(w.buf)
		w.buf = nil
	}
}

// flush writes the buffered bytes to the temp file.
func (w *writer) flush() error {
	if w.buf == nil || len(*w.buf) == 0 {
		return nil
	}
	n := len(*w.buf)
	_, err := w.f.Write(*w.buf)
	*w.buf = (*w.buf)[:0]
	if err != nil {
		return w.fail(err)
	}
	w.wrote(int64(n))
	return nil
}

// writebackChunk is how much written data accumulates before the writer
// asks the kernel to start writing it back.
const writebackChunk = 8 << 20

// wrote records n more bytes in the file and starts their writeback once a
// chunk has accumulated.
func (w *writer) wrote(n int64) {
	w.flushed += n
	if w.flushed-w.synced >= writebackChunk {
		startWriteback(w.f, w.synced, w.flushed-w.synced)
		w.synced = w.flushed
	}
}

// fail records the first write error, which ends the writer.
func (w *writer) fail(err error) error {
	if w.err == nil {
		w.err = fmt.Errorf("blob store: writing %s: %w", w.f.Name(), err)
	}
	return w.err
}

// Size implements blob.Writer.
func (w *writer) Size() int64 { return w.size }

// Digest implements blob.Writer.
func (w *writer) Digest() digest.Digest { return digest.FromHash(w.h) }

// Commit implements blob.Writer.
func (w *writer) Commit(ctx context.Context, want digest.Digest) (blob.Committed, error) {
	if w.done {
		return blob.Committed{}, errFinished
	}
	w.done = true
	defer w.releaseBuffer()
	c, err := w.commit(ctx, want)
	// The temp file goes in every case. After a successful commit its
	// content lives on under the blob's name (or was there already), and a
	// temp name that could not be removed is litter for CleanTemp, not a
	// reason to fail.
	derr := w.discard()
	if err != nil {
		return blob.Committed{}, errors.Join(err, derr)
	}
	return c, nil
}

func (w *writer) commit(ctx context.Context, want digest.Digest) (blob.Committed, error) {
	if w.err != nil {
		return blob.Committed{}, w.err
	}
	if err := ctx.Err(); err != nil {
		return blob.Committed{}, err
	}
	if err := w.flush(); err != nil {
		return blob.Committed{}, err
	}
	got := digest.FromHash(w.h)
	if want != "" {
		if err := want.Validate(); err != nil {
			return blob.Committed{}, fmt.Errorf("commit blob: expected %w", err)
		}
		if want != got {
			return blob.Committed{}, fmt.Errorf("commit blob: content hashes to %s, want %s: %w", got, want, blob.ErrDigestMismatch)
		}
	}
	c := blob.Committed{Info: blob.Info{Digest: got, Size: w.size}}
	final, err := w.s.path(got)
	if err != nil {
		return blob.Committed{}, err
	}
	if _, err := os.Lstat(final); err == nil {
		return c, nil // already stored: nothing to make durable
	} else if !errors.Is(err, iofs.ErrNotExist) {
		return blob.Committed{}, fmt.Errorf("blob %s: %w", got, err)
	}

	if err := w.f.Sync(); err != nil {
		return blob.Committed{}, fmt.Errorf("blob store: syncing %s: %w", w.f.Name(), err)
	}
	if err := w.f.Chmod(blobPerm); err != nil {
		return blob.Committed{}, fmt.Errorf("blob store: %w", err)
	}
	if err := w.closeFile(); err != nil {
		return blob.Committed{}, fmt.Errorf("blob store: closing %s: %w", w.f.Name(), err)
	}

	shard := filepath.Dir(final)
	if err := os.Mkdir(shard, dirPerm); err == nil {
		if err := atomicfile.SyncDir(filepath.Dir(shard)); err != nil {
			return blob.Committed{}, fmt.Errorf("blob store: %w", err)
		}
	} else if !errors.Is(err, iofs.ErrExist) {
		return blob.Committed{}, fmt.Errorf("blob store: %w", err)
	}

	created, err := place(w.f.Name(), final)
	if err != nil {
		return blob.Committed{}, fmt.Errorf("blob %s: %w", got, err)
	}
	if created {
		if err := atomicfile.SyncDir(shard); err != nil {
			return blob.Committed{}, fmt.Errorf("blob store: %w", err)
		}
	}
	c.Created = created
	return c, nil
}

// place gives the complete temp file tmp its final name without ever
// replacing an existing blob, and reports whether it did (false: another
// writer got there first with the same content). A hard link fails cleanly
// if final exists; where links are not supported it falls back to rename,
// which replaces a racing twin with identical bytes.
func place(tmp, final string) (bool, error) {
	err := os.Link(tmp, final)
	if err == nil {
		return true, nil
	}
	if errors.Is(err, iofs.ErrExist) {
		return false, nil
	}
	if rerr := os.Rename(tmp, final); rerr != nil {
		return false, errors.Join(err, rerr)
	}
	return true, nil
}

// closeFile closes the temp file once; later calls do nothing.
func (w *writer) closeFile() error {
	f := w.f
	if f == nil {
		return nil
	}
	w.f = closedFile{name: f.Name()}
	return f.Close()
}

// discard closes and removes the temp file.
func (w *writer) discard() error {
	cerr := w.closeFile()
	err := os.Remove(w.f.Name())
	if errors.Is(err, iofs.ErrNotExist) {
		err = nil // renamed into place, or already removed
	}
	return errors.Join(cerr, err)
}

// Cancel implements blob.Writer.
func (w *writer) Cancel(ctx context.Context) error {
	if w.done {
		return nil
	}
	w.done = true
	w.releaseBuffer()
	if err := w.discard(); err != nil {
		return fmt.Errorf("blob store: cancel: %w", err)
	}
	return nil
}

// closedFile stands in for the temp file after it is closed, so that only
// its name stays usable.
type closedFile struct{ name string }

func (f closedFile) Write([]byte) (int, error) { return 0, os.ErrClosed }
func (f closedFile) Sync() error               { return os.ErrClosed }
func (f closedFile) Chmod(iofs.FileMode) error { return os.ErrClosed }
func (f closedFile) Close() error              { return nil }
func (f closedFile) Name() string              { return f.name }
