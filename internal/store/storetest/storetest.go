// Package storetest is the conformance suite that every store.Store
// implementation runs from its own tests, plus a shared benchmark.
//
// It checks the behaviour the store package documents (exact round trips,
// UTC times, atomic writes, reference semantics, not-found errors,
// concurrency) through the interface alone. It must not know about any
// implementation's internals; checks that need them (schema migrations,
// several processes on one database) belong in the implementation's tests.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"sov.dev/sov/internal/digest"
	"sov.dev/sov/internal/store"
)

// Run runs the suite. newStore must return a new, empty store for each call
// and arrange (with t.Cleanup) for it to be closed.
func Run(t *testing.T, newStore func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"RoundTrip", testRoundTrip},
		{"CreatedDefaultsToNow", testCreatedDefaultsToNow},
		{"ModelsOldestFirst", testModelsOldestFirst},
		{"PutModelIdempotent", testPutModelIdempotent},
		{"PutModelRejectsBadInput", testPutModelRejectsBadInput},
		{"RefsWithModel", testRefsWithModel},
		{"ResolveAndRefsOrder", testResolveAndRefsOrder},
		{"SetRefMoves", testSetRefMoves},
		{"SetRefMissingModel", testSetRefMissingModel},
		{"DeleteRef", testDeleteRef},
		{"DeleteModel", testDeleteModel},
		{"ModelNotFound", testModelNotFound},
		{"ReferencedBlobs", testReferencedBlobs},
		{"Pending", testPending},
		{"PutModelDeletesPending", testPutModelDeletesPending},
		{"Names", testNames},
		{"Concurrent", testConcurrent},
		{"DecisionHistory", testDecisionHistory},
		{"DecisionRejectsBadInput", testDecisionRejectsBadInput},
		{"DecisionsOutliveModel", testDecisionsOutliveModel},
		{"LatestDecisions", testLatestDecisions},
		{"DecisionsConcurrent", testDecisionsConcurrent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.fn(t, newStore(t))
		})
	}
}

var ctx = context.Background()

// Blob returns the digest of a made-up blob named by i.
func Blob(i int) digest.Digest { return digest.FromBytes(fmt.Appendf(nil, "blob %d", i)) }

// NewModel returns a valid model whose manifest is named by i and that
// references blobs.
func NewModel(i int, blobs ...digest.Digest) store.Model {
	manifest := fmt.Appendf(nil, `{"schemaVersion":2,"n":%d}`, i)
	return store.Model{
		Digest:   digest.FromBytes(manifest),
		Manifest: manifest,
		Facts:    fmt.Appendf(nil, `{"format":"gguf","n":%d}`, i),
		Blobs:    blobs,
		Source:   fmt.Sprintf("/models/%d.gguf", i),
		Created:  time.Date(2025, 1, 1, 0, 0, i, 0, time.UTC),
	}
}

func put(t *testing.T, s store.Store, m store.Model, refs ...store.Ref) {
	t.Helper()
	if err := s.PutModel(ctx, m, refs, ""); err != nil {
		t.Fatalf("PutModel(%s): %v", m.Digest.Short(), err)
	}
}

// stored returns m as the store gives it back: blobs sorted and unique,
// times in UTC.
func stored(m store.Model) store.Model {
	m.Blobs = slices.Clone(m.Blobs)
	slices.Sort(m.Blobs)
	m.Blobs = slices.Compact(m.Blobs)
	m.Created = m.Created.UTC()
	return m
}

// opts compares models and refs: times by instant (and checkUTC checks the
// location), empty and nil slices alike.
var opts = cmp.Options{cmpopts.EquateEmpty()}

func checkUTC(t *testing.T, what string, tm time.Time) {
	t.Helper()
	if tm.Location() != time.UTC {
		t.Errorf("%s time %v is in %v, want UTC", what, tm, tm.Location())
	}
}

