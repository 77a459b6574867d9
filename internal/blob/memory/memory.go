// Package memory is a blob.Store that keeps every blob in process memory.
//
// It exists for tests and for short-lived tools that need a vault without a
// disk; it has the same semantics as blob/fs (including validation of every
// digest it is given) but nothing it holds survives the process. It must not
// be used for real model weights: every blob is one byte slice on the heap.
package memory

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"sync"

	"sov.dev/sov/internal/blob"
	"sov.dev/sov/internal/digest"
)

// Store is an in-memory blob.Store. The zero value is not usable; call New.
type Store struct {
	mu    sync.RWMutex
	blobs map[digest.Digest][]byte
}

var _ blob.Store = (*Store)(nil)

// New returns an empty Store.
func New() *Store {
	return &Store{blobs: make(map[digest.Digest][]byte)}
}

// Stat implements blob.Store.
func (s *Store) Stat(ctx context.Context, d digest.Digest) (blob.Info, error) {
	b, err := s.get(ctx, d)
	if err != nil {
		return blob.Info{}, err
	}
	return blob.Info{Digest: d, Size: int64(len(b))}, nil
}

// Open implements blob.Store. The reader shares the stored bytes, which are
// never modified.
func (s *Store) Open(ctx context.Context, d digest.Digest) (blob.ReadSeekCloser, error) {
	b, err := s.get(ctx, d)
	if err != nil {
		return nil, err
	}
	return &reader{r: bytes.NewReader(b)}, nil
}

func (s *Store) get(ctx context.Context, d digest.Digest) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := d.Validate(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	b, ok := s.blobs[d]
	s.mu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("blob %s: %w", d, blob.ErrNotFound)
	}
	return b, nil
}

// Create implements blob.Store.
func (s *Store) Create(ctx context.Context) (blob.Writer, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return &writer{s: s, h: digest.NewHash()}, nil
}

// Delete implements blob.Store.
func (s *Store) Delete(ctx context.Context, d digest.Digest) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := d.Validate(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.blobs[d]; !ok {
		return fmt.Errorf("blob %s: %w", d, blob.ErrNotFound)
	}
	delete(s.blobs, d)
	return nil
}

// Walk implements blob.Store. It works on a snapshot taken when it starts,
// so fn may call other methods of the Store.
func (s *Store) Walk(ctx context.Context, fn func(blob.Info) error) error {
	s.mu.RLock()
	infos := make([]blob.Info, 0, len(s.blobs))
	for d, b := range s.blobs {
		infos = append(infos, blob.Info{Digest: d, Size: int64(len(b))})
	}
	s.mu.RUnlock()
	for _, info := range infos {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := fn(info); err != nil {
			return err
		}
	}
	return nil
}

// reader is a bytes.Reader that refuses use after Close.
type reader struct {
	r      *bytes.Reader
	closed bool
}

func (r *reader) Read(p []byte) (int, error) {
	if r.closed {
		return 0, os.ErrClosed
	}
	return r.r.Read(p)
}

func (r *reader) ReadAt(p []byte, off int64) (int, error) {
	if r.closed {
		return 0, os.ErrClosed
	}
	return r.r.ReadAt(p, off)
}

func (r *reader) Seek(offset int64, whence int) (int64, error) {
	if r.closed {
		return 0, os.ErrClosed
	}
	return r.r.Seek(offset, whence)
}

func (r *reader) Close() error {
	if r.closed {
		return os.ErrClosed
	}
	r.closed = true
	return nil
}

var errFinished = errors.New("blob writer already committed or cancelled")

// writer buffers content until Commit. It is not safe for concurrent use,
// like any io.Writer.
type writer struct {
	s    *Store
	h    hash.Hash
	buf  []byte
	done bool
}

func (w *writer) Write(p []byte) (int, error) {
	if w.done {
		return 0, errFinished
	}
	w.h.Write(p) // a hash.Hash never returns an error
	w.buf = append(w.buf, p...)
	return len(p), nil
}

func (w *writer) Size() int64 { return int64(len(w.buf)) }

func (w *writer) Digest() digest.Digest { return digest.FromHash(w.h) }

func (w *writer) Commit(ctx context.Context, want digest.Digest) (blob.Committed, error) {
	if w.done {
		return blob.Committed{}, errFinished
	}
	w.done = true
	buf := w.buf
	w.buf = nil
	if err := ctx.Err(); err != nil {
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
	c := blob.Committed{Info: blob.Info{Digest: got, Size: int64(len(buf))}}
	w.s.mu.Lock()
	defer w.s.mu.Unlock()
	if _, ok := w.s.blobs[got]; ok {
		return c, nil
	}
	// Copy so the stored slice holds exactly the content, without the
	// spare capacity append left behind.
	stored := make([]byte, len(buf))
	copy(stored, buf)
	w.s.blobs[got] = stored
	c.Created = true
	return c, nil
}

func (w *writer) Cancel(ctx context.Context) error {
	w.done = true
	w.buf = nil
	return nil
}

var _ io.Writer = (*writer)(nil)
