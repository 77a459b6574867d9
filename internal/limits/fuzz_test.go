package limits

import (
	"testing"
	"time"

	"sov.dev/sov/internal/keys"
)

// FuzzLimiter runs an arbitrary sequence of acquires, releases and clock
// moves (forwards and back, by up to days) against one key and checks that
// nothing panics, that the concurrency limit holds, that no 60 seconds of
// (effective) time see more than RPM admissions, and that Drain reports
// every token released.
//
// The limits come from the first bytes; then each op is 3 bytes: kind,
// amount, and a clock step.
func FuzzLimiter(f *testing.F) {
	f.Add([]byte{3, 2, 10, 1, 0, 5, 0, 1, 0, 0, 2, 1, 0, 0, 2, 9, 70})
	f.Add([]byte{1, 1, 200, 0, 0, 0, 0, 255, 255, 0, 9, 128, 1, 0, 1, 0, 3, 60})
	f.Add([]byte{0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) < 3 {
			return
		}
		k := &keys.Key{ID: "key_aaaaaaaaaaaa", Name: "fuzz",
			RPM: int(b[0] % 8), MaxConcurrency: int(b[1] % 4), TPM: int(b[2]) * 10}
		if b[2]%3 == 0 {
			k.TokenBudget, k.BudgetWindow = int64(b[2])*20, time.Duration(1+b[2]%5)*time.Hour
		}
		b = b[3:]
		l := New()
		now := t0
		var newest time.Time // the newest time passed to Acquire: the limiter's clock
		var (
			open     []Ticket
			admitted []int64 // effective second of each admission
			released int64
		)
		for ; len(b) >= 3; b = b[3:] {
			kind, amount, step := b[0], int64(b[1]), int64(int8(b[2]))
			// Steps are seconds, or days for |step| > 100.
			d := time.Duration(step) * time.Second
			if step > 100 || step < -100 {
				d = time.Duration(step) * 24 * time.Hour
			}
			now = now.Add(d)
			switch kind % 3 {
			case 0, 1:
				if newest.IsZero() || now.After(newest) {
					newest = now
				}
				tk, den := l.Acquire(k, amount*10, now)
				if den != nil {
					if den.RetryAfter < 0 || den.Message == "" {
						t.Fatalf("bad denial %+v", den)
					}
					continue
				}
				open = append(open, tk)
				admitted = append(admitted, newest.Unix())
				if k.MaxConcurrency > 0 && len(open) > k.MaxConcurrency {
					t.Fatalf("%d in flight, limit %d", len(open), k.MaxConcurrency)
				}
			case 2:
				if len(open) == 0 {
					continue
				}
				i := int(amount) % len(open)
				open[i].Release(amount, now)
				if k.TokenBudget > 0 {
					released += amount
				}
				open = append(open[:i], open[i+1:]...)
			}
		}
		if k.RPM > 0 {
			for i := range admitted {
				n := 0
				for _, s := range admitted[i:] {
					if s-admitted[i] < 60 {
						n++
					}
				}
				if n > k.RPM {
					t.Fatalf("%d admissions within 60 s of second %d, limit %d", n, admitted[i], k.RPM)
				}
			}
		}
		var drained int64
		for _, u := range l.Drain() {
			drained += u.Tokens
		}
		if drained != released {
			t.Fatalf("Drain reports %d tokens, %d were released", drained, released)
		}
	})
}
