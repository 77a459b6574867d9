package audit

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"

	"sov.dev/sov/internal/atomicfile"
)

// Files the log keeps in SOV_HOME.
const (
	DBFile  = "audit.db"  // the log (SQLite), mode 0600
	KeyFile = "audit.key" // Ed25519 seed, hex, mode 0600
	PubFile = "audit.pub" // Ed25519 public key, hex, mode 0644
)

// maxKeyFile bounds how much of a key file is read: the content is 64
// hex digits and a newline.
const maxKeyFile = 4096

// KeyError is a key file that cannot be used.
type KeyError struct {
	File   string
	Reason string
}

func (e *KeyError) Error() string { return fmt.Sprintf("audit key file %s: %s", e.File, e.Reason) }

// parseHexKey reads a key file's content: 32 bytes as 64 hex digits,
// optionally surrounded by white space.
func parseHexKey(file string, text []byte) ([]byte, error) {
	t := bytes.TrimSpace(text)
	if len(t) != 64 {
		return nil, &KeyError{File: file, Reason: fmt.Sprintf("want 64 hex digits, found %d bytes", len(t))}
	}
	b := make([]byte, 32)
	if _, err := hex.Decode(b, t); err != nil {
		return nil, &KeyError{File: file, Reason: "not hex: " + err.Error()}
	}
	return b, nil
}

// ParsePublicKey reads a public key in audit.pub's form: 64 hex digits.
func ParsePublicKey(text []byte) (ed25519.PublicKey, error) {
	b, err := parseHexKey("", text)
	if err != nil {
		return nil, err
	}
	return ed25519.PublicKey(b), nil
}

// ReadPublicKey reads a public key file in audit.pub's form.
func ReadPublicKey(path string) (ed25519.PublicKey, error) {
	text, err := readSmall(path)
	if err != nil {
		return nil, err
	}
	b, err := parseHexKey(path, text)
	if err != nil {
		return nil, err
	}
	return ed25519.PublicKey(b), nil
}

// readSmall reads a key file, refusing one larger than maxKeyFile.
func readSmall(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxKeyFile+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if len(b) > maxKeyFile {
		return nil, &KeyError{File: path, Reason: fmt.Sprintf("larger than %d bytes", maxKeyFile)}
	}
	return b, nil
}

// readPrivateKey reads the seed file at path.
func readPrivateKey(path string) (ed25519.PrivateKey, error) {
	text, err := readSmall(path)
	if err != nil {
		return nil, err
	}
	seed, err := parseHexKey(path, text)
	if err != nil {
		return nil, err
	}
	return ed25519.NewKeyFromSeed(seed), nil
}

// loadOrCreateKey returns the signing key in home, creating it (and the
// public key file) if there is none. Creation is atomic: the seed is
// written to a temporary file and linked into place, so a process racing
// another one either wins or reads the winner's complete key.
func loadOrCreateKey(home string, logger *slog.Logger) (ed25519.PrivateKey, error) {
	path := filepath.Join(home, KeyFile)
	key, err := readPrivateKey(path)
	if errors.Is(err, fs.ErrNotExist) {
		seed := make([]byte, ed25519.SeedSize)
		if _, err := rand.Read(seed); err != nil {
			return nil, err
		}
		if err := createFile(path, []byte(hex.EncodeToString(seed)+"\n"), 0o600); err != nil {
			return nil, fmt.Errorf("create audit key: %w", err)
		}
		key, err = readPrivateKey(path) // ours, or a racing process's
	}
	if err != nil {
		return nil, err
	}
	if runtime.GOOS != "windows" {
		if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o077 != 0 {
			logger.Warn("audit key file is readable by other users; anyone who can read it can sign checkpoints",
				"file", path, "mode", fi.Mode().Perm().String())
		}
	}
	pub := key.Public().(ed25519.PublicKey)
	pubPath := filepath.Join(home, PubFile)
	have, err := ReadPublicKey(pubPath)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := createFile(pubPath, []byte(hex.EncodeToString(pub)+"\n"), 0o644); err != nil {
			return nil, fmt.Errorf("write audit public key: %w", err)
		}
	case err != nil:
		logger.Warn("audit public key file is unreadable; leaving it alone", "file", pubPath, "err", err)
	case !have.Equal(pub):
		// Never overwritten: a changed audit.key must show in verify.
		logger.Warn("audit public key file does not match the signing key; checkpoints will not verify against it",
			"file", pubPath, "key", KeyFile)
	}
	return key, nil
}

// createFile writes content to a new file at path with mode perm, and
// leaves an existing file alone (no error: another process created it).
func createFile(path string, content []byte, perm os.FileMode) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(content); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(perm); err != nil && runtime.GOOS != "windows" {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return nil
		}
		// No hard links here: rename, unless the file appeared meanwhile
		// (a small window in which a racing process's file may be
		// replaced; both hold a complete key, and the loser re-reads).
		if _, serr := os.Stat(path); serr == nil {
			return nil
		}
		if rerr := os.Rename(tmp.Name(), path); rerr != nil {
			return errors.Join(err, rerr)
		}
	}
	return atomicfile.SyncDir(dir)
}