func wantModels(t *testing.T, s store.Store, want ...store.Model) {
	t.Helper()
	got, err := s.Models(ctx)
	if err != nil {
		t.Fatalf("Models: %v", err)
	}
	for i := range want {
		want[i] = stored(want[i])
	}
	if diff := cmp.Diff(want, got, opts); diff != "" {
		t.Errorf("Models (-want +got):\n%s", diff)
	}
	for _, m := range got {
		checkUTC(t, "Created", m.Created)
	}
}

func wantRefs(t *testing.T, s store.Store, want ...store.Ref) {
	t.Helper()
	got, err := s.Refs(ctx)
	if err != nil {
		t.Fatalf("Refs: %v", err)
	}
	// Updated is checked by the tests that set it.
	if diff := cmp.Diff(want, got, opts, cmpopts.IgnoreFields(store.Ref{}, "Updated")); diff != "" {
		t.Errorf("Refs (-want +got):\n%s", diff)
	}
	for _, r := range got {
		checkUTC(t, "Updated", r.Updated)
	}
}

func testRoundTrip(t *testing.T, s store.Store) {
	manifest := make([]byte, 0, 300)
	for i := range 256 {
		manifest = append(manifest, byte(i)) // every byte value, NUL included
	}
	manifest = append(manifest, "\xff\xfe not UTF-8"...)
	facts := []byte(`{"architecture":"llama","parameters":8030261248,"quant":"Q4_K_M"}`)
	tz := time.FixedZone("UTC+5:30", 5*3600+1800)
	created := time.Date(2025, 6, 7, 8, 9, 10, 123456789, tz)
	m := store.Model{
		Digest:   digest.FromBytes(manifest),
		Manifest: manifest,
		Facts:    facts,
		Blobs:    []digest.Digest{Blob(3), Blob(1), Blob(2), Blob(1)},
		Source:   "hf://meta-llama/Llama-3.1-8B@main",
		Created:  created,
	}
	input := m
	input.Manifest = slices.Clone(m.Manifest)
	input.Facts = slices.Clone(m.Facts)
	input.Blobs = slices.Clone(m.Blobs)
	if err := s.PutModel(ctx, input, nil, ""); err != nil {
		t.Fatalf("PutModel: %v", err)
	}
	// The store must have copied what it keeps.
	input.Manifest[0]++
	input.Facts[0]++
	input.Blobs[0] = Blob(99)

	got, err := s.Model(ctx, m.Digest)
	if err != nil {
		t.Fatalf("Model: %v", err)
	}
	if diff := cmp.Diff(stored(m), got, opts); diff != "" {
		t.Errorf("Model (-want +got):\n%s", diff)
	}
	checkUTC(t, "Created", got.Created)
	if !got.Created.Equal(created) {
		t.Errorf("Created = %v, want %v (nanoseconds kept)", got.Created, created)
	}

	// Nor may it hand out what it keeps.
	got.Manifest[0]++
	got.Facts[0]++
	got.Blobs[0] = Blob(99)
	again, err := s.Model(ctx, m.Digest)
	if err != nil {
		t.Fatalf("Model: %v", err)
	}
	if diff := cmp.Diff(stored(m), again, opts); diff != "" {
		t.Errorf("Model after changing a returned copy (-want +got):\n%s", diff)
	}
	wantModels(t, s, m)

	// No facts and no blobs is fine too.
	bare := store.Model{Digest: digest.FromBytes([]byte("{}")), Manifest: []byte("{}"), Created: created}
	put(t, s, bare)
	got, err = s.Model(ctx, bare.Digest)
	if err != nil {
		t.Fatalf("Model: %v", err)
	}
	if diff := cmp.Diff(stored(bare), got, opts); diff != "" {
		t.Errorf("bare Model (-want +got):\n%s", diff)
	}
}

