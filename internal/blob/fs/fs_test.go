package fs

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"sov.dev/sov/internal/blob"
	"sov.dev/sov/internal/blob/blobtest"
	"sov.dev/sov/internal/digest"
)

func TestConformance(t *testing.T) {
	blobtest.Run(t, func(t *testing.T) blob.Store { return newStore(t) })
}

func newStore(t testing.TB) *Store {
	t.Helper()
	s, err := New(filepath.Join(t.TempDir(), "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// tempNames lists the files in the store's temp directory.
func tempNames(t *testing.T, s *Store) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(s.root, tmpDir))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func TestLayoutAndPermissions(t *testing.T) {
	s := newStore(t)
	content := []byte("layout")
	c := blobtest.Put(t, s, content)
	h := c.Digest.Hex()
	want := filepath.Join(s.Root(), "sha256", h[:2], h)

	p, err := s.Path(c.Digest)
	if err != nil {
		t.Fatalf("Path: %v", err)
	}
	if p != want {
		t.Errorf("Path = %s, want %s", p, want)
	}
	b, err := os.ReadFile(want)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, content) {
		t.Errorf("file holds %q, want %q", b, content)
	}
	if names := tempNames(t, s); len(names) != 0 {
		t.Errorf("temp files after Commit: %v", names)
	}

	r, err := s.Open(context.Background(), c.Digest)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := r.(*os.File); !ok {
		t.Errorf("Open returned %T, want *os.File", r)
	}
	r.Close()

	if runtime.GOOS == "windows" {
		return // no Unix permission bits
	}
	perms := []struct {
		path string
		want os.FileMode
	}{
		{want, 0o444},
		{s.Root(), 0o700},
		{filepath.Join(s.Root(), "sha256"), 0o700},
		{filepath.Join(s.Root(), "sha256", h[:2]), 0o700},
		{filepath.Join(s.Root(), "tmp"), 0o700},
	}
	for _, tt := range perms {
		fi, err := os.Stat(tt.path)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != tt.want {
			t.Errorf("%s mode = %v, want %v", tt.path, got, tt.want)
		}
	}
}

func TestPathErrors(t *testing.T) {
	s := newStore(t)
	if _, err := s.Path(digest.FromBytes([]byte("absent"))); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("Path of a missing blob error = %v, want ErrNotFound", err)
	}
	for _, d := range blobtest.InvalidDigests {
		if _, err := s.Path(d); !errors.Is(err, digest.ErrInvalid) {
			t.Errorf("Path(%q) error = %v, want digest.ErrInvalid", d, err)
		}
	}
}

func TestNewOnFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := New(file); err == nil {
		t.Errorf("New on a regular file succeeded")
	}
	if _, err := New(""); err == nil {
		t.Errorf("New with an empty root succeeded")
	}
}

