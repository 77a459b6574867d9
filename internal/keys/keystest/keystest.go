// Package keystest is the conformance suite that every keys.Store
// implementation runs from its own tests.
//
// It checks the behaviour keys.Store documents (exact round trips, UTC
// times, validation, name uniqueness among keys that are not revoked,
// revocation, Version, usage accounting, concurrency) through the
// interface alone. It must not know about any implementation's internals;
// checks that need them (schema migrations, several processes on one
// database) belong in the implementation's own tests.
package keystest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"sov.dev/sov/internal/keys"
)

// Run runs the suite. newStore must return a new, empty store for each call
// and arrange (with t.Cleanup) for it to be closed.
func Run(t *testing.T, newStore func(t *testing.T) keys.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s keys.Store)
	}{
		{"RoundTrip", testRoundTrip},
		{"EmptyListsAreNil", testEmptyLists},
		{"CreateRejectsInvalid", testCreateRejectsInvalid},
		{"Conflicts", testConflicts},
		{"NameReuseAfterRevoke", testNameReuse},
		{"Revoke", testRevoke},
		{"NotFound", testNotFound},
		{"ListOrder", testListOrder},
		{"Version", testVersion},
		{"Usage", testUsage},
		{"ConcurrentSameName", testConcurrentSameName},
		{"ConcurrentUsage", testConcurrentUsage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.fn(t, newStore(t))
		})
	}
}

var ctx = context.Background()

// base is the creation time of NewKey(0).
var base = time.Date(2025, 3, 1, 12, 0, 0, 123456789, time.UTC)

// NewKey returns a valid inference key, not revoked, whose ID, hash and
// creation time are derived from i, named name.
func NewKey(i int, name string) keys.Key {
	sum := sha256.Sum256(fmt.Appendf(nil, "secret %d", i))
	return keys.Key{
		ID:      ID(i),
		Name:    name,
		Tenant:  keys.DefaultTenant,
		Hash:    hex.EncodeToString(sum[:]),
		Prefix:  "sov-" + fmt.Sprintf("%08d", i%1e8),
		Created: base.Add(time.Duration(i) * time.Second),
	}
}

// ID returns a valid key ID derived from i.
func ID(i int) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz234567"
	b := []byte("key_aaaaaaaaaaaa")
	for p := len(b) - 1; i > 0; p-- {
		b[p] = alphabet[i%32]
		i /= 32
	}
	return string(b)
}

func create(t *testing.T, s keys.Store, k keys.Key) {
	t.Helper()
	if err := s.Create(ctx, k); err != nil {
		t.Fatalf("Create(%s %s): %v", k.ID, k.Name, err)
	}
}

func get(t *testing.T, s keys.Store, nameOrID string) keys.Key {
	t.Helper()
	k, err := s.Get(ctx, nameOrID)
	if err != nil {
		t.Fatalf("Get(%q): %v", nameOrID, err)
	}
	return k
}

func version(t *testing.T, s keys.Store) int64 {
	t.Helper()
	v, err := s.Version(ctx)
	if err != nil {
		t.Fatalf("Version: %v", err)
	}
	return v
}

func testRoundTrip(t *testing.T, s keys.Store) {
	full := NewKey(1, "ci-bot")
	full.Tenant = "team-a"
	full.Models = []string{"llama3:8b", "org/model-7b"}
	full.RPM, full.TPM, full.MaxConcurrency = 60, 10000, 4
	full.TokenBudget, full.BudgetWindow = 1_000_000, 30*24*time.Hour
	full.Jurisdictions = []string{"ch", "eu"}
	// A creation time in another zone comes back as the same instant in UTC.
	full.Created = time.Date(2025, 3, 1, 14, 0, 0, 987654321, time.FixedZone("CET", 3600))

	admin := NewKey(2, "ops")
	admin.Admin = true
	admin.Prefix = "sovadm-abcdefgh"

	want := map[string]keys.Key{}
	for _, k := range []keys.Key{full, admin} {
		create(t, s, k)
		k.Created = k.Created.UTC()
		want[k.ID] = k
	}
	for id, w := range want {
		for _, by := range []string{id, w.Name} {
			if diff := cmp.Diff(w, get(t, s, by)); diff != "" {
				t.Errorf("Get(%q) (-want +got):\n%s", by, diff)
			}
		}
		got, err := s.LookupHash(ctx, w.Hash)
		if err != nil {
			t.Fatalf("LookupHash: %v", err)
		}
		if diff := cmp.Diff(w, got); diff != "" {
			t.Errorf("LookupHash (-want +got):\n%s", diff)
		}
		if loc := got.Created.Location(); loc != time.UTC {
			t.Errorf("Created in %v, want UTC", loc)
		}
	}
	list, err := s.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]keys.Key{want[admin.ID], want[full.ID]}, list); diff != "" {
		t.Errorf("List (-want +got):\n%s", diff)
	}
	// What a caller gets back is its own: changing it changes nothing stored.
	list[1].Models[0] = "changed"
	if got := get(t, s, full.ID); got.Models[0] != "llama3:8b" {
		t.Errorf("changing a listed key changed the store: models %v", got.Models)
	}
}

