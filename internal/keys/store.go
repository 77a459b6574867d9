package keys

import (
	"context"
	"time"
)

// Store is the key database. All methods are safe for concurrent use, also
// (for keys/sqlite) by several processes sharing one database file. Times
// come back in UTC with nanosecond precision.
type Store interface {
	// Create stores a new key, which must pass Key.Validate and not be
	// revoked. It fails with ErrNameInUse when a key that is not revoked
	// has the same name, and with ErrExists when the ID or hash is taken.
	Create(ctx context.Context, k Key) error
	// Get returns a key by ID, or by name: the key of that name that is
	// not revoked, or else the most recently created revoked one.
	Get(ctx context.Context, nameOrID string) (Key, error)
	// List returns every key, revoked ones included, oldest first (ties
	// by ID).
	List(ctx context.Context) ([]Key, error)
	// Revoke marks the key with that ID revoked at the given time and
	// returns it. It fails with ErrNotFound, or with ErrRevoked (and the
	// key as it is) when the key was already revoked.
	Revoke(ctx context.Context, id string, at time.Time) (Key, error)
	// LookupHash returns the key whose hash is hash, revoked or not.
	LookupHash(ctx context.Context, hash string) (Key, error)
	// Version returns a number that changes whenever a key is created or
	// revoked, by this process or any other using the same database. It
	// does not change when usage is recorded.
	Version(ctx context.Context) (int64, error)

	// AddUsage adds tokens (≥ 0) to the usage recorded for the key in the
	// budget window starting at windowStart. It fails with ErrNotFound for
	// an unknown key.
	AddUsage(ctx context.Context, keyID string, windowStart time.Time, tokens int64) error
	// Usage returns the tokens recorded for the key in the window starting
	// at windowStart; 0 when none were.
	Usage(ctx context.Context, keyID string, windowStart time.Time) (int64, error)

	// Close releases the store.
	Close() error
}
