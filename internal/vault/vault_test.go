package vault

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"sov.dev/sov/internal/blob"
	blobmem "sov.dev/sov/internal/blob/memory"
	"sov.dev/sov/internal/digest"
	storemem "sov.dev/sov/internal/store/memory"
	"sov.dev/sov/internal/synth"
)

func newTestVault(t *testing.T) (*Vault, *blobmem.Store, *storemem.Store) {
	t.Helper()
	blobs, meta := blobmem.New(), storemem.New()
	return New(blobs, meta, nil, Options{}), blobs, meta
}

func ggufFile(t *testing.T, dir, name string, seed uint64) string {
	t.Helper()
	var buf bytes.Buffer
	if err := synth.WriteGGUF(&buf, synth.TinyLlamaGGUF(seed)); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func countBlobs(t *testing.T, s blob.Store) int {
	t.Helper()
	n := 0
	if err := s.Walk(context.Background(), func(blob.Info) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestFailedImportRollsBackItsBlobs(t *testing.T) {
	ctx := context.Background()
	v, blobs, meta := newTestVault(t)
	// A model already in the vault shares a file with the failing import:
	// that shared blob must survive the roll-back.
	shared := t.TempDir()
	ggufFile(t, shared, "a.gguf", 1)
	if _, err := v.Import(ctx, shared, ImportOptions{Name: "keep"}); err != nil {
		t.Fatal(err)
	}
	before := countBlobs(t, blobs)

	dir := t.TempDir()
	ggufFile(t, dir, "a.gguf", 1)                                                     // shared with "keep"
	ggufFile(t, dir, "b.gguf", 2)                                                     // new, stored before the failure
	os.WriteFile(filepath.Join(dir, "c.gguf"), []byte("GGUF\x03\x00\x00\x00"), 0o644) // truncated
	_, err := v.Import(ctx, dir, ImportOptions{Name: "bad"})
	var fe *FileError
	if !errors.As(err, &fe) || fe.Path != "c.gguf" {
		t.Fatalf("import error = %v, want a FileError for c.gguf", err)
	}
	if got := countBlobs(t, blobs); got != before {
		t.Errorf("blobs after failed import = %d, want %d", got, before)
	}
	if p, _ := meta.PendingRecords(ctx); len(p) != 0 {
		t.Errorf("pending records left: %v", p)
	}
	if rep, err := v.Verify(ctx, []string{"keep"}, nil); err != nil || !rep.OK {
		t.Errorf("the existing model no longer verifies: %v %+v", err, rep)
	}
}

func TestRecoverRollsBackAbandonedWrites(t *testing.T) {
	ctx := context.Background()
	v, blobs, meta := newTestVault(t)
	dir := t.TempDir()
	ggufFile(t, dir, "a.gguf", 1)
	res, err := v.Import(ctx, dir, ImportOptions{Name: "m"})
	if err != nil {
		t.Fatal(err)
	}
	// What a killed import leaves: committed blobs listed in a pending
	// record, one of them also used by a committed model.
	orphan := putBlob(t, blobs, "orphan content")
	model, _ := meta.Model(ctx, res.Digest)
	if err := meta.AddPending(ctx, "dead-import", orphan, model.Blobs[0]); err != nil {
		t.Fatal(err)
	}
	if err := v.recover(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := blobs.Stat(ctx, orphan); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("orphan blob survived recovery: %v", err)
	}
	if _, err := blobs.Stat(ctx, model.Blobs[0]); err != nil {
		t.Errorf("referenced blob removed by recovery: %v", err)
	}
	if p, _ := meta.PendingRecords(ctx); len(p) != 0 {
		t.Errorf("pending records left: %v", p)
	}
}

func putBlob(t *testing.T, s blob.Store, content string) digest.Digest {
	t.Helper()
	ctx := context.Background()
	w, err := s.Create(ctx)
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte(content))
	c, err := w.Commit(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	return c.Digest
}

func TestCancelledImportLeavesNothing(t *testing.T) {
	v, blobs, meta := newTestVault(t)
	dir := t.TempDir()
	ggufFile(t, dir, "a.gguf", 1)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := v.Import(ctx, dir, ImportOptions{Name: "m"}); !errors.Is(err, context.Canceled) {
		t.Fatalf("import with a cancelled context: %v", err)
	}
	if n := countBlobs(t, blobs); n != 0 {
		t.Errorf("%d blobs after a cancelled import", n)
	}
	if refs, _ := meta.Refs(context.Background()); len(refs) != 0 {
		t.Errorf("refs after a cancelled import: %v", refs)
	}
}

func TestConcurrentImportsAndGC(t *testing.T) {
	ctx := context.Background()
	v, _, _ := newTestVault(t)
	dir := t.TempDir()
	for i := range 4 {
		ggufFile(t, dir, string(rune('a'+i))+".gguf", uint64(i))
	}
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			name := "m" + string(rune('a'+i))
			if _, err := v.Import(ctx, dir, ImportOptions{Name: name}); err != nil {
				errs <- err
			}
			if _, err := v.GC(ctx, false); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	rep, err := v.Verify(ctx, nil, nil)
	if err != nil || !rep.OK || len(rep.Models) != 1 {
		t.Errorf("after concurrent imports and gc: %v ok=%v models=%d", err, rep != nil && rep.OK, len(rep.Models))
	}
}
