package keys_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"sov.dev/sov/internal/keys"
	"sov.dev/sov/internal/keys/keystest"
)

func TestAuthenticate(t *testing.T) {
	m := newManager(t)
	inf, infSecret, err := m.Create(ctx, keys.CreateOptions{Name: "inf"})
	if err != nil {
		t.Fatal(err)
	}
	adm, admSecret, err := m.Create(ctx, keys.CreateOptions{Name: "adm", Admin: true})
	if err != nil {
		t.Fatal(err)
	}
	_, revSecret, err := m.Create(ctx, keys.CreateOptions{Name: "rev"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Revoke(ctx, "rev"); err != nil {
		t.Fatal(err)
	}
	// A key stored as an inference key whose secret has the admin form, as
	// a damaged or hand-edited database could hold: refused.
	forged := "sovadm-" + strings.Repeat("B", 42) + "A"
	k := keystest.NewKey(1, "forged")
	k.Hash = m.Hasher.Hex(forged)
	if err := m.Store.Create(ctx, k); err != nil {
		t.Fatal(err)
	}
	// And the other way round.
	forged2 := "sov-" + strings.Repeat("C", 42) + "A"
	k2 := keystest.NewKey(2, "forged2")
	k2.Admin, k2.Prefix, k2.Hash = true, "sovadm-CCCCCCCC", m.Hasher.Hex(forged2)
	if err := m.Store.Create(ctx, k2); err != nil {
		t.Fatal(err)
	}
	if err := m.Cache.Reload(ctx); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name   string
		secret string
		wantID string // "": ErrInvalidKey
	}{
		{"inference", infSecret, inf.ID},
		{"admin", admSecret, adm.ID},
		{"revoked", revSecret, ""},
		{"empty", "", ""},
		{"bearer prefix left on", "Bearer " + infSecret, ""},
		{"trailing newline", infSecret + "\n", ""},
		{"one character changed", infSecret[:20] + string(infSecret[20]^1) + infSecret[21:], ""},
		{"unknown", "sov-" + strings.Repeat("Z", 42) + "A", ""},
		{"inference secret with admin prefix", "sovadm-" + infSecret[4:], ""},
		{"admin form, inference key", forged, ""},
		{"inference form, admin key", forged2, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := m.Cache.Authenticate(tt.secret)
			if tt.wantID == "" {
				if !errors.Is(err, keys.ErrInvalidKey) || k != nil {
					t.Errorf("Authenticate = %v, %v; want nil, ErrInvalidKey", k, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Authenticate: %v", err)
			}
			if k.ID != tt.wantID {
				t.Errorf("Authenticate = %s, want %s", k.ID, tt.wantID)
			}
		})
	}
	if n := testing.AllocsPerRun(100, func() { m.Cache.Authenticate(infSecret) }); n != 0 && !keys.RaceEnabled {
		t.Errorf("Authenticate allocates %v times", n)
	}
}

// TestPoll is a change made behind the Cache's back (another process, in
// effect): Poll notices it through Version.
func TestPoll(t *testing.T) {
	m := newManager(t)
	other := &keys.Manager{Store: m.Store, Hasher: m.Hasher} // no Cache: "the CLI"
	_, secret, err := other.Create(ctx, keys.CreateOptions{Name: "ci"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Cache.Authenticate(secret); err == nil {
		t.Fatalf("a key the Cache has not loaded yet authenticates")
	}
	if reloaded, err := m.Cache.Poll(ctx); err != nil || !reloaded {
		t.Fatalf("Poll after a change = %v, %v; want true", reloaded, err)
	}
	if _, err := m.Cache.Authenticate(secret); err != nil {
		t.Fatalf("after Poll: %v", err)
	}
	if reloaded, err := m.Cache.Poll(ctx); err != nil || reloaded {
		t.Errorf("Poll without a change = %v, %v; want false", reloaded, err)
	}
	if _, err := other.Revoke(ctx, "ci"); err != nil {
		t.Fatal(err)
	}
	if reloaded, err := m.Cache.Poll(ctx); err != nil || !reloaded {
		t.Fatalf("Poll after a revoke = %v, %v; want true", reloaded, err)
	}
	if _, err := m.Cache.Authenticate(secret); !errors.Is(err, keys.ErrInvalidKey) {
		t.Errorf("revoked key after Poll: error = %v, want ErrInvalidKey", err)
	}
}

// waitFor polls cond until it holds or a generous deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestWatch(t *testing.T) {
	m := newManager(t)
	other := &keys.Manager{Store: m.Store, Hasher: m.Hasher}
	wctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { m.Cache.Watch(wctx, 5*time.Millisecond); close(done) }()

	_, secret, err := other.Create(ctx, keys.CreateOptions{Name: "ci"})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "Watch to load a new key", func() bool { _, err := m.Cache.Authenticate(secret); return err == nil })
	if _, err := other.Revoke(ctx, "ci"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "Watch to drop a revoked key", func() bool { _, err := m.Cache.Authenticate(secret); return err != nil })
	cancel()
	<-done
}

func TestInvalidate(t *testing.T) {
	m := newManager(t)
	other := &keys.Manager{Store: m.Store, Hasher: m.Hasher}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// An interval so long that only Invalidate can make it reload.
	go m.Cache.Watch(wctx, time.Hour)
	_, secret, err := other.Create(ctx, keys.CreateOptions{Name: "ci"})
	if err != nil {
		t.Fatal(err)
	}
	m.Cache.Invalidate()
	waitFor(t, "Invalidate to reload", func() bool { _, err := m.Cache.Authenticate(secret); return err == nil })
}

func BenchmarkAuthenticate(b *testing.B) {
	h, _ := keys.NewHasher([]byte("0123456789abcdef0123456789abcdef"))
	m := &keys.Manager{Store: newMemory(b), Hasher: h}
	var secret string
	for i := range 1000 {
		_, s, err := m.Create(ctx, keys.CreateOptions{Name: "k" + string(rune('a'+i%26)) + strings.Repeat("x", i/26)})
		if err != nil {
			b.Fatal(err)
		}
		secret = s
	}
	c, err := keys.NewCache(ctx, m.Store, h, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := c.Authenticate(secret); err != nil {
				b.Fatal(err)
			}
		}
	})
}
