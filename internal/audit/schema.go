package audit

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// ErrSchemaTooNew is returned (wrapped) by Open when audit.db was written
// by a newer sov whose schema this binary does not know.
var ErrSchemaTooNew = errors.New("audit database schema is newer than this sov")

// applicationID marks a SQLite file as a sov audit log ("sovA").
const applicationID = 0x736f7641

// busyTimeout is how long a write waits for another process's write
// transaction. Audit transactions are short.
const busyTimeout = 10 * time.Second

// A migration is one step of the schema's history; step i takes the
// database from user_version i to i+1. Steps are only ever appended.
type migration struct {
	name string
	sql  string
}

// migrations is the schema's history. The entries table holds each
// field exactly as hashed (see hash.go); head is the chain's tip, updated
// in the same transaction as every append.
var migrations = []migration{
	{
		name: "entries, head and checkpoints",
		sql: fmt.Sprintf(`
PRAGMA application_id = %d;

CREATE TABLE entries (
	seq       INTEGER PRIMARY KEY,
	time      TEXT NOT NULL,
	kind      TEXT NOT NULL,
	actor     TEXT NOT NULL,
	data      TEXT NOT NULL,
	prev_hash TEXT NOT NULL,
	hash      TEXT NOT NULL
) STRICT;
CREATE INDEX entries_by_time ON entries (time);

CREATE TABLE head (
	id   INTEGER PRIMARY KEY CHECK (id = 1),
	seq  INTEGER NOT NULL,
	hash TEXT NOT NULL
) STRICT;

CREATE TABLE checkpoints (
	id         INTEGER PRIMARY KEY,
	seq        INTEGER NOT NULL,
	hash       TEXT NOT NULL,
	time       TEXT NOT NULL,
	public_key TEXT NOT NULL,
	signature  TEXT NOT NULL
) STRICT;
`, applicationID),
	},
}

// openDB opens (creating, mode 0600, if needed) the database at path and
// migrates it.
func openDB(ctx context.Context, path string) (*sql.DB, error) {
	// SQLite would create the file with the umask's mode; the log names
	// keys and tenants, so create it private first. The -wal and -shm
	// files take the database file's mode.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	if err := f.Close(); err != nil {
		return nil, err
	}
	dsn, err := dataSourceName(path)
	if err != nil {
		return nil, err
	}
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(4)
	db.SetMaxIdleConns(4)
	if err := migrate(ctx, db); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// dataSourceName builds a file: URI (so no byte of the path is read as a
// parameter) with the settings every connection needs: WAL, a busy
// timeout, synchronous=FULL (a committed entry survives a power cut) and
// BEGIN IMMEDIATE for write transactions (no lock upgrades, so no
// deadlocks between processes).
func dataSourceName(path string) (string, error) {
	if path == "" {
		return "", errors.New("empty database path")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	p := filepath.ToSlash(abs)
	if !strings.HasPrefix(p, "/") {
		p = "/" + p // Windows: /C:/...
	}
	q := url.Values{}
	q.Set("_busy_timeout", fmt.Sprint(busyTimeout.Milliseconds()))
	q.Set("_journal_mode", "WAL")
	q.Set("_synchronous", "FULL")
	q.Set("_txlock", "immediate")
	u := url.URL{Scheme: "file", Path: p, RawQuery: q.Encode()}
	return u.String(), nil
}

// migrate brings the schema up to date, one transaction per step, safe to
// run from several processes at once (each step re-reads the version in
// its immediate transaction).
func migrate(ctx context.Context, db *sql.DB) error {
	var appID, version, tables int
	if err := db.QueryRowContext(ctx, "PRAGMA application_id").Scan(&appID); err != nil {
		return err
	}
	if err := db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return err
	}
	if err := db.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_schema").Scan(&tables); err != nil {
		return err
	}
	if appID != 0 && appID != applicationID || appID == 0 && (version != 0 || tables != 0) {
		return fmt.Errorf("not a sov audit database (application id %#x, schema version %d)", appID, version)
	}
	for {
		done, err := migrateOne(ctx, db)
		if err != nil || done {
			return err
		}
	}
}

func migrateOne(ctx context.Context, db *sql.DB) (done bool, err error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return false, err
	}
	defer func() {
		if err != nil || done {
			tx.Rollback()
		}
	}()
	var version int
	if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return false, err
	}
	switch {
	case version > len(migrations):
		return false, fmt.Errorf("%w: schema version %d, this sov knows up to %d; upgrade sov", ErrSchemaTooNew, version, len(migrations))
	case version == len(migrations):
		return true, nil
	}
	step := migrations[version]
	if _, err := tx.ExecContext(ctx, step.sql); err != nil {
		return false, fmt.Errorf("schema migration %d (%s): %w", version+1, step.name, err)
	}
	// PRAGMA takes no parameters; version is an int we formatted.
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", version+1)); err != nil {
		return false, fmt.Errorf("schema migration %d (%s): %w", version+1, step.name, err)
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("schema migration %d (%s): %w", version+1, step.name, err)
	}
	return false, nil
}
