// Package sqlitedb opens the SQLite files that sov keeps (the vault's
// sov.db, gateway.db, audit.db) the one way they are all opened, through
// the pure-Go driver modernc.org/sqlite.
//
// Every connection runs in WAL mode (readers never block the writer) with
// synchronous=FULL (a write that returned survives a power cut), a busy
// timeout, optionally foreign keys, and BEGIN IMMEDIATE for transactions,
// so that several processes can write one file without deadlocking on a
// lock upgrade. Open refuses a file another application wrote (its
// PRAGMA application_id) and brings the schema forward, one transaction
// per Migration, recording progress in PRAGMA user_version; a file from a
// newer sov is refused, never guessed at. A Writer runs one process's
// write transactions one at a time.
//
// The package knows no schema, table or error wording of its callers:
// each caller brings its own migrations, application id and sentinel. It
// must not run SQL built from data; the only SQL it formats itself are
// PRAGMA statements with integers it chose.
package sqlitedb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// BusyTimeout is how long a write waits for another connection's (or
// process's) write transaction before failing with SQLITE_BUSY. sov's
// writes are short (no blob I/O happens inside one), so this is generous.
const BusyTimeout = 10 * time.Second

// defaultMaxConns is the connection pool size when Options.MaxConns is 0.
// Every connection costs a SQLite handle and page cache; a handful covers
// concurrent readers (WAL lets them run beside the writer).
const defaultMaxConns = 8

// ErrSchemaTooNew is the error Open and Migrate wrap when a database's
// schema version is past the migrations they were given, unless
// Options.SchemaTooNew names another.
var ErrSchemaTooNew = errors.New("database schema is newer than this sov")

// A Migration is one step of a schema's history: step i (0-based) takes a
// database from user_version i to i+1. Steps are only ever appended; a
// released step must never change, because databases in the field have
// already run it.
type Migration struct {
	Name string // for errors: "schema migration 2 (Name): ..."
	SQL  string // one or more statements, run in one transaction
}

// Options say which database Open expects and how to connect to it.
type Options struct {
	// Name says what the file is, in the error for a foreign file:
	// "not a <Name> (application id ..., schema version ...)".
	Name string
	// ApplicationID marks the caller's files (PRAGMA application_id); it
	// must not be zero. Open sets it with the first migration and refuses
	// files that carry another id, or tables but no id.
	ApplicationID int32
	// Migrations is the schema's whole history.
	Migrations []Migration
	// SchemaTooNew is the sentinel wrapped when the file's schema version
	// is past len(Migrations). Nil means ErrSchemaTooNew.
	SchemaTooNew error
	// ForeignKeys turns on foreign key enforcement on every connection.
	ForeignKeys bool
	// MaxConns caps the connection pool, open and idle. Zero means 8.
	MaxConns int
}

// Open opens (creating if needed) the database at path with the settings
// every connection needs, checks that it is the caller's kind of file and
// brings its schema up to date. The directory must exist. The caller closes
// the returned *sql.DB.
func Open(ctx context.Context, path string, o Options) (*sql.DB, error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	dsn, err := DataSourceName(path, o)
	if err != nil {
		return nil, err
	}
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, err
	}
	n := o.MaxConns
	if n <= 0 {
		n = defaultMaxConns
	}
	db.SetMaxOpenConns(n)
	db.SetMaxIdleConns(n)
	if err := Migrate(ctx, db, o); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

func (o Options) check() error {
	if o.ApplicationID == 0 {
		return errors.New("sqlitedb: Options.ApplicationID is zero")
	}
	if o.Name == "" {
		return errors.New("sqlitedb: Options.Name is empty")
	}
	return nil
}

// DataSourceName returns the driver's DSN for path: a file: URI, so that
// no byte of the path is read as a parameter, carrying the settings of
// every connection (WAL, BusyTimeout, synchronous=FULL, BEGIN IMMEDIATE,
// and foreign keys if o.ForeignKeys). Only o.ForeignKeys is read.
func DataSourceName(path string, o Options) (string, error) {
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
	q.Set("_busy_timeout", fmt.Sprint(BusyTimeout.Milliseconds()))
	if o.ForeignKeys {
		q.Set("_foreign_keys", "1")
	}
	q.Set("_journal_mode", "WAL")
	q.Set("_synchronous", "FULL")
	q.Set("_txlock", "immediate")
	return (&url.URL{Scheme: "file", Path: p, RawQuery: q.Encode()}).String(), nil
}