func testEmptyLists(t *testing.T, s keys.Store) {
	k := NewKey(1, "plain")
	k.Models, k.Jurisdictions = []string{}, []string{}
	create(t, s, k)
	got := get(t, s, "plain")
	if got.Models != nil || got.Jurisdictions != nil || got.Revoked != nil {
		t.Errorf("got models %#v, jurisdictions %#v, revoked %v; want nil, nil, nil", got.Models, got.Jurisdictions, got.Revoked)
	}
}

func testCreateRejectsInvalid(t *testing.T, s keys.Store) {
	revoked := base
	tests := []struct {
		name   string
		change func(k *keys.Key)
	}{
		{"bad ID", func(k *keys.Key) { k.ID = "key_UPPERCASE000" }},
		{"short ID", func(k *keys.Key) { k.ID = "key_abc" }},
		{"empty name", func(k *keys.Key) { k.Name = "" }},
		{"upper-case name", func(k *keys.Key) { k.Name = "CI" }},
		{"name with underscore", func(k *keys.Key) { k.Name = "key_aaaaaaaaaaab" }},
		{"name ending in dash", func(k *keys.Key) { k.Name = "ci-" }},
		{"long name", func(k *keys.Key) { k.Name = strings.Repeat("a", 64) }},
		{"empty tenant", func(k *keys.Key) { k.Tenant = "" }},
		{"bad hash", func(k *keys.Key) { k.Hash = "ABCD" }},
		{"upper-case hash", func(k *keys.Key) { k.Hash = "A" + k.Hash[1:] }},
		{"admin prefix on inference key", func(k *keys.Key) { k.Prefix = "sovadm-abcdefgh" }},
		{"short prefix", func(k *keys.Key) { k.Prefix = "sov-ab" }},
		{"negative rpm", func(k *keys.Key) { k.RPM = -1 }},
		{"negative tpm", func(k *keys.Key) { k.TPM = -1 }},
		{"negative concurrency", func(k *keys.Key) { k.MaxConcurrency = -1 }},
		{"negative budget", func(k *keys.Key) { k.TokenBudget = -1 }},
		{"budget without window", func(k *keys.Key) { k.TokenBudget = 10 }},
		{"window without budget", func(k *keys.Key) { k.BudgetWindow = time.Hour }},
		{"window under a minute", func(k *keys.Key) { k.TokenBudget, k.BudgetWindow = 10, time.Second }},
		{"unsorted models", func(k *keys.Key) { k.Models = []string{"b", "a"} }},
		{"duplicate jurisdictions", func(k *keys.Key) { k.Jurisdictions = []string{"eu", "eu"} }},
		{"upper-case jurisdiction", func(k *keys.Key) { k.Jurisdictions = []string{"EU"} }},
		{"model with space", func(k *keys.Key) { k.Models = []string{"a b"} }},
		{"no created time", func(k *keys.Key) { k.Created = time.Time{} }},
		{"already revoked", func(k *keys.Key) { k.Revoked = &revoked }},
	}
	v := version(t, s)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := NewKey(1, "valid")
			tt.change(&k)
			if err := s.Create(ctx, k); err == nil {
				t.Errorf("Create succeeded")
			}
		})
	}
	if list, err := s.List(ctx); err != nil || len(list) != 0 {
		t.Errorf("after refused creates List = %d keys, %v; want none", len(list), err)
	}
	if got := version(t, s); got != v {
		t.Errorf("refused creates changed Version from %d to %d", v, got)
	}
}

func testConflicts(t *testing.T, s keys.Store) {
	create(t, s, NewKey(1, "ci"))
	sameID := NewKey(2, "other")
	sameID.ID = ID(1)
	sameHash := NewKey(3, "third")
	sameHash.Hash = NewKey(1, "").Hash
	tests := []struct {
		name string
		k    keys.Key
		want error
	}{
		{"same ID", sameID, keys.ErrExists},
		{"same hash", sameHash, keys.ErrExists},
		{"same name", NewKey(4, "ci"), keys.ErrNameInUse},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := s.Create(ctx, tt.k); !errors.Is(err, tt.want) {
				t.Errorf("Create error = %v, want %v", err, tt.want)
			}
		})
	}
	if list, _ := s.List(ctx); len(list) != 1 {
		t.Errorf("%d keys after conflicting creates, want 1", len(list))
	}
}

