package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// ErrSchemaTooNew is returned (wrapped) by Open when the database was
// written by a newer sov whose schema this binary does not know.
var ErrSchemaTooNew = errors.New("key database schema is newer than this sov")

// applicationID marks a SQLite file as a sov key database ("sovk"), so that
// Open refuses other SQLite files, the vault's sov.db among them.
const applicationID = 0x736f766b

// A migration is one step of the schema's history: step i (0-based) takes
// the database from user_version i to i+1. Steps are only ever appended; a
// released step never changes.
type migration struct {
	name string
	sql  string
}

// migrations is the schema's history. Times are UTC unix nanoseconds;
// durations nanoseconds; models and jurisdictions JSON arrays of strings.
// key_version.version goes up by one in every transaction that creates or
// revokes a key (Store.Version).
var migrations = []migration{
	{
		name: "keys, usage and version",
		sql: `
PRAGMA application_id = 1936684651;

CREATE TABLE keys (
	id              TEXT PRIMARY KEY,
	name            TEXT NOT NULL,
	tenant          TEXT NOT NULL,
	hash            TEXT NOT NULL UNIQUE,
	prefix          TEXT NOT NULL,
	admin           INTEGER NOT NULL CHECK (admin IN (0, 1)),
	models          TEXT NOT NULL,
	jurisdictions   TEXT NOT NULL,
	rpm             INTEGER NOT NULL,
	tpm             INTEGER NOT NULL,
	max_concurrency INTEGER NOT NULL,
	token_budget    INTEGER NOT NULL,
	budget_window   INTEGER NOT NULL,
	created         INTEGER NOT NULL,
	revoked         INTEGER
) STRICT;
CREATE UNIQUE INDEX keys_active_name ON keys (name) WHERE revoked IS NULL;
CREATE INDEX keys_by_name ON keys (name, created);
CREATE INDEX keys_by_created ON keys (created, id);

CREATE TABLE usage (
	key_id       TEXT NOT NULL REFERENCES keys (id),
	window_start INTEGER NOT NULL,
	tokens       INTEGER NOT NULL CHECK (tokens >= 0),
	PRIMARY KEY (key_id, window_start)
) STRICT, WITHOUT ROWID;

CREATE TABLE key_version (
	one     INTEGER PRIMARY KEY CHECK (one = 1),
	version INTEGER NOT NULL
) STRICT;
INSERT INTO key_version (one, version) VALUES (1, 0);
`,
	},
}

// migrate brings the database up to len(steps), one transaction per step,
// recording progress in user_version. Several processes may run it at
// once: each step re-reads the version inside its BEGIN IMMEDIATE
// transaction.
func migrate(ctx context.Context, db *sql.DB, steps []migration) error {
	if err := checkForeign(ctx, db); err != nil {
		return err
	}
	for {
		done, err := migrateOne(ctx, db, steps)
		if err != nil || done {
			return err
		}
	}
}

// checkForeign refuses a file that is not, and is not about to become, a
// sov key database.
func checkForeign(ctx context.Context, db *sql.DB) error {
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
		return fmt.Errorf("not a sov key database (application id %#x, schema version %d)", appID, version)
	}
	return nil
}

func migrateOne(ctx context.Context, db *sql.DB, steps []migration) (done bool, err error) {
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
	case version > len(steps):
		return false, fmt.Errorf("%w: schema version %d, this sov knows up to %d; upgrade sov", ErrSchemaTooNew, version, len(steps))
	case version == len(steps):
		return true, nil
	}
	step := steps[version]
	if _, err := tx.ExecContext(ctx, step.sql); err != nil {
		return false, fmt.Errorf("schema migration %d (%s): %w", version+1, step.name, err)
	}
	// PRAGMA takes no parameters; version is an int formatted here.
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", version+1)); err != nil {
		return false, fmt.Errorf("schema migration %d (%s): %w", version+1, step.name, err)
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("schema migration %d (%s): %w", version+1, step.name, err)
	}
	return false, nil
}
