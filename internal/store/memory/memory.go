// Package memory is a store.Store that keeps all metadata in process
// memory.
//
// It exists for tests and short-lived tools; it has the same semantics as
// store/sqlite (validation, ordering, UTC times with nanosecond precision,
// atomic changes) but nothing survives the process. It must not be used
// where metadata has to outlive a run.
package memory

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"sov.dev/sov/internal/digest"
	"sov.dev/sov/internal/store"
)

// Store is an in-memory store.Store. The zero value is not usable; call
// New.
type Store struct {
	mu      sync.RWMutex
	models  map[digest.Digest]store.Model // Blobs sorted and unique
	refs    map[refKey]store.Ref
	pending map[string]*store.Pending // Blobs sorted and unique
	// decisions is the append-only history, in the order added; Seq is
	// the index plus one.
	decisions []store.Decision
	closed    bool
}

type refKey struct{ name, tag string }

var _ store.Store = (*Store)(nil)

// New returns an empty Store.
func New() *Store {
	return &Store{
		models:  make(map[digest.Digest]store.Model),
		refs:    make(map[refKey]store.Ref),
		pending: make(map[string]*store.Pending),
	}
}

var errClosed = errors.New("metadata store is closed")

// now returns the current time as the store keeps times: UTC, without a
// monotonic reading, to the nanosecond.
func now() time.Time { return normTime(time.Now()) }

// normTime gives t the form store/sqlite gives it back in: UTC unix
// nanoseconds.
func normTime(t time.Time) time.Time { return time.Unix(0, t.UnixNano()).UTC() }

// lock takes the write lock and checks the store is usable.
func (s *Store) lock(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return errClosed
	}
	return nil
}

func (s *Store) rlock(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return errClosed
	}
	return nil
}

// PutModel implements store.Store.
func (s *Store) PutModel(ctx context.Context, m store.Model, refs []store.Ref, pendingID string) error {
	if err := store.CheckModel(m); err != nil {
		return err
	}
	for _, r := range refs {
		if err := store.CheckRefName(r.Name, r.Tag); err != nil {
			return err
		}
		if r.Digest != "" && r.Digest != m.Digest {
			return fmt.Errorf("reference %s:%s names %s, not the model being stored (%s)", r.Name, r.Tag, r.Digest, m.Digest)
		}
	}
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	t := now()
	if _, ok := s.models[m.Digest]; !ok {
		created := t
		if !m.Created.IsZero() {
			created = normTime(m.Created)
		}
		s.models[m.Digest] = store.Model{
			Digest:   m.Digest,
			Manifest: slices.Clone(m.Manifest),
			Facts:    slices.Clone(m.Facts),
			Blobs:    sortedUnique(m.Blobs),
			Source:   m.Source,
			Created:  created,
		}
	}
	for _, r := range refs {
		s.setRef(r.Name, r.Tag, m.Digest, r.Updated, t)
	}
	if pendingID != "" {
		delete(s.pending, pendingID)
	}
	return nil
}

func (s *Store) setRef(name, tag string, d digest.Digest, updated, now time.Time) {
	if updated.IsZero() {
		updated = now
	}
	s.refs[refKey{name, tag}] = store.Ref{Name: name, Tag: tag, Digest: d, Updated: normTime(updated)}
}

// Model implements store.Store.
func (s *Store) Model(ctx context.Context, d digest.Digest) (store.Model, error) {
	if err := d.Validate(); err != nil {
		return store.Model{}, err
	}
	if err := s.rlock(ctx); err != nil {
		return store.Model{}, err
	}
	defer s.mu.RUnlock()
	m, ok := s.models[d]
	if !ok {
		return store.Model{}, fmt.Errorf("model %s: %w", d, store.ErrNotFound)
	}
	return copyModel(m), nil
}

// Models implements store.Store.
func (s *Store) Models(ctx context.Context) ([]store.Model, error) {
	if err := s.rlock(ctx); err != nil {
		return nil, err
	}
	defer s.mu.RUnlock()
	ms := make([]store.Model, 0, len(s.models))
	for _, m := range s.models {
		ms = append(ms, copyModel(m))
	}
	slices.SortFunc(ms, func(a, b store.Model) int {
		return cmp.Or(a.Created.Compare(b.Created), cmp.Compare(a.Digest, b.Digest))
	})
	return ms, nil
}

// DeleteModel implements store.Store.
func (s *Store) DeleteModel(ctx context.Context, d digest.Digest) error {
	if err := d.Validate(); err != nil {
		return err
	}
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	if _, ok := s.models[d]; !ok {
		return fmt.Errorf("model %s: %w", d, store.ErrNotFound)
	}
	delete(s.models, d)
	for k, r := range s.refs {
		if r.Digest == d {
			delete(s.refs, k)
		}
	}
	return nil
}

// Resolve implements store.Store.
func (s *Store) Resolve(ctx context.Context, name, tag string) (store.Ref, error) {
	if err := s.rlock(ctx); err != nil {
		return store.Ref{}, err
	}
	defer s.mu.RUnlock()
	r, ok := s.refs[refKey{name, tag}]
	if !ok {
		return store.Ref{}, fmt.Errorf("reference %s:%s: %w", name, tag, store.ErrNotFound)
	}
	return r, nil
}

// Refs implements store.Store.
func (s *Store) Refs(ctx context.Context) ([]store.Ref, error) {
	if err := s.rlock(ctx); err != nil {
		return nil, err
	}
	defer s.mu.RUnlock()
	refs := make([]store.Ref, 0, len(s.refs))
	for _, r := range s.refs {
		refs = append(refs, r)
	}
	slices.SortFunc(refs, func(a, b store.Ref) int {
		return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.Tag, b.Tag))
	})
	return refs, nil
}

