package flock

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"
)

func TestExclusiveExcludesShared(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lock")
	a, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()

	if err := a.Shared(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := b.Shared(context.Background()); err != nil {
		t.Fatalf("second shared lock: %v", err)
	}
	if err := b.Unlock(); err != nil {
		t.Fatal(err)
	}
	if err := b.TryExclusive(); !errors.Is(err, ErrWouldBlock) {
		t.Fatalf("TryExclusive while shared is held = %v, want ErrWouldBlock", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	if err := b.Exclusive(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Exclusive while shared is held = %v, want deadline exceeded", err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.TryExclusive(); err != nil {
		t.Fatalf("TryExclusive after the holder closed: %v", err)
	}
}