func testCreatedDefaultsToNow(t *testing.T, s store.Store) {
	m := NewModel(1)
	m.Created = time.Time{}
	r := store.Ref{Name: "m", Tag: "latest"}
	before := time.Now().Add(-time.Second)
	if err := s.PutModel(ctx, m, []store.Ref{r}, ""); err != nil {
		t.Fatalf("PutModel: %v", err)
	}
	after := time.Now().Add(time.Second)
	got, err := s.Model(ctx, m.Digest)
	if err != nil {
		t.Fatalf("Model: %v", err)
	}
	checkUTC(t, "Created", got.Created)
	if got.Created.Before(before) || got.Created.After(after) {
		t.Errorf("Created = %v, want about now", got.Created)
	}
	ref, err := s.Resolve(ctx, r.Name, r.Tag)
	if err != nil {
		t.Fatalf("Resolve: %v", err)
	}
	checkUTC(t, "Updated", ref.Updated)
	if ref.Updated.Before(before) || ref.Updated.After(after) {
		t.Errorf("Updated = %v, want about now", ref.Updated)
	}
}

func testModelsOldestFirst(t *testing.T, s store.Store) {
	wantModels(t, s) // empty
	ms := []store.Model{NewModel(1), NewModel(2), NewModel(3)}
	ms[0].Created = time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	ms[1].Created = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	ms[2].Created = time.Date(2025, 2, 1, 0, 0, 0, 0, time.UTC)
	for _, m := range ms {
		put(t, s, m)
	}
	wantModels(t, s, ms[1], ms[2], ms[0])
}

func testPutModelIdempotent(t *testing.T, s store.Store) {
	m := NewModel(1, Blob(1))
	put(t, s, m)
	later := m
	later.Source = "somewhere else"
	later.Created = m.Created.Add(time.Hour)
	r := store.Ref{Name: "again", Tag: "v1"}
	put(t, s, later, r)
	// The first version stays; the references are still set.
	wantModels(t, s, m)
	wantRefs(t, s, store.Ref{Name: "again", Tag: "v1", Digest: m.Digest})
}

func testPutModelRejectsBadInput(t *testing.T, s store.Store) {
	good := NewModel(1, Blob(1))
	tests := []struct {
		name    string
		m       store.Model
		refs    []store.Ref
		wantErr error // nil: any error
	}{
		{"invalid digest", func() store.Model { m := good; m.Digest = "sha256:nothex"; return m }(), nil, digest.ErrInvalid},
		{"empty digest", func() store.Model { m := good; m.Digest = ""; return m }(), nil, digest.ErrInvalid},
		{"empty manifest", func() store.Model {
			m := good
			m.Manifest, m.Digest = nil, digest.FromBytes(nil)
			return m
		}(), nil, nil},
		{"digest of other bytes", func() store.Model { m := good; m.Manifest = []byte("other"); return m }(), nil, nil},
		{"invalid blob", func() store.Model {
			m := good
			m.Blobs = []digest.Digest{Blob(1), "sha256:../../etc"}
			return m
		}(), nil, digest.ErrInvalid},
		{"ref without name", good, []store.Ref{{Name: "ok", Tag: "v1"}, {Tag: "v1"}}, nil},
		{"ref without tag", good, []store.Ref{{Name: "ok", Tag: "v1"}, {Name: "x"}}, nil},
		{"ref to another model", good, []store.Ref{{Name: "x", Tag: "v1", Digest: NewModel(2).Digest}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := s.PutModel(ctx, tt.m, tt.refs, "")
			if err == nil {
				t.Fatalf("PutModel succeeded, want an error")
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("PutModel error = %v, want %v", err, tt.wantErr)
			}
			if errors.Is(err, store.ErrNotFound) {
				t.Errorf("PutModel error = %v, must not be ErrNotFound", err)
			}
			// Nothing happened, not even the valid parts.
			wantModels(t, s)
			wantRefs(t, s)
		})
	}
	// A ref naming its own model explicitly is fine.
	put(t, s, good, store.Ref{Name: "x", Tag: "v1", Digest: good.Digest})
	wantRefs(t, s, store.Ref{Name: "x", Tag: "v1", Digest: good.Digest})
}

