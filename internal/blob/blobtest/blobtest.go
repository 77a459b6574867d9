// Package blobtest is the conformance suite that every blob.Store
// implementation runs from its own tests.
//
// It checks the behaviour the blob package documents (content addressing,
// dedupe, atomic commit, digest validation, not-found errors, concurrency)
// through the interface alone. It must not know about any implementation's
// internals; checks that need them (file permissions, temp files) belong in
// the implementation's own tests.
package blobtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"sov.dev/sov/internal/blob"
	"sov.dev/sov/internal/digest"
)

// Run runs the suite. newStore must return a new, empty store for each call
// and arrange (with t.Cleanup) for anything it holds to be released.
func Run(t *testing.T, newStore func(t *testing.T) blob.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s blob.Store)
	}{
		{"PutStatOpen", testPutStatOpen},
		{"ReadAtSeek", testReadAtSeek},
		{"Dedupe", testDedupe},
		{"DigestMismatch", testDigestMismatch},
		{"InvalidWant", testInvalidWant},
		{"Cancel", testCancel},
		{"FinishedWriter", testFinishedWriter},
		{"CommitCancelledContext", testCommitCancelledContext},
		{"WriterSizeDigest", testWriterSizeDigest},
		{"Large", testLarge},
		{"Delete", testDelete},
		{"Missing", testMissing},
		{"InvalidDigest", testInvalidDigest},
		{"Walk", testWalk},
		{"WalkStops", testWalkStops},
		{"Empty", testEmpty},
		{"ConcurrentSame", testConcurrentSame},
		{"ConcurrentDifferent", testConcurrentDifferent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.fn(t, newStore(t))
		})
	}
}

// Put writes content as one blob and commits it, failing the test on error.
func Put(t testing.TB, s blob.Store, content []byte) blob.Committed {
	t.Helper()
	ctx := context.Background()
	w, err := s.Create(ctx)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	if _, err := w.Write(content); err != nil {
		t.Fatalf("Write: %v", err)
	}
	c, err := w.Commit(ctx, digest.FromBytes(content))
	if err != nil {
		t.Fatalf("Commit: %v", err)
	}
	return c
}

// readAll opens d and returns its whole content.
func readAll(t *testing.T, s blob.Store, d digest.Digest) []byte {
	t.Helper()
	r, err := s.Open(context.Background(), d)
	if err != nil {
		t.Fatalf("Open(%s): %v", d.Short(), err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("reading %s: %v", d.Short(), err)
	}
	return b
}

// walk returns every blob Walk reports, as digest → size.
func walk(t *testing.T, s blob.Store) map[digest.Digest]int64 {
	t.Helper()
	got := make(map[digest.Digest]int64)
	err := s.Walk(context.Background(), func(info blob.Info) error {
		if _, dup := got[info.Digest]; dup {
			t.Errorf("Walk reported %s twice", info.Digest)
		}
		got[info.Digest] = info.Size
		return nil
	})
	if err != nil {
		t.Fatalf("Walk: %v", err)
	}
	return got
}

// wantNotStored checks that d is not in s.
func wantNotStored(t *testing.T, s blob.Store, d digest.Digest) {
	t.Helper()
	if _, err := s.Stat(context.Background(), d); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("Stat(%s) error = %v, want ErrNotFound", d.Short(), err)
	}
}

