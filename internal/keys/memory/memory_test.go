package memory

import (
	"context"
	"errors"
	"testing"

	"sov.dev/sov/internal/keys"
	"sov.dev/sov/internal/keys/keystest"
)

func TestConformance(t *testing.T) {
	keystest.Run(t, func(t *testing.T) keys.Store {
		s := New()
		t.Cleanup(func() { s.Close() })
		return s
	})
}

func TestClosed(t *testing.T) {
	ctx := context.Background()
	s := New()
	if err := s.Create(ctx, keystest.NewKey(1, "a")); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := s.List(ctx); !errors.Is(err, errClosed) {
		t.Errorf("List after Close error = %v, want errClosed", err)
	}
	if err := s.Create(ctx, keystest.NewKey(2, "b")); !errors.Is(err, errClosed) {
		t.Errorf("Create after Close error = %v, want errClosed", err)
	}
}

func BenchmarkVersion(b *testing.B) {
	keystest.BenchVersion(b, New())
}