func testRefsWithModel(t *testing.T, s store.Store) {
	m := NewModel(1)
	updated := time.Date(2025, 5, 5, 5, 5, 5, 5, time.FixedZone("X", -7*3600))
	refs := []store.Ref{
		{Name: "llama", Tag: "8b", Updated: updated},
		{Name: "llama", Tag: "latest", Updated: updated},
	}
	if err := s.PutModel(ctx, m, refs, ""); err != nil {
		t.Fatalf("PutModel: %v", err)
	}
	for _, r := range refs {
		got, err := s.Resolve(ctx, r.Name, r.Tag)
		if err != nil {
			t.Fatalf("Resolve(%s:%s): %v", r.Name, r.Tag, err)
		}
		want := store.Ref{Name: r.Name, Tag: r.Tag, Digest: m.Digest, Updated: updated}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("Resolve(%s:%s) (-want +got):\n%s", r.Name, r.Tag, diff)
		}
		checkUTC(t, "Updated", got.Updated)
	}

	// A second model takes over one tag in the same call that stores it.
	m2 := NewModel(2)
	put(t, s, m2, store.Ref{Name: "llama", Tag: "latest"})
	wantRefs(t, s,
		store.Ref{Name: "llama", Tag: "8b", Digest: m.Digest},
		store.Ref{Name: "llama", Tag: "latest", Digest: m2.Digest},
	)

	// If the model cannot be stored, no reference moves.
	bad := NewModel(3)
	bad.Blobs = []digest.Digest{"sha256:bad"}
	if err := s.PutModel(ctx, bad, []store.Ref{{Name: "llama", Tag: "8b"}, {Name: "new", Tag: "v1"}}, ""); err == nil {
		t.Fatalf("PutModel with an invalid blob succeeded")
	}
	wantRefs(t, s,
		store.Ref{Name: "llama", Tag: "8b", Digest: m.Digest},
		store.Ref{Name: "llama", Tag: "latest", Digest: m2.Digest},
	)
}

func testResolveAndRefsOrder(t *testing.T, s store.Store) {
	m1, m2 := NewModel(1), NewModel(2)
	put(t, s, m1)
	put(t, s, m2)
	// Inserted out of order; Refs sorts by name, then tag, bytewise.
	refs := []store.Ref{
		{Name: "zeta", Tag: "a", Digest: m1.Digest},
		{Name: "alpha", Tag: "v2", Digest: m2.Digest},
		{Name: "alpha/sub", Tag: "v1", Digest: m1.Digest},
		{Name: "alpha", Tag: "V1", Digest: m1.Digest},
		{Name: "alpha", Tag: "latest", Digest: m1.Digest},
		{Name: "Alpha", Tag: "latest", Digest: m2.Digest},
		{Name: "alpha-b", Tag: "latest", Digest: m2.Digest},
	}
	for _, r := range refs {
		if err := s.SetRef(ctx, r); err != nil {
			t.Fatalf("SetRef(%s:%s): %v", r.Name, r.Tag, err)
		}
	}
	want := slices.Clone(refs)
	slices.SortFunc(want, func(a, b store.Ref) int {
		if a.Name != b.Name {
			if a.Name < b.Name {
				return -1
			}
			return 1
		}
		if a.Tag < b.Tag {
			return -1
		}
		if a.Tag > b.Tag {
			return 1
		}
		return 0
	})
	wantRefs(t, s, want...)

	for _, r := range refs {
		got, err := s.Resolve(ctx, r.Name, r.Tag)
		if err != nil {
			t.Fatalf("Resolve(%s:%s): %v", r.Name, r.Tag, err)
		}
		if got.Name != r.Name || got.Tag != r.Tag || got.Digest != r.Digest {
			t.Errorf("Resolve(%s:%s) = %+v, want %+v", r.Name, r.Tag, got, r)
		}
	}
	missing := []struct{ name, tag string }{
		{"alpha", "v3"},    // known name, unknown tag
		{"beta", "latest"}, // unknown name
		{"ALPHA", "v2"},    // names are case-sensitive
		{"alpha", "v1"},    // so are tags
		{"alpha/", "v1"},
		{"", ""},
	}
	for _, tt := range missing {
		if _, err := s.Resolve(ctx, tt.name, tt.tag); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Resolve(%q, %q) error = %v, want ErrNotFound", tt.name, tt.tag, err)
		}
	}
}

