package sqlite

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

	"sov.dev/sov/internal/store"
	"sov.dev/sov/internal/store/storetest"
)

// rawDB opens path without the Store, with the same connection settings.
func rawDB(t *testing.T, path string) *sql.DB {
	t.Helper()
	dsn, err := dataSourceName(path)
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

func pragma(t *testing.T, db *sql.DB, name string) string {
	t.Helper()
	var v string
	if err := db.QueryRow("PRAGMA " + name).Scan(&v); err != nil {
		t.Fatalf("PRAGMA %s: %v", name, err)
	}
	return v
}

func TestConnectionSettings(t *testing.T) {
	s := newStore(t)
	// Ask several connections: the settings are per connection.
	conns := make([]*sql.Conn, 3)
	for i := range conns {
		c, err := s.db.Conn(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		conns[i] = c
	}
	want := map[string]string{
		"journal_mode":   "wal",
		"foreign_keys":   "1",
		"synchronous":    "2", // FULL
		"busy_timeout":   fmt.Sprint(busyTimeout.Milliseconds()),
		"user_version":   fmt.Sprint(len(migrations)),
		"application_id": fmt.Sprint(applicationID),
	}
	for i, c := range conns {
		for name, w := range want {
			var got string
			if err := c.QueryRowContext(context.Background(), "PRAGMA "+name).Scan(&got); err != nil {
				t.Fatal(err)
			}
			if got != w {
				t.Errorf("connection %d: PRAGMA %s = %s, want %s", i, name, got, w)
			}
		}
	}
}

// TestMigrateFromEveryVersion creates a database at each older schema
// version, with data where that version can hold it, and opens it with the
// current binary.
func TestMigrateFromEveryVersion(t *testing.T) {
	ctx := context.Background()
	m := storetest.NewModel(1, storetest.Blob(1), storetest.Blob(2))
	for version := range len(migrations) {
		t.Run(fmt.Sprintf("v%d", version), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "meta.db")
			db := rawDB(t, path)
			if err := migrate(ctx, db, migrations[:version]); err != nil {
				t.Fatalf("migrating to v%d: %v", version, err)
			}
			if got := pragma(t, db, "user_version"); got != fmt.Sprint(version) {
				t.Fatalf("user_version = %s, want %d", got, version)
			}
			db.Close()
			withData := version >= 1 // models and refs exist from v1
			if withData {
				old, err := open(ctx, path, migrations[:version])
				if err != nil {
					t.Fatal(err)
				}
				if err := old.PutModel(ctx, m, []store.Ref{{Name: "old", Tag: "v1"}}, ""); err != nil {
					t.Fatalf("PutModel at v%d: %v", version, err)
				}
				old.Close()
			}

			s, err := Open(ctx, path)
			if err != nil {
				t.Fatalf("Open of a v%d database: %v", version, err)
			}
			defer s.Close()
			if got := pragma(t, s.db, "user_version"); got != fmt.Sprint(len(migrations)) {
				t.Errorf("after Open user_version = %s, want %d", got, len(migrations))
			}
			if withData {
				got, err := s.Model(ctx, m.Digest)
				if err != nil {
					t.Fatalf("Model after migration: %v", err)
				}
				if diff := cmp.Diff(m.Manifest, got.Manifest); diff != "" {
					t.Errorf("manifest changed by migration (-want +got):\n%s", diff)
				}
				if _, err := s.Resolve(ctx, "old", "v1"); err != nil {
					t.Errorf("Resolve after migration: %v", err)
				}
			}
			// Everything the current schema offers works.
			if err := s.AddPending(ctx, "p", storetest.Blob(3)); err != nil {
				t.Errorf("AddPending after migration: %v", err)
			}
			if err := s.PutModel(ctx, storetest.NewModel(2), []store.Ref{{Name: "new", Tag: "v1"}}, "p"); err != nil {
				t.Errorf("PutModel after migration: %v", err)
			}
			if _, err := s.AddDecision(ctx, store.Decision{Digest: storetest.NewModel(2).Digest, State: store.Approved, By: store.ByPolicy}); err != nil {
				t.Errorf("AddDecision after migration: %v", err)
			}
		})
	}
}

func TestSchemaTooNew(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "meta.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	newer := len(migrations) + 1
	if _, err := s.db.Exec(fmt.Sprintf("PRAGMA user_version = %d", newer)); err != nil {
		t.Fatal(err)
	}
	s.Close()

	_, err = Open(ctx, path)
	if !errors.Is(err, ErrSchemaTooNew) {
		t.Fatalf("Open of a newer database error = %v, want ErrSchemaTooNew", err)
	}
	if !strings.Contains(err.Error(), "upgrade sov") {
		t.Errorf("error %q does not say what to do", err)
	}
	if got := pragma(t, rawDB(t, path), "user_version"); got != fmt.Sprint(newer) {
		t.Errorf("user_version after refused Open = %s, want %d (untouched)", got, newer)
	}
}

