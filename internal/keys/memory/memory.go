// Package memory is a keys.Store that keeps keys and usage in process
// memory.
//
// It exists for tests and for a gateway run without a key database; it has
// the semantics of keys/sqlite (validation, ordering, UTC times to the
// nanosecond, a Version that changes with every key change) but nothing
// survives the process, and other processes cannot see its changes. It
// must not be used where keys have to outlive a run.
package memory

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"sov.dev/sov/internal/keys"
)

// Store is an in-memory keys.Store. Call New.
type Store struct {
	mu      sync.RWMutex
	keys    map[string]*keys.Key // by ID
	usage   map[usageKey]int64
	version int64
	closed  bool
}

type usageKey struct {
	id    string
	start int64 // unix nanoseconds
}

var _ keys.Store = (*Store)(nil)

// New returns an empty Store.
func New() *Store {
	return &Store{keys: make(map[string]*keys.Key), usage: make(map[usageKey]int64)}
}

var errClosed = errors.New("key store is closed")

func norm(t time.Time) time.Time { return time.Unix(0, t.UnixNano()).UTC() }

// clone returns a copy of k that shares nothing with it.
func clone(k *keys.Key) keys.Key {
	c := *k
	c.Models, c.Jurisdictions = nil, nil
	if len(k.Models) > 0 {
		c.Models = slices.Clone(k.Models)
	}
	if len(k.Jurisdictions) > 0 {
		c.Jurisdictions = slices.Clone(k.Jurisdictions)
	}
	if k.Revoked != nil {
		r := *k.Revoked
		c.Revoked = &r
	}
	return c
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

// Create implements keys.Store.
func (s *Store) Create(ctx context.Context, k keys.Key) error {
	if err := k.Validate(); err != nil {
		return err
	}
	if k.Revoked != nil {
		return fmt.Errorf("create key %s: a new key cannot be revoked", k.ID)
	}
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	// Conflicts are checked in the order keys/sqlite checks them.
	if _, ok := s.keys[k.ID]; ok {
		return fmt.Errorf("create key %s: ID: %w", k.ID, keys.ErrExists)
	}
	for _, o := range s.keys {
		if o.Hash == k.Hash {
			return fmt.Errorf("create key %s: hash: %w", k.ID, keys.ErrExists)
		}
	}
	for _, o := range s.keys {
		if o.Name == k.Name && o.Revoked == nil {
			return fmt.Errorf("create key %s: name %q: %w", k.ID, k.Name, keys.ErrNameInUse)
		}
	}
	c := clone(&k)
	c.Created = norm(c.Created)
	s.keys[c.ID] = &c
	s.version++
	return nil
}

// Get implements keys.Store.
func (s *Store) Get(ctx context.Context, nameOrID string) (keys.Key, error) {
	if err := s.rlock(ctx); err != nil {
		return keys.Key{}, err
	}
	defer s.mu.RUnlock()
	if k, ok := s.keys[nameOrID]; ok {
		return clone(k), nil
	}
	var best *keys.Key
	for _, k := range s.keys {
		if k.Name != nameOrID {
			continue
		}
		if k.Revoked == nil {
			return clone(k), nil
		}
		if best == nil || newer(k, best) {
			best = k
		}
	}
	if best == nil {
		return keys.Key{}, fmt.Errorf("key %q: %w", nameOrID, keys.ErrNotFound)
	}
	return clone(best), nil
}

// newer reports whether a was created after b (ties by ID).
func newer(a, b *keys.Key) bool {
	if c := a.Created.Compare(b.Created); c != 0 {
		return c > 0
	}
	return a.ID > b.ID
}

// List implements keys.Store.
func (s *Store) List(ctx context.Context) ([]keys.Key, error) {
	if err := s.rlock(ctx); err != nil {
		return nil, err
	}
	defer s.mu.RUnlock()
	out := make([]keys.Key, 0, len(s.keys))
	for _, k := range s.keys {
		out = append(out, clone(k))
	}
	slices.SortFunc(out, func(a, b keys.Key) int {
		return cmp.Or(a.Created.Compare(b.Created), cmp.Compare(a.ID, b.ID))
	})
	return out, nil
}

// Revoke implements keys.Store.
func (s *Store) Revoke(ctx context.Context, id string, at time.Time) (keys.Key, error) {
	if err := s.lock(ctx); err != nil {
		return keys.Key{}, err
	}
	defer s.mu.Unlock()
	k, ok := s.keys[id]
	if !ok {
		return keys.Key{}, fmt.Errorf("revoke key %q: %w", id, keys.ErrNotFound)
	}
	if k.Revoked != nil {
		return clone(k), fmt.Errorf("revoke key %s: %w", id, keys.ErrRevoked)
	}
	at = norm(at)
	k.Revoked = &at
	s.version++
	return clone(k), nil
}

// LookupHash implements keys.Store.
func (s *Store) LookupHash(ctx context.Context, hash string) (keys.Key, error) {
	if err := s.rlock(ctx); err != nil {
		return keys.Key{}, err
	}
	defer s.mu.RUnlock()
	for _, k := range s.keys {
		if k.Hash == hash {
			return clone(k), nil
		}
	}
	return keys.Key{}, fmt.Errorf("key with hash %.12s…: %w", hash, keys.ErrNotFound)
}

// Version implements keys.Store.
func (s *Store) Version(ctx context.Context) (int64, error) {
	if err := s.rlock(ctx); err != nil {
		return 0, err
	}
	defer s.mu.RUnlock()
	return s.version, nil
}

// AddUsage implements keys.Store.
func (s *Store) AddUsage(ctx context.Context, keyID string, windowStart time.Time, tokens int64) error {
	if tokens < 0 {
		return fmt.Errorf("add usage for key %s: negative token count %d", keyID, tokens)
	}
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	if _, ok := s.keys[keyID]; !ok {
		return fmt.Errorf("add usage for key %q: %w", keyID, keys.ErrNotFound)
	}
	u := usageKey{keyID, windowStart.UnixNano()}
	if s.usage[u] > (1<<63-1)-tokens {
		return fmt.Errorf("add usage for key %s: token count overflows", keyID)
	}
	s.usage[u] += tokens
	return nil
}

// Usage implements keys.Store.
func (s *Store) Usage(ctx context.Context, keyID string, windowStart time.Time) (int64, error) {
	if err := s.rlock(ctx); err != nil {
		return 0, err
	}
	defer s.mu.RUnlock()
	return s.usage[usageKey{keyID, windowStart.UnixNano()}], nil
}

// Close implements keys.Store. Later calls fail.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	return nil
}
