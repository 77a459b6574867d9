package audit

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// clock is a test clock that ticks one second per reading.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)} }

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Second)
	return c.t
}

// openLog opens a log in home (a new temp dir if empty), closed at the
// end of the test.
func openLog(t testing.TB, home string) *Log {
	t.Helper()
	if home == "" {
		home = t.TempDir()
	}
	l, err := Open(context.Background(), home, Options{Now: newClock().now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// rawDB opens the log's file directly, as a tamperer would.
func rawDB(t testing.TB, l *Log) *sql.DB {
	t.Helper()
	dsn, err := dataSourceName(l.Path())
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

func testEntry(i int) Entry {
	return Entry{
		Kind:  KindInference,
		Actor: fmt.Sprintf("key-%d", i%3),
		Data:  Inference{KeyID: fmt.Sprintf("key-%d", i%3), Model: "m", TokensIn: int64(i), Status: 200, Decision: DecisionAllowed}.Data(),
	}
}

func appendN(t testing.TB, l *Log, from, n int) {
	t.Helper()
	es := make([]Entry, n)
	for i := range es {
		es[i] = testEntry(from + i)
	}
	if err := l.Append(context.Background(), es...); err != nil {
		t.Fatal(err)
	}
}

func TestAppendAndEntries(t *testing.T) {
	ctx := context.Background()
	l := openLog(t, "")
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	in := []Entry{
		{Time: t0, Kind: KindKeyCreate, Actor: "cli:alice", Data: Data{"name": "ci", "rpm": 60}},
		{Time: t0.Add(time.Hour), Kind: KindModelAdd, Actor: "cli:alice", Seq: 99, Hash: "ignored"},
	}
	if err := l.Append(ctx, in...); err != nil {
		t.Fatal(err)
	}
	if err := l.Append(ctx, Entry{Kind: KindServeStart, Actor: "sov:serve"}); err != nil {
		t.Fatal(err)
	}
	got, err := l.Entries(ctx, time.Time{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("%d entries, want 3", len(got))
	}
	want := []Entry{
		{Seq: 1, Time: t0, Kind: KindKeyCreate, Actor: "cli:alice", Data: Data{"name": "ci", "rpm": json.Number("60")}, PrevHash: genesisHash},
		{Seq: 2, Time: t0.Add(time.Hour), Kind: KindModelAdd, Actor: "cli:alice", PrevHash: got[0].Hash},
		{Seq: 3, Time: got[2].Time, Kind: KindServeStart, Actor: "sov:serve", PrevHash: got[1].Hash},
	}
	if diff := cmp.Diff(want, got, cmp.FilterPath(func(p cmp.Path) bool { return p.Last().String() == ".Hash" }, cmp.Ignore())); diff != "" {
		t.Errorf("entries (-want +got):\n%s", diff)
	}
	if got[2].Time.Year() != 2025 {
		t.Errorf("zero time became %v, want the log's clock", got[2].Time)
	}
	for _, e := range got {
		if !isHash(e.Hash) {
			t.Errorf("entry %d hash %q", e.Seq, e.Hash)
		}
	}
	seq, hash, err := l.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if seq != 3 || hash != got[2].Hash {
		t.Errorf("Head = %d %s, want 3 %s", seq, hash, got[2].Hash)
	}

	// since and limit
	got, err = l.Entries(ctx, t0.Add(time.Minute), 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Seq != 2 {
		t.Errorf("since t0+1m: %d entries starting at %d, want 2 from 2", len(got), got[0].Seq)
	}
	got, err = l.Entries(ctx, time.Time{}, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Seq != 1 {
		t.Errorf("limit 1: %+v", got)
	}
	got, err = l.Entries(ctx, time.Date(20000, 1, 1, 0, 0, 0, 0, time.UTC), 0)
	if err != nil || len(got) != 0 {
		t.Errorf("since year 20000: %d entries, %v", len(got), err)
	}

	// Invalid entries: nothing of the batch is written.
	err = l.Append(ctx, Entry{Kind: "k", Actor: "a"}, Entry{Kind: "", Actor: "a"})
	if err == nil || !strings.Contains(err.Error(), "kind is empty") {
		t.Errorf("Append with an invalid entry: %v", err)
	}
	if seq, _, _ := l.Head(ctx); seq != 3 {
		t.Errorf("head %d after a refused batch, want 3", seq)
	}
	if err := l.Append(ctx); err != nil {
		t.Errorf("empty Append: %v", err)
	}
}

func TestFilePermissions(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no unix modes")
	}
	home := filepath.Join(t.TempDir(), "home")
	l := openLog(t, home)
	appendN(t, l, 0, 3)
	if _, err := l.Checkpoint(context.Background()); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]os.FileMode{
		"":              0o700 | os.ModeDir,
		DBFile:          0o600,
		DBFile + "-wal": 0o600,
		KeyFile:         0o600,
		PubFile:         0o644,
		DBFile + "-shm": 0o600,
	} {
		fi, err := os.Stat(filepath.Join(home, name))
		if err != nil {
			t.Error(err)
			continue
		}
		if got := fi.Mode() &^ 0o022 & (os.ModeDir | 0o777); got != want&^0o022 {
			t.Errorf("%s mode %v, want %v", name, fi.Mode(), want)
		}
		if name != PubFile && fi.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s is accessible to others: %v", name, fi.Mode())
		}
	}
}

func TestCheckpoint(t *testing.T) {
	ctx := context.Background()
	home := t.TempDir()
	l := openLog(t, home)
	cp, err := l.Checkpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if cp != (Checkpoint{}) {
		t.Errorf("checkpoint of an empty log: %+v", cp)
	}
	if _, err := os.Stat(filepath.Join(home, KeyFile)); err != nil {
		t.Errorf("no key after the first checkpoint: %v", err)
	}
	appendN(t, l, 0, 5)
	cp, err = l.Checkpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_, hash, _ := l.Head(ctx)
	if cp.Seq != 5 || cp.Hash != hash {
		t.Errorf("checkpoint %d %s, want 5 %s", cp.Seq, cp.Hash, hash)
	}
	pub, err := ReadPublicKey(filepath.Join(home, PubFile))
	if err != nil {
		t.Fatal(err)
	}
	if cp.PublicKey != hex.EncodeToString(pub) {
		t.Errorf("checkpoint names key %s, audit.pub holds %x", cp.PublicKey, pub)
	}
	ts, _ := formatTime(cp.Time)
	sig, _ := hex.DecodeString(cp.Signature)
	if !ed25519.Verify(pub, checkpointMessage(cp.Seq, cp.Hash, ts), sig) {
		t.Errorf("checkpoint signature does not verify")
	}
	// Nothing new: the same checkpoint, not a second one.
	again, err := l.Checkpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if again != cp {
		t.Errorf("second checkpoint %+v, want the first %+v", again, cp)
	}
	appendN(t, l, 5, 1)
	if _, err := l.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	cps, err := l.Checkpoints(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(cps) != 2 || cps[0] != cp || cps[1].Seq != 6 {
		t.Errorf("checkpoints %+v", cps)
	}
	// A second Log in the same home uses the same key.
	l2 := openLog(t, home)
	pub2, err := l2.PublicKey()
	if err != nil {
		t.Fatal(err)
	}
	if !pub2.Equal(pub) {
		t.Errorf("second Log has another key")
	}
}

func TestCloseCheckpoints(t *testing.T) {
	ctx := context.Background()
	home := t.TempDir()
	// A Log that only reads writes no key and no checkpoint.
	l, err := Open(ctx, home, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Entries(ctx, time.Time{}, 0); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(home, KeyFile)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("reading created a key: %v", err)
	}
	// One that appended checkpoints at Close.
	l, err = Open(ctx, home, Options{})
	if err != nil {
		t.Fatal(err)
	}
	appendN(t, l, 0, 2)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := l.Append(ctx, testEntry(0)); !errors.Is(err, ErrClosed) {
		t.Errorf("Append after Close: %v", err)
	}
	l = openLog(t, home)
	cps, err := l.Checkpoints(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(cps) != 1 || cps[0].Seq != 2 {
		t.Errorf("checkpoints after Close: %+v", cps)
	}
}

func TestExport(t *testing.T) {
	ctx := context.Background()
	l := openLog(t, "")
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := l.Append(ctx,
		Entry{Time: t0, Kind: KindKeyCreate, Actor: "cli:alice", Data: Data{"name": "ci\n<x>"}},
		Entry{Time: t0.Add(time.Hour), Kind: KindKeyRevoke, Actor: "cli:bob", Data: Data{"id": 7}},
	); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := l.Export(ctx, &buf, time.Time{}); err != nil {
		t.Fatal(err)
	}
	entries, err := l.Entries(ctx, time.Time{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf(`{"actor":"cli:alice","data":{"name":"ci\n<x>"},"hash":"%s","kind":"key.create","prev_hash":"%s","seq":1,"time":"2024-01-01T00:00:00.000000000Z"}
{"actor":"cli:bob","data":{"id":7},"hash":"%s","kind":"key.revoke","prev_hash":"%s","seq":2,"time":"2024-01-01T01:00:00.000000000Z"}
`, entries[0].Hash, genesisHash, entries[1].Hash, entries[0].Hash)
	if diff := cmp.Diff(want, buf.String()); diff != "" {
		t.Errorf("export (-want +got):\n%s", diff)
	}

	// Each line verifies on its own, as the design doc says: drop "hash",
	// re-encode canonically, prefix, SHA-256.
	sc := bufio.NewScanner(&buf)
	for sc.Scan() {
		var m map[string]any
		dec := json.NewDecoder(strings.NewReader(sc.Text()))
		dec.UseNumber()
		if err := dec.Decode(&m); err != nil {
			t.Fatal(err)
		}
		hash := m["hash"].(string)
		delete(m, "hash")
		body, err := appendCanonical([]byte(entryDomain), m, 0)
		if err != nil {
			t.Fatal(err)
		}
		if sum := sha256.Sum256(body); hex.EncodeToString(sum[:]) != hash {
			t.Errorf("exported line %s does not hash to its hash", sc.Text())
		}
	}

	buf.Reset()
	if err := l.Export(ctx, &buf, t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(buf.String(), "\n"); n != 1 || !strings.Contains(buf.String(), `"seq":2`) {
		t.Errorf("export since t0+1m:\n%s", buf.String())
	}

	// Data edited into non-JSON still gives a valid line.
	if _, err := rawDB(t, l).Exec(`UPDATE entries SET data = '{"broken' WHERE seq = 1`); err != nil {
		t.Fatal(err)
	}
	buf.Reset()
	if err := l.Export(ctx, &buf, time.Time{}); err != nil {
		t.Fatal(err)
	}
	first, _, _ := strings.Cut(buf.String(), "\n")
	if !json.Valid([]byte(first)) || !strings.Contains(first, `"data":"{\"broken"`) {
		t.Errorf("export of edited data: %s", first)
	}
	if _, err := l.Entries(ctx, time.Time{}, 0); err == nil || !strings.Contains(err.Error(), "entry 1") {
		t.Errorf("Entries with edited data: %v", err)
	}
}

func TestOpenRefusesOtherDatabases(t *testing.T) {
	ctx := context.Background()
	home := t.TempDir()
	db, err := sql.Open("sqlite", filepath.Join(home, DBFile))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`CREATE TABLE other (x)`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if _, err := Open(ctx, home, Options{}); err == nil || !strings.Contains(err.Error(), "not a sov audit database") {
		t.Errorf("Open of a foreign database: %v", err)
	}

	home = t.TempDir()
	l := openLog(t, home)
	if _, err := rawDB(t, l).Exec(fmt.Sprintf("PRAGMA user_version = %d", len(migrations)+1)); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(ctx, home, Options{}); !errors.Is(err, ErrSchemaTooNew) {
		t.Errorf("Open of a newer schema: %v", err)
	}
}

func TestKeyFiles(t *testing.T) {
	home := t.TempDir()
	seed := bytes.Repeat([]byte{7}, 32)
	want := ed25519.NewKeyFromSeed(seed)
	if err := os.WriteFile(filepath.Join(home, KeyFile), []byte("  "+hex.EncodeToString(seed)+"\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	l := openLog(t, home)
	pub, err := l.PublicKey()
	if err != nil {
		t.Fatal(err)
	}
	if !pub.Equal(want.Public()) {
		t.Errorf("key not read from %s", KeyFile)
	}
	got, err := ReadPublicKey(filepath.Join(home, PubFile))
	if err != nil {
		t.Fatal(err)
	}
	if !got.Equal(pub) {
		t.Errorf("%s does not hold the public key", PubFile)
	}

	for name, content := range map[string]string{
		"short":    "abcd",
		"not hex":  strings.Repeat("zz", 32),
		"too long": strings.Repeat("0", 5000),
		"empty":    "",
	} {
		t.Run(name, func(t *testing.T) {
			home := t.TempDir()
			if err := os.WriteFile(filepath.Join(home, KeyFile), []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
			l := openLog(t, home)
			appendN(t, l, 0, 1)
			_, err := l.Checkpoint(context.Background())
			var ke *KeyError
			if !errors.As(err, &ke) || !strings.Contains(err.Error(), KeyFile) {
				t.Errorf("Checkpoint with a bad key file: %v", err)
			}
		})
	}
	if _, err := ParsePublicKey([]byte(hex.EncodeToString(pub))); err != nil {
		t.Errorf("ParsePublicKey: %v", err)
	}
}

// TestKeyCreationRace has several Logs create the key at once: they must
// all end up signing with the same one.
func TestKeyCreationRace(t *testing.T) {
	home := t.TempDir()
	const n = 8
	keys := make([]ed25519.PublicKey, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		l := openLog(t, home)
		wg.Go(func() { keys[i], errs[i] = l.PublicKey() })
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if !keys[i].Equal(keys[0]) {
			t.Errorf("Log %d has key %x, Log 0 %x", i, keys[i], keys[0])
		}
	}
	left, _ := filepath.Glob(filepath.Join(home, ".*.tmp"))
	if len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}
}