func TestFailedMigrationRollsBack(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "meta.db")
	if s, err := Open(ctx, path); err != nil {
		t.Fatal(err)
	} else {
		s.Close()
	}
	steps := append(append([]migration(nil), migrations...), migration{
		name: "broken",
		sql:  "CREATE TABLE half_done (a INTEGER); INSERT INTO no_such_table VALUES (1);",
	})
	if _, err := open(ctx, path, steps); err == nil || !strings.Contains(err.Error(), "broken") {
		t.Fatalf("open with a broken step error = %v, want one naming the step", err)
	}
	db := rawDB(t, path)
	if got := pragma(t, db, "user_version"); got != fmt.Sprint(len(migrations)) {
		t.Errorf("user_version after failed step = %s, want %d", got, len(migrations))
	}
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM sqlite_schema WHERE name = 'half_done'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("the failed step's table exists: the step was not rolled back")
	}
	// The current binary still opens it.
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatalf("Open after a failed migration: %v", err)
	}
	s.Close()
}

func TestOpenRefusesOtherFiles(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()

	other := filepath.Join(dir, "other.db")
	db := rawDB(t, other)
	if _, err := db.Exec(`CREATE TABLE notes (body TEXT)`); err != nil {
		t.Fatal(err)
	}
	db.Close()

	otherApp := filepath.Join(dir, "app.db")
	db = rawDB(t, otherApp)
	if _, err := db.Exec(`PRAGMA application_id = 42`); err != nil {
		t.Fatal(err)
	}
	db.Close()

	garbage := filepath.Join(dir, "garbage.db")
	if err := os.WriteFile(garbage, []byte(strings.Repeat("not a database ", 100)), 0o600); err != nil {
		t.Fatal(err)
	}

	tests := []struct{ name, path string }{
		{"another application's tables", other},
		{"another application id", otherApp},
		{"not SQLite", garbage},
		{"missing directory", filepath.Join(dir, "no", "such", "dir", "meta.db")},
		{"empty path", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Open(ctx, tt.path)
			if err == nil {
				s.Close()
				t.Fatalf("Open succeeded")
			}
		})
	}
}

func TestOddPath(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "a dir?with#odd%20chars&_txlock=x")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "meta.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if err := s.PutModel(ctx, storetest.NewModel(1), nil, ""); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := os.Stat(path); err != nil {
		t.Errorf("database not at the given path: %v", err)
	}
}

func TestCorruptDigestRefused(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	bad := "sha256:../../etc/passwd"
	for _, q := range []string{
		`INSERT INTO models (digest, manifest, source, created) VALUES ('` + bad + `', x'00', '', 0)`,
		`INSERT INTO refs (name, tag, digest, updated) VALUES ('evil', 'latest', '` + bad + `', 0)`,
	} {
		if _, err := s.db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Resolve(ctx, "evil", "latest"); err == nil || !strings.Contains(err.Error(), "corrupt") {
		t.Errorf("Resolve of a corrupt digest error = %v, want a corrupt-database error", err)
	}
	if _, err := s.Refs(ctx); err == nil {
		t.Errorf("Refs with a corrupt digest succeeded")
	}
	if _, err := s.Models(ctx); err == nil {
		t.Errorf("Models with a corrupt digest succeeded")
	}
}

// TestConcurrentOpen is several processes starting at once on a new file:
// each must see a fully migrated schema.
func TestConcurrentOpen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "meta.db")
	const n = 6
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			s, err := Open(context.Background(), path)
			if err == nil {
				err = s.PutModel(context.Background(), storetest.NewModel(i), nil, "")
				s.Close()
			}
			errs[i] = err
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
}

// TestTwoStoresOneFile is two sov processes, in one test process: two
// Stores with their own connection pools writing the same file at once.
func TestTwoStoresOneFile(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "meta.db")
	var stores [2]*Store
	for i := range stores {
		s, err := Open(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		stores[i] = s
	}
	const each = 40
	errs := make(chan error, 4*each)
	var wg sync.WaitGroup
	for i, s := range stores {
		for g := range 2 {
			wg.Go(func() {
				for j := range each / 2 {
					n := i*1000 + g*100 + j
					m := storetest.NewModel(n, storetest.Blob(n))
					if err := s.PutModel(ctx, m, []store.Ref{{Name: fmt.Sprintf("s%d", i), Tag: fmt.Sprint(n)}}, ""); err != nil {
						errs <- err
						continue
					}
					if err := s.SetRef(ctx, store.Ref{Name: "shared", Tag: "latest", Digest: m.Digest}); err != nil {
						errs <- err
					}
					if _, err := s.Refs(ctx); err != nil {
						errs <- err
					}
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for i, s := range stores {
		ms, err := s.Models(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(ms) != 2*each {
			t.Errorf("store %d sees %d models, want %d", i, len(ms), 2*each)
		}
	}
}

// TestWriteWaitsForOtherProcess holds a write transaction open on one
// connection and checks that a Store's write waits for it instead of
// failing with SQLITE_BUSY.
func TestWriteWaitsForOtherProcess(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "meta.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	other := rawDB(t, path)
	tx, err := other.BeginTx(ctx, nil) // BEGIN IMMEDIATE: holds the write lock
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.PutModel(ctx, storetest.NewModel(1), nil, "") }()
	select {
	case err := <-done:
		t.Fatalf("PutModel finished while another writer held the lock: %v", err)
	case <-time.After(200 * time.Millisecond):
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("PutModel after the other writer finished: %v", err)
	}
}

func TestWriteHonoursContext(t *testing.T) {
	s := newStore(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.PutModel(ctx, storetest.NewModel(1), nil, ""); !errors.Is(err, context.Canceled) {
		t.Errorf("PutModel with a cancelled context error = %v, want context.Canceled", err)
	}
}
