package audit

import (
	"context"
	"crypto/ed25519"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"unicode/utf8"
)

// ProblemKind names what Verify found wrong.
type ProblemKind string

const (
	// ProblemEdited: an entry's content does not match its hash, or a
	// field holds something sov never writes.
	ProblemEdited ProblemKind = "edited"
	// ProblemDeleted: entries are missing from the chain.
	ProblemDeleted ProblemKind = "deleted"
	// ProblemInserted: rows were added that sov did not append.
	ProblemInserted ProblemKind = "inserted"
	// ProblemReordered: entries hold the content of other positions.
	ProblemReordered ProblemKind = "reordered"
	// ProblemLink: an entry does not link to the one before it, although
	// both match their own hashes: the earlier one was rewritten with a
	// fresh hash, or the later one replaced.
	ProblemLink ProblemKind = "broken-link"
	// ProblemTruncated: the log ends before a checkpoint or its head
	// record says it does.
	ProblemTruncated ProblemKind = "truncated"
	// ProblemHead: the head record is missing or disagrees with the log.
	ProblemHead ProblemKind = "head"
	// ProblemSignature: a checkpoint's signature does not verify with the
	// public key (forged or edited checkpoint, or the wrong key).
	ProblemSignature ProblemKind = "bad-signature"
	// ProblemCheckpoint: a validly signed checkpoint names a hash the
	// chain does not have at its seq: entries up to there were rewritten.
	ProblemCheckpoint ProblemKind = "checkpoint-mismatch"
	// ProblemNoKey: there are checkpoints but no public key to check them.
	ProblemNoKey ProblemKind = "no-key"
)

// Problem is one thing Verify found wrong, with where it is.
type Problem struct {
	Kind ProblemKind
	// Seq and End are the first and last entry affected (equal for one
	// entry); for checkpoint problems, the checkpoint's seq.
	Seq, End int64
	Message  string
}

func (p Problem) String() string { return p.Message }

// MaxProblems is how many problems a Report lists; further ones are only
// counted (Report.Omitted).
const MaxProblems = 1000

// Report is the outcome of Verify.
type Report struct {
	OK          bool  // no problems
	Entries     int64 // rows read
	First, Last int64 // seqs of the first and last row (0 when empty)
	Checkpoints int   // checkpoints stored
	// ValidCheckpoints verify with the public key; SignedThrough is the
	// highest seq at which a valid checkpoint matches the chain (entries
	// after it are protected by the chain and head record only).
	ValidCheckpoints int
	SignedThrough    int64
	PublicKey        string // hex key the checkpoints were checked with
	KeySource        string // "option", PubFile or KeyFile; "" when none
	Problems         []Problem
	Omitted          int // problems found beyond MaxProblems
}

// Summary is a one-line account of r.
func (r *Report) Summary() string {
	if r.OK {
		return fmt.Sprintf("audit log OK: %d entries, %d checkpoints, signed through entry %d", r.Entries, r.ValidCheckpoints, r.SignedThrough)
	}
	n := len(r.Problems) + r.Omitted
	return fmt.Sprintf("audit log FAILED verification: %d problem(s) in %d entries and %d checkpoints", n, r.Entries, r.Checkpoints)
}

// VerifyOptions configure Verify.
type VerifyOptions struct {
	// PublicKey checks the checkpoints. Nil: the key in SOV_HOME/audit.pub,
	// else the one derived from audit.key. A key kept outside SOV_HOME is
	// the stronger check: whoever can write SOV_HOME can replace both.
	PublicKey ed25519.PublicKey
}

