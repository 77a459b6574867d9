package sqlite

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"

	"sov.dev/sov/internal/store"
	"sov.dev/sov/internal/store/storetest"
)

const (
	childPathEnv = "SOV_SQLITE_TEST_CHILD_DB"
	childIDEnv   = "SOV_SQLITE_TEST_CHILD_ID"
	childWrites  = 25
)

// TestMultiProcess runs real separate processes (this test binary, in
// TestChildWriter) against one database file.
func TestMultiProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("starts subprocesses")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Skip("cannot find the test binary:", err)
	}
	path := filepath.Join(t.TempDir(), "meta.db")
	const children = 3
	var wg sync.WaitGroup
	outs := make([][]byte, children)
	errs := make([]error, children)
	for i := range children {
		wg.Go(func() {
			cmd := exec.Command(exe, "-test.run=^TestChildWriter$", "-test.count=1")
			cmd.Env = append(os.Environ(), childPathEnv+"="+path, childIDEnv+"="+strconv.Itoa(i))
			outs[i], errs[i] = cmd.CombinedOutput()
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("child %d: %v\n%s", i, err, outs[i])
		}
	}

	s, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ms, err := s.Models(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != children*childWrites {
		t.Errorf("%d models after %d children wrote %d each", len(ms), children, childWrites)
	}
	refs, err := s.Refs(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(refs) != children*childWrites+1 {
		t.Errorf("%d refs, want %d", len(refs), children*childWrites+1)
	}
}

// TestChildWriter is the body of one TestMultiProcess child. Run directly,
// it does nothing.
func TestChildWriter(t *testing.T) {
	path := os.Getenv(childPathEnv)
	if path == "" {
		t.Skip("only runs as a TestMultiProcess child")
	}
	id, err := strconv.Atoi(os.Getenv(childIDEnv))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for j := range childWrites {
		n := id*1000 + j
		m := storetest.NewModel(n, storetest.Blob(n))
		pid := fmt.Sprintf("child-%d-%d", id, j)
		if err := s.AddPending(ctx, pid, storetest.Blob(n)); err != nil {
			t.Fatal(err)
		}
		if err := s.PutModel(ctx, m, []store.Ref{{Name: fmt.Sprintf("child%d", id), Tag: strconv.Itoa(j)}}, pid); err != nil {
			t.Fatal(err)
		}
		if err := s.SetRef(ctx, store.Ref{Name: "shared", Tag: "latest", Digest: m.Digest}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.ReferencedBlobs(ctx); err != nil {
			t.Fatal(err)
		}
	}
}
