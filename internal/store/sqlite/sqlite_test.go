package sqlite

import (
	"context"
	"path/filepath"
	"testing"

	"sov.dev/sov/internal/store"
	"sov.dev/sov/internal/store/storetest"
)

func newStore(t testing.TB) *Store {
	t.Helper()
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "meta.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return newStore(t) })
}

func BenchmarkResolve(b *testing.B) {
	storetest.BenchResolve(b, newStore(b))
}