// Verify checks the whole log, from one consistent snapshot: every
// entry's hash against its content, every link against the entry before,
// seqs contiguous from 1, the head record against the last entry, every
// checkpoint's signature and that it matches the entry at its seq. What
// it cannot detect is listed in docs/design/audit.md. An error means the
// log could not be read; problems found are in the Report.
func (l *Log) Verify(ctx context.Context, opts VerifyOptions) (*Report, error) {
	if l.isClosed() {
		return nil, ErrClosed
	}
	pub, source, keyErr := l.verifyKey(opts)
	if opts.PublicKey != nil && keyErr != nil {
		return nil, fmt.Errorf("audit: verify: %w", keyErr)
	}
	tx, err := l.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true}) // a plain BEGIN: a read snapshot
	if err != nil {
		return nil, fmt.Errorf("audit: verify: %w", err)
	}
	defer tx.Rollback()

	cps, err := readCheckpointRows(ctx, tx)
	if err != nil {
		return nil, fmt.Errorf("audit: verify: read checkpoints: %w", err)
	}
	head, err := readHead(ctx, tx)
	if err != nil {
		return nil, fmt.Errorf("audit: verify: read head record: %w", err)
	}
	v := newVerifier(pub, cps, head)
	v.rep.KeySource = source
	if pub == nil && len(cps) > 0 {
		reason := "no public key"
		if keyErr != nil {
			reason = keyErr.Error()
		}
		v.problem(ProblemNoKey, 0, 0, fmt.Sprintf("cannot check %d checkpoints: %s; pass the audit public key", len(cps), reason))
	}
	rows, err := tx.QueryContext(ctx, `SELECT seq, time, kind, actor, data, prev_hash, hash FROM entries ORDER BY seq`)
	if err != nil {
		return nil, fmt.Errorf("audit: verify: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			r                                    row
			t, kind, actor, data, prevHash, hash sql.NullString
		)
		if err := rows.Scan(&r.seq, &t, &kind, &actor, &data, &prevHash, &hash); err != nil {
			return nil, fmt.Errorf("audit: verify: entries table: %w", err)
		}
		for _, f := range []struct {
			name string
			v    sql.NullString
		}{{"time", t}, {"kind", kind}, {"actor", actor}, {"data", data}, {"prev_hash", prevHash}, {"hash", hash}} {
			if !f.v.Valid && r.null == "" {
				r.null = f.name
			}
		}
		r.p = prepared{time: t.String, kind: kind.String, actor: actor.String, data: data.String}
		r.prevHash, r.hash = prevHash.String, hash.String
		v.add(r)
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("audit: verify: %w", err)
	}
	return v.finish(), nil
}

// verifyKey finds the public key that checks checkpoints.
func (l *Log) verifyKey(opts VerifyOptions) (ed25519.PublicKey, string, error) {
	if opts.PublicKey != nil {
		if len(opts.PublicKey) != ed25519.PublicKeySize {
			return nil, "", fmt.Errorf("public key is %d bytes, want %d", len(opts.PublicKey), ed25519.PublicKeySize)
		}
		return opts.PublicKey, "option", nil
	}
	pub, err := ReadPublicKey(filepath.Join(l.home, PubFile))
	if err == nil {
		return pub, PubFile, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, "", err
	}
	key, kerr := readPrivateKey(filepath.Join(l.home, KeyFile))
	if kerr == nil {
		return key.Public().(ed25519.PublicKey), KeyFile, nil
	}
	if errors.Is(kerr, fs.ErrNotExist) {
		return nil, "", fmt.Errorf("%s and %s are both missing", PubFile, KeyFile)
	}
	return nil, "", kerr
}

