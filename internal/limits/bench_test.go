package limits

import (
	"sync/atomic"
	"testing"
	"time"

	"sov.dev/sov/internal/keys"
)

func benchKey() *keys.Key {
	return &keys.Key{ID: "key_aaaaaaaaaaaa", Name: "bench", RPM: 1 << 30, TPM: 1 << 30,
		MaxConcurrency: 1 << 20, TokenBudget: 1 << 62, BudgetWindow: 24 * time.Hour}
}

func BenchmarkAcquireRelease(b *testing.B) {
	l, k := New(), benchKey()
	now := t0
	b.ReportAllocs()
	for b.Loop() {
		now = now.Add(time.Millisecond)
		tk, d := l.Acquire(k, 500, now)
		if d != nil {
			b.Fatal(d)
		}
		tk.Release(400, now)
	}
}

// BenchmarkAcquireReleaseParallel is many requests of one key at once, the
// most contended case.
func BenchmarkAcquireReleaseParallel(b *testing.B) {
	l, k := New(), benchKey()
	b.ReportAllocs()
	var clock atomic.Int64 // shared, as the wall clock is
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			now := t0.Add(time.Duration(clock.Add(int64(time.Millisecond))))
			tk, d := l.Acquire(k, 500, now)
			if d != nil {
				b.Fatal(d)
			}
			tk.Release(400, now)
		}
	})
}

func BenchmarkAcquireUnlimited(b *testing.B) {
	l := New()
	k := &keys.Key{ID: "key_aaaaaaaaaaaa", Name: "free"}
	b.ReportAllocs()
	for b.Loop() {
		tk, _ := l.Acquire(k, 500, t0)
		tk.Release(400, t0)
	}
}
