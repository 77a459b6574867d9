package keys_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"sov.dev/sov/internal/keys"
	"sov.dev/sov/internal/keys/memory"
)

var ctx = context.Background()

var testClock = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

// newManager returns a Manager over a fresh memory store, with a Cache.
func newManager(t testing.TB) *keys.Manager {
	t.Helper()
	h, err := keys.NewHasher([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	s := memory.New()
	t.Cleanup(func() { s.Close() })
	c, err := keys.NewCache(ctx, s, h, nil)
	if err != nil {
		t.Fatal(err)
	}
	return &keys.Manager{Store: s, Hasher: h, Cache: c, Now: func() time.Time { return testClock }}
}

func TestCreate(t *testing.T) {
	m := newManager(t)
	k, secret, err := m.Create(ctx, keys.CreateOptions{
		Name: "ci-bot", Models: []string{"b", "a", "b"}, RPM: 60, TPM: 1000, MaxConcurrency: 2,
		TokenBudget: 5000, BudgetWindow: 24 * time.Hour, Jurisdictions: []string{"eu", "ch"},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := keys.Key{
		ID: k.ID, Name: "ci-bot", Tenant: keys.DefaultTenant, Models: []string{"a", "b"},
		RPM: 60, TPM: 1000, MaxConcurrency: 2, TokenBudget: 5000, BudgetWindow: 24 * time.Hour,
		Jurisdictions: []string{"ch", "eu"}, Created: testClock, Prefix: secret[:12], Hash: m.Hasher.Hex(secret),
	}
	if diff := cmp.Diff(want, k); diff != "" {
		t.Errorf("created key (-want +got):\n%s", diff)
	}
	if admin, ok := keys.ParseSecret(secret); !ok || admin {
		t.Errorf("secret %q is not an inference secret", secret[:12])
	}
	stored, err := m.Get(ctx, "ci-bot")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(k, stored); diff != "" {
		t.Errorf("stored key (-returned +stored):\n%s", diff)
	}
	got, err := m.Cache.Authenticate(secret)
	if err != nil {
		t.Fatalf("the new secret does not authenticate at once: %v", err)
	}
	if got.ID != k.ID {
		t.Errorf("Authenticate = %s, want %s", got.ID, k.ID)
	}

	ak, asecret, err := m.Create(ctx, keys.CreateOptions{Name: "ops", Tenant: "infra", Admin: true})
	if err != nil {
		t.Fatal(err)
	}
	if !ak.Admin || !strings.HasPrefix(asecret, "sovadm-") || ak.Prefix != asecret[:15] || ak.Tenant != "infra" {
		t.Errorf("admin key %+v, secret prefix %q", ak, asecret[:15])
	}
	if _, _, err := m.Create(ctx, keys.CreateOptions{Name: "ci-bot"}); !errors.Is(err, keys.ErrNameInUse) {
		t.Errorf("second ci-bot: error = %v, want ErrNameInUse", err)
	}
}

func TestCreateValidates(t *testing.T) {
	tests := []struct {
		name  string
		o     keys.CreateOptions
		field string
	}{
		{"no name", keys.CreateOptions{}, "name"},
		{"bad name", keys.CreateOptions{Name: "CI Bot"}, "name"},
		{"bad tenant", keys.CreateOptions{Name: "a", Tenant: "Team A"}, "tenant"},
		{"empty model", keys.CreateOptions{Name: "a", Models: []string{""}}, "models"},
		{"model with comma", keys.CreateOptions{Name: "a", Models: []string{"a,b"}}, "models"},
		{"upper-case jurisdiction", keys.CreateOptions{Name: "a", Jurisdictions: []string{"EU"}}, "jurisdictions"},
		{"negative rpm", keys.CreateOptions{Name: "a", RPM: -1}, "rpm"},
		{"negative tpm", keys.CreateOptions{Name: "a", TPM: -5}, "tpm"},
		{"huge concurrency", keys.CreateOptions{Name: "a", MaxConcurrency: 1 << 40}, "max-concurrency"},
		{"negative budget", keys.CreateOptions{Name: "a", TokenBudget: -1}, "token-budget"},
		{"budget without window", keys.CreateOptions{Name: "a", TokenBudget: 100}, "budget-window"},
		{"window without budget", keys.CreateOptions{Name: "a", BudgetWindow: time.Hour}, "token-budget"},
		{"window too short", keys.CreateOptions{Name: "a", TokenBudget: 100, BudgetWindow: time.Second}, "budget-window"},
	}
	m := newManager(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, secret, err := m.Create(ctx, tt.o)
			var oe *keys.OptionError
			if !errors.As(err, &oe) {
				t.Fatalf("Create error = %v, want an *OptionError", err)
			}
			if oe.Field != tt.field {
				t.Errorf("OptionError.Field = %q, want %q (%v)", oe.Field, tt.field, err)
			}
			if secret != "" {
				t.Errorf("a refused Create returned a secret")
			}
		})
	}
	if ks, _ := m.List(ctx); len(ks) != 0 {
		t.Errorf("%d keys after refused creates", len(ks))
	}
}

func TestRevoke(t *testing.T) {
	m := newManager(t)
	k1, s1, err := m.Create(ctx, keys.CreateOptions{Name: "one"})
	if err != nil {
		t.Fatal(err)
	}
	_, s2, err := m.Create(ctx, keys.CreateOptions{Name: "two"})
	if err != nil {
		t.Fatal(err)
	}
	for _, by := range []string{"one", k1.ID} {
		t.Run("by "+by, func(t *testing.T) {
			_, err := m.Revoke(ctx, by)
			if by == "one" && err != nil {
				t.Fatalf("Revoke: %v", err)
			}
			if by == k1.ID && !errors.Is(err, keys.ErrRevoked) {
				t.Fatalf("second Revoke error = %v, want ErrRevoked", err)
			}
			if _, err := m.Cache.Authenticate(s1); !errors.Is(err, keys.ErrInvalidKey) {
				t.Errorf("revoked secret: Authenticate error = %v, want ErrInvalidKey", err)
			}
		})
	}
	if _, err := m.Cache.Authenticate(s2); err != nil {
		t.Errorf("the other key stopped working: %v", err)
	}
	if _, err := m.Revoke(ctx, "nobody"); !errors.Is(err, keys.ErrNotFound) {
		t.Errorf("Revoke(nobody) error = %v, want ErrNotFound", err)
	}
	got, _ := m.Get(ctx, k1.ID)
	if got.Revoked == nil || !got.Revoked.Equal(testClock) {
		t.Errorf("revoked at %v, want %v", got.Revoked, testClock)
	}
}

func TestEnsureAdmin(t *testing.T) {
	m := newManager(t)
	home := t.TempDir()
	path, created, err := m.EnsureAdmin(ctx, home)
	if err != nil || !created {
		t.Fatalf("EnsureAdmin on an empty store = %v, %v", created, err)
	}
	if path != filepath.Join(home, keys.AdminKeyFile) {
		t.Errorf("path %s", path)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
		t.Errorf("admin.key mode %v, want 0600", fi.Mode().Perm())
	}
	secret, err := keys.ReadAdminKey(home)
	if err != nil {
		t.Fatal(err)
	}
	k, err := m.Cache.Authenticate(secret)
	if err != nil {
		t.Fatalf("the admin secret does not authenticate: %v", err)
	}
	if !k.Admin || k.Name != keys.AdminKeyName {
		t.Errorf("admin.key authenticates as %s (admin %v)", k.Name, k.Admin)
	}
	// Later starts leave it alone.
	if _, created, err := m.EnsureAdmin(ctx, home); err != nil || created {
		t.Errorf("second EnsureAdmin = %v, %v; want false, nil", created, err)
	}
	if again, _ := keys.ReadAdminKey(home); again != secret {
		t.Errorf("second EnsureAdmin rewrote admin.key")
	}
	entries, _ := os.ReadDir(home)
	if len(entries) != 1 {
		t.Errorf("home holds %d entries, want only admin.key", len(entries))
	}
}

func TestEnsureAdminWithKeys(t *testing.T) {
	m := newManager(t)
	if _, _, err := m.Create(ctx, keys.CreateOptions{Name: "first"}); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Revoke(ctx, "first"); err != nil {
		t.Fatal(err)
	}
	home := t.TempDir()
	// Even a revoked key means the owner has set keys up.
	if _, created, err := m.EnsureAdmin(ctx, home); err != nil || created {
		t.Errorf("EnsureAdmin with a key = %v, %v; want false, nil", created, err)
	}
	if _, err := os.Stat(filepath.Join(home, keys.AdminKeyFile)); err == nil {
		t.Errorf("admin.key written although keys exist")
	}
}

func TestEnsureAdminRace(t *testing.T) {
	m := newManager(t)
	home := t.TempDir()
	const n = 6
	created := make([]bool, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { _, created[i], errs[i] = m.EnsureAdmin(ctx, home) })
	}
	wg.Wait()
	count := 0
	for i := range n {
		if errs[i] != nil {
			t.Errorf("EnsureAdmin %d: %v", i, errs[i])
		}
		if created[i] {
			count++
		}
	}
	if count != 1 {
		t.Fatalf("%d EnsureAdmin calls created a key, want 1", count)
	}
	secret, err := keys.ReadAdminKey(home)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Cache.Authenticate(secret); err != nil {
		t.Errorf("admin.key holds a secret that does not work: %v", err)
	}
}

func TestEnsureAdminCannotWrite(t *testing.T) {
	m := newManager(t)
	home := t.TempDir()
	// A non-empty directory where the file should go: the rename fails.
	if err := os.MkdirAll(filepath.Join(home, keys.AdminKeyFile, "x"), 0o700); err != nil {
		t.Fatal(err)
	}
	if _, created, err := m.EnsureAdmin(ctx, home); err == nil || created {
		t.Fatalf("EnsureAdmin = %v, %v; want an error", created, err)
	}
	// The key it stored is revoked: no admin secret exists that nobody has.
	ks, _ := m.List(ctx)
	if len(ks) != 1 || ks[0].Revoked == nil {
		t.Errorf("after a failed EnsureAdmin keys = %+v, want one revoked key", ks)
	}
	if err := m.Cache.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if m.Cache.Len() != 0 {
		t.Errorf("the cache accepts %d keys, want 0", m.Cache.Len())
	}
}

func newMemory(tb testing.TB) keys.Store {
	s := memory.New()
	tb.Cleanup(func() { s.Close() })
	return s
}
