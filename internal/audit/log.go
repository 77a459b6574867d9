package audit

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"sync"
	"time"

	"sov.dev/sov/internal/sqlitedb"
)

// Options configure Open.
type Options struct {
	// Logger receives warnings (a key file readable by others, a head
	// record that disagrees with the entries). Nil discards them.
	Logger *slog.Logger
	// Now is the clock for entries without a time and for checkpoints.
	// Nil means time.Now.
	Now func() time.Time
}

// Log is the audit log in one SOV_HOME. It is safe for concurrent use,
// also by several processes opening the same home.
type Log struct {
	db     *sql.DB
	home   string
	path   string
	logger *slog.Logger
	now    func() time.Time
	writer *sqlitedb.Writer // one write transaction at a time

	keyMu sync.Mutex
	key   ed25519.PrivateKey // loaded on first checkpoint

	mu           sync.Mutex
	appended     int64 // seq of this Log's last append
	checkpointed int64 // seq of the last checkpoint this Log wrote or found
	closed       bool
}

// Checkpoint is a signed statement that the chain's entry Seq had hash
// Hash at Time.
type Checkpoint struct {
	Seq       int64
	Hash      string
	Time      time.Time
	PublicKey string // hex; informational, Verify never trusts it
	Signature string // hex Ed25519 signature of the checkpoint message
}

// Open opens (creating if needed) the audit log in home, which is created
// (mode 0700) if missing. It does not touch the signing key: that is
// created on the first checkpoint.
func Open(ctx context.Context, home string, opts Options) (*Log, error) {
	if home == "" {
		return nil, errors.New("audit: empty home directory")
	}
	if err := os.MkdirAll(home, 0o700); err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	path := filepath.Join(home, DBFile)
	db, err := openDB(ctx, path)
	if err != nil {
		return nil, fmt.Errorf("open audit log %s: %w", path, err)
	}
	l := &Log{
		db:     db,
		home:   home,
		path:   path,
		logger: opts.Logger,
		now:    opts.Now,
		writer: sqlitedb.NewWriter(db),
	}
	if l.logger == nil {
		l.logger = slog.New(slog.DiscardHandler)
	}
	if l.now == nil {
		l.now = time.Now
	}
	return l, nil
}

// Path returns the database file's path.
func (l *Log) Path() string { return l.path }

// Close writes a checkpoint if this Log appended entries that no
// checkpoint covers yet, then closes the database.
func (l *Log) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	pending := l.appended > l.checkpointed
	l.mu.Unlock()
	var err error
	if pending {
		ctx, cancel := context.WithTimeout(context.Background(), 2*busyTimeout)
		_, err = l.checkpoint(ctx)
		cancel()
	}
	return errors.Join(err, l.db.Close())
}

func (l *Log) isClosed() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.closed
}

// Append adds entries to the log, in order, in one transaction, and
// returns once they are on disk. Seq, PrevHash and Hash are ignored
// (the log assigns them); a zero Time becomes now.
func (l *Log) Append(ctx context.Context, entries ...Entry) error {
	if len(entries) == 0 {
		return nil
	}
	if l.isClosed() {
		return ErrClosed
	}
	now := l.now()
	ps := make([]prepared, len(entries))
	for i, e := range entries {
		p, err := prepare(e, now)
		if err != nil {
			return fmt.Errorf("audit: %w", err)
		}
		ps[i] = p
	}
	if err := l.appendPrepared(ctx, ps); err != nil {
		return fmt.Errorf("audit: append %d entries: %w", len(ps), err)
	}
	return nil
}

// appendPrepared chains ps onto the log's tip in one transaction.
func (l *Log) appendPrepared(ctx context.Context, ps []prepared) error {
	if l.isClosed() {
		return ErrClosed
	}
	var last int64
	err := l.writer.Write(ctx, func(tx *sql.Tx) error {
		seq, prev, err := l.tip(ctx, tx)
		if err != nil {
			return err
		}
		if seq > math.MaxInt64-int64(len(ps)) {
			return fmt.Errorf("sequence number %d is too large to append to", seq)
		}
		stmt, err := tx.PrepareContext(ctx,
			`INSERT INTO entries (seq, time, kind, actor, data, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?)`)
		if err != nil {
			return err
		}
		defer stmt.Close()
		buf := make([]byte, 0, 512)
		for _, p := range ps {
			seq++
			var h string
			h, buf = entryHash(buf, seq, p, prev)
			if _, err := stmt.ExecContext(ctx, seq, p.time, p.kind, p.actor, p.data, prev, h); err != nil {
				return fmt.Errorf("entry %d: %w", seq, err)
			}
			prev = h
		}
		if _, err := tx.ExecContext(ctx,
			`INSERT INTO head (id, seq, hash) VALUES (1, ?, ?)
			 ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash`, seq, prev); err != nil {
			return err
		}
		last = seq
		return nil
	})
	if err != nil {
		return err
	}
	l.mu.Lock()
	l.appended = max(l.appended, last)
	l.mu.Unlock()
	return nil
}

