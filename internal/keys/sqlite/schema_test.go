package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sov.dev/sov/internal/keys/keystest"
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

func TestMigrateFromEveryVersion(t *testing.T) {
	ctx := context.Background()
	for version := range len(migrations) {
		t.Run(fmt.Sprintf("v%d", version), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), File)
			db := rawDB(t, path)
			if err := migrate(ctx, db, migrations[:version]); err != nil {
				t.Fatalf("migrating to v%d: %v", version, err)
			}
			db.Close()
			s, err := Open(ctx, path)
			if err != nil {
				t.Fatalf("Open of a v%d database: %v", version, err)
			}
			defer s.Close()
			if got := pragma(t, s.db, "user_version"); got != fmt.Sprint(len(migrations)) {
				t.Errorf("after Open user_version = %s, want %d", got, len(migrations))
			}
			if err := s.Create(ctx, keystest.NewKey(1, "a")); err != nil {
				t.Errorf("Create after migration: %v", err)
			}
		})
	}
}

func TestSchemaTooNew(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), File)
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

func TestOpenRefusesOtherFiles(t *testing.T) {
	ctx := context.Background()
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
	tests := []struct{ name, path string }{
		{"another application's tables", mk("other.db", `CREATE TABLE notes (body TEXT)`)},
		{"the vault's metadata database", mk("sov.db", `PRAGMA application_id = 1936684545`, `CREATE TABLE models (d TEXT)`)},
		{"not SQLite", garbage},
		{"missing directory", filepath.Join(dir, "no", "such", File)},
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

func TestCorruptRowsRefused(t *testing.T) {
	ctx := context.Background()
	tests := []struct{ name, update string }{
		{"models not JSON", `UPDATE keys SET models = '[oops'`},
		{"jurisdictions not a list", `UPDATE keys SET jurisdictions = '{"a":1}'`},
		{"malformed ID", `UPDATE keys SET id = '../etc'`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t)
			if err := s.Create(ctx, keystest.NewKey(1, "a")); err != nil {
				t.Fatal(err)
			}
			if _, err := s.db.Exec(`PRAGMA foreign_keys = OFF`); err != nil {
				t.Fatal(err)
			}
			if _, err := s.db.Exec(tt.update); err != nil {
				t.Fatal(err)
			}
			if _, err := s.List(ctx); err == nil || !strings.Contains(err.Error(), "corrupt") {
				t.Errorf("List error = %v, want a corrupt-database error", err)
			}
		})
	}
}

// TestVersionAcrossStores is two processes on one file: a change made
// through one Store changes the other's Version; usage does not.
func TestVersionAcrossStores(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), File)
	var stores [2]*Store
	for i := range stores {
		s, err := Open(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		stores[i] = s
	}
	a, b := stores[0], stores[1]
	ver := func() int64 {
		t.Helper()
		v, err := b.Version(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	v0 := ver()
	if ver() != v0 {
		t.Fatalf("Version changed with nothing written")
	}
	if err := a.Create(ctx, keystest.NewKey(1, "a")); err != nil {
		t.Fatal(err)
	}
	v1 := ver()
	if v1 == v0 {
		t.Fatalf("Version unchanged after another Store created a key")
	}
	if err := a.AddUsage(ctx, keystest.ID(1), keystest.NewKey(1, "").Created, 5); err != nil {
		t.Fatal(err)
	}
	if v := ver(); v != v1 {
		t.Errorf("Version changed from %d to %d after a usage write", v1, v)
	}
	if _, err := a.Revoke(ctx, keystest.ID(1), keystest.NewKey(1, "").Created); err != nil {
		t.Fatal(err)
	}
	if v := ver(); v == v1 {
		t.Errorf("Version unchanged after another Store revoked a key")
	}
	// A change through the Store itself (another of its connections) counts too.
	if err := b.Create(ctx, keystest.NewKey(2, "b")); err != nil {
		t.Fatal(err)
	}
	v2 := ver()
	if err := b.Create(ctx, keystest.NewKey(3, "c")); err != nil {
		t.Fatal(err)
	}
	if v := ver(); v == v2 {
		t.Errorf("Version unchanged after the same Store created a key")
	}
}