// pseudoRandom returns n deterministic bytes that differ for each seed.
func pseudoRandom(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x5eed))
	b := make([]byte, n)
	for i := 0; i < n; i += 8 {
		v := r.Uint64()
		for j := 0; j < 8 && i+j < n; j++ {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	return b
}

func testPutStatOpen(t *testing.T, s blob.Store) {
	ctx := context.Background()
	content := []byte("the quick brown fox jumps over the lazy dog")
	d := digest.FromBytes(content)

	w, err := s.Create(ctx)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	// Several writes, to check they are concatenated.
	for _, part := range [][]byte{content[:4], content[4:4], content[4:20], content[20:]} {
		n, err := w.Write(part)
		if err != nil {
			t.Fatalf("Write: %v", err)
		}
		if n != len(part) {
			t.Fatalf("Write returned %d, want %d", n, len(part))
		}
	}
	got, err := w.Commit(ctx, d)
	if err != nil {
		t.Fatalf("Commit: %v", err)
	}
	want := blob.Committed{Info: blob.Info{Digest: d, Size: int64(len(content))}, Created: true}
	if got != want {
		t.Errorf("Commit = %+v, want %+v", got, want)
	}

	info, err := s.Stat(ctx, d)
	if err != nil {
		t.Fatalf("Stat: %v", err)
	}
	if info != want.Info {
		t.Errorf("Stat = %+v, want %+v", info, want.Info)
	}
	if b := readAll(t, s, d); !bytes.Equal(b, content) {
		t.Errorf("read back %q, want %q", b, content)
	}
}

func testReadAtSeek(t *testing.T, s blob.Store) {
	ctx := context.Background()
	content := pseudoRandom(1, 1000)
	d := Put(t, s, content).Digest
	r, err := s.Open(ctx, d)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer r.Close()

	readAtTests := []struct {
		off     int64
		size    int
		wantN   int
		wantEOF bool
	}{
		{off: 0, size: 10, wantN: 10},
		{off: 500, size: 100, wantN: 100},
		{off: 990, size: 10, wantN: 10},
		{off: 995, size: 10, wantN: 5, wantEOF: true},
		{off: 1000, size: 1, wantN: 0, wantEOF: true},
	}
	for _, tt := range readAtTests {
		p := make([]byte, tt.size)
		n, err := r.ReadAt(p, tt.off)
		if n != tt.wantN {
			t.Errorf("ReadAt(%d bytes at %d) n = %d, want %d", tt.size, tt.off, n, tt.wantN)
		}
		if tt.wantEOF && err != io.EOF {
			t.Errorf("ReadAt(%d bytes at %d) error = %v, want io.EOF", tt.size, tt.off, err)
		}
		if !tt.wantEOF && err != nil {
			t.Errorf("ReadAt(%d bytes at %d) error = %v", tt.size, tt.off, err)
		}
		if n > 0 && !bytes.Equal(p[:n], content[tt.off:tt.off+int64(n)]) {
			t.Errorf("ReadAt(%d bytes at %d) returned the wrong bytes", tt.size, tt.off)
		}
	}

	seekTests := []struct {
		offset int64
		whence int
		want   int64
	}{
		{offset: -10, whence: io.SeekEnd, want: 990},
		{offset: 5, whence: io.SeekStart, want: 5},
		{offset: 3, whence: io.SeekCurrent, want: 8},
		{offset: 0, whence: io.SeekCurrent, want: 8},
	}
	for _, tt := range seekTests {
		pos, err := r.Seek(tt.offset, tt.whence)
		if err != nil {
			t.Fatalf("Seek(%d, %d): %v", tt.offset, tt.whence, err)
		}
		if pos != tt.want {
			t.Errorf("Seek(%d, %d) = %d, want %d", tt.offset, tt.whence, pos, tt.want)
		}
	}
	p := make([]byte, 16)
	if _, err := io.ReadFull(r, p); err != nil {
		t.Fatalf("Read after Seek: %v", err)
	}
	if !bytes.Equal(p, content[8:24]) {
		t.Errorf("Read after Seek to 8 returned the wrong bytes")
	}
	if _, err := r.Seek(-1, io.SeekStart); err == nil {
		t.Errorf("Seek to -1 succeeded, want an error")
	}
	if _, err := r.Seek(0, io.SeekEnd); err != nil {
		t.Fatalf("Seek to end: %v", err)
	}
	if n, err := r.Read(p); n != 0 || err != io.EOF {
		t.Errorf("Read at end = %d, %v; want 0, io.EOF", n, err)
	}
}

func testDedupe(t *testing.T, s blob.Store) {
	content := []byte("same bytes twice")
	first := Put(t, s, content)
	second := Put(t, s, content)
	if !first.Created {
		t.Errorf("first Commit Created = false, want true")
	}
	if second.Created {
		t.Errorf("second Commit Created = true, want false")
	}
	if second.Info != first.Info {
		t.Errorf("second Commit Info = %+v, want %+v", second.Info, first.Info)
	}
	if b := readAll(t, s, first.Digest); !bytes.Equal(b, content) {
		t.Errorf("after dedupe read back %q, want %q", b, content)
	}
	if diff := cmp.Diff(map[digest.Digest]int64{first.Digest: first.Size}, walk(t, s)); diff != "" {
		t.Errorf("Walk after dedupe (-want +got):\n%s", diff)
	}
}

func testDigestMismatch(t *testing.T, s blob.Store) {
	ctx := context.Background()
	content := []byte("actual content")
	want := digest.FromBytes([]byte("claimed content"))
	w, err := s.Create(ctx)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	if _, err := w.Write(content); err != nil {
		t.Fatalf("Write: %v", err)
	}
	if _, err := w.Commit(ctx, want); !errors.Is(err, blob.ErrDigestMismatch) {
		t.Fatalf("Commit with wrong digest error = %v, want ErrDigestMismatch", err)
	}
	wantNotStored(t, s, digest.FromBytes(content))
	wantNotStored(t, s, want)
	if got := walk(t, s); len(got) != 0 {
		t.Errorf("Walk after mismatch = %v, want nothing", got)
	}
	if err := w.Cancel(ctx); err != nil {
		t.Errorf("Cancel after failed Commit: %v", err)
	}
}

func testInvalidWant(t *testing.T, s blob.Store) {
	ctx := context.Background()
	w, err := s.Create(ctx)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	content := []byte("x")
	if _, err := w.Write(content); err != nil {
		t.Fatalf("Write: %v", err)
	}
	bad := digest.Digest("sha256:" + string(bytes.ToUpper([]byte(digest.FromBytes(content).Hex()))))
	if _, err := w.Commit(ctx, bad); !errors.Is(err, digest.ErrInvalid) {
		t.Fatalf("Commit(%q) error = %v, want digest.ErrInvalid", bad, err)
	}
	if got := walk(t, s); len(got) != 0 {
		t.Errorf("Walk after invalid Commit = %v, want nothing", got)
	}
}

func testCancel(t *testing.T, s blob.Store) {
	ctx := context.Background()
	content := []byte("never committed")
	w, err := s.Create(ctx)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	if _, err := w.Write(content); err != nil {
		t.Fatalf("Write: %v", err)
	}
	if err := w.Cancel(ctx); err != nil {
		t.Fatalf("Cancel: %v", err)
	}
	if err := w.Cancel(ctx); err != nil {
		t.Errorf("second Cancel: %v", err)
	}
	if _, err := w.Write([]byte("more")); err == nil {
		t.Errorf("Write after Cancel succeeded, want an error")
	}
	if _, err := w.Commit(ctx, ""); err == nil {
		t.Errorf("Commit after Cancel succeeded, want an error")
	}
	wantNotStored(t, s, digest.FromBytes(content))
	if got := walk(t, s); len(got) != 0 {
		t.Errorf("Walk after Cancel = %v, want nothing", got)
	}
}

func testFinishedWriter(t *testing.T, s blob.Store) {
	ctx := context.Background()
	content := []byte("committed once")
	w, err := s.Create(ctx)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	if _, err := w.Write(content); err != nil {
		t.Fatalf("Write: %v", err)
	}
	c, err := w.Commit(ctx, "")
	if err != nil {
		t.Fatalf("Commit without want: %v", err)
	}
	if c.Digest != digest.FromBytes(content) {
		t.Errorf("Commit digest = %s, want %s", c.Digest, digest.FromBytes(content))
	}
	if _, err := w.Write([]byte("more")); err == nil {
		t.Errorf("Write after Commit succeeded, want an error")
	}
	if _, err := w.Commit(ctx, ""); err == nil {
		t.Errorf("second Commit succeeded, want an error")
	}
	if err := w.Cancel(ctx); err != nil {
		t.Errorf("Cancel after Commit: %v", err)
	}
	if b := readAll(t, s, c.Digest); !bytes.Equal(b, content) {
		t.Errorf("after Cancel following Commit read back %q, want %q", b, content)
	}
}

func testCommitCancelledContext(t *testing.T, s blob.Store) {
	w, err := s.Create(context.Background())
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	content := []byte("interrupted")
	if _, err := w.Write(content); err != nil {
		t.Fatalf("Write: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := w.Commit(ctx, ""); !errors.Is(err, context.Canceled) {
		t.Errorf("Commit with cancelled context error = %v, want context.Canceled", err)
	}
	wantNotStored(t, s, digest.FromBytes(content))
	if got := walk(t, s); len(got) != 0 {
		t.Errorf("Walk after cancelled Commit = %v, want nothing", got)
	}
}

func testWriterSizeDigest(t *testing.T, s blob.Store) {
	ctx := context.Background()
	w, err := s.Create(ctx)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	defer w.Cancel(ctx)
	var written []byte
	check := func() {
		t.Helper()
		if got, want := w.Size(), int64(len(written)); got != want {
			t.Errorf("Size = %d, want %d", got, want)
		}
		if got, want := w.Digest(), digest.FromBytes(written); got != want {
			t.Errorf("Digest after %d bytes = %s, want %s", len(written), got, want)
		}
	}
	check()
	for _, part := range []string{"a", "", "bcdef", "ghijklmnopqrstuvwxyz"} {
		if _, err := w.Write([]byte(part)); err != nil {
			t.Fatalf("Write: %v", err)
		}
		written = append(written, part...)
		check()
	}
}

// onlyReader hides any WriterTo method of the wrapped reader, so io.Copy
// goes through the destination's ReaderFrom if it has one.
type onlyReader struct{ io.Reader }

func testLarge(t *testing.T, s blob.Store) {
	// Bigger than any sensible write buffer, and not a multiple of one.
	content := pseudoRandom(2, 5<<20+13)
	d := digest.FromBytes(content)
	ctx := context.Background()

	writes := []struct {
		name  string
		write func(w blob.Writer) error
	}{
		{"io.Copy", func(w blob.Writer) error {
			_, err := io.Copy(w, onlyReader{bytes.NewReader(content)})
			return err
		}},
		{"odd chunks", func(w blob.Writer) error {
			sizes := []int{1, 7, 4096, 1<<20 + 3, 100, 3 << 20, 65536}
			rest := content
			for i := 0; len(rest) > 0; i++ {
				n := min(sizes[i%len(sizes)], len(rest))
				if _, err := w.Write(rest[:n]); err != nil {
					return err
				}
				rest = rest[n:]
			}
			return nil
		}},
	}
	for i, tt := range writes {
		w, err := s.Create(ctx)
		if err != nil {
			t.Fatalf("Create: %v", err)
		}
		if err := tt.write(w); err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if w.Size() != int64(len(content)) {
			t.Errorf("%s: Size = %d, want %d", tt.name, w.Size(), len(content))
		}
		c, err := w.Commit(ctx, d)
		if err != nil {
			t.Fatalf("%s: Commit: %v", tt.name, err)
		}
		if wantCreated := i == 0; c.Created != wantCreated {
			t.Errorf("%s: Created = %v, want %v", tt.name, c.Created, wantCreated)
		}
		if !bytes.Equal(readAll(t, s, d), content) {
			t.Errorf("%s: read back different content", tt.name)
		}
	}
}

func testDelete(t *testing.T, s blob.Store) {
	ctx := context.Background()
	content := []byte("to be deleted")
	keep := Put(t, s, []byte("to be kept"))
	d := Put(t, s, content).Digest
	if err := s.Delete(ctx, d); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	wantNotStored(t, s, d)
	if _, err := s.Open(ctx, d); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("Open after Delete error = %v, want ErrNotFound", err)
	}
	if err := s.Delete(ctx, d); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("second Delete error = %v, want ErrNotFound", err)
	}
	if diff := cmp.Diff(map[digest.Digest]int64{keep.Digest: keep.Size}, walk(t, s)); diff != "" {
		t.Errorf("Walk after Delete (-want +got):\n%s", diff)
	}
	if c := Put(t, s, content); !c.Created {
		t.Errorf("Commit after Delete Created = false, want true")
	}
}

