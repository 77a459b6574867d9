// Package sqlite is the keys.Store that keeps API keys and budget usage in
// one SQLite file, SOV_HOME/gateway.db, through the pure-Go driver
// modernc.org/sqlite.
//
// The file is opened the way the vault's metadata store opens sov.db: WAL
// (readers never block the writer), synchronous=FULL, a busy timeout, every
// write one BEGIN IMMEDIATE transaction (so the CLI and a running server
// can write at once), and a schema versioned in PRAGMA user_version,
// migrated forward on Open; a database from a newer sov is refused. The
// opening, checking and migrating is package sqlitedb's.
//
// Version is cheap enough to poll every second: it asks PRAGMA
// data_version on a connection of its own (which changes only when another
// connection, in any process, commits) and reads the key_version counter
// only then; the counter goes up in every transaction that creates or
// revokes a key, so usage writes do not make servers reload their keys.
//
// The package stores secret hashes only, never secrets, and must not run
// SQL built from caller data: every value is a bound parameter.
package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"sov.dev/sov/internal/keys"
	"sov.dev/sov/internal/sqlitedb"
)

// File is the database's name under SOV_HOME.
const File = "gateway.db"

// busyTimeout is how long a write waits for another process's write
// transaction before failing with SQLITE_BUSY.
const busyTimeout = sqlitedb.BusyTimeout

// Store is a keys.Store backed by a SQLite file. It is safe for concurrent
// use, also by several processes opening the same file.
type Store struct {
	db     *sql.DB
	path   string
	writer *sqlitedb.Writer // one write transaction at a time

	verMu       sync.Mutex
	verConn     *sql.Conn // never writes, so its data_version sees every commit
	dataVersion int64
	version     int64
	verValid    bool
}

var _ keys.Store = (*Store)(nil)

// Open opens (creating if needed) the database at path and brings its
// schema up to date. The directory must exist.
func Open(ctx context.Context, path string) (*Store, error) {
	s, err := open(ctx, path, migrations)
	if err != nil {
		return nil, fmt.Errorf("open key database %s: %w", path, err)
	}
	return s, nil
}

func open(ctx context.Context, path string, steps []sqlitedb.Migration) (*Store, error) {
	db, err := sqlitedb.Open(ctx, path, options(steps))
	if err != nil {
		return nil, err
	}
	return &Store{db: db, path: path, writer: sqlitedb.NewWriter(db)}, nil
}

// dataSourceName is the driver's DSN for path, with the settings every
// connection needs.
func dataSourceName(path string) (string, error) {
	return sqlitedb.DataSourceName(path, options(nil))
}

// Path returns the database file's path as given to Open.
func (s *Store) Path() string { return s.path }

// Close implements keys.Store.
func (s *Store) Close() error {
	s.verMu.Lock()
	var err error
	if s.verConn != nil {
		err = s.verConn.Close()
		s.verConn = nil
	}
	s.verMu.Unlock()
	return errors.Join(err, s.db.Close())
}

func bumpVersion(ctx context.Context, tx *sql.Tx) error {
	_, err := tx.ExecContext(ctx, `UPDATE key_version SET version = version + 1 WHERE one = 1`)
	return err
}

