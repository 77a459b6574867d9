package sqlite

import (
	"context"
	"database/sql"
	"errors"

	"sov.dev/sov/internal/sqlitedb"
)

// ErrSchemaTooNew is returned (wrapped) by Open when the database was
// written by a newer sov whose schema this binary does not know.
var ErrSchemaTooNew = errors.New("key database schema is newer than this sov")

// applicationID marks a SQLite file as a sov key database ("sovk"), so that
// Open refuses other SQLite files, the vault's sov.db among them.
const applicationID = 0x736f766b

// migrations is the schema's history. Times are UTC unix nanoseconds;
// durations nanoseconds; models and jurisdictions JSON arrays of strings.
// key_version.version goes up by one in every transaction that creates or
// revokes a key (Store.Version).
var migrations = []sqlitedb.Migration{
	{
		Name: "keys, usage and version",
		SQL: `
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

// options are how Open opens a key database whose schema history is steps
// (each step takes it from user_version i to i+1; steps are only ever
// appended, a released step never changes).
func options(steps []sqlitedb.Migration) sqlitedb.Options {
	return sqlitedb.Options{
		Name:          "sov key database",
		ApplicationID: applicationID,
		Migrations:    steps,
		SchemaTooNew:  ErrSchemaTooNew,
		ForeignKeys:   true,
	}
}

// migrate brings the database up to len(steps); see sqlitedb.Migrate.
func migrate(ctx context.Context, db *sql.DB, steps []sqlitedb.Migration) error {
	return sqlitedb.Migrate(ctx, db, options(steps))
}