func testSetRefMoves(t *testing.T, s store.Store) {
	m1, m2 := NewModel(1), NewModel(2)
	put(t, s, m1)
	put(t, s, m2)
	t1 := time.Date(2025, 1, 1, 0, 0, 0, 1, time.UTC)
	t2 := time.Date(2025, 1, 2, 0, 0, 0, 2, time.UTC)
	steps := []store.Ref{
		{Name: "m", Tag: "latest", Digest: m1.Digest, Updated: t1},
		{Name: "m", Tag: "latest", Digest: m2.Digest, Updated: t2},
		{Name: "m", Tag: "latest", Digest: m2.Digest, Updated: t2}, // no change
	}
	for _, r := range steps {
		if err := s.SetRef(ctx, r); err != nil {
			t.Fatalf("SetRef: %v", err)
		}
		got, err := s.Resolve(ctx, r.Name, r.Tag)
		if err != nil {
			t.Fatalf("Resolve: %v", err)
		}
		if diff := cmp.Diff(r, got); diff != "" {
			t.Errorf("Resolve after SetRef (-want +got):\n%s", diff)
		}
	}
	wantRefs(t, s, store.Ref{Name: "m", Tag: "latest", Digest: m2.Digest})
	wantModels(t, s, m1, m2)
}

func testSetRefMissingModel(t *testing.T, s store.Store) {
	m := NewModel(1)
	put(t, s, m, store.Ref{Name: "m", Tag: "latest"})
	absent := NewModel(2).Digest
	for _, r := range []store.Ref{
		{Name: "m", Tag: "latest", Digest: absent}, // would move an existing ref
		{Name: "m", Tag: "new", Digest: absent},    // would create one
	} {
		if err := s.SetRef(ctx, r); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("SetRef(%s:%s → missing model) error = %v, want ErrNotFound", r.Name, r.Tag, err)
		}
	}
	bad := []struct {
		r       store.Ref
		wantErr error
	}{
		{store.Ref{Name: "m", Tag: "x", Digest: "sha256:1234"}, digest.ErrInvalid},
		{store.Ref{Name: "m", Tag: "x"}, digest.ErrInvalid},
		{store.Ref{Name: "", Tag: "x", Digest: m.Digest}, nil},
		{store.Ref{Name: "m", Tag: "", Digest: m.Digest}, nil},
	}
	for _, tt := range bad {
		err := s.SetRef(ctx, tt.r)
		if err == nil || errors.Is(err, store.ErrNotFound) || (tt.wantErr != nil && !errors.Is(err, tt.wantErr)) {
			t.Errorf("SetRef(%+v) error = %v, want a validation error", tt.r, err)
		}
	}
	wantRefs(t, s, store.Ref{Name: "m", Tag: "latest", Digest: m.Digest})
}

func testDeleteRef(t *testing.T, s store.Store) {
	m := NewModel(1, Blob(1))
	put(t, s, m, store.Ref{Name: "m", Tag: "a"}, store.Ref{Name: "m", Tag: "b"})
	if err := s.DeleteRef(ctx, "m", "a"); err != nil {
		t.Fatalf("DeleteRef: %v", err)
	}
	if _, err := s.Resolve(ctx, "m", "a"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Resolve after DeleteRef error = %v, want ErrNotFound", err)
	}
	if err := s.DeleteRef(ctx, "m", "a"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("second DeleteRef error = %v, want ErrNotFound", err)
	}
	wantRefs(t, s, store.Ref{Name: "m", Tag: "b", Digest: m.Digest})
	if err := s.DeleteRef(ctx, "m", "b"); err != nil {
		t.Fatalf("DeleteRef: %v", err)
	}
	wantRefs(t, s)
	wantModels(t, s, m)
	blobs, err := s.ReferencedBlobs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[digest.Digest]bool{Blob(1): true}, blobs); diff != "" {
		t.Errorf("ReferencedBlobs of an unreferenced model (-want +got):\n%s", diff)
	}
}

