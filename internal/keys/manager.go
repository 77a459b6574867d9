package keys

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"sov.dev/sov/internal/atomicfile"
)

// AdminKeyName is the name of the admin key EnsureAdmin creates.
const AdminKeyName = "admin"

// CreateOptions describe a new key. Zero limits mean unlimited.
type CreateOptions struct {
	Name           string
	Tenant         string   // DefaultTenant when empty
	Models         []string // empty: all models
	RPM            int
	TPM            int
	MaxConcurrency int
	TokenBudget    int64         // needs BudgetWindow
	BudgetWindow   time.Duration // see ParseWindow; needs TokenBudget
	Jurisdictions  []string      // lower-case labels; empty: any
	Admin          bool
}

// OptionError says which CreateOptions field is wrong and why. The admin
// API reports Field as the error's param.
type OptionError struct {
	Field string // "name", "tenant", "models", "rpm", … as in the CLI flags
	Err   error
}

func (e *OptionError) Error() string { return e.Field + ": " + e.Err.Error() }
func (e *OptionError) Unwrap() error { return e.Err }

// Manager creates, lists and revokes keys; the CLI and the admin API go
// through it. Store and Hasher are required. When Cache is set, it is
// reloaded after every change, so that a key created or revoked here is
// accepted or refused by this process before the call returns.
type Manager struct {
	Store  Store
	Hasher *Hasher
	Cache  *Cache
	Now    func() time.Time // time.Now when nil
}

func (m *Manager) now() time.Time {
	now := time.Now
	if m.Now != nil {
		now = m.Now
	}
	return time.Unix(0, now().UnixNano()).UTC()
}

// newKey validates o and returns the key it describes (not yet stored)
// and its secret.
func (m *Manager) newKey(o CreateOptions) (Key, string, error) {
	k := Key{
		Name: o.Name, Tenant: o.Tenant, RPM: o.RPM, TPM: o.TPM, MaxConcurrency: o.MaxConcurrency,
		TokenBudget: o.TokenBudget, BudgetWindow: o.BudgetWindow, Admin: o.Admin,
	}
	if k.Tenant == "" {
		k.Tenant = DefaultTenant
	}
	if err := ValidateLabel(k.Name); err != nil {
		return Key{}, "", &OptionError{"name", err}
	}
	if err := ValidateLabel(k.Tenant); err != nil {
		return Key{}, "", &OptionError{"tenant", err}
	}
	var err error
	if k.Models, err = cleanList("models", o.Models, validateModelName); err != nil {
		return Key{}, "", &OptionError{"models", err}
	}
	if k.Jurisdictions, err = cleanList("jurisdictions", o.Jurisdictions, ValidateLabel); err != nil {
		return Key{}, "", &OptionError{"jurisdictions", err}
	}
	for _, f := range []struct {
		field string
		v     int
	}{{"rpm", k.RPM}, {"tpm", k.TPM}, {"max-concurrency", k.MaxConcurrency}} {
		if f.v < 0 || f.v > maxRate {
			return Key{}, "", &OptionError{f.field, fmt.Errorf("%d: must be between 0 (unlimited) and %d", f.v, maxRate)}
		}
	}
	if err := k.validateLimits(); err != nil {
		field := "token-budget"
		if k.TokenBudget > 0 {
			field = "budget-window"
		}
		return Key{}, "", &OptionError{field, err}
	}
	secret := newSecret(k.Admin)
	k.ID = newID()
	k.Hash = m.Hasher.Hex(secret)
	k.Prefix = secret[:prefixLen(k.Admin)]
	k.Created = m.now()
	return k, secret, nil
}

// Create validates o, stores a new key and returns it with its secret, the
// only time the secret is available. Invalid options give an *OptionError;
// a name in use gives ErrNameInUse.
func (m *Manager) Create(ctx context.Context, o CreateOptions) (Key, string, error) {
	for range 3 {
		k, secret, err := m.newKey(o)
		if err != nil {
			return Key{}, "", err
		}
		err = m.Store.Create(ctx, k)
		if errors.Is(err, ErrExists) {
			continue // an ID collision (60 random bits): draw again
		}
		if err != nil {
			return Key{}, "", fmt.Errorf("create key %s: %w", o.Name, err)
		}
		m.refresh(ctx)
		return k, secret, nil
	}
	return Key{}, "", fmt.Errorf("create key %s: %w three times in a row", o.Name, ErrExists)
}

// refresh brings the Cache up to date after a change. If that fails, a
// running Watch is asked to retry.
func (m *Manager) refresh(ctx context.Context) error {
	if m.Cache == nil {
		return nil
	}
	if err := m.Cache.Reload(ctx); err != nil {
		m.Cache.Invalidate()
		return err
	}
	return nil
}

// Get returns a key by name or ID (see Store.Get).
func (m *Manager) Get(ctx context.Context, nameOrID string) (Key, error) {
	return m.Store.Get(ctx, nameOrID)
}

// List returns every key, revoked ones included, oldest first.
func (m *Manager) List(ctx context.Context) ([]Key, error) {
	return m.Store.List(ctx)
}

// Revoke revokes a key by name or ID and returns it. Revoking a revoked
// key fails with ErrRevoked.
func (m *Manager) Revoke(ctx context.Context, nameOrID string) (Key, error) {
	k, err := m.Store.Get(ctx, nameOrID)
	if err != nil {
		return Key{}, fmt.Errorf("revoke %s: %w", nameOrID, err)
	}
	k, err = m.Store.Revoke(ctx, k.ID, m.now())
	if err != nil {
		return k, fmt.Errorf("revoke %s: %w", nameOrID, err)
	}
	if err := m.refresh(ctx); err != nil {
		return k, fmt.Errorf("key %s is revoked, but this server could not reload its keys and still accepts it until it does: %w", k.Name, err)
	}
	return k, nil
}

// EnsureAdmin creates the first admin key when the Store holds no keys at
// all (revoked ones included), writing its secret to home/admin.key. It
// returns that file's path and whether it created the key; when keys exist
// already it does nothing (and the file may or may not exist).
//
// The secret is written to a temporary file first and renamed into place
// only once the key is stored, so admin.key never holds a secret that does
// not work. When several processes start at once, one creates the key and
// the others return created == false.
func (m *Manager) EnsureAdmin(ctx context.Context, home string) (path string, created bool, err error) {
	path = filepath.Join(home, AdminKeyFile)
	ks, err := m.Store.List(ctx)
	if err != nil {
		return path, false, fmt.Errorf("first admin key: %w", err)
	}
	if len(ks) > 0 {
		return path, false, nil
	}
	k, secret, err := m.newKey(CreateOptions{Name: AdminKeyName, Admin: true})
	if err != nil {
		return path, false, fmt.Errorf("first admin key: %w", err)
	}
	tmp, err := writeTemp(path, []byte(secret+"\n"))
	if err != nil {
		return path, false, fmt.Errorf("first admin key: %w", err)
	}
	defer os.Remove(tmp) // fails harmlessly once renamed
	if err := m.Store.Create(ctx, k); err != nil {
		if errors.Is(err, ErrNameInUse) {
			return path, false, nil // another process just created it
		}
		return path, false, fmt.Errorf("first admin key: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		if _, rerr := m.Store.Revoke(ctx, k.ID, m.now()); rerr != nil {
			err = errors.Join(err, rerr)
		}
		return path, false, fmt.Errorf("first admin key: writing %s: %w", path, err)
	}
	atomicfile.SyncDir(home) // best effort
	m.refresh(ctx)
	return path, true, nil
}
