package fs

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sov.dev/sov/internal/blob"
	"sov.dev/sov/internal/digest"
)

// FuzzDigestPath feeds arbitrary strings to every method that turns a
// digest into a path. Each must refuse an invalid digest before touching
// the file system, and a valid one must stay inside the store. Seeds are
// in testdata/fuzz/FuzzDigestPath.
func FuzzDigestPath(f *testing.F) {
	dir := f.TempDir()
	s, err := New(filepath.Join(dir, "vault"))
	if err != nil {
		f.Fatal(err)
	}
	// Files a path traversal could reach.
	victims := []string{
		filepath.Join(dir, "victim"),
		filepath.Join(dir, "vault", "victim"),
		filepath.Join(dir, "vault", "tmp", "victim"),
	}
	for _, v := range victims {
		if err := os.WriteFile(v, []byte("keep me"), 0o600); err != nil {
			f.Fatal(err)
		}
	}
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, in string) {
		d := digest.Digest(in)
		valid := d.Validate() == nil
		check := func(op string, err error) {
			t.Helper()
			if valid {
				if err != nil && !errors.Is(err, blob.ErrNotFound) {
					t.Fatalf("%s(%q) error = %v, want nil or ErrNotFound", op, in, err)
				}
			} else if !errors.Is(err, digest.ErrInvalid) {
				t.Fatalf("%s(%q) error = %v, want digest.ErrInvalid", op, in, err)
			}
		}
		_, err := s.Stat(ctx, d)
		check("Stat", err)
		r, err := s.Open(ctx, d)
		if r != nil {
			r.Close()
		}
		check("Open", err)
		p, err := s.Path(d)
		check("Path", err)
		if err == nil && !strings.HasPrefix(p, filepath.Join(s.Root(), "sha256")+string(filepath.Separator)) {
			t.Fatalf("Path(%q) = %s, outside the store", in, p)
		}
		check("Delete", s.Delete(ctx, d))
		for _, v := range victims {
			if _, err := os.Stat(v); err != nil {
				t.Fatalf("after %q: %s is gone: %v", in, v, err)
			}
		}
	})
}