func testMissing(t *testing.T, s blob.Store) {
	ctx := context.Background()
	d := digest.FromBytes([]byte("never stored"))
	if _, err := s.Stat(ctx, d); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("Stat error = %v, want ErrNotFound", err)
	}
	if _, err := s.Open(ctx, d); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("Open error = %v, want ErrNotFound", err)
	}
	if err := s.Delete(ctx, d); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("Delete error = %v, want ErrNotFound", err)
	}
}

// InvalidDigests are malformed digests every Store must refuse. Several
// would escape the store's directory if they became a path unchecked.
var InvalidDigests = []digest.Digest{
	"",
	"sha256:",
	"sha256:../../x",
	"sha256:../../../../../../etc/passwd",
	"sha256:" + "ab/../../" + "0123456789abcdef0123456789abcdef0123456789abcdef0123456",
	"sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855",
	"sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85",
	"sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b8555",
	"sha512:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
	"sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85\x00",
}

func testInvalidDigest(t *testing.T, s blob.Store) {
	ctx := context.Background()
	Put(t, s, nil) // so that a lenient store has something to find
	for _, d := range InvalidDigests {
		t.Run(fmt.Sprintf("%q", d), func(t *testing.T) {
			if _, err := s.Stat(ctx, d); !errors.Is(err, digest.ErrInvalid) {
				t.Errorf("Stat error = %v, want digest.ErrInvalid", err)
			}
			if r, err := s.Open(ctx, d); !errors.Is(err, digest.ErrInvalid) {
				t.Errorf("Open error = %v, want digest.ErrInvalid", err)
				if r != nil {
					r.Close()
				}
			}
			if err := s.Delete(ctx, d); !errors.Is(err, digest.ErrInvalid) {
				t.Errorf("Delete error = %v, want digest.ErrInvalid", err)
			}
		})
	}
	if got := walk(t, s); len(got) != 1 {
		t.Errorf("Walk after invalid Deletes = %v, want the one blob", got)
	}
}

