package keys

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// Cache authenticates secrets against an in-memory copy of the keys that
// are not revoked, so that the database is never on the path of a request.
// It is safe for concurrent use.
//
// The copy is refreshed by Reload (at once), by Watch (when the Store's
// Version changes, whichever process changed it) and, while Watch runs, by
// Invalidate. A key revoked through a Manager that holds this Cache stops
// working before Revoke returns; one revoked by another process stops
// working within Watch's interval.
type Cache struct {
	store  Store
	hasher *Hasher
	log    *slog.Logger

	snap   atomic.Pointer[snapshot]
	reload sync.Mutex    // serializes Reload
	wake   chan struct{} // Invalidate → Watch
}

// snapshot holds the keys that are not revoked, by HMAC of their secret.
type snapshot struct {
	version int64
	byHash  map[[sha256.Size]byte]*Key
}

// NewCache loads the keys of s and returns a Cache over them. log may be
// nil (Watch then logs nothing).
func NewCache(ctx context.Context, s Store, h *Hasher, log *slog.Logger) (*Cache, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &Cache{store: s, hasher: h, log: log, wake: make(chan struct{}, 1)}
	if err := c.Reload(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

// Authenticate returns the key whose secret this is. Any secret it does not
// accept (malformed, unknown, revoked, or an admin secret whose key is not
// an admin key and the reverse) gives ErrInvalidKey and nothing more.
//
// It returns admin and inference keys alike: the caller must check
// Key.Admin — the gateway accepts only inference keys on /v1 and only
// admin keys on the admin API. The returned Key is shared: do not modify
// it. Authenticate does no I/O and does not allocate.
func (c *Cache) Authenticate(secret string) (*Key, error) {
	admin, ok := ParseSecret(secret)
	if !ok {
		return nil, ErrInvalidKey
	}
	// The lookup is by HMAC-SHA256 of the secret under the server secret:
	// how far a guess matches a stored key's secret cannot show in the
	// timing, because the map compares keyed hashes the guesser cannot
	// predict, never the secrets themselves.
	k, found := c.snap.Load().byHash[c.hasher.Sum(secret)]
	if !found || k.Admin != admin {
		return nil, ErrInvalidKey
	}
	return k, nil
}

// Len returns how many keys the Cache accepts.
func (c *Cache) Len() int { return len(c.snap.Load().byHash) }

// Version returns the Store version the Cache last loaded.
func (c *Cache) Version() int64 { return c.snap.Load().version }

// Reload re-reads every key from the Store now.
func (c *Cache) Reload(ctx context.Context) error {
	c.reload.Lock()
	defer c.reload.Unlock()
	// The version is read first: a change that lands between the two reads
	// makes the next Poll reload again, never miss it.
	v, err := c.store.Version(ctx)
	if err != nil {
		return fmt.Errorf("reload keys: %w", err)
	}
	ks, err := c.store.List(ctx)
	if err != nil {
		return fmt.Errorf("reload keys: %w", err)
	}
	s := &snapshot{version: v, byHash: make(map[[sha256.Size]byte]*Key, len(ks))}
	for i := range ks {
		k := &ks[i]
		if k.Revoked != nil {
			continue
		}
		var h [sha256.Size]byte
		if n, err := hex.Decode(h[:], []byte(k.Hash)); err != nil || n != len(h) {
			return fmt.Errorf("reload keys: key %s: corrupt hash in the key database", k.ID)
		}
		s.byHash[h] = k
	}
	c.snap.Store(s)
	return nil
}

// Poll reloads the keys if the Store's Version differs from the one last
// loaded, and reports whether it did.
func (c *Cache) Poll(ctx context.Context) (bool, error) {
	v, err := c.store.Version(ctx)
	if err != nil {
		return false, fmt.Errorf("poll keys: %w", err)
	}
	if v == c.Version() {
		return false, nil
	}
	return true, c.Reload(ctx)
}

// Invalidate asks a running Watch to reload at once. It does not block;
// without a Watch running it has no effect (call Reload instead).
func (c *Cache) Invalidate() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// Watch polls the Store every interval, reloading when its Version
// changes, and reloads at once on Invalidate, until ctx is done. A failed
// poll is logged and the keys already loaded stay in force.
func (c *Cache) Watch(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		var err error
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			_, err = c.Poll(ctx)
		case <-c.wake:
			err = c.Reload(ctx)
		}
		if err != nil && ctx.Err() == nil {
			c.log.Warn("key reload failed; keeping the keys already loaded", "err", err)
		}
	}
}
