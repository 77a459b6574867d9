package memory_test

import (
	"testing"

	"sov.dev/sov/internal/store"
	"sov.dev/sov/internal/store/memory"
	"sov.dev/sov/internal/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s := memory.New()
		t.Cleanup(func() {
			if err := s.Close(); err != nil {
				t.Error(err)
			}
		})
		return s
	})
}

func BenchmarkResolve(b *testing.B) {
	s := memory.New()
	defer s.Close()
	storetest.BenchResolve(b, s)
}