// SetRef implements store.Store.
func (s *Store) SetRef(ctx context.Context, r store.Ref) error {
	if err := store.CheckRefName(r.Name, r.Tag); err != nil {
		return err
	}
	if err := r.Digest.Validate(); err != nil {
		return fmt.Errorf("reference %s:%s: %w", r.Name, r.Tag, err)
	}
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	if _, ok := s.models[r.Digest]; !ok {
		return fmt.Errorf("reference %s:%s: model %s: %w", r.Name, r.Tag, r.Digest, store.ErrNotFound)
	}
	s.setRef(r.Name, r.Tag, r.Digest, r.Updated, now())
	return nil
}

// DeleteRef implements store.Store.
func (s *Store) DeleteRef(ctx context.Context, name, tag string) error {
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	k := refKey{name, tag}
	if _, ok := s.refs[k]; !ok {
		return fmt.Errorf("reference %s:%s: %w", name, tag, store.ErrNotFound)
	}
	delete(s.refs, k)
	return nil
}

// ReferencedBlobs implements store.Store.
func (s *Store) ReferencedBlobs(ctx context.Context) (map[digest.Digest]bool, error) {
	if err := s.rlock(ctx); err != nil {
		return nil, err
	}
	defer s.mu.RUnlock()
	set := make(map[digest.Digest]bool)
	for _, m := range s.models {
		for _, d := range m.Blobs {
			set[d] = true
		}
	}
	return set, nil
}

// AddPending implements store.Store.
func (s *Store) AddPending(ctx context.Context, id string, blobs ...digest.Digest) error {
	if err := store.CheckPending(id, blobs); err != nil {
		return err
	}
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	p, ok := s.pending[id]
	if !ok {
		p = &store.Pending{ID: id, Created: now()}
		s.pending[id] = p
	}
	p.Blobs = sortedUnique(append(slices.Clone(p.Blobs), blobs...))
	return nil
}

// PendingRecords implements store.Store. Records come oldest first.
func (s *Store) PendingRecords(ctx context.Context) ([]store.Pending, error) {
	if err := s.rlock(ctx); err != nil {
		return nil, err
	}
	defer s.mu.RUnlock()
	recs := make([]store.Pending, 0, len(s.pending))
	for _, p := range s.pending {
		c := *p
		c.Blobs = slices.Clone(p.Blobs)
		recs = append(recs, c)
	}
	slices.SortFunc(recs, func(a, b store.Pending) int {
		return cmp.Or(a.Created.Compare(b.Created), cmp.Compare(a.ID, b.ID))
	})
	return recs, nil
}

// DeletePending implements store.Store.
func (s *Store) DeletePending(ctx context.Context, id string) error {
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	if _, ok := s.pending[id]; !ok {
		return fmt.Errorf("pending record %q: %w", id, store.ErrNotFound)
	}
	delete(s.pending, id)
	return nil
}

// AddDecision implements store.Store.
func (s *Store) AddDecision(ctx context.Context, d store.Decision) (store.Decision, error) {
	if err := store.CheckDecision(d); err != nil {
		return store.Decision{}, err
	}
	if err := s.lock(ctx); err != nil {
		return store.Decision{}, err
	}
	defer s.mu.Unlock()
	if _, ok := s.models[d.Digest]; !ok {
		return store.Decision{}, fmt.Errorf("decision on model %s: %w", d.Digest, store.ErrNotFound)
	}
	if d.Time.IsZero() {
		d.Time = now()
	} else {
		d.Time = normTime(d.Time)
	}
	d.Detail = slices.Clone(d.Detail)
	if len(d.Detail) == 0 {
		d.Detail = nil
	}
	d.Seq = int64(len(s.decisions)) + 1
	s.decisions = append(s.decisions, d)
	return copyDecision(d), nil
}

// Decisions implements store.Store.
func (s *Store) Decisions(ctx context.Context, d digest.Digest) ([]store.Decision, error) {
	if err := d.Validate(); err != nil {
		return nil, err
	}
	if err := s.rlock(ctx); err != nil {
		return nil, err
	}
	defer s.mu.RUnlock()
	var out []store.Decision
	for _, x := range s.decisions {
		if x.Digest == d {
			out = append(out, copyDecision(x))
		}
	}
	return out, nil
}

// LatestDecisions implements store.Store.
func (s *Store) LatestDecisions(ctx context.Context) (map[digest.Digest]store.Standing, error) {
	if err := s.rlock(ctx); err != nil {
		return nil, err
	}
	defer s.mu.RUnlock()
	out := make(map[digest.Digest]store.Standing)
	for _, x := range s.decisions {
		st := out[x.Digest]
		c := copyDecision(x)
		if _, human := x.Human(); human {
			st.Human = &c
		} else {
			st.Policy = &c
		}
		out[x.Digest] = st
	}
	return out, nil
}

// Close implements store.Store. Every later call fails.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	return nil
}

func copyModel(m store.Model) store.Model {
	m.Manifest = slices.Clone(m.Manifest)
	m.Facts = slices.Clone(m.Facts)
	m.Blobs = slices.Clone(m.Blobs)
	return m
}

func copyDecision(d store.Decision) store.Decision {
	d.Detail = slices.Clone(d.Detail)
	return d
}

func sortedUnique(ds []digest.Digest) []digest.Digest {
	if len(ds) == 0 {
		return nil
	}
	ds = slices.Clone(ds)
	slices.Sort(ds)
	return slices.Compact(ds)
}
