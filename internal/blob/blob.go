// Package blob declares the content-addressed blob store that holds every
// byte of every model in the vault.
//
// A blob is immutable and named by the SHA-256 digest of its content. Writes
// go through a Writer that hashes as it writes and only makes the blob
// visible on Commit, after the content is durable; a cancelled or failed
// write leaves nothing behind. Implementations live in sibling packages named
// by mechanism (blob/fs, blob/memory); blob/blobtest holds the conformance
// suite every implementation must pass. This package knows nothing about
// models or manifests.
package blob

import (
	"context"
	"errors"
	"io"

	"sov.dev/sov/internal/digest"
)

// ErrNotFound is returned (wrapped) when a blob does not exist.
var ErrNotFound = errors.New("blob not found")

// ErrDigestMismatch is returned (wrapped) by Commit when the content written
// does not hash to the expected digest.
var ErrDigestMismatch = errors.New("digest mismatch")

// Info describes a stored blob.
type Info struct {
	Digest digest.Digest
	Size   int64
}

// Store is a content-addressed blob store.
//
// All methods are safe for concurrent use. Writing a blob that already exists
// is not an error: Commit reports Created=false and the store is unchanged.
type Store interface {
	// Stat returns the blob's size, or an error wrapping ErrNotFound.
	Stat(ctx context.Context, d digest.Digest) (Info, error)
	// Open returns a reader over the blob's content. The content is not
	// re-verified; callers that need proof hash what they read.
	Open(ctx context.Context, d digest.Digest) (ReadSeekCloser, error)
	// Create starts a new blob. The caller must Commit or Cancel it.
	Create(ctx context.Context) (Writer, error)
	// Delete removes a blob. Deleting a missing blob wraps ErrNotFound.
	Delete(ctx context.Context, d digest.Digest) error
	// Walk calls fn for every stored blob, in no particular order. An error
	// from fn stops the walk and is returned.
	Walk(ctx context.Context, fn func(Info) error) error
}

// ReadSeekCloser is the reader Open returns.
type ReadSeekCloser interface {
	io.Reader
	io.ReaderAt
	io.Seeker
	io.Closer
}

// Writer receives a blob's content. It hashes everything written to it.
type Writer interface {
	io.Writer
	// Size is the number of bytes written so far.
	Size() int64
	// Digest is the digest of the bytes written so far.
	Digest() digest.Digest
	// Commit makes the blob durable and visible under its digest. If want is
	// not empty and differs from the digest of the content, Commit discards
	// the content and returns an error wrapping ErrDigestMismatch. The
	// Writer is finished after Commit, whatever it returns.
	Commit(ctx context.Context, want digest.Digest) (Committed, error)
	// Cancel discards the content. It is safe to call after Commit, where it
	// does nothing.
	Cancel(ctx context.Context) error
}

// Committed reports the result of a successful Commit.
type Committed struct {
	Info
	// Created is false when the store already held the blob.
	Created bool
}

// Pather is implemented by stores whose blobs are plain local files. Export
// uses it to hard-link blobs instead of copying them.
type Pather interface {
	// Path returns the local file that holds the blob.
	Path(d digest.Digest) (string, error)
}
