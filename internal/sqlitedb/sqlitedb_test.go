package sqlitedb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const testAppID = 0x736f7654 // "sovT"

// testSteps is a small schema history; no step sets application_id, so
// the tests also check that Migrate does.
var testSteps = []Migration{
	{Name: "notes", SQL: `CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL) STRICT;`},
	{Name: "tags", SQL: `CREATE TABLE tags (note INTEGER NOT NULL REFERENCES notes (id), tag TEXT NOT NULL) STRICT;`},
	{Name: "notes time", SQL: `ALTER TABLE notes ADD COLUMN time INTEGER NOT NULL DEFAULT 0;`},
}

func testOptions(steps []Migration) Options {
	return Options{Name: "test database", ApplicationID: testAppID, Migrations: steps, ForeignKeys: true}
}

func openTest(t *testing.T, path string, o Options) *sql.DB {
	t.Helper()
	db, err := Open(context.Background(), path, o)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// rawDB opens path with the connection settings but no checks.
func rawDB(t *testing.T, path string) *sql.DB {
	t.Helper()
	dsn, err := DataSourceName(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func pragma(t *testing.T, db interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, name string) string {
	t.Helper()
	var v string
	if err := db.QueryRowContext(context.Background(), "PRAGMA "+name).Scan(&v); err != nil {
		t.Fatalf("PRAGMA %s: %v", name, err)
	}
	return v
}

func TestConnectionSettings(t *testing.T) {
	tests := []struct {
		name     string
		o        Options
		fk       string
		maxConns int
	}{
		{"foreign keys, default pool", testOptions(testSteps), "1", defaultMaxConns},
		{"no foreign keys, small pool", Options{Name: "test database", ApplicationID: testAppID, Migrations: testSteps, MaxConns: 3}, "0", 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := openTest(t, filepath.Join(t.TempDir(), "t.db"), tt.o)
			if got := db.Stats().MaxOpenConnections; got != tt.maxConns {
				t.Errorf("MaxOpenConnections = %d, want %d", got, tt.maxConns)
			}
			want := map[string]string{
				"journal_mode":   "wal",
				"foreign_keys":   tt.fk,
				"synchronous":    "2", // FULL
				"busy_timeout":   fmt.Sprint(BusyTimeout.Milliseconds()),
				"user_version":   fmt.Sprint(len(testSteps)),
				"application_id": fmt.Sprint(testAppID),
			}
			// The settings are per connection: ask several.
			for i := range 3 {
				c, err := db.Conn(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				got := make(map[string]string)
				for name := range want {
					got[name] = pragma(t, c, name)
				}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("connection %d settings (-want +got):\n%s", i, diff)
				}
			}
		})
	}
}

func TestMigrateFromEveryVersion(t *testing.T) {
	ctx := context.Background()
	for version := range len(testSteps) + 1 {
		t.Run(fmt.Sprint(version), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "t.db")
			old := openTest(t, path, testOptions(testSteps[:version]))
			if got := pragma(t, old, "user_version"); got != fmt.Sprint(version) {
				t.Fatalf("user_version at step %d = %s", version, got)
			}
			if version >= 1 {
				if _, err := old.Exec(`INSERT INTO notes (id, body) VALUES (1, 'kept')`); err != nil {
					t.Fatal(err)
				}
			}
			old.Close()

			db := openTest(t, path, testOptions(testSteps))
			if got := pragma(t, db, "user_version"); got != fmt.Sprint(len(testSteps)) {
				t.Errorf("user_version after Open = %s, want %d", got, len(testSteps))
			}
			if version >= 1 {
				var body string
				var tm int64
				if err := db.QueryRowContext(ctx, `SELECT body, time FROM notes WHERE id = 1`).Scan(&body, &tm); err != nil {
					t.Fatalf("row after migration: %v", err)
				}
				if body != "kept" || tm != 0 {
					t.Errorf("row after migration = %q, %d; want \"kept\", 0", body, tm)
				}
			}
			// Foreign keys are on, so the migrated schema's reference holds.
			if _, err := db.Exec(`INSERT INTO tags (note, tag) VALUES (99, 'x')`); err == nil {
				t.Errorf("insert breaking a foreign key succeeded")
			}
		})
	}
}

