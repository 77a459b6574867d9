// Package sqlite is the store.Store that keeps vault metadata in one SQLite
// file, through the pure-Go driver modernc.org/sqlite (no cgo).
//
// The database runs in WAL mode so that readers never block the writer,
// with foreign keys on (deleting a model deletes its references and blob
// lists) and synchronous=FULL: a write that returned is on disk even after
// a power cut. Every write is one BEGIN IMMEDIATE transaction, so several
// sov processes can share the file without deadlocking on a lock upgrade.
// The schema is versioned (PRAGMA user_version) and migrated forward on
// Open; a database from a newer sov is refused, never guessed at. Opening,
// checking and migrating the file is package sqlitedb's; the schema is
// this package's.
//
// The package holds metadata only, never blob content, and must not run
// SQL built from caller data: every value is a bound parameter.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"sov.dev/sov/internal/digest"
	"sov.dev/sov/internal/sqlitedb"
	"sov.dev/sov/internal/store"
)

// busyTimeout is how long a write waits for another process's write
// transaction before failing with SQLITE_BUSY.
const busyTimeout = sqlitedb.BusyTimeout

// Store is a store.Store backed by a SQLite file. It is safe for concurrent
// use, also by several processes opening the same file.
type Store struct {
	db      *sql.DB
	path    string
	writer  *sqlitedb.Writer // one write transaction at a time
	resolve *sql.Stmt
}

var _ store.Store = (*Store)(nil)

// Open opens (creating if needed) the database at path and brings its
// schema up to date. The directory must exist.
func Open(ctx context.Context, path string) (*Store, error) {
	s, err := open(ctx, path, migrations)
	if err != nil {
		return nil, fmt.Errorf("open metadata store %s: %w", path, err)
	}
	return s, nil
}

func open(ctx context.Context, path string, steps []migration) (*Store, error) {
	db, err := sqlitedb.Open(ctx, path, options(steps))
	if err != nil {
		return nil, err
	}
	resolve, err := db.PrepareContext(ctx, `SELECT digest, updated FROM refs WHERE name = ? AND tag = ?`)
	if err != nil {
		db.Close()
		return nil, err
	}
	return &Store{db: db, path: path, writer: sqlitedb.NewWriter(db), resolve: resolve}, nil
}

// dataSourceName is the driver's DSN for path, with the settings every
// connection needs.
func dataSourceName(path string) (string, error) {
	return sqlitedb.DataSourceName(path, options(nil))
}

// Path returns the database file's path as given to Open.
func (s *Store) Path() string { return s.path }

// Close implements store.Store.
func (s *Store) Close() error {
	return errors.Join(s.resolve.Close(), s.db.Close())
}

// PutModel implements store.Store.
func (s *Store) PutModel(ctx context.Context, m store.Model, refs []store.Ref, pendingID string) error {
	if err := store.CheckModel(m); err != nil {
		return err
	}
	for _, r := range refs {
		if err := store.CheckRefName(r.Name, r.Tag); err != nil {
			return err
		}
		if r.Digest != "" && r.Digest != m.Digest {
			return fmt.Errorf("reference %s:%s names %s, not the model being stored (%s)", r.Name, r.Tag, r.Digest, m.Digest)
		}
	}
	now := time.Now()
	created := m.Created
	if created.IsZero() {
		created = now
	}
	var facts []byte // NULL when empty
	if len(m.Facts) > 0 {
		facts = m.Facts
	}
	err := s.writer.Write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx,
			`INSERT INTO models (digest, manifest, facts, source, created) VALUES (?, ?, ?, ?, ?)
			 ON CONFLICT (digest) DO NOTHING`,
			string(m.Digest), m.Manifest, facts, m.Source, created.UnixNano())
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 1 {
			for _, b := range sortedUnique(m.Blobs) {
				if _, err := tx.ExecContext(ctx,
					`INSERT INTO model_blobs (model_digest, blob_digest) VALUES (?, ?)`,
					string(m.Digest), string(b)); err != nil {
					return err
				}
			}
		}
		for _, r := range refs {
			if err := upsertRef(ctx, tx, r.Name, r.Tag, m.Digest, r.Updated, now); err != nil {
				return err
			}
		}
		if pendingID != "" {
			if _, err := tx.ExecContext(ctx, `DELETE FROM pending WHERE id = ?`, pendingID); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("put model %s: %w", m.Digest, err)
	}
	return nil
}

func upsertRef(ctx context.Context, tx *sql.Tx, name, tag string, d digest.Digest, updated, now time.Time) error {
	if updated.IsZero() {
		updated = now
	}
	_, err := tx.ExecContext(ctx,
		`INSERT INTO refs (name, tag, digest, updated) VALUES (?, ?, ?, ?)
		 ON CONFLICT (name, tag) DO UPDATE SET digest = excluded.digest, updated = excluded.updated`,
		name, tag, string(d), updated.UnixNano())
	return err
}

