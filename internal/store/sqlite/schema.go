package sqlite

import (
	"context"
	"database/sql"
	"errors"

	"sov.dev/sov/internal/sqlitedb"
)

// ErrSchemaTooNew is returned (wrapped) by Open when the database was
// written by a newer sov whose schema this binary does not know.
var ErrSchemaTooNew = errors.New("database schema is newer than this sov")

// applicationID marks a SQLite file as a sov metadata store ("sov" and a
// format number), so that Open refuses other SQLite databases.
const applicationID = 0x736f7601

// A migration is one step of the schema's history. Step i (0-based) takes
// the database from user_version i to i+1. Steps are only ever appended:
// a released step must never change, because databases in the field have
// already run it.
type migration struct {
	name string
	sql  string
}

// migrations is the schema's history. Times are UTC unix nanoseconds;
// digests are "sha256:<hex>" text; names and tags compare bytewise.
var migrations = []migration{
	{
		name: "models and references",
		sql: `
PRAGMA application_id = 1936684545;

CREATE TABLE models (
	digest   TEXT PRIMARY KEY,
	manifest BLOB NOT NULL,
	facts    BLOB,
	source   TEXT NOT NULL,
	created  INTEGER NOT NULL
) STRICT;
CREATE INDEX models_by_created ON models (created, digest);

CREATE TABLE model_blobs (
	model_digest TEXT NOT NULL REFERENCES models (digest) ON DELETE CASCADE,
	blob_digest  TEXT NOT NULL,
	PRIMARY KEY (model_digest, blob_digest)
) STRICT, WITHOUT ROWID;
CREATE INDEX model_blobs_by_blob ON model_blobs (blob_digest);

CREATE TABLE refs (
	name    TEXT NOT NULL,
	tag     TEXT NOT NULL,
	digest  TEXT NOT NULL REFERENCES models (digest) ON DELETE CASCADE,
	updated INTEGER NOT NULL,
	PRIMARY KEY (name, tag)
) STRICT, WITHOUT ROWID;
CREATE INDEX refs_by_digest ON refs (digest);
`,
	},
	{
		name: "pending records",
		sql: `
CREATE TABLE pending (
	id      TEXT PRIMARY KEY,
	created INTEGER NOT NULL
) STRICT;

CREATE TABLE pending_blobs (
	pending_id  TEXT NOT NULL REFERENCES pending (id) ON DELETE CASCADE,
	blob_digest TEXT NOT NULL,
	PRIMARY KEY (pending_id, blob_digest)
) STRICT, WITHOUT ROWID;
`,
	},
	{
		// Decisions outlive their model (no foreign key): a rejected model
		// removed and imported again is still rejected. The triggers make
		// the history append-only for every writer, not just this code.
		name: "trust gate decisions",
		sql: `
CREATE TABLE decisions (
	seq        INTEGER PRIMARY KEY AUTOINCREMENT,
	digest     TEXT NOT NULL,
	state      TEXT NOT NULL CHECK (state IN ('quarantined', 'approved', 'rejected')),
	decided_by TEXT NOT NULL,
	reason     TEXT NOT NULL,
	policy     TEXT NOT NULL,
	detail     BLOB,
	time       INTEGER NOT NULL
) STRICT;
CREATE INDEX decisions_by_digest ON decisions (digest, seq);

CREATE TRIGGER decisions_no_update BEFORE UPDATE ON decisions
BEGIN SELECT RAISE(ABORT, 'decisions are append-only'); END;
CREATE TRIGGER decisions_no_delete BEFORE DELETE ON decisions
BEGIN SELECT RAISE(ABORT, 'decisions are append-only'); END;
`,
	},
}

// options are how Open opens a metadata store whose schema history is
// steps.
func options(steps []migration) sqlitedb.Options {
	ms := make([]sqlitedb.Migration, len(steps))
	for i, st := range steps {
		ms[i] = sqlitedb.Migration{Name: st.name, SQL: st.sql}
	}
	return sqlitedb.Options{
		Name:          "sov metadata database",
		ApplicationID: applicationID,
		Migrations:    ms,
		SchemaTooNew:  ErrSchemaTooNew,
		ForeignKeys:   true,
	}
}

// migrate brings the database up to len(steps); see sqlitedb.Migrate.
func migrate(ctx context.Context, db *sql.DB, steps []migration) error {
	return sqlitedb.Migrate(ctx, db, options(steps))
}
