package storetest

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"sov.dev/sov/internal/digest"
	"sov.dev/sov/internal/store"
)

func wantPending(t *testing.T, s store.Store, before, after time.Time, want ...store.Pending) {
	t.Helper()
	got, err := s.PendingRecords(ctx)
	if err != nil {
		t.Fatalf("PendingRecords: %v", err)
	}
	for _, p := range got {
		checkUTC(t, "pending Created", p.Created)
		if p.Created.Before(before) || p.Created.After(after) {
			t.Errorf("pending %s Created = %v, want between %v and %v", p.ID, p.Created, before, after)
		}
	}
	byID := func(a, b store.Pending) int {
		if a.ID < b.ID {
			return -1
		}
		if a.ID > b.ID {
			return 1
		}
		return 0
	}
	slices.SortFunc(got, byID)
	slices.SortFunc(want, byID)
	if diff := cmp.Diff(want, got, opts, cmpopts.IgnoreFields(store.Pending{}, "Created")); diff != "" {
		t.Errorf("PendingRecords (-want +got):\n%s", diff)
	}
}

func testPending(t *testing.T, s store.Store) {
	before := time.Now().Add(-time.Second)
	wantPending(t, s, before, before)
	if err := s.AddPending(ctx, "import-1", Blob(2), Blob(1)); err != nil {
		t.Fatalf("AddPending: %v", err)
	}
	recs, err := s.PendingRecords(ctx)
	if err != nil || len(recs) != 1 {
		t.Fatalf("PendingRecords = %v, %v; want one record", recs, err)
	}
	created := recs[0].Created
	// Extending keeps the record, its creation time, and each blob once.
	if err := s.AddPending(ctx, "import-1", Blob(1), Blob(3), Blob(3)); err != nil {
		t.Fatalf("AddPending: %v", err)
	}
	if err := s.AddPending(ctx, "import-2"); err != nil {
		t.Fatalf("AddPending without blobs: %v", err)
	}
	after := time.Now().Add(time.Second)
	wantPending(t, s, before, after,
		store.Pending{ID: "import-1", Blobs: []digest.Digest{Blob(1), Blob(2), Blob(3)}},
		store.Pending{ID: "import-2"},
	)
	recs, err = s.PendingRecords(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range recs {
		if p.ID == "import-1" && !p.Created.Equal(created) {
			t.Errorf("extending changed Created from %v to %v", created, p.Created)
		}
		if !slices.IsSorted(p.Blobs) {
			t.Errorf("pending %s blobs not sorted: %v", p.ID, p.Blobs)
		}
	}

	bad := []struct {
		id    string
		blobs []digest.Digest
	}{
		{"", []digest.Digest{Blob(1)}},
		{"import-1", []digest.Digest{Blob(9), "sha256:zz"}},
		{"import-3", []digest.Digest{"md5:00"}},
	}
	for _, tt := range bad {
		if err := s.AddPending(ctx, tt.id, tt.blobs...); err == nil {
			t.Errorf("AddPending(%q, %v) succeeded, want an error", tt.id, tt.blobs)
		}
	}
	// The failed calls changed nothing.
	wantPending(t, s, before, after,
		store.Pending{ID: "import-1", Blobs: []digest.Digest{Blob(1), Blob(2), Blob(3)}},
		store.Pending{ID: "import-2"},
	)

	if err := s.DeletePending(ctx, "import-1"); err != nil {
		t.Fatalf("DeletePending: %v", err)
	}
	if err := s.DeletePending(ctx, "import-1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("second DeletePending error = %v, want ErrNotFound", err)
	}
	wantPending(t, s, before, after, store.Pending{ID: "import-2"})
	// A deleted record starts afresh.
	if err := s.AddPending(ctx, "import-1", Blob(5)); err != nil {
		t.Fatal(err)
	}
	wantPending(t, s, before, time.Now().Add(time.Second),
		store.Pending{ID: "import-1", Blobs: []digest.Digest{Blob(5)}},
		store.Pending{ID: "import-2"},
	)
}

func testPutModelDeletesPending(t *testing.T, s store.Store) {
	before := time.Now().Add(-time.Second)
	for _, id := range []string{"p1", "p2"} {
		if err := s.AddPending(ctx, id, Blob(1)); err != nil {
			t.Fatal(err)
		}
	}
	m := NewModel(1, Blob(1))
	if err := s.PutModel(ctx, m, []store.Ref{{Name: "m", Tag: "v1"}}, "p1"); err != nil {
		t.Fatalf("PutModel: %v", err)
	}
	after := time.Now().Add(time.Second)
	wantPending(t, s, before, after, store.Pending{ID: "p2", Blobs: []digest.Digest{Blob(1)}})

	// A failed PutModel keeps the pending record.
	bad := NewModel(2)
	bad.Manifest = []byte("does not match")
	if err := s.PutModel(ctx, bad, nil, "p2"); err == nil {
		t.Fatalf("PutModel of a bad model succeeded")
	}
	wantPending(t, s, before, after, store.Pending{ID: "p2", Blobs: []digest.Digest{Blob(1)}})

	// A pending record that is already gone is not an error: an idempotent
	// PutModel may run twice.
	if err := s.PutModel(ctx, m, nil, "p1"); err != nil {
		t.Errorf("PutModel with a missing pending record: %v", err)
	}
	// An idempotent PutModel still deletes its record.
	if err := s.PutModel(ctx, m, nil, "p2"); err != nil {
		t.Fatalf("PutModel: %v", err)
	}
	wantPending(t, s, before, after)
}