// modelColumns selects a model with its blobs as one space-separated list,
// so that a model is read in one statement (one snapshot).
const modelColumns = `digest, manifest, facts, source, created,
	(SELECT group_concat(blob_digest, ' ') FROM model_blobs WHERE model_digest = models.digest)`

func scanModel(row interface{ Scan(...any) error }) (store.Model, error) {
	var (
		m        store.Model
		d        string
		created  int64
		blobs    sql.NullString
		manifest []byte
		facts    []byte
		source   string
	)
	if err := row.Scan(&d, &manifest, &facts, &source, &created, &blobs); err != nil {
		return store.Model{}, err
	}
	var err error
	if m.Digest, err = parseStored(d); err != nil {
		return store.Model{}, err
	}
	m.Manifest = manifest
	if len(facts) > 0 {
		m.Facts = facts
	}
	m.Source = source
	m.Created = fromNanos(created)
	if blobs.Valid && blobs.String != "" {
		for f := range strings.FieldsSeq(blobs.String) {
			b, err := parseStored(f)
			if err != nil {
				return store.Model{}, fmt.Errorf("model %s: %w", d, err)
			}
			m.Blobs = append(m.Blobs, b)
		}
		slices.Sort(m.Blobs)
	}
	return m, nil
}

// Model implements store.Store.
func (s *Store) Model(ctx context.Context, d digest.Digest) (store.Model, error) {
	if err := d.Validate(); err != nil {
		return store.Model{}, err
	}
	m, err := scanModel(s.db.QueryRowContext(ctx, `SELECT `+modelColumns+` FROM models WHERE digest = ?`, string(d)))
	if errors.Is(err, sql.ErrNoRows) {
		return store.Model{}, fmt.Errorf("model %s: %w", d, store.ErrNotFound)
	}
	if err != nil {
		return store.Model{}, fmt.Errorf("model %s: %w", d, err)
	}
	return m, nil
}

// Models implements store.Store.
func (s *Store) Models(ctx context.Context) ([]store.Model, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+modelColumns+` FROM models ORDER BY created, digest`)
	if err != nil {
		return nil, fmt.Errorf("list models: %w", err)
	}
	defer rows.Close()
	var ms []store.Model
	for rows.Next() {
		m, err := scanModel(rows)
		if err != nil {
			return nil, fmt.Errorf("list models: %w", err)
		}
		ms = append(ms, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list models: %w", err)
	}
	return ms, nil
}

// DeleteModel implements store.Store.
func (s *Store) DeleteModel(ctx context.Context, d digest.Digest) error {
	if err := d.Validate(); err != nil {
		return err
	}
	err := s.writer.Write(ctx, func(tx *sql.Tx) error {
		// References and blob lists go with it (ON DELETE CASCADE).
		return deleteOne(ctx, tx, `DELETE FROM models WHERE digest = ?`, string(d))
	})
	if err != nil {
		return fmt.Errorf("delete model %s: %w", d, err)
	}
	return nil
}

// deleteOne runs a DELETE and fails with store.ErrNotFound if it removed
// nothing.
func deleteOne(ctx context.Context, tx *sql.Tx, query string, args ...any) error {
	res, err := tx.ExecContext(ctx, query, args...)
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return store.ErrNotFound
	}
	return nil
}

// Resolve implements store.Store.
func (s *Store) Resolve(ctx context.Context, name, tag string) (store.Ref, error) {
	var (
		d       string
		updated int64
	)
	err := s.resolve.QueryRowContext(ctx, name, tag).Scan(&d, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return store.Ref{}, fmt.Errorf("reference %s:%s: %w", name, tag, store.ErrNotFound)
	}
	if err != nil {
		return store.Ref{}, fmt.Errorf("resolve %s:%s: %w", name, tag, err)
	}
	dg, err := parseStored(d)
	if err != nil {
		return store.Ref{}, fmt.Errorf("resolve %s:%s: %w", name, tag, err)
	}
	return store.Ref{Name: name, Tag: tag, Digest: dg, Updated: fromNanos(updated)}, nil
}

