package sqlite

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"sov.dev/sov/internal/store"
	"sov.dev/sov/internal/store/storetest"
)

// FuzzRefNames checks that any name and tag the store accepts comes back
// byte for byte, and that names cannot reach the SQL text. Seeds are in
// testdata/fuzz/FuzzRefNames.
func FuzzRefNames(f *testing.F) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(f.TempDir(), "meta.db"))
	if err != nil {
		f.Fatal(err)
	}
	defer s.Close()
	m := storetest.NewModel(1)
	if err := s.PutModel(ctx, m, nil, ""); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, name, tag string) {
		err := s.SetRef(ctx, store.Ref{Name: name, Tag: tag, Digest: m.Digest})
		if name == "" || tag == "" {
			if err == nil {
				t.Fatalf("SetRef(%q, %q) accepted an empty name or tag", name, tag)
			}
			return
		}
		if err != nil {
			t.Fatalf("SetRef(%q, %q): %v", name, tag, err)
		}
		got, err := s.Resolve(ctx, name, tag)
		if err != nil {
			t.Fatalf("Resolve(%q, %q): %v", name, tag, err)
		}
		if got.Name != name || got.Tag != tag || got.Digest != m.Digest {
			t.Fatalf("Resolve(%q, %q) = %+v", name, tag, got)
		}
		refs, err := s.Refs(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(refs) != 1 || refs[0].Name != name || refs[0].Tag != tag {
			t.Fatalf("Refs = %+v, want just %q:%q", refs, name, tag)
		}
		if err := s.DeleteRef(ctx, name, tag); err != nil {
			t.Fatalf("DeleteRef(%q, %q): %v", name, tag, err)
		}
		if _, err := s.Resolve(ctx, name, tag); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("Resolve after DeleteRef error = %v, want ErrNotFound", err)
		}
	})
}