// tip returns the seq and hash that the next entry chains onto: the head
// record, or the last entry when there is no head record or the entries
// go past it (both mean someone edited the file; Verify reports it, and
// appending goes on rather than failing). When the head is past the last
// entry (the tail was cut off), the head wins, so the gap stays visible.
func (l *Log) tip(ctx context.Context, q interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}) (int64, string, error) {
	var hseq, eseq int64
	var hhash, ehash string
	herr := q.QueryRowContext(ctx, `SELECT seq, hash FROM head WHERE id = 1`).Scan(&hseq, &hhash)
	if herr != nil && !errors.Is(herr, sql.ErrNoRows) {
		return 0, "", fmt.Errorf("read head record: %w", herr)
	}
	eerr := q.QueryRowContext(ctx, `SELECT seq, hash FROM entries ORDER BY seq DESC LIMIT 1`).Scan(&eseq, &ehash)
	if eerr != nil && !errors.Is(eerr, sql.ErrNoRows) {
		return 0, "", fmt.Errorf("read last entry: %w", eerr)
	}
	haveHead, haveEntry := herr == nil, eerr == nil
	switch {
	case !haveHead && !haveEntry:
		return 0, genesisHash, nil
	case !haveHead:
		l.logger.Warn("audit log has no head record; chaining onto the last entry (run sov audit verify)", "seq", eseq)
		return eseq, ehash, nil
	case haveEntry && eseq > hseq:
		l.logger.Warn("audit log has entries past its head record; chaining onto the last entry (run sov audit verify)",
			"head", hseq, "last", eseq)
		return eseq, ehash, nil
	}
	return hseq, hhash, nil
}

// Head returns the seq and hash of the log's tip (0 and 64 zeros when the
// log is empty).
func (l *Log) Head(ctx context.Context) (int64, string, error) {
	seq, hash, err := l.tip(ctx, l.db)
	if err != nil {
		return 0, "", fmt.Errorf("audit: %w", err)
	}
	return seq, hash, nil
}

// signingKey loads (or creates) the checkpoint key once.
func (l *Log) signingKey() (ed25519.PrivateKey, error) {
	l.keyMu.Lock()
	defer l.keyMu.Unlock()
	if l.key == nil {
		k, err := loadOrCreateKey(l.home, l.logger)
		if err != nil {
			return nil, err
		}
		l.key = k
	}
	return l.key, nil
}

// PublicKey returns the checkpoint key's public half, creating the key
// (audit.key, audit.pub) if there is none yet.
func (l *Log) PublicKey() (ed25519.PublicKey, error) {
	k, err := l.signingKey()
	if err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	return k.Public().(ed25519.PublicKey), nil
}

// Checkpoint signs the log's last entry (creating the signing key on
// first use) and stores the checkpoint. If the latest checkpoint already
// covers that entry with this key it is returned unchanged; an empty log
// gives a zero Checkpoint.
func (l *Log) Checkpoint(ctx context.Context) (Checkpoint, error) {
	if l.isClosed() {
		return Checkpoint{}, ErrClosed
	}
	return l.checkpoint(ctx)
}

func (l *Log) checkpoint(ctx context.Context) (Checkpoint, error) {
	key, err := l.signingKey()
	if err != nil {
		return Checkpoint{}, fmt.Errorf("audit: %w", err)
	}
	pub := hex.EncodeToString(key.Public().(ed25519.PublicKey))
	var cp Checkpoint
	err = l.writer.Write(ctx, func(tx *sql.Tx) error {
		var seq int64
		var hash string
		err := tx.QueryRowContext(ctx, `SELECT seq, hash FROM entries ORDER BY seq DESC LIMIT 1`).Scan(&seq, &hash)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		var last checkpointRow
		err = tx.QueryRowContext(ctx,
			`SELECT id, seq, hash, time, public_key, signature FROM checkpoints ORDER BY id DESC LIMIT 1`).
			Scan(&last.id, &last.seq, &last.hash, &last.time, &last.publicKey, &last.signature)
		switch {
		case err == nil && last.seq == seq && last.hash == hash && last.publicKey == pub:
			cp, err = last.checkpoint()
			return err
		case err != nil && !errors.Is(err, sql.ErrNoRows):
			return err
		}
		t, err := formatTime(l.now())
		if err != nil {
			return err
		}
		sig := hex.EncodeToString(ed25519.Sign(key, checkpointMessage(seq, hash, t)))
		if _, err := tx.ExecContext(ctx,
			`INSERT INTO checkpoints (seq, hash, time, public_key, signature) VALUES (?, ?, ?, ?, ?)`,
			seq, hash, t, pub, sig); err != nil {
			return err
		}
		cp, err = checkpointRow{seq: seq, hash: hash, time: t, publicKey: pub, signature: sig}.checkpoint()
		return err
	})
	if err != nil {
		return Checkpoint{}, fmt.Errorf("audit: checkpoint: %w", err)
	}
	l.mu.Lock()
	l.checkpointed = max(l.checkpointed, cp.Seq)
	l.mu.Unlock()
	return cp, nil
}

