package audit

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// place is where a problem is, for comparing reports.
type place struct {
	Kind     ProblemKind
	Seq, End int64
}

func places(r *Report) []place {
	var ps []place
	for _, p := range r.Problems {
		ps = append(ps, place{p.Kind, p.Seq, p.End})
	}
	return ps
}

// content is an entries row without its seq.
type content struct {
	time, kind, actor, data, prevHash, hash string
}

func readContent(t *testing.T, db *sql.DB, seq int64) content {
	t.Helper()
	var c content
	if err := db.QueryRow(`SELECT time, kind, actor, data, prev_hash, hash FROM entries WHERE seq = ?`, seq).
		Scan(&c.time, &c.kind, &c.actor, &c.data, &c.prevHash, &c.hash); err != nil {
		t.Fatalf("read entry %d: %v", seq, err)
	}
	return c
}

func writeContent(t *testing.T, db *sql.DB, seq int64, c content) {
	t.Helper()
	if _, err := db.Exec(`INSERT OR REPLACE INTO entries (seq, time, kind, actor, data, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		seq, c.time, c.kind, c.actor, c.data, c.prevHash, c.hash); err != nil {
		t.Fatalf("write entry %d: %v", seq, err)
	}
}

// permute moves row contents: row seq gets the content row from had.
func permute(t *testing.T, db *sql.DB, m map[int64]int64) {
	t.Helper()
	old := map[int64]content{}
	for _, from := range m {
		old[from] = readContent(t, db, from)
	}
	for seq, from := range m {
		writeContent(t, db, seq, old[from])
	}
}

// chained returns c re-hashed as entry seq after prev, as a tamperer who
// knows the format would.
func chained(seq int64, c content, prev string) content {
	c.prevHash = prev
	c.hash, _ = entryHash(nil, seq, prepared{time: c.time, kind: c.kind, actor: c.actor, data: c.data}, prev)
	return c
}

// rehash recomputes the chain from seq from to the last entry, and
// optionally the head record.
func rehash(t *testing.T, db *sql.DB, from int64, head bool) {
	t.Helper()
	prev := genesisHash
	if from > 1 {
		prev = readContent(t, db, from-1).hash
	}
	var last int64
	if err := db.QueryRow(`SELECT max(seq) FROM entries`).Scan(&last); err != nil {
		t.Fatal(err)
	}
	for seq := from; seq <= last; seq++ {
		c := chained(seq, readContent(t, db, seq), prev)
		writeContent(t, db, seq, c)
		prev = c.hash
	}
	if head {
		setHead(t, db, last, prev)
	}
}

func setHead(t *testing.T, db *sql.DB, seq int64, hash string) {
	t.Helper()
	if _, err := db.Exec(`UPDATE head SET seq = ?, hash = ?`, seq, hash); err != nil {
		t.Fatal(err)
	}
}

func mustExec(t *testing.T, db *sql.DB, query string, args ...any) {
	t.Helper()
	if _, err := db.Exec(query, args...); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}

// signWith stores a checkpoint at seq signed with key.
func signWith(t *testing.T, db *sql.DB, key ed25519.PrivateKey, seq int64, hash string) {
	t.Helper()
	ts := "2025-06-01T00:00:00.000000000Z"
	sig := ed25519.Sign(key, checkpointMessage(seq, hash, ts))
	mustExec(t, db, `INSERT INTO checkpoints (seq, hash, time, public_key, signature) VALUES (?, ?, ?, ?, ?)`,
		seq, hash, ts, hex.EncodeToString(key.Public().(ed25519.PublicKey)), hex.EncodeToString(sig))
}

func newKey(t *testing.T) ed25519.PrivateKey {
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestVerifyTampering builds a log of 50 entries with a checkpoint at 40,
// tampers with the file through plain SQL, and checks what Verify says.
func TestVerifyTampering(t *testing.T) {
	type env struct {
		t    *testing.T
		l    *Log
		db   *sql.DB
		home string
		opts *VerifyOptions
	}
	tests := []struct {
		name   string
		tamper func(e env)
		want   []place
		msg    string // a phrase the first problem's message must contain
	}{
		{name: "untouched", tamper: func(env) {}},

		// Edits
		{name: "edit kind", tamper: func(e env) { mustExec(e.t, e.db, `UPDATE entries SET kind = 'key.revoke' WHERE seq = 17`) },
			want: []place{{ProblemEdited, 17, 17}}, msg: "entry 17: its hash does not match its content (edited)"},
		{name: "edit actor", tamper: func(e env) { mustExec(e.t, e.db, `UPDATE entries SET actor = 'cli:mallory' WHERE seq = 17`) },
			want: []place{{ProblemEdited, 17, 17}}},
		{name: "edit time", tamper: func(e env) {
			mustExec(e.t, e.db, `UPDATE entries SET time = '2030-01-01T00:00:00.000000000Z' WHERE seq = 17`)
		}, want: []place{{ProblemEdited, 17, 17}}},
		{name: "edit time into another form", tamper: func(e env) { mustExec(e.t, e.db, `UPDATE entries SET time = 'yesterday' WHERE seq = 17`) },
			want: []place{{ProblemEdited, 17, 17}}, msg: "not in the log's form"},
		{name: "edit data", tamper: func(e env) {
			mustExec(e.t, e.db, `UPDATE entries SET data = replace(data, '"tokens_in":16', '"tokens_in":1') WHERE seq = 17`)
		}, want: []place{{ProblemEdited, 17, 17}}},
		{name: "re-spell data", tamper: func(e env) { mustExec(e.t, e.db, `UPDATE entries SET data = ' ' || data WHERE seq = 17`) },
			want: []place{{ProblemEdited, 17, 17}}},
		{name: "edit prev_hash", tamper: func(e env) {
			mustExec(e.t, e.db, `UPDATE entries SET prev_hash = (SELECT hash FROM entries WHERE seq = 15) WHERE seq = 17`)
		}, want: []place{{ProblemEdited, 17, 17}}},
		{name: "edit hash column", tamper: func(e env) {
			mustExec(e.t, e.db, `UPDATE entries SET hash = (SELECT hash FROM entries WHERE seq = 16) WHERE seq = 17`)
		}, want: []place{{ProblemEdited, 17, 17}}},
		{name: "edit and re-hash one entry", tamper: func(e env) {
			c := readContent(e.t, e.db, 17)
			c.actor = "cli:mallory"
			writeContent(e.t, e.db, 17, chained(17, c, c.prevHash))
		}, want: []place{{ProblemLink, 17, 18}}, msg: "entry 18 does not link to entry 17"},
		{name: "edit and re-hash up to the head", tamper: func(e env) {
			mustExec(e.t, e.db, `UPDATE entries SET actor = 'cli:mallory' WHERE seq = 17`)
			rehash(e.t, e.db, 17, true)
		}, want: []place{{ProblemCheckpoint, 40, 40}}, msg: "checkpoint at 40 signs a hash the chain does not have"},
		{name: "edit and re-hash after the last checkpoint (undetectable)", tamper: func(e env) {
			mustExec(e.t, e.db, `UPDATE entries SET actor = 'cli:mallory' WHERE seq = 45`)
			rehash(e.t, e.db, 45, true)
		}},

		// Deletions
		{name: "delete one", tamper: func(e env) { mustExec(e.t, e.db, `DELETE FROM entries WHERE seq = 17`) },
			want: []place{{ProblemDeleted, 17, 17}}, msg: "entry 18 follows 16: entry 17 deleted"},
		{name: "delete several", tamper: func(e env) { mustExec(e.t, e.db, `DELETE FROM entries WHERE seq BETWEEN 17 AND 19`) },
			want: []place{{ProblemDeleted, 17, 19}}, msg: "entry 20 follows 16: entries 17-19 deleted"},
		{name: "delete the first", tamper: func(e env) { mustExec(e.t, e.db, `DELETE FROM entries WHERE seq = 1`) },
			want: []place{{ProblemDeleted, 1, 1}}, msg: "log starts at 2"},
		{name: "delete the checkpointed entry", tamper: func(e env) { mustExec(e.t, e.db, `DELETE FROM entries WHERE seq = 40`) },
			want: []place{{ProblemDeleted, 40, 40}}},
		{name: "delete and renumber", tamper: func(e env) {
			mustExec(e.t, e.db, `DELETE FROM entries WHERE seq = 17`)
			mustExec(e.t, e.db, `UPDATE entries SET seq = -seq WHERE seq > 17`)
			mustExec(e.t, e.db, `UPDATE entries SET seq = -seq - 1 WHERE seq < 0`)
			setHead(e.t, e.db, 49, readContent(e.t, e.db, 49).hash)
		}, want: []place{{ProblemDeleted, 17, 17}}, msg: "1 entry deleted at 17 and the rest renumbered"},
		{name: "delete and renumber, then append", tamper: func(e env) {
			mustExec(e.t, e.db, `DELETE FROM entries WHERE seq = 17`)
			mustExec(e.t, e.db, `UPDATE entries SET seq = -seq WHERE seq > 17`)
			mustExec(e.t, e.db, `UPDATE entries SET seq = -seq - 1 WHERE seq < 0`)
			setHead(e.t, e.db, 49, readContent(e.t, e.db, 49).hash)
			appendN(e.t, e.l, 50, 3)
		}, want: []place{{ProblemDeleted, 17, 17}}},
		{name: "delete several and renumber", tamper: func(e env) {
			mustExec(e.t, e.db, `DELETE FROM entries WHERE seq BETWEEN 17 AND 21`)
			mustExec(e.t, e.db, `UPDATE entries SET seq = -seq WHERE seq > 21`)
			mustExec(e.t, e.db, `UPDATE entries SET seq = -seq - 5 WHERE seq < 0`)
			setHead(e.t, e.db, 45, readContent(e.t, e.db, 45).hash)
		}, want: []place{{ProblemDeleted, 17, 21}}},

		// Insertions
		{name: "insert a forged row at the end", tamper: func(e env) {
			writeContent(e.t, e.db, 51, content{time: "2030-01-01T00:00:00.000000000Z", kind: "key.create", actor: "cli:mallory",
				data: "{}", prevHash: readContent(e.t, e.db, 50).hash, hash: strings.Repeat("ab", 32)})
		}, want: []place{{ProblemEdited, 51, 51}, {ProblemInserted, 51, 51}}},
		{name: "insert a well-chained row at the end", tamper: func(e env) {
			writeContent(e.t, e.db, 51, chained(51, content{time: "2030-01-01T00:00:00.000000000Z", kind: "key.create",
				actor: "cli:mallory", data: "{}"}, readContent(e.t, e.db, 50).hash))
		}, want: []place{{ProblemInserted, 51, 51}}, msg: "after the head record (50)"},
		{name: "insert at seq 0", tamper: func(e env) {
			writeContent(e.t, e.db, 0, content{time: "2030-01-01T00:00:00.000000000Z", kind: "key.create", actor: "x",
				data: "{}", prevHash: genesisHash, hash: genesisHash})
		}, want: []place{{ProblemInserted, 0, 0}}},
		{name: "insert in the middle and renumber", tamper: func(e env) {
			mustExec(e.t, e.db, `UPDATE entries SET seq = -seq WHERE seq >= 17`)
			mustExec(e.t, e.db, `UPDATE entries SET seq = -seq + 1 WHERE seq < 0`)
			writeContent(e.t, e.db, 17, chained(17, content{time: "2025-06-01T12:00:17.000000000Z", kind: "key.create",
				actor: "cli:mallory", data: "{}"}, readContent(e.t, e.db, 16).hash))
			setHead(e.t, e.db, 51, readContent(e.t, e.db, 51).hash)
		}, want: []place{{ProblemInserted, 17, 17}}, msg: "1 entry inserted before them"},

		{name: "insert in the middle and renumber, then append", tamper: func(e env) {
			mustExec(e.t, e.db, `UPDATE entries SET seq = -seq WHERE seq >= 17`)
			mustExec(e.t, e.db, `UPDATE entries SET seq = -seq + 2 WHERE seq < 0`)
			for _, seq := range []int64{17, 18} {
				writeContent(e.t, e.db, seq, chained(seq, content{time: "2025-06-01T12:00:17.000000000Z", kind: "key.create",
					actor: "cli:mallory", data: "{}"}, readContent(e.t, e.db, seq-1).hash))
			}
			setHead(e.t, e.db, 52, readContent(e.t, e.db, 52).hash)
			appendN(e.t, e.l, 50, 3)
		}, want: []place{{ProblemInserted, 17, 18}}},

		// Reordering
		{name: "swap two rows", tamper: func(e env) { permute(e.t, e.db, map[int64]int64{20: 21, 21: 20}) },
			want: []place{{ProblemReordered, 20, 21}}, msg: "entries 20-21 out of order"},
		{name: "move a row later", tamper: func(e env) {
			permute(e.t, e.db, map[int64]int64{20: 21, 21: 22, 22: 23, 23: 24, 24: 25, 25: 20})
		}, want: []place{{ProblemReordered, 20, 25}}},
		{name: "swap across the checkpoint", tamper: func(e env) { permute(e.t, e.db, map[int64]int64{40: 41, 41: 40}) },
			want: []place{{ProblemReordered, 40, 41}}},
		{name: "swap the last two", tamper: func(e env) { permute(e.t, e.db, map[int64]int64{49: 50, 50: 49}) },
			want: []place{{ProblemReordered, 49, 50}}},
		{name: "swap distant rows", tamper: func(e env) { permute(e.t, e.db, map[int64]int64{3: 30, 30: 3}) },
			want: []place{{ProblemReordered, 3, 3}, {ProblemReordered, 30, 30}}},

		// Truncation
		{name: "truncate the tail", tamper: func(e env) { mustExec(e.t, e.db, `DELETE FROM entries WHERE seq >= 36`) },
			want: []place{{ProblemTruncated, 36, 50}}, msg: "log ends at 35 but a checkpoint covers 40 and its head record says 50"},
		{name: "truncate the tail and the head record", tamper: func(e env) {
			mustExec(e.t, e.db, `DELETE FROM entries WHERE seq >= 36`)
			setHead(e.t, e.db, 35, readContent(e.t, e.db, 35).hash)
		}, want: []place{{ProblemTruncated, 36, 40}}, msg: "log ends at 35 but a checkpoint covers 40: entries 36-40 truncated"},
		{name: "truncate after the last checkpoint", tamper: func(e env) { mustExec(e.t, e.db, `DELETE FROM entries WHERE seq >= 46`) },
			want: []place{{ProblemTruncated, 46, 50}}},
		{name: "truncate after the last checkpoint and the head record (undetectable)", tamper: func(e env) {
			mustExec(e.t, e.db, `DELETE FROM entries WHERE seq >= 46`)
			setHead(e.t, e.db, 45, readContent(e.t, e.db, 45).hash)
		}},
		{name: "delete everything", tamper: func(e env) { mustExec(e.t, e.db, `DELETE FROM entries`) },
			want: []place{{ProblemTruncated, 1, 50}}},

		// Head record
		{name: "delete the head record", tamper: func(e env) { mustExec(e.t, e.db, `DELETE FROM head`) },
			want: []place{{ProblemHead, 50, 50}}},
		{name: "edit the head hash", tamper: func(e env) { mustExec(e.t, e.db, `UPDATE head SET hash = ?`, genesisHash) },
			want: []place{{ProblemHead, 50, 50}}},

		// Checkpoints and keys
		{name: "replace a checkpoint signature", tamper: func(e env) {
			mustExec(e.t, e.db, `UPDATE checkpoints SET signature = ?`, strings.Repeat("00", 64))
		}, want: []place{{ProblemSignature, 40, 40}}, msg: "checkpoint at 40 (#1): signature does not verify"},
		{name: "garbage checkpoint signature", tamper: func(e env) { mustExec(e.t, e.db, `UPDATE checkpoints SET signature = 'zz'`) },
			want: []place{{ProblemSignature, 40, 40}}},
		{name: "move a checkpoint", tamper: func(e env) { mustExec(e.t, e.db, `UPDATE checkpoints SET seq = 41`) },
			want: []place{{ProblemSignature, 41, 41}}},
		{name: "forge a checkpoint with another key", tamper: func(e env) {
			signWith(e.t, e.db, newKey(e.t), 45, readContent(e.t, e.db, 45).hash)
		}, want: []place{{ProblemSignature, 45, 45}}, msg: "it names key"},
		{name: "verify with the wrong key", tamper: func(e env) {
			e.opts.PublicKey = newKey(e.t).Public().(ed25519.PublicKey)
		}, want: []place{{ProblemSignature, 40, 40}}},
		{name: "rewrite everything with a new key, verify with the pinned key", tamper: func(e env) {
			pinned, err := ReadPublicKey(filepath.Join(e.home, PubFile))
			if err != nil {
				e.t.Fatal(err)
			}
			mustExec(e.t, e.db, `UPDATE entries SET actor = 'cli:mallory' WHERE seq = 17`)
			rehash(e.t, e.db, 17, true)
			mustExec(e.t, e.db, `DELETE FROM checkpoints`)
			k := newKey(e.t)
			signWith(e.t, e.db, k, 40, readContent(e.t, e.db, 40).hash)
			for _, f := range []struct{ name, text string }{{KeyFile, hex.EncodeToString(k.Seed())}, {PubFile, hex.EncodeToString(k.Public().(ed25519.PublicKey))}} {
				if err := os.WriteFile(filepath.Join(e.home, f.name), []byte(f.text+"\n"), 0o600); err != nil {
					e.t.Fatal(err)
				}
			}
			e.opts.PublicKey = pinned
		}, want: []place{{ProblemSignature, 40, 40}}},
		{name: "rewrite everything with a new key, verify with audit.pub (undetectable)", tamper: func(e env) {
			mustExec(e.t, e.db, `UPDATE entries SET actor = 'cli:mallory' WHERE seq = 17`)
			rehash(e.t, e.db, 17, true)
			mustExec(e.t, e.db, `DELETE FROM checkpoints`)
			k := newKey(e.t)
			signWith(e.t, e.db, k, 40, readContent(e.t, e.db, 40).hash)
			if err := os.WriteFile(filepath.Join(e.home, PubFile), []byte(hex.EncodeToString(k.Public().(ed25519.PublicKey))), 0o644); err != nil {
				e.t.Fatal(err)
			}
		}},
		{name: "key files deleted", tamper: func(e env) {
			os.Remove(filepath.Join(e.home, PubFile))
			os.Remove(filepath.Join(e.home, KeyFile))
		}, want: []place{{ProblemNoKey, 0, 0}}},
		{name: "public key file deleted", tamper: func(e env) { os.Remove(filepath.Join(e.home, PubFile)) }},
		{name: "public key file garbled", tamper: func(e env) {
			os.WriteFile(filepath.Join(e.home, PubFile), []byte("garbage"), 0o644)
		}, want: []place{{ProblemNoKey, 0, 0}}},
	}
	ctx := context.Background()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			home := t.TempDir()
			l := openLog(t, home)
			appendN(t, l, 0, 40)
			if _, err := l.Checkpoint(ctx); err != nil {
				t.Fatal(err)
			}
			appendN(t, l, 40, 10)
			opts := VerifyOptions{}
			tt.tamper(env{t: t, l: l, db: rawDB(t, l), home: home, opts: &opts})
			rep, err := l.Verify(ctx, opts)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, places(rep)); diff != "" {
				t.Errorf("problems (-want +got):\n%s\nmessages:%s", diff, messages(rep))
			}
			if rep.OK != (len(tt.want) == 0) {
				t.Errorf("OK = %v with %d problems", rep.OK, len(rep.Problems))
			}
			if tt.msg != "" && (len(rep.Problems) == 0 || !strings.Contains(rep.Problems[0].Message, tt.msg)) {
				t.Errorf("first problem does not say %q:%s", tt.msg, messages(rep))
			}
		})
	}
}

func messages(r *Report) string {
	var b strings.Builder
	for _, p := range r.Problems {
		b.WriteString("\n\t" + p.Message)
	}
	return b.String()
}

func TestVerifyReport(t *testing.T) {
	ctx := context.Background()
	l := openLog(t, "")
	rep, err := l.Verify(ctx, VerifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK || rep.Entries != 0 {
		t.Errorf("empty log: %+v", rep)
	}
	appendN(t, l, 0, 10)
	cp, err := l.Checkpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	appendN(t, l, 10, 3)
	rep, err = l.Verify(ctx, VerifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := Report{OK: true, Entries: 13, First: 1, Last: 13, Checkpoints: 1, ValidCheckpoints: 1, SignedThrough: 10,
		PublicKey: cp.PublicKey, KeySource: PubFile}
	if diff := cmp.Diff(want, *rep); diff != "" {
		t.Errorf("report (-want +got):\n%s", diff)
	}
	if got := rep.Summary(); got != "audit log OK: 13 entries, 1 checkpoints, signed through entry 10" {
		t.Errorf("Summary = %q", got)
	}
	if _, err := l.Verify(ctx, VerifyOptions{PublicKey: ed25519.PublicKey{1, 2}}); err == nil {
		t.Errorf("Verify with a short key did not fail")
	}
}

// TestVerifyManyProblems checks that a log edited everywhere gives a
// bounded report.
func TestVerifyManyProblems(t *testing.T) {
	ctx := context.Background()
	l := openLog(t, "")
	appendN(t, l, 0, MaxProblems+200)
	mustExec(t, rawDB(t, l), `UPDATE entries SET actor = 'cli:mallory'`)
	rep, err := l.Verify(ctx, VerifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.OK || len(rep.Problems) != MaxProblems || rep.Omitted != 200 {
		t.Errorf("OK %v, %d problems, %d omitted; want %d and 200", rep.OK, len(rep.Problems), rep.Omitted, MaxProblems)
	}
}