// Migrate checks that db is (or is about to become) the caller's kind of
// file and brings it up to len(o.Migrations), one transaction per step.
// db must come from Open or DataSourceName (its transactions must begin
// IMMEDIATE). Several processes may migrate one file at once: each step
// re-reads the version inside its transaction, which excludes other
// writers.
func Migrate(ctx context.Context, db *sql.DB, o Options) error {
	if err := o.check(); err != nil {
		return err
	}
	if err := checkForeign(ctx, db, o); err != nil {
		return err
	}
	for {
		done, err := migrateOne(ctx, db, o)
		if err != nil || done {
			return err
		}
	}
}

// checkForeign refuses a file that is not, and is not about to become,
// one of the caller's: another application's id, or tables but no id.
func checkForeign(ctx context.Context, db *sql.DB, o Options) error {
	// One statement, so one snapshot: read apart, another process's first
	// migration could commit between the reads, and the file would look
	// like tables without an id.
	var appID, version, tables int64
	if err := db.QueryRowContext(ctx, `SELECT
		(SELECT application_id FROM pragma_application_id()),
		(SELECT user_version FROM pragma_user_version()),
		(SELECT count(*) FROM sqlite_schema)`).Scan(&appID, &version, &tables); err != nil {
		return err
	}
	if appID != 0 && appID != int64(o.ApplicationID) || appID == 0 && (version != 0 || tables != 0) {
		return fmt.Errorf("not a %s (application id %#x, schema version %d)", o.Name, appID, version)
	}
	return nil
}

// migrateOne applies the next step, if any, and reports whether the schema
// is now current.
func migrateOne(ctx context.Context, db *sql.DB, o Options) (done bool, err error) {
	tx, err := db.BeginTx(ctx, nil) // BEGIN IMMEDIATE, from the DSN
	if err != nil {
		return false, err
	}
	defer tx.Rollback() // a no-op after Commit
	var version int
	if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return false, err
	}
	steps := o.Migrations
	switch {
	case version < 0:
		return false, fmt.Errorf("not a %s (schema version %d)", o.Name, version)
	case version > len(steps):
		tooNew := o.SchemaTooNew
		if tooNew == nil {
			tooNew = ErrSchemaTooNew
		}
		return false, fmt.Errorf("%w: schema version %d, this sov knows up to %d; upgrade sov", tooNew, version, len(steps))
	case version == len(steps):
		return true, nil
	}
	step := steps[version]
	stepErr := func(err error) error {
		return fmt.Errorf("schema migration %d (%s): %w", version+1, step.Name, err)
	}
	if _, err := tx.ExecContext(ctx, step.SQL); err != nil {
		return false, stepErr(err)
	}
	// PRAGMA takes no parameters; both values are integers formatted here.
	if version == 0 {
		if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA application_id = %d", o.ApplicationID)); err != nil {
			return false, stepErr(err)
		}
	}
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", version+1)); err != nil {
		return false, stepErr(err)
	}
	if err := tx.Commit(); err != nil {
		return false, stepErr(err)
	}
	return false, nil
}

// A Writer runs write transactions on one database one at a time within
// this process, so that they queue here instead of spinning in SQLite's
// busy handler; other processes are waited for by the busy timeout. It is
// safe for concurrent use.
type Writer struct {
	db   *sql.DB
	turn chan struct{}
}

// NewWriter returns a Writer for db, which must come from Open (or
// DataSourceName), so that its transactions begin IMMEDIATE.
func NewWriter(db *sql.DB) *Writer {
	return &Writer{db: db, turn: make(chan struct{}, 1)}
}

// Write runs fn in one write transaction, committing if fn returns nil and
// rolling back otherwise; fn's error is returned as is. It waits for this
// process's other writes first, giving up when ctx is done.
func (w *Writer) Write(ctx context.Context, fn func(tx *sql.Tx) error) error {
	select {
	case w.turn <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-w.turn }()
	tx, err := w.db.BeginTx(ctx, nil) // BEGIN IMMEDIATE, from the DSN
	if err != nil {
		return err
	}
	defer tx.Rollback() // a no-op after Commit; covers a panicking fn
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}