// exists reports whether query finds a row.
func exists(ctx context.Context, tx *sql.Tx, query string, args ...any) (bool, error) {
	var one int
	err := tx.QueryRowContext(ctx, query, args...).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

func nanos(t time.Time) int64     { return t.UnixNano() }
func fromNanos(n int64) time.Time { return time.Unix(0, n).UTC() }

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// jsonList encodes a list as a JSON array, [] when empty.
func jsonList(l []string) string {
	if l == nil {
		l = []string{}
	}
	b, _ := json.Marshal(l) // a []string always encodes
	return string(b)
}

func errCorrupt(id string, err error) error {
	return fmt.Errorf("corrupt key database: key %q: %w", id, err)
}

// Create implements keys.Store.
func (s *Store) Create(ctx context.Context, k keys.Key) error {
	if err := k.Validate(); err != nil {
		return err
	}
	if k.Revoked != nil {
		return fmt.Errorf("create key %s: a new key cannot be revoked", k.ID)
	}
	err := s.writer.Write(ctx, func(tx *sql.Tx) error {
		for _, c := range []struct {
			query, arg string
			err        error
		}{
			{`SELECT 1 FROM keys WHERE id = ?`, k.ID, fmt.Errorf("ID: %w", keys.ErrExists)},
			{`SELECT 1 FROM keys WHERE hash = ?`, k.Hash, fmt.Errorf("hash: %w", keys.ErrExists)},
			{`SELECT 1 FROM keys WHERE name = ? AND revoked IS NULL`, k.Name, fmt.Errorf("name %q: %w", k.Name, keys.ErrNameInUse)},
		} {
			found, err := exists(ctx, tx, c.query, c.arg)
			if err != nil {
				return err
			}
			if found {
				return c.err
			}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO keys (id, name, tenant, hash, prefix, admin, models,
			jurisdictions, rpm, tpm, max_concurrency, token_budget, budget_window, created)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			k.ID, k.Name, k.Tenant, k.Hash, k.Prefix, boolInt(k.Admin), jsonList(k.Models),
			jsonList(k.Jurisdictions), k.RPM, k.TPM, k.MaxConcurrency, k.TokenBudget,
			int64(k.BudgetWindow), nanos(k.Created)); err != nil {
			return err
		}
		return bumpVersion(ctx, tx)
	})
	if err != nil {
		return fmt.Errorf("create key %s: %w", k.ID, err)
	}
	return nil
}

const keyColumns = `id, name, tenant, hash, prefix, admin, models, jurisdictions, rpm, tpm,
	max_concurrency, token_budget, budget_window, created, revoked`

func scanKey(row interface{ Scan(...any) error }) (keys.Key, error) {
	var (
		k                    keys.Key
		admin                int
		models, jurisdiction string
		window, created      int64
		revoked              sql.NullInt64
	)
	if err := row.Scan(&k.ID, &k.Name, &k.Tenant, &k.Hash, &k.Prefix, &admin, &models, &jurisdiction,
		&k.RPM, &k.TPM, &k.MaxConcurrency, &k.TokenBudget, &window, &created, &revoked); err != nil {
		return keys.Key{}, err
	}
	if !keys.IsID(k.ID) {
		return keys.Key{}, errCorrupt(k.ID, errors.New("malformed ID"))
	}
	for _, l := range []struct {
		text string
		dst  *[]string
	}{{models, &k.Models}, {jurisdiction, &k.Jurisdictions}} {
		if err := json.Unmarshal([]byte(l.text), l.dst); err != nil {
			return keys.Key{}, errCorrupt(k.ID, err)
		}
		if len(*l.dst) == 0 {
			*l.dst = nil
		}
	}
	k.Admin = admin == 1
	k.BudgetWindow = time.Duration(window)
	k.Created = fromNanos(created)
	if revoked.Valid {
		r := fromNanos(revoked.Int64)
		k.Revoked = &r
	}
	return k, nil
}

// Get implements keys.Store.
func (s *Store) Get(ctx context.Context, nameOrID string) (keys.Key, error) {
	var row *sql.Row
	if keys.IsID(nameOrID) {
		row = s.db.QueryRowContext(ctx, `SELECT `+keyColumns+` FROM keys WHERE id = ?`, nameOrID)
	} else {
		row = s.db.QueryRowContext(ctx, `SELECT `+keyColumns+` FROM keys WHERE name = ?
			ORDER BY revoked IS NULL DESC, created DESC, id DESC LIMIT 1`, nameOrID)
	}
	k, err := scanKey(row)
	if errors.Is(err, sql.ErrNoRows) {
		return keys.Key{}, fmt.Errorf("key %q: %w", nameOrID, keys.ErrNotFound)
	}
	if err != nil {
		return keys.Key{}, fmt.Errorf("get key %q: %w", nameOrID, err)
	}
	return k, nil
}

// List implements keys.Store.
func (s *Store) List(ctx context.Context) ([]keys.Key, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+keyColumns+` FROM keys ORDER BY created, id`)
	if err != nil {
		return nil, fmt.Errorf("list keys: %w", err)
	}
	defer rows.Close()
	var ks []keys.Key
	for rows.Next() {
		k, err := scanKey(rows)
		if err != nil {
			return nil, fmt.Errorf("list keys: %w", err)
		}
		ks = append(ks, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list keys: %w", err)
	}
	return ks, nil
}

// Revoke implements keys.Store.
func (s *Store) Revoke(ctx context.Context, id string, at time.Time) (keys.Key, error) {
	var k keys.Key
	err := s.writer.Write(ctx, func(tx *sql.Tx) error {
		var err error
		k, err = scanKey(tx.QueryRowContext(ctx, `SELECT `+keyColumns+` FROM keys WHERE id = ?`, id))
		if errors.Is(err, sql.ErrNoRows) {
			return keys.ErrNotFound
		}
		if err != nil {
			return err
		}
		if k.Revoked != nil {
			return keys.ErrRevoked
		}
		at := fromNanos(nanos(at))
		if _, err := tx.ExecContext(ctx, `UPDATE keys SET revoked = ? WHERE id = ?`, nanos(at), id); err != nil {
			return err
		}
		k.Revoked = &at
		return bumpVersion(ctx, tx)
	})
	if err != nil {
		if k.ID == "" {
			return keys.Key{}, fmt.Errorf("revoke key %q: %w", id, err)
		}
		return k, fmt.Errorf("revoke key %s: %w", id, err)
	}
	return k, nil
}

// LookupHash implements keys.Store.
func (s *Store) LookupHash(ctx context.Context, hash string) (keys.Key, error) {
	k, err := scanKey(s.db.QueryRowContext(ctx, `SELECT `+keyColumns+` FROM keys WHERE hash = ?`, hash))
	if errors.Is(err, sql.ErrNoRows) {
		return keys.Key{}, fmt.Errorf("key with hash %.12s…: %w", hash, keys.ErrNotFound)
	}
	if err != nil {
		return keys.Key{}, fmt.Errorf("look up key by hash: %w", err)
	}
	return k, nil
}

// Version implements keys.Store.
func (s *Store) Version(ctx context.Context) (int64, error) {
	s.verMu.Lock()
	defer s.verMu.Unlock()
	v, err := s.pollVersion(ctx)
	if err != nil {
		// The pinned connection may be broken: take a fresh one next time.
		if s.verConn != nil {
			s.verConn.Close()
			s.verConn = nil
		}
		s.verValid = false
		return 0, fmt.Errorf("key database version: %w", err)
	}
	return v, nil
}

func (s *Store) pollVersion(ctx context.Context) (int64, error) {
	if s.verConn == nil {
		c, err := s.db.Conn(ctx)
		if err != nil {
			return 0, err
		}
		s.verConn = c
	}
	var dv int64
	if err := s.verConn.QueryRowContext(ctx, `PRAGMA data_version`).Scan(&dv); err != nil {
		return 0, err
	}
	if s.verValid && dv == s.dataVersion {
		return s.version, nil
	}
	// data_version is read first: a commit after it changes it again, so
	// the next call reads the counter again.
	var v int64
	if err := s.verConn.QueryRowContext(ctx, `SELECT version FROM key_version WHERE one = 1`).Scan(&v); err != nil {
		return 0, err
	}
	s.dataVersion, s.version, s.verValid = dv, v, true
	return v, nil
}

// AddUsage implements keys.Store.
func (s *Store) AddUsage(ctx context.Context, keyID string, windowStart time.Time, tokens int64) error {
	if tokens < 0 {
		return fmt.Errorf("add usage for key %s: negative token count %d", keyID, tokens)
	}
	err := s.writer.Write(ctx, func(tx *sql.Tx) error {
		found, err := exists(ctx, tx, `SELECT 1 FROM keys WHERE id = ?`, keyID)
		if err != nil {
			return err
		}
		if !found {
			return keys.ErrNotFound
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO usage (key_id, window_start, tokens) VALUES (?, ?, ?)
			ON CONFLICT (key_id, window_start) DO UPDATE SET tokens = tokens + excluded.tokens`,
			keyID, nanos(windowStart), tokens)
		return err
	})
	if err != nil {
		return fmt.Errorf("add usage for key %q: %w", keyID, err)
	}
	return nil
}

// Usage implements keys.Store.
func (s *Store) Usage(ctx context.Context, keyID string, windowStart time.Time) (int64, error) {
	var n int64
	err := s.db.QueryRowContext(ctx, `SELECT tokens FROM usage WHERE key_id = ? AND window_start = ?`,
		keyID, nanos(windowStart)).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("usage of key %q: %w", keyID, err)
	}
	return n, nil
}
