package audit

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"

	"sov.dev/sov/internal/sqlitedb"
)

// ErrSchemaTooNew is returned (wrapped) by Open when audit.db was written
// by a newer sov whose schema this binary does not know.
var ErrSchemaTooNew = errors.New("audit database schema is newer than this sov")

// applicationID marks a SQLite file as a sov audit log ("sovA").
const applicationID = 0x736f7641

// busyTimeout is how long a write waits for another process's write
// transaction. Audit transactions are short.
const busyTimeout = sqlitedb.BusyTimeout

// migrations is the schema's history. The entries table holds each
// field exactly as hashed (see hash.go); head is the chain's tip, updated
// in the same transaction as every append. Step i takes the database from
// user_version i to i+1; steps are only ever appended.
var migrations = []sqlitedb.Migration{
	{
		Name: "entries, head and checkpoints",
		SQL: fmt.Sprintf(`
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
	return sqlitedb.Open(ctx, path, options())
}

// options are how openDB opens audit.db: no foreign keys (the schema has
// none) and a small pool.
func options() sqlitedb.Options {
	return sqlitedb.Options{
		Name:          "sov audit database",
		ApplicationID: applicationID,
		Migrations:    migrations,
		SchemaTooNew:  ErrSchemaTooNew,
		MaxConns:      4,
	}
}

// dataSourceName is the driver's DSN for path, with the settings every
// connection needs: WAL, a busy timeout, synchronous=FULL (a committed
// entry survives a power cut) and BEGIN IMMEDIATE for write transactions
// (no lock upgrades, so no deadlocks between processes).
func dataSourceName(path string) (string, error) {
	return sqlitedb.DataSourceName(path, options())
}
