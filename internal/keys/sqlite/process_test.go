package sqlite

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"sov.dev/sov/internal/keys"
)

const childDBEnv = "SOV_KEYS_TEST_CHILD_DB"

// TestRevokeFromAnotherProcess is `sov keys revoke` run while a server
// holds the keys in a Cache: the server's next Poll drops the key.
func TestRevokeFromAnotherProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a subprocess")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Skip("cannot find the test binary:", err)
	}
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), File)
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	h, err := keys.NewHasher([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	m := &keys.Manager{Store: s, Hasher: h}
	_, secret, err := m.Create(ctx, keys.CreateOptions{Name: "ci"})
	if err != nil {
		t.Fatal(err)
	}
	c, err := keys.NewCache(ctx, s, h, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Authenticate(secret); err != nil {
		t.Fatal(err)
	}
	if reloaded, err := c.Poll(ctx); err != nil || reloaded {
		t.Fatalf("Poll with no change = %v, %v", reloaded, err)
	}

	cmd := exec.Command(exe, "-test.run=^TestChildRevoke$", "-test.count=1")
	cmd.Env = append(os.Environ(), childDBEnv+"="+path)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}

	if reloaded, err := c.Poll(ctx); err != nil || !reloaded {
		t.Fatalf("Poll after another process revoked a key = %v, %v; want true", reloaded, err)
	}
	if _, err := c.Authenticate(secret); !errors.Is(err, keys.ErrInvalidKey) {
		t.Errorf("a key revoked by another process still authenticates: %v", err)
	}
}

// TestChildRevoke is the body of TestRevokeFromAnotherProcess's child. Run
// directly, it does nothing.
func TestChildRevoke(t *testing.T) {
	path := os.Getenv(childDBEnv)
	if path == "" {
		t.Skip("only runs as a TestRevokeFromAnotherProcess child")
	}
	ctx := context.Background()
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	h, err := keys.NewHasher([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := (&keys.Manager{Store: s, Hasher: h}).Revoke(ctx, "ci"); err != nil {
		t.Fatal(err)
	}
}