func testWalk(t *testing.T, s blob.Store) {
	if got := walk(t, s); len(got) != 0 {
		t.Errorf("Walk of a new store = %v, want nothing", got)
	}
	want := make(map[digest.Digest]int64)
	for i, size := range []int{0, 1, 100, 4096, 70000} {
		c := Put(t, s, pseudoRandom(uint64(100+i), size))
		want[c.Digest] = int64(size)
	}
	// An abandoned writer must not show up.
	w, err := s.Create(context.Background())
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	defer w.Cancel(context.Background())
	if _, err := w.Write([]byte("in flight")); err != nil {
		t.Fatalf("Write: %v", err)
	}
	if diff := cmp.Diff(want, walk(t, s)); diff != "" {
		t.Errorf("Walk (-want +got):\n%s", diff)
	}
}

func testWalkStops(t *testing.T, s blob.Store) {
	for i := range 3 {
		Put(t, s, []byte{byte(i)})
	}
	stop := errors.New("stop here")
	calls := 0
	err := s.Walk(context.Background(), func(blob.Info) error {
		calls++
		return stop
	})
	if !errors.Is(err, stop) {
		t.Errorf("Walk error = %v, want the callback's error", err)
	}
	if calls != 1 {
		t.Errorf("Walk called fn %d times after it failed, want 1", calls)
	}
}