// Refs implements store.Store.
func (s *Store) Refs(ctx context.Context) ([]store.Ref, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT name, tag, digest, updated FROM refs ORDER BY name, tag`)
	if err != nil {
		return nil, fmt.Errorf("list references: %w", err)
	}
	defer rows.Close()
	var refs []store.Ref
	for rows.Next() {
		var (
			r       store.Ref
			d       string
			updated int64
		)
		if err := rows.Scan(&r.Name, &r.Tag, &d, &updated); err != nil {
			return nil, fmt.Errorf("list references: %w", err)
		}
		if r.Digest, err = parseStored(d); err != nil {
			return nil, fmt.Errorf("list references: %s:%s: %w", r.Name, r.Tag, err)
		}
		r.Updated = fromNanos(updated)
		refs = append(refs, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list references: %w", err)
	}
	return refs, nil
}

// SetRef implements store.Store.
func (s *Store) SetRef(ctx context.Context, r store.Ref) error {
	if err := store.CheckRefName(r.Name, r.Tag); err != nil {
		return err
	}
	if err := r.Digest.Validate(); err != nil {
		return fmt.Errorf("reference %s:%s: %w", r.Name, r.Tag, err)
	}
	err := s.writer.Write(ctx, func(tx *sql.Tx) error {
		var one int
		err := tx.QueryRowContext(ctx, `SELECT 1 FROM models WHERE digest = ?`, string(r.Digest)).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("model %s: %w", r.Digest, store.ErrNotFound)
		}
		if err != nil {
			return err
		}
		return upsertRef(ctx, tx, r.Name, r.Tag, r.Digest, r.Updated, time.Now())
	})
	if err != nil {
		return fmt.Errorf("set reference %s:%s: %w", r.Name, r.Tag, err)
	}
	return nil
}

// DeleteRef implements store.Store.
func (s *Store) DeleteRef(ctx context.Context, name, tag string) error {
	err := s.writer.Write(ctx, func(tx *sql.Tx) error {
		return deleteOne(ctx, tx, `DELETE FROM refs WHERE name = ? AND tag = ?`, name, tag)
	})
	if err != nil {
		return fmt.Errorf("delete reference %s:%s: %w", name, tag, err)
	}
	return nil
}

// ReferencedBlobs implements store.Store.
func (s *Store) ReferencedBlobs(ctx context.Context) (map[digest.Digest]bool, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT DISTINCT blob_digest FROM model_blobs`)
	if err != nil {
		return nil, fmt.Errorf("referenced blobs: %w", err)
	}
	defer rows.Close()
	set := make(map[digest.Digest]bool)
	for rows.Next() {
		var d string
		if err := rows.Scan(&d); err != nil {
			return nil, fmt.Errorf("referenced blobs: %w", err)
		}
		dg, err := parseStored(d)
		if err != nil {
			return nil, fmt.Errorf("referenced blobs: %w", err)
		}
		set[dg] = true
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("referenced blobs: %w", err)
	}
	return set, nil
}

// AddPending implements store.Store.
func (s *Store) AddPending(ctx context.Context, id string, blobs ...digest.Digest) error {
	if err := store.CheckPending(id, blobs); err != nil {
		return err
	}
	now := time.Now().UnixNano()
	err := s.writer.Write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx,
			`INSERT INTO pending (id, created) VALUES (?, ?) ON CONFLICT (id) DO NOTHING`, id, now); err != nil {
			return err
		}
		for _, b := range sortedUnique(blobs) {
			if _, err := tx.ExecContext(ctx,
				`INSERT INTO pending_blobs (pending_id, blob_digest) VALUES (?, ?)
				 ON CONFLICT DO NOTHING`, id, string(b)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("add pending record %q: %w", id, err)
	}
	return nil
}