func TestSchemaTooNew(t *testing.T) {
	ours := errors.New("our schema is newer")
	tests := []struct {
		name     string
		sentinel error
		want     error
	}{
		{"default sentinel", nil, ErrSchemaTooNew},
		{"caller's sentinel", ours, ours},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "t.db")
			db := openTest(t, path, testOptions(testSteps))
			newer := len(testSteps) + 1
			if _, err := db.Exec(fmt.Sprintf("PRAGMA user_version = %d", newer)); err != nil {
				t.Fatal(err)
			}
			db.Close()
			o := testOptions(testSteps)
			o.SchemaTooNew = tt.sentinel
			_, err := Open(context.Background(), path, o)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Open of a newer database error = %v, want %v", err, tt.want)
			}
			for _, s := range []string{"schema version 4", "knows up to 3", "upgrade sov"} {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not say %q", err, s)
				}
			}
			if got := pragma(t, rawDB(t, path), "user_version"); got != fmt.Sprint(newer) {
				t.Errorf("user_version after refused Open = %s, want %d (untouched)", got, newer)
			}
		})
	}
}

func TestFailedMigrationRollsBack(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "t.db")
	openTest(t, path, testOptions(testSteps[:1])).Close()
	steps := append([]Migration{testSteps[0]}, Migration{
		Name: "broken",
		SQL:  "CREATE TABLE half_done (a INTEGER); INSERT INTO no_such_table VALUES (1);",
	})
	_, err := Open(ctx, path, testOptions(steps))
	if err == nil || !strings.Contains(err.Error(), "schema migration 2 (broken)") {
		t.Fatalf("Open with a broken step error = %v, want one naming the step", err)
	}
	db := rawDB(t, path)
	if got := pragma(t, db, "user_version"); got != "1" {
		t.Errorf("user_version after failed step = %s, want 1", got)
	}
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM sqlite_schema WHERE name = 'half_done'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("the failed step's table exists: the step was not rolled back")
	}
	openTest(t, path, testOptions(testSteps))
}

func TestOpenRefusesOtherFiles(t *testing.T) {
	dir := t.TempDir()
	mk := func(name string, stmts ...string) string {
		path := filepath.Join(dir, name)
		db := rawDB(t, path)
		for _, q := range stmts {
			if _, err := db.Exec(q); err != nil {
				t.Fatal(err)
			}
		}
		db.Close()
		return path
	}
	garbage := filepath.Join(dir, "garbage.db")
	if err := os.WriteFile(garbage, []byte(strings.Repeat("not a database ", 100)), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, path, want string
	}{
		{"another application's tables", mk("other.db", `CREATE TABLE notes (body TEXT)`), "not a test database (application id 0x0, schema version 0)"},
		{"a schema version but no id", mk("version.db", `PRAGMA user_version = 1`), "not a test database (application id 0x0, schema version 1)"},
		{"another application id", mk("app.db", `PRAGMA application_id = 42`), "not a test database (application id 0x2a, schema version 0)"},
		{"a negative schema version", mk("neg.db", fmt.Sprintf(`PRAGMA application_id = %d`, testAppID), `PRAGMA user_version = -1`), "not a test database (schema version -1)"},
		{"not SQLite", garbage, "not a database"},
		{"missing directory", filepath.Join(dir, "no", "such", "t.db"), "unable to open"},
		{"empty path", "", "empty database path"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, err := Open(context.Background(), tt.path, testOptions(testSteps))
			if err == nil {
				db.Close()
				t.Fatalf("Open succeeded")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Open error = %q, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestOptionsChecked(t *testing.T) {
	tests := []struct {
		name string
		o    Options
	}{
		{"no application id", Options{Name: "x", Migrations: testSteps}},
		{"no name", Options{ApplicationID: testAppID, Migrations: testSteps}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "t.db")
			if db, err := Open(context.Background(), path, tt.o); err == nil {
				db.Close()
				t.Errorf("Open succeeded")
			}
			if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("Open with bad options touched the file: %v", err)
			}
		})
	}
}

func TestOddPath(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a dir?with#odd%20chars&_txlock=x")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "t.db")
	openTest(t, path, testOptions(testSteps)).Close()
	if _, err := os.Stat(path); err != nil {
		t.Errorf("database not at the given path: %v", err)
	}
}

// TestConcurrentOpen is several processes starting at once on a new file:
// each must see a fully migrated schema.
func TestConcurrentOpen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "t.db")
	const n = 6
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			db, err := Open(context.Background(), path, testOptions(testSteps))
			if err == nil {
				_, err = db.Exec(`INSERT INTO notes (body, time) VALUES (?, ?)`, fmt.Sprint(i), i)
				db.Close()
			}
			errs[i] = err
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
}