func testEmpty(t *testing.T, s blob.Store) {
	ctx := context.Background()
	w, err := s.Create(ctx)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	want := digest.Digest("sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
	c, err := w.Commit(ctx, want)
	if err != nil {
		t.Fatalf("Commit of empty blob: %v", err)
	}
	if c.Digest != want || c.Size != 0 || !c.Created {
		t.Errorf("Commit = %+v, want %s, size 0, created", c, want)
	}
	info, err := s.Stat(ctx, want)
	if err != nil {
		t.Fatalf("Stat: %v", err)
	}
	if info.Size != 0 {
		t.Errorf("Stat size = %d, want 0", info.Size)
	}
	if b := readAll(t, s, want); len(b) != 0 {
		t.Errorf("empty blob read back %q", b)
	}
}

func testConcurrentSame(t *testing.T, s blob.Store) {
	const writers = 8
	content := pseudoRandom(3, 256<<10)
	d := digest.FromBytes(content)
	results := make([]blob.Committed, writers)
	errs := make([]error, writers)
	var wg sync.WaitGroup
	for i := range writers {
		wg.Go(func() {
			results[i], errs[i] = putChunked(s, content, d, 1000+i*17)
		})
	}
	wg.Wait()
	created := 0
	for i := range writers {
		if errs[i] != nil {
			t.Errorf("writer %d: %v", i, errs[i])
			continue
		}
		if results[i].Digest != d || results[i].Size != int64(len(content)) {
			t.Errorf("writer %d committed %+v, want %s size %d", i, results[i].Info, d, len(content))
		}
		if results[i].Created {
			created++
		}
	}
	if created != 1 {
		t.Errorf("%d writers report Created, want exactly 1", created)
	}
	if !bytes.Equal(readAll(t, s, d), content) {
		t.Errorf("content differs after concurrent writes")
	}
	if diff := cmp.Diff(map[digest.Digest]int64{d: int64(len(content))}, walk(t, s)); diff != "" {
		t.Errorf("Walk (-want +got):\n%s", diff)
	}
}

func testConcurrentDifferent(t *testing.T, s blob.Store) {
	const writers = 16
	contents := make([][]byte, writers)
	want := make(map[digest.Digest]int64)
	for i := range contents {
		contents[i] = pseudoRandom(uint64(200+i), 10000+i*1000)
		want[digest.FromBytes(contents[i])] = int64(len(contents[i]))
	}
	errs := make([]error, writers)
	var wg sync.WaitGroup
	for i := range writers {
		wg.Go(func() {
			c, err := putChunked(s, contents[i], digest.FromBytes(contents[i]), 999)
			if err == nil && !c.Created {
				err = fmt.Errorf("Created = false for new content")
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("writer %d: %v", i, err)
		}
	}
	if diff := cmp.Diff(want, walk(t, s)); diff != "" {
		t.Errorf("Walk (-want +got):\n%s", diff)
	}
	for i, c := range contents {
		if !bytes.Equal(readAll(t, s, digest.FromBytes(c)), c) {
			t.Errorf("blob %d read back different content", i)
		}
	}
}

// putChunked writes content in chunk-sized writes and commits it. It does
// not use testing.T, so goroutines may call it.
func putChunked(s blob.Store, content []byte, want digest.Digest, chunk int) (blob.Committed, error) {
	ctx := context.Background()
	w, err := s.Create(ctx)
	if err != nil {
		return blob.Committed{}, err
	}
	for rest := content; len(rest) > 0; {
		n := min(chunk, len(rest))
		if _, err := w.Write(rest[:n]); err != nil {
			w.Cancel(ctx)
			return blob.Committed{}, err
		}
		rest = rest[n:]
	}
	return w.Commit(ctx, want)
}