// checkpointRow is a checkpoints row as stored.
type checkpointRow struct {
	id                               int64
	seq                              int64
	hash, time, publicKey, signature string
}

func (r checkpointRow) checkpoint() (Checkpoint, error) {
	t, err := parseTime(r.time)
	if err != nil {
		return Checkpoint{}, fmt.Errorf("checkpoint at %d: %w", r.seq, err)
	}
	return Checkpoint{Seq: r.seq, Hash: r.hash, Time: t, PublicKey: r.publicKey, Signature: r.signature}, nil
}

// Checkpoints returns every stored checkpoint, oldest first, unverified.
func (l *Log) Checkpoints(ctx context.Context) ([]Checkpoint, error) {
	rows, err := l.db.QueryContext(ctx, `SELECT seq, hash, time, public_key, signature FROM checkpoints ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	defer rows.Close()
	var cps []Checkpoint
	for rows.Next() {
		var r checkpointRow
		if err := rows.Scan(&r.seq, &r.hash, &r.time, &r.publicKey, &r.signature); err != nil {
			return nil, fmt.Errorf("audit: %w", err)
		}
		cp, err := r.checkpoint()
		if err != nil {
			return nil, fmt.Errorf("audit: %w", err)
		}
		cps = append(cps, cp)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	return cps, nil
}

// entryQuery selects entries from a time on, in chain order.
const entryQuery = `SELECT seq, time, kind, actor, data, prev_hash, hash FROM entries
	WHERE time >= ? ORDER BY seq LIMIT ?`

// sinceText is the lower time bound for entryQuery: since in the stored
// form, or "" (every entry) for the zero time.
func sinceText(since time.Time) string {
	if since.IsZero() {
		return ""
	}
	s, err := formatTime(since)
	if err != nil {
		if since.UTC().Year() < 0 {
			return ""
		}
		return "\xff" // after every stored time
	}
	return s
}

// Entries returns the entries whose time is at or after since (the zero
// time: all), in seq order, at most limit of them (limit <= 0: all). It
// does not verify them.
func (l *Log) Entries(ctx context.Context, since time.Time, limit int) ([]Entry, error) {
	if limit <= 0 {
		limit = -1 // SQLite: no limit
	}
	rows, err := l.db.QueryContext(ctx, entryQuery, sinceText(since), limit)
	if err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	defer rows.Close()
	var out []Entry
	for rows.Next() {
		var (
			e          Entry
			t, data    string
			kind, acts string
		)
		if err := rows.Scan(&e.Seq, &t, &kind, &acts, &data, &e.PrevHash, &e.Hash); err != nil {
			return nil, fmt.Errorf("audit: %w", err)
		}
		e.Kind, e.Actor = kind, acts
		if e.Time, err = parseTime(t); err != nil {
			return nil, fmt.Errorf("audit: entry %d: %w (run sov audit verify)", e.Seq, err)
		}
		if e.Data, err = parseData([]byte(data)); err != nil {
			return nil, fmt.Errorf("audit: entry %d: %w (run sov audit verify)", e.Seq, err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	return out, nil
}

// Export writes the entries whose time is at or after since (the zero
// time: all) to w as JSON Lines, in seq order: one canonical JSON object
// per entry with the fields actor, data, hash, kind, prev_hash, seq and
// time. Without its "hash" member, a line is exactly the object the hash
// covers (docs/design/audit.md), so an export can be checked without sov.
// Entries are written as stored, unverified; data that is not JSON (only
// possible if the file was edited) is written as a JSON string.
func (l *Log) Export(ctx context.Context, w io.Writer, since time.Time) error {
	rows, err := l.db.QueryContext(ctx, entryQuery, sinceText(since), -1)
	if err != nil {
		return fmt.Errorf("audit: export: %w", err)
	}
	defer rows.Close()
	bw := bufio.NewWriterSize(w, 64<<10)
	var line []byte
	for rows.Next() {
		var (
			seq            int64
			p              prepared
			prevHash, hash string
		)
		if err := rows.Scan(&seq, &p.time, &p.kind, &p.actor, &p.data, &prevHash, &hash); err != nil {
			return fmt.Errorf("audit: export: %w", err)
		}
		if !json.Valid([]byte(p.data)) {
			p.data = string(appendString(nil, p.data))
		}
		line = appendEntryObject(line[:0], seq, p, prevHash, hash, true)
		line = append(line, '\n')
		if _, err := bw.Write(line); err != nil {
			return fmt.Errorf("audit: export: %w", err)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("audit: export: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("audit: export: %w", err)
	}
	return nil
}