// PendingRecords implements store.Store. Records come oldest first.
func (s *Store) PendingRecords(ctx context.Context) ([]store.Pending, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, created,
		(SELECT group_concat(blob_digest, ' ') FROM pending_blobs WHERE pending_id = pending.id)
		FROM pending ORDER BY created, id`)
	if err != nil {
		return nil, fmt.Errorf("list pending records: %w", err)
	}
	defer rows.Close()
	var recs []store.Pending
	for rows.Next() {
		var (
			p       store.Pending
			created int64
			blobs   sql.NullString
		)
		if err := rows.Scan(&p.ID, &created, &blobs); err != nil {
			return nil, fmt.Errorf("list pending records: %w", err)
		}
		p.Created = fromNanos(created)
		for f := range strings.FieldsSeq(blobs.String) {
			d, err := parseStored(f)
			if err != nil {
				return nil, fmt.Errorf("list pending records: %q: %w", p.ID, err)
			}
			p.Blobs = append(p.Blobs, d)
		}
		slices.Sort(p.Blobs)
		recs = append(recs, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list pending records: %w", err)
	}
	return recs, nil
}

// DeletePending implements store.Store.
func (s *Store) DeletePending(ctx context.Context, id string) error {
	err := s.writer.Write(ctx, func(tx *sql.Tx) error {
		// Its blob list goes with it (ON DELETE CASCADE).
		return deleteOne(ctx, tx, `DELETE FROM pending WHERE id = ?`, id)
	})
	if err != nil {
		return fmt.Errorf("delete pending record %q: %w", id, err)
	}
	return nil
}

// AddDecision implements store.Store.
func (s *Store) AddDecision(ctx context.Context, d store.Decision) (store.Decision, error) {
	if err := store.CheckDecision(d); err != nil {
		return store.Decision{}, err
	}
	if d.Time.IsZero() {
		d.Time = time.Now()
	}
	d.Time = fromNanos(d.Time.UnixNano())
	var detail []byte // NULL when empty
	if len(d.Detail) > 0 {
		detail = slices.Clone(d.Detail)
	}
	d.Detail = detail
	err := s.writer.Write(ctx, func(tx *sql.Tx) error {
		var one int
		err := tx.QueryRowContext(ctx, `SELECT 1 FROM models WHERE digest = ?`, string(d.Digest)).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("model %s: %w", d.Digest, store.ErrNotFound)
		}
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx,
			`INSERT INTO decisions (digest, state, decided_by, reason, policy, detail, time) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			string(d.Digest), string(d.State), d.By, d.Reason, string(d.Policy), detail, d.Time.UnixNano())
		if err != nil {
			return err
		}
		d.Seq, err = res.LastInsertId()
		return err
	})
	if err != nil {
		return store.Decision{}, fmt.Errorf("add decision on %s: %w", d.Digest, err)
	}
	return d, nil
}

const decisionColumns = `seq, digest, state, decided_by, reason, policy, detail, time`

func scanDecision(row interface{ Scan(...any) error }) (store.Decision, error) {
	var (
		d                 store.Decision
		dg, state, policy string
		detail            []byte
		nanos             int64
	)
	if err := row.Scan(&d.Seq, &dg, &state, &d.By, &d.Reason, &policy, &detail, &nanos); err != nil {
		return store.Decision{}, err
	}
	var err error
	if d.Digest, err = parseStored(dg); err != nil {
		return store.Decision{}, err
	}
	if policy != "" {
		if d.Policy, err = parseStored(policy); err != nil {
			return store.Decision{}, err
		}
	}
	d.State = store.State(state)
	if len(detail) > 0 {
		d.Detail = detail
	}
	d.Time = fromNanos(nanos)
	// A damaged or tampered file must not hand out a decision the store
	// would have refused to record.
	chk := d
	chk.Seq = 0
	if err := store.CheckDecision(chk); err != nil {
		return store.Decision{}, fmt.Errorf("corrupt database: decision %d: %w", d.Seq, err)
	}
	return d, nil
}

func queryDecisions(ctx context.Context, db *sql.DB, query string, args ...any) ([]store.Decision, error) {
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.Decision
	for rows.Next() {
		d, err := scanDecision(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// Decisions implements store.Store.
func (s *Store) Decisions(ctx context.Context, d digest.Digest) ([]store.Decision, error) {
	if err := d.Validate(); err != nil {
		return nil, err
	}
	ds, err := queryDecisions(ctx, s.db,
		`SELECT `+decisionColumns+` FROM decisions WHERE digest = ? ORDER BY seq`, string(d))
	if err != nil {
		return nil, fmt.Errorf("decisions on %s: %w", d, err)
	}
	return ds, nil
}

// LatestDecisions implements store.Store.
func (s *Store) LatestDecisions(ctx context.Context) (map[digest.Digest]store.Standing, error) {
	ds, err := queryDecisions(ctx, s.db, `SELECT `+decisionColumns+` FROM decisions
		WHERE seq IN (SELECT max(seq) FROM decisions GROUP BY digest, decided_by = ?)
		ORDER BY seq`, store.ByPolicy)
	if err != nil {
		return nil, fmt.Errorf("latest decisions: %w", err)
	}
	out := make(map[digest.Digest]store.Standing)
	for _, d := range ds {
		st := out[d.Digest]
		if _, human := d.Human(); human {
			st.Human = &d
		} else {
			st.Policy = &d
		}
		out[d.Digest] = st
	}
	return out, nil
}

// fromNanos turns a stored time back into a time.Time in UTC.
func fromNanos(n int64) time.Time { return time.Unix(0, n).UTC() }

// parseStored validates a digest read back from the database, so that a
// damaged or tampered file cannot hand out a digest that is not one.
func parseStored(s string) (digest.Digest, error) {
	d, err := digest.Parse(s)
	if err != nil {
		return "", fmt.Errorf("corrupt database: %w", err)
	}
	return d, nil
}

func sortedUnique(ds []digest.Digest) []digest.Digest {
	ds = slices.Clone(ds)
	slices.Sort(ds)
	return slices.Compact(ds)
}