func testNameReuse(t *testing.T, s keys.Store) {
	create(t, s, NewKey(1, "ci"))
	if _, err := s.Revoke(ctx, ID(1), base.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	create(t, s, NewKey(2, "ci")) // the name is free again
	if got := get(t, s, "ci"); got.ID != ID(2) {
		t.Errorf("Get(name) = %s, want the key that is not revoked (%s)", got.ID, ID(2))
	}
	if err := s.Create(ctx, NewKey(3, "ci")); !errors.Is(err, keys.ErrNameInUse) {
		t.Errorf("third key of the name: error = %v, want ErrNameInUse", err)
	}
	if _, err := s.Revoke(ctx, ID(2), base.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	// With every key of the name revoked, the newest one answers.
	if got := get(t, s, "ci"); got.ID != ID(2) || got.Revoked == nil {
		t.Errorf("Get(name) = %s revoked %v, want %s revoked", got.ID, got.Revoked, ID(2))
	}
	if got := get(t, s, ID(1)); got.Name != "ci" || got.Revoked == nil {
		t.Errorf("Get(ID) of the first key = %+v", got)
	}
}

func testRevoke(t *testing.T, s keys.Store) {
	create(t, s, NewKey(1, "ci"))
	at := time.Date(2025, 4, 1, 10, 0, 0, 1, time.FixedZone("X", -7200))
	k, err := s.Revoke(ctx, ID(1), at)
	if err != nil {
		t.Fatal(err)
	}
	if k.Revoked == nil || !k.Revoked.Equal(at) || k.Revoked.Location() != time.UTC {
		t.Fatalf("Revoke returned revoked = %v, want %v in UTC", k.Revoked, at.UTC())
	}
	if got := get(t, s, ID(1)); got.Revoked == nil || !got.Revoked.Equal(at) {
		t.Errorf("stored revoked = %v, want %v", got.Revoked, at)
	}
	k, err = s.Revoke(ctx, ID(1), at.Add(time.Hour))
	if !errors.Is(err, keys.ErrRevoked) {
		t.Errorf("second Revoke error = %v, want ErrRevoked", err)
	}
	if k.ID != ID(1) || k.Revoked == nil || !k.Revoked.Equal(at) {
		t.Errorf("second Revoke returned %s revoked %v, want the key revoked at %v", k.ID, k.Revoked, at)
	}
	if _, err := s.Revoke(ctx, ID(9), at); !errors.Is(err, keys.ErrNotFound) {
		t.Errorf("Revoke of an unknown key error = %v, want ErrNotFound", err)
	}
	if got, err := s.LookupHash(ctx, NewKey(1, "").Hash); err != nil || got.Revoked == nil {
		t.Errorf("LookupHash of a revoked key = %v, %v; want the key, revoked", got.Revoked, err)
	}
}

func testNotFound(t *testing.T, s keys.Store) {
	create(t, s, NewKey(1, "ci"))
	for _, by := range []string{"nobody", ID(2), "", "key_"} {
		if _, err := s.Get(ctx, by); !errors.Is(err, keys.ErrNotFound) {
			t.Errorf("Get(%q) error = %v, want ErrNotFound", by, err)
		}
	}
	if _, err := s.LookupHash(ctx, NewKey(2, "").Hash); !errors.Is(err, keys.ErrNotFound) {
		t.Errorf("LookupHash of an unknown hash error = %v, want ErrNotFound", err)
	}
}

func testListOrder(t *testing.T, s keys.Store) {
	// Created out of order, two with the same time.
	order := []int{3, 1, 4, 2}
	for _, i := range order {
		k := NewKey(i, fmt.Sprintf("k%d", i))
		if i == 4 {
			k.Created = NewKey(1, "").Created
		}
		create(t, s, k)
	}
	list, err := s.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, k := range list {
		got = append(got, k.Name)
	}
	// k1 and k4 share a time; ID(1) < ID(4).
	if want := []string{"k1", "k4", "k2", "k3"}; !slices.Equal(got, want) {
		t.Errorf("List order = %v, want %v", got, want)
	}
}

func testVersion(t *testing.T, s keys.Store) {
	seen := map[int64]string{version(t, s): "empty"}
	step := func(what string, fn func() error, changes bool) {
		t.Helper()
		before := version(t, s)
		err := fn()
		after := version(t, s)
		if changes {
			if err != nil {
				t.Fatalf("%s: %v", what, err)
			}
			if prev, dup := seen[after]; dup {
				t.Errorf("after %s Version = %d, the same as after %s", what, after, prev)
			}
			seen[after] = what
		} else if after != before {
			t.Errorf("%s changed Version from %d to %d", what, before, after)
		}
	}
	step("create", func() error { return s.Create(ctx, NewKey(1, "a")) }, true)
	step("another create", func() error { return s.Create(ctx, NewKey(2, "b")) }, true)
	step("failed create", func() error { return s.Create(ctx, NewKey(3, "a")) }, false)
	step("reads", func() error {
		_, err := s.List(ctx)
		_, err2 := s.Get(ctx, "a")
		return errors.Join(err, err2)
	}, false)
	step("usage", func() error { return s.AddUsage(ctx, ID(1), base, 100) }, false)
	step("revoke", func() error { _, err := s.Revoke(ctx, ID(1), base); return err }, true)
	step("failed revoke", func() error { _, err := s.Revoke(ctx, ID(1), base); return err }, false)
}

func testUsage(t *testing.T, s keys.Store) {
	create(t, s, NewKey(1, "a"))
	create(t, s, NewKey(2, "b"))
	w1 := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	w2 := w1.Add(24 * time.Hour)
	adds := []struct {
		id     string
		window time.Time
		tokens int64
	}{
		{ID(1), w1, 100}, {ID(1), w1, 50}, {ID(1), w2, 7}, {ID(2), w1, 1}, {ID(2), w1, 0},
	}
	for _, a := range adds {
		if err := s.AddUsage(ctx, a.id, a.window, a.tokens); err != nil {
			t.Fatalf("AddUsage(%s, %v, %d): %v", a.id, a.window, a.tokens, err)
		}
	}
	tests := []struct {
		id     string
		window time.Time
		want   int64
	}{
		{ID(1), w1, 150},
		{ID(1), w2, 7},
		{ID(2), w1, 1},
		{ID(2), w2, 0},
		{ID(1), w1.Add(time.Hour), 0},
		{ID(9), w1, 0},
		// The same instant in another zone is the same window.
		{ID(1), w1.In(time.FixedZone("X", 3600)), 150},
	}
	for _, tt := range tests {
		got, err := s.Usage(ctx, tt.id, tt.window)
		if err != nil {
			t.Fatalf("Usage(%s, %v): %v", tt.id, tt.window, err)
		}
		if got != tt.want {
			t.Errorf("Usage(%s, %v) = %d, want %d", tt.id, tt.window, got, tt.want)
		}
	}
	if err := s.AddUsage(ctx, ID(9), w1, 1); !errors.Is(err, keys.ErrNotFound) {
		t.Errorf("AddUsage for an unknown key error = %v, want ErrNotFound", err)
	}
	if err := s.AddUsage(ctx, ID(1), w1, -1); err == nil {
		t.Errorf("AddUsage of negative tokens succeeded")
	}
	if got, _ := s.Usage(ctx, ID(1), w1); got != 150 {
		t.Errorf("after refused adds Usage = %d, want 150", got)
	}
	// A revoked key's usage stays and can still be added to (requests in
	// flight when it was revoked finish and are counted).
	if _, err := s.Revoke(ctx, ID(1), base); err != nil {
		t.Fatal(err)
	}
	if err := s.AddUsage(ctx, ID(1), w1, 1); err != nil {
		t.Errorf("AddUsage for a revoked key: %v", err)
	}
}

func testConcurrentSameName(t *testing.T, s keys.Store) {
	const n = 8
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { errs[i] = s.Create(ctx, NewKey(i+1, "race")) })
	}
	wg.Wait()
	ok := 0
	for i, err := range errs {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, keys.ErrNameInUse):
			t.Errorf("create %d: error = %v, want nil or ErrNameInUse", i, err)
		}
	}
	if ok != 1 {
		t.Errorf("%d concurrent creates of one name succeeded, want 1", ok)
	}
}

func testConcurrentUsage(t *testing.T, s keys.Store) {
	create(t, s, NewKey(1, "a"))
	const writers, each = 4, 25
	var wg sync.WaitGroup
	for range writers {
		wg.Go(func() {
			for range each {
				if err := s.AddUsage(ctx, ID(1), base, 3); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if got, _ := s.Usage(ctx, ID(1), base); got != writers*each*3 {
		t.Errorf("Usage after concurrent adds = %d, want %d", got, writers*each*3)
	}
}

// BenchVersion measures Store.Version, which servers poll.
func BenchVersion(b *testing.B, s keys.Store) {
	if err := s.Create(ctx, NewKey(1, "a")); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := s.Version(ctx); err != nil {
			b.Fatal(err)
		}
	}
}
