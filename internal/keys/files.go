package keys

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"sov.dev/sov/internal/atomicfile"
)

// Files under SOV_HOME.
const (
	ServerSecretFile = "gateway.secret"
	AdminKeyFile     = "admin.key"
	homePerms        = 0o700
	maxSecretFile    = 4096 // bytes read from a secret file, at most
)

// PermissionError is returned for a secret file that the group or others
// may access. Its message says how to fix it.
type PermissionError struct {
	Path string
	Mode fs.FileMode
}

func (e *PermissionError) Error() string {
	return fmt.Sprintf("%s is accessible by other users (mode %04o); it holds a secret: run `chmod 600 %s`", e.Path, e.Mode.Perm(), e.Path)
}

// readSecretFile reads a small secret file, refusing one that is not a
// regular file or that others may access.
func readSecretFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm()&0o077 != 0 {
		return nil, &PermissionError{Path: path, Mode: fi.Mode()}
	}
	b, err := io.ReadAll(io.LimitReader(f, maxSecretFile+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if len(b) > maxSecretFile {
		return nil, fmt.Errorf("%s is larger than %d bytes: not a sov secret file", path, maxSecretFile)
	}
	return bytes.TrimSpace(b), nil
}

// LoadServerSecret returns the Hasher for the server secret in
// home/gateway.secret, creating the file (and home) on first use. When two
// processes create it at once, both end up with the one that was linked
// into place first.
func LoadServerSecret(home string) (*Hasher, error) {
	path := filepath.Join(home, ServerSecretFile)
	for range 2 {
		b, err := readSecretFile(path)
		if err == nil {
			return parseServerSecret(path, b)
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("server secret: %w", err)
		}
		var secret [ServerSecretLen]byte
		rand.Read(secret[:])
		err = createExclusive(path, []byte(hex.EncodeToString(secret[:])+"\n"))
		if err == nil {
			return NewHasher(secret[:])
		}
		if !errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("create server secret %s: %w", path, err)
		}
		// Another process won the race: read theirs.
	}
	return nil, fmt.Errorf("server secret %s: created and removed while reading it", path)
}

func parseServerSecret(path string, b []byte) (*Hasher, error) {
	secret, err := hex.DecodeString(string(b))
	if err != nil || len(secret) != ServerSecretLen {
		return nil, fmt.Errorf("server secret %s: want %d hex digits; the file is damaged (removing it invalidates every API key)", path, 2*ServerSecretLen)
	}
	return NewHasher(secret)
}

// createExclusive writes data to a new file at path, mode 0600, so that
// the file never exists half written: it is written under a temporary
// name and hard-linked into place, which fails with fs.ErrExist when path
// already exists.
func createExclusive(path string, data []byte) error {
	tmp, err := writeTemp(path, data)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	if err := os.Link(tmp, path); err != nil {
		var le *os.LinkError
		if errors.As(err, &le) && errors.Is(le.Err, fs.ErrExist) {
			return fs.ErrExist
		}
		return err
	}
	atomicfile.SyncDir(filepath.Dir(path)) // best effort
	return nil
}

// writeTemp writes data, synced, to a new 0600 file beside path and
// returns its name.
func writeTemp(path string, data []byte) (string, error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, homePerms); err != nil {
		return "", err
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*") // mode 0600
	if err != nil {
		return "", err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return "", err
	}
	return f.Name(), nil
}

// ReadAdminKey returns the admin secret that EnsureAdmin wrote to
// home/admin.key. A missing file is an error wrapping fs.ErrNotExist.
func ReadAdminKey(home string) (string, error) {
	path := filepath.Join(home, AdminKeyFile)
	b, err := readSecretFile(path)
	if err != nil {
		return "", fmt.Errorf("admin key: %w", err)
	}
	s := string(b)
	if admin, ok := ParseSecret(s); !ok || !admin {
		return "", fmt.Errorf("admin key %s: the file does not hold an admin key (%q…)", path, safePrefix(s))
	}
	return s, nil
}

// safePrefix returns at most the first few characters of a would-be
// secret, enough to recognise it in an error without revealing it.
func safePrefix(s string) string {
	const n = 7
	if len(s) > n {
		s = s[:n]
	}
	return strings.ToValidUTF8(s, "?")
}