func testDeleteModel(t *testing.T, s store.Store) {
	m1, m2 := NewModel(1, Blob(1)), NewModel(2, Blob(2))
	put(t, s, m1, store.Ref{Name: "one", Tag: "a"}, store.Ref{Name: "one", Tag: "b"})
	put(t, s, m2, store.Ref{Name: "two", Tag: "a"})
	if err := s.DeleteModel(ctx, m1.Digest); err != nil {
		t.Fatalf("DeleteModel: %v", err)
	}
	if _, err := s.Model(ctx, m1.Digest); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Model after DeleteModel error = %v, want ErrNotFound", err)
	}
	if _, err := s.Resolve(ctx, "one", "a"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Resolve of a deleted model's ref error = %v, want ErrNotFound", err)
	}
	wantRefs(t, s, store.Ref{Name: "two", Tag: "a", Digest: m2.Digest})
	wantModels(t, s, m2)
	if err := s.DeleteModel(ctx, m1.Digest); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("second DeleteModel error = %v, want ErrNotFound", err)
	}
	if err := s.DeleteModel(ctx, "sha256:../x"); !errors.Is(err, digest.ErrInvalid) {
		t.Errorf("DeleteModel(invalid) error = %v, want digest.ErrInvalid", err)
	}
	// The digest can be stored again.
	put(t, s, m1)
	wantModels(t, s, m1, m2)
}

func testModelNotFound(t *testing.T, s store.Store) {
	if _, err := s.Model(ctx, NewModel(1).Digest); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Model of a missing digest error = %v, want ErrNotFound", err)
	}
	if _, err := s.Model(ctx, "sha256:ABC"); !errors.Is(err, digest.ErrInvalid) {
		t.Errorf("Model(invalid) error = %v, want digest.ErrInvalid", err)
	}
}

func testReferencedBlobs(t *testing.T, s store.Store) {
	check := func(want ...digest.Digest) {
		t.Helper()
		got, err := s.ReferencedBlobs(ctx)
		if err != nil {
			t.Fatalf("ReferencedBlobs: %v", err)
		}
		wantSet := make(map[digest.Digest]bool)
		for _, d := range want {
			wantSet[d] = true
		}
		if diff := cmp.Diff(wantSet, got, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("ReferencedBlobs (-want +got):\n%s", diff)
		}
	}
	check()
	m1 := NewModel(1, Blob(1), Blob(2), Blob(1))
	m2 := NewModel(2, Blob(2), Blob(3))
	m3 := NewModel(3)
	put(t, s, m1)
	put(t, s, m2)
	put(t, s, m3)
	check(Blob(1), Blob(2), Blob(3))
	// Pending blobs are not referenced by a model.
	if err := s.AddPending(ctx, "p", Blob(4)); err != nil {
		t.Fatal(err)
	}
	check(Blob(1), Blob(2), Blob(3))
	if err := s.DeleteModel(ctx, m1.Digest); err != nil {
		t.Fatal(err)
	}
	check(Blob(2), Blob(3)) // Blob(2) is still m2's
	if err := s.DeleteModel(ctx, m2.Digest); err != nil {
		t.Fatal(err)
	}
	check()
}