func TestWalkIgnoresStrays(t *testing.T) {
	s := newStore(t)
	c := blobtest.Put(t, s, []byte("real"))
	other := digest.FromBytes([]byte("other")).Hex()
	top := filepath.Join(s.Root(), "sha256")
	strays := []string{
		filepath.Join(top, "README"),
		filepath.Join(top, "zz", other),                 // not a hex shard
		filepath.Join(top, "AB", other),                 // upper-case shard
		filepath.Join(top, c.Digest.Hex()[:2], "notes"), // not a digest
		filepath.Join(top, c.Digest.Hex()[:2], c.Digest.Hex()+".partial"),
		filepath.Join(top, flipShard(other), other), // digest in the wrong shard
		filepath.Join(s.Root(), "tmp", other),
		filepath.Join(s.Root(), other),
	}
	for _, p := range strays {
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("stray"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// A directory named like a blob is not a blob either.
	if err := os.MkdirAll(filepath.Join(top, other[:2], other), 0o700); err != nil {
		t.Fatal(err)
	}

	var got []blob.Info
	if err := s.Walk(context.Background(), func(info blob.Info) error {
		got = append(got, info)
		return nil
	}); err != nil {
		t.Fatalf("Walk: %v", err)
	}
	if diff := cmp.Diff([]blob.Info{c.Info}, got); diff != "" {
		t.Errorf("Walk (-want +got):\n%s", diff)
	}
}

// flipShard returns a shard name that is not h's.
func flipShard(h string) string {
	if h[:2] == "00" {
		return "01"
	}
	return "00"
}

func TestTempFilesRemoved(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	existing := blobtest.Put(t, s, []byte("exists"))

	tests := []struct {
		name    string
		content string
		finish  func(w blob.Writer) error
		wantErr error
	}{
		{"cancel", "cancelled", func(w blob.Writer) error { return w.Cancel(ctx) }, nil},
		{"mismatch", "mismatched", func(w blob.Writer) error {
			_, err := w.Commit(ctx, existing.Digest)
			return err
		}, blob.ErrDigestMismatch},
		{"dedupe", "exists", func(w blob.Writer) error {
			c, err := w.Commit(ctx, existing.Digest)
			if err == nil && c.Created {
				t.Errorf("Created = true for an existing blob")
			}
			return err
		}, nil},
		{"created", "new", func(w blob.Writer) error {
			_, err := w.Commit(ctx, "")
			return err
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, err := s.Create(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := io.WriteString(w, tt.content); err != nil {
				t.Fatal(err)
			}
			if names := tempNames(t, s); len(names) != 1 {
				t.Errorf("temp files while writing = %v, want one", names)
			}
			if err := tt.finish(w); !errors.Is(err, tt.wantErr) {
				t.Errorf("error = %v, want %v", err, tt.wantErr)
			}
			if names := tempNames(t, s); len(names) != 0 {
				t.Errorf("temp files left: %v", names)
			}
		})
	}
}

func TestCleanTemp(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	dir := filepath.Join(s.Root(), "tmp")
	old := filepath.Join(dir, "blob-killed")
	if err := os.WriteFile(old, []byte("left by a killed process"), 0o600); err != nil {
		t.Fatal(err)
	}
	past := time.Now().Add(-2 * time.Hour)
	if err := os.Chtimes(old, past, past); err != nil {
		t.Fatal(err)
	}

	// A write in progress must survive.
	w, err := s.Create(ctx)
	if err != nil {
		t.Fatal(err)
	}
	content := bytes.Repeat([]byte("in progress "), bufSize/8) // bigger than the buffer
	if _, err := w.Write(content); err != nil {
		t.Fatal(err)
	}
	live := tempNames(t, s)

	if err := s.CleanTemp(time.Hour); err != nil {
		t.Fatalf("CleanTemp: %v", err)
	}
	got := tempNames(t, s)
	sort.Strings(live)
	var want []string
	for _, n := range live {
		if n != filepath.Base(old) {
			want = append(want, n)
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("temp files after CleanTemp (-want +got):\n%s", diff)
	}
	if len(got) != 1 {
		t.Errorf("want exactly the live temp file to remain, got %v", got)
	}

	c, err := w.Commit(ctx, digest.FromBytes(content))
	if err != nil {
		t.Fatalf("Commit after CleanTemp: %v", err)
	}
	if !c.Created {
		t.Errorf("Created = false")
	}

	// With no age limit everything in tmp goes.
	if err := os.WriteFile(filepath.Join(dir, "blob-fresh"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := s.CleanTemp(0); err != nil {
		t.Fatalf("CleanTemp(0): %v", err)
	}
	if names := tempNames(t, s); len(names) != 0 {
		t.Errorf("temp files after CleanTemp(0): %v", names)
	}
}

var errDiskFull = syscall.ENOSPC

// failingFile is a temp file on a disk that fills up after limit bytes, or
// whose Sync fails.
type failingFile struct {
	*os.File
	limit    int
	failSync bool
	written  int
}

func (f *failingFile) Write(p []byte) (int, error) {
	if f.written+len(p) > f.limit {
		n := f.limit - f.written
		n, _ = f.File.Write(p[:n])
		f.written += n
		return n, &os.PathError{Op: "write", Path: f.Name(), Err: errDiskFull}
	}
	n, err := f.File.Write(p)
	f.written += n
	return n, err
}

func (f *failingFile) Sync() error {
	if f.failSync {
		return &os.PathError{Op: "sync", Path: f.Name(), Err: syscall.EIO}
	}
	return f.File.Sync()
}

func TestFailingDisk(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name string
		file failingFile
		// writes are the sizes of successive writes.
		writes []int
		// failWrite is the index of the write that must fail, or -1 when
		// the failure must come from Commit.
		failWrite int
		wantErr   error
	}{
		{"big write", failingFile{limit: 1000}, []int{2 * bufSize}, 0, errDiskFull},
		{"flush during writes", failingFile{limit: bufSize / 2}, []int{bufSize - 10, 100, 100}, 1, errDiskFull},
		{"flush at commit", failingFile{limit: 10}, []int{100, 100}, -1, errDiskFull},
		{"sync at commit", failingFile{limit: 1 << 30, failSync: true}, []int{100}, -1, syscall.EIO},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t)
			s.createTemp = func(dir, pattern string) (tempFile, error) {
				f, err := os.CreateTemp(dir, pattern)
				if err != nil {
					return nil, err
				}
				ff := tt.file
				ff.File = f
				return &ff, nil
			}
			w, err := s.Create(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var all []byte
			for i, n := range tt.writes {
				p := bytes.Repeat([]byte{byte(i)}, n)
				all = append(all, p...)
				_, err := w.Write(p)
				if i == tt.failWrite {
					if !errors.Is(err, tt.wantErr) {
						t.Fatalf("write %d error = %v, want %v", i, err, tt.wantErr)
					}
					// The writer stays broken.
					if _, err := w.Write([]byte("x")); !errors.Is(err, tt.wantErr) {
						t.Errorf("write after failure error = %v, want %v", err, tt.wantErr)
					}
					break
				}
				if err != nil {
					t.Fatalf("write %d: %v", i, err)
				}
			}
			_, err = w.Commit(ctx, "")
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("Commit error = %v, want %v", err, tt.wantErr)
			}
			if err := w.Cancel(ctx); err != nil {
				t.Errorf("Cancel: %v", err)
			}
			if names := tempNames(t, s); len(names) != 0 {
				t.Errorf("temp files left: %v", names)
			}
			if _, err := s.Stat(ctx, digest.FromBytes(all)); !errors.Is(err, blob.ErrNotFound) {
				t.Errorf("Stat after failed write error = %v, want ErrNotFound", err)
			}
		})
	}
}

func TestCreateFails(t *testing.T) {
	s := newStore(t)
	s.createTemp = func(dir, pattern string) (tempFile, error) {
		return nil, &os.PathError{Op: "open", Path: dir, Err: syscall.EMFILE}
	}
	if _, err := s.Create(context.Background()); !errors.Is(err, syscall.EMFILE) {
		t.Errorf("Create error = %v, want EMFILE", err)
	}
}

// TestTwoStoresOneRoot is two processes writing the same blob at once.
func TestTwoStoresOneRoot(t *testing.T) {
	root := t.TempDir()
	var stores [2]*Store
	for i := range stores {
		s, err := New(root)
		if err != nil {
			t.Fatal(err)
		}
		stores[i] = s
	}
	content := bytes.Repeat([]byte("shared "), 100000)
	const rounds = 20
	for round := range rounds {
		data := append([]byte{byte(round)}, content...)
		var created [2]bool
		var errs [2]error
		var wg sync.WaitGroup
		for i, s := range stores {
			wg.Go(func() {
				ctx := context.Background()
				w, err := s.Create(ctx)
				if err != nil {
					errs[i] = err
					return
				}
				if _, err := w.Write(data); err != nil {
					errs[i] = err
					return
				}
				c, err := w.Commit(ctx, "")
				errs[i], created[i] = err, c.Created
			})
		}
		wg.Wait()
		if err := errors.Join(errs[:]...); err != nil {
			t.Fatal(err)
		}
		if created[0] == created[1] {
			t.Errorf("round %d: Created = %v, want exactly one true", round, created)
		}
	}
}

func BenchmarkWriter(b *testing.B) {
	const size = 256 << 20
	s := newStore(b)
	ctx := context.Background()
	chunk := make([]byte, 1<<20)
	for i := range chunk {
		chunk[i] = byte(i * 7)
	}
	b.SetBytes(size)
	for i := 0; b.Loop(); i++ {
		w, err := s.Create(ctx)
		if err != nil {
			b.Fatal(err)
		}
		// A different first chunk each time, so no commit is a dedupe.
		chunk[0], chunk[1], chunk[2], chunk[3] = byte(i), byte(i>>8), byte(i>>16), byte(i>>24)
		for range size / len(chunk) {
			if _, err := w.Write(chunk); err != nil {
				b.Fatal(err)
			}
			chunk[0]++ // vary chunks cheaply; hashing covers all of them anyway
		}
		c, err := w.Commit(ctx, "")
		if err != nil {
			b.Fatal(err)
		}
		if !c.Created {
			b.Fatal("benchmark blob already existed")
		}
		b.StopTimer()
		if err := s.Delete(ctx, c.Digest); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
}
