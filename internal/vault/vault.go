// Package vault is sov's model vault: it imports and pulls models into a
// content-addressed blob store, records each model version by the digest of
// its ModelPack manifest, resolves NAME:TAG references, and re-verifies every
// byte on demand.
//
// The vault is the service layer between the CLI (or the gateway) and the
// storage contracts in packages blob and store. It guarantees that a failed
// or interrupted write leaves the vault as it was: blobs are staged and
// recorded as pending before they become visible, the manifest and its tags
// are committed in one transaction, and anything a killed process left
// behind is rolled back the next time the vault is opened. It does not parse
// file formats itself (see modelinfo) and never touches the network except
// through Pull.
package vault

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"sov.dev/sov/internal/blob"
	blobfs "sov.dev/sov/internal/blob/fs"
	"sov.dev/sov/internal/flock"
	"sov.dev/sov/internal/store"
	"sov.dev/sov/internal/store/sqlite"
)

// ErrNotFound is returned (wrapped) when a reference names no model.
var ErrNotFound = errors.New("model not found")

// Vault is an open vault. It is safe for concurrent use.
type Vault struct {
	home  string
	blobs blob.Store
	meta  store.Store
	lock  *flock.File
	log   *slog.Logger

	mu      sync.RWMutex // in-process counterpart of lock
	lockMu  sync.Mutex   // guards sharers
	sharers int
	now     func() time.Time

	// Parallel bounds how many files are hashed at once.
	Parallel int
}

// Options configure Open.
type Options struct {
	Logger *slog.Logger
}

// Layout of SOV_HOME, see docs/design/vault.md.
const (
	dbFile    = "sov.db"
	blobsDir  = "blobs"
	lockFile  = "vault.lock"
	pullsDir  = "downloads"
	dirPerms  = 0o700
	tmpMaxAge = 0 // under the exclusive lock nobody else is writing
)

// Open opens the vault under home, creating it if needed, and rolls back
// whatever an interrupted earlier process left behind (when no other process
// is using the vault at that moment).
func Open(ctx context.Context, home string, opts Options) (*Vault, error) {
	if err := os.MkdirAll(home, dirPerms); err != nil {
		return nil, fmt.Errorf("creating SOV_HOME: %w", err)
	}
	lk, err := flock.Open(filepath.Join(home, lockFile))
	if err != nil {
		return nil, fmt.Errorf("opening vault lock: %w", err)
	}
	blobs, err := blobfs.New(filepath.Join(home, blobsDir))
	if err != nil {
		lk.Close()
		return nil, fmt.Errorf("opening blob store: %w", err)
	}
	meta, err := sqlite.Open(ctx, filepath.Join(home, dbFile))
	if err != nil {
		lk.Close()
		return nil, fmt.Errorf("opening metadata database: %w", err)
	}
	v := New(blobs, meta, lk, opts)
	v.home = home
	if err := v.recoverIfIdle(ctx); err != nil {
		v.Close()
		return nil, err
	}
	return v, nil
}

// New assembles a vault from its parts. lock may be nil when the stores
// are not shared with other processes (tests).
func New(blobs blob.Store, meta store.Store, lock *flock.File, opts Options) *Vault {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Vault{
		blobs:    blobs,
		meta:     meta,
		lock:     lock,
		log:      log,
		now:      time.Now,
		Parallel: runtime.GOMAXPROCS(0),
	}
}

// Close releases the vault.
func (v *Vault) Close() error {
	err := v.meta.Close()
	if v.lock != nil {
		v.lock.Close()
	}
	return err
}

// Home returns the directory the vault lives in ("" for an assembled vault).
func (v *Vault) Home() string { return v.home }

// Blobs returns the blob store, for packages that read model files (the
// engine memory-maps blobs through blob.Pather).
func (v *Vault) Blobs() blob.Store { return v.blobs }

// Meta returns the vault's metadata store, for services that keep their
// own records about the vault's models (the trust gate's decisions).
func (v *Vault) Meta() store.Store { return v.meta }

// shared takes the shared lock for the duration of a write. Within this
// process an RWMutex does the same job, since a file lock is one per process.
func (v *Vault) shared(ctx context.Context) (release func(), err error) {
	v.mu.RLock()
	v.lockMu.Lock()
	defer v.lockMu.Unlock()
	if v.sharers == 0 && v.lock != nil {
		if err := v.lock.Shared(ctx); err != nil {
			v.mu.RUnlock()
			return nil, fmt.Errorf("waiting for the vault lock: %w", err)
		}
	}
	v.sharers++
	return func() {
		v.lockMu.Lock()
		v.sharers--
		if v.sharers == 0 && v.lock != nil {
			v.lock.Unlock()
		}
		v.lockMu.Unlock()
		v.mu.RUnlock()
	}, nil
}

// exclusive takes the exclusive lock, waiting for the file lock at most until
// ctx is done.
func (v *Vault) exclusive(ctx context.Context) (release func(), err error) {
	v.mu.Lock()
	if v.lock != nil {
		if err := v.lock.Exclusive(ctx); err != nil {
			v.mu.Unlock()
			return nil, fmt.Errorf("waiting for exclusive use of the vault (another sov process is writing): %w", err)
		}
	}
	return func() {
		if v.lock != nil {
			v.lock.Unlock()
		}
		v.mu.Unlock()
	}, nil
}

// recoverIfIdle rolls back interrupted writes if no other process holds the
// vault; otherwise it leaves that to a later, idle moment.
func (v *Vault) recoverIfIdle(ctx context.Context) error {
	if v.lock == nil {
		return v.recover(ctx)
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if err := v.lock.TryExclusive(); err != nil {
		if errors.Is(err, flock.ErrWouldBlock) {
			return nil
		}
		return err
	}
	defer v.lock.Unlock()
	return v.recover(ctx)
}

// recover must run with the exclusive lock held: it deletes every blob listed
// in a pending record that no model references, drops the records, and
// removes staged temporary files.
func (v *Vault) recover(ctx context.Context) error {
	pending, err := v.meta.PendingRecords(ctx)
	if err != nil {
		return fmt.Errorf("reading pending writes: %w", err)
	}
	if len(pending) > 0 {
		referenced, err := v.meta.ReferencedBlobs(ctx)
		if err != nil {
			return err
		}
		for _, p := range pending {
			for _, d := range p.Blobs {
				if referenced[d] {
					continue
				}
				if err := v.blobs.Delete(ctx, d); err != nil && !errors.Is(err, blob.ErrNotFound) {
					return fmt.Errorf("rolling back interrupted write %s: %w", p.ID, err)
				}
			}
			if err := v.meta.DeletePending(ctx, p.ID); err != nil {
				return err
			}
			v.log.Info("rolled back an interrupted write", "id", p.ID, "blobs", len(p.Blobs))
		}
	}
	if c, ok := v.blobs.(interface{ CleanTemp(time.Duration) error }); ok {
		if err := c.CleanTemp(tmpMaxAge); err != nil {
			return fmt.Errorf("removing stale temporary files: %w", err)
		}
	}
	return nil
}

// rollback undoes a failed write in this process: it waits briefly for
// exclusive use of the vault and runs recovery. If the vault stays busy, the
// pending record remains and a later Open or GC rolls it back.
func (v *Vault) rollback(pendingID string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	release, err := v.exclusive(ctx)
	if err != nil {
		v.log.Warn("could not roll back now; the next sov command will", "id", pendingID, "err", err)
		return
	}
	defer release()
	if err := v.recover(ctx); err != nil {
		v.log.Warn("rollback failed; the next sov command will retry", "id", pendingID, "err", err)
	}
}

func newID() string {
	var b [12]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
