// Package store declares the metadata store: which model versions the vault
// holds (by manifest digest), the manifests themselves, and the NAME:TAG
// references that point at them, and the trust gate's decisions on each
// version (see Decision).
//
// The store holds metadata only, never blob content. Implementations live in
// sibling packages named by mechanism (store/sqlite, store/memory);
// store/storetest holds the conformance suite every implementation must
// pass. Every method that changes state is atomic: it happens completely or
// not at all.
package store

import (
	"context"
	"errors"
	"time"

	"sov.dev/sov/internal/digest"
)

// ErrNotFound is returned (wrapped) when a model, reference or pending
// record does not exist.
var ErrNotFound = errors.New("not found")

// Model is one stored model version, identified by the digest of its
// manifest.
type Model struct {
	Digest   digest.Digest
	Manifest []byte          // the manifest exactly as hashed
	Facts    []byte          // JSON facts derived at import (format, architecture, …)
	Blobs    []digest.Digest // every blob the manifest references (config + layers)
	Source   string          // where it came from (a path, an hf:// reference, a URL)
	Created  time.Time
}

// Ref is a NAME:TAG reference to a model version.
type Ref struct {
	Name    string
	Tag     string
	Digest  digest.Digest
	Updated time.Time
}

// Pending records blobs that an in-flight write is about to add, so that a
// write interrupted before it commits can be rolled back: blobs listed in a
// pending record whose owner is gone, and that no model references, are
// removed.
type Pending struct {
	ID      string
	Blobs   []digest.Digest
	Created time.Time
}

// Store is the metadata store. All methods are safe for concurrent use.
type Store interface {
	// PutModel stores a model version (idempotent for the same digest) and,
	// when refs is not empty, points each reference at it, in one
	// transaction. It also deletes the pending record pendingID if not empty.
	PutModel(ctx context.Context, m Model, refs []Ref, pendingID string) error
	// Model returns a model version by digest.
	Model(ctx context.Context, d digest.Digest) (Model, error)
	// Models returns every model version, oldest first.
	Models(ctx context.Context) ([]Model, error)
	// DeleteModel removes a model version and every reference to it.
	DeleteModel(ctx context.Context, d digest.Digest) error

	// Resolve returns the reference NAME:TAG.
	Resolve(ctx context.Context, name, tag string) (Ref, error)
	// Refs returns every reference, sorted by name then tag.
	Refs(ctx context.Context) ([]Ref, error)
	// SetRef creates or moves a reference to an existing model version.
	SetRef(ctx context.Context, r Ref) error
	// DeleteRef removes a reference. The model version stays.
	DeleteRef(ctx context.Context, name, tag string) error

	// ReferencedBlobs returns the set of blobs referenced by any model.
	ReferencedBlobs(ctx context.Context) (map[digest.Digest]bool, error)

	// AddPending creates or extends a pending record with more blobs.
	AddPending(ctx context.Context, id string, blobs ...digest.Digest) error
	// PendingRecords lists every pending record.
	PendingRecords(ctx context.Context) ([]Pending, error)
	// DeletePending removes a pending record.
	DeletePending(ctx context.Context, id string) error

	// AddDecision appends a decision to a model version's history and
	// returns it as stored (with Seq, and Time set to now when zero). The
	// model must exist (ErrNotFound otherwise). History is append-only:
	// nothing changes or removes a decision, and deleting the model keeps
	// its history, so a rejected model that is removed and imported again
	// is still rejected.
	AddDecision(ctx context.Context, d Decision) (Decision, error)
	// Decisions returns a model version's decisions in the order they were
	// added (none is not an error).
	Decisions(ctx context.Context, d digest.Digest) ([]Decision, error)
	// LatestDecisions returns, for every model version with any decision,
	// its latest policy and latest human decision.
	LatestDecisions(ctx context.Context) (map[digest.Digest]Standing, error)

	// Close releases the store.
	Close() error
}