func testNames(t *testing.T, s store.Store) {
	m := NewModel(1)
	put(t, s, m)
	names := []store.Ref{
		{Name: "hf.co/meta-llama/Llama-3.1-8B-Instruct", Tag: "Q4_K_M"},
		{Name: "registry.example.com:5000/team/model", Tag: "v1.2.3-rc.1"},
		{Name: "a/b/c/d/e/f", Tag: "latest"},
		{Name: "ünïcödé/モデル", Tag: "版本"},
		{Name: "quote'\"; DROP TABLE refs; --", Tag: "%_*"},
		{Name: "long-" + strings.Repeat("x", 1000), Tag: "t"},
	}
	for _, r := range names {
		r.Digest = m.Digest
		if err := s.SetRef(ctx, r); err != nil {
			t.Fatalf("SetRef(%q:%q): %v", r.Name, r.Tag, err)
		}
	}
	for _, r := range names {
		got, err := s.Resolve(ctx, r.Name, r.Tag)
		if err != nil {
			t.Fatalf("Resolve(%q:%q): %v", r.Name, r.Tag, err)
		}
		if got.Name != r.Name || got.Tag != r.Tag || got.Digest != m.Digest {
			t.Errorf("Resolve(%q:%q) = %+v", r.Name, r.Tag, got)
		}
	}
	refs, err := s.Refs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(refs) != len(names) {
		t.Errorf("Refs returned %d refs, want %d", len(refs), len(names))
	}
	// LIKE-style wildcards in a name match nothing but themselves.
	if _, err := s.Resolve(ctx, "a/b/%", "latest"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Resolve with a wildcard error = %v, want ErrNotFound", err)
	}
}

func testConcurrent(t *testing.T, s store.Store) {
	const (
		workers = 8
		each    = 10
	)
	errs := make(chan error, workers*each*4)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				n := w*each + i
				m := NewModel(n, Blob(n), Blob(-1))
				refs := []store.Ref{{Name: fmt.Sprintf("worker%d", w), Tag: fmt.Sprintf("v%d", i)}}
				if err := s.PutModel(ctx, m, refs, ""); err != nil {
					errs <- fmt.Errorf("PutModel %d: %w", n, err)
					continue
				}
				if err := s.SetRef(ctx, store.Ref{Name: "shared", Tag: "latest", Digest: m.Digest}); err != nil {
					errs <- fmt.Errorf("SetRef %d: %w", n, err)
				}
				if err := s.AddPending(ctx, "shared-pending", Blob(n)); err != nil {
					errs <- fmt.Errorf("AddPending %d: %w", n, err)
				}
				if _, err := s.Resolve(ctx, "shared", "latest"); err != nil {
					errs <- fmt.Errorf("Resolve %d: %w", n, err)
				}
				if _, err := s.ReferencedBlobs(ctx); err != nil {
					errs <- fmt.Errorf("ReferencedBlobs %d: %w", n, err)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}

	models, err := s.Models(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(models) != workers*each {
		t.Errorf("%d models, want %d", len(models), workers*each)
	}
	refs, err := s.Refs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(refs) != workers*each+1 {
		t.Errorf("%d refs, want %d", len(refs), workers*each+1)
	}
	blobs, err := s.ReferencedBlobs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(blobs) != workers*each+1 {
		t.Errorf("%d referenced blobs, want %d", len(blobs), workers*each+1)
	}
	pending, err := s.PendingRecords(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(pending) != 1 || len(pending[0].Blobs) != workers*each {
		t.Errorf("pending records = %d, want one with %d blobs", len(pending), workers*each)
	}
	shared, err := s.Resolve(ctx, "shared", "latest")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(models, func(m store.Model) bool { return m.Digest == shared.Digest }) {
		t.Errorf("shared:latest points at %s, which is not a stored model", shared.Digest)
	}
}

// BenchResolve measures Resolve on a store holding a thousand references,
// the gateway's lookup on every request. s must be empty.
func BenchResolve(b *testing.B, s store.Store) {
	const n = 1000
	m := NewModel(1)
	if err := s.PutModel(ctx, m, nil, ""); err != nil {
		b.Fatal(err)
	}
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("org%d/model-%d", i%37, i)
		if err := s.SetRef(ctx, store.Ref{Name: names[i], Tag: "latest", Digest: m.Digest}); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("serial", func(b *testing.B) {
		i := 0
		for b.Loop() {
			if _, err := s.Resolve(ctx, names[i%n], "latest"); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				if _, err := s.Resolve(ctx, names[i%n], "latest"); err != nil {
					b.Error(err)
					return
				}
				i += 7
			}
		})
	})
}