func countNotes(t *testing.T, db *sql.DB) int {
	t.Helper()
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM notes`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestWriterCommitsOrRollsBack(t *testing.T) {
	bad := errors.New("fn failed")
	tests := []struct {
		name      string
		cancelled bool  // ctx done before Write
		fnErr     error // what fn returns after inserting two rows
		wantErr   error
		want      int // rows afterwards
	}{
		{"nil commits", false, nil, nil, 2},
		{"error rolls back", false, bad, bad, 0},
		{"cancelled context", true, nil, context.Canceled, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := openTest(t, filepath.Join(t.TempDir(), "t.db"), testOptions(testSteps))
			ctx, cancel := context.WithCancel(context.Background())
			if tt.cancelled {
				cancel()
			}
			defer cancel()
			err := NewWriter(db).Write(ctx, func(tx *sql.Tx) error {
				for i := range 2 {
					if _, err := tx.ExecContext(ctx, `INSERT INTO notes (body) VALUES (?)`, fmt.Sprint(i)); err != nil {
						return err
					}
				}
				return tt.fnErr
			})
			if !errors.Is(err, tt.wantErr) || (err == nil) != (tt.wantErr == nil) {
				t.Errorf("Write error = %v, want %v", err, tt.wantErr)
			}
			if got := countNotes(t, db); got != tt.want {
				t.Errorf("%d rows after Write, want %d", got, tt.want)
			}
		})
	}
}

func TestWriterPanicRollsBack(t *testing.T) {
	db := openTest(t, filepath.Join(t.TempDir(), "t.db"), testOptions(testSteps))
	w := NewWriter(db)
	func() {
		defer func() {
			if recover() == nil {
				t.Errorf("panic in fn did not reach the caller")
			}
		}()
		w.Write(context.Background(), func(tx *sql.Tx) error {
			if _, err := tx.Exec(`INSERT INTO notes (body) VALUES ('x')`); err != nil {
				t.Fatal(err)
			}
			panic("boom")
		})
	}()
	// The write lock and the writer's turn are free again.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := w.Write(ctx, func(tx *sql.Tx) error { return nil }); err != nil {
		t.Fatalf("Write after a panicking Write: %v", err)
	}
	if got := countNotes(t, db); got != 0 {
		t.Errorf("%d rows after a panicking Write, want 0", got)
	}
}

// TestWriterWaitsForOtherProcess holds a write transaction open on another
// pool and checks that Write waits for it instead of failing with
// SQLITE_BUSY.
func TestWriterWaitsForOtherProcess(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "t.db")
	w := NewWriter(openTest(t, path, testOptions(testSteps)))
	tx, err := rawDB(t, path).BeginTx(ctx, nil) // BEGIN IMMEDIATE: holds the write lock
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		done <- w.Write(ctx, func(tx *sql.Tx) error {
			_, err := tx.Exec(`INSERT INTO notes (body) VALUES ('x')`)
			return err
		})
	}()
	select {
	case err := <-done:
		t.Fatalf("Write finished while another writer held the lock: %v", err)
	case <-time.After(200 * time.Millisecond):
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("Write after the other writer finished: %v", err)
	}
}

// TestWriterSerializes runs many read-modify-write transactions at once;
// none may be lost or fail.
func TestWriterSerializes(t *testing.T) {
	ctx := context.Background()
	db := openTest(t, filepath.Join(t.TempDir(), "t.db"), testOptions(testSteps))
	if _, err := db.Exec(`INSERT INTO notes (id, body, time) VALUES (1, 'counter', 0)`); err != nil {
		t.Fatal(err)
	}
	w := NewWriter(db)
	const n = 40
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			errs[i] = w.Write(ctx, func(tx *sql.Tx) error {
				var v int
				if err := tx.QueryRowContext(ctx, `SELECT time FROM notes WHERE id = 1`).Scan(&v); err != nil {
					return err
				}
				_, err := tx.ExecContext(ctx, `UPDATE notes SET time = ? WHERE id = 1`, v+1)
				return err
			})
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	var got int
	if err := db.QueryRow(`SELECT time FROM notes WHERE id = 1`).Scan(&got); err != nil {
		t.Fatal(err)
	}
	if got != n {
		t.Errorf("counter = %d after %d increments", got, n)
	}
}
