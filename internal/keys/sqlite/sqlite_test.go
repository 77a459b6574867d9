package sqlite

import (
	"context"
	"path/filepath"
	"testing"

	"sov.dev/sov/internal/keys"
	"sov.dev/sov/internal/keys/keystest"
)

func newStore(t testing.TB) *Store {
	t.Helper()
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), File))
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
	keystest.Run(t, func(t *testing.T) keys.Store { return newStore(t) })
}

func BenchmarkVersion(b *testing.B) {
	keystest.BenchVersion(b, newStore(b))
}