func readCheckpointRows(ctx context.Context, tx *sql.Tx) ([]checkpointRow, error) {
	rows, err := tx.QueryContext(ctx, `SELECT id, seq, hash, time, public_key, signature FROM checkpoints ORDER BY id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []checkpointRow
	for rows.Next() {
		var r checkpointRow
		var hash, t, pub, sig sql.NullString
		if err := rows.Scan(&r.id, &r.seq, &hash, &t, &pub, &sig); err != nil {
			return nil, err
		}
		r.hash, r.time, r.publicKey, r.signature = hash.String, t.String, pub.String, sig.String
		out = append(out, r)
	}
	return out, rows.Err()
}

// headRow is the head record; ok is false when there is none.
type headRow struct {
	ok   bool
	seq  int64
	hash string
}

func readHead(ctx context.Context, tx *sql.Tx) (headRow, error) {
	var h headRow
	var hash sql.NullString
	err := tx.QueryRowContext(ctx, `SELECT seq, hash FROM head WHERE id = 1`).Scan(&h.seq, &hash)
	if errors.Is(err, sql.ErrNoRows) {
		return headRow{}, nil
	}
	if err != nil {
		return headRow{}, err
	}
	h.ok, h.hash = true, hash.String
	return h, nil
}

// row is an entries row as stored.
type row struct {
	seq            int64
	p              prepared
	prevHash, hash string
	null           string // the first NULL field, if any
}

// malformed says why r holds something sov never writes, or "".
func (r *row) malformed() string {
	switch {
	case r.null != "":
		return r.null + " is NULL"
	case checkKind(r.p.kind) != nil:
		return fmt.Sprintf("kind %q is not a valid kind", r.p.kind)
	case checkActor(r.p.actor) != nil:
		return fmt.Sprintf("actor %q is not a valid actor", r.p.actor)
	case !isHash(r.hash):
		return "hash is not 64 lowercase hex digits"
	case !isHash(r.prevHash):
		return "prev_hash is not 64 lowercase hex digits"
	case !utf8.ValidString(r.p.data):
		return "data is not valid UTF-8"
	}
	if _, err := parseTime(r.p.time); err != nil {
		return fmt.Sprintf("time %q is not in the log's form", r.p.time)
	}
	return ""
}

// Bounds on the search for where a displaced entry came from.
const (
	searchWindow = 32      // seqs tried either side of a row's own
	recentRows   = 4096    // rows remembered by hash
	searchBudget = 1 << 20 // hashes spent on searching, in all
)

// rowState is what the verifier remembers of a row.
type rowState struct {
	seq, orig        int64 // orig: the seq the content was hashed at
	stored, computed string
	contentOK        bool
}

// block is a run of consecutive displaced rows.
type block struct {
	start, end int64
	origs      []int64 // nil once the block is too long to keep
	d          int64   // orig - seq of the first row
	sameD      bool
}

// verifier checks rows one at a time in seq order; it holds no database
// and reads no files, so arbitrary rows can be fed to it.
type verifier struct {
	rep      Report
	cps      map[int64][]*checkpointRow // validly signed, by seq
	head     headRow
	expect   int64 // the seq the next row should have
	prev     *rowState
	recent   map[string]rowState // by stored hash
	order    []string            // recent's keys, oldest first
	blk      block
	inBlock  bool
	tailMove bool // the last row was displaced
	budget   int
	buf      []byte
}

func newVerifier(pub ed25519.PublicKey, cps []checkpointRow, head headRow) *verifier {
	v := &verifier{
		cps:    map[int64][]*checkpointRow{},
		head:   head,
		expect: 1,
		recent: map[string]rowState{},
		budget: searchBudget,
	}
	v.rep.Checkpoints = len(cps)
	if pub != nil {
		v.rep.PublicKey = hex.EncodeToString(pub)
	}
	for i := range cps {
		cp := &cps[i]
		if pub == nil {
			continue
		}
		sig, err := hex.DecodeString(cp.signature)
		if err != nil || len(sig) != ed25519.SignatureSize ||
			!ed25519.Verify(pub, checkpointMessage(cp.seq, cp.hash, cp.time), sig) {
			hint := ""
			if cp.publicKey != v.rep.PublicKey {
				hint = fmt.Sprintf("; it names key %.16s…", cp.publicKey)
			}
			v.problem(ProblemSignature, cp.seq, cp.seq, fmt.Sprintf(
				"checkpoint at %d (#%d): signature does not verify with public key %.16s… (forged or edited checkpoint, or the wrong key%s)",
				cp.seq, cp.id, v.rep.PublicKey, hint))
			continue
		}
		v.rep.ValidCheckpoints++
		v.cps[cp.seq] = append(v.cps[cp.seq], cp)
	}
	return v
}

func (v *verifier) problem(kind ProblemKind, seq, end int64, msg string) {
	if len(v.rep.Problems) >= MaxProblems {
		v.rep.Omitted++
		return
	}
	v.rep.Problems = append(v.rep.Problems, Problem{Kind: kind, Seq: seq, End: end, Message: msg})
}

func (v *verifier) full() bool { return len(v.rep.Problems) >= MaxProblems }

// hashAt is the hash r's content would have as entry seq.
func (v *verifier) hashAt(r *row, seq int64) string {
	var h string
	h, v.buf = entryHash(v.buf, seq, r.p, r.prevHash)
	return h
}

func (v *verifier) add(r row) {
	v.rep.Entries++
	if r.seq < 1 {
		v.problem(ProblemInserted, r.seq, r.seq, fmt.Sprintf("entry %d: sequence numbers start at 1; this row was inserted", r.seq))
		return
	}
	if r.seq < v.expect { // only if rows arrive out of seq order
		v.problem(ProblemReordered, r.seq, r.seq, fmt.Sprintf("entry %d: out of sequence after entry %d", r.seq, v.expect-1))
		return
	}
	if v.rep.First == 0 {
		v.rep.First = r.seq
	}
	v.rep.Last = r.seq
	gap := r.seq > v.expect
	if gap {
		v.flushBlock(false)
		v.problem(ProblemDeleted, v.expect, r.seq-1, deletedMessage(v.expect, r.seq, v.prev != nil))
	}
	bad := r.malformed()
	computed := v.hashAt(&r, r.seq)
	st := rowState{seq: r.seq, orig: r.seq, stored: r.hash, computed: computed, contentOK: bad == "" && computed == r.hash}
	if !st.contentOK && bad == "" {
		if o, ok := v.findOrigin(&r); ok {
			st.orig = o
		}
	}
	if st.orig != r.seq {
		v.addToBlock(st)
	} else {
		// A chain that carries on from the block's last row means the
		// block was renumbered, not moved.
		v.flushBlock(st.contentOK && !gap && v.prev != nil && r.prevHash == v.prev.stored)
		switch {
		case !st.contentOK:
			if bad == "" {
				bad = "its hash does not match its content"
			}
			v.problem(ProblemEdited, r.seq, r.seq, fmt.Sprintf("entry %d: %s (edited)", r.seq, bad))
		case !gap:
			v.checkLink(&r)
		}
		for _, cp := range v.cps[r.seq] {
			if cp.hash == r.hash {
				v.rep.SignedThrough = max(v.rep.SignedThrough, r.seq)
			} else {
				v.problem(ProblemCheckpoint, r.seq, r.seq, fmt.Sprintf(
					"checkpoint at %d signs a hash the chain does not have: entries up to %d were rewritten", r.seq, r.seq))
			}
		}
	}
	v.tailMove = st.orig != r.seq
	v.remember(st)
	v.prev = &st
	v.expect = r.seq + 1
}

func deletedMessage(from, next int64, hasPrev bool) string {
	what := fmt.Sprintf("entry %d deleted", from)
	if next-1 > from {
		what = fmt.Sprintf("entries %d-%d deleted", from, next-1)
	}
	if !hasPrev {
		return fmt.Sprintf("log starts at %d: %s", next, what)
	}
	return fmt.Sprintf("entry %d follows %d: %s", next, from-1, what)
}

// checkLink checks that r links to the entry before it.
func (v *verifier) checkLink(r *row) {
	if r.seq == 1 {
		if r.prevHash != genesisHash {
			v.problem(ProblemLink, 1, 1, "entry 1 does not start the chain (its prev_hash is not zeros): entry 1 was replaced")
		}
		return
	}
	p := v.prev // p.seq == r.seq-1: there is no gap
	switch {
	case r.prevHash == p.stored:
		return
	case p.orig != p.seq:
		return // p is displaced; reported with its block
	case !p.contentOK && r.prevHash == p.computed:
		return // p's hash column was edited; reported at p
	}
	if e, ok := v.recent[r.prevHash]; ok && e.orig == r.seq-1 {
		return // links to its displaced predecessor; reported with the block
	}
	v.problem(ProblemLink, r.seq-1, r.seq, fmt.Sprintf(
		"entry %d does not link to entry %d: entry %d was rewritten with a new hash, or entry %d replaced",
		r.seq, r.seq-1, r.seq-1, r.seq))
}

// findOrigin looks for the seq at which r's content was hashed: after the
// entry its prev_hash names, or near its own seq.
func (v *verifier) findOrigin(r *row) (int64, bool) {
	if v.full() {
		return 0, false
	}
	try := func(c int64) bool {
		if c < 1 || c == r.seq || v.budget <= 0 {
			return false
		}
		v.budget--
		return v.hashAt(r, c) == r.hash
	}
	if e, ok := v.recent[r.prevHash]; ok && e.orig < 1<<62 && try(e.orig+1) {
		return e.orig + 1, true
	}
	if r.prevHash == genesisHash && try(1) {
		return 1, true
	}
	for d := int64(1); d <= searchWindow; d++ {
		if r.seq <= 1<<62 && try(r.seq+d) {
			return r.seq + d, true
		}
		if try(r.seq - d) {
			return r.seq - d, true
		}
	}
	return 0, false
}

func (v *verifier) remember(st rowState) {
	if _, ok := v.recent[st.stored]; !ok {
		v.order = append(v.order, st.stored)
	}
	v.recent[st.stored] = st
	if len(v.order) > recentRows {
		delete(v.recent, v.order[0])
		v.order = v.order[1:]
	}
}

// maxBlockKept bounds the origins kept to classify a block.
const maxBlockKept = 1 << 16

func (v *verifier) addToBlock(st rowState) {
	if v.inBlock && st.seq == v.blk.end+1 {
		v.blk.end = st.seq
		if v.blk.origs != nil {
			if len(v.blk.origs) < maxBlockKept {
				v.blk.origs = append(v.blk.origs, st.orig)
			} else {
				v.blk.origs = nil
			}
		}
		if st.orig-st.seq != v.blk.d {
			v.blk.sameD = false
		}
		return
	}
	v.flushBlock(false)
	v.inBlock = true
	v.blk = block{start: st.seq, end: st.seq, origs: []int64{st.orig}, d: st.orig - st.seq, sameD: true}
}

// flushBlock reports the current block of displaced rows, if any. A
// block with one shift after which the chain carries on (or ends) is a
// deletion or insertion with the rest renumbered; otherwise it is a move.
func (v *verifier) flushBlock(carriesOn bool) {
	if !v.inBlock {
		return
	}
	v.inBlock = false
	b := v.blk
	span, hold := fmt.Sprintf("entries %d-%d", b.start, b.end), "hold"
	if b.start == b.end {
		span, hold = fmt.Sprintf("entry %d", b.start), "holds"
	}
	if b.origs != nil && int64(len(b.origs)) == b.end-b.start+1 {
		sorted := slices.Clone(b.origs)
		slices.Sort(sorted)
		perm := true
		for i, o := range sorted {
			if o != b.start+int64(i) {
				perm = false
				break
			}
		}
		if perm {
			v.problem(ProblemReordered, b.start, b.end, fmt.Sprintf(
				"%s out of order: each holds the content of another entry in that range", span))
			return
		}
	}
	switch {
	case b.sameD && carriesOn && b.d < 0:
		k := -b.d
		v.problem(ProblemInserted, b.start-k, b.start-1, fmt.Sprintf(
			"%s %s the content hashed as %s: %s inserted before them and the rest renumbered",
			span, hold, seqRange(b.start+b.d, b.end+b.d), countEntries(k)))
	case b.sameD && carriesOn && b.d > 0:
		v.problem(ProblemDeleted, b.start, b.start+b.d-1, fmt.Sprintf(
			"%s %s the content hashed as %s: %s deleted at %d and the rest renumbered",
			span, hold, seqRange(b.start+b.d, b.end+b.d), countEntries(b.d), b.start))
	case b.sameD:
		v.problem(ProblemReordered, b.start, b.end, fmt.Sprintf(
			"%s %s the content hashed as %s (moved)", span, hold, seqRange(b.start+b.d, b.end+b.d)))
	default:
		v.problem(ProblemReordered, b.start, b.end, fmt.Sprintf(
			"%s %s the content of entries at other positions (moved)", span, hold))
	}
}

func seqRange(a, b int64) string {
	if a == b {
		return fmt.Sprintf("entry %d", a)
	}
	return fmt.Sprintf("entries %d-%d", a, b)
}

func countEntries(n int64) string {
	if n == 1 {
		return "1 entry"
	}
	return fmt.Sprintf("%d entries", n)
}

// finish reports what only the end of the walk shows: truncation and the
// head record.
func (v *verifier) finish() *Report {
	v.flushBlock(true)
	last := v.rep.Last
	var covered int64 // the furthest seq a checkpoint or the head vouches for
	var why []string
	for seq := range v.cps {
		covered = max(covered, seq)
	}
	if covered > last {
		why = append(why, fmt.Sprintf("a checkpoint covers %d", covered))
	}
	if v.head.ok && v.head.seq > last {
		why = append(why, fmt.Sprintf("its head record says %d", v.head.seq))
		covered = max(covered, v.head.seq)
	}
	if covered > last {
		v.problem(ProblemTruncated, last+1, covered, fmt.Sprintf(
			"log ends at %d but %s: %s truncated", last, strings.Join(why, " and "), seqRange(last+1, covered)))
	}
	switch {
	case !v.head.ok && last > 0:
		v.problem(ProblemHead, last, last, "the head record is missing (deleted)")
	case v.head.ok && v.head.seq < last && !v.tailMove:
		from := max(v.head.seq+1, v.rep.First)
		verb := "come"
		if from == last {
			verb = "comes"
		}
		v.problem(ProblemInserted, from, last, fmt.Sprintf(
			"%s %s after the head record (%d): added without sov", seqRange(from, last), verb, v.head.seq))
	case v.head.ok && v.head.seq == last && v.prev != nil && v.head.hash != v.prev.stored &&
		!(v.head.hash == v.prev.computed || v.tailMove):
		v.problem(ProblemHead, last, last, fmt.Sprintf("the head record's hash does not match entry %d", last))
	}
	v.rep.OK = len(v.rep.Problems) == 0 && v.rep.Omitted == 0
	return &v.rep
}
